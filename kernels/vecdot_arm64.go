package kernels

import (
	"encoding/binary"
	"math"
	"os"

	"golang.org/x/sys/cpu"

	"github.com/tandem-llm/tandem/gguf"
)

// useSDOT selects the FEAT_DotProd (SDOT) instruction sequences in the NEON
// kernels; without it they use SMULL/SADALP, which give the same int32 sums.
// Set once by init from the CPU's features; the assembly reads it.
var useSDOT bool

// init picks the arm64 kernels once: "neon-dotprod" where the CPU has
// FEAT_DotProd, else "neon" (Advanced SIMD is part of the arm64 baseline).
// TANDEM_KERNELS=generic keeps the references; TANDEM_KERNELS=neon forces
// the SMULL/SADALP kernels, to test them on CPUs with FEAT_DotProd.
func init() {
	if forceGeneric {
		return
	}
	useSDOT = cpu.ARM64.HasASIMDDP && os.Getenv("TANDEM_KERNELS") != "neon"
	set := kernelSet{name: "neon"}
	if useSDOT {
		set.name = "neon-dotprod"
	}
	add := func(t gguf.Type, chunk int, k11, k41 neonTile, R, C int, kRC, kR1, k1C neonTile) {
		k := &neonTiled{t: t, chunk: chunk, k11: k11, k41: k41, R: R, C: C, kRC: kRC, kR1: kR1, k1C: k1C,
			floatTail: t == gguf.TypeF32 || t == gguf.TypeF16}
		set.byType[t] = &qKernels{dot: k.dot, matVec: k.matVec, matMul: k.matMul}
	}
	add(gguf.TypeQ8_0, 32, nQ8_0_1x1, 0, 1, 1, 0, 0, 0)
	add(gguf.TypeQ4_0, 32, nQ4_0_1x1, 0, 1, 1, 0, 0, 0)
	add(gguf.TypeQ4_K, 256, nQ4_K_1x1, 0, 1, 1, 0, 0, 0)
	add(gguf.TypeQ5_K, 256, nQ5_K_1x1, 0, 1, 1, 0, 0, 0)
	add(gguf.TypeQ6_K, 256, nQ6_K_1x1, 0, 1, 1, 0, 0, 0)
	add(gguf.TypeF32, 16, nF32_1x1, 0, 1, 1, 0, 0, 0)
	add(gguf.TypeF16, 16, nF16_1x1, 0, 1, 1, 0, 0, 0)
	dispatch = set
}

// neonTile names an arm64 tile kernel (callNEON runs it): the dots of R
// weight rows (at w + r*wstride) with C activation rows (at x + c*xstride)
// over nb units of the type (blocks, or 16-value chunks for the float
// types), stored at dst + c*dstride + 4*r (dstride in bytes). Every shape
// runs the same per-pair instruction sequence as the 1x1 kernel, so all
// shapes agree bit for bit. Kernels are named by number and called through
// a switch, not through func values, so that escape analysis sees direct
// calls to //go:noescape functions and nothing here allocates.
type neonTile int

const (
	_ neonTile = iota
	nQ8_0_1x1
	nQ4_0_1x1
	nQ4_K_1x1
	nQ5_K_1x1
	nQ6_K_1x1
	nF32_1x1
	nF16_1x1
)

// callNEON runs tile kernel f.
func callNEON(f neonTile, dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int) {
	switch f {
	case nQ8_0_1x1:
		q8_0_neon_1x1(dst, dstride, w, wstride, x, xstride, nb)
	case nQ4_0_1x1:
		q4_0_neon_1x1(dst, dstride, w, wstride, x, xstride, nb)
	case nQ4_K_1x1:
		q4_k_neon_1x1(dst, dstride, w, wstride, x, xstride, nb)
	case nQ5_K_1x1:
		q5_k_neon_1x1(dst, dstride, w, wstride, x, xstride, nb)
	case nQ6_K_1x1:
		q6_k_neon_1x1(dst, dstride, w, wstride, x, xstride, nb)
	case nF32_1x1:
		f32_neon_1x1(dst, dstride, w, wstride, x, xstride, nb)
	case nF16_1x1:
		f16_neon_1x1(dst, dstride, w, wstride, x, xstride, nb)
	default:
		panic("kernels: bad NEON tile kernel")
	}
}

// neonTiled drives a type's tile kernels: k41 for MatVecQ (4 rows per pass
// over the activations; 0 if there is none), kRC and its edges kR1/k1C for
// MatMulQ (R = C = 1 if there are none), k11 for the rest.
type neonTiled struct {
	t             gguf.Type
	chunk         int // values per nb unit
	k11, k41      neonTile
	R, C          int
	kRC, kR1, k1C neonTile
	floatTail     bool // the float types: values past the last chunk are summed in Go
}

func (k *neonTiled) dot(row, xq []byte, n int) float32 {
	var out [1]float32
	k.run(k.k11, k.k11, k.k11, k.k11, 1, 1, out[:], 1, row, 0, xq, 0, 1, 1, n)
	return out[0]
}

func (k *neonTiled) matVec(dst []float32, w, xq []byte, n int) {
	if k.k41 == 0 {
		k.run(k.k11, k.k11, k.k11, k.k11, 1, 1, dst, len(dst), w, k.t.RowBytes(n), xq, 0, len(dst), 1, n)
		return
	}
	k.run(k.k41, k.k41, k.k11, k.k11, 4, 1, dst, len(dst), w, k.t.RowBytes(n), xq, 0, len(dst), 1, n)
}

func (k *neonTiled) matMul(dst []float32, w, xq []byte, n, B int) {
	rows := len(dst) / B
	k.run(k.kRC, k.kR1, k.k1C, k.k11, k.R, k.C, dst, rows, w, k.t.RowBytes(n), xq, VecDotType(k.t).RowBytes(n), rows, B, n)
}

// run covers the rows x cols output (dst[c*ld+r]) with R x C tiles, then
// Rx1 / 1xC / 1x1 tiles at the edges. Rows are the outer loop so that a
// tile's weight rows stay in L1 while every activation row passes by.
func (k *neonTiled) run(kRC, kR1, k1C, k11 neonTile, R, C int, dst []float32, ld int,
	w []byte, ws int, x []byte, xs int, rows, cols, n int) {
	if rows == 0 || cols == 0 {
		return
	}
	if n == 0 {
		for c := range cols {
			clear(dst[c*ld : c*ld+rows])
		}
		return
	}
	nb := n / k.chunk
	for r := 0; r < rows; {
		rr := min(R, rows-r)
		if rr < R {
			rr = 1
		}
		for c := 0; c < cols; {
			cc := min(C, cols-c)
			if cc < C {
				cc = 1
			}
			f := k11
			switch {
			case rr > 1 && cc > 1:
				f = kRC
			case rr > 1:
				f = kR1
			case cc > 1:
				f = k1C
			}
			_ = dst[(c+cc-1)*ld+r+rr-1] // the kernel writes within dst
			callNEON(f, &dst[c*ld+r], uintptr(4*ld), &w[r*ws], uintptr(ws), &x[c*xs], uintptr(xs), nb)
			if k.floatTail && n%k.chunk != 0 {
				for j := range cc {
					for i := range rr {
						dst[(c+j)*ld+r+i] += k.tail(w[(r+i)*ws:], x[(c+j)*xs:], nb*k.chunk, n)
					}
				}
			}
			c += cc
		}
		r += rr
	}
}

// tail is the float types' sum of products for values [n0, n), in float32
// with each product rounded, as the SIMD loops' scalar leftovers.
func (k *neonTiled) tail(w, x []byte, n0, n int) float32 {
	var s float32
	for i := n0; i < n; i++ {
		var a, b float32
		if k.t == gguf.TypeF32 {
			a = math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:]))
			b = math.Float32frombits(binary.LittleEndian.Uint32(x[4*i:]))
		} else {
			a, b = loadF16(w[2*i:]), loadF16(x[2*i:])
		}
		s += float32(a * b)
	}
	return s
}

// The assembly kernels (q*_arm64.s, f*_arm64.s). The 1x1 kernels ignore the
// strides.

//go:noescape
func q8_0_neon_1x1(dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int)

//go:noescape
func q4_0_neon_1x1(dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int)

//go:noescape
func q4_k_neon_1x1(dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int)

//go:noescape
func q5_k_neon_1x1(dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int)

//go:noescape
func q6_k_neon_1x1(dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int)

//go:noescape
func f32_neon_1x1(dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int)

//go:noescape
func f16_neon_1x1(dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int)
