package kernels

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
)

// sharedDir returns the shared data directory beside the repository
// (../shared from the repo root), skipping the test when it is absent unless
// TANDEM_REQUIRE_SHARED=1, which makes its absence a failure.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared")
	if _, err := os.Stat(filepath.Join(dir, "models")); err != nil {
		if os.Getenv("TANDEM_REQUIRE_SHARED") == "1" {
			t.Fatalf("shared dir %s is required (TANDEM_REQUIRE_SHARED=1): %v", dir, err)
		}
		t.Skipf("shared dir %s not found (%v); set TANDEM_REQUIRE_SHARED=1 to make this a failure", dir, err)
	}
	return dir
}

// TestLlamaQuantizeParity re-quantizes the source tensors of files that
// llama-quantize wrote (no imatrix) and compares our bytes with llama.cpp's,
// block by block.
func TestLlamaQuantizeParity(t *testing.T) {
	dir := sharedDir(t)
	parity := filepath.Join(dir, "models", "parity")
	// stories260K's quantized files were made from the F32 original, not
	// from stories260K-F16.gguf (see the parity README).
	stories := filepath.Join(dir, "models", "stories260K", "stories260K.gguf")
	synth := filepath.Join(parity, "synth-llamak-F16.gguf")
	cases := []struct{ src, quant string }{
		{synth, "synth-llamak-Q4_K_M.gguf"},
		{synth, "synth-llamak-Q5_K_M.gguf"},
		{synth, "synth-llamak-Q6_K.gguf"},
		{stories, "stories260K-Q8_0.gguf"},
		{stories, "stories260K-Q4_0.gguf"},
		{stories, "stories260K-Q5_1.gguf"},
		{stories, "stories260K-Q4_K_M.gguf"},
	}
	for _, c := range cases {
		t.Run(c.quant, func(t *testing.T) {
			src := openGGUF(t, c.src)
			dst := openGGUF(t, filepath.Join(parity, c.quant))
			type tally struct{ tensors, blocks, bad int }
			byType := map[gguf.Type]*tally{}
			for _, qi := range dst.Tensors {
				if qi.Type == gguf.TypeF32 || qi.Type == gguf.TypeF16 {
					continue
				}
				si, ok := src.Tensor(qi.Name)
				if !ok {
					t.Fatalf("%s: no source tensor", qi.Name)
				}
				if si.NumElements() != qi.NumElements() {
					t.Fatalf("%s: source has %d values, quantized %d", qi.Name, si.NumElements(), qi.NumElements())
				}
				sb, err := src.TensorData(si)
				if err != nil {
					t.Fatal(err)
				}
				want, err := dst.TensorData(qi)
				if err != nil {
					t.Fatal(err)
				}
				f := make([]float32, si.NumElements())
				if err := Dequantize(si.Type, sb, f); err != nil {
					t.Fatal(err)
				}
				got := make([]byte, len(want))
				if err := Quantize(qi.Type, f, got); err != nil {
					t.Fatal(err)
				}
				tl := byType[qi.Type]
				if tl == nil {
					tl = &tally{}
					byType[qi.Type] = tl
				}
				tl.tensors++
				bb := qi.Type.BlockBytes()
				bad := 0
				for b := 0; b < len(want); b += bb {
					if !bytes.Equal(got[b:b+bb], want[b:b+bb]) {
						if bad == 0 {
							t.Errorf("%s (%v): block %d differs:\n got %x\nwant %x", qi.Name, qi.Type, b/bb, got[b:b+bb], want[b:b+bb])
						}
						bad++
					}
				}
				tl.blocks += len(want) / bb
				tl.bad += bad
			}
			if len(byType) == 0 {
				t.Fatal("no quantized tensors found")
			}
			for ty, tl := range byType {
				t.Logf("%v: %d tensors, %d blocks, %d mismatched", ty, tl.tensors, tl.blocks, tl.bad)
				if tl.bad != 0 {
					t.Errorf("%v: %d of %d blocks differ from llama.cpp", ty, tl.bad, tl.blocks)
				}
			}
		})
	}
}

func openGGUF(t *testing.T, path string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
