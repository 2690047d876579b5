package kernels

import (
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
	// Only 1x1 kernels so far: MatVecQ runs them row after row and MatMulQ
	// loops over the activation rows.
	add := func(t gguf.Type, chunk int, k11 tileFunc) {
		k := &tiled{t: t, chunk: chunk, k11: k11, kmv: k11, kmvLong: k11, mvR: 1, R: 1, C: 1, kRC: k11, kR1: k11, k1C: k11,
			floatTail: t.BlockSize() == 1}
		set.byType[t] = k.kernels()
	}
	add(gguf.TypeQ8_0, 32, nQ8_0_1x1)
	add(gguf.TypeQ4_0, 32, nQ4_0_1x1)
	add(gguf.TypeQ4_K, 256, nQ4_K_1x1)
	add(gguf.TypeQ5_K, 256, nQ5_K_1x1)
	add(gguf.TypeQ6_K, 256, nQ6_K_1x1)
	add(gguf.TypeF32, 16, nF32_1x1)
	add(gguf.TypeF16, 16, nF16_1x1)
	dispatch = set
}

// The NEON kernels, run by callTile (see tileFunc in vecdot_tiles.go).
const (
	_ tileFunc = iota
	nQ8_0_1x1
	nQ4_0_1x1
	nQ4_K_1x1
	nQ5_K_1x1
	nQ6_K_1x1
	nF32_1x1
	nF16_1x1
)

// callTile runs tile kernel f.
func callTile(f tileFunc, dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int) {
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
		panic("kernels: no tile kernel")
	}
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
