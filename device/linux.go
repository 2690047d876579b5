package device

import (
	"bufio"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Plausible ranges; a value outside is a driver bug or garbage and is ignored.
const (
	minTempC     = -40
	maxTempC     = 200
	maxMemBytes  = 1 << 50 // 1 PiB
	maxCurrentUA = 100e6   // 100 A
	maxVoltageUV = 100e6   // 100 V
	maxPowerUW   = 1e9     // 1 kW
	maxCapMAh    = 1e6
)

// ReadLinux reads the device state from a Linux (or Android) file system
// rooted at "/": os.DirFS("/") in production. Missing files are skipped;
// values that do not parse or are out of range are ignored with a warning.
// It never fails: what it cannot read stays unknown.
func ReadLinux(fsys fs.FS, log *slog.Logger) State {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := reader{fsys: fsys, log: log}
	st := State{At: time.Now()}
	r.battery(&st)
	r.thermal(&st)
	r.cpufreq(&st)
	r.meminfo(&st)
	r.pressure(&st)
	r.cgroup(&st)
	r.network(&st)
	return st
}

type reader struct {
	fsys fs.FS
	log  *slog.Logger
}

// file returns the trimmed contents of a file, or false if it is missing or unreadable.
func (r reader) file(name string) (string, bool) {
	b, err := fs.ReadFile(r.fsys, name)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// num reads an integer file within [lo, hi]; garbage is logged and ignored.
func (r reader) num(name string, lo, hi float64) (float64, bool) {
	s, ok := r.file(name)
	if !ok || s == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < lo || v > hi || v != v {
		r.log.Warn("device: ignoring bad value", "file", "/"+name, "value", clip(s), "want", rangeText(lo, hi))
		return 0, false
	}
	return v, true
}

func rangeText(lo, hi float64) string {
	return "number in [" + strconv.FormatFloat(lo, 'g', -1, 64) + ", " + strconv.FormatFloat(hi, 'g', -1, 64) + "]"
}

// clip keeps log lines short when a file holds garbage.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func (r reader) glob(pattern string) []string {
	m, _ := fs.Glob(r.fsys, pattern) // only ErrBadPattern, and the patterns are constant
	sort.Strings(m)
	return m
}

// battery reads the first power supply of type Battery (skipping
// peripherals' batteries, scope Device); an online AC/USB supply or status
// Charging/Full means the device is plugged in.
func (r reader) battery(st *State) {
	const dir = "sys/class/power_supply"
	plugged, sawSupply := false, false
	var bat string
	for _, d := range r.glob(dir + "/*/type") {
		d = path.Dir(d)
		typ, _ := r.file(d + "/type")
		switch typ {
		case "Battery":
			if scope, _ := r.file(d + "/scope"); scope == "Device" || bat != "" {
				continue
			}
			if p, ok := r.file(d + "/present"); ok && p == "0" {
				continue
			}
			bat = d
		case "Mains", "USB", "USB_C", "USB_PD", "USB_DCP", "USB_CDP", "Wireless":
			if on, ok := r.num(d+"/online", 0, 2); ok {
				sawSupply = true
				plugged = plugged || on > 0
			}
		}
	}
	if bat == "" {
		if len(r.glob(dir+"/*")) > 0 || sawSupply {
			st.HasBattery = false
			st.mark(FieldHasBattery, SourceSysfs)
		}
		return
	}
	st.HasBattery = true
	st.mark(FieldHasBattery, SourceSysfs)
	if v, ok := r.num(bat+"/capacity", 0, 100); ok {
		st.BatteryPct = v
		st.mark(FieldBatteryPct, SourceSysfs)
	}
	status, hasStatus := r.file(bat + "/status")
	charging := plugged || status == "Charging" || status == "Full"
	if hasStatus || sawSupply {
		st.Charging = charging
		st.mark(FieldCharging, SourceSysfs)
	}
	// Voltage: now, else the design minimum, for power and for µWh → mAh.
	volt, hasVolt := r.num(bat+"/voltage_now", 0, maxVoltageUV)
	if !hasVolt || volt == 0 {
		volt, hasVolt = r.num(bat+"/voltage_min_design", 0, maxVoltageUV)
	}
	if !charging && (status == "Discharging" || !hasStatus) {
		if p, ok := r.num(bat+"/power_now", -maxPowerUW, maxPowerUW); ok && p != 0 {
			st.DischargeW = abs(p) / 1e6
			st.mark(FieldDischargeW, SourceSysfs)
		} else if c, ok := r.num(bat+"/current_now", -maxCurrentUA, maxCurrentUA); ok && c != 0 && hasVolt {
			// The sign of current_now differs between drivers (Android BMS: negative while discharging).
			st.DischargeW = abs(c) * volt / 1e12
			st.mark(FieldDischargeW, SourceSysfs)
		}
	}
	if c, ok := r.num(bat+"/charge_full_design", 0, maxCapMAh*1000); ok && c > 0 {
		st.BatteryMAh = c / 1000
		st.mark(FieldBatteryMAh, SourceSysfs)
	} else if e, ok := r.num(bat+"/energy_full_design", 0, maxCapMAh*1000*100); ok && e > 0 {
		v := NominalBatteryV
		if hasVolt && volt > 0 {
			v = volt / 1e6
		}
		st.BatteryMAh = e / 1000 / v
		st.mark(FieldBatteryMAh, SourceSysfs)
	}
}

// NominalBatteryV is the nominal voltage of a Li-ion phone cell.
const NominalBatteryV = 3.85

// bandSevereC is where a zone without trip points counts as severe (SoC
// sensors: phones start throttling around 80 °C).
const bandSevereC = 80

// thermal takes the status of the hottest zone against its own trip points
// (passive = the kernel starts throttling = severe; hot = critical;
// critical = the kernel powers off = shutdown; 5 and 10 °C below passive are
// moderate and light), or against fixed bands when a zone has no trips.
func (r reader) thermal(st *State) {
	found := false
	var worst Thermal
	var hottest, headroom float64
	for _, tf := range r.glob("sys/class/thermal/thermal_zone*/temp") {
		d := path.Dir(tf)
		if mode, ok := r.file(d + "/mode"); ok && mode == "disabled" {
			continue
		}
		mc, ok := r.num(tf, minTempC*1000, maxTempC*1000)
		if !ok {
			continue
		}
		t := mc / 1000
		var passive, hot, crit float64
		for _, tt := range r.glob(d + "/trip_point_*_type") {
			typ, _ := r.file(tt)
			v, ok := r.num(strings.TrimSuffix(tt, "_type")+"_temp", minTempC*1000, maxTempC*1000)
			if !ok || v <= 0 {
				continue
			}
			v /= 1000
			switch typ {
			case "passive":
				passive = minPos(passive, v)
			case "hot":
				hot = minPos(hot, v)
			case "critical":
				crit = minPos(crit, v)
			}
		}
		var s Thermal
		var h float64
		if passive == 0 && hot == 0 && crit == 0 {
			s = band(t)
			h = t / bandSevereC
		} else {
			if passive == 0 { // hot or critical only: throttling is assumed 10 °C below the first
				passive = minPos(hot, crit) - 10
			}
			switch {
			case crit > 0 && t >= crit:
				s = ThermalShutdown
			case hot > 0 && t >= hot:
				s = ThermalCritical
			case t >= passive:
				s = ThermalSevere
			case t >= passive-5:
				s = ThermalModerate
			case t >= passive-10:
				s = ThermalLight
			}
			h = t / passive
		}
		if !found || t > hottest {
			hottest = t
		}
		worst = max(worst, s)
		headroom = max(headroom, h)
		found = true
	}
	if !found {
		return
	}
	st.Thermal, st.TempC = worst, hottest
	st.mark(FieldThermal, SourceSysfs)
	st.mark(FieldTempC, SourceSysfs)
	if headroom > 0 {
		st.ThermalHeadroom = headroom
		st.mark(FieldThermalHeadroom, SourceSysfs)
	}
}

// band is the status of a zone without trip points, in 10 °C steps around
// bandSevereC.
func band(t float64) Thermal {
	switch {
	case t >= bandSevereC+25:
		return ThermalShutdown
	case t >= bandSevereC+20:
		return ThermalEmergency
	case t >= bandSevereC+10:
		return ThermalCritical
	case t >= bandSevereC:
		return ThermalSevere
	case t >= bandSevereC-10:
		return ThermalModerate
	case t >= bandSevereC-20:
		return ThermalLight
	}
	return ThermalNone
}

// minPos is the smaller of a and b, where 0 means unset.
func minPos(a, b float64) float64 {
	if a <= 0 {
		return b
	}
	if b <= 0 {
		return a
	}
	return min(a, b)
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// cpufreq: the lowest cap any CPU runs under (thermal daemons lower scaling_max_freq).
func (r reader) cpufreq(st *State) {
	ratio := 0.0
	for _, f := range r.glob("sys/devices/system/cpu/cpu*/cpufreq/cpuinfo_max_freq") {
		d := path.Dir(f)
		hw, ok := r.num(f, 1, 1e9)
		if !ok {
			continue
		}
		capf, ok := r.num(d+"/scaling_max_freq", 1, 1e9)
		if !ok {
			continue
		}
		if q := min(capf/hw, 1); ratio == 0 || q < ratio {
			ratio = q
		}
	}
	if ratio > 0 {
		st.CPUFreqRatio = ratio
		st.mark(FieldCPUFreqRatio, SourceSysfs)
	}
}

func (r reader) meminfo(st *State) {
	s, ok := r.file("proc/meminfo")
	if !ok {
		return
	}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "MemTotal" && key != "MemAvailable") {
			continue
		}
		f := strings.Fields(rest)
		var kb uint64
		var err error
		if len(f) >= 1 {
			kb, err = strconv.ParseUint(f[0], 10, 64)
		}
		if len(f) < 1 || err != nil || kb > maxMemBytes/1024 || (len(f) > 1 && f[1] != "kB") {
			r.log.Warn("device: ignoring bad value", "file", "/proc/meminfo", "key", key, "value", clip(strings.TrimSpace(rest)))
			continue
		}
		if key == "MemTotal" {
			st.MemTotal = kb * 1024
			st.mark(FieldMemTotal, SourceProcfs)
		} else {
			st.MemAvailable = kb * 1024
			st.mark(FieldMemAvailable, SourceProcfs)
		}
	}
}

// pressure reads PSI: "some avg10=1.23 avg60=… total=…".
func (r reader) pressure(st *State) {
	s, ok := r.file("proc/pressure/memory")
	if !ok {
		return
	}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "some" {
			continue
		}
		v, ok := strings.CutPrefix(f[1], "avg10=")
		p, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || !(p >= 0 && p <= 100) {
			r.log.Warn("device: ignoring bad value", "file", "/proc/pressure/memory", "value", clip(line))
			return
		}
		st.MemPressure = p
		st.mark(FieldMemPressure, SourceProcfs)
		return
	}
}

// cgroup reads the v2 memory limit of this process's cgroup ("0::/path").
func (r reader) cgroup(st *State) {
	s, ok := r.file("proc/self/cgroup")
	if !ok {
		return
	}
	var p string
	for _, line := range strings.Split(s, "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			p = rest
			break
		}
	}
	dir := path.Join("sys/fs/cgroup", path.Clean("/"+p))
	if p == "" || !fs.ValidPath(dir) {
		return
	}
	if v, ok := r.file(dir + "/memory.max"); ok {
		if v == "max" {
			st.CgroupMax = 0
			st.mark(FieldCgroupMax, SourceCgroup)
		} else if n, err := strconv.ParseUint(v, 10, 64); err == nil && n > 0 && n <= maxMemBytes {
			st.CgroupMax = n
			st.mark(FieldCgroupMax, SourceCgroup)
		} else {
			r.log.Warn("device: ignoring bad value", "file", "/"+dir+"/memory.max", "value", clip(v))
		}
	}
	if v, ok := r.num(dir+"/memory.current", 0, maxMemBytes); ok {
		st.CgroupCurrent = uint64(v)
		st.mark(FieldCgroupCurrent, SourceCgroup)
	}
}

// network guesses the link from the interfaces that are up: wireless →
// Wi-Fi, modem names (rmnet, ccmni, wwan) → cellular, anything else but
// loopback → Ethernet; none up → offline. Wi-Fi wins over cellular, as
// phones route over Wi-Fi when both are up.
func (r reader) network(st *State) {
	ifs := r.glob("sys/class/net/*/operstate")
	if len(ifs) == 0 {
		return
	}
	best := NetworkOffline
	rank := map[Network]int{NetworkOffline: 0, NetworkCellular: 1, NetworkWiFi: 2, NetworkEthernet: 3}
	for _, f := range ifs {
		d := path.Dir(f)
		name := path.Base(d)
		state, _ := r.file(f)
		if name == "lo" || state != "up" {
			continue
		}
		kind := NetworkEthernet
		switch {
		case exists(r.fsys, d+"/wireless") || exists(r.fsys, d+"/phy80211"):
			kind = NetworkWiFi
		case hasAnyPrefix(name, "rmnet", "ccmni", "wwan", "rev_rmnet", "seth_lte"):
			kind = NetworkCellular
		case hasAnyPrefix(name, "dummy", "tun", "p2p", "ip6tnl", "sit", "ifb", "bond"):
			continue
		}
		if rank[kind] > rank[best] {
			best = kind
		}
	}
	st.Network = best
	st.mark(FieldNetwork, SourceSysfs)
}

func exists(fsys fs.FS, name string) bool {
	_, err := fs.Stat(fsys, name)
	return err == nil
}

func hasAnyPrefix(s string, p ...string) bool {
	for _, x := range p {
		if strings.HasPrefix(s, x) {
			return true
		}
	}
	return false
}
