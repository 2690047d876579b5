package server_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tandem-llm/tandem/backend"
)

// fake is a deterministic backend: for a prompt whose first word is W it
// generates " W0 W1 W2 …" (one word per token), honouring MaxTokens (default
// 8), Stop and Continue.
type fake struct {
	name      string
	delay     time.Duration // per token
	context   int           // prompt words allowed; 0: any
	parallel  chan struct{} // nil: unlimited
	failAfter int           // > 0: fail with errFail after this many tokens
	failWith  error         // returned before any token when set
	block     bool          // generate until ctx is cancelled

	calls     atomic.Int64
	cancelled atomic.Int64
	lastReq   atomic.Pointer[backend.Request]
}

func promptOf(req *backend.Request) string {
	if req.Messages != nil {
		return req.Messages[len(req.Messages)-1].Content
	}
	return req.Prompt
}

func fakeAnswer(prompt string, n int) []string {
	w := strings.Fields(prompt)
	first := "x"
	if len(w) > 0 {
		first = w[0]
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(" %s%d", first, i)
	}
	return out
}

func (f *fake) Stream(ctx context.Context, req *backend.Request, emit func(backend.Event) error) (backend.Final, error) {
	f.calls.Add(1)
	r := *req
	f.lastReq.Store(&r)
	var fin backend.Final
	if f.failWith != nil {
		return fin, f.failWith
	}
	prompt := promptOf(req)
	fin.Usage.PromptTokens = len(strings.Fields(prompt)) + 1
	if f.context > 0 && fin.Usage.PromptTokens > f.context {
		return fin, fmt.Errorf("%w: %d prompt tokens, context %d", backend.ErrContextLength, fin.Usage.PromptTokens, f.context)
	}
	if f.parallel != nil {
		select {
		case f.parallel <- struct{}{}:
			defer func() { <-f.parallel }()
		default:
			return fin, fmt.Errorf("%w: fake is busy", backend.ErrOverloaded)
		}
	}
	n := req.MaxTokens
	if n <= 0 {
		n = 8
	}
	if f.block {
		n = 1 << 30
	}
	// A continuation resumes after the words already sent.
	k := len(strings.Fields(req.Continue))
	words := fakeAnswer(prompt, min(n+k, 1<<10))
	text := ""
	for i := 0; i < n; i++ {
		w := words[(k+i)%len(words)]
		if f.delay > 0 {
			select {
			case <-time.After(f.delay):
			case <-ctx.Done():
				f.cancelled.Add(1)
				return fin, ctx.Err()
			}
		}
		if err := ctx.Err(); err != nil {
			f.cancelled.Add(1)
			return fin, err
		}
		if f.failAfter > 0 && i == f.failAfter {
			return fin, fmt.Errorf("fake %s: %w", f.name, errFail)
		}
		fin.Usage.CompletionTokens++
		text += w
		for _, s := range req.Stop {
			if j := strings.Index(text, s); j >= 0 {
				w = w[:len(w)-(len(text)-j)]
				if w != "" {
					emit(backend.Event{Text: w})
				}
				fin.FinishReason = "stop"
				return fin, nil
			}
		}
		ev := backend.Event{Text: w}
		if req.Logprobs {
			lp := backend.TokenLogprob{Token: w, Logprob: -0.5}
			for k := range req.TopLogprobs {
				lp.Top = append(lp.Top, backend.TopLogprob{Token: fmt.Sprintf("alt%d", k), Logprob: -1 - float64(k)})
			}
			ev.Logprobs = []backend.TokenLogprob{lp}
		}
		if err := emit(ev); err != nil {
			return fin, err
		}
	}
	fin.FinishReason = "length"
	return fin, nil
}

var errFail = errors.New("injected failure")
