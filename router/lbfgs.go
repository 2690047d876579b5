package router

import (
	"context"
	"fmt"
	"math"
)

// lbfgs minimises f from x (updated in place) with limited-memory BFGS and a
// backtracking Armijo line search; f writes its gradient into its second
// argument. It returns the final value and the iterations run.
func lbfgs(ctx context.Context, f func(x, grad []float64) float64, x []float64, maxIter int) (float64, int, error) {
	const (
		memory  = 10
		gradTol = 1e-7
		relTol  = 1e-10
	)
	n := len(x)
	g := make([]float64, n)
	fx := f(x, g)
	var s, y [][]float64
	var rho []float64
	d := make([]float64, n)
	xNew := make([]float64, n)
	gNew := make([]float64, n)
	alpha := make([]float64, memory)
	iter := 0
	for ; iter < maxIter; iter++ {
		if err := ctx.Err(); err != nil {
			return fx, iter, fmt.Errorf("router: train: %w", err)
		}
		if normInf(g) < gradTol {
			break
		}
		// Two-loop recursion: d = −H·g.
		for i := range d {
			d[i] = -g[i]
		}
		for k := len(s) - 1; k >= 0; k-- {
			alpha[k] = rho[k] * dot(s[k], d)
			axpy(-alpha[k], y[k], d)
		}
		var gamma float64
		if k := len(s) - 1; k >= 0 {
			gamma = dot(s[k], y[k]) / dot(y[k], y[k])
		} else {
			gamma = 1 / math.Max(normInf(g), 1)
		}
		for i := range d {
			d[i] *= gamma
		}
		for k := range s {
			b := rho[k] * dot(y[k], d)
			axpy(alpha[k]-b, s[k], d)
		}
		slope := dot(g, d)
		if slope >= 0 { // not a descent direction: restart from steepest descent
			s, y, rho = s[:0], y[:0], rho[:0]
			for i := range d {
				d[i] = -g[i]
			}
			slope = dot(g, d)
		}
		step, fNew := 1.0, 0.0
		for tries := 0; ; tries++ {
			for i := range xNew {
				xNew[i] = x[i] + float64(step*d[i])
			}
			fNew = f(xNew, gNew)
			if fNew <= fx+1e-4*step*slope {
				break
			}
			if tries == 40 {
				return fx, iter, nil // no progress possible in this direction: converged to precision
			}
			step /= 2
		}
		var sk, yk []float64
		if len(s) == memory {
			sk, yk = s[0], y[0]
			s, y, rho = s[1:], y[1:], rho[1:]
		} else {
			sk, yk = make([]float64, n), make([]float64, n)
		}
		for i := range sk {
			sk[i] = xNew[i] - x[i]
			yk[i] = gNew[i] - g[i]
		}
		if sy := dot(sk, yk); sy > 1e-12 {
			s, y, rho = append(s, sk), append(y, yk), append(rho, 1/sy)
		}
		copy(x, xNew)
		copy(g, gNew)
		done := math.Abs(fx-fNew) <= relTol*math.Max(1, math.Abs(fx))
		fx = fNew
		if done {
			iter++
			break
		}
	}
	return fx, iter, nil
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += float64(a[i] * b[i])
	}
	return s
}

// axpy sets y += a·x.
func axpy(a float64, x, y []float64) {
	for i := range x {
		y[i] += float64(a * x[i])
	}
}

func normInf(v []float64) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}
