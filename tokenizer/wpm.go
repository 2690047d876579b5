package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// wpm is llama.cpp's WordPiece tokenizer (llm_tokenizer_wpm) for BERT
// vocabularies as converted to GGUF: word-initial pieces carry a ▁ prefix and
// continuation pieces none (the "##" convention undone). Text is normalised
// and split into words, then each word is cut greedily into the longest
// vocabulary pieces; a word that cannot be cut completely becomes the unknown
// token.
type wpm struct {
	ids                     *strIndex
	tokens                  []string
	unk                     int32
	maxLen                  int // longest token text, in bytes
	lowercase, stripAccents bool
}

//go:generate go run ./internal/gennfd -ucd /usr/share/unicode/UnicodeData.txt -o wpm_nfd.go

func newWPM(v *Vocab, ids *strIndex) *wpm {
	w := &wpm{ids: ids, tokens: v.Tokens, unk: v.UNK, lowercase: v.Lowercase, stripAccents: v.StripAccents}
	for _, t := range v.Tokens {
		w.maxLen = max(w.maxLen, len(t))
	}
	return w
}

func (w *wpm) encode(text string, out []int32) []int32 {
	var word []byte
	for _, s := range w.words(text) {
		word = append(append(word[:0], spaceMark...), s...)
		n := len(word)
		first := len(out)
		for i := 0; i < n; {
			j := min(n, i+w.maxLen+1)
			for ; j > i; j-- {
				if id, ok := w.ids.getBytes(word[i:j]); ok {
					out = append(out, id)
					break
				}
			}
			if j == i { // no piece fits here: the whole word is unknown
				out = out[:first]
				break
			}
			i = j
		}
		if len(out) == first && w.unk >= 0 {
			out = append(out, w.unk)
		}
	}
	return out
}

func (w *wpm) piece(id int32, buf []byte) []byte {
	return appendUnescaped(buf, w.tokens[id])
}

// words is llama.cpp's WordPiece preprocessing: optional NFD (first code
// point only, as llama.cpp does) and accent stripping, lowercasing, dropping
// control characters, splitting at whitespace, and making every punctuation
// character, ASCII symbol and CJK ideograph a word of its own.
func (w *wpm) words(text string) []string {
	var words []string
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	for off := 0; off < len(text); {
		r, n := decodeLenient(text, off) // as llama.cpp: overlong forms decode
		off += n
		if w.stripAccents {
			r = nfdFirst(r)
		}
		if isWhitespace(r) {
			flush()
			continue
		}
		if r == 0 || r == utf8.RuneError || r > unicode.MaxRune || unicode.Is(unicode.C, r) {
			continue
		}
		if w.stripAccents && unicode.Is(unicode.M, r) {
			continue
		}
		alone := unicode.IsPunct(r) || (r < 0x7F && unicode.IsSymbol(r)) || isCJK(r) // before lowercasing, as llama.cpp
		if w.lowercase {
			r = unicode.ToLower(r)
		}
		if alone {
			flush()
			cur = utf8.AppendRune(cur, r)
			flush()
			continue
		}
		cur = utf8.AppendRune(cur, r)
	}
	flush()
	return words
}

// isWhitespace is the Unicode White_Space property, as llama.cpp lists it.
func isWhitespace(r rune) bool {
	switch {
	case r >= 0x09 && r <= 0x0D, r == 0x20, r == 0x85, r == 0xA0, r == 0x1680,
		r >= 0x2000 && r <= 0x200A, r == 0x2028, r == 0x2029, r == 0x202F, r == 0x205F, r == 0x3000:
		return true
	}
	return false
}

// isCJK is llama.cpp's is_chinese_char (BERT's CJK ideograph ranges).
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B920 && r <= 0x2CEAF) || // sic: 0x2B820 in Unicode, 0x2B920 in HF's code
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// nfdFirst maps r to the first code point of its canonical decomposition.
func nfdFirst(r rune) rune {
	const entry = 9
	lo, hi := 0, len(nfdTable)/entry
	for lo < hi { // first entry whose start is > r
		m := (lo + hi) / 2
		if get24(m*entry) > r {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo == 0 {
		return r
	}
	e := (lo - 1) * entry
	if r <= get24(e+3) {
		return get24(e + 6)
	}
	return r
}

func get24(i int) rune {
	return rune(nfdTable[i])<<16 | rune(nfdTable[i+1])<<8 | rune(nfdTable[i+2])
}
