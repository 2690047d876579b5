#include "textflag.h"

// func streamRead(p *byte, n int) uint64
//
// The streaming-read baseline of BenchmarkStreamRead: XORs n bytes at p
// (n a positive multiple of 256) into a 64-bit fold, 256 bytes per
// iteration in four independent ymm chains, with a non-temporal prefetch of
// each line 256 bytes ahead (the fastest of the plain read loops measured
// on Zen 4: no prefetch, T0 prefetch, zmm loads, longer distances).
TEXT ·streamRead(SB), NOSPLIT, $0-24
	MOVQ  p+0(FP), SI
	MOVQ  n+8(FP), BX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

loop:
	PREFETCHNTA 256(SI)
	PREFETCHNTA 320(SI)
	PREFETCHNTA 384(SI)
	PREFETCHNTA 448(SI)
	VPXOR       0(SI), Y0, Y0
	VPXOR       32(SI), Y1, Y1
	VPXOR       64(SI), Y2, Y2
	VPXOR       96(SI), Y3, Y3
	VPXOR       128(SI), Y0, Y0
	VPXOR       160(SI), Y1, Y1
	VPXOR       192(SI), Y2, Y2
	VPXOR       224(SI), Y3, Y3
	ADDQ        $256, SI
	SUBQ        $256, BX
	JNZ         loop
	VPXOR       Y1, Y0, Y0
	VPXOR       Y3, Y2, Y2
	VPXOR       Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPXOR       X1, X0, X0
	VPSRLDQ     $8, X0, X1
	VPXOR       X1, X0, X0
	VMOVQ       X0, AX
	VZEROUPPER
	MOVQ        AX, ret+16(FP)
	RET
