package device

import (
	"log/slog"
	"testing"
	"testing/fstest"
)

func FuzzReadLinux(f *testing.F) {
	f.Add("57", "Discharging", "-523000", "82000", "passive", "85000", "2419200", "1708800",
		"MemTotal: 7812344 kB\nMemAvailable: 2345676 kB\n", "some avg10=3.21 avg60=0 avg300=0 total=1\n", "0::/a/b\n", "max", "up")
	f.Add("abc", "", "99999999999999", "-999999999", "hot", "abc", "0", "abc",
		"MemTotal: huge kB\n", "some avg10=abc\n", "0::/../../x\n", "-5", "")
	f.Fuzz(func(t *testing.T, capacity, status, current, temp, tripType, tripTemp, hwMax, capMax, meminfo, psi, cgroup, memMax, oper string) {
		d := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
		fsys := fstest.MapFS{
			"sys/class/power_supply/battery/type":                  d("Battery"),
			"sys/class/power_supply/battery/capacity":              d(capacity),
			"sys/class/power_supply/battery/status":                d(status),
			"sys/class/power_supply/battery/current_now":           d(current),
			"sys/class/power_supply/battery/voltage_now":           d(current),
			"sys/class/power_supply/battery/energy_full_design":    d(tripTemp),
			"sys/class/power_supply/usb/type":                      d("USB"),
			"sys/class/power_supply/usb/online":                    d(capacity),
			"sys/class/thermal/thermal_zone0/temp":                 d(temp),
			"sys/class/thermal/thermal_zone0/trip_point_0_type":    d(tripType),
			"sys/class/thermal/thermal_zone0/trip_point_0_temp":    d(tripTemp),
			"sys/class/thermal/thermal_zone1/temp":                 d(tripTemp),
			"sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq": d(hwMax),
			"sys/devices/system/cpu/cpu0/cpufreq/scaling_max_freq": d(capMax),
			"proc/meminfo":                     d(meminfo),
			"proc/pressure/memory":             d(psi),
			"proc/self/cgroup":                 d(cgroup),
			"sys/fs/cgroup/memory.max":         d(memMax),
			"sys/fs/cgroup/a/b/memory.max":     d(memMax),
			"sys/fs/cgroup/a/b/memory.current": d(hwMax),
			"sys/class/net/wlan0/operstate":    d(oper),
		}
		st := ReadLinux(fsys, slog.New(slog.DiscardHandler))
		if st.BatteryPct < 0 || st.BatteryPct > 100 || st.MemPressure < 0 || st.MemPressure > 100 || st.CPUFreqRatio < 0 || st.CPUFreqRatio > 1 {
			t.Fatalf("out-of-range value accepted: %+v", st)
		}
		c := NewCostModel(DefaultCostParams())
		for _, tier := range testTiers {
			c.Predict(tier, 100, 100, st)
		}
	})
}
