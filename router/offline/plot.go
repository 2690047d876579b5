package offline

import (
	"fmt"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plot writes a PNG of quality against strong-call share (%) for the
// report's curves (router, random, oracle) and fixed policies (points).
func Plot(w io.Writer, rep *Report, title string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "calls to the strong model (%)"
	p.Y.Label.Text = "quality (mean correctness)"
	p.X.Min, p.X.Max = 0, 100
	p.Legend.Top = false
	p.Legend.Left = false
	var lines []any
	var points []any
	for _, pol := range rep.Policies {
		if len(pol.Curve.Share) > 0 {
			xys := make(plotter.XYs, len(pol.Curve.Share))
			for i := range xys {
				xys[i].X, xys[i].Y = 100*pol.Curve.Share[i], pol.Curve.Quality[i]
			}
			lines = append(lines, pol.Name, xys)
			continue
		}
		points = append(points, pol.Name, plotter.XYs{{X: 100 * float64(pol.Share), Y: float64(pol.Quality)}})
	}
	if err := plotutil.AddLines(p, lines...); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if err := plotutil.AddScatters(p, points...); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	wt, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("plot: write: %w", err)
	}
	return nil
}
