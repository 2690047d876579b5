package hub

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tandem-llm/tandem/units"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// client talks to one hub endpoint.
type client struct {
	hc       *http.Client
	endpoint *url.URL // no trailing slash
	token    string
	log      *slog.Logger
}

func newClient(opts Options, log *slog.Logger) (*client, error) {
	ep := strings.TrimRight(cmp.Or(opts.Endpoint, os.Getenv("TANDEM_HF_ENDPOINT"), DefaultEndpoint), "/")
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("hub: endpoint %q is not an http(s) URL", ep)
	}
	hc := opts.Client
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = time.Minute
		hc = &http.Client{Transport: t}
	}
	return &client{hc: hc, endpoint: u, token: strings.TrimSpace(cmp.Or(opts.Token, os.Getenv("HF_TOKEN"))), log: log}, nil
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

// linked holds what the hub says about a file in its response headers.
type linked struct {
	size   int64  // X-Linked-Size
	sha256 string // from X-Linked-Etag, when it is a sha256
	commit string // X-Repo-Commit
}

func (l *linked) take(h http.Header) {
	if n, err := strconv.ParseInt(h.Get("X-Linked-Size"), 10, 64); err == nil && n > 0 && l.size == 0 {
		l.size = n
	}
	if s := etagSHA256(h.Get("X-Linked-Etag")); s != "" && l.sha256 == "" {
		l.sha256 = s
	}
	if c := h.Get("X-Repo-Commit"); c != "" && l.commit == "" {
		l.commit = c
	}
}

// etagSHA256 returns the sha256 in an ETag such as "\"ab12…\"" or "".
func etagSHA256(etag string) string {
	s := strings.Trim(strings.TrimPrefix(strings.TrimSpace(etag), "W/"), `"`)
	return sha256Hex(strings.TrimPrefix(s, "sha256:"))
}

// sha256Hex returns s lower-cased if it is 64 hex digits, else "".
func sha256Hex(s string) string {
	s = strings.ToLower(s)
	if len(s) != 64 || strings.Trim(s, "0123456789abcdef") != "" {
		return ""
	}
	return s
}

// do sends req, with the token if it goes to the endpoint's host, following
// redirects: the token is dropped when a redirect leaves that host, and the
// hub headers of every response on the way are collected into l (if not nil).
func (c *client) do(req *http.Request, l *linked) (*http.Response, error) {
	hc := *c.hc
	hc.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if l != nil && next.Response != nil {
			l.take(next.Response.Header)
		}
		if !sameOrigin(next.URL, c.endpoint) {
			next.Header.Del("Authorization")
		}
		return nil
	}
	if c.token != "" && sameOrigin(req.URL, c.endpoint) {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", "tandem")
	resp, err := hc.Do(req)
	if err == nil && l != nil {
		l.take(resp.Header)
	}
	return resp, err
}

// statusError explains an unexpected response about r (and file, if known).
func (c *client) statusError(resp *http.Response, r Ref, file string) error {
	code, msg := resp.Header.Get("X-Error-Code"), resp.Header.Get("X-Error-Message")
	if msg == "" && resp.StatusCode >= 400 && resp.StatusCode < 500 {
		var body struct {
			Error string `json:"error"`
		}
		if json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body) == nil {
			msg = body.Error
		}
	}
	var s string
	switch st := resp.StatusCode; {
	case (st == http.StatusUnauthorized || st == http.StatusForbidden) && !sameOrigin(resp.Request.URL, c.endpoint):
		s = "the download server refused access (its signed link may have expired)"
	case (st == http.StatusUnauthorized || st == http.StatusForbidden) && c.token == "":
		s = fmt.Sprintf("access to %s denied: it may be private or gated, or may not exist; "+
			"set HF_TOKEN to a Hugging Face access token that can read it", r.Repo)
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		s = fmt.Sprintf("access to %s denied with the token in HF_TOKEN: check that it is valid and can read the repository "+
			"(for a gated model, accept its terms at %s/%s first)", r.Repo, c.endpoint, r.Repo)
	case st == http.StatusNotFound && code == "RepoNotFound":
		s = fmt.Sprintf("repository %s not found", r.Repo)
	case st == http.StatusNotFound && code == "RevisionNotFound":
		s = fmt.Sprintf("revision %q not found in %s", r.rev(), r.Repo)
	case st == http.StatusNotFound && code == "EntryNotFound":
		s = fmt.Sprintf("file %s not found in %s at revision %q", file, r.Repo, r.rev())
	case st == http.StatusNotFound && file != "":
		s = fmt.Sprintf("not found: repository %s, revision %q or file %s", r.Repo, r.rev(), file)
	case st == http.StatusNotFound:
		s = fmt.Sprintf("not found: repository %s or revision %q", r.Repo, r.rev())
	default:
		s = fmt.Sprintf("unexpected response %q", resp.Status)
	}
	if msg = strings.TrimSpace(msg); msg != "" {
		s += " (hub: " + msg + ")"
	}
	u := *resp.Request.URL
	u.RawQuery, u.Fragment, u.User = "", "", nil // CDN URLs carry signatures
	return &StatusError{StatusCode: resp.StatusCode, URL: u.String(), Msg: s}
}

func transient(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

// treeEntry is one element of the hub's tree listing.
type treeEntry struct {
	Type string `json:"type"`
	Path string `json:"path"`
	Size int64  `json:"size"`
	LFS  *struct {
		Oid    string `json:"oid"`
		Sha256 string `json:"sha256"`
		Size   int64  `json:"size"`
	} `json:"lfs"`
}

// list returns the GGUF files of r's repository at r's revision, sorted.
func (c *client) list(ctx context.Context, r Ref) ([]remoteFile, error) {
	u := fmt.Sprintf("%s/api/models/%s/tree/%s?recursive=true", c.endpoint, r.Repo, url.PathEscape(r.rev()))
	var out []remoteFile
	for page := 0; u != ""; page++ {
		if page == 1000 {
			return nil, fmt.Errorf("hub: listing %s: more than %d pages", r.Repo, page)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("hub: %w", err)
		}
		req.Header.Set("Accept", "application/json")
		resp, err := c.do(req, nil)
		if err != nil {
			return nil, fmt.Errorf("hub: listing %s: %w", r.Repo, err)
		}
		var entries []treeEntry
		if resp.StatusCode != http.StatusOK {
			err = c.statusError(resp, r, "")
		} else if derr := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&entries); derr != nil {
			err = fmt.Errorf("hub: listing %s: bad response from %s: %w", r.Repo, c.endpoint, derr)
		}
		u = nextLink(resp)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Type != "file" || checkFile(e.Path) != "" {
				continue
			}
			f := remoteFile{path: e.Path, size: max(e.Size, 0)}
			if e.LFS != nil {
				f.size = cmp.Or(max(e.LFS.Size, 0), f.size)
				f.sha256 = cmp.Or(etagSHA256(e.LFS.Oid), sha256Hex(e.LFS.Sha256))
			}
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b remoteFile) int { return strings.Compare(a.path, b.path) })
	return out, nil
}

// nextLink returns the absolute URL of a Link: <…>; rel="next" header, or "".
func nextLink(resp *http.Response) string {
	for _, h := range resp.Header.Values("Link") {
		for l := range strings.SplitSeq(h, ",") {
			target, params, ok := strings.Cut(l, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for p := range strings.SplitSeq(params, ";") {
				if k, v, _ := strings.Cut(strings.TrimSpace(p), "="); strings.EqualFold(k, "rel") &&
					slices.Contains(strings.Fields(strings.ToLower(strings.Trim(v, `"`))), "next") {
					if u, err := resp.Request.URL.Parse(target[1 : len(target)-1]); err == nil {
						return u.String()
					}
				}
			}
		}
	}
	return ""
}

// fileURL is where the hub serves a file: {endpoint}/{repo}/resolve/{rev}/{file}.
func (c *client) fileURL(r Ref, file string) string {
	segs := strings.Split(file, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return fmt.Sprintf("%s/%s/resolve/%s/%s", c.endpoint, r.Repo, url.PathEscape(r.rev()), strings.Join(segs, "/"))
}

// transfer is one file's download into its partial file, across attempts.
type transfer struct {
	c     *client
	r     Ref
	want  remoteFile
	f     *os.File  // the partial file, positioned at off
	h     hash.Hash // sha256 of the bytes before off
	off   int64
	prog  progress
	stall time.Duration
	buf   []byte

	size   int64  // expected size, 0 if unknown yet
	sha256 string // expected sha256, "" if unknown yet
	commit string

	writeErr error
	tick     func() // called on every write (stall watchdog)
}

// loadPartial hashes what an earlier attempt left in the partial file.
func (d *transfer) loadPartial() error {
	d.size, d.sha256 = d.want.size, d.want.sha256
	st, err := d.f.Stat()
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	n := st.Size()
	if d.size > 0 && n > d.size {
		return d.restart()
	}
	if n > 0 {
		if _, err := io.Copy(d.h, io.NewSectionReader(d.f, 0, n)); err != nil {
			return fmt.Errorf("hub: reading partial download: %w", err)
		}
		d.c.log.Info("resuming download", "file", d.want.path, "have", n)
	}
	d.off = n
	if _, err := d.f.Seek(n, io.SeekStart); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

// restart empties the partial file.
func (d *transfer) restart() error {
	d.h.Reset()
	d.off = 0
	if err := d.f.Truncate(0); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

func (d *transfer) Write(p []byte) (int, error) {
	n, err := d.f.Write(p)
	d.h.Write(p[:n])
	d.off += int64(n)
	if err != nil {
		d.writeErr = err
	}
	d.prog.set(d.off, d.size)
	d.tick()
	return n, err
}

// attempt makes one request for the rest of the file and appends the body
// to the partial file. Errors worth a retry are wrapped in retryable.
func (d *transfer) attempt(ctx context.Context) error {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stalled := fmt.Errorf("no data received for %s", d.stall)
	watchdog := time.AfterFunc(d.stall, func() { cancel(stalled) })
	defer watchdog.Stop()
	d.tick = func() { watchdog.Reset(d.stall) }

	u := d.c.fileURL(d.r, d.want.path)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	req.Header.Set("Accept-Encoding", "identity") // byte offsets must be the file's
	if d.off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", d.off))
	}
	d.c.log.Debug("requesting", "url", u, "from", d.off)
	var l linked
	resp, err := d.c.do(req, &l)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if context.Cause(actx) == stalled {
			return retryable{stalled}
		}
		return retryable{err}
	}
	defer resp.Body.Close()
	d.commit = cmp.Or(l.commit, d.commit)
	switch {
	case d.size == 0:
		d.size = l.size
	case l.size > 0 && l.size != d.size:
		return fmt.Errorf("the hub's listing gives %d bytes but X-Linked-Size %d; has the file changed?", d.size, l.size)
	}
	switch {
	case d.sha256 == "":
		d.sha256 = l.sha256
	case l.sha256 != "" && l.sha256 != d.sha256:
		return fmt.Errorf("the hub's listing gives sha256 %s but X-Linked-Etag %s; has the file changed?", d.sha256, l.sha256)
	}

	total := int64(-1) // the file's size according to this response
	switch resp.StatusCode {
	case http.StatusOK:
		if d.off > 0 {
			d.c.log.Info("server ignored the range request; downloading from the start", "file", d.want.path, "had", d.off)
			if err := d.restart(); err != nil {
				return err
			}
		}
		total = resp.ContentLength
	case http.StatusPartialContent:
		start, tot, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != d.off {
			if err := d.restart(); err != nil {
				return err
			}
			return retryable{fmt.Errorf("asked for bytes from %d, got Content-Range %q; restarting", d.off, resp.Header.Get("Content-Range"))}
		}
		total = tot
		if total < 0 && resp.ContentLength >= 0 {
			total = d.off + resp.ContentLength
		}
	case http.StatusRequestedRangeNotSatisfiable:
		_, tot, _ := parseContentRange(resp.Header.Get("Content-Range"))
		if want := cmp.Or(d.size, max(tot, 0)); want > 0 && d.off == want {
			return nil // the partial file is complete
		}
		if err := d.restart(); err != nil {
			return err
		}
		return retryable{fmt.Errorf("server cannot resume from byte %d (%s); restarting", d.off, resp.Status)}
	default:
		err := d.c.statusError(resp, d.r, d.want.path)
		refused := resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden
		if transient(resp.StatusCode) || refused && !sameOrigin(resp.Request.URL, d.c.endpoint) {
			// A new request to the hub gets a fresh CDN link.
			return retryable{err}
		}
		return err
	}
	if total >= 0 {
		if d.size == 0 {
			d.size = total
		} else if total != d.size {
			if err := d.restart(); err != nil {
				return err
			}
			return fmt.Errorf("server sends a %d-byte file, expected %d", total, d.size)
		}
	}
	var body io.Reader = resp.Body
	if d.size > 0 {
		body = io.LimitReader(resp.Body, d.size-d.off+1) // one more, to notice excess
	}
	if d.buf == nil {
		d.buf = make([]byte, 1<<20)
	}
	d.prog.set(d.off, d.size)
	_, err = io.CopyBuffer(d, body, d.buf)
	switch {
	case d.writeErr != nil:
		return fmt.Errorf("writing %s: %w", d.f.Name(), d.writeErr)
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil && context.Cause(actx) == stalled:
		return retryable{stalled}
	case err != nil:
		return retryable{fmt.Errorf("connection lost after %s: %w", units.FormatBytes(d.off), err)}
	case d.size > 0 && d.off < d.size:
		return retryable{fmt.Errorf("connection closed after %d of %d bytes", d.off, d.size)}
	}
	return nil
}

// verify checks the finished download against the expected size and hash.
func (d *transfer) verify() error {
	if d.size > 0 && d.off != d.size {
		return fmt.Errorf("size mismatch: got %d bytes, expected %d; download deleted", d.off, d.size)
	}
	if d.sha256 != "" {
		if got := fmt.Sprintf("%x", d.h.Sum(nil)); got != d.sha256 {
			return fmt.Errorf("sha256 mismatch: got %s, the hub says %s; download deleted", got, d.sha256)
		}
	}
	return nil
}

// parseContentRange parses "bytes START-END/TOTAL" or "bytes */TOTAL";
// start is -1 for the latter and total -1 for "*".
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, -1, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, -1, false
	}
	total = -1
	if tot != "*" {
		n, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || n < 0 {
			return 0, -1, false
		}
		total = n
	}
	if rng == "*" {
		return -1, total, true
	}
	a, b, found := strings.Cut(rng, "-")
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if !found || err1 != nil || err2 != nil || first < 0 || last < first || (total >= 0 && last >= total) {
		return 0, -1, false
	}
	return first, total, true
}
