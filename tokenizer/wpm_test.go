package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// wpmTestVocab is a small BERT vocabulary in llama.cpp's GGUF convention:
// word-initial pieces start with ▁, continuation pieces are bare.
func wpmTestVocab() *Vocab {
	v := &Vocab{Model: "bert", BOS: 2, EOS: -1, EOT: -1, EOM: -1, UNK: 1, PAD: 0, SEP: 3, CLS: 2, Mask: 4,
		AddBOS: true, Lowercase: true, StripAccents: true}
	for _, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		v.Tokens = append(v.Tokens, s)
		v.Types = append(v.Types, TypeControl)
	}
	for _, s := range []string{"▁hello", "▁world", "▁un", "aff", "able", "▁,", "▁!", "▁?", "▁naive", "▁cafe",
		"▁中", "▁文", "▁$", "▁a", "b", "▁ab", "▁привет"} {
		v.Tokens = append(v.Tokens, s)
		v.Types = append(v.Types, TypeNormal)
	}
	return v
}

func TestWPMWords(t *testing.T) {
	w := newWPM(wpmTestVocab(), nil)
	cases := []struct {
		text string
		want []string
	}{
		{"Hello, World!", []string{"hello", ",", "world", "!"}},
		{"  Ça va?\t中文 NAÏVE\n", []string{"ca", "va", "?", "中", "文", "naive"}},
		{"a$b+c~d€e", []string{"a", "$", "b", "+", "c", "~", "d€e"}}, // ASCII symbols split, € does not
		{"x\u0000y\u200bz\ufffd", []string{"xyz"}},                   // controls and U+FFFD vanish
		{"Ｈｅｌｌｏ　ｗｏｒｌｄ", []string{"ｈｅｌｌｏ", "ｗｏｒｌｄ"}},                  // ideographic space splits
		{"e\u0301", []string{"e"}},                                   // combining accent stripped
		{"가", []string{"\u1100"}},                                    // llama.cpp keeps only the first jamo
		{"\xc1\x81", []string{"a"}},                                  // overlong 'A' decodes, as in llama.cpp
		{"\xff\xfe", nil},
	}
	for _, c := range cases {
		if got := w.words(c.text); !slices.Equal(got, c.want) {
			t.Errorf("words(%q) = %q, want %q", c.text, got, c.want)
		}
	}
	cased := newWPM(&Vocab{Model: "bert"}, nil)
	if got := cased.words("Ça Va"); !slices.Equal(got, []string{"Ça", "Va"}) {
		t.Errorf("no lowercase/strip: %q", got)
	}
}

func TestWPMEncode(t *testing.T) {
	tok, err := New(wpmTestVocab())
	if err != nil {
		t.Fatal(err)
	}
	name := func(ids []int32) string {
		var s []string
		for _, id := range ids {
			s = append(s, tok.Token(id))
		}
		return strings.Join(s, " ")
	}
	for _, c := range []struct {
		text string
		opts EncodeOptions
		want string
	}{
		{"Hello, world!", EncodeOptions{}, "▁hello ▁, ▁world ▁!"},
		{"unaffable", EncodeOptions{}, "▁un aff able"},
		{"unaffablex hello", EncodeOptions{}, "[UNK] ▁hello"}, // a word that does not cut fully is unknown
		{"Café NAÏVE", EncodeOptions{}, "▁cafe ▁naive"},
		{"中文?", EncodeOptions{}, "▁中 ▁文 ▁?"},
		{"ab abb", EncodeOptions{}, "▁ab ▁ab b"},
		{"ПРИВЕТ", EncodeOptions{}, "▁привет"},
		{"hello", EncodeOptions{AddSpecial: true}, "[CLS] ▁hello [SEP]"},
		{"", EncodeOptions{AddSpecial: true}, "[CLS] [SEP]"},
		{"hello [SEP] world", EncodeOptions{ParseSpecial: true}, "▁hello [SEP] ▁world"},
		{"hello [SEP]", EncodeOptions{}, "▁hello [UNK] [UNK] [UNK]"},
	} {
		if got := name(tok.Encode(c.text, c.opts)); got != c.want {
			t.Errorf("%q %+v: %q, want %q", c.text, c.opts, got, c.want)
		}
	}
	ids := tok.Encode("Hello, world!", EncodeOptions{AddSpecial: true})
	if got := tok.Decode(ids); got != " hello , world !" {
		t.Errorf("Decode = %q", got)
	}
}

func TestNFDFirst(t *testing.T) {
	for _, c := range []struct{ in, want rune }{
		{'a', 'a'}, {'é', 'e'}, {'Å', 'A'}, {'ǻ', 'a'}, {'ḉ', 'c'}, {'ệ', 'e'}, {'가', 0x1100}, {'힣', 0x1112},
		{'Ω', 'Ω'}, {'Ώ', 'Ω'}, {0x2126, 0x3A9}, {0x10FFFF, 0x10FFFF}, {0, 0}, {'中', '中'}, {0x2F800, 0x4E3D},
	} {
		if got := nfdFirst(c.in); got != c.want {
			t.Errorf("nfdFirst(%U) = %U, want %U", c.in, got, c.want)
		}
	}
}

func FuzzWPMEncode(f *testing.F) {
	for _, s := range sampleTexts() {
		f.Add(s, false, true)
	}
	f.Add("[CLS]x[SEP]\xc1\x81", true, false)
	toks := []*Tokenizer{}
	synth, err := New(wpmTestVocab())
	if err != nil {
		f.Fatal(err)
	}
	toks = append(toks, synth)
	if tok := optionalVocab(f, "ggml-vocab-bert-bge.gguf"); tok != nil {
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
			if add && (len(ids) < 2 || ids[0] != tok.BOS() || ids[len(ids)-1] != tok.Vocab().SEP) {
				t.Fatalf("%q: not framed by CLS … SEP: %v", text, ids)
			}
			w := tok.enc.(*wpm)
			for _, word := range w.words(text) {
				if word == "" || !utf8.ValidString(word) || strings.ContainsFunc(word, isWhitespace) {
					t.Fatalf("%q: bad word %q", text, word)
				}
			}
			if !slices.Equal(ids, tok.Encode(text, EncodeOptions{ParseSpecial: parse, AddSpecial: add})) {
				t.Fatalf("%q: encoding is not deterministic", text)
			}
		}
	})
}
