package router

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Reason is one feature's contribution to a score's logit (positive: toward
// the strong tier).
type Reason struct {
	Feature      string  // human label: "math markers", `word "integral"`
	Contribution float64 // in logit units
}

// Explanation is a score with the features that drove it.
type Explanation struct {
	Score   float64
	Reasons []Reason // the strongest contributions in the direction of the decision, largest first
}

// String renders e for a log line, e.g. "difficulty 0.71: math markers, long prompt".
func (e Explanation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "difficulty %.2f", e.Score)
	for i, r := range e.Reasons {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(r.Feature)
	}
	return b.String()
}

// Explain scores prompt and returns the k features that pushed the score
// most toward its side of the model's threshold. It allocates; use it only
// when logging a decision.
func (s *Scorer) Explain(prompt string, sig Signals, k int) Explanation {
	m := s.m
	k = max(k, 0)
	e := &s.ex
	e.top = &s.top
	s.top = topHashed{}
	e.run(prompt, sig)
	e.top = nil
	score := sigmoid(m.logit(e))
	sign := 1.0
	if score <= m.threshold {
		sign = -1
	}
	// Candidates: dense features by label; of the hashed features, the
	// occurrences with the largest weights on the decision's side (the
	// strongest few are kept while scanning, so nothing is allocated per
	// n-gram and only the chosen ones get a label).
	type cand struct {
		c     float64
		label string // dense; "" for hashed (ns and sp then say which)
		ns    int
		sp    span
	}
	var cands [numDense + 2*topN]cand
	n := 0
	for i := range numDense {
		x := clamp((e.dense[i]-m.mean[i])/m.scale[i], -maxZ, maxZ)
		c := m.dense[i] * x
		if c*sign <= 0 {
			continue
		}
		label := denseSpecs[i].hi
		if x < 0 {
			label = denseSpecs[i].lo
		}
		cands[n] = cand{c: c, label: label}
		n++
	}
	side := &s.top.pos
	if sign < 0 {
		side = &s.top.neg
	}
	for _, h := range side.hits[:side.n] {
		cands[n] = cand{c: float64(h.w) / math.Sqrt(float64(e.count[h.ns])), ns: h.ns, sp: h.sp}
		n++
	}
	kept := cands[:n]
	slices.SortStableFunc(kept, func(a, b cand) int { return cmp.Compare(math.Abs(b.c), math.Abs(a.c)) })
	var reasons []Reason
	seen := map[string]bool{}
	for _, c := range kept {
		if len(reasons) == k {
			break
		}
		label := c.label
		if label == "" {
			label = fmt.Sprintf("%s %q", nsNames[c.ns], strings.Join(strings.Fields(strings.ToLower(prompt[c.sp.start:c.sp.end])), " "))
		}
		if seen[label] {
			continue
		}
		seen[label] = true
		reasons = append(reasons, Reason{label, c.c})
	}
	return Explanation{Score: score, Reasons: reasons}
}

// topN is how many of the strongest hashed-feature occurrences Explain
// keeps on each side.
const topN = 8

// hit is one hashed-feature occurrence: its weight and where it is.
type hit struct {
	w  float32
	ns int
	b  uint32
	sp span
}

// topList keeps the topN hits of largest |w| (one per bucket), largest first.
type topList struct {
	hits [topN]hit
	n    int
}

func (t *topList) offer(h hit) {
	for i := range t.n {
		if t.hits[i].ns == h.ns && t.hits[i].b == h.b {
			return // the first occurrence of an n-gram stands for all
		}
	}
	if t.n == topN && abs32(h.w) <= abs32(t.hits[topN-1].w) {
		return
	}
	i := min(t.n, topN-1)
	for i > 0 && abs32(t.hits[i-1].w) < abs32(h.w) {
		if i < topN {
			t.hits[i] = t.hits[i-1]
		}
		i--
	}
	t.hits[i] = h
	t.n = min(t.n+1, topN)
}

func abs32(v float32) float32 { return max(v, -v) }

// topHashed collects the strongest hashed features pushing up and down.
type topHashed struct{ pos, neg topList }

func (t *topHashed) offer(h hit) {
	switch {
	case h.w > 0:
		t.pos.offer(h)
	case h.w < 0:
		t.neg.offer(h)
	}
}
