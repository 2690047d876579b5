package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tandem-llm/tandem/cloud"
	"github.com/tandem-llm/tandem/device"
)

// NewRegistry returns a Prometheus registry with the Go runtime and process
// collectors, for Options.Registry and NewUpstreamMetrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// UpstreamMetrics counts upstream replicas' events (attempts, breaker,
// health) from cloud Pools. Create it before the Pools, on the registry the
// Server will use, and give each Pool Observer(tier).
type UpstreamMetrics struct {
	attempts *prometheus.CounterVec // tier, replica, outcome
	breaker  *prometheus.GaugeVec   // tier, replica
	healthy  *prometheus.GaugeVec   // tier, replica
}

// NewUpstreamMetrics registers the upstream series on reg.
func NewUpstreamMetrics(reg prometheus.Registerer) (*UpstreamMetrics, error) {
	u := &UpstreamMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_upstream_attempts_total",
			Help: "Attempts on upstream replicas by outcome: ok, cancelled, or the failure kind (connect, status_5xx, first_byte_timeout, stall, cut, ...)."},
			[]string{"tier", "replica", "outcome"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tandem_upstream_breaker_open",
			Help: "1 while a replica's circuit breaker is open."}, []string{"tier", "replica"}),
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tandem_upstream_healthy",
			Help: "1 while a replica passes its health checks."}, []string{"tier", "replica"}),
	}
	for _, c := range []prometheus.Collector{u.attempts, u.breaker, u.healthy} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// Observer returns the cloud.Observer for one tier's Pool.
func (u *UpstreamMetrics) Observer(tier string) cloud.Observer {
	return &upstreamObserver{u: u, tier: tier}
}

type upstreamObserver struct {
	cloud.NopObserver
	u    *UpstreamMetrics
	tier string
}

func (o *upstreamObserver) OnAttempt(replica string, err error) {
	outcome := "ok"
	var ue *cloud.UpstreamError
	switch {
	case err == nil:
	case errors.As(err, &ue) && ue.Kind == cloud.KindStatus:
		outcome = fmt.Sprintf("status_%dxx", ue.Status/100)
	case errors.As(err, &ue):
		outcome = ue.Kind
	default:
		outcome = "cancelled"
	}
	o.u.attempts.WithLabelValues(o.tier, replica, outcome).Inc()
}

func (o *upstreamObserver) OnBreaker(replica string, open bool) {
	o.u.breaker.WithLabelValues(o.tier, replica).Set(b2f(open))
}

func (o *upstreamObserver) OnHealth(replica string, up bool) {
	o.u.healthy.WithLabelValues(o.tier, replica).Set(b2f(up))
}

func (o *upstreamObserver) OnTTFT(string, time.Duration) {}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// metrics are the server's Prometheus series. The model label is bounded
// to configured model names ("other" for names passed through to an
// upstream, "unknown" for 404s).
type metrics struct {
	requests   *prometheus.CounterVec   // endpoint, model, status
	inflight   prometheus.Gauge         // API requests being served
	waiting    *prometheus.GaugeVec     // model: generation requests before their first token
	tokens     *prometheus.CounterVec   // model, direction (in, out)
	ttft       *prometheus.HistogramVec // model
	tokPerSec  *prometheus.HistogramVec // model
	tierServed *prometheus.CounterVec   // tier
	tierErrors *prometheus.CounterVec   // tier, reason
	cost       *prometheus.CounterVec   // tier

	routeDecisions *prometheus.CounterVec // tier ("none": refused)
	routeSeconds   prometheus.Histogram   // decision latency
	routePII       *prometheus.CounterVec // privacy mode
	escalations    *prometheus.CounterVec // tier, when
	wastedTokens   *prometheus.CounterVec // tier
}

func newMetrics(reg prometheus.Registerer, tiers []Tier) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_requests_total",
			Help: "API requests by endpoint, model and HTTP status (499: the client went away)."},
			[]string{"endpoint", "model", "status"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tandem_requests_in_flight",
			Help: "API requests being served."}),
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tandem_requests_waiting",
			Help: "Generation requests that have not produced their first token yet (queued or in prefill)."},
			[]string{"model"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_tokens_total",
			Help: "Tokens processed: direction=in (prompt) or out (completion)."},
			[]string{"model", "direction"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tandem_time_to_first_token_seconds",
			Help:    "Time from a request's arrival to its first generated text.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"model"}),
		tokPerSec: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tandem_decode_tokens_per_second",
			Help:    "Completion tokens per second after the first, per request.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 20000, 100000}},
			[]string{"model"}),
		tierServed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_tier_requests_total",
			Help: "Requests a tier answered (a request that failed over mid-stream counts for each tier that streamed)."},
			[]string{"tier"}),
		tierErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_tier_errors_total",
			Help: "Errors from tiers (local models and upstreams) by reason: overloaded, unavailable, context_length, bad_request, timeout, error."},
			[]string{"tier", "reason"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_cost_usd_total",
			Help: "Estimated spend from the tiers' configured prices per 1M tokens."},
			[]string{"tier"}),
		routeDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_route_decisions_total",
			Help: "Router decisions by chosen tier (none: no tier could serve the request)."}, []string{"tier"}),
		routeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tandem_route_decision_seconds",
			Help:    "Time the router took to decide (features, difficulty model, device predictions).",
			Buckets: []float64{1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2}}),
		routePII: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_route_pii_requests_total",
			Help: "Requests holding personal data, by privacy mode (strict: kept local, mask: masked for the cloud, allow)."},
			[]string{"mode"}),
		escalations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_escalations_total",
			Help: "Local answers handed to a larger tier for low confidence, before the first byte or mid-stream."},
			[]string{"tier", "when"}),
		wastedTokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_escalation_wasted_tokens_total",
			Help: "Local tokens generated and dropped when an answer escalated."}, []string{"tier"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.inflight, m.waiting, m.tokens, m.ttft, m.tokPerSec,
		m.tierServed, m.tierErrors, m.cost, m.routeDecisions, m.routeSeconds, m.routePII, m.escalations, m.wastedTokens} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, t := range tiers {
		m.tierServed.WithLabelValues(t.Name)
		if q := t.QueueDepth; q != nil {
			g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tandem_queue_depth",
				Help:        "Requests admitted by a local model and waiting for a generation slot.",
				ConstLabels: prometheus.Labels{"tier": t.Name}},
				func() float64 { return float64(q()) })
			if err := reg.Register(g); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// deviceCollector exposes the device's state and each tier's predictions
// for a typical request, read at scrape time.
type deviceCollector struct {
	s                                           *Server
	battery, charging, thermal, temp, mem, freq *prometheus.Desc
	online, predLatency, predEnergy, predCost   *prometheus.Desc
}

func newDeviceCollector(s *Server) *deviceCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &deviceCollector{s: s,
		battery:     d("tandem_device_battery_percent", "Battery level (read or pushed)."),
		charging:    d("tandem_device_charging", "1 while the battery charges."),
		thermal:     d("tandem_device_thermal_status", "Thermal status: 0 none, 1 light, 2 moderate, 3 severe, 4 critical, 5 emergency, 6 shutdown."),
		temp:        d("tandem_device_temperature_celsius", "Hottest relevant thermal zone."),
		mem:         d("tandem_device_memory_available_bytes", "Memory available (MemAvailable, capped by the cgroup limit)."),
		freq:        d("tandem_device_cpu_freq_ratio", "Lowest scaling_max_freq / cpuinfo_max_freq over CPUs (1: not capped)."),
		online:      d("tandem_device_online", "0 when the network is offline."),
		predLatency: d("tandem_route_predicted_latency_ms", "Predicted latency of a typical request (200 prompt tokens) per tier.", "tier"),
		predEnergy:  d("tandem_route_predicted_energy_joules", "Predicted device energy of a typical request per tier.", "tier"),
		predCost:    d("tandem_route_predicted_cost_usd", "Predicted cost of a typical request per tier.", "tier"),
	}
}

func (c *deviceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.battery, c.charging, c.thermal, c.temp, c.mem, c.freq, c.online, c.predLatency, c.predEnergy, c.predCost} {
		ch <- d
	}
}

func (c *deviceCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.device.State()
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if st.HasBattery {
		g(c.battery, st.BatteryPct)
		g(c.charging, b2f(st.Charging))
	}
	if st.Known(device.FieldThermal) {
		g(c.thermal, float64(st.Thermal))
	}
	if st.TempC != 0 {
		g(c.temp, st.TempC)
	}
	if v := st.Available(); v > 0 {
		g(c.mem, float64(v))
	}
	if st.CPUFreqRatio > 0 {
		g(c.freq, st.CPUFreqRatio)
	}
	if st.Network != device.NetworkUnknown {
		g(c.online, b2f(st.Network != device.NetworkOffline))
	}
	if c.s.router == nil {
		return
	}
	for _, p := range c.s.router.Predictions(st) {
		g(c.predLatency, p.LatencyMS, p.Tier)
		g(c.predEnergy, p.EnergyJ, p.Tier)
		g(c.predCost, p.CostUSD, p.Tier)
	}
}
