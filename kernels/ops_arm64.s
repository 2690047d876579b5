#include "textflag.h"

// Forward-pass vector ops with NEON (ops.go has the references and the
// contract; ops_arm64.go finishes the last 1..3 values of each slice). The
// Go assembler has no mnemonics for most NEON float instructions: these are
// their encodings (checked with llvm-mc), V registers by number.

#define FMUL4S(d, n, m) WORD $(0x6e20dc00 | (m)<<16 | (n)<<5 | (d))
#define FADD4S(d, n, m) WORD $(0x4e20d400 | (m)<<16 | (n)<<5 | (d))
#define FSUB4S(d, n, m) WORD $(0x4ea0d400 | (m)<<16 | (n)<<5 | (d))
#define FDIV4S(d, n, m) WORD $(0x6e20fc00 | (m)<<16 | (n)<<5 | (d))
#define FMAX4S(d, n, m) WORD $(0x4e20f400 | (m)<<16 | (n)<<5 | (d))
#define FMIN4S(d, n, m) WORD $(0x4ea0f400 | (m)<<16 | (n)<<5 | (d))
#define SMIN4S(d, n, m) WORD $(0x4ea06c00 | (m)<<16 | (n)<<5 | (d))
#define UMAX4S(d, n, m) WORD $(0x6ea06400 | (m)<<16 | (n)<<5 | (d))
#define FADDP4S(d, n, m) WORD $(0x6e20d400 | (m)<<16 | (n)<<5 | (d))
#define FADD2D(d, n, m) WORD $(0x4e60d400 | (m)<<16 | (n)<<5 | (d))
#define FRINTN4S(d, n) WORD $(0x4e218800 | (n)<<5 | (d))
#define FCVTZS4S(d, n) WORD $(0x4ea1b800 | (n)<<5 | (d))
#define FCVTNS4S(d, n) WORD $(0x4e21a800 | (n)<<5 | (d))
#define FCVTAS4S(d, n) WORD $(0x4e21c800 | (n)<<5 | (d))
#define FABS4S(d, n) WORD $(0x4ea0f800 | (n)<<5 | (d))
#define FNEG4S(d, n) WORD $(0x6ea0f800 | (n)<<5 | (d))
#define SSHR4S1(d, n) WORD $(0x4f3f0400 | (n)<<5 | (d))
#define FCVTL2D(d, n) WORD $(0x0e617800 | (n)<<5 | (d))
#define FCVTL22D(d, n) WORD $(0x4e617800 | (n)<<5 | (d))
#define SQXTN4H(d, n) WORD $(0x0e614800 | (n)<<5 | (d))
#define SQXTN28H(d, n) WORD $(0x4e614800 | (n)<<5 | (d))
#define SQXTN8B(d, n) WORD $(0x0e214800 | (n)<<5 | (d))
#define SQXTN216B(d, n) WORD $(0x4e214800 | (n)<<5 | (d))
#define FADDP2S(d, n) WORD $(0x7e30d800 | (n)<<5 | (d))
#define FADDPD(d, n) WORD $(0x7e70d800 | (n)<<5 | (d))
#define FMAXV4S(d, n) WORD $(0x6e30f800 | (n)<<5 | (d))
#define FMINV4S(d, n) WORD $(0x6eb0f800 | (n)<<5 | (d))
#define UMAXV4S(d, n) WORD $(0x6eb0a800 | (n)<<5 | (d))
#define ADDV4S(d, n) WORD $(0x4eb1b800 | (n)<<5 | (d))

// EXPSETUP loads EXP's constants into V16-V28 (clobbers R9).
#define EXPSETUP \
	MOVW $0xc2d00000, R9; VDUP R9, V16.S4; \
	MOVW $0x42b20000, R9; VDUP R9, V17.S4; \
	MOVW $0x3fb8aa3b, R9; VDUP R9, V18.S4; \
	MOVW $0x3f318000, R9; VDUP R9, V19.S4; \
	MOVW $0xb95e8083, R9; VDUP R9, V20.S4; \
	MOVW $0x39506967, R9; VDUP R9, V21.S4; \
	MOVW $0x3ab743ce, R9; VDUP R9, V22.S4; \
	MOVW $0x3c088908, R9; VDUP R9, V23.S4; \
	MOVW $0x3d2aa9c1, R9; VDUP R9, V24.S4; \
	MOVW $0x3e2aaaaa, R9; VDUP R9, V25.S4; \
	MOVW $0x3f000000, R9; VDUP R9, V26.S4; \
	MOVW $0x3f800000, R9; VDUP R9, V27.S4; \
	MOVW $127, R9; VDUP R9, V28.S4

// EXP sets V0 = exp(V0), clobbering V1-V4; the same algorithm as
// ops_amd64.s (Cephes' expf, clamped to [-104, 89], 2^n applied in two
// halves), the same fused Horner steps. FMAX and FMIN propagate NaN.
#define EXP \
	FMAX4S(0, 0, 16); \
	FMIN4S(0, 0, 17); \
	FMUL4S(1, 0, 18); \
	FRINTN4S(1, 1); \
	VFMLS V1.S4, V19.S4, V0.S4; \
	VFMLS V1.S4, V20.S4, V0.S4; \
	VMOV V22.B16, V2.B16; \
	VFMLA V0.S4, V21.S4, V2.S4; \
	VMOV V23.B16, V3.B16; \
	VFMLA V0.S4, V2.S4, V3.S4; \
	VMOV V24.B16, V2.B16; \
	VFMLA V0.S4, V3.S4, V2.S4; \
	VMOV V25.B16, V3.B16; \
	VFMLA V0.S4, V2.S4, V3.S4; \
	VMOV V26.B16, V2.B16; \
	VFMLA V0.S4, V3.S4, V2.S4; \
	FMUL4S(3, 0, 0); \
	VMOV V0.B16, V4.B16; \
	VFMLA V3.S4, V2.S4, V4.S4; \
	FADD4S(4, 4, 27); \
	FCVTZS4S(1, 1); \
	SSHR4S1(3, 1); \
	VSUB V3.S4, V1.S4, V1.S4; \
	VADD V28.S4, V3.S4, V3.S4; \
	VSHL $23, V3.S4, V3.S4; \
	VADD V28.S4, V1.S4, V1.S4; \
	VSHL $23, V1.S4, V1.S4; \
	FMUL4S(4, 4, 3); \
	FMUL4S(0, 4, 1)

// func opsDotNEON(a, b *float32, n int) float32
TEXT ·opsDotNEON(SB), NOSPLIT, $0-28
	MOVD a+0(FP), R0
	MOVD b+8(FP), R1
	MOVD n+16(FP), R2
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16

dot16:
	CMP  $16, R2
	BLT  dot4
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	VFMLA V4.S4, V0.S4, V16.S4
	VFMLA V5.S4, V1.S4, V17.S4
	VFMLA V6.S4, V2.S4, V18.S4
	VFMLA V7.S4, V3.S4, V19.S4
	SUB  $16, R2
	B    dot16

dot4:
	CBZ  R2, dotsum
	VLD1.P 16(R0), [V0.S4]
	VLD1.P 16(R1), [V4.S4]
	VFMLA V4.S4, V0.S4, V17.S4
	SUB  $4, R2
	B    dot4

dotsum:
	FADD4S(16, 16, 17)
	FADD4S(18, 18, 19)
	FADD4S(16, 16, 18)
	FADDP4S(16, 16, 16)
	FADDP2S(0, 16)
	FMOVS F0, ret+24(FP)
	RET

// func opsAxpyNEON(dst *float32, a float32, x *float32, n int)
//
// dst += round(a*x): a multiply then an add (dst first), as AxpyRef.
TEXT ·opsAxpyNEON(SB), NOSPLIT, $0-32
	MOVD  dst+0(FP), R0
	FMOVS a+8(FP), F8
	MOVD  x+16(FP), R1
	MOVD  n+24(FP), R2
	VDUP  V8.S[0], V8.S4

axpy16:
	CMP  $16, R2
	BLT  axpy4
	VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1 (R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	FMUL4S(0, 0, 8)
	FMUL4S(1, 1, 8)
	FMUL4S(2, 2, 8)
	FMUL4S(3, 3, 8)
	FADD4S(4, 4, 0)
	FADD4S(5, 5, 1)
	FADD4S(6, 6, 2)
	FADD4S(7, 7, 3)
	VST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R0)
	SUB  $16, R2
	B    axpy16

axpy4:
	CBZ  R2, axpydone
	VLD1.P 16(R1), [V0.S4]
	VLD1 (R0), [V4.S4]
	FMUL4S(0, 0, 8)
	FADD4S(4, 4, 0)
	VST1.P [V4.S4], 16(R0)
	SUB  $4, R2
	B    axpy4

axpydone:
	RET

// func opsScaleNEON(x *float32, n int, s float32)
TEXT ·opsScaleNEON(SB), NOSPLIT, $0-20
	MOVD  x+0(FP), R0
	MOVD  n+8(FP), R2
	FMOVS s+16(FP), F8
	VDUP  V8.S[0], V8.S4

scale16:
	CMP  $16, R2
	BLT  scale4
	VLD1 (R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	FMUL4S(0, 0, 8)
	FMUL4S(1, 1, 8)
	FMUL4S(2, 2, 8)
	FMUL4S(3, 3, 8)
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)
	SUB  $16, R2
	B    scale16

scale4:
	CBZ  R2, scaledone
	VLD1 (R0), [V0.S4]
	FMUL4S(0, 0, 8)
	VST1.P [V0.S4], 16(R0)
	SUB  $4, R2
	B    scale4

scaledone:
	RET

// func opsSumSquaresNEON(x *float32, n int) float64
//
// Σ float64(float32(x*x)) in four float64 accumulators of two lanes.
TEXT ·opsSumSquaresNEON(SB), NOSPLIT, $0-24
	MOVD x+0(FP), R0
	MOVD n+8(FP), R2
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16

ss8:
	CMP  $8, R2
	BLT  ss4
	VLD1.P 32(R0), [V0.S4, V1.S4]
	FMUL4S(0, 0, 0)
	FMUL4S(1, 1, 1)
	FCVTL2D(2, 0)
	FCVTL22D(3, 0)
	FCVTL2D(4, 1)
	FCVTL22D(5, 1)
	FADD2D(16, 16, 2)
	FADD2D(17, 17, 3)
	FADD2D(18, 18, 4)
	FADD2D(19, 19, 5)
	SUB  $8, R2
	B    ss8

ss4:
	CBZ  R2, sssum
	VLD1.P 16(R0), [V0.S4]
	FMUL4S(0, 0, 0)
	FCVTL2D(2, 0)
	FCVTL22D(3, 0)
	FADD2D(16, 16, 2)
	FADD2D(17, 17, 3)
	SUB  $4, R2
	B    ss4

sssum:
	FADD2D(16, 16, 17)
	FADD2D(18, 18, 19)
	FADD2D(16, 16, 18)
	FADDPD(0, 16)
	FMOVD F0, ret+16(FP)
	RET

// func opsRMSScaleNEON(dst, x, w *float32, n int, s float32)
//
// dst = round(x*s) * w, as rmsScale.
TEXT ·opsRMSScaleNEON(SB), NOSPLIT, $0-36
	MOVD  dst+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  w+16(FP), R3
	MOVD  n+24(FP), R2
	FMOVS s+32(FP), F8
	VDUP  V8.S[0], V8.S4

rms8:
	CMP  $8, R2
	BLT  rms4
	VLD1.P 32(R1), [V0.S4, V1.S4]
	VLD1.P 32(R3), [V2.S4, V3.S4]
	FMUL4S(0, 0, 8)
	FMUL4S(1, 1, 8)
	FMUL4S(0, 0, 2)
	FMUL4S(1, 1, 3)
	VST1.P [V0.S4, V1.S4], 32(R0)
	SUB  $8, R2
	B    rms8

rms4:
	CBZ  R2, rmsdone
	VLD1.P 16(R1), [V0.S4]
	VLD1.P 16(R3), [V2.S4]
	FMUL4S(0, 0, 8)
	FMUL4S(0, 0, 2)
	VST1.P [V0.S4], 16(R0)
	SUB  $4, R2
	B    rms4

rmsdone:
	RET

// func opsMaxNEON(x *float32, n int) float32
//
// n is a positive multiple of 4; FMAX and FMAXV return NaN if any input is
// NaN.
TEXT ·opsMaxNEON(SB), NOSPLIT, $0-20
	MOVD x+0(FP), R0
	MOVD n+8(FP), R2
	VLD1 (R0), [V16.S4]

max4:
	CBZ  R2, maxred
	VLD1.P 16(R0), [V0.S4]
	FMAX4S(16, 16, 0)
	SUB  $4, R2
	B    max4

maxred:
	FMAXV4S(0, 16)
	FMOVS F0, ret+16(FP)
	RET

// func opsExpSubNEON(x *float32, n int, m float32) float32
//
// x = exp(x - m) (EXP), returning the float32 sum of the results.
TEXT ·opsExpSubNEON(SB), NOSPLIT, $0-28
	MOVD  x+0(FP), R0
	MOVD  n+8(FP), R2
	FMOVS m+16(FP), F8
	VDUP  V8.S[0], V8.S4
	EXPSETUP
	VEOR  V29.B16, V29.B16, V29.B16

es4:
	CBZ  R2, essum
	VLD1 (R0), [V0.S4]
	FSUB4S(0, 0, 8)
	EXP
	VST1.P [V0.S4], 16(R0)
	FADD4S(29, 29, 0)
	SUB  $4, R2
	B    es4

essum:
	FADDP4S(29, 29, 29)
	FADDP2S(0, 29)
	FMOVS F0, ret+24(FP)
	RET

// func opsSiLUMulNEON(dst, gate, up *float32, n int)
//
// dst = g / (1 + exp(-g)) * up, the operations of SiLU(g)*up with EXP.
TEXT ·opsSiLUMulNEON(SB), NOSPLIT, $0-32
	MOVD dst+0(FP), R0
	MOVD gate+8(FP), R1
	MOVD up+16(FP), R3
	MOVD n+24(FP), R2
	EXPSETUP

silu4:
	CBZ  R2, siludone
	VLD1.P 16(R1), [V5.S4]
	VLD1.P 16(R3), [V6.S4]
	FNEG4S(0, 5)
	EXP
	FADD4S(0, 0, 27)
	FDIV4S(0, 5, 0)
	FMUL4S(0, 0, 6)
	VST1.P [V0.S4], 16(R0)
	SUB  $4, R2
	B    silu4

siludone:
	RET

// func opsAttnScoresNEON(dst *float32, n int, q *float32, hd int, keys *float32, stride int, scale float32)
//
// dst[t] = scale * q·keys[t*stride:][:hd] for t < n (n > 0, hd a multiple
// of 4): four keys at a time, one accumulator each, reduced together with
// pairwise adds; then one key at a time in the same order of operations.
TEXT ·opsAttnScoresNEON(SB), NOSPLIT, $0-52
	MOVD  dst+0(FP), R0
	MOVD  n+8(FP), R1
	MOVD  q+16(FP), R2
	MOVD  hd+24(FP), R3
	MOVD  keys+32(FP), R4
	MOVD  stride+40(FP), R5
	FMOVS scale+48(FP), F31
	LSL   $2, R5
	VDUP  V31.S[0], V31.S4

as4:
	CMP  $4, R1
	BLT  as1
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	MOVD R4, R6
	ADD  R5, R6, R7
	ADD  R5, R7, R8
	ADD  R5, R8, R9
	MOVD R2, R10
	MOVD R3, R11

as4c:
	CBZ  R11, as4r
	VLD1.P 16(R10), [V0.S4]
	VLD1.P 16(R6), [V1.S4]
	VLD1.P 16(R7), [V2.S4]
	VLD1.P 16(R8), [V3.S4]
	VLD1.P 16(R9), [V4.S4]
	VFMLA V1.S4, V0.S4, V16.S4
	VFMLA V2.S4, V0.S4, V17.S4
	VFMLA V3.S4, V0.S4, V18.S4
	VFMLA V4.S4, V0.S4, V19.S4
	SUB  $4, R11
	B    as4c

as4r:
	FADDP4S(16, 16, 17)
	FADDP4S(18, 18, 19)
	FADDP4S(16, 16, 18)
	FMUL4S(16, 16, 31)
	VST1.P [V16.S4], 16(R0)
	ADD  R5<<2, R4, R4
	SUB  $4, R1
	B    as4

as1:
	CBZ  R1, asdone
	VEOR V16.B16, V16.B16, V16.B16
	MOVD R4, R6
	MOVD R2, R10
	MOVD R3, R11

as1c:
	CBZ  R11, as1r
	VLD1.P 16(R10), [V0.S4]
	VLD1.P 16(R6), [V1.S4]
	VFMLA V1.S4, V0.S4, V16.S4
	SUB  $4, R11
	B    as1c

as1r:
	FADDP4S(16, 16, 16)
	FADDP2S(0, 16)
	FMULS F31, F0, F0
	FMOVS.P F0, 4(R0)
	ADD  R5, R4, R4
	SUB  $1, R1
	B    as1

asdone:
	RET

// func opsAttnValuesNEON(out *float32, hd int, w *float32, n int, values *float32, stride int)
//
// out[i] = Σ_t round(w[t]*values[t*stride+i]) summed in t order from zero,
// for n > 0 and hd a multiple of 4: the columns in chunks of 32 (eight
// accumulators), then 4, each chunk held in registers over all t.
TEXT ·opsAttnValuesNEON(SB), NOSPLIT, $0-48
	MOVD out+0(FP), R0
	MOVD hd+8(FP), R1
	MOVD w+16(FP), R2
	MOVD n+24(FP), R3
	MOVD values+32(FP), R4
	MOVD stride+40(FP), R5
	LSL  $2, R5
	MOVD $0, R6

av:
	SUB  R6, R1, R7
	CMP  $32, R7
	BLT  av4
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16
	ADD  R6<<2, R4, R8
	MOVD R2, R9
	MOVD R3, R10

av32t:
	VLD1R.P 4(R9), [V8.S4]
	VLD1 (R8), [V0.S4, V1.S4, V2.S4, V3.S4]
	ADD  $64, R8, R11
	VLD1 (R11), [V4.S4, V5.S4, V6.S4, V7.S4]
	FMUL4S(0, 0, 8)
	FMUL4S(1, 1, 8)
	FMUL4S(2, 2, 8)
	FMUL4S(3, 3, 8)
	FMUL4S(4, 4, 8)
	FMUL4S(5, 5, 8)
	FMUL4S(6, 6, 8)
	FMUL4S(7, 7, 8)
	FADD4S(16, 16, 0)
	FADD4S(17, 17, 1)
	FADD4S(18, 18, 2)
	FADD4S(19, 19, 3)
	FADD4S(20, 20, 4)
	FADD4S(21, 21, 5)
	FADD4S(22, 22, 6)
	FADD4S(23, 23, 7)
	ADD  R5, R8, R8
	SUB  $1, R10
	CBNZ R10, av32t
	ADD  R6<<2, R0, R11
	VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R11)
	VST1 [V20.S4, V21.S4, V22.S4, V23.S4], (R11)
	ADD  $32, R6
	B    av

av4:
	CMP  $4, R7
	BLT  avdone
	VEOR V16.B16, V16.B16, V16.B16
	ADD  R6<<2, R4, R8
	MOVD R2, R9
	MOVD R3, R10

av4t:
	VLD1R.P 4(R9), [V8.S4]
	VLD1 (R8), [V0.S4]
	FMUL4S(0, 0, 8)
	FADD4S(16, 16, 0)
	ADD  R5, R8, R8
	SUB  $1, R10
	CBNZ R10, av4t
	ADD  R6<<2, R0, R11
	VST1 [V16.S4], (R11)
	ADD  $4, R6
	B    av

avdone:
	RET

// Activation quantizers: as the amd64 ones (see ops_amd64.s and
// quantizeQ8), with FCVTAS (round to nearest, ties away from zero: roundf
// exactly) for Q8_0/Q8_1 and FCVTNS (ties to even: nearest_int) for Q8_K.

// AMAX32 sets R5 to the largest |x| bits of V0-V7 (an unsigned max, which
// orders non-negative floats as float max does); clobbers V8-V15.
#define AMAX32 \
	FABS4S(8, 0); \
	FABS4S(9, 1); \
	FABS4S(10, 2); \
	FABS4S(11, 3); \
	FABS4S(12, 4); \
	FABS4S(13, 5); \
	FABS4S(14, 6); \
	FABS4S(15, 7); \
	UMAX4S(8, 8, 9); \
	UMAX4S(10, 10, 11); \
	UMAX4S(12, 12, 13); \
	UMAX4S(14, 14, 15); \
	UMAX4S(8, 8, 10); \
	UMAX4S(12, 12, 14); \
	UMAX4S(8, 8, 12); \
	UMAXV4S(8, 8); \
	FMOVS F8, R5

// CHECK jumps to done unless 2^-100 <= amax (R5) < +Inf; clobbers R6.
#define CHECK(done) \
	MOVW $0x0d800000, R6; \
	CMPW R6, R5; \
	BLO  done; \
	MOVW $0x7f800000, R6; \
	CMPW R6, R5; \
	BHS  done

// Q8SCALE: F9 = d = amax/127 (stored as F16 at (R1)), V10 = 1/d in all
// lanes; F28 = 127, F29 = 1.
#define Q8SCALE \
	FMOVS  R5, F8; \
	FDIVS  F28, F8, F9; \
	FDIVS  F9, F29, F10; \
	FCVTSH F9, F11; \
	FMOVS  F11, R7; \
	MOVH   R7, (R1); \
	VDUP   V10.S[0], V10.S4

// ROUND8 sets V0-V7 = roundf(V0-V7 * V10) as int32.
#define ROUND8 \
	FMUL4S(0, 0, 10); \
	FMUL4S(1, 1, 10); \
	FMUL4S(2, 2, 10); \
	FMUL4S(3, 3, 10); \
	FMUL4S(4, 4, 10); \
	FMUL4S(5, 5, 10); \
	FMUL4S(6, 6, 10); \
	FMUL4S(7, 7, 10); \
	FCVTAS4S(0, 0); \
	FCVTAS4S(1, 1); \
	FCVTAS4S(2, 2); \
	FCVTAS4S(3, 3); \
	FCVTAS4S(4, 4); \
	FCVTAS4S(5, 5); \
	FCVTAS4S(6, 6); \
	FCVTAS4S(7, 7)

// NARROW8 packs the int32 quants of V0-V7 (in [-127, 127]) into the 32
// bytes of V20, V21 in order; clobbers V16-V19.
#define NARROW8 \
	SQXTN4H(16, 0); \
	SQXTN28H(16, 1); \
	SQXTN4H(17, 2); \
	SQXTN28H(17, 3); \
	SQXTN4H(18, 4); \
	SQXTN28H(18, 5); \
	SQXTN4H(19, 6); \
	SQXTN28H(19, 7); \
	SQXTN8B(20, 16); \
	SQXTN216B(20, 17); \
	SQXTN8B(21, 18); \
	SQXTN216B(21, 19)

// func opsQ8_0NEON(x *float32, dst *byte, nb int) int
TEXT ·opsQ8_0NEON(SB), NOSPLIT, $0-32
	MOVD  x+0(FP), R0
	MOVD  dst+8(FP), R1
	MOVD  nb+16(FP), R2
	MOVD  $0, R3
	MOVW  $0x42fe0000, R9
	FMOVS R9, F28
	MOVW  $0x3f800000, R9
	FMOVS R9, F29

q80:
	CMP  R2, R3
	BGE  q80done
	VLD1 (R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	ADD  $64, R0, R4
	VLD1 (R4), [V4.S4, V5.S4, V6.S4, V7.S4]
	AMAX32
	CHECK(q80done)
	Q8SCALE
	ROUND8
	NARROW8
	ADD  $2, R1, R8
	VST1 [V20.B16, V21.B16], (R8)
	ADD  $128, R0
	ADD  $34, R1
	ADD  $1, R3
	B    q80

q80done:
	MOVD R3, ret+24(FP)
	RET

// func opsQ8_1NEON(x *float32, dst *byte, nb int) int
TEXT ·opsQ8_1NEON(SB), NOSPLIT, $0-32
	MOVD  x+0(FP), R0
	MOVD  dst+8(FP), R1
	MOVD  nb+16(FP), R2
	MOVD  $0, R3
	MOVW  $0x42fe0000, R9
	FMOVS R9, F28
	MOVW  $0x3f800000, R9
	FMOVS R9, F29

q81:
	CMP  R2, R3
	BGE  q81done
	VLD1 (R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	ADD  $64, R0, R4
	VLD1 (R4), [V4.S4, V5.S4, V6.S4, V7.S4]
	AMAX32
	CHECK(q81done)
	Q8SCALE
	ROUND8
	VADD V1.S4, V0.S4, V22.S4
	VADD V3.S4, V2.S4, V23.S4
	VADD V5.S4, V4.S4, V24.S4
	VADD V7.S4, V6.S4, V25.S4
	VADD V23.S4, V22.S4, V22.S4
	VADD V25.S4, V24.S4, V24.S4
	VADD V24.S4, V22.S4, V22.S4
	ADDV4S(22, 22)
	FMOVS  F22, R9
	SCVTFWS R9, F23
	FMULS  F9, F23, F23
	FCVTSH F23, F23
	FMOVS  F23, R9
	MOVH   R9, 2(R1)
	NARROW8
	ADD  $4, R1, R8
	VST1 [V20.B16, V21.B16], (R8)
	ADD  $128, R0
	ADD  $36, R1
	ADD  $1, R3
	B    q81

q81done:
	MOVD R3, ret+24(FP)
	RET

// func opsQ8_KNEON(x *float32, dst *byte, nb int) int
//
// As opsQ8_KAVX2: a first pass for the largest |x| bits and the float max
// and min (which give maxv's sign, or decline), then iscale = -127/maxv, q
// = min(127, FCVTNS(iscale*x)), d = 1/iscale and the bsums.
TEXT ·opsQ8_KNEON(SB), NOSPLIT, $0-32
	MOVD  x+0(FP), R0
	MOVD  dst+8(FP), R1
	MOVD  nb+16(FP), R2
	MOVD  $0, R3
	MOVW  $0x3f800000, R9
	FMOVS R9, F29
	MOVW  $127, R9
	VDUP  R9, V27.S4

q8k:
	CMP  R2, R3
	BGE  q8kdone
	VEOR V24.B16, V24.B16, V24.B16
	VLD1 (R0), [V25.S4]
	VMOV V25.B16, V26.B16
	MOVD R0, R4
	MOVD $8, R13

q8kmax:
	VLD1.P 64(R4), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R4), [V4.S4, V5.S4, V6.S4, V7.S4]
	FABS4S(8, 0)
	FABS4S(9, 1)
	FABS4S(10, 2)
	FABS4S(11, 3)
	FABS4S(12, 4)
	FABS4S(13, 5)
	FABS4S(14, 6)
	FABS4S(15, 7)
	UMAX4S(8, 8, 9)
	UMAX4S(10, 10, 11)
	UMAX4S(12, 12, 13)
	UMAX4S(14, 14, 15)
	UMAX4S(8, 8, 10)
	UMAX4S(12, 12, 14)
	UMAX4S(24, 24, 8)
	UMAX4S(24, 24, 12)
	FMAX4S(8, 0, 1)
	FMAX4S(9, 2, 3)
	FMAX4S(10, 4, 5)
	FMAX4S(11, 6, 7)
	FMAX4S(8, 8, 9)
	FMAX4S(10, 10, 11)
	FMAX4S(25, 25, 8)
	FMAX4S(25, 25, 10)
	FMIN4S(8, 0, 1)
	FMIN4S(9, 2, 3)
	FMIN4S(10, 4, 5)
	FMIN4S(11, 6, 7)
	FMIN4S(8, 8, 9)
	FMIN4S(10, 10, 11)
	FMIN4S(26, 26, 8)
	FMIN4S(26, 26, 10)
	SUB  $1, R13
	CBNZ R13, q8kmax

	UMAXV4S(24, 24)
	FMOVS F24, R5
	CHECK(q8kdone)
	FMAXV4S(25, 25)
	FMOVS F25, R6
	FMINV4S(26, 26)
	FMOVS F26, R7
	ORRW $0x80000000, R5, R8
	CMPW R5, R6
	BNE  q8kneg
	CMPW R8, R7
	BEQ  q8kdone
	MOVW R5, R8

q8kneg:
	FMOVS  R8, F9
	MOVW   $0xc2fe0000, R9
	FMOVS  R9, F10
	FDIVS  F9, F10, F11
	FDIVS  F11, F29, F12
	FMOVS  F12, (R1)
	VDUP   V11.S[0], V11.S4
	MOVD   R0, R4
	ADD    $4, R1, R10
	ADD    $260, R1, R11
	MOVD   $8, R13

q8kq:
	VLD1.P 64(R4), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R4), [V4.S4, V5.S4, V6.S4, V7.S4]
	FMUL4S(0, 0, 11)
	FMUL4S(1, 1, 11)
	FMUL4S(2, 2, 11)
	FMUL4S(3, 3, 11)
	FMUL4S(4, 4, 11)
	FMUL4S(5, 5, 11)
	FMUL4S(6, 6, 11)
	FMUL4S(7, 7, 11)
	FCVTNS4S(0, 0)
	FCVTNS4S(1, 1)
	FCVTNS4S(2, 2)
	FCVTNS4S(3, 3)
	FCVTNS4S(4, 4)
	FCVTNS4S(5, 5)
	FCVTNS4S(6, 6)
	FCVTNS4S(7, 7)
	SMIN4S(0, 0, 27)
	SMIN4S(1, 1, 27)
	SMIN4S(2, 2, 27)
	SMIN4S(3, 3, 27)
	SMIN4S(4, 4, 27)
	SMIN4S(5, 5, 27)
	SMIN4S(6, 6, 27)
	SMIN4S(7, 7, 27)
	VADD V1.S4, V0.S4, V12.S4
	VADD V3.S4, V2.S4, V13.S4
	VADD V13.S4, V12.S4, V12.S4
	ADDV4S(12, 12)
	FMOVS F12, R12
	MOVH  R12, (R11)
	VADD V5.S4, V4.S4, V13.S4
	VADD V7.S4, V6.S4, V14.S4
	VADD V14.S4, V13.S4, V13.S4
	ADDV4S(13, 13)
	FMOVS F13, R12
	MOVH  R12, 2(R11)
	NARROW8
	VST1.P [V20.B16, V21.B16], 32(R10)
	ADD  $4, R11
	SUB  $1, R13
	CBNZ R13, q8kq

	ADD  $1024, R0
	ADD  $292, R1
	ADD  $1, R3
	B    q8k

q8kdone:
	MOVD R3, ret+24(FP)
	RET
