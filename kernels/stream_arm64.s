#include "textflag.h"

// func streamRead(p *byte, n int) uint64
//
// The streaming-read baseline of BenchmarkStreamRead: XORs n bytes at p
// (n a positive multiple of 256) into a 64-bit fold, 64 bytes per load in
// four independent chains.
TEXT ·streamRead(SB), NOSPLIT, $0-24
	MOVD p+0(FP), R0
	MOVD n+8(FP), R1
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16

loop:
	VLD1.P 64(R0), [V4.B16, V5.B16, V6.B16, V7.B16]
	VLD1.P 64(R0), [V16.B16, V17.B16, V18.B16, V19.B16]
	VEOR   V4.B16, V0.B16, V0.B16
	VEOR   V5.B16, V1.B16, V1.B16
	VEOR   V6.B16, V2.B16, V2.B16
	VEOR   V7.B16, V3.B16, V3.B16
	VEOR   V16.B16, V0.B16, V0.B16
	VEOR   V17.B16, V1.B16, V1.B16
	VEOR   V18.B16, V2.B16, V2.B16
	VEOR   V19.B16, V3.B16, V3.B16
	SUBS   $128, R1, R1
	BNE    loop
	VEOR   V1.B16, V0.B16, V0.B16
	VEOR   V3.B16, V2.B16, V2.B16
	VEOR   V2.B16, V0.B16, V0.B16
	VMOV   V0.D[0], R2
	VMOV   V0.D[1], R3
	EOR    R3, R2, R2
	MOVD   R2, ret+16(FP)
	RET
