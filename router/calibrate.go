package router

import (
	"fmt"
	"math"
	"slices"
	"sync"
)

// ThresholdForShare returns the threshold t for which the share of scores
// above t (the requests sent to the strong tier) is share, to within one
// score: the midpoint between the two scores around the cut.
func ThresholdForShare(scores []float64, share float64) float64 {
	asc := slices.Clone(scores)
	slices.Sort(asc)
	return thresholdSorted(asc, share)
}

func thresholdSorted(asc []float64, share float64) float64 {
	n := len(asc)
	k := int(math.Round(clamp(share, 0, 1) * float64(n)))
	switch {
	case n == 0:
		return 0.5
	case k <= 0:
		return 1
	case k >= n:
		return 0
	}
	return (asc[n-k-1] + asc[n-k]) / 2
}

// Threshold keeps the live share of requests sent to the strong tier near a
// target as traffic drifts. Rule: a request goes to the strong tier when its
// score is above the threshold computed (as by ThresholdForShare) from the
// last Window scores observed before it, i.e. the (1 − target) quantile of
// recent traffic; until a tenth of the window has been seen, the initial
// threshold (e.g. Model.Threshold after calibrate) is used. A shift in the
// score distribution is thus absorbed within one window. Safe for
// concurrent use.
type Threshold struct {
	target, initial float64
	minSamples      int

	mu     sync.Mutex
	ring   []float64 // the window in arrival order; next is the oldest once full
	next   int
	sorted []float64 // the window, ascending
}

// NewThreshold returns a calibrator for the target strong-call share in
// [0,1] over a window of recent scores.
func NewThreshold(target float64, window int, initial float64) (*Threshold, error) {
	if !(target >= 0 && target <= 1) {
		return nil, fmt.Errorf("router: threshold target share %v outside [0,1]", target)
	}
	if window < 1 {
		return nil, fmt.Errorf("router: threshold window %d must be positive", window)
	}
	if !(initial >= 0 && initial <= 1) {
		return nil, fmt.Errorf("router: initial threshold %v outside [0,1]", initial)
	}
	return &Threshold{target: target, initial: initial, minSamples: max(window/10, 1),
		ring: make([]float64, 0, window), sorted: make([]float64, 0, window)}, nil
}

// Observe decides one request with the given score and adds the score to
// the window. A NaN score goes to the strong tier and is not recorded.
func (t *Threshold) Observe(score float64) (toStrong bool) {
	if math.IsNaN(score) {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	toStrong = score > t.valueLocked()
	if len(t.ring) < cap(t.ring) {
		t.ring = append(t.ring, score)
	} else {
		old := t.ring[t.next]
		t.ring[t.next] = score
		t.next = (t.next + 1) % len(t.ring)
		i, _ := slices.BinarySearch(t.sorted, old)
		t.sorted = slices.Delete(t.sorted, i, i+1)
	}
	i, _ := slices.BinarySearch(t.sorted, score)
	t.sorted = slices.Insert(t.sorted, i, score)
	return toStrong
}

// Value is the threshold the next request will be compared with.
func (t *Threshold) Value() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.valueLocked()
}

func (t *Threshold) valueLocked() float64 {
	if len(t.sorted) < t.minSamples {
		return t.initial
	}
	return thresholdSorted(t.sorted, t.target)
}
