package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tandem-llm/tandem/gguf"
)

// spmTestVocab is a small SPM vocabulary shaped like llama's: <unk>, <s>,
// </s>, the 256 byte tokens (id = 3 + byte), then scored pieces.
func spmTestVocab() *Vocab {
	v := &Vocab{Model: "llama", BOS: 1, EOS: 2, EOT: -1, EOM: -1, UNK: 0, PAD: -1, SEP: -1, CLS: -1, Mask: -1,
		AddBOS: true, AddSpacePrefix: true}
	add := func(s string, score float32, typ int32) {
		v.Tokens = append(v.Tokens, s)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, typ)
	}
	add("<unk>", 0, TypeUnknown)
	add("<s>", 0, TypeControl)
	add("</s>", 0, TypeControl)
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), 0, TypeByte)
	}
	for i, s := range []string{"▁", "a", "b", "c", "ab", "bc", "▁a", "▁ab", "abc", "▁abc", "▁▁", "é", "世"} {
		add(s, -float32(i), TypeNormal)
	}
	add("<unused0>", 0, TypeUnused)
	return v
}

// smallSPM builds an SPM tokenizer over the given pieces and scores, with
// no byte tokens and no space prefix.
func smallSPM(t testing.TB, pieces []string, scores []float32, unk int32) *Tokenizer {
	t.Helper()
	v := &Vocab{Model: "llama", Tokens: pieces, Scores: scores, BOS: -1, EOS: -1, EOT: -1, EOM: -1, UNK: unk,
		PAD: -1, SEP: -1, CLS: -1, Mask: -1}
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSPMMerges(t *testing.T) {
	cases := []struct {
		name   string
		pieces []string
		scores []float32
		text   string
		want   []string
	}{
		{"higher score first", []string{"a", "b", "c", "ab", "bc"}, []float32{0, 0, 0, -2, -1}, "abc", []string{"a", "bc"}},
		{"leftmost on ties", []string{"a", "b", "c", "ab", "bc"}, []float32{0, 0, 0, -1, -1}, "abc", []string{"ab", "c"}},
		{"merges chain", []string{"a", "b", "c", "ab", "abc"}, []float32{0, 0, 0, -1, -2}, "abcab", []string{"abc", "ab"}},
		{"repeated", []string{"a", "aa", "aaaa"}, []float32{0, -1, -2}, "aaaaaaa", []string{"aaaa", "aa", "a"}},
		{"spaces", []string{"▁", "x", "▁x"}, []float32{0, 0, -1}, "x x", []string{"x", "▁x"}},
		{"multibyte", []string{"é", "t", "ét"}, []float32{0, 0, -1}, "été", []string{"ét", "é"}},
	}
	for _, c := range cases {
		tok := smallSPM(t, c.pieces, c.scores, -1)
		ids := tok.Encode(c.text, EncodeOptions{})
		var got []string
		for _, id := range ids {
			got = append(got, tok.Token(id))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %q → %q, want %q", c.name, c.text, got, c.want)
		}
	}
}

func TestSPMByteFallback(t *testing.T) {
	tok, err := New(spmTestVocab())
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode("€", EncodeOptions{})
	want := []int32{259, 3 + 0xE2, 3 + 0x82, 3 + 0xAC} // ▁ then the bytes of €
	if !slices.Equal(ids, want) {
		t.Errorf("€ → %v, want %v", ids, want)
	}
	// Invalid UTF-8 survives a round trip byte for byte; a bad lead byte
	// swallows the bytes it claims, as llama.cpp's splitter does.
	for _, s := range []string{"\xff", "a\xffbc", "\xc3", "ab\xe2\x82", "\x80\x80", "é\xedabc", "\x00"} {
		ids := tok.Encode(s, EncodeOptions{})
		if got := tok.Decode(ids); got != s {
			t.Errorf("%q → %v → %q", s, ids, got)
		}
	}
	ids = tok.Encode("a\xffbc", EncodeOptions{})
	if want := []int32{265, 3 + 0xff, 3 + 'b', 3 + 'c'}; !slices.Equal(ids, want) {
		t.Errorf("a\\xffbc → %v, want %v", ids, want)
	}
}

func TestSPMUnknown(t *testing.T) {
	// No byte tokens: characters outside the vocabulary become <unk>, one
	// per byte as llama.cpp would (it throws instead when there is no unk).
	tok := smallSPM(t, []string{"<unk>", "a"}, nil, 0)
	if got := tok.Encode("aéa", EncodeOptions{}); !slices.Equal(got, []int32{1, 0, 0, 1}) {
		t.Errorf("got %v", got)
	}
	tok = smallSPM(t, []string{"x", "a"}, nil, -1)
	if got := tok.Encode("aéa", EncodeOptions{}); !slices.Equal(got, []int32{1, 1}) {
		t.Errorf("no unk: got %v", got)
	}
}

func TestSPMSpacePrefix(t *testing.T) {
	tok, err := New(spmTestVocab())
	if err != nil {
		t.Fatal(err)
	}
	name := func(ids []int32) []string {
		var s []string
		for _, id := range ids {
			s = append(s, tok.Token(id))
		}
		return s
	}
	for _, c := range []struct {
		text  string
		parse bool
		want  []string
	}{
		{"abc", false, []string{"▁abc"}},
		{" abc", false, []string{"▁", "▁abc"}},
		{"abc<s>abc", true, []string{"▁abc", "<s>", "▁abc"}},
		{"<s>", true, []string{"<s>"}},
		{"<s> a", true, []string{"<s>", "▁", "▁a"}},
	} {
		got := name(tok.Encode(c.text, EncodeOptions{ParseSpecial: c.parse}))
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
}

// optionalVocab loads a shared vocabulary when it is there, for fuzzing;
// unlike loadVocabFile it never skips.
func optionalVocab(t testing.TB, name string) *Tokenizer {
	dir := os.Getenv("TANDEM_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared")
	}
	f, err := gguf.Open(filepath.Join(dir, "tokenizer", name))
	if err != nil {
		return nil
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func FuzzSPMEncode(f *testing.F) {
	for _, s := range sampleTexts() {
		f.Add(s, false, true)
	}
	f.Add("<s>a</s>\xff", true, false)
	toks := []*Tokenizer{}
	synth, err := New(spmTestVocab())
	if err != nil {
		f.Fatal(err)
	}
	toks = append(toks, synth)
	if tok := optionalVocab(f, "ggml-vocab-llama-spm.gguf"); tok != nil {
		toks = append(toks, tok)
	}
	f.Fuzz(func(t *testing.T, text string, parse, add bool) {
		for _, tok := range toks {
			ids := tok.Encode(text, EncodeOptions{ParseSpecial: parse, AddSpecial: add})
			for _, id := range ids {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("%q: id %d out of range", text, id)
				}
			}
			if add && (len(ids) == 0 || ids[0] != tok.BOS()) {
				t.Fatalf("%q: no BOS: %v", text, ids)
			}
			// Byte fallback makes SPM lossless, except that ▁ reads back
			// as a space and parsed specials render as nothing. Spaces
			// become ▁ before the text is cut into characters, so after
			// invalid UTF-8 a ▁ can be spelt out in bytes, as in llama.cpp.
			if !parse && !strings.Contains(text, spaceMark) {
				got := tok.Decode(ids)
				if !utf8.ValidString(text) {
					got = strings.ReplaceAll(got, spaceMark, " ")
				}
				if got != text {
					t.Fatalf("decode(encode(%q)) = %q; ids %v", text, got, ids)
				}
			}
		}
	})
}
