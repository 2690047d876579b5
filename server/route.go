package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/device"
	"github.com/tandem-llm/tandem/router"
)

// AutoModel is the model name that asks the router to choose the tier.
const AutoModel = "auto"

// routeHeader carries the decision to the client; routeModeHeader is the
// per-request override (same values as the body's tandem.route).
const (
	routeHeader     = "X-Tandem-Route"
	routeModeHeader = "X-Tandem-Route-Mode"
	sessionHeader   = "X-Tandem-Session"
)

// routeInfo is the "tandem" field of responses: the decision, the tiers
// that streamed the answer, and an escalation if there was one.
type routeInfo struct {
	Route      *router.Decision   `json:"route,omitempty"`
	Served     []string           `json:"served,omitempty"`
	Escalation *router.Escalation `json:"escalation,omitempty"`
}

// plan is a routed request: the backends to chain and what to report.
type plan struct {
	tiers []*Tier
	dec   *router.Decision
	mu    sync.Mutex
	esc   *router.Escalation
}

func (p *plan) escalated(e router.Escalation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.esc == nil {
		p.esc = &e
	}
}

func (p *plan) escalation() *router.Escalation {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.esc
}

// decide runs the router for a request (device role with a router).
// "auto" is the router's choice; a model name pins the tier serving it, or
// else the first cloud tier passing names through (its upstream decides
// whether the model exists); other names are a 404.
func (s *Server) decide(ctx context.Context, r *http.Request, req *request) (*plan, *apiError) {
	mode := req.RouteMode
	if h := r.Header.Get(routeModeHeader); h != "" {
		mode = h
	}
	m, err := router.ParseMode(mode)
	if err != nil {
		return nil, &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: "tandem.route", Code: "invalid_value", Message: err.Error()}
	}
	session := req.Session
	if h := r.Header.Get(sessionHeader); h != "" && len(h) <= 256 {
		session = h
	}
	rr := router.Request{Request: &req.Request, Mode: m, Session: session}
	if req.Model != AutoModel {
		rr.Pin = s.pinned(req.Model)
		if rr.Pin == "" {
			return nil, unknownModel(req.Model)
		}
	}
	var st device.State
	if s.device != nil {
		st = s.device.State()
	}
	start := time.Now()
	dec, err := s.router.Decide(ctx, rr, st)
	s.m.routeSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		if errors.Is(err, router.ErrNoTier) {
			s.m.routeDecisions.WithLabelValues("none").Inc()
			return nil, &apiError{Status: http.StatusServiceUnavailable, Type: typeServer, Code: "no_tier", Message: err.Error()}
		}
		return nil, backendError(err, "messages")
	}
	s.m.routeDecisions.WithLabelValues(dec.Tier).Inc()
	if len(dec.PII) > 0 {
		s.m.routePII.WithLabelValues(string(s.router.PrivacyMode())).Inc()
	}
	s.govern(&dec)
	p := &plan{dec: &dec}
	for _, name := range append([]string{dec.Tier}, dec.Fallback...) {
		if t := s.tierByName(name); t != nil {
			p.tiers = append(p.tiers, t)
		}
	}
	s.log.Info("route", "tier", dec.Tier, "difficulty", dec.Difficulty, "threshold", dec.Threshold,
		"fallback", dec.Fallback, "reasons", dec.Reasons)
	return p, nil
}

// pinned is the tier a model name asks for ("": none).
func (s *Server) pinned(model string) string {
	for _, t := range s.tiers {
		if t.Model == model {
			return t.Name
		}
	}
	for _, t := range s.tiers {
		if t.Kind == KindCloud && t.Model == "" {
			return t.Name
		}
	}
	return ""
}

// governed is what the governor adjusts on a local model (local.Backend).
type governed interface {
	SetThreads(n int) (previous int)
	Release() bool
}

// govern applies the device governor's advice carried by a decision to the
// local models: their thread count (fewer when hot), and under memory
// pressure the release of idle models' weight pages. Changes are logged.
func (s *Server) govern(d *router.Decision) {
	for _, t := range s.tiers {
		g, ok := t.Backend.(governed)
		if t.Kind != KindLocal || !ok {
			continue
		}
		if d.Threads > 0 {
			if prev := g.SetThreads(d.Threads); prev != d.Threads {
				s.log.Info("governor: threads", "tier", t.Name, "from", prev, "to", d.Threads, "reasons", d.Reasons)
			}
		}
		if d.UnloadIdle && t.Name != d.Tier && g.Release() {
			s.log.Info("governor: released an idle model's memory", "tier", t.Name, "reasons", d.Reasons)
		}
	}
}

func (s *Server) tierByName(name string) *Tier {
	for i := range s.tiers {
		if s.tiers[i].Name == name {
			return &s.tiers[i]
		}
	}
	return nil
}

// backends turns a plan into the chain's backends: every tier records what
// it served; with a decision, cloud tiers see masked text when the request
// holds personal data, and a local first tier is watched for low confidence
// (then the same local tier, unwatched, ends the chain so the answer
// survives an unreachable cloud).
func (s *Server) backends(p *plan, rec *record) []backend.Backend {
	var bs []backend.Backend
	var last backend.Backend
	for i, t := range p.tiers {
		var b backend.Backend = &tierBackend{t: t, s: s, rec: rec}
		if p.dec != nil && t.Kind == KindCloud && p.dec.Masker != nil {
			b = router.Masked(b, p.dec.Masker)
		}
		if i == 0 && p.dec != nil && p.dec.Cascade && t.Kind == KindLocal {
			bs = append(bs, router.Watch(b, s.router.Cascade(), func(e router.Escalation) {
				p.escalated(e)
				s.m.escalations.WithLabelValues(t.Name, escalationWhen(e)).Inc()
				s.m.wastedTokens.WithLabelValues(t.Name).Add(float64(e.Wasted))
				s.log.Info("escalate", "tier", t.Name, "reason", e.Reason)
			}))
			last = b
			continue
		}
		bs = append(bs, b)
	}
	if last != nil {
		bs = append(bs, last)
	}
	return bs
}

func escalationWhen(e router.Escalation) string {
	if e.BeforeFirstByte {
		return "before_first_byte"
	}
	return "mid_stream"
}

// routeHeaderValue is the X-Tandem-Route header: the tier, the difficulty
// and the reasons (ASCII only: header values are not UTF-8 safe).
func routeHeaderValue(d *router.Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tier=%s; difficulty=%.2f; threshold=%.2f", d.Tier, d.Difficulty, d.Threshold)
	if len(d.Reasons) > 0 {
		b.WriteString("; reasons=")
		b.WriteString(asciiOnly(strings.Join(d.Reasons, " | ")))
	}
	return b.String()
}

func asciiOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '≥':
			b.WriteString(">=")
		case r == '×':
			b.WriteString("x")
		case r < 0x20 || r > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// observe feeds what a request showed back into the router and the device
// model: spending, the tier a session ended on, tok/s and cloud latency.
func (s *Server) observe(p *plan, rec *record, fin backend.Final, err error, ttft, took time.Duration, tokPerSec float64) {
	if p == nil || p.dec == nil {
		return
	}
	last := rec.last()
	if last == nil {
		return
	}
	u := fin.Usage
	if last.Kind == KindCloud {
		s.router.Charge(last.Name, (float64(u.PromptTokens)*last.CostInput+float64(u.CompletionTokens)*last.CostOutput)/1e6)
	}
	if last.Name != p.dec.Tier {
		s.router.Moved(p.dec.Session, last.Name)
	}
	if s.device == nil {
		return
	}
	switch {
	case last.Kind == KindLocal:
		if err == nil && tokPerSec > 0 {
			s.device.ObserveLocal(last.Name, tokPerSec)
		}
		s.device.ObserveLocalRun(took) // sustained generation heats the device
	case last.Kind == KindCloud && err == nil:
		// Failures are counted per tier as they happen (tierBackend.Stream),
		// which also leaves out bad requests and cancelled clients.
		s.device.ObserveCloud(last.Name, ttft, tokPerSec, nil)
	}
}

// deviceState serves /v1/device/state (GET: the state and each tier's
// predictions for a typical request; POST: a host app pushes readings).
func (s *Server) deviceState(w http.ResponseWriter, r *http.Request, _ keyID) (int, string) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.deviceHandler.ServeHTTP(sw, r)
	return sw.status, ""
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
