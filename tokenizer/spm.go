package tokenizer

import (
	"strings"
)

// spm is llama.cpp's SentencePiece-style tokenizer (llm_tokenizer_spm): text
// with spaces written as ▁ is split into UTF-8 characters, then adjacent
// pieces are merged, highest-scoring vocabulary entry first, until no
// adjacent pair forms a token. Pieces that are not tokens fall back to
// <0xXX> byte tokens.
type spm struct {
	ids     *strIndex
	scores  []float32 // nil: all zero
	tokens  []string
	byteIDs [256]int32 // byte-fallback token per byte, -1 if none
}

const spaceMark = "▁" // U+2581, SentencePiece's space

func newSPM(v *Vocab, ids *strIndex) *spm {
	s := &spm{ids: ids, scores: v.Scores, tokens: v.Tokens}
	const hex = "0123456789ABCDEF"
	for b := range 256 {
		// As llama.cpp's byte_to_token: <0xXX>, else the byte itself, else
		// (where llama.cpp would throw) the unknown token.
		id, ok := ids.getBytes([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})
		if !ok {
			id, ok = ids.getBytes([]byte{byte(b)})
		}
		if !ok {
			id = v.UNK
		}
		s.byteIDs[b] = id
	}
	return s
}

// spmSymbol is a piece of the text being merged; merged-away pieces have
// n == 0.
type spmSymbol struct {
	prev, next int32
	start, n   int32
}

// spmBigram is a candidate merge of two adjacent symbols.
type spmBigram struct {
	left, right int32
	score       float32
	size        int32
}

// before orders the merge queue: highest score first, then leftmost.
func (a spmBigram) before(b spmBigram) bool {
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

// utf8Len is llama.cpp's unicode_len_utf8: the sequence length implied by a
// lead byte, trusting it even when the bytes that follow are not valid.
func utf8Len(c byte) int {
	switch c >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

func (s *spm) encode(text string, out []int32) []int32 {
	text = strings.ReplaceAll(text, " ", spaceMark)
	if text == "" {
		return out
	}
	if len(text) > 1<<31-1 {
		// Symbol offsets are int32; nobody tokenizes 2 GiB at once, but
		// never panic: encode it in pieces.
		half := len(text) / 2
		return s.encode(text[half:], s.encode(text[:half], out))
	}
	syms := make([]spmSymbol, 0, len(text))
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		i := int32(len(syms))
		syms = append(syms, spmSymbol{prev: i - 1, next: i + 1, start: int32(off), n: int32(n)})
		off += n
	}
	syms[len(syms)-1].next = -1

	var q spmQueue
	tryAdd := func(left, right int32) {
		if left < 0 || right < 0 {
			return
		}
		l := syms[left]
		piece := text[l.start : l.start+l.n+syms[right].n]
		id, ok := s.ids.get(piece)
		if !ok {
			return
		}
		var score float32
		if s.scores != nil {
			score = s.scores[id]
		}
		q.push(spmBigram{left: left, right: right, score: score, size: int32(len(piece))})
	}
	for i := 1; i < len(syms); i++ {
		tryAdd(int32(i-1), int32(i))
	}
	for len(q) > 0 {
		bg := q.pop()
		l, r := &syms[bg.left], &syms[bg.right]
		// Stale: one side was merged away or has grown since.
		if l.n == 0 || r.n == 0 || l.n+r.n != bg.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = bg.left
		}
		tryAdd(l.prev, bg.left)
		tryAdd(bg.left, l.next)
	}

	for i := int32(0); i != -1; i = syms[i].next {
		sym := syms[i]
		piece := text[sym.start : sym.start+sym.n]
		if id, ok := s.ids.get(piece); ok {
			out = append(out, id)
			continue
		}
		// Every merged symbol is a token, so this is one character that is
		// not: spell it out in bytes. (llama.cpp's rev_merge lookup can only
		// find merged symbols, so it never applies here.)
		for j := 0; j < len(piece); j++ {
			if id := s.byteIDs[piece[j]]; id >= 0 {
				out = append(out, id)
			}
		}
	}
	return out
}

// piece renders a normal token: ▁ is a space.
func (s *spm) piece(id int32, buf []byte) []byte {
	return appendUnescaped(buf, s.tokens[id])
}

// appendUnescaped appends tok with every ▁ replaced by a space.
func appendUnescaped(buf []byte, tok string) []byte {
	for {
		i := strings.Index(tok, spaceMark)
		if i < 0 {
			return append(buf, tok...)
		}
		buf = append(buf, tok[:i]...)
		buf = append(buf, ' ')
		tok = tok[i+len(spaceMark):]
	}
}

// spmQueue is a binary heap of bigrams ordered by before.
type spmQueue []spmBigram

func (q *spmQueue) push(b spmBigram) {
	h := append(*q, b)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].before(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *spmQueue) pop() spmBigram {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].before(h[m]) {
			m = l
		}
		if r < len(h) && h[r].before(h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}
