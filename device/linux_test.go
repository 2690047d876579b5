package device

import (
	"bytes"
	"log/slog"
	"math"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

func logBuf() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestReadLinuxAndroid(t *testing.T) {
	log, buf := logBuf()
	st := ReadLinux(os.DirFS("testdata/android"), log)
	if !st.HasBattery || st.BatteryPct != 57 || st.Charging {
		t.Errorf("battery: has %v pct %v charging %v", st.HasBattery, st.BatteryPct, st.Charging)
	}
	if !near(st.DischargeW, 0.523*3.87, 1e-9) || st.BatteryMAh != 4500 {
		t.Errorf("discharge %v W, capacity %v mAh", st.DischargeW, st.BatteryMAh)
	}
	// cpu zone at 82 °C, passive trip 85: within 5 °C → moderate; the disabled 200 °C zone is skipped.
	if st.Thermal != ThermalModerate || st.TempC != 82 || !near(st.ThermalHeadroom, 82.0/85, 1e-9) {
		t.Errorf("thermal %v temp %v headroom %v", st.Thermal, st.TempC, st.ThermalHeadroom)
	}
	if !near(st.CPUFreqRatio, 1708800.0/2419200, 1e-9) {
		t.Errorf("cpu freq ratio %v", st.CPUFreqRatio)
	}
	if st.MemTotal != 7812344*1024 || st.MemAvailable != 2345676*1024 || st.MemPressure != 3.21 {
		t.Errorf("memory %d %d %v", st.MemTotal, st.MemAvailable, st.MemPressure)
	}
	if st.CgroupMax != 0 || st.CgroupCurrent != 734003200 || st.Sources[FieldCgroupMax] != SourceCgroup {
		t.Errorf("cgroup max %d current %d", st.CgroupMax, st.CgroupCurrent)
	}
	if st.Network != NetworkWiFi || st.Metered {
		t.Errorf("network %q metered %v", st.Network, st.Metered)
	}
	if st.Sources[FieldBatteryPct] != SourceSysfs || st.Sources[FieldMemTotal] != SourceProcfs {
		t.Errorf("sources %v", st.Sources)
	}
	if strings.Contains(buf.String(), "WARN") {
		t.Errorf("unexpected warnings:\n%s", buf)
	}
}

func TestReadLinuxLaptop(t *testing.T) {
	st := ReadLinux(os.DirFS("testdata/laptop"), nil)
	// The mouse's battery (scope Device) is not the laptop's.
	if !st.HasBattery || st.BatteryPct != 91 || !st.Charging || st.DischargeW != 0 {
		t.Errorf("battery: has %v pct %v charging %v discharge %v", st.HasBattery, st.BatteryPct, st.Charging, st.DischargeW)
	}
	if !near(st.BatteryMAh, 57000.0/12.6, 1e-6) { // µWh ÷ voltage_now
		t.Errorf("capacity %v mAh", st.BatteryMAh)
	}
	// acpitz has only a critical trip (103 °C): 54 °C is none; x86_pkg_temp
	// at 61 °C has no trips: the 60–70 °C band is light.
	if st.Thermal != ThermalLight || st.TempC != 61 {
		t.Errorf("thermal %v temp %v", st.Thermal, st.TempC)
	}
	if st.CPUFreqRatio != 1 || st.Network != NetworkWiFi || st.CgroupMax != 0 || st.CgroupCurrent != 123456789 {
		t.Errorf("cpu %v network %q cgroup %d/%d", st.CPUFreqRatio, st.Network, st.CgroupCurrent, st.CgroupMax)
	}
}

func TestReadLinuxLaptopDischarging(t *testing.T) {
	fsys := fstest.MapFS{
		"sys/class/power_supply/BAT0/type":      {Data: []byte("Battery\n")},
		"sys/class/power_supply/BAT0/status":    {Data: []byte("Discharging\n")},
		"sys/class/power_supply/BAT0/power_now": {Data: []byte("8500000\n")},
		"sys/class/power_supply/AC/type":        {Data: []byte("Mains\n")},
		"sys/class/power_supply/AC/online":      {Data: []byte("0\n")},
	}
	st := ReadLinux(fsys, nil)
	if st.Charging || st.DischargeW != 8.5 {
		t.Errorf("charging %v discharge %v", st.Charging, st.DischargeW)
	}
}

func TestReadLinuxContainer(t *testing.T) {
	st := ReadLinux(os.DirFS("testdata/container"), nil)
	if st.HasBattery || st.Known(FieldHasBattery) || st.Known(FieldThermal) || st.Known(FieldCPUFreqRatio) {
		t.Errorf("no battery/thermal/cpufreq expected: %+v", st.Sources)
	}
	if st.CgroupMax != 2<<30 || st.CgroupCurrent != 512<<20 || st.MemPressure != 12.5 {
		t.Errorf("cgroup %d/%d pressure %v", st.CgroupCurrent, st.CgroupMax, st.MemPressure)
	}
	if st.RAM() != 2<<30 || st.Available() != 1536<<20 {
		t.Errorf("RAM %d available %d: the cgroup limit should cap both", st.RAM(), st.Available())
	}
	if st.Network != NetworkEthernet {
		t.Errorf("network %q", st.Network)
	}
}

func TestReadLinuxEmpty(t *testing.T) {
	st := ReadLinux(fstest.MapFS{}, nil)
	if len(st.Sources) != 0 {
		t.Errorf("empty fs: %v", st.Sources)
	}
}

func TestReadLinuxGarbage(t *testing.T) {
	log, buf := logBuf()
	st := ReadLinux(os.DirFS("testdata/garbage"), log)
	if st.Known(FieldBatteryPct) || st.Known(FieldDischargeW) || st.Known(FieldBatteryMAh) {
		t.Errorf("garbage battery values used: %v", st.Sources)
	}
	// The -999999 °C zone is ignored; the 45 °C zone's trip is garbage, so bands apply.
	if st.TempC != 45 || st.Thermal != ThermalNone {
		t.Errorf("thermal %v temp %v", st.Thermal, st.TempC)
	}
	for _, f := range []string{FieldCPUFreqRatio, FieldMemTotal, FieldMemAvailable, FieldMemPressure, FieldCgroupMax} {
		if st.Known(f) {
			t.Errorf("%s: garbage used (%v)", f, st.Sources[f])
		}
	}
	for _, want := range []string{
		"/sys/class/power_supply/battery/capacity value=abc",
		"/sys/class/thermal/thermal_zone0/temp value=-999999999",
		"/sys/class/thermal/thermal_zone1/trip_point_0_temp value=abc",
		"/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq value=0",
		"key=MemTotal value=\"huge kB\"",
		"key=MemAvailable",
		"/proc/pressure/memory",
		"/sys/fs/cgroup/memory.max value=-5",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("no warning containing %q in:\n%s", want, buf)
		}
	}
}

func TestReadLinuxCgroupEscape(t *testing.T) {
	fsys := fstest.MapFS{
		"proc/self/cgroup":               {Data: []byte("12:memory:/v1\n0::/../../../etc\n")},
		"sys/fs/cgroup/etc/memory.max":   {Data: []byte("1048576\n")},
		"etc/memory.max":                 {Data: []byte("1\n")},
		"sys/fs/cgroup/v1/memory.max":    {Data: []byte("2\n")},
		"sys/fs/cgroup/etc/memory.other": {Data: []byte("3\n")},
	}
	st := ReadLinux(fsys, nil)
	if st.CgroupMax != 1<<20 {
		t.Errorf("cgroup max %d: the path must stay under /sys/fs/cgroup", st.CgroupMax)
	}
}
