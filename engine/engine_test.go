package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-llm/tandem/internal/testdata"
)

func loadStories(t *testing.T, o Options) *Engine {
	t.Helper()
	e, err := Load(testdata.SharedFile(t, "models/stories260K/stories260K.gguf"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// goldenGreedy is the --temperature 0 generation of llama2.c run.c in
// golden_outputs_llama2c.txt: 200 tokens after BOS.
func goldenGreedy(t *testing.T) string {
	b, err := os.ReadFile(testdata.SharedFile(t, "models/stories260K/golden_outputs_llama2c.txt"))
	if err != nil {
		t.Fatal(err)
	}
	const hdr = "=== OPTIONS: --temperature 0 --sequence_length 200\n"
	s := string(b)
	i := strings.Index(s, hdr)
	if i < 0 {
		t.Fatal("greedy section not found in golden_outputs_llama2c.txt")
	}
	s = s[i+len(hdr):]
	if j := strings.Index(s, "\n\n==="); j >= 0 {
		s = s[:j]
	}
	return strings.TrimRight(s, "\n")
}

func generate(t *testing.T, e *Engine, prompt string, o GenerateOptions) Result {
	t.Helper()
	s, err := e.NewSession(0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	toks := e.Tokenize(prompt, true, false)
	if err := s.Prefill(context.Background(), toks); err != nil {
		t.Fatal(err)
	}
	var streamed strings.Builder
	res, err := s.Generate(context.Background(), o, func(tk Token) error {
		streamed.WriteString(tk.Text)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if streamed.String() != res.Text {
		t.Errorf("streamed text %q differs from the result %q", streamed.String(), res.Text)
	}
	return res
}

// TestGoldenGreedy: stories260K, empty prompt (BOS), temperature 0, 200
// tokens reproduce llama2.c exactly, from the GGUF v3 file and the v1 file.
func TestGoldenGreedy(t *testing.T) {
	want := goldenGreedy(t)
	for _, file := range []string{"stories260K.gguf", "stories260K.ggufv1.gguf"} {
		t.Run(file, func(t *testing.T) {
			e, err := Load(testdata.SharedFile(t, filepath.Join("models/stories260K", file)), Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			res := generate(t, e, "", GenerateOptions{MaxTokens: 200})
			if len(res.Tokens) != 200 || res.StopReason != StopLength {
				t.Errorf("generated %d tokens, stop %q; want 200, %q", len(res.Tokens), res.StopReason, StopLength)
			}
			if got := res.Text; got != want {
				t.Errorf("greedy output differs from llama2.c\n got: %q\nwant: %q", got, want)
			}
		})
	}
}

// TestParityModels: every model in ../shared/models/parity loads and
// generates greedily.
func TestParityModels(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdata.SharedDir(t), "models/parity/*.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 14 {
		t.Fatalf("found %d parity models, want 14", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			e, err := Load(f, Options{Threads: 2, Context: 128})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			res := generate(t, e, "Once upon a time", GenerateOptions{MaxTokens: 48})
			if len(res.Tokens) == 0 {
				t.Fatalf("no tokens generated (stop %q)", res.StopReason)
			}
			t.Logf("%d tokens, stop %s: %.60q", len(res.Tokens), res.StopReason, res.Text)
		})
	}
}

func TestSeedDeterminism(t *testing.T) {
	e := loadStories(t, Options{Threads: 2})
	o := GenerateOptions{MaxTokens: 60, Sampler: SamplerOptions{Temperature: 1, TopP: 0.95, TopK: 40, Seed: 42}}
	a := generate(t, e, "Once upon a time", o)
	b := generate(t, e, "Once upon a time", o)
	if a.Text != b.Text {
		t.Errorf("same seed gave different text:\n%q\n%q", a.Text, b.Text)
	}
	o.Sampler.Seed = 43
	c := generate(t, e, "Once upon a time", o)
	if c.Text == a.Text {
		t.Errorf("seeds 42 and 43 gave the same 60 tokens: %q", a.Text)
	}
}

func TestStopString(t *testing.T) {
	e := loadStories(t, Options{Threads: 1})
	res := generate(t, e, "", GenerateOptions{MaxTokens: 200, Stop: []string{"park"}})
	if res.StopReason != StopString {
		t.Fatalf("stop reason %q, want %q (text %q)", res.StopReason, StopString, res.Text)
	}
	if strings.Contains(res.Text, "park") || !strings.HasSuffix(res.Text, "in the ") {
		t.Errorf("text %q should end just before the stop string", res.Text)
	}
	// After a prompt, the first generated word keeps its leading space.
	res = generate(t, e, "Once upon a time, there was a little girl", GenerateOptions{MaxTokens: 2})
	if res.Text != " named Lily" {
		t.Errorf("continuation %q, want \" named Lily\"", res.Text)
	}
}

func TestContextOverflow(t *testing.T) {
	e := loadStories(t, Options{Threads: 1})
	s, err := e.NewSession(8)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	toks := e.Tokenize("Once upon a time there was a little girl named Lily", true, false)
	if err := s.Prefill(context.Background(), toks); !errors.Is(err, ErrContextOverflow) {
		t.Fatalf("prefill of %d tokens into a context of 8: err %v, want ErrContextOverflow", len(toks), err)
	}
	if err := s.Prefill(context.Background(), toks[:4]); err != nil {
		t.Fatal(err)
	}
	res, err := s.Generate(context.Background(), GenerateOptions{MaxTokens: 100, Sampler: SamplerOptions{}}, nil)
	if !errors.Is(err, ErrContextOverflow) || res.StopReason != StopContext {
		t.Fatalf("generation past the context: err %v, stop %q", err, res.StopReason)
	}
	if len(res.Tokens) != 5 {
		t.Errorf("generated %d tokens in a context of 8 after 4 prompt tokens, want 5", len(res.Tokens))
	}
	if _, err := e.NewSession(100000); !errors.Is(err, ErrContextOverflow) {
		t.Errorf("session larger than the model's context: err %v", err)
	}
}

func TestCancel(t *testing.T) {
	e := loadStories(t, Options{Threads: 1})
	s, err := e.NewSession(0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Prefill(context.Background(), e.Tokenize("", true, false)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res, err := s.Generate(ctx, GenerateOptions{MaxTokens: 300}, func(Token) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || res.StopReason != StopCancelled || len(res.Tokens) != 10 {
		t.Errorf("err %v, stop %q, %d tokens; want context.Canceled, %q, 10", err, res.StopReason, len(res.Tokens), StopCancelled)
	}
}

func TestMemLimit(t *testing.T) {
	path := testdata.SharedFile(t, "models/stories260K/stories260K.gguf")
	_, err := Load(path, Options{Threads: 1, MemLimit: 21 << 19})
	if !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("err %v, want ErrMemoryLimit", err)
	}
	msg := err.Error()
	for _, want := range []string{"weights", "KV cache", "limit is 10.5 MiB", "would fit (-c "} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	// The suggested context must really fit.
	var ctx int
	if _, err := fmt.Sscanf(msg[strings.Index(msg, "(-c ")+4:], "%d", &ctx); err != nil {
		t.Fatal(err)
	}
	e, err := Load(path, Options{Threads: 1, MemLimit: 21 << 19, Context: ctx})
	if err != nil {
		t.Fatalf("suggested context %d: %v", ctx, err)
	}
	e.Close()
	if _, err := Load(path, Options{Threads: 1, MemLimit: 1 << 20}); err == nil || !strings.Contains(err.Error(), "not even a 16-token context fits") {
		t.Errorf("1 MiB limit: err %v", err)
	}
}
