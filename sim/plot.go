package sim

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plot writes a PNG timeline of the run: battery (%), temperature (°C) and
// the tier each request went to (smallest at the bottom; refused at -1).
func (r Result) Plot(w io.Writer) error {
	var battery, temp, local, cloud, refused plotter.XYs
	index := map[string]int{}
	for i, t := range r.Tiers {
		index[t] = i
	}
	for _, row := range r.Rows {
		x := row.At.Seconds()
		if row.HasBattery {
			battery = append(battery, plotter.XY{X: x, Y: row.BatteryPct})
		}
		temp = append(temp, plotter.XY{X: x, Y: row.TempC})
		switch {
		case row.Tier == "":
			refused = append(refused, plotter.XY{X: x, Y: -1})
		case row.Local:
			local = append(local, plotter.XY{X: x, Y: float64(index[row.Tier])})
		default:
			cloud = append(cloud, plotter.XY{X: x, Y: float64(index[row.Tier])})
		}
	}
	panel := func(title, ylabel string) *plot.Plot {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "time (s)"
		p.Y.Label.Text = ylabel
		return p
	}
	line := func(p *plot.Plot, xys plotter.XYs, c color.Color) error {
		if len(xys) == 0 {
			return nil
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		l.Color = c
		p.Add(l)
		return nil
	}
	scatter := func(p *plot.Plot, name string, xys plotter.XYs, c color.Color) error {
		if len(xys) == 0 {
			return nil
		}
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		s.Color = c
		p.Add(s)
		p.Legend.Add(name, s)
		return nil
	}
	pb := panel(fmt.Sprintf("%s: battery", r.Profile), "battery (%)")
	pt := panel("temperature", "°C")
	pr := panel("tier per request", "tier")
	pr.Y.Min, pr.Y.Max = -1.5, float64(len(r.Tiers))-0.5
	ticks := []plot.Tick{{Value: -1, Label: "refused"}}
	for i, t := range r.Tiers {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: t})
	}
	pr.Y.Tick.Marker = plot.ConstantTicks(ticks)
	for _, err := range []error{
		line(pb, battery, color.RGBA{G: 140, A: 255}),
		line(pt, temp, color.RGBA{R: 200, A: 255}),
		scatter(pr, "local", local, color.RGBA{B: 200, A: 255}),
		scatter(pr, "cloud", cloud, color.RGBA{R: 220, G: 120, A: 255}),
		scatter(pr, "refused", refused, color.Black),
	} {
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
	}
	const width, height = 8 * vg.Inch, 9 * vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	t := draw.Tiles{Rows: 3, Cols: 1, PadY: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2,
		PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	plots := [][]*plot.Plot{{pb}, {pt}, {pr}}
	canvases := plot.Align(plots, t, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("plot: write: %w", err)
	}
	return nil
}
