package router

import (
	"context"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/privacy"
)

// Masked wraps a (cloud) backend so that it never sees the PII m found: the
// messages, prompt, continued text and stop strings are masked with m's
// placeholders, and the answer's placeholders are restored as it streams.
// Logprob tokens are passed on as the upstream produced them (masked).
func Masked(b backend.Backend, m *privacy.Masker) backend.Backend {
	return &masked{b: b, m: m}
}

type masked struct {
	b backend.Backend
	m *privacy.Masker
}

func (mb *masked) Stream(ctx context.Context, req *backend.Request, emit func(backend.Event) error) (backend.Final, error) {
	r := *req
	r.Messages = make([]backend.Message, len(req.Messages))
	for i, msg := range req.Messages {
		r.Messages[i] = backend.Message{Role: msg.Role, Content: mb.m.Mask(msg.Content)}
	}
	r.Prompt = mb.m.Mask(req.Prompt)
	r.Continue = mb.m.Mask(req.Continue)
	if len(req.Stop) > 0 {
		r.Stop = make([]string, len(req.Stop))
		for i, s := range req.Stop {
			r.Stop[i] = mb.m.Mask(s)
		}
	}
	rs := mb.m.NewStream()
	fin, err := mb.b.Stream(ctx, &r, func(ev backend.Event) error {
		ev.Text = rs.Write(ev.Text)
		if ev.Text == "" && len(ev.Logprobs) == 0 {
			return nil
		}
		return emit(ev)
	})
	if rest := rs.Flush(); rest != "" && ctx.Err() == nil {
		if eerr := emit(backend.Event{Text: rest}); eerr != nil && err == nil {
			err = eerr
		}
	}
	return fin, err
}
