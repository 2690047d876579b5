package cloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tandem-llm/tandem/backend"
)

// Wire types of the OpenAI-compatible API (the parts this package uses).

type wireMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type wireRequest struct {
	Model                string          `json:"model,omitempty"`
	Messages             []wireMessage   `json:"messages,omitempty"`
	Prompt               *string         `json:"prompt,omitempty"`
	Stream               bool            `json:"stream"`
	StreamOptions        *streamOptions  `json:"stream_options,omitempty"`
	MaxTokens            int             `json:"max_tokens,omitempty"`
	Stop                 []string        `json:"stop,omitempty"`
	Temperature          *float64        `json:"temperature,omitempty"`
	TopP                 *float64        `json:"top_p,omitempty"`
	TopK                 int             `json:"top_k,omitempty"`
	MinP                 float64         `json:"min_p,omitempty"`
	FrequencyPenalty     float64         `json:"frequency_penalty,omitempty"`
	PresencePenalty      float64         `json:"presence_penalty,omitempty"`
	Seed                 *int64          `json:"seed,omitempty"`
	Logprobs             json.RawMessage `json:"logprobs,omitempty"` // chat: true; completions: top count
	TopLogprobs          int             `json:"top_logprobs,omitempty"`
	ContinueFinalMessage bool            `json:"continue_final_message,omitempty"`
	AddGenerationPrompt  *bool           `json:"add_generation_prompt,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type wireUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

type wireTop struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
}

// wireLogprobs holds both shapes: chat (content) and completions (tokens,
// token_logprobs, top_logprobs as maps).
type wireLogprobs struct {
	Content []struct {
		Token       string    `json:"token"`
		Logprob     float64   `json:"logprob"`
		TopLogprobs []wireTop `json:"top_logprobs"`
	} `json:"content"`
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []*float64           `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
}

type wireChoice struct {
	Index int `json:"index"`
	Delta struct {
		Content *string `json:"content"`
	} `json:"delta"`
	Message struct { // non-streaming answers
		Content *string `json:"content"`
	} `json:"message"`
	Text         *string       `json:"text"`
	Logprobs     *wireLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

type wireChunk struct {
	Object  string          `json:"object"`
	Message string          `json:"message"` // top-level error shape (older vLLM)
	Choices []wireChoice    `json:"choices"`
	Usage   *wireUsage      `json:"usage"`
	Error   json.RawMessage `json:"error"`
}

// body builds the upstream request for an attempt that resumes after cont.
func (st *stream) body(r *replica, cont string) ([]byte, string) {
	req := st.req
	w := wireRequest{
		Model:            req.Model,
		Stream:           true,
		StreamOptions:    &streamOptions{IncludeUsage: true},
		Stop:             req.Stop,
		Temperature:      req.Temperature,
		TopP:             req.TopP,
		TopK:             req.TopK,
		MinP:             req.MinP,
		FrequencyPenalty: req.FrequencyPenalty,
		PresencePenalty:  req.PresencePenalty,
		Seed:             req.Seed,
	}
	if r.up.Model != "" {
		w.Model = r.up.Model
	}
	if req.MaxTokens > 0 {
		w.MaxTokens = max(1, req.MaxTokens-st.tokens)
	}
	endpoint := r.chatURL
	if req.Messages != nil {
		w.Messages = make([]wireMessage, len(req.Messages), len(req.Messages)+1)
		for i, m := range req.Messages {
			w.Messages[i] = wireMessage{Role: m.Role, Content: m.Content}
		}
		if cont != "" {
			w.Messages = append(w.Messages, wireMessage{Role: "assistant", Content: cont})
			w.ContinueFinalMessage = true
			f := false
			w.AddGenerationPrompt = &f
		}
		if req.Logprobs {
			w.Logprobs = json.RawMessage("true")
			w.TopLogprobs = req.TopLogprobs
		}
	} else {
		endpoint = r.complURL
		prompt := req.Prompt + cont
		w.Prompt = &prompt
		if req.Logprobs {
			w.Logprobs = json.RawMessage(fmt.Sprint(req.TopLogprobs))
		}
	}
	b, err := json.Marshal(&w)
	if err != nil { // only strings, ints, finite floats: cannot happen
		panic(err)
	}
	return b, endpoint
}

type attemptResult struct {
	final      backend.Final // when err is nil
	err        error         // what Stream returns (nil: the answer is complete)
	upstream   *UpstreamError
	retry      bool // the replica failed: try another
	overloaded bool // it answered 429
	progress   bool // text was emitted
	tokens     int  // token estimate of the text emitted
	outcome    outcome
}

var (
	errFirstByte = errors.New("cloud: first-byte timeout")
	errStall     = errors.New("cloud: stream stalled")
	errDrain     = errors.New("cloud: drain timeout")
)

// Watchdog phases.
const (
	phaseFirst int32 = iota
	phaseStream
	phaseDrain
)

// drainTimeout bounds reading the end of a body after [DONE], so that the
// connection can be reused.
const drainTimeout = 250 * time.Millisecond

// watchdog cancels an attempt whose upstream is silent for too long.
type watchdog struct {
	t     *time.Timer
	phase atomic.Int32
}

func newWatchdog(cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{}
	w.t = time.AfterFunc(time.Hour, func() {
		switch w.phase.Load() {
		case phaseFirst:
			cancel(errFirstByte)
		case phaseStream:
			cancel(errStall)
		default:
			cancel(errDrain)
		}
	})
	return w
}

func (w *watchdog) set(phase int32, d time.Duration) {
	w.phase.Store(phase)
	if d > 0 {
		w.t.Reset(d)
	} else {
		w.t.Stop()
	}
}

// attempt streams from r into st.emit until the answer ends or r fails.
func (p *Pool) attempt(ctx context.Context, r *replica, st *stream) (res attemptResult) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	wd := newWatchdog(cancel)
	defer wd.t.Stop()
	wd.set(phaseFirst, p.o.FirstByteTimeout)

	// fail describes r failing with kind; the caller's context ending and
	// the watchdog firing are told apart here.
	fail := func(kind string, status int, code, msg string, err error) attemptResult {
		if ctx.Err() != nil {
			res.err, res.outcome = ctx.Err(), outNeutral
			return res
		}
		switch context.Cause(actx) {
		case errFirstByte:
			kind, err = KindFirstByte, errFirstByte
		case errStall:
			kind, err = KindStall, errStall
		}
		res.upstream = &UpstreamError{Replica: r.name, Kind: kind, Status: status, Code: code, Message: msg, Err: err}
		res.err, res.retry, res.outcome = res.upstream, true, outFailure
		return res
	}

	body, endpoint := st.body(r, st.req.Continue+st.sent.String())
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fail(KindConnect, 0, "", "", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	if r.up.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+r.up.APIKey)
	}
	resp, err := p.client.Do(hreq)
	if err != nil {
		return fail(KindConnect, 0, "", "", err)
	}
	defer resp.Body.Close()

	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if ctx.Err() != nil || context.Cause(actx) != nil {
			return fail(KindCut, 0, "", "", context.Cause(actx))
		}
		return p.statusResult(r, resp.StatusCode, b)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" {
		return p.wholeResult(r, st, resp.Body, fail)
	}

	sr := newSSEReader(resp.Body, nil)
	started := false
	sr.onLine = func() {
		if !started {
			started = true
			wd.set(phaseStream, p.o.StallTimeout)
			return
		}
		if p.o.StallTimeout > 0 {
			wd.t.Reset(p.o.StallTimeout)
		}
	}
	var (
		finish string
		usage  *wireUsage
		chunk  wireChunk
	)
	for {
		data, err := sr.next()
		if err != nil {
			if finish != "" && ctx.Err() == nil {
				break // broke or ended without [DONE]: accepted once finish_reason came
			}
			if errors.Is(err, errSSETooLarge) {
				return fail(KindProtocol, 0, "", "", err)
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fail(KindCut, 0, "", "", err)
		}
		data = bytes.TrimSpace(data)
		if len(data) == 0 {
			continue
		}
		if string(data) == "[DONE]" {
			// Read the body's end so that the connection can be reused.
			wd.set(phaseDrain, drainTimeout)
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			break
		}
		chunk = wireChunk{}
		if err := json.Unmarshal(data, &chunk); err != nil {
			return fail(KindProtocol, 0, "", "", fmt.Errorf("chunk: %w", err))
		}
		if len(chunk.Error) > 0 && string(chunk.Error) != "null" || chunk.Object == "error" {
			code, msg := parseErrorBody(data)
			if isContextLength(code, msg) { // some servers report it in the stream
				res.upstream = &UpstreamError{Replica: r.name, Kind: KindStreamError, Code: code, Message: msg}
				res.err, res.outcome = fmt.Errorf("%w: %s", backend.ErrContextLength, msg), outSuccess
				return res
			}
			return fail(KindStreamError, 0, code, msg, nil)
		}
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
		for i := range chunk.Choices {
			c := &chunk.Choices[i]
			if c.Index != 0 {
				continue
			}
			text := ""
			if c.Delta.Content != nil {
				text = *c.Delta.Content
			} else if c.Text != nil {
				text = *c.Text
			}
			ev := backend.Event{Text: text, Logprobs: convertLogprobs(c.Logprobs)}
			if ev.Text != "" || len(ev.Logprobs) > 0 {
				wd.t.Stop() // a slow client is not a stalled upstream
				if err := st.emitEvent(r, ev, &res); err != nil {
					res.err, res.outcome = err, outNeutral
					return res
				}
				if ctx.Err() == nil && context.Cause(actx) != nil {
					// The watchdog fired just before it was stopped.
					return fail(KindStall, 0, "", "", nil)
				}
				wd.set(phaseStream, p.o.StallTimeout)
			}
			if c.FinishReason != nil && *c.FinishReason != "" {
				switch *c.FinishReason {
				case "abort", "error":
					return fail(KindStreamError, 0, "", "finish_reason "+*c.FinishReason, nil)
				case "length":
					finish = "length"
				default: // stop, eos, tool_calls, content_filter, …
					finish = "stop"
				}
			}
		}
	}
	if finish == "" {
		finish = "stop"
	}
	res.final.FinishReason = finish
	if usage != nil {
		res.final.Usage = backend.Usage{PromptTokens: usage.PromptTokens, CompletionTokens: usage.CompletionTokens}
	}
	res.outcome = outSuccess
	return res
}

// emitEvent passes ev to the caller and accounts for it.
func (st *stream) emitEvent(r *replica, ev backend.Event, res *attemptResult) error {
	if err := st.emit(ev); err != nil {
		return err
	}
	if n := len(ev.Logprobs); n > 0 {
		res.tokens += n
	} else {
		res.tokens++
	}
	if ev.Text != "" {
		res.progress = true
		st.sent.WriteString(ev.Text)
		if !st.ttft {
			st.ttft = true
			st.p.o.Observer.OnTTFT(r.name, time.Since(st.start))
		}
	}
	return nil
}

// wholeResult handles a non-streaming JSON answer (a server that ignored
// "stream": true, or sent an error with status 200).
func (p *Pool) wholeResult(r *replica, st *stream, body io.Reader, fail func(string, int, string, string, error) attemptResult) attemptResult {
	b, err := io.ReadAll(io.LimitReader(body, 16<<20))
	if err != nil {
		return fail(KindCut, 0, "", "", err)
	}
	var c wireChunk
	if err := json.Unmarshal(b, &c); err != nil {
		return fail(KindProtocol, 0, "", "", fmt.Errorf("response: %w", err))
	}
	if len(c.Error) > 0 && string(c.Error) != "null" || c.Object == "error" {
		code, msg := parseErrorBody(b)
		return fail(KindStreamError, 0, code, msg, nil)
	}
	var res attemptResult
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			continue
		}
		text := ""
		switch {
		case ch.Message.Content != nil:
			text = *ch.Message.Content
		case ch.Text != nil:
			text = *ch.Text
		}
		ev := backend.Event{Text: text, Logprobs: convertLogprobs(ch.Logprobs)}
		if ev.Text != "" || len(ev.Logprobs) > 0 {
			if err := st.emitEvent(r, ev, &res); err != nil {
				res.err, res.outcome = err, outNeutral
				return res
			}
		}
		res.final.FinishReason = "stop"
		if ch.FinishReason != nil && *ch.FinishReason == "length" {
			res.final.FinishReason = "length"
		}
		break
	}
	if c.Usage != nil {
		res.final.Usage = backend.Usage{PromptTokens: c.Usage.PromptTokens, CompletionTokens: c.Usage.CompletionTokens}
	}
	res.outcome = outSuccess
	return res
}

// statusResult maps a non-2xx answer.
func (p *Pool) statusResult(r *replica, status int, body []byte) attemptResult {
	code, msg := parseErrorBody(body)
	if msg == "" {
		msg = http.StatusText(status)
	}
	ue := &UpstreamError{Replica: r.name, Kind: KindStatus, Status: status, Code: code, Message: msg}
	res := attemptResult{upstream: ue, err: ue}
	switch {
	case status == http.StatusTooManyRequests:
		res.retry, res.overloaded, res.outcome = true, true, outNeutral
	case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge || status == http.StatusUnprocessableEntity:
		res.outcome = outSuccess // the replica works; the request is at fault
		if isContextLength(code, msg) {
			res.err = fmt.Errorf("%w: %s", backend.ErrContextLength, msg)
		} else {
			res.err = fmt.Errorf("%w: %s", backend.ErrBadRequest, msg)
		}
	case status == http.StatusNotFound && isModelNotFound(code, msg):
		// The replica works but does not serve this model: the client's
		// mistake, so neither retry nor count it against the breaker.
		res.outcome = outSuccess
	default: // 5xx, and 401/403/404/… which say this replica is misconfigured
		res.retry, res.outcome = true, outFailure
	}
	return res
}

// isModelNotFound recognises an OpenAI-style unknown-model answer, as
// opposed to a 404 for a wrong base URL.
func isModelNotFound(code, msg string) bool {
	m := strings.ToLower(msg)
	return code == "model_not_found" || strings.Contains(m, "model") && (strings.Contains(m, "not found") || strings.Contains(m, "does not exist"))
}

// parseErrorBody extracts an error's code (or type) and message from the
// shapes servers use: {"error":{"message","type","code"}}, {"error":"…"},
// vLLM's {"object":"error","message","type","code"}, FastAPI's
// {"detail":…}, or plain text.
func parseErrorBody(b []byte) (code, msg string) {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(b, &e) != nil {
		s := strings.TrimSpace(string(b))
		if len(s) > 512 {
			s = s[:512]
		}
		return "", strings.ToValidUTF8(s, "?")
	}
	if len(e.Error) > 0 && e.Error[0] == '{' {
		var inner struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		}
		if json.Unmarshal(e.Error, &inner) == nil {
			e.Message, e.Type, e.Code = inner.Message, inner.Type, inner.Code
		}
	} else if len(e.Error) > 0 {
		_ = json.Unmarshal(e.Error, &e.Message)
	}
	if e.Message == "" && len(e.Detail) > 0 {
		if json.Unmarshal(e.Detail, &e.Message) != nil {
			e.Message = string(e.Detail)
		}
	}
	code = e.Type
	var s string
	if json.Unmarshal(e.Code, &s) == nil && s != "" {
		code = s // a string code is more specific than the type
	}
	return code, e.Message
}

func isContextLength(code, msg string) bool {
	switch code {
	case "context_length_exceeded", "exceed_context_size_error":
		return true
	}
	m := strings.ToLower(msg)
	for _, s := range []string{"context length", "context_length", "context window", "context size", "maximum context"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

func convertLogprobs(l *wireLogprobs) []backend.TokenLogprob {
	if l == nil {
		return nil
	}
	var out []backend.TokenLogprob
	for _, c := range l.Content {
		t := backend.TokenLogprob{Token: c.Token, Logprob: c.Logprob}
		for _, a := range c.TopLogprobs {
			t.Top = append(t.Top, backend.TopLogprob(a))
		}
		out = append(out, t)
	}
	for i, tok := range l.Tokens {
		t := backend.TokenLogprob{Token: tok}
		if i < len(l.TokenLogprobs) && l.TokenLogprobs[i] != nil {
			t.Logprob = *l.TokenLogprobs[i]
		}
		if i < len(l.TopLogprobs) {
			for k, v := range l.TopLogprobs[i] {
				t.Top = append(t.Top, backend.TopLogprob{Token: k, Logprob: v})
			}
			sort.Slice(t.Top, func(a, b int) bool {
				if t.Top[a].Logprob != t.Top[b].Logprob {
					return t.Top[a].Logprob > t.Top[b].Logprob
				}
				return t.Top[a].Token < t.Top[b].Token
			})
		}
		out = append(out, t)
	}
	return out
}
