package device

import (
	"strings"
	"testing"
	"time"
)

var testTiers = []TierSpec{
	{Name: "local-1b", Local: true, ParamsB: 1, WeightsBytes: 600 << 20, KVBytes: 256 << 20},
	{Name: "local-3b", Local: true, ParamsB: 3, WeightsBytes: 2 << 30, KVBytes: 512 << 20},
	{Name: "cloud", PriceInPerM: 0.5, PriceOutPerM: 1.5},
}

func advise(t *testing.T, st State) Advice {
	t.Helper()
	log, buf := logBuf()
	c := NewCostModel(DefaultCostParams())
	var preds []Prediction
	for _, tier := range testTiers {
		preds = append(preds, c.Predict(tier, 200, 200, st))
	}
	g := &Governor{MaxThreads: 8, Logger: log}
	a := g.Advise(st, testTiers, preds)
	for _, r := range a.Reasons { // every action is logged with its reason
		if !strings.Contains(buf.String(), r) {
			t.Errorf("reason %q not logged:\n%s", r, buf)
		}
	}
	return a
}

func phone(thermal Thermal, network Network) State {
	st := State{HasBattery: true, BatteryPct: 80, Thermal: thermal, Network: network,
		MemTotal: 16 << 30, MemAvailable: 12 << 30, LocalTokPerSec: map[string]float64{"local-1b": 25, "local-3b": 9}}
	for _, f := range []string{FieldHasBattery, FieldBatteryPct, FieldThermal, FieldNetwork, FieldMemTotal, FieldMemAvailable} {
		st.mark(f, SourcePush)
	}
	return st
}

func hasReason(a Advice, s string) bool {
	for _, r := range a.Reasons {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

func TestGovernorHeat(t *testing.T) {
	hot := advise(t, phone(ThermalSevere, NetworkWiFi))
	if !hot.PreferCloud || hot.Threads != 4 || !hasReason(hot, "thermal severe: prefer cloud") || !hasReason(hot, "thermal severe: threads 8 → 4") {
		t.Errorf("hot: %+v", hot)
	}
	if m := advise(t, phone(ThermalModerate, NetworkWiFi)); !m.PreferCloud || m.Threads != 6 {
		t.Errorf("moderate: %+v", m)
	}
	if c := advise(t, phone(ThermalCritical, NetworkWiFi)); c.Threads != 2 {
		t.Errorf("critical: %d threads", c.Threads)
	}
	cool := advise(t, phone(ThermalLight, NetworkWiFi))
	if cool.PreferCloud || cool.Threads != 8 {
		t.Errorf("cool: %+v", cool)
	}
}

func TestGovernorOffline(t *testing.T) {
	a := advise(t, phone(ThermalSevere, NetworkOffline))
	if a.PreferCloud || len(a.AvoidLocal) != 0 {
		t.Errorf("offline: %+v", a)
	}
	if !hasReason(a, "offline: cloud unreachable, staying local despite thermal severe") || a.Threads != 4 {
		t.Errorf("offline reasons: %q", a.Reasons)
	}
	if a := advise(t, phone(ThermalNone, NetworkOffline)); !hasReason(a, "offline: cloud unreachable, staying local") {
		t.Errorf("offline, cool: %q", a.Reasons)
	}
}

func TestGovernorSpeed(t *testing.T) {
	a := advise(t, phone(ThermalNone, NetworkWiFi))
	if a.AvoidLocal["local-3b"] != "speed: tier local-3b predicted 8.7 tok/s < 15 tok/s" || a.AvoidLocal["local-1b"] != "" {
		t.Errorf("speed: %+v", a)
	}
	if a := advise(t, phone(ThermalNone, NetworkOffline)); a.AvoidLocal["local-3b"] != "" || !hasReason(a, "speed: tier local-3b predicted 8.7 tok/s < 15 tok/s, but offline") {
		t.Errorf("speed offline: %+v", a)
	}
}

func TestGovernorMemory(t *testing.T) {
	st := phone(ThermalNone, NetworkCellular)
	st.MemTotal, st.MemAvailable = 4<<30, 1600<<20
	st.LocalTokPerSec = map[string]float64{"local-1b": 25, "local-3b": 20}
	a := advise(t, st)
	want := "memory: tier local-3b needs 2.6 GB > budget 0.8 GB (min(25% of 4.0 GB RAM, 50% of 1.6 GB available))"
	if a.AvoidLocal["local-3b"] != want || !hasReason(a, want) {
		t.Errorf("local-3b: %q", a.AvoidLocal["local-3b"])
	}
	// local-1b fits with a smaller KV cache: budget 800 MB − 600 MB − 64 MB runtime.
	if a.AvoidLocal["local-1b"] != "" || a.KVBudgetBytes != 136<<20 || !a.UnloadIdle || !hasReason(a, "memory: tier local-1b KV cache") {
		t.Errorf("local-1b: %+v", a)
	}
	st.MemPressure = 25
	st.mark(FieldMemPressure, SourceProcfs)
	st.MemAvailable = 6 << 30
	a = advise(t, st)
	if !a.UnloadIdle || !hasReason(a, "memory pressure 25% (PSI some avg10): unload idle models") || a.KVBudgetBytes != 0 {
		t.Errorf("pressure: %+v", a)
	}
}

func TestGovernorBattery(t *testing.T) {
	st := phone(ThermalNone, NetworkCellular)
	st.BatteryPct = 15
	a := advise(t, st)
	if !a.PreferCloud || !hasReason(a, "battery 15% discharging: prefer cloud") {
		t.Errorf("low battery: %+v", a)
	}
	st.Charging = true
	st.mark(FieldCharging, SourcePush)
	if a := advise(t, st); a.PreferCloud {
		t.Errorf("charging: %+v", a)
	}
	desk := phone(ThermalNone, NetworkEthernet)
	desk.HasBattery, desk.BatteryPct = false, 0
	if a := advise(t, desk); a.PreferCloud {
		t.Errorf("no battery: %+v", a)
	}
}

// The hot profile played through: local → cloud while severe → local again.
func TestGovernorHotProfile(t *testing.T) {
	p, _ := BuiltinProfile("phone-8gb-hot")
	var prefer []bool
	for _, at := range []time.Duration{0, 130 * time.Second, 400 * time.Second} {
		a := advise(t, p.At(at))
		prefer = append(prefer, a.PreferCloud)
	}
	if prefer[0] || !prefer[1] || prefer[2] {
		t.Errorf("prefer cloud over time: %v", prefer)
	}
}
