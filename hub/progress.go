package hub

import (
	"fmt"
	"github.com/tandem-llm/tandem/units"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports a download's progress.
type progress interface {
	// set records that done of total bytes (total ≤ 0: unknown) are on disk.
	set(done, total int64)
	// end ends the report, after a successful download if ok.
	end(ok bool)
}

// newProgress picks the reporter for w: a progress bar when w is a
// terminal, a line every interval otherwise, nothing when w is nil.
func newProgress(w io.Writer, name string, interval time.Duration) progress {
	if w == nil {
		return nopProgress{}
	}
	if f, ok := w.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(f.Fd())) {
		return &barProgress{w: w, name: name}
	}
	if interval <= 0 {
		interval = 5 * time.Second
	}
	return &lineProgress{w: w, name: name, interval: interval, start: time.Now(), first: -1}
}

type nopProgress struct{}

func (nopProgress) set(int64, int64) {}
func (nopProgress) end(bool)         {}

// barProgress draws a terminal progress bar with bytes, rate and ETA.
type barProgress struct {
	w    io.Writer
	name string
	bar  *progressbar.ProgressBar
	max  int64
}

func (p *barProgress) set(done, total int64) {
	if p.bar == nil || total != p.max {
		if p.bar != nil {
			p.bar.Exit()
		}
		p.max = total
		if total <= 0 {
			total = -1 // spinner
		}
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowTotalBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionUseIECUnits(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionFullWidth(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
		)
	}
	p.bar.Set64(done)
}

func (p *barProgress) end(ok bool) {
	switch {
	case p.bar == nil:
	case ok:
		p.bar.Finish()
	default:
		p.bar.Exit() // leave the bar as it is and end its line
	}
}

// lineProgress prints "NAME: 1.2 GiB / 4.1 GiB (29%), 48.0 MiB/s, ETA 1m2s"
// every interval, for logs and pipes.
type lineProgress struct {
	w        io.Writer
	name     string
	interval time.Duration
	start    time.Time
	first    int64 // bytes on disk when this run started (resumed bytes don't count toward the rate)
	last     time.Time
	done     int64
	total    int64
}

func (p *lineProgress) set(done, total int64) {
	if p.first < 0 || done < p.first {
		p.first, p.start, p.last = done, time.Now(), time.Now()
	}
	p.done, p.total = done, total
	if time.Since(p.last) >= p.interval {
		p.last = time.Now()
		fmt.Fprintln(p.w, p.line())
	}
}

func (p *lineProgress) line() string {
	s := fmt.Sprintf("%s: %s", p.name, units.FormatBytes(p.done))
	if p.total > 0 {
		s += fmt.Sprintf(" / %s (%d%%)", units.FormatBytes(p.total), p.done*100/p.total)
	}
	el := time.Since(p.start).Seconds()
	if el <= 0 || p.done <= p.first {
		return s
	}
	rate := float64(p.done-p.first) / el
	s += fmt.Sprintf(", %s/s", units.FormatBytes(int64(rate)))
	if p.total > p.done {
		s += fmt.Sprintf(", ETA %s", time.Duration(float64(p.total-p.done)/rate*float64(time.Second)).Round(time.Second))
	}
	return s
}

func (p *lineProgress) end(ok bool) {
	if ok && p.first >= 0 {
		fmt.Fprintf(p.w, "%s: done, %s in %s\n", p.name, units.FormatBytes(p.done), time.Since(p.start).Round(100*time.Millisecond))
	}
}
