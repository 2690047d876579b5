package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tandem-llm/tandem/internal/testdata"
)

// TestMatchesLlamaCpp compares greedy generations with llama.cpp's on the
// same files. testdata/llamacpp_greedy.jsonl was produced by llama.cpp
// (node-llama-cpp 3.21.1, CPU) with
//
//	for m in ../shared/models/stories260K/stories260K.gguf ../shared/models/parity/*.gguf; do
//	  node bench/peer/llamacpp.mjs greedy $m 64 "Once upon a time" "" "Lily and Ben went to the park. They saw a big"
//	done > engine/testdata/llamacpp_greedy.jsonl
func TestMatchesLlamaCpp(t *testing.T) {
	shared := testdata.SharedDir(t)
	f, err := os.Open("testdata/llamacpp_greedy.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	engines := map[string]*Engine{}
	defer func() {
		for _, e := range engines {
			e.Close()
		}
	}()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	total, exact := 0, 0
	for sc.Scan() {
		var ref struct {
			Model        string
			Prompt       string
			PromptTokens []int32 `json:"prompt_tokens"`
			Tokens       []int32
		}
		if err := json.Unmarshal(sc.Bytes(), &ref); err != nil {
			t.Fatal(err)
		}
		e := engines[ref.Model]
		if e == nil {
			dir := "models/parity"
			if ref.Model == "stories260K.gguf" {
				dir = "models/stories260K"
			}
			if e, err = Load(filepath.Join(shared, dir, ref.Model), Options{Threads: 2, Context: 256}); err != nil {
				t.Fatal(err)
			}
			engines[ref.Model] = e
		}
		total++
		prompt := e.Tokenize(ref.Prompt, true, false)
		if !slices.Equal(prompt, ref.PromptTokens) {
			t.Errorf("%s %q: prompt tokens %v, llama.cpp %v", ref.Model, ref.Prompt, prompt, ref.PromptTokens)
			continue
		}
		s, err := e.NewSession(0)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Prefill(context.Background(), prompt); err != nil {
			t.Fatal(err)
		}
		res, err := s.Generate(context.Background(), GenerateOptions{MaxTokens: len(ref.Tokens)}, nil)
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(res.Tokens, ref.Tokens) {
			exact++
			continue
		}
		i := 0
		for i < min(len(res.Tokens), len(ref.Tokens)) && res.Tokens[i] == ref.Tokens[i] {
			i++
		}
		report := t.Logf
		if i < strictPrefix(ref.Model) {
			report = t.Errorf
		}
		report("%s %q: first difference at generated token %d of %d (ours %v, llama.cpp %v)",
			ref.Model, ref.Prompt, i, len(ref.Tokens), res.Tokens[i:min(i+4, len(res.Tokens))], ref.Tokens[i:min(i+4, len(ref.Tokens))])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d/%d generations identical to llama.cpp token for token", exact, total)
	if total < 45 || exact < 33 {
		t.Errorf("%d/%d identical generations, want ≥ 33 of 45", exact, total)
	}
}

// strictPrefix is how many generated tokens must match llama.cpp exactly.
// Models whose weights are F32, F16 or Q8_0 must agree for 32 tokens: only
// float summation order differs, which can flip a near-tie later on. The
// other quantized files are reported, not required: both engines quantize
// activations to 8 bits the same way, but llama.cpp keeps the KV cache and
// attention in F16 and sums in another order, and the synthetic models'
// random logits have near-ties that such differences flip.
func strictPrefix(model string) int {
	for _, m := range []string{"stories260K.gguf", "stories260K-F16.gguf", "stories260K-Q8_0.gguf", "stories260K-Q6_K.gguf",
		"synth-llama.gguf", "synth-qwen2.gguf", "synth-qwen3.gguf", "synth-llama3rope.gguf", "synth-llamak-F16.gguf"} {
		if m == model {
			return 32
		}
	}
	return 0
}
