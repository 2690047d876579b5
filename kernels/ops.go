package kernels

import "math"

// Vector helpers for the forward pass. Slices passed together must have the
// same length (the first argument's length is used unless said otherwise).
//
// Each op has a plain-Go reference (the *Ref functions: obviously right,
// products that feed an add rounded to float32 explicitly so that results do
// not depend on whether the platform fuses multiply-adds) and an exported
// fast version that runs per-architecture SIMD (ops_amd64.s with AVX2+FMA,
// ops_arm64.s with NEON) when the CPU has it, chosen once at init; with
// TANDEM_KERNELS=generic, or on other CPUs, the fast versions call the
// references. ops_test.go compares the two (u = 2⁻²⁴):
//
//   - Axpy, Scale, AttnValues: bit for bit (same roundings, same order; NaN
//     payloads aside).
//   - DotF32, AttnScores: float32 lanes with fused multiply-adds instead of
//     an index-order float64 sum: within (n+2)·u·Σ|a_i·b_i| (times |scale|,
//     plus a rounding of the product by scale).
//   - RMSNorm: the squares summed in float64 lanes (the same float64 sum in
//     another order), the rest bit for bit: the float32 mean can differ by
//     a rounding, so outputs are within 2⁻²¹·|ref| (plus 2⁻¹⁴⁸ for
//     subnormal outputs).
//   - Softmax, SiLUMul: a vectorised exp (Cephes expf; within 1 ulp of the
//     correctly rounded float32 exp over its whole range in the tests, 2
//     allowed) and, in Softmax, a float32 sum: within (16+n/8)·u·|ref| for
//     Softmax and 2⁻²⁰·|ref| for SiLUMul (plus small absolute terms for
//     subnormal results, see ops_test.go).

// useOps is set once at init by the architecture files when the CPU has the
// SIMD ops (and TANDEM_KERNELS is not "generic"); the fast versions then run
// the op* functions of ops_<arch>.go.
var useOps bool

// RMSNormRef sets dst[i] = x[i] * scale * w[i] with scale =
// 1/sqrt(mean(x²)+eps), in ggml's order: each square is rounded to float32
// and summed in float64 (ggml's ggml_float), the mean is rounded to float32
// and the rest is float32 arithmetic. dst may alias x.
func RMSNormRef(dst, x, w []float32, eps float32) {
	if len(x) == 0 {
		return
	}
	var sum float64
	for _, v := range x {
		sum += float64(float32(v * v))
	}
	rmsScale(dst, x, w, rmsFactor(sum, len(x), eps))
}

// rmsFactor is RMSNorm's scale from the sum of squares of n values.
func rmsFactor(sum float64, n int, eps float32) float32 {
	mean := float32(sum / float64(n))
	return 1 / sqrt32(mean+eps)
}

// rmsScale sets dst[i] = float32(x[i]*scale) * w[i].
func rmsScale(dst, x, w []float32, scale float32) {
	w, dst = w[:len(x)], dst[:len(x)]
	for i, v := range x {
		dst[i] = float32(v*scale) * w[i]
	}
}

// RMSNorm is RMSNormRef with the sum of squares in SIMD float64 lanes. dst
// may alias x.
func RMSNorm(dst, x, w []float32, eps float32) {
	if !useOps {
		RMSNormRef(dst, x, w, eps)
		return
	}
	if len(x) == 0 {
		return
	}
	w, dst = w[:len(x)], dst[:len(x)]
	opRMSScale(dst, x, w, rmsFactor(opSumSquares(x), len(x), eps))
}

// SoftmaxRef replaces x by softmax(x) in place: exp(x-max) in float32, the
// sum in float64, then a float32 scale by 1/sum, as ggml's soft_max does. A
// slice of all -Inf gives NaNs, as in ggml; so does any NaN or +Inf.
func SoftmaxRef(x []float32) {
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
	ScaleRef(x, float32(1/sum))
}

// Softmax is SoftmaxRef with a vectorised exp and a float32 sum.
func Softmax(x []float32) {
	if !useOps {
		SoftmaxRef(x)
		return
	}
	if len(x) == 0 {
		return
	}
	m := opMax(x)
	sum := opExpSub(x, m)
	opScale(x, 1/sum)
}

// SiLU is x*sigmoid(x), computed as ggml does: x/(1+exp(-x)).
func SiLU(x float32) float32 {
	return x / (1 + float32(math.Exp(float64(-x))))
}

// SiLUMulRef sets dst[i] = SiLU(gate[i]) * up[i], the SwiGLU gating of the
// feed-forward. dst may alias gate or up.
func SiLUMulRef(dst, gate, up []float32) {
	gate, up = gate[:len(dst)], up[:len(dst)]
	for i, g := range gate {
		dst[i] = SiLU(g) * up[i]
	}
}

// SiLUMul is SiLUMulRef with a vectorised exp. dst may alias gate or up.
func SiLUMul(dst, gate, up []float32) {
	gate, up = gate[:len(dst)], up[:len(dst)]
	if !useOps {
		SiLUMulRef(dst, gate, up)
		return
	}
	opSiLUMul(dst, gate, up)
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

// ScaleRef multiplies x by s in place.
func ScaleRef(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// Scale multiplies x by s in place (bit for bit as ScaleRef).
func Scale(x []float32, s float32) {
	if !useOps {
		ScaleRef(x, s)
		return
	}
	opScale(x, s)
}

// DotF32Ref returns Σ a[i]*b[i], accumulated in float64 in index order
// (each product is exact in float64). It is the reference Dot is defined
// against.
func DotF32Ref(a, b []float32) float32 {
	b = b[:len(a)]
	var sum float64
	for i, v := range a {
		sum += float64(v) * float64(b[i])
	}
	return float32(sum)
}

// DotF32 returns Σ a[i]*b[i] summed in float32 SIMD lanes with fused
// multiply-adds; see the package notes above for its distance to DotF32Ref.
func DotF32(a, b []float32) float32 {
	b = b[:len(a)]
	if !useOps {
		return DotF32Ref(a, b)
	}
	return opDot(a, b)
}

// AxpyRef adds a*x to dst: dst[i] += a*x[i], the product rounded to float32
// before the add.
func AxpyRef(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] += float32(a * v)
	}
}

// Axpy is AxpyRef in SIMD lanes, bit for bit.
func Axpy(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	if !useOps {
		AxpyRef(dst, a, x)
		return
	}
	opAxpy(dst, a, x)
}

// Attention helpers. keys and values are rows of a KV cache, row t starting
// at t*stride; the slices passed start at the head's first value, so row t
// of the head is keys[t*stride : t*stride+len(q)].

// checkAttn panics unless n rows of width hd fit in a slice of length l.
func checkAttn(op string, n, hd, stride, l int) {
	if n > 0 && hd > 0 && (stride < 0 || (n-1)*stride+hd > l) {
		panic("kernels: " + op + ": rows do not fit in the cache slice")
	}
}

// AttnScoresRef sets dst[t] = DotF32Ref(q, keys[t*stride:][:len(q)]) * scale
// for t < len(dst): the scaled attention scores of one query head.
func AttnScoresRef(dst, q, keys []float32, stride int, scale float32) {
	checkAttn("AttnScores", len(dst), len(q), stride, len(keys))
	for t := range dst {
		dst[t] = DotF32Ref(q, keys[t*stride:t*stride+len(q)]) * scale
	}
}

// AttnScores is AttnScoresRef with the dots in float32 SIMD lanes (as
// DotF32), four keys at a time.
func AttnScores(dst, q, keys []float32, stride int, scale float32) {
	checkAttn("AttnScores", len(dst), len(q), stride, len(keys))
	if !useOps {
		AttnScoresRef(dst, q, keys, stride, scale)
		return
	}
	if len(dst) == 0 {
		return
	}
	opAttnScores(dst, q, keys, stride, scale)
}

// AttnValuesRef sets out to the attention-weighted sum of value rows:
// out[i] = Σ_t w[t]*values[t*stride+i] over t < len(w), summed in t order
// from zero with each product rounded to float32, which is clear(out)
// followed by AxpyRef(out, w[t], row t) for each t.
func AttnValuesRef(out, w, values []float32, stride int) {
	checkAttn("AttnValues", len(w), len(out), stride, len(values))
	clear(out)
	for t, a := range w {
		AxpyRef(out, a, values[t*stride:t*stride+len(out)])
	}
}

// AttnValues is AttnValuesRef in SIMD lanes, bit for bit, keeping out in
// registers across the rows.
func AttnValues(out, w, values []float32, stride int) {
	checkAttn("AttnValues", len(w), len(out), stride, len(values))
	if !useOps {
		AttnValuesRef(out, w, values, stride)
		return
	}
	if len(w) == 0 {
		clear(out)
		return
	}
	opAttnValues(out, w, values, stride)
}
