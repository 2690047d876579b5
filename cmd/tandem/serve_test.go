package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/tandem-llm/tandem/gguf"
	"github.com/tandem-llm/tandem/hub"
	"github.com/tandem-llm/tandem/hub/hubtest"
	"github.com/tandem-llm/tandem/internal/testdata"
	"github.com/tandem-llm/tandem/synth"
)

// The serve tests run the real binary: built once per test binary (on first
// use, so other tests do not pay for it) and removed by TestMain.
var tandemBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tandemBin.dir != "" {
		os.RemoveAll(tandemBin.dir)
	}
	os.Exit(code)
}

func tandemBinary(t *testing.T) string {
	t.Helper()
	tandemBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "tandem-serve-test-")
		if err != nil {
			tandemBin.err = err
			return
		}
		tandemBin.dir, tandemBin.path = dir, filepath.Join(dir, "tandem")
		out, err := exec.Command("go", "build", "-o", tandemBin.path, ".").CombinedOutput()
		if err != nil {
			tandemBin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if tandemBin.err != nil {
		t.Fatal(tandemBin.err)
	}
	return tandemBin.path
}

// proc is a running `tandem serve`.
type proc struct {
	URL    string // http://127.0.0.1:PORT
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    strings.Builder
	exited chan struct{}
}

func (p *proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// serve starts `tandem serve ARGS` on a free loopback port and waits until it
// listens. env adds variables (KEY=VALUE). The process is stopped (SIGTERM,
// then SIGKILL) when the test ends, and its log shown if the test failed.
func serve(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(tandemBinary(t), append([]string{"serve", "--listen", "127.0.0.1:0", "--no-pull", "--threads", "1"}, args...)...)
	cmd.Env = append(append(os.Environ(), "TANDEM_API_KEYS=", "TANDEM_NO_PULL="), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if u, ok := strings.CutPrefix(line, "tandem serve: listening on "); ok {
				urlc <- u
			}
		}
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("tandem serve %v log:\n%s", args, p.Log())
		}
	})
	select {
	case p.URL = <-urlc:
	case <-p.exited:
		t.Fatalf("tandem serve exited: %v\n%s", cmd.ProcessState, p.Log())
	case <-time.After(60 * time.Second):
		t.Fatalf("tandem serve did not start\n%s", p.Log())
	}
	return p
}

func (p *proc) stop(t *testing.T) {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Errorf("tandem serve did not stop on SIGTERM")
		p.cmd.Process.Kill()
		<-p.exited
	}
}

func oaiClient(p *proc, opts ...option.RequestOption) *openai.Client {
	c := openai.NewClient(append([]option.RequestOption{option.WithBaseURL(p.URL + "/v1/"),
		option.WithAPIKey("none"), option.WithMaxRetries(0), option.WithRequestTimeout(2 * time.Minute)}, opts...)...)
	return &c
}

func apiStatus(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ae *openai.Error
	if !errors.As(err, &ae) {
		t.Fatalf("want API error %d %s, got %v", status, code, err)
	}
	if ae.StatusCode != status || (code != "" && ae.Code != code) {
		t.Errorf("got %d %q (%s), want %d %q", ae.StatusCode, ae.Code, ae.Message, status, code)
	}
}

func completion(model, prompt string, n int64) openai.CompletionNewParams {
	return openai.CompletionNewParams{Model: openai.CompletionNewParamsModel(model),
		Prompt:    openai.CompletionNewParamsPromptUnion{OfString: openai.String(prompt)},
		MaxTokens: openai.Int(n), Temperature: openai.Float(0)}
}

// rawPost sends body as is and returns the status and the error code.
func rawPost(t *testing.T, url, path string, body io.Reader, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+path, body)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	var e struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(res.Body).Decode(&e)
	return res.StatusCode, e.Error.Code
}

func stories(t *testing.T) string {
	return testdata.SharedFile(t, "models/stories260K/stories260K.gguf")
}

// TestServeDevice drives a device server on stories260K (no chat template:
// completions, plus a second tier of the same file with a template override
// for chat) with the official client.
func TestServeDevice(t *testing.T) {
	model := stories(t)
	cfg := filepath.Join(t.TempDir(), "tandem.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
role: device
max_body: 1MiB
tiers:
  - path: %s
    context: 256
  - name: chat
    path: %s
    model: stories-chat
    chat_template: chatml
    context: 256
`, model, model)), 0o644)
	p := serve(t, nil, "--config", cfg)
	c := oaiClient(p)
	ctx := context.Background()

	// Models.
	page, err := c.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 2 || page.Data[0].ID != "stories260K" || page.Data[1].ID != "stories-chat" {
		t.Errorf("models %+v", page.Data)
	}

	// Non-streaming, greedy: the engine's known answer.
	resp, err := c.Completions.New(ctx, completion("stories260K", "Once upon a time", 12))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Text; got != ", there was a little girl named Lily. She" {
		t.Errorf("completion %q", got)
	}
	if resp.Usage.PromptTokens != 5 || resp.Usage.CompletionTokens != 12 || resp.Choices[0].FinishReason != "length" {
		t.Errorf("usage %+v finish %q", resp.Usage, resp.Choices[0].FinishReason)
	}

	// Streaming gives the same text, then usage.
	params := completion("stories260K", "Once upon a time", 12)
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := c.Completions.NewStreaming(ctx, params)
	var text string
	var chunks int
	var usage openai.CompletionUsage
	for s.Next() {
		cur := s.Current()
		chunks++
		if len(cur.Choices) > 0 {
			text += cur.Choices[0].Text
		}
		if cur.Usage.TotalTokens > 0 {
			usage = cur.Usage
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if text != resp.Choices[0].Text || usage.CompletionTokens != 12 || chunks < 12 {
		t.Errorf("streamed %q in %d chunks, usage %+v", text, chunks, usage)
	}

	// Stop.
	stopped := completion("stories260K", "Once upon a time", 50)
	stopped.Stop = openai.CompletionNewParamsStopUnion{OfStringArray: []string{"Lily", "xyz"}}
	resp, err = c.Completions.New(ctx, stopped)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Text != ", there was a little girl named " || resp.Choices[0].FinishReason != "stop" {
		t.Errorf("stop: %q %q", resp.Choices[0].Text, resp.Choices[0].FinishReason)
	}

	// Chat through the template override, streamed, seeded sampling.
	chat := openai.ChatCompletionNewParams{Model: "stories-chat",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("You tell stories."), openai.UserMessage("Tell me about a cat.")},
		MaxTokens: openai.Int(16), Seed: openai.Int(3), Temperature: openai.Float(0.8)}
	cr, err := c.Chat.Completions.New(ctx, chat)
	if err != nil {
		t.Fatal(err)
	}
	cs := c.Chat.Completions.NewStreaming(ctx, chat)
	var acc openai.ChatCompletionAccumulator
	for cs.Next() {
		acc.AddChunk(cs.Current())
	}
	if err := cs.Err(); err != nil {
		t.Fatal(err)
	}
	if cr.Choices[0].Message.Content == "" || acc.Choices[0].Message.Content != cr.Choices[0].Message.Content {
		t.Errorf("seeded chat: %q, streamed %q", cr.Choices[0].Message.Content, acc.Choices[0].Message.Content)
	}

	// Errors.
	_, err = c.Completions.New(ctx, completion("no-such-model", "x", 1))
	apiStatus(t, err, 404, "model_not_found")
	_, err = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "stories260K",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	apiStatus(t, err, 400, "") // no chat template
	bad := completion("stories260K", "x", 1)
	bad.Temperature = openai.Float(5)
	_, err = c.Completions.New(ctx, bad)
	apiStatus(t, err, 400, "invalid_value")
	_, err = c.Completions.New(ctx, completion("stories260K", strings.Repeat("Once upon a time ", 100), 1))
	apiStatus(t, err, 400, "context_length_exceeded")
	badInput(t, p.URL)
}

// badInput sends malformed requests and checks the server answers each with
// the right 4xx and keeps serving.
func badInput(t *testing.T, url string) {
	t.Helper()
	for _, c := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"malformed JSON", `{"model": "stories260K", "prompt": `, 400, "invalid_json"},
		{"wrong type", `{"model":"stories260K","prompt":"x","max_tokens":"ten"}`, 400, "invalid_type"},
		{"out of range", `{"model":"stories260K","prompt":"x","top_p":1.5}`, 400, "invalid_value"},
		{"n=3", `{"model":"stories260K","prompt":"x","n":3}`, 400, "invalid_value"},
		{"invalid UTF-8", "{\"model\":\"stories260K\",\"prompt\":\"Once \xc3\x28 upon\"}", 400, "invalid_utf8"},
		{"too long", `{"model":"stories260K","prompt":"` + strings.Repeat("time ", 2000) + `"}`, 400, "context_length_exceeded"},
		{"unknown fields", `{"model":"stories260K","prompt":"x","max_tokens":1,"future_field":{"a":[1]}}`, 200, ""},
	} {
		if status, code := rawPost(t, url, "/v1/completions", strings.NewReader(c.body)); status != c.status || code != c.code {
			t.Errorf("%s: %d %q, want %d %q", c.name, status, code, c.status, c.code)
		}
	}
	big := `{"model":"stories260K","prompt":"` + strings.Repeat("a", 10<<20) + `"}`
	if status, code := rawPost(t, url, "/v1/completions", strings.NewReader(big)); status != 413 || code != "request_too_large" {
		t.Errorf("10 MB body: %d %q", status, code)
	}
	// The same without Content-Length (chunked).
	if status, _ := rawPost(t, url, "/v1/completions", io.MultiReader(strings.NewReader(big))); status != 413 {
		t.Errorf("10 MB chunked body: %d", status)
	}
	res, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("health after bad input: %d", res.StatusCode)
	}
	if status, _ := rawPost(t, url, "/v1/completions", strings.NewReader(`{"model":"stories260K","prompt":"Once","max_tokens":4}`)); status != 200 {
		t.Errorf("a good request after bad input: %d", status)
	}
}

// writeChatModel writes a small synthetic Qwen2-architecture model with the
// Qwen2 vocabulary and its chat template.
func writeChatModel(t *testing.T, name string) string {
	t.Helper()
	vf, err := gguf.Open(testdata.SharedFile(t, "tokenizer/ggml-vocab-qwen2.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer vf.Close()
	path := filepath.Join(t.TempDir(), name+".gguf")
	err = synth.Write(path, synth.Spec{Arch: "qwen2", Name: name, Dim: 64, Layers: 2, Heads: 4, KVHeads: 2, FFN: 128,
		Context: 512, RopeBase: 1e6, NormEps: 1e-6, Tied: true, Type: gguf.TypeQ8_0, Seed: 11, Vocab: vf})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServeChatTemplate serves a synthetic model whose chat template comes
// from its GGUF metadata.
func TestServeChatTemplate(t *testing.T) {
	path := writeChatModel(t, "synth-qwen")
	p := serve(t, nil, "-m", path, "--context", "256")
	c := oaiClient(p)
	params := openai.ChatCompletionNewParams{Model: "synth-qwen",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello!")},
		MaxTokens: openai.Int(8), Temperature: openai.Float(0), Logprobs: openai.Bool(true), TopLogprobs: openai.Int(3)}
	a, err := c.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if a.Choices[0].Message.Content != b.Choices[0].Message.Content {
		t.Errorf("greedy chat differs: %q vs %q", a.Choices[0].Message.Content, b.Choices[0].Message.Content)
	}
	// Random weights: the text is noise, but every token has its logprobs.
	lp := a.Choices[0].Logprobs.Content
	if int64(len(lp)) != a.Usage.CompletionTokens || len(lp) == 0 || len(lp[0].TopLogprobs) != 3 {
		t.Errorf("%d logprobs for %d tokens: %+v", len(lp), a.Usage.CompletionTokens, lp)
	}
	// The prompt is the ChatML rendering: a dozen tokens, not 6.
	if a.Usage.PromptTokens < 10 {
		t.Errorf("prompt tokens %d: template not applied?", a.Usage.PromptTokens)
	}
}

// TestServeCloudProxy runs a cloud server (API keys, stories260K) and a device
// server whose cloud tier is that server: requests for the cloud's model are
// proxied, streaming included, with the device's key sent upstream.
func TestServeCloudProxy(t *testing.T) {
	model := stories(t)
	cloudProc := serve(t, []string{"TANDEM_API_KEYS=k-one, k-two"}, "--role", "cloud", "-m", model, "--context", "256")
	device := serve(t, []string{"UPSTREAM_KEY=k-two"}, "-m", writeChatModel(t, "phone"), "--context", "256",
		"--upstream", cloudProc.URL, "--upstream-key-env", "UPSTREAM_KEY")
	ctx := context.Background()

	// The cloud role wants a key.
	_, err := oaiClient(cloudProc).Completions.New(ctx, completion("stories260K", "Once upon a time", 4))
	apiStatus(t, err, 401, "invalid_api_key")
	if status, code := rawPost(t, cloudProc.URL, "/v1/completions", strings.NewReader(`{}`)); status != 401 || code != "missing_api_key" {
		t.Errorf("no key: %d %q", status, code)
	}
	direct, err := oaiClient(cloudProc, option.WithAPIKey("k-one")).Completions.New(ctx, completion("stories260K", "Once upon a time", 12))
	if err != nil {
		t.Fatal(err)
	}

	// Through the device: same answer.
	dc := oaiClient(device)
	var raw *http.Response
	viaDevice, err := dc.Completions.New(ctx, completion("stories260K", "Once upon a time", 12), option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if viaDevice.Choices[0].Text != direct.Choices[0].Text || viaDevice.Usage.CompletionTokens != 12 {
		t.Errorf("via device %q %+v, direct %q", viaDevice.Choices[0].Text, viaDevice.Usage, direct.Choices[0].Text)
	}
	if tier := raw.Header.Get("X-Tandem-Tier"); tier != "cloud" {
		t.Errorf("served by tier %q", tier)
	}
	// Streaming through the device.
	sp := completion("stories260K", "Once upon a time", 12)
	sp.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := dc.Completions.NewStreaming(ctx, sp)
	var text string
	for s.Next() {
		if ch := s.Current(); len(ch.Choices) > 0 {
			text += ch.Choices[0].Text
		}
	}
	if s.Err() != nil || text != direct.Choices[0].Text {
		t.Errorf("streamed via device %q (%v)", text, s.Err())
	}
	// The device's own model is still local.
	if _, err := dc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "phone", MaxTokens: openai.Int(2),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}, option.WithResponseInto(&raw)); err != nil {
		t.Fatal(err)
	} else if tier := raw.Header.Get("X-Tandem-Tier"); tier != "phone" {
		t.Errorf("local model served by %q", tier)
	}
	// Context length errors pass through.
	_, err = dc.Completions.New(ctx, completion("stories260K", strings.Repeat("Once upon a time ", 100), 1))
	apiStatus(t, err, 400, "context_length_exceeded")
	// A model neither has: the cloud's 404 comes back through the device
	// (last: the Pool takes a 404 for a misconfigured replica and opens its
	// breaker).
	_, err = dc.Completions.New(ctx, completion("gpt-nothing", "x", 1))
	apiStatus(t, err, 404, "model_not_found")
}

// TestServePrintConfig checks flags over the file and the printed YAML.
func TestServePrintConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`
listen: 0.0.0.0:9000
role: cloud
auth:
  keys: [secret-key]
limits:
  requests_per_minute: 60
tiers:
  - name: big
    url: http://10.0.0.1:8000/v1
    model: qwen-7b
    cost_input: 0.15
    cost_output: 0.6
  - path: models/tiny.gguf
    max_concurrency: 2
`), 0o644)
	out, stderr, code := runCLI(t, "serve", "--config", cfg, "--listen", "127.0.0.1:1234", "--rate-limit", "5",
		"--upstream", "http://127.0.0.1:9", "--chat-template", "chatml", "--print-config")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"listen: 127.0.0.1:1234", "role: cloud", "requests_per_minute: 5", "- <redacted>",
		"name: big", "model: qwen-7b", "cost_output: 0.6", "- http://10.0.0.1:8000/v1",
		"name: tiny", "path: " + filepath.Join(dir, "models/tiny.gguf"), "max_concurrency: 2", "chat_template: chatml",
		"name: cloud", "- http://127.0.0.1:9",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("effective config lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret-key") {
		t.Error("--print-config shows an API key")
	}
	for _, bad := range [][]string{
		{"serve", "--role", "edge", "--print-config"},
		{"serve", "--upstream", "ftp://x", "--print-config"},
		{"serve", "--config", filepath.Join(dir, "missing.yaml")},
		{"serve", "-m", "a.gguf", "-m", "b/a.gguf", "--print-config"},
		{"serve", "--no-pull"},
	} {
		if _, stderr, code := runCLI(t, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", bad, code, stderr)
		}
	}
	os.WriteFile(cfg, []byte("tiers:\n  - path: x.gguf\n    contxt: 5\n"), 0o644)
	if _, stderr, code := runCLI(t, "serve", "--config", cfg, "--print-config"); code != 2 || !strings.Contains(stderr, "contxt") {
		t.Errorf("unknown config key: exit %d: %s", code, stderr)
	}
}

// TestServeAutoPull: with no model configured, serve pulls the default model
// from the hub (a loopback fake here) and serves it.
func TestServeAutoPull(t *testing.T) {
	data, err := os.ReadFile(stories(t))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := hub.ParseRef(hub.DefaultModel)
	if err != nil {
		t.Fatal(err)
	}
	h := hubtest.NewServer()
	defer h.Close()
	file := "qwen2.5-0.5b-instruct-q4_k_m.gguf"
	h.AddFile(ref.Repo, file, data)
	home := t.TempDir()
	env := []string{"TANDEM_HF_ENDPOINT=" + h.URL, "TANDEM_HOME=" + home}
	p := serve(t, env, "--no-pull=false")
	page, err := oaiClient(p).Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != strings.TrimSuffix(file, ".gguf") {
		t.Errorf("models %+v", page.Data)
	}
	if !strings.Contains(p.Log(), "pulling "+hub.DefaultModel) {
		t.Errorf("no pull progress in the log:\n%s", p.Log())
	}
	if _, err := oaiClient(p).Completions.New(context.Background(), completion(page.Data[0].ID, "Once upon a time", 4)); err != nil {
		t.Error(err)
	}
}

// TestServeDrain: SIGTERM lets the stream in flight finish, then the process
// exits cleanly.
func TestServeDrain(t *testing.T) {
	p := serve(t, nil, "-m", stories(t), "--context", "512")
	params := completion("stories260K", "Once upon a time", 400)
	s := oaiClient(p).Completions.NewStreaming(context.Background(), params)
	if !s.Next() {
		t.Fatal(s.Err())
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	var finish string
	n := 1
	for s.Next() {
		n++
		if ch := s.Current(); len(ch.Choices) > 0 && ch.Choices[0].FinishReason != "" {
			finish = string(ch.Choices[0].FinishReason)
		}
	}
	if s.Err() != nil || finish == "" {
		t.Errorf("stream cut by the drain after %d chunks: %v", n, s.Err())
	}
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after drain")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

// loadPrompts are n distinct story openings.
func loadPrompts(n int) []string {
	who := []string{"a little girl", "a big dog", "a tiny bird", "a kind boy", "an old cat", "a happy fish",
		"a brave mouse", "a silly frog", "a shy bunny", "a red car"}
	names := []string{"Lily", "Tim", "Sue", "Ben", "Max", "Amy", "Tom", "Mia", "Sam", "Zoe",
		"Jack", "Anna", "Leo", "Kate", "Bob", "Lucy", "Joe", "Emma", "Dan", "Rose"}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("Once upon a time, there was %s named %s. One day,", who[i%len(who)], names[(i/len(who))%len(names)])
	}
	return out
}

// streamText streams a completion and returns its text, the time to the
// first text and the total time.
func streamText(ctx context.Context, c *openai.Client, params openai.CompletionNewParams) (string, time.Duration, time.Duration, error) {
	start := time.Now()
	var ttft time.Duration
	s := c.Completions.NewStreaming(ctx, params)
	defer s.Close()
	var sb strings.Builder
	finished := false
	for s.Next() {
		ch := s.Current()
		if len(ch.Choices) == 0 {
			continue
		}
		if ttft == 0 && ch.Choices[0].Text != "" {
			ttft = time.Since(start)
		}
		sb.WriteString(ch.Choices[0].Text)
		finished = finished || ch.Choices[0].FinishReason != ""
	}
	if err := s.Err(); err != nil {
		return sb.String(), ttft, time.Since(start), err
	}
	if !finished {
		return sb.String(), ttft, time.Since(start), errors.New("stream ended without a finish_reason")
	}
	return sb.String(), ttft, time.Since(start), nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// TestServeLoad: 200 concurrent streaming requests on one local model, each
// answer equal to the same request's answer made alone (greedy), directly
// and through a device server proxying to this one.
func TestServeLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const n = 200
	const maxTokens = 32
	model := stories(t)
	cloudProc := serve(t, nil, "--role", "cloud", "-m", model, "--context", "128", "--parallel", "16", "--queue", "400")
	device := serve(t, nil, "--upstream", cloudProc.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	prompts := loadPrompts(n)
	direct := oaiClient(cloudProc)
	want := make([]string, n)
	for i, p := range prompts {
		text, _, _, err := streamText(ctx, direct, completion("stories260K", p, maxTokens))
		if err != nil {
			t.Fatalf("reference %d: %v", i, err)
		}
		want[i] = text
	}
	for _, target := range []struct {
		name string
		p    *proc
	}{{"direct", cloudProc}, {"via device", device}} {
		c := oaiClient(target.p)
		got := make([]string, n)
		errs := make([]error, n)
		ttft := make([]time.Duration, n)
		total := make([]time.Duration, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], ttft[i], total[i], errs[i] = streamText(ctx, c, completion("stories260K", prompts[i], maxTokens))
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		bad := 0
		for i := range n {
			if errs[i] != nil || got[i] != want[i] {
				if bad++; bad <= 5 {
					t.Errorf("%s: request %d: %v\n got %q\nwant %q", target.name, i, errs[i], got[i], want[i])
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d answers lost or mixed up", target.name, bad, n)
		}
		t.Logf("%s: %d concurrent streams of %d tokens in %v; TTFT p50 %v p99 %v; total p50 %v p99 %v", target.name, n, maxTokens,
			wall.Round(time.Millisecond), percentile(ttft, .5).Round(time.Millisecond), percentile(ttft, .99).Round(time.Millisecond),
			percentile(total, .5).Round(time.Millisecond), percentile(total, .99).Round(time.Millisecond))
	}
}

// TestServeQueueFull: more concurrent requests than slots + queue get 429
// with Retry-After; the admitted ones complete and the server stays healthy.
func TestServeQueueFull(t *testing.T) {
	p := serve(t, nil, "-m", stories(t), "--context", "512", "--parallel", "1", "--queue", "2")
	const n = 24
	type result struct {
		status     int
		retryAfter string
		text       string
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	body := `{"model":"stories260K","prompt":"Once upon a time","max_tokens":300,"temperature":0}`
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Post(p.URL+"/v1/completions", "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var out struct {
				Choices []struct{ Text string }
			}
			json.NewDecoder(res.Body).Decode(&out)
			results[i] = result{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After")}
			if len(out.Choices) > 0 {
				results[i].text = out.Choices[0].Text
			}
		}()
	}
	wg.Wait()
	var ok, full int
	for _, r := range results {
		switch r.status {
		case 200:
			ok++
			if r.text != results[0].text && results[0].status == 200 {
				t.Errorf("answers differ: %q vs %q", r.text, results[0].text)
			}
		case 429:
			full++
			if r.retryAfter == "" {
				t.Error("429 without Retry-After")
			}
		default:
			t.Errorf("status %d", r.status)
		}
	}
	if ok < 1 || full < 1 || ok > 3+n/2 {
		t.Errorf("%d answered, %d refused with 429", ok, full)
	}
	t.Logf("%d answered, %d refused with 429", ok, full)
	if status, _ := rawPost(t, p.URL, "/v1/completions", strings.NewReader(`{"model":"stories260K","prompt":"Once","max_tokens":4}`)); status != 200 {
		t.Errorf("after overflow: %d", status)
	}
}

// TestServeOverflowToCloud: a device whose local model is saturated sends the
// overflow to its cloud tier (another server with the same model), so every
// request is answered, identically.
func TestServeOverflowToCloud(t *testing.T) {
	model := stories(t)
	cloudProc := serve(t, nil, "--role", "cloud", "-m", model, "--context", "512")
	device := serve(t, nil, "-m", model, "--context", "512", "--parallel", "1", "--queue", "1", "--upstream", cloudProc.URL)
	const n = 12
	texts := make([]string, n)
	tiers := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var raw *http.Response
			r, err := oaiClient(device).Completions.New(context.Background(), completion("stories260K", "Once upon a time", 300),
				option.WithResponseInto(&raw))
			if err != nil {
				t.Error(err)
				return
			}
			texts[i], tiers[i] = r.Choices[0].Text, raw.Header.Get("X-Tandem-Tier")
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for i := range n {
		count[tiers[i]]++
		if texts[i] != texts[0] {
			t.Errorf("answer %d (tier %s) differs: %q vs %q", i, tiers[i], texts[i], texts[0])
		}
	}
	if count["stories260K"] == 0 || count["cloud"] == 0 || count["stories260K"]+count["cloud"] != n {
		t.Errorf("tiers: %v", count)
	}
	t.Logf("served by tier: %v", count)
}
