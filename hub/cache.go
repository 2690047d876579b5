package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrNotPulled is returned (wrapped) by Remove when nothing matches.
var ErrNotPulled = errors.New("not pulled")

// Entry describes a pulled file; it is also the JSON manifest stored next to
// the file as FILE.json.
type Entry struct {
	Repo     string    `json:"repo"`
	File     string    `json:"file"`
	Revision string    `json:"revision"`
	Commit   string    `json:"commit,omitempty"` // the hub's X-Repo-Commit, when sent
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256"`
	PulledAt time.Time `json:"pulled_at"`

	Path string `json:"-"` // the local file, set by List
}

// Name is the entry's reference in REPO/FILE form.
func (e Entry) Name() string { return e.Repo + "/" + e.File }

// DefaultDir is the models directory: $TANDEM_HOME/models, where TANDEM_HOME
// defaults to os.UserCacheDir()/tandem.
func DefaultDir() (string, error) {
	home := os.Getenv("TANDEM_HOME")
	if home == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("hub: no cache directory (set TANDEM_HOME): %w", err)
		}
		home = filepath.Join(cache, "tandem")
	}
	return filepath.Join(home, "models"), nil
}

func orDefaultDir(dir string) (string, error) {
	if dir != "" {
		return filepath.Clean(dir), nil
	}
	return DefaultDir()
}

// repoDir is where a repository's files live: DIR/OWNER--NAME.
func repoDir(dir, repo string) string {
	return filepath.Join(dir, strings.Replace(repo, "/", "--", 1))
}

// localPath is where a repository file lives: DIR/OWNER--NAME/FILE.
func localPath(dir, repo, file string) string {
	return filepath.Join(repoDir(dir, repo), filepath.FromSlash(file))
}

func manifestPath(p string) string { return p + ".json" }

// readEntry loads the manifest of the file at p and checks that the file is
// there with the recorded size; it does not hash the file.
func readEntry(p string) (Entry, bool) {
	b, err := os.ReadFile(manifestPath(p))
	if err != nil {
		return Entry{}, false
	}
	var e Entry
	if json.Unmarshal(b, &e) != nil {
		return Entry{}, false
	}
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() || st.Size() != e.Size {
		return Entry{}, false
	}
	e.Path = p
	return e, true
}

// writeEntry stores e's manifest next to e.Path, atomically.
func writeEntry(e Entry) error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	tmp := manifestPath(e.Path) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("hub: writing manifest: %w", err)
	}
	if err := os.Rename(tmp, manifestPath(e.Path)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("hub: writing manifest: %w", err)
	}
	return nil
}

// List returns the files pulled into dir ("" means DefaultDir), sorted by
// name. Files without a manifest, or whose size differs from it (partial or
// damaged), are left out.
func List(dir string) ([]Entry, error) {
	dir, err := orDefaultDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Entry
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") || !hasGGUFSuffix(strings.TrimSuffix(p, ".json")) {
			return nil
		}
		e, ok := readEntry(strings.TrimSuffix(p, ".json"))
		// Only trust a manifest that describes the file it sits next to.
		if ok && checkRepo(e.Repo) && checkFile(e.File) == "" && localPath(dir, e.Repo, e.File) == e.Path {
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hub: listing %s: %w", dir, err)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

func checkRepo(repo string) bool {
	owner, name, ok := strings.Cut(repo, "/")
	return ok && checkRepoPart(owner) == "" && checkRepoPart(name) == ""
}

// Resolve finds a pulled file for ref in dir ("" means DefaultDir) without
// touching the network; it is what Pull returns when the file is present.
// A reference with a quant resolves to the one pulled file of that repository
// and revision whose name carries the quant as a whole label (see Pull); a
// bare repository to its Q4_K_M file, or to its only pulled file.
func Resolve(dir, ref string) (string, bool) {
	r, err := ParseRef(ref)
	if err != nil {
		return "", false
	}
	if dir, err = orDefaultDir(dir); err != nil {
		return "", false
	}
	e, err := resolveLocal(dir, r, false)
	if err != nil {
		return "", false
	}
	return e.Path, true
}

// resolveLocal finds the pulled entry for r, at r's revision unless
// anyRevision is set.
func resolveLocal(dir string, r Ref, anyRevision bool) (Entry, error) {
	if r.File != "" {
		if e, ok := readEntry(localPath(dir, r.Repo, r.File)); ok && (anyRevision || e.Revision == r.rev()) {
			return e, nil
		}
		return Entry{}, fmt.Errorf("%s is %w", r, ErrNotPulled)
	}
	all, err := List(dir)
	if err != nil {
		return Entry{}, err
	}
	var files []string
	byFile := map[string]Entry{}
	for _, e := range all {
		if e.Repo == r.Repo && (anyRevision || e.Revision == r.rev()) {
			files = append(files, e.File)
			byFile[e.File] = e
		}
	}
	if len(files) == 0 {
		return Entry{}, fmt.Errorf("%s is %w", r, ErrNotPulled)
	}
	f, err := selectFile(r.Repo, files, r.Quant, false)
	var nm noMatchError
	switch {
	case err == nil:
		return byFile[f], nil
	case errors.As(err, &nm):
		return Entry{}, fmt.Errorf("%s is %w (pulled from %s: %s)", r, ErrNotPulled, r.Repo, strings.Join(files, ", "))
	}
	return Entry{}, fmt.Errorf("%w (pulled: %s)", err, strings.Join(files, ", "))
}

// Remove deletes a pulled file, its manifest and any partial download from
// dir ("" means DefaultDir). name is a reference as for Pull (a quant or bare
// repository is resolved among the pulled files as by Resolve, at any
// revision unless the reference names one), or the name of a pulled file,
// with or without its directory inside the repository. Remove fails if
// nothing matches (ErrNotPulled), if name is ambiguous, or if a pull of the
// file is in progress.
func Remove(dir, name string) error {
	dir, err := orDefaultDir(dir)
	if err != nil {
		return err
	}
	p, err := removeTarget(dir, name)
	if err != nil {
		return fmt.Errorf("hub: remove: %w", err)
	}
	lk, ok, err := tryLock(p + ".lock")
	if err != nil {
		return fmt.Errorf("hub: remove: %w", err)
	}
	if !ok {
		return fmt.Errorf("hub: remove: a pull of %s is in progress", p)
	}
	for _, f := range []string{manifestPath(p), p, p + ".partial"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			lk.unlock()
			return fmt.Errorf("hub: remove: %w", err)
		}
	}
	lk.unlock()
	// Prune directories left empty, up to the repository's.
	for d := filepath.Dir(p); d != dir && strings.HasPrefix(d, dir); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

// removeTarget finds the local path Remove should delete.
func removeTarget(dir, name string) (string, error) {
	var refErr error
	if r, err := ParseRef(name); err == nil {
		if r.File != "" {
			p := localPath(dir, r.Repo, r.File)
			for _, f := range []string{p, manifestPath(p), p + ".partial"} {
				if _, err := os.Lstat(f); err == nil {
					return p, nil
				}
			}
			refErr = fmt.Errorf("%s is %w", r, ErrNotPulled)
		} else {
			e, err := resolveLocal(dir, r, r.Revision == "")
			if err == nil {
				return e.Path, nil
			}
			if !errors.Is(err, ErrNotPulled) {
				return "", err
			}
			refErr = err
		}
	}
	all, err := List(dir)
	if err != nil {
		return "", err
	}
	var hits []Entry
	var names []string
	for _, e := range all {
		if e.File == name || path.Base(e.File) == name {
			hits = append(hits, e)
			names = append(names, e.Name())
		}
	}
	switch {
	case len(hits) == 1:
		return hits[0].Path, nil
	case len(hits) > 1:
		return "", fmt.Errorf("%q names %d pulled files (%s); give REPO/FILE", name, len(hits), strings.Join(names, ", "))
	case refErr != nil:
		return "", refErr
	}
	return "", fmt.Errorf("no pulled model or file is named %q: %w", name, ErrNotPulled)
}
