package sim

import (
	"fmt"
	"os"

	"github.com/tandem-llm/tandem/config"
	"github.com/tandem-llm/tandem/device"
	"github.com/tandem-llm/tandem/router"
)

// DefaultTiers is the model matrix simulated without a configuration: a
// ≈1B model on the device (Q4_K_M, 4k context) and ≈10B and ≈100B models
// in the cloud at typical hosted prices (USD per 1M tokens).
func DefaultTiers() []router.Tier {
	return []router.Tier{
		{Name: "local-1b", Local: true, Spec: device.TierSpec{ParamsB: 1.2, WeightsBytes: 810 << 20, KVBytes: 128 << 20}},
		{Name: "cloud-10b", Spec: device.TierSpec{ParamsB: 10, PriceInPerM: 0.1, PriceOutPerM: 0.3}},
		{Name: "cloud-100b", Spec: device.TierSpec{ParamsB: 100, PriceInPerM: 2, PriceOutPerM: 8}},
	}
}

// bytesPerParam estimates a local model's weights when only its size is
// known (Q4_K_M averages ≈ 4.9 bits per weight).
const bytesPerParam = 0.61

// TiersFromConfig turns a serve configuration's tiers into the router's,
// without loading models: a local tier's weights are its file's size when
// the file exists, else params_b × 0.61 bytes (cloud tiers of unknown size
// are sized by router.New).
func TiersFromConfig(cfg config.Config) ([]router.Tier, error) {
	var out []router.Tier
	for _, t := range cfg.Tiers {
		rt := router.Tier{Name: t.Name, Local: t.Local(), MinDifficulty: t.MinDifficulty, Recovers: t.Recovers,
			Spec: device.TierSpec{ParamsB: t.ParamsB, Accel: t.Accel, PriceInPerM: t.CostInput, PriceOutPerM: t.CostOutput}}
		if t.Local() {
			if fi, err := os.Stat(t.Path); err == nil {
				rt.Spec.WeightsBytes = uint64(fi.Size())
			}
			if rt.Spec.ParamsB == 0 {
				if rt.Spec.WeightsBytes == 0 {
					return nil, fmt.Errorf("tier %s: %s not found and no params_b given", t.Name, t.Path)
				}
				rt.Spec.ParamsB = float64(rt.Spec.WeightsBytes) / bytesPerParam / 1e9
			}
			if rt.Spec.WeightsBytes == 0 {
				rt.Spec.WeightsBytes = uint64(rt.Spec.ParamsB * 1e9 * bytesPerParam)
			}
		}
		out = append(out, rt)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the configuration has no tiers")
	}
	return out, nil
}
