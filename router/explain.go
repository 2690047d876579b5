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
	var spans [numNS][]span
	e := extractor{w: m.hashed, shift: m.shift, rec: true, spans: &spans}
	e.run(prompt, sig)
	score := sigmoid(m.logit(&e))

	byLabel := map[string]float64{}
	for i := range numDense {
		x := clamp((e.dense[i]-m.mean[i])/m.scale[i], -maxZ, maxZ)
		c := m.dense[i] * x
		if c == 0 {
			continue
		}
		label := denseSpecs[i].hi
		if x < 0 {
			label = denseSpecs[i].lo
		}
		byLabel[label] += c
	}
	for ns := range numNS {
		if e.count[ns] == 0 {
			continue
		}
		v := 1 / math.Sqrt(float64(e.count[ns]))
		for j, b := range e.idx[ns] {
			sp := spans[ns][j]
			label := fmt.Sprintf("%s %q", nsNames[ns], strings.Join(strings.Fields(strings.ToLower(prompt[sp.start:sp.end])), " "))
			byLabel[label] += float64(m.hashed[b]) * v
		}
	}

	sign := 1.0
	if score <= m.threshold {
		sign = -1
	}
	var reasons []Reason
	for label, c := range byLabel {
		if c*sign > 0 {
			reasons = append(reasons, Reason{label, c})
		}
	}
	slices.SortFunc(reasons, func(a, b Reason) int {
		if c := cmp.Compare(math.Abs(b.Contribution), math.Abs(a.Contribution)); c != 0 {
			return c
		}
		return strings.Compare(a.Feature, b.Feature)
	})
	if len(reasons) > k {
		reasons = reasons[:max(k, 0)]
	}
	return Explanation{Score: score, Reasons: reasons}
}
