package model

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/kernels"
	"github.com/tandem-llm/tandem/parallel"
	"github.com/tandem-llm/tandem/synth"
)

// refModel is a float64 copy of a model's weights for the naive reference
// forward pass below: no KV cache, no tables, every step spelled out.
type refModel struct {
	m      *Model
	embed  [][]float64
	output [][]float64
	layers []refLayer
}

type refLayer struct {
	q, k, v, o, gate, up, down [][]float64
}

func toF64(t *testing.T, w Tensor) [][]float64 {
	t.Helper()
	out := make([][]float64, w.Rows)
	row := make([]float32, w.Cols)
	for r := range out {
		if err := kernels.Dequantize(w.Type, w.Row(r), row); err != nil {
			t.Fatal(err)
		}
		out[r] = make([]float64, w.Cols)
		for i, v := range row {
			out[r][i] = float64(v)
		}
	}
	return out
}

func newRef(t *testing.T, m *Model) *refModel {
	r := &refModel{m: m, embed: toF64(t, m.Embed), output: toF64(t, m.Output)}
	for _, l := range m.Layers {
		r.layers = append(r.layers, refLayer{toF64(t, l.Q), toF64(t, l.K), toF64(t, l.V), toF64(t, l.Out),
			toF64(t, l.Gate), toF64(t, l.Up), toF64(t, l.Down)})
	}
	return r
}

func mv(w [][]float64, x []float64) []float64 {
	y := make([]float64, len(w))
	for i, row := range w {
		for j, v := range row {
			y[i] += v * x[j]
		}
	}
	return y
}

func rmsnorm(x []float64, w []float32, eps float32) []float64 {
	ss := 0.0
	for _, v := range x {
		ss += v * v
	}
	s := 1 / math.Sqrt(ss/float64(len(x))+float64(eps))
	y := make([]float64, len(x))
	for i := range x {
		y[i] = x[i] * s * float64(w[i])
	}
	return y
}

// rope rotates one head in place, computing each angle from scratch.
func rope(x []float64, pos int, c Config) {
	r := c.Rope
	lo, hi := yarnCorrDims(r)
	for i := 0; i < r.Dims/2; i++ {
		freq := math.Pow(r.Base, -2*float64(i)/float64(r.Dims))
		if r.FreqFactors != nil {
			freq /= float64(r.FreqFactors[i])
		}
		extrap := float64(pos) * freq
		theta, mscale := extrap*r.FreqScale, r.AttnFactor
		if r.ExtFactor != 0 {
			ramp := 1 - math.Min(1, math.Max(0, (float64(i)-lo)/math.Max(0.001, hi-lo)))
			mix := ramp * r.ExtFactor
			theta = theta*(1-mix) + extrap*mix
			mscale *= 1 + 0.1*math.Log(1/r.FreqScale)
		}
		a, b := i, i+r.Dims/2 // NeoX pairs
		if r.Style == RopeNormal {
			a, b = 2*i, 2*i+1
		}
		xa, xb := x[a], x[b]
		x[a] = (xa*math.Cos(theta) - xb*math.Sin(theta)) * mscale
		x[b] = (xa*math.Sin(theta) + xb*math.Cos(theta)) * mscale
	}
}

// logits returns the logits after each of tokens, recomputing everything.
func (r *refModel) logits(tokens []int32) [][]float64 {
	c := r.m.Config
	hd := c.HeadDim
	n := len(tokens)
	xs := make([][]float64, n)
	for i, t := range tokens {
		xs[i] = append([]float64(nil), r.embed[t]...)
	}
	for li, l := range r.m.Layers {
		rl := r.layers[li]
		qs, ks, vs := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for p := range xs {
			h := rmsnorm(xs[p], l.AttnNorm, c.NormEps)
			qs[p], ks[p], vs[p] = mv(rl.q, h), mv(rl.k, h), mv(rl.v, h)
			if l.QBias != nil {
				for i := range qs[p] {
					qs[p][i] += float64(l.QBias[i])
				}
				for i := range ks[p] {
					ks[p][i] += float64(l.KBias[i])
					vs[p][i] += float64(l.VBias[i])
				}
			}
			for hh := 0; hh < c.Heads; hh++ {
				q := qs[p][hh*hd : (hh+1)*hd]
				if l.QNorm != nil {
					copy(q, rmsnorm(q, l.QNorm, c.NormEps))
				}
				rope(q, p, c)
			}
			for hh := 0; hh < c.KVHeads; hh++ {
				k := ks[p][hh*hd : (hh+1)*hd]
				if l.KNorm != nil {
					copy(k, rmsnorm(k, l.KNorm, c.NormEps))
				}
				rope(k, p, c)
			}
		}
		for p := range xs {
			att := make([]float64, c.Heads*hd)
			for hh := 0; hh < c.Heads; hh++ {
				kv := hh / (c.Heads / c.KVHeads)
				scores := make([]float64, p+1)
				mx := math.Inf(-1)
				for t := 0; t <= p; t++ {
					for i := 0; i < hd; i++ {
						scores[t] += qs[p][hh*hd+i] * ks[t][kv*hd+i]
					}
					scores[t] /= math.Sqrt(float64(hd))
					mx = math.Max(mx, scores[t])
				}
				sum := 0.0
				for t := range scores {
					scores[t] = math.Exp(scores[t] - mx)
					sum += scores[t]
				}
				for t := range scores {
					for i := 0; i < hd; i++ {
						att[hh*hd+i] += scores[t] / sum * vs[t][kv*hd+i]
					}
				}
			}
			o := mv(rl.o, att)
			for i := range xs[p] {
				xs[p][i] += o[i]
			}
			h := rmsnorm(xs[p], l.FFNNorm, c.NormEps)
			g, u := mv(rl.gate, h), mv(rl.up, h)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			d := mv(rl.down, g)
			for i := range xs[p] {
				xs[p][i] += d[i]
			}
		}
	}
	out := make([][]float64, n)
	for p := range xs {
		out[p] = mv(r.output, rmsnorm(xs[p], r.m.OutputNorm, c.NormEps))
	}
	return out
}

func writeSynth(t *testing.T, s synth.Spec) *Model {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.gguf")
	if s.VocabSize == 0 && s.Vocab == nil {
		s.VocabSize = 384
	}
	if err := synth.Write(path, s); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	m, err := FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// engineLogits runs tokens through the real forward pass.
func engineLogits(t *testing.T, m *Model, tokens []int32, threads int) [][]float32 {
	t.Helper()
	pool := parallel.New(threads)
	defer pool.Close()
	st, err := m.NewState(len(tokens), pool)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]float32
	for p := range tokens {
		if err := st.Forward(tokens[p:p+1], p, true); err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]float32(nil), st.Logits...))
	}
	return out
}

// TestBatchedForward: feeding a prompt in batches gives the same logits as
// one token at a time, and the cache continues correctly after it.
func TestBatchedForward(t *testing.T) {
	m := writeSynth(t, synth.Spec{Arch: "qwen2", Dim: 64, Layers: 2, Heads: 4, KVHeads: 2, FFN: 96, Context: 160, Seed: 5, Tied: true})
	toks := testTokens(150, m.Config.Vocab)
	want := engineLogits(t, m, toks, 2)
	pool := parallel.New(2)
	defer pool.Close()
	st, err := m.NewState(160, pool)
	if err != nil {
		t.Fatal(err)
	}
	// 3 + 64 + 64 + 19 tokens: a short chunk, full chunks, a remainder
	pos := 0
	for _, n := range []int{3, MaxBatch, MaxBatch, 150 - 3 - 2*MaxBatch} {
		if err := st.Forward(toks[pos:pos+n], pos, true); err != nil {
			t.Fatal(err)
		}
		pos += n
		for i, v := range want[pos-1] {
			if d := math.Abs(float64(v - st.Logits[i])); d > 1e-4 {
				t.Fatalf("after %d tokens: logit %d differs by %g", pos, i, d)
			}
		}
	}
	if err := st.Forward(toks[:MaxBatch+1], 0, true); err == nil {
		t.Error("a batch larger than MaxBatch was accepted")
	}
	if err := st.Forward(toks[:20], 150, true); err == nil {
		t.Error("a batch past the context was accepted")
	}
}

func testTokens(n, vocab int) []int32 {
	toks := make([]int32, n)
	for i := range toks {
		toks[i] = int32((i*7919 + 13) % vocab)
	}
	return toks
}

// TestForwardMatchesReference checks the engine against the float64
// reference for each architecture feature on synthetic models written by our
// own writer.
func TestForwardMatchesReference(t *testing.T) {
	base := synth.Spec{Dim: 64, Layers: 2, Heads: 4, KVHeads: 2, FFN: 96, Context: 64, Seed: 7}
	cases := map[string]func(s *synth.Spec){
		"llama":      func(s *synth.Spec) { s.Arch = "llama" },
		"llama-tied": func(s *synth.Spec) { s.Arch = "llama"; s.Tied = true },
		"llama-mha":  func(s *synth.Spec) { s.Arch = "llama"; s.KVHeads = 4 },
		"qwen2":      func(s *synth.Spec) { s.Arch = "qwen2"; s.Tied = true; s.RopeBase = 1e6 },
		"qwen3":      func(s *synth.Spec) { s.Arch = "qwen3"; s.HeadDim = 32; s.Tied = true; s.RopeBase = 1e6 },
		"llama3-freqs": func(s *synth.Spec) {
			s.Arch = "llama"
			s.RopeFreqs = []float32{1, 1.5, 4, 8, 8, 8, 8, 8}
			s.RopeBase = 5e5
		},
		"linear-scale": func(s *synth.Spec) { s.Arch = "llama"; s.RopeScale = "linear"; s.RopeFactor = 4 },
		"yarn":         func(s *synth.Spec) { s.Arch = "qwen2"; s.RopeScale = "yarn"; s.RopeFactor = 4 },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			s := base
			s.Name = name
			mod(&s)
			m := writeSynth(t, s)
			toks := testTokens(24, m.Config.Vocab)
			ref := newRef(t, m).logits(toks)
			for _, threads := range []int{1, 3} {
				got := engineLogits(t, m, toks, threads)
				maxDiff, scale := 0.0, 0.0
				for p := range ref {
					for i, v := range ref[p] {
						maxDiff = math.Max(maxDiff, math.Abs(v-float64(got[p][i])))
						scale = math.Max(scale, math.Abs(v))
					}
					if a, b := argmax64(ref[p]), argmax32(got[p]); a != b {
						t.Errorf("threads %d, position %d: top-1 token %d, reference %d", threads, p, b, a)
					}
				}
				t.Logf("threads %d: max |logit diff| %.2e (max |logit| %.2f)", threads, maxDiff, scale)
				if maxDiff > 1e-4*math.Max(1, scale) {
					t.Errorf("threads %d: max logit difference %.3g exceeds tolerance", threads, maxDiff)
				}
			}
		})
	}
}

func argmax64(x []float64) int {
	b := 0
	for i, v := range x {
		if v > x[b] {
			b = i
		}
	}
	return b
}

func argmax32(x []float32) int {
	b := 0
	for i, v := range x {
		if v > x[b] {
			b = i
		}
	}
	return b
}

// TestDecodeAllocs: the decode step allocates nothing.
func TestDecodeAllocs(t *testing.T) {
	m := writeSynth(t, synth.Spec{Arch: "qwen3", Dim: 64, Layers: 2, Heads: 4, KVHeads: 2, FFN: 96, Context: 300, Seed: 5, Tied: true})
	pool := parallel.New(2)
	defer pool.Close()
	st, err := m.NewState(300, pool)
	if err != nil {
		t.Fatal(err)
	}
	tok := []int32{1}
	pos := 0
	allocs := testing.AllocsPerRun(200, func() {
		if err := st.Forward(tok, pos, true); err != nil {
			t.Fatal(err)
		}
		pos++
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per decoded token, want 0", allocs)
	}
}

// TestForwardRowsMultiSequence: decoding several sequences in one batch
// gives each the logits it gets alone.
func TestForwardRowsMultiSequence(t *testing.T) {
	m := writeSynth(t, synth.Spec{Arch: "llama", Dim: 64, Layers: 2, Heads: 4, KVHeads: 2, FFN: 96, Context: 64, Seed: 9})
	seqs := [][]int32{testTokens(12, m.Config.Vocab), testTokens(7, m.Config.Vocab)[2:], {5, 9, 11, 3, 2, 8, 1, 4, 4, 4}}
	pool := parallel.New(2)
	defer pool.Close()
	st, err := m.NewState(64, pool)
	if err != nil {
		t.Fatal(err)
	}
	caches := []*Cache{m.NewCache(64), m.NewCache(32), m.NewCache(64)}
	// Prefill the first 4 tokens of each sequence in one batch, then decode
	// the rest one token per sequence per step.
	var rows []Row
	for i, sq := range seqs {
		for p := 0; p < 4; p++ {
			rows = append(rows, Row{Token: sq[p], Pos: p, Cache: caches[i], Logits: p == 3})
		}
	}
	check := func(i, p int, got []float32) {
		want := engineLogits(t, m, seqs[i][:p+1], 1)[p]
		for j := range want {
			if d := math.Abs(float64(want[j] - got[j])); d > 1e-4 {
				t.Fatalf("sequence %d position %d: logit %d differs by %g", i, p, j, d)
			}
		}
	}
	if err := st.ForwardRows(rows); err != nil {
		t.Fatal(err)
	}
	for i := range seqs {
		check(i, 3, st.RowLogits(i))
	}
	for p := 4; p < 10; p++ {
		rows = rows[:0]
		var which []int
		for i, sq := range seqs {
			if p < len(sq) {
				rows = append(rows, Row{Token: sq[p], Pos: p, Cache: caches[i], Logits: true})
				which = append(which, i)
			}
		}
		if err := st.ForwardRows(rows); err != nil {
			t.Fatal(err)
		}
		for n, i := range which {
			check(i, p, st.RowLogits(n))
		}
	}
}
