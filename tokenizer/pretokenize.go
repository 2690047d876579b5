package tokenizer

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pre-tokenization for byte-level BPE, matching llama.cpp's
// unicode_regex_split: the text is cut by a list of expressions applied in
// turn, each one subdividing the pieces left by the previous one, and text an
// expression does not match stays a piece of its own. llama.cpp evaluates most
// expressions with std::regex (ECMAScript: leftmost match, ordered
// alternation, backtracking) and two with hand-written splitters; every
// expression we support is simple enough to be written as a direct scanner
// with the same leftmost-first result, which is also linear-time.

// Character classes, as llama.cpp's unicode-data sees them.
const (
	clsWS     uint8 = 1 << iota // \s: llama.cpp's whitespace set
	clsLetter                   // \p{L}
	clsNumber                   // \p{N}
	clsPunct                    // \p{P}
	clsSymbol                   // \p{S}
	clsMark                     // \p{M}
)

// charTable classifies code points. The BMP is a flat table built once per
// tokenizer; the rest goes through the unicode package.
type charTable struct {
	bmp []uint8
}

func newCharTable() *charTable {
	t := &charTable{bmp: make([]uint8, 0x10000)}
	mark := func(rt *unicode.RangeTable, c uint8) {
		for _, r := range rt.R16 {
			for cp := int(r.Lo); cp <= int(r.Hi); cp += int(r.Stride) {
				t.bmp[cp] |= c
			}
		}
	}
	mark(unicode.Letter, clsLetter)
	mark(unicode.Number, clsNumber)
	mark(unicode.Punct, clsPunct)
	mark(unicode.Symbol, clsSymbol)
	mark(unicode.Mark, clsMark)
	// llama.cpp's tables are Unicode 15.1; Go's are 15.0. 15.1 added only
	// these in the BMP (ideographic description characters, So).
	for cp := 0x2FFC; cp <= 0x2FFF; cp++ {
		t.bmp[cp] = clsSymbol
	}
	t.bmp[0x31EF] = clsSymbol
	// llama.cpp's whitespace set is Python's \s, which unlike Unicode
	// White_Space leaves out U+001C..U+001F. llama.cpp collapses the
	// non-ASCII members to \v before std::regex runs, so every expression
	// sees them as \s.
	for _, cp := range []int{0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
		0x2028, 0x2029, 0x202F, 0x205F, 0x3000} {
		t.bmp[cp] = clsWS
	}
	for cp := 0x2000; cp <= 0x200A; cp++ {
		t.bmp[cp] = clsWS
	}
	return t
}

func (t *charTable) class(cp rune) uint8 {
	if cp < 0x10000 {
		return t.bmp[cp]
	}
	switch {
	case unicode.IsLetter(cp), cp >= 0x2EBF0 && cp <= 0x2EE5D: // CJK Ext. I is 15.1
		return clsLetter
	case unicode.IsNumber(cp):
		return clsNumber
	case unicode.IsPunct(cp):
		return clsPunct
	case unicode.IsSymbol(cp):
		return clsSymbol
	case unicode.IsMark(cp):
		return clsMark
	}
	return 0
}

// decodeLenient decodes one code point the way llama.cpp's
// unicode_cpt_from_utf8 does: it checks only the lead byte's length and the
// continuation bytes' top bits, so overlong forms and surrogates decode, and
// any other malformed byte becomes U+FFFD on its own. Code points above
// U+10FFFF (which make llama.cpp throw later) also become U+FFFD.
func decodeLenient(s string, i int) (rune, int) {
	b0 := s[i]
	switch {
	case b0 < 0x80:
		return rune(b0), 1
	case b0&0x40 == 0:
		return utf8.RuneError, 1
	case b0&0x20 == 0:
		if i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			return rune(b0&0x1F)<<6 | rune(s[i+1]&0x3F), 2
		}
	case b0&0x10 == 0:
		if i+2 < len(s) && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 {
			return rune(b0&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), 3
		}
	case b0&0x08 == 0:
		if i+3 < len(s) && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 && s[i+3]&0xC0 == 0x80 {
			cp := rune(b0&0x07)<<18 | rune(s[i+1]&0x3F)<<12 | rune(s[i+2]&0x3F)<<6 | rune(s[i+3]&0x3F)
			if cp <= unicode.MaxRune {
				return cp, 4
			}
		}
	}
	return utf8.RuneError, 1
}

// appendCodePoint encodes cp like llama.cpp's unicode_cpt_to_utf8, which
// (unlike utf8.AppendRune) keeps surrogates as they are.
func appendCodePoint(b []byte, cp rune) []byte {
	switch {
	case cp < 0x80:
		return append(b, byte(cp))
	case cp < 0x800:
		return append(b, 0xC0|byte(cp>>6), 0x80|byte(cp&0x3F))
	case cp < 0x10000:
		return append(b, 0xE0|byte(cp>>12), 0x80|byte(cp>>6&0x3F), 0x80|byte(cp&0x3F))
	}
	return append(b, 0xF0|byte(cp>>18), 0x80|byte(cp>>12&0x3F), 0x80|byte(cp>>6&0x3F), 0x80|byte(cp&0x3F))
}

// splitText is one text decoded into code points for the splitters.
type splitText struct {
	s    string  // the text as llama.cpp re-encodes it (differs only for invalid UTF-8)
	cps  []rune  // code points
	cls  []uint8 // their classes
	offs []int32 // byte offset of each code point in s, plus len(s)
}

func (st *splitText) reset(tab *charTable, text string) {
	st.cps, st.cls, st.offs = st.cps[:0], st.cls[:0], st.offs[:0]
	if !utf8.ValidString(text) {
		// llama.cpp works on the decoded code points, so malformed bytes
		// reach the BPE as U+FFFD (and overlong forms as their code point).
		b := make([]byte, 0, len(text)+len(text)/2)
		for i := 0; i < len(text); {
			cp, n := decodeLenient(text, i)
			b = appendCodePoint(b, cp)
			i += n
		}
		text = string(b)
	}
	st.s = text
	if cap(st.cps) < len(text) {
		st.cps = make([]rune, 0, len(text))
		st.cls = make([]uint8, 0, len(text))
		st.offs = make([]int32, 0, len(text)+1)
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			st.cps = append(st.cps, rune(c))
			st.cls = append(st.cls, tab.bmp[c])
			st.offs = append(st.offs, int32(i))
			i++
			continue
		}
		cp, n := decodeLenient(text, i)
		st.cps = append(st.cps, cp)
		st.cls = append(st.cls, tab.class(cp))
		st.offs = append(st.offs, int32(i))
		i += n
	}
	st.offs = append(st.offs, int32(len(text)))
}

// at returns the class of code point p of the piece [.., end), or 0 past it
// (the splitters never look across a piece boundary).
func (st *splitText) at(p, end int) uint8 {
	if p < end {
		return st.cls[p]
	}
	return 0
}

func (st *splitText) cp(p, end int) rune {
	if p < end {
		return st.cps[p]
	}
	return -1
}

// matcher finds a match of one expression starting exactly at p within the
// piece [p, end). It returns the match end (> p), or 0 and the next position
// worth trying: no match can start before skip.
type matcher func(st *splitText, p, end int) (e, skip int)

// splitBy cuts every piece of bounds (piece end positions) by m and appends
// the new piece ends to out.
func splitBy(st *splitText, m matcher, bounds, out []int) []int {
	start := 0
	for _, end := range bounds {
		prev := start
		for p := start; p < end; {
			e, skip := m(st, p, end)
			if e <= p {
				p = skip
				continue
			}
			if p > prev { // unmatched text before the match
				out = append(out, p)
			}
			out = append(out, e)
			prev, p = e, e
		}
		if prev < end {
			out = append(out, end)
		}
		start = end
	}
	return out
}

// run extends p over code points whose class has any bit of c.
func (st *splitText) run(p, end int, c uint8) int {
	for p < end && st.cls[p]&c != 0 {
		p++
	}
	return p
}

func isLower(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// contraction matches 's 't 're 've 'm 'll 'd at p; fold makes it
// case-insensitive (llama.cpp folds with its own table, which maps no
// non-ASCII letter onto these ASCII ones).
func (st *splitText) contraction(p, end int, fold bool) int {
	if st.cps[p] != '\'' || p+1 >= end {
		return 0
	}
	c1 := st.cps[p+1]
	if fold {
		c1 = isLower(c1)
	}
	switch c1 {
	case 's', 't', 'm', 'd':
		return p + 2
	}
	if p+2 < end {
		c2 := st.cps[p+2]
		if fold {
			c2 = isLower(c2)
		}
		if (c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l') {
			return p + 3
		}
	}
	return 0
}

// matchGPT2 is 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// as llama.cpp's unicode_regex_split_custom_gpt2 implements it.
func matchGPT2(st *splitText, p, end int) (int, int) {
	if e := st.contraction(p, end, false); e > 0 {
		return e, 0
	}
	cp := st.cps[p]
	q, c2 := p, st.cls[p]
	if cp == ' ' {
		q, c2 = p+1, st.at(p+1, end)
	}
	switch {
	case c2&clsLetter != 0:
		return st.run(q, end, clsLetter), 0
	case c2&clsNumber != 0:
		return st.run(q, end, clsNumber), 0
	case q < end && c2&(clsWS|clsLetter|clsNumber) == 0:
		for q < end && st.cls[q]&(clsWS|clsLetter|clsNumber) == 0 {
			q++
		}
		return q, 0
	}
	return matchSpaces(st, p, end), 0
}

// matchSpaces is \s+(?!\S)|\s+ at p (and a lone code point when p is not
// whitespace, which only the custom splitters reach).
func matchSpaces(st *splitText, p, end int) int {
	q := st.run(p, end, clsWS)
	switch {
	case q-p > 1 && q < end:
		return q - 1 // leave the last space to prefix the next word
	case q > p:
		return q
	}
	return p + 1
}

// matchLlama3 returns the matcher for
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// as llama.cpp's unicode_regex_split_custom_llama3 implements it (maxDigits
// 3); with maxDigits 1 it is Qwen2's expression, which llama.cpp runs through
// std::regex with the same result.
func matchLlama3(maxDigits int) matcher {
	return func(st *splitText, p, end int) (int, int) {
		if e := st.contraction(p, end, true); e > 0 {
			return e, 0
		}
		cp, c := st.cps[p], st.cls[p]
		if cp != '\r' && cp != '\n' && c&clsNumber == 0 &&
			(c&clsLetter != 0 || st.at(p+1, end)&clsLetter != 0) {
			return st.run(p+1, end, clsLetter), 0
		}
		if c&clsNumber != 0 {
			q := p
			for q < end && q-p < maxDigits && st.cls[q]&clsNumber != 0 {
				q++
			}
			return q, 0
		}
		return matchOther(st, p, end, clsWS|clsLetter|clsNumber), 0
	}
}

// matchOther is  ?[^\s<not>]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ at p, where not
// holds the classes excluded from the punctuation run.
func matchOther(st *splitText, p, end int, not uint8) int {
	q := p
	if st.cps[p] == ' ' {
		q = p + 1
	}
	if q < end && st.cls[q]&not == 0 {
		for q < end && st.cls[q]&not == 0 {
			q++
		}
		for q < end && (st.cps[q] == '\r' || st.cps[q] == '\n') {
			q++
		}
		return q
	}
	// \s*[\r\n]+ ends after the last \r or \n of the whitespace run.
	lastNL := -1
	q = p
	for q < end && st.cls[q]&clsWS != 0 {
		if st.cps[q] == '\r' || st.cps[q] == '\n' {
			lastNL = q
		}
		q++
	}
	if lastNL >= 0 {
		return lastNL + 1
	}
	return matchSpaces(st, p, end)
}

// matchQwen35 is
// (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func matchQwen35(st *splitText, p, end int) (int, int) {
	if e := st.contraction(p, end, true); e > 0 {
		return e, 0
	}
	cp, c := st.cps[p], st.cls[p]
	const lm = clsLetter | clsMark
	if cp != '\r' && cp != '\n' && c&(clsLetter|clsNumber) == 0 && st.at(p+1, end)&lm != 0 {
		return st.run(p+1, end, lm), 0
	}
	if c&lm != 0 {
		return st.run(p, end, lm), 0
	}
	if c&clsNumber != 0 {
		return p + 1, 0
	}
	return matchOther(st, p, end, clsWS|clsLetter|clsMark|clsNumber), 0
}

// matchRun returns the matcher for [class]+.
func matchRun(c uint8) matcher {
	return func(st *splitText, p, end int) (int, int) {
		if st.cls[p]&c != 0 {
			return st.run(p, end, c), 0
		}
		return 0, p + 1
	}
}

// matchOne returns the matcher for [class] (one code point).
func matchOne(c uint8) matcher {
	return func(st *splitText, p, end int) (int, int) {
		if st.cls[p]&c != 0 {
			return p + 1, 0
		}
		return 0, p + 1
	}
}

// matchSetRun returns the matcher for [set]+, or \s?[set]+ when optSpace.
// Non-ASCII whitespace never matches a set: llama.cpp replaces it with \v
// before running std::wregex.
func matchSetRun(set func(rune) bool, optSpace bool) matcher {
	in := func(st *splitText, q, end int) bool {
		return q < end && st.cls[q]&clsWS == 0 && set(st.cps[q])
	}
	return func(st *splitText, p, end int) (int, int) {
		q := p
		if optSpace && st.cls[p]&clsWS != 0 && in(st, p+1, end) {
			q = p + 1
		}
		if !in(st, q, end) {
			return 0, p + 1
		}
		for in(st, q, end) {
			q++
		}
		return q, 0
	}
}

// matchClassRun returns the matcher for \s?[class]+.
func matchSpaceClassRun(c uint8) matcher {
	return func(st *splitText, p, end int) (int, int) {
		if st.cls[p]&clsWS != 0 && st.at(p+1, end)&c != 0 {
			return st.run(p+1, end, c), 0
		}
		if st.cls[p]&c != 0 {
			return st.run(p, end, c), 0
		}
		return 0, p + 1
	}
}

// matchNewline is [\r\n].
func matchNewline(st *splitText, p, end int) (int, int) {
	if cp := st.cps[p]; cp == '\r' || cp == '\n' {
		return p + 1, 0
	}
	return 0, p + 1
}

// matchTrailingSpace is \s+$ ($ is the end of the piece).
func matchTrailingSpace(st *splitText, p, end int) (int, int) {
	if st.cls[p]&clsWS == 0 {
		return 0, p + 1
	}
	q := st.run(p, end, clsWS)
	if q == end {
		return q, 0
	}
	return 0, q // no run starting inside this one reaches the end either
}

// matchThreeDigits is [0-9][0-9][0-9].
func matchThreeDigits(st *splitText, p, end int) (int, int) {
	for i := 0; i < 3; i++ {
		if c := st.cp(p+i, end); c < '0' || c > '9' {
			return 0, p + 1
		}
	}
	return p + 3, 0
}

// matchFalconPunct is [\p{P}\$\+<=>\^~\|]+.
func matchFalconPunct(st *splitText, p, end int) (int, int) {
	in := func(q int) bool {
		if st.cls[q]&clsPunct != 0 {
			return true
		}
		switch st.cps[q] {
		case '$', '+', '<', '=', '>', '^', '~', '|':
			return true
		}
		return false
	}
	if !in(p) {
		return 0, p + 1
	}
	q := p + 1
	for q < end && in(q) {
		q++
	}
	return q, 0
}

// matchLines is [^\n]+|[\n]+.
func matchLines(st *splitText, p, end int) (int, int) {
	nl := st.cps[p] == '\n'
	q := p + 1
	for q < end && (st.cps[q] == '\n') == nl {
		q++
	}
	return q, 0
}

// inRanges reports whether r is in one of the sorted inclusive ranges.
func inRanges(ranges [][2]rune, r rune) bool {
	i := sort.Search(len(ranges), func(i int) bool { return ranges[i][1] >= r })
	return i < len(ranges) && ranges[i][0] <= r
}

// deepseekLetterRanges is DeepSeek LLM's letter class, transcribed from its
// tokenizer.json as code points (several of its characters have look-alikes
// in other blocks). Tables are functions so that they cannot be changed.
func deepseekLetterRanges() [][2]rune {
	return [][2]rune{
		{0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6},
		{0xF8, 0x1BA}, {0x1BC, 0x1BF}, {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373},
		{0x376, 0x377}, {0x37B, 0x37D}, {0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A},
		{0x38C, 0x38C}, {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F},
		{0x531, 0x556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA},
		{0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15},
		{0x1F18, 0x1F1D}, {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59},
		{0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC},
		{0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB},
		{0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107},
		{0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126},
		{0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F},
		{0x2145, 0x2149}, {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4},
		{0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F},
		{0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17},
		{0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
		{0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
	}
}

// deepseekPunctRanges is DeepSeek's punctuation class [!-/:-~！-／：-～‘-‟　-。].
func deepseekPunctRanges() [][2]rune {
	return [][2]rune{{0x21, 0x2F}, {0x3A, 0x7E}, {0x2018, 0x201F}, {0x3000, 0x3002}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E}}
}

// deepseekCJKRanges is DeepSeek's CJK class [一-龥ࠀ-一가-퟿].
func deepseekCJKRanges() [][2]rune { return [][2]rune{{0x800, 0x9FA5}, {0xAC00, 0xD7FF}} }

// inSet returns a membership test for sorted inclusive ranges.
func inSet(ranges [][2]rune) func(rune) bool {
	return func(r rune) bool { return inRanges(ranges, r) }
}

// preTokenizer is the list of expressions one tokenizer.ggml.pre value uses.
type preTokenizer struct {
	name         string
	stages       []matcher
	ignoreMerges bool // look the whole piece up before merging (Llama 3)
}

// preTokenizerFor maps tokenizer.ggml.pre to llama.cpp's expressions. Names
// llama.cpp treats identically to a supported one are accepted too.
func preTokenizerFor(pre string) (*preTokenizer, error) {
	gpt2 := matcher(matchGPT2)
	llama3 := matchLlama3(3)
	p := &preTokenizer{name: pre}
	switch pre {
	case "", "default": // gpt-neox and other files without a pre key
		p.stages = []matcher{matchFalconPunct, gpt2, matchRun(clsNumber), matchThreeDigits}
	case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
		p.stages, p.ignoreMerges = []matcher{llama3}, true
	case "dbrx", "smaug-bpe", "glm4", "chatglm-bpe":
		p.stages = []matcher{llama3}
	case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "megrez", "hunyuan", "solar-open":
		p.stages = []matcher{matchLlama3(1)}
	case "qwen35":
		p.stages = []matcher{matchQwen35}
	case "gpt-2", "mpt", "phi-2", "olmo", "jais", "trillion", "granite-docling", "exaone4",
		"jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
		"jina-v1-en", "jina-v2-code", "roberta-bpe":
		p.stages = []matcher{gpt2}
	case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2":
		p.stages = []matcher{matchOne(clsNumber), gpt2}
	case "falcon":
		p.stages = []matcher{matchFalconPunct, gpt2, matchThreeDigits}
	case "deepseek-llm":
		p.stages = []matcher{
			matchNewline,
			matchSetRun(inSet(deepseekLetterRanges()), true),
			matchSetRun(inSet(deepseekPunctRanges()), true),
			matchTrailingSpace,
			matchSetRun(inSet(deepseekCJKRanges()), false),
			matchRun(clsNumber),
		}
	case "deepseek-coder":
		p.stages = []matcher{
			matchNewline,
			matchSpaceClassRun(clsLetter),
			matchSpaceClassRun(clsPunct),
			matchSetRun(inSet(deepseekCJKRanges()), false),
			matchOne(clsNumber),
		}
	case "gemma4":
		p.stages = []matcher{matchLines}
	default:
		return nil, fmt.Errorf("tokenizer: unsupported BPE pre-tokenizer %q (supported: %s)", pre, strings.Join(supportedPre(), ", "))
	}
	return p, nil
}

// supportedPre lists the tokenizer.ggml.pre values named in errors.
func supportedPre() []string {
	return []string{
		"default (or none)", "llama-bpe", "llama3", "llama-v3", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano",
		"dbrx", "smaug-bpe", "glm4", "chatglm-bpe",
		"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "megrez", "hunyuan", "solar-open", "qwen35",
		"gpt-2", "mpt", "phi-2", "olmo", "jais", "trillion", "granite-docling", "exaone4",
		"jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
		"jina-v1-en", "jina-v2-code", "roberta-bpe",
		"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2",
		"falcon", "deepseek-llm", "deepseek-coder", "gemma4", "granite-embed-multi-311m", "sarvam-moe",
	}
}

// split cuts st into pieces and appends their end positions (in code
// points) to bounds.
func (p *preTokenizer) split(st *splitText, bounds, tmp []int) ([]int, []int) {
	bounds = append(bounds[:0], len(st.cps))
	if len(st.cps) == 0 {
		return bounds[:0], tmp
	}
	for _, m := range p.stages {
		tmp = splitBy(st, m, bounds, tmp[:0])
		bounds, tmp = tmp, bounds
	}
	return bounds, tmp
}
