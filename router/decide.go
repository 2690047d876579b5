package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/device"
	"github.com/tandem-llm/tandem/privacy"
)

// Tier is one place a request can run, as the router sees it.
type Tier struct {
	Name  string
	Local bool
	// Spec is the size, accelerator, prices and memory, for the cost model.
	// A cloud tier of unknown size (ParamsB 0) counts as 10× the largest
	// tier listed before it (at least 10B).
	Spec device.TierSpec
	// MinDifficulty is the difficulty from which this tier is wanted; 0
	// spreads the tiers above the smallest evenly over [threshold, 1].
	MinDifficulty float64
	// Recovers is the share of the smallest tier's failures this tier is
	// expected to answer well (0..1); 0: from its size (see quality).
	Recovers float64
}

// Mode is the user's override of the routing.
type Mode string

// Modes.
const (
	ModeAuto      Mode = "auto"
	ModeLocalOnly Mode = "local-only"
	ModeCloudOnly Mode = "cloud-only"
)

// ParseMode parses a route mode; "" is auto.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", ModeAuto:
		return ModeAuto, nil
	case ModeLocalOnly, ModeCloudOnly:
		return Mode(s), nil
	}
	return "", fmt.Errorf("route mode %q: want auto, local-only or cloud-only", s)
}

// Policy holds the knobs of the routing.
type Policy struct {
	// CloudShare is the target share of requests that leave the smallest
	// tier (the cloud-call budget); the difficulty threshold follows live
	// traffic to keep it. 0: the fixed Threshold (or the model's).
	CloudShare float64
	Threshold  float64
	// QualityTarget, when set, picks the smallest tier whose predicted
	// quality reaches it, instead of the threshold.
	QualityTarget float64
	CostPerDayUSD float64       // cloud spending per UTC day; 0: no limit
	LatencySLO    time.Duration // predicted latency above this moves the request; 0: none
	Privacy       privacy.Mode  // "" is mask
	// Sessions: a conversation stays on its tier for SessionTTL unless the
	// difficulty exceeds the threshold of a larger tier by StickyMargin.
	SessionTTL   time.Duration // 0: 30 minutes
	StickyMargin float64       // 0: 0.1
	MaxSessions  int           // 0: 10000
	Cascade      CascadeConfig
	// OutTokens is the answer length assumed for predictions when a request
	// sets no max_tokens; 0: 256.
	OutTokens int
}

// Options configure a Router.
type Options struct {
	Tiers    []Tier
	Policy   Policy
	Model    *Model // difficulty predictor; nil: DefaultModel()
	Detector *privacy.Detector
	Cost     *device.CostModel
	Governor *device.Governor
	Logger   *slog.Logger
	Now      func() time.Time
}

// Request is what the router looks at.
type Request struct {
	*backend.Request
	Pin     string // a tier the client asked for by model name; "": any
	Mode    Mode
	Session string // conversation key; "": derived from the messages
	Signals Signals
}

// Predicted are one tier's predictions for a request.
type Predicted struct {
	Tier       string  `json:"tier"`
	Quality    float64 `json:"quality"`
	LatencyMS  float64 `json:"latency_ms"`
	EnergyJ    float64 `json:"energy_j"`
	BatteryPct float64 `json:"battery_pct"`
	CostUSD    float64 `json:"cost_usd"`
}

// Decision is where a request runs and why.
type Decision struct {
	Tier       string               `json:"tier"`
	Local      bool                 `json:"local"`
	Fallback   []string             `json:"fallback,omitempty"` // tried in order after Tier
	Reasons    []string             `json:"reasons"`
	Difficulty float64              `json:"difficulty"`
	Threshold  float64              `json:"threshold"`
	Predicted  Predicted            `json:"predicted"`
	Tiers      []Predicted          `json:"tiers,omitempty"` // every candidate's predictions
	PII        map[privacy.Kind]int `json:"pii,omitempty"`
	Cascade    bool                 `json:"cascade,omitempty"`     // the local answer is watched and may escalate
	Threads    int                  `json:"threads,omitempty"`     // governor's thread advice for local tiers; 0: unchanged
	UnloadIdle bool                 `json:"unload_idle,omitempty"` // memory pressure: idle local models should give their memory back
	Session    string               `json:"-"`
	// Masker, with privacy mask and PII found, masks what cloud tiers see.
	Masker *privacy.Masker `json:"-"`
}

// calibrationWindow is how many recent requests the online threshold
// follows (a drift is absorbed within about this many; the model's own threshold holds for the first tenth).
const calibrationWindow = 500

// ErrNoTier: no tier may serve the request (every candidate was excluded);
// the error says why.
var ErrNoTier = errors.New("router: no tier may serve this request")

// Router decides per request. It is safe for concurrent use.
type Router struct {
	tiers   []Tier // by size, smallest first
	policy  Policy
	model   *Model
	scorers sync.Pool
	det     *privacy.Detector
	cost    *device.CostModel
	gov     *device.Governor
	cal     *Threshold
	log     *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	day      string  // UTC date of spent
	spent    float64 // USD on cloud tiers today
	sessions map[string]session
}

type session struct {
	tier string
	seen time.Time
}

// New checks the options and returns a router.
func New(o Options) (*Router, error) {
	if len(o.Tiers) == 0 {
		return nil, errors.New("router: no tiers")
	}
	r := &Router{policy: o.Policy, model: o.Model, det: o.Detector, cost: o.Cost, gov: o.Governor,
		log: o.Logger, now: o.Now, sessions: map[string]session{}}
	if r.model == nil {
		r.model = DefaultModel()
	}
	if r.det == nil {
		r.det = privacy.NewDetector()
	}
	if r.cost == nil {
		r.cost = device.NewCostModel(device.DefaultCostParams())
	}
	if r.gov == nil {
		r.gov = &device.Governor{}
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	p := &r.policy
	if p.Privacy == "" {
		p.Privacy = privacy.ModeMask
	}
	if p.SessionTTL <= 0 {
		p.SessionTTL = 30 * time.Minute
	}
	if p.StickyMargin <= 0 {
		p.StickyMargin = 0.1
	}
	if p.MaxSessions <= 0 {
		p.MaxSessions = 10000
	}
	if p.OutTokens <= 0 {
		p.OutTokens = 256
	}
	if p.CloudShare < 0 || p.CloudShare > 1 || p.Threshold < 0 || p.Threshold > 1 || p.QualityTarget < 0 || p.QualityTarget > 1 {
		return nil, errors.New("router: cloud_share, threshold and quality_target must be within [0, 1]")
	}
	if p.Threshold == 0 {
		p.Threshold = r.model.Threshold()
	}
	if p.CloudShare > 0 {
		cal, err := NewThreshold(p.CloudShare, calibrationWindow, p.Threshold)
		if err != nil {
			return nil, err
		}
		r.cal = cal
	}
	names := map[string]bool{}
	prev := 0.0
	for _, t := range o.Tiers {
		if t.Name == "" || names[t.Name] {
			return nil, fmt.Errorf("router: tier name %q is empty or used twice", t.Name)
		}
		names[t.Name] = true
		t.Spec.Name, t.Spec.Local = t.Name, t.Local
		if t.Spec.ParamsB == 0 && !t.Local {
			t.Spec.ParamsB = max(prev*10, 10) // unknown cloud size: 10× the tier before it
		}
		prev = max(prev, t.Spec.ParamsB)
		r.tiers = append(r.tiers, t)
	}
	// By size; at equal size local first (it is free and private).
	sort.SliceStable(r.tiers, func(i, j int) bool {
		a, b := r.tiers[i], r.tiers[j]
		if a.Spec.ParamsB != b.Spec.ParamsB {
			return a.Spec.ParamsB < b.Spec.ParamsB
		}
		return a.Local && !b.Local
	})
	r.scorers.New = func() any { return r.model.NewScorer() }
	return r, nil
}

// Tiers returns the tiers, smallest first.
func (r *Router) Tiers() []Tier { return slices.Clone(r.tiers) }

// Threshold is the difficulty from which requests leave the smallest tier.
func (r *Router) Threshold() float64 {
	if r.cal != nil {
		return r.cal.Value()
	}
	return r.policy.Threshold
}

// Decide picks the tier for a request on a device in state st.
func (r *Router) Decide(ctx context.Context, req Request, st device.State) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	d := Decision{}
	reason := func(format string, args ...any) { d.Reasons = append(d.Reasons, fmt.Sprintf(format, args...)) }
	text := promptText(req.Request)

	// Candidates, with why each excluded one is out.
	cand := make([]bool, len(r.tiers))
	excluded := map[string]string{}
	for i := range cand {
		cand[i] = true
	}
	exclude := func(i int, why string) {
		if cand[i] {
			cand[i] = false
			excluded[r.tiers[i].Name] = why
		}
	}
	anyCand := func(local bool) bool {
		for i, t := range r.tiers {
			if cand[i] && t.Local == local {
				return true
			}
		}
		return false
	}

	// The user's override.
	switch req.Mode {
	case ModeLocalOnly:
		for i, t := range r.tiers {
			if !t.Local {
				exclude(i, "override local-only")
			}
		}
		reason("override: local-only")
	case ModeCloudOnly:
		for i, t := range r.tiers {
			if t.Local {
				exclude(i, "override cloud-only")
			}
		}
		reason("override: cloud-only")
	}

	// Privacy.
	pii := r.piiCounts(req.Request)
	if len(pii) > 0 {
		d.PII = pii
		desc := privacy.Describe(pii)
		switch r.policy.Privacy {
		case privacy.ModeStrict:
			for i, t := range r.tiers {
				if !t.Local {
					exclude(i, "privacy strict: personal data stays on the device")
				}
			}
			reason("pii (%s), privacy strict: local only", desc)
		case privacy.ModeMask:
			d.Masker = r.det.NewMasker() // Masked numbers the placeholders in reading order
			reason("pii (%s), privacy mask: cloud tiers see placeholders", desc)
		default:
			reason("pii (%s), privacy allow: sent as is", desc)
		}
	}

	// The network.
	if st.Network == device.NetworkOffline {
		for i, t := range r.tiers {
			if !t.Local {
				exclude(i, "network offline")
			}
		}
		if anyCand(true) {
			reason("offline: cloud unreachable, staying local")
		}
	}

	// Spending.
	if r.policy.CostPerDayUSD > 0 {
		if spent := r.spentToday(); spent >= r.policy.CostPerDayUSD {
			for i, t := range r.tiers {
				if !t.Local && (t.Spec.PriceInPerM > 0 || t.Spec.PriceOutPerM > 0) {
					exclude(i, fmt.Sprintf("daily cost budget $%.2f spent", r.policy.CostPerDayUSD))
				}
			}
			reason("cost: $%.2f of $%.2f/day spent, paid tiers off", spent, r.policy.CostPerDayUSD)
		}
	}

	// Predictions, then the device governor.
	inTok, outTok := len(text)/4+1, r.policy.OutTokens
	if req.MaxTokens > 0 {
		outTok = req.MaxTokens
	}
	specs := make([]device.TierSpec, len(r.tiers))
	preds := make([]device.Prediction, len(r.tiers))
	for i, t := range r.tiers {
		specs[i] = t.Spec
		preds[i] = r.cost.Predict(t.Spec, inTok, outTok, st)
	}
	adv := r.gov.Advise(st, specs, preds)
	d.Threads, d.UnloadIdle = adv.Threads, adv.UnloadIdle
	for i, t := range r.tiers {
		if why, ok := adv.AvoidLocal[t.Name]; ok && t.Local && cand[i] {
			exclude(i, why)
			reason("%s", why)
		}
		if !preds[i].Feasible {
			exclude(i, preds[i].Why)
		}
	}

	for _, why := range adv.Reasons { // the governor's other findings (heat, battery, pressure)
		if !slices.Contains(d.Reasons, why) {
			reason("%s", why)
		}
	}

	// Difficulty.
	sc := r.scorers.Get().(*Scorer)
	ex := sc.Explain(text, req.Signals, 3)
	r.scorers.Put(sc)
	p := ex.Score
	d.Difficulty = round(p, 4)
	th := r.Threshold()
	d.Threshold = round(th, 4)
	if r.cal != nil {
		r.cal.Observe(p)
	}
	want := r.wanted(p, th)
	if r.policy.QualityTarget > 0 {
		want = len(r.tiers) - 1
		for i := range r.tiers {
			if r.quality(i, p) >= r.policy.QualityTarget {
				want = i
				break
			}
		}
		reason("quality target %.2f: %s predicted %.2f", r.policy.QualityTarget, r.tiers[want].Name, r.quality(want, p))
	} else if want == 0 {
		reason("%s < threshold %.2f: %s", ex, th, r.tiers[0].Name)
	} else {
		reason("%s ≥ %.2f: %s", ex, r.minDifficulty(want, th), r.tiers[want].Name)
	}

	// A model the client named is pinned; otherwise sessions stick to their tier.
	pinned := false
	if req.Pin != "" {
		if i := r.index(req.Pin); i >= 0 {
			want, pinned = i, true
			reason("pinned: model of %s requested", req.Pin)
		}
	}
	d.Session = req.Session
	if d.Session == "" {
		d.Session = sessionKey(req.Request)
	}
	if prev, ok := r.sessionTier(d.Session); ok && !pinned {
		if pi := r.index(prev); pi >= 0 {
			switch {
			case want > pi && p >= r.minDifficulty(want, th)+r.policy.StickyMargin:
				reason("session moves up from %s: difficulty %.2f ≥ %.2f + margin %.2f", prev, p, r.minDifficulty(want, th), r.policy.StickyMargin)
			case cand[pi]:
				if want != pi {
					reason("session stays on %s (moving the conversation is not worth it)", prev)
				}
				want = pi
			}
		}
	}

	// The wanted tier, or the nearest candidate: larger first.
	pick := -1
	for i := want; i < len(r.tiers) && pick < 0; i++ {
		if cand[i] {
			pick = i
		}
	}
	for i := want - 1; i >= 0 && pick < 0; i-- {
		if cand[i] {
			pick = i
		}
	}
	if pick < 0 {
		var whys []string
		for _, t := range r.tiers {
			whys = append(whys, t.Name+": "+excluded[t.Name])
		}
		return d, fmt.Errorf("%w (%s)", ErrNoTier, strings.Join(whys, "; "))
	}
	if pick != want {
		reason("%s unavailable (%s): %s", r.tiers[want].Name, excluded[r.tiers[want].Name], r.tiers[pick].Name)
	}

	// Heat, battery and speed push local requests to the cloud.
	if r.tiers[pick].Local && adv.PreferCloud && req.Mode != ModeLocalOnly && !pinned {
		for i := pick + 1; i < len(r.tiers); i++ {
			if cand[i] && !r.tiers[i].Local {
				pick = i
				reason("device prefers the cloud: %s", r.tiers[i].Name)
				break
			}
		}
	} else if r.tiers[pick].Local && adv.PreferCloud {
		reason("device prefers the cloud, but a local tier was requested")
	}

	// The latency SLO.
	if slo := float64(r.policy.LatencySLO.Milliseconds()); slo > 0 && preds[pick].LatencyMS > slo {
		best := -1
		for i := range r.tiers {
			if cand[i] && preds[i].LatencyMS <= slo && (best < 0 || r.quality(i, p) > r.quality(best, p)) {
				best = i
			}
		}
		if best >= 0 && best != pick {
			reason("latency SLO %.0f ms: %s predicted %.0f ms, %s %.0f ms", slo, r.tiers[pick].Name, preds[pick].LatencyMS, r.tiers[best].Name, preds[best].LatencyMS)
			pick = best
		}
	}

	t := r.tiers[pick]
	d.Tier, d.Local = t.Name, t.Local
	d.Predicted = r.predicted(pick, p, preds[pick])
	for i := range r.tiers {
		if cand[i] {
			d.Tiers = append(d.Tiers, r.predicted(i, p, preds[i]))
		}
	}
	// Failover: larger candidates, then smaller ones.
	for i := pick + 1; i < len(r.tiers); i++ {
		if cand[i] {
			d.Fallback = append(d.Fallback, r.tiers[i].Name)
		}
	}
	for i := pick - 1; i >= 0; i-- {
		if cand[i] {
			d.Fallback = append(d.Fallback, r.tiers[i].Name)
		}
	}
	if d.Local && r.policy.Cascade.Enabled {
		for _, f := range d.Fallback {
			if r.index(f) > pick {
				d.Cascade = true // a larger tier can take over
				break
			}
		}
	}
	if !d.Local && d.Masker == nil && len(pii) > 0 && r.policy.Privacy != privacy.ModeAllow {
		// Unreachable by construction: strict excludes every cloud tier and
		// mask sets the masker. Refuse rather than leak.
		return d, fmt.Errorf("%w: personal data would leave the device", ErrNoTier)
	}
	r.remember(d.Session, d.Tier)
	return d, nil
}

// wanted is the tier a difficulty calls for.
func (r *Router) wanted(p, th float64) int {
	want := 0
	for i := 1; i < len(r.tiers); i++ {
		if p >= r.minDifficulty(i, th) {
			want = i
		}
	}
	return want
}

// minDifficulty of tier i (> 0): configured, or the tiers above the
// smallest spread evenly over [th, 1).
func (r *Router) minDifficulty(i int, th float64) float64 {
	if i == 0 {
		return 0
	}
	if m := r.tiers[i].MinDifficulty; m > 0 {
		return max(m, th)
	}
	n := len(r.tiers) - 1
	return th + (1-th)*float64(i-1)/float64(n)
}

// quality predicts the chance tier i answers well at difficulty p. The
// difficulty is the predicted chance that the smallest tier fails; a larger
// tier answers a share of those (Recovers; by default growing with the log
// of its size: 10× the parameters recover half, 100× all of them).
func (r *Router) quality(i int, p float64) float64 {
	rec := r.tiers[i].Recovers
	if rec <= 0 && i > 0 {
		base, size := r.tiers[0].Spec.ParamsB, r.tiers[i].Spec.ParamsB
		if base > 0 && size > base {
			rec = min(1, math.Log10(size/base)/2)
		}
	}
	return 1 - p*(1-rec)
}

func (r *Router) predicted(i int, p float64, pr device.Prediction) Predicted {
	return Predicted{Tier: r.tiers[i].Name, Quality: round(r.quality(i, p), 3), LatencyMS: round(pr.LatencyMS, 1),
		EnergyJ: round(pr.EnergyJ, 3), BatteryPct: round(pr.BatteryPct, 4), CostUSD: round(pr.CostUSD, 6)}
}

func round(v float64, digits int) float64 {
	s := math.Pow(10, float64(digits))
	return math.Round(v*s) / s
}

func (r *Router) index(name string) int {
	for i, t := range r.tiers {
		if t.Name == name {
			return i
		}
	}
	return -1
}

// Charge records what a request cost on a tier, for the daily budget.
func (r *Router) Charge(tier string, usd float64) {
	if usd <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rollDay()
	r.spent += usd
}

func (r *Router) spentToday() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rollDay()
	return r.spent
}

func (r *Router) rollDay() {
	if day := r.now().UTC().Format(time.DateOnly); day != r.day {
		r.day, r.spent = day, 0
	}
}

func (r *Router) sessionTier(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.sessions[key]
	if !ok || r.now().Sub(s.seen) > r.policy.SessionTTL {
		return "", false
	}
	return s.tier, true
}

// Moved records that a session's answer came from another tier (an
// escalation or failover), so its next turn stays there.
func (r *Router) Moved(session, tier string) { r.remember(session, tier) }

func (r *Router) remember(key, tier string) {
	if key == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if len(r.sessions) >= r.policy.MaxSessions {
		for k, s := range r.sessions { // drop the expired, or else an arbitrary half
			if now.Sub(s.seen) > r.policy.SessionTTL || len(r.sessions) >= r.policy.MaxSessions/2 {
				delete(r.sessions, k)
			}
		}
	}
	r.sessions[key] = session{tier: tier, seen: now}
}

// piiCounts counts the distinct personal values in everything the request
// would send, by kind.
func (r *Router) piiCounts(req *backend.Request) map[privacy.Kind]int {
	var spans []privacy.Span
	for _, m := range req.Messages {
		spans = append(spans, r.det.Find(m.Content)...)
	}
	spans = append(spans, r.det.Find(req.Prompt)...)
	spans = append(spans, r.det.Find(req.Continue)...)
	if len(spans) == 0 {
		return nil
	}
	return privacy.Count(spans)
}

// promptText is what the difficulty is judged on: the last user message
// (with the system prompt's tail for context), or the prompt's end.
func promptText(req *backend.Request) string {
	const maxBytes = 4096
	if req == nil {
		return ""
	}
	if len(req.Messages) == 0 {
		return tail(req.Prompt, maxBytes)
	}
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			return tail(req.Messages[i].Content, maxBytes)
		}
	}
	return tail(req.Messages[len(req.Messages)-1].Content, maxBytes)
}

// tail returns the last n bytes of s, starting on a rune boundary.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && s[i]&0xC0 == 0x80 {
		i++
	}
	return s[i:]
}

// PrivacyMode is the policy's privacy mode.
func (r *Router) PrivacyMode() privacy.Mode { return r.policy.Privacy }

// Cascade is the policy's escalation setting.
func (r *Router) Cascade() CascadeConfig { return r.policy.Cascade.withDefaults() }

// Predictions are every tier's predictions for a typical request (200
// prompt tokens, the policy's answer length) in state st, for
// GET /v1/device/state.
func (r *Router) Predictions(st device.State) []Predicted {
	out := make([]Predicted, len(r.tiers))
	for i, t := range r.tiers {
		pr := r.cost.Predict(t.Spec, 200, r.policy.OutTokens, st)
		out[i] = r.predicted(i, 0.5, pr)
	}
	return out
}
