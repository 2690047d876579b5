package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
)

// Benchmarks of the forward-pass ops at realistic sizes: the reference
// ("generic") against the exported op ("simd", which is the reference too
// under TANDEM_KERNELS=generic). One thread; ns/op is the figure to read.

func benchPair(b *testing.B, name string, ref, fast func()) {
	b.Run(name+"/generic", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ref()
		}
	})
	b.Run(name+"/simd", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fast()
		}
	})
}

// BenchmarkAttention: one query head over 128 cached positions, head_dim
// 64, in a cache of 2 KV heads (SmolLM2-135M's layout: kv_dim 192 there, 3
// heads; the stride only matters for caching).
func BenchmarkAttention(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const hd, n, stride = 64, 128, 192
	keys, values := opsData(rng, n*stride, 0), opsData(rng, n*stride, 0)
	q := opsData(rng, hd, 0)
	att, out := make([]float32, n), make([]float32, hd)
	p := opsData(rng, n, 2)
	benchPair(b, "scores-hd64x128", func() { AttnScoresRef(att, q, keys, stride, 0.125) },
		func() { AttnScores(att, q, keys, stride, 0.125) })
	benchPair(b, "dotloop-hd64x128", func() {
		for t := range n {
			att[t] = DotF32Ref(q, keys[t*stride:t*stride+hd]) * 0.125
		}
	}, func() {
		for t := range n {
			att[t] = DotF32(q, keys[t*stride:t*stride+hd]) * 0.125
		}
	})
	benchPair(b, "softmax-128", func() { copy(att, p); SoftmaxRef(att) }, func() { copy(att, p); Softmax(att) })
	copy(att, p)
	Softmax(att)
	benchPair(b, "values-hd64x128", func() { AttnValuesRef(out, att, values, stride) },
		func() { AttnValues(out, att, values, stride) })
	benchPair(b, "axpyloop-hd64x128", func() {
		clear(out)
		for t := range n {
			AxpyRef(out, att[t], values[t*stride:t*stride+hd])
		}
	}, func() {
		clear(out)
		for t := range n {
			Axpy(out, att[t], values[t*stride:t*stride+hd])
		}
	})
}

func BenchmarkRMSNorm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{64, 576, 896, 2048} {
		x, w, dst := opsData(rng, n, 0), opsData(rng, n, 0), make([]float32, n)
		benchPair(b, fmt.Sprint(n), func() { RMSNormRef(dst, x, w, 1e-5) }, func() { RMSNorm(dst, x, w, 1e-5) })
	}
}

func BenchmarkSiLUMul(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1536, 4864, 8192} {
		g, u, dst := opsData(rng, n, 0), opsData(rng, n, 0), make([]float32, n)
		benchPair(b, fmt.Sprint(n), func() { SiLUMulRef(dst, g, u) }, func() { SiLUMul(dst, g, u) })
	}
}

// BenchmarkQuantizeAct: QuantizeActivations against the reference block
// encoders, for each Q8 activation type.
func BenchmarkQuantizeAct(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ty := range actTypes {
		vt := VecDotType(ty)
		for _, n := range []int{2048, 8192} {
			x, dst := opsData(rng, n, 0), make([]byte, vt.RowBytes(n))
			bs, bb := vt.BlockSize(), vt.BlockBytes()
			benchPair(b, fmt.Sprintf("%v/%d", vt, n), func() {
				for i := 0; i < n/bs; i++ {
					xb, d := x[i*bs:(i+1)*bs], dst[i*bb:(i+1)*bb]
					switch vt {
					case gguf.TypeQ8_0:
						encodeQ8_0(xb, d)
					case gguf.TypeQ8_1:
						encodeQ8_1(xb, d)
					default:
						encodeQ8_K(xb, d)
					}
				}
			}, func() { QuantizeActivations(ty, x, dst) })
		}
	}
}
