package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeChatRequest(t *testing.T) {
	r, e := decodeChatRequest([]byte(`{"model":"m","messages":[{"role":"developer","content":"s"},
		{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
		{"role":"assistant","content":null,"tool_calls":[]}],
		"stream":true,"stream_options":{"include_usage":true},"stop":"x","seed":-3,"max_completion_tokens":5,
		"temperature":null,"top_p":0.5,"logprobs":true,"top_logprobs":3,"n":1,"user":"u","wat":1,"max_tokens":4.0}`))
	if e != nil {
		t.Fatal(e)
	}
	if r.Model != "m" || len(r.Messages) != 3 || r.Messages[0].Role != "system" || r.Messages[1].Content != "ab" ||
		r.Messages[2].Content != "" || !r.Stream || !r.IncludeUsage || r.Stop[0] != "x" || *r.Seed != -3 ||
		r.Temperature != nil || *r.TopP != 0.5 || !r.Logprobs || r.TopLogprobs != 3 ||
		len(r.Unknown) != 1 || r.Unknown[0] != "wat" {
		t.Errorf("%+v", r)
	}
	// max_tokens and max_completion_tokens: fields are applied in name order,
	// so max_tokens (4) wins over max_completion_tokens (5).
	if r.MaxTokens != 4 {
		t.Errorf("max tokens %d", r.MaxTokens)
	}
}

// checkDecoded is what every decoded request or error must satisfy.
func checkDecoded(t *testing.T, in []byte, r *request, e *apiError) {
	t.Helper()
	if (r == nil) == (e == nil) {
		t.Fatalf("want exactly one of request and error: %v %v", r, e)
	}
	if e != nil {
		if e.Status != http.StatusBadRequest || e.Type != typeInvalidRequest || e.Message == "" || e.Code == "" {
			t.Fatalf("bad error %+v for %q", e, in)
		}
		if !utf8.ValidString(e.Message) || !utf8.ValidString(e.Param) {
			t.Fatalf("error is not valid UTF-8: %+v", e)
		}
		if _, err := json.Marshal(e.body()); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !utf8.Valid(in) {
		t.Fatalf("accepted invalid UTF-8 %q", in)
	}
	if r.Model == "" || len(r.Messages) == 0 {
		t.Fatalf("accepted a request without model or messages: %q", in)
	}
	for _, m := range r.Messages {
		switch m.Role {
		case "system", "user", "assistant", "tool", "function":
		default:
			t.Fatalf("role %q accepted", m.Role)
		}
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 2) ||
		r.TopP != nil && (*r.TopP < 0 || *r.TopP > 1) || r.MinP < 0 || r.MinP > 1 ||
		r.FrequencyPenalty < -2 || r.FrequencyPenalty > 2 || r.PresencePenalty < -2 || r.PresencePenalty > 2 ||
		r.MaxTokens < 0 || r.TopK < 0 || r.TopLogprobs < 0 || r.TopLogprobs > 20 || len(r.Stop) > maxStops ||
		r.TopLogprobs > 0 && !r.Logprobs {
		t.Fatalf("out-of-range value accepted from %q: %+v", in, r)
	}
	for _, s := range r.Stop {
		if s == "" {
			t.Fatal("empty stop accepted")
		}
	}
}

func FuzzDecodeChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}],"temperature":0.7,"top_p":0.9,"max_tokens":16,"stop":["\n","END"],"seed":42}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":5,"n":1,"top_k":40,"min_p":0.05,"frequency_penalty":0.5,"presence_penalty":-0.5}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1e3,"seed":-9223372036854775808}`,
		`{"model":"m","messages":[{"role":"user","content":"\ud800"}]}`,
		`{"model":5}`, `[]`, `null`, `{`, `{"model":"m","messages":{}}`, "{\"model\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, e := decodeChatRequest(in)
		checkDecoded(t, in, r, e)
		if r != nil {
			// What was accepted re-encodes to a request that decodes the same.
			msgs := make([]map[string]string, len(r.Messages))
			for i, m := range r.Messages {
				msgs[i] = map[string]string{"role": m.Role, "content": m.Content}
			}
			b, err := json.Marshal(map[string]any{"model": r.Model, "messages": msgs, "stop": r.Stop})
			if err != nil {
				t.Fatal(err)
			}
			r2, e2 := decodeChatRequest(b)
			if e2 != nil || r2.Model != r.Model || len(r2.Messages) != len(r.Messages) ||
				strings.Join(r2.Stop, "\x00") != strings.Join(r.Stop, "\x00") {
				t.Fatalf("round trip of %q: %v %+v", in, e2, r2)
			}
			for i := range r.Messages {
				if r2.Messages[i] != r.Messages[i] {
					t.Fatalf("round trip message %d: %+v vs %+v", i, r2.Messages[i], r.Messages[i])
				}
			}
		}
	})
}

func TestDecodeTandemField(t *testing.T) {
	for body, want := range map[string]string{
		`{"model":"auto","messages":[{"role":"user","content":"x"}],"tandem":{"route":"moon"}}`:  "tandem.route",
		`{"model":"auto","messages":[{"role":"user","content":"x"}],"tandem":{"route":1}}`:       "tandem.route",
		`{"model":"auto","messages":[{"role":"user","content":"x"}],"tandem":{"colour":"red"}}`:  "tandem.colour",
		`{"model":"auto","messages":[{"role":"user","content":"x"}],"tandem":"local-only"}`:      "tandem",
		`{"model":"auto","messages":[{"role":"user","content":"x"}],"tandem":{"session":["a"]}}`: "tandem.session",
	} {
		if _, e := decodeChatRequest([]byte(body)); e == nil || e.Param != want {
			t.Errorf("%s: %+v, want an error on %s", body, e, want)
		}
	}
	r, e := decodeChatRequest([]byte(`{"model":"auto","messages":[{"role":"user","content":"x"}],"tandem":{"route":"cloud-only","session":"s"}}`))
	if e != nil || r.RouteMode != "cloud-only" || r.Session != "s" {
		t.Errorf("%+v %v", r, e)
	}
}
