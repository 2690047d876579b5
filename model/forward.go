package model

import (
	"fmt"
	"math"

	"github.com/tandem-llm/tandem/kernels"
	"github.com/tandem-llm/tandem/parallel"
)

// State is one sequence's activations and KV cache. Buffers are allocated
// once, for a fixed context length, like llama2.c's RunState.
type State struct {
	m    *Model
	pool *parallel.Pool
	ctx  int
	rope ropeTable

	x      []float32 // (dim) residual stream
	xb     []float32 // (dim) normalised input of a sub-layer
	q      []float32 // (heads*head_dim)
	k, v   []float32 // (kv_heads*head_dim) this position's key and value
	att    []float32 // (heads, ctx) attention scores
	ao     []float32 // (heads*head_dim) attention output
	hb     []float32 // (ffn) gate
	hb2    []float32 // (ffn) up
	Logits []float32 // (vocab) output of the last Forward that asked for it

	keys, values []float32 // (layers, ctx, kv_heads*head_dim) KV cache
}

// NewState allocates buffers for a context of ctx positions; forward passes
// run on pool.
func (m *Model) NewState(ctx int, pool *parallel.Pool) (*State, error) {
	c := m.Config
	if ctx <= 0 {
		return nil, fmt.Errorf("context length must be positive, got %d", ctx)
	}
	qDim, kvDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	return &State{
		m: m, pool: pool, ctx: ctx,
		rope:   newRopeTable(c.Rope, ctx),
		x:      make([]float32, c.Dim),
		xb:     make([]float32, c.Dim),
		q:      make([]float32, qDim),
		k:      make([]float32, kvDim),
		v:      make([]float32, kvDim),
		att:    make([]float32, c.Heads*ctx),
		ao:     make([]float32, qDim),
		hb:     make([]float32, c.FFN),
		hb2:    make([]float32, c.FFN),
		Logits: make([]float32, c.Vocab),
		keys:   make([]float32, c.Layers*ctx*kvDim),
		values: make([]float32, c.Layers*ctx*kvDim),
	}, nil
}

// Context is the number of positions the state holds.
func (s *State) Context() int { return s.ctx }

// Forward runs token at position pos through the model, appending its key
// and value to the cache. Positions must be filled in order: attention reads
// positions 0..pos. Logits are computed only if wantLogits, which prefill
// skips for all but the last prompt token.
func (s *State) Forward(token int32, pos int, wantLogits bool) error {
	m, c := s.m, s.m.Config
	if pos < 0 || pos >= s.ctx {
		return fmt.Errorf("position %d is outside the context of %d tokens", pos, s.ctx)
	}
	if token < 0 || int(token) >= c.Vocab {
		return fmt.Errorf("token id %d is outside the vocabulary of %d", token, c.Vocab)
	}
	kvDim := c.KVHeads * c.HeadDim
	hd := c.HeadDim

	// token embedding
	if err := kernels.Dequantize(m.Embed.Type, m.Embed.Row(int(token)), s.x); err != nil {
		return err
	}

	for l := range m.Layers {
		ly := &m.Layers[l]
		keys := s.keys[l*s.ctx*kvDim : (l+1)*s.ctx*kvDim]
		values := s.values[l*s.ctx*kvDim : (l+1)*s.ctx*kvDim]

		// attention rmsnorm
		kernels.RMSNorm(s.xb, s.x, ly.AttnNorm, c.NormEps)

		// q, k, v projections (+ bias for Qwen2)
		s.matVec(s.q, &ly.Q, s.xb)
		s.matVec(s.k, &ly.K, s.xb)
		s.matVec(s.v, &ly.V, s.xb)
		if ly.QBias != nil {
			kernels.Add(s.q, s.q, ly.QBias)
			kernels.Add(s.k, s.k, ly.KBias)
			kernels.Add(s.v, s.v, ly.VBias)
		}

		// per-head q/k norm (Qwen3), then RoPE
		for h := 0; h < c.Heads; h++ {
			qh := s.q[h*hd : (h+1)*hd]
			if ly.QNorm != nil {
				kernels.RMSNorm(qh, qh, ly.QNorm, c.NormEps)
			}
			s.rope.apply(qh, pos, c.Rope.Style)
		}
		for h := 0; h < c.KVHeads; h++ {
			kh := s.k[h*hd : (h+1)*hd]
			if ly.KNorm != nil {
				kernels.RMSNorm(kh, kh, ly.KNorm, c.NormEps)
			}
			s.rope.apply(kh, pos, c.Rope.Style)
		}

		// store this position's key and value in the cache
		copy(keys[pos*kvDim:], s.k)
		copy(values[pos*kvDim:], s.v)

		// multi-head attention over positions 0..pos; query head h reads
		// KV head h/(heads/kv_heads)
		group := c.Heads / c.KVHeads
		scale := float32(1 / math.Sqrt(float64(hd)))
		s.pool.For(c.Heads, 1, func(h0, h1 int) {
			for h := h0; h < h1; h++ {
				qh := s.q[h*hd : (h+1)*hd]
				kvh := (h / group) * hd
				att := s.att[h*s.ctx : h*s.ctx+pos+1]
				for t := 0; t <= pos; t++ {
					att[t] = kernels.DotF32(qh, keys[t*kvDim+kvh:t*kvDim+kvh+hd]) * scale
				}
				kernels.Softmax(att)
				out := s.ao[h*hd : (h+1)*hd]
				clear(out)
				for t := 0; t <= pos; t++ {
					kernels.Axpy(out, att[t], values[t*kvDim+kvh:t*kvDim+kvh+hd])
				}
			}
		})

		// output projection and residual
		s.matVec(s.xb, &ly.Out, s.ao)
		kernels.Add(s.x, s.x, s.xb)

		// feed-forward rmsnorm, then down(silu(gate(x)) * up(x)) and residual
		kernels.RMSNorm(s.xb, s.x, ly.FFNNorm, c.NormEps)
		s.matVec(s.hb, &ly.Gate, s.xb)
		s.matVec(s.hb2, &ly.Up, s.xb)
		for i, g := range s.hb {
			s.hb[i] = kernels.SiLU(g) * s.hb2[i]
		}
		s.matVec(s.xb, &ly.Down, s.hb)
		kernels.Add(s.x, s.x, s.xb)
	}

	if !wantLogits {
		return nil
	}
	// final rmsnorm and classifier
	kernels.RMSNorm(s.x, s.x, m.OutputNorm, c.NormEps)
	s.matVec(s.Logits, &m.Output, s.x)
	return nil
}

// matVec computes dst = w·x, splitting rows across the pool.
func (s *State) matVec(dst []float32, w *Tensor, x []float32) {
	rowBytes := w.Type.RowBytes(w.Cols)
	s.pool.For(w.Rows, 16, func(r0, r1 int) {
		kernels.MatVec(dst[r0:r1], w.Type, w.Data[r0*rowBytes:r1*rowBytes], x)
	})
}

// StateBytes is the memory NewState allocates for a context of ctx tokens:
// the KV cache, attention scores, RoPE table and activations.
func (c Config) StateBytes(ctx int) int64 {
	kvDim, qDim := int64(c.KVHeads*c.HeadDim), int64(c.Heads*c.HeadDim)
	n := int64(ctx)
	floats := 2*int64(c.Layers)*n*kvDim + // KV cache
		int64(c.Heads)*n + // attention scores
		n*int64(c.Rope.Dims) + // cos and sin
		2*int64(c.Dim) + 2*qDim + 2*kvDim + 2*int64(c.FFN) + int64(c.Vocab)
	return 4 * floats
}
