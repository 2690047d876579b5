package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/cloud"
	"github.com/tandem-llm/tandem/server"
)

// start serves o on a loopback httptest server.
func start(t *testing.T, o server.Options) (*server.Server, string) {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

func client(url string, opts ...option.RequestOption) *openai.Client {
	c := openai.NewClient(append([]option.RequestOption{option.WithBaseURL(url + "/v1/"),
		option.WithAPIKey("none"), option.WithMaxRetries(0)}, opts...)...)
	return &c
}

func oneTier(b backend.Backend) server.Options {
	return server.Options{Tiers: []server.Tier{{Name: "tiny", Kind: server.KindLocal, Model: "tiny", Backend: b, Context: 64}}}
}

func TestChatCompletion(t *testing.T) {
	f := &fake{}
	_, url := start(t, oneTier(f))
	c := client(url)
	ctx := context.Background()
	resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:       "tiny",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hello there")},
		MaxTokens:   openai.Int(3),
		Temperature: openai.Float(0),
		Seed:        openai.Int(7),
	}, option.WithJSONSet("top_k", 5), option.WithJSONSet("min_p", 0.1))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != " hello0 hello1 hello2" {
		t.Errorf("content %q", got)
	}
	if resp.Choices[0].FinishReason != "length" || resp.Object != "chat.completion" || resp.Model != "tiny" {
		t.Errorf("finish %q object %q model %q", resp.Choices[0].FinishReason, resp.Object, resp.Model)
	}
	if resp.Usage.PromptTokens != 3 || resp.Usage.CompletionTokens != 3 || resp.Usage.TotalTokens != 6 {
		t.Errorf("usage %+v", resp.Usage)
	}
	req := f.lastReq.Load()
	if req.TopK != 5 || req.MinP != 0.1 || *req.Temperature != 0 || *req.Seed != 7 || req.MaxTokens != 3 ||
		len(req.Messages) != 2 || req.Messages[0].Role != "system" {
		t.Errorf("backend got %+v", req)
	}

	// stop as a string and as an array
	resp, err = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "tiny", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("a b")},
		Stop: openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"zz", "a2"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != " a0 a1 " || resp.Choices[0].FinishReason != "stop" {
		t.Errorf("stop: %q %q", got, resp.Choices[0].FinishReason)
	}
}

func TestChatStreaming(t *testing.T) {
	_, url := start(t, oneTier(&fake{}))
	c := client(url)
	s := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "tiny", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("go")},
		MaxCompletionTokens: openai.Int(4), Logprobs: openai.Bool(true), TopLogprobs: openai.Int(2),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	var chunks, lps int
	for s.Next() {
		ch := s.Current()
		acc.AddChunk(ch)
		chunks++
		if ch.Object != "chat.completion.chunk" {
			t.Errorf("object %q", ch.Object)
		}
		if len(ch.Choices) > 0 {
			for _, lp := range ch.Choices[0].Logprobs.Content {
				lps++
				if len(lp.TopLogprobs) != 2 {
					t.Errorf("top_logprobs %d", len(lp.TopLogprobs))
				}
			}
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != " go0 go1 go2 go3" {
		t.Errorf("streamed %q", got)
	}
	// role chunk + 4 content chunks + finish chunk + usage chunk
	if chunks != 7 || lps != 4 {
		t.Errorf("%d chunks, %d logprobs", chunks, lps)
	}
	if acc.Usage.CompletionTokens != 4 || acc.Usage.PromptTokens != 2 {
		t.Errorf("usage %+v", acc.Usage)
	}
	if acc.Choices[0].FinishReason != "length" {
		t.Errorf("finish %q", acc.Choices[0].FinishReason)
	}
}

func TestCompletions(t *testing.T) {
	_, url := start(t, oneTier(&fake{}))
	c := client(url)
	ctx := context.Background()
	resp, err := c.Completions.New(ctx, openai.CompletionNewParams{
		Model:     "tiny",
		Prompt:    openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon")},
		MaxTokens: openai.Int(2), Logprobs: openai.Int(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := resp.Choices[0]
	if ch.Text != " Once0 Once1" || ch.FinishReason != "length" || resp.Usage.CompletionTokens != 2 {
		t.Errorf("%+v %+v", ch, resp.Usage)
	}
	if len(ch.Logprobs.Tokens) != 2 || ch.Logprobs.TextOffset[1] != int64(len(" Once0")) || len(ch.Logprobs.TopLogprobs[0]) != 1 {
		t.Errorf("logprobs %+v", ch.Logprobs)
	}

	resp, err = c.Completions.New(ctx, openai.CompletionNewParams{Model: "tiny", Echo: openai.Bool(true),
		Prompt: openai.CompletionNewParamsPromptUnion{OfArrayOfStrings: []string{"Hi"}}, MaxTokens: openai.Int(1)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Text != "Hi Hi0" {
		t.Errorf("echo: %q", resp.Choices[0].Text)
	}

	s := c.Completions.NewStreaming(ctx, openai.CompletionNewParams{Model: "tiny",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Lily")}, MaxTokens: openai.Int(3),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	var text string
	var u openai.CompletionUsage
	for s.Next() {
		cur := s.Current()
		if len(cur.Choices) > 0 {
			text += cur.Choices[0].Text
		}
		if cur.Usage.TotalTokens > 0 {
			u = cur.Usage
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if text != " Lily0 Lily1 Lily2" || u.CompletionTokens != 3 {
		t.Errorf("streamed %q usage %+v", text, u)
	}
}

func TestModelsAndHealth(t *testing.T) {
	_, url := start(t, server.Options{Tiers: []server.Tier{
		{Name: "tiny", Kind: server.KindLocal, Model: "tiny", Backend: &fake{}, Context: 64},
		{Name: "cloud", Kind: server.KindCloud, Model: "big", Backend: &fake{}},
		{Name: "any", Kind: server.KindCloud, Backend: &fake{}},
	}})
	c := client(url)
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "tiny,big" {
		t.Errorf("models %v", ids)
	}
	m, err := c.Models.Get(context.Background(), "big")
	if err != nil || m.ID != "big" {
		t.Errorf("get: %v %v", m, err)
	}
	_, err = c.Models.Get(context.Background(), "nope")
	expectAPIError(t, err, 404, "model_not_found", "model")

	res, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Status, Role string }
	json.NewDecoder(res.Body).Decode(&h)
	res.Body.Close()
	if res.StatusCode != 200 || h.Status != "ok" || h.Role != "device" {
		t.Errorf("health %d %+v", res.StatusCode, h)
	}
}

func expectAPIError(t *testing.T, err error, status int, code, param string) {
	t.Helper()
	var ae *openai.Error
	if !errors.As(err, &ae) {
		t.Fatalf("want API error %d, got %v", status, err)
	}
	if ae.StatusCode != status || (code != "" && ae.Code != code) || (param != "" && ae.Param != param) {
		t.Errorf("got %d code=%q param=%q (%s); want %d code=%q param=%q", ae.StatusCode, ae.Code, ae.Param, ae.Message,
			status, code, param)
	}
}

// post sends a raw body and decodes the error answer.
func post(t *testing.T, url, path, body string, hdr ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if res.Header.Get("Content-Type") == "application/json" {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: not JSON: %q", path, b)
		}
	}
	return res, m
}

func errField(m map[string]any, k string) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e[k].(string)
	return s
}

func TestBadRequests(t *testing.T) {
	_, url := start(t, oneTier(&fake{context: 10}))
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name, path, body string
		status           int
		code, param      string
		msg              string // substring of the message
	}{
		{"malformed", "/v1/chat/completions", `{"model":"tiny",`, 400, "invalid_json", "", "not valid JSON"},
		{"not object", "/v1/chat/completions", `[1,2]`, 400, "invalid_json", "", "JSON object"},
		{"empty", "/v1/chat/completions", ``, 400, "invalid_json", "", "empty"},
		{"no model", "/v1/chat/completions", `{` + msgs + `}`, 400, "missing_required_parameter", "model", ""},
		{"no messages", "/v1/chat/completions", `{"model":"tiny"}`, 400, "missing_required_parameter", "messages", ""},
		{"empty messages", "/v1/chat/completions", `{"model":"tiny","messages":[]}`, 400, "invalid_value", "messages", "at least one"},
		{"model type", "/v1/chat/completions", `{"model":5,` + msgs + `}`, 400, "invalid_type", "model", "expected a string, got a number"},
		{"temperature type", "/v1/chat/completions", `{"model":"tiny","temperature":"hot",` + msgs + `}`, 400, "invalid_type", "temperature", "expected a number, got a string"},
		{"temperature range", "/v1/chat/completions", `{"model":"tiny","temperature":3,` + msgs + `}`, 400, "invalid_value", "temperature", "out of range [0, 2]"},
		{"top_p range", "/v1/chat/completions", `{"model":"tiny","top_p":-0.1,` + msgs + `}`, 400, "invalid_value", "top_p", "out of range"},
		{"max_tokens float", "/v1/chat/completions", `{"model":"tiny","max_tokens":1.5,` + msgs + `}`, 400, "invalid_type", "max_tokens", "expected an integer, got 1.5"},
		{"max_tokens zero", "/v1/chat/completions", `{"model":"tiny","max_tokens":0,` + msgs + `}`, 400, "invalid_value", "max_tokens", "out of range"},
		{"max_tokens huge", "/v1/chat/completions", `{"model":"tiny","max_tokens":1e30,` + msgs + `}`, 400, "invalid_value", "max_tokens", "out of range"},
		{"n=2", "/v1/chat/completions", `{"model":"tiny","n":2,` + msgs + `}`, 400, "invalid_value", "n", "only n=1"},
		{"stream type", "/v1/chat/completions", `{"model":"tiny","stream":"yes",` + msgs + `}`, 400, "invalid_type", "stream", "boolean"},
		{"stop type", "/v1/chat/completions", `{"model":"tiny","stop":5,` + msgs + `}`, 400, "invalid_type", "stop", "string or an array"},
		{"stop item", "/v1/chat/completions", `{"model":"tiny","stop":["a",1],` + msgs + `}`, 400, "invalid_type", "stop[1]", ""},
		{"too many stops", "/v1/chat/completions", `{"model":"tiny","stop":["a","b","c","d","e"],` + msgs + `}`, 400, "invalid_value", "stop", "at most 4"},
		{"role", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"robot","content":"x"}]}`, 400, "invalid_value", "messages[0].role", "unknown role"},
		{"no role", "/v1/chat/completions", `{"model":"tiny","messages":[{"content":"x"}]}`, 400, "missing_required_parameter", "messages[0].role", ""},
		{"content type", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":7}]}`, 400, "invalid_type", "messages[0].content", ""},
		{"image part", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "invalid_value", "messages[0].content[0].type", "not supported"},
		{"top_logprobs alone", "/v1/chat/completions", `{"model":"tiny","top_logprobs":2,` + msgs + `}`, 400, "invalid_value", "top_logprobs", "requires logprobs"},
		{"tools", "/v1/chat/completions", `{"model":"tiny","tools":[{"type":"function"}],` + msgs + `}`, 400, "invalid_value", "tools", "not supported"},
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-9",` + msgs + `}`, 404, "model_not_found", "model", "gpt-9"},
		{"context", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"` + strings.Repeat("w ", 50) + `"}]}`, 400, "context_length_exceeded", "messages", ""},
		{"completion context", "/v1/completions", `{"model":"tiny","prompt":"` + strings.Repeat("w ", 50) + `"}`, 400, "context_length_exceeded", "prompt", ""},
		{"prompt array", "/v1/completions", `{"model":"tiny","prompt":["a","b"]}`, 400, "invalid_value", "prompt", "single string"},
		{"prompt tokens", "/v1/completions", `{"model":"tiny","prompt":[1,2,3]}`, 400, "invalid_value", "prompt", ""},
		{"completion logprobs", "/v1/completions", `{"model":"tiny","prompt":"a","logprobs":true}`, 400, "invalid_type", "logprobs", "integer"},
		{"unknown path", "/v1/embeddings", `{}`, 404, "unknown_url", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, m := post(t, url, c.path, c.body)
			if res.StatusCode != c.status || errField(m, "code") != c.code || errField(m, "param") != c.param ||
				!strings.Contains(errField(m, "message"), c.msg) {
				t.Errorf("got %d %v; want %d code=%q param=%q msg~%q", res.StatusCode, m, c.status, c.code, c.param, c.msg)
			}
			if errField(m, "type") == "" {
				t.Errorf("error without type: %v", m)
			}
		})
	}
	// Unknown fields are ignored.
	res, m := post(t, url, "/v1/chat/completions", `{"model":"tiny","frobnicate":{"x":1},"max_tokens":1,`+msgs+`}`)
	if res.StatusCode != 200 {
		t.Errorf("unknown field: %d %v", res.StatusCode, m)
	}
	// Invalid UTF-8 in content.
	res, m = post(t, url, "/v1/chat/completions", "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"a\xff\xfeb\"}]}")
	if res.StatusCode != 400 || errField(m, "code") != "invalid_utf8" {
		t.Errorf("invalid UTF-8: %d %v", res.StatusCode, m)
	}
	// Wrong method.
	res2, err := http.Get(url + "/v1/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != 405 {
		t.Errorf("GET chat: %d", res2.StatusCode)
	}
	assertHealthy(t, url)
}

func assertHealthy(t *testing.T, url string) {
	t.Helper()
	res, m := post(t, url, "/v1/completions", `{"model":"tiny","prompt":"still","max_tokens":2}`)
	if res.StatusCode != 200 {
		t.Fatalf("server unhealthy after bad input: %d %v", res.StatusCode, m)
	}
}

func TestBodyTooLarge(t *testing.T) {
	_, url := start(t, server.Options{MaxBodyBytes: 1 << 20, Tiers: oneTier(&fake{}).Tiers})
	big := `{"model":"tiny","prompt":"` + strings.Repeat("a", 10<<20) + `"}`
	// With a Content-Length, refused before reading.
	res, m := post(t, url, "/v1/completions", big)
	if res.StatusCode != 413 || errField(m, "code") != "request_too_large" {
		t.Errorf("10 MB body: %d %v", res.StatusCode, m)
	}
	// Chunked (no Content-Length): refused once the limit is read.
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < 10 && pw != nil; i++ {
			if _, err := pw.Write([]byte(big[i<<20 : (i+1)<<20])); err != nil {
				break
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/completions", pr)
	res2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	pr.CloseWithError(io.EOF)
	if res2.StatusCode != 413 {
		t.Errorf("chunked 10 MB body: %d", res2.StatusCode)
	}
	assertHealthy(t, url)
}

func TestAuthAndLimits(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	o := oneTier(&fake{})
	o.Role, o.APIKeys, o.RequestsPerMinute, o.TokensPerDay, o.Now = server.RoleCloud, []string{"k1", "k2"}, 3, 40, clock
	_, url := start(t, o)
	body := `{"model":"tiny","prompt":"a","max_tokens":4}`

	res, m := post(t, url, "/v1/completions", body)
	if res.StatusCode != 401 || errField(m, "code") != "missing_api_key" {
		t.Errorf("no key: %d %v", res.StatusCode, m)
	}
	res, m = post(t, url, "/v1/completions", body, "Authorization", "Bearer k3")
	if res.StatusCode != 401 || errField(m, "code") != "invalid_api_key" {
		t.Errorf("bad key: %d %v", res.StatusCode, m)
	}
	_, err := client(url, option.WithAPIKey("wrong")).Models.List(context.Background())
	expectAPIError(t, err, 401, "invalid_api_key", "")

	// 3 requests per minute per key.
	for i := range 3 {
		if res, m := post(t, url, "/v1/completions", body, "Authorization", "Bearer k1"); res.StatusCode != 200 {
			t.Fatalf("request %d: %d %v", i, res.StatusCode, m)
		}
	}
	res, m = post(t, url, "/v1/completions", body, "Authorization", "Bearer k1")
	if res.StatusCode != 429 || errField(m, "code") != "rate_limit_exceeded" || res.Header.Get("Retry-After") == "" {
		t.Errorf("4th request: %d %v retry-after %q", res.StatusCode, m, res.Header.Get("Retry-After"))
	}
	if res, _ := post(t, url, "/v1/completions", body, "Authorization", "Bearer k2"); res.StatusCode != 200 {
		t.Errorf("other key limited: %d", res.StatusCode)
	}
	// 3 × (2 prompt + 4 completion) = 18 tokens of k1's 40; after refills, the budget runs out.
	for i := 0; i < 10; i++ {
		advance(time.Minute)
		res, m = post(t, url, "/v1/completions", body, "Authorization", "Bearer k1")
		if res.StatusCode != 200 {
			break
		}
	}
	if res.StatusCode != 429 || errField(m, "code") != "token_budget_exceeded" {
		t.Errorf("budget: %d %v", res.StatusCode, m)
	}
	advance(24 * time.Hour)
	if res, m := post(t, url, "/v1/completions", body, "Authorization", "Bearer k1"); res.StatusCode != 200 {
		t.Errorf("next day: %d %v", res.StatusCode, m)
	}
}

func TestQueueFull(t *testing.T) {
	f := &fake{delay: 20 * time.Millisecond, parallel: make(chan struct{}, 1)}
	_, url := start(t, oneTier(f))
	c := client(url)
	done := make(chan error, 1)
	go func() {
		_, err := c.Completions.New(context.Background(), openai.CompletionNewParams{Model: "tiny",
			Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("slow")}, MaxTokens: openai.Int(10)})
		done <- err
	}()
	for f.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	res, m := post(t, url, "/v1/completions", `{"model":"tiny","prompt":"b"}`)
	if res.StatusCode != 429 || errField(m, "code") != "queue_full" || res.Header.Get("Retry-After") != "1" {
		t.Errorf("overloaded: %d %v %q", res.StatusCode, m, res.Header.Get("Retry-After"))
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestClientDisconnectCancels(t *testing.T) {
	f := &fake{block: true, delay: time.Millisecond}
	_, url := start(t, oneTier(f))
	ctx, cancel := context.WithCancel(context.Background())
	s := client(url).Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model: "tiny", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("forever")}})
	for i := 0; i < 5 && s.Next(); i++ {
	}
	cancel()
	s.Close()
	deadline := time.Now().Add(5 * time.Second)
	for f.cancelled.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if f.cancelled.Load() != 1 {
		t.Fatal("generation was not cancelled when the client went away")
	}
}

func TestDrain(t *testing.T) {
	f := &fake{delay: 10 * time.Millisecond}
	srv, url := start(t, oneTier(f))
	c := client(url)
	s := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "tiny", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("drain")},
		MaxTokens: openai.Int(20)})
	if !s.Next() {
		t.Fatal(s.Err())
	}
	srv.Drain()
	res, m := post(t, url, "/v1/completions", `{"model":"tiny","prompt":"b"}`)
	if res.StatusCode != 503 || errField(m, "code") != "draining" {
		t.Errorf("while draining: %d %v", res.StatusCode, m)
	}
	hr, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	hr.Body.Close()
	if hr.StatusCode != 503 {
		t.Errorf("health while draining: %d", hr.StatusCode)
	}
	var acc openai.ChatCompletionAccumulator
	n := 0
	for s.Next() {
		acc.AddChunk(s.Current())
		n++
	}
	if s.Err() != nil || acc.Choices[0].FinishReason != "length" {
		t.Errorf("in-flight stream did not finish: %v %+v (%d chunks)", s.Err(), acc.Choices, n)
	}
	srv.Wait()
}

func TestFailover(t *testing.T) {
	local := &fake{name: "local", failAfter: 3}
	up := &fake{name: "cloud"}
	reg := server.Options{Chain: cloud.Chain, Tiers: []server.Tier{
		{Name: "phone", Kind: server.KindLocal, Model: "small", Backend: local},
		{Name: "cloud", Kind: server.KindCloud, Model: "big", Backend: up},
	}}
	_, url := start(t, reg)
	c := client(url)
	// A request for the local model fails mid-stream and continues in the cloud.
	s := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "small", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("fo")}, MaxTokens: openai.Int(6)})
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	if got := acc.Choices[0].Message.Content; got != " fo0 fo1 fo2 fo3 fo4 fo5" {
		t.Errorf("failover answer %q", got)
	}
	if r := up.lastReq.Load(); r.Model != "big" || r.Continue != " fo0 fo1 fo2" {
		t.Errorf("cloud got model %q continue %q", r.Model, r.Continue)
	}
	// The cloud tier's own 5xx for a cloud model falls back to the local model.
	up.failWith = fmt.Errorf("%w: upstream down", backend.ErrUnavailable)
	local.failAfter = 0
	var raw *http.Response
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "big", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}, MaxTokens: openai.Int(1)},
		option.WithResponseInto(&raw))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != " x0" || raw.Header.Get("X-Tandem-Tier") != "phone" {
		t.Errorf("offline fallback: %q tier %q", resp.Choices[0].Message.Content, raw.Header.Get("X-Tandem-Tier"))
	}
	// Metrics show both tiers and the errors. A request's own series are
	// recorded after its last byte is written, so the client may read them
	// a moment before they land: wait for them (up to 5 s).
	wants := []string{
		`tandem_tier_requests_total{tier="cloud"} 1`,
		`tandem_tier_requests_total{tier="phone"} 2`,
		`tandem_tier_errors_total{reason="error",tier="phone"} 1`,
		`tandem_tier_errors_total{reason="unavailable",tier="cloud"} 1`,
		`tandem_requests_total{endpoint="/v1/chat/completions",model="small",status="200"} 1`,
		`tandem_tokens_total{direction="out",model="big"} 1`,
		`tandem_time_to_first_token_seconds_count{model="small"} 1`,
		`tandem_requests_in_flight 0`,
	}
	var b []byte
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		res, err := http.Get(url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(res.Body)
		res.Body.Close()
		missing := false
		for _, want := range wants {
			missing = missing || !bytes.Contains(b, []byte(want))
		}
		if !missing || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range wants {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestCloudRoleNoCrossModelFallback(t *testing.T) {
	_, url := start(t, server.Options{Role: server.RoleCloud, Chain: cloud.Chain, Tiers: []server.Tier{
		{Name: "a", Kind: server.KindLocal, Model: "small", Backend: &fake{failWith: fmt.Errorf("%w: busy", backend.ErrOverloaded)}},
		{Name: "b", Kind: server.KindCloud, Model: "big", Backend: &fake{}},
	}})
	res, m := post(t, url, "/v1/completions", `{"model":"small","prompt":"a"}`)
	if res.StatusCode != 429 {
		t.Errorf("cloud role fell back across models: %d %v", res.StatusCode, m)
	}
}

func TestRequestTimeout(t *testing.T) {
	o := oneTier(&fake{block: true, delay: 5 * time.Millisecond})
	o.RequestTimeout = 50 * time.Millisecond
	_, url := start(t, o)
	res, m := post(t, url, "/v1/completions", `{"model":"tiny","prompt":"a"}`)
	if res.StatusCode != 504 || errField(m, "code") != "timeout" {
		t.Errorf("timeout: %d %v", res.StatusCode, m)
	}
	// Streaming: the stream ends with an error event.
	s := client(url).Completions.NewStreaming(context.Background(), openai.CompletionNewParams{Model: "tiny",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("a")}})
	for s.Next() {
	}
	if s.Err() == nil || !strings.Contains(s.Err().Error(), "timed out") {
		t.Errorf("stream error %v", s.Err())
	}
}
