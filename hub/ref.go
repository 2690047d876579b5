package hub

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultRevision is the revision pulled when a reference names none.
const DefaultRevision = "main"

// defaultQuant is picked when a reference names neither a file nor a quant
// and the repository holds more than one GGUF file.
const defaultQuant = "Q4_K_M"

// maxRefLen bounds a reference's length.
const maxRefLen = 1024

// Ref is a parsed model reference. Its text form is
//
//	[hf.co/]OWNER/NAME[/FILE][:QUANT][@REVISION]
//
// for example "Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M",
// "Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf" or
// "Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q8_0@main".
//
//   - OWNER/NAME is a Hugging Face model repository; each part starts and ends
//     with a letter, digit or '_', holds only those and '-' and '.', has at
//     most 96 characters and no "--" or ".." (the hub's own rules; they also
//     make the cache directory name OWNER--NAME unambiguous).
//   - FILE is a path inside the repository ending in ".gguf"; its segments
//     hold letters, digits and ._-+~,=()[]!&' only (no ':', '@', '/' or
//     spaces), and none is "." or "..".
//   - QUANT selects the GGUF file whose name contains it, case-insensitively
//     (see Pull). FILE and QUANT are mutually exclusive; with neither, the
//     repository's only GGUF file or else its Q4_K_M file is pulled.
//   - REVISION is a branch, tag or commit (default "main"): letters, digits
//     and ._-/ without "..", "//" or a leading or trailing '/'.
type Ref struct {
	Repo     string // "OWNER/NAME"
	File     string // path inside the repository, "" when not given
	Quant    string // quantization label such as "Q4_K_M", "" when not given
	Revision string // "" means DefaultRevision
}

// RefError reports a malformed model reference.
type RefError struct {
	Ref    string
	Reason string
}

func (e *RefError) Error() string {
	return fmt.Sprintf("invalid model reference %q: %s (want OWNER/NAME[/FILE.gguf][:QUANT][@REVISION])", e.Ref, e.Reason)
}

// ParseRef parses a model reference; see Ref for the syntax. Surrounding
// white space and a leading "hf.co/", "huggingface.co/" or
// "https://huggingface.co/" are ignored.
func ParseRef(s string) (Ref, error) {
	orig := s
	fail := func(format string, args ...any) (Ref, error) {
		return Ref{}, &RefError{Ref: orig, Reason: fmt.Sprintf(format, args...)}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return fail("empty")
	}
	if len(s) > maxRefLen {
		return fail("longer than %d bytes", maxRefLen)
	}
	if !utf8.ValidString(s) {
		return fail("not valid UTF-8")
	}
	for _, p := range []string{"https://huggingface.co/", "https://hf.co/", "huggingface.co/", "hf.co/"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			s = s[len(p):]
			break
		}
	}
	var r Ref
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		r.Revision, s = s[i+1:], s[:i]
		if strings.ContainsRune(r.Revision, ':') {
			return fail("revision %q contains ':'; put the quant first: REPO:QUANT@REVISION", r.Revision)
		}
		if err := checkRevision(r.Revision); err != "" {
			return fail("revision %q: %s", r.Revision, err)
		}
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		r.Quant, s = s[i+1:], s[:i]
		if err := checkQuant(r.Quant); err != "" {
			return fail("quant %q: %s", r.Quant, err)
		}
	}
	parts := strings.SplitN(s, "/", 3)
	if len(parts) < 2 {
		return fail("no OWNER/NAME repository")
	}
	for _, p := range parts[:2] {
		if err := checkRepoPart(p); err != "" {
			return fail("repository part %q: %s", p, err)
		}
	}
	r.Repo = parts[0] + "/" + parts[1]
	if len(parts) == 3 {
		r.File = parts[2]
		if err := checkFile(r.File); err != "" {
			return fail("file %q: %s", r.File, err)
		}
		if r.Quant != "" {
			return fail("give either a file or a quant, not both")
		}
	}
	return r, nil
}

// String formats r so that ParseRef gives it back.
func (r Ref) String() string {
	var b strings.Builder
	if owner, _, _ := strings.Cut(r.Repo, "/"); strings.EqualFold(owner, "hf.co") || strings.EqualFold(owner, "huggingface.co") {
		b.WriteString("hf.co/") // or ParseRef would strip the owner as a prefix
	}
	b.WriteString(r.Repo)
	if r.File != "" {
		b.WriteString("/" + r.File)
	}
	if r.Quant != "" {
		b.WriteString(":" + r.Quant)
	}
	if r.Revision != "" {
		b.WriteString("@" + r.Revision)
	}
	return b.String()
}

// rev returns the revision to use.
func (r Ref) rev() string {
	if r.Revision == "" {
		return DefaultRevision
	}
	return r.Revision
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func checkRepoPart(p string) string {
	switch {
	case p == "":
		return "empty"
	case len(p) > 96:
		return "longer than 96 characters"
	case strings.Contains(p, "--") || strings.Contains(p, ".."):
		return `contains "--" or ".."`
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return fmt.Sprintf("character %q not allowed", rune(c))
		}
	}
	if first, last := p[0], p[len(p)-1]; first == '-' || first == '.' || last == '-' || last == '.' {
		return "starts or ends with '-' or '.'"
	}
	return ""
}

func checkQuant(q string) string {
	if q == "" {
		return "empty"
	}
	if len(q) > 64 {
		return "longer than 64 characters"
	}
	if !isAlnum(q[0]) {
		return "must start with a letter or digit"
	}
	for i := 0; i < len(q); i++ {
		if c := q[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return fmt.Sprintf("character %q not allowed", rune(c))
		}
	}
	return ""
}

func checkRevision(rev string) string {
	switch {
	case rev == "":
		return "empty"
	case len(rev) > 255:
		return "longer than 255 characters"
	case strings.Contains(rev, ".."), strings.Contains(rev, "//"),
		strings.HasPrefix(rev, "/"), strings.HasSuffix(rev, "/"),
		strings.HasPrefix(rev, "."), strings.HasPrefix(rev, "-"):
		return `has "..", "//", or a leading '/', '.' or '-', or a trailing '/'`
	}
	for i := 0; i < len(rev); i++ {
		if c := rev[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' && c != '/' {
			return fmt.Sprintf("character %q not allowed", rune(c))
		}
	}
	return ""
}

// checkFile validates a file path inside a repository. The rules keep the
// local copy inside the cache directory on every OS and guarantee that the
// side files FILE.partial, FILE.lock and FILE.json never collide with another
// downloadable file (those all end in ".gguf").
func checkFile(f string) string {
	if len(f) > 512 {
		return "longer than 512 bytes"
	}
	if !hasGGUFSuffix(f) {
		return "not a .gguf file"
	}
	for seg := range strings.SplitSeq(f, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "empty, '.' or '..' path segment"
		}
		if len(seg) > 255 {
			return "path segment longer than 255 bytes"
		}
		if seg[len(seg)-1] == '.' {
			return "path segment ends with '.'"
		}
		for _, c := range seg {
			if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune("._-+~,=()[]!&'", c) {
				return fmt.Sprintf("character %q not allowed", c)
			}
		}
	}
	return ""
}

func hasGGUFSuffix(name string) bool {
	return len(name) > len(".gguf") && strings.EqualFold(name[len(name)-len(".gguf"):], ".gguf")
}
