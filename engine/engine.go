// Package engine runs generation on a local model: loading with a memory
// budget, sessions with their KV cache, prefill, sampling, stop conditions
// and streaming. The CLI and the server share it.
package engine

import (
	"errors"
	"fmt"
	"github.com/tandem-llm/tandem/units"
	"runtime"
	"runtime/debug"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/model"
	"github.com/tandem-llm/tandem/parallel"
	"github.com/tandem-llm/tandem/tokenizer"
)

// ErrContextOverflow is returned when tokens would not fit in a session's
// context; nothing is silently dropped.
var ErrContextOverflow = errors.New("context overflow")

// ErrMemoryLimit is returned by Load when the model would exceed the limit.
var ErrMemoryLimit = errors.New("memory limit exceeded")

// DefaultContextLen is the context sessions get when neither the caller nor a
// smaller training context says otherwise.
const DefaultContextLen = 4096

// Options configure Load.
type Options struct {
	Threads  int   // worker threads; 0: all CPUs
	Context  int   // default session context; 0: min(the model's training context, DefaultContextLen)
	MemLimit int64 // bytes for weights + KV cache + scratch; 0: no limit
}

// Engine is a loaded model with its tokenizer. Sessions may be opened
// concurrently; each owns its KV cache.
type Engine struct {
	Model     *model.Model
	Tokenizer *tokenizer.Tokenizer
	Path      string
	opts      Options
	file      *gguf.File
}

// Load maps a GGUF model, checks it against the memory limit and readies it
// for sessions.
func Load(path string, o Options) (*Engine, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	e, err := fromFile(f, path, o)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

func fromFile(f *gguf.File, path string, o Options) (*Engine, error) {
	m, err := model.FromFile(f)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	f.Drop("tokenizer.ggml.merges") // the tokenizer holds them as its merge table
	if tok.VocabSize() != m.Config.Vocab {
		return nil, fmt.Errorf("tokenizer has %d tokens but the model's vocabulary is %d", tok.VocabSize(), m.Config.Vocab)
	}
	if o.Threads <= 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.Context <= 0 {
		// Models advertise up to 128k tokens; a KV cache that size would not
		// fit a phone, so the default is what llama.cpp's tools use.
		o.Context = min(m.Config.ContextLen, DefaultContextLen)
	}
	if o.Context > m.Config.ContextLen {
		return nil, fmt.Errorf("context %d exceeds the model's context length %d", o.Context, m.Config.ContextLen)
	}
	e := &Engine{Model: m, Tokenizer: tok, Path: path, opts: o, file: f}
	// Parsing the metadata and building the tokenizer leave garbage (the
	// merges and the parser's buffers: ~10 MB for a 128k vocabulary) that
	// the runtime would give back to the system only slowly; a model that
	// lives beside other apps gives it back now.
	debug.FreeOSMemory()
	if o.MemLimit > 0 {
		if need := e.Memory(o.Context); need.Total() > o.MemLimit {
			return nil, e.memError(need, o.MemLimit)
		}
	}
	return e, nil
}

// Close releases the mapping. Sessions must not be used afterwards.
func (e *Engine) Close() error { return e.file.Close() }

// Memory is a breakdown of the bytes a session needs.
type Memory struct {
	Weights int64 // mapped tensor data
	KV      int64 // KV cache and per-session buffers
	Scratch int64 // sampler and runtime overhead
}

// Total is the sum of all parts.
func (m Memory) Total() int64 { return m.Weights + m.KV + m.Scratch }

// Memory estimates what one session with a context of ctx tokens needs.
func (e *Engine) Memory(ctx int) Memory { return EstimateMemory(e.Model, ctx) }

// EstimateMemory is what a session of m with a context of ctx tokens needs.
func EstimateMemory(m *model.Model, ctx int) Memory {
	c := m.Config
	return Memory{
		Weights: m.WeightBytes(),
		KV:      c.StateBytes(ctx),
		// sampler candidates (id + prob) and the Go runtime's own footprint
		Scratch: int64(c.Vocab)*8 + 8<<20,
	}
}

func (e *Engine) memError(need Memory, limit int64) error {
	msg := fmt.Sprintf("need %s (weights %s + KV cache %s at context %d + scratch %s) but the limit is %s",
		units.FormatBytes(need.Total()), units.FormatBytes(need.Weights), units.FormatBytes(need.KV), e.opts.Context,
		units.FormatBytes(need.Scratch), units.FormatBytes(limit))
	// State memory grows linearly with the context: find the largest that fits.
	fixed := e.Memory(0).Total()
	perTok := e.Memory(1).Total() - fixed
	if fit := (limit - fixed) / max(perTok, 1); fit >= 16 {
		msg += fmt.Sprintf("; a context of %d tokens would fit (-c %d)", fit, fit)
	} else {
		msg += "; not even a 16-token context fits"
	}
	return fmt.Errorf("%w: %s", ErrMemoryLimit, msg)
}

// ReleaseMemory gives the resident pages of the mapped weights back to the
// system (an idle model under memory pressure); they are read from the file
// again when next used. On systems without mmap it does nothing.
func (e *Engine) ReleaseMemory() error { return e.file.Evict() }

// Threads is the number of worker threads sessions use.
func (e *Engine) Threads() int { return e.opts.Threads }

// DefaultContext is the context sessions get when they do not ask.
func (e *Engine) DefaultContext() int { return e.opts.Context }

// Tokenize encodes text. addBOS adds the vocabulary's BOS (if it uses one);
// special tokens written in the text are parsed only when parseSpecial.
func (e *Engine) Tokenize(text string, addBOS, parseSpecial bool) []int32 {
	return e.Tokenizer.Encode(text, tokenizer.EncodeOptions{AddSpecial: addBOS, ParseSpecial: parseSpecial})
}

// NewSession opens a session with a KV cache for ctx tokens (0: the
// engine's default).
func (e *Engine) NewSession(ctx int) (*Session, error) {
	ctx, err := e.contextFor(ctx)
	if err != nil {
		return nil, err
	}
	pool := parallel.New(e.opts.Threads)
	st, err := e.Model.NewState(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &Session{e: e, st: st, pool: pool}, nil
}

// contextFor is the context a session or batcher asked for (0: the
// engine's default), checked against the model's.
func (e *Engine) contextFor(ctx int) (int, error) {
	if ctx <= 0 {
		ctx = e.opts.Context
	}
	if ctx > e.Model.Config.ContextLen {
		return 0, fmt.Errorf("%w: context %d exceeds the model's context length %d", ErrContextOverflow, ctx, e.Model.Config.ContextLen)
	}
	return ctx, nil
}
