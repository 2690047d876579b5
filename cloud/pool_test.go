package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-llm/tandem/backend"
)

// fastOpts are timeouts suited to loopback fakes.
func fastOpts() Options {
	return Options{
		FirstByteTimeout: 300 * time.Millisecond,
		StallTimeout:     200 * time.Millisecond,
		BackoffBase:      5 * time.Millisecond,
		BackoffMax:       50 * time.Millisecond,
		BreakerCooldown:  time.Hour,
		HealthInterval:   -1,
	}
}

func TestStreamChatAndCompletion(t *testing.T) {
	f := newFake(t)
	p, err := NewPool([]Upstream{{URL: f.url() + "/", Model: "m", APIKey: "sk-test"}}, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	res := collect(ctx, p, chatReq("hello"))
	if a := f.auth.Load(); a != "Bearer sk-test" {
		t.Fatalf("Authorization %q", a)
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	want := chatExpected("hello")
	if res.text != want {
		t.Fatalf("chat text %q, want %q", res.text, want)
	}
	if n := len(tokensOf(want)); res.final.FinishReason != "stop" || res.final.Usage.CompletionTokens != n || res.final.Usage.PromptTokens == 0 {
		t.Fatalf("final %+v, want stop with %d completion tokens", res.final, n)
	}
	b := f.lastBody()
	if !b.Stream || b.StreamOptions == nil || !b.StreamOptions.IncludeUsage || b.Model != "m" || b.ContinueFinalMessage {
		t.Fatalf("request body %+v", b)
	}

	prompt := "Q: what?\nA:"
	res = collect(ctx, p, &backend.Request{Prompt: prompt, MaxTokens: 3})
	if res.err != nil {
		t.Fatal(res.err)
	}
	toks := tokensOf(answerFor(prompt))
	if want := strings.Join(toks[:3], ""); res.text != want || res.final.FinishReason != "length" || res.final.Usage.CompletionTokens != 3 {
		t.Fatalf("completion %q %+v, want %q length 3", res.text, res.final, want)
	}
	if b := f.lastBody(); b.Prompt == nil || *b.Prompt != prompt || b.MaxTokens != 3 || b.Messages != nil {
		t.Fatalf("completion body %+v", b)
	}

	// Without [DONE] and usage (finish_reason alone ends the answer; usage
	// is estimated from the chunks).
	f.noDone.Store(true)
	f.noUsage.Store(true)
	res = collect(ctx, p, chatReq("no done"))
	if res.err != nil || res.text != chatExpected("no done") || res.final.Usage.CompletionTokens != len(tokensOf(res.text)) {
		t.Fatalf("without [DONE]: %q %+v %v", res.text, res.final, res.err)
	}
}

func TestLogprobs(t *testing.T) {
	f := newFake(t)
	p := newTestPool(t, fastOpts(), f)
	for _, req := range []*backend.Request{chatReq("lp"), {Prompt: "Q: lp\nA:"}} {
		req.Logprobs, req.TopLogprobs = true, 2
		res := collect(context.Background(), p, req)
		if res.err != nil {
			t.Fatal(res.err)
		}
		for _, ev := range res.events {
			if len(ev.Logprobs) != 1 || ev.Logprobs[0].Token != ev.Text || len(ev.Logprobs[0].Top) != 2 ||
				ev.Logprobs[0].Top[0].Token != ev.Text || ev.Logprobs[0].Logprob != -float64(len(ev.Text))/10 {
				t.Fatalf("event %+v", ev)
			}
		}
		b := f.lastBody()
		if req.Messages != nil && (string(b.Logprobs) != "true" || b.TopLogprobs != 2) || req.Messages == nil && string(b.Logprobs) != "2" {
			t.Fatalf("logprobs request fields %s %d", b.Logprobs, b.TopLogprobs)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	ctx := context.Background()
	f1, f2 := newFake(t), newFake(t)
	p := newTestPool(t, fastOpts(), f1, f2)

	res := collect(ctx, p, chatReq("too long"))
	if !errors.Is(res.err, backend.ErrContextLength) {
		t.Fatalf("context length: %v", res.err)
	}
	res = collect(ctx, p, chatReq("invalid"))
	if !errors.Is(res.err, backend.ErrBadRequest) || !strings.Contains(res.err.Error(), "temperature must be positive") {
		t.Fatalf("bad request: %v", res.err)
	}
	if g := f1.gens.Load() + f2.gens.Load(); g != 2 {
		t.Fatalf("400s were retried: %d requests", g)
	}

	// 429 on one replica: the other answers.
	f1.mode.Store(mode429)
	for range 4 {
		if res := collect(ctx, p, chatReq("x")); res.err != nil || res.text != chatExpected("x") {
			t.Fatalf("429 on one replica: %v", res.err)
		}
	}
	// 429 everywhere: ErrOverloaded after MaxAttempts (3), each replica
	// tried before one is tried again.
	f2.mode.Store(mode429)
	before := f1.gens.Load() + f2.gens.Load()
	res = collect(ctx, p, chatReq("x"))
	if !errors.Is(res.err, backend.ErrOverloaded) || errors.Is(res.err, backend.ErrUnavailable) {
		t.Fatalf("429 everywhere: %v", res.err)
	}
	if g := f1.gens.Load() + f2.gens.Load() - before; g != 3 {
		t.Fatalf("429 everywhere took %d attempts, want 3", g)
	}

	// 500 everywhere: ErrUnavailable wrapping the last upstream error.
	f1.mode.Store(mode500)
	f2.mode.Store(mode500)
	res = collect(ctx, p, chatReq("x"))
	var ue *UpstreamError
	if !errors.Is(res.err, backend.ErrUnavailable) || !errors.As(res.err, &ue) || ue.Status != 500 || ue.Kind != KindStatus {
		t.Fatalf("500 everywhere: %v", res.err)
	}

	// Connection refused everywhere.
	f1.kill()
	f2.kill()
	res = collect(ctx, p, chatReq("x"))
	if !errors.Is(res.err, backend.ErrUnavailable) || !errors.As(res.err, &ue) || ue.Kind != KindConnect {
		t.Fatalf("refused everywhere: %v", res.err)
	}
}

func TestRetryOnFaultsBeforeFirstByte(t *testing.T) {
	for _, mode := range []int32{mode500, modeHang, modeStall, modeCut} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			bad, good := newFake(t), newFake(t)
			bad.mode.Store(mode)
			bad.cutAfter.Store(0)
			obs := newRecObserver()
			o := fastOpts()
			o.Observer = obs
			p := newTestPool(t, o, bad, good)
			for i := range 4 {
				q := fmt.Sprint("q", i)
				if res := collect(context.Background(), p, chatReq(q)); res.err != nil || res.text != chatExpected(q) {
					t.Fatalf("%q %v", res.text, res.err)
				}
			}
			if bad.gens.Load() == 0 {
				t.Fatal("the faulty replica was never tried")
			}
		})
	}
}

func TestSlowFirstByte(t *testing.T) {
	f := newFake(t)
	f.mode.Store(modeSlowFirst)
	f.slowFirst.Store(int64(100 * time.Millisecond))
	p := newTestPool(t, fastOpts(), f)
	res := collect(context.Background(), p, chatReq("slow"))
	if res.err != nil || res.text != chatExpected("slow") || res.ttfb < 100*time.Millisecond {
		t.Fatalf("slow but in time: %v after %v", res.err, res.ttfb)
	}
	f.slowFirst.Store(int64(time.Second))
	res = collect(context.Background(), p, chatReq("slow"))
	var ue *UpstreamError
	if !errors.As(res.err, &ue) || ue.Kind != KindFirstByte || res.total > 2*time.Second {
		t.Fatalf("too slow: %v after %v", res.err, res.total)
	}
}

func TestMidStreamFailover(t *testing.T) {
	for _, mode := range []int32{modeCut, modeStall} {
		for _, chat := range []bool{true, false} {
			t.Run(fmt.Sprint(mode, chat), func(t *testing.T) {
				bad, good := newFake(t), newFake(t)
				bad.mode.Store(mode)
				bad.cutAfter.Store(4)
				obs := newRecObserver()
				o := fastOpts()
				o.Observer = obs
				p := newTestPool(t, o, bad, good)
				ctx := context.Background()
				req, want := chatReq("failover"), chatExpected("failover")
				if !chat {
					req = &backend.Request{Prompt: "Q: failover\nA:"}
					want = answerFor(req.Prompt)
				}
				// Two requests: the SWRR order puts the first on bad.
				for range 2 {
					res := collect(ctx, p, req)
					if res.err != nil || res.text != want {
						t.Fatalf("got %q, %v; want %q", res.text, res.err, want)
					}
					n := len(tokensOf(want))
					if res.final.Usage.CompletionTokens != n {
						t.Fatalf("completion tokens %d, want %d", res.final.Usage.CompletionTokens, n)
					}
				}
				if bad.gens.Load() != 1 || good.gens.Load() != 2 {
					t.Fatalf("requests bad %d good %d", bad.gens.Load(), good.gens.Load())
				}
				// The resumed request carried the first 4 tokens.
				var sawContinue bool
				good.mu.Lock()
				for _, b := range good.bodies {
					if chat && b.ContinueFinalMessage && b.AddGenerationPrompt != nil && !*b.AddGenerationPrompt &&
						b.Messages[len(b.Messages)-1].Content == strings.Join(tokensOf(want)[:4], "") {
						sawContinue = true
					}
					if !chat && *b.Prompt == req.Prompt+strings.Join(tokensOf(want)[:4], "") {
						sawContinue = true
					}
				}
				good.mu.Unlock()
				if !sawContinue {
					t.Fatal("no continuation request seen")
				}
			})
		}
	}
}

func TestContinue(t *testing.T) {
	f := newFake(t)
	p := newTestPool(t, fastOpts(), f)
	ctx := context.Background()

	want := chatExpected("cont")
	toks := tokensOf(want)
	prefix := strings.Join(toks[:3], "")
	req := chatReq("cont")
	req.Continue = prefix
	res := collect(ctx, p, req)
	if res.err != nil || prefix+res.text != want {
		t.Fatalf("chat continue: %q + %q != %q (%v)", prefix, res.text, want, res.err)
	}
	b := f.lastBody()
	last := b.Messages[len(b.Messages)-1]
	if last.Role != "assistant" || last.Content != prefix || !b.ContinueFinalMessage || b.AddGenerationPrompt == nil || *b.AddGenerationPrompt {
		t.Fatalf("continue body %+v", b)
	}
	if len(req.Messages) != 2 {
		t.Fatal("request messages modified")
	}

	prompt := "Q: cont\nA:"
	want = answerFor(prompt)
	prefix = strings.Join(tokensOf(want)[:5], "")
	res = collect(ctx, p, &backend.Request{Prompt: prompt, Continue: prefix})
	if res.err != nil || prefix+res.text != want {
		t.Fatalf("completion continue: %q + %q != %q (%v)", prefix, res.text, want, res.err)
	}
	if b := f.lastBody(); *b.Prompt != prompt+prefix {
		t.Fatalf("completion continue prompt %q", *b.Prompt)
	}
}

// TestBreakerSkipsDeadReplica: once a dead replica's breaker is open, a
// request does not touch it and its first byte comes in < 50 ms.
func TestBreakerSkipsDeadReplica(t *testing.T) {
	for _, dead := range []string{"hang", "refused"} {
		t.Run(dead, func(t *testing.T) {
			bad, good := newFake(t), newFake(t)
			if dead == "hang" {
				bad.mode.Store(modeHang)
			} else {
				bad.kill()
			}
			obs := newRecObserver()
			o := fastOpts()
			o.Observer = obs
			o.BreakerThreshold = 2
			o.FirstByteTimeout = time.Second
			p := newTestPool(t, o, bad, good)
			ctx := context.Background()
			for i := 0; obs.breakerOpens(bad.url()) == 0; i++ {
				if i == 10 {
					t.Fatal("breaker did not open")
				}
				if res := collect(ctx, p, chatReq("trip")); res.err != nil {
					t.Fatal(res.err)
				}
			}
			if s := p.State(); !s[0].BreakerOpen || s[1].BreakerOpen {
				t.Fatalf("state %+v", s)
			}
			conns, gens := bad.conns.Load(), bad.gens.Load()
			var worst time.Duration
			for i := range 20 {
				q := fmt.Sprint("skip", i)
				res := collect(ctx, p, chatReq(q))
				if res.err != nil || res.text != chatExpected(q) {
					t.Fatal(res.err)
				}
				worst = max(worst, res.ttfb)
			}
			t.Logf("worst time to first byte with the breaker open: %v", worst)
			if worst >= 50*time.Millisecond {
				t.Fatalf("time to first byte %v ≥ 50ms", worst)
			}
			if bad.conns.Load() != conns || bad.gens.Load() != gens {
				t.Fatal("the open breaker's replica was dialled")
			}
		})
	}
}

func TestBreakerHalfOpen(t *testing.T) {
	f := newFake(t)
	obs := newRecObserver()
	o := fastOpts()
	o.Observer = obs
	o.BreakerThreshold = 2
	o.BreakerCooldown = 100 * time.Millisecond
	o.MaxAttempts = 1
	p := newTestPool(t, o, f)
	ctx := context.Background()
	f.mode.Store(mode500)
	for range 2 {
		if res := collect(ctx, p, chatReq("x")); !errors.Is(res.err, backend.ErrUnavailable) {
			t.Fatal(res.err)
		}
	}
	if obs.breakerOpens(f.url()) != 1 {
		t.Fatalf("breaker events %v", obs.breaker)
	}
	// Open: fails at once without a request.
	gens := f.gens.Load()
	res := collect(ctx, p, chatReq("x"))
	if !errors.Is(res.err, backend.ErrUnavailable) || !errors.Is(res.err, errNoReplica) || f.gens.Load() != gens || res.total > 50*time.Millisecond {
		t.Fatalf("open breaker: %v after %v", res.err, res.total)
	}
	// Half-open probe fails: open again.
	time.Sleep(120 * time.Millisecond)
	collect(ctx, p, chatReq("x"))
	if f.gens.Load() != gens+1 || obs.breakerOpens(f.url()) != 2 {
		t.Fatalf("half-open probe: %d requests, events %v", f.gens.Load()-gens, obs.breaker)
	}
	// Half-open probe succeeds: closed.
	f.mode.Store(modeOK)
	time.Sleep(120 * time.Millisecond)
	if res := collect(ctx, p, chatReq("x")); res.err != nil {
		t.Fatal(res.err)
	}
	if s := p.State(); s[0].BreakerOpen {
		t.Fatal("breaker still open")
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if last := obs.breaker[len(obs.breaker)-1]; last != f.url()+" open=false" {
		t.Fatalf("events %v", obs.breaker)
	}
}

func TestHealthChecks(t *testing.T) {
	f1, f2 := newFake(t), newFake(t)
	obs := newRecObserver()
	o := fastOpts()
	o.Observer = obs
	o.HealthInterval = 20 * time.Millisecond
	o.HealthTimeout = 50 * time.Millisecond
	p := newTestPool(t, o, f1, f2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.Start(ctx)
	p.Start(ctx) // no-op
	waitFor := func(cond func([]ReplicaState) bool) {
		t.Helper()
		for range 200 {
			if cond(p.State()) {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("state %+v", p.State())
	}
	f1.mode.Store(modeHang)
	waitFor(func(s []ReplicaState) bool { return !s[0].Healthy && s[1].Healthy })
	gens := f1.gens.Load()
	for i := range 5 {
		q := fmt.Sprint(i)
		if res := collect(ctx, p, chatReq(q)); res.err != nil || res.text != chatExpected(q) {
			t.Fatal(res.err)
		}
	}
	if f1.gens.Load() != gens {
		t.Fatal("a down replica got requests")
	}
	f1.mode.Store(modeOK)
	waitFor(func(s []ReplicaState) bool { return s[0].Healthy })
	f2.kill()
	waitFor(func(s []ReplicaState) bool { return !s[1].Healthy })
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.health) < 3 {
		t.Fatalf("health events %v", obs.health)
	}
}

func TestLoadBalancing(t *testing.T) {
	ctx := context.Background()
	t.Run("weighted", func(t *testing.T) {
		f1, f2 := newFake(t), newFake(t)
		p, err := NewPool([]Upstream{{URL: f1.url(), Weight: 1}, {URL: f2.url(), Weight: 3}}, Options{Logger: quietLogger(), HealthInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			if res := collect(ctx, p, chatReq(fmt.Sprint(i))); res.err != nil {
				t.Fatal(res.err)
			}
		}
		if f1.gens.Load() != 10 || f2.gens.Load() != 30 {
			t.Fatalf("weights 1:3 gave %d:%d", f1.gens.Load(), f2.gens.Load())
		}
	})
	t.Run("least outstanding", func(t *testing.T) {
		f1, f2 := newFake(t), newFake(t)
		f1.tokenDelay.Store(int64(20 * time.Millisecond))
		f2.tokenDelay.Store(int64(20 * time.Millisecond))
		p := newTestPool(t, Options{HealthInterval: -1}, f1, f2)
		// Slow first request holds one replica; each next request must go
		// to the least loaded one, so 4 concurrent requests split 2:2.
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				if res := collect(ctx, p, chatReq(fmt.Sprint(i))); res.err != nil {
					t.Error(res.err)
				}
			})
			time.Sleep(5 * time.Millisecond)
		}
		wg.Wait()
		if f1.gens.Load() != 2 || f2.gens.Load() != 2 {
			t.Fatalf("split %d:%d", f1.gens.Load(), f2.gens.Load())
		}
	})
}

func TestCancelAndTimeouts(t *testing.T) {
	f := newFake(t)
	f.tokenDelay.Store(int64(20 * time.Millisecond))
	p := newTestPool(t, fastOpts(), f)

	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	_, err := p.Stream(ctx, chatReq("cancel"), func(backend.Event) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("cancel: %v after %v", err, time.Since(start))
	}

	errStop := errors.New("client gone")
	_, err = p.Stream(context.Background(), chatReq("emit"), func(backend.Event) error { return errStop })
	if !errors.Is(err, errStop) {
		t.Fatalf("emit error: %v", err)
	}

	o := fastOpts()
	o.RequestTimeout = 100 * time.Millisecond
	p = newTestPool(t, o, f)
	res := collect(context.Background(), p, chatReq("timeout"))
	if !errors.Is(res.err, backend.ErrUnavailable) || !errors.Is(res.err, context.DeadlineExceeded) || res.total > time.Second {
		t.Fatalf("request timeout: %v after %v", res.err, res.total)
	}

	// A slow client does not count as a stalled upstream.
	f.tokenDelay.Store(0)
	p = newTestPool(t, fastOpts(), f)
	n := 0
	_, err = p.Stream(context.Background(), chatReq("slow client"), func(backend.Event) error {
		if n++; n == 2 {
			time.Sleep(400 * time.Millisecond)
		}
		return nil
	})
	if err != nil || f.gens.Load() != 4 {
		t.Fatalf("slow client: %v, %d requests", err, f.gens.Load())
	}
}

func TestNewPoolErrors(t *testing.T) {
	for _, ups := range [][]Upstream{nil, {{URL: "ftp://x"}}, {{URL: "::"}}, {{URL: "http://x", Weight: -1}}} {
		if _, err := NewPool(ups, Options{}); err == nil {
			t.Errorf("NewPool(%v) succeeded", ups)
		}
	}
}

func TestParseErrorBody(t *testing.T) {
	for _, c := range []struct{ body, code, msg string }{
		{`{"error":{"message":"m","type":"invalid_request_error","code":"context_length_exceeded"}}`, "context_length_exceeded", "m"},
		{`{"object":"error","message":"This model's maximum context length is 4096 tokens","type":"BadRequestError","code":400}`, "BadRequestError", "This model's maximum context length is 4096 tokens"},
		{`{"error":"boom"}`, "", "boom"},
		{`{"detail":"not found"}`, "", "not found"},
		{`upstream connect error`, "", "upstream connect error"},
	} {
		code, msg := parseErrorBody([]byte(c.body))
		if code != c.code || msg != c.msg {
			t.Errorf("%s: %q %q", c.body, code, msg)
		}
	}
	if !isContextLength("BadRequestError", "This model's maximum context length is 4096 tokens") || isContextLength("x", "bad temperature") {
		t.Error("isContextLength")
	}
}

func TestStreamErrorChunkAndJSONAnswer(t *testing.T) {
	handler := func(kind string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var req wireRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				t.Error(err)
				return
			}
			full := answerFor(chatKey(req.Messages))
			switch kind {
			case "json": // ignores "stream": true
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				json.NewEncoder(w).Encode(map[string]any{
					"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": full}, "finish_reason": "stop"}},
					"usage":   map[string]any{"prompt_tokens": 5, "completion_tokens": 9},
				})
			case "error-chunk":
				w.Header().Set("Content-Type", "text/event-stream")
				for _, tok := range tokensOf(full)[:2] {
					b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": tok}}}})
					fmt.Fprintf(w, "data: %s\n\n", b)
				}
				io.WriteString(w, `data: {"error":{"message":"engine died","type":"InternalServerError","code":500}}`+"\n\n")
			case "ctxlen-chunk":
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, `data: {"object":"error","message":"This model's maximum context length is 10 tokens","type":"BadRequestError","code":400}`+"\n\n")
			}
		}
	}
	srv := func(kind string) string {
		s := httptest.NewServer(handler(kind))
		t.Cleanup(s.Close)
		return s.URL + "/v1"
	}
	ctx := context.Background()
	obs := newRecObserver()
	good := newFake(t)
	o := fastOpts()
	o.Observer = obs
	o.Logger = quietLogger()
	p, err := NewPool([]Upstream{{URL: srv("error-chunk")}, {URL: good.url()}}, o)
	if err != nil {
		t.Fatal(err)
	}
	res := collect(ctx, p, chatReq("chunk"))
	if res.err != nil || res.text != chatExpected("chunk") || obs.errs[KindStreamError] != 1 || obs.ttft != 1 {
		t.Fatalf("error chunk: %q %v %v ttft %d", res.text, res.err, obs.errs, obs.ttft)
	}

	p, _ = NewPool([]Upstream{{URL: srv("json")}}, o)
	res = collect(ctx, p, chatReq("json"))
	if res.err != nil || res.text != chatExpected("json") || res.final.Usage != (backend.Usage{PromptTokens: 5, CompletionTokens: 9}) {
		t.Fatalf("JSON answer: %q %+v %v", res.text, res.final, res.err)
	}

	p, _ = NewPool([]Upstream{{URL: srv("ctxlen-chunk")}, {URL: good.url()}}, o)
	gens := good.gens.Load()
	res = collect(ctx, p, chatReq("ctx"))
	if !errors.Is(res.err, backend.ErrContextLength) || good.gens.Load() != gens {
		t.Fatalf("context length in stream: %v", res.err)
	}
}
