#include "textflag.h"

// WORD-encoded NEON instructions the Go assembler has no mnemonic for.

// FADD Vd.4S, Vn.4S, Vm.4S.
#define FADD4S(d, n, m) WORD $(0x4e20d400 | (m)<<16 | (n)<<5 | (d))

// FADDP Vd.4S, Vn.4S, Vm.4S.
#define FADDP4S(d, n, m) WORD $(0x6e20d400 | (m)<<16 | (n)<<5 | (d))

// FADDP Sd, Vn.2S.
#define FADDP2S(d, n) WORD $(0x7e30d800 | (n)<<5 | (d))

// func f32_neon_1x1(dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int)
//
// Dot product of 16*nb F32 weights at w with 16*nb F32 activations at x,
// stored at dst: four lanes of fused multiply-adds per 4 values, in four
// accumulators, summed at the end. The caller adds any values past the last
// chunk of 16.
TEXT ·f32_neon_1x1(SB), NOSPLIT, $0-56
	MOVD dst+0(FP), R14
	MOVD w+16(FP), R0
	MOVD x+32(FP), R1
	MOVD nb+48(FP), R2
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16

loop:
	CBZ    R2, done
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	VFMLA  V4.S4, V0.S4, V16.S4
	VFMLA  V5.S4, V1.S4, V17.S4
	VFMLA  V6.S4, V2.S4, V18.S4
	VFMLA  V7.S4, V3.S4, V19.S4
	SUB    $1, R2
	B      loop

done:
	FADD4S(16, 16, 17)
	FADD4S(18, 18, 19)
	FADD4S(16, 16, 18)
	FADDP4S(16, 16, 16)
	FADDP2S(0, 16)
	FMOVS F0, (R14)
	RET
