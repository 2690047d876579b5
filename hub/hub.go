// Package hub downloads GGUF model files from the Hugging Face hub into a
// local cache and finds them again without the network.
//
// # References
//
// A model is named by a reference, OWNER/NAME[/FILE][:QUANT][@REVISION]
// (see Ref and ParseRef); DefaultModel is one.
//
// # Hub protocol
//
// A quant (or a bare repository) is turned into a file name with the hub's
// tree API, GET {endpoint}/api/models/{OWNER}/{NAME}/tree/{REVISION}?recursive=true,
// which returns a JSON array of {"type","path","size","lfs":{"oid","size"}}
// entries (paginated with a Link: <…>; rel="next" header, which is
// followed). It was chosen over GET /api/models/{repo} because it is
// revision-aware and gives each file's size and LFS sha256 up front. A
// reference naming a file skips the listing.
//
// Files are fetched from {endpoint}/{OWNER}/{NAME}/resolve/{REVISION}/{FILE}
// (the revision path-escaped, so "refs/pr/1" becomes "refs%2Fpr%2F1"),
// following redirects (the hub sends LFS files to a CDN); the bearer token is
// sent to the endpoint's host only. The expected size and sha256 come from
// the listing or else from the hub's X-Linked-Size and X-Linked-Etag headers
// (on the redirect or the response); the size is checked against
// Content-Length / Content-Range too. The endpoint defaults to
// $TANDEM_HF_ENDPOINT or https://huggingface.co, the token to $HF_TOKEN.
//
// # Cache layout
//
// Files live in DIR/OWNER--NAME/FILE (DIR defaults to $TANDEM_HOME/models,
// see DefaultDir), each with a JSON manifest FILE.json (an Entry). A
// download goes to FILE.partial, is resumed from there with a Range request
// after a cut connection (here with retries, or by a later Pull), is checked,
// and is renamed to FILE once complete; the manifest is written last, so a
// file without a manifest is never taken as pulled.
//
// # Concurrency
//
// Pulls of the same file, from goroutines or processes, are serialized by an
// exclusive lock on FILE.lock (flock / LockFileEx), held while FILE.partial
// is written; a pull that waited finds the file complete and returns it
// without downloading. Readers never see a partial file because of the
// rename. Remove refuses to delete a file that is being pulled.
package hub

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

// DefaultModel is the model the server pulls when none is configured.
const DefaultModel = "Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M"

// DefaultEndpoint is the Hugging Face hub.
const DefaultEndpoint = "https://huggingface.co"

// Options configure Pull. The zero value pulls from the hub (or
// $TANDEM_HF_ENDPOINT) into DefaultDir silently.
type Options struct {
	Dir      string // models directory; "" means DefaultDir()
	Endpoint string // hub URL; "" means $TANDEM_HF_ENDPOINT, else DefaultEndpoint
	Token    string // bearer token; "" means $HF_TOKEN
	Force    bool   // download again even if the file is present, discarding partial downloads

	// Progress receives progress reports: a progress bar if it is a
	// terminal, otherwise a line every ProgressInterval (default 5s). nil
	// means none.
	Progress         io.Writer
	ProgressInterval time.Duration

	// Logger receives events (resolved file, resume, retry, done); nil
	// means none.
	Logger *slog.Logger

	// Client makes the requests; nil means one with connection and header
	// timeouts (and no overall timeout). Its CheckRedirect is replaced.
	Client *http.Client

	// Retries is how often a download is retried after a transient failure
	// (cut connection, stalled transfer, 5xx or 429), resuming where it
	// stopped; 0 means 5, negative means never.
	Retries int

	// StallTimeout aborts (and retries) a download that receives nothing
	// for this long; 0 means 60s.
	StallTimeout time.Duration

	backoff func(attempt int) time.Duration // wait before retry attempt (1, 2, …); tests shorten it
}

// Pull makes the file ref names available locally and returns its path.
//
// A file that is already pulled (its manifest present and its size matching
// it) is returned without network access unless opts.Force is set; see
// Resolve. Otherwise a quant or bare repository is resolved to a file with
// the hub's listing: the GGUF file whose path contains the quant as a whole
// label ("Q4_K_M" matches "model-q4_k_m.gguf" but "Q4_K" does not), or,
// failing that, as a substring; with no quant, the repository's only GGUF
// file or its Q4_K_M one. No match, or several, is an error naming the
// candidates. The file is then downloaded (see the package documentation),
// its size and, when the hub publishes it, its sha256 checked: on a mismatch
// the download is deleted and Pull fails.
//
// A malformed ref gives a *RefError; refused access a *StatusError whose
// message says HF_TOKEN may be needed.
func Pull(ctx context.Context, ref string, opts Options) (string, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return "", err
	}
	dir, err := orDefaultDir(opts.Dir)
	if err != nil {
		return "", err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !opts.Force {
		if e, err := resolveLocal(dir, r, false); err == nil {
			log.Debug("model already pulled", "ref", r.String(), "path", e.Path)
			return e.Path, nil
		}
	}
	c, err := newClient(opts, log)
	if err != nil {
		return "", err
	}
	want := remoteFile{path: r.File}
	if want.path == "" {
		files, err := c.list(ctx, r)
		if err != nil {
			return "", err
		}
		names := make([]string, len(files))
		for i, f := range files {
			names[i] = f.path
		}
		name, err := selectFile(r.Repo, names, r.Quant, true)
		if err != nil {
			return "", fmt.Errorf("hub: %w", err)
		}
		for _, f := range files {
			if f.path == name {
				want = f
			}
		}
		log.Info("resolved model", "ref", r.String(), "file", want.path)
	}
	dest := localPath(dir, r.Repo, want.path)
	lk, err := lock(ctx, dest+".lock", func() {
		log.Info("waiting for another pull of the same file", "file", dest)
	})
	if err != nil {
		return "", fmt.Errorf("hub: %w", err)
	}
	defer lk.unlock()
	if !opts.Force {
		// Present already, or pulled by whoever held the lock before us.
		if e, ok := readEntry(dest); ok && e.Revision == r.rev() &&
			(want.size == 0 || want.size == e.Size) && (want.sha256 == "" || want.sha256 == e.SHA256) {
			return dest, nil
		}
	}
	e, err := c.download(ctx, r, want, dest, opts)
	if err != nil {
		return "", err
	}
	if err := writeEntry(e); err != nil {
		return "", err
	}
	log.Info("pulled model", "ref", r.String(), "path", dest, "size", e.Size, "sha256", e.SHA256)
	return dest, nil
}

// remoteFile is a file in a repository as the hub describes it; size and
// sha256 are zero when unknown.
type remoteFile struct {
	path   string
	size   int64
	sha256 string
}

// StatusError is an unexpected HTTP status from the hub or its CDN.
type StatusError struct {
	StatusCode int
	URL        string
	Msg        string // explanation, including the hub's X-Error-Message
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("hub: %s (HTTP %d from %s)", e.Msg, e.StatusCode, e.URL)
}

// retryable marks an error after which a download may be retried.
type retryable struct{ err error }

func (e retryable) Error() string { return e.err.Error() }
func (e retryable) Unwrap() error { return e.err }

// download fetches want into dest via dest+".partial", resuming what is
// there, and returns the new manifest. The caller holds the file's lock.
func (c *client) download(ctx context.Context, r Ref, want remoteFile, dest string, opts Options) (Entry, error) {
	part := dest + ".partial"
	if opts.Force {
		if err := os.Remove(part); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Entry{}, fmt.Errorf("hub: %w", err)
		}
	}
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return Entry{}, fmt.Errorf("hub: %w", err)
	}
	defer f.Close() // after a failure the partial file stays for the next attempt
	d := &transfer{c: c, r: r, want: want, f: f, h: sha256.New(),
		prog:  newProgress(opts.Progress, want.path[strings.LastIndexByte(want.path, '/')+1:], opts.ProgressInterval),
		stall: cmp.Or(opts.StallTimeout, 60*time.Second)}
	if err := d.loadPartial(); err != nil {
		return Entry{}, err
	}
	c.log.Info("downloading", "file", want.path, "url", c.fileURL(r, want.path), "have", d.off)
	retries := cmp.Or(opts.Retries, 5)
	backoff := opts.backoff
	if backoff == nil {
		backoff = func(n int) time.Duration { return min(time.Second<<(n-1), 30*time.Second) }
	}
	for attempt := 0; ; attempt++ {
		err = d.attempt(ctx)
		var re retryable
		if err == nil || !errors.As(err, &re) || attempt >= retries || ctx.Err() != nil {
			break
		}
		wait := backoff(attempt + 1)
		c.log.Warn("download interrupted; retrying", "file", want.path, "err", re.err, "have", d.off, "retry", attempt+1, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	if err == nil {
		err = d.verify()
		if err != nil {
			f.Close()
			os.Remove(part)
		}
	}
	d.prog.end(err == nil)
	if err != nil {
		if d.off == 0 {
			f.Close()
			os.Remove(part) // nothing worth resuming
		}
		if ctx.Err() != nil {
			return Entry{}, fmt.Errorf("hub: pulling %s: %w", r, context.Cause(ctx))
		}
		var re retryable
		if errors.As(err, &re) {
			err = re.err
		}
		return Entry{}, fmt.Errorf("hub: pulling %s/%s: %w", r.Repo, want.path, err)
	}
	if err := f.Sync(); err != nil {
		return Entry{}, fmt.Errorf("hub: %w", err)
	}
	if err := f.Close(); err != nil {
		return Entry{}, fmt.Errorf("hub: %w", err)
	}
	if err := os.Rename(part, dest); err != nil {
		return Entry{}, fmt.Errorf("hub: %w", err)
	}
	return Entry{Repo: r.Repo, File: want.path, Revision: r.rev(), Commit: d.commit, Size: d.off,
		SHA256: hex.EncodeToString(d.h.Sum(nil)), PulledAt: time.Now().UTC().Truncate(time.Second), Path: dest}, nil
}
