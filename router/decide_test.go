package router

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/device"
	"github.com/tandem-llm/tandem/privacy"
)

func matrix() []Tier {
	return []Tier{
		{Name: "cloud-100b", Spec: device.TierSpec{ParamsB: 100, PriceInPerM: 2, PriceOutPerM: 8}},
		{Name: "phone", Local: true, Spec: device.TierSpec{ParamsB: 1, WeightsBytes: 700 << 20, KVBytes: 64 << 20}},
		{Name: "cloud-10b", Spec: device.TierSpec{ParamsB: 10, PriceInPerM: 0.1, PriceOutPerM: 0.3}},
	}
}

// cool is a healthy phone on Wi-Fi.
func cool() device.State {
	return device.State{HasBattery: true, BatteryPct: 80, BatteryMAh: 4500, Thermal: device.ThermalNone,
		MemTotal: 8 << 30, MemAvailable: 4 << 30, Network: device.NetworkWiFi,
		Sources: map[string]string{device.FieldBatteryPct: "push", device.FieldThermal: "push", device.FieldMemTotal: "push",
			device.FieldMemAvailable: "push", device.FieldNetwork: "push", device.FieldHasBattery: "push"}}
}

func newRouter(t testing.TB, p Policy) *Router {
	t.Helper()
	r, err := New(Options{Tiers: matrix(), Policy: p, Now: func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func chat(text string) Request {
	return Request{Request: &backend.Request{Messages: []backend.Message{{Role: "user", Content: text}}, MaxTokens: 64}}
}

func decide(t *testing.T, r *Router, req Request, st device.State) Decision {
	t.Helper()
	d, err := r.Decide(context.Background(), req, st)
	if err != nil {
		t.Fatalf("%v (reasons %v)", err, d.Reasons)
	}
	return d
}

func has(d Decision, sub string) bool {
	return strings.Contains(strings.Join(d.Reasons, " | "), sub)
}

func TestDecideSortsTiersAndUsesThreshold(t *testing.T) {
	r := newRouter(t, Policy{Threshold: 0.5})
	got := []string{}
	for _, tr := range r.Tiers() {
		got = append(got, tr.Name)
	}
	if !slices.Equal(got, []string{"phone", "cloud-10b", "cloud-100b"}) {
		t.Fatalf("tiers %v", got)
	}
	// With threshold 0.5 over three tiers, the cloud tiers start at 0.5 and 0.75.
	if r.wanted(0.49, 0.5) != 0 || r.wanted(0.5, 0.5) != 1 || r.wanted(0.74, 0.5) != 1 || r.wanted(0.75, 0.5) != 2 {
		t.Error("difficulty bands")
	}
	// Scores near 0 and 1: a fixed threshold of 0 sends everything up, 1 keeps it local.
	for _, c := range []struct {
		th   float64
		tier string
	}{{1e-9, "cloud-10b"}, {1, "phone"}} {
		r := newRouter(t, Policy{Threshold: c.th})
		if d := decide(t, r, chat("What is 2+2?"), cool()); d.Tier != c.tier {
			t.Errorf("threshold %v: %s (%v)", c.th, d.Tier, d.Reasons)
		}
	}
	d := decide(t, newRouter(t, Policy{Threshold: 1}), chat("What is 2+2?"), cool())
	if !d.Local || d.Predicted.Tier != "phone" || d.Predicted.EnergyJ <= 0 || d.Predicted.CostUSD != 0 || len(d.Tiers) != 3 {
		t.Errorf("decision %+v", d)
	}
	if !slices.Equal(d.Fallback, []string{"cloud-10b", "cloud-100b"}) {
		t.Errorf("fallback %v", d.Fallback)
	}
}

func TestDecideOverrides(t *testing.T) {
	r := newRouter(t, Policy{Threshold: 1})
	req := chat("hello")
	req.Mode = ModeCloudOnly
	if d := decide(t, r, req, cool()); d.Local || !has(d, "override: cloud-only") {
		t.Errorf("cloud-only: %s %v", d.Tier, d.Reasons)
	}
	r = newRouter(t, Policy{Threshold: 1e-9})
	req = chat("hello")
	req.Mode = ModeLocalOnly
	if d := decide(t, r, req, cool()); !d.Local || len(d.Fallback) != 0 {
		t.Errorf("local-only: %s fallback %v", d.Tier, d.Fallback)
	}
	req = chat("hello")
	req.Pin = "cloud-10b"
	if d := decide(t, r, req, cool()); d.Tier != "cloud-10b" || !has(d, "pinned") {
		t.Errorf("pinned: %s %v", d.Tier, d.Reasons)
	}
	if _, err := ParseMode("sideways"); err == nil {
		t.Error("bad mode accepted")
	}
}

const pii = "my email is li.wei@mailbox.org and my phone 13800138000"

func TestDecidePrivacy(t *testing.T) {
	// strict: local whatever the difficulty, and no cloud tier to fail over to.
	r := newRouter(t, Policy{Threshold: 1e-9, Privacy: privacy.ModeStrict})
	d := decide(t, r, chat(pii), cool())
	if !d.Local || len(d.Fallback) != 0 || d.PII["email"] != 1 || d.PII["phone"] != 1 || !has(d, "privacy strict") {
		t.Errorf("strict: %+v", d)
	}
	req := chat(pii)
	req.Mode = ModeCloudOnly
	if _, err := r.Decide(context.Background(), req, cool()); !errors.Is(err, ErrNoTier) || !strings.Contains(err.Error(), "privacy strict") {
		t.Errorf("strict + cloud-only: %v", err)
	}
	// mask: the cloud may serve, with a masker that knows the values.
	r = newRouter(t, Policy{Threshold: 1e-9, Privacy: privacy.ModeMask})
	d = decide(t, r, chat(pii), cool())
	if d.Local || d.Masker == nil || !has(d, "privacy mask") {
		t.Fatalf("mask: %+v", d)
	}
	if m := d.Masker.Mask(pii); strings.Contains(m, "li.wei@mailbox.org") || d.Masker.Restore(m) != pii {
		t.Errorf("masker: %q", m)
	}
	// allow: sent as is, noted.
	r = newRouter(t, Policy{Threshold: 1e-9, Privacy: privacy.ModeAllow})
	if d = decide(t, r, chat(pii), cool()); d.Local || d.Masker != nil || !has(d, "privacy allow") {
		t.Errorf("allow: %+v", d)
	}
}

func TestDecideDevice(t *testing.T) {
	r := newRouter(t, Policy{Threshold: 1})
	// Offline: local, no cloud fallback.
	st := cool()
	st.Network = device.NetworkOffline
	if d := decide(t, r, chat("hi"), st); !d.Local || len(d.Fallback) != 0 {
		t.Errorf("offline: %s %v", d.Tier, d.Fallback)
	}
	// Hot: the cloud, and the reason names the signal.
	st = cool()
	st.Thermal = device.ThermalSevere
	d := decide(t, r, chat("hi"), st)
	if d.Local || !has(d, "thermal severe") {
		t.Errorf("severe: %s %v", d.Tier, d.Reasons)
	}
	// Hot and offline: local after all.
	st.Network = device.NetworkOffline
	if d := decide(t, r, chat("hi"), st); !d.Local {
		t.Errorf("severe offline: %s %v", d.Tier, d.Reasons)
	}
	// Low battery, discharging.
	st = cool()
	st.BatteryPct = 12
	if d := decide(t, r, chat("hi"), st); d.Local || !has(d, "battery") {
		t.Errorf("low battery: %s %v", d.Tier, d.Reasons)
	}
	// Too little memory for the local model: refused, with the reason.
	st = cool()
	st.MemAvailable = 600 << 20
	if d := decide(t, r, chat("hi"), st); d.Local || !has(d, "memory") {
		t.Errorf("low memory: %s %v", d.Tier, d.Reasons)
	}
	// No tier at all: an error that says why.
	st.Network = device.NetworkOffline
	if _, err := r.Decide(context.Background(), chat("hi"), st); !errors.Is(err, ErrNoTier) || !strings.Contains(err.Error(), "offline") {
		t.Errorf("nothing left: %v", err)
	}
}

func TestDecideCostBudgetAndSLO(t *testing.T) {
	r := newRouter(t, Policy{Threshold: 1e-9, CostPerDayUSD: 0.01})
	if d := decide(t, r, chat("Prove Fermat's little theorem."), cool()); d.Local {
		t.Fatalf("before spending: %s", d.Tier)
	}
	r.Charge("cloud-100b", 0.02)
	if d := decide(t, r, chat("Prove Fermat's little theorem."), cool()); !d.Local || !has(d, "cost") {
		t.Errorf("budget spent: %s %v", d.Tier, d.Reasons)
	}
	// A latency SLO the local tier misses moves the request.
	r = newRouter(t, Policy{Threshold: 1, LatencySLO: 25 * time.Second})
	req := chat("Write a long story.")
	req.MaxTokens = 1000
	if d := decide(t, r, req, cool()); d.Local || !has(d, "latency SLO") {
		t.Errorf("SLO: %s %v (predicted %+v)", d.Tier, d.Reasons, d.Tiers)
	}
}

func TestDecideQualityTarget(t *testing.T) {
	r := newRouter(t, Policy{QualityTarget: 0.999})
	if d := decide(t, r, chat("Compute the integral of x^2 sin(x) from 0 to pi."), cool()); d.Tier != "cloud-100b" || !has(d, "quality target") {
		t.Errorf("high target: %s %v", d.Tier, d.Reasons)
	}
	r = newRouter(t, Policy{QualityTarget: 0.01})
	if d := decide(t, r, chat("hi"), cool()); !d.Local {
		t.Errorf("low target: %s", d.Tier)
	}
}

// A conversation stays on its tier: an easy follow-up does not bounce back
// to the phone, and only a clearly harder turn moves it up.
func TestDecideSessions(t *testing.T) {
	r := newRouter(t, Policy{Threshold: 0.5, StickyMargin: 0.1})
	hard := "Prove that there are infinitely many primes of the form 4k+3, and compute the 10th one."
	first := Request{Request: &backend.Request{Messages: []backend.Message{{Role: "user", Content: hard}}}, Session: "s1"}
	d1 := decide(t, r, first, cool())
	follow := Request{Request: &backend.Request{Messages: []backend.Message{{Role: "user", Content: hard},
		{Role: "assistant", Content: "…"}, {Role: "user", Content: "thanks!"}}}, Session: "s1"}
	d2 := decide(t, r, follow, cool())
	if d2.Tier != d1.Tier {
		t.Errorf("session bounced from %s to %s (%v)", d1.Tier, d2.Tier, d2.Reasons)
	}
	// Derived sessions: the first user message identifies the chat.
	a := &backend.Request{Messages: []backend.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}}}
	b := &backend.Request{Messages: []backend.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"},
		{Role: "assistant", Content: "hello"}, {Role: "user", Content: "more"}}}
	if sessionKey(a) == "" || sessionKey(a) != sessionKey(b) || sessionKey(&backend.Request{Prompt: "x"}) != "" {
		t.Error("session keys")
	}
	// A phone session moves up only past the larger tier's band + margin.
	r = newRouter(t, Policy{Threshold: 0.5, StickyMargin: 0.1})
	r.remember("s2", "phone")
	if i := r.index("phone"); i != 0 {
		t.Fatal(i)
	}
	easy := Request{Request: &backend.Request{Messages: []backend.Message{{Role: "user", Content: "hi"}}}, Session: "s2"}
	if d := decide(t, r, easy, cool()); d.Tier != "phone" {
		t.Errorf("easy turn left the phone: %s", d.Tier)
	}
	// Expired sessions are forgotten.
	r.sessions["s3"] = session{tier: "cloud-100b", seen: r.now().Add(-2 * r.policy.SessionTTL)}
	if _, ok := r.sessionTier("s3"); ok {
		t.Error("expired session remembered")
	}
}

// With a cloud share target, the online threshold keeps the share of
// requests leaving the phone near it when traffic shifts: 1000 requests of
// mostly easy chat, then 3000 with far more hard ones. A fixed threshold
// set on the first part is shown for comparison.
func TestDecideOnlineCloudShare(t *testing.T) {
	easy := []string{"hi", "thanks!", "What is the capital of France?", "Say hello to Anna.", "How are you?"}
	hard := []string{
		"Compute the eigenvalues of [[2,1],[1,3]] and prove they are real.",
		"A tank fills at 3.5 L/min and drains at 1.25 L/min; starting with 12 L, how many minutes until it holds 75 L? Show the algebra.",
		"Derive the closed form of sum_{k=1}^n k^3 by induction.",
		"Explain why the halting problem is undecidable, with a proof by diagonalisation.",
	}
	const before, after = 1000, 3000
	traffic := make([]string, 0, before+after)
	for i := range before + after {
		hardShare := 0.1
		if i >= before {
			hardShare = 0.6
		}
		// Every prompt differs a little, as real traffic does (no ties).
		p := fmt.Sprintf("%s (%d)", easy[i%len(easy)], i)
		if float64(i*7%10) < 10*hardShare {
			p = fmt.Sprintf("%s Use n = %d.%s", hard[i%len(hard)], i*7919%1000, strings.Repeat(" Also verify.", i%5))
		}
		traffic = append(traffic, p)
	}
	var atShift float64
	share := func(r *Router) (first, last float64) {
		for i, p := range traffic {
			if i == before {
				atShift = r.Threshold()
			}
			d := decide(t, r, Request{Request: &backend.Request{Prompt: p}}, cool())
			switch {
			case i < before && !d.Local:
				first++
			case i >= len(traffic)-1000 && !d.Local:
				last++
			}
		}
		return first / before, last / 1000
	}
	online := newRouter(t, Policy{CloudShare: 0.3})
	f, l := share(online)
	// The fixed threshold the online one had settled on before the shift.
	fixed := newRouter(t, Policy{Threshold: atShift})
	_, fl := share(fixed)
	t.Logf("cloud share: online %.3f before the shift, %.3f over the last 1000; a fixed threshold %.3f", f, l, fl)
	if math.Abs(l-0.3) > 0.05 {
		t.Errorf("online cloud share after the shift %.3f, want 0.30 ± 0.05", l)
	}
}

func TestDecideExplains(t *testing.T) {
	r := newRouter(t, Policy{Threshold: 0.5})
	d := decide(t, r, chat("What is 17 × 23?"), cool())
	if len(d.Reasons) == 0 || !strings.Contains(d.Reasons[len(d.Reasons)-1], d.Tier) || !has(d, "difficulty") {
		t.Errorf("reasons %v", d.Reasons)
	}
	if math.IsNaN(d.Difficulty) || d.Difficulty < 0 || d.Difficulty > 1 {
		t.Errorf("difficulty %v", d.Difficulty)
	}
}

// BenchmarkDecide measures a whole decision (PII scan, cost predictions,
// governor, difficulty model, explanation) on realistic prompts, with p99.
func BenchmarkDecide(b *testing.B) {
	r := newRouter(b, Policy{CloudShare: 0.3})
	prompts := map[string]string{
		"chat":    "Hey, can you suggest a name for my new cat? She is grey and very playful.",
		"mmlu":    "Which of the following best describes the function of the loop of Henle?\nA. Filtration\nB. Concentration of urine\nC. Secretion of renin\nD. Reabsorption of glucose\nAnswer:",
		"chinese": "请解释一下为什么天空是蓝色的，并用简单的语言说明瑞利散射的原理。",
		"4KB":     strings.Repeat("The quarterly report shows revenue growth of 12% across all regions, driven by new customers. ", 45),
	}
	names := make([]string, 0, len(prompts))
	for k := range prompts {
		names = append(names, k)
	}
	sort.Strings(names)
	st := cool()
	for _, name := range names {
		req := chat(prompts[name])
		b.Run(name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				if _, err := r.Decide(context.Background(), req, st); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
