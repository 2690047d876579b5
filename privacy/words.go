package privacy

import "strings"

// words visits every ASCII word ([A-Za-z0-9_-]+) that does not start with a
// digit: API keys and tokens, secret keywords, IBANs, UK postcodes and the
// suffixes of US street names are all recognised from their first word.
func (s *scan) words() {
	t := s.t
	for i := 0; i < len(t) && !s.hit; {
		if !isWordByte(t[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(t) && isWordByte(t[j]) {
			j++
		}
		if j-i >= 2 && !isDigit(t[i]) {
			j = max(j, s.word(i, j))
		}
		i = j
	}
}

// word tries the word t[i:j] and returns where scanning resumes.
func (s *scan) word(i, j int) int {
	t := s.t
	if e, ok := s.secretToken(i, j); ok {
		s.add(KindSecret, i, e)
		return e
	}
	if a, b, ok := s.keywordSecret(i, j); ok {
		s.add(KindSecret, a, b)
		return b
	}
	if !isUpper(t[i]) {
		return j
	}
	if j-i >= 4 && isUpper(t[i+1]) && isDigit(t[i+2]) && isDigit(t[i+3]) {
		if e, ok := s.iban(i); ok {
			s.add(KindIBAN, i, e)
			return e
		}
	}
	if e, ok := ukPostcode(t, i, j); ok {
		s.add(KindAddress, i, e)
		return e
	}
	if a, b, ok := s.usStreet(i, j); ok {
		s.add(KindAddress, a, b)
		return b
	}
	return j
}

// ukPostcode matches "SW1A 1AA", "M1 1AE", "EC1A 1BB": an outward code
// (A9, A9A, A99, AA9, AA9A, AA99 with the Royal Mail's letter rules), one
// space and an inward code (9AA).
func ukPostcode(t string, i, j int) (int, bool) {
	w := t[i:j]
	if len(w) > 4 || strings.IndexByte("QVX", w[0]) >= 0 || j+4 > len(t) || t[j] != ' ' {
		return 0, false
	}
	k := 1
	if isUpper(w[1]) {
		if strings.IndexByte("IJZ", w[1]) >= 0 {
			return 0, false
		}
		k = 2
	}
	if k >= len(w) || !isDigit(w[k]) {
		return 0, false
	}
	switch rest := w[k+1:]; {
	case rest == "":
	case len(rest) > 1:
		return 0, false
	case isDigit(rest[0]):
	case k == 1 && strings.IndexByte("ABCDEFGHJKPSTUW", rest[0]) >= 0:
	case k == 2 && strings.IndexByte("ABEHMNPRVWXY", rest[0]) >= 0:
	default:
		return 0, false
	}
	in := t[j+1 : j+4]
	if !isDigit(in[0]) || !isUpper(in[1]) || !isUpper(in[2]) || strings.ContainsAny(in[1:], "CIKMOV") || !cleanEnd(t, j+4) {
		return 0, false
	}
	return j + 4, true
}
