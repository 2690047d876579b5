package tokenizer

import (
	"unicode/utf8"
)

// DecodeOptions control how ids become text.
type DecodeOptions struct {
	// Special renders control and unknown tokens as their vocabulary text
	// (llama.cpp's special/unparse_special); by default they render as
	// nothing.
	Special bool
	// KeepPrefixSpace keeps the space that SPM vocabularies (add_space_prefix)
	// put before the first word. By default the first token after an optional
	// leading BOS loses one leading space, undoing the space Encode inserts;
	// set this when decoding a continuation, such as tokens generated after a
	// prompt, whose leading space is real.
	KeepPrefixSpace bool
}

// Decode returns the text of ids: the exact bytes the tokens stand for, which
// need not be valid UTF-8. Control and unknown tokens render as nothing, ids
// out of range as nothing.
func (t *Tokenizer) Decode(ids []int32) string {
	return t.DecodeWith(ids, DecodeOptions{})
}

// DecodeWith is Decode with options.
func (t *Tokenizer) DecodeWith(ids []int32, opts DecodeOptions) string {
	var buf []byte
	strip := t.stripIndex(ids, opts)
	for i, id := range ids {
		n := len(buf)
		buf = t.appendPiece(buf, id, opts.Special)
		if i == strip && len(buf) > n && buf[n] == ' ' {
			buf = append(buf[:n], buf[n+1:]...)
		}
	}
	return string(buf)
}

// stripIndex is the position of the token whose leading space Decode
// removes, or -1.
func (t *Tokenizer) stripIndex(ids []int32, opts DecodeOptions) int {
	if !t.v.AddSpacePrefix || opts.KeepPrefixSpace || len(ids) == 0 {
		return -1
	}
	if ids[0] == t.v.BOS && t.v.BOS >= 0 {
		return 1
	}
	return 0
}

// Piece returns the bytes token id stands for, with Decode's defaults and
// no prefix-space removal: nothing for control, unknown and out-of-range ids.
func (t *Tokenizer) Piece(id int32) []byte {
	return t.appendPiece(nil, id, false)
}

// appendPiece appends the bytes of token id to buf, following llama.cpp's
// token_to_piece.
func (t *Tokenizer) appendPiece(buf []byte, id int32, special bool) []byte {
	if id < 0 || int(id) >= len(t.attrs) || t.enc == nil {
		return buf
	}
	a := t.attrs[id]
	text := t.v.Tokens[id]
	switch {
	case a&(attrControl|attrUnknown) != 0:
		if special {
			buf = append(buf, text...)
		}
	case a&attrUserDefined != 0:
		buf = append(buf, text...)
	case a&attrNormal != 0:
		buf = t.enc.piece(id, buf)
	case a&attrByte != 0:
		if b, ok := parseByteToken(text); ok {
			buf = append(buf, b)
		} else {
			buf = append(buf, text...)
		}
	}
	// Unused and undefined tokens render as nothing.
	return buf
}

// parseByteToken parses a byte-fallback token text, "<0xXX>".
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexDigit(s[3])
	lo, ok2 := hexDigit(s[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Decoder turns a stream of ids into text, one id at a time, never splitting
// a UTF-8 sequence: the bytes of a character that byte-fallback tokens spell
// out are held back until the last of them arrives. It is not safe for
// concurrent use.
type Decoder struct {
	t       *Tokenizer
	opts    DecodeOptions
	n       int    // ids seen
	strip   int    // index of the id whose leading space goes, or -1
	pending []byte // an incomplete UTF-8 sequence
	scratch []byte
}

// NewDecoder returns a streaming decoder with Decode's defaults: the
// concatenation of its output equals Decode of the whole stream, except that
// invalid UTF-8 comes out as U+FFFD.
func (t *Tokenizer) NewDecoder() *Decoder {
	return t.NewDecoderWith(DecodeOptions{})
}

// NewDecoderWith returns a streaming decoder with options.
func (t *Tokenizer) NewDecoderWith(opts DecodeOptions) *Decoder {
	d := &Decoder{t: t, opts: opts, strip: -1}
	if t.v.AddSpacePrefix && !opts.KeepPrefixSpace {
		d.strip = 0
	}
	return d
}

// Add decodes one more id and returns the text that is now complete: always
// valid UTF-8, possibly empty. Bytes that can never form a character come
// out as U+FFFD.
func (d *Decoder) Add(id int32) string {
	if d.n == 0 && d.strip == 0 && id == d.t.v.BOS && id >= 0 {
		d.strip = 1 // the space goes from the token after BOS
	}
	p := d.t.appendPiece(d.scratch[:0], id, d.opts.Special)
	if d.n == d.strip && len(p) > 0 && p[0] == ' ' {
		p = p[1:]
	}
	d.n++
	d.scratch = p[:0]
	if len(d.pending) == 0 && utf8.Valid(p) {
		return string(p) // the common case
	}
	d.pending = append(d.pending, p...)
	var out []byte
	b := d.pending
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			if !utf8.FullRune(b) {
				break // a valid prefix: wait for the rest
			}
			out = utf8.AppendRune(out, utf8.RuneError)
			b = b[1:]
			continue
		}
		out = append(out, b[:size]...)
		b = b[size:]
	}
	d.pending = append(d.pending[:0], b...)
	return string(out)
}

// Flush returns whatever is held back, with each byte of an unfinished
// sequence as U+FFFD, and empties the decoder's buffer.
func (d *Decoder) Flush() string {
	var out []byte
	b := d.pending
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
			b = b[1:]
			continue
		}
		out = append(out, b[:size]...)
		b = b[size:]
	}
	d.pending = d.pending[:0]
	return string(out)
}
