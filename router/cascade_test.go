package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/cloud"
)

// scripted emits one token per log-probability ("t0 t1 …"), after any
// Continue text's tokens.
type scripted struct {
	lps  []float64
	seen *backend.Request
}

func (s *scripted) Stream(ctx context.Context, req *backend.Request, emit func(backend.Event) error) (backend.Final, error) {
	r := *req
	s.seen = &r
	var fin backend.Final
	for i := len(strings.Fields(req.Continue)); i < len(s.lps); i++ {
		ev := backend.Event{Text: fmt.Sprintf(" t%d", i)}
		if req.Logprobs {
			lp := backend.TokenLogprob{Token: ev.Text, Logprob: s.lps[i]}
			for k := range req.TopLogprobs {
				lp.Top = append(lp.Top, backend.TopLogprob{Token: "x", Logprob: s.lps[i] - float64(k)})
			}
			ev.Logprobs = []backend.TokenLogprob{lp}
		}
		if err := emit(ev); err != nil {
			return fin, err
		}
		fin.Usage.CompletionTokens++
	}
	fin.FinishReason = "stop"
	return fin, nil
}

func collect(t *testing.T, b backend.Backend, req *backend.Request) (string, []backend.Event, error) {
	t.Helper()
	var text strings.Builder
	var evs []backend.Event
	_, err := b.Stream(context.Background(), req, func(ev backend.Event) error {
		text.WriteString(ev.Text)
		evs = append(evs, ev)
		return nil
	})
	return text.String(), evs, err
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestWatchConfidentPassesThrough(t *testing.T) {
	local := &scripted{lps: repeat(-0.1, 20)}
	var esc *Escalation
	w := Watch(local, CascadeConfig{Window: 4, MinMeanLogprob: -1}, func(e Escalation) { esc = &e })
	text, evs, err := collect(t, w, &backend.Request{Prompt: "p"})
	if err != nil || esc != nil || text != " t0 t1 t2 t3 t4 t5 t6 t7 t8 t9 t10 t11 t12 t13 t14 t15 t16 t17 t18 t19" {
		t.Fatalf("text %q err %v esc %v", text, err, esc)
	}
	if !local.seen.Logprobs || local.seen.TopLogprobs != watchTopLogprobs {
		t.Errorf("the watcher did not ask for logprobs: %+v", local.seen)
	}
	for _, ev := range evs {
		if ev.Logprobs != nil {
			t.Fatal("logprobs leaked to a client that did not ask for them")
		}
	}
	// A client that asked for 1 alternative gets exactly that.
	_, evs, _ = collect(t, Watch(&scripted{lps: repeat(-0.1, 6)}, CascadeConfig{Window: 4, MinMeanLogprob: -1}, nil),
		&backend.Request{Prompt: "p", Logprobs: true, TopLogprobs: 1})
	if len(evs) != 6 || len(evs[0].Logprobs) != 1 || len(evs[0].Logprobs[0].Top) != 1 {
		t.Errorf("client logprobs: %+v", evs)
	}
}

func TestWatchEscalatesBeforeFirstByte(t *testing.T) {
	var esc *Escalation
	w := Watch(&scripted{lps: repeat(-3, 20)}, CascadeConfig{Window: 4, MinMeanLogprob: -1}, func(e Escalation) { esc = &e })
	text, _, err := collect(t, w, &backend.Request{Prompt: "p"})
	if !errors.Is(err, backend.ErrEscalate) || text != "" || esc == nil || !esc.BeforeFirstByte || esc.Sent != 0 || esc.Wasted != 4 {
		t.Fatalf("text %q err %v esc %+v", text, err, esc)
	}
	// A short answer that never fills a window is judged too.
	esc = nil
	w = Watch(&scripted{lps: repeat(-3, 2)}, CascadeConfig{Window: 4, MinMeanLogprob: -1}, func(e Escalation) { esc = &e })
	if _, _, err := collect(t, w, &backend.Request{Prompt: "p"}); !errors.Is(err, backend.ErrEscalate) || esc == nil || esc.Wasted != 2 {
		t.Errorf("short answer: %v %+v", err, esc)
	}
}

// Through a chain, a mid-stream escalation gives the client one answer: the
// local tokens sent, then the larger tier's continuation.
func TestWatchEscalatesMidStreamThroughChain(t *testing.T) {
	lps := append(repeat(-0.1, 10), repeat(-5, 10)...)
	local := &scripted{lps: lps}
	big := &scripted{lps: repeat(-0.1, 20)}
	var esc *Escalation
	chain := cloud.Chain(Watch(local, CascadeConfig{Window: 4, MinMeanLogprob: -1}, func(e Escalation) { esc = &e }), big)
	text, _, err := collect(t, chain, &backend.Request{Prompt: "p"})
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	for i := range 20 {
		want += fmt.Sprintf(" t%d", i)
	}
	if text != want {
		t.Errorf("answer %q, want %q", text, want)
	}
	// Tokens 0-9 at -0.1, then -5: the window ending at token 10 has mean
	// -1.325 < -1, so token 10 escalates; 4 tokens were held back, so
	// tokens 0-5 were sent and 6-10 are dropped.
	if esc == nil || esc.BeforeFirstByte || esc.Sent != 6 || esc.Wasted != 5 || big.seen.Continue != " t0 t1 t2 t3 t4 t5" {
		t.Errorf("escalation %+v; the cloud continued after %q", esc, big.seen.Continue)
	}
}

func TestEntropy(t *testing.T) {
	// Four equally likely alternatives: ln 4.
	lp := backend.TokenLogprob{Top: []backend.TopLogprob{{Logprob: -1.3862944}, {Logprob: -1.3862944}, {Logprob: -1.3862944}, {Logprob: -1.3862944}}}
	if h := entropy(lp); h < 1.386 || h > 1.387 {
		t.Errorf("entropy %v", h)
	}
	var esc *Escalation
	w := Watch(&scripted{lps: repeat(-0.01, 10)}, CascadeConfig{Window: 4, MinMeanLogprob: -5, MaxEntropy: 0.5}, func(e Escalation) { esc = &e })
	if _, _, err := collect(t, w, &backend.Request{Prompt: "p"}); !errors.Is(err, backend.ErrEscalate) || esc == nil || !strings.Contains(esc.Reason, "entropy") {
		t.Errorf("entropy spike: %v %+v", err, esc)
	}
}
