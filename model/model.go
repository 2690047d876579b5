// Package model holds the transformer architectures Tandem runs: the weights
// of a GGUF file mapped into layer structs, and the forward pass.
package model

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/kernels"
)

// Arch is what distinguishes one llama-family architecture from another.
// Each supported architecture is declared in its own file.
type Arch struct {
	Name    string
	Rope    RopeStyle
	QKVBias bool // attn_{q,k,v}.bias present (Qwen2)
	QKNorm  bool // per-head RMSNorm of q and k before RoPE (Qwen3)
}

// architectures lists the supported values of general.architecture.
func architectures() map[string]Arch {
	return map[string]Arch{llama.Name: llama, qwen2.Name: qwen2, qwen3.Name: qwen3}
}

// SupportedArchitectures lists the architecture names Tandem can run.
func SupportedArchitectures() []string {
	var names []string
	for n := range architectures() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Tensor is a weight matrix in the mapped file: Rows rows of Cols values
// each (ggml's ne1 and ne0), encoded as Type.
type Tensor struct {
	Name       string
	Type       gguf.Type
	Rows, Cols int
	Data       []byte
}

// Row returns the encoded bytes of row i.
func (t *Tensor) Row(i int) []byte {
	n := t.Type.RowBytes(t.Cols)
	return t.Data[i*n : (i+1)*n]
}

// Layer is one transformer block. Field comments give ggml shapes as
// (rows, cols) and the GGUF tensor name under "blk.N.".
type Layer struct {
	AttnNorm            []float32 // (dim) attn_norm
	Q                   Tensor    // (heads*head_dim, dim) attn_q
	K                   Tensor    // (kv_heads*head_dim, dim) attn_k
	V                   Tensor    // (kv_heads*head_dim, dim) attn_v
	QBias, KBias, VBias []float32 // attn_{q,k,v}.bias, Qwen2 only
	QNorm, KNorm        []float32 // (head_dim) attn_{q,k}_norm, Qwen3 only
	Out                 Tensor    // (dim, heads*head_dim) attn_output
	FFNNorm             []float32 // (dim) ffn_norm
	Gate                Tensor    // (ffn, dim) ffn_gate
	Up                  Tensor    // (ffn, dim) ffn_up
	Down                Tensor    // (dim, ffn) ffn_down
}

// Model is a loaded model: configuration and weights pointing into the
// memory-mapped GGUF file.
type Model struct {
	Config Config
	Arch   Arch
	File   *gguf.File

	Embed      Tensor    // (vocab, dim) token_embd
	Layers     []Layer   //
	OutputNorm []float32 // (dim) output_norm
	Output     Tensor    // (vocab, dim) output, or token_embd when tied
}

// FromFile maps a parsed GGUF file's tensors into a Model. The model keeps
// referring to f; close f only after the model is no longer used.
func FromFile(f *gguf.File) (*Model, error) {
	archName, ok := f.String("general.architecture")
	if !ok {
		return nil, fmt.Errorf("general.architecture is missing: not a model file (vocab-only?)")
	}
	arch, ok := architectures()[archName]
	if !ok {
		return nil, fmt.Errorf("unsupported architecture %q (supported: %s)", archName, strings.Join(SupportedArchitectures(), ", "))
	}
	cfg, err := readConfig(f, archName)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", archName, err)
	}
	cfg.Rope.Style = arch.Rope
	l := loader{f: f}
	m := &Model{Arch: arch, File: f}

	m.Embed = l.matrix("token_embd.weight", -1, cfg.Dim)
	if l.err == nil {
		if cfg.Vocab != 0 && cfg.Vocab != m.Embed.Rows {
			return nil, fmt.Errorf("vocab_size %d but token_embd.weight has %d rows", cfg.Vocab, m.Embed.Rows)
		}
		cfg.Vocab = m.Embed.Rows
	}
	qDim, kvDim := cfg.Heads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim
	m.Layers = make([]Layer, cfg.Layers)
	for i := range m.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		ly := &m.Layers[i]
		ly.AttnNorm = l.vector(p+"attn_norm.weight", cfg.Dim)
		ly.Q = l.matrix(p+"attn_q.weight", qDim, cfg.Dim)
		ly.K = l.matrix(p+"attn_k.weight", kvDim, cfg.Dim)
		ly.V = l.matrix(p+"attn_v.weight", kvDim, cfg.Dim)
		if arch.QKVBias {
			ly.QBias = l.vector(p+"attn_q.bias", qDim)
			ly.KBias = l.vector(p+"attn_k.bias", kvDim)
			ly.VBias = l.vector(p+"attn_v.bias", kvDim)
		}
		if arch.QKNorm {
			ly.QNorm = l.vector(p+"attn_q_norm.weight", cfg.HeadDim)
			ly.KNorm = l.vector(p+"attn_k_norm.weight", cfg.HeadDim)
		}
		ly.Out = l.matrix(p+"attn_output.weight", cfg.Dim, qDim)
		ly.FFNNorm = l.vector(p+"ffn_norm.weight", cfg.Dim)
		ly.Gate = l.matrix(p+"ffn_gate.weight", cfg.FFN, cfg.Dim)
		ly.Up = l.matrix(p+"ffn_up.weight", cfg.FFN, cfg.Dim)
		ly.Down = l.matrix(p+"ffn_down.weight", cfg.Dim, cfg.FFN)
	}
	m.OutputNorm = l.vector("output_norm.weight", cfg.Dim)
	if _, ok := f.Tensor("output.weight"); ok {
		m.Output = l.matrix("output.weight", cfg.Vocab, cfg.Dim)
	} else {
		m.Output = m.Embed // tied embeddings
	}
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		cfg.Rope.FreqFactors = l.vector("rope_freqs.weight", cfg.Rope.Dims/2)
	}
	if l.err != nil {
		return nil, fmt.Errorf("%s: %w", archName, l.err)
	}
	m.Config = cfg
	return m, nil
}

// loader looks up tensors, checking shapes and types, and keeps the first
// error so FromFile reads as a list of tensors.
type loader struct {
	f   *gguf.File
	err error
}

func (l *loader) get(name string, dims ...int) (gguf.TensorInfo, []byte) {
	if l.err != nil {
		return gguf.TensorInfo{}, nil
	}
	ti, ok := l.f.Tensor(name)
	if !ok {
		l.err = fmt.Errorf("tensor %s is missing", name)
		return ti, nil
	}
	if !ti.Type.Supported() {
		l.err = fmt.Errorf("tensor %s has type %s, which Tandem does not support (supported: %s)",
			name, ti.Type, typeList())
		return ti, nil
	}
	shapeOK := len(ti.Dims) == len(dims) || (len(ti.Dims) > len(dims) && allOnes(ti.Dims[len(dims):]))
	for i := 0; shapeOK && i < len(dims); i++ {
		shapeOK = dims[i] < 0 || ti.Dims[i] == uint64(dims[i])
	}
	if !shapeOK {
		l.err = fmt.Errorf("tensor %s has shape %v, want %v", name, ti.Dims, dims)
		return ti, nil
	}
	data, err := l.f.TensorData(ti)
	if err != nil {
		l.err = err
	}
	return ti, data
}

func allOnes(d []uint64) bool {
	return !slices.ContainsFunc(d, func(x uint64) bool { return x != 1 })
}

// matrix maps a 2-D weight of rows×cols (rows < 0: any).
func (l *loader) matrix(name string, rows, cols int) Tensor {
	ti, data := l.get(name, cols, rows)
	if l.err != nil {
		return Tensor{}
	}
	r := 1
	if len(ti.Dims) > 1 {
		r = int(ti.Dims[1])
	}
	return Tensor{Name: name, Type: ti.Type, Rows: r, Cols: int(ti.Dims[0]), Data: data}
}

// vector decodes a small 1-D tensor (norm weights, biases) to float32.
func (l *loader) vector(name string, n int) []float32 {
	ti, data := l.get(name, n)
	if l.err != nil {
		return nil
	}
	out := make([]float32, n)
	if err := kernels.Dequantize(ti.Type, data, out); err != nil {
		l.err = fmt.Errorf("tensor %s: %w", name, err)
	}
	return out
}

func typeList() string {
	var s []string
	for _, t := range gguf.SupportedTypes() {
		s = append(s, t.String())
	}
	return strings.Join(s, ", ")
}

// ParamCount is the number of weights in the model.
func (m *Model) ParamCount() int64 {
	var n int64
	for _, t := range m.File.Tensors {
		n += int64(t.NumElements())
	}
	return n
}

// WeightBytes is the size of all tensor data.
func (m *Model) WeightBytes() int64 {
	var n int64
	for _, t := range m.File.Tensors {
		n += int64(t.Size())
	}
	return n
}
