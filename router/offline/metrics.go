package offline

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Curve is a router's quality (mean correctness) as a function of the share
// of calls it sends to the strong model, piecewise linear between its
// points; Share rises from 0 to 1.
type Curve struct {
	Share, Quality []float64
}

// RouterCurve sweeps the threshold over scores (higher: send to strong):
// with k of n rows above the threshold, quality = (Σ strong over those k +
// Σ weak over the rest)/n. Rows with equal scores are one step, i.e. the
// expected value over random tie-breaking, so a constant score gives the
// random baseline.
func RouterCurve(rows []Row, scores []float64) Curve {
	n := len(rows)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	var q float64
	for _, r := range rows {
		q += r.Weak
	}
	c := Curve{Share: []float64{0}, Quality: []float64{q / float64(n)}}
	for i := 0; i < n; {
		j := i
		for j < n && scores[order[j]] == scores[order[i]] {
			q += rows[order[j]].Strong - rows[order[j]].Weak
			j++
		}
		c.Share = append(c.Share, float64(j)/float64(n))
		c.Quality = append(c.Quality, q/float64(n))
		i = j
	}
	return c
}

// OracleCurve is the best possible router: it sends rows to the strong model
// in order of how much that helps (strong − weak), so its curve first rises
// to mean(max(weak, strong)) at the share of rows the strong model alone gets
// right.
func OracleCurve(rows []Row) Curve {
	gain := make([]float64, len(rows))
	for i, r := range rows {
		gain[i] = r.Strong - r.Weak
	}
	return RouterCurve(rows, gain)
}

// RandomCurve is the expected quality of sending a random share c of calls
// to the strong model: a line from qWeak to qStrong.
func RandomCurve(qWeak, qStrong float64) Curve {
	return Curve{Share: []float64{0, 1}, Quality: []float64{qWeak, qStrong}}
}

// PGR is the performance gap recovered: (q − qWeak)/(qStrong − qWeak).
func PGR(q, qWeak, qStrong float64) float64 { return (q - qWeak) / (qStrong - qWeak) }

// APGR is the area under PGR against the strong-call share (trapezoids over
// the curve's points, exact for a piecewise-linear curve); random gives 0.5.
func APGR(c Curve, qWeak, qStrong float64) float64 {
	var a float64
	for i := 1; i < len(c.Share); i++ {
		p0, p1 := PGR(c.Quality[i-1], qWeak, qStrong), PGR(c.Quality[i], qWeak, qStrong)
		a += (c.Share[i] - c.Share[i-1]) * (p0 + p1) / 2
	}
	return a
}

// CPT is the call-performance threshold: the smallest strong-call share at
// which PGR reaches x (linear between points), or NaN when it never does.
func CPT(c Curve, qWeak, qStrong, x float64) float64 {
	for i := range c.Share {
		p := PGR(c.Quality[i], qWeak, qStrong)
		if p < x {
			continue
		}
		if i == 0 {
			return c.Share[0]
		}
		p0 := PGR(c.Quality[i-1], qWeak, qStrong)
		return c.Share[i-1] + (c.Share[i]-c.Share[i-1])*(x-p0)/(p-p0)
	}
	return math.NaN()
}

// AIQ is RouterBench's average improvement in quality: the area under the
// non-decreasing upper convex hull of the (cost, quality) points, divided by
// the cost range. Cost here is the strong-call share; with fixed per-call
// prices the dollar cost is an affine function of it, which leaves AIQ
// unchanged.
func AIQ(c Curve) float64 {
	// Upper hull (monotone chain over points sorted by cost).
	var hx, hy []float64
	for i := range c.Share {
		x, y := c.Share[i], c.Quality[i]
		for len(hx) >= 2 {
			k := len(hx)
			// Drop the last point when it lies on or below the chord to (x, y).
			if (hx[k-1]-hx[k-2])*(y-hy[k-2])-(hy[k-1]-hy[k-2])*(x-hx[k-2]) >= 0 {
				hx, hy = hx[:k-1], hy[:k-1]
				continue
			}
			break
		}
		if len(hx) > 0 && hx[len(hx)-1] == x {
			hy[len(hy)-1] = max(hy[len(hy)-1], y)
			continue
		}
		hx, hy = append(hx, x), append(hy, y)
	}
	// The hull is concave: it rises to its best point, then falls. The
	// non-decreasing hull stays at the best quality from there on (the extra
	// budget can go unused).
	best := 0
	for i := range hy {
		if hy[i] > hy[best] {
			best = i
		}
	}
	var area float64
	for i := 1; i <= best; i++ {
		area += (hx[i] - hx[i-1]) * (hy[i] + hy[i-1]) / 2
	}
	area += (hx[len(hx)-1] - hx[best]) * hy[best]
	if span := hx[len(hx)-1] - hx[0]; span > 0 {
		return area / span
	}
	return hy[best]
}

// Metric is a value that may be missing (NaN), written to JSON as null.
type Metric float64

// MarshalJSON writes NaN as null.
func (m Metric) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(m)) || math.IsInf(float64(m), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(m))
}

// Result is one policy's figures on the evaluation rows. Fixed policies
// (always-weak, always-strong) are single points: their curve metrics are
// missing, except CPT for always-strong (it reaches any PGR at 100%).
type Result struct {
	Name    string `json:"name"`
	APGR    Metric `json:"apgr"`
	CPT50   Metric `json:"cpt50"`
	CPT80   Metric `json:"cpt80"`
	AIQ     Metric `json:"aiq"`
	Share   Metric `json:"share"`   // strong-call share of a fixed policy
	Quality Metric `json:"quality"` // quality of a fixed policy
	Curve   Curve  `json:"-"`
}

// Report evaluates a router against the baselines.
type Report struct {
	Rows     int      `json:"rows"`
	QWeak    float64  `json:"quality_weak"`
	QStrong  float64  `json:"quality_strong"`
	Policies []Result `json:"policies"` // router, random, oracle, always-weak, always-strong
}

// Evaluate computes the report for scores (one per row) on rows.
func Evaluate(rows []Row, scores []float64) (*Report, error) {
	if len(rows) == 0 {
		return nil, errors.New("evaluate: no rows")
	}
	if len(scores) != len(rows) {
		return nil, fmt.Errorf("evaluate: %d scores for %d rows", len(scores), len(rows))
	}
	rep := &Report{Rows: len(rows)}
	for _, r := range rows {
		rep.QWeak += r.Weak
		rep.QStrong += r.Strong
	}
	rep.QWeak /= float64(len(rows))
	rep.QStrong /= float64(len(rows))
	if !(rep.QStrong > rep.QWeak) {
		return nil, fmt.Errorf("evaluate: the strong model (quality %.4f) is not better than the weak one (%.4f) on these rows: PGR is undefined", rep.QStrong, rep.QWeak)
	}
	curve := func(name string, c Curve) Result {
		return Result{Name: name, Curve: c, APGR: Metric(APGR(c, rep.QWeak, rep.QStrong)),
			CPT50: Metric(CPT(c, rep.QWeak, rep.QStrong, 0.5)), CPT80: Metric(CPT(c, rep.QWeak, rep.QStrong, 0.8)),
			AIQ: Metric(AIQ(c)), Share: Metric(math.NaN()), Quality: Metric(math.NaN())}
	}
	nan := Metric(math.NaN())
	rep.Policies = []Result{
		curve("router", RouterCurve(rows, scores)),
		curve("random", RandomCurve(rep.QWeak, rep.QStrong)),
		curve("oracle", OracleCurve(rows)),
		{Name: "always-weak", APGR: nan, CPT50: nan, CPT80: nan, AIQ: nan, Share: 0, Quality: Metric(rep.QWeak)},
		{Name: "always-strong", APGR: nan, CPT50: 1, CPT80: 1, AIQ: nan, Share: 1, Quality: Metric(rep.QStrong)},
	}
	return rep, nil
}

// Policy returns the named result.
func (r *Report) Policy(name string) Result {
	for _, p := range r.Policies {
		if p.Name == name {
			return p
		}
	}
	return Result{}
}
