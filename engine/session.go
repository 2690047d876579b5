package engine

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tandem-llm/tandem/model"
	"github.com/tandem-llm/tandem/parallel"
	"github.com/tandem-llm/tandem/tokenizer"
)

// Session is one conversation: the tokens so far and their KV cache. A
// session is used by one goroutine at a time.
type Session struct {
	e      *Engine
	st     *model.State
	pool   *parallel.Pool
	tokens []int32  // history; len(tokens) is the next position
	logits bool     // st.Logits belong to the last token
	next   [1]int32 // the token being decoded, as a batch of one without allocating
}

// Close releases the session's threads.
func (s *Session) Close() { s.pool.Close() }

// Reset empties the session so it can be reused for a new sequence; the KV
// cache is overwritten as positions are filled again.
func (s *Session) Reset() {
	s.tokens = s.tokens[:0]
	s.logits = false
}

// Tokens returns the tokens processed so far.
func (s *Session) Tokens() []int32 { return s.tokens }

// Context is the session's capacity in tokens.
func (s *Session) Context() int { return s.st.Context() }

// Prefill runs tokens through the model, after those already in the session.
func (s *Session) Prefill(ctx context.Context, tokens []int32) error {
	if len(tokens) == 0 {
		return nil
	}
	if n := len(s.tokens) + len(tokens); n > s.Context() {
		return fmt.Errorf("%w: %d tokens already in the session + %d new ones exceed the context of %d tokens",
			ErrContextOverflow, len(s.tokens), len(tokens), s.Context())
	}
	for len(tokens) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := tokens[:min(len(tokens), model.MaxBatch)]
		tokens = tokens[len(chunk):]
		if err := s.st.Forward(chunk, len(s.tokens), len(tokens) == 0); err != nil {
			return err
		}
		s.tokens = append(s.tokens, chunk...)
	}
	s.logits = true
	return nil
}

// GenerateOptions control one Generate call.
type GenerateOptions struct {
	MaxTokens int      // stop after this many new tokens; ≤ 0: until EOS or the context is full
	Stop      []string // stop when the text contains one of these (it is not included)
	Sampler   SamplerOptions
	// Logprobs reports each token's log-probability, and TopLogprobs (≤ 20)
	// alternatives, in the callback.
	Logprobs    bool
	TopLogprobs int
}

// Token is one generated token, as given to the callback.
type Token struct {
	ID   int32
	Text string // complete UTF-8 text that became available with this token (may be empty)
	// With GenerateOptions.Logprobs: the token's log-probability under the
	// model (before sampling adjustments) and the TopLogprobs most likely
	// alternatives. Top is reused: it is valid only during the callback.
	Logprob float32
	Top     []TokenProb
}

// TokenProb is a token and its log-probability.
type TokenProb struct {
	ID      int32
	Logprob float32
}

// Result describes a finished generation.
type Result struct {
	Text       string
	Tokens     []int32
	StopReason string // "eos", "stop", "length", "context" or "cancelled"
	Decode     time.Duration
}

// Stop reasons.
const (
	StopEOS       = "eos"
	StopString    = "stop"
	StopLength    = "length"
	StopCancelled = "cancelled"
	StopContext   = "context" // the context filled up; Generate also returns ErrContextOverflow
)

// Generate samples tokens after those in the session until a stop
// condition, calling fn (if not nil) with each token's text as soon as it is
// complete UTF-8 and cannot be the start of a stop string. An error from fn
// ends generation and is returned. Cancelling ctx stops generation with
// StopCancelled and ctx's error. Filling the context returns
// ErrContextOverflow together with the partial result.
func (s *Session) Generate(ctx context.Context, o GenerateOptions, fn func(Token) error) (Result, error) {
	if !s.logits {
		return Result{}, fmt.Errorf("generate: nothing to continue from; prefill a prompt (at least BOS) first")
	}
	g := newGenerator(s.e, o, s.tokens, fn)
	for {
		if err := ctx.Err(); err != nil {
			return g.finish(StopCancelled), err
		}
		id, done, err := g.step(s.st.Logits, s.tokens)
		if err != nil || done {
			return g.res, err
		}
		if len(s.tokens) >= s.Context() {
			return g.finish(StopContext), fmt.Errorf("%w: the context of %d tokens is full after %d generated tokens",
				ErrContextOverflow, s.Context(), len(g.res.Tokens))
		}
		s.next[0] = id
		if err := s.st.Forward(s.next[:], len(s.tokens), true); err != nil {
			return g.res, err
		}
		s.tokens = append(s.tokens, id)
	}
}

// generator is one sequence's sampling, decoding and stop logic, shared by
// Session.Generate and the Batcher: each step takes the logits after the
// last token and picks the next.
type generator struct {
	e       *Engine
	o       GenerateOptions
	fn      func(Token) error
	sampler *Sampler
	dec     *tokenizer.Decoder
	text    strings.Builder // all generated text
	sent    int             // bytes of text passed to fn
	start   time.Time
	raw     []float32 // the logits before sampling adjustments, for logprobs
	lp      Token     // logprob fields of the token being emitted
	res     Result
}

// newGenerator starts a generation after the tokens in history.
func newGenerator(e *Engine, o GenerateOptions, history []int32, fn func(Token) error) *generator {
	// SentencePiece's leading space is dropped only at the start of the text
	// (after BOS alone), as llama2.c does; after a prompt it separates words.
	atStart := len(history) == 1 && history[0] == e.Tokenizer.BOS()
	g := &generator{e: e, o: o, fn: fn, sampler: NewSampler(o.Sampler), start: time.Now(),
		dec: e.Tokenizer.NewDecoderWith(tokenizer.DecodeOptions{KeepPrefixSpace: !atStart})}
	if o.Logprobs {
		g.raw = make([]float32, e.Model.Config.Vocab)
	}
	return g
}

// step picks the token after history from logits and passes any text that
// is now final to fn. done reports that generation ended (g.res is
// complete); otherwise the caller feeds id to the model and steps again.
func (g *generator) step(logits []float32, history []int32) (id int32, done bool, err error) {
	if g.o.MaxTokens > 0 && len(g.res.Tokens) >= g.o.MaxTokens {
		return -1, true, g.end(StopLength, -1)
	}
	if g.raw != nil {
		copy(g.raw, logits)
	}
	id = g.sampler.Sample(logits, history)
	if g.raw != nil {
		g.lp.Logprob, g.lp.Top = logprobs(g.raw, id, min(g.o.TopLogprobs, 20), g.lp.Top[:0])
	}
	if g.e.Tokenizer.IsEOG(id) {
		return id, true, g.end(StopEOS, id)
	}
	g.res.Tokens = append(g.res.Tokens, id)
	g.text.WriteString(g.dec.Add(id))
	if i, ok := findStop(g.text.String(), g.o.Stop); ok {
		t := g.text.String()[:i]
		g.text.Reset()
		g.text.WriteString(t)
		err := g.emit(id, true)
		g.finish(StopString)
		return id, true, err
	}
	if err := g.emit(id, false); err != nil {
		g.finish(StopCancelled)
		return id, true, err
	}
	return id, false, nil
}

// end flushes the decoder and finishes with reason.
func (g *generator) end(reason string, id int32) error {
	g.text.WriteString(g.dec.Flush())
	err := g.emit(id, true)
	g.finish(reason)
	return err
}

// emit passes new text to fn, holding back any suffix that could begin a
// stop string unless final.
func (g *generator) emit(id int32, final bool) error {
	t := g.text.String()
	end := len(t)
	if !final {
		end -= stopPrefixLen(t[g.sent:], g.o.Stop)
	}
	piece := t[g.sent:end]
	g.sent = end
	if g.fn == nil {
		return nil
	}
	g.lp.ID, g.lp.Text = id, piece
	return g.fn(g.lp)
}

// finish fills in the result.
func (g *generator) finish(reason string) Result {
	g.res.StopReason = reason
	g.res.Text = g.text.String()
	g.res.Decode = time.Since(g.start)
	return g.res
}

// findStop returns the index of the earliest stop string in t.
func findStop(t string, stops []string) (int, bool) {
	best := -1
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(t, s); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best, best >= 0
}

// stopPrefixLen is the length of the longest suffix of t that is a proper
// prefix of a stop string: text that must wait for the next token.
func stopPrefixLen(t string, stops []string) int {
	n := 0
	for _, s := range stops {
		for k := min(len(s)-1, len(t)); k > n; k-- {
			if strings.HasSuffix(t, s[:k]) {
				n = k
				break
			}
		}
	}
	return n
}

// logprobs returns log softmax(logits)[id] and the k most likely tokens
// with their log-probabilities, appended to top.
func logprobs(logits []float32, id int32, k int, top []TokenProb) (float32, []TokenProb) {
	maxv := logits[0]
	for _, v := range logits {
		maxv = max(maxv, v)
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v - maxv))
	}
	lse := maxv + float32(math.Log(sum))
	for i, v := range logits {
		if len(top) < k || v > top[len(top)-1].Logprob+lse {
			// insert keeping top sorted by descending logit
			j := len(top)
			if j < k {
				top = append(top, TokenProb{})
			} else {
				j--
			}
			for j > 0 && top[j-1].Logprob+lse < v {
				top[j] = top[j-1]
				j--
			}
			top[j] = TokenProb{ID: int32(i), Logprob: v - lse}
		}
	}
	return logits[id] - lse, top
}
