package router

import (
	"context"
	"fmt"
	"math"

	"github.com/tandem-llm/tandem/backend"
)

// CascadeConfig sets when a local answer is escalated to a larger tier.
//
// The local tier's tokens are watched as they are generated: the answer is
// held back by Window tokens, and when the mean log-probability of the last
// Window tokens falls below MinMeanLogprob (or one token's top-alternatives
// entropy exceeds MaxEntropy) generation stops, the held tokens are dropped
// (wasted) and the next tier continues after the text already sent. Before
// the first byte this is a re-route: the client only sees the larger tier.
type CascadeConfig struct {
	Enabled        bool
	Window         int     // tokens per confidence window and tokens held back; 0: 8
	MinMeanLogprob float64 // escalate below this mean log-probability (nats/token); 0: -2.5
	MaxEntropy     float64 // escalate when one token's entropy exceeds this (nats); 0: off
}

func (c CascadeConfig) withDefaults() CascadeConfig {
	if c.Window <= 0 {
		c.Window = 8
	}
	if c.MinMeanLogprob == 0 {
		c.MinMeanLogprob = -2.5
	}
	return c
}

// Escalation describes a watched answer that was handed on.
type Escalation struct {
	BeforeFirstByte bool    `json:"before_first_byte"` // nothing had been sent to the client
	Sent            int     `json:"sent"`              // local tokens the client received
	Wasted          int     `json:"wasted"`            // local tokens generated and dropped
	MeanLogprob     float64 `json:"mean_logprob"`      // of the window that triggered it
	Reason          string  `json:"reason"`
}

// watchTopLogprobs is how many alternatives the watcher asks for to
// estimate entropy.
const watchTopLogprobs = 5

// Watch wraps a (local) backend so that low confidence ends its answer with
// backend.ErrEscalate, for cloud.Chain to continue on the next tier.
// onEscalate (may be nil) is called once when that happens.
func Watch(b backend.Backend, cfg CascadeConfig, onEscalate func(Escalation)) backend.Backend {
	return &watcher{b: b, cfg: cfg.withDefaults(), on: onEscalate}
}

type watcher struct {
	b   backend.Backend
	cfg CascadeConfig
	on  func(Escalation)
}

// heldToken is one generated token not yet sent to the client.
type heldToken struct {
	text string
	lp   backend.TokenLogprob
}

func (w *watcher) Stream(ctx context.Context, req *backend.Request, emit func(backend.Event) error) (backend.Final, error) {
	r := *req
	r.Logprobs = true
	r.TopLogprobs = max(req.TopLogprobs, watchTopLogprobs)
	var (
		held      []heldToken
		window    = make([]float64, 0, w.cfg.Window)
		sum       float64
		sent      int
		generated int
		esc       *Escalation
		emitErr   error
	)
	// send passes the oldest held tokens to the client, keeping keep of them.
	send := func(keep int) error {
		for len(held) > keep {
			h := held[0]
			held = held[1:]
			ev := backend.Event{Text: h.text}
			if req.Logprobs {
				lp := h.lp
				lp.Top = lp.Top[:min(len(lp.Top), req.TopLogprobs)]
				ev.Logprobs = []backend.TokenLogprob{lp}
			}
			sent++
			if ev.Text == "" && ev.Logprobs == nil {
				continue
			}
			if err := emit(ev); err != nil {
				emitErr = err
				return err
			}
		}
		return nil
	}
	fin, err := w.b.Stream(ctx, &r, func(ev backend.Event) error {
		if len(ev.Logprobs) == 0 { // no per-token figures: pass through unwatched
			held = append(held, heldToken{text: ev.Text})
			return send(w.cfg.Window)
		}
		for i, lp := range ev.Logprobs {
			text := ""
			if i == len(ev.Logprobs)-1 {
				text = ev.Text // the event's text belongs to its last token (UTF-8 completion)
			}
			held = append(held, heldToken{text: text, lp: lp})
			generated++
			if len(window) == w.cfg.Window {
				sum -= window[0]
				window = window[1:]
			}
			window = append(window, lp.Logprob)
			sum += lp.Logprob
			if len(window) == w.cfg.Window {
				if mean := sum / float64(len(window)); mean < w.cfg.MinMeanLogprob {
					esc = &Escalation{MeanLogprob: mean, Reason: fmt.Sprintf("mean logprob %.2f < %.2f over %d tokens", mean, w.cfg.MinMeanLogprob, len(window))}
				}
			}
			if h := entropy(lp); w.cfg.MaxEntropy > 0 && h > w.cfg.MaxEntropy {
				esc = &Escalation{MeanLogprob: sum / float64(len(window)), Reason: fmt.Sprintf("token entropy %.2f > %.2f", h, w.cfg.MaxEntropy)}
			}
			if esc != nil {
				return backend.ErrEscalate
			}
		}
		return send(w.cfg.Window)
	})
	// A short answer never filled a window: judge what there is.
	if err == nil && esc == nil && sent == 0 && len(window) > 0 {
		if mean := sum / float64(len(window)); mean < w.cfg.MinMeanLogprob {
			esc = &Escalation{MeanLogprob: mean, Reason: fmt.Sprintf("mean logprob %.2f < %.2f over the whole %d-token answer", mean, w.cfg.MinMeanLogprob, len(window))}
		}
	}
	if esc != nil && emitErr == nil {
		esc.Sent, esc.Wasted, esc.BeforeFirstByte = sent, len(held), sent == 0
		esc.Reason = fmt.Sprintf("escalated after %d local tokens (%d sent, %d dropped): %s", generated, sent, len(held), esc.Reason)
		if w.on != nil {
			w.on(*esc)
		}
		fin.Usage.CompletionTokens = sent
		return fin, fmt.Errorf("%w: %s", backend.ErrEscalate, esc.Reason)
	}
	if err != nil {
		fin.Usage.CompletionTokens = min(fin.Usage.CompletionTokens, sent)
		return fin, err
	}
	if err := send(0); err != nil {
		return fin, err
	}
	return fin, nil
}

// entropy estimates a token's entropy (nats) from its top alternatives, the
// remaining probability mass counted as one more outcome.
func entropy(lp backend.TokenLogprob) float64 {
	if len(lp.Top) == 0 {
		return 0
	}
	h, mass := 0.0, 0.0
	for _, t := range lp.Top {
		p := math.Exp(t.Logprob)
		mass += p
		if p > 0 {
			h -= p * t.Logprob
		}
	}
	if rest := 1 - mass; rest > 1e-9 {
		h -= rest * math.Log(rest)
	}
	return h
}
