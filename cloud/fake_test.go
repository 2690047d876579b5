package cloud

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-llm/tandem/backend"
)

// Fault modes of a fake upstream.
const (
	modeOK        int32 = iota
	mode500             // 500 with a JSON error
	modeHang            // accept, never answer headers
	modeStall           // send cutAfter tokens, then hang
	modeCut             // send cutAfter tokens, then break the connection
	mode429             // 429
	modeSlowFirst       // wait slowFirst before the headers, then answer
)

// answerFor is the deterministic answer to a request keyed by key: words
// (some multi-byte) picked by a generator seeded with key's hash.
func answerFor(key string) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	x := h.Sum64() | 1
	words := []string{"alpha", "beta", "gamma", "délta", "épée", "日本語", "naïve", "zeta", "über", "ω", "eta", "🙂ok"}
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	n := 10 + int(next()%20)
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[next()%uint64(len(words))])
	}
	b.WriteByte('.')
	return b.String()
}

// tokensOf splits text into the chunks a fake streams: each word with the
// space before it.
func tokensOf(s string) []string {
	var toks []string
	for len(s) > 0 {
		i := strings.IndexByte(s[1:], ' ')
		if i < 0 {
			toks = append(toks, s)
			break
		}
		toks = append(toks, s[:i+1])
		s = s[i+1:]
	}
	return toks
}

// promptKey splits a completion prompt "…\nA:" + continuation.
func promptKey(p string) (key, cont string) {
	i := strings.Index(p, "\nA:")
	if i < 0 {
		return p, ""
	}
	return p[:i+3], p[i+3:]
}

// chatKey is the key of a chat: its non-assistant messages.
func chatKey(ms []wireMessage) string {
	var b strings.Builder
	for _, m := range ms {
		if m.Role != "assistant" {
			b.WriteString(m.Role + ":" + m.Content + "\n")
		}
	}
	return b.String()
}

func chatReq(q string) *backend.Request {
	return &backend.Request{Model: "m", Messages: []backend.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: q}}}
}

func chatExpected(q string) string {
	return answerFor(chatKey([]wireMessage{{Role: "system", Content: "be brief"}, {Role: "user", Content: q}}))
}

// fake is an OpenAI-compatible upstream on loopback whose answers are
// answerFor(request) and whose faults are switched at run time.
type fake struct {
	t          testing.TB
	addr       string
	mode       atomic.Int32
	cutAfter   atomic.Int32
	tokenDelay atomic.Int64 // ns between tokens
	slowFirst  atomic.Int64 // ns before the headers in modeSlowFirst
	noDone     atomic.Bool  // omit data: [DONE]
	noUsage    atomic.Bool  // omit the usage chunk
	gens       atomic.Int64 // generation requests received
	conns      atomic.Int64 // connections accepted
	auth       atomic.Value // last Authorization header
	quit       chan struct{}

	mu     sync.Mutex
	srv    *http.Server
	dead   bool
	bodies []wireRequest
}

func newFake(t testing.TB) *fake {
	f := &fake{t: t, quit: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	f.serve(ln)
	t.Cleanup(func() {
		close(f.quit)
		f.kill()
	})
	return f
}

func (f *fake) url() string { return "http://" + f.addr + "/v1" }

func (f *fake) serve(ln net.Listener) {
	srv := &http.Server{
		Handler:  f,
		ErrorLog: log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				f.conns.Add(1)
			}
		},
	}
	f.srv = srv
	f.dead = false
	go srv.Serve(ln)
}

// kill closes the listener and every connection: dials are refused.
func (f *fake) kill() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.dead {
		f.dead = true
		f.srv.Close()
	}
}

// revive listens on the same address again.
func (f *fake) revive() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.dead {
		return
	}
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", f.addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		f.t.Errorf("revive %s: %v", f.addr, err)
		return
	}
	f.serve(ln)
}

func (f *fake) lastBody() wireRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[len(f.bodies)-1]
}

func (f *fake) wait(r *http.Request, d time.Duration) bool {
	var c <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		c = t.C
	}
	select {
	case <-c:
		return true
	case <-r.Context().Done():
	case <-f.quit:
	}
	return false
}

func jsonError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "code": code}})
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mode := f.mode.Load()
	if r.URL.Path == "/v1/models" {
		switch mode {
		case mode500:
			jsonError(w, 500, "", "down")
		case modeHang:
			f.wait(r, 0)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"object":"list","data":[{"id":"m","object":"model"}]}`)
		}
		return
	}
	chat := r.URL.Path == "/v1/chat/completions"
	if !chat && r.URL.Path != "/v1/completions" {
		http.NotFound(w, r)
		return
	}
	f.gens.Add(1)
	f.auth.Store(r.Header.Get("Authorization"))
	var req wireRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		jsonError(w, 400, "", "bad json: "+err.Error())
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, req)
	f.mu.Unlock()
	switch mode {
	case mode500:
		jsonError(w, 500, "", "internal error")
		return
	case mode429:
		jsonError(w, 429, "rate_limit_exceeded", "slow down")
		return
	case modeHang:
		f.wait(r, 0)
		return
	case modeSlowFirst:
		if !f.wait(r, time.Duration(f.slowFirst.Load())) {
			return
		}
	}
	if !req.Stream || req.StreamOptions == nil || !req.StreamOptions.IncludeUsage {
		jsonError(w, 400, "", "want stream with include_usage")
		return
	}
	var key, cont string
	if chat {
		ms := req.Messages
		if len(ms) > 0 && ms[len(ms)-1].Role == "assistant" {
			if !req.ContinueFinalMessage || req.AddGenerationPrompt == nil || *req.AddGenerationPrompt {
				jsonError(w, 400, "", "assistant last without continue_final_message")
				return
			}
			cont = ms[len(ms)-1].Content
		}
		key = chatKey(ms)
	} else {
		if req.Prompt == nil {
			jsonError(w, 400, "", "no prompt")
			return
		}
		key, cont = promptKey(*req.Prompt)
	}
	if strings.Contains(key, "too long") {
		jsonError(w, 400, "context_length_exceeded", "This model's maximum context length is 8 tokens")
		return
	}
	if strings.Contains(key, "invalid") {
		jsonError(w, 400, "", "temperature must be positive")
		return
	}
	full := answerFor(key)
	if !strings.HasPrefix(full, cont) {
		jsonError(w, 400, "", fmt.Sprintf("continuation %q is not a prefix of the answer", cont))
		return
	}
	toks := tokensOf(full[len(cont):])
	finish := "stop"
	if req.MaxTokens > 0 && len(toks) > req.MaxTokens {
		toks, finish = toks[:req.MaxTokens], "length"
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	fl := w.(http.Flusher)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		fl.Flush()
	}
	if chat {
		send(map[string]any{"object": "chat.completion.chunk", "choices": []any{map[string]any{"index": 0, "delta": map[string]any{"role": "assistant", "content": ""}, "finish_reason": nil}}})
	} else {
		fl.Flush()
	}
	delay := time.Duration(f.tokenDelay.Load())
	cutAfter := int(f.cutAfter.Load())
	wantLP := len(req.Logprobs) > 0 && string(req.Logprobs) != "false"
	for i, tok := range toks {
		if (mode == modeCut || mode == modeStall) && i == cutAfter {
			if mode == modeStall {
				f.wait(r, 0)
				return
			}
			panic(http.ErrAbortHandler)
		}
		if delay > 0 && !f.wait(r, delay) {
			return
		}
		c := map[string]any{"index": 0, "finish_reason": nil}
		if i == len(toks)-1 {
			c["finish_reason"] = finish
		}
		lp := -float64(len(tok)) / 10
		if chat {
			c["delta"] = map[string]any{"content": tok}
			if wantLP {
				c["logprobs"] = map[string]any{"content": []any{map[string]any{"token": tok, "logprob": lp, "top_logprobs": []any{map[string]any{"token": tok, "logprob": lp}, map[string]any{"token": "x", "logprob": lp - 1}}}}}
			}
		} else {
			c["text"] = tok
			if wantLP {
				c["logprobs"] = map[string]any{"tokens": []string{tok}, "token_logprobs": []float64{lp}, "top_logprobs": []any{map[string]float64{tok: lp, "x": lp - 1}}}
			}
		}
		send(map[string]any{"choices": []any{c}})
	}
	if len(toks) == 0 {
		send(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]any{}, "text": "", "finish_reason": finish}}})
	}
	if !f.noUsage.Load() {
		prompt := len(strings.Fields(key + " " + cont))
		send(map[string]any{"choices": []any{}, "usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": len(toks), "total_tokens": prompt + len(toks)}})
	}
	if !f.noDone.Load() {
		io.WriteString(w, "data: [DONE]\n\n")
	}
}

// recObserver records the Pool's events.
type recObserver struct {
	mu       sync.Mutex
	attempts map[string]int
	errs     map[string]int // by UpstreamError kind
	breaker  []string
	ttft     int
	health   []string
}

func newRecObserver() *recObserver {
	return &recObserver{attempts: map[string]int{}, errs: map[string]int{}}
}

func (o *recObserver) OnAttempt(rep string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts[rep]++
	if ue, ok := err.(*UpstreamError); ok {
		o.errs[ue.Kind]++
	}
}

func (o *recObserver) OnBreaker(rep string, open bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.breaker = append(o.breaker, fmt.Sprintf("%s open=%v", rep, open))
}

func (o *recObserver) OnTTFT(string, time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ttft++
}

func (o *recObserver) OnHealth(rep string, up bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.health = append(o.health, fmt.Sprintf("%s up=%v", rep, up))
}

func (o *recObserver) breakerOpens(rep string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, s := range o.breaker {
		if s == rep+" open=true" {
			n++
		}
	}
	return n
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestPool(t testing.TB, o Options, fs ...*fake) *Pool {
	t.Helper()
	var ups []Upstream
	for _, f := range fs {
		ups = append(ups, Upstream{URL: f.url(), Model: "m"})
	}
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	p, err := NewPool(ups, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type result struct {
	text   string
	events []backend.Event
	final  backend.Final
	err    error
	ttfb   time.Duration // to the first event
	total  time.Duration
}

func collect(ctx context.Context, b backend.Backend, req *backend.Request) result {
	var res result
	var sb strings.Builder
	start := time.Now()
	res.final, res.err = b.Stream(ctx, req, func(ev backend.Event) error {
		if res.ttfb == 0 {
			res.ttfb = time.Since(start)
		}
		sb.WriteString(ev.Text)
		res.events = append(res.events, ev)
		return nil
	})
	res.total = time.Since(start)
	res.text = sb.String()
	return res
}
