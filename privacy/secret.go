package privacy

import (
	"strings"
	"unicode/utf8"
)

// secretToken matches the word t[i:j] against the formats of common API keys
// and tokens. The random part must look random (letters and digits), so
// "sk-learn-is-great" and "AKIAXXXXXXXXXXXXXXXX" are not keys.
func (s *scan) secretToken(i, j int) (int, bool) {
	t := s.t
	w := t[i:j]
	switch w[0] {
	case 's', 'r', 'A', 'g', 'x', 'h', 'e':
	default:
		return 0, false
	}
	random := func(rest string, min int) bool {
		return len(rest) >= min && hasDigit(rest) && hasLetter(rest)
	}
	switch {
	case strings.HasPrefix(w, "sk-"): // OpenAI sk-…, sk-proj-…, Anthropic sk-ant-…
		return j, random(w[3:], 20)
	case strings.HasPrefix(w, "sk_live_"), strings.HasPrefix(w, "sk_test_"),
		strings.HasPrefix(w, "rk_live_"), strings.HasPrefix(w, "rk_test_"): // Stripe
		return j, random(w[8:], 16)
	case len(w) == 20 && (strings.HasPrefix(w, "AKIA") || strings.HasPrefix(w, "ASIA")): // AWS access key id
		for k := 4; k < 20; k++ {
			if !isUpper(w[k]) && !isDigit(w[k]) {
				return 0, false
			}
		}
		return j, hasDigit(w[4:])
	case len(w) == 39 && strings.HasPrefix(w, "AIza"): // Google API key
		return j, random(w[4:], 35)
	case len(w) > 4 && w[0] == 'g' && w[1] == 'h' && strings.IndexByte("pousr", w[2]) >= 0 && w[3] == '_': // GitHub
		return j, random(w[4:], 30)
	case strings.HasPrefix(w, "github_pat_"):
		return j, random(w[11:], 22)
	case strings.HasPrefix(w, "glpat-"): // GitLab
		return j, random(w[6:], 20)
	case len(w) > 5 && strings.HasPrefix(w, "xox") && strings.IndexByte("abprs", w[3]) >= 0 && w[4] == '-': // Slack
		return j, random(w[5:], 10)
	case strings.HasPrefix(w, "hf_") && len(w) >= 33: // Hugging Face: letters only
		rest := w[3:]
		upper, lower := false, false
		for k := 0; k < len(rest); k++ {
			upper = upper || isUpper(rest[k])
			lower = lower || isLower(rest[k])
			if !isAlpha(rest[k]) {
				return 0, false
			}
		}
		return j, upper && lower
	case strings.HasPrefix(w, "eyJ") && len(w) >= 10: // JWT: header.payload.signature, base64url
		k := j
		for part := 0; part < 2; part++ {
			if k >= len(t) || t[k] != '.' {
				return 0, false
			}
			e := k + 1
			for e < len(t) && isWordByte(t[e]) {
				e++
			}
			if e-k-1 < 10 {
				return 0, false
			}
			k = e
		}
		return k, true
	}
	return 0, false
}

// keyword classes: a password-like keyword accepts short values and "is";
// a key-like one wants at least 8 characters and not only digits.
const (
	kwNone = iota
	kwPassword
	kwKey
)

// secretKeyword classifies a word such as "password", "DB_PASSWORD",
// "api_key", "x-api-key", "access_token" or "client_secret".
func secretKeyword(w string) int {
	if len(w) < 3 {
		return kwNone
	}
	ends := func(suffix string, anyBefore bool) bool {
		n := len(w) - len(suffix)
		if n < 0 || !strings.EqualFold(w[n:], suffix) {
			return false
		}
		return n == 0 || anyBefore || w[n-1] == '_' || w[n-1] == '-'
	}
	switch last := w[len(w)-1] | 0x20; last {
	case 'd':
		if ends("password", true) || ends("passwd", true) || ends("pwd", false) {
			return kwPassword
		}
	case 'e':
		if ends("passphrase", true) || ends("passcode", true) {
			return kwPassword
		}
	case 't':
		if ends("secret", false) {
			return kwKey
		}
	case 'n':
		if ends("token", false) {
			return kwKey
		}
	case 'y':
		if ends("api_key", true) || ends("apikey", true) || ends("api-key", true) || ends("secret_key", true) ||
			ends("access_key", true) || ends("private_key", true) || ends("secret-key", true) {
			return kwKey
		}
	}
	return kwNone
}

// keywordSecret matches the value assigned to a secret keyword in code,
// configuration or prose: password=…, "api_key": "…", DB_PASSWORD=…,
// Authorization: Bearer …, "my password is …". Only the value is the span.
// A value must hold a digit or a symbol, unless the context is unambiguous
// (an upper-case variable assigned with '=', a full-width colon): words in
// prose and identifiers in code are not secrets.
func (s *scan) keywordSecret(i, j int) (int, int, bool) {
	t := s.t
	w := t[i:j]
	if len(w) == 6 && strings.EqualFold(w, "bearer") {
		if j+1 >= len(t) || t[j] != ' ' {
			return 0, 0, false
		}
		e := j + 1
		for e < len(t) && (isWordByte(t[e]) || strings.IndexByte("._~+/=", t[e]) >= 0) {
			e++
		}
		v := t[j+1 : e]
		if len(v) < 16 || !hasDigit(v) || !hasLetter(v) || !cleanEnd(t, e) {
			return 0, 0, false
		}
		return j + 1, e, true
	}
	class := secretKeyword(w)
	if class == kwNone {
		return 0, 0, false
	}
	k := j
	if k < len(t) && (t[k] == '"' || t[k] == '\'') {
		k++ // the closing quote of a quoted key: "password": "…"
	}
	sp := k
	for k < len(t) && (t[k] == ' ' || t[k] == '\t') {
		k++
	}
	spaced := k > sp
	strong := false // the context alone says this is a secret
	switch {
	case strings.HasPrefix(t[k:], "："):
		k += len("：")
		strong = true
	case strings.HasPrefix(t[k:], ":="), strings.HasPrefix(t[k:], "=>"):
		k += 2
	case k < len(t) && (t[k] == '=' || t[k] == ':') && (k+1 >= len(t) || t[k+1] != t[k]):
		// an environment variable: DB_PASSWORD=… (but not "PWD: want %s")
		strong = t[k] == '=' && !spaced && k+1 < len(t) && t[k+1] != ' ' && !hasLower(w)
		k++
	case class == kwPassword && spaced && k+2 < len(t) && (t[k:k+2] == "is" || t[k:k+2] == "IS") && t[k+2] == ' ':
		k += 2
	default:
		return 0, 0, false
	}
	for k < len(t) && (t[k] == ' ' || t[k] == '\t') {
		k++
	}
	stop := ""
	if i > 0 && (t[i-1] == '?' || t[i-1] == '&') {
		stop = "&#"
	}
	vs, ve, quoted := valueAt(t, k, stop)
	if vs == ve {
		return 0, 0, false
	}
	v := t[vs:ve]
	min := 4
	if class == kwKey {
		min = 8
		if isAllDigits(v) || strings.ContainsAny(v, " \t") {
			return 0, 0, false
		}
	}
	switch {
	case len(v) < min || placeholderValue(v) || strings.EqualFold(v, w):
		return 0, 0, false
	case quoted && (v[0] == ' ' || v[len(v)-1] == ' ' || v[0] == '+'):
		return 0, 0, false // a string that ends here and is concatenated: "PWD="+dir
	case !quoted && codeValue(v):
		return 0, 0, false
	case !strong && !hasDigit(v) && !hasSymbol(v):
		return 0, 0, false // a word in prose ("password: then click"), an identifier in code
	}
	return vs, ve, true
}

func hasLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if isLower(s[i]) {
			return true
		}
	}
	return false
}

// valueAt reads an assigned value at k: the inside of a quoted string on one
// line, or a run of printable ASCII without spaces and without trailing
// punctuation. In a URL query (stop is "&#") the value ends at the next
// parameter.
func valueAt(t string, k int, stop string) (int, int, bool) {
	if k >= len(t) {
		return k, k, false
	}
	if q := t[k]; q == '"' || q == '\'' || q == '`' {
		for e := k + 1; e < len(t) && e-k <= 256; e++ {
			switch t[e] {
			case q:
				return k + 1, e, true
			case '\n':
				return k, k, false
			}
		}
		return k, k, false
	}
	e := k
	for e < len(t) && e-k < 256 && t[e] > ' ' && t[e] < 0x7f && strings.IndexByte("\"',;", t[e]) < 0 && strings.IndexByte(stop, t[e]) < 0 {
		e++
	}
	for e > k && strings.IndexByte(".:)]}>", t[e-1]) >= 0 {
		e--
	}
	return k, e, false
}

func isAllDigits(v string) bool {
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return false
		}
	}
	return true
}

// hasSymbol: ASCII punctuation other than the characters that join
// identifiers, paths and fields (_ - . : /).
func hasSymbol(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c > ' ' && c < 0x7f && !isAlnum(c) && strings.IndexByte("_-.:/", c) < 0 {
			return true
		}
	}
	return false
}

// placeholderValue rejects values that stand for a secret instead of being
// one: <password>, ${TOKEN}, %s, ****, your_api_key, null, str.
func placeholderValue(v string) bool {
	if strings.IndexByte("<{[($%*#&:", v[0]) >= 0 || strings.Count(v, v[:1]) == len(v) {
		return true
	}
	l := strings.ToLower(v)
	for _, p := range [...]string{"xxx", "***", "...", "your", "example", "placeholder", "redacted", "<", "changeme"} {
		if strings.Contains(l, p) {
			return true
		}
	}
	switch l {
	case "none", "null", "nil", "true", "false", "undefined", "str", "string", "int", "bool", "bytes",
		"required", "optional", "secret", "password", "token", "hidden", "empty", "default":
		return true
	}
	return false
}

// codeValue rejects unquoted values that are code: a call (getpass()), an
// index (args[0]), a composite literal (Key{1}), an attribute path
// (os.environ, self.token), a hex literal (0x115) or a file path
// (PWD=/home/me).
func codeValue(v string) bool {
	if v[0] == '/' || strings.HasPrefix(v, "~/") || strings.HasPrefix(v, "./") || strings.HasPrefix(v, "0x") {
		return true
	}
	if !isAlpha(v[0]) && v[0] != '_' {
		return false
	}
	k := 0
	for k < len(v) && (isAlnum(v[k]) || v[k] == '_' || v[k] == '.') {
		k++
	}
	if k < len(v) {
		return strings.IndexByte("([{", v[k]) >= 0
	}
	return strings.Contains(v, ".")
}

// pemKeys finds PEM private key blocks, from the BEGIN line to the END line
// (or to the end of the base64 body when the END line is missing). The body
// must hold key material: at least 64 base64 characters (END line included).
func (s *scan) pemKeys() {
	t := s.t
	for i := 0; i < len(t) && !s.hit; {
		k := strings.Index(t[i:], "-----BEGIN ")
		if k < 0 {
			return
		}
		b := i + k
		i = b + len("-----BEGIN ")
		le := strings.IndexByte(t[i:min(len(t), i+64)], '\n')
		if le < 0 {
			le = min(len(t), i+64) - i
		}
		if line := t[i : i+le]; !strings.Contains(line, "PRIVATE KEY") || !strings.Contains(line, "-----") {
			continue
		}
		end := -1
		if e := strings.Index(t[i:], "-----END "); e >= 0 {
			e += i + len("-----END ")
			if c := strings.Index(t[e:min(len(t), e+64)], "-----"); c >= 0 && strings.Contains(t[e:e+c], "PRIVATE KEY") {
				end = e + c + len("-----")
			}
		}
		if end < 0 {
			end = i + le
			for end < len(t) && (isAlnum(t[end]) || strings.IndexByte("+/=:,- \t\r\n", t[end]) >= 0) {
				end++
			}
			for end > i && strings.IndexByte(" \t\r\n", t[end-1]) >= 0 {
				end--
			}
		}
		body := 0
		for k := i + le; k < end; k++ {
			if isAlnum(t[k]) || t[k] == '+' || t[k] == '/' {
				body++
			}
		}
		if body < 64 {
			continue // the markers alone, as in code that looks for them
		}
		s.add(KindSecret, b, end)
		i = end
	}
}

// chineseSecrets finds values after 密码 (password), 口令 (passphrase),
// 密钥/秘钥 (key) and 验证码 (verification code) when a separator follows:
// 密码：Abc12345, 密码是 hunter2, 验证码为 482913. The value is the ASCII run
// after it; 密码学 (cryptography) has no separator and no value.
func (s *scan) chineseSecrets() {
	t := s.t
	for _, kw := range [...]string{"密码", "口令", "密钥", "秘钥", "验证码"} {
		for i := 0; i < len(t) && !s.hit; {
			k := strings.Index(t[i:], kw)
			if k < 0 {
				break
			}
			i += k + len(kw)
			p, sep := i, false
			for p < len(t) {
				r, n := utf8.DecodeRuneInString(t[p:])
				switch r {
				case '是', '为', '：', ':', '=':
					sep = true
				case ' ', '\u3000':
				default:
					n = 0
				}
				if n == 0 {
					break
				}
				p += n
			}
			if !sep {
				continue
			}
			vs, ve, _ := valueAt(t, p, "")
			if v := t[vs:ve]; len(v) >= 4 && !placeholderValue(v) {
				s.add(KindSecret, vs, ve)
				i = ve
			}
		}
	}
}
