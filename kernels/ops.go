package kernels

import "math"

// Vector helpers for the forward pass, plain Go. Slices passed together must
// have the same length (the first argument's length is used). Products that
// feed an add are rounded to float32 explicitly so that results do not
// depend on whether the platform fuses multiply-adds.

// RMSNorm sets dst[i] = x[i] * scale * w[i] with scale = 1/sqrt(mean(x²)+eps),
// in ggml's order: each square is rounded to float32 and summed in float64
// (ggml's ggml_float), the mean is rounded to float32 and the rest is float32
// arithmetic. dst may alias x.
func RMSNorm(dst, x, w []float32, eps float32) {
	if len(x) == 0 {
		return
	}
	var sum float64
	for _, v := range x {
		sum += float64(float32(v * v))
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / sqrt32(mean+eps)
	w, dst = w[:len(x)], dst[:len(x)]
	for i, v := range x {
		dst[i] = float32(v*scale) * w[i]
	}
}

// Softmax replaces x by softmax(x) in place: exp(x-max) in float32, the sum
// in float64, then a float32 scale by 1/sum, as ggml's soft_max does. A
// slice of all -Inf gives NaNs, as in ggml.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		x[i] = e
		sum += float64(e)
	}
	Scale(x, float32(1/sum))
}

// SiLU is x*sigmoid(x), computed as ggml does: x/(1+exp(-x)).
func SiLU(x float32) float32 {
	return x / (1 + float32(math.Exp(float64(-x))))
}

// Add sets dst[i] = a[i] + b[i]. dst may alias a or b.
func Add(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Mul sets dst[i] = a[i] * b[i]. dst may alias a or b.
func Mul(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

// Scale multiplies x by s in place.
func Scale(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// DotF32 returns Σ a[i]*b[i], accumulated in float64 in index order (each
// product is exact in float64). It is the reference Dot is defined against.
func DotF32(a, b []float32) float32 {
	b = b[:len(a)]
	var sum float64
	for i, v := range a {
		sum += float64(v) * float64(b[i])
	}
	return float32(sum)
}

// Axpy adds a*x to dst: dst[i] += a*x[i].
func Axpy(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] += float32(a * v)
	}
}
