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

// DOT4 accumulates V6·V2 into Va, V7·V3 into Vb, V8·V4 into Vc and V9·V5
// into Vd (16 int8 products each), with SDOT when R3 is non-zero and SDOTP
// otherwise. The branches count instructions: 4 SDOT words, then 16 SDOTP
// words.
#define DOT4(a, b, c, d) \
	CBZ R3, 6(PC)  \
	SDOT(a, 6, 2)  \
	SDOT(b, 7, 3)  \
	SDOT(c, 8, 4)  \
	SDOT(d, 9, 5)  \
	JMP 17(PC)     \
	SDOTP(a, 6, 2) \
	SDOTP(b, 7, 3) \
	SDOTP(c, 8, 4) \
	SDOTP(d, 9, 5)

// SXTL Vd.8H, Vn.8B and SXTL2 Vd.8H, Vn.16B.
#define SXTL8H(d, n) WORD $(0x0f08a400 | (n)<<5 | (d))
#define SXTL28H(d, n) WORD $(0x4f08a400 | (n)<<5 | (d))

// SXTL Vd.4S, Vn.4H and SXTL2 Vd.4S, Vn.8H.
#define SXTL4S(d, n) WORD $(0x0f10a400 | (n)<<5 | (d))
#define SXTL24S(d, n) WORD $(0x4f10a400 | (n)<<5 | (d))

// SMULL Vd.4S, Vn.4H, Vm.4H; SMLAL Vd.4S, Vn.4H, Vm.4H;
// SMLAL2 Vd.4S, Vn.8H, Vm.8H.
#define SMULL4S(d, n, m) WORD $(0x0e60c000 | (m)<<16 | (n)<<5 | (d))
#define SMLAL4S(d, n, m) WORD $(0x0e608000 | (m)<<16 | (n)<<5 | (d))
#define SMLAL24S(d, n, m) WORD $(0x4e608000 | (m)<<16 | (n)<<5 | (d))

// MLA Vd.4S, Vn.4S, Vm.4S.
#define MLA4S(d, n, m) WORD $(0x4ea09400 | (m)<<16 | (n)<<5 | (d))

// SCVTF Vd.4S, Vn.4S: int32 lanes to float32.
#define SCVTF4S(d, n) WORD $(0x4e21d800 | (n)<<5 | (d))

// FMLA Vd.4S, Vn.4S, Vm.S[0].
#define FMLAS0(d, n, m) WORD $(0x4f801000 | (m)<<16 | (n)<<5 | (d))

// FADDP Vd.4S, Vn.4S, Vm.4S.
#define FADDP4S(d, n, m) WORD $(0x6e20d400 | (m)<<16 | (n)<<5 | (d))

// FADDP Sd, Vn.2S.
#define FADDP2S(d, n) WORD $(0x7e30d800 | (n)<<5 | (d))

// func q6_k_neon_1x1(dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int)
//
// Stores at dst the dot product of nb Q6_K weight blocks at w (210 bytes:
// ql[128], qh[64], scales[16] int8, d f16) with nb Q8_K activation blocks
// at x (292 bytes: d f32, qs[256], bsums[16] int16); the strides are
// unused. As in ggml, the 6-bit values are used unsigned (0..63) and the
// -32 offset is applied through the bsums:
//
//	dx*dy * (Σ_g sc_g * Σ q6*q8  -  32 * Σ_g sc_g * bsums_g)
//
// over the 16 groups g of 16 values (ggml's names: x the weights, y the
// activations). The group sums are reduced to exact
// int32 totals before the scales apply, so the SDOT and SDOTP variants give
// identical results.
TEXT ·q6_k_neon_1x1(SB), NOSPLIT, $0-56
	MOVD  dst+0(FP), R14
	MOVD  w+16(FP), R0
	MOVD  x+32(FP), R1
	MOVD  nb+48(FP), R2
	MOVBU ·useSDOT(SB), R3
	VEOR  V30.B16, V30.B16, V30.B16
	VMOVI $0x0f, V31.B16
	VMOVI $0x30, V23.B16

block:
	CBZ R2, done

	// F21 = dx*dy.
	FMOVS  (R1), F20
	MOVHU  208(R0), R4
	FMOVS  R4, F21
	FCVTHS F21, F21
	FMULS  F20, F21, F21

	// Scales: int16 in V28 (sc0..7), V29 (sc8..15); then int32 in V24
	// (sc0..3), V25 (sc4..7), V28 (sc8..11), V29 (sc12..15).
	ADD  $192, R0, R10
	VLD1 (R10), [V24.B16]
	SXTL8H(28, 24)
	SXTL28H(29, 24)

	// V20 = -32 * lanes of Σ_g sc_g * bsums_g.
	ADD  $260, R1, R10
	VLD1 (R10), [V16.H8, V17.H8]
	SMULL4S(18, 16, 28)
	SMLAL24S(18, 16, 28)
	SMLAL4S(18, 17, 29)
	SMLAL24S(18, 17, 29)
	VSHL $5, V18.S4, V18.S4
	VEOR V20.B16, V20.B16, V20.B16
	VSUB V18.S4, V20.S4, V20.S4

	SXTL4S(24, 28)
	SXTL24S(25, 28)
	SXTL4S(28, 29)
	SXTL24S(29, 29)

	// Values: ql at R11, qh at R13, activations at R12. Each value is a
	// low-bits nibble with bits 4-5 inserted from qh under the 0x30 mask.
	MOVD R0, R11
	ADD  $128, R0, R13
	ADD  $4, R1, R12

	// Values 0..127: group g (16 values, scale sc[0+g]) sums
	// into V10+g. First the groups whose low bits are in ql[0:32]
	// (0, 1 low nibbles; 4, 5 high), then those in ql[32:64] (2, 3; 6, 7).
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VLD1.P 32(R13), [V18.B16, V19.B16]
	VLD1.P 32(R11), [V0.B16, V1.B16]
	VLD1   (R12), [V2.B16, V3.B16]
	ADD    $64, R12, R10
	VLD1   (R10), [V4.B16, V5.B16]
	VAND   V31.B16, V0.B16, V6.B16
	VAND   V31.B16, V1.B16, V7.B16
	VUSHR  $4, V0.B16, V8.B16
	VUSHR  $4, V1.B16, V9.B16
	VSHL   $4, V18.B16, V22.B16
	VBIT   V23.B16, V22.B16, V6.B16
	VSHL   $4, V19.B16, V22.B16
	VBIT   V23.B16, V22.B16, V7.B16
	VBIT   V23.B16, V18.B16, V8.B16
	VBIT   V23.B16, V19.B16, V9.B16
	DOT4(10, 11, 14, 15)

	VLD1.P 32(R11), [V0.B16, V1.B16]
	ADD    $32, R12, R10
	VLD1   (R10), [V2.B16, V3.B16]
	ADD    $96, R12, R10
	VLD1   (R10), [V4.B16, V5.B16]
	ADD    $128, R12
	VAND   V31.B16, V0.B16, V6.B16
	VAND   V31.B16, V1.B16, V7.B16
	VUSHR  $4, V0.B16, V8.B16
	VUSHR  $4, V1.B16, V9.B16
	VSHL   $2, V18.B16, V22.B16
	VBIT   V23.B16, V22.B16, V6.B16
	VSHL   $2, V19.B16, V22.B16
	VBIT   V23.B16, V22.B16, V7.B16
	VUSHR  $2, V18.B16, V22.B16
	VBIT   V23.B16, V22.B16, V8.B16
	VUSHR  $2, V19.B16, V22.B16
	VBIT   V23.B16, V22.B16, V9.B16
	DOT4(12, 13, 16, 17)

	// V10 = [g0 g1 g2 g3], V14 = [g4 g5 g6 g7]; V20 += scales * sums.
	VADDP V11.S4, V10.S4, V10.S4
	VADDP V13.S4, V12.S4, V12.S4
	VADDP V15.S4, V14.S4, V14.S4
	VADDP V17.S4, V16.S4, V16.S4
	VADDP V12.S4, V10.S4, V10.S4
	VADDP V16.S4, V14.S4, V14.S4
	MLA4S(20, 10, 24)
	MLA4S(20, 14, 25)

	// Values 128..255: group g (16 values, scale sc[8+g]) sums
	// into V10+g. First the groups whose low bits are in ql[0:32]
	// (0, 1 low nibbles; 4, 5 high), then those in ql[32:64] (2, 3; 6, 7).
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VLD1.P 32(R13), [V18.B16, V19.B16]
	VLD1.P 32(R11), [V0.B16, V1.B16]
	VLD1   (R12), [V2.B16, V3.B16]
	ADD    $64, R12, R10
	VLD1   (R10), [V4.B16, V5.B16]
	VAND   V31.B16, V0.B16, V6.B16
	VAND   V31.B16, V1.B16, V7.B16
	VUSHR  $4, V0.B16, V8.B16
	VUSHR  $4, V1.B16, V9.B16
	VSHL   $4, V18.B16, V22.B16
	VBIT   V23.B16, V22.B16, V6.B16
	VSHL   $4, V19.B16, V22.B16
	VBIT   V23.B16, V22.B16, V7.B16
	VBIT   V23.B16, V18.B16, V8.B16
	VBIT   V23.B16, V19.B16, V9.B16
	DOT4(10, 11, 14, 15)

	VLD1.P 32(R11), [V0.B16, V1.B16]
	ADD    $32, R12, R10
	VLD1   (R10), [V2.B16, V3.B16]
	ADD    $96, R12, R10
	VLD1   (R10), [V4.B16, V5.B16]
	ADD    $128, R12
	VAND   V31.B16, V0.B16, V6.B16
	VAND   V31.B16, V1.B16, V7.B16
	VUSHR  $4, V0.B16, V8.B16
	VUSHR  $4, V1.B16, V9.B16
	VSHL   $2, V18.B16, V22.B16
	VBIT   V23.B16, V22.B16, V6.B16
	VSHL   $2, V19.B16, V22.B16
	VBIT   V23.B16, V22.B16, V7.B16
	VUSHR  $2, V18.B16, V22.B16
	VBIT   V23.B16, V22.B16, V8.B16
	VUSHR  $2, V19.B16, V22.B16
	VBIT   V23.B16, V22.B16, V9.B16
	DOT4(12, 13, 16, 17)

	// V10 = [g0 g1 g2 g3], V14 = [g4 g5 g6 g7]; V20 += scales * sums.
	VADDP V11.S4, V10.S4, V10.S4
	VADDP V13.S4, V12.S4, V12.S4
	VADDP V15.S4, V14.S4, V14.S4
	VADDP V17.S4, V16.S4, V16.S4
	VADDP V12.S4, V10.S4, V10.S4
	VADDP V16.S4, V14.S4, V14.S4
	MLA4S(20, 10, 28)
	MLA4S(20, 14, 29)

	SCVTF4S(20, 20)
	FMLAS0(30, 20, 21)

	ADD $210, R0
	ADD $292, R1
	SUB $1, R2
	B   block

done:
	FADDP4S(30, 30, 30)
	FADDP2S(0, 30)
	FMOVS F0, (R14)
	RET
