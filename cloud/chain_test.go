package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-llm/tandem/backend"
)

// fakeLocal stands in for the on-device engine: it answers answerFor like
// the fake upstreams, honours Continue, and can fail after cutAfter
// events with err.
type fakeLocal struct {
	mu       sync.Mutex
	calls    int
	reqs     []backend.Request
	cutAfter int // < 0: never
	err      error
}

func (l *fakeLocal) Stream(ctx context.Context, req *backend.Request, emit func(backend.Event) error) (backend.Final, error) {
	l.mu.Lock()
	l.calls++
	l.reqs = append(l.reqs, *req)
	cutAfter, failErr := l.cutAfter, l.err
	l.mu.Unlock()
	var key string
	if req.Messages != nil {
		var ms []wireMessage
		for _, m := range req.Messages {
			ms = append(ms, wireMessage{Role: m.Role, Content: m.Content})
		}
		key = chatKey(ms)
	} else {
		key, _ = promptKey(req.Prompt)
	}
	full := answerFor(key)
	if !strings.HasPrefix(full, req.Continue) {
		return backend.Final{}, fmt.Errorf("%w: continuation is not a prefix", backend.ErrBadRequest)
	}
	// Different chunking from the upstreams: 3 runes at a time.
	rs := []rune(full[len(req.Continue):])
	n := 0
	for i := 0; i < len(rs); i += 3 {
		if ctx.Err() != nil {
			return backend.Final{}, ctx.Err()
		}
		if n == cutAfter {
			return backend.Final{Usage: backend.Usage{CompletionTokens: n}}, failErr
		}
		if req.MaxTokens > 0 && n == req.MaxTokens {
			return backend.Final{FinishReason: "length", Usage: backend.Usage{PromptTokens: 7, CompletionTokens: n}}, nil
		}
		if err := emit(backend.Event{Text: string(rs[i:min(i+3, len(rs))])}); err != nil {
			return backend.Final{}, err
		}
		n++
	}
	if cutAfter >= 0 && n <= cutAfter {
		return backend.Final{}, failErr
	}
	return backend.Final{FinishReason: "stop", Usage: backend.Usage{PromptTokens: 7, CompletionTokens: n}}, nil
}

// errBackend fails at once.
type errBackend struct{ err error }

func (e errBackend) Stream(context.Context, *backend.Request, func(backend.Event) error) (backend.Final, error) {
	return backend.Final{}, e.err
}

func TestChain(t *testing.T) {
	ctx := context.Background()

	t.Run("cloud down", func(t *testing.T) {
		f := newFake(t)
		f.kill()
		local := &fakeLocal{cutAfter: -1}
		c := Chain(newTestPool(t, fastOpts(), f), local)
		for i := range 3 {
			res := collect(ctx, c, chatReq("down"))
			if res.err != nil || res.text != chatExpected("down") || local.calls != i+1 || local.reqs[i].Continue != "" {
				t.Fatalf("%q %v calls %d", res.text, res.err, local.calls)
			}
			// Once the breaker is open the pool fails at once.
			if i > 0 && res.ttfb > 50*time.Millisecond {
				t.Fatalf("local answered after %v", res.ttfb)
			}
		}
	})

	t.Run("cloud breaks mid-answer", func(t *testing.T) {
		f := newFake(t)
		f.mode.Store(modeCut)
		f.cutAfter.Store(4)
		o := fastOpts()
		o.MaxAttempts = 1
		o.MaxFailovers = -1 // the pool gives up at the first cut
		local := &fakeLocal{cutAfter: -1}
		full := answerFor("Q: mid\nA:")
		for _, req := range []*backend.Request{chatReq("mid"), {Prompt: "Q: mid\nA:", Continue: tokensOf(full)[0]}} {
			local.reqs = nil
			res := collect(ctx, Chain(newTestPool(t, o, f), local), req)
			want, skip := chatExpected("mid"), 0
			if req.Messages == nil {
				want, skip = full[len(req.Continue):], 1
			}
			if res.err != nil || res.text != want {
				t.Fatalf("got %q (%v), want %q", res.text, res.err, want)
			}
			// The pool sent 4 tokens; the local tier got them as Continue.
			if c, w := local.reqs[0].Continue, strings.Join(tokensOf(req.Continue + want)[:4+skip], ""); c != w {
				t.Fatalf("local Continue %q, want %q", c, w)
			}
		}
	})

	t.Run("three tiers and usage", func(t *testing.T) {
		mid := &fakeLocal{cutAfter: 3, err: errors.New("engine crashed")}
		last := &fakeLocal{cutAfter: -1}
		req := chatReq("tiers")
		req.MaxTokens = 100
		res := collect(ctx, Chain(errBackend{backend.ErrOverloaded}, mid, last), req)
		if res.err != nil || res.text != chatExpected("tiers") {
			t.Fatalf("%q %v", res.text, res.err)
		}
		lr := last.reqs[0]
		if lr.MaxTokens != 97 || !strings.HasPrefix(chatExpected("tiers"), lr.Continue) || len([]rune(lr.Continue)) != 9 {
			t.Fatalf("last tier request MaxTokens %d Continue %q", lr.MaxTokens, lr.Continue)
		}
		n := (len([]rune(res.text)) + 2) / 3 // 3-rune events, but the stitch may split one
		if u := res.final.Usage; u.CompletionTokens < n || u.CompletionTokens > n+1 || u.PromptTokens != 4 {
			t.Fatalf("usage %+v, ~%d completion tokens", u, n)
		}
	})

	t.Run("no failover", func(t *testing.T) {
		local := &fakeLocal{cutAfter: -1}
		for _, err := range []error{backend.ErrBadRequest, backend.ErrContextLength, context.Canceled} {
			res := collect(ctx, Chain(errBackend{err}, local), chatReq("x"))
			if !errors.Is(res.err, err) || local.calls != 0 {
				t.Fatalf("%v: %v, local calls %d", err, res.err, local.calls)
			}
		}
		errStop := errors.New("client gone")
		first := &fakeLocal{cutAfter: -1}
		_, err := Chain(first, local).Stream(ctx, chatReq("x"), func(backend.Event) error { return errStop })
		if !errors.Is(err, errStop) || local.calls != 0 {
			t.Fatalf("emit error: %v, local calls %d", err, local.calls)
		}
		cctx, cancel := context.WithCancel(ctx)
		first = &fakeLocal{cutAfter: 2, err: errors.New("boom")}
		_, err = Chain(first, local).Stream(cctx, chatReq("x"), func(backend.Event) error { cancel(); return nil })
		if err == nil || local.calls != 0 {
			t.Fatalf("cancelled: %v, local calls %d", err, local.calls)
		}
	})

	t.Run("all fail", func(t *testing.T) {
		res := collect(ctx, Chain(errBackend{backend.ErrOverloaded}, errBackend{backend.ErrUnavailable}), chatReq("x"))
		if !errors.Is(res.err, backend.ErrUnavailable) {
			t.Fatal(res.err)
		}
		if res := collect(ctx, Chain(), chatReq("x")); !errors.Is(res.err, backend.ErrUnavailable) {
			t.Fatal(res.err)
		}
	})

	t.Run("pool and local under load", func(t *testing.T) {
		f1, f2 := newFake(t), newFake(t)
		f1.tokenDelay.Store(int64(time.Millisecond))
		f2.tokenDelay.Store(int64(time.Millisecond))
		o := fastOpts()
		o.BreakerCooldown = 50 * time.Millisecond
		o.MaxAttempts = 2
		local := &fakeLocal{cutAfter: -1}
		c := Chain(newTestPool(t, o, f1, f2), local)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 10)
		for i := range 60 {
			if i == 20 {
				f1.kill()
				f2.kill()
			}
			if i == 40 {
				f1.revive()
				f2.revive()
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				q := fmt.Sprint("load", i)
				if res := collect(ctx, c, chatReq(q)); res.err != nil || res.text != chatExpected(q) {
					t.Errorf("%d: %q %v", i, res.text, res.err)
				}
			})
		}
		wg.Wait()
		t.Logf("local answered or finished %d of 60", local.calls)
	})
}
