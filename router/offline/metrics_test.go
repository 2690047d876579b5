package offline

import (
	"math"
	"testing"
)

// toy is a hand-computed example: qWeak = 0.25, qStrong = 0.75.
var toy = []Row{
	{Weak: 1, Strong: 1}, // score 0.7, gain 0
	{Weak: 0, Strong: 1}, // score 0.8, gain +1
	{Weak: 0, Strong: 0}, // score 0.1, gain 0
	{Weak: 0, Strong: 1}, // score 0.5, gain +1
}
var toyScores = []float64{0.7, 0.8, 0.1, 0.5}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestRouterCurve(t *testing.T) {
	c := RouterCurve(toy, toyScores)
	wantS := []float64{0, 0.25, 0.5, 0.75, 1}
	wantQ := []float64{0.25, 0.5, 0.5, 0.75, 0.75}
	for i := range wantS {
		if !near(c.Share[i], wantS[i]) || !near(c.Quality[i], wantQ[i]) {
			t.Fatalf("curve %+v, want share %v quality %v", c, wantS, wantQ)
		}
	}
	// Equal scores are one step (random tie-breaking in expectation).
	c = RouterCurve(toy, []float64{0.3, 0.3, 0.3, 0.3})
	if len(c.Share) != 2 || !near(c.Quality[1], 0.75) || !near(APGR(c, 0.25, 0.75), 0.5) {
		t.Errorf("constant scores: %+v", c)
	}
}

func TestMetricsToy(t *testing.T) {
	const qw, qs = 0.25, 0.75
	c := RouterCurve(toy, toyScores)
	// PGR at the points: 0, .5, .5, 1, 1; trapezoids of width .25.
	if got := APGR(c, qw, qs); !near(got, 0.625) {
		t.Errorf("APGR %v, want 0.625", got)
	}
	if got := CPT(c, qw, qs, 0.5); !near(got, 0.25) {
		t.Errorf("CPT(50%%) %v, want 0.25", got)
	}
	// Between (0.5, PGR .5) and (0.75, PGR 1): 0.5 + 0.25·0.3/0.5.
	if got := CPT(c, qw, qs, 0.8); !near(got, 0.65) {
		t.Errorf("CPT(80%%) %v, want 0.65", got)
	}
	if got := CPT(c, qw, qs, 1.5); !math.IsNaN(got) {
		t.Errorf("CPT(150%%) %v, want NaN", got)
	}
	// Hull (0,.25) (.25,.5) (.75,.75) (1,.75): (.5,.5) lies under it.
	if got := AIQ(c); !near(got, 0.09375+0.3125+0.1875) {
		t.Errorf("AIQ %v, want 0.59375", got)
	}
	// Past its best point the hull stays flat: .5·(.5+.9)/2 + .5·.9.
	if got := AIQ(Curve{Share: []float64{0, 0.5, 1}, Quality: []float64{0.5, 0.9, 0.7}}); !near(got, 0.8) {
		t.Errorf("AIQ of a falling curve %v, want 0.8", got)
	}
	if got := PGR(0.5, qw, qs); !near(got, 0.5) {
		t.Errorf("PGR %v", got)
	}
}

func TestEvaluateToy(t *testing.T) {
	rep, err := Evaluate(toy, toyScores)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 4 || !near(rep.QWeak, 0.25) || !near(rep.QStrong, 0.75) {
		t.Errorf("report %+v", rep)
	}
	for _, tc := range []struct {
		name                    string
		apgr, cpt50, cpt80, aiq float64
	}{
		{"router", 0.625, 0.25, 0.65, 0.59375},
		{"random", 0.5, 0.5, 0.8, 0.5},
		// Oracle: both helpful rows first (one tie group), then the rest: (0,.25) (.5,.75) (1,.75);
		// AIQ .5·(.25+.75)/2 + .5·.75.
		{"oracle", 0.75, 0.25, 0.4, 0.625},
	} {
		p := rep.Policy(tc.name)
		if !near(float64(p.APGR), tc.apgr) || !near(float64(p.CPT50), tc.cpt50) || !near(float64(p.CPT80), tc.cpt80) || !near(float64(p.AIQ), tc.aiq) {
			t.Errorf("%s: %+v, want APGR %v CPT50 %v CPT80 %v AIQ %v", tc.name, p, tc.apgr, tc.cpt50, tc.cpt80, tc.aiq)
		}
	}
	if p := rep.Policy("always-strong"); p.CPT50 != 1 || p.Quality != 0.75 || p.Share != 1 {
		t.Errorf("always-strong %+v", p)
	}
	if p := rep.Policy("always-weak"); !math.IsNaN(float64(p.CPT50)) || p.Quality != 0.25 || p.Share != 0 {
		t.Errorf("always-weak %+v", p)
	}
	if _, err := Evaluate(toy, toyScores[:2]); err == nil {
		t.Error("Evaluate accepts 2 scores for 4 rows")
	}
	if _, err := Evaluate([]Row{{Weak: 1, Strong: 1}}, []float64{0}); err == nil {
		t.Error("Evaluate accepts a strong model no better than the weak one")
	}
	if b, err := Metric(math.NaN()).MarshalJSON(); err != nil || string(b) != "null" {
		t.Errorf("NaN metric JSON %s %v", b, err)
	}
}
