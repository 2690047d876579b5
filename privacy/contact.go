package privacy

import "strings"

func isLocalByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isDomainByte(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

// emails finds local@domain.tld around every '@'.
func (s *scan) emails() {
	t := s.t
	for i := 0; i < len(t) && !s.hit; {
		k := strings.IndexByte(t[i:], '@')
		if k < 0 {
			return
		}
		at := i + k
		i = at + 1
		if ps, pe, ok := urlCredentials(t, at); ok {
			if ps < pe {
				s.add(KindSecret, ps, pe)
			}
			continue
		}
		l := at
		for l > 0 && at-l <= 64 && isLocalByte(t[l-1]) {
			l--
		}
		for l < at && t[l] == '.' {
			l++ // a sentence's full stop, not part of the address
		}
		if l == at || at-l > 64 || t[at-1] == '.' || strings.Contains(t[l:at], "..") || t[l:at] == "git" {
			continue // "git@host:repo" is an SSH remote, not a mailbox
		}
		r := at + 1
		for r < len(t) && r-at <= 254 && isDomainByte(t[r]) {
			r++
		}
		if r < len(t) && isDomainByte(t[r]) {
			continue // longer than any host name
		}
		for r > at+1 && (t[r-1] == '.' || t[r-1] == '-') {
			r--
		}
		if !validDomain(t[at+1 : r]) {
			continue
		}
		s.add(KindEmail, l, r)
		i = r
	}
}

// urlCredentials reports whether the '@' at at ends the credentials of a
// URL, scheme://user:password@host (not an email address), and returns the
// password's span, empty when there is none.
func urlCredentials(t string, at int) (int, int, bool) {
	b := at
	for b > 0 && at-b < 128 {
		if c := t[b-1]; c <= ' ' || c >= 0x7f || c == '/' || c == '@' {
			break
		}
		b--
	}
	if !strings.HasSuffix(t[:b], "://") {
		return 0, 0, false
	}
	if c := strings.IndexByte(t[b:at], ':'); c >= 0 {
		return b + c + 1, at, true
	}
	return at, at, true
}

// validDomain checks host names like "mail.company.co.uk": at least two
// labels, an alphabetic top-level label that is not a file extension
// ("icon@2x.png" is an image name), and not a domain reserved for examples
// (RFC 2606: example.com, *.test, …), whose addresses belong to no one.
func validDomain(d string) bool {
	if len(d) < 4 || len(d) > 253 {
		return false
	}
	l := strings.ToLower(d)
	for _, r := range [...]string{"example.com", "example.net", "example.org", "example", "test", "invalid", "localhost"} {
		if l == r || strings.HasSuffix(l, "."+r) {
			return false
		}
	}
	labels := 0
	for rest := d; ; {
		dot := strings.IndexByte(rest, '.')
		label := rest
		if dot >= 0 {
			label, rest = rest[:dot], rest[dot+1:]
		}
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		labels++
		if dot < 0 {
			if labels < 2 || len(label) < 2 || len(label) > 24 {
				return false
			}
			for i := 0; i < len(label); i++ {
				if !isAlpha(label[i]) {
					return false
				}
			}
			switch strings.ToLower(label) {
			case "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "css", "js", "ts", "json", "html",
				"txt", "md", "py", "go", "rs", "java", "pdf", "zip", "gz", "log", "yaml", "yml", "xml":
				return false
			}
			return true
		}
	}
}

// plusPhones finds international numbers written with a leading '+':
// "+1 415 555 0132", "+44 (0)20 7946 0958", "+86-138-0013-8000".
func (s *scan) plusPhones() {
	t := s.t
	for i := 0; i < len(t) && !s.hit; {
		k := strings.IndexByte(t[i:], '+')
		if k < 0 {
			return
		}
		p := i + k
		i = p + 1
		if p+1 >= len(t) || t[p+1] < '1' || t[p+1] > '9' || arithmeticBefore(t, p) {
			continue // country codes do not start with 0
		}
		if end, ok := intlNumber(t, p+1); ok {
			s.add(KindPhone, p, end)
			i = end
		}
	}
}

// arithmeticBefore reports whether the '+' at p is addition or a signed
// literal in code ("x+4", "3 +4", "= +4", "{+100000000,") rather than a
// country-code sign.
func arithmeticBefore(t string, p int) bool {
	if p > 0 && (isAlnum(t[p-1]) || strings.IndexByte("_)]{[,", t[p-1]) >= 0) {
		return true
	}
	for p > 0 && t[p-1] == ' ' {
		p--
	}
	return p > 0 && (isDigit(t[p-1]) || strings.IndexByte(")]=", t[p-1]) >= 0)
}

// intlNumber reads the digit groups after a '+' (at i, the country code):
// groups joined by one space, dash or dot, or written as "(0)" or "(415)".
// A phone number has 8 to 15 digits; single-digit groups are rare in real
// numbers and common in arithmetic, so at most two are allowed, and five
// trailing zeros make a round number.
func intlNumber(t string, i int) (int, bool) {
	digits, singles, zeros, end := 0, 0, 0, i
	for {
		g, e, next := i, 0, 0 // group digits t[g:e], group text ends at next
		if t[i] == '(' {
			g = i + 1
			e = digitRun(t, g)
			if e == g || e-g > 4 || e >= len(t) || t[e] != ')' {
				break
			}
			next = e + 1
		} else {
			e = digitRun(t, i)
			next = e
		}
		if digits+e-g > 15 {
			if digits == 0 {
				return 0, false
			}
			break
		}
		digits += e - g
		if e-g == 1 {
			singles++
		}
		for k := g; k < e; k++ {
			if t[k] == '0' {
				zeros++
			} else {
				zeros = 0
			}
		}
		end = next
		switch {
		case next < len(t) && (t[next] == '(' || isDigit(t[next]) && t[next-1] == ')'):
			i = next // "+44 (0)20": no separator around a parenthesised group
		case next+1 < len(t) && (t[next] == ' ' || t[next] == '-' || t[next] == '.') && (isDigit(t[next+1]) || t[next+1] == '('):
			i = next + 1
		default:
			i = -1
		}
		if i < 0 {
			break
		}
	}
	if digits < 8 || singles > 2 || zeros >= 5 || !cleanEnd(t, end) {
		return 0, false
	}
	return end, true
}

// isChineseMobile: 11 digits with an allocated mobile prefix (13x, 145-149,
// 15x but 154, 162/165-167, 170-178, 18x, 19x but 194).
func isChineseMobile(s string) bool {
	if len(s) != 11 || s[0] != '1' {
		return false
	}
	var ok string
	switch s[1] {
	case '3', '8':
		return true
	case '4':
		ok = "56789"
	case '5':
		ok = "012356789"
	case '6':
		ok = "2567"
	case '7':
		ok = "012345678"
	case '9':
		ok = "012356789"
	default:
		return false
	}
	return strings.IndexByte(ok, s[2]) >= 0
}

// chineseMobile matches a Chinese mobile number whose first digit run is
// [i,j): 13800138000, 138 0013 8000, 138-0013-8000, 8613800138000,
// with an optional +86 / 0086 / 86 / (+86) prefix before it. A bare
// 11-digit run after a minus sign or among other long numbers is data, not
// a phone number.
func (s *scan) chineseMobile(i, j int, cont bool) (int, int, bool) {
	t := s.t
	start, end := i, j
	switch n := j - i; {
	case n == 11 && isChineseMobile(t[i:j]):
	case n == 13 && t[i:i+2] == "86" && isChineseMobile(t[i+2:j]):
	case n == 15 && t[i:i+4] == "0086" && isChineseMobile(t[i+4:j]):
	case n == 3 && j+10 <= len(t) && (t[j] == ' ' || t[j] == '-'):
		sep := t[j]
		if digitRun(t, j+1) != j+5 || t[j+5] != sep || digitRun(t, j+6) != j+10 ||
			!isChineseMobile(t[i:j]+t[j+1:j+5]+t[j+6:j+10]) {
			return 0, 0, false
		}
		end = j + 10
	default:
		return 0, 0, false
	}
	if !cleanEnd(t, end) {
		return 0, 0, false
	}
	p := chinaPrefix(t, start)
	if p == start && (cont || end == j && (minusBefore(t, i) || inNumberList(t, i, j, isChineseMobile))) {
		return 0, 0, false
	}
	return p, end, true
}

// minusBefore reports whether the number at i has a minus sign.
func minusBefore(t string, i int) bool {
	return i > 0 && t[i-1] == '-' && (i < 2 || !isAlnum(t[i-2]))
}

// inNumberList reports whether the digit run [i,j) stands in a list of long
// numbers (a data table, an array literal): a run of 7 or more digits a few
// separator bytes before or after it that valid rejects.
func inNumberList(t string, i, j int, valid func(string) bool) bool {
	const seps = " ,;\t\r\n\"'-"
	a := j
	for a < len(t) && a-j < 6 && strings.IndexByte(seps, t[a]) >= 0 {
		a++
	}
	if b := digitRun(t, a); a > j && b-a >= 7 && !valid(t[a:b]) {
		return true
	}
	b := i
	for b > 0 && i-b < 6 && strings.IndexByte(seps, t[b-1]) >= 0 {
		b--
	}
	a = b
	for a > 0 && isDigit(t[a-1]) {
		a--
	}
	return b < i && b-a >= 7 && !valid(t[a:b])
}

// chinaPrefix returns where a +86 / 0086 / 86 / (+86) prefix of the number at
// i begins (i itself when there is none).
func chinaPrefix(t string, i int) int {
	p := i
	if p > 0 && (t[p-1] == ' ' || t[p-1] == '-') {
		p--
	}
	for _, pre := range [...]string{"(+86)", "（+86）", "(86)", "+86", "0086", "86"} {
		if strings.HasSuffix(t[:p], pre) {
			b := p - len(pre)
			if b > 0 && (isAlnum(t[b-1]) || pre == "86" && t[b-1] == '+') {
				continue
			}
			return b
		}
	}
	return i
}

// chineseLandline matches 010-12345678, 0755-1234567, (010)12345678 and
// （0755）1234567 (area code 010, 02x or 0[3-9]xx; local number 7-8 digits
// not starting with 0; optional -extension).
func (s *scan) chineseLandline(i, j int) (int, int, bool) {
	t := s.t
	switch n := j - i; {
	case t[i] != '0':
		return 0, 0, false
	case n == 3 && (t[i+1:j] == "10" || t[i+1] == '2'):
	case n == 4 && t[i+1] >= '3':
	default:
		return 0, 0, false
	}
	start, k := i, j
	switch {
	case i > 0 && t[i-1] == '(' && k < len(t) && t[k] == ')':
		start, k = i-1, k+1
	case strings.HasSuffix(t[:i], "（") && strings.HasPrefix(t[k:], "）"):
		start, k = i-len("（"), k+len("）")
	case k < len(t) && (t[k] == '-' || t[k] == ' '):
		k++
	default:
		return 0, 0, false
	}
	if start < i && k < len(t) && t[k] == ' ' {
		k++ // "(010) 12345678"
	}
	e := digitRun(t, k)
	if e-k < 7 || e-k > 8 || t[k] == '0' {
		return 0, 0, false
	}
	if e+1 < len(t) && t[e] == '-' {
		if x := digitRun(t, e+1); x-e-1 >= 1 && x-e-1 <= 5 {
			e = x
		}
	}
	if !cleanEnd(t, e) || e < len(t) && t[e] == '-' {
		return 0, 0, false
	}
	return start, e, true
}

// nanp matches North American numbers: (415) 555-0132, 415-555-0132,
// 415.555.0132 and 1-800-555-0199 (area and exchange codes start with 2-9).
func (s *scan) nanp(i, j int) (int, int, bool) {
	t := s.t
	start, end := i, 0
	switch {
	case j-i == 3 && i > 0 && t[i-1] == '(' && j < len(t) && t[j] == ')' && t[i] >= '2':
		start = i - 1
		x := j + 1
		if x < len(t) && t[x] == ' ' {
			x++
		}
		end = exchangeLine(t, x, 0)
	case j-i == 3 && j < len(t) && (t[j] == '-' || t[j] == '.') && t[i] >= '2':
		end = exchangeLine(t, j+1, t[j])
	case j-i == 1 && t[i] == '1' && j < len(t) && (t[j] == '-' || t[j] == '.'):
		a := j + 1
		if digitRun(t, a) != a+3 || a+3 >= len(t) || t[a+3] != t[j] || t[a] < '2' {
			return 0, 0, false
		}
		end = exchangeLine(t, a+4, t[j])
	}
	if end == 0 || !cleanEnd(t, end) || end+1 < len(t) && (t[end] == '-' || t[end] == '.') && isDigit(t[end+1]) {
		return 0, 0, false
	}
	return start, end, true
}

// exchangeLine reads "555-0132" at x (separator sep, or any of "-. " when
// sep is 0) and returns its end, or 0.
func exchangeLine(t string, x int, sep byte) int {
	if digitRun(t, x) != x+3 || t[x] < '2' || x+3 >= len(t) {
		return 0
	}
	if c := t[x+3]; sep != 0 && c != sep || sep == 0 && c != '-' && c != '.' && c != ' ' {
		return 0
	}
	if digitRun(t, x+4) != x+8 {
		return 0
	}
	return x + 8
}

// contextPhone accepts any 7-15 digit number (groups joined by one space,
// dash or dot, or an area code in parentheses) when a phone keyword such as
// "Tel:", "phone number" or "电话" comes just before it: this catches
// national formats without a fixed shape ("020 7946 0958").
func (s *scan) contextPhone(i int) (int, int, bool) {
	t := s.t
	start, k, digits := i, i, 0
	if i > 0 && t[i-1] == '(' {
		start = i - 1
	}
	for {
		e := digitRun(t, k)
		if digits+e-k > 15 {
			return 0, 0, false
		}
		digits += e - k
		k = e
		if k < len(t) && t[k] == ')' && start < i && k+1 < len(t) {
			k++
			if t[k] == ' ' && k+1 < len(t) {
				k++
			}
			if isDigit(t[k]) {
				continue
			}
			return 0, 0, false
		}
		if k+1 < len(t) && (t[k] == ' ' || t[k] == '-' || t[k] == '.') && isDigit(t[k+1]) {
			k++
			continue
		}
		break
	}
	if digits < 7 || !cleanEnd(t, k) || !phoneKeywordBefore(t, start) {
		return 0, 0, false
	}
	return start, k, true
}

// phoneKeywordBefore looks for a phone keyword in the 32 bytes before i.
func phoneKeywordBefore(t string, i int) bool {
	w := t[max(0, i-32):i]
	for _, kw := range [...]string{"电话", "手机", "座机", "传真", "致电", "拨打", "联系方式"} {
		if strings.Contains(w, kw) {
			return true
		}
	}
	for a := 0; a < len(w); {
		if !isAlpha(w[a]) {
			a++
			continue
		}
		b := a + 1
		for b < len(w) && isAlpha(w[b]) {
			b++
		}
		if a > 0 || i-32 <= 0 { // a word cut by the window's left edge is not a keyword
			for _, kw := range [...]string{"phone", "phones", "telephone", "tel", "mobile", "cell", "cellphone", "fax", "call", "whatsapp"} {
				if strings.EqualFold(w[a:b], kw) {
					return true
				}
			}
		}
		a = b
	}
	return false
}
