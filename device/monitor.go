package device

import (
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"sync"
	"time"
)

// MonitorOptions configure a Monitor; zero values take the defaults.
type MonitorOptions struct {
	FS          fs.FS            // rooted at "/" (os.DirFS("/")); nil: read nothing
	Refresh     time.Duration    // re-read FS at most this often; default 5 s
	PushTTL     time.Duration    // how long a pushed value holds without ttl_seconds; default 5 min
	Profile     *Profile         // simulated device, played from NewMonitor's time
	Clock       func() time.Time // default time.Now
	Logger      *slog.Logger
	EWMAAlpha   float64       // weight of a new observation; default 0.3
	ThrottleTau time.Duration // cooling time constant of the heat left by local generation; default 120 s
	CloudRetry  time.Duration // a failing cloud tier is offered again this long after its last failure; default 30 s
}

// Monitor keeps the device's state: read from the file system (cached),
// overlaid by the profile, measured figures from real requests, and values
// pushed by the host app until they expire. Safe for concurrent use.
type Monitor struct {
	opts  MonitorOptions
	start time.Time

	mu      sync.Mutex
	read    State
	readAt  time.Time
	pushed  State                // fields set by Push, Sources marks which
	expires map[string]time.Time // per pushed field
	local   map[string]float64   // tier → tok/s EWMA
	cloud   map[string]LinkStats // tier → figures
	rtt     time.Duration        // all cloud tiers
	cloudTS float64
	busyS   float64   // seconds of the last run of back-to-back local generation
	busyEnd time.Time // when it ended
}

// NewMonitor returns a monitor; it reads nothing until State is called.
func NewMonitor(opts MonitorOptions) *Monitor {
	if opts.Refresh <= 0 {
		opts.Refresh = 5 * time.Second
	}
	if opts.PushTTL <= 0 {
		opts.PushTTL = 5 * time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if !(opts.EWMAAlpha > 0 && opts.EWMAAlpha <= 1) {
		opts.EWMAAlpha = 0.3
	}
	if opts.ThrottleTau <= 0 {
		opts.ThrottleTau = 120 * time.Second
	}
	if opts.CloudRetry <= 0 {
		opts.CloudRetry = 30 * time.Second
	}
	return &Monitor{
		opts:    opts,
		start:   opts.Clock(),
		expires: map[string]time.Time{},
		local:   map[string]float64{},
		cloud:   map[string]LinkStats{},
	}
}

// State is the current state: file system (re-read at most every Refresh),
// then the profile, then measured figures, then unexpired pushes.
func (m *Monitor) State() State {
	now := m.opts.Clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	var st State
	if m.opts.FS != nil {
		if m.readAt.IsZero() || now.Sub(m.readAt) >= m.opts.Refresh || now.Before(m.readAt) {
			m.read, m.readAt = ReadLinux(m.opts.FS, m.opts.Logger), now
		}
		st.overlay(m.read)
	}
	if p := m.opts.Profile; p != nil {
		st.overlay(p.At(now.Sub(m.start)))
	}
	m.measured(&st, now)
	var live State
	live.overlay(m.pushed)
	for f, exp := range m.expires {
		if !now.Before(exp) {
			delete(m.expires, f)
			delete(m.pushed.Sources, f)
			delete(live.Sources, f)
		}
	}
	st.overlay(live)
	if st.Known(FieldNetwork) && !st.Known(FieldMetered) {
		st.Metered = st.Network == NetworkCellular // cellular data is metered unless told otherwise
		st.mark(FieldMetered, SourceDefault)
	}
	st.At = now
	return st
}

// measured adds what real requests taught, where the profile did not set it.
func (m *Monitor) measured(st *State, now time.Time) {
	if len(m.local) > 0 {
		lt := make(map[string]float64, len(m.local)+len(st.LocalTokPerSec))
		for k, v := range m.local {
			lt[k] = v
		}
		for k, v := range st.LocalTokPerSec { // a profile's figures win: it is the scenario
			lt[k] = v
		}
		st.LocalTokPerSec = lt
		if !st.Known(FieldLocalTokPerSec) {
			st.mark(FieldLocalTokPerSec, SourceMeasured)
		}
	}
	if len(m.cloud) > 0 {
		st.Cloud = make(map[string]LinkStats, len(m.cloud))
		for k, v := range m.cloud {
			if v.Failures > 0 && now.Sub(v.LastFailure) >= m.opts.CloudRetry {
				v.Failures = 0 // long enough: let the next request try the tier again
			}
			st.Cloud[k] = v
		}
	}
	if m.rtt > 0 && !st.Known(FieldCloudRTT) {
		st.CloudRTT = m.rtt
		st.mark(FieldCloudRTT, SourceMeasured)
	}
	if m.cloudTS > 0 && !st.Known(FieldCloudTokPerSec) {
		st.CloudTokPerSec = m.cloudTS
		st.mark(FieldCloudTokPerSec, SourceMeasured)
	}
	if m.busyS > 0 && !st.Known(FieldLocalBusy) {
		// Heat left by the last run cools off exponentially while idle.
		idle := max(now.Sub(m.busyEnd), 0)
		st.LocalSustainedS = m.busyS * math.Exp(-idle.Seconds()/m.opts.ThrottleTau.Seconds())
		st.mark(FieldLocalBusy, SourceMeasured)
	}
}

// FieldError is an invalid value in an Update.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Update is a partial state pushed by the host app (Android BatteryManager,
// AThermal, ConnectivityManager; iOS UIDevice, thermalState). Nil fields are
// left alone.
type Update struct {
	BatteryPct        *float64 `json:"battery_pct"`
	Charging          *bool    `json:"charging"`
	DischargeW        *float64 `json:"discharge_w"`
	BatteryMAh        *float64 `json:"battery_mah"`
	ThermalStatus     *string  `json:"thermal_status"`
	ThermalHeadroom   *float64 `json:"thermal_headroom"`
	TempC             *float64 `json:"temp_c"`
	MemTotalBytes     *uint64  `json:"mem_total_bytes"`
	MemAvailableBytes *uint64  `json:"mem_available_bytes"`
	MemPressure       *float64 `json:"mem_pressure"`
	Network           *string  `json:"network"`
	Metered           *bool    `json:"metered"`
	TTLSeconds        *float64 `json:"ttl_seconds"` // how long these values hold; default MonitorOptions.PushTTL
}

// MaxPushTTL bounds ttl_seconds: a pushed value must be refreshed at least daily.
const MaxPushTTL = 24 * time.Hour

// Push validates u and overrides the read values with it until the TTL
// expires. The error is a *FieldError naming the first bad field; nothing is
// applied then.
func (m *Monitor) Push(u Update) error {
	st, ttl, err := u.toState(m.opts.PushTTL)
	if err != nil {
		return err
	}
	now := m.opts.Clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pushed.overlay(st)
	for f := range st.Sources {
		m.expires[f] = now.Add(ttl)
	}
	m.opts.Logger.Debug("device: state pushed", "fields", len(st.Sources), "ttl", ttl)
	return nil
}

// toState validates u and returns its fields as a State, and how long they hold.
func (u Update) toState(defaultTTL time.Duration) (State, time.Duration, error) {
	var st State
	fl := func(field string, v *float64, lo, hi float64, dst *float64) error {
		if v == nil {
			return nil
		}
		if !(*v >= lo && *v <= hi) {
			return &FieldError{field, fmt.Sprintf("%g out of range [%g, %g]", *v, lo, hi)}
		}
		*dst = *v
		st.mark(field, SourcePush)
		return nil
	}
	for _, err := range []error{
		fl(FieldBatteryPct, u.BatteryPct, 0, 100, &st.BatteryPct),
		fl(FieldDischargeW, u.DischargeW, 0, 1000, &st.DischargeW),
		fl(FieldBatteryMAh, u.BatteryMAh, 1, maxCapMAh, &st.BatteryMAh),
		fl(FieldThermalHeadroom, u.ThermalHeadroom, 0, 10, &st.ThermalHeadroom),
		fl(FieldTempC, u.TempC, minTempC, maxTempC, &st.TempC),
		fl(FieldMemPressure, u.MemPressure, 0, 100, &st.MemPressure),
	} {
		if err != nil {
			return st, 0, err
		}
	}
	if u.BatteryPct != nil || u.Charging != nil || u.BatteryMAh != nil {
		st.HasBattery = true
		st.mark(FieldHasBattery, SourcePush)
	}
	if u.Charging != nil {
		st.Charging = *u.Charging
		st.mark(FieldCharging, SourcePush)
	}
	if u.ThermalStatus != nil {
		t, err := ParseThermal(*u.ThermalStatus)
		if err != nil {
			return st, 0, &FieldError{FieldThermal, err.Error()}
		}
		st.Thermal = t
		st.mark(FieldThermal, SourcePush)
	}
	for _, c := range []struct {
		field string
		v     *uint64
		dst   *uint64
	}{{FieldMemTotal, u.MemTotalBytes, &st.MemTotal}, {FieldMemAvailable, u.MemAvailableBytes, &st.MemAvailable}} {
		if c.v == nil {
			continue
		}
		if *c.v > maxMemBytes {
			return st, 0, &FieldError{c.field, fmt.Sprintf("%d is more than 1 PiB", *c.v)}
		}
		*c.dst = *c.v
		st.mark(c.field, SourcePush)
	}
	if u.Network != nil {
		n, err := ParseNetwork(*u.Network)
		if err != nil {
			return st, 0, &FieldError{FieldNetwork, err.Error()}
		}
		st.Network = n
		st.mark(FieldNetwork, SourcePush)
	}
	if u.Metered != nil {
		st.Metered = *u.Metered
		st.mark(FieldMetered, SourcePush)
	}
	ttl := defaultTTL
	if u.TTLSeconds != nil {
		if !(*u.TTLSeconds > 0 && *u.TTLSeconds <= MaxPushTTL.Seconds()) {
			return st, 0, &FieldError{"ttl_seconds", fmt.Sprintf("%g out of range (0, %g]", *u.TTLSeconds, MaxPushTTL.Seconds())}
		}
		ttl = time.Duration(*u.TTLSeconds * float64(time.Second))
	}
	return st, ttl, nil
}

// ObserveLocal learns a local tier's decode speed from a finished request.
func (m *Monitor) ObserveLocal(tier string, tokPerSec float64) {
	if !(tokPerSec > 0 && tokPerSec < 1e6) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.local[tier] = m.ewma(m.local[tier], tokPerSec)
}

// ObserveLocalRun records that local generation ran for d, ending now: runs
// less than a throttling time constant apart add up into sustained heat,
// which the cost model's throttling curve starts from.
func (m *Monitor) ObserveLocalRun(d time.Duration) {
	if d <= 0 {
		return
	}
	now := m.opts.Clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	idle := now.Add(-d).Sub(m.busyEnd)
	m.busyS = m.busyS*math.Exp(-max(idle, 0).Seconds()/m.opts.ThrottleTau.Seconds()) + d.Seconds()
	m.busyEnd = now
}

// ObserveCloud learns a cloud tier's time to first token and speed from a
// request; an error counts as a failure of the link (reset by a success).
func (m *Monitor) ObserveCloud(tier string, ttft time.Duration, tokPerSec float64, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.cloud[tier]
	if err != nil {
		l.Failures++
		l.LastFailure = m.opts.Clock()
		m.cloud[tier] = l
		m.opts.Logger.Info("device: cloud request failed", "tier", tier, "consecutive_failures", l.Failures, "err", err)
		return
	}
	l.Failures = 0
	if ttft > 0 && ttft < time.Hour {
		l.RTT = time.Duration(m.ewma(float64(l.RTT), float64(ttft)))
		m.rtt = time.Duration(m.ewma(float64(m.rtt), float64(ttft)))
	}
	if tokPerSec > 0 && tokPerSec < 1e6 {
		l.TokPerSec = m.ewma(l.TokPerSec, tokPerSec)
		m.cloudTS = m.ewma(m.cloudTS, tokPerSec)
	}
	m.cloud[tier] = l
}

// ewma folds x into the average old (0: no average yet).
func (m *Monitor) ewma(old, x float64) float64 {
	if old == 0 {
		return x
	}
	return old + m.opts.EWMAAlpha*(x-old)
}
