// Package local serves requests from a model loaded on this device: it
// renders chats with the model's template, admits requests up to a
// concurrency limit with a bounded queue, and decodes the admitted ones
// together with continuous batching (engine.Batcher).
package local

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/chat"
	"github.com/tandem-llm/tandem/engine"
	"github.com/tandem-llm/tandem/tokenizer"
)

// Options size the admission control.
type Options struct {
	Parallel int // requests decoded together (default 4, at most model.MaxLogitRows)
	Queue    int // requests waiting for a slot before new ones get ErrOverloaded (default 16)
	Context  int // tokens per request (prompt + answer); 0: the engine's default
}

// Backend is a local model as a backend.Backend.
type Backend struct {
	e       *engine.Engine
	tmpl    *chat.Template // nil: chat requests are refused
	o       Options
	admit   chan struct{} // Parallel+Queue tokens: holding one means admitted
	batcher *engine.Batcher
}

// eventBuffer is how far generation may run ahead of a slow client before
// the request is dropped, so one stalled connection cannot stall the batch.
const eventBuffer = 1024

// errSlowClient ends a generation whose client stopped reading.
var errSlowClient = errors.New("client is not reading the answer")

// New wraps a loaded engine. tmpl may be nil for models without a chat
// template (only raw completions are served then).
func New(e *engine.Engine, tmpl *chat.Template, o Options) (*Backend, error) {
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.Queue < 0 {
		o.Queue = 0
	} else if o.Queue == 0 {
		o.Queue = 16
	}
	if o.Context <= 0 {
		o.Context = e.DefaultContext()
	}
	bt, err := e.NewBatcher(o.Parallel, o.Context)
	if err != nil {
		return nil, err
	}
	return &Backend{e: e, tmpl: tmpl, o: o, batcher: bt, admit: make(chan struct{}, o.Parallel+o.Queue)}, nil
}

// Engine is the model behind the backend.
func (b *Backend) Engine() *engine.Engine { return b.e }

// InFlight is the number of admitted requests (generating or queued).
func (b *Backend) InFlight() int { return len(b.admit) }

// QueueDepth is the number of admitted requests waiting for a decoding slot.
func (b *Backend) QueueDepth() int { return max(0, len(b.admit)-b.batcher.Seqs()) }

// SetThreads limits the engine threads of the following steps (1 to the
// engine's Threads); it returns the previous limit.
func (b *Backend) SetThreads(n int) int { return b.batcher.SetThreads(n) }

// Release gives the model's weight pages back to the system when no request
// is in flight, and reports whether it did.
func (b *Backend) Release() bool {
	if b.InFlight() > 0 {
		return false
	}
	return b.e.ReleaseMemory() == nil
}

// Close stops the scheduler; requests in progress fail.
func (b *Backend) Close() { b.batcher.Close() }

// Stream implements backend.Backend.
func (b *Backend) Stream(ctx context.Context, req *backend.Request, emit func(backend.Event) error) (backend.Final, error) {
	var fin backend.Final
	prompt, err := b.promptTokens(req)
	if err != nil {
		return fin, err
	}
	if n := len(prompt) + max(req.MaxTokens, 0); len(prompt) >= b.o.Context || n > b.o.Context {
		return fin, fmt.Errorf("%w: this model's context is %d tokens, but the request has %d prompt tokens and asks for %d more",
			backend.ErrContextLength, b.o.Context, len(prompt), req.MaxTokens)
	}

	select {
	case b.admit <- struct{}{}:
	default:
		return fin, fmt.Errorf("%w: %d requests are generating and %d waiting", backend.ErrOverloaded, b.o.Parallel, b.o.Queue)
	}
	defer func() { <-b.admit }()

	o := engine.GenerateOptions{
		MaxTokens:   req.MaxTokens,
		Stop:        req.Stop,
		Sampler:     samplerOptions(req),
		Logprobs:    req.Logprobs,
		TopLogprobs: req.TopLogprobs,
	}
	if b.tmpl != nil && req.Messages != nil {
		o.Stop = append(o.Stop[:len(o.Stop):len(o.Stop)], b.tmpl.Stop()...)
	}
	// The batcher calls back from its scheduler goroutine: events go
	// through a buffer to this goroutine, which may block on the client.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan backend.Event, eventBuffer)
	type outcome struct {
		res engine.Result
		err error
	}
	done := make(chan outcome, 1)
	tok := b.e.Tokenizer
	go func() {
		res, err := b.batcher.Generate(ctx, prompt, o, func(t engine.Token) error {
			ev := backend.Event{Text: t.Text}
			if req.Logprobs && t.ID >= 0 {
				top := make([]backend.TopLogprob, len(t.Top))
				for i, a := range t.Top {
					top[i] = backend.TopLogprob{Token: string(tok.Piece(a.ID)), Logprob: float64(a.Logprob)}
				}
				ev.Logprobs = []backend.TokenLogprob{{Token: string(tok.Piece(t.ID)), Logprob: float64(t.Logprob), Top: top}}
			}
			if ev.Text == "" && ev.Logprobs == nil {
				return nil
			}
			select {
			case events <- ev:
				return nil
			default:
				return errSlowClient
			}
		})
		close(events)
		done <- outcome{res, err}
	}()
	var emitErr error
	for ev := range events {
		if emitErr == nil {
			if emitErr = emit(ev); emitErr != nil {
				cancel()
			}
		}
	}
	out := <-done
	res, err := out.res, out.err
	if emitErr != nil {
		err = emitErr
	}
	fin.Usage = backend.Usage{PromptTokens: len(prompt), CompletionTokens: len(res.Tokens)}
	switch res.StopReason {
	case engine.StopLength, engine.StopContext:
		fin.FinishReason = "length"
	default:
		fin.FinishReason = "stop"
	}
	if errors.Is(err, engine.ErrContextOverflow) && res.StopReason == engine.StopContext {
		err = nil // the answer filled the context: a "length" finish, as OpenAI reports it
	} else if errors.Is(err, engine.ErrContextOverflow) {
		err = fmt.Errorf("%w: %w", backend.ErrContextLength, err)
	}
	return fin, err
}

// promptTokens renders and tokenizes the request. Template text may hold
// special tokens; user content never does (a user typing "<|im_end|>" gets
// plain text).
func (b *Backend) promptTokens(req *backend.Request) ([]int32, error) {
	tok := b.e.Tokenizer
	var ids []int32
	if req.Messages != nil {
		if b.tmpl == nil {
			return nil, fmt.Errorf("%w: this model has no chat template; use /v1/completions or configure chat_template", backend.ErrBadRequest)
		}
		parts, err := b.tmpl.RenderParts(req.Messages, true)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", backend.ErrBadRequest, err)
		}
		segs := make([]tokenizer.Segment, len(parts))
		for i, p := range parts {
			segs[i] = tokenizer.Segment{Text: p.Text, ParseSpecial: p.Special}
		}
		if req.Continue != "" {
			segs = append(segs, tokenizer.Segment{Text: req.Continue})
		}
		ids = tok.EncodeSegments(segs, true)
	} else {
		ids = tok.EncodeSegments([]tokenizer.Segment{{Text: req.Prompt}, {Text: req.Continue}}, true)
	}
	if len(ids) == 0 {
		if tok.BOS() < 0 {
			return nil, fmt.Errorf("%w: the prompt is empty and the vocabulary has no BOS token", backend.ErrBadRequest)
		}
		ids = []int32{tok.BOS()}
	}
	return ids, nil
}

func samplerOptions(req *backend.Request) engine.SamplerOptions {
	o := engine.DefaultSampler()
	// OpenAI's defaults: temperature 1, top_p 1, no top-k or min-p.
	o.Temperature, o.TopP, o.TopK, o.MinP = 1, 1, 0, 0
	if req.Temperature != nil {
		o.Temperature = float32(*req.Temperature)
	}
	if req.TopP != nil {
		o.TopP = float32(*req.TopP)
	}
	o.TopK = req.TopK
	o.MinP = float32(req.MinP)
	o.FrequencyPenalty = float32(req.FrequencyPenalty)
	o.PresencePenalty = float32(req.PresencePenalty)
	o.Seed = rand.Uint64() // no seed: a different sample each time, as OpenAI does
	if req.Seed != nil {
		o.Seed = uint64(*req.Seed)
	}
	return o
}
