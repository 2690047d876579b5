// Package sim replays traffic against a simulated device and the real
// router: each request of a traffic file is decided at its arrival time on
// the device state a profile's timeline gives then, and the predicted
// latency, energy, battery and cost of the chosen tier are summed up.
// Nothing is generated; `tandem simulate` prints the summary and draws the
// timeline.
package sim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-llm/tandem/backend"
	"github.com/tandem-llm/tandem/device"
	"github.com/tandem-llm/tandem/router"
)

// Request is one line of a traffic file (JSON Lines):
//
//	{"at": 12.5, "prompt": "...", "max_tokens": 200}
//	{"at": "1m30s", "messages": [{"role": "user", "content": "..."}], "session": "a", "route": "local-only"}
//
// at is seconds (a number) or a Go duration string, from the start.
type Request struct {
	At        time.Duration
	Prompt    string
	Messages  []backend.Message
	MaxTokens int
	Session   string
	Route     router.Mode
}

// maxLine bounds one traffic line.
const maxLine = 1 << 20

// ParseTraffic reads a traffic file; errors name the line.
func ParseTraffic(r io.Reader) ([]Request, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []Request
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		req, err := parseLine([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("traffic line %d: %w", n, err)
		}
		out = append(out, req)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("traffic line %d: longer than %d bytes", len(out)+1, maxLine)
		}
		return nil, fmt.Errorf("traffic: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("traffic: no requests")
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out, nil
}

func parseLine(b []byte) (Request, error) {
	var raw struct {
		At       json.RawMessage `json:"at"`
		Prompt   string          `json:"prompt"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
		MaxTokens int    `json:"max_tokens"`
		Session   string `json:"session"`
		Route     string `json:"route"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Request{}, fmt.Errorf("%w (fields: at, prompt, messages, max_tokens, session, route)", err)
	}
	var req Request
	at, err := parseAt(raw.At)
	if err != nil {
		return req, err
	}
	req.At, req.Prompt, req.MaxTokens, req.Session = at, raw.Prompt, raw.MaxTokens, raw.Session
	for i, m := range raw.Messages {
		if m.Role == "" {
			return req, fmt.Errorf("messages[%d].role is empty", i)
		}
		req.Messages = append(req.Messages, backend.Message{Role: m.Role, Content: m.Content})
	}
	if (req.Prompt == "") == (len(req.Messages) == 0) {
		return req, errors.New("give either prompt or messages")
	}
	if req.MaxTokens < 0 || req.MaxTokens > 1<<20 {
		return req, fmt.Errorf("max_tokens %d: want 0..%d", req.MaxTokens, 1<<20)
	}
	if req.Route, err = router.ParseMode(raw.Route); err != nil {
		return req, err
	}
	return req, nil
}

func parseAt(raw json.RawMessage) (time.Duration, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, errors.New("at is missing (seconds from the start, or a duration like \"1m30s\")")
	}
	var d time.Duration
	if s[0] == '"' {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return 0, fmt.Errorf("at: %w", err)
		}
		v, err := time.ParseDuration(str)
		if err != nil {
			return 0, fmt.Errorf("at %q: %w", str, err)
		}
		d = v
	} else {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || v > 1e9 {
			return 0, fmt.Errorf("at %s: want seconds (a number) or a duration string", s)
		}
		d = time.Duration(v * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("at %v: negative", d)
	}
	return d, nil
}

// Row is one simulated request.
type Row struct {
	At         time.Duration
	Tier       string // "" when no tier could serve it
	Local      bool
	Reasons    []string
	Difficulty float64
	LatencyMS  float64
	EnergyJ    float64
	CostUSD    float64
	// The device when it arrived (battery after the simulation's own drain).
	BatteryPct float64
	HasBattery bool
	TempC      float64
	Thermal    device.Thermal
	Network    device.Network
	Err        string
}

// Summary sums a run up.
type Summary struct {
	Requests        int                `json:"requests"`
	Refused         int                `json:"refused"`
	Share           map[string]float64 `json:"share"` // tier → share of requests
	EnergyJ         float64            `json:"energy_j"`
	BatteryDrainPct float64            `json:"battery_drain_pct"`
	LatencyP50MS    float64            `json:"latency_p50_ms"`
	LatencyP95MS    float64            `json:"latency_p95_ms"`
	CloudCostUSD    float64            `json:"cloud_cost_usd"`
}

// Result is a whole run.
type Result struct {
	Profile string
	Tiers   []string // smallest first
	Rows    []Row
	Summary Summary
}

// Run replays traffic on the profile's device through rt. The device's
// battery is the profile's minus what the simulated requests drew.
func Run(ctx context.Context, rt *router.Router, prof *device.Profile, traffic []Request) (Result, error) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := base
	mon := device.NewMonitor(device.MonitorOptions{Profile: prof, Clock: func() time.Time { return now }})
	cm := device.NewCostModel(prof.Cost)
	res := Result{Profile: prof.Name}
	for _, t := range rt.Tiers() {
		res.Tiers = append(res.Tiers, t.Name)
	}
	var drained, energy, cost float64
	var lat []float64
	counts := map[string]int{}
	for _, q := range traffic {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		now = base.Add(q.At)
		st := mon.State()
		row := Row{At: q.At, TempC: st.TempC, Thermal: st.Thermal, Network: st.Network, HasBattery: st.HasBattery}
		if st.HasBattery {
			st.BatteryPct = max(0, st.BatteryPct-drained)
			row.BatteryPct = st.BatteryPct
		}
		req := &backend.Request{Prompt: q.Prompt, Messages: q.Messages, MaxTokens: q.MaxTokens}
		d, err := rt.Decide(ctx, router.Request{Request: req, Mode: q.Route, Session: q.Session}, st)
		row.Reasons, row.Difficulty = d.Reasons, d.Difficulty
		if err != nil {
			row.Err = err.Error()
			res.Rows = append(res.Rows, row)
			continue
		}
		row.Tier, row.Local = d.Tier, d.Local
		row.LatencyMS, row.EnergyJ, row.CostUSD = d.Predicted.LatencyMS, d.Predicted.EnergyJ, d.Predicted.CostUSD
		counts[d.Tier]++
		energy += row.EnergyJ
		cost += row.CostUSD
		lat = append(lat, row.LatencyMS)
		if st.HasBattery {
			drained += cm.BatteryPct(row.EnergyJ, st.BatteryMAh)
		}
		if d.Local {
			now = now.Add(time.Duration(row.LatencyMS * float64(time.Millisecond)))
			mon.ObserveLocalRun(time.Duration(row.LatencyMS * float64(time.Millisecond)))
		}
		rt.Charge(d.Tier, row.CostUSD)
		res.Rows = append(res.Rows, row)
	}
	s := &res.Summary
	s.Requests, s.EnergyJ, s.CloudCostUSD, s.BatteryDrainPct = len(traffic), energy, cost, drained
	s.Share = map[string]float64{}
	served := 0
	for _, n := range counts {
		served += n
	}
	s.Refused = len(traffic) - served
	for tier, n := range counts {
		s.Share[tier] = float64(n) / float64(len(traffic))
	}
	s.LatencyP50MS, s.LatencyP95MS = percentile(lat, 0.50), percentile(lat, 0.95)
	return res, nil
}

func percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// WriteTable prints the summary and the share per tier.
func (r Result) WriteTable(w io.Writer) error {
	s := r.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "profile %s: %d requests, %d refused\n", r.Profile, s.Requests, s.Refused)
	fmt.Fprintf(&b, "%-16s %8s\n", "tier", "share")
	for _, t := range r.Tiers {
		fmt.Fprintf(&b, "%-16s %7.1f%%\n", t, 100*s.Share[t])
	}
	fmt.Fprintf(&b, "energy %.1f J, battery drain %.3f%%, latency p50 %.0f ms p95 %.0f ms, cloud cost $%.4f\n",
		s.EnergyJ, s.BatteryDrainPct, s.LatencyP50MS, s.LatencyP95MS, s.CloudCostUSD)
	_, err := io.WriteString(w, b.String())
	return err
}

// JSONRow is a Row for --json output.
type JSONRow struct {
	AtS        float64  `json:"at_s"`
	Tier       string   `json:"tier"`
	Local      bool     `json:"local"`
	Difficulty float64  `json:"difficulty"`
	LatencyMS  float64  `json:"latency_ms"`
	EnergyJ    float64  `json:"energy_j"`
	CostUSD    float64  `json:"cost_usd"`
	BatteryPct *float64 `json:"battery_pct,omitempty"`
	TempC      float64  `json:"temp_c"`
	Thermal    string   `json:"thermal_status"`
	Network    string   `json:"network"`
	Reasons    []string `json:"reasons"`
	Error      string   `json:"error,omitempty"`
}

// JSONRows converts the rows for output.
func (r Result) JSONRows() []JSONRow {
	out := make([]JSONRow, len(r.Rows))
	for i, row := range r.Rows {
		j := JSONRow{AtS: row.At.Seconds(), Tier: row.Tier, Local: row.Local, Difficulty: row.Difficulty,
			LatencyMS: row.LatencyMS, EnergyJ: row.EnergyJ, CostUSD: row.CostUSD, TempC: row.TempC,
			Thermal: row.Thermal.String(), Network: string(row.Network), Reasons: row.Reasons, Error: row.Err}
		if row.HasBattery {
			b := row.BatteryPct
			j.BatteryPct = &b
		}
		out[i] = j
	}
	return out
}
