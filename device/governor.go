package device

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
)

// Advice is what the governor wants done now.
type Advice struct {
	PreferCloud   bool              `json:"prefer_cloud"`
	AvoidLocal    map[string]string `json:"avoid_local,omitempty"` // local tier → reason
	Threads       int               `json:"threads"`               // engine threads for local generation
	KVBudgetBytes uint64            `json:"kv_budget_bytes"`       // cap on a local tier's KV cache; 0 = no cap
	UnloadIdle    bool              `json:"unload_idle"`           // free models not serving a request
	Reasons       []string          `json:"reasons"`               // one short line per action, naming the signal
}

// Governor turns the device state and the cost predictions into Advice.
// The zero value uses the defaults.
type Governor struct {
	MinTokPerSec   float64 // local generation below this is avoided when the cloud is reachable; default 15 (2× reading speed)
	MaxThreads     int     // threads when cool; default runtime.NumCPU()
	RuntimeBytes   uint64  // per model beside weights + KV; default DefaultCostParams().RuntimeBytes
	PressureUnload float64 // PSI memory "some avg10" % from which idle models are unloaded; default 10
	Logger         *slog.Logger
}

// Advise applies the rules (docs/device.md) to st; preds are the cost
// model's predictions for tiers (matched by tier name).
func (g *Governor) Advise(st State, tiers []TierSpec, preds []Prediction) Advice {
	minTPS := g.MinTokPerSec
	if minTPS <= 0 {
		minTPS = 15
	}
	threads := g.MaxThreads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	rt := g.RuntimeBytes
	if rt == 0 {
		rt = uint64(DefaultCostParams().RuntimeBytes)
	}
	pressure := g.PressureUnload
	if pressure <= 0 {
		pressure = 10
	}
	log := g.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	adv := Advice{AvoidLocal: map[string]string{}, Threads: threads}
	say := func(format string, a ...any) {
		r := fmt.Sprintf(format, a...)
		adv.Reasons = append(adv.Reasons, r)
		log.Info("device: governor", "reason", r)
	}
	pred := make(map[string]Prediction, len(preds))
	for _, p := range preds {
		pred[p.Tier] = p
	}

	// Is any cloud tier reachable, and if not, why not.
	cloudOK, hasCloud, down := false, false, ""
	for _, t := range tiers {
		if t.Local {
			continue
		}
		hasCloud = true
		if p, ok := pred[t.Name]; ok && !p.Feasible {
			down = p.Why
			continue
		}
		if st.Network == NetworkOffline {
			down = "offline: cloud unreachable"
			continue
		}
		cloudOK = true
	}
	if !hasCloud {
		down = "no cloud tier"
	}

	// Heat and battery: move work to the cloud.
	var triggers []string
	if st.Thermal >= ThermalModerate {
		triggers = append(triggers, "thermal "+st.Thermal.String())
	}
	if st.HasBattery && st.Known(FieldBatteryPct) && st.BatteryPct < 20 && !st.Charging {
		triggers = append(triggers, fmt.Sprintf("battery %.0f%% discharging", st.BatteryPct))
	}
	switch {
	case len(triggers) > 0 && cloudOK:
		adv.PreferCloud = true
		for _, t := range triggers {
			say("%s: prefer cloud", t)
		}
	case len(triggers) > 0:
		say("%s, staying local despite %s", down, strings.Join(triggers, " and "))
	case st.Network == NetworkOffline && hasCloud:
		say("%s, staying local", down)
	}

	// Heat: fewer threads (less power, less heat, steadier speed).
	switch {
	case st.Thermal >= ThermalCritical:
		adv.Threads = max(threads/4, 1)
	case st.Thermal == ThermalSevere:
		adv.Threads = max(threads/2, 1)
	case st.Thermal == ThermalModerate:
		adv.Threads = max(threads*3/4, 1)
	}
	if adv.Threads != threads {
		say("thermal %s: threads %d → %d", st.Thermal, threads, adv.Threads)
	}

	// Memory: refuse tiers that do not fit, or shrink their KV cache.
	budget, desc, memKnown := MemoryBudget(st)
	memChecked := map[string]bool{} // the predictions' memory verdicts are superseded by these
	for _, t := range tiers {
		if !t.Local || t.WeightsBytes == 0 || !memKnown {
			continue
		}
		memChecked[t.Name] = true
		ok, why := fitsMemory(t.WeightsBytes, t.KVBytes, rt, st)
		if ok {
			continue
		}
		if fixed := t.WeightsBytes + rt; fixed < budget && budget-fixed >= t.KVBytes/4 {
			kv := budget - fixed
			if adv.KVBudgetBytes == 0 || kv < adv.KVBudgetBytes {
				adv.KVBudgetBytes = kv
			}
			say("memory: tier %s KV cache %s → %s to fit budget %s (%s)", t.Name, formatGB(t.KVBytes), formatGB(kv), formatGB(budget), desc)
		} else {
			adv.AvoidLocal[t.Name] = fmt.Sprintf("memory: tier %s %s", t.Name, why)
			say("%s", adv.AvoidLocal[t.Name])
		}
		adv.UnloadIdle = true
	}
	if st.Known(FieldMemPressure) && st.MemPressure >= pressure {
		adv.UnloadIdle = true
		say("memory pressure %.0f%% (PSI some avg10): unload idle models", st.MemPressure)
	}

	// Speed: a local tier too slow to read along with is left to the cloud.
	for _, t := range tiers {
		p, ok := pred[t.Name]
		if !t.Local || !ok || adv.AvoidLocal[t.Name] != "" {
			continue
		}
		if !p.Feasible && !memChecked[t.Name] {
			adv.AvoidLocal[t.Name] = fmt.Sprintf("tier %s: %s", t.Name, p.Why)
			say("%s", adv.AvoidLocal[t.Name])
			continue
		}
		if !p.Feasible || p.TokPerSec >= minTPS {
			continue
		}
		if cloudOK {
			adv.AvoidLocal[t.Name] = fmt.Sprintf("speed: tier %s predicted %.1f tok/s < %.0f tok/s", t.Name, p.TokPerSec, minTPS)
			say("%s", adv.AvoidLocal[t.Name])
		} else {
			say("speed: tier %s predicted %.1f tok/s < %.0f tok/s, but %s", t.Name, p.TokPerSec, minTPS, down)
		}
	}
	return adv
}
