package chat

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pyIsSpace is Python's str.isspace for one character, which Jinja's trim
// filter and str.strip() use: Go's unicode.IsSpace plus the information
// separators U+001C–U+001F.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyStrip is Python's str.strip() with no argument. Invalid UTF-8 is never
// whitespace, so it is kept.
func pyStrip(s string) string { return strings.TrimLeftFunc(pyRStrip(s), pyIsSpace) }

// pyRStrip is Python's str.rstrip() with no argument.
func pyRStrip(s string) string { return strings.TrimRightFunc(s, pyIsSpace) }

// pyJSONString is json.dumps(s, ensure_ascii=False), the tojson filter of
// transformers' chat templates: no HTML escaping, non-ASCII kept, and
// Python's short escapes. Invalid UTF-8 bytes cannot occur in a Python
// string; they are written as U+FFFD like encoding/json does.
func pyJSONString(s string) string {
	var sb strings.Builder
	sb.Grow(len(s) + 2)
	sb.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch r {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		default:
			if r < 0x20 {
				sb.WriteString(`\u00`)
				sb.WriteString(strconv.FormatInt(int64(r)>>4, 16))
				sb.WriteString(strconv.FormatInt(int64(r)&15, 16))
				continue
			}
			sb.WriteRune(r) // RuneError for invalid bytes
		}
	}
	sb.WriteByte('"')
	return sb.String()
}
