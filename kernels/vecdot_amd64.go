package kernels

import (
	"golang.org/x/sys/cpu"

	"github.com/tandem-llm/tandem/gguf"
)

//go:generate go run vecdot_gen.go

// init picks the amd64 kernels once: "avx512vnni" where the CPU has AVX-512
// VNNI on 256-bit vectors (VPDPBUSD/VPDPWSSD, which replace the
// multiply-and-widen pairs of the integer dots; on Zen 4 about 20% faster
// for the 32-value types, on par for the k-quants), and where it also has
// AVX-512 BW/DQ, VBMI and GFNI, the zmm kernels on prepared activations
// for Q8_0, Q4_0, Q5_0, Q4_K and Q6_K (the decode types: 1.3-2.5x the
// ymm kernels per row); else "avx2" with AVX2, FMA and F16C, else the
// references. The float kernels are the same in all; Q8_K (an activation
// type, not used for weights) keeps the reference. TANDEM_KERNELS=avx2
// skips AVX-512. MatVecQ runs 16-row row runs (vecdot_tiles.go).
func init() {
	if forceGeneric || !(cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C) {
		return
	}
	vnni := cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512VL && !forceAVX2
	set := kernelSet{name: "avx2"}
	if vnni {
		set.name = "avx512vnni"
	}
	// MatMulQ tiles (R x C) follow each type's per-row unpacking cost: the
	// k-quants spend most on scales and nibbles per row, so their tiles
	// share a row among more activation rows.
	add := func(t gguf.Type, chunk int, k11, kmv, kRC, kR1, k1C tileFunc, R, C int) {
		k := &tiled{t: t, chunk: chunk, k11: k11, kmv: kmv, kmvLong: kmv, mvR: 16, R: R, C: C, kRC: kRC, kR1: kR1, k1C: k1C,
			floatTail: t.BlockSize() == 1}
		set.byType[t] = k.kernels()
	}
	if vnni {
		add(gguf.TypeQ8_0, 32, t_q8_0_vnni_1x1, t_q8_0_vnni_s16, t_q8_0_vnni_4x2, t_q8_0_vnni_4x1, t_q8_0_vnni_1x2, 4, 2)
		add(gguf.TypeQ4_0, 32, t_q4_0_vnni_1x1, t_q4_0_vnni_s16, t_q4_0_vnni_4x2, t_q4_0_vnni_4x1, t_q4_0_vnni_1x2, 4, 2)
		add(gguf.TypeQ5_0, 32, t_q5_0_vnni_1x1, t_q5_0_vnni_s16, t_q5_0_vnni_4x2, t_q5_0_vnni_4x1, t_q5_0_vnni_1x2, 4, 2)
		add(gguf.TypeQ4_1, 32, t_q4_1_vnni_1x1, t_q4_1_vnni_s16, t_q4_1_vnni_4x2, t_q4_1_vnni_4x1, t_q4_1_vnni_1x2, 4, 2)
		add(gguf.TypeQ5_1, 32, t_q5_1_vnni_1x1, t_q5_1_vnni_s16, t_q5_1_vnni_4x2, t_q5_1_vnni_4x1, t_q5_1_vnni_1x2, 4, 2)
		add(gguf.TypeQ4_K, 256, t_q4_k_vnni_1x1, t_q4_k_vnni_s16, t_q4_k_vnni_1x4, t_q4_k_vnni_1x1, t_q4_k_vnni_1x4, 1, 4)
		add(gguf.TypeQ5_K, 256, t_q5_k_vnni_1x1, t_q5_k_vnni_s16, t_q5_k_vnni_1x4, t_q5_k_vnni_1x1, t_q5_k_vnni_1x4, 1, 4)
		add(gguf.TypeQ6_K, 256, t_q6_k_vnni_1x1, t_q6_k_vnni_s16, t_q6_k_vnni_2x3, t_q6_k_vnni_2x1, t_q6_k_vnni_1x3, 2, 3)
	} else {
		add(gguf.TypeQ8_0, 32, t_q8_0_avx2_1x1, t_q8_0_avx2_s16, t_q8_0_avx2_4x2, t_q8_0_avx2_4x1, t_q8_0_avx2_1x2, 4, 2)
		add(gguf.TypeQ4_0, 32, t_q4_0_avx2_1x1, t_q4_0_avx2_s16, t_q4_0_avx2_4x2, t_q4_0_avx2_4x1, t_q4_0_avx2_1x2, 4, 2)
		add(gguf.TypeQ5_0, 32, t_q5_0_avx2_1x1, t_q5_0_avx2_s16, t_q5_0_avx2_4x2, t_q5_0_avx2_4x1, t_q5_0_avx2_1x2, 4, 2)
		add(gguf.TypeQ4_1, 32, t_q4_1_avx2_1x1, t_q4_1_avx2_s16, t_q4_1_avx2_4x2, t_q4_1_avx2_4x1, t_q4_1_avx2_1x2, 4, 2)
		add(gguf.TypeQ5_1, 32, t_q5_1_avx2_1x1, t_q5_1_avx2_s16, t_q5_1_avx2_4x2, t_q5_1_avx2_4x1, t_q5_1_avx2_1x2, 4, 2)
		add(gguf.TypeQ4_K, 256, t_q4_k_avx2_1x1, t_q4_k_avx2_s16, t_q4_k_avx2_1x4, t_q4_k_avx2_1x1, t_q4_k_avx2_1x4, 1, 4)
		add(gguf.TypeQ5_K, 256, t_q5_k_avx2_1x1, t_q5_k_avx2_s16, t_q5_k_avx2_1x4, t_q5_k_avx2_1x1, t_q5_k_avx2_1x4, 1, 4)
		add(gguf.TypeQ6_K, 256, t_q6_k_avx2_1x1, t_q6_k_avx2_s16, t_q6_k_avx2_2x3, t_q6_k_avx2_2x1, t_q6_k_avx2_1x3, 2, 3)
	}
	if vnni && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VBMI && cpu.X86.HasAVX512GFNI {
		// zmm kernels on prepared activations (vecdot_prep_amd64.go).
		addZ := func(t gguf.Type, chunk int, k11, kmv, kmvLong, kRC, kR1, k1C tileFunc, R, C int, prep func(dst, xq []byte, n int), prepBytes func(int) int) {
			k := &tiled{t: t, chunk: chunk, k11: k11, kmv: kmv, kmvLong: kmvLong, mvR: 16, R: R, C: C, kRC: kRC, kR1: kR1, k1C: k1C,
				prep: prep, prepBytes: prepBytes}
			set.byType[t] = k.kernels()
		}
		addZ(gguf.TypeQ8_0, 32, t_q8_0_avx512_1x1, t_q8_0_avx512_s16, t_q8_0_avx512_f16, t_q8_0_avx512_4x2, t_q8_0_avx512_4x1, t_q8_0_avx512_1x2, 4, 2, prepZ32For(128), prepBytesZ32)
		addZ(gguf.TypeQ4_0, 32, t_q4_0_avx512_1x1, t_q4_0_avx512_s16, t_q4_0_avx512_f16, t_q4_0_avx512_4x2, t_q4_0_avx512_4x1, t_q4_0_avx512_1x2, 4, 2, prepQuadFor(8), prepBytesQuad)
		addZ(gguf.TypeQ5_0, 32, t_q5_0_avx512_1x1, t_q5_0_avx512_s16, t_q5_0_avx512_f16, t_q5_0_avx512_4x2, t_q5_0_avx512_4x1, t_q5_0_avx512_1x2, 4, 2, prepQuadFor(16), prepBytesQuad)
		addZ(gguf.TypeQ4_K, 256, t_q4_k_avx512_1x1, t_q4_k_avx512_s16, t_q4_k_avx512_f16, t_q4_k_avx512_1x4, t_q4_k_avx512_1x1, t_q4_k_avx512_1x4, 1, 4, prepQ4KFor, prepBytesQ4K)
		addZ(gguf.TypeQ6_K, 256, t_q6_k_avx512_1x1, t_q6_k_avx512_s16, t_q6_k_avx512_f16, t_q6_k_avx512_2x3, t_q6_k_avx512_2x1, t_q6_k_avx512_1x3, 2, 3, prepQ6KFor, prepBytesQ6K)
	}
	add(gguf.TypeF32, 16, t_f32_avx2_1x1, t_f32_avx2_s16, t_f32_avx2_3x2, t_f32_avx2_3x1, t_f32_avx2_1x2, 3, 2)
	add(gguf.TypeF16, 16, t_f16_avx2_1x1, t_f16_avx2_s16, t_f16_avx2_2x2, t_f16_avx2_2x1, t_f16_avx2_1x2, 2, 2)
	add(gguf.TypeBF16, 16, t_bf16_avx2_1x1, t_bf16_avx2_s16, t_bf16_avx2_2x2, t_bf16_avx2_2x1, t_bf16_avx2_1x2, 2, 2)
	dispatch = set
}
