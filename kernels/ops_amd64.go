package kernels

import (
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/tandem-llm/tandem/gguf"
)

// init enables the AVX2+FMA ops (ops_amd64.s) once, on CPUs with AVX2, FMA
// and F16C (the Q8_0/Q8_1 encoders convert their scales with VCVTPS2PH),
// unless TANDEM_KERNELS=generic.
func init() {
	useOps = !forceGeneric && cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
}

// The wrappers take slices whose lengths the exported functions have
// checked; unsafe.SliceData gives the (possibly nil) base of an empty slice,
// which the assembly then does not read.

func opDot(a, b []float32) float32 {
	return opsDotAVX2(unsafe.SliceData(a), unsafe.SliceData(b), len(a))
}

func opAxpy(dst []float32, a float32, x []float32) {
	opsAxpyAVX2(unsafe.SliceData(dst), a, unsafe.SliceData(x), len(dst))
}

func opScale(x []float32, s float32) { opsScaleAVX2(unsafe.SliceData(x), len(x), s) }

func opSumSquares(x []float32) float64 { return opsSumSquaresAVX2(unsafe.SliceData(x), len(x)) }

func opRMSScale(dst, x, w []float32, s float32) {
	opsRMSScaleAVX2(unsafe.SliceData(dst), unsafe.SliceData(x), unsafe.SliceData(w), len(x), s)
}

// opMax returns max(x) as Go's max would fold it: NaN if any value is NaN.
func opMax(x []float32) float32 {
	m := float32(math.Inf(-1))
	n8 := len(x) &^ 7
	if n8 > 0 {
		m = opsMaxAVX2(&x[0], n8)
	}
	for _, v := range x[n8:] {
		m = max(m, v)
	}
	return m
}

// opExpSub sets x[i] = exp(x[i]-m) and returns their float32 sum.
func opExpSub(x []float32, m float32) float32 { return opsExpSubAVX2(unsafe.SliceData(x), len(x), m) }

func opSiLUMul(dst, gate, up []float32) {
	opsSiLUMulAVX2(unsafe.SliceData(dst), unsafe.SliceData(gate), unsafe.SliceData(up), len(dst))
}

func opAttnScores(dst, q, keys []float32, stride int, scale float32) {
	opsAttnScoresAVX2(&dst[0], len(dst), unsafe.SliceData(q), len(q), unsafe.SliceData(keys), stride, scale)
}

func opAttnValues(out, w, values []float32, stride int) {
	opsAttnValuesAVX2(unsafe.SliceData(out), len(out), &w[0], len(w), unsafe.SliceData(values), stride)
}

// opQuantize encodes blocks of x as vt into dst, at most nb of them,
// stopping at the first block the SIMD encoder declines (see quantizeQ8);
// it returns the number of blocks written.
func opQuantize(vt gguf.Type, x []float32, dst []byte, nb int) int {
	bs, bb := vt.BlockSize(), vt.BlockBytes()
	_, _ = x[nb*bs-1], dst[nb*bb-1]
	switch vt {
	case gguf.TypeQ8_0:
		return opsQ8_0AVX2(&x[0], &dst[0], nb)
	case gguf.TypeQ8_1:
		return opsQ8_1AVX2(&x[0], &dst[0], nb)
	case gguf.TypeQ8_K:
		return opsQ8_KAVX2(&x[0], &dst[0], nb)
	}
	return 0
}

// The assembly (ops_amd64.s). Lengths are in float32 values, strides in
// float32 values.

//go:noescape
func opsDotAVX2(a, b *float32, n int) float32

//go:noescape
func opsAxpyAVX2(dst *float32, a float32, x *float32, n int)

//go:noescape
func opsScaleAVX2(x *float32, n int, s float32)

//go:noescape
func opsSumSquaresAVX2(x *float32, n int) float64

//go:noescape
func opsRMSScaleAVX2(dst, x, w *float32, n int, s float32)

// opsMaxAVX2 returns the largest of x[0:n], n a positive multiple of 8, or
// NaN if any is NaN.
//
//go:noescape
func opsMaxAVX2(x *float32, n int) float32

//go:noescape
func opsExpSubAVX2(x *float32, n int, m float32) float32

//go:noescape
func opsSiLUMulAVX2(dst, gate, up *float32, n int)

//go:noescape
func opsAttnScoresAVX2(dst *float32, n int, q *float32, hd int, keys *float32, stride int, scale float32)

//go:noescape
func opsAttnValuesAVX2(out *float32, hd int, w *float32, n int, values *float32, stride int)

//go:noescape
func opsQ8_0AVX2(x *float32, dst *byte, nb int) int

//go:noescape
func opsQ8_1AVX2(x *float32, dst *byte, nb int) int

//go:noescape
func opsQ8_KAVX2(x *float32, dst *byte, nb int) int
