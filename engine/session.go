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
	var res Result
	if !s.logits {
		return res, fmt.Errorf("generate: nothing to continue from; prefill a prompt (at least BOS) first")
	}
	sampler := NewSampler(o.Sampler)
	// SentencePiece's leading space is dropped only at the start of the text
	// (after BOS alone), as llama2.c does; after a prompt it separates words.
	atStart := len(s.tokens) == 1 && s.tokens[0] == s.e.Tokenizer.BOS()
	dec := s.e.Tokenizer.NewDecoderWith(tokenizer.DecodeOptions{KeepPrefixSpace: !atStart})
	var text strings.Builder // all generated text
	sent := 0                // bytes of text passed to fn
	start := time.Now()
	var raw []float32 // the logits before sampling adjustments, for logprobs
	var lp Token      // logprob fields of the token being emitted
	if o.Logprobs {
		raw = make([]float32, len(s.st.Logits))
	}
	emit := func(id int32, final bool) error {
		// Hold back any suffix that could begin a stop string.
		t := text.String()
		end := len(t)
		if !final {
			end -= stopPrefixLen(t[sent:], o.Stop)
		}
		piece := t[sent:end]
		sent = end
		if fn == nil {
			return nil
		}
		lp.ID, lp.Text = id, piece
		return fn(lp)
	}
	for {
		if err := ctx.Err(); err != nil {
			res.StopReason = StopCancelled
			s.finish(&res, text.String(), start)
			return res, err
		}
		if o.MaxTokens > 0 && len(res.Tokens) >= o.MaxTokens {
			res.StopReason = StopLength
			break
		}
		if raw != nil {
			copy(raw, s.st.Logits)
		}
		id := sampler.Sample(s.st.Logits, s.tokens)
		if raw != nil {
			lp.Logprob, lp.Top = logprobs(raw, id, min(o.TopLogprobs, 20), lp.Top[:0])
		}
		if s.e.Tokenizer.IsEOG(id) {
			res.StopReason = StopEOS
			text.WriteString(dec.Flush())
			if err := emit(id, true); err != nil {
				return res, err
			}
			break
		}
		res.Tokens = append(res.Tokens, id)
		text.WriteString(dec.Add(id))
		if i, ok := findStop(text.String(), o.Stop); ok {
			t := text.String()[:i]
			text.Reset()
			text.WriteString(t)
			res.StopReason = StopString
			if err := emit(id, true); err != nil {
				return res, err
			}
			break
		}
		if err := emit(id, false); err != nil {
			return res, err
		}
		if len(s.tokens) >= s.Context() {
			res.StopReason = StopContext
			s.finish(&res, text.String(), start)
			return res, fmt.Errorf("%w: the context of %d tokens is full after %d generated tokens",
				ErrContextOverflow, s.Context(), len(res.Tokens))
		}
		s.next[0] = id
		if err := s.st.Forward(s.next[:], len(s.tokens), true); err != nil {
			return res, err
		}
		s.tokens = append(s.tokens, id)
	}
	if res.StopReason != StopEOS && res.StopReason != StopString {
		text.WriteString(dec.Flush())
		if err := emit(-1, true); err != nil {
			return res, err
		}
	}
	s.finish(&res, text.String(), start)
	return res, nil
}

func (s *Session) finish(res *Result, text string, start time.Time) {
	res.Text = text
	res.Decode = time.Since(start)
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
