package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/internal/httpjson"
)

type endpointKind int

const (
	chatEndpoint endpointKind = iota
	completionEndpoint
)

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request, id keyID) (int, string) {
	body, e := s.readBody(w, r)
	if e == nil {
		var req *request
		if req, e = decodeChatRequest(body); e == nil {
			return s.generate(w, r, id, req, chatEndpoint)
		}
	}
	e.write(w)
	return e.Status, ""
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request, id keyID) (int, string) {
	body, e := s.readBody(w, r)
	if e == nil {
		var req *request
		if req, e = decodeCompletionRequest(body); e == nil {
			return s.generate(w, r, id, req, completionEndpoint)
		}
	}
	e.write(w)
	return e.Status, ""
}

// record notes which tiers answered a request.
type record struct {
	mu    sync.Mutex
	tiers []*Tier // tiers that produced output, in order
}

func (rec *record) served(t *Tier) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.tiers) == 0 || rec.tiers[len(rec.tiers)-1] != t {
		rec.tiers = append(rec.tiers, t)
	}
}

func (rec *record) names() string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := make([]string, len(rec.tiers))
	for i, t := range rec.tiers {
		n[i] = t.Name
	}
	return strings.Join(n, ",")
}

func (rec *record) last() *Tier {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.tiers) == 0 {
		return nil
	}
	return rec.tiers[len(rec.tiers)-1]
}

// tierBackend runs a request on one tier: it asks for the tier's own model
// name and records the tier and its errors.
type tierBackend struct {
	t   *Tier
	s   *Server
	rec *record
}

func (tb *tierBackend) Stream(ctx context.Context, req *backend.Request, emit func(backend.Event) error) (backend.Final, error) {
	r := *req
	if tb.t.Model != "" {
		r.Model = tb.t.Model
	}
	started := false
	fin, err := tb.t.Backend.Stream(ctx, &r, func(ev backend.Event) error {
		if !started {
			started = true
			tb.rec.served(tb.t)
			tb.s.m.tierServed.WithLabelValues(tb.t.Name).Inc()
		}
		return emit(ev)
	})
	switch {
	case err == nil:
		if !started {
			tb.rec.served(tb.t)
			tb.s.m.tierServed.WithLabelValues(tb.t.Name).Inc()
		}
	case ctx.Err() == nil:
		tb.s.m.tierErrors.WithLabelValues(tb.t.Name, errorReason(err)).Inc()
		tb.s.log.Debug("tier failed", "tier", tb.t.Name, "started", started, "err", err)
		if tb.s.device != nil && tb.t.Kind == KindCloud && !errors.Is(err, backend.ErrBadRequest) && !errors.Is(err, backend.ErrContextLength) {
			tb.s.device.ObserveCloud(tb.t.Name, 0, 0, err) // the router avoids a tier that keeps failing
		}
	}
	return fin, err
}

func errorReason(err error) string {
	switch {
	case errors.Is(err, backend.ErrOverloaded):
		return "overloaded"
	case errors.Is(err, backend.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, backend.ErrContextLength):
		return "context_length"
	case errors.Is(err, backend.ErrBadRequest):
		return "bad_request"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}

// generate routes a decoded request, runs it and answers.
func (s *Server) generate(w http.ResponseWriter, r *http.Request, id keyID, req *request, kind endpointKind) (int, string) {
	start := s.now()
	if len(req.Unknown) > 0 {
		s.log.Debug("ignoring unknown request fields", "path", r.URL.Path, "fields", req.Unknown)
	}
	label := s.modelLabel(req.Model)
	if e := s.keys.budget(id); e != nil {
		e.write(w)
		return e.Status, label
	}
	ctx := r.Context()
	if s.requestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.requestTimeout)
		defer cancel()
	}
	var p *plan
	if s.router != nil && s.role == RoleDevice {
		var e *apiError
		if p, e = s.decide(ctx, r, req); e != nil {
			e.write(w)
			return e.Status, label
		}
		w.Header().Set(routeHeader, routeHeaderValue(p.dec))
	} else {
		p = &plan{tiers: s.route(req.Model)}
	}
	if len(p.tiers) == 0 {
		e := unknownModel(req.Model)
		e.write(w)
		return e.Status, "unknown"
	}
	rec := &record{}
	bs := s.backends(p, rec)
	b := bs[0]
	if len(bs) > 1 && s.chain != nil {
		b = s.chain(bs...)
	}

	a := &answer{s: s, w: w, rc: http.NewResponseController(w), req: req, kind: kind, rec: rec,
		model: req.Model, created: start.Unix(), start: start, label: label, plan: p}
	if kind == chatEndpoint {
		a.id = newID("chatcmpl-")
	} else {
		a.id = newID("cmpl-")
	}
	w.Header().Set("X-Request-Id", a.id)
	s.m.waiting.WithLabelValues(label).Inc()
	fin, err := b.Stream(ctx, &req.Request, a.emit)
	if !a.gotFirst {
		s.m.waiting.WithLabelValues(label).Dec()
	}
	end := s.now()

	u := fin.Usage
	s.m.tokens.WithLabelValues(label, "in").Add(float64(u.PromptTokens))
	s.m.tokens.WithLabelValues(label, "out").Add(float64(u.CompletionTokens))
	s.keys.charge(id, int64(u.PromptTokens+u.CompletionTokens))
	if t := rec.last(); t != nil {
		s.m.cost.WithLabelValues(t.Name).Add((float64(u.PromptTokens)*t.CostInput + float64(u.CompletionTokens)*t.CostOutput) / 1e6)
	}
	var tokPerSec float64
	if a.gotFirst && u.CompletionTokens > 1 {
		if d := end.Sub(a.firstAt).Seconds(); d > 0 {
			tokPerSec = float64(u.CompletionTokens-1) / d
			s.m.tokPerSec.WithLabelValues(label).Observe(tokPerSec)
		}
	}
	var ttft time.Duration
	if a.gotFirst {
		ttft = a.firstAt.Sub(start)
	}
	s.observe(p, rec, fin, err, ttft, end.Sub(start), tokPerSec)

	status := http.StatusOK
	if err == nil && a.writeErr == nil {
		a.finish(fin)
	} else {
		if a.writeErr != nil {
			err = a.writeErr
		}
		param := "messages"
		if kind == completionEndpoint {
			param = "prompt"
		}
		e := backendError(err, param)
		if r.Context().Err() != nil || a.writeErr != nil {
			e.Status = 499 // the client went away; nothing more is sent
		}
		status = e.Status
		if status != 499 {
			a.fail(e)
		}
		s.log.Debug("generation failed", "id", a.id, "tiers", rec.names(), "streamed", a.started, "err", err)
	}
	s.log.Debug("generation", "id", a.id, "model", req.Model, "tiers", rec.names(), "status", status,
		"prompt_tokens", u.PromptTokens, "completion_tokens", u.CompletionTokens, "finish", fin.FinishReason,
		"ms", end.Sub(start).Milliseconds())
	return status, label
}

// answer writes one response: collected into one JSON object, or streamed as
// SSE from the first event on.
type answer struct {
	s       *Server
	w       http.ResponseWriter
	rc      *http.ResponseController
	req     *request
	kind    endpointKind
	rec     *record
	id      string
	model   string
	label   string
	created int64
	start   time.Time
	plan    *plan

	gotFirst bool
	firstAt  time.Time
	started  bool // SSE headers sent
	writeErr error

	text      strings.Builder // non-streamed answer
	chatLP    []chatTokenLogprob
	cmplLP    *completionLogprobs
	offset    int // bytes of text so far (completion logprob offsets)
	prefixed  bool
	sentRoute bool // the decision went out in the first chunk
}

func (a *answer) emit(ev backend.Event) error {
	if !a.gotFirst {
		a.gotFirst, a.firstAt = true, a.s.now()
		a.s.m.waiting.WithLabelValues(a.label).Dec()
		a.s.m.ttft.WithLabelValues(a.label).Observe(a.firstAt.Sub(a.start).Seconds())
	}
	if !a.req.Stream {
		if a.req.Echo && !a.prefixed {
			a.text.WriteString(a.req.Prompt)
			a.prefixed = true
		}
		a.text.WriteString(ev.Text)
		a.addLogprobs(ev.Logprobs)
		return nil
	}
	if !a.started {
		if err := a.startStream(); err != nil {
			return err
		}
	}
	return a.chunk(ev.Text, ev.Logprobs, nil, nil)
}

func (a *answer) addLogprobs(lps []backend.TokenLogprob) {
	if !a.req.Logprobs || len(lps) == 0 {
		return
	}
	if a.kind == chatEndpoint {
		a.chatLP = append(a.chatLP, toChatLogprobs(lps)...)
		return
	}
	if a.cmplLP == nil {
		a.cmplLP = &completionLogprobs{}
	}
	a.cmplLP.add(lps, a.offset)
	for _, lp := range lps {
		a.offset += len(lp.Token)
	}
}

// startStream sends the SSE headers and the first chunk (the assistant role
// for chat, the echoed prompt for completions).
func (a *answer) startStream() error {
	a.started = true
	h := a.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	if n := a.rec.names(); n != "" {
		h.Set("X-Tandem-Tier", n)
	}
	a.w.WriteHeader(http.StatusOK)
	if a.kind == chatEndpoint {
		return a.chunk("", nil, nil, nil)
	}
	if a.req.Echo {
		return a.chunk(a.req.Prompt, nil, nil, nil)
	}
	return nil
}

// chunk writes one SSE event. finish is nil except in the last chunk.
func (a *answer) chunk(text string, lps []backend.TokenLogprob, finish *string, u *usage) error {
	var v any
	if a.kind == chatEndpoint {
		c := chatChoice{Delta: &chatDelta{}, FinishReason: finish}
		switch {
		case !a.prefixed:
			c.Delta.Role, c.Delta.Content, a.prefixed = "assistant", &text, true
		case finish == nil:
			c.Delta.Content = &text
		}
		if a.req.Logprobs && len(lps) > 0 {
			c.Logprobs = &chatLogprobs{Content: toChatLogprobs(lps)}
		}
		resp := chatResponse{ID: a.id, Object: "chat.completion.chunk", Created: a.created, Model: a.model,
			SystemFingerprint: fingerprint, Choices: []chatChoice{c}, Tandem: a.tandem(finish != nil)}
		if u != nil {
			resp.Choices, resp.Usage = []chatChoice{}, u
		}
		v = resp
	} else {
		c := completionChoice{Text: text, FinishReason: finish}
		if a.req.Logprobs && len(lps) > 0 {
			c.Logprobs = &completionLogprobs{}
			c.Logprobs.add(lps, a.offset)
		}
		a.offset += len(text)
		resp := completionResponse{ID: a.id, Object: "text_completion", Created: a.created, Model: a.model,
			SystemFingerprint: fingerprint, Choices: []completionChoice{c}, Tandem: a.tandem(finish != nil)}
		if u != nil {
			resp.Choices, resp.Usage = []completionChoice{}, u
		}
		v = resp
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return a.sse(b)
}

func (a *answer) sse(data []byte) error {
	if a.writeErr != nil {
		return a.writeErr
	}
	a.rc.SetWriteDeadline(time.Now().Add(a.s.writeTimeout))
	buf := make([]byte, 0, len(data)+8)
	buf = append(append(append(buf, "data: "...), data...), "\n\n"...)
	if _, err := a.w.Write(buf); err != nil {
		a.writeErr = fmt.Errorf("writing to the client: %w", err)
		return a.writeErr
	}
	if err := a.rc.Flush(); err != nil {
		a.writeErr = fmt.Errorf("flushing to the client: %w", err)
		return a.writeErr
	}
	return nil
}

const fingerprint = "tandem"

// tandem is the response's "tandem" field: the routing decision in the
// first chunk and, at the end, with the tiers that served and any
// escalation. Without a router: nothing.
func (a *answer) tandem(final bool) *routeInfo {
	if a.plan == nil || a.plan.dec == nil {
		return nil
	}
	if !final {
		if a.sentRoute {
			return nil
		}
		a.sentRoute = true
		return &routeInfo{Route: a.plan.dec}
	}
	info := &routeInfo{Route: a.plan.dec, Escalation: a.plan.escalation()}
	if n := a.rec.names(); n != "" {
		info.Served = strings.Split(n, ",")
	}
	return info
}

// finish ends a successful answer.
func (a *answer) finish(fin backend.Final) {
	reason := fin.FinishReason
	if reason == "" {
		reason = "stop"
	}
	u := toUsage(fin.Usage)
	if !a.req.Stream {
		a.w.Header().Set("X-Tandem-Tier", a.rec.names())
		if a.req.Echo && !a.prefixed {
			a.text.WriteString(a.req.Prompt)
		}
		if a.kind == chatEndpoint {
			c := chatChoice{Message: &chatMessage{Role: "assistant", Content: a.text.String()}, FinishReason: &reason}
			if a.req.Logprobs {
				c.Logprobs = &chatLogprobs{Content: a.chatLP}
				if c.Logprobs.Content == nil {
					c.Logprobs.Content = []chatTokenLogprob{}
				}
			}
			httpjson.Write(a.w, http.StatusOK, chatResponse{ID: a.id, Object: "chat.completion", Created: a.created,
				Model: a.model, SystemFingerprint: fingerprint, Choices: []chatChoice{c}, Usage: u, Tandem: a.tandem(true)})
			return
		}
		c := completionChoice{Text: a.text.String(), FinishReason: &reason}
		if a.req.Logprobs {
			c.Logprobs = a.cmplLP
			if c.Logprobs == nil {
				c.Logprobs = &completionLogprobs{}
			}
		}
		httpjson.Write(a.w, http.StatusOK, completionResponse{ID: a.id, Object: "text_completion", Created: a.created,
			Model: a.model, SystemFingerprint: fingerprint, Choices: []completionChoice{c}, Usage: u, Tandem: a.tandem(true)})
		return
	}
	if !a.started && a.startStream() != nil {
		return
	}
	if a.chunk("", nil, &reason, nil) != nil {
		return
	}
	if a.req.IncludeUsage && a.chunk("", nil, nil, u) != nil {
		return
	}
	a.sse([]byte("[DONE]"))
}

// fail ends an answer with an error: an error response before anything was
// streamed, an error event after.
func (a *answer) fail(e *apiError) {
	if !a.started {
		e.write(a.w)
		return
	}
	b, err := json.Marshal(e.body())
	if err == nil {
		a.sse(b)
	}
}
