package device

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBuiltinProfiles(t *testing.T) {
	names := BuiltinProfiles()
	want := []string{"desktop", "phone-8gb-hot", "phone-airplane", "phone-low-battery", "phone-low-memory"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("profiles %v, want %v", names, want)
	}
	for _, n := range names {
		p, err := BuiltinProfile(n)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != n {
			t.Errorf("%s: name %q", n, p.Name)
		}
	}
	if _, err := BuiltinProfile("nope"); err == nil || !strings.Contains(err.Error(), "phone-8gb-hot") {
		t.Errorf("unknown profile: %v", err)
	}
}

func TestProfileScenarios(t *testing.T) {
	hot, _ := BuiltinProfile("phone-8gb-hot")
	seen := map[Thermal]bool{}
	for s := time.Duration(0); s <= hot.Duration(); s += 10 * time.Second {
		seen[hot.At(s).Thermal] = true
	}
	if !seen[ThermalSevere] || hot.At(hot.Duration()).Thermal != ThermalNone || hot.At(0).Thermal != ThermalNone {
		t.Errorf("phone-8gb-hot should go none → severe → none: %v", seen)
	}
	st := hot.At(150 * time.Second) // values persist: battery from 120 s, memory from 0 s
	if st.BatteryPct != 77 || st.MemAvailable != 3<<30 || st.MemTotal != 8<<30 || st.CloudRTT != 60*time.Millisecond || st.Network != NetworkWiFi {
		t.Errorf("at 150 s: %+v", st)
	}
	if st.Sources[FieldThermal] != SourceProfile {
		t.Errorf("sources %v", st.Sources)
	}

	air, _ := BuiltinProfile("phone-airplane")
	for s := time.Duration(0); s <= air.Duration(); s += 30 * time.Second {
		if air.At(s).Network != NetworkOffline {
			t.Errorf("airplane online at %s", s)
		}
	}
	lowbat, _ := BuiltinProfile("phone-low-battery")
	if st := lowbat.At(240 * time.Second); !(st.BatteryPct < 20) || st.Charging || !st.HasBattery {
		t.Errorf("low battery at 240 s: %v %v", st.BatteryPct, st.Charging)
	}
	lowmem, _ := BuiltinProfile("phone-low-memory")
	if st := lowmem.At(60 * time.Second); st.MemAvailable != 600<<20 || st.MemPressure != 18 {
		t.Errorf("low memory at 60 s: %d %v", st.MemAvailable, st.MemPressure)
	}
	desk, _ := BuiltinProfile("desktop")
	if st := desk.At(0); st.HasBattery || st.Network != NetworkEthernet {
		t.Errorf("desktop: battery %v network %q", st.HasBattery, st.Network)
	}
	if desk.Cost.LocalBandwidthGBps != 40 || desk.Cost.LTEFixedJ != 11 {
		t.Errorf("desktop cost overrides: %+v", desk.Cost)
	}
}

func TestParseProfileErrors(t *testing.T) {
	base := "name: x\ntimeline:\n  - at: 0s\n"
	for _, c := range []struct{ yaml, want string }{
		{"", "empty profile"},
		{"name: [", "yaml:"},
		{"name: x\nbogus: 1\ntimeline: [{at: 0s}]\n", "line 2: field bogus not found"},
		{base + "    thermal_status: toasty\n", "line 4: thermal_status: unknown thermal status \"toasty\""},
		{base + "    battery_pct: 150\n", "line 4: battery_pct: 150 out of range"},
		{base + "    frobs: 1\n", "line 4: timeline step: unknown field \"frobs\""},
		{base + "    network: 5g\n", "line 4: network: unknown network"},
		{base + "    mem_available_bytes: lots\n", "line 4: invalid size \"lots\""},
		{base + "  - at: -1s\n", "at: negative time"},
		{"name: x\ntimeline:\n  - {at: 10s}\n  - {at: 5s}\n", "timeline[1].at"},
		{"name: x\ntimeline: []\n", "timeline: need at least one step"},
		{"name: x\naccelerator: tpu\ntimeline: [{at: 0s}]\n", "accelerator"},
		{"name: x\ncost:\n  sustained_ratio: 2\ntimeline: [{at: 0s}]\n", "cost.sustained_ratio"},
		{"name: x\ncost:\n  throttle_tau: 120\ntimeline: [{at: 0s}]\n", "line 3"},
		{"name: x\ntimeline:\n  - 5\n", "line 3: timeline step: want a mapping"},
	} {
		_, err := ParseProfile([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.yaml, err, c.want)
		}
	}
}

func TestLoadProfileNamesFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "bad.yaml")
	os.WriteFile(f, []byte("name: x\ntimeline:\n  - {at: 0s, thermal_status: warm}\n"), 0o644)
	_, err := LoadProfile(f)
	if err == nil || !strings.Contains(err.Error(), f+": line 3: thermal_status") {
		t.Errorf("error %v", err)
	}
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("name: mine\ntimeline: [{at: 0s, battery_pct: 50}]\n"), 0o644)
	if p, err := OpenProfile(good); err != nil || p.Name != "mine" {
		t.Errorf("OpenProfile(file): %v %v", p, err)
	}
	if p, err := OpenProfile("phone-airplane.yaml"); err != nil || p.Name != "phone-airplane" {
		t.Errorf("OpenProfile(builtin): %v %v", p, err)
	}
	if _, err := OpenProfile(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestPlay(t *testing.T) {
	p, _ := BuiltinProfile("phone-8gb-hot")
	var got []Thermal
	if err := p.Play(context.Background(), 1e6, func(at time.Duration, st State) { got = append(got, st.Thermal) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(p.Timeline) || got[3] != ThermalSevere {
		t.Errorf("played %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Play(ctx, 1, func(time.Duration, State) {}); err != context.Canceled {
		t.Errorf("cancelled play: %v", err)
	}
	if err := p.Play(context.Background(), 0, nil); err == nil {
		t.Error("speed 0: no error")
	}
}

func FuzzParseProfile(f *testing.F) {
	for _, n := range BuiltinProfiles() {
		b, _ := builtinProfiles.ReadFile("profiles/" + n + ".yaml")
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProfile(b)
		if err != nil {
			return
		}
		for _, d := range []time.Duration{0, p.Duration() / 2, p.Duration()} {
			p.At(d)
		}
	})
}
