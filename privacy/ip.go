package privacy

import "strings"

// ipv6s finds IPv6 addresses around each ':' with hex digits on both sides:
// full (2001:0db8:85a3:0000:0000:8a2e:0370:7334), compressed (fe80::1,
// 2001:db8::8a2e:370:7334) and with an IPv4 tail (::ffff:192.0.2.1).
// Times (12:30:45), C++ scopes (std::vector) and short forms such as "1::2"
// are not addresses.
func (s *scan) ipv6s() {
	t := s.t
	for i := 0; i < len(t) && !s.hit; {
		k := strings.IndexByte(t[i:], ':')
		if k < 0 {
			return
		}
		c := i + k
		i = c + 1
		if c == 0 || c+1 >= len(t) || !(isHex(t[c-1]) || t[c-1] == ':') || !(isHex(t[c+1]) || t[c+1] == ':') {
			continue
		}
		a := c
		for a > 0 && c-a < 40 && (isHex(t[a-1]) || t[a-1] == ':') {
			a--
		}
		b := c + 1
		for b < len(t) && b-a < 46 && (isHex(t[b]) || t[b] == ':' || t[b] == '.') {
			b++
		}
		for b > c+1 && t[b-1] == '.' {
			b--
		}
		i = b
		if a > 0 && (isAlnum(t[a-1]) || t[a-1] == '_' || t[a-1] == '.' || t[a-1] == ':') || !cleanEnd(t, b) || b < len(t) && t[b] == ':' {
			continue
		}
		if cand := t[a:b]; plausibleIPv6(cand) && validIPv6(cand) {
			s.add(KindIP, a, b)
		}
	}
}

// plausibleIPv6 rejects valid but unlikely spellings: an address has a
// decimal digit and either eight groups or, compressed, at least two groups
// one of which has three or more hex digits (fe80::1, not 1::2 or abc::def).
func plausibleIPv6(s string) bool {
	if !hasDigit(s) {
		return false
	}
	groups, long := 0, false
	for rest := s; rest != ""; {
		g := rest
		if k := strings.IndexByte(rest, ':'); k >= 0 {
			g, rest = rest[:k], rest[k+1:]
		} else {
			rest = ""
		}
		if g != "" {
			groups++
			long = long || len(g) >= 3
		}
	}
	return groups >= 8 || groups >= 2 && long
}

// validIPv6 reports whether s is an IPv6 address without a zone, as
// net/netip.ParseAddr would (checked by a test) but without allocating on
// the many colon-separated strings that are not addresses.
func validIPv6(s string) bool {
	groups, compressed, i := 0, false, 0
	if strings.HasPrefix(s, "::") {
		compressed, i = true, 2
	} else if s == "" || s[0] == ':' {
		return false
	}
	for i < len(s) {
		j := i
		for j < len(s) && isHex(s[j]) {
			j++
		}
		if j < len(s) && s[j] == '.' {
			if !validIPv4(s[i:]) {
				return false
			}
			groups += 2
			break
		}
		if j == i || j-i > 4 {
			return false
		}
		groups++
		if j == len(s) {
			break
		}
		if s[j] != ':' || j+1 == len(s) {
			return false
		}
		i = j + 1
		if s[i] == ':' {
			if compressed {
				return false
			}
			compressed = true
			i++
		}
	}
	if compressed {
		return groups <= 7
	}
	return groups == 8
}
