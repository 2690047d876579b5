package kernels

import (
	"math"
	"unsafe"

	"github.com/tandem-llm/tandem/gguf"
)

// init enables the NEON ops (ops_arm64.s; Advanced SIMD is part of the
// arm64 baseline) unless TANDEM_KERNELS=generic.
func init() {
	useOps = !forceGeneric
}

// The assembly takes multiples of 4 values (one vector); the wrappers
// finish the last 1..3: in Go with the references' operations where the op
// is exact (Axpy, Scale, AttnValues, the RMSNorm scaling), through a padded
// 4-value buffer for the exp-based ops (so every value sees the same exp),
// and as float32 or float64 sums where the fast op already sums in another
// order (DotF32, AttnScores, the sum of squares).

func opDot(a, b []float32) float32 {
	n4 := len(a) &^ 3
	s := opsDotNEON(unsafe.SliceData(a), unsafe.SliceData(b), n4)
	for i := n4; i < len(a); i++ {
		s += float32(a[i] * b[i])
	}
	return s
}

func opAxpy(dst []float32, a float32, x []float32) {
	n4 := len(dst) &^ 3
	opsAxpyNEON(unsafe.SliceData(dst), a, unsafe.SliceData(x), n4)
	AxpyRef(dst[n4:], a, x[n4:])
}

func opScale(x []float32, s float32) {
	n4 := len(x) &^ 3
	opsScaleNEON(unsafe.SliceData(x), n4, s)
	ScaleRef(x[n4:], s)
}

func opSumSquares(x []float32) float64 {
	n4 := len(x) &^ 3
	s := opsSumSquaresNEON(unsafe.SliceData(x), n4)
	for _, v := range x[n4:] {
		s += float64(float32(v * v))
	}
	return s
}

func opRMSScale(dst, x, w []float32, s float32) {
	n4 := len(x) &^ 3
	opsRMSScaleNEON(unsafe.SliceData(dst), unsafe.SliceData(x), unsafe.SliceData(w), n4, s)
	rmsScale(dst[n4:], x[n4:], w[n4:], s)
}

// opMax returns max(x) as Go's max would fold it: NaN if any value is NaN
// (FMAX propagates NaN).
func opMax(x []float32) float32 {
	m := float32(math.Inf(-1))
	n4 := len(x) &^ 3
	if n4 > 0 {
		m = opsMaxNEON(&x[0], n4)
	}
	for _, v := range x[n4:] {
		m = max(m, v)
	}
	return m
}

// opExpSub sets x[i] = exp(x[i]-m) and returns their float32 sum. The tail
// is padded with -Inf, whose exp adds nothing.
func opExpSub(x []float32, m float32) float32 {
	n4 := len(x) &^ 3
	s := opsExpSubNEON(unsafe.SliceData(x), n4, m)
	if n4 < len(x) {
		var buf [4]float32
		for i := range buf {
			buf[i] = float32(math.Inf(-1))
		}
		copy(buf[:], x[n4:])
		s += opsExpSubNEON(&buf[0], 4, m)
		copy(x[n4:], buf[:])
	}
	return s
}

func opSiLUMul(dst, gate, up []float32) {
	n4 := len(dst) &^ 3
	opsSiLUMulNEON(unsafe.SliceData(dst), unsafe.SliceData(gate), unsafe.SliceData(up), n4)
	if n4 < len(dst) {
		var g, u [4]float32
		copy(g[:], gate[n4:])
		copy(u[:], up[n4:])
		opsSiLUMulNEON(&g[0], &g[0], &u[0], 4)
		copy(dst[n4:], g[:])
	}
}

func opAttnScores(dst, q, keys []float32, stride int, scale float32) {
	hd, hd4 := len(q), len(q)&^3
	if hd4 == hd {
		opsAttnScoresNEON(&dst[0], len(dst), unsafe.SliceData(q), hd4, unsafe.SliceData(keys), stride, scale)
		return
	}
	opsAttnScoresNEON(&dst[0], len(dst), unsafe.SliceData(q), hd4, unsafe.SliceData(keys), stride, 1)
	for t := range dst {
		s := dst[t]
		for i := hd4; i < hd; i++ {
			s += float32(q[i] * keys[t*stride+i])
		}
		dst[t] = s * scale
	}
}

func opAttnValues(out, w, values []float32, stride int) {
	hd, hd4 := len(out), len(out)&^3
	opsAttnValuesNEON(unsafe.SliceData(out), hd4, &w[0], len(w), unsafe.SliceData(values), stride)
	for i := hd4; i < hd; i++ {
		var s float32
		for t, a := range w {
			s += float32(a * values[t*stride+i])
		}
		out[i] = s
	}
}

// opQuantize encodes blocks of x as vt into dst, at most nb of them,
// stopping at the first block the SIMD encoder declines (see quantizeQ8);
// it returns the number of blocks written.
func opQuantize(vt gguf.Type, x []float32, dst []byte, nb int) int {
	bs, bb := vt.BlockSize(), vt.BlockBytes()
	_, _ = x[nb*bs-1], dst[nb*bb-1]
	switch vt {
	case gguf.TypeQ8_0:
		return opsQ8_0NEON(&x[0], &dst[0], nb)
	case gguf.TypeQ8_1:
		return opsQ8_1NEON(&x[0], &dst[0], nb)
	case gguf.TypeQ8_K:
		return opsQ8_KNEON(&x[0], &dst[0], nb)
	}
	return 0
}

// The assembly (ops_arm64.s). n, hd: multiples of 4 values; strides in
// float32 values.

//go:noescape
func opsDotNEON(a, b *float32, n int) float32

//go:noescape
func opsAxpyNEON(dst *float32, a float32, x *float32, n int)

//go:noescape
func opsScaleNEON(x *float32, n int, s float32)

//go:noescape
func opsSumSquaresNEON(x *float32, n int) float64

//go:noescape
func opsRMSScaleNEON(dst, x, w *float32, n int, s float32)

//go:noescape
func opsMaxNEON(x *float32, n int) float32

//go:noescape
func opsExpSubNEON(x *float32, n int, m float32) float32

//go:noescape
func opsSiLUMulNEON(dst, gate, up *float32, n int)

//go:noescape
func opsAttnScoresNEON(dst *float32, n int, q *float32, hd int, keys *float32, stride int, scale float32)

//go:noescape
func opsAttnValuesNEON(out *float32, hd int, w *float32, n int, values *float32, stride int)

//go:noescape
func opsQ8_0NEON(x *float32, dst *byte, nb int) int

//go:noescape
func opsQ8_1NEON(x *float32, dst *byte, nb int) int

//go:noescape
func opsQ8_KNEON(x *float32, dst *byte, nb int) int
