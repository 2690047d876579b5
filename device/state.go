// Package device reads and models the state of the device Tandem runs on —
// battery, heat, memory, network — predicts what a request costs locally and
// in the cloud, and advises the router (prefer the cloud, fewer threads,
// smaller KV cache) so that a phone neither freezes, overheats nor drains.
package device

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Thermal is a thermal status with Android PowerManager's levels
// (THERMAL_STATUS_NONE … THERMAL_STATUS_SHUTDOWN). iOS thermalState maps
// nominal → none, fair → light, serious → severe, critical → critical.
type Thermal int

const (
	ThermalNone Thermal = iota
	ThermalLight
	ThermalModerate
	ThermalSevere
	ThermalCritical
	ThermalEmergency
	ThermalShutdown
)

var thermalNames = [...]string{"none", "light", "moderate", "severe", "critical", "emergency", "shutdown"}

func (t Thermal) String() string {
	if t < 0 || int(t) >= len(thermalNames) {
		return fmt.Sprintf("thermal(%d)", int(t))
	}
	return thermalNames[t]
}

// ParseThermal reads a status name ("none" … "shutdown", any case).
func ParseThermal(s string) (Thermal, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	for i, n := range thermalNames {
		if l == n {
			return Thermal(i), nil
		}
	}
	return 0, fmt.Errorf("unknown thermal status %q (want one of %s)", s, strings.Join(thermalNames[:], ", "))
}

func (t Thermal) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

func (t *Thermal) UnmarshalText(b []byte) error {
	v, err := ParseThermal(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Network is the kind of link the device is on.
type Network string

const (
	NetworkUnknown  Network = ""
	NetworkOffline  Network = "offline"
	NetworkWiFi     Network = "wifi"
	NetworkCellular Network = "cellular"
	NetworkEthernet Network = "ethernet"
)

// ParseNetwork reads a network kind; "" and "unknown" are unknown.
func ParseNetwork(s string) (Network, error) {
	switch n := Network(strings.ToLower(strings.TrimSpace(s))); n {
	case NetworkOffline, NetworkWiFi, NetworkCellular, NetworkEthernet, NetworkUnknown:
		return n, nil
	case "unknown":
		return NetworkUnknown, nil
	}
	return "", fmt.Errorf("unknown network %q (want offline, wifi, cellular or ethernet)", s)
}

// Where a field's value came from (State.Sources values).
const (
	SourceSysfs    = "sysfs"
	SourceProcfs   = "procfs"
	SourceCgroup   = "cgroup"
	SourcePush     = "push"
	SourceProfile  = "profile"
	SourceMeasured = "measured"
	SourceDefault  = "default"
)

// Field names: the keys of State.Sources, as in the JSON of State and Update.
const (
	FieldHasBattery      = "has_battery"
	FieldBatteryPct      = "battery_pct"
	FieldCharging        = "charging"
	FieldDischargeW      = "discharge_w"
	FieldBatteryMAh      = "battery_mah"
	FieldThermal         = "thermal_status"
	FieldThermalHeadroom = "thermal_headroom"
	FieldTempC           = "temp_c"
	FieldCPUFreqRatio    = "cpu_freq_ratio"
	FieldMemTotal        = "mem_total_bytes"
	FieldMemAvailable    = "mem_available_bytes"
	FieldMemPressure     = "mem_pressure"
	FieldCgroupMax       = "cgroup_max_bytes"
	FieldCgroupCurrent   = "cgroup_current_bytes"
	FieldNetwork         = "network"
	FieldMetered         = "metered"
	FieldAccel           = "accelerator"
	FieldCloudRTT        = "cloud_rtt_ms"
	FieldCloudTokPerSec  = "cloud_tok_per_sec"
	FieldLocalTokPerSec  = "local_tok_per_sec"
	FieldLocalBusy       = "local_sustained_s"
)

// LinkStats are the figures learned for one cloud tier.
type LinkStats struct {
	RTT         time.Duration `json:"-"`
	TokPerSec   float64       `json:"tok_per_sec"`
	Failures    int           `json:"consecutive_failures"`
	LastFailure time.Time     `json:"-"`
}

// State is one snapshot of the device. Zero means unknown for every figure;
// Sources says which fields are known and where each came from.
type State struct {
	At time.Time `json:"at"`

	HasBattery bool    `json:"has_battery"`
	BatteryPct float64 `json:"battery_pct"`
	Charging   bool    `json:"charging"`
	DischargeW float64 `json:"discharge_w"` // W drawn from the battery; 0 if unknown or charging
	BatteryMAh float64 `json:"battery_mah"` // design capacity

	Thermal         Thermal `json:"thermal_status"`
	ThermalHeadroom float64 `json:"thermal_headroom"` // Android getThermalHeadroom: 1.0 = severe throttling; 0 unknown
	TempC           float64 `json:"temp_c"`           // hottest zone
	CPUFreqRatio    float64 `json:"cpu_freq_ratio"`   // min over CPUs of scaling_max_freq/cpuinfo_max_freq; 0 unknown

	MemTotal      uint64  `json:"mem_total_bytes"`
	MemAvailable  uint64  `json:"mem_available_bytes"`
	MemPressure   float64 `json:"mem_pressure"`         // PSI memory "some avg10", percent
	CgroupMax     uint64  `json:"cgroup_max_bytes"`     // memory.max; 0 = no limit
	CgroupCurrent uint64  `json:"cgroup_current_bytes"` // memory.current

	Network Network `json:"network"`
	Metered bool    `json:"metered"`
	Accel   string  `json:"accelerator,omitempty"` // "cpu", "gpu" or "npu": where local models run

	CloudRTT        time.Duration        `json:"-"` // time to first token of cloud requests
	CloudTokPerSec  float64              `json:"cloud_tok_per_sec"`
	Cloud           map[string]LinkStats `json:"cloud,omitempty"`             // per cloud tier
	LocalTokPerSec  map[string]float64   `json:"local_tok_per_sec,omitempty"` // per local tier
	LocalSustainedS float64              `json:"local_sustained_s"`           // seconds of recent sustained local generation (heat already built up)

	Sources map[string]string `json:"sources"`
}

// MarshalJSON writes durations in milliseconds.
func (s State) MarshalJSON() ([]byte, error) {
	type plain State
	type link struct {
		LinkStats
		RTTMS float64 `json:"rtt_ms"`
	}
	v := struct {
		plain
		CloudRTTMS float64         `json:"cloud_rtt_ms"`
		Cloud      map[string]link `json:"cloud,omitempty"`
	}{plain: plain(s), CloudRTTMS: ms(s.CloudRTT)}
	if len(s.Cloud) > 0 {
		v.Cloud = make(map[string]link, len(s.Cloud))
		for k, l := range s.Cloud {
			v.Cloud[k] = link{l, ms(l.RTT)}
		}
	}
	return json.Marshal(v)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (s *State) mark(field, source string) {
	if s.Sources == nil {
		s.Sources = map[string]string{}
	}
	s.Sources[field] = source
}

// Known reports whether the field has a value (from any source).
func (s State) Known(field string) bool { _, ok := s.Sources[field]; return ok }

// RAM is the memory the process may use at most: the machine's, capped by
// the cgroup limit. 0 when unknown.
func (s State) RAM() uint64 {
	r := s.MemTotal
	if s.CgroupMax > 0 && (r == 0 || s.CgroupMax < r) {
		r = s.CgroupMax
	}
	return r
}

// Available is the memory that can still be allocated: MemAvailable, capped
// by what the cgroup limit leaves. 0 when unknown.
func (s State) Available() uint64 {
	a := s.MemAvailable
	if s.CgroupMax > 0 {
		left := uint64(0)
		if s.CgroupCurrent < s.CgroupMax {
			left = s.CgroupMax - s.CgroupCurrent
		}
		if a == 0 || left < a {
			a = left
		}
	}
	return a
}

// overlay copies into s every field that o knows, with o's sources.
func (s *State) overlay(o State) {
	for f, src := range o.Sources {
		switch f {
		case FieldHasBattery:
			s.HasBattery = o.HasBattery
		case FieldBatteryPct:
			s.BatteryPct = o.BatteryPct
		case FieldCharging:
			s.Charging = o.Charging
		case FieldDischargeW:
			s.DischargeW = o.DischargeW
		case FieldBatteryMAh:
			s.BatteryMAh = o.BatteryMAh
		case FieldThermal:
			s.Thermal = o.Thermal
		case FieldThermalHeadroom:
			s.ThermalHeadroom = o.ThermalHeadroom
		case FieldTempC:
			s.TempC = o.TempC
		case FieldCPUFreqRatio:
			s.CPUFreqRatio = o.CPUFreqRatio
		case FieldMemTotal:
			s.MemTotal = o.MemTotal
		case FieldMemAvailable:
			s.MemAvailable = o.MemAvailable
		case FieldMemPressure:
			s.MemPressure = o.MemPressure
		case FieldCgroupMax:
			s.CgroupMax = o.CgroupMax
		case FieldCgroupCurrent:
			s.CgroupCurrent = o.CgroupCurrent
		case FieldNetwork:
			s.Network = o.Network
		case FieldMetered:
			s.Metered = o.Metered
		case FieldAccel:
			s.Accel = o.Accel
		case FieldCloudRTT:
			s.CloudRTT = o.CloudRTT
		case FieldCloudTokPerSec:
			s.CloudTokPerSec = o.CloudTokPerSec
		case FieldLocalTokPerSec:
			s.LocalTokPerSec = make(map[string]float64, len(o.LocalTokPerSec))
			for k, v := range o.LocalTokPerSec {
				s.LocalTokPerSec[k] = v
			}
		case FieldLocalBusy:
			s.LocalSustainedS = o.LocalSustainedS
		default:
			continue
		}
		s.mark(f, src)
	}
}
