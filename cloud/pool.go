package cloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandem-llm/tandem/backend"
)

// Upstream is one replica: the base URL of an OpenAI-compatible API (for
// example http://127.0.0.1:9000/v1), the model name to ask it for (empty:
// the request's Model), its API key (sent as a bearer token, may be empty)
// and its share of the load (0 means 1).
type Upstream struct {
	URL, Model, APIKey string
	Weight             int
}

// Options tune a Pool. Zero values select the defaults given; a negative
// duration disables that timeout.
type Options struct {
	// MaxAttempts bounds consecutive attempts that produce no text (the
	// first try plus retries) before the request fails. Default 3. When
	// every replica's breaker is open, the request waits for the first to
	// half-open if that is at most BackoffMax away (counting an attempt),
	// else fails at once with ErrUnavailable.
	MaxAttempts int
	// MaxFailovers bounds mid-stream resumptions on another replica per
	// request. Default 3; negative: never resume (fail instead).
	MaxFailovers int

	// RequestTimeout bounds a whole Stream call. Default: none (the
	// caller's context decides).
	RequestTimeout time.Duration
	// FirstByteTimeout bounds the time from sending a request to the first
	// line of its event stream (headers included, so it also covers an
	// upstream that hangs before answering). Default 30s.
	FirstByteTimeout time.Duration
	// StallTimeout bounds the silence between lines once the stream has
	// started; a stall is a failure (retried or resumed elsewhere).
	// Default 15s.
	StallTimeout time.Duration
	// ConnectTimeout bounds dialling a replica (own transport only).
	// Default 3s.
	ConnectTimeout time.Duration

	// BackoffBase and BackoffMax shape the delay before retry n (n ≥ 1)
	// after attempts that produced no text: base·2^(n−1), capped at max,
	// scaled by a random factor in [0.5, 1). Defaults 25ms and 1s.
	// Resuming after text was emitted does not wait.
	BackoffBase, BackoffMax time.Duration

	// BreakerThreshold is the number of consecutive failures (connect
	// errors, 5xx and other non-client statuses, timeouts, cut streams)
	// that open a replica's breaker. Default 3.
	BreakerThreshold int
	// BreakerCooldown is how long an open breaker skips its replica
	// before one request is let through as a half-open probe. Default 5s.
	BreakerCooldown time.Duration

	// HealthInterval is the period of the background prober started by
	// Start (GET {URL}/models; 2xx is up). Default 5s; negative: Start
	// does nothing.
	HealthInterval time.Duration
	// HealthTimeout bounds one probe. Default 2s.
	HealthTimeout time.Duration

	// HTTPClient is used for every upstream call when set; its Timeout
	// must be 0 (streams are long). Default: a client of the Pool's own
	// (connection reuse for hundreds of concurrent streams, no transparent
	// compression, ConnectTimeout).
	HTTPClient *http.Client
	// Observer receives metrics events; nil: none.
	Observer Observer
	// Logger receives attempt failures (debug), breaker and health
	// changes (warn/info). Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.MaxFailovers == 0 {
		o.MaxFailovers = 3
	}
	def(&o.FirstByteTimeout, 30*time.Second)
	def(&o.StallTimeout, 15*time.Second)
	def(&o.ConnectTimeout, 3*time.Second)
	def(&o.BackoffBase, 25*time.Millisecond)
	def(&o.BackoffMax, time.Second)
	if o.BreakerThreshold <= 0 {
		o.BreakerThreshold = 3
	}
	def(&o.BreakerCooldown, 5*time.Second)
	def(&o.HealthInterval, 5*time.Second)
	def(&o.HealthTimeout, 2*time.Second)
	if o.Observer == nil {
		o.Observer = NopObserver{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

type breakerState int

const (
	closed breakerState = iota
	open
	halfOpen // one probe request in flight
)

// replica is one Upstream with its load-balancing, breaker and health
// state; the mutable fields are guarded by Pool.mu.
type replica struct {
	idx                          int
	up                           Upstream
	name                         string // Upstream.URL as given, for logs and metrics
	chatURL, complURL, modelsURL string

	outstanding int
	current     int // smooth weighted round-robin
	healthy     bool
	fails       int // consecutive failures
	state       breakerState
	openedAt    time.Time
}

// Pool is a set of replicas of one OpenAI-compatible API; it implements
// backend.Backend. It is safe for concurrent use.
type Pool struct {
	o       Options
	client  *http.Client
	reps    []*replica
	started atomic.Bool

	mu sync.Mutex // guards the replicas' mutable fields
}

var _ backend.Backend = (*Pool)(nil)

// NewPool checks the upstreams and returns a Pool over them. Call Start to
// run health checks.
func NewPool(ups []Upstream, o Options) (*Pool, error) {
	if len(ups) == 0 {
		return nil, errors.New("cloud: no upstreams")
	}
	o.setDefaults()
	p := &Pool{o: o, client: o.HTTPClient}
	if p.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: max(o.ConnectTimeout, 0), KeepAlive: 30 * time.Second}).DialContext
		tr.MaxIdleConns = 0 // no global limit
		tr.MaxIdleConnsPerHost = 512
		tr.IdleConnTimeout = 90 * time.Second
		tr.DisableCompression = true // gzip would buffer the stream
		tr.ResponseHeaderTimeout = 0 // FirstByteTimeout covers it
		p.client = &http.Client{Transport: tr}
	}
	for i, u := range ups {
		base := strings.TrimRight(u.URL, "/")
		pu, err := url.Parse(base)
		if err != nil {
			return nil, fmt.Errorf("cloud: upstream %d: %w", i, err)
		}
		if (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("cloud: upstream %d: URL %q is not http(s)://host/...", i, u.URL)
		}
		if u.Weight < 0 {
			return nil, fmt.Errorf("cloud: upstream %d: negative weight %d", i, u.Weight)
		}
		if u.Weight == 0 {
			u.Weight = 1
		}
		p.reps = append(p.reps, &replica{
			idx: i, up: u, name: u.URL,
			chatURL:   base + "/chat/completions",
			complURL:  base + "/completions",
			modelsURL: base + "/models",
			healthy:   true,
		})
	}
	return p, nil
}

// Start runs the health prober until ctx is done: every HealthInterval
// (and once at once) it GETs each replica's /models and marks it up (2xx)
// or down. Requests avoid down replicas while any other is available, and
// a request that succeeds on a replica marks it up. Calls after the first
// do nothing.
func (p *Pool) Start(ctx context.Context) {
	if p.o.HealthInterval < 0 || p.started.Swap(true) {
		return
	}
	go func() {
		t := time.NewTicker(p.o.HealthInterval)
		defer t.Stop()
		for {
			p.probeAll(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (p *Pool) probeAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, r := range p.reps {
		wg.Go(func() {
			if err := p.probe(ctx, r); ctx.Err() == nil { // not when stopping
				p.setHealth(r, err)
			}
		})
	}
	wg.Wait()
}

func (p *Pool) probe(ctx context.Context, r *replica) error {
	if p.o.HealthTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.o.HealthTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.modelsURL, nil)
	if err != nil {
		return err
	}
	if r.up.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.up.APIKey)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func (p *Pool) setHealth(r *replica, err error) {
	up := err == nil
	p.mu.Lock()
	changed := r.healthy != up
	r.healthy = up
	p.mu.Unlock()
	if !changed {
		return
	}
	if up {
		p.o.Logger.Info("cloud: replica up", "replica", r.name)
	} else {
		p.o.Logger.Warn("cloud: replica down", "replica", r.name, "err", err)
	}
	p.o.Observer.OnHealth(r.name, up)
}

// ReplicaState is a snapshot of one replica, for status pages and tests.
type ReplicaState struct {
	URL         string
	Healthy     bool
	BreakerOpen bool // open or half-open
	Outstanding int
}

// State returns a snapshot of the replicas in the order given to NewPool.
func (p *Pool) State() []ReplicaState {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := make([]ReplicaState, len(p.reps))
	for i, r := range p.reps {
		s[i] = ReplicaState{URL: r.name, Healthy: r.healthy, BreakerOpen: r.state != closed, Outstanding: r.outstanding}
	}
	return s
}

// pick chooses the replica for the next attempt, or nil when none may be
// tried: breaker closed (or open long enough for a half-open probe) and,
// in order of preference, healthy and untried by this request, healthy,
// any. Among the chosen group
// the least outstanding requests per unit of weight wins; ties go by
// smooth weighted round-robin. The pick counts as outstanding until
// release.
//
// When it returns nil, wait is the time until the first open breaker
// lets a probe through (0 if none will by itself).
func (p *Pool) pick(tried []bool) (chosen *replica, wait time.Duration) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var best []*replica
	for tier := 0; tier < 3 && len(best) == 0; tier++ {
		for _, r := range p.reps {
			if !p.allowed(r, now) || (tier < 2 && !r.healthy) || (tier == 0 && tried[r.idx]) {
				continue
			}
			switch {
			case len(best) == 0:
				best = append(best, r)
			default:
				// Compare outstanding/weight by cross-multiplying.
				a, b := r.outstanding*best[0].up.Weight, best[0].outstanding*r.up.Weight
				if a < b {
					best = append(best[:0], r)
				} else if a == b {
					best = append(best, r)
				}
			}
		}
	}
	if len(best) == 0 {
		for _, r := range p.reps {
			if r.state == open {
				d := p.o.BreakerCooldown - now.Sub(r.openedAt)
				if wait == 0 || d < wait {
					wait = max(d, time.Millisecond)
				}
			}
		}
		return nil, wait
	}
	chosen = best[0]
	if len(best) > 1 {
		total := 0
		for _, r := range best {
			r.current += r.up.Weight
			total += r.up.Weight
			if r.current > chosen.current {
				chosen = r
			}
		}
		chosen.current -= total
	}
	if chosen.state == open {
		chosen.state = halfOpen
	}
	chosen.outstanding++
	return chosen, 0
}

// allowed says whether r's breaker lets a request through at now.
func (p *Pool) allowed(r *replica, now time.Time) bool {
	switch r.state {
	case closed:
		return true
	case open:
		return now.Sub(r.openedAt) >= p.o.BreakerCooldown
	default: // half-open: its probe is in flight
		return false
	}
}

type outcome int

const (
	outSuccess outcome = iota // the replica answered (also a 4xx about the request)
	outFailure                // the replica failed
	outNeutral                // nothing learnt (429, cancelled, emit error)
)

// release ends an attempt on r and updates its breaker.
func (p *Pool) release(r *replica, out outcome) {
	var opened, closedNow bool
	p.mu.Lock()
	r.outstanding--
	switch out {
	case outSuccess:
		r.fails = 0
		r.healthy = true
		if r.state != closed {
			r.state = closed
			closedNow = true
		}
	case outFailure:
		r.fails++
		if r.state == halfOpen || (r.state == closed && r.fails >= p.o.BreakerThreshold) {
			r.state = open
			r.openedAt = time.Now()
			opened = true
		}
	case outNeutral:
		if r.state == halfOpen {
			r.state = open // the next request may probe at once
		}
	}
	fails := r.fails
	p.mu.Unlock()
	if opened {
		p.o.Logger.Warn("cloud: circuit breaker open", "replica", r.name, "consecutive_failures", fails, "cooldown", p.o.BreakerCooldown)
		p.o.Observer.OnBreaker(r.name, true)
	}
	if closedNow {
		p.o.Logger.Info("cloud: circuit breaker closed", "replica", r.name)
		p.o.Observer.OnBreaker(r.name, false)
	}
}

// backoff returns the delay before retry n ≥ 1.
func (p *Pool) backoff(n int) time.Duration {
	d := p.o.BackoffBase
	for i := 1; i < n && d < p.o.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, p.o.BackoffMax)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

var (
	errRequestTimeout = errors.New("cloud: request timeout")
	errNoReplica      = errors.New("cloud: no replica available (circuit breakers open)")
)

// stream is the state of one Stream call across attempts.
type stream struct {
	p      *Pool
	req    *backend.Request
	emit   func(backend.Event) error
	start  time.Time
	sent   strings.Builder // text emitted by this call
	tokens int             // token estimate of the text of finished attempts
	ttft   bool            // OnTTFT was reported
}

// Stream implements backend.Backend.
func (p *Pool) Stream(ctx context.Context, req *backend.Request, emit func(backend.Event) error) (backend.Final, error) {
	if req == nil {
		return backend.Final{}, fmt.Errorf("%w: nil request", backend.ErrBadRequest)
	}
	st := &stream{p: p, req: req, emit: emit, start: time.Now()}
	if p.o.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, p.o.RequestTimeout, errRequestTimeout)
		defer cancel()
	}
	tried := make([]bool, len(p.reps))
	var lastErr error
	noProgress, failovers, attempts := 0, 0, 0
	only429 := true
	var wait time.Duration // until a breaker half-opens, when none let the last attempt through
	for {
		if noProgress > 0 {
			// With every breaker open, wait for the first to half-open
			// (at most BackoffMax away) rather than spend the attempts.
			if err := sleepCtx(ctx, max(p.backoff(noProgress), wait)); err != nil {
				return st.partial(), st.ctxErr(ctx)
			}
		}
		if req.MaxTokens > 0 && st.tokens >= req.MaxTokens {
			return st.finalOf(backend.Final{FinishReason: "length"}, 0), nil
		}
		var r *replica
		r, wait = p.pick(tried)
		attempts++
		var res attemptResult
		if r == nil {
			if wait > p.o.BackoffMax {
				// Every breaker is open for a while yet: fail now, so that
				// a Chain moves on to its next tier at once.
				if lastErr != nil {
					return st.partial(), fmt.Errorf("%w: %w; last failure: %w", backend.ErrUnavailable, errNoReplica, lastErr)
				}
				return st.partial(), fmt.Errorf("%w: %w", backend.ErrUnavailable, errNoReplica)
			}
			res = attemptResult{err: errNoReplica, retry: true}
		} else {
			tried[r.idx] = true
			res = p.attempt(ctx, r, st)
			p.release(r, res.outcome)
			obsErr := res.err
			if res.upstream != nil {
				obsErr = res.upstream
			}
			p.o.Observer.OnAttempt(r.name, obsErr)
		}
		if res.err == nil {
			return st.finalOf(res.final, res.tokens), nil
		}
		st.tokens += res.tokens
		if ctx.Err() != nil {
			return st.partial(), st.ctxErr(ctx)
		}
		if !res.retry {
			if st.sent.Len() > 0 && errors.Is(res.err, backend.ErrContextLength) {
				// The continuation no longer fits: the answer ends here.
				return st.finalOf(backend.Final{FinishReason: "length"}, 0), nil
			}
			if st.sent.Len() > 0 && errors.Is(res.err, backend.ErrBadRequest) {
				return st.partial(), fmt.Errorf("%w: cloud: continuation rejected: %w", backend.ErrUnavailable, res.err)
			}
			return st.partial(), res.err
		}
		lastErr = res.err
		if !res.overloaded {
			only429 = false // a 429 is retried like a failure, but alone it means overloaded
		}
		p.o.Logger.Debug("cloud: attempt failed", "attempt", attempts, "err", res.err, "emitted", res.progress)
		if res.progress {
			noProgress = 0
			if failovers++; failovers > p.o.MaxFailovers {
				return st.partial(), fmt.Errorf("%w: cloud: stream broke after %d failovers: %w", backend.ErrUnavailable, failovers-1, lastErr)
			}
			continue
		}
		if noProgress++; noProgress >= p.o.MaxAttempts {
			if only429 {
				return st.partial(), fmt.Errorf("%w: cloud: %d attempts answered 429: %w", backend.ErrOverloaded, noProgress, lastErr)
			}
			return st.partial(), fmt.Errorf("%w: cloud: %d attempts failed: %w", backend.ErrUnavailable, noProgress, lastErr)
		}
	}
}

// finalOf is the request's Final when an attempt that emitted about
// tokens ends it with f (see the package comment on usage).
func (st *stream) finalOf(f backend.Final, tokens int) backend.Final {
	if f.Usage == (backend.Usage{}) {
		f.Usage.CompletionTokens = tokens
	}
	f.Usage.PromptTokens = max(0, f.Usage.PromptTokens-st.tokens)
	f.Usage.CompletionTokens += st.tokens
	if f.FinishReason == "" {
		f.FinishReason = "stop"
	}
	return f
}

func (st *stream) partial() backend.Final {
	return backend.Final{Usage: backend.Usage{CompletionTokens: st.tokens}}
}

// ctxErr is the error for a done ctx: the caller's own error, or
// ErrUnavailable when the Pool's RequestTimeout expired.
func (st *stream) ctxErr(ctx context.Context) error {
	if cause := context.Cause(ctx); errors.Is(cause, errRequestTimeout) {
		return fmt.Errorf("%w: %w after %v: %w", backend.ErrUnavailable, errRequestTimeout, st.p.o.RequestTimeout, context.DeadlineExceeded)
	}
	return ctx.Err()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
