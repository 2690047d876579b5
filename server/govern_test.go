package server_test

import (
	"sync/atomic"
	"testing"

	"github.com/tandem-llm/tandem/device"
	"github.com/tandem-llm/tandem/router"
	"github.com/tandem-llm/tandem/server"
)

// governedFake is a local model the governor can adjust.
type governedFake struct {
	fake
	threads  atomic.Int32
	released atomic.Int32
}

func (g *governedFake) SetThreads(n int) int { return int(g.threads.Swap(int32(n))) }
func (g *governedFake) Release() bool        { g.released.Add(1); return true }

// The governor's advice reaches the local models: fewer threads when hot,
// idle models released under memory pressure.
func TestGovernorAppliesAdvice(t *testing.T) {
	small, big, up := &governedFake{}, &governedFake{}, &fake{name: "cloud"}
	small.threads.Store(4)
	big.threads.Store(4)
	rt, err := router.New(router.Options{Policy: router.Policy{Threshold: 1}, Governor: &device.Governor{MaxThreads: 4},
		Tiers: []router.Tier{
			{Name: "small", Local: true, Spec: device.TierSpec{ParamsB: 0.5, WeightsBytes: 300 << 20}},
			{Name: "big", Local: true, Spec: device.TierSpec{ParamsB: 3, WeightsBytes: 300 << 20}},
			{Name: "cloud", Spec: device.TierSpec{ParamsB: 100}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	mon := device.NewMonitor(device.MonitorOptions{})
	_, url := start(t, server.Options{Router: rt, Device: mon, Tiers: []server.Tier{
		{Name: "small", Kind: server.KindLocal, Model: "small", Backend: small},
		{Name: "big", Kind: server.KindLocal, Model: "big", Backend: big},
		{Name: "cloud", Kind: server.KindCloud, Model: "m", Backend: up},
	}})
	chat := `{"model":"auto","max_tokens":2,"messages":[{"role":"user","content":"hi"}],"tandem":{"route":"local-only"}}`
	push := func(body string) {
		if res, _ := post(t, url, "/v1/device/state", body); res.StatusCode != 200 {
			t.Fatalf("push %s: %d", body, res.StatusCode)
		}
	}
	push(`{"thermal_status": "severe", "mem_total_bytes": 8000000000, "mem_available_bytes": 4000000000, "network": "wifi"}`)
	res, _ := post(t, url, "/v1/chat/completions", chat)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if small.threads.Load() != 2 || big.threads.Load() != 2 {
		t.Errorf("severe: threads %d and %d, want 2", small.threads.Load(), big.threads.Load())
	}
	push(`{"thermal_status": "none", "mem_pressure": 40}`)
	post(t, url, "/v1/chat/completions", chat)
	if small.threads.Load() != 4 {
		t.Errorf("cool again: threads %d, want 4", small.threads.Load())
	}
	if big.released.Load() == 0 || small.released.Load() != 0 {
		t.Errorf("memory pressure: released small %d big %d, want only the idle big one", small.released.Load(), big.released.Load())
	}
}

// A cloud tier that fails mid-answer counts as one failure in the device
// model (the router avoids a tier after three in a row), not one per place
// that saw the error.
func TestCloudFailureCountedOnce(t *testing.T) {
	local, up := &fake{name: "local"}, &fake{name: "cloud", failAfter: 2}
	rt, err := router.New(router.Options{Policy: router.Policy{Threshold: 1}, Tiers: []router.Tier{
		{Name: "local", Local: true, Spec: device.TierSpec{ParamsB: 1}},
		{Name: "cloud", Spec: device.TierSpec{ParamsB: 100}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	mon := device.NewMonitor(device.MonitorOptions{})
	_, url := start(t, server.Options{Router: rt, Device: mon, Tiers: []server.Tier{
		{Name: "local", Kind: server.KindLocal, Model: "local", Backend: local},
		{Name: "cloud", Kind: server.KindCloud, Model: "m", Backend: up},
	}})
	post(t, url, "/v1/chat/completions", `{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":"hi"}],"tandem":{"route":"cloud-only"}}`)
	if up.calls.Load() != 1 {
		t.Fatalf("cloud called %d times, want 1", up.calls.Load())
	}
	if got := mon.State().Cloud["cloud"].Failures; got != 1 {
		t.Errorf("consecutive failures after one failed request: %d, want 1", got)
	}
}
