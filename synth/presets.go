package synth

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/tandem-llm/tandem/gguf"
)

// Preset is the shape of a real model, for synthetic files of that size.
type Preset struct {
	Spec
	// VocabFile names the llama.cpp vocab-only file in ../shared/tokenizer
	// whose tokenizer the real model uses.
	VocabFile string
}

// llama3Factors are Llama 3.1+ rope_freqs.weight values: per frequency pair
// of a head of dim dims, as llama.cpp's converter computes them.
func llama3Factors(dims int, base, factor, low, high, orig float64) []float32 {
	out := make([]float32, dims/2)
	lowWave, highWave := orig/low, orig/high
	for i := range out {
		freq := 1 / math.Pow(base, float64(2*i)/float64(dims))
		wave := 2 * math.Pi / freq
		switch {
		case wave < highWave:
			out[i] = 1
		case wave > lowWave:
			out[i] = float32(factor)
		default:
			smooth := (orig/wave - low) / (high - low)
			out[i] = float32(1 / ((1-smooth)/factor + smooth))
		}
	}
	return out
}

// Presets are the model shapes Tandem benchmarks on.
func Presets() map[string]Preset {
	return map[string]Preset{
		"smollm2-135m": {VocabFile: "ggml-vocab-starcoder.gguf", Spec: Spec{
			Arch: "llama", Name: "synth-smollm2-135m", Dim: 576, FFN: 1536, Layers: 30, Heads: 9, KVHeads: 3,
			Context: 8192, RopeBase: 100000, NormEps: 1e-5, Tied: true}},
		"qwen2.5-0.5b": {VocabFile: "ggml-vocab-qwen2.gguf", Spec: Spec{
			Arch: "qwen2", Name: "synth-qwen2.5-0.5b", Dim: 896, FFN: 4864, Layers: 24, Heads: 14, KVHeads: 2,
			Context: 32768, RopeBase: 1e6, NormEps: 1e-6, Tied: true}},
		"llama3.2-1b": {VocabFile: "ggml-vocab-llama-bpe.gguf", Spec: Spec{
			Arch: "llama", Name: "synth-llama3.2-1b", Dim: 2048, FFN: 8192, Layers: 16, Heads: 32, KVHeads: 8,
			Context: 131072, RopeBase: 500000, NormEps: 1e-5, Tied: true,
			RopeFreqs: llama3Factors(64, 500000, 32, 1, 4, 8192)}},
	}
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	var n []string
	for k := range Presets() {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// FileTypes are the quantization mixes Mix understands.
var fileTypes = []string{"F32", "F16", "Q8_0", "Q4_0", "Q4_K_M", "Q5_K_M", "Q6_K"}

// Mix returns the per-tensor types llama-quantize chooses for a file type
// (its llama_tensor_get_type, without an importance matrix), so synthetic
// files have the type mix real files of that name have. layers is the
// model's block count (some tensors get more bits in some layers); with tied
// embeddings token_embd is quantized as the output matrix.
func Mix(fileType string, layers int, tied bool) (base gguf.Type, typeFor func(name string, rows, cols int) gguf.Type, err error) {
	var kquant bool
	switch strings.ToUpper(fileType) {
	case "F32":
		base = gguf.TypeF32
	case "F16":
		base = gguf.TypeF16
	case "Q8_0":
		base = gguf.TypeQ8_0
	case "Q4_0":
		base = gguf.TypeQ4_0
	case "Q4_K_M":
		base, kquant = gguf.TypeQ4_K, true
	case "Q5_K_M":
		base, kquant = gguf.TypeQ5_K, true
	case "Q6_K":
		base, kquant = gguf.TypeQ6_K, true
	default:
		return 0, nil, fmt.Errorf("unknown file type %q (supported: %s)", fileType, strings.Join(fileTypes, ", "))
	}
	if base == gguf.TypeF32 || base == gguf.TypeF16 {
		return base, nil, nil
	}
	// use_more_bits: the first and last eighth of the layers and every third
	// in between get Q6_K for attn_v and ffn_down in the _M mixes.
	moreBits := func(i int) bool {
		n := layers
		return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
	}
	typeFor = func(name string, rows, cols int) gguf.Type {
		t := base
		var layer int
		isOutput := name == "output.weight" || (tied && name == "token_embd.weight")
		switch {
		case isOutput:
			t = gguf.TypeQ6_K
			if base == gguf.TypeQ8_0 {
				t = gguf.TypeQ8_0
			}
		case kquant && base != gguf.TypeQ6_K && (strings.HasSuffix(name, "attn_v.weight") || strings.HasSuffix(name, "ffn_down.weight")):
			fmt.Sscanf(name, "blk.%d.", &layer)
			if moreBits(layer) {
				t = gguf.TypeQ6_K
			}
		}
		// Rows whose length is not a multiple of a k-quant block fall back
		// the way llama-quantize does.
		if cols%t.BlockSize() != 0 {
			switch t {
			case gguf.TypeQ4_K:
				t = gguf.TypeQ5_0
			case gguf.TypeQ5_K:
				t = gguf.TypeQ5_1
			case gguf.TypeQ6_K:
				t = gguf.TypeQ8_0
			}
			if cols%t.BlockSize() != 0 {
				t = gguf.TypeF16
			}
		}
		return t
	}
	return base, typeFor, nil
}
