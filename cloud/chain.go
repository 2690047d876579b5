package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tandem-llm/tandem/backend"
)

// Chain returns a Backend that fails over across tiers, e.g. a cloud Pool
// and then the local engine. It streams from the first backend; when one
// fails with ErrUnavailable or ErrOverloaded before any text was emitted,
// the request goes to the next; so it does when one escalates
// (ErrEscalate). When one fails in any way after text was
// emitted (except the caller's context ending or emit's error), the next
// backend continues the answer with Request.Continue extended by the text
// so far, so emit sees one uninterrupted answer. Other errors before any
// text (ErrBadRequest, ErrContextLength, …) are returned as they are.
//
// Final.Usage follows the Pool's rule: the finishing backend's counts,
// with the earlier backends' completion tokens (as their partial Final
// reported them, else one per event or logprob) moved from prompt to
// completion. MaxTokens of a continuation is reduced by the same count.
func Chain(backends ...backend.Backend) backend.Backend {
	return &chain{tiers: backends}
}

type chain struct {
	tiers []backend.Backend
}

func (c *chain) Stream(ctx context.Context, req *backend.Request, emit func(backend.Event) error) (backend.Final, error) {
	if req == nil {
		return backend.Final{}, fmt.Errorf("%w: nil request", backend.ErrBadRequest)
	}
	if len(c.tiers) == 0 {
		return backend.Final{}, fmt.Errorf("%w: cloud: empty chain", backend.ErrUnavailable)
	}
	var (
		sent    strings.Builder
		tokens  int // completion tokens of earlier tiers
		lastErr error
	)
	for _, b := range c.tiers {
		r := *req
		r.Continue = req.Continue + sent.String()
		if req.MaxTokens > 0 {
			if tokens >= req.MaxTokens {
				return backend.Final{FinishReason: "length", Usage: backend.Usage{CompletionTokens: tokens}}, nil
			}
			r.MaxTokens = req.MaxTokens - tokens
		}
		var emitErr error
		est := 0
		f, err := b.Stream(ctx, &r, func(ev backend.Event) error {
			if err := emit(ev); err != nil {
				emitErr = err
				return err
			}
			sent.WriteString(ev.Text)
			est += max(1, len(ev.Logprobs))
			return nil
		})
		if err == nil {
			if f.Usage == (backend.Usage{}) {
				f.Usage.CompletionTokens = est
			}
			f.Usage.PromptTokens = max(0, f.Usage.PromptTokens-tokens)
			f.Usage.CompletionTokens += tokens
			return f, nil
		}
		if emitErr != nil || ctx.Err() != nil {
			f.Usage.CompletionTokens = tokens + max(f.Usage.CompletionTokens, est)
			return f, err
		}
		tokens += max(f.Usage.CompletionTokens, est)
		lastErr = err
		if sent.Len() == 0 && !errors.Is(err, backend.ErrUnavailable) && !errors.Is(err, backend.ErrOverloaded) &&
			!errors.Is(err, backend.ErrEscalate) {
			return f, err
		}
	}
	return backend.Final{Usage: backend.Usage{CompletionTokens: tokens}},
		fmt.Errorf("cloud: all %d backends of the chain failed, last: %w", len(c.tiers), lastErr)
}
