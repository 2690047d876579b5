package synth

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/internal/testdata"
)

// TestLlama3Factors: the parity model's rope_freqs.weight was computed by
// llama.cpp's converter for factor 32, low 1, high 4, original context 64.
func TestLlama3Factors(t *testing.T) {
	got := llama3Factors(16, 500000, 32, 1, 4, 64)
	want := []float32{1, 2.8886335, 32, 32, 32, 32, 32, 32}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("factors %v, want %v", got, want)
		}
	}
}

// TestMixMatchesLlamaQuantize: Mix picks the tensor types llama-quantize
// wrote into the parity files.
func TestMixMatchesLlamaQuantize(t *testing.T) {
	for _, c := range []struct {
		file, ftype string
		tied        bool
	}{
		{"synth-llamak-Q4_K_M.gguf", "Q4_K_M", true},
		{"synth-llamak-Q5_K_M.gguf", "Q5_K_M", true},
		{"synth-llamak-Q6_K.gguf", "Q6_K", true},
		{"stories260K-Q4_K_M.gguf", "Q4_K_M", false},
		{"stories260K-Q4_0.gguf", "Q4_0", false},
		{"stories260K-Q8_0.gguf", "Q8_0", false},
	} {
		f, err := gguf.Open(testdata.SharedFile(t, filepath.Join("models/parity", c.file)))
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := f.Uint("llama.block_count")
		_, typeFor, err := Mix(c.ftype, int(layers), c.tied)
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range f.Tensors {
			if len(ti.Dims) != 2 {
				continue
			}
			if got := typeFor(ti.Name, int(ti.Dims[1]), int(ti.Dims[0])); got != ti.Type {
				t.Errorf("%s %s: Mix chose %s, llama-quantize %s", c.file, ti.Name, got, ti.Type)
			}
		}
		f.Close()
	}
}
