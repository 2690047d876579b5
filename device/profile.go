package device

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tandem-llm/tandem/units"
)

//go:embed profiles/*.yaml
var builtinProfiles embed.FS

// Size is a byte count that YAML may write as 3221225472 or "3G".
type Size uint64

func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a size such as 3G, got a %s", n.Line, kindName(n.Kind))
	}
	v, err := units.ParseBytes(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = Size(v)
	return nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "scalar"
}

// Profile is a simulated device: constants, cost-model overrides and a
// timeline of states, for `tandem simulate` and tests.
type Profile struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	RAMBytes    Size       `yaml:"ram_bytes"`
	BatteryMAh  float64    `yaml:"battery_mah"` // 0: no battery
	Accelerator string     `yaml:"accelerator"` // cpu (default), gpu or npu
	Cost        CostParams `yaml:"cost"`        // overrides of DefaultCostParams
	Timeline    []Step     `yaml:"timeline"`
}

// Step sets, from At on, every field it gives; others keep their value.
type Step struct {
	At              time.Duration      `yaml:"at"`
	BatteryPct      *float64           `yaml:"battery_pct"`
	Charging        *bool              `yaml:"charging"`
	DischargeW      *float64           `yaml:"discharge_w"`
	ThermalStatus   *string            `yaml:"thermal_status"`
	ThermalHeadroom *float64           `yaml:"thermal_headroom"`
	TempC           *float64           `yaml:"temp_c"`
	CPUFreqRatio    *float64           `yaml:"cpu_freq_ratio"`
	MemAvailable    *Size              `yaml:"mem_available_bytes"`
	MemPressure     *float64           `yaml:"mem_pressure"`
	Network         *string            `yaml:"network"`
	Metered         *bool              `yaml:"metered"`
	RTTMS           *float64           `yaml:"rtt_ms"`
	CloudTokPerSec  *float64           `yaml:"cloud_tok_per_sec"`
	LocalTokPerSec  map[string]float64 `yaml:"local_tok_per_sec"`
	LocalSustainedS *float64           `yaml:"local_sustained_s"`

	thermal Thermal
	network Network
}

// UnmarshalYAML decodes one step, rejecting unknown keys and out-of-range
// values with the line they are on.
func (s *Step) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: timeline step: want a mapping, got a %s", n.Line, kindName(n.Kind))
	}
	known := yamlKeys(reflect.TypeOf(*s))
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(known, k.Value) {
			return fmt.Errorf("line %d: timeline step: unknown field %q (known: %s)", k.Line, k.Value, strings.Join(known, ", "))
		}
	}
	type plain Step
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*s = Step(p)
	return s.validate(func(field string) int {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == field {
				return n.Content[i].Line
			}
		}
		return n.Line
	})
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag != "" && tag != "-" {
			keys = append(keys, tag)
		}
	}
	return keys
}

func (s *Step) validate(line func(field string) int) error {
	bad := func(field string, format string, a ...any) error {
		return fmt.Errorf("line %d: %s: %s", line(field), field, fmt.Sprintf(format, a...))
	}
	inRange := func(field string, v *float64, lo, hi float64) error {
		if v != nil && !(*v >= lo && *v <= hi) {
			return bad(field, "%g out of range [%g, %g]", *v, lo, hi)
		}
		return nil
	}
	if s.At < 0 {
		return bad("at", "negative time %s", s.At)
	}
	for _, c := range []struct {
		field  string
		v      *float64
		lo, hi float64
	}{
		{"battery_pct", s.BatteryPct, 0, 100}, {"discharge_w", s.DischargeW, 0, 1000},
		{"thermal_headroom", s.ThermalHeadroom, 0, 10}, {"temp_c", s.TempC, minTempC, maxTempC},
		{"cpu_freq_ratio", s.CPUFreqRatio, 0, 1}, {"mem_pressure", s.MemPressure, 0, 100},
		{"rtt_ms", s.RTTMS, 0, 600e3}, {"cloud_tok_per_sec", s.CloudTokPerSec, 0, 1e6},
		{"local_sustained_s", s.LocalSustainedS, 0, 1e6},
	} {
		if err := inRange(c.field, c.v, c.lo, c.hi); err != nil {
			return err
		}
	}
	for tier, v := range s.LocalTokPerSec {
		if !(v > 0 && v <= 1e6) {
			return bad("local_tok_per_sec", "tier %s: %g out of range (0, 1e6]", tier, v)
		}
	}
	if s.ThermalStatus != nil {
		t, err := ParseThermal(*s.ThermalStatus)
		if err != nil {
			return bad("thermal_status", "%v", err)
		}
		s.thermal = t
	}
	if s.Network != nil {
		n, err := ParseNetwork(*s.Network)
		if err != nil {
			return bad("network", "%v", err)
		}
		s.network = n
	}
	return nil
}

// ParseProfile decodes a profile; errors name the line or field.
func ParseProfile(b []byte) (*Profile, error) {
	p := &Profile{Cost: DefaultCostParams()}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty profile")
		}
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Profile) validate() error {
	switch p.Accelerator {
	case "", "cpu", "gpu", "npu":
	default:
		return fmt.Errorf("accelerator: %q is not cpu, gpu or npu", p.Accelerator)
	}
	if !(p.BatteryMAh >= 0 && p.BatteryMAh <= maxCapMAh) {
		return fmt.Errorf("battery_mah: %g out of range [0, %g]", p.BatteryMAh, float64(maxCapMAh))
	}
	if p.RAMBytes > maxMemBytes {
		return fmt.Errorf("ram_bytes: %d is more than 1 PiB", p.RAMBytes)
	}
	if len(p.Timeline) == 0 {
		return errors.New("timeline: need at least one step")
	}
	for i := 1; i < len(p.Timeline); i++ {
		if p.Timeline[i].At < p.Timeline[i-1].At {
			return fmt.Errorf("timeline[%d].at: %s is before the previous step's %s", i, p.Timeline[i].At, p.Timeline[i-1].At)
		}
	}
	if err := p.Cost.Validate(); err != nil {
		return fmt.Errorf("cost.%w", err)
	}
	return nil
}

// LoadProfile reads a profile file; errors start with the file name.
func LoadProfile(file string) (*Profile, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("device profile: %w", err)
	}
	p, err := ParseProfile(b)
	if err != nil {
		return nil, fmt.Errorf("device profile %s: %w", file, err)
	}
	return p, nil
}

// BuiltinProfile returns a shipped profile by name ("phone-8gb-hot"; a
// ".yaml" suffix is allowed).
func BuiltinProfile(name string) (*Profile, error) {
	name = strings.TrimSuffix(name, ".yaml")
	if !fs.ValidPath(name) || strings.Contains(name, "/") {
		return nil, fmt.Errorf("device profile %q: not a profile name", name)
	}
	b, err := builtinProfiles.ReadFile(path.Join("profiles", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("device profile %q: no such built-in profile (have %s)", name, strings.Join(BuiltinProfiles(), ", "))
	}
	p, err := ParseProfile(b)
	if err != nil {
		return nil, fmt.Errorf("device profile %s.yaml: %w", name, err)
	}
	return p, nil
}

// BuiltinProfiles lists the shipped profiles' names.
func BuiltinProfiles() []string {
	ents, _ := builtinProfiles.ReadDir("profiles") // embedded: cannot fail
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return names
}

// OpenProfile loads a profile file, or a built-in profile when no such file
// exists: what a --device-profile flag takes.
func OpenProfile(nameOrPath string) (*Profile, error) {
	if _, err := os.Stat(nameOrPath); err != nil && errors.Is(err, fs.ErrNotExist) {
		if _, berr := BuiltinProfile(nameOrPath); berr == nil {
			return BuiltinProfile(nameOrPath)
		}
	}
	return LoadProfile(nameOrPath)
}

// At is the profile's state t into the timeline: the device constants and
// every step at or before t applied in order.
func (p *Profile) At(t time.Duration) State {
	var st State
	hasBattery := p.BatteryMAh > 0
	for _, s := range p.Timeline {
		hasBattery = hasBattery || s.BatteryPct != nil
	}
	st.HasBattery = hasBattery
	st.mark(FieldHasBattery, SourceProfile)
	if p.BatteryMAh > 0 {
		st.BatteryMAh = p.BatteryMAh
		st.mark(FieldBatteryMAh, SourceProfile)
	}
	if p.RAMBytes > 0 {
		st.MemTotal = uint64(p.RAMBytes)
		st.mark(FieldMemTotal, SourceProfile)
	}
	st.Accel = p.Accelerator
	if st.Accel == "" {
		st.Accel = "cpu"
	}
	st.mark(FieldAccel, SourceProfile)
	for _, s := range p.Timeline {
		if s.At > t {
			break
		}
		s.apply(&st)
	}
	return st
}

func (s *Step) apply(st *State) {
	setF := func(dst *float64, v *float64, field string) {
		if v != nil {
			*dst = *v
			st.mark(field, SourceProfile)
		}
	}
	setB := func(dst *bool, v *bool, field string) {
		if v != nil {
			*dst = *v
			st.mark(field, SourceProfile)
		}
	}
	setF(&st.BatteryPct, s.BatteryPct, FieldBatteryPct)
	setB(&st.Charging, s.Charging, FieldCharging)
	setF(&st.DischargeW, s.DischargeW, FieldDischargeW)
	setF(&st.ThermalHeadroom, s.ThermalHeadroom, FieldThermalHeadroom)
	setF(&st.TempC, s.TempC, FieldTempC)
	setF(&st.CPUFreqRatio, s.CPUFreqRatio, FieldCPUFreqRatio)
	setF(&st.MemPressure, s.MemPressure, FieldMemPressure)
	setB(&st.Metered, s.Metered, FieldMetered)
	setF(&st.CloudTokPerSec, s.CloudTokPerSec, FieldCloudTokPerSec)
	setF(&st.LocalSustainedS, s.LocalSustainedS, FieldLocalBusy)
	if s.ThermalStatus != nil {
		st.Thermal = s.thermal
		st.mark(FieldThermal, SourceProfile)
	}
	if s.Network != nil {
		st.Network = s.network
		st.mark(FieldNetwork, SourceProfile)
	}
	if s.MemAvailable != nil {
		st.MemAvailable = uint64(*s.MemAvailable)
		st.mark(FieldMemAvailable, SourceProfile)
	}
	if s.RTTMS != nil {
		st.CloudRTT = time.Duration(*s.RTTMS * float64(time.Millisecond))
		st.mark(FieldCloudRTT, SourceProfile)
	}
	if s.LocalTokPerSec != nil {
		if st.LocalTokPerSec == nil {
			st.LocalTokPerSec = map[string]float64{}
		}
		for k, v := range s.LocalTokPerSec {
			st.LocalTokPerSec[k] = v
		}
		st.mark(FieldLocalTokPerSec, SourceProfile)
	}
}

// Duration is the time of the last step.
func (p *Profile) Duration() time.Duration {
	if len(p.Timeline) == 0 {
		return 0
	}
	return p.Timeline[len(p.Timeline)-1].At
}

// Play walks the timeline in real time divided by speed (speed 60: a minute
// of profile per second), calling f with the state at every step. It returns
// after the last step, or ctx's error when cancelled.
func (p *Profile) Play(ctx context.Context, speed float64, f func(at time.Duration, st State)) error {
	if !(speed > 0) {
		return fmt.Errorf("play profile %s: speed must be > 0, got %g", p.Name, speed)
	}
	start := time.Now()
	for i, s := range p.Timeline {
		if i+1 < len(p.Timeline) && p.Timeline[i+1].At == s.At {
			continue // several steps at one time: one call with all of them
		}
		wait := time.Duration(float64(s.At)/speed) - time.Since(start)
		if wait > 0 {
			tm := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				tm.Stop()
				return ctx.Err()
			case <-tm.C:
			}
		} else if err := ctx.Err(); err != nil {
			return err
		}
		f(s.At, p.At(s.At))
	}
	return nil
}
