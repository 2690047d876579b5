package gguf_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
)

// FuzzParse checks that Parse never panics or over-reads, that every error
// wraps ErrFormat, and that whatever it accepts is fully readable and
// re-serialises: write(parse(write(parse(data)))) == write(parse(data)).
//
// Seed corpus: testdata/fuzz/FuzzParse (regenerate with
// GGUF_WRITE_FUZZ_SEEDS=1 go test ./gguf -run TestWriteFuzzSeeds).
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		data = data[:len(data):len(data)] // reading past len would be a bug
		g, err := gguf.Parse(data)
		if err != nil {
			if g != nil {
				t.Fatal("non-nil File with an error")
			}
			if !errors.Is(err, gguf.ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		touch(t, g)

		out := rewrite(t, g)
		h, err := gguf.Parse(out)
		if err != nil {
			t.Fatalf("re-serialised file does not parse: %v", err)
		}
		if len(h.KV) != len(g.KV) || len(h.Tensors) != len(g.Tensors) {
			t.Fatalf("re-read: %d KVs %d tensors, want %d and %d", len(h.KV), len(h.Tensors), len(g.KV), len(g.Tensors))
		}
		for i, ti := range g.Tensors {
			a, _ := g.TensorData(ti)
			b, _ := h.TensorData(h.Tensors[i])
			if !bytes.Equal(a, b) {
				t.Fatalf("tensor %q: data changed by re-serialising", ti.Name)
			}
		}
		if !bytes.Equal(rewrite(t, h), out) {
			t.Fatal("writing is not a fixed point")
		}
	})
}

// fuzzSeeds are the files in testdata/fuzz/FuzzParse; valid ones are named
// valid_*.
func fuzzSeeds(t testing.TB) map[string][]byte {
	small := smallFile(t)
	seeds := map[string][]byte{
		"valid_v3":          small,
		"valid_v3_align32":  writeMem(t, []gguf.KV{{Key: "general.architecture", Value: "llama"}, {Key: "n", Value: []any{[]int32{1}}}}, sampleTensors(5)[:3]),
		"valid_v2":          handBuilt(2),
		"valid_v1":          handBuilt(1),
		"valid_vocab":       writeMem(t, vocabKVs(), nil),
		"truncated_v3":      small[:len(small)/2],
		"truncated_v1":      handBuilt(1)[:200],
		"bad_version":       (&enc{}).header(4, 0, 0).b,
		"tensor_count_huge": (&enc{}).header(3, 1<<62, 0).fill(64, 0).b,
		"kv_count_huge":     (&enc{}).header(3, 0, math.MaxUint64).b,
		"string_len_huge":   (&enc{}).header(3, 0, 1).str("k").u32(uint32(gguf.ValString)).u64(1<<63).fill(16, 'a').b,
		"array_count_huge":  (&enc{}).header(3, 0, 1).str("a").u32(uint32(gguf.ValArray)).u32(uint32(gguf.ValString)).u64(1<<62).fill(64, 0).b,
		"nested_5": (&enc{}).header(3, 0, 1).str("n").u32(uint32(gguf.ValArray)).
			u32(uint32(gguf.ValArray)).u64(1).u32(uint32(gguf.ValArray)).u64(1).u32(uint32(gguf.ValArray)).u64(1).
			u32(uint32(gguf.ValArray)).u64(1).u32(uint32(gguf.ValUint8)).u64(0).b,
		"bool_2":         (&enc{}).header(3, 0, 1).str("b").u32(uint32(gguf.ValBool)).u8(2).b,
		"overlap":        (&enc{}).header(3, 2, 0).tensor("a", gguf.TypeF32, 0, 16).tensor("b", gguf.TypeF32, 32, 8).pad(32).fill(128, 0).b,
		"misaligned":     (&enc{}).header(3, 1, 0).tensor("t", gguf.TypeF32, 4, 4).pad(32).fill(64, 0).b,
		"dims_overflow":  (&enc{}).header(3, 1, 0).tensor("t", gguf.TypeF32, 0, 1<<32, 1<<32, 1<<32).pad(32).fill(32, 0).b,
		"type_99":        (&enc{}).header(3, 1, 0).tensor("t", 99, 0, 4).pad(32).fill(16, 0).b,
		"alignment_3":    (&enc{}).header(3, 0, 1).kvU32("general.alignment", 3).b,
		"offset_too_far": (&enc{}).header(3, 1, 0).tensor("t", gguf.TypeF32, 1<<40, 4).pad(32).fill(16, 0).b,
	}
	return seeds
}

// handBuilt is a small valid file in the v1 (32-bit counts) or v2 layout.
func handBuilt(version uint32) []byte {
	e := &enc{v1: version == 1}
	e.header(version, 3, 5)
	e.kvStr("general.architecture", "llama")
	e.kvU32("llama.block_count", 1)
	e.str("tokenizer.ggml.tokens").u32(uint32(gguf.ValArray)).u32(uint32(gguf.ValString)).n(3).str("<unk>").str("▁a").str("b")
	e.str("tokenizer.ggml.scores").u32(uint32(gguf.ValArray)).u32(uint32(gguf.ValFloat32)).n(3).
		u32(math.Float32bits(0)).u32(math.Float32bits(-1)).u32(math.Float32bits(-2))
	e.str("nested").u32(uint32(gguf.ValArray)).u32(uint32(gguf.ValArray)).n(2).
		u32(uint32(gguf.ValInt32)).n(1).u32(7).u32(uint32(gguf.ValBool)).n(2).u8(1).u8(0)
	e.tensor("token_embd.weight", gguf.TypeF32, 0, 4, 3) // 48 bytes
	e.tensor("norm.weight", gguf.TypeF32, 64, 4)         // 16 bytes
	e.tensor("q.weight", gguf.TypeQ8_0, 96, 32)          // 34 bytes
	e.pad(32)
	start := len(e.b)
	for i, size := range []int{48, 16, 34} {
		e.fill([]int{0, 64, 96}[i]+start-len(e.b), 0)
		for j := range size {
			e.u8(byte(i*31 + j))
		}
	}
	return e.pad(32).b
}

func vocabKVs() []gguf.KV {
	toks := []string{"<unk>", "<s>", "</s>", "<0x0A>", "▁the", "▁a", "é", "🦙"}
	scores := make([]float32, len(toks))
	types := make([]int32, len(toks))
	for i := range toks {
		scores[i] = -float32(i)
		types[i] = 1
	}
	return []gguf.KV{
		{Key: "general.architecture", Value: "llama"},
		{Key: "tokenizer.ggml.model", Value: "llama"},
		{Key: "tokenizer.ggml.tokens", Value: toks},
		{Key: "tokenizer.ggml.scores", Value: scores},
		{Key: "tokenizer.ggml.token_type", Value: types},
		{Key: "tokenizer.ggml.merges", Value: []string{"▁ t", "h e"}},
		{Key: "tokenizer.ggml.bos_token_id", Value: uint32(1)},
		{Key: "tokenizer.ggml.add_bos_token", Value: true},
	}
}

const seedDir = "testdata/fuzz/FuzzParse"

// TestWriteFuzzSeeds regenerates the seed corpus when GGUF_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("GGUF_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set GGUF_WRITE_FUZZ_SEEDS=1 to regenerate " + seedDir)
	}
	if err := os.MkdirAll(seedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range fuzzSeeds(t) {
		body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n"
		if err := os.WriteFile(filepath.Join(seedDir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFuzzSeeds checks the committed corpus: it matches the generator, each
// file is under 20 KB, and the valid_* seeds parse (so the fuzzer starts
// from real structure).
func TestFuzzSeeds(t *testing.T) {
	seeds := fuzzSeeds(t)
	for name, data := range seeds {
		path := filepath.Join(seedDir, name)
		body, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (regenerate with GGUF_WRITE_FUZZ_SEEDS=1)", err)
			continue
		}
		if len(body) >= 20<<10 {
			t.Errorf("%s: %d bytes", name, len(body))
		}
		lit, ok := strings.CutPrefix(string(body), "go test fuzz v1\n[]byte(")
		lit, ok2 := strings.CutSuffix(lit, ")\n")
		got, err := strconv.Unquote(lit)
		if !ok || !ok2 || err != nil || got != string(data) {
			t.Errorf("%s: does not match the generator (regenerate with GGUF_WRITE_FUZZ_SEEDS=1)", name)
		}
		_, err = gguf.Parse(data)
		if valid := strings.HasPrefix(name, "valid_"); valid != (err == nil) {
			t.Errorf("%s: Parse error %v", name, err)
		}
	}
	if v1, err := gguf.Parse(seeds["valid_v1"]); err == nil {
		if v1.Version != 1 {
			t.Errorf("valid_v1 is version %d", v1.Version)
		}
		if toks, _ := v1.Strings("tokenizer.ggml.tokens"); len(toks) != 3 || toks[1] != "▁a" {
			t.Errorf("valid_v1 tokens %q", toks)
		}
		d, _ := v1.TensorData(v1.Tensors[2])
		if len(d) != 34 || d[0] != 62 {
			t.Errorf("valid_v1 q.weight %v", d)
		}
	}
}
