package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/hub/hubtest"
)

const testRepo = "tandem-test/Tiny-GGUF"

// fixture is a fake hub holding testRepo with three quants and a README.
type fixture struct {
	hub   *hubtest.Server
	files map[string][]byte
	opts  Options
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	t.Setenv("HF_TOKEN", "")
	t.Setenv("TANDEM_HF_ENDPOINT", "")
	t.Setenv("TANDEM_HOME", t.TempDir())
	s := hubtest.NewServer()
	t.Cleanup(s.Close)
	fx := &fixture{hub: s, files: map[string][]byte{}}
	for _, q := range []string{"q4_k_m", "q4_k_s", "q8_0"} {
		name := "tiny-" + q + ".gguf"
		fx.files[name] = hubtest.GGUF(name, 300<<10)
		s.AddFile(testRepo, name, fx.files[name])
	}
	s.AddFile(testRepo, "README.md", []byte("# Tiny\n"))
	fx.opts = Options{Dir: t.TempDir(), Endpoint: s.URL, backoff: func(int) time.Duration { return 0 }}
	return fx
}

func (fx *fixture) pull(t *testing.T, ref string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return Pull(ctx, ref, fx.opts)
}

// checkPulled verifies the file at p: content, GGUF validity and manifest.
func (fx *fixture) checkPulled(t *testing.T, p, file string) {
	t.Helper()
	if want := filepath.Join(fx.opts.Dir, "tandem-test--Tiny-GGUF", file); p != want {
		t.Fatalf("path %q, want %q", p, want)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, fx.files[file]) {
		t.Fatalf("%s: content differs (%d bytes, want %d)", file, len(got), len(fx.files[file]))
	}
	g, err := gguf.Open(p)
	if err != nil {
		t.Fatalf("pulled file is not a GGUF: %v", err)
	}
	g.Close()
	var e Entry
	b, err := os.ReadFile(p + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if e.Repo != testRepo || e.File != file || e.Revision != "main" || e.Size != int64(len(got)) ||
		e.SHA256 != hubtest.SHA256(got) || time.Since(e.PulledAt) > time.Minute {
		t.Errorf("manifest %+v", e)
	}
	for _, side := range []string{".partial", ".lock"} {
		if _, err := os.Stat(p + side); err == nil {
			t.Errorf("%s left behind", side)
		}
	}
}

func TestPullQuant(t *testing.T) {
	fx := newFixture(t)
	fx.hub.Configure(func(b *hubtest.Behavior) { b.PageSize = 2 }) // listing in pages
	p, err := fx.pull(t, testRepo+":Q4_K_M")
	if err != nil {
		t.Fatal(err)
	}
	fx.checkPulled(t, p, "tiny-q4_k_m.gguf")
	reqs := fx.hub.Requests()
	if !strings.HasPrefix(reqs[0].Path, "/api/models/"+testRepo+"/tree/main") || len(fx.hub.FileRequests()) != 1 {
		t.Errorf("requests %+v", reqs)
	}
	// Present: no network at all, for the quant and the file form.
	for _, ref := range []string{testRepo + ":Q4_K_M", testRepo + ":q4_k_m@main", testRepo + "/tiny-q4_k_m.gguf", testRepo} {
		if p2, err := fx.pull(t, ref); err != nil || p2 != p {
			t.Errorf("second pull %s: %q, %v", ref, p2, err)
		}
	}
	if n := len(fx.hub.Requests()); n != len(reqs) {
		t.Errorf("second pulls made %d requests", n-len(reqs))
	}
	if got, ok := Resolve(fx.opts.Dir, testRepo+":Q4_K_M"); !ok || got != p {
		t.Errorf("Resolve: %q, %v", got, ok)
	}
	if _, ok := Resolve(fx.opts.Dir, testRepo+":Q4_K_M@v2"); ok {
		t.Errorf("Resolve found another revision")
	}
	// Force downloads again.
	fx.opts.Force = true
	if _, err := fx.pull(t, testRepo+":Q4_K_M"); err != nil {
		t.Fatal(err)
	}
	if n := len(fx.hub.FileRequests()); n != 2 {
		t.Errorf("--force: %d file requests, want 2", n)
	}
}

func TestPullFileSkipsListing(t *testing.T) {
	fx := newFixture(t)
	fx.hub.Configure(func(b *hubtest.Behavior) { b.Revisions = []string{"refs/pr/1"} })
	p, err := fx.pull(t, testRepo+"/tiny-q8_0.gguf@refs/pr/1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if !bytes.Equal(got, fx.files["tiny-q8_0.gguf"]) {
		t.Error("content differs")
	}
	reqs := fx.hub.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/"+testRepo+"/resolve/refs/pr/1/tiny-q8_0.gguf" {
		t.Errorf("requests %+v", reqs)
	}
	e, ok := readEntry(p)
	if !ok || e.Revision != "refs/pr/1" || e.Commit == "" {
		t.Errorf("manifest %+v", e)
	}
}

func TestQuantErrors(t *testing.T) {
	fx := newFixture(t)
	for ref, want := range map[string]string{
		testRepo + ":Q5_K_M":        `no GGUF file in ` + testRepo + ` matches quant "Q5_K_M"; available: Q4_K_M, Q4_K_S, Q8_0`,
		testRepo + ":Q4_K":          `quant "Q4_K" matches 2 files in ` + testRepo + `: tiny-q4_k_m.gguf, tiny-q4_k_s.gguf`,
		"tandem-test/Nope:Q4_K_M":   "repository tandem-test/Nope not found",
		testRepo + ":Q8_0@v9":       `revision "v9" not found`,
		testRepo + "/tiny-f16.gguf": "file tiny-f16.gguf not found in " + testRepo,
	} {
		_, err := fx.pull(t, ref)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v\nwant %q", ref, err, want)
		}
	}
	var se *StatusError
	if _, err := fx.pull(t, testRepo+"/tiny-f16.gguf"); !errors.As(err, &se) || se.StatusCode != 404 {
		t.Errorf("404 is not a StatusError: %v", err)
	}
	var re *RefError
	if _, err := fx.pull(t, "not a ref"); !errors.As(err, &re) {
		t.Errorf("bad ref: %v", err)
	}
	// The bare repository picks Q4_K_M.
	if p, err := fx.pull(t, testRepo); err != nil || filepath.Base(p) != "tiny-q4_k_m.gguf" {
		t.Errorf("bare repo: %q, %v", p, err)
	}
}

func TestResumeAfterCut(t *testing.T) {
	fx := newFixture(t)
	const cut = 100_000
	fx.hub.Configure(func(b *hubtest.Behavior) { b.Cuts, b.CutAfter = 1, cut })
	var logs bytes.Buffer
	fx.opts.Logger = newTestLogger(&logs)
	p, err := fx.pull(t, testRepo+":Q8_0")
	if err != nil {
		t.Fatal(err)
	}
	fx.checkPulled(t, p, "tiny-q8_0.gguf")
	fr := fx.hub.FileRequests()
	if len(fr) != 2 || fr[0].Range != "" || fr[1].Range != "bytes=100000-" || fr[1].Status != http.StatusPartialContent {
		t.Errorf("file requests %+v", fr)
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("no retry logged:\n%s", logs.String())
	}
}

func TestResumeAcrossPulls(t *testing.T) {
	fx := newFixture(t)
	const cut = 123_457
	fx.hub.Configure(func(b *hubtest.Behavior) { b.Cuts, b.CutAfter, b.Redirect = 1, cut, true })
	fx.opts.Retries = -1
	_, err := fx.pull(t, testRepo+"/tiny-q4_k_s.gguf")
	if err == nil || !strings.Contains(err.Error(), "connection lost") {
		t.Fatalf("cut pull: %v", err)
	}
	dest := filepath.Join(fx.opts.Dir, "tandem-test--Tiny-GGUF", "tiny-q4_k_s.gguf")
	if st, err := os.Stat(dest + ".partial"); err != nil || st.Size() != cut {
		t.Fatalf("partial file: %v, %v", st, err)
	}
	if _, ok := Resolve(fx.opts.Dir, testRepo+"/tiny-q4_k_s.gguf"); ok {
		t.Fatal("partial download resolves")
	}
	if l, _ := List(fx.opts.Dir); len(l) != 0 {
		t.Fatalf("partial download listed: %+v", l)
	}
	p, err := fx.pull(t, testRepo+"/tiny-q4_k_s.gguf")
	if err != nil {
		t.Fatal(err)
	}
	fx.checkPulled(t, p, "tiny-q4_k_s.gguf")
	fr := fx.hub.FileRequests()
	if last := fr[len(fr)-1]; last.Server != "cdn" || last.Range != "bytes=123457-" || last.Status != 206 {
		t.Errorf("file requests %+v", fr)
	}
}

func TestServerIgnoresRange(t *testing.T) {
	fx := newFixture(t)
	fx.hub.Configure(func(b *hubtest.Behavior) { b.Cuts, b.CutAfter, b.IgnoreRange = 1, 50_000, true })
	p, err := fx.pull(t, testRepo+":Q4_K_M")
	if err != nil {
		t.Fatal(err)
	}
	fx.checkPulled(t, p, "tiny-q4_k_m.gguf")
	fr := fx.hub.FileRequests()
	if len(fr) != 2 || fr[1].Range != "bytes=50000-" || fr[1].Status != http.StatusOK {
		t.Errorf("file requests %+v", fr)
	}
}

func TestPartialAlreadyComplete(t *testing.T) {
	fx := newFixture(t)
	dest := filepath.Join(fx.opts.Dir, "tandem-test--Tiny-GGUF", "tiny-q8_0.gguf")
	os.MkdirAll(filepath.Dir(dest), 0o755)
	os.WriteFile(dest+".partial", fx.files["tiny-q8_0.gguf"], 0o644)
	p, err := fx.pull(t, testRepo+"/tiny-q8_0.gguf")
	if err != nil {
		t.Fatal(err)
	}
	fx.checkPulled(t, p, "tiny-q8_0.gguf")
	if fr := fx.hub.FileRequests(); len(fr) != 1 || fr[0].Status != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("file requests %+v", fr)
	}
}

func TestCorruptPartialIsReplaced(t *testing.T) {
	fx := newFixture(t)
	dest := filepath.Join(fx.opts.Dir, "tandem-test--Tiny-GGUF", "tiny-q8_0.gguf")
	os.MkdirAll(filepath.Dir(dest), 0o755)
	junk := bytes.Repeat([]byte{0xAA}, 4096)
	os.WriteFile(dest+".partial", junk, 0o644)
	_, err := fx.pull(t, testRepo+"/tiny-q8_0.gguf")
	if err == nil || !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Fatalf("corrupt partial: %v", err)
	}
	if _, err := os.Stat(dest + ".partial"); err == nil {
		t.Fatal("corrupt partial kept")
	}
	if p, err := fx.pull(t, testRepo+"/tiny-q8_0.gguf"); err != nil {
		t.Fatal(err)
	} else {
		fx.checkPulled(t, p, "tiny-q8_0.gguf")
	}
}

func TestRetryTransientErrors(t *testing.T) {
	fx := newFixture(t)
	fx.hub.Configure(func(b *hubtest.Behavior) { b.Redirect, b.Unavailable, b.ExpiredLinks = true, 1, 1 })
	p, err := fx.pull(t, testRepo+":Q8_0")
	if err != nil {
		t.Fatal(err)
	}
	fx.checkPulled(t, p, "tiny-q8_0.gguf")
	var statuses []int
	for _, r := range fx.hub.Requests() {
		if r.Server == "cdn" || strings.Contains(r.Path, "/resolve/") {
			statuses = append(statuses, r.Status)
		}
	}
	if fmt.Sprint(statuses) != "[503 302 403 302 200]" {
		t.Errorf("statuses %v", statuses)
	}
	// Without retries the errors are explained.
	fx.opts.Retries, fx.opts.Force = -1, true
	fx.hub.Configure(func(b *hubtest.Behavior) { b.ExpiredLinks = 1 })
	if _, err := fx.pull(t, testRepo+":Q8_0"); err == nil || !strings.Contains(err.Error(), "signed link may have expired") ||
		strings.Contains(err.Error(), "secret") {
		t.Errorf("expired link: %v", err)
	}
	fx.hub.Configure(func(b *hubtest.Behavior) { b.Unavailable = 1 })
	var se *StatusError
	if _, err := fx.pull(t, testRepo+":Q8_0"); !errors.As(err, &se) || se.StatusCode != 503 {
		t.Errorf("503: %v", err)
	}
}

func TestSHAMismatch(t *testing.T) {
	for _, ref := range []string{testRepo + ":Q8_0", testRepo + "/tiny-q8_0.gguf"} { // listing's sha, X-Linked-Etag
		fx := newFixture(t)
		fx.hub.Configure(func(b *hubtest.Behavior) { b.WrongSHA, b.Redirect = true, true })
		_, err := fx.pull(t, ref)
		if err == nil || !strings.Contains(err.Error(), "sha256 mismatch") || !strings.Contains(err.Error(), "deleted") {
			t.Errorf("%s: %v", ref, err)
		}
		left, _ := filepath.Glob(filepath.Join(fx.opts.Dir, "*", "*"))
		if len(left) != 0 {
			t.Errorf("%s: files left: %v", ref, left)
		}
	}
}

func TestSizeFromContentLength(t *testing.T) {
	fx := newFixture(t)
	fx.hub.Configure(func(b *hubtest.Behavior) { b.NoLinkedHeaders = true; b.Cuts, b.CutAfter = 1, 1000 })
	p, err := fx.pull(t, testRepo+"/tiny-q8_0.gguf")
	if err != nil {
		t.Fatal(err)
	}
	fx.checkPulled(t, p, "tiny-q8_0.gguf")
}

func TestAuth(t *testing.T) {
	fx := newFixture(t)
	fx.hub.Configure(func(b *hubtest.Behavior) { b.Token, b.Redirect = "hf_secret", true })
	_, err := fx.pull(t, testRepo+":Q8_0")
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 401 || !strings.Contains(err.Error(), "set HF_TOKEN") {
		t.Errorf("no token: %v", err)
	}
	fx.opts.Token = "hf_wrong"
	if _, err = fx.pull(t, testRepo+"/tiny-q8_0.gguf"); err == nil ||
		!strings.Contains(err.Error(), "denied with the token in HF_TOKEN") || !strings.Contains(err.Error(), "Invalid credentials") {
		t.Errorf("wrong token: %v", err)
	}
	// HF_TOKEN is read from the environment; the CDN never sees it.
	fx.opts.Token = ""
	t.Setenv("HF_TOKEN", "hf_secret")
	p, err := fx.pull(t, testRepo+":Q8_0")
	if err != nil {
		t.Fatal(err)
	}
	fx.checkPulled(t, p, "tiny-q8_0.gguf")
	var sawCDN bool
	for _, r := range fx.hub.Requests() {
		if r.Server == "cdn" {
			sawCDN = true
			if r.Authorization != "" {
				t.Errorf("CDN got Authorization %q", r.Authorization)
			}
		} else if r.Status == 200 || r.Status == 302 {
			if r.Authorization != "Bearer hf_secret" {
				t.Errorf("hub request %s without the token", r.Path)
			}
		}
	}
	if !sawCDN {
		t.Error("no redirect to the CDN")
	}
}

func TestEndpointFromEnv(t *testing.T) {
	fx := newFixture(t)
	t.Setenv("TANDEM_HF_ENDPOINT", fx.hub.URL+"/")
	fx.opts.Endpoint, fx.opts.Dir = "", "" // TANDEM_HOME/models
	p, err := fx.pull(t, testRepo+":Q8_0")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(os.Getenv("TANDEM_HOME"), "models", "tandem-test--Tiny-GGUF", "tiny-q8_0.gguf"); p != want {
		t.Errorf("path %q, want %q", p, want)
	}
	if got, ok := Resolve("", testRepo+":Q8_0"); !ok || got != p {
		t.Errorf("Resolve: %q %v", got, ok)
	}
	fx.opts.Endpoint = "ftp://x"
	fx.opts.Force = true
	if _, err := fx.pull(t, testRepo+":Q8_0"); err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
		t.Errorf("bad endpoint: %v", err)
	}
}

func TestConcurrentPulls(t *testing.T) {
	fx := newFixture(t)
	fx.hub.Configure(func(b *hubtest.Behavior) { b.Throttle = 20 * time.Millisecond; b.Redirect = true })
	var logs syncBuffer
	fx.opts.Logger = newTestLogger(&logs)
	const n = 4
	paths, errs := make([]string, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		ref := testRepo + ":Q4_K_M"
		if i%2 == 1 {
			ref = testRepo + "/tiny-q4_k_m.gguf"
		}
		wg.Go(func() { paths[i], errs[i] = fx.pull(t, ref) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		fx.checkPulled(t, paths[i], "tiny-q4_k_m.gguf")
	}
	if fr := fx.hub.FileRequests(); len(fr) != 1 {
		t.Errorf("%d downloads, want 1: %+v", len(fr), fr)
	}
	if !strings.Contains(logs.String(), "waiting for another pull") {
		t.Errorf("no pull waited for the lock:\n%s", logs.String())
	}
}

func TestCancelKeepsPartial(t *testing.T) {
	fx := newFixture(t)
	fx.hub.Configure(func(b *hubtest.Behavior) { b.Throttle = 50 * time.Millisecond })
	dest := filepath.Join(fx.opts.Dir, "tandem-test--Tiny-GGUF", "tiny-q8_0.gguf")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { // cancel once the download is under way
		for ctx.Err() == nil {
			if st, err := os.Stat(dest + ".partial"); err == nil && st.Size() > 0 {
				cancel()
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	_, err := Pull(ctx, testRepo+"/tiny-q8_0.gguf", fx.opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled pull: %v", err)
	}
	st, err := os.Stat(dest + ".partial")
	if err != nil || st.Size() == 0 {
		t.Fatalf("partial: %v %v", st, err)
	}
	fx.hub.Configure(func(b *hubtest.Behavior) { b.Throttle = 0 })
	p, err := fx.pull(t, testRepo+"/tiny-q8_0.gguf")
	if err != nil {
		t.Fatal(err)
	}
	fx.checkPulled(t, p, "tiny-q8_0.gguf")
}

func TestStallRetries(t *testing.T) {
	fx := newFixture(t)
	fx.hub.Configure(func(b *hubtest.Behavior) { b.Throttle = 5 * time.Second })
	fx.opts.StallTimeout = 250 * time.Millisecond
	fx.opts.Retries = 1
	_, err := fx.pull(t, testRepo+"/tiny-q8_0.gguf")
	if err == nil || !strings.Contains(err.Error(), "no data received for 250ms") {
		t.Fatalf("stalled pull: %v", err)
	}
	if fr := fx.hub.FileRequests(); len(fr) != 2 || fr[1].Range != "bytes=16384-" {
		t.Errorf("file requests %+v", fr)
	}
}

func TestProgressLines(t *testing.T) {
	fx := newFixture(t)
	var out bytes.Buffer
	fx.opts.Progress, fx.opts.ProgressInterval = &out, time.Nanosecond
	fx.hub.Configure(func(b *hubtest.Behavior) { b.Throttle = time.Millisecond })
	if _, err := fx.pull(t, testRepo+":Q8_0"); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "tiny-q8_0.gguf: ") || !strings.Contains(s, "/ 300.") || !strings.Contains(s, "/s, ETA ") ||
		!strings.Contains(s, "tiny-q8_0.gguf: done, 300.") {
		t.Errorf("progress output:\n%s", s)
	}
}

func TestListRemove(t *testing.T) {
	fx := newFixture(t)
	if l, err := List(fx.opts.Dir); err != nil || len(l) != 0 {
		t.Fatalf("empty list: %v %v", l, err)
	}
	if l, err := List(filepath.Join(fx.opts.Dir, "missing")); err != nil || len(l) != 0 {
		t.Fatalf("missing dir: %v %v", l, err)
	}
	for _, q := range []string{"Q8_0", "Q4_K_M", "Q4_K_S"} {
		if _, err := fx.pull(t, testRepo+":"+q); err != nil {
			t.Fatal(err)
		}
	}
	l, err := List(fx.opts.Dir)
	if err != nil || len(l) != 3 {
		t.Fatalf("list: %+v %v", l, err)
	}
	if l[0].Name() != testRepo+"/tiny-q4_k_m.gguf" || l[0].Size != int64(len(fx.files["tiny-q4_k_m.gguf"])) ||
		l[0].Path != filepath.Join(fx.opts.Dir, "tandem-test--Tiny-GGUF", "tiny-q4_k_m.gguf") {
		t.Errorf("list[0] = %+v", l[0])
	}
	// A file whose size no longer matches its manifest is not listed.
	os.WriteFile(l[1].Path, []byte("GGUF"), 0o644) // q4_k_s
	if l, _ := List(fx.opts.Dir); len(l) != 2 {
		t.Errorf("damaged file listed: %+v", l)
	}

	if err := Remove(fx.opts.Dir, testRepo+":Q5_K_M"); !errors.Is(err, ErrNotPulled) || !strings.Contains(err.Error(), "pulled from") {
		t.Errorf("rm missing quant: %v", err)
	}
	if err := Remove(fx.opts.Dir, "nothing.gguf"); !errors.Is(err, ErrNotPulled) || !strings.Contains(err.Error(), "nothing.gguf") {
		t.Errorf("rm missing file: %v", err)
	}
	if err := Remove(fx.opts.Dir, testRepo+":Q4_K_M"); err != nil {
		t.Fatal(err)
	}
	if err := Remove(fx.opts.Dir, "tiny-q8_0.gguf"); err != nil {
		t.Fatal(err)
	}
	if err := Remove(fx.opts.Dir, testRepo+"/tiny-q4_k_s.gguf"); err != nil { // damaged, still removable
		t.Fatal(err)
	}
	if err := Remove(fx.opts.Dir, testRepo+"/tiny-q4_k_s.gguf"); !errors.Is(err, ErrNotPulled) {
		t.Errorf("second rm: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(fx.opts.Dir, "*"))
	if len(left) != 0 {
		t.Errorf("left after rm: %v", left)
	}
}

func TestRemoveAmbiguousAndBusy(t *testing.T) {
	fx := newFixture(t)
	fx.hub.AddFile("other/Tiny-GGUF", "tiny-q4_k_m.gguf", fx.files["tiny-q4_k_m.gguf"])
	for _, ref := range []string{testRepo + ":Q4_K_M", testRepo + ":Q4_K_S", "other/Tiny-GGUF:Q4_K_M"} {
		if _, err := fx.pull(t, ref); err != nil {
			t.Fatal(err)
		}
	}
	if err := Remove(fx.opts.Dir, "tiny-q4_k_m.gguf"); err == nil || !strings.Contains(err.Error(), "names 2 pulled files") {
		t.Errorf("ambiguous name: %v", err)
	}
	if err := Remove(fx.opts.Dir, testRepo+":Q4_K"); err == nil || !strings.Contains(err.Error(), "tiny-q4_k_m.gguf, tiny-q4_k_s.gguf") {
		t.Errorf("ambiguous quant: %v", err)
	}
	p, _ := Resolve(fx.opts.Dir, "other/Tiny-GGUF:Q4_K_M")
	lk, ok, err := tryLock(p + ".lock")
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := Remove(fx.opts.Dir, "other/Tiny-GGUF:Q4_K_M"); err == nil || !strings.Contains(err.Error(), "in progress") {
		t.Errorf("busy: %v", err)
	}
	lk.unlock()
	if err := Remove(fx.opts.Dir, "other/Tiny-GGUF:Q4_K_M"); err != nil {
		t.Error(err)
	}
}
