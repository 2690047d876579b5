package privacy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// streetSuffix reports whether w ends a US street name, and whether it is an
// abbreviation (which may carry a full stop: "St.").
func streetSuffix(w string) (ok, abbr bool) {
	switch w {
	case "Street", "Avenue", "Road", "Boulevard", "Lane", "Drive", "Court", "Way", "Place", "Terrace",
		"Parkway", "Highway", "Circle", "Square", "Trail", "Loop", "Plaza", "Alley", "Crescent", "Close":
		return true, false
	case "St", "Ave", "Av", "Rd", "Blvd", "Ln", "Dr", "Ct", "Pl", "Ter", "Pkwy", "Hwy", "Cir", "Sq", "Trl", "Plz":
		return true, true
	}
	return false, false
}

// usStreet matches a street address ending with the suffix word t[i:j]:
// a house number, one to four name words and the suffix ("1600 Amphitheatre
// Parkway", "221B Baker Street", "350 W. 5th Ave"), then optionally a unit
// ("Apt 4B", "Suite 200", "#12") and a locality ("Mountain View, CA 94043",
// "London SW1A 2AA").
func (s *scan) usStreet(i, j int) (int, int, bool) {
	t := s.t
	ok, abbr := streetSuffix(t[i:j])
	if !ok {
		return 0, 0, false
	}
	b, names := i, 0
	for {
		if b < 2 || t[b-1] != ' ' {
			return 0, 0, false
		}
		e := b - 1
		a := e
		for a > 0 && e-a < 24 && (isAlnum(t[a-1]) || t[a-1] == '.' || t[a-1] == '\'' || t[a-1] == '-') {
			a--
		}
		tok := t[a:e]
		if names > 0 && houseNumber(tok) {
			if a > 0 && t[a-1] < 0x80 && strings.IndexByte(" \t\n(,:;\"", t[a-1]) < 0 {
				return 0, 0, false
			}
			b = a
			break
		}
		if names == 4 || !streetName(tok) {
			return 0, 0, false
		}
		names++
		b = a
	}
	end := j
	if abbr && end < len(t) && t[end] == '.' {
		end++
	}
	if k := end + 1; k+1 < len(t) && t[end] == ' ' {
		w := wordAt(t, k)
		if direction(w) {
			end = k + len(w)
		}
	}
	end = unitAt(t, end)
	return b, localityAt(t, end, s.d.usStates), true
}

// wordAt returns the run of letters, digits and '.' at k.
func wordAt(t string, k int) string {
	e := k
	for e < len(t) && (isAlnum(t[e]) || t[e] == '.') {
		e++
	}
	return t[k:e]
}

func direction(w string) bool {
	switch strings.TrimSuffix(w, ".") {
	case "N", "S", "E", "W", "NE", "NW", "SE", "SW":
		return true
	}
	return false
}

// streetName: a capitalised word (Baker, O'Farrell, St.), an ordinal (5th,
// 42nd) or a compass direction.
func streetName(w string) bool {
	if w == "" {
		return false
	}
	if isDigit(w[0]) {
		d := digitRun(w, 0)
		switch w[d:] {
		case "st", "nd", "rd", "th":
			return d <= 3
		}
		return false
	}
	if direction(w) {
		return true
	}
	if !isUpper(w[0]) || len(w) < 2 {
		return false
	}
	for k := 1; k < len(w); k++ {
		if c := w[k]; !isLower(c) && c != '\'' && c != '-' && !(c == '.' && k == len(w)-1) && !(isUpper(c) && w[k-1] == '\'') {
			return false
		}
	}
	return true
}

// houseNumber: 1-6 digits not starting with 0, optionally with one letter
// (221B) or as a range (12-14).
func houseNumber(w string) bool {
	d := digitRun(w, 0)
	if d == 0 || d > 6 || w[0] == '0' {
		return false
	}
	switch rest := w[d:]; {
	case rest == "":
		return true
	case len(rest) == 1:
		return isAlpha(rest[0])
	case rest[0] == '-':
		e := digitRun(rest, 1)
		return e > 1 && e == len(rest) && e <= 7
	}
	return false
}

// unitAt extends an address at k over ", Apt 4B", " Suite 200", " #12".
func unitAt(t string, k int) int {
	p := k
	if p < len(t) && t[p] == ',' {
		p++
	}
	if p >= len(t) || t[p] != ' ' {
		return k
	}
	p++
	if p < len(t) && t[p] == '#' {
		p++
	} else {
		w := wordAt(t, p)
		switch strings.TrimSuffix(w, ".") {
		case "Apt", "Apartment", "Suite", "Ste", "Unit", "Floor", "Fl", "Room", "Rm", "Bldg", "Building":
		default:
			return k
		}
		p += len(w)
		if p < len(t) && t[p] == ' ' {
			p++
		}
	}
	e := p
	for e < len(t) && e-p < 6 && (isAlnum(t[e]) || t[e] == '-') {
		e++
	}
	if e == p || !cleanEnd(t, e) || !hasDigit(t[p:e]) && e-p > 1 {
		return k
	}
	return e
}

// localityAt extends an address at k over a city and then a US state and
// ZIP code ("Springfield, IL 62701", ", CA 94043") or a UK postcode
// ("London SW1A 2AA").
func localityAt(t string, k int, states map[string]bool) int {
	p := k
	if p < len(t) && t[p] == ',' {
		p++
	}
	if p >= len(t) || t[p] != ' ' {
		return k
	}
	p++
	for words := 0; ; words++ {
		w := wordAt(t, p)
		if len(w) == 2 && states[w] {
			e := p + 2
			if e+6 <= len(t) && t[e] == ' ' && digitRun(t, e+1) == e+6 {
				e += 6
				if e+5 <= len(t) && t[e] == '-' && digitRun(t, e+1) == e+5 {
					e += 5
				}
			}
			if cleanEnd(t, e) {
				return e
			}
		}
		if len(w) >= 2 && len(w) <= 4 && isUpper(w[0]) {
			if e, ok := ukPostcode(t, p, p+len(w)); ok && words > 0 {
				return e
			}
		}
		if words == 3 || !streetName(w) || isDigit(w[0]) || direction(w) {
			return k
		}
		p += len(w)
		if p < len(t) && t[p] == ',' {
			p++
		}
		if p >= len(t) || t[p] != ' ' {
			return k
		}
		p++
	}
}

// chineseAddress matches a Chinese address whose house number is the digit
// run at i, right after a road (路 街 道 巷 弄 胡同 村 …) or an estate (小区
// 花园 大厦 公寓 …): 北京市朝阳区建国路88号, 阳光花园3栋2单元501室. The
// address runs back over Chinese characters to the nearest word that cannot
// be part of it (在, 住, 是, 到, 地址 …) or the end of another address, and
// forward over 号/栋/单元/室 parts.
func (s *scan) chineseAddress(i, j int) bool {
	t := s.t
	r, n := utf8.DecodeLastRuneInString(t[:i])
	road := strings.ContainsRune("路街道巷弄里同村段", r)
	if !road && !strings.ContainsRune("区园苑厦寓城场府湾邸庭", r) {
		return false
	}
	end, parts := i, 0
	for k := i; ; parts++ {
		e := k
		for e < len(t) && e-k < 8 && (isDigit(t[e]) || isUpper(t[e]) || t[e] == '-') {
			e++
		}
		if e == k {
			break
		}
		m := addressMarker(t[e:])
		if m == "" {
			break
		}
		if parts == 0 {
			switch {
			case road && m != "号" && m != "号院" && m != "号楼" && m != "弄":
				return false
			case !road && (m == "楼" || m == "层" || m == "室" || m == "房" || m == "户" || m == "号" && r == '区'):
				return false
			}
		}
		k = e + len(m)
		end = k
	}
	if parts == 0 {
		return false
	}
	// back over the name of the road or estate and the districts before it
	start, name := i-n, 0
	for start > 0 && name < 30 {
		c, w := utf8.DecodeLastRuneInString(t[:start])
		if !unicode.Is(unicode.Han, c) || strings.ContainsRune("在住是到于从往址为的寄送搬去了我你他她们请把位近离由也就还已要想需让给被对号室栋幢层", c) {
			break
		}
		start -= w
		name++
	}
	if name < 2 {
		return false
	}
	if before, _ := utf8.DecodeLastRuneInString(t[:i-n]); strings.ContainsRune("这那条每各哪此该本一", before) {
		return false // 这条路3号 is "this road, the 3rd", not an address
	}
	s.add(KindAddress, start, end)
	return true
}

// addressMarker returns the unit word at the start of t (号, 号楼, 栋, 单元,
// 室 …), or "".
func addressMarker(t string) string {
	for _, m := range [...]string{"号楼", "号院", "单元", "号", "栋", "幢", "座", "楼", "层", "室", "房", "户", "弄"} {
		if strings.HasPrefix(t, m) {
			return m
		}
	}
	return ""
}
