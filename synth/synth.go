// Package synth writes synthetic GGUF models: real architectures and shapes
// with random weights, for tests and benchmarks where real weights cannot be
// downloaded. Everything is written by Tandem's own GGUF writer and
// quantizers, and is deterministic for a given seed.
package synth

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/kernels"
)

// Spec describes a synthetic model.
type Spec struct {
	Arch       string // llama, qwen2 or qwen3
	Name       string
	Dim        int
	Layers     int
	Heads      int
	KVHeads    int
	HeadDim    int // 0: Dim/Heads
	FFN        int
	Context    int
	RopeBase   float64
	NormEps    float32
	Tied       bool      // no output.weight; the classifier reuses token_embd
	RopeFreqs  []float32 // written as rope_freqs.weight when set
	RopeScale  string    // "", "linear" or "yarn"
	RopeFactor float64

	// Type is the type of the 2-D weight matrices. TypeFor, when set,
	// overrides it per tensor (e.g. llama.cpp's Q4_K_M mix); returning 0
	// keeps Type.
	Type    gguf.Type
	TypeFor func(name string, rows, cols int) gguf.Type

	Seed uint64
	// Vocab supplies the tokenizer metadata (tokenizer.* keys, copied) and
	// the vocabulary size; VocabSize is used when Vocab is nil (no tokenizer).
	Vocab     *gguf.File
	VocabSize int
}

// Write writes the model to path, tensor by tensor, never holding more than
// one tensor in memory.
func Write(path string, s Spec) error {
	kvs, tensors, err := layout(s)
	if err != nil {
		return err
	}
	infos := make([]gguf.TensorInfo, len(tensors))
	for i, t := range tensors {
		infos[i] = t.info
	}
	return gguf.CreateFile(path, kvs, infos, func(w *gguf.Writer) error {
		for i, t := range tensors {
			data, err := t.make(s.Seed, uint64(i))
			if err != nil {
				return fmt.Errorf("synth: %s: %w", t.info.Name, err)
			}
			if err := w.WriteTensor(data); err != nil {
				return err
			}
		}
		return nil
	})
}

type tensor struct {
	info gguf.TensorInfo
	make func(seed, index uint64) ([]byte, error)
}

func layout(s Spec) ([]gguf.KV, []tensor, error) {
	if s.HeadDim == 0 && s.Heads > 0 {
		s.HeadDim = s.Dim / s.Heads
	}
	if s.Dim <= 0 || s.Layers <= 0 || s.Heads <= 0 || s.KVHeads <= 0 || s.FFN <= 0 || s.HeadDim <= 0 {
		return nil, nil, fmt.Errorf("synth: incomplete spec %+v", s)
	}
	if s.Context == 0 {
		s.Context = 2048
	}
	if s.RopeBase == 0 {
		s.RopeBase = 10000
	}
	if s.NormEps == 0 {
		s.NormEps = 1e-5
	}
	if s.Type == 0 {
		s.Type = gguf.TypeF32
	}
	a := s.Arch
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: a},
		{Key: "general.name", Value: s.Name},
		{Key: "general.alignment", Value: uint32(32)},
		{Key: a + ".context_length", Value: uint32(s.Context)},
		{Key: a + ".embedding_length", Value: uint32(s.Dim)},
		{Key: a + ".block_count", Value: uint32(s.Layers)},
		{Key: a + ".feed_forward_length", Value: uint32(s.FFN)},
		{Key: a + ".attention.head_count", Value: uint32(s.Heads)},
		{Key: a + ".attention.head_count_kv", Value: uint32(s.KVHeads)},
		{Key: a + ".attention.layer_norm_rms_epsilon", Value: s.NormEps},
		{Key: a + ".rope.freq_base", Value: float32(s.RopeBase)},
		{Key: a + ".rope.dimension_count", Value: uint32(s.HeadDim)},
	}
	if s.HeadDim != s.Dim/s.Heads {
		kvs = append(kvs, gguf.KV{Key: a + ".attention.key_length", Value: uint32(s.HeadDim)},
			gguf.KV{Key: a + ".attention.value_length", Value: uint32(s.HeadDim)})
	}
	if s.RopeScale != "" {
		kvs = append(kvs, gguf.KV{Key: a + ".rope.scaling.type", Value: s.RopeScale},
			gguf.KV{Key: a + ".rope.scaling.factor", Value: float32(s.RopeFactor)},
			gguf.KV{Key: a + ".rope.scaling.original_context_length", Value: uint32(s.Context)})
	}
	vocab := s.VocabSize
	if s.Vocab != nil {
		for _, kv := range s.Vocab.KV {
			if strings.HasPrefix(kv.Key, "tokenizer.") {
				kvs = append(kvs, kv)
			}
		}
		toks, ok := s.Vocab.Strings("tokenizer.ggml.tokens")
		if !ok {
			return nil, nil, fmt.Errorf("synth: vocabulary file has no tokenizer.ggml.tokens")
		}
		vocab = len(toks)
	}
	if vocab <= 0 {
		return nil, nil, fmt.Errorf("synth: no vocabulary (set Vocab or VocabSize)")
	}

	var ts []tensor
	typeOf := func(name string, rows, cols int) gguf.Type {
		if s.TypeFor != nil {
			if t := s.TypeFor(name, rows, cols); t != 0 {
				return t
			}
		}
		return s.Type
	}
	// Weight scale follows the parity models' recipe: std gain/sqrt(fan_in),
	// doubled on the projections back into the residual stream.
	mat := func(name string, rows, cols int, std float64) {
		t := typeOf(name, rows, cols)
		ts = append(ts, tensor{
			info: gguf.TensorInfo{Name: name, Type: t, Dims: []uint64{uint64(cols), uint64(rows)}},
			make: normal(t, rows*cols, 0, std),
		})
	}
	vec := func(name string, n int, mean, std float64) {
		ts = append(ts, tensor{
			info: gguf.TensorInfo{Name: name, Type: gguf.TypeF32, Dims: []uint64{uint64(n)}},
			make: normal(gguf.TypeF32, n, mean, std),
		})
	}
	qDim, kvDim := s.Heads*s.HeadDim, s.KVHeads*s.HeadDim
	in := 1 / math.Sqrt(float64(s.Dim))
	mat("token_embd.weight", vocab, s.Dim, 1)
	for l := 0; l < s.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		vec(p+"attn_norm.weight", s.Dim, 1, 0.1)
		mat(p+"attn_q.weight", qDim, s.Dim, in)
		mat(p+"attn_k.weight", kvDim, s.Dim, in)
		mat(p+"attn_v.weight", kvDim, s.Dim, in)
		if s.Arch == "qwen2" {
			vec(p+"attn_q.bias", qDim, 0, 0.25)
			vec(p+"attn_k.bias", kvDim, 0, 0.25)
			vec(p+"attn_v.bias", kvDim, 0, 0.25)
		}
		if s.Arch == "qwen3" {
			vec(p+"attn_q_norm.weight", s.HeadDim, 1, 0.1)
			vec(p+"attn_k_norm.weight", s.HeadDim, 1, 0.1)
		}
		mat(p+"attn_output.weight", s.Dim, qDim, 2/math.Sqrt(float64(qDim)))
		vec(p+"ffn_norm.weight", s.Dim, 1, 0.1)
		mat(p+"ffn_gate.weight", s.FFN, s.Dim, in)
		mat(p+"ffn_up.weight", s.FFN, s.Dim, in)
		mat(p+"ffn_down.weight", s.Dim, s.FFN, 2/math.Sqrt(float64(s.FFN)))
	}
	if s.Tied {
		// A zero-mean output norm keeps a tied random model from echoing its
		// input token (see ../shared/models/parity/README.md).
		vec("output_norm.weight", s.Dim, 0, 3)
	} else {
		vec("output_norm.weight", s.Dim, 1, 0.1)
		mat("output.weight", vocab, s.Dim, 3*in)
	}
	if s.RopeFreqs != nil {
		f := s.RopeFreqs
		ts = append(ts, tensor{
			info: gguf.TensorInfo{Name: "rope_freqs.weight", Type: gguf.TypeF32, Dims: []uint64{uint64(len(f))}},
			make: func(uint64, uint64) ([]byte, error) { return f32Bytes(f), nil },
		})
	}
	return kvs, ts, nil
}

// normal returns a generator of n values drawn from N(mean, std), encoded as
// t. Each tensor has its own stream, so tensors don't depend on each other.
func normal(t gguf.Type, n int, mean, std float64) func(seed, index uint64) ([]byte, error) {
	return func(seed, index uint64) ([]byte, error) {
		rng := rand.New(rand.NewPCG(seed, index))
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(mean + std*rng.NormFloat64())
		}
		out := make([]byte, t.RowBytes(n))
		if err := kernels.Quantize(t, x, out); err != nil {
			return nil, err
		}
		return out, nil
	}
}

func f32Bytes(x []float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}
