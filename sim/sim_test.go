package sim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/device"
	"github.com/tandem-llm/tandem/router"
)

// testTiers is a model matrix: two local models and two cloud tiers.
func testTiers() []router.Tier {
	return []router.Tier{
		{Name: "local-1b", Local: true, Spec: device.TierSpec{ParamsB: 1.2, WeightsBytes: 800 << 20, KVBytes: 128 << 20}},
		{Name: "local-3b", Local: true, Spec: device.TierSpec{ParamsB: 3, WeightsBytes: 2 << 30, KVBytes: 256 << 20}},
		{Name: "cloud-10b", Spec: device.TierSpec{ParamsB: 10, PriceInPerM: 0.1, PriceOutPerM: 0.3}},
		{Name: "cloud-100b", Spec: device.TierSpec{ParamsB: 100, PriceInPerM: 2, PriceOutPerM: 8}},
	}
}

// easy and hard prompts alternate every 5 s for the profile's length.
func testTraffic(d time.Duration) []Request {
	easy := []string{"Hi! How are you today?", "Say thanks to my friend in a short message.", "What is the capital of France?"}
	hard := []string{
		"A train leaves at 3:15 pm travelling 84 km/h; a second leaves 40 minutes later at 112 km/h. Calculate when and where the second catches up, showing every step of the algebra.",
		"Prove that the square root of 2 is irrational, then generalise the proof to every prime p and explain why it fails for perfect squares.",
	}
	var out []Request
	for i := 0; time.Duration(i)*5*time.Second <= d; i++ {
		p := easy[i%len(easy)]
		if i%2 == 1 {
			p = hard[i%len(hard)]
		}
		out = append(out, Request{At: time.Duration(i) * 5 * time.Second, Messages: []backend.Message{{Role: "user", Content: p}},
			MaxTokens: 128, Session: fmt.Sprint("s", i)})
	}
	return out
}

func run(t *testing.T, profile string) Result {
	t.Helper()
	prof, err := device.OpenProfile(profile)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := router.New(router.Options{Tiers: testTiers(), Cost: device.NewCostModel(prof.Cost),
		Policy: router.Policy{Threshold: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), rt, prof, testTraffic(prof.Duration()+60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	res.WriteTable(&b)
	t.Log("\n" + b.String())
	return res
}

func localShare(res Result, from, to time.Duration) (local, all int) {
	for _, r := range res.Rows {
		if r.At >= from && r.At < to && r.Tier != "" {
			all++
			if r.Local {
				local++
			}
		}
	}
	return
}

// On a phone that heats up, requests move to the cloud while it is hot and
// come back when it has cooled down.
func TestHotPhoneMovesToCloudAndBack(t *testing.T) {
	res := run(t, "phone-8gb-hot")
	if l, n := localShare(res, 0, 30*time.Second); l == 0 {
		t.Errorf("cool start: %d of %d requests local, want some", l, n)
	}
	if l, n := localShare(res, 120*time.Second, 240*time.Second); l != 0 || n == 0 {
		t.Errorf("severe: %d of %d requests local, want none", l, n)
	}
	if l, n := localShare(res, 360*time.Second, time.Hour); l == 0 {
		t.Errorf("cooled down: %d of %d requests local, want some back", l, n)
	}
	found := false
	for _, r := range res.Rows {
		if r.At >= 120*time.Second && r.At < 240*time.Second && strings.Contains(strings.Join(r.Reasons, "; "), "thermal") {
			found = true
		}
	}
	if !found {
		t.Error("no decision while hot names the thermal status")
	}
}

// In airplane mode everything stays local and is answered.
func TestAirplaneStaysLocal(t *testing.T) {
	res := run(t, "phone-airplane")
	for _, r := range res.Rows {
		if r.Err != "" || !r.Local {
			t.Fatalf("at %v: tier %q err %q reasons %v, want a local tier", r.At, r.Tier, r.Err, r.Reasons)
		}
	}
	if res.Summary.Refused != 0 || res.Summary.CloudCostUSD != 0 {
		t.Errorf("summary %+v", res.Summary)
	}
}

// With little memory available the larger local model is refused, and the
// decision says why.
func TestLowMemoryRefusesLargerTier(t *testing.T) {
	res := run(t, "phone-low-memory")
	named := 0
	for _, r := range res.Rows {
		if r.Tier == "local-3b" {
			t.Fatalf("at %v: local-3b chosen on a low-memory phone (%v)", r.At, r.Reasons)
		}
		for _, why := range r.Reasons {
			if strings.Contains(why, "local-3b") && strings.Contains(why, "memory") {
				named++
				break
			}
		}
	}
	if named == 0 {
		t.Error("no decision names the memory refusal of local-3b")
	}
}

func TestParseTraffic(t *testing.T) {
	good := `# comment
{"at": 1.5, "prompt": "hello"}
{"at": "1m", "messages": [{"role": "user", "content": "hi"}], "session": "a", "route": "local-only", "max_tokens": 5}
`
	reqs, err := ParseTraffic(strings.NewReader(good))
	if err != nil || len(reqs) != 2 || reqs[0].At != 1500*time.Millisecond || reqs[1].At != time.Minute || reqs[1].Route != router.ModeLocalOnly {
		t.Fatalf("%+v %v", reqs, err)
	}
	for _, bad := range []string{
		``,
		`{"prompt": "x"}`,
		`{"at": -1, "prompt": "x"}`,
		`{"at": "soon", "prompt": "x"}`,
		`{"at": 1}`,
		`{"at": 1, "prompt": "x", "messages": [{"role": "user", "content": "y"}]}`,
		`{"at": 1, "prompt": "x", "colour": 1}`,
		`{"at": 1, "prompt": "x", "route": "moon"}`,
		`{"at": 1, "prompt": "x", "max_tokens": -3}`,
		`not json`,
	} {
		if _, err := ParseTraffic(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseTraffic(f *testing.F) {
	f.Add(`{"at": 1.5, "prompt": "hello"}`)
	f.Add(`{"at": "1m", "messages": [{"role": "user", "content": "hi"}], "route": "cloud-only"}`)
	f.Fuzz(func(t *testing.T, s string) {
		reqs, err := ParseTraffic(strings.NewReader(s))
		if err == nil && len(reqs) == 0 {
			t.Fatal("no error and no requests")
		}
	})
}
