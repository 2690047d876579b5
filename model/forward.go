package model

import (
	"fmt"
	"math"

	"github.com/tandem-llm/tandem/kernels"
	"github.com/tandem-llm/tandem/parallel"
)

// MaxBatch is the most tokens one Forward call processes; longer prompts are
// fed in chunks. Larger batches reuse each weight row for more tokens but
// cost B×FFN floats of scratch.
const MaxBatch = 64

// State is one sequence's activations and KV cache. Buffers are allocated
// once, for a fixed context length, like llama2.c's RunState. Activation
// buffers hold up to MaxBatch tokens, one row per token.
type State struct {
	m    *Model
	pool *parallel.Pool
	ctx  int
	rope ropeTable

	x      []float32 // (B, dim) residual stream
	xb     []float32 // (B, dim) normalised input of a sub-layer / its output
	q      []float32 // (B, heads*head_dim)
	k, v   []float32 // (B, kv_heads*head_dim) the batch's keys and values
	att    []float32 // (B, heads, ctx) attention scores
	ao     []float32 // (B, heads*head_dim) attention output
	hb     []float32 // (B, ffn) gate
	hb2    []float32 // (B, ffn) up
	Logits []float32 // (vocab) logits of the last token of the last Forward that asked for them

	keys, values []float32 // (layers, ctx, kv_heads*head_dim) KV cache
}

// NewState allocates buffers for a context of ctx positions; forward passes
// run on pool.
func (m *Model) NewState(ctx int, pool *parallel.Pool) (*State, error) {
	c := m.Config
	if ctx <= 0 {
		return nil, fmt.Errorf("context length must be positive, got %d", ctx)
	}
	qDim, kvDim, B := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, MaxBatch
	return &State{
		m: m, pool: pool, ctx: ctx,
		rope:   newRopeTable(c.Rope, ctx),
		x:      make([]float32, B*c.Dim),
		xb:     make([]float32, B*c.Dim),
		q:      make([]float32, B*qDim),
		k:      make([]float32, B*kvDim),
		v:      make([]float32, B*kvDim),
		att:    make([]float32, B*c.Heads*ctx),
		ao:     make([]float32, B*qDim),
		hb:     make([]float32, B*c.FFN),
		hb2:    make([]float32, B*c.FFN),
		Logits: make([]float32, c.Vocab),
		keys:   make([]float32, c.Layers*ctx*kvDim),
		values: make([]float32, c.Layers*ctx*kvDim),
	}, nil
}

// StateBytes is the memory NewState allocates for a context of ctx tokens:
// the KV cache, attention scores, RoPE table and activations.
func (c Config) StateBytes(ctx int) int64 {
	kvDim, qDim := int64(c.KVHeads*c.HeadDim), int64(c.Heads*c.HeadDim)
	n, B := int64(ctx), int64(MaxBatch)
	floats := 2*int64(c.Layers)*n*kvDim + // KV cache
		B*int64(c.Heads)*n + // attention scores
		n*int64(c.Rope.Dims) + // cos and sin
		B*(2*int64(c.Dim)+2*qDim+2*kvDim+2*int64(c.FFN)) + int64(c.Vocab)
	return 4 * floats
}

// Context is the number of positions the state holds.
func (s *State) Context() int { return s.ctx }

// Forward runs tokens (at most MaxBatch) through the model at positions
// pos, pos+1, …, appending their keys and values to the cache. Positions
// must be filled in order: attention reads positions 0..pos+len(tokens)-1.
// Logits of the last token are computed only if wantLogits, which prefill
// skips for all but the last chunk.
func (s *State) Forward(tokens []int32, pos int, wantLogits bool) error {
	m, c := s.m, s.m.Config
	B := len(tokens)
	if B == 0 || B > MaxBatch {
		return fmt.Errorf("forward: %d tokens (want 1..%d)", B, MaxBatch)
	}
	if pos < 0 || pos+B > s.ctx {
		return fmt.Errorf("positions %d..%d are outside the context of %d tokens", pos, pos+B-1, s.ctx)
	}
	for _, t := range tokens {
		if t < 0 || int(t) >= c.Vocab {
			return fmt.Errorf("token id %d is outside the vocabulary of %d", t, c.Vocab)
		}
	}
	dim, qDim, kvDim, hd := c.Dim, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, c.HeadDim
	x, xb := s.x[:B*dim], s.xb[:B*dim]
	q, k, v, ao := s.q[:B*qDim], s.k[:B*kvDim], s.v[:B*kvDim], s.ao[:B*qDim]
	hb, hb2 := s.hb[:B*c.FFN], s.hb2[:B*c.FFN]

	// token embeddings
	for b, t := range tokens {
		if err := kernels.Dequantize(m.Embed.Type, m.Embed.Row(int(t)), x[b*dim:(b+1)*dim]); err != nil {
			return err
		}
	}

	for l := range m.Layers {
		ly := &m.Layers[l]
		keys := s.keys[l*s.ctx*kvDim : (l+1)*s.ctx*kvDim]
		values := s.values[l*s.ctx*kvDim : (l+1)*s.ctx*kvDim]

		// attention rmsnorm
		s.rmsNorm(xb, x, ly.AttnNorm, dim)

		// q, k, v projections (+ bias for Qwen2)
		s.matMul(q, &ly.Q, xb, B)
		s.matMul(k, &ly.K, xb, B)
		s.matMul(v, &ly.V, xb, B)
		if ly.QBias != nil {
			addRows(q, ly.QBias)
			addRows(k, ly.KBias)
			addRows(v, ly.VBias)
		}

		// per-head q/k norm (Qwen3), then RoPE at each token's position
		for b := 0; b < B; b++ {
			for h := 0; h < c.Heads; h++ {
				qh := q[b*qDim+h*hd : b*qDim+(h+1)*hd]
				if ly.QNorm != nil {
					kernels.RMSNorm(qh, qh, ly.QNorm, c.NormEps)
				}
				s.rope.apply(qh, pos+b, c.Rope.Style)
			}
			for h := 0; h < c.KVHeads; h++ {
				kh := k[b*kvDim+h*hd : b*kvDim+(h+1)*hd]
				if ly.KNorm != nil {
					kernels.RMSNorm(kh, kh, ly.KNorm, c.NormEps)
				}
				s.rope.apply(kh, pos+b, c.Rope.Style)
			}
		}

		// store the batch's keys and values in the cache
		copy(keys[pos*kvDim:], k)
		copy(values[pos*kvDim:], v)

		// causal multi-head attention: token b sees positions 0..pos+b;
		// query head h reads KV head h/(heads/kv_heads)
		group := c.Heads / c.KVHeads
		scale := float32(1 / math.Sqrt(float64(hd)))
		s.pool.For(B*c.Heads, 1, func(i0, i1 int) {
			for i := i0; i < i1; i++ {
				b, h := i/c.Heads, i%c.Heads
				last := pos + b
				qh := q[b*qDim+h*hd : b*qDim+(h+1)*hd]
				kvh := (h / group) * hd
				att := s.att[i*s.ctx : i*s.ctx+last+1]
				for t := 0; t <= last; t++ {
					att[t] = kernels.DotF32(qh, keys[t*kvDim+kvh:t*kvDim+kvh+hd]) * scale
				}
				kernels.Softmax(att)
				out := ao[b*qDim+h*hd : b*qDim+(h+1)*hd]
				clear(out)
				for t := 0; t <= last; t++ {
					kernels.Axpy(out, att[t], values[t*kvDim+kvh:t*kvDim+kvh+hd])
				}
			}
		})

		// output projection and residual
		s.matMul(xb, &ly.Out, ao, B)
		kernels.Add(x, x, xb)

		// feed-forward rmsnorm, then down(silu(gate(x)) * up(x)) and residual
		s.rmsNorm(xb, x, ly.FFNNorm, dim)
		s.matMul(hb, &ly.Gate, xb, B)
		s.matMul(hb2, &ly.Up, xb, B)
		for i, g := range hb {
			hb[i] = kernels.SiLU(g) * hb2[i]
		}
		s.matMul(xb, &ly.Down, hb, B)
		kernels.Add(x, x, xb)
	}

	if !wantLogits {
		return nil
	}
	// final rmsnorm and classifier, for the last token only
	last := x[(B-1)*dim : B*dim]
	kernels.RMSNorm(last, last, m.OutputNorm, c.NormEps)
	s.matMul(s.Logits, &m.Output, last, 1)
	return nil
}

// rmsNorm normalises each of the rows of x (n values each) into dst.
func (s *State) rmsNorm(dst, x, w []float32, n int) {
	for i := 0; i < len(x); i += n {
		kernels.RMSNorm(dst[i:i+n], x[i:i+n], w, s.m.Config.NormEps)
	}
}

// addRows adds bias to each row of x.
func addRows(x, bias []float32) {
	for i := 0; i < len(x); i += len(bias) {
		kernels.Add(x[i:i+len(bias)], x[i:i+len(bias)], bias)
	}
}

// matMul computes dst = x·wᵀ for B rows of x: dst is (B, w.Rows), x is
// (B, w.Cols). Weight rows are split across the pool, and each weight row is
// used for all B tokens while it is in cache.
func (s *State) matMul(dst []float32, w *Tensor, x []float32, B int) {
	rowBytes := w.Type.RowBytes(w.Cols)
	s.pool.For(w.Rows, 16, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			row := w.Data[r*rowBytes : (r+1)*rowBytes]
			for b := 0; b < B; b++ {
				dst[b*w.Rows+r] = kernels.Dot(w.Type, row, x[b*w.Cols:(b+1)*w.Cols])
			}
		}
	})
}
