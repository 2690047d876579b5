package hub

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseRef checks that ParseRef never panics, that what it accepts
// formats back to itself, and that an accepted file stays inside the cache.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		DefaultModel,
		"Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf",
		"hf.co/a/b:q8_0@v1.0",
		"a/b@refs/pr/1",
		"a/b/dir/x-Q4_K_M-00001-of-00002.gguf@main",
		"a/b/../../x.gguf",
		"a/b:Q4@v1:x",
		"https://huggingface.co/a/b",
	} {
		f.Add(s)
	}
	dir := filepath.FromSlash("/cache/models")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			return
		}
		back, err := ParseRef(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRef(%q) = %+v; its String %q parses to %+v, %v", s, r, r.String(), back, err)
		}
		if strings.Count(r.Repo, "/") != 1 || strings.Contains(r.Repo, "--") {
			t.Fatalf("ParseRef(%q): repo %q", s, r.Repo)
		}
		if r.File != "" && r.Quant != "" {
			t.Fatalf("ParseRef(%q): both file and quant", s)
		}
		if r.File != "" {
			p := localPath(dir, r.Repo, r.File)
			rel, err := filepath.Rel(repoDir(dir, r.Repo), p)
			if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
				t.Fatalf("ParseRef(%q): file %q escapes the cache: %q", s, r.File, p)
			}
			if !hasGGUFSuffix(r.File) {
				t.Fatalf("ParseRef(%q): file %q", s, r.File)
			}
		}
		rel, err := filepath.Rel(dir, repoDir(dir, r.Repo))
		if err != nil || strings.ContainsAny(rel, `/\`) || rel == ".." {
			t.Fatalf("ParseRef(%q): repo dir %q", s, rel)
		}
	})
}
