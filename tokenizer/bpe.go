package tokenizer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Byte-level BPE (tokenizer.ggml.model = "gpt2"), matching llama.cpp's
// llm_tokenizer_bpe: the text is pre-tokenized by the expressions
// tokenizer.ggml.pre selects, each piece is byte-encoded with GPT-2's
// byte-to-unicode map, and merges are applied lowest rank first (leftmost
// first among equal ranks) with a priority queue. Gemma 4 runs the same
// merge loop on raw UTF-8 with spaces escaped as U+2581 (see gemma4.go).

// bpe is a BPE encoder. It is immutable after construction and so safe for
// concurrent use.
type bpe struct {
	pre   *preTokenizer
	chars *charTable

	byteLevel    bool // pieces are GPT-2 byte-encoded; otherwise raw UTF-8
	escapeSpaces bool // spaces become U+2581 before splitting (Gemma 4)
	newlineWords bool // a piece of only newlines is looked up whole (Gemma 4)

	// Every token text and every merge operand and result is interned as a
	// piece id, so merging compares ids, not strings.
	pieceIDs *strIndex // piece text → piece id
	pieceTok []int32   // token id of each piece, or -1 when it is not a token
	merges   mergeTable

	byteEnc  [256]string  // GPT-2 byte-to-unicode map
	byteSym  [256]int32   // piece id of a one-byte symbol (its byte-encoded form), or -1
	fallback [256][]int32 // tokens emitted for each byte of a symbol that is not a token

	// piece bytes of every token, precomputed for decoding
	pieceBuf []byte
	pieceEnd []uint32

	scratch sync.Pool // *bpeScratch, so encoding short texts does not allocate
}

type bpeMerge struct {
	rank   int32 // position in tokenizer.ggml.merges
	result int32 // piece id of the merged text
}

// mergeTable maps a pair of piece ids to its merge: an open-addressing hash
// table, because the lookup is the inner loop of encoding and a flat table
// costs about one cache miss where a Go map costs more.
type mergeTable struct {
	slots []mergeSlot // power-of-two length, at most 3/4 full
	shift uint
}

type mergeSlot struct {
	key uint64 // left<<32 | right, plus one so that zero marks an empty slot
	bpeMerge
}

func newMergeTable(n int) mergeTable {
	size, shift := 16, uint(60)
	for size*3 < n*4 {
		size *= 2
		shift--
	}
	return mergeTable{slots: make([]mergeSlot, size), shift: shift}
}

// find returns the slot of pair (l, r), or the empty slot where it goes,
// and the pair's key.
func (t *mergeTable) find(l, r int32) (*mergeSlot, uint64) {
	key := (uint64(uint32(l))<<32 | uint64(uint32(r))) + 1
	mask := uint64(len(t.slots) - 1)
	for i := (key * 0x9E3779B97F4A7C15) >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == key || s.key == 0 {
			return s, key
		}
	}
}

func (t *mergeTable) get(l, r int32) (bpeMerge, bool) {
	s, key := t.find(l, r)
	return s.bpeMerge, s.key == key
}

func newBPE(v *Vocab) (encoder, error) {
	switch v.Pre {
	case "gemma4", "granite-embed-multi-311m", "sarvam-moe":
		// SentencePiece-style BPE declared under the gpt2 model; llama.cpp
		// treats these like Gemma 4's own model.
		return newSPMStyleBPE(v, v.Pre)
	}
	pre, err := preTokenizerFor(v.Pre)
	if err != nil {
		return nil, err
	}
	return buildBPE(v, pre, bpeOptions{byteLevel: true})
}

// bpeOptions are the variations between byte-level BPE and Gemma 4's.
type bpeOptions struct {
	byteLevel    bool // GPT-2 byte encoding; otherwise raw UTF-8 with <0xXX> byte fallback
	escapeSpaces bool
	newlineWords bool
}

// buildBPE interns the vocabulary and merges.
func buildBPE(v *Vocab, pre *preTokenizer, o bpeOptions) (*bpe, error) {
	if len(v.Tokens) == 0 {
		return nil, errors.New("tokenizer: BPE vocabulary has no tokens")
	}
	if len(v.Merges) == 0 {
		return nil, errors.New("tokenizer: BPE vocabulary has no merges (tokenizer.ggml.merges)")
	}
	b := &bpe{
		pre:          pre,
		chars:        newCharTable(),
		byteLevel:    o.byteLevel,
		escapeSpaces: o.escapeSpaces,
		newlineWords: o.newlineWords,
		pieceIDs:     newStrIndex(len(v.Tokens) + len(v.Merges)/8),
		pieceTok:     make([]int32, 0, len(v.Tokens)+len(v.Merges)/8),
		merges:       newMergeTable(len(v.Merges)),
	}
	for i := range v.Tokens {
		t := tokenText(v, i)
		if _, added := b.pieceIDs.add(t); !added {
			continue // the first id wins, like llama.cpp's token_to_id.emplace
		}
		b.pieceTok = append(b.pieceTok, int32(i))
	}

	var buf []byte
	for rank, m := range v.Merges {
		// llama.cpp splits at the first space after the first byte, so a
		// merge may start with a space.
		if len(m) < 2 {
			continue
		}
		sp := strings.IndexByte(m[1:], ' ')
		if sp < 0 {
			continue
		}
		first, second := m[:sp+1], m[sp+2:]
		slot, key := b.merges.find(b.intern(first), b.intern(second))
		if slot.key == key {
			continue // the first rank wins, like bpe_ranks.emplace
		}
		buf = append(append(buf[:0], first...), second...)
		res, ok := b.pieceIDs.getBytes(buf)
		if !ok {
			res = b.intern(string(buf))
		}
		slot.key, slot.bpeMerge = key, bpeMerge{rank: int32(rank), result: res}
	}

	b.byteEnc = gpt2ByteEncoding()
	for c := 0; c < 256; c++ {
		b.byteSym[c] = -1
		if o.byteLevel {
			if id, ok := b.pieceIDs.get(b.byteEnc[c]); ok {
				b.byteSym[c] = id
			}
			// llama.cpp falls back to looking up each byte of the encoded
			// form on its own; only printable ASCII can hit.
			enc := b.byteEnc[c]
			for j := 0; j < len(enc); j++ {
				if t := b.token(enc[j : j+1]); t >= 0 {
					b.fallback[c] = append(b.fallback[c], t)
				}
			}
		} else {
			if c < 0x80 {
				if id, ok := b.pieceIDs.get(string(rune(c))); ok {
					b.byteSym[c] = id
				}
			}
			if t := b.token(fmt.Sprintf("<0x%02X>", c)); t >= 0 {
				b.fallback[c] = []int32{t}
			}
		}
	}
	b.buildPieces(v)
	return b, nil
}

// tokenText is token i's text; llama.cpp renames empty tokens.
func tokenText(v *Vocab, i int) string {
	if v.Tokens[i] == "" {
		return "[EMPTY_" + strconv.Itoa(i) + "]"
	}
	return v.Tokens[i]
}

func (b *bpe) intern(s string) int32 {
	id, added := b.pieceIDs.add(s)
	if added {
		b.pieceTok = append(b.pieceTok, -1)
	}
	return id
}

// token is llama.cpp's text_to_token: the id of the token with text s, or -1.
func (b *bpe) token(s string) int32 {
	if id, ok := b.pieceIDs.get(s); ok {
		return b.pieceTok[id]
	}
	return -1
}

// gpt2ByteEncoding is GPT-2's bytes_to_unicode: printable Latin-1 bytes map
// to themselves, the other 68 bytes to U+0100 onwards in byte order.
func gpt2ByteEncoding() [256]string {
	var enc [256]string
	n := 0
	for c := 0; c < 256; c++ {
		if printableByte(c) {
			enc[c] = string(rune(c))
		} else {
			enc[c] = string(rune(256 + n))
			n++
		}
	}
	return enc
}

func printableByte(c int) bool {
	return (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF)
}

// gpt2ByteDecoding inverts gpt2ByteEncoding, indexed by code point (all are
// below U+0144); -1 where no byte maps.
func gpt2ByteDecoding() [324]int16 {
	var dec [324]int16
	for i := range dec {
		dec[i] = -1
	}
	n := 0
	for c := 0; c < 256; c++ {
		if printableByte(c) {
			dec[c] = int16(c)
		} else {
			dec[256+n] = int16(c)
			n++
		}
	}
	return dec
}

// bpeSymbol is a span of the piece being merged, linked to its neighbours.
type bpeSymbol struct {
	prev, next int32
	start, n   int32 // byte span in the piece; n == 0 once merged away
	id         int32 // piece id, -1 when it can take part in no merge
	rank, res  int32 // mergeSmall: the merge with the next symbol (rank -1: none)
}

// bpeBigram is a candidate merge of symbol left with its right neighbour.
type bpeBigram struct {
	key    uint64 // rank<<32 | left: the queue order, lowest rank then leftmost
	size   int32  // bytes of both symbols when queued; a change marks it stale
	result int32  // piece id of the merged text
}

// bpeScratch holds one encode call's buffers, reused across its pieces.
type bpeScratch struct {
	st     splitText
	bounds []int
	tmp    []int
	syms   []bpeSymbol
	heap   []bpeBigram
	buf    []byte
}

func (b *bpe) encode(text string, out []int32) []int32 {
	if text == "" {
		return out
	}
	if b.escapeSpaces {
		text = strings.ReplaceAll(text, " ", "\u2581")
	}
	s, _ := b.scratch.Get().(*bpeScratch)
	if s == nil {
		s = &bpeScratch{}
	}
	s.st.reset(b.chars, text)
	s.bounds, s.tmp = b.pre.split(&s.st, s.bounds, s.tmp)
	start := 0
	for _, end := range s.bounds {
		out = b.encodePiece(s, s.st.s[s.st.offs[start]:s.st.offs[end]], out)
		start = end
	}
	if cap(s.st.cps) <= maxPooledText {
		s.st.s = ""
		b.scratch.Put(s)
	}
	return out
}

// maxPooledText bounds the scratch kept for reuse (in code points), so one
// huge text does not pin its buffers.
const maxPooledText = 1 << 16

// encodePiece appends the tokens of one pre-tokenized piece w (raw bytes;
// the byte-level encoding is implied by the symbols' piece ids).
func (b *bpe) encodePiece(s *bpeScratch, w string, out []int32) []int32 {
	if w == "" {
		return out
	}
	if b.pre.ignoreMerges {
		// Llama 3: a piece that is a token is never split.
		if b.byteLevel {
			s.buf = s.buf[:0]
			for i := 0; i < len(w); i++ {
				s.buf = append(s.buf, b.byteEnc[w[i]]...)
			}
			if t := b.token(string(s.buf)); t >= 0 {
				return append(out, t)
			}
		} else if t := b.token(w); t >= 0 {
			return append(out, t)
		}
	}
	if b.newlineWords && strings.Trim(w, "\n") == "" {
		// Gemma 4 (llama.cpp PR 21343): runs of newlines have their own
		// tokens that the merges do not build.
		if t := b.token(w); t >= 0 {
			return append(out, t)
		}
	}

	syms := b.symbols(s.syms[:0], w)
	s.syms = syms
	if len(syms) <= smallPiece {
		b.mergeSmall(syms)
	} else {
		s.heap = b.mergeHeap(syms, s.heap[:0])
	}

	for i := int32(0); i >= 0; i = syms[i].next {
		sym := &syms[i]
		if sym.id >= 0 {
			if t := b.pieceTok[sym.id]; t >= 0 {
				out = append(out, t)
				continue
			}
		}
		for j := sym.start; j < sym.start+sym.n; j++ {
			out = append(out, b.fallback[w[j]]...)
		}
	}
	return out
}

// symbols splits piece w into its initial symbols: bytes for byte-level
// BPE (each is one character of the byte-encoded form), UTF-8 characters
// otherwise.
func (b *bpe) symbols(syms []bpeSymbol, w string) []bpeSymbol {
	for i := 0; i < len(w); {
		n := 1
		id := b.byteSym[w[i]]
		if !b.byteLevel && w[i] >= 0x80 {
			n = min(utf8Len(w[i]), len(w)-i)
			id = -1
			if p, ok := b.pieceIDs.get(w[i : i+n]); ok {
				id = p
			}
		}
		k := int32(len(syms))
		syms = append(syms, bpeSymbol{prev: k - 1, next: k + 1, start: int32(i), n: int32(n), id: id})
		i += n
	}
	syms[len(syms)-1].next = -1
	return syms
}

// Pieces of at most smallPiece symbols (nearly all words) are merged by
// scanning for the best pair, which beats a heap at that size.
const smallPiece = 32

// mergeSmall applies merges like mergeHeap: always the lowest-rank pair of
// neighbours, the leftmost of equal ranks. Each symbol caches the merge with
// its right neighbour.
func (b *bpe) mergeSmall(syms []bpeSymbol) {
	pair := func(i int32) {
		sym := &syms[i]
		sym.rank = -1
		if sym.next >= 0 && sym.id >= 0 && syms[sym.next].id >= 0 {
			if m, ok := b.merges.get(sym.id, syms[sym.next].id); ok {
				sym.rank, sym.res = m.rank, m.result
			}
		}
	}
	for i := range syms {
		pair(int32(i))
	}
	for {
		best := int32(-1)
		for i := int32(0); i >= 0; i = syms[i].next {
			if r := syms[i].rank; r >= 0 && (best < 0 || r < syms[best].rank) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		l := &syms[best]
		r := &syms[l.next]
		l.id = l.res
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = best
		}
		pair(best)
		if l.prev >= 0 {
			pair(l.prev)
		}
	}
}

// mergeHeap applies merges with llama.cpp's priority queue: pop the
// lowest-rank (then leftmost) candidate, skip it if either side has changed
// since it was queued, merge, and queue the new neighbours.
func (b *bpe) mergeHeap(syms []bpeSymbol, h []bpeBigram) []bpeBigram {
	for i := 1; i < len(syms); i++ {
		h = b.pushBigram(h, syms, int32(i-1), int32(i))
	}
	for len(h) > 0 {
		var bg bpeBigram
		bg, h = popBigram(h)
		left := int32(bg.key)
		l := &syms[left]
		// A symbol only grows, by taking in its right neighbour, so the
		// pair is unchanged exactly when its size is.
		if l.n == 0 || l.next < 0 || l.n+syms[l.next].n != bg.size {
			continue
		}
		r := &syms[l.next]
		l.id = bg.result
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = left
		}
		h = b.pushBigram(h, syms, l.prev, left)
		h = b.pushBigram(h, syms, left, l.next)
	}
	return h
}

// The queue is a 4-ary heap: half the depth of a binary one, and a node's
// children share a cache line, which matters for pieces of a million symbols.

// pushBigram queues the merge of symbols l and r if there is one.
func (b *bpe) pushBigram(h []bpeBigram, syms []bpeSymbol, l, r int32) []bpeBigram {
	if l < 0 || r < 0 || syms[l].id < 0 || syms[r].id < 0 {
		return h
	}
	m, ok := b.merges.get(syms[l].id, syms[r].id)
	if !ok {
		return h
	}
	bg := bpeBigram{key: uint64(m.rank)<<32 | uint64(l), size: syms[l].n + syms[r].n, result: m.result}
	i := len(h)
	h = append(h, bg)
	for i > 0 {
		p := (i - 1) / 4
		if h[p].key <= bg.key {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = bg
	return h
}

// popBigram removes the first bigram in queue order.
func popBigram(h []bpeBigram) (bpeBigram, []bpeBigram) {
	top := h[0]
	last := h[len(h)-1]
	h = h[:len(h)-1]
	n := len(h)
	if n == 0 {
		return top, h
	}
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for j := c + 1; j < c+4 && j < n; j++ {
			if h[j].key < h[m].key {
				m = j
			}
		}
		if last.key <= h[m].key {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = last
	return top, h
}

// buildPieces precomputes the bytes each token decodes to as a normal
// token, as llama.cpp's token_to_piece renders one: byte-decoded for
// byte-level BPE, U+2581 turned back into a space for Gemma 4. Byte tokens
// (<0xXX>) give their byte. The caller decides by token attribute whether a
// control, user-defined or unused token is rendered this way at all (the
// loader's fix-ups can make a control token normal, so every token gets a
// rendering).
func (b *bpe) buildPieces(v *Vocab) {
	dec := gpt2ByteDecoding()
	b.pieceEnd = make([]uint32, len(v.Tokens))
	b.pieceBuf = make([]byte, 0, len(v.Tokens)*6)
	for i := range v.Tokens {
		text := tokenText(v, i)
		switch {
		case v.Types != nil && i < len(v.Types) && v.Types[i] == TypeByte:
			b.pieceBuf = append(b.pieceBuf, byteTokenValue(text))
		case b.escapeSpaces:
			b.pieceBuf = append(b.pieceBuf, strings.ReplaceAll(text, "\u2581", " ")...)
		case b.byteLevel:
			b.pieceBuf = appendByteDecoded(b.pieceBuf, text, &dec)
		default:
			b.pieceBuf = append(b.pieceBuf, text...)
		}
		b.pieceEnd[i] = uint32(len(b.pieceBuf))
	}
}

// appendByteDecoded maps a byte-level token text back to bytes, like
// llama.cpp's llama_decode_text, including its marker for characters
// outside the byte map.
func appendByteDecoded(dst []byte, text string, dec *[324]int16) []byte {
	for i := 0; i < len(text); {
		cp, n := decodeLenient(text, i)
		i += n
		if cp >= 0 && int(cp) < len(dec) && dec[cp] >= 0 {
			dst = append(dst, byte(dec[cp]))
			continue
		}
		dst = append(dst, "[UNK_BYTE_0x"...)
		for _, c := range appendCodePoint(nil, cp) {
			dst = append(dst, fmt.Sprintf("%02x", c)...)
		}
		dst = append(dst, text...)
		dst = append(dst, ']')
	}
	return dst
}

// byteTokenValue parses a "<0xXX>" byte token like llama.cpp's
// token_to_byte (strtol of the two characters after "<0x").
func byteTokenValue(text string) byte {
	if len(text) < 4 {
		return 0
	}
	hex := text[3:min(5, len(text))]
	var v byte
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			return v
		}
	}
	return v
}

func (b *bpe) piece(id int32, buf []byte) []byte {
	if id < 0 || int(id) >= len(b.pieceEnd) {
		return buf
	}
	start := uint32(0)
	if id > 0 {
		start = b.pieceEnd[id-1]
	}
	return append(buf, b.pieceBuf[start:b.pieceEnd[id]]...)
}
