package privacy

import (
	"slices"
	"strconv"
	"strings"
)

// Kind names a category of personal data.
type Kind string

// The kinds of personal data the Detector finds.
const (
	KindEmail    Kind = "email"
	KindPhone    Kind = "phone"
	KindCNID     Kind = "cn_id"
	KindBankCard Kind = "bank_card"
	KindIBAN     Kind = "iban"
	KindIP       Kind = "ip"
	KindSecret   Kind = "secret"
	KindAddress  Kind = "address"
)

// Kinds returns every kind, most specific first: the order in which overlapping
// matches of equal length are preferred and in which Describe lists counts.
func Kinds() []Kind {
	return []Kind{KindSecret, KindCNID, KindBankCard, KindIBAN, KindEmail, KindPhone, KindAddress, KindIP}
}

func rank(k Kind) int {
	if i := slices.Index(Kinds(), k); i >= 0 {
		return i
	}
	return len(Kinds())
}

// Span is one piece of personal data: Text is text[Start:End] of the input,
// with byte offsets on rune boundaries.
type Span struct {
	Kind       Kind
	Start, End int
	Text       string
}

// Detector finds personal data in English and Chinese text. It holds only
// read-only tables, so one Detector serves any number of goroutines.
type Detector struct {
	ibanLen  map[string]int  // IBAN length by country code
	usStates map[string]bool // two-letter US state and territory codes
}

// NewDetector builds the lookup tables once.
func NewDetector() *Detector {
	d := &Detector{ibanLen: map[string]int{}, usStates: map[string]bool{}}
	// The IBAN registry's lengths for the countries that use IBANs most.
	for _, f := range strings.Fields(`AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 CH21 CR22 CY28 CZ24
		DE22 DK18 DO28 EE20 EG29 ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23
		IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 MC27 MD24 ME22 MK19 MR27 MT31 MU30
		NL18 NO15 PK24 PL28 PS29 PT25 QA29 RO24 RS22 SA24 SC31 SE24 SI19 SK24 SM27 TN24 TR26 UA29
		VG24 XK20`) {
		n, _ := strconv.Atoi(f[2:])
		d.ibanLen[f[:2]] = n
	}
	for _, s := range strings.Fields(`AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI
		MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP`) {
		d.usStates[s] = true
	}
	return d
}

// Find returns the personal data in text: sorted, non-overlapping spans. Where
// two matches overlap a secret wins, then the longer match, then the more
// specific kind.
func (d *Detector) Find(text string) []Span {
	s := scan{d: d, t: text}
	s.run()
	return resolve(s.spans)
}

// Contains reports whether text holds any personal data. It stops at the first
// match and allocates nothing.
func (d *Detector) Contains(text string) bool {
	s := scan{d: d, t: text, first: true}
	s.run()
	return s.hit
}

// scan is the state of one pass over one text. Each scanner looks for a cheap
// trigger (an '@', a digit run, a '+', a ':', a word) and only then validates
// a small window around it.
type scan struct {
	d     *Detector
	t     string
	spans []Span
	first bool // Contains: the first match is enough
	hit   bool
}

func (s *scan) add(k Kind, start, end int) {
	if s.first {
		s.hit = true
		return
	}
	s.spans = append(s.spans, Span{Kind: k, Start: start, End: end, Text: s.t[start:end]})
}

// run calls every scanner; each returns at once when Contains has its hit.
func (s *scan) run() {
	s.emails()
	s.numbers()
	s.plusPhones()
	s.words()
	s.ipv6s()
	s.pemKeys()
	s.chineseSecrets()
}

// resolve sorts spans and drops overlaps, keeping a secret over anything
// else (the token in "https://ghp_…@github.com" is a secret, not part of an
// email), then the longer span, then the more specific kind.
func resolve(spans []Span) []Span {
	if len(spans) < 2 {
		return spans
	}
	slices.SortFunc(spans, func(a, b Span) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return (b.End - b.Start) - (a.End - a.Start)
	})
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp.Start >= last.End {
			out = append(out, sp)
			continue
		}
		if (sp.Kind == KindSecret) != (last.Kind == KindSecret) {
			if sp.Kind == KindSecret {
				*last = sp
			}
			continue
		}
		if l, ll := sp.End-sp.Start, last.End-last.Start; l > ll || l == ll && rank(sp.Kind) < rank(last.Kind) {
			*last = sp
		}
	}
	return out
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isAlpha(c byte) bool { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }
func isHex(c byte) bool   { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// isWordByte: the characters of identifiers and of most tokens and keys.
func isWordByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }

// cleanEnd reports whether a number or token ending at e is not glued to more
// letters or digits (or to a decimal fraction).
func cleanEnd(t string, e int) bool {
	if e >= len(t) {
		return true
	}
	c := t[e]
	if isAlnum(c) || c == '_' {
		return false
	}
	return !(c == '.' && e+1 < len(t) && isDigit(t[e+1]))
}

// digitRun returns the end of the run of ASCII digits starting at i.
func digitRun(t string, i int) int {
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	return i
}

// atoi parses a short run of ASCII digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return false
}

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if isAlpha(s[i]) {
			return true
		}
	}
	return false
}
