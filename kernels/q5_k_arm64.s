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

// SMULL Vd.4S, Vn.4H, Vm.4H.
#define SMULL4S(d, n, m) WORD $(0x0e60c000 | (m)<<16 | (n)<<5 | (d))

// SMLAL2 Vd.4S, Vn.8H, Vm.8H.
#define SMLAL24S(d, n, m) WORD $(0x4e608000 | (m)<<16 | (n)<<5 | (d))

// MUL Vd.4S, Vn.4S, Vm.4S.
#define MUL4S(d, n, m) WORD $(0x4ea09c00 | (m)<<16 | (n)<<5 | (d))

// MLA Vd.4S, Vn.4S, Vm.4S.
#define MLA4S(d, n, m) WORD $(0x4ea09400 | (m)<<16 | (n)<<5 | (d))

// SCVTF Vd.4S, Vn.4S: int32 lanes to float32.
#define SCVTF4S(d, n) WORD $(0x4e21d800 | (n)<<5 | (d))

// FMLA Vd.4S, Vn.4S, Vm.S[0].
#define FMLAS0(d, n, m) WORD $(0x4f801000 | (m)<<16 | (n)<<5 | (d))

// FMLS Vd.4S, Vn.4S, Vm.S[0].
#define FMLSS0(d, n, m) WORD $(0x4f805000 | (m)<<16 | (n)<<5 | (d))

// FADDP Vd.4S, Vn.4S, Vm.4S.
#define FADDP4S(d, n, m) WORD $(0x6e20d400 | (m)<<16 | (n)<<5 | (d))

// FADDP Sd, Vn.2S.
#define FADDP2S(d, n) WORD $(0x7e30d800 | (n)<<5 | (d))

// func q5_k_neon_1x1(dst *float32, dstride uintptr, w *byte, wstride uintptr, x *byte, xstride uintptr, nb int)
//
// Stores at dst the dot product of nb Q5_K weight blocks at w (176 bytes:
// d f16, dmin f16, scales[12], qh[32], qs[128]) with nb Q8_K activation
// blocks at x, as q4_k_neon_1x1 with the 5th bit of each value taken from
// qh.
TEXT ·q5_k_neon_1x1(SB), NOSPLIT, $0-56
	MOVD  dst+0(FP), R14
	MOVD  w+16(FP), R0
	MOVD  x+32(FP), R1
	MOVD  nb+48(FP), R2
	MOVBU ·useSDOT(SB), R3
	VEOR  V30.B16, V30.B16, V30.B16
	VMOVI $0x0f, V31.B16
	VMOVI $0x10, V23.B16

block:
	CBZ R2, done

	// F21 = dy*dx, F22 = dy*dmin.
	FMOVS  (R1), F20
	MOVHU  (R0), R4
	MOVHU  2(R0), R5
	FMOVS  R4, F21
	FMOVS  R5, F22
	FCVTHS F21, F21
	FCVTHS F22, F22
	FMULS  F20, F21, F21
	FMULS  F20, F22, F22

	// Unpack the 6-bit scales (R4, R9) and mins (R8, R7), four per word.
	MOVWU 4(R0), R4
	MOVWU 8(R0), R5
	MOVWU 12(R0), R6
	LSRW  $4, R6, R7
	ANDW  $0x0f0f0f0f, R7
	LSRW  $6, R5, R8
	ANDW  $0x03030303, R8
	ORRW  R8<<4, R7, R7
	ANDW  $0x3f3f3f3f, R5, R8
	ANDW  $0x0f0f0f0f, R6, R9
	LSRW  $6, R4, R10
	ANDW  $0x03030303, R10
	ORRW  R10<<4, R9, R9
	ANDW  $0x3f3f3f3f, R4, R4
	VMOV  R4, V24.S[0]
	VMOV  R9, V24.S[1]
	VMOV  R8, V25.S[0]
	VMOV  R7, V25.S[1]

	// Mins: V18 = lanes of Σ_j m_j * (bsums[2j] + bsums[2j+1]);
	// acc -= dy*dmin * V18.
	ADD   $260, R1, R10
	VLD1  (R10), [V16.H8, V17.H8]
	VADDP V17.H8, V16.H8, V16.H8
	VUXTL V25.B8, V25.H8
	SMULL4S(18, 16, 25)
	SMLAL24S(18, 16, 25)
	SCVTF4S(18, 18)
	FMLSS0(30, 18, 22)

	// Scales as int32: V28 = sc0..3, V29 = sc4..7.
	VUXTL  V24.B8, V24.H8
	VUXTL  V24.H4, V28.S4
	VUXTL2 V24.H8, V29.S4

	// Sub-block sums: V10+2i (low nibbles) and V11+2i (high nibbles) for
	// each 64 values i; qh[0:32] in V18, V19 gives bits 2i and 2i+1, moved
	// to bit 4 and inserted under the 0x10 mask (BIT).
	ADD  $48, R0, R11
	ADD  $4, R1, R12
	ADD  $16, R0, R10
	VLD1 (R10), [V18.B16, V19.B16]
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16

	VLD1.P 32(R11), [V0.B16, V1.B16]
	VLD1.P 64(R12), [V2.B16, V3.B16, V4.B16, V5.B16]
	VAND   V31.B16, V0.B16, V6.B16
	VAND   V31.B16, V1.B16, V7.B16
	VUSHR  $4, V0.B16, V8.B16
	VUSHR  $4, V1.B16, V9.B16
	// 5th bits: bit 0 of qh for the low nibbles, bit 1 for the high.
	VSHL   $4, V18.B16, V24.B16
	VSHL   $4, V19.B16, V25.B16
	VBIT   V23.B16, V24.B16, V6.B16
	VBIT   V23.B16, V25.B16, V7.B16
	VSHL   $3, V18.B16, V24.B16
	VSHL   $3, V19.B16, V25.B16
	VBIT   V23.B16, V24.B16, V8.B16
	VBIT   V23.B16, V25.B16, V9.B16
	DOT4(10, 10, 11, 11)

	VLD1.P 32(R11), [V0.B16, V1.B16]
	VLD1.P 64(R12), [V2.B16, V3.B16, V4.B16, V5.B16]
	VAND   V31.B16, V0.B16, V6.B16
	VAND   V31.B16, V1.B16, V7.B16
	VUSHR  $4, V0.B16, V8.B16
	VUSHR  $4, V1.B16, V9.B16
	// 5th bits: bit 2 of qh for the low nibbles, bit 3 for the high.
	VSHL   $2, V18.B16, V24.B16
	VSHL   $2, V19.B16, V25.B16
	VBIT   V23.B16, V24.B16, V6.B16
	VBIT   V23.B16, V25.B16, V7.B16
	VSHL   $1, V18.B16, V24.B16
	VSHL   $1, V19.B16, V25.B16
	VBIT   V23.B16, V24.B16, V8.B16
	VBIT   V23.B16, V25.B16, V9.B16
	DOT4(12, 12, 13, 13)

	VLD1.P 32(R11), [V0.B16, V1.B16]
	VLD1.P 64(R12), [V2.B16, V3.B16, V4.B16, V5.B16]
	VAND   V31.B16, V0.B16, V6.B16
	VAND   V31.B16, V1.B16, V7.B16
	VUSHR  $4, V0.B16, V8.B16
	VUSHR  $4, V1.B16, V9.B16
	// 5th bits: bit 4 of qh for the low nibbles, bit 5 for the high.
	VBIT   V23.B16, V18.B16, V6.B16
	VBIT   V23.B16, V19.B16, V7.B16
	VUSHR  $1, V18.B16, V24.B16
	VUSHR  $1, V19.B16, V25.B16
	VBIT   V23.B16, V24.B16, V8.B16
	VBIT   V23.B16, V25.B16, V9.B16
	DOT4(14, 14, 15, 15)

	VLD1.P 32(R11), [V0.B16, V1.B16]
	VLD1.P 64(R12), [V2.B16, V3.B16, V4.B16, V5.B16]
	VAND   V31.B16, V0.B16, V6.B16
	VAND   V31.B16, V1.B16, V7.B16
	VUSHR  $4, V0.B16, V8.B16
	VUSHR  $4, V1.B16, V9.B16
	// 5th bits: bit 6 of qh for the low nibbles, bit 7 for the high.
	VUSHR  $2, V18.B16, V24.B16
	VUSHR  $2, V19.B16, V25.B16
	VBIT   V23.B16, V24.B16, V6.B16
	VBIT   V23.B16, V25.B16, V7.B16
	VUSHR  $3, V18.B16, V24.B16
	VUSHR  $3, V19.B16, V25.B16
	VBIT   V23.B16, V24.B16, V8.B16
	VBIT   V23.B16, V25.B16, V9.B16
	DOT4(16, 16, 17, 17)

	// Lane totals: V10 = [s0 s1 s2 s3], V14 = [s4 s5 s6 s7]; scale, sum
	// into 4 int32 lanes, acc += dy*dx * lanes.
	VADDP V11.S4, V10.S4, V10.S4
	VADDP V13.S4, V12.S4, V12.S4
	VADDP V15.S4, V14.S4, V14.S4
	VADDP V17.S4, V16.S4, V16.S4
	VADDP V12.S4, V10.S4, V10.S4
	VADDP V16.S4, V14.S4, V14.S4
	MUL4S(10, 10, 28)
	MLA4S(10, 14, 29)
	SCVTF4S(10, 10)
	FMLAS0(30, 10, 21)

	ADD $176, R0
	ADD $292, R1
	SUB $1, R2
	B   block

done:
	FADDP4S(30, 30, 30)
	FADDP2S(0, 30)
	FMOVS F0, (R14)
	RET
