#include "textflag.h"

// Forward-pass vector ops with AVX2 and FMA (ops.go has the references and
// the contract). Loops take 32 or 8 values at a time; the last 1..7 values
// go through VMASKMOVPS with a lane mask from opsMask (masked-off lanes read
// as zero and are never written, so nothing past a slice is touched).

// MASK loads into Y the lane mask enabling the first r (register, 1..7;
// clobbered) lanes, using tmp.
#define MASK(r, tmp, Y) \
	NEGQ r; \
	LEAQ opsMask<>(SB), tmp; \
	VMOVUPS 32(tmp)(r*4), Y

// HSUM8 sums the 8 lanes of Y0 into X0's low lane: pairs, then quads, then
// the two halves (the order of AttnScores' four-key reduction).
#define HSUM8 \
	VHADDPS Y0, Y0, Y0; \
	VHADDPS Y0, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0

// EXP sets Y0 = exp(Y0), clobbering Y1-Y4; Y9 and Y10 hold opsExpLo and
// opsExpHi. Cephes' expf: x is clamped to [-104, 89] (NaN passes: it is the
// second source of VMAXPS/VMINPS), n = round(x*log2 e), r = x - n*ln 2 in
// two parts, exp(r) = 1 + r + r²·P(r), times 2^n applied as 2^(n>>1) and
// 2^(n-n>>1) so that results that are subnormal (down to x = -104) or
// overflow (x > 88.72) come out right.
#define EXP \
	VMAXPS Y0, Y9, Y0; \
	VMINPS Y0, Y10, Y0; \
	VMULPS opsLog2e<>(SB), Y0, Y1; \
	VROUNDPS $0, Y1, Y1; \
	VFNMADD231PS opsLn2Hi<>(SB), Y1, Y0; \
	VFNMADD231PS opsLn2Lo<>(SB), Y1, Y0; \
	VMOVUPS opsExpP0<>(SB), Y2; \
	VFMADD213PS opsExpP1<>(SB), Y0, Y2; \
	VFMADD213PS opsExpP2<>(SB), Y0, Y2; \
	VFMADD213PS opsExpP3<>(SB), Y0, Y2; \
	VFMADD213PS opsExpP4<>(SB), Y0, Y2; \
	VFMADD213PS opsExpP5<>(SB), Y0, Y2; \
	VMULPS Y0, Y0, Y3; \
	VFMADD213PS Y0, Y3, Y2; \
	VADDPS opsOne<>(SB), Y2, Y2; \
	VCVTPS2DQ Y1, Y1; \
	VPSRAD $1, Y1, Y3; \
	VPSUBD Y3, Y1, Y1; \
	VPADDD opsI127<>(SB), Y3, Y3; \
	VPSLLD $23, Y3, Y3; \
	VPADDD opsI127<>(SB), Y1, Y1; \
	VPSLLD $23, Y1, Y1; \
	VMULPS Y3, Y2, Y2; \
	VMULPS Y1, Y2, Y0

// func opsDotAVX2(a, b *float32, n int) float32
//
// Four accumulators of fused multiply-adds over 32 values, then one over 8.
TEXT ·opsDotAVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

dot32:
	LEAQ 32(AX), DX
	CMPQ DX, CX
	JGT  dot8
	VMOVUPS (SI)(AX*4), Y4
	VMOVUPS 32(SI)(AX*4), Y5
	VMOVUPS 64(SI)(AX*4), Y6
	VMOVUPS 96(SI)(AX*4), Y7
	VFMADD231PS (DI)(AX*4), Y4, Y0
	VFMADD231PS 32(DI)(AX*4), Y5, Y1
	VFMADD231PS 64(DI)(AX*4), Y6, Y2
	VFMADD231PS 96(DI)(AX*4), Y7, Y3
	MOVQ DX, AX
	JMP  dot32

dot8:
	LEAQ 8(AX), DX
	CMPQ DX, CX
	JGT  dottail
	VMOVUPS (SI)(AX*4), Y4
	VFMADD231PS (DI)(AX*4), Y4, Y0
	MOVQ DX, AX
	JMP  dot8

dottail:
	MOVQ CX, DX
	SUBQ AX, DX
	JZ   dotsum
	MASK(DX, R8, Y7)
	VMASKMOVPS (SI)(AX*4), Y7, Y4
	VMASKMOVPS (DI)(AX*4), Y7, Y5
	VFMADD231PS Y5, Y4, Y1

dotsum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func opsAxpyAVX2(dst *float32, a float32, x *float32, n int)
//
// dst += round(a*x): a multiply then an add, as AxpyRef.
TEXT ·opsAxpyAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	VBROADCASTSS a+8(FP), Y8
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	XORQ AX, AX

axpy32:
	LEAQ 32(AX), DX
	CMPQ DX, CX
	JGT  axpy8
	VMULPS (SI)(AX*4), Y8, Y0
	VMULPS 32(SI)(AX*4), Y8, Y1
	VMULPS 64(SI)(AX*4), Y8, Y2
	VMULPS 96(SI)(AX*4), Y8, Y3
	VADDPS (DI)(AX*4), Y0, Y0
	VADDPS 32(DI)(AX*4), Y1, Y1
	VADDPS 64(DI)(AX*4), Y2, Y2
	VADDPS 96(DI)(AX*4), Y3, Y3
	VMOVUPS Y0, (DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	MOVQ DX, AX
	JMP  axpy32

axpy8:
	LEAQ 8(AX), DX
	CMPQ DX, CX
	JGT  axpytail
	VMULPS (SI)(AX*4), Y8, Y0
	VADDPS (DI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	MOVQ DX, AX
	JMP  axpy8

axpytail:
	MOVQ CX, DX
	SUBQ AX, DX
	JZ   axpydone
	MASK(DX, R8, Y7)
	VMASKMOVPS (SI)(AX*4), Y7, Y0
	VMASKMOVPS (DI)(AX*4), Y7, Y1
	VMULPS Y0, Y8, Y0
	VADDPS Y1, Y0, Y0
	VMASKMOVPS Y0, Y7, (DI)(AX*4)

axpydone:
	VZEROUPPER
	RET

// func opsScaleAVX2(x *float32, n int, s float32)
TEXT ·opsScaleAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y8
	XORQ AX, AX

scale32:
	LEAQ 32(AX), DX
	CMPQ DX, CX
	JGT  scale8
	VMULPS (DI)(AX*4), Y8, Y0
	VMULPS 32(DI)(AX*4), Y8, Y1
	VMULPS 64(DI)(AX*4), Y8, Y2
	VMULPS 96(DI)(AX*4), Y8, Y3
	VMOVUPS Y0, (DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	MOVQ DX, AX
	JMP  scale32

scale8:
	LEAQ 8(AX), DX
	CMPQ DX, CX
	JGT  scaletail
	VMULPS (DI)(AX*4), Y8, Y0
	VMOVUPS Y0, (DI)(AX*4)
	MOVQ DX, AX
	JMP  scale8

scaletail:
	MOVQ CX, DX
	SUBQ AX, DX
	JZ   scaledone
	MASK(DX, R8, Y7)
	VMASKMOVPS (DI)(AX*4), Y7, Y0
	VMULPS Y0, Y8, Y0
	VMASKMOVPS Y0, Y7, (DI)(AX*4)

scaledone:
	VZEROUPPER
	RET

// func opsSumSquaresAVX2(x *float32, n int) float64
//
// Σ float64(float32(x*x)): squares rounded to float32 as RMSNormRef, widened
// and summed in four float64 accumulators of four lanes.
TEXT ·opsSumSquaresAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ AX, AX

ss16:
	LEAQ 16(AX), DX
	CMPQ DX, CX
	JGT  ss8
	VMOVUPS (SI)(AX*4), Y4
	VMOVUPS 32(SI)(AX*4), Y6
	VMULPS Y4, Y4, Y4
	VMULPS Y6, Y6, Y6
	VCVTPS2PD X4, Y5
	VEXTRACTF128 $1, Y4, X4
	VCVTPS2PD X4, Y4
	VCVTPS2PD X6, Y7
	VEXTRACTF128 $1, Y6, X6
	VCVTPS2PD X6, Y6
	VADDPD Y5, Y0, Y0
	VADDPD Y4, Y1, Y1
	VADDPD Y7, Y2, Y2
	VADDPD Y6, Y3, Y3
	MOVQ DX, AX
	JMP  ss16

ss8:
	LEAQ 8(AX), DX
	CMPQ DX, CX
	JGT  sstail
	VMOVUPS (SI)(AX*4), Y4
	VMULPS Y4, Y4, Y4
	VCVTPS2PD X4, Y5
	VEXTRACTF128 $1, Y4, X4
	VCVTPS2PD X4, Y4
	VADDPD Y5, Y0, Y0
	VADDPD Y4, Y1, Y1
	MOVQ DX, AX
	JMP  ss8

sstail:
	MOVQ CX, DX
	SUBQ AX, DX
	JZ   sssum
	MASK(DX, R8, Y7)
	VMASKMOVPS (SI)(AX*4), Y7, Y4
	VMULPS Y4, Y4, Y4
	VCVTPS2PD X4, Y5
	VEXTRACTF128 $1, Y4, X4
	VCVTPS2PD X4, Y4
	VADDPD Y5, Y2, Y2
	VADDPD Y4, Y3, Y3

sssum:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
	VMOVSD X0, ret+16(FP)
	VZEROUPPER
	RET

// func opsRMSScaleAVX2(dst, x, w *float32, n int, s float32)
//
// dst = round(x*s) * w, as rmsScale.
TEXT ·opsRMSScaleAVX2(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), BX
	MOVQ n+24(FP), CX
	VBROADCASTSS s+32(FP), Y8
	XORQ AX, AX

rms16:
	LEAQ 16(AX), DX
	CMPQ DX, CX
	JGT  rms8
	VMULPS (SI)(AX*4), Y8, Y0
	VMULPS 32(SI)(AX*4), Y8, Y1
	VMULPS (BX)(AX*4), Y0, Y0
	VMULPS 32(BX)(AX*4), Y1, Y1
	VMOVUPS Y0, (DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	MOVQ DX, AX
	JMP  rms16

rms8:
	LEAQ 8(AX), DX
	CMPQ DX, CX
	JGT  rmstail
	VMULPS (SI)(AX*4), Y8, Y0
	VMULPS (BX)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	MOVQ DX, AX
	JMP  rms8

rmstail:
	MOVQ CX, DX
	SUBQ AX, DX
	JZ   rmsdone
	MASK(DX, R8, Y7)
	VMASKMOVPS (SI)(AX*4), Y7, Y0
	VMASKMOVPS (BX)(AX*4), Y7, Y1
	VMULPS Y0, Y8, Y0
	VMULPS Y1, Y0, Y0
	VMASKMOVPS Y0, Y7, (DI)(AX*4)

rmsdone:
	VZEROUPPER
	RET

// func opsMaxAVX2(x *float32, n int) float32
//
// n is a positive multiple of 8. Any NaN (tracked with an unordered compare)
// makes the result NaN, as folding with Go's max does.
TEXT ·opsMaxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y0
	VXORPS Y2, Y2, Y2
	XORQ AX, AX

max8:
	CMPQ AX, CX
	JGE  maxred
	VMOVUPS (SI)(AX*4), Y1
	VCMPPS $3, Y1, Y1, Y3
	VORPS Y3, Y2, Y2
	VMAXPS Y1, Y0, Y0
	ADDQ $8, AX
	JMP  max8

maxred:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VMOVMSKPS Y2, DX
	TESTL DX, DX
	JZ   maxdone
	MOVL $0x7fc00000, DX
	VMOVD DX, X0

maxdone:
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func opsExpSubAVX2(x *float32, n int, m float32) float32
//
// x = exp(x - m) (EXP), returning the float32 sum of the results.
TEXT ·opsExpSubAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Y8
	VMOVUPS opsExpLo<>(SB), Y9
	VMOVUPS opsExpHi<>(SB), Y10
	VXORPS Y6, Y6, Y6
	XORQ AX, AX

es8:
	LEAQ 8(AX), DX
	CMPQ DX, CX
	JGT  estail
	VMOVUPS (DI)(AX*4), Y0
	VSUBPS Y8, Y0, Y0
	EXP
	VMOVUPS Y0, (DI)(AX*4)
	VADDPS Y0, Y6, Y6
	MOVQ DX, AX
	JMP  es8

estail:
	MOVQ CX, DX
	SUBQ AX, DX
	JZ   essum
	MASK(DX, R8, Y7)
	VMASKMOVPS (DI)(AX*4), Y7, Y0
	VSUBPS Y8, Y0, Y0
	EXP
	VANDPS Y7, Y0, Y0
	VMASKMOVPS Y0, Y7, (DI)(AX*4)
	VADDPS Y0, Y6, Y6

essum:
	VMOVAPS Y6, Y0
	HSUM8
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func opsSiLUMulAVX2(dst, gate, up *float32, n int)
//
// dst = g / (1 + exp(-g)) * up, the operations of SiLU(g)*up with EXP.
TEXT ·opsSiLUMulAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), BX
	MOVQ n+24(FP), CX
	VMOVUPS opsExpLo<>(SB), Y9
	VMOVUPS opsExpHi<>(SB), Y10
	VMOVUPS opsSign<>(SB), Y11
	VMOVUPS opsOne<>(SB), Y12
	XORQ AX, AX

silu8:
	LEAQ 8(AX), DX
	CMPQ DX, CX
	JGT  silutail
	VMOVUPS (SI)(AX*4), Y5
	VXORPS Y11, Y5, Y0
	EXP
	VADDPS Y12, Y0, Y0
	VDIVPS Y0, Y5, Y0
	VMULPS (BX)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	MOVQ DX, AX
	JMP  silu8

silutail:
	MOVQ CX, DX
	SUBQ AX, DX
	JZ   siludone
	MASK(DX, R8, Y7)
	VMASKMOVPS (SI)(AX*4), Y7, Y5
	VMASKMOVPS (BX)(AX*4), Y7, Y6
	VXORPS Y11, Y5, Y0
	EXP
	VADDPS Y12, Y0, Y0
	VDIVPS Y0, Y5, Y0
	VMULPS Y6, Y0, Y0
	VMASKMOVPS Y0, Y7, (DI)(AX*4)

siludone:
	VZEROUPPER
	RET

// func opsAttnScoresAVX2(dst *float32, n int, q *float32, hd int, keys *float32, stride int, scale float32)
//
// dst[t] = scale * q·keys[t*stride:][:hd] for t < n (n > 0): four keys at
// a time, one accumulator each (the 8-lane chunks of q in order, the tail
// chunk masked), reduced together; then one key at a time with the same
// order of operations.
TEXT ·opsAttnScoresAVX2(SB), NOSPLIT, $0-52
	MOVQ dst+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ q+16(FP), SI
	MOVQ hd+24(FP), DX
	MOVQ keys+32(FP), R8
	MOVQ stride+40(FP), R9
	VBROADCASTSS scale+48(FP), X14
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R13
	MOVQ DX, R11
	ANDQ $-8, R11
	MOVQ DX, AX
	SUBQ R11, AX
	NEGQ AX
	LEAQ opsMask<>(SB), R10
	VMOVUPS 32(R10)(AX*4), Y15

as4:
	CMPQ CX, $4
	JLT  as1
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX
	MOVQ R8, BX

as4c:
	CMPQ AX, R11
	JGE  as4t
	VMOVUPS (SI)(AX*4), Y4
	VFMADD231PS (BX), Y4, Y0
	VFMADD231PS (BX)(R9*1), Y4, Y1
	VFMADD231PS (BX)(R9*2), Y4, Y2
	VFMADD231PS (BX)(R13*1), Y4, Y3
	ADDQ $8, AX
	ADDQ $32, BX
	JMP  as4c

as4t:
	CMPQ AX, DX
	JGE  as4r
	VMASKMOVPS (SI)(AX*4), Y15, Y4
	VMASKMOVPS (BX), Y15, Y5
	VMASKMOVPS (BX)(R9*1), Y15, Y6
	VMASKMOVPS (BX)(R9*2), Y15, Y7
	VMASKMOVPS (BX)(R13*1), Y15, Y8
	VFMADD231PS Y5, Y4, Y0
	VFMADD231PS Y6, Y4, Y1
	VFMADD231PS Y7, Y4, Y2
	VFMADD231PS Y8, Y4, Y3

as4r:
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMULPS X14, X0, X0
	VMOVUPS X0, (DI)
	ADDQ $16, DI
	LEAQ (R8)(R9*4), R8
	SUBQ $4, CX
	JMP  as4

as1:
	TESTQ CX, CX
	JZ   asdone
	VXORPS Y0, Y0, Y0
	XORQ AX, AX
	MOVQ R8, BX

as1c:
	CMPQ AX, R11
	JGE  as1t
	VMOVUPS (SI)(AX*4), Y4
	VFMADD231PS (BX), Y4, Y0
	ADDQ $8, AX
	ADDQ $32, BX
	JMP  as1c

as1t:
	CMPQ AX, DX
	JGE  as1r
	VMASKMOVPS (SI)(AX*4), Y15, Y4
	VMASKMOVPS (BX), Y15, Y5
	VFMADD231PS Y5, Y4, Y0

as1r:
	HSUM8
	VMULSS X14, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R9, R8
	DECQ CX
	JMP  as1

asdone:
	VZEROUPPER
	RET

// func opsAttnValuesAVX2(out *float32, hd int, w *float32, n int, values *float32, stride int)
//
// out[i] = Σ_t round(w[t]*values[t*stride+i]) summed in t order from zero,
// for n > 0: the columns in chunks of 64 (eight accumulators), then 8, then
// a masked chunk of the last 1..7, each chunk held in registers over all t.
TEXT ·opsAttnValuesAVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ hd+8(FP), DX
	MOVQ w+16(FP), SI
	MOVQ n+24(FP), CX
	MOVQ values+32(FP), R8
	MOVQ stride+40(FP), R9
	SHLQ $2, R9
	XORQ BX, BX

av:
	MOVQ DX, AX
	SUBQ BX, AX
	CMPQ AX, $64
	JLT  av8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	LEAQ (R8)(BX*4), R10
	XORQ R11, R11

av64t:
	VBROADCASTSS (SI)(R11*4), Y8
	VMULPS (R10), Y8, Y9
	VMULPS 32(R10), Y8, Y10
	VMULPS 64(R10), Y8, Y11
	VMULPS 96(R10), Y8, Y12
	VADDPS Y9, Y0, Y0
	VADDPS Y10, Y1, Y1
	VADDPS Y11, Y2, Y2
	VADDPS Y12, Y3, Y3
	VMULPS 128(R10), Y8, Y9
	VMULPS 160(R10), Y8, Y10
	VMULPS 192(R10), Y8, Y11
	VMULPS 224(R10), Y8, Y12
	VADDPS Y9, Y4, Y4
	VADDPS Y10, Y5, Y5
	VADDPS Y11, Y6, Y6
	VADDPS Y12, Y7, Y7
	ADDQ R9, R10
	INCQ R11
	CMPQ R11, CX
	JLT  av64t
	VMOVUPS Y0, (DI)(BX*4)
	VMOVUPS Y1, 32(DI)(BX*4)
	VMOVUPS Y2, 64(DI)(BX*4)
	VMOVUPS Y3, 96(DI)(BX*4)
	VMOVUPS Y4, 128(DI)(BX*4)
	VMOVUPS Y5, 160(DI)(BX*4)
	VMOVUPS Y6, 192(DI)(BX*4)
	VMOVUPS Y7, 224(DI)(BX*4)
	ADDQ $64, BX
	JMP  av

av8:
	CMPQ AX, $8
	JLT  avtail
	VXORPS Y0, Y0, Y0
	LEAQ (R8)(BX*4), R10
	XORQ R11, R11

av8t:
	VBROADCASTSS (SI)(R11*4), Y8
	VMULPS (R10), Y8, Y9
	VADDPS Y9, Y0, Y0
	ADDQ R9, R10
	INCQ R11
	CMPQ R11, CX
	JLT  av8t
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ $8, BX
	JMP  av

avtail:
	TESTQ AX, AX
	JZ   avdone
	MASK(AX, R12, Y15)
	VXORPS Y0, Y0, Y0
	LEAQ (R8)(BX*4), R10
	XORQ R11, R11

avtt:
	VBROADCASTSS (SI)(R11*4), Y8
	VMASKMOVPS (R10), Y15, Y9
	VMULPS Y9, Y8, Y9
	VADDPS Y9, Y0, Y0
	ADDQ R9, R10
	INCQ R11
	CMPQ R11, CX
	JLT  avtt
	VMASKMOVPS Y0, Y15, (DI)(BX*4)

avdone:
	VZEROUPPER
	RET

// Activation quantizers. Each encodes up to nb blocks and returns how many
// it wrote, stopping at the first block it declines (see quantizeQ8 in
// vecdot.go): NaN or Inf (|x| bits >= 0x7f800000) or a largest magnitude
// below 2^-100 (bits 0x0d800000), and for Q8_K a largest magnitude held
// with both signs.

// AMAX32 sets BX to the largest |x| bits of Y0-Y3 (an integer max, which
// orders non-negative floats as float max does) and X4 to that float;
// clobbers Y5-Y7. Y12 holds opsAbs.
#define AMAX32 \
	VANDPS Y12, Y0, Y4; \
	VANDPS Y12, Y1, Y5; \
	VANDPS Y12, Y2, Y6; \
	VANDPS Y12, Y3, Y7; \
	VPMAXSD Y5, Y4, Y4; \
	VPMAXSD Y7, Y6, Y6; \
	VPMAXSD Y6, Y4, Y4; \
	VEXTRACTI128 $1, Y4, X5; \
	VPMAXSD X5, X4, X4; \
	VPSHUFD $0x4e, X4, X5; \
	VPMAXSD X5, X4, X4; \
	VPSHUFD $0xb1, X4, X5; \
	VPMAXSD X5, X4, X4; \
	VMOVD X4, BX

// ROUNDQ sets Y = roundf(Y*Y6) as int32: round half away from zero as
// trunc(y + copysign(0.49999997, y)), exact for every float32 y (a fraction
// below 0.5 never rounds the sum up to the next integer, one of 0.5 or more
// always does); Y13 and Y14 hold opsSign and opsHalf; clobbers Y8.
#define ROUNDQ(Y) \
	VMULPS Y6, Y, Y; \
	VANDPS Y13, Y, Y8; \
	VORPS Y14, Y8, Y8; \
	VADDPS Y8, Y, Y; \
	VCVTTPS2DQ Y, Y

// PACK32 packs the int32 quants of Y0-Y3 (all in [-127, 127]) into the 32
// bytes of Y0 in order; Y11 holds opsPerm.
#define PACK32 \
	VPACKSSDW Y1, Y0, Y0; \
	VPACKSSDW Y3, Y2, Y2; \
	VPACKSSWB Y2, Y0, Y0; \
	VPERMD Y0, Y11, Y0

// Q8SETUP loads the constants of the Q8_0/Q8_1 encoders: X9 = 1, X10 = 127.
#define Q8SETUP \
	VMOVUPS opsAbs<>(SB), Y12; \
	VMOVUPS opsSign<>(SB), Y13; \
	VMOVUPS opsHalf<>(SB), Y14; \
	VMOVUPS opsPerm<>(SB), Y11; \
	MOVL $0x3f800000, R8; \
	VMOVD R8, X9; \
	MOVL $0x42fe0000, R8; \
	VMOVD R8, X10

// Q8SCALE checks the block's amax (BX, X4), jumping to done if declined;
// otherwise X5 = d = amax/127 (stored as F16 at (DI)), Y6 = 1/d in all
// lanes.
#define Q8SCALE(done) \
	CMPL BX, $0x0d800000; \
	JLT  done; \
	CMPL BX, $0x7f800000; \
	JGE  done; \
	VDIVSS X10, X4, X5; \
	VDIVSS X5, X9, X6; \
	VCVTPS2PH $0, X5, X7; \
	VMOVD X7, R8; \
	MOVW R8, (DI); \
	VBROADCASTSS X6, Y6

// func opsQ8_0AVX2(x *float32, dst *byte, nb int) int
//
// quantize_row_q8_0_ref: d = amax/127, q = roundf(x * (1/d)).
TEXT ·opsQ8_0AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ nb+16(FP), CX
	XORQ AX, AX
	Q8SETUP

q80:
	CMPQ AX, CX
	JGE  q80done
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	AMAX32
	Q8SCALE(q80done)
	ROUNDQ(Y0)
	ROUNDQ(Y1)
	ROUNDQ(Y2)
	ROUNDQ(Y3)
	PACK32
	VMOVDQU Y0, 2(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	INCQ AX
	JMP  q80

q80done:
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

// func opsQ8_1AVX2(x *float32, dst *byte, nb int) int
//
// quantize_row_q8_1_ref: Q8_0's d and quants, plus s = F16(float32(Σq)*d).
TEXT ·opsQ8_1AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ nb+16(FP), CX
	XORQ AX, AX
	Q8SETUP

q81:
	CMPQ AX, CX
	JGE  q81done
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	AMAX32
	Q8SCALE(q81done)
	ROUNDQ(Y0)
	ROUNDQ(Y1)
	ROUNDQ(Y2)
	ROUNDQ(Y3)
	VPADDD Y1, Y0, Y4
	VPADDD Y3, Y2, Y7
	VPADDD Y7, Y4, Y4
	VEXTRACTI128 $1, Y4, X7
	VPADDD X7, X4, X4
	VPSHUFD $0x4e, X4, X7
	VPADDD X7, X4, X4
	VPSHUFD $0xb1, X4, X7
	VPADDD X7, X4, X4
	VCVTDQ2PS X4, X4
	VMULSS X5, X4, X4
	VCVTPS2PH $0, X4, X4
	VMOVD X4, R8
	MOVW R8, 2(DI)
	PACK32
	VMOVDQU Y0, 4(DI)
	ADDQ $128, SI
	ADDQ $36, DI
	INCQ AX
	JMP  q81

q81done:
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

// func opsQ8_KAVX2(x *float32, dst *byte, nb int) int
//
// quantize_row_q8_K_ref: maxv is the value of largest magnitude, iscale =
// -127/maxv, q = min(127, nearest_int(iscale*x)) (VCVTPS2DQ rounds to
// nearest even, as nearest_int does below 2^22), d = 1/iscale, and bsums
// the sums of 16 quants. A first pass finds the largest |x| bits and the
// float max and min; maxv is +amax if only the max reaches it, -amax if
// only the min does (both: declined).
TEXT ·opsQ8_KAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ nb+16(FP), CX
	XORQ AX, AX
	VMOVUPS opsAbs<>(SB), Y12
	VMOVUPS opsPerm<>(SB), Y11
	VMOVUPS opsI127<>(SB), Y13

q8k:
	CMPQ AX, CX
	JGE  q8kdone
	VXORPS Y8, Y8, Y8
	VMOVUPS (SI), Y9
	VMOVAPS Y9, Y10
	XORQ R9, R9

q8kmax:
	VMOVUPS (SI)(R9*1), Y0
	VMOVUPS 32(SI)(R9*1), Y1
	VMOVUPS 64(SI)(R9*1), Y2
	VMOVUPS 96(SI)(R9*1), Y3
	VANDPS Y12, Y0, Y4
	VANDPS Y12, Y1, Y5
	VANDPS Y12, Y2, Y6
	VANDPS Y12, Y3, Y7
	VPMAXSD Y4, Y8, Y8
	VPMAXSD Y5, Y8, Y8
	VPMAXSD Y6, Y8, Y8
	VPMAXSD Y7, Y8, Y8
	VMAXPS Y0, Y9, Y9
	VMAXPS Y1, Y9, Y9
	VMAXPS Y2, Y9, Y9
	VMAXPS Y3, Y9, Y9
	VMINPS Y0, Y10, Y10
	VMINPS Y1, Y10, Y10
	VMINPS Y2, Y10, Y10
	VMINPS Y3, Y10, Y10
	ADDQ $128, R9
	CMPQ R9, $1024
	JLT  q8kmax

	VEXTRACTI128 $1, Y8, X4
	VPMAXSD X4, X8, X8
	VPSHUFD $0x4e, X8, X4
	VPMAXSD X4, X8, X8
	VPSHUFD $0xb1, X8, X4
	VPMAXSD X4, X8, X8
	VMOVD X8, BX
	CMPL BX, $0x0d800000
	JLT  q8kdone
	CMPL BX, $0x7f800000
	JGE  q8kdone
	VEXTRACTF128 $1, Y9, X4
	VMAXPS X4, X9, X9
	VPSHUFD $0x4e, X9, X4
	VMAXPS X4, X9, X9
	VPSHUFD $0xb1, X9, X4
	VMAXPS X4, X9, X9
	VMOVD X9, R10
	VEXTRACTF128 $1, Y10, X4
	VMINPS X4, X10, X10
	VPSHUFD $0x4e, X10, X4
	VMINPS X4, X10, X10
	VPSHUFD $0xb1, X10, X4
	VMINPS X4, X10, X10
	VMOVD X10, R11
	MOVL BX, R12
	ORL  $0x80000000, R12
	CMPL R10, BX
	JNE  q8kneg
	CMPL R11, R12
	JEQ  q8kdone
	MOVL BX, R12

q8kneg:
	VMOVD R12, X4
	MOVL $0xc2fe0000, R8
	VMOVD R8, X5
	VDIVSS X4, X5, X6
	MOVL $0x3f800000, R8
	VMOVD R8, X5
	VDIVSS X6, X5, X7
	VMOVSS X7, (DI)
	VBROADCASTSS X6, Y6
	XORQ R9, R9
	LEAQ 4(DI), R12
	LEAQ 260(DI), R13

q8kq:
	VMULPS (SI)(R9*1), Y6, Y0
	VMULPS 32(SI)(R9*1), Y6, Y1
	VMULPS 64(SI)(R9*1), Y6, Y2
	VMULPS 96(SI)(R9*1), Y6, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPMINSD Y13, Y0, Y0
	VPMINSD Y13, Y1, Y1
	VPMINSD Y13, Y2, Y2
	VPMINSD Y13, Y3, Y3
	VPADDD Y1, Y0, Y4
	VPADDD Y3, Y2, Y5
	VPHADDD Y5, Y4, Y4
	VPHADDD Y4, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPADDD X5, X4, X4
	VPACKSSDW X4, X4, X4
	VMOVD X4, (R13)
	PACK32
	VMOVDQU Y0, (R12)
	ADDQ $32, R12
	ADDQ $4, R13
	ADDQ $128, R9
	CMPQ R9, $1024
	JLT  q8kq

	ADDQ $1024, SI
	ADDQ $292, DI
	INCQ AX
	JMP  q8k

q8kdone:
	MOVQ AX, ret+24(FP)
	VZEROUPPER
	RET

// opsMask: eight all-ones lanes then eight zero lanes; the 8 lanes at
// byte 32-4r enable the first r.
DATA opsMask<>+0(SB)/4, $0xffffffff
DATA opsMask<>+4(SB)/4, $0xffffffff
DATA opsMask<>+8(SB)/4, $0xffffffff
DATA opsMask<>+12(SB)/4, $0xffffffff
DATA opsMask<>+16(SB)/4, $0xffffffff
DATA opsMask<>+20(SB)/4, $0xffffffff
DATA opsMask<>+24(SB)/4, $0xffffffff
DATA opsMask<>+28(SB)/4, $0xffffffff
DATA opsMask<>+32(SB)/4, $0x00000000
DATA opsMask<>+36(SB)/4, $0x00000000
DATA opsMask<>+40(SB)/4, $0x00000000
DATA opsMask<>+44(SB)/4, $0x00000000
DATA opsMask<>+48(SB)/4, $0x00000000
DATA opsMask<>+52(SB)/4, $0x00000000
DATA opsMask<>+56(SB)/4, $0x00000000
DATA opsMask<>+60(SB)/4, $0x00000000
GLOBL opsMask<>(SB), RODATA|NOPTR, $64

// opsAbs: |x| mask
DATA opsAbs<>+0(SB)/8, $0x7fffffff7fffffff
DATA opsAbs<>+8(SB)/8, $0x7fffffff7fffffff
DATA opsAbs<>+16(SB)/8, $0x7fffffff7fffffff
DATA opsAbs<>+24(SB)/8, $0x7fffffff7fffffff
GLOBL opsAbs<>(SB), RODATA|NOPTR, $32

// opsSign: sign bits
DATA opsSign<>+0(SB)/8, $0x8000000080000000
DATA opsSign<>+8(SB)/8, $0x8000000080000000
DATA opsSign<>+16(SB)/8, $0x8000000080000000
DATA opsSign<>+24(SB)/8, $0x8000000080000000
GLOBL opsSign<>(SB), RODATA|NOPTR, $32

// opsHalf: 0.49999997, the float below 0.5
DATA opsHalf<>+0(SB)/8, $0x3effffff3effffff
DATA opsHalf<>+8(SB)/8, $0x3effffff3effffff
DATA opsHalf<>+16(SB)/8, $0x3effffff3effffff
DATA opsHalf<>+24(SB)/8, $0x3effffff3effffff
GLOBL opsHalf<>(SB), RODATA|NOPTR, $32

// opsPerm: VPERMD order undoing VPACKSSDW/VPACKSSWB's lane interleave
DATA opsPerm<>+0(SB)/8, $0x0000000400000000
DATA opsPerm<>+8(SB)/8, $0x0000000500000001
DATA opsPerm<>+16(SB)/8, $0x0000000600000002
DATA opsPerm<>+24(SB)/8, $0x0000000700000003
GLOBL opsPerm<>(SB), RODATA|NOPTR, $32

// opsI127: int32 127
DATA opsI127<>+0(SB)/8, $0x0000007f0000007f
DATA opsI127<>+8(SB)/8, $0x0000007f0000007f
DATA opsI127<>+16(SB)/8, $0x0000007f0000007f
DATA opsI127<>+24(SB)/8, $0x0000007f0000007f
GLOBL opsI127<>(SB), RODATA|NOPTR, $32

// opsExpLo: -104: exp is 0 in float32 below
DATA opsExpLo<>+0(SB)/8, $0xc2d00000c2d00000
DATA opsExpLo<>+8(SB)/8, $0xc2d00000c2d00000
DATA opsExpLo<>+16(SB)/8, $0xc2d00000c2d00000
DATA opsExpLo<>+24(SB)/8, $0xc2d00000c2d00000
GLOBL opsExpLo<>(SB), RODATA|NOPTR, $32

// opsExpHi: 89: exp is +Inf in float32 above
DATA opsExpHi<>+0(SB)/8, $0x42b2000042b20000
DATA opsExpHi<>+8(SB)/8, $0x42b2000042b20000
DATA opsExpHi<>+16(SB)/8, $0x42b2000042b20000
DATA opsExpHi<>+24(SB)/8, $0x42b2000042b20000
GLOBL opsExpHi<>(SB), RODATA|NOPTR, $32

// opsLog2e: log2(e)
DATA opsLog2e<>+0(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA opsLog2e<>+8(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA opsLog2e<>+16(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA opsLog2e<>+24(SB)/8, $0x3fb8aa3b3fb8aa3b
GLOBL opsLog2e<>(SB), RODATA|NOPTR, $32

// opsLn2Hi: ln 2 = ln2hi + ln2lo (Cephes)
DATA opsLn2Hi<>+0(SB)/8, $0x3f3180003f318000
DATA opsLn2Hi<>+8(SB)/8, $0x3f3180003f318000
DATA opsLn2Hi<>+16(SB)/8, $0x3f3180003f318000
DATA opsLn2Hi<>+24(SB)/8, $0x3f3180003f318000
GLOBL opsLn2Hi<>(SB), RODATA|NOPTR, $32

DATA opsLn2Lo<>+0(SB)/8, $0xb95e8083b95e8083
DATA opsLn2Lo<>+8(SB)/8, $0xb95e8083b95e8083
DATA opsLn2Lo<>+16(SB)/8, $0xb95e8083b95e8083
DATA opsLn2Lo<>+24(SB)/8, $0xb95e8083b95e8083
GLOBL opsLn2Lo<>(SB), RODATA|NOPTR, $32

// opsExpP0: Cephes expf polynomial
DATA opsExpP0<>+0(SB)/8, $0x3950696739506967
DATA opsExpP0<>+8(SB)/8, $0x3950696739506967
DATA opsExpP0<>+16(SB)/8, $0x3950696739506967
DATA opsExpP0<>+24(SB)/8, $0x3950696739506967
GLOBL opsExpP0<>(SB), RODATA|NOPTR, $32

DATA opsExpP1<>+0(SB)/8, $0x3ab743ce3ab743ce
DATA opsExpP1<>+8(SB)/8, $0x3ab743ce3ab743ce
DATA opsExpP1<>+16(SB)/8, $0x3ab743ce3ab743ce
DATA opsExpP1<>+24(SB)/8, $0x3ab743ce3ab743ce
GLOBL opsExpP1<>(SB), RODATA|NOPTR, $32

DATA opsExpP2<>+0(SB)/8, $0x3c0889083c088908
DATA opsExpP2<>+8(SB)/8, $0x3c0889083c088908
DATA opsExpP2<>+16(SB)/8, $0x3c0889083c088908
DATA opsExpP2<>+24(SB)/8, $0x3c0889083c088908
GLOBL opsExpP2<>(SB), RODATA|NOPTR, $32

DATA opsExpP3<>+0(SB)/8, $0x3d2aa9c13d2aa9c1
DATA opsExpP3<>+8(SB)/8, $0x3d2aa9c13d2aa9c1
DATA opsExpP3<>+16(SB)/8, $0x3d2aa9c13d2aa9c1
DATA opsExpP3<>+24(SB)/8, $0x3d2aa9c13d2aa9c1
GLOBL opsExpP3<>(SB), RODATA|NOPTR, $32

DATA opsExpP4<>+0(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA opsExpP4<>+8(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA opsExpP4<>+16(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA opsExpP4<>+24(SB)/8, $0x3e2aaaaa3e2aaaaa
GLOBL opsExpP4<>(SB), RODATA|NOPTR, $32

DATA opsExpP5<>+0(SB)/8, $0x3f0000003f000000
DATA opsExpP5<>+8(SB)/8, $0x3f0000003f000000
DATA opsExpP5<>+16(SB)/8, $0x3f0000003f000000
DATA opsExpP5<>+24(SB)/8, $0x3f0000003f000000
GLOBL opsExpP5<>(SB), RODATA|NOPTR, $32

// opsOne: 1.0
DATA opsOne<>+0(SB)/8, $0x3f8000003f800000
DATA opsOne<>+8(SB)/8, $0x3f8000003f800000
DATA opsOne<>+16(SB)/8, $0x3f8000003f800000
DATA opsOne<>+24(SB)/8, $0x3f8000003f800000
GLOBL opsOne<>(SB), RODATA|NOPTR, $32

