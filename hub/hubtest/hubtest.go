// Package hubtest runs a fake Hugging Face hub on loopback for tests of code
// that pulls models (package hub, the CLI, the server).
//
// It serves the two parts of the hub's layout that package hub uses:
//
//	GET /api/models/{owner}/{name}/tree/{revision}[?recursive=true][&cursor=N]
//	GET /{owner}/{name}/resolve/{revision}/{file}
//
// plus a second loopback server, the CDN, that resolve redirects to when
// Behavior.Redirect is set, as the hub does for LFS files.
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tandem-llm/tandem/gguf"
)

// Behavior configures how the fake hub answers.
type Behavior struct {
	// Token, if set, must be sent as "Authorization: Bearer TOKEN" to the
	// hub (not the CDN); otherwise the hub answers 401.
	Token string
	// Redirect makes resolve answer 302 to the CDN (with X-Linked-Etag,
	// X-Linked-Size and X-Repo-Commit on the redirect), instead of serving
	// the file itself with those headers.
	Redirect bool
	// NoLinkedHeaders leaves out X-Linked-Etag and X-Linked-Size.
	NoLinkedHeaders bool
	// IgnoreRange answers range requests with the whole file (200).
	IgnoreRange bool
	// Cuts file responses (from now on) are aborted after CutAfter body
	// bytes; each cut decrements Cuts.
	Cuts     int
	CutAfter int64
	// ExpiredLinks CDN requests (from now on) are refused with 403, as
	// when a signed link has expired; each decrements it.
	ExpiredLinks int
	// Unavailable resolve requests (from now on) get 503; each decrements it.
	Unavailable int
	// WrongSHA advertises a wrong sha256 in X-Linked-Etag and the listing.
	WrongSHA bool
	// PageSize splits the tree listing into pages linked by
	// Link: <…>; rel="next" (0: one page).
	PageSize int
	// Throttle sleeps this long after each 16 KiB of a file body.
	Throttle time.Duration
	// Revisions are the revisions that exist besides "main".
	Revisions []string
}

// Request is a request the hub or CDN received; Status is 0 until the
// response header is written.
type Request struct {
	Server        string // "hub" or "cdn"
	Method        string
	Path          string // unescaped
	Range         string
	Authorization string
	Status        int
}

// Server is the fake hub. Close it when done.
type Server struct {
	*httptest.Server                  // the hub
	CDN              *httptest.Server // where Redirect sends files

	mu    sync.Mutex
	b     Behavior
	repos map[string]map[string][]byte // repo → path → content
	reqs  []Request
}

// NewServer starts a fake hub with no repositories.
func NewServer() *Server {
	s := &Server{repos: map[string]map[string][]byte{}}
	s.Server = httptest.NewServer(s.handler("hub", s.serveHub))
	s.CDN = httptest.NewServer(s.handler("cdn", s.serveCDN))
	return s
}

// Close stops both servers.
func (s *Server) Close() {
	s.Server.Close()
	s.CDN.Close()
}

// AddFile puts a file into a repository ("owner/name"), creating it.
func (s *Server) AddFile(repo, file string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos[repo] == nil {
		s.repos[repo] = map[string][]byte{}
	}
	s.repos[repo][file] = data
}

// Configure changes the behavior under the server's lock.
func (s *Server) Configure(f func(*Behavior)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.b)
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// FileRequests returns the requests for file contents (resolve or CDN)
// that did not end in a redirect.
func (s *Server) FileRequests() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if (r.Server == "cdn" || strings.Contains(r.Path, "/resolve/")) && r.Status != http.StatusFound {
			out = append(out, r)
		}
	}
	return out
}

// SHA256 is the hex sha256 of data.
func SHA256(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// GGUF returns a valid GGUF file of about size bytes (at least a few
// hundred) holding one F32 tensor whose values derive from name.
func GGUF(name string, size int) []byte {
	n := max(size/4/32*32, 32)
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := rand.New(rand.NewPCG(h.Sum64(), 1))
	data := make([]byte, 4*n)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	var buf bytes.Buffer
	w, err := gguf.NewWriter(&buf, []gguf.KV{{Key: "general.architecture", Value: "llama"}, {Key: "general.name", Value: name}},
		[]gguf.TensorInfo{{Name: "weight", Dims: []uint64{uint64(n)}, Type: gguf.TypeF32}})
	if err == nil {
		err = w.WriteTensor(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		panic(err) // static input: cannot fail
	}
	return buf.Bytes()
}

// statusWriter reports the response status once it is known.
type statusWriter struct {
	http.ResponseWriter
	onStatus func(int)
	status   int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.onStatus(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

func (s *Server) handler(name string, serve func(http.ResponseWriter, *http.Request, Behavior)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		b := s.b
		b.Revisions = slices.Clone(b.Revisions)
		// Record the request on arrival, and its status when answered.
		i := len(s.reqs)
		s.reqs = append(s.reqs, Request{Server: name, Method: r.Method, Path: r.URL.Path, Range: r.Header.Get("Range"),
			Authorization: r.Header.Get("Authorization")})
		s.mu.Unlock()
		sw := &statusWriter{ResponseWriter: w, onStatus: func(code int) {
			s.mu.Lock()
			s.reqs[i].Status = code
			s.mu.Unlock()
		}}
		serve(sw, r, b)
	})
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (s *Server) serveHub(w http.ResponseWriter, r *http.Request, b Behavior) {
	if b.Token != "" {
		switch got := r.Header.Get("Authorization"); {
		case got == "":
			hubError(w, http.StatusUnauthorized, "GatedRepo", "Access to this model is restricted. You must be authenticated to access it.")
			return
		case got != "Bearer "+b.Token:
			hubError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
			return
		}
	}
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/api/models/"); ok {
		// owner/name/tree/revision (the revision may hold escaped slashes)
		parts := strings.SplitN(rest, "/", 4)
		if len(parts) < 4 || parts[2] != "tree" {
			hubError(w, http.StatusNotFound, "", "Sorry, we can't find the page you are looking for.")
			return
		}
		rev, _ := url.PathUnescape(strings.SplitN(r.URL.EscapedPath(), "/", 7)[6])
		s.serveTree(w, r, b, parts[0]+"/"+parts[1], rev)
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/", 5)
	if len(parts) < 5 || parts[2] != "resolve" {
		hubError(w, http.StatusNotFound, "", "Sorry, we can't find the page you are looking for.")
		return
	}
	if s.take(func(b *Behavior) *int { return &b.Unavailable }) {
		hubError(w, http.StatusServiceUnavailable, "", "Service Unavailable")
		return
	}
	rev, _ := url.PathUnescape(parts[3])
	file, _ := url.PathUnescape(parts[4])
	data, ok := s.lookup(w, b, parts[0]+"/"+parts[1], rev, file)
	if !ok {
		return
	}
	sha := SHA256(data)
	if b.WrongSHA {
		sha = SHA256(append(slices.Clone(data), 0))
	}
	if !b.NoLinkedHeaders {
		w.Header().Set("X-Linked-Etag", `"`+sha+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
	}
	w.Header().Set("X-Repo-Commit", strings.Repeat("c0ffee", 6)+"c0ff")
	if b.Redirect {
		w.Header().Set("Location", fmt.Sprintf("%s/blobs/%s?X-Amz-Signature=secret", s.CDN.URL, SHA256(data)))
		w.WriteHeader(http.StatusFound)
		return
	}
	serveBytes(w, r, b, data, s.takeCut())
}

// lookup finds a file, writing the hub's error if there is none.
func (s *Server) lookup(w http.ResponseWriter, b Behavior, repo, rev, file string) ([]byte, bool) {
	s.mu.Lock()
	files, ok := s.repos[repo]
	data, found := files[file]
	s.mu.Unlock()
	switch {
	case !ok:
		hubError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
	case rev != "main" && !slices.Contains(b.Revisions, rev):
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
	case file != "" && !found:
		hubError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
	default:
		return data, true
	}
	return nil, false
}

// take decrements the counter field picks if it is positive and reports
// whether it was.
func (s *Server) take(field func(*Behavior) *int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := field(&s.b); *n > 0 {
		*n--
		return true
	}
	return false
}

func (s *Server) takeCut() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Cuts <= 0 {
		return -1
	}
	s.b.Cuts--
	return s.b.CutAfter
}

type treeEntry struct {
	Type string    `json:"type"`
	Oid  string    `json:"oid"`
	Size int       `json:"size"`
	Path string    `json:"path"`
	LFS  *lfsEntry `json:"lfs,omitempty"`
}

type lfsEntry struct {
	Oid         string `json:"oid"`
	Size        int    `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

func (s *Server) serveTree(w http.ResponseWriter, r *http.Request, b Behavior, repo, rev string) {
	if _, ok := s.lookup(w, b, repo, rev, ""); !ok {
		return
	}
	recursive := r.URL.Query().Get("recursive") == "true"
	s.mu.Lock()
	var entries []treeEntry
	dirs := map[string]bool{}
	for file, data := range s.repos[repo] {
		if dir := path.Dir(file); dir != "." && !dirs[dir] {
			dirs[dir] = true
			entries = append(entries, treeEntry{Type: "directory", Path: dir})
		}
		if !recursive && strings.Contains(file, "/") {
			continue
		}
		blob := sha1.Sum(data)
		e := treeEntry{Type: "file", Oid: hex.EncodeToString(blob[:]), Size: len(data), Path: file}
		if strings.HasSuffix(file, ".gguf") {
			sha := SHA256(data)
			if b.WrongSHA {
				sha = SHA256(append(slices.Clone(data), 0))
			}
			e.LFS = &lfsEntry{Oid: sha, Size: len(data), PointerSize: 134}
		}
		entries = append(entries, e)
	}
	s.mu.Unlock()
	slices.SortFunc(entries, func(a, b treeEntry) int { return strings.Compare(a.Path, b.Path) })
	if b.PageSize > 0 {
		cursor, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		cursor = min(max(cursor, 0), len(entries))
		end := min(cursor+b.PageSize, len(entries))
		if end < len(entries) {
			q := r.URL.Query()
			q.Set("cursor", strconv.Itoa(end))
			w.Header().Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next"`, s.URL, r.URL.EscapedPath(), q.Encode()))
		}
		entries = entries[cursor:end]
	}
	if entries == nil {
		entries = []treeEntry{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(entries)
}

func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request, b Behavior) {
	sha, ok := strings.CutPrefix(r.URL.Path, "/blobs/")
	if !ok || r.URL.Query().Get("X-Amz-Signature") != "secret" || s.take(func(b *Behavior) *int { return &b.ExpiredLinks }) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	var data []byte
	for _, files := range s.repos {
		for _, d := range files {
			if SHA256(d) == sha {
				data = d
			}
		}
	}
	s.mu.Unlock()
	if data == nil {
		http.NotFound(w, r)
		return
	}
	serveBytes(w, r, b, data, s.takeCut())
}

// serveBytes answers a GET for data, honouring "Range: bytes=N-" unless
// told not to; cut ≥ 0 aborts the connection after that many body bytes.
func serveBytes(w http.ResponseWriter, r *http.Request, b Behavior, data []byte, cut int64) {
	status, start := http.StatusOK, 0
	if rg := r.Header.Get("Range"); rg != "" && !b.IgnoreRange {
		from, ok := strings.CutPrefix(rg, "bytes=")
		from, ok2 := strings.CutSuffix(from, "-")
		n, err := strconv.Atoi(from)
		if !ok || !ok2 || err != nil || n < 0 {
			http.Error(w, "unsupported range "+rg, http.StatusBadRequest)
			return
		}
		if n >= len(data) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		status, start = http.StatusPartialContent, n
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(data)-1, len(data)))
	}
	body := data[start:]
	w.Header().Set("Accept-Ranges", "bytes")
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if cut >= 0 {
		w.Write(body[:min(int(cut), len(body))])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
	for len(body) > 0 {
		n := min(16<<10, len(body))
		if _, err := w.Write(body[:n]); err != nil {
			return
		}
		body = body[n:]
		if b.Throttle > 0 {
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(b.Throttle):
			}
		}
	}
}
