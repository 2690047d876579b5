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

// MaxLogitRows is the most rows of one batch whose logits are computed: one
// per sequence decoded together.
const MaxLogitRows = 16

// Cache is one sequence's KV cache.
type Cache struct {
	ctx          int
	keys, values []float32 // (layers, ctx, kv_heads*head_dim)
}

// NewCache allocates a KV cache for ctx positions.
func (m *Model) NewCache(ctx int) *Cache {
	n := m.Config.Layers * ctx * m.Config.KVHeads * m.Config.HeadDim
	return &Cache{ctx: ctx, keys: make([]float32, n), values: make([]float32, n)}
}

// Context is the number of positions the cache holds.
func (c *Cache) Context() int { return c.ctx }

// Row is one token of a batch: its position in its sequence, and that
// sequence's cache. Rows of one sequence must come in position order.
type Row struct {
	Token  int32
	Pos    int
	Cache  *Cache
	Logits bool // compute this row's logits
}

// State runs forward passes: activations for batches of up to MaxBatch rows,
// and its own KV cache for single-sequence use (Forward). Buffers are
// allocated once, like llama2.c's RunState.
type State struct {
	m     *Model
	pool  *parallel.Pool
	ctx   int // the longest cache a batch may use
	rope  ropeTable
	cache *Cache
	fwd   []Row // Forward's rows, reused

	x      []float32 // (B, dim) residual stream
	xb     []float32 // (B, dim) normalised input of a sub-layer / its output
	q      []float32 // (B, heads*head_dim)
	k, v   []float32 // (B, kv_heads*head_dim) the batch's keys and values
	att    []float32 // (B, heads, ctx) attention scores
	ao     []float32 // (B, heads*head_dim) attention output
	hb     []float32 // (B, ffn) gate
	hb2    []float32 // (B, ffn) up
	logits []float32 // (MaxLogitRows, vocab) logits of the rows that asked, in order
	Logits []float32 // (vocab) logits of the first such row: the last token of Forward

	in  input     // the activations being multiplied, quantized per weight type
	mm  []float32 // (B, ffn) per-worker matmul output before it is scattered
	mmT matTask   // arguments of the matmul running on the pool
	at  attnTask  // arguments of the attention running on the pool
	rt  rowTask   // arguments of the per-token steps
	// refKernels makes decode use the reference dot products (tests compare
	// the fast kernels' generations with them).
	refKernels bool
	// Pool callbacks bound once, so the decode loop does not allocate closures.
	mmFn, mmBatchFn, attFn, rowFn func(start, end int)
}

// matTask is one matrix multiplication: dst (B, rows) = x·wᵀ.
type matTask struct {
	dst []float32
	w   *Tensor
	xq  []byte
	B   int
}

// attnTask is causal attention of a batch over layer's caches.
type attnTask struct {
	q, ao []float32
	layer int
	rows  []Row
}

// NewState allocates buffers and a KV cache for a context of ctx positions;
// forward passes run on pool.
func (m *Model) NewState(ctx int, pool *parallel.Pool) (*State, error) {
	s, err := m.NewExecutor(ctx, pool)
	if err != nil {
		return nil, err
	}
	s.cache = m.NewCache(ctx)
	return s, nil
}

// NewExecutor is NewState without a cache of its own: it runs only
// ForwardRows, on caches of up to ctx positions made with NewCache.
func (m *Model) NewExecutor(ctx int, pool *parallel.Pool) (*State, error) {
	c := m.Config
	if ctx <= 0 {
		return nil, fmt.Errorf("context length must be positive, got %d", ctx)
	}
	qDim, kvDim, B := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, MaxBatch
	maxCols := max(c.Dim, qDim, c.FFN)
	s := &State{
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
		logits: make([]float32, MaxLogitRows*c.Vocab),
		fwd:    make([]Row, 0, MaxBatch),
		mm:     make([]float32, B*max(c.Dim, qDim, c.FFN)),
		in:     newInput(B * maxCols),
	}
	s.Logits = s.logits[:c.Vocab]
	s.mmFn, s.mmBatchFn, s.attFn, s.rowFn = s.matVecRows, s.matMulRows, s.attention, s.rows
	s.in.bind(pool)
	return s, nil
}

// SetPool moves the state's forward passes to another pool (a different
// thread count); the caller closes the old one.
func (s *State) SetPool(pool *parallel.Pool) {
	s.pool = pool
	s.in.bind(pool)
}

// StateBytes is the memory NewState allocates for a context of ctx tokens:
// the KV cache, attention scores, RoPE table and activations.
func (c Config) StateBytes(ctx int) int64 {
	kvDim, qDim := int64(c.KVHeads*c.HeadDim), int64(c.Heads*c.HeadDim)
	n, B := int64(ctx), int64(MaxBatch)
	floats := 2*int64(c.Layers)*n*kvDim + // KV cache
		B*int64(c.Heads)*n + // attention scores
		n*int64(c.Rope.Dims) + // cos and sin
		B*(2*int64(c.Dim)+2*qDim+2*kvDim+3*int64(c.FFN)) + MaxLogitRows*int64(c.Vocab)
	maxCols := int64(max(c.Dim, int(qDim), c.FFN))
	// quantized activations: at most one buffer per activation type, each
	// at most 4 bytes a value
	return 4*floats + inputSlots*4*B*maxCols
}

// Context is the number of positions the state holds.
func (s *State) Context() int { return s.ctx }

// Forward runs tokens (at most MaxBatch) of the state's own sequence through
// the model at positions pos, pos+1, …, appending their keys and values to
// its cache. Positions must be filled in order: attention reads positions
// 0..pos+len(tokens)-1. Logits of the last token are computed only if
// wantLogits, which prefill skips for all but the last chunk.
func (s *State) Forward(tokens []int32, pos int, wantLogits bool) error {
	if len(tokens) == 0 || len(tokens) > MaxBatch {
		return fmt.Errorf("forward: %d tokens (want 1..%d)", len(tokens), MaxBatch)
	}
	if s.cache == nil {
		return fmt.Errorf("forward: this state has no cache of its own (NewExecutor); use ForwardRows")
	}
	s.fwd = s.fwd[:0]
	for i, t := range tokens {
		s.fwd = append(s.fwd, Row{Token: t, Pos: pos + i, Cache: s.cache, Logits: wantLogits && i == len(tokens)-1})
	}
	return s.ForwardRows(s.fwd)
}

// ForwardRows runs a batch whose rows may belong to different sequences
// (continuous batching: each sequence's next token, plus prompt chunks).
// Each row's key and value go into its cache at its position, and it attends
// to its cache's positions 0..Pos. The logits of the rows with Logits set
// (at most MaxLogitRows) are available as RowLogits(0), RowLogits(1), … in
// row order.
func (s *State) ForwardRows(rows []Row) error {
	m, c := s.m, s.m.Config
	B := len(rows)
	if B == 0 || B > MaxBatch {
		return fmt.Errorf("forward: %d rows (want 1..%d)", B, MaxBatch)
	}
	nLogits := 0
	for _, r := range rows {
		if r.Cache == nil || r.Cache.ctx > s.ctx {
			return fmt.Errorf("forward: a row's cache is missing or longer than the state's %d positions", s.ctx)
		}
		if r.Pos < 0 || r.Pos >= r.Cache.ctx {
			return fmt.Errorf("position %d is outside the context of %d tokens", r.Pos, r.Cache.ctx)
		}
		if r.Token < 0 || int(r.Token) >= c.Vocab {
			return fmt.Errorf("token id %d is outside the vocabulary of %d", r.Token, c.Vocab)
		}
		if r.Logits {
			nLogits++
		}
	}
	if nLogits > MaxLogitRows {
		return fmt.Errorf("forward: %d rows want logits (max %d)", nLogits, MaxLogitRows)
	}
	dim, qDim, kvDim := c.Dim, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	x, xb := s.x[:B*dim], s.xb[:B*dim]
	q, k, v, ao := s.q[:B*qDim], s.k[:B*kvDim], s.v[:B*kvDim], s.ao[:B*qDim]
	hb, hb2 := s.hb[:B*c.FFN], s.hb2[:B*c.FFN]

	// token embeddings
	for b, r := range rows {
		if err := kernels.Dequantize(m.Embed.Type, m.Embed.Row(int(r.Token)), x[b*dim:(b+1)*dim]); err != nil {
			return err
		}
	}

	for l := range m.Layers {
		ly := &m.Layers[l]
		s.rt = rowTask{ly: ly, layer: l, rows: rows}

		// attention rmsnorm (after the previous layer's residual add)
		s.eachToken(rowAttnNorm, B, l > 0)

		// q, k, v projections
		s.in.set(xb, B, dim)
		s.matMul(q, &ly.Q)
		s.matMul(k, &ly.K)
		s.matMul(v, &ly.V)

		// biases (Qwen2), per-head q/k norm (Qwen3), RoPE, and the keys and
		// values stored in the cache
		s.eachToken(rowQKV, B, false)

		// causal multi-head attention
		s.at = attnTask{q: q, ao: ao, layer: l, rows: rows}
		s.pool.For(B*c.Heads, 1, s.attFn)

		// output projection
		s.in.set(ao, B, qDim)
		s.matMul(xb, &ly.Out)

		// residual, feed-forward rmsnorm, then down(silu(gate(x)) * up(x))
		s.eachToken(rowFFNNorm, B, true)
		s.in.set(xb, B, dim)
		s.matMul(hb, &ly.Gate)
		s.matMul(hb2, &ly.Up)
		s.eachToken(rowSiLU, B, false)
		s.in.set(hb, B, c.FFN)
		s.matMul(xb, &ly.Down)
	}
	kernels.Add(x, x, xb) // the last layer's residual

	if nLogits == 0 {
		return nil
	}
	// final rmsnorm and classifier, for the rows that want logits, gathered
	// into consecutive rows of xb
	n := 0
	for b, r := range rows {
		if r.Logits {
			kernels.RMSNorm(xb[n*dim:(n+1)*dim], x[b*dim:(b+1)*dim], m.OutputNorm, c.NormEps)
			n++
		}
	}
	s.in.set(xb, n, dim)
	s.matMul(s.logits[:n*c.Vocab], &m.Output)
	return nil
}

// RowLogits returns the logits of the i-th row that asked for them in the
// last ForwardRows; the slice is overwritten by the next forward pass.
func (s *State) RowLogits(i int) []float32 {
	v := s.m.Config.Vocab
	return s.logits[i*v : (i+1)*v]
}

// attention runs heads i0..i1 of s.at (index b*heads+h): token b sees
// positions 0..pos+b, and query head h reads KV head h/(heads/kv_heads).
func (s *State) attention(i0, i1 int) {
	c := s.m.Config
	hd, qDim, kvDim := c.HeadDim, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	group := c.Heads / c.KVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	a := &s.at
	for i := i0; i < i1; i++ {
		b, h := i/c.Heads, i%c.Heads
		r := &a.rows[b]
		keys, values := r.Cache.layer(a.layer, kvDim)
		last := r.Pos
		qh := a.q[b*qDim+h*hd : b*qDim+(h+1)*hd]
		kvh := (h / group) * hd
		att := s.att[i*s.ctx : i*s.ctx+last+1]
		kernels.AttnScores(att, qh, keys[kvh:], kvDim, scale)
		kernels.Softmax(att)
		kernels.AttnValues(a.ao[b*qDim+h*hd:b*qDim+(h+1)*hd], att, values[kvh:], kvDim)
	}
}

// rowKind is a per-token step of the forward pass, run for the tokens of a
// batch in parallel.
type rowKind int

const (
	rowAttnNorm rowKind = iota // [x += xb;] xb = rmsnorm(x)
	rowQKV                     // biases, q/k norm, RoPE, store k and v in the cache
	rowFFNNorm                 // x += xb; xb = rmsnorm(x)
	rowSiLU                    // hb = silu(hb) * hb2
)

// rowTask holds the layer-wide arguments of the per-token steps.
type rowTask struct {
	kind     rowKind
	residual bool
	ly       *Layer
	layer    int
	rows     []Row
}

// layer returns one layer's keys and values: (ctx, kvDim) each.
func (c *Cache) layer(l, kvDim int) (keys, values []float32) {
	n := c.ctx * kvDim
	return c.keys[l*n : (l+1)*n], c.values[l*n : (l+1)*n]
}

// eachToken runs one per-token step for the B tokens of the batch.
func (s *State) eachToken(kind rowKind, B int, residual bool) {
	s.rt.kind, s.rt.residual = kind, residual
	s.pool.For(B, 1, s.rowFn)
}

func (s *State) rows(b0, b1 int) {
	c := s.m.Config
	dim, qDim, kvDim, hd := c.Dim, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, c.HeadDim
	t := &s.rt
	for b := b0; b < b1; b++ {
		x, xb := s.x[b*dim:(b+1)*dim], s.xb[b*dim:(b+1)*dim]
		switch t.kind {
		case rowAttnNorm, rowFFNNorm:
			w := t.ly.AttnNorm
			if t.kind == rowFFNNorm {
				w = t.ly.FFNNorm
			}
			if t.residual {
				kernels.Add(x, x, xb)
			}
			kernels.RMSNorm(xb, x, w, c.NormEps)
		case rowQKV:
			q, k, v := s.q[b*qDim:(b+1)*qDim], s.k[b*kvDim:(b+1)*kvDim], s.v[b*kvDim:(b+1)*kvDim]
			if t.ly.QBias != nil {
				kernels.Add(q, q, t.ly.QBias)
				kernels.Add(k, k, t.ly.KBias)
				kernels.Add(v, v, t.ly.VBias)
			}
			for h := 0; h < c.Heads; h++ {
				qh := q[h*hd : (h+1)*hd]
				if t.ly.QNorm != nil {
					kernels.RMSNorm(qh, qh, t.ly.QNorm, c.NormEps)
				}
				s.rope.apply(qh, t.rows[b].Pos, c.Rope.Style)
			}
			for h := 0; h < c.KVHeads; h++ {
				kh := k[h*hd : (h+1)*hd]
				if t.ly.KNorm != nil {
					kernels.RMSNorm(kh, kh, t.ly.KNorm, c.NormEps)
				}
				s.rope.apply(kh, t.rows[b].Pos, c.Rope.Style)
			}
			keys, values := t.rows[b].Cache.layer(t.layer, kvDim)
			copy(keys[t.rows[b].Pos*kvDim:], k)
			copy(values[t.rows[b].Pos*kvDim:], v)
		case rowSiLU:
			hb, hb2 := s.hb[b*c.FFN:(b+1)*c.FFN], s.hb2[b*c.FFN:(b+1)*c.FFN]
			kernels.SiLUMul(hb, hb, hb2)
		}
	}
}

// matMul computes dst = x·wᵀ for the B rows of the current input x (set by
// s.in.set): dst is (B, w.Rows). Activations are quantized to the weight
// type's dot-product type once per input, as ggml does. Weight rows are split
// across the pool; with B > 1 each weight row serves all B tokens while it is
// in cache.
func (s *State) matMul(dst []float32, w *Tensor) {
	s.mmT = matTask{dst: dst, w: w, xq: s.in.quantized(w.Type), B: s.in.B}
	fn := s.mmFn
	if s.in.B > 1 {
		fn = s.mmBatchFn
	}
	s.pool.For(w.Rows, 16, fn)
}

func (s *State) matVecRows(r0, r1 int) {
	t := &s.mmT
	rb := t.w.Type.RowBytes(t.w.Cols)
	if s.refKernels {
		for r := r0; r < r1; r++ {
			t.dst[r] = kernels.DotQRef(t.w.Type, t.w.Data[r*rb:(r+1)*rb], t.xq, t.w.Cols)
		}
		return
	}
	kernels.MatVecQ(t.dst[r0:r1], t.w.Type, t.w.Data[r0*rb:r1*rb], t.xq, t.w.Cols)
}

// matMulRows multiplies weight rows r0..r1 into the scratch rows of the same
// range, then scatters them into dst's (B, rows) layout.
func (s *State) matMulRows(r0, r1 int) {
	t := &s.mmT
	rb, n, rows := t.w.Type.RowBytes(t.w.Cols), r1-r0, t.w.Rows
	tmp := s.mm[t.B*r0 : t.B*r1]
	kernels.MatMulQ(tmp, t.w.Type, t.w.Data[r0*rb:r1*rb], t.xq, t.w.Cols, t.B)
	for b := 0; b < t.B; b++ {
		copy(t.dst[b*rows+r0:b*rows+r1], tmp[b*n:(b+1)*n])
	}
}
