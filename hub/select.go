package hub

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// quantRE finds the quantization label in a GGUF file name, for listing the
// quants a repository offers.
var quantRE = regexp.MustCompile(`(?i)(?:^|[^a-z0-9])((?:i|t)?q[0-9]+(?:_[a-z0-9]+)*|mxfp4|bf16|fp16|f16|fp32|f32)(?:[^a-z0-9_]|$)`)

// shardRE matches the part suffix of a split GGUF file.
var shardRE = regexp.MustCompile(`(?i)-([0-9]{5})-of-([0-9]{5})\.gguf$`)

// quantOf returns the quantization label in a file name, upper-cased, or "".
func quantOf(file string) string {
	m := quantRE.FindStringSubmatch(strings.TrimSuffix(strings.ToLower(path.Base(file)), ".gguf"))
	if m == nil {
		return ""
	}
	return strings.ToUpper(m[1])
}

// matchesQuant reports whether file contains quant case-insensitively; with
// exact, the match must also stand alone: not preceded by a letter or digit
// and not followed by a letter, digit or '_' (so "Q4_K" does not match
// "q4_k_m" and "Q4_XS" does not match "iq4_xs").
func matchesQuant(file, quant string, exact bool) bool {
	f, q := strings.ToLower(file), strings.ToLower(quant)
	for off := 0; ; {
		i := strings.Index(f[off:], q)
		if i < 0 {
			return false
		}
		i += off
		if !exact {
			return true
		}
		end := i + len(q)
		if (i == 0 || !isAlnum(f[i-1])) && (end == len(f) || !isAlnum(f[end]) && f[end] != '_') {
			return true
		}
		off = i + 1
	}
}

// selectFile picks the GGUF file a reference means among a repository's GGUF
// files (paths, sorted):
//
//   - with a quant: the files whose path contains it as a whole label (see
//     matchesQuant), or failing that, when substring is set, the files that
//     contain it at all; multimodal projector files ("mmproj…") count only
//     if nothing else matches. Exactly one must remain.
//   - without: the only GGUF file, or else the one whose label is Q4_K_M.
func selectFile(repo string, files []string, quant string, substring bool) (string, error) {
	if len(files) == 0 {
		return "", fmt.Errorf("%s has no .gguf files", repo)
	}
	q := quant
	if q == "" {
		if len(files) == 1 {
			return files[0], nil
		}
		q = defaultQuant
	}
	match := func(exact bool) []string {
		var m []string
		for _, f := range files {
			if matchesQuant(f, q, exact) {
				m = append(m, f)
			}
		}
		return m
	}
	m := match(true)
	if len(m) == 0 && substring {
		m = match(false)
	}
	if len(m) > 1 {
		main := slices.DeleteFunc(slices.Clone(m), func(f string) bool {
			return strings.HasPrefix(strings.ToLower(path.Base(f)), "mmproj")
		})
		if len(main) > 0 {
			m = main
		}
	}
	switch {
	case len(m) == 1:
		return m[0], nil
	case len(m) == 0 && quant == "":
		return "", noMatchError(fmt.Sprintf("%s has %d GGUF files and none is %s; choose one with %s:QUANT (available: %s)",
			repo, len(files), defaultQuant, repo, strings.Join(availableQuants(files), ", ")))
	case len(m) == 0:
		return "", noMatchError(fmt.Sprintf("no GGUF file in %s matches quant %q; available: %s",
			repo, quant, strings.Join(availableQuants(files), ", ")))
	}
	if isOneSplitModel(m) {
		return "", fmt.Errorf("%s %s is split into %d files (%s…); split GGUF models are not supported",
			repo, q, len(m), m[0])
	}
	return "", fmt.Errorf("quant %q matches %d files in %s: %s; name one with %s/FILE",
		q, len(m), repo, strings.Join(m, ", "), repo)
}

// noMatchError is selectFile's error when no file matches.
type noMatchError string

func (e noMatchError) Error() string { return string(e) }

// availableQuants lists the distinct quant labels of files, or the file
// names themselves when some have no recognizable label.
func availableQuants(files []string) []string {
	var qs []string
	for _, f := range files {
		q := quantOf(f)
		if q == "" {
			return files
		}
		if !slices.Contains(qs, q) {
			qs = append(qs, q)
		}
	}
	slices.Sort(qs)
	return qs
}

// isOneSplitModel reports whether files are the parts of one split model.
func isOneSplitModel(files []string) bool {
	prefix := ""
	for i, f := range files {
		loc := shardRE.FindStringIndex(f)
		if loc == nil {
			return false
		}
		if i == 0 {
			prefix = f[:loc[0]]
		} else if f[:loc[0]] != prefix {
			return false
		}
	}
	return true
}
