package engine

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tandem-llm/tandem/model"
	"github.com/tandem-llm/tandem/parallel"
)

// ErrClosed is returned for work submitted to a closed Batcher.
var ErrClosed = errors.New("batcher closed")

// Batcher runs several generations at once with continuous batching: every
// forward pass carries the next token of each sequence that is decoding,
// topped up with chunks of prompts waiting to be prefilled, so concurrent
// requests share each pass over the weights instead of taking turns.
type Batcher struct {
	e      *Engine
	ctxLen int
	seqs   int
	jobs   chan *job
	quit   chan struct{}
	done   chan struct{}
	caches chan *model.Cache // idle caches, reused
	// threads is the worker count the next steps should run on (SetThreads);
	// the scheduler swaps its pool when it differs.
	threads atomic.Int32
}

type job struct {
	ctx    context.Context
	prompt []int32
	o      GenerateOptions
	fn     func(Token) error
	result chan jobResult

	// scheduler state
	cache  *model.Cache
	tokens []int32 // fed to the model so far
	next   int32   // sampled, not yet fed
	gen    *generator
}

type jobResult struct {
	res Result
	err error
}

// NewBatcher starts a scheduler decoding up to seqs sequences together
// (at most model.MaxLogitRows), each with a context of ctx tokens (0: the
// engine's default).
func (e *Engine) NewBatcher(seqs, ctx int) (*Batcher, error) {
	ctx, err := e.contextFor(ctx)
	if err != nil {
		return nil, err
	}
	seqs = min(max(seqs, 1), model.MaxLogitRows)
	b := &Batcher{e: e, ctxLen: ctx, seqs: seqs, jobs: make(chan *job), quit: make(chan struct{}),
		done: make(chan struct{}), caches: make(chan *model.Cache, seqs)}
	pool := parallel.New(e.opts.Threads)
	st, err := e.Model.NewExecutor(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	b.threads.Store(int32(pool.Threads()))
	go b.run(st, pool)
	return b, nil
}

// Seqs is the number of sequences decoded together.
func (b *Batcher) Seqs() int { return b.seqs }

// SetThreads runs the following steps on n worker threads (1 up to the
// engine's Threads), e.g. fewer on a hot device; it returns the previous
// count.
func (b *Batcher) SetThreads(n int) int {
	return int(b.threads.Swap(int32(max(1, min(n, max(b.e.opts.Threads, 1))))))
}

// Context is the per-sequence context length.
func (b *Batcher) Context() int { return b.ctxLen }

// Close stops the scheduler after failing the sequences in progress.
func (b *Batcher) Close() {
	select {
	case <-b.quit:
	default:
		close(b.quit)
	}
	<-b.done
}

// Generate prefills prompt and generates after it, like Session.Generate,
// sharing forward passes with the other sequences in progress. fn is called
// from the scheduler goroutine: it must not block for long (hand text to a
// buffered channel if the consumer can be slow).
func (b *Batcher) Generate(ctx context.Context, prompt []int32, o GenerateOptions, fn func(Token) error) (Result, error) {
	if len(prompt) == 0 {
		return Result{}, errors.New("generate: empty prompt (at least BOS is needed)")
	}
	if len(prompt) >= b.ctxLen {
		return Result{}, fmt.Errorf("%w: prompt of %d tokens leaves no room in the context of %d", ErrContextOverflow, len(prompt), b.ctxLen)
	}
	j := &job{ctx: ctx, prompt: prompt, o: o, fn: fn, result: make(chan jobResult, 1)}
	select {
	case b.jobs <- j:
	case <-ctx.Done():
		return Result{StopReason: StopCancelled}, ctx.Err()
	case <-b.quit:
		return Result{}, ErrClosed
	}
	r := <-j.result
	return r.res, r.err
}

func (b *Batcher) run(st *model.State, pool *parallel.Pool) {
	defer close(b.done)
	defer func() { pool.Close() }() // the pool of the moment
	var active []*job
	rows := make([]model.Row, 0, model.MaxBatch)
	var logitJobs []*job
	for {
		if n := int(b.threads.Load()); n != pool.Threads() { // SetThreads: swap pools between steps
			next := parallel.New(n)
			st.SetPool(next)
			pool.Close()
			pool = next
		}
		// Admit new sequences: wait when idle, otherwise take what is there.
		for len(active) < b.seqs {
			var j *job
			if len(active) == 0 {
				select {
				case j = <-b.jobs:
				case <-b.quit:
					return
				}
			} else {
				select {
				case j = <-b.jobs:
				case <-b.quit:
					b.fail(active, ErrClosed)
					return
				default:
				}
			}
			if j == nil {
				break
			}
			j.cache = b.cache()
			active = append(active, j)
		}

		// Decoding sequences first (one row each), then prompt chunks.
		rows, logitJobs = rows[:0], logitJobs[:0]
		for _, j := range active {
			if j.gen != nil {
				rows = append(rows, model.Row{Token: j.next, Pos: len(j.tokens), Cache: j.cache, Logits: true})
				logitJobs = append(logitJobs, j)
			}
		}
		for _, j := range active {
			if j.gen != nil || len(rows) == model.MaxBatch {
				continue
			}
			n := min(len(j.prompt)-len(j.tokens), model.MaxBatch-len(rows))
			for i := 0; i < n; i++ {
				p := len(j.tokens) + i
				last := p == len(j.prompt)-1
				rows = append(rows, model.Row{Token: j.prompt[p], Pos: p, Cache: j.cache, Logits: last})
				if last {
					logitJobs = append(logitJobs, j)
				}
			}
			j.tokens = append(j.tokens, j.prompt[len(j.tokens):len(j.tokens)+n]...)
		}
		if err := st.ForwardRows(rows); err != nil {
			b.fail(active, err)
			active = active[:0]
			continue
		}
		// The decoded tokens are now in their caches.
		for _, j := range active {
			if j.gen != nil {
				j.tokens = append(j.tokens, j.next)
			}
		}

		// Sample each sequence's next token; finished ones leave.
		for i, j := range logitJobs {
			if j.gen == nil {
				j.gen = newGenerator(b.e, j.o, j.tokens, j.fn)
			}
			if err := j.ctx.Err(); err != nil {
				b.finish(j, j.gen.finish(StopCancelled), err)
				continue
			}
			id, done, err := j.gen.step(st.RowLogits(i), j.tokens)
			switch {
			case err != nil || done:
				b.finish(j, j.gen.res, err)
			case len(j.tokens) >= b.ctxLen:
				b.finish(j, j.gen.finish(StopContext), fmt.Errorf("%w: the context of %d tokens is full after %d generated tokens",
					ErrContextOverflow, b.ctxLen, len(j.gen.res.Tokens)))
			default:
				j.next = id
			}
		}
		// Cancelled sequences still prefilling leave too.
		for _, j := range active {
			if j.gen == nil && j.cache != nil && j.ctx.Err() != nil {
				b.finish(j, Result{StopReason: StopCancelled}, j.ctx.Err())
			}
		}
		kept := active[:0]
		for _, j := range active {
			if j.cache != nil {
				kept = append(kept, j)
			}
		}
		clear(active[len(kept):])
		active = kept
	}
}

// finish reports a sequence's result and recycles its cache.
func (b *Batcher) finish(j *job, res Result, err error) {
	j.result <- jobResult{res, err}
	select {
	case b.caches <- j.cache:
	default:
	}
	j.cache = nil
}

func (b *Batcher) fail(active []*job, err error) {
	for _, j := range active {
		if j.cache != nil {
			b.finish(j, Result{}, err)
		}
	}
}

func (b *Batcher) cache() *model.Cache {
	select {
	case c := <-b.caches:
		return c
	default:
		return b.e.Model.NewCache(b.ctxLen)
	}
}
