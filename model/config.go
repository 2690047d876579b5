package model

import (
	"fmt"
	"math"

	"github.com/tandem-llm/tandem/gguf"
)

// RopeStyle says which dimensions RoPE rotates together.
type RopeStyle int

const (
	// RopeNormal rotates adjacent pairs (x[2i], x[2i+1]), as Meta's Llama.
	RopeNormal RopeStyle = iota
	// RopeNeoX rotates (x[i], x[i+d/2]), as GPT-NeoX and Qwen.
	RopeNeoX
)

func (s RopeStyle) String() string {
	if s == RopeNeoX {
		return "neox"
	}
	return "normal"
}

// Config holds a decoder-only transformer's hyperparameters, read from
// "{arch}.*" metadata.
type Config struct {
	Arch       string
	Name       string
	Dim        int // embedding length
	Layers     int
	Heads      int
	KVHeads    int
	HeadDim    int // key_length; dim/heads unless given
	ValueDim   int // value_length
	FFN        int // feed_forward_length
	Vocab      int
	ContextLen int // training context
	NormEps    float32

	Rope RopeConfig
}

// RopeConfig describes rotary position embedding and its context scaling.
type RopeConfig struct {
	Style RopeStyle
	Dims  int     // rotated dimensions per head
	Base  float64 // freq_base
	// FreqScale is 1/factor for linear and YaRN scaling, 1 otherwise.
	FreqScale float64
	// YaRN parameters; ExtFactor 0 disables the YaRN ramp.
	ExtFactor, AttnFactor, BetaFast, BetaSlow float64
	OrigContext                               int
	// FreqFactors divide the per-pair frequencies (Llama 3's rope_freqs.weight).
	FreqFactors []float32
}

// readConfig reads the common hyperparameters of a llama-family file.
func readConfig(f *gguf.File, arch string) (Config, error) {
	c := Config{Arch: arch}
	c.Name, _ = f.String("general.name")
	var err error
	geti := func(key string, def int) int {
		full := arch + "." + key
		v, ok := f.Uint(full)
		if !ok {
			if _, present := f.Get(full); present && err == nil {
				err = fmt.Errorf("metadata %s has type %T, want an unsigned integer", full, mustGet(f, full))
			}
			if def < 0 && err == nil {
				err = fmt.Errorf("metadata %s is missing", full)
			}
			return def
		}
		if v > 1<<24 {
			if err == nil {
				err = fmt.Errorf("metadata %s = %d is implausibly large", full, v)
			}
			return def
		}
		return int(v)
	}
	getf := func(key string, def float64) float64 {
		full := arch + "." + key
		v, ok := f.Float(full)
		if !ok {
			if _, present := f.Get(full); present && err == nil {
				err = fmt.Errorf("metadata %s has type %T, want a float", full, mustGet(f, full))
			}
			return def
		}
		return v
	}
	c.Dim = geti("embedding_length", -1)
	c.Layers = geti("block_count", -1)
	c.Heads = geti("attention.head_count", -1)
	c.KVHeads = geti("attention.head_count_kv", c.Heads)
	c.FFN = geti("feed_forward_length", -1)
	c.ContextLen = geti("context_length", 2048)
	c.Vocab = geti("vocab_size", 0)
	c.NormEps = float32(getf("attention.layer_norm_rms_epsilon", 1e-5))
	if err != nil {
		return c, err
	}
	if c.Dim <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.KVHeads <= 0 || c.FFN <= 0 {
		return c, fmt.Errorf("bad hyperparameters: dim %d, layers %d, heads %d, kv heads %d, ffn %d",
			c.Dim, c.Layers, c.Heads, c.KVHeads, c.FFN)
	}
	if c.Heads%c.KVHeads != 0 {
		return c, fmt.Errorf("head_count %d is not a multiple of head_count_kv %d", c.Heads, c.KVHeads)
	}
	c.HeadDim = geti("attention.key_length", c.Dim/c.Heads)
	c.ValueDim = geti("attention.value_length", c.HeadDim)
	if c.HeadDim <= 0 || c.HeadDim%2 != 0 || c.ValueDim != c.HeadDim {
		return c, fmt.Errorf("unsupported head size: key_length %d, value_length %d (need equal and even)", c.HeadDim, c.ValueDim)
	}

	r := &c.Rope
	r.Dims = geti("rope.dimension_count", c.HeadDim)
	r.Base = getf("rope.freq_base", 10000)
	r.FreqScale = 1
	r.AttnFactor = 1
	r.BetaFast, r.BetaSlow = 32, 1
	r.OrigContext = c.ContextLen
	if err != nil {
		return c, err
	}
	if r.Dims <= 0 || r.Dims > c.HeadDim || r.Dims%2 != 0 || r.Base <= 0 || math.IsNaN(r.Base) {
		return c, fmt.Errorf("bad rope parameters: dimension_count %d (head size %d), freq_base %g", r.Dims, c.HeadDim, r.Base)
	}
	scaling, _ := f.String(arch + ".rope.scaling.type")
	factor := getf("rope.scaling.factor", 0)
	if factor == 0 {
		factor = getf("rope.scale_linear", 0) // older files
		if factor != 0 && scaling == "" {
			scaling = "linear"
		}
	}
	switch scaling {
	case "", "none":
	case "linear", "yarn":
		if factor <= 0 || math.IsNaN(factor) || math.IsInf(factor, 0) {
			return c, fmt.Errorf("rope scaling %q needs a positive %s.rope.scaling.factor, got %g", scaling, arch, factor)
		}
		r.FreqScale = 1 / factor
		r.OrigContext = geti("rope.scaling.original_context_length", c.ContextLen)
		if scaling == "yarn" {
			r.ExtFactor = getf("rope.scaling.yarn_ext_factor", 1)
			r.AttnFactor = getf("rope.scaling.yarn_attn_factor", 1)
			r.BetaFast = getf("rope.scaling.yarn_beta_fast", 32)
			r.BetaSlow = getf("rope.scaling.yarn_beta_slow", 1)
		}
	default:
		return c, fmt.Errorf("unsupported rope scaling type %q (supported: none, linear, yarn; Llama 3 scaling comes as rope_freqs.weight)", scaling)
	}
	return c, err
}

func mustGet(f *gguf.File, key string) any { v, _ := f.Get(key); return v }
