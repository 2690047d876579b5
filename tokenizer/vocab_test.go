package tokenizer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/internal/testdata"
)

// loadVocabFile opens one of llama.cpp's vocab-only GGUF files in ../shared.
func loadVocabFile(t testing.TB, name string) *Tokenizer {
	t.Helper()
	path := testdata.SharedFile(t, filepath.Join("tokenizer", name))
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return tok
}

// TestVocabCases runs llama.cpp's tokenizer test cases: each .inp holds cases
// separated by "\n__ggml_vocab_test__\n", the matching .out the expected ids
// (no BOS, special tokens not parsed), one line per case.
func TestVocabCases(t *testing.T) {
	dir := filepath.Join(testdata.SharedDir(t), "tokenizer")
	inps, err := filepath.Glob(filepath.Join(dir, "*.gguf.inp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inps) < 15 {
		t.Fatalf("found %d test-case files in %s, want 15", len(inps), dir)
	}
	for _, inp := range inps {
		name := strings.TrimSuffix(filepath.Base(inp), ".inp")
		t.Run(strings.TrimSuffix(strings.TrimPrefix(name, "ggml-vocab-"), ".gguf"), func(t *testing.T) {
			tok := loadVocabFile(t, name)
			in, err := os.ReadFile(inp)
			if err != nil {
				t.Fatal(err)
			}
			out, err := os.ReadFile(strings.TrimSuffix(inp, ".inp") + ".out")
			if err != nil {
				t.Fatal(err)
			}
			// Most .inp files end with a separator; gemma-4's does not.
			cases := strings.Split(strings.TrimSuffix(string(in), "\n__ggml_vocab_test__\n"), "\n__ggml_vocab_test__\n")
			want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			if len(cases) != len(want) {
				t.Fatalf("%d inputs but %d outputs", len(cases), len(want))
			}
			failed, lossy := 0, 0
			for i, text := range cases {
				exp := parseIDs(t, want[i])
				got := tok.Encode(text, EncodeOptions{})
				if !equalIDs(got, exp) {
					failed++
					t.Errorf("case %d %q:\n got %v\nwant %v", i, text, got, exp)
				}
				// Every model but WordPiece (which normalises) decodes
				// back to the input.
				if tok.Vocab().Model != "bert" {
					if dec := tok.Decode(got); dec != text {
						lossy++
						t.Errorf("case %d: decode(encode(%q)) = %q", i, text, dec)
					}
				}
			}
			t.Logf("%s: %d/%d cases match, %d decode differently", name, len(cases)-failed, len(cases), lossy)
		})
	}
}

func parseIDs(t *testing.T, s string) []int32 {
	t.Helper()
	var ids []int32
	for _, f := range strings.Fields(s) {
		v, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad id %q in .out file", f)
		}
		ids = append(ids, int32(v))
	}
	return ids
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
