package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// recorder is an OpenAI-compatible upstream that records every byte it
// receives and answers a chat with "You said: " + the last user message
// (so masked placeholders come back to be restored).
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	body bytes.Buffer // everything received: request lines, headers, bodies
	hits int
}

func newRecorder(t *testing.T) *recorder {
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		fmt.Fprintf(&rec.body, "%s %s\n", r.Method, r.URL)
		r.Header.Write(&rec.body)
		rec.body.Write(b)
		rec.mu.Unlock()
		switch r.URL.Path {
		case "/v1/models":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"object":"list","data":[{"id":"big","object":"model"}]}`)
			return
		case "/v1/chat/completions":
		default:
			http.NotFound(w, r)
			return
		}
		rec.mu.Lock()
		rec.hits++
		rec.mu.Unlock()
		var req struct {
			Stream   bool `json:"stream"`
			Messages []struct{ Role, Content string }
		}
		json.Unmarshal(b, &req)
		last := ""
		for _, m := range req.Messages {
			if m.Role == "user" {
				last = m.Content
			}
		}
		answer := "You said: " + last
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": "big",
				"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": answer}}},
				"usage":   map[string]any{"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}})
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		// Stream in small pieces so placeholders are split across chunks.
		for i := 0; i < len(answer); i += 3 {
			piece := answer[i:min(i+3, len(answer))]
			b, _ := json.Marshal(map[string]any{"id": "x", "object": "chat.completion.chunk", "model": "big",
				"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": piece}}}})
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		fmt.Fprintf(w, "data: %s\n\n", `{"id":"x","object":"chat.completion.chunk","model":"big","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) received() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body.String()
}

// routedConfig writes a device config: a local chat model and the recorder
// as a cloud tier, sysfs off (the test machine's own state must not count).
func routedConfig(t *testing.T, model, upstream, extra string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "tandem.yaml")
	err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
role: device
device:
  sysfs: false
tiers:
  - name: phone
    path: %s
    params_b: 1
  - name: big
    url: %s
    model: big
    params_b: 100
    cost_input: 1
    cost_output: 2
%s`, model, upstream, extra)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// chatRaw posts a chat request and returns the response, the answer text
// (streamed or not) and the "tandem" field of the last chunk.
func chatRaw(t *testing.T, url, body string, hdr ...string) (*http.Response, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("status %d: %s", res.StatusCode, b)
	}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		var v struct {
			Choices []struct{ Message struct{ Content string } }
			Tandem  map[string]any
		}
		if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		return res, v.Choices[0].Message.Content, v.Tandem
	}
	text, info := readSSE(t, res.Body)
	return res, text, info
}

// readSSE reads an SSE answer to the end: the text of every chunk (chat
// deltas or completion texts), the last chunk's "tandem" field; it fails on
// an error event, a bad chunk, or anything but exactly one final [DONE].
func readSSE(t *testing.T, body io.Reader) (string, map[string]any) {
	t.Helper()
	var text strings.Builder
	var info map[string]any
	sc := bufio.NewScanner(body)
	done := 0
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done++
			continue
		}
		if done > 0 {
			t.Fatalf("data after [DONE]: %s", data)
		}
		var c struct {
			Choices []struct {
				Text  string
				Delta struct{ Content string }
			}
			Tandem map[string]any
			Error  any
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil || c.Error != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		for _, ch := range c.Choices {
			text.WriteString(ch.Text + ch.Delta.Content)
		}
		if c.Tandem != nil {
			info = c.Tandem
		}
	}
	if done != 1 {
		t.Fatalf("%d [DONE] markers", done)
	}
	return text.String(), info
}

const piiPrompt = "Email me at jane.doe@mailbox.org or call +86 138 0013 8000; my card is 4111 1111 1111 1111."

var piiValues = []string{"jane.doe@mailbox.org", "138 0013 8000", "13800138000", "4111 1111 1111 1111", "4111111111111111"}

// In strict mode nothing with personal data reaches the upstream, not even
// when the client asks for the cloud.
func TestRoutePrivacyStrict(t *testing.T) {
	up := newRecorder(t)
	p := serve(t, nil, "--config", routedConfig(t, writeChatModel(t, "phone"), up.srv.URL, "router:\n  privacy: strict\n"))
	for _, stream := range []bool{false, true} {
		body := fmt.Sprintf(`{"model":"auto","stream":%v,"max_tokens":8,"messages":[{"role":"user","content":%q}]}`, stream, piiPrompt)
		res, _, info := chatRaw(t, p.URL, body)
		route := res.Header.Get("X-Tandem-Route")
		if !strings.Contains(route, "tier=phone") || !strings.Contains(route, "strict") {
			t.Errorf("X-Tandem-Route %q: want the local tier, for privacy strict", route)
		}
		if info == nil {
			t.Error("no tandem field in the response")
		}
	}
	// A cloud-only override is refused rather than leaking.
	req, _ := http.NewRequest(http.MethodPost, p.URL+"/v1/chat/completions", strings.NewReader(
		fmt.Sprintf(`{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":%q}],"tandem":{"route":"cloud-only"}}`, piiPrompt)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "privacy strict") {
		t.Errorf("cloud-only with PII in strict mode: %d %s", res.StatusCode, b)
	}
	got := up.received()
	for _, v := range piiValues {
		if strings.Contains(got, v) {
			t.Errorf("the upstream received %q", v)
		}
	}
	if up.hits != 0 {
		t.Errorf("%d generation requests reached the upstream", up.hits)
	}
}

// In mask mode the cloud sees placeholders and the client the original
// values, streamed or not.
func TestRoutePrivacyMask(t *testing.T) {
	up := newRecorder(t)
	p := serve(t, nil, "--config", routedConfig(t, writeChatModel(t, "phone"), up.srv.URL, "router:\n  privacy: mask\n"))
	for _, stream := range []bool{false, true} {
		body := fmt.Sprintf(`{"model":"auto","stream":%v,"max_tokens":64,"messages":[{"role":"user","content":%q}]}`, stream, piiPrompt)
		res, text, _ := chatRaw(t, p.URL, body, "X-Tandem-Route-Mode", "cloud-only")
		if route := res.Header.Get("X-Tandem-Route"); !strings.Contains(route, "tier=big") || !strings.Contains(route, "mask") {
			t.Errorf("X-Tandem-Route %q", route)
		}
		if want := "You said: " + piiPrompt; text != want {
			t.Errorf("stream=%v: answer %q, want %q", stream, text, want)
		}
	}
	got := up.received()
	for _, v := range piiValues {
		if strings.Contains(got, v) {
			t.Errorf("the upstream received %q", v)
		}
	}
	if !strings.Contains(got, "[EMAIL_1]") {
		t.Errorf("the upstream did not receive placeholders:\n%s", got)
	}
}

// Pushing a device state changes the next decision, and the reasons name
// the signal.
func TestRouteDevicePush(t *testing.T) {
	up := newRecorder(t)
	p := serve(t, nil, "--config", routedConfig(t, writeChatModel(t, "phone"), up.srv.URL, "router:\n  threshold: 0.9\n"))
	body := `{"model":"auto","max_tokens":4,"messages":[{"role":"user","content":"Hi, how are you?"}]}`
	res, _, _ := chatRaw(t, p.URL, body)
	if route := res.Header.Get("X-Tandem-Route"); !strings.Contains(route, "tier=phone") {
		t.Fatalf("cool device: X-Tandem-Route %q, want the local tier", route)
	}
	st, code := rawPost(t, p.URL, "/v1/device/state", strings.NewReader(`{"thermal_status": "severe", "battery_pct": 55}`))
	if st != 200 {
		t.Fatalf("push: %d %s", st, code)
	}
	res, _, info := chatRaw(t, p.URL, body)
	route := res.Header.Get("X-Tandem-Route")
	if !strings.Contains(route, "tier=big") || !strings.Contains(route, "thermal severe") {
		t.Errorf("hot device: X-Tandem-Route %q, want the cloud tier for thermal severe", route)
	}
	if r, _ := info["route"].(map[string]any); r == nil || !strings.Contains(fmt.Sprint(r["reasons"]), "thermal severe") {
		t.Errorf("tandem.route %v", info)
	}
	st, code = rawPost(t, p.URL, "/v1/device/state", strings.NewReader(`{"thermal_status": "boiling"}`))
	if st != 400 {
		t.Errorf("bad thermal status: %d %s", st, code)
	}
	resp, err := http.Get(p.URL + "/v1/device/state")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "severe") {
		t.Errorf("GET /v1/device/state: %d %s", resp.StatusCode, b)
	}
	resp, err = http.Get(p.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"tandem_device_thermal_status 3", "tandem_device_battery_percent 55", `tandem_route_predicted_latency_ms{tier="phone"}`,
		`tandem_route_decisions_total{tier="big"} 1`, `tandem_route_decisions_total{tier="phone"} 1`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A low-confidence local answer escalates mid-stream to a real cloud
// server, and the client gets one stream: the local tokens sent so far,
// then the cloud's continuation.
func TestRouteCascade(t *testing.T) {
	model := stories(t)
	// 1. The local model's greedy log-probabilities for the prompt.
	probe := serve(t, nil, "-m", model)
	const prompt = "Once upon a time"
	lps := greedyLogprobs(t, probe.URL, prompt, 48)
	probe.stop(t)
	// 2. A threshold that the first windows pass and a later one fails.
	const window = 4
	means := make([]float64, len(lps))
	for j := window - 1; j < len(lps); j++ {
		s := 0.0
		for _, v := range lps[j-window+1 : j+1] {
			s += v
		}
		means[j] = s / window
	}
	at, threshold := -1, 0.0
	lowest := math.Inf(1)
	for j := window - 1; j < len(lps); j++ {
		if j >= 3*window && means[j] < lowest-0.05 {
			at, threshold = j, (means[j]+lowest)/2
			break
		}
		lowest = min(lowest, means[j])
	}
	if at < 0 {
		t.Skipf("no later window is less confident than the first ones: %v", means)
	}
	cloudP := serve(t, nil, "--role", "cloud", "-m", model)
	cfg := filepath.Join(t.TempDir(), "device.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
role: device
device:
  sysfs: false
router:
  cascade:
    enabled: true
    window: %d
    min_mean_logprob: %g
tiers:
  - name: phone
    path: %s
    params_b: 0.001
  - name: cloud
    url: %s
    model: stories260K
    params_b: 1
`, window, threshold, model, cloudP.URL)), 0o644)
	dev := serve(t, nil, "--config", cfg)
	body := fmt.Sprintf(`{"model":"stories260K","prompt":%q,"max_tokens":48,"temperature":0,"stream":true}`, prompt)
	req, _ := http.NewRequest(http.MethodPost, dev.URL+"/v1/completions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	text, last := readSSE(t, res.Body)
	esc, _ := last["escalation"].(map[string]any)
	served := fmt.Sprint(last["served"])
	t.Logf("threshold %.3f at token %d; answer %q; escalation %v; served %s", threshold, at, text, esc, served)
	if esc == nil || !strings.Contains(fmt.Sprint(esc["reason"]), "mean logprob") {
		t.Fatalf("no escalation reported: %v", last)
	}
	if served != "[phone cloud]" {
		t.Errorf("served by %s, want [phone cloud]", served)
	}
	if sent, _ := esc["sent"].(float64); int(sent) != at-window {
		t.Errorf("%v local tokens sent, want %d (escalation at token %d, %d held back)", sent, at-window, at, window)
	}
	if text == "" {
		t.Error("empty answer")
	}
}

// greedyLogprobs asks a server for n greedy tokens with their log-probabilities.
func greedyLogprobs(t *testing.T, url, prompt string, n int) []float64 {
	t.Helper()
	body := fmt.Sprintf(`{"model":"stories260K","prompt":%q,"max_tokens":%d,"temperature":0,"logprobs":1}`, prompt, n)
	res, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v struct {
		Choices []struct {
			Logprobs struct {
				TokenLogprobs []float64 `json:"token_logprobs"`
			}
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil || len(v.Choices) == 0 {
		t.Fatalf("logprobs: %v", err)
	}
	return v.Choices[0].Logprobs.TokenLogprobs
}
