// Package server is Tandem's OpenAI-compatible HTTP API, shared by the device
// and cloud roles: /v1/chat/completions, /v1/completions (both with SSE
// streaming), /v1/models, /health and /metrics (Prometheus).
//
// A request is authenticated (when API keys are configured), rate limited,
// read with a size limit, decoded and validated (see decode.go for the
// policy), routed to an ordered list of tiers (see Server.route), and run on
// them through a failover chain; the chain's events are written back as one
// JSON answer or one SSE stream. Backend errors become OpenAI-shaped errors
// with the matching status.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/cloud"
	"github.com/tandem-llm/tandem/device"
	"github.com/tandem-llm/tandem/internal/httpjson"
	"github.com/tandem-llm/tandem/router"
)

// Roles.
const (
	RoleDevice = "device"
	RoleCloud  = "cloud"
)

// Tier kinds.
const (
	KindLocal = "local" // a model on this machine
	KindCloud = "cloud" // upstream OpenAI-compatible servers
)

// Tier is one place a request can be served: a local model or a pool of
// upstream replicas.
type Tier struct {
	Name string
	Kind string // KindLocal or KindCloud
	// Model is the model name the tier serves and is asked for. Empty (only
	// for cloud tiers) passes the requested name through: the upstream
	// decides which models exist.
	Model      string
	Backend    backend.Backend
	Context    int     // context length in tokens (0: unknown); shown in /v1/models
	CostInput  float64 // USD per 1M prompt tokens, for the cost metric
	CostOutput float64 // USD per 1M completion tokens
	// QueueDepth, when set, reports the requests waiting for a slot (local
	// models), for /health and the tandem_queue_depth metric.
	QueueDepth func() int
}

// Options configure a Server.
type Options struct {
	Role  string // RoleDevice (default) or RoleCloud
	Tiers []Tier
	// Chain combines a request's tiers into one backend that fails over
	// from one to the next (cloud.Chain). nil: only the first tier is used.
	Chain func(...backend.Backend) backend.Backend

	APIKeys           []string // when non-empty, /v1/ requests need one as a Bearer token
	RequestsPerMinute int      // per key; 0: unlimited
	TokensPerDay      int64    // per key (prompt + completion, UTC day); 0: unlimited

	RequestTimeout time.Duration // per generation request; 0: none
	MaxBodyBytes   int64         // request body limit; 0: DefaultMaxBodyBytes
	WriteTimeout   time.Duration // per write to a client; 0: 30s

	// Router, on a device, chooses each request's tier (nil: the fixed
	// rule of Server.route); Device feeds it the device's state and serves
	// /v1/device/state.
	Router *router.Router
	Device *device.Monitor

	Logger   *slog.Logger         // nil: slog.Default()
	Registry *prometheus.Registry // nil: NewRegistry()
	Now      func() time.Time     // nil: time.Now (tests)
}

// DefaultMaxBodyBytes is the request body limit when none is configured.
const DefaultMaxBodyBytes = 1 << 20

// Server is the HTTP API. Create it with New.
type Server struct {
	role           string
	tiers          []Tier
	chain          func(...backend.Backend) backend.Backend
	router         *router.Router
	device         *device.Monitor
	deviceHandler  http.Handler // /v1/device/state, with the router's predictions
	keys           *keyring
	requestTimeout time.Duration
	maxBody        int64
	writeTimeout   time.Duration
	log            *slog.Logger
	reg            *prometheus.Registry
	m              *metrics
	now            func() time.Time
	started        time.Time

	draining atomic.Bool
	inflight sync.WaitGroup
}

// New checks the options and returns a server.
func New(o Options) (*Server, error) {
	s := &Server{role: o.Role, chain: o.Chain, router: o.Router, device: o.Device, requestTimeout: o.RequestTimeout,
		maxBody: o.MaxBodyBytes, writeTimeout: o.WriteTimeout, log: o.Logger, reg: o.Registry, now: o.Now}
	if s.role == "" {
		s.role = RoleDevice
	}
	if s.role != RoleDevice && s.role != RoleCloud {
		return nil, fmt.Errorf("server: role %q: want %q or %q", s.role, RoleDevice, RoleCloud)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.writeTimeout <= 0 {
		s.writeTimeout = 30 * time.Second
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.reg == nil {
		s.reg = NewRegistry()
	}
	names := map[string]bool{}
	for i, t := range o.Tiers {
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("server: tier %d has no name", i)
		case names[t.Name]:
			return nil, fmt.Errorf("server: two tiers are named %q", t.Name)
		case t.Backend == nil:
			return nil, fmt.Errorf("server: tier %q has no backend", t.Name)
		case t.Kind != KindLocal && t.Kind != KindCloud:
			return nil, fmt.Errorf("server: tier %q: kind %q: want %q or %q", t.Name, t.Kind, KindLocal, KindCloud)
		case t.Kind == KindLocal && t.Model == "":
			return nil, fmt.Errorf("server: local tier %q has no model name", t.Name)
		}
		names[t.Name] = true
	}
	s.tiers = append([]Tier(nil), o.Tiers...)
	s.keys = newKeyring(o.APIKeys, o.RequestsPerMinute, o.TokensPerDay, s.now)
	m, err := newMetrics(s.reg, s.tiers)
	if err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	s.m = m
	if s.device != nil {
		var pred func(device.State) any
		if s.router != nil {
			pred = func(st device.State) any { return s.router.Predictions(st) }
		}
		s.deviceHandler = device.Handler(s.device, pred)
		if err := s.reg.Register(newDeviceCollector(s)); err != nil {
			return nil, fmt.Errorf("server: device metrics: %w", err)
		}
	}
	s.started = s.now()
	return s, nil
}

// Drain makes the server refuse new API requests with 503 while those in
// flight finish; /health reports "draining" so load balancers move away.
func (s *Server) Drain() { s.draining.Store(true) }

// Wait blocks until no API request is in flight.
func (s *Server) Wait() { s.inflight.Wait() }

// Serve answers HTTP on ln until ctx is cancelled, then drains: new requests
// get 503, requests in flight get up to drainTimeout to finish, after which
// their connections are closed (cancelling their generations).
func (s *Server) Serve(ctx context.Context, ln net.Listener, drainTimeout time.Duration) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.Drain()
	s.log.Info("draining: refusing new requests, finishing those in flight", "timeout", drainTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		s.log.Warn("drain timed out; closing the remaining connections", "err", err)
		hs.Close()
	}
	s.inflight.Wait()
	<-errc
	return nil
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/health", "/healthz":
		if !allowMethod(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		s.health(w)
		return
	case "/metrics":
		if !allowMethod(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
		return
	}
	var h func(http.ResponseWriter, *http.Request, keyID) (int, string)
	endpoint := r.URL.Path
	switch {
	case r.URL.Path == "/v1/chat/completions":
		if !allowMethod(w, r, http.MethodPost) {
			return
		}
		h = s.chatCompletions
	case r.URL.Path == "/v1/completions":
		if !allowMethod(w, r, http.MethodPost) {
			return
		}
		h = s.completions
	case r.URL.Path == "/v1/device/state" && s.device != nil:
		if !allowMethod(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		h = s.deviceState
	case r.URL.Path == "/v1/models" || strings.HasPrefix(r.URL.Path, "/v1/models/"):
		if !allowMethod(w, r, http.MethodGet) {
			return
		}
		h, endpoint = s.models, "/v1/models"
	default:
		(&apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Code: "unknown_url",
			Message: fmt.Sprintf("unknown URL: %s %s", r.Method, r.URL.Path)}).write(w)
		return
	}
	s.api(w, r, endpoint, h)
}

func allowMethod(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	(&apiError{Status: http.StatusMethodNotAllowed, Type: typeInvalidRequest, Code: "method_not_allowed",
		Message: fmt.Sprintf("%s %s: method not allowed (use %s)", r.Method, r.URL.Path, strings.Join(methods, " or "))}).write(w)
	return false
}

// api runs the checks every /v1/ request passes (draining, authentication,
// rate limit), then h, and records the outcome. h returns the status it
// answered with and the model label.
func (s *Server) api(w http.ResponseWriter, r *http.Request, endpoint string, h func(http.ResponseWriter, *http.Request, keyID) (int, string)) {
	start := s.now()
	s.inflight.Add(1)
	defer s.inflight.Done()
	s.m.inflight.Inc()
	defer s.m.inflight.Dec()
	status, model := 0, ""
	defer func() {
		s.m.requests.WithLabelValues(endpoint, model, fmt.Sprint(status)).Inc()
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "model", model, "status", status,
			"ms", s.now().Sub(start).Milliseconds(), "remote", r.RemoteAddr)
	}()
	if s.draining.Load() {
		w.Header().Set("Connection", "close")
		e := &apiError{Status: http.StatusServiceUnavailable, Type: typeServer, Code: "draining",
			Message: "the server is shutting down; retry on another instance", RetryAfter: time.Second}
		e.write(w)
		status = e.Status
		return
	}
	id, e := s.keys.admit(r)
	if e != nil {
		e.write(w)
		status = e.Status
		return
	}
	status, model = h(w, r, id)
}

func (s *Server) health(w http.ResponseWriter) {
	type tierInfo struct {
		Name       string `json:"name"`
		Kind       string `json:"kind"`
		Model      string `json:"model,omitempty"`
		QueueDepth *int   `json:"queue_depth,omitempty"`
	}
	body := struct {
		Status        string     `json:"status"`
		Role          string     `json:"role"`
		UptimeSeconds int64      `json:"uptime_seconds"`
		Tiers         []tierInfo `json:"tiers"`
	}{Status: "ok", Role: s.role, UptimeSeconds: int64(s.now().Sub(s.started).Seconds()), Tiers: []tierInfo{}}
	for _, t := range s.tiers {
		ti := tierInfo{Name: t.Name, Kind: t.Kind, Model: t.Model}
		if t.QueueDepth != nil {
			d := t.QueueDepth()
			ti.QueueDepth = &d
		}
		body.Tiers = append(body.Tiers, ti)
	}
	status := http.StatusOK
	if s.draining.Load() {
		body.Status, status = "draining", http.StatusServiceUnavailable
	}
	httpjson.Write(w, status, body)
}

func (s *Server) models(w http.ResponseWriter, r *http.Request, _ keyID) (int, string) {
	list := modelList{Object: "list", Data: []modelObject{}}
	seen := map[string]bool{}
	if s.router != nil && s.role == RoleDevice {
		seen[AutoModel] = true
		list.Data = append(list.Data, modelObject{ID: AutoModel, Object: "model", Created: s.started.Unix(),
			OwnedBy: "tandem", Tier: "router", Kind: "router"})
	}
	for _, t := range s.tiers {
		if t.Model == "" || seen[t.Model] {
			continue
		}
		seen[t.Model] = true
		list.Data = append(list.Data, modelObject{ID: t.Model, Object: "model", Created: s.started.Unix(),
			OwnedBy: "tandem", Tier: t.Name, Kind: t.Kind, ContextLength: t.Context})
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/v1/models/"); ok {
		for _, m := range list.Data {
			if m.ID == name {
				httpjson.Write(w, http.StatusOK, m)
				return http.StatusOK, s.modelLabel(name)
			}
		}
		e := unknownModel(name)
		e.write(w)
		return e.Status, "unknown"
	}
	httpjson.Write(w, http.StatusOK, list)
	return http.StatusOK, ""
}

func unknownModel(name string) *apiError {
	return &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("the model %q does not exist on this server (see GET /v1/models)", name)}
}

// modelLabel bounds the metrics' model label to configured names.
func (s *Server) modelLabel(name string) string {
	if name == AutoModel && s.router != nil {
		return AutoModel
	}
	for _, t := range s.tiers {
		if t.Model == name {
			return name
		}
	}
	return "other"
}

// route picks the tiers that may serve a request for model, in the order
// they are tried. This is the simple rule in force until the router lands:
//
//   - The primary tiers are those serving exactly this model name (config
//     order); when there are none, the cloud tiers that pass any name
//     through (no model configured). No tier at all: 404.
//   - Cloud role: only the primary tiers (the same model on several tiers,
//     e.g. a local copy and upstream replicas, fails over in config order).
//   - Device role: a request for a local model falls back to every cloud
//     tier (asked for the cloud tier's own model, when it has one) — when
//     the local model is overloaded, fails, or fails mid-stream, the answer
//     continues there. A request for a configured cloud model falls back to
//     the other cloud tiers, then to the local tiers, so the device keeps
//     answering when the network is gone. A name only a pass-through tier
//     may know is not answered by a local model.
func (s *Server) route(model string) []*Tier {
	var out []*Tier
	in := func(t *Tier) bool {
		for _, o := range out {
			if o == t {
				return true
			}
		}
		return false
	}
	for i := range s.tiers {
		if s.tiers[i].Model == model {
			out = append(out, &s.tiers[i])
		}
	}
	if len(out) == 0 {
		for i := range s.tiers {
			if t := &s.tiers[i]; t.Kind == KindCloud && t.Model == "" {
				out = append(out, t)
			}
		}
	}
	if len(out) == 0 || s.role == RoleCloud {
		return out
	}
	primary := out[0]
	for i := range s.tiers {
		if t := &s.tiers[i]; t.Kind == KindCloud && !in(t) {
			out = append(out, t)
		}
	}
	if primary.Kind == KindCloud && primary.Model != "" {
		for i := range s.tiers {
			if t := &s.tiers[i]; t.Kind == KindLocal && !in(t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// readBody reads the request body up to the limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	tooLarge := &apiError{Status: http.StatusRequestEntityTooLarge, Type: typeInvalidRequest, Code: "request_too_large",
		Message: fmt.Sprintf("the request body is larger than the limit of %d bytes", s.maxBody)}
	if r.ContentLength > s.maxBody {
		w.Header().Set("Connection", "close")
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Code: "invalid_body",
			Message: "reading the request body failed: " + err.Error()}
	}
	return body, nil
}

// retryAfterer is implemented by errors that know when to retry.
type retryAfterer interface{ RetryAfter() time.Duration }

// clientMessage is err's text without the leading sentinel ("bad request: "),
// which the error code already says.
func clientMessage(err error) string {
	msg := err.Error()
	for _, s := range []error{backend.ErrContextLength, backend.ErrBadRequest, backend.ErrOverloaded, backend.ErrUnavailable} {
		if rest, ok := strings.CutPrefix(msg, s.Error()+": "); ok && rest != "" {
			return rest
		}
	}
	return msg
}

// backendError maps an error from a backend to an API error.
func backendError(err error, param string) *apiError {
	retry := time.Second
	var ra retryAfterer
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		retry = ra.RetryAfter()
	}
	var ue *cloud.UpstreamError
	if errors.As(err, &ue) && ue.Kind == cloud.KindStatus && ue.Status == http.StatusNotFound &&
		(ue.Code == "model_not_found" || strings.Contains(ue.Message, "model")) {
		// A model name passed through to an upstream that does not serve it.
		return &apiError{Status: http.StatusNotFound, Type: typeInvalidRequest, Param: "model", Code: "model_not_found",
			Message: "the upstream does not serve this model: " + ue.Message}
	}
	switch {
	case errors.Is(err, backend.ErrContextLength):
		return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Param: param,
			Code: "context_length_exceeded", Message: clientMessage(err)}
	case errors.Is(err, backend.ErrBadRequest):
		return &apiError{Status: http.StatusBadRequest, Type: typeInvalidRequest, Code: "invalid_request", Message: clientMessage(err)}
	case errors.Is(err, backend.ErrOverloaded):
		return &apiError{Status: http.StatusTooManyRequests, Type: typeRateLimit, Code: "queue_full",
			Message: "the server is busy; retry later (" + clientMessage(err) + ")", RetryAfter: retry}
	case errors.Is(err, backend.ErrUnavailable):
		return &apiError{Status: http.StatusServiceUnavailable, Type: typeServer, Code: "unavailable",
			Message: clientMessage(err), RetryAfter: retry}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusGatewayTimeout, Type: typeServer, Code: "timeout",
			Message: "the request timed out: " + err.Error()}
	case errors.Is(err, context.Canceled):
		return &apiError{Status: 499, Type: typeServer, Code: "cancelled", Message: "the request was cancelled"}
	}
	return &apiError{Status: http.StatusInternalServerError, Type: typeServer, Code: "internal_error", Message: err.Error()}
}
