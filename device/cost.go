package device

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// EnergyPoint is a measured decode energy per output token on a phone CPU for
// a model of ParamsB billion parameters.
type EnergyPoint struct {
	ParamsB float64 `yaml:"params_b" json:"params_b"`
	JPerTok float64 `yaml:"j_per_token" json:"j_per_token"`
}

// CostParams are the cost model's constants. Every field can be overridden
// from a device profile's cost: section; DefaultCostParams documents the
// defaults and docs/device.md their sources.
type CostParams struct {
	DecodeJPerTok      []EnergyPoint `yaml:"decode_j_per_token" json:"decode_j_per_token"`     // phone CPU; interpolated in log(params)
	AccelEnergyDivisor float64       `yaml:"accel_energy_divisor" json:"accel_energy_divisor"` // GPU/NPU use this many times less energy per token
	PrefillFraction    float64       `yaml:"prefill_fraction" json:"prefill_fraction"`         // prompt token energy as a fraction of an output token's
	PrefillSpeedup     float64       `yaml:"prefill_speedup" json:"prefill_speedup"`           // prompt tokens per second ÷ output tokens per second
	LocalBandwidthGBps float64       `yaml:"local_bandwidth_gbps" json:"local_bandwidth_gbps"` // unmeasured tok/s = this ÷ weight bytes (decode reads every weight once)
	BytesPerParam      float64       `yaml:"bytes_per_param" json:"bytes_per_param"`           // weight bytes when a tier does not say (Q4_K_M ≈ 4.8 bits)
	SustainedRatio     float64       `yaml:"sustained_ratio" json:"sustained_ratio"`           // r_sus / r0 once throttled
	ThrottleTau        time.Duration `yaml:"throttle_tau" json:"throttle_tau"`                 // time constant of the throttling curve
	CloudTTFT          time.Duration `yaml:"cloud_ttft" json:"cloud_ttft"`                     // until measured
	CloudTokPerSec     float64       `yaml:"cloud_tok_per_sec" json:"cloud_tok_per_sec"`       // until measured
	MaxCloudFailures   int           `yaml:"max_cloud_failures" json:"max_cloud_failures"`     // consecutive failures that make a cloud tier unreachable
	LTEFixedJ          float64       `yaml:"lte_fixed_j" json:"lte_fixed_j"`                   // promotion + tail energy per request
	LTEWatts           float64       `yaml:"lte_watts" json:"lte_watts"`                       // while streaming
	WiFiFixedJ         float64       `yaml:"wifi_fixed_j" json:"wifi_fixed_j"`
	WiFiWatts          float64       `yaml:"wifi_watts" json:"wifi_watts"`
	BatteryV           float64       `yaml:"battery_v" json:"battery_v"`         // nominal cell voltage
	BatteryMAh         float64       `yaml:"battery_mah" json:"battery_mah"`     // when the device does not say
	RuntimeBytes       Size          `yaml:"runtime_bytes" json:"runtime_bytes"` // scratch buffers etc. beside weights + KV
}

// DefaultCostParams are the defaults (sources in docs/device.md).
func DefaultCostParams() CostParams {
	return CostParams{
		DecodeJPerTok:      []EnergyPoint{{0.5, 0.44}, {1.5, 0.93}, {3, 1.52}},
		AccelEnergyDivisor: 3.8,
		PrefillFraction:    0.1,
		PrefillSpeedup:     10,
		LocalBandwidthGBps: 20,
		BytesPerParam:      0.6,
		SustainedRatio:     0.6,
		ThrottleTau:        120 * time.Second,
		CloudTTFT:          600 * time.Millisecond,
		CloudTokPerSec:     50,
		MaxCloudFailures:   3,
		LTEFixedJ:          11,
		LTEWatts:           1.2,
		WiFiFixedJ:         0.1,
		WiFiWatts:          0.4,
		BatteryV:           NominalBatteryV,
		BatteryMAh:         4000,
		RuntimeBytes:       64 << 20,
	}
}

// Validate checks that every parameter is usable, naming the first that is not.
func (p CostParams) Validate() error {
	if len(p.DecodeJPerTok) == 0 {
		return fmt.Errorf("decode_j_per_token: need at least one point")
	}
	for i, e := range p.DecodeJPerTok {
		if !(e.ParamsB > 0 && e.ParamsB < 1e4) || !(e.JPerTok > 0 && e.JPerTok < 1e4) {
			return fmt.Errorf("decode_j_per_token[%d]: params_b and j_per_token must be > 0, got %g, %g", i, e.ParamsB, e.JPerTok)
		}
	}
	pos := []struct {
		name string
		v    float64
	}{
		{"accel_energy_divisor", p.AccelEnergyDivisor}, {"prefill_speedup", p.PrefillSpeedup},
		{"local_bandwidth_gbps", p.LocalBandwidthGBps}, {"bytes_per_param", p.BytesPerParam},
		{"throttle_tau", p.ThrottleTau.Seconds()}, {"cloud_tok_per_sec", p.CloudTokPerSec},
		{"battery_v", p.BatteryV}, {"battery_mah", p.BatteryMAh},
	}
	for _, f := range pos {
		if !(f.v > 0 && f.v < 1e9) {
			return fmt.Errorf("%s: must be > 0, got %g", f.name, f.v)
		}
	}
	nonneg := []struct {
		name string
		v    float64
	}{
		{"prefill_fraction", p.PrefillFraction}, {"cloud_ttft", p.CloudTTFT.Seconds()},
		{"lte_fixed_j", p.LTEFixedJ}, {"lte_watts", p.LTEWatts}, {"wifi_fixed_j", p.WiFiFixedJ}, {"wifi_watts", p.WiFiWatts},
		{"max_cloud_failures", float64(p.MaxCloudFailures)},
	}
	for _, f := range nonneg {
		if !(f.v >= 0 && f.v < 1e9) {
			return fmt.Errorf("%s: must be ≥ 0, got %g", f.name, f.v)
		}
	}
	if !(p.SustainedRatio > 0 && p.SustainedRatio <= 1) {
		return fmt.Errorf("sustained_ratio: must be in (0, 1], got %g", p.SustainedRatio)
	}
	return nil
}

// TierSpec describes a tier to the cost model and the governor.
type TierSpec struct {
	Name         string
	Local        bool
	ParamsB      float64 // billions of parameters
	Accel        string  // local: "cpu", "gpu" or "npu"; "" = the device's (State.Accel), else cpu
	PriceInPerM  float64 // USD per million prompt tokens (cloud)
	PriceOutPerM float64 // USD per million completion tokens (cloud)
	WeightsBytes uint64  // local: resident weights
	KVBytes      uint64  // local: KV cache at the configured context
}

// Prediction is what running a request on a tier is predicted to cost.
type Prediction struct {
	Tier       string  `json:"tier"`
	LatencyMS  float64 `json:"latency_ms"`  // until the last token
	EnergyJ    float64 `json:"energy_j"`    // drawn by this device
	BatteryPct float64 `json:"battery_pct"` // of a full battery; 0 without a battery
	CostUSD    float64 `json:"cost_usd"`
	TokPerSec  float64 `json:"tok_per_sec"` // average output rate
	Feasible   bool    `json:"feasible"`
	Why        string  `json:"why"` // the figures used, or why it is not feasible
}

// CostModel predicts latency, energy, battery and money per request.
type CostModel struct {
	Params CostParams
}

// NewCostModel returns a model with p (DefaultCostParams for the defaults).
func NewCostModel(p CostParams) *CostModel { return &CostModel{Params: p} }

// Predict estimates running inTok prompt and outTok output tokens on t in state st.
func (c *CostModel) Predict(t TierSpec, inTok, outTok int, st State) Prediction {
	inTok, outTok = max(inTok, 0), max(outTok, 0)
	var p Prediction
	if t.Local {
		p = c.local(t, float64(inTok), float64(outTok), st)
	} else {
		p = c.cloud(t, float64(inTok), float64(outTok), st)
	}
	p.Tier = t.Name
	if st.HasBattery {
		p.BatteryPct = c.BatteryPct(p.EnergyJ, st.BatteryMAh)
	}
	return p
}

// BatteryPct converts joules to percent of a battery of mAh (0 = the default
// capacity): E / (mAh × V × 3.6) × 100, since 1 mAh at V volts is 3.6·V J.
func (c *CostModel) BatteryPct(energyJ, mAh float64) float64 {
	if mAh <= 0 {
		mAh = c.Params.BatteryMAh
	}
	return energyJ / (mAh * c.Params.BatteryV * 3.6) * 100
}

// DecodeJPerTok is the energy per output token of a model of paramsB billion
// parameters on a phone CPU: linear in log(params) between the measured
// points and beyond the largest; proportional to params below the smallest
// (decode is memory-bound, so energy follows the bytes read).
func (c *CostModel) DecodeJPerTok(paramsB float64) float64 {
	pts := append([]EnergyPoint(nil), c.Params.DecodeJPerTok...)
	sort.Slice(pts, func(i, j int) bool { return pts[i].ParamsB < pts[j].ParamsB })
	if len(pts) == 0 || paramsB <= 0 {
		return 0
	}
	if paramsB <= pts[0].ParamsB || len(pts) == 1 {
		return pts[0].JPerTok * paramsB / pts[0].ParamsB
	}
	i := sort.Search(len(pts), func(i int) bool { return pts[i].ParamsB >= paramsB })
	i = min(max(i, 1), len(pts)-1)
	a, b := pts[i-1], pts[i]
	if a.ParamsB == b.ParamsB {
		return b.JPerTok
	}
	f := math.Log(paramsB/a.ParamsB) / math.Log(b.ParamsB/a.ParamsB)
	return max(a.JPerTok+f*(b.JPerTok-a.JPerTok), 0)
}

// Throttled is r(t) = r_sus + (r0 − r_sus)·e^(−t/τ): the decode rate after t
// of sustained generation.
func (c *CostModel) Throttled(r0 float64, t time.Duration) float64 {
	rs := c.Params.SustainedRatio * r0
	return rs + (r0-rs)*math.Exp(-t.Seconds()/c.Params.ThrottleTau.Seconds())
}

// DecodeTime is how long n tokens take starting t0 into sustained
// generation: the T with ∫_{t0}^{t0+T} r(t) dt = n, found by bisection
// (the integral is monotonic and T lies between n/r0 and n/r_sus).
func (c *CostModel) DecodeTime(r0 float64, t0 time.Duration, n float64) time.Duration {
	if n <= 0 || r0 <= 0 {
		return 0
	}
	rs := c.Params.SustainedRatio * r0
	tau := c.Params.ThrottleTau.Seconds()
	a := (r0 - rs) * tau * math.Exp(-t0.Seconds()/tau)
	tokens := func(T float64) float64 { return rs*T + a*(1-math.Exp(-T/tau)) }
	lo, hi := n/r0, n/rs
	for range 60 {
		mid := (lo + hi) / 2
		if tokens(mid) < n {
			lo = mid
		} else {
			hi = mid
		}
	}
	return time.Duration(hi * float64(time.Second))
}

func (c *CostModel) weights(t TierSpec) float64 {
	if t.WeightsBytes > 0 {
		return float64(t.WeightsBytes)
	}
	return t.ParamsB * 1e9 * c.Params.BytesPerParam
}

func (c *CostModel) local(t TierSpec, in, out float64, st State) Prediction {
	params := t.ParamsB
	if params <= 0 && t.WeightsBytes > 0 {
		params = float64(t.WeightsBytes) / c.Params.BytesPerParam / 1e9
	}
	if params <= 0 {
		return Prediction{Why: "unknown model size (no params or weights)"}
	}
	accel := t.Accel
	if accel == "" {
		accel = st.Accel
	}
	eTok := c.DecodeJPerTok(params)
	if accel == "gpu" || accel == "npu" {
		eTok /= c.Params.AccelEnergyDivisor
	} else {
		accel = "cpu"
	}
	energy := eTok*out + eTok*c.Params.PrefillFraction*in

	r0, src := st.LocalTokPerSec[t.Name], "measured"
	if r0 <= 0 {
		r0, src = c.Params.LocalBandwidthGBps*1e9/c.weights(t), "default"
	}
	if st.CPUFreqRatio > 0 {
		r0 *= st.CPUFreqRatio
	}
	t0 := time.Duration(st.LocalSustainedS * float64(time.Second))
	if st.Thermal >= ThermalSevere { // already throttling: as if long into sustained generation
		t0 = max(t0, 5*c.Params.ThrottleTau)
		src += ", throttled"
	}
	rNow := c.Throttled(r0, t0)
	prefill := in / (c.Params.PrefillSpeedup * rNow)
	dec := c.DecodeTime(r0, t0, out).Seconds()
	tps := rNow
	if dec > 0 {
		tps = out / dec
	}
	p := Prediction{
		LatencyMS: (prefill + dec) * 1000,
		EnergyJ:   energy,
		TokPerSec: tps,
		Feasible:  true,
		Why:       fmt.Sprintf("%s %.2f J/token, %.1f tok/s (%s)", accel, eTok, tps, src),
	}
	if ok, why := fitsMemory(uint64(c.weights(t)), t.KVBytes, uint64(c.Params.RuntimeBytes), st); !ok {
		p.Feasible, p.Why = false, "memory: "+why
	}
	return p
}

func (c *CostModel) cloud(t TierSpec, in, out float64, st State) Prediction {
	p := Prediction{CostUSD: (in*t.PriceInPerM + out*t.PriceOutPerM) / 1e6}
	link := st.Cloud[t.Name]
	if st.Network == NetworkOffline {
		p.Why = "offline: cloud unreachable"
		return p
	}
	if n := c.Params.MaxCloudFailures; n > 0 && link.Failures >= n {
		p.Why = fmt.Sprintf("cloud tier %s: %d consecutive failures", t.Name, link.Failures)
		return p
	}
	ttft, tps, src := c.Params.CloudTTFT, c.Params.CloudTokPerSec, "default"
	switch {
	case link.RTT > 0 && link.TokPerSec > 0:
		ttft, tps, src = link.RTT, link.TokPerSec, "measured"
	case st.CloudRTT > 0 && st.CloudTokPerSec > 0:
		ttft, tps, src = st.CloudRTT, st.CloudTokPerSec, "measured"
	case st.CloudRTT > 0:
		ttft, src = st.CloudRTT, "measured RTT"
	}
	secs := ttft.Seconds() + out/tps
	fixed, watts, radio := c.Params.WiFiFixedJ, c.Params.WiFiWatts, "wifi"
	switch st.Network {
	case NetworkCellular:
		fixed, watts, radio = c.Params.LTEFixedJ, c.Params.LTEWatts, "lte"
	case NetworkEthernet: // a wired NIC draws from the mains, not a battery
		fixed, watts, radio = 0, 0, "ethernet"
	}
	p.LatencyMS = secs * 1000
	p.EnergyJ = fixed + watts*secs
	p.TokPerSec = tps
	p.Feasible = true
	p.Why = fmt.Sprintf("%s radio %.1f J + %.1f W; ttft %.0f ms, %.1f tok/s (%s)", radio, fixed, watts, ms(ttft), tps, src)
	return p
}

// FitsMemory checks the load budget: weights + KV + runtime ≤ min(25% of
// RAM, 50% of available memory), with RAM and available capped by the
// cgroup limit. Unknown memory fits.
func FitsMemory(weights, kv, runtime uint64, st State) (ok bool, reason string) {
	ok, why := fitsMemory(weights, kv, runtime, st)
	if !ok {
		why = "memory: " + why
	}
	return ok, why
}

// fitsMemory's reason starts at "needs …", for callers that name the tier.
func fitsMemory(weights, kv, runtime uint64, st State) (bool, string) {
	need := weights + kv + runtime
	budget, desc, known := MemoryBudget(st)
	if !known || need <= budget {
		return true, ""
	}
	return false, fmt.Sprintf("needs %s > budget %s (%s)", formatGB(need), formatGB(budget), desc)
}

// MemoryBudget is min(25% of RAM, 50% of available), described for messages;
// known is false when neither is known.
func MemoryBudget(st State) (budget uint64, desc string, known bool) {
	ram, avail := st.RAM(), st.Available()
	hasAvail := st.Known(FieldMemAvailable) || st.Known(FieldCgroupMax) && st.CgroupMax > 0
	switch {
	case ram > 0 && hasAvail:
		return min(ram/4, avail/2), fmt.Sprintf("min(25%% of %s RAM, 50%% of %s available)", formatGB(ram), formatGB(avail)), true
	case ram > 0:
		return ram / 4, fmt.Sprintf("25%% of %s RAM", formatGB(ram)), true
	case hasAvail:
		return avail / 2, fmt.Sprintf("50%% of %s available", formatGB(avail)), true
	}
	return 0, "", false
}

// formatGB prints bytes as phones show them: "1.3 GB" from half a gigabyte
// up, "256 MB" below (units of 2^30 and 2^20 bytes).
func formatGB(b uint64) string {
	if b < 1<<29 {
		return fmt.Sprintf("%d MB", (b+1<<19)>>20)
	}
	return fmt.Sprintf("%.1f GB", float64(b)/(1<<30))
}
