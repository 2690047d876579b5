package device

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func ptr[T any](v T) *T { return &v }

func TestMonitorPushOverridesUntilExpiry(t *testing.T) {
	clk := newClock()
	m := NewMonitor(MonitorOptions{FS: os.DirFS("testdata/android"), Clock: clk.Now, PushTTL: time.Minute})
	if st := m.State(); st.BatteryPct != 57 || st.Sources[FieldBatteryPct] != SourceSysfs {
		t.Fatalf("read: %v from %s", st.BatteryPct, st.Sources[FieldBatteryPct])
	}
	if err := m.Push(Update{BatteryPct: ptr(12.5), ThermalStatus: ptr("severe")}); err != nil {
		t.Fatal(err)
	}
	if err := m.Push(Update{Network: ptr("cellular"), TTLSeconds: ptr(300.0)}); err != nil {
		t.Fatal(err)
	}
	st := m.State()
	if st.BatteryPct != 12.5 || st.Thermal != ThermalSevere || st.Sources[FieldThermal] != SourcePush {
		t.Errorf("pushed values not applied: %v %v %v", st.BatteryPct, st.Thermal, st.Sources)
	}
	if st.MemTotal != 7812344*1024 {
		t.Errorf("read values lost: %d", st.MemTotal)
	}
	if st.Network != NetworkCellular || !st.Metered || st.Sources[FieldMetered] != SourceDefault {
		t.Errorf("cellular: metered %v from %s", st.Metered, st.Sources[FieldMetered])
	}
	clk.Add(61 * time.Second)
	st = m.State()
	if st.BatteryPct != 57 || st.Thermal != ThermalModerate || st.Sources[FieldBatteryPct] != SourceSysfs {
		t.Errorf("after the TTL: %v %v from %s", st.BatteryPct, st.Thermal, st.Sources[FieldBatteryPct])
	}
	if st.Network != NetworkCellular {
		t.Errorf("network pushed for 300 s expired early: %q", st.Network)
	}
	clk.Add(5 * time.Minute)
	if st := m.State(); st.Network != NetworkWiFi {
		t.Errorf("network after its TTL: %q", st.Network)
	}
}

func TestMonitorPushValidation(t *testing.T) {
	m := NewMonitor(MonitorOptions{})
	for _, c := range []struct {
		u     Update
		field string
	}{
		{Update{BatteryPct: ptr(101.0)}, "battery_pct"},
		{Update{ThermalStatus: ptr("warm")}, "thermal_status"},
		{Update{ThermalHeadroom: ptr(-1.0)}, "thermal_headroom"},
		{Update{Network: ptr("5g")}, "network"},
		{Update{MemAvailableBytes: ptr(uint64(1) << 60)}, "mem_available_bytes"},
		{Update{TTLSeconds: ptr(0.0)}, "ttl_seconds"},
		{Update{MemPressure: ptr(200.0), BatteryPct: ptr(50.0)}, "mem_pressure"},
	} {
		err := m.Push(c.u)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%+v: error %v, want field %s", c.u, err, c.field)
		}
	}
	if st := m.State(); st.Known(FieldBatteryPct) {
		t.Error("a rejected update was partly applied")
	}
}

func TestMonitorRefresh(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	os.MkdirAll(dir+"/proc", 0o755)
	os.WriteFile(dir+"/proc/meminfo", []byte("MemTotal: 1000 kB\nMemAvailable: 500 kB\n"), 0o644)
	m := NewMonitor(MonitorOptions{FS: os.DirFS(dir), Clock: clk.Now, Refresh: 10 * time.Second})
	if st := m.State(); st.MemAvailable != 500*1024 {
		t.Fatalf("available %d", st.MemAvailable)
	}
	os.WriteFile(dir+"/proc/meminfo", []byte("MemTotal: 1000 kB\nMemAvailable: 100 kB\n"), 0o644)
	clk.Add(5 * time.Second)
	if st := m.State(); st.MemAvailable != 500*1024 {
		t.Errorf("re-read before Refresh: %d", st.MemAvailable)
	}
	clk.Add(5 * time.Second)
	if st := m.State(); st.MemAvailable != 100*1024 {
		t.Errorf("not re-read after Refresh: %d", st.MemAvailable)
	}
}

func TestMonitorProfile(t *testing.T) {
	clk := newClock()
	p, _ := BuiltinProfile("phone-8gb-hot")
	m := NewMonitor(MonitorOptions{Profile: p, Clock: clk.Now})
	if st := m.State(); st.Thermal != ThermalNone || st.BatteryPct != 80 {
		t.Errorf("t=0: %v %v", st.Thermal, st.BatteryPct)
	}
	clk.Add(130 * time.Second)
	if st := m.State(); st.Thermal != ThermalSevere || st.Sources[FieldThermal] != SourceProfile {
		t.Errorf("t=130s: %v", st.Thermal)
	}
	m.Push(Update{ThermalStatus: ptr("none")})
	if st := m.State(); st.Thermal != ThermalNone {
		t.Errorf("push over profile: %v", st.Thermal)
	}
}

func TestMonitorObservations(t *testing.T) {
	clk := newClock()
	m := NewMonitor(MonitorOptions{Clock: clk.Now, EWMAAlpha: 0.5})
	m.ObserveLocal("local-1b", 20)
	m.ObserveLocal("local-1b", 10)
	m.ObserveLocal("local-1b", -3) // ignored
	m.ObserveCloud("cloud", 200*time.Millisecond, 80, nil)
	m.ObserveCloud("cloud", 400*time.Millisecond, 40, nil)
	st := m.State()
	if st.LocalTokPerSec["local-1b"] != 15 || st.Sources[FieldLocalTokPerSec] != SourceMeasured {
		t.Errorf("local EWMA %v", st.LocalTokPerSec)
	}
	if st.CloudRTT != 300*time.Millisecond || st.CloudTokPerSec != 60 || st.Cloud["cloud"].RTT != 300*time.Millisecond {
		t.Errorf("cloud EWMA rtt %v tok/s %v", st.CloudRTT, st.CloudTokPerSec)
	}
	for range 3 {
		m.ObserveCloud("cloud", 0, 0, errors.New("connection refused"))
	}
	if f := m.State().Cloud["cloud"].Failures; f != 3 {
		t.Errorf("failures %d", f)
	}
	clk.Add(30 * time.Second) // retry window: the tier is offered again
	if f := m.State().Cloud["cloud"].Failures; f != 0 {
		t.Errorf("failures after the retry window %d", f)
	}
	m.ObserveCloud("cloud", 0, 0, errors.New("connection refused")) // fails again: avoided again
	if f := m.State().Cloud["cloud"].Failures; f != 4 {
		t.Errorf("failures after a failed retry %d", f)
	}
	m.ObserveCloud("cloud", 300*time.Millisecond, 60, nil)
	if f := m.State().Cloud["cloud"].Failures; f != 0 {
		t.Errorf("failures after a success %d", f)
	}

	// Sustained generation: two back-to-back 60 s runs add up, then cool off with τ = 120 s.
	m.ObserveLocalRun(60 * time.Second)
	clk.Add(60 * time.Second)
	m.ObserveLocalRun(60 * time.Second)
	if s := m.State().LocalSustainedS; !near(s, 120, 1e-6) {
		t.Errorf("sustained %v s, want 120", s)
	}
	clk.Add(120 * time.Second)
	if s := m.State().LocalSustainedS; !near(s, 120/2.718281828, 0.01) {
		t.Errorf("after 120 s idle: %v s", s)
	}
}

func TestMonitorConcurrent(t *testing.T) {
	m := NewMonitor(MonitorOptions{FS: os.DirFS("testdata/laptop"), Refresh: time.Nanosecond})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				m.Push(Update{BatteryPct: ptr(float64(i))})
				m.ObserveLocal("a", 10)
				m.ObserveCloud("c", time.Millisecond, 5, nil)
				m.ObserveLocalRun(time.Millisecond)
				m.State()
			}
		})
	}
	wg.Wait()
}
