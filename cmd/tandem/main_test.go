package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-llm/tandem/internal/testdata"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	if err != nil {
		code = exitCode(err)
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

func TestRunJSON(t *testing.T) {
	model := testdata.SharedFile(t, "models/stories260K/stories260K.gguf")
	out, stderr, code := runCLI(t, "run", "-m", model, "--temp", "0", "-n", "20", "-t", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	for _, k := range []string{"text", "prompt_tokens", "tokens", "n_prompt", "n_gen", "ttft_ms", "prefill_tok_s",
		"decode_tok_s", "peak_rss_bytes", "stop_reason"} {
		if _, ok := st[k]; !ok {
			t.Errorf("--json output lacks %q", k)
		}
	}
	if st["n_gen"].(float64) != 20 || st["n_prompt"].(float64) != 1 || st["stop_reason"] != "length" {
		t.Errorf("n_gen %v, n_prompt %v, stop %v; want 20, 1 (BOS), length", st["n_gen"], st["n_prompt"], st["stop_reason"])
	}
	if !strings.HasPrefix(st["text"].(string), "Once upon a time, there was a little girl named Lily") {
		t.Errorf("greedy text %q", st["text"])
	}
	if st["peak_rss_bytes"].(float64) <= 0 {
		t.Errorf("peak_rss_bytes %v", st["peak_rss_bytes"])
	}
}

func TestRunStreams(t *testing.T) {
	model := testdata.SharedFile(t, "models/stories260K/stories260K.gguf")
	prompt := filepath.Join(t.TempDir(), "prompt.txt")
	os.WriteFile(prompt, []byte("Lily and Ben"), 0o644)
	out, stderr, code := runCLI(t, "run", "-m", model, "-f", prompt, "-n", "16", "--seed", "1", "--top-k", "20")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(out, "Lily and Ben") || len(out) < len("Lily and Ben")+16 {
		t.Errorf("stdout %q should be the prompt followed by the generation", out)
	}
	if !strings.Contains(stderr, "tok/s") {
		t.Errorf("stats missing from stderr: %q", stderr)
	}
}

func TestTokenize(t *testing.T) {
	vocab := testdata.SharedFile(t, "tokenizer/ggml-vocab-llama-bpe.gguf")
	out, stderr, code := runCLI(t, "tokenize", "-m", vocab, "Hello world")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.TrimSpace(out) != "9906 1917" {
		t.Errorf("tokenize: %q, want \"9906 1917\"", out)
	}
	out, _, _ = runCLI(t, "tokenize", "-m", vocab, "--bos", "Hello world")
	if strings.TrimSpace(out) != "128000 9906 1917" {
		t.Errorf("tokenize --bos: %q", out)
	}
}

func TestInspect(t *testing.T) {
	model := testdata.SharedFile(t, "models/parity/synth-qwen3.gguf")
	out, stderr, code := runCLI(t, "inspect", model, "-c", "256")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"qwen3", "head size 32", "F32×46", "memory at context 256", "parameters", "neox"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
}

func TestBadInvocations(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.gguf")
	os.WriteFile(junk, []byte("GGUF\x03\x00\x00\x00garbage"), 0o644)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "no command"},
		{[]string{"fly"}, 2, "unknown command"},
		{[]string{"run"}, 2, "-m MODEL.gguf is required"},
		{[]string{"run", "-m", filepath.Join(dir, "missing.gguf")}, 1, "no such file"},
		{[]string{"run", "-m", junk}, 1, "invalid GGUF"},
		{[]string{"run", "-m", junk, "--mem-limit", "lots"}, 2, "invalid size"},
		{[]string{"run", "-m", junk, "-n", "x"}, 2, "invalid value"},
		{[]string{"tokenize"}, 2, "-m MODEL.gguf is required"},
		{[]string{"inspect"}, 2, "exactly one"},
		{[]string{"inspect", junk}, 1, "invalid GGUF"},
	}
	for _, c := range cases {
		_, stderr, code := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("tandem %v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, stderr, c.code, c.msg)
		}
	}
}

func TestRunRefusesOverMemLimit(t *testing.T) {
	model := testdata.SharedFile(t, "models/stories260K/stories260K.gguf")
	_, stderr, code := runCLI(t, "run", "-m", model, "--mem-limit", "10.5M", "-n", "4")
	if code != 1 || !strings.Contains(stderr, "memory limit exceeded") || !strings.Contains(stderr, "would fit") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
