package privacy

import "strings"

// numbers visits every run of ASCII digits and tries, in order, the kinds
// that start with one: Chinese address (the house number), IPv4, Chinese ID,
// bank card, phone numbers. Most runs (years, prices, counts) fail the first
// checks.
func (s *scan) numbers() {
	t := s.t
	for i := 0; i < len(t) && !s.hit; {
		if !isDigit(t[i]) {
			i++
			continue
		}
		j := digitRun(t, i)
		s.number(i, j)
		i = j
	}
}

func (s *scan) number(i, j int) {
	t := s.t
	var prev byte
	if i > 0 {
		prev = t[i-1]
	}
	switch {
	case isAlpha(prev) || prev == '_':
		return // inside an identifier, a hash or a version tag ("v1", "x86_64")
	case prev == '.' && i >= 2 && isDigit(t[i-2]):
		return // a fraction, or a later part of a dotted number
	case prev >= 0x80 && s.chineseAddress(i, j):
		return
	}
	if j < len(t) && t[j] == '.' && j-i <= 3 {
		if end, ok := ipv4At(t, i); ok {
			if !netmask(t[i:end]) && !versionBefore(t, i) && !sectionNumber(t[i:end]) {
				s.add(KindIP, i, end)
			}
			return
		}
	}
	// Every kind below has 7 or more digits, or continues after a separator
	// or a parenthesis: most runs in prose (16 eggs, 2024年) stop here.
	if j-i < 7 && j+1 < len(t) {
		switch c := t[j]; {
		case c == ')', (c == ' ' || c == '-' || c == '.') && isDigit(t[j+1]), strings.HasPrefix(t[j:], "）"):
		default:
			return
		}
	} else if j-i < 7 {
		return
	}
	// cont: a later group of "1234 5678 …"; only the first group starts a match
	cont := i >= 2 && (prev == ' ' || prev == '-' || prev == '.') && isDigit(t[i-2])
	if !cont {
		if end, ok := chineseID(t, i, j); ok {
			s.add(KindCNID, i, end)
			return
		}
		if end, ok := bankCard(t, i, j); ok && !minusBefore(t, i) && (end > j || !inNumberList(t, i, j, validCard)) {
			s.add(KindBankCard, i, end)
			return
		}
	}
	if a, b, ok := s.chineseMobile(i, j, cont); ok {
		s.add(KindPhone, a, b)
		return
	}
	if cont {
		return
	}
	a, b, ok := s.chineseLandline(i, j)
	if !ok {
		a, b, ok = s.nanp(i, j)
	}
	if !ok {
		a, b, ok = s.contextPhone(i)
	}
	if ok {
		s.add(KindPhone, a, b)
	}
}

// chineseID matches an 18-character resident identity number: 17 digits and
// a check character (digit or X) under ISO 7064 MOD 11-2, with a valid birth
// date (1900-2099) at offsets 6-13. The old 15-digit form has no check digit,
// so it is only taken after the word 身份证 (ID card).
func chineseID(t string, i, j int) (int, bool) {
	end := j
	switch n := j - i; {
	case n == 17 && j < len(t) && (t[j] == 'X' || t[j] == 'x'):
		end = j + 1
	case n == 18:
	case n == 15 && strings.Contains(t[max(0, i-30):i], "身份证"):
		if !cleanEnd(t, j) || t[i] == '0' || !validDate(1900+atoi(t[i+6:i+8]), atoi(t[i+8:i+10]), atoi(t[i+10:i+12])) {
			return 0, false
		}
		return j, true
	default:
		return 0, false
	}
	id := t[i:end]
	if !cleanEnd(t, end) || id[0] == '0' || !validDate(atoi(id[6:10]), atoi(id[10:12]), atoi(id[12:14])) {
		return 0, false
	}
	sum := 0
	for k, w := range [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2} {
		sum += int(id[k]-'0') * w
	}
	want := "10X98765432"[sum%11]
	got := id[17]
	if got == 'x' {
		got = 'X'
	}
	return end, got == want
}

func validDate(y, m, d int) bool {
	if y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// bankCard matches 13-19 digit card numbers, contiguous or in groups joined
// by one kind of separator ("4111 1111 1111 1111", "3782-822463-10005"),
// with a real issuer prefix and a valid Luhn check digit. A grouped number
// starts with a 4-digit group, and a sequence longer than 19 digits is some
// other list of numbers. The caller rejects a contiguous one among other
// long numbers, where one in ten passes Luhn by chance.
func bankCard(t string, i, j int) (int, bool) {
	var digits [19]byte
	n := copy(digits[:], t[i:j])
	if j-i > 19 || (j-i < 13 && j-i != 4) {
		return 0, false
	}
	end := j
	var sep byte
	for end+1 < len(t) && (t[end] == ' ' || t[end] == '-') && isDigit(t[end+1]) {
		if sep == 0 {
			sep = t[end]
		} else if t[end] != sep {
			break
		}
		e := digitRun(t, end+1)
		g := e - end - 1
		if n+g > 19 || g < 2 || g > 6 || j-i != 4 {
			return 0, false
		}
		n += copy(digits[n:], t[end+1:e])
		end = e
	}
	if n < 13 || !cleanEnd(t, end) || !validCard(string(digits[:n])) {
		return 0, false
	}
	return end, true
}

// validCard checks a card number's issuer prefix, the lengths that issuer
// uses, and the Luhn digit.
func validCard(d string) bool {
	n := len(d)
	if n < 13 {
		return false
	}
	switch d[0] {
	case '2': // Mastercard 2221-2720
		if p := atoi(d[1:4]); p < 221 || p > 720 || n != 16 {
			return false
		}
	case '3':
		switch d[1] {
		case '4', '7': // American Express
			if n != 15 {
				return false
			}
		case '5': // JCB
			if n < 16 {
				return false
			}
		case '0', '6', '8', '9': // Diners Club
			if n < 14 {
				return false
			}
		default:
			return false
		}
	case '4': // Visa
		if n != 13 && n != 16 && n != 19 {
			return false
		}
	case '5', '6': // Mastercard, Maestro, Discover, UnionPay
		if n < 16 {
			return false
		}
	default:
		return false
	}
	return n <= 19 && strings.Count(d, d[:1]) != n && luhn(d)
}

func luhn(d string) bool {
	sum := 0
	for k := range d {
		v := int(d[len(d)-1-k] - '0')
		if k%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// ipv4At matches a dotted quad at i: four decimal octets ≤ 255 without
// leading zeros, not part of a longer dotted sequence (1.2.3.4.5) and not
// glued to a letter ("v1.2.3.4").
func ipv4At(t string, i int) (int, bool) {
	if i > 0 && (isAlnum(t[i-1]) || t[i-1] == '_' || t[i-1] == '.') {
		return 0, false
	}
	p := i
	for k := 0; k < 4; k++ {
		if k > 0 {
			if p >= len(t) || t[p] != '.' {
				return 0, false
			}
			p++
		}
		q := digitRun(t, p)
		if n := q - p; n == 0 || n > 3 || n > 1 && t[p] == '0' || atoi(t[p:q]) > 255 {
			return 0, false
		}
		p = q
	}
	if !cleanEnd(t, p) {
		return 0, false
	}
	return p, true
}

// versionBefore reports whether the word before i names a version or a
// section ("version 1.2.3.4", "build 10.0.0.1", "section 10.2.3.4").
func versionBefore(t string, i int) bool {
	e := i
	for e > 0 && (t[e-1] == ' ' || t[e-1] == ':') {
		e--
	}
	b := e
	for b > 0 && e-b < 16 && isAlpha(t[b-1]) {
		b--
	}
	w := strings.ToLower(t[b:e])
	switch w {
	case "ver", "release", "build", "firmware", "v", "section", "sec", "chapter", "clause", "figure",
		"fig", "table", "step", "paragraph", "para", "oid":
		return true
	}
	return strings.HasPrefix(w, "version") // also "versionadded::"
}

// sectionNumber reports whether a dotted quad is more likely a section,
// object identifier or version number than a host: a first part below 10
// and the others below 32 (4.2.1.14), an OID arc 1.x or 2.x with a small
// second part (2.5.29.32, 1.3.101.110), or a first part 0, which no host
// has (0.7.100.3). The few real hosts of the first shape are public
// resolvers such as 1.1.1.1 and 8.8.8.8, which identify no one.
func sectionNumber(quad string) bool {
	var v [4]int
	for k, p := 0, 0; k < len(quad); p++ {
		e := digitRun(quad, k)
		v[p] = atoi(quad[k:e])
		k = e + 1
	}
	switch {
	case v[0] == 0:
		return true
	case (v[0] == 1 || v[0] == 2) && v[1] < 10:
		return true
	}
	return v[0] < 10 && v[1] < 32 && v[2] < 32 && v[3] < 32
}

// netmask reports whether a dotted quad is a subnet mask (255.255.255.0) or
// a wildcard mask (0.0.0.255), which identify no host.
func netmask(quad string) bool {
	var v, octet uint32
	for i := 0; i < len(quad); i++ {
		if quad[i] == '.' {
			v, octet = v<<8|octet, 0
		} else {
			octet = octet*10 + uint32(quad[i]-'0')
		}
	}
	v = v<<8 | octet
	return ^v&(^v+1) == 0 || v&(v+1) == 0
}

// validIPv4 reports whether s is exactly a dotted quad (for IPv6's embedded
// IPv4 tail).
func validIPv4(s string) bool {
	end, ok := ipv4At(s, 0)
	return ok && end == len(s)
}

// iban matches an IBAN at the word starting at i: country code, two check
// digits and the account (BBAN), contiguous or in groups of four separated by
// single spaces, of the country's length and passing the mod-97 check.
func (s *scan) iban(i int) (int, bool) {
	t := s.t
	want, ok := s.d.ibanLen[t[i:i+2]]
	if !ok {
		return 0, false
	}
	var buf [34]byte
	n, k := 0, i
	for n < want && k < len(t) {
		c := t[k]
		switch {
		case isDigit(c) || isUpper(c):
			buf[n] = c
			n++
			k++
		case c == ' ' && n%4 == 0 && k+1 < len(t) && (isDigit(t[k+1]) || isUpper(t[k+1])):
			k++
		default:
			return 0, false
		}
	}
	if n != want || !cleanEnd(t, k) || !isDigit(buf[2]) || !isDigit(buf[3]) {
		return 0, false
	}
	// mod 97 of the number formed by BBAN + country + check digits, letters as 10-35
	r := 0
	for x := 0; x < n; x++ {
		c := buf[(x+4)%n]
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A') + 10) % 97
		}
	}
	return k, r == 1
}
