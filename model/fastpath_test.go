package model

import (
	"math"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/parallel"
	"github.com/tandem-llm/tandem/synth"
)

// TestFastKernelsMatchReference: on synthetic models of each weight type,
// the CPU's fast dot products and the reference ones (ggml's generic C
// semantics) fed the same tokens pick the same top-1 token at ≥ 99% of all
// positions (≥ 95% for each type); the largest logit difference is
// reported. Where the fast kernels sum in another order, a last-bit
// difference can flip the rounding of an 8-bit activation quantum, and
// random-weight models amplify such jumps, so a few near-ties differ.
func TestFastKernelsMatchReference(t *testing.T) {
	total, agreed := 0, 0
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ5_0, gguf.TypeQ4_1, gguf.TypeQ5_1,
		gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeF16, gguf.TypeBF16, gguf.TypeF32} {
		t.Run(typ.String(), func(t *testing.T) {
			m := writeSynth(t, synth.Spec{Arch: "llama", Dim: 256, Layers: 2, Heads: 4, KVHeads: 2, FFN: 512, Context: 128,
				Seed: 11, VocabSize: 512, Type: typ})
			pool := parallel.New(2)
			defer pool.Close()
			fast, err := m.NewState(128, pool)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := m.NewState(128, pool)
			if err != nil {
				t.Fatal(err)
			}
			ref.refKernels = true
			tok := []int32{1}
			agree, maxDiff := 0, 0.0
			const n = 100
			for pos := 0; pos < n; pos++ {
				if err := fast.Forward(tok, pos, true); err != nil {
					t.Fatal(err)
				}
				if err := ref.Forward(tok, pos, true); err != nil {
					t.Fatal(err)
				}
				if argmax32(fast.Logits) == argmax32(ref.Logits) {
					agree++
				}
				for j := range ref.Logits {
					maxDiff = math.Max(maxDiff, math.Abs(float64(fast.Logits[j]-ref.Logits[j])))
				}
				tok[0] = int32(argmax32(ref.Logits)) // both follow the reference's greedy sequence
			}
			t.Logf("%s: top-1 agrees at %d/%d positions, max |Δlogit| %.2e", typ, agree, n, maxDiff)
			if agree < 95 {
				t.Errorf("%s: top-1 agrees at only %d/%d positions", typ, agree, n)
			}
			total, agreed = total+n, agreed+agree
		})
	}
	t.Logf("all types: top-1 agrees at %d/%d positions", agreed, total)
	if agreed*100 < 99*total {
		t.Errorf("top-1 agrees at %d/%d positions, want ≥ 99%%", agreed, total)
	}
}
