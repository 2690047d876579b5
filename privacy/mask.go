package privacy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Mode is what a router does with a request that contains personal data.
type Mode string

// The privacy modes.
const (
	// ModeStrict keeps every request that contains personal data on the device.
	ModeStrict Mode = "strict"
	// ModeMask replaces personal data with placeholders before the cloud sees
	// it and puts the values back into the cloud's answer.
	ModeMask Mode = "mask"
	// ModeAllow sends requests as they are.
	ModeAllow Mode = "allow"
)

// ParseMode reads a mode name (case and surrounding spaces ignored).
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case ModeStrict, ModeMask, ModeAllow:
		return m, nil
	}
	return "", fmt.Errorf("privacy mode %q is not valid: want %s, %s or %s", s, ModeStrict, ModeMask, ModeAllow)
}

// label returns the placeholder name of a kind.
func label(k Kind) string {
	switch k {
	case KindEmail:
		return "EMAIL"
	case KindPhone:
		return "PHONE"
	case KindCNID:
		return "ID"
	case KindBankCard:
		return "CARD"
	case KindIBAN:
		return "IBAN"
	case KindIP:
		return "IP"
	case KindSecret:
		return "SECRET"
	case KindAddress:
		return "ADDRESS"
	}
	return ""
}

// isLabel reports whether name is a placeholder label, and whether it is a
// proper prefix of one (an incomplete placeholder at the end of a stream).
func isLabel(name string) (full, prefix bool) {
	for _, l := range [...]string{"EMAIL", "PHONE", "ID", "CARD", "IBAN", "IP", "SECRET", "ADDRESS"} {
		full = full || name == l
		prefix = prefix || len(name) < len(l) && strings.HasPrefix(l, name)
	}
	return full, prefix
}

// maxNumberDigits bounds a placeholder's number, so that a stream holds back
// at most len("[ADDRESS_123456789") bytes.
const maxNumberDigits = 9

// placeholderAt reads a placeholder "[LABEL_N]" at the start of s (s[0] is
// '['). It returns its length, 0 when s does not start with one, or -1 when s
// is a proper prefix of one (the rest may come in the next chunk).
func placeholderAt(s string) int {
	i := 1
	for i < len(s) && isUpper(s[i]) && i <= len("ADDRESS") {
		i++
	}
	full, prefix := isLabel(s[1:i])
	if i == len(s) {
		if full || prefix {
			return -1
		}
		return 0
	}
	if !full || s[i] != '_' {
		return 0
	}
	i++
	d := i
	for i < len(s) && isDigit(s[i]) {
		if i-d == maxNumberDigits || i == d && s[i] == '0' {
			return 0
		}
		i++
	}
	if i == len(s) {
		return -1
	}
	if i == d || s[i] != ']' {
		return 0
	}
	return i + 1
}

// Masker replaces personal data with placeholders for one request (all the
// messages of a conversation) and restores them in the answer. The same value
// gets the same placeholder in every call. A Masker is not safe for
// concurrent use.
type Masker struct {
	d        *Detector
	byValue  map[string]string // original text → placeholder
	byPlace  map[string]string // placeholder → original text
	reserved map[string]bool   // placeholder-shaped text seen in the input, never issued
	next     map[string]int    // last number issued, by label
	found    map[Kind]int      // distinct values, by kind
}

// NewMasker starts a Masker for one request.
func (d *Detector) NewMasker() *Masker {
	return &Masker{
		d:        d,
		byValue:  map[string]string{},
		byPlace:  map[string]string{},
		reserved: map[string]bool{},
		next:     map[string]int{},
		found:    map[Kind]int{},
	}
}

// Mask returns text with every piece of personal data replaced by its
// placeholder ("[EMAIL_1]", "[PHONE_2]"). Text that already looks like a
// placeholder is never given to a value: if it is one this Masker issued
// earlier, it is itself masked (and restored to the same text), so Restore
// only ever replaces what Mask put in.
func (m *Masker) Mask(text string) string {
	spans := m.d.Find(text)
	type piece struct {
		start, end int
		kind       Kind   // "" for placeholder-shaped input text
		label      string // its label
	}
	var pieces []piece
	next := 0 // the first span that ends after i
	for i := 0; ; {
		k := strings.IndexByte(text[i:], '[')
		if k < 0 {
			break
		}
		i += k
		n := placeholderAt(text[i:])
		if n <= 0 {
			i++
			continue
		}
		p := text[i : i+n]
		for next < len(spans) && spans[next].End <= i {
			next++
		}
		switch {
		case next < len(spans) && spans[next].Start < i+n: // masked away with the value around it
		case m.byPlace[p] != "":
			pieces = append(pieces, piece{i, i + n, "", p[1:strings.IndexByte(p, '_')]})
		default:
			m.reserved[p] = true
		}
		i += n
	}
	if len(spans) == 0 && len(pieces) == 0 {
		return text
	}
	for _, sp := range spans {
		pieces = append(pieces, piece{sp.Start, sp.End, sp.Kind, label(sp.Kind)})
	}
	slices.SortFunc(pieces, func(a, b piece) int { return a.start - b.start })
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, p := range pieces {
		b.WriteString(text[last:p.start])
		b.WriteString(m.placeholder(text[p.start:p.end], p.kind, p.label))
		last = p.end
	}
	b.WriteString(text[last:])
	return b.String()
}

// placeholder returns the placeholder of value, issuing the next free number
// of its label on first sight.
func (m *Masker) placeholder(value string, kind Kind, lab string) string {
	if p, ok := m.byValue[value]; ok {
		return p
	}
	var p string
	for {
		m.next[lab]++
		p = "[" + lab + "_" + strconv.Itoa(m.next[lab]) + "]"
		if !m.reserved[p] {
			break
		}
	}
	m.byValue[value] = p
	m.byPlace[p] = value
	if kind != "" {
		m.found[kind]++
	}
	return p
}

// Restore puts the original values back in place of the placeholders this
// Masker issued; any other text, placeholder-shaped or not, is unchanged.
func (m *Masker) Restore(text string) string {
	out, _ := m.restore(text, true)
	return out
}

// restore replaces the placeholders in text. Unless final, it stops before a
// possible placeholder that text ends in the middle of, and before an
// incomplete UTF-8 sequence at the end, and returns that rest separately.
func (m *Masker) restore(text string, final bool) (out, rest string) {
	var b strings.Builder
	last := 0
	for i := 0; ; {
		k := strings.IndexByte(text[i:], '[')
		if k < 0 {
			break
		}
		i += k
		n := placeholderAt(text[i:])
		if n < 0 && !final {
			b.WriteString(text[last:i])
			return b.String(), text[i:]
		}
		if n > 0 {
			if v, ok := m.byPlace[text[i:i+n]]; ok {
				b.WriteString(text[last:i])
				b.WriteString(v)
				i += n
				last = i
				continue
			}
		}
		i++
	}
	cut := len(text)
	if !final {
		cut = completeRunes(text)
	}
	if last == 0 {
		return text[:cut], text[cut:]
	}
	b.WriteString(text[last:cut])
	return b.String(), text[cut:]
}

// completeRunes returns the length of text without a trailing incomplete
// UTF-8 sequence (one that more bytes could still complete).
func completeRunes(text string) int {
	for k := 1; k <= utf8.UTFMax-1 && k <= len(text); k++ {
		c := text[len(text)-k]
		if c < utf8.RuneSelf {
			break
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRuneInString(text[len(text)-k:]) {
				return len(text) - k
			}
			break
		}
	}
	return len(text)
}

// Found returns how many distinct values of each kind Mask has replaced.
func (m *Masker) Found() map[Kind]int {
	out := make(map[Kind]int, len(m.found))
	for k, n := range m.found {
		out[k] = n
	}
	return out
}

// NewStream starts restoring one streamed answer.
func (m *Masker) NewStream() *StreamRestorer {
	return &StreamRestorer{m: m}
}

// StreamRestorer restores placeholders in an answer that arrives in chunks
// split anywhere, even inside a placeholder or a UTF-8 sequence: the
// concatenation of what Write and Flush return equals Restore of the whole
// answer. It holds back at most one partial placeholder.
type StreamRestorer struct {
	m       *Masker
	pending string
}

// Write takes the next chunk and returns the text that is safe to emit now.
func (s *StreamRestorer) Write(chunk string) string {
	out, rest := s.m.restore(s.pending+chunk, false)
	s.pending = rest
	return out
}

// Flush returns what is held back, at the end of the stream.
func (s *StreamRestorer) Flush() string {
	out, _ := s.m.restore(s.pending, true)
	s.pending = ""
	return out
}

// Count returns how many distinct values of each kind spans hold.
func Count(spans []Span) map[Kind]int {
	seen := map[Span]bool{}
	out := map[Kind]int{}
	for _, sp := range spans {
		key := Span{Kind: sp.Kind, Text: sp.Text}
		if !seen[key] {
			seen[key] = true
			out[sp.Kind]++
		}
	}
	return out
}

// Describe formats counts for a decision reason: "email×1, phone×2".
func Describe(counts map[Kind]int) string {
	var parts []string
	for _, k := range Kinds() {
		if n := counts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s×%d", k, n))
		}
	}
	return strings.Join(parts, ", ")
}
