package model

import "math"

// ropeTable holds cos and sin for every position and rotated pair, so the
// forward pass only multiplies. Angles follow ggml's rope_yarn: linear
// scaling interpolates positions, YaRN blends interpolation and extrapolation
// per frequency and scales magnitudes, and FreqFactors divide frequencies.
type ropeTable struct {
	pairs    int
	cos, sin []float32 // (ctx, pairs)
}

func newRopeTable(r RopeConfig, ctx int) ropeTable {
	pairs := r.Dims / 2
	t := ropeTable{pairs: pairs, cos: make([]float32, ctx*pairs), sin: make([]float32, ctx*pairs)}
	lowDim, highDim := yarnCorrDims(r)
	for i := 0; i < pairs; i++ {
		freq := math.Pow(r.Base, -float64(2*i)/float64(r.Dims))
		if r.FreqFactors != nil {
			freq /= float64(r.FreqFactors[i])
		}
		for pos := 0; pos < ctx; pos++ {
			extrap := float64(pos) * freq
			theta := extrap * r.FreqScale
			mscale := r.AttnFactor
			if r.ExtFactor != 0 {
				mix := yarnRamp(lowDim, highDim, 2*i) * r.ExtFactor
				theta = theta*(1-mix) + extrap*mix
				mscale *= 1 + 0.1*math.Log(1/r.FreqScale)
			}
			t.cos[pos*pairs+i] = float32(math.Cos(theta) * mscale)
			t.sin[pos*pairs+i] = float32(math.Sin(theta) * mscale)
		}
	}
	return t
}

// yarnCorrDims is the range of dimensions over which YaRN ramps from
// extrapolation to interpolation (ggml_rope_yarn_corr_dims).
func yarnCorrDims(r RopeConfig) (float64, float64) {
	corr := func(rot float64) float64 {
		return float64(r.Dims) * math.Log(float64(r.OrigContext)/(rot*2*math.Pi)) / (2 * math.Log(r.Base))
	}
	lo := math.Max(0, math.Floor(corr(r.BetaFast)))
	hi := math.Min(float64(r.Dims-1), math.Ceil(corr(r.BetaSlow)))
	return lo, hi
}

func yarnRamp(lo, hi float64, i0 int) float64 {
	y := (float64(i0)/2 - lo) / math.Max(0.001, hi-lo)
	return 1 - math.Min(1, math.Max(0, y))
}

// apply rotates one head vector x (head_dim values; only the first 2*pairs
// are rotated) at position pos.
func (t *ropeTable) apply(x []float32, pos int, style RopeStyle) {
	c := t.cos[pos*t.pairs : (pos+1)*t.pairs]
	s := t.sin[pos*t.pairs : (pos+1)*t.pairs]
	if style == RopeNeoX {
		half := t.pairs
		for i := 0; i < half; i++ {
			a, b := x[i], x[i+half]
			x[i] = a*c[i] - b*s[i]
			x[i+half] = a*s[i] + b*c[i]
		}
		return
	}
	for i := 0; i < t.pairs; i++ {
		a, b := x[2*i], x[2*i+1]
		x[2*i] = a*c[i] - b*s[i]
		x[2*i+1] = a*s[i] + b*c[i]
	}
}
