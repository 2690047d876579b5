#include "textflag.h"

// WORD-encoded NEON instructions the Go assembler has no mnemonic for.
// Arguments are vector register numbers.

// SDOT Vd.4S, Vn.16B, Vm.16B (FEAT_DotProd): each int32 lane of d gains
// the sum of four int8 products.
#define SDOT(d, n, m) WORD $(0x4e809400 | (m)<<16 | (n)<<5 | (d))

// SDOTP adds the same 16 products to d without FEAT_DotProd, spread over
// the lanes differently (lane i gets products 2i, 2i+1, 2i+8 and 2i+9
// instead of 4i..4i+3), so only the sum of the four lanes matches SDOT's:
//	smull  v26.8h, vn.8b, vm.8b
//	smull2 v27.8h, vn.16b, vm.16b
//	sadalp vd.4s, v26.8h
//	sadalp vd.4s, v27.8h
// int8*int8 products fit int16. Clobbers V26 and V27.
#define SDOTP(d, n, m) \
	WORD $(0x0e20c000 | (m)<<16 | (n)<<5 | 26) \
	WORD $(0x4e20c000 | (m)<<16 | (n)<<5 | 27) \
	WORD $(0x4e606800 | 26<<5 | (d))           \
	WORD $(0x4e606800 | 27<<5 | (d))

// SCVTF Vd.4S, Vn.4S: int32 lanes to float32.
#define SCVTF4S(d, n) WORD $(0x4e21d800 | (n)<<5 | (d))

// FMLA Vd.4S, Vn.4S, Vm.S[0].
#define FMLAS0(d, n, m) WORD $(0x4f801000 | (m)<<16 | (n)<<5 | (d))

// FADD Vd.4S, Vn.4S, Vm.4S.
#define FADD4S(d, n, m) WORD $(0x4e20d400 | (m)<<16 | (n)<<5 | (d))

// FADDP Vd.4S, Vn.4S, Vm.4S.
#define FADDP4S(d, n, m) WORD $(0x6e20d400 | (m)<<16 | (n)<<5 | (d))

// FADDP Sd, Vn.2S.
#define FADDP2S(d, n) WORD $(0x7e30d800 | (n)<<5 | (d))

// func q8_0_neon_1x1(dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int)
//
// Stores at dst the dot product of nb Q8_0 weight blocks at w with nb Q8_0
// activation blocks at x (34 bytes each: d f16, qs[32] int8); the strides
// are unused. Per block the int32 sum of the 32 products is scaled by
// dx*dy (ggml's names: x the weights, y the activations), as in ggml's NEON
// code; two blocks per iteration feed two float accumulators. SDOT and
// SDOTP leave different partial sums in the lanes, so the two variants may
// differ in the last bits.
TEXT ·q8_0_neon_1x1(SB), NOSPLIT, $0-56
	MOVD  dst+0(FP), R14
	MOVD  w+16(FP), R0
	MOVD  x+32(FP), R1
	MOVD  nb+48(FP), R2
	MOVBU ·useSDOT(SB), R3
	VEOR  V30.B16, V30.B16, V30.B16
	VEOR  V31.B16, V31.B16, V31.B16

pair:
	CMP $2, R2
	BLT tail

	// Scales: F16 = dx0*dy0, F18 = dx1*dy1.
	MOVHU  (R0), R4
	MOVHU  34(R0), R5
	MOVHU  (R1), R6
	MOVHU  34(R1), R7
	FMOVS  R4, F16
	FMOVS  R5, F18
	FMOVS  R6, F17
	FMOVS  R7, F19
	FCVTHS F16, F16
	FCVTHS F17, F17
	FCVTHS F18, F18
	FCVTHS F19, F19
	FMULS  F17, F16, F16
	FMULS  F19, F18, F18

	ADD  $2, R0, R8
	VLD1 (R8), [V0.B16, V1.B16]
	ADD  $36, R0, R8
	VLD1 (R8), [V2.B16, V3.B16]
	ADD  $2, R1, R8
	VLD1 (R8), [V4.B16, V5.B16]
	ADD  $36, R1, R8
	VLD1 (R8), [V6.B16, V7.B16]
	ADD  $68, R0
	ADD  $68, R1

	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	CBZ  R3, pairplain
	SDOT(20, 0, 4)
	SDOT(20, 1, 5)
	SDOT(21, 2, 6)
	SDOT(21, 3, 7)
	B    pairsum

pairplain:
	SDOTP(20, 0, 4)
	SDOTP(20, 1, 5)
	SDOTP(21, 2, 6)
	SDOTP(21, 3, 7)

pairsum:
	SCVTF4S(20, 20)
	SCVTF4S(21, 21)
	FMLAS0(30, 20, 16)
	FMLAS0(31, 21, 18)
	SUB $2, R2
	B   pair

tail:
	CBZ R2, done
	MOVHU  (R0), R4
	MOVHU  (R1), R6
	FMOVS  R4, F16
	FMOVS  R6, F17
	FCVTHS F16, F16
	FCVTHS F17, F17
	FMULS  F17, F16, F16
	ADD    $2, R0, R8
	VLD1   (R8), [V0.B16, V1.B16]
	ADD    $2, R1, R8
	VLD1   (R8), [V4.B16, V5.B16]
	VEOR   V20.B16, V20.B16, V20.B16
	CBZ    R3, tailplain
	SDOT(20, 0, 4)
	SDOT(20, 1, 5)
	B      tailsum

tailplain:
	SDOTP(20, 0, 4)
	SDOTP(20, 1, 5)

tailsum:
	SCVTF4S(20, 20)
	FMLAS0(30, 20, 16)

done:
	FADD4S(30, 30, 31)
	FADDP4S(30, 30, 30)
	FADDP2S(0, 30)
	FMOVS F0, (R14)
	RET
