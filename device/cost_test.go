package device

import (
	"math"
	"testing"
	"time"
)

func TestDecodeEnergyDefaults(t *testing.T) {
	c := NewCostModel(DefaultCostParams())
	for _, x := range []struct{ params, want float64 }{
		{0.5, 0.44}, {1.5, 0.93}, {3, 1.52},
		{1, 0.44 + 0.49*math.Log(2)/math.Log(3)}, // log-params interpolation
		{6, 1.52 + 0.59},                         // extrapolated: one more doubling
		{0.25, 0.22},                             // below the smallest point: ∝ params
	} {
		if got := c.DecodeJPerTok(x.params); !near(got, x.want, 1e-9) {
			t.Errorf("%gB: %v J/token, want %v", x.params, got, x.want)
		}
	}
	st := State{}
	p := c.Predict(TierSpec{Name: "l", Local: true, ParamsB: 0.5}, 0, 100, st)
	if !near(p.EnergyJ, 44, 1e-9) || !p.Feasible || p.CostUSD != 0 {
		t.Errorf("100 tokens at 0.5B: %+v", p)
	}
	p = c.Predict(TierSpec{Name: "l", Local: true, ParamsB: 0.5}, 100, 100, st)
	if !near(p.EnergyJ, 44+4.4, 1e-9) { // prefill at 1/10 of a decode token
		t.Errorf("with 100 prompt tokens: %v J", p.EnergyJ)
	}
	p = c.Predict(TierSpec{Name: "l", Local: true, ParamsB: 0.5, Accel: "gpu"}, 0, 100, st)
	if !near(p.EnergyJ, 44/3.8, 1e-9) {
		t.Errorf("GPU: %v J", p.EnergyJ)
	}
	st.Accel = "npu" // the device's accelerator applies when the tier does not say
	if p := c.Predict(TierSpec{Name: "l", Local: true, ParamsB: 0.5}, 0, 100, st); !near(p.EnergyJ, 44/3.8, 1e-9) {
		t.Errorf("NPU device: %v J", p.EnergyJ)
	}
}

func TestBatteryPct(t *testing.T) {
	c := NewCostModel(DefaultCostParams())
	if got, want := c.BatteryPct(55.44, 4000), 55.44/(4000*3.85*3.6)*100; !near(got, want, 1e-12) || !near(got, 0.1, 1e-9) {
		t.Errorf("battery %v%%, want %v", got, want)
	}
	st := State{HasBattery: true, BatteryMAh: 4000}
	p := c.Predict(TierSpec{Name: "l", Local: true, ParamsB: 0.5}, 0, 100, st)
	if !near(p.BatteryPct, 44/55440.0*100, 1e-9) {
		t.Errorf("prediction battery %v%%", p.BatteryPct)
	}
	if p := c.Predict(TierSpec{Name: "l", Local: true, ParamsB: 0.5}, 0, 100, State{}); p.BatteryPct != 0 {
		t.Errorf("no battery: %v%%", p.BatteryPct)
	}
}

func TestThrottlingCurve(t *testing.T) {
	c := NewCostModel(DefaultCostParams())
	if r := c.Throttled(20, 0); r != 20 {
		t.Errorf("r(0) = %v", r)
	}
	if r := c.Throttled(20, 120*time.Second); !near(r, 12+8/math.E, 1e-9) {
		t.Errorf("r(τ) = %v", r)
	}
	if r := c.Throttled(20, time.Hour); !near(r, 12, 1e-6) {
		t.Errorf("r(∞) = %v", r)
	}
	// DecodeTime inverts the integral of r: check by summing r over the result.
	for _, x := range []struct {
		t0 time.Duration
		n  float64
	}{{0, 100}, {0, 5000}, {60 * time.Second, 2000}} {
		T := c.DecodeTime(20, x.t0, x.n)
		sum, dt := 0.0, 0.001
		for s := 0.0; s < T.Seconds(); s += dt {
			sum += c.Throttled(20, x.t0+time.Duration((s+dt/2)*float64(time.Second))) * dt
		}
		if !near(sum, x.n, x.n*1e-3+0.05) {
			t.Errorf("t0 %v, %v tokens: %v s generates %v", x.t0, x.n, T.Seconds(), sum)
		}
	}
	// Short runs go at r0; long ones tend to the sustained rate.
	if T := c.DecodeTime(20, 0, 20).Seconds(); !near(T, 1, 0.01) {
		t.Errorf("20 tokens: %v s", T)
	}
	if T := c.DecodeTime(20, time.Hour, 1200).Seconds(); !near(T, 100, 0.01) {
		t.Errorf("after an hour: %v s", T)
	}

	tier := TierSpec{Name: "local-1b", Local: true, ParamsB: 1}
	st := State{LocalTokPerSec: map[string]float64{"local-1b": 30}}
	cool := c.Predict(tier, 0, 30, st)
	if !near(cool.TokPerSec, 30, 0.2) || !near(cool.LatencyMS, 1000, 10) {
		t.Errorf("measured 30 tok/s: %+v", cool)
	}
	st.CPUFreqRatio = 0.5
	if p := c.Predict(tier, 0, 30, st); !near(p.TokPerSec, 15, 0.1) {
		t.Errorf("frequency capped at 50%%: %v tok/s", p.TokPerSec)
	}
	st.CPUFreqRatio, st.Thermal = 0, ThermalSevere
	if p := c.Predict(tier, 0, 30, st); !near(p.TokPerSec, 18, 0.1) {
		t.Errorf("severe: %v tok/s, want the sustained 0.6 × 30", p.TokPerSec)
	}
	// Unmeasured: bandwidth ÷ weight bytes.
	if p := c.Predict(TierSpec{Name: "x", Local: true, ParamsB: 1, WeightsBytes: 1e9}, 0, 1, State{}); !near(p.TokPerSec, 20, 0.01) {
		t.Errorf("default speed %v tok/s", p.TokPerSec)
	}
}

func TestCloudRadio(t *testing.T) {
	c := NewCostModel(DefaultCostParams())
	tier := TierSpec{Name: "cloud", PriceInPerM: 1, PriceOutPerM: 4}
	wifi := c.Predict(tier, 1000, 100, State{Network: NetworkWiFi})
	lte := c.Predict(tier, 1000, 100, State{Network: NetworkCellular})
	secs := 0.6 + 100/50.0 // default TTFT + tokens at the default cloud rate
	if !near(wifi.EnergyJ, 0.1+0.4*secs, 1e-9) || !near(lte.EnergyJ, 11+1.2*secs, 1e-9) {
		t.Errorf("wifi %v J, lte %v J", wifi.EnergyJ, lte.EnergyJ)
	}
	if !near(wifi.LatencyMS, secs*1000, 1e-6) || !near(wifi.CostUSD, 0.0014, 1e-12) || !wifi.Feasible {
		t.Errorf("wifi %+v", wifi)
	}
	if p := c.Predict(tier, 1000, 100, State{Network: NetworkOffline}); p.Feasible || p.Why == "" {
		t.Errorf("offline %+v", p)
	}
	st := State{Network: NetworkWiFi, Cloud: map[string]LinkStats{"cloud": {RTT: 100 * time.Millisecond, TokPerSec: 100}}}
	if p := c.Predict(tier, 0, 100, st); !near(p.LatencyMS, 1100, 1e-6) {
		t.Errorf("measured link: %v ms", p.LatencyMS)
	}
	st.Cloud["cloud"] = LinkStats{Failures: 3}
	if p := c.Predict(tier, 0, 100, st); p.Feasible {
		t.Errorf("3 failures: %+v", p)
	}
}

func TestFitsMemory(t *testing.T) {
	st := State{MemTotal: 8 << 30, MemAvailable: 1843 << 20}
	st.mark(FieldMemTotal, SourceProcfs)
	st.mark(FieldMemAvailable, SourceProcfs)
	ok, why := FitsMemory(1<<30, 256<<20, 64<<20, st)
	if ok || why != "memory: needs 1.3 GB > budget 0.9 GB (min(25% of 8.0 GB RAM, 50% of 1.8 GB available))" {
		t.Errorf("%v %q", ok, why)
	}
	if ok, _ := FitsMemory(500<<20, 256<<20, 64<<20, st); !ok {
		t.Error("0.8 GB should fit 0.9 GB")
	}
	if ok, _ := FitsMemory(1<<40, 0, 0, State{}); !ok {
		t.Error("unknown memory should not refuse")
	}
}

func TestCostParamsValidate(t *testing.T) {
	if err := DefaultCostParams().Validate(); err != nil {
		t.Fatal(err)
	}
	p := DefaultCostParams()
	p.LTEWatts = -1
	if err := p.Validate(); err == nil {
		t.Error("negative lte_watts accepted")
	}
}
