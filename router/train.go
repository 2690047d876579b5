package router

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Example is one training prompt. Label is the need for the stronger tier in
// [0,1] (offline.Examples says how it is derived from correctness data).
type Example struct {
	Prompt  string
	Signals Signals
	Label   float64
	Weight  float64 // 0 means 1
}

// TrainOptions configure Train. Zero values take the defaults.
type TrainOptions struct {
	Bits       int     // log2 of the hashed buckets; default 14
	L2         float64 // L2 penalty on all weights but the bias; default 1e-4
	MaxIter    int     // L-BFGS iterations; default 200
	Provenance string  // stored in the model (how it was trained)
}

// TrainResult reports the optimisation.
type TrainResult struct {
	Loss       float64 // weighted mean log loss on the training set, without the penalty
	Objective  float64 // loss + penalty, the minimised value
	Iterations int
}

// Train fits the model by L-BFGS on the L2-regularised weighted log loss.
// It is deterministic: the same examples in the same order give the same
// model bit for bit on a given GOARCH.
func Train(ctx context.Context, examples []Example, opt TrainOptions) (*Model, TrainResult, error) {
	if opt.Bits == 0 {
		opt.Bits = 14
	}
	if opt.L2 == 0 {
		opt.L2 = 1e-4
	}
	if opt.MaxIter == 0 {
		opt.MaxIter = 200
	}
	if opt.Bits < minBits || opt.Bits > maxBits {
		return nil, TrainResult{}, fmt.Errorf("router: train: bits %d outside [%d,%d]", opt.Bits, minBits, maxBits)
	}
	if !(opt.L2 > 0) || opt.MaxIter < 0 {
		return nil, TrainResult{}, fmt.Errorf("router: train: L2 %v and MaxIter %d must be positive", opt.L2, opt.MaxIter)
	}
	if len(examples) == 0 {
		return nil, TrainResult{}, errors.New("router: train: no examples")
	}
	ds, err := newTrainSet(examples, opt.Bits)
	if err != nil {
		return nil, TrainResult{}, err
	}
	nParams := 1 + numDense + 1<<opt.Bits
	theta := make([]float64, nParams)
	eval := func(th, grad []float64) float64 { return ds.objective(th, grad, opt.L2) }
	obj, iters, err := lbfgs(ctx, eval, theta, opt.MaxIter)
	if err != nil {
		return nil, TrainResult{}, err
	}

	m := &Model{shift: uint(64 - opt.Bits), threshold: 0.5, provenance: opt.Provenance, hashed: make([]float32, 1<<opt.Bits)}
	// Weights are stored as float32, so the model in memory is the model on disk.
	m.bias = float64(float32(theta[0]))
	for i := range numDense {
		m.mean[i] = float64(float32(ds.mean[i]))
		m.scale[i] = float64(float32(ds.scale[i]))
		m.dense[i] = float64(float32(theta[1+i]))
	}
	for i := range m.hashed {
		m.hashed[i] = float32(theta[1+numDense+i])
	}
	loss := ds.objective(theta, nil, 0)
	return m, TrainResult{Loss: loss, Objective: obj, Iterations: iters}, nil
}

// trainSet holds the examples' features: standardised dense values and, per
// example, the distinct hashed buckets with their values.
type trainSet struct {
	n           int
	y, w        []float64
	wsum        float64
	mean, scale [numDense]float64
	x           []float64 // n × numDense, standardised
	start       []int     // example i's buckets are idx[start[i]:start[i+1]]
	idx         []uint32
	val         []float64
}

func newTrainSet(examples []Example, bits int) (*trainSet, error) {
	ds := &trainSet{n: len(examples), y: make([]float64, len(examples)), w: make([]float64, len(examples)),
		x: make([]float64, len(examples)*numDense), start: make([]int, 1, len(examples)+1)}
	e := extractor{shift: uint(64 - bits), rec: true}
	type bv struct {
		b uint32
		v float64
	}
	var pairs []bv
	for i, ex := range examples {
		if !(ex.Label >= 0 && ex.Label <= 1) {
			return nil, fmt.Errorf("router: train: example %d: label %v outside [0,1]", i, ex.Label)
		}
		w := ex.Weight
		if w == 0 {
			w = 1
		}
		if !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("router: train: example %d: weight %v must be positive", i, ex.Weight)
		}
		ds.y[i], ds.w[i] = ex.Label, w
		ds.wsum += w
		e.run(ex.Prompt, ex.Signals)
		copy(ds.x[i*numDense:], e.dense[:])
		pairs = pairs[:0]
		for ns := range numNS {
			if e.count[ns] == 0 {
				continue
			}
			v := 1 / math.Sqrt(float64(e.count[ns]))
			for _, b := range e.idx[ns] {
				pairs = append(pairs, bv{b, v})
			}
		}
		slices.SortStableFunc(pairs, func(a, b bv) int { return int(a.b) - int(b.b) })
		for j, p := range pairs {
			if j > 0 && pairs[j-1].b == p.b {
				ds.val[len(ds.val)-1] += p.v
				continue
			}
			ds.idx = append(ds.idx, p.b)
			ds.val = append(ds.val, p.v)
		}
		ds.start = append(ds.start, len(ds.idx))
	}
	// Weighted mean and standard deviation; a constant feature gets scale 1
	// (its weight then stays 0 under the penalty).
	for f := range numDense {
		var s float64
		for i := range ds.n {
			s += ds.w[i] * ds.x[i*numDense+f]
		}
		mu := s / ds.wsum
		var v float64
		for i := range ds.n {
			d := ds.x[i*numDense+f] - mu
			v += ds.w[i] * d * d
		}
		sd := math.Sqrt(v / ds.wsum)
		if !(sd > 1e-9) {
			sd = 1
		}
		ds.mean[f], ds.scale[f] = float64(float32(mu)), float64(float32(sd))
		for i := range ds.n {
			ds.x[i*numDense+f] = clamp((ds.x[i*numDense+f]-ds.mean[f])/ds.scale[f], -maxZ, maxZ)
		}
	}
	return ds, nil
}

// objective returns the weighted mean log loss plus l2/2·|θ without bias|²,
// and writes its gradient into grad when grad is not nil.
func (ds *trainSet) objective(theta, grad []float64, l2 float64) float64 {
	if grad != nil {
		clear(grad)
	}
	hashed := theta[1+numDense:]
	var loss float64
	for i := range ds.n {
		x := ds.x[i*numDense : (i+1)*numDense]
		z := theta[0]
		for f, xf := range x {
			z += float64(theta[1+f] * xf) // explicit conversions keep arm64 from fusing (FMA): same result everywhere
		}
		lo, hi := ds.start[i], ds.start[i+1]
		for j := lo; j < hi; j++ {
			z += float64(hashed[ds.idx[j]] * ds.val[j])
		}
		// log(1+e^z) − y·z, computed stably.
		y := ds.y[i]
		loss += ds.w[i] * (math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - y*z)
		if grad == nil {
			continue
		}
		g := ds.w[i] * (1/(1+math.Exp(-z)) - y) / ds.wsum
		grad[0] += g
		for f, xf := range x {
			grad[1+f] += float64(g * xf)
		}
		gh := grad[1+numDense:]
		for j := lo; j < hi; j++ {
			gh[ds.idx[j]] += float64(g * ds.val[j])
		}
	}
	loss /= ds.wsum
	var reg float64
	for k := 1; k < len(theta); k++ {
		reg += float64(theta[k] * theta[k])
		if grad != nil {
			grad[k] += float64(l2 * theta[k])
		}
	}
	return loss + l2/2*reg
}
