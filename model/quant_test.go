package model

import (
	"math"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/synth"
)

// TestQuantizedForward runs the same synthetic model (same random values)
// with its matrices in each tensor type and compares the logits with the F32
// model's: top-1 agreement over the positions and the largest logit
// difference relative to the logit range. Bounds are loose enough for the
// type's precision and tight enough to catch a wrong block layout, which
// gives near-random logits.
func TestQuantizedForward(t *testing.T) {
	spec := synth.Spec{Arch: "llama", Dim: 256, Layers: 2, Heads: 4, KVHeads: 2, FFN: 512, Context: 64,
		Seed: 3, VocabSize: 512}
	f32 := writeSynth(t, spec)
	toks := testTokens(32, 512)
	want := engineLogits(t, f32, toks, 2)

	cases := []struct {
		typ      gguf.Type
		minTop1  float64 // fraction of positions whose argmax matches F32
		maxRelDf float64 // max |Δlogit| / max |logit|
	}{
		{gguf.TypeF16, 0.9, 0.005},
		{gguf.TypeBF16, 0.8, 0.05},
		{gguf.TypeQ8_0, 0.8, 0.05},
		{gguf.TypeQ8_K, 0.8, 0.05},
		{gguf.TypeQ6_K, 0.8, 0.1},
		{gguf.TypeQ5_0, 0.6, 0.2},
		{gguf.TypeQ5_1, 0.6, 0.2},
		{gguf.TypeQ5_K, 0.6, 0.2},
		{gguf.TypeQ4_0, 0.5, 0.4},
		{gguf.TypeQ4_1, 0.5, 0.4},
		{gguf.TypeQ4_K, 0.5, 0.4},
	}
	for _, c := range cases {
		t.Run(c.typ.String(), func(t *testing.T) {
			s := spec
			s.Type = c.typ
			m := writeSynth(t, s)
			if m.Layers[0].Q.Type != c.typ {
				t.Fatalf("attn_q has type %s, want %s", m.Layers[0].Q.Type, c.typ)
			}
			got := engineLogits(t, m, toks, 2)
			agree, maxDiff, scale := 0, 0.0, 0.0
			for p := range want {
				if argmax32(want[p]) == argmax32(got[p]) {
					agree++
				}
				for i, v := range want[p] {
					maxDiff = math.Max(maxDiff, math.Abs(float64(v-got[p][i])))
					scale = math.Max(scale, math.Abs(float64(v)))
				}
			}
			top1 := float64(agree) / float64(len(want))
			rel := maxDiff / scale
			t.Logf("%s: top-1 agreement %d/%d (%.0f%%), max |Δlogit| %.4f (%.2f%% of max |logit| %.2f)",
				c.typ, agree, len(want), 100*top1, maxDiff, 100*rel, scale)
			if top1 < c.minTop1 || rel > c.maxRelDf {
				t.Errorf("%s: top-1 %.2f (want ≥ %.2f), relative max diff %.4f (want ≤ %.4f)", c.typ, top1, c.minTop1, rel, c.maxRelDf)
			}
		})
	}
}
