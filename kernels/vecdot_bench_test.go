package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
)

// benchTypes are the types benchmarked: the fast paths first.
var benchTypes = []gguf.Type{gguf.TypeQ4_0, gguf.TypeQ8_0, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K,
	gguf.TypeF16, gguf.TypeF32, gguf.TypeQ4_1, gguf.TypeQ5_0, gguf.TypeBF16}

// benchMatrix returns a rows x n weight matrix of ty (random quants, finite
// scales) and B quantized activation rows.
func benchMatrix(ty gguf.Type, rows, n, B int) (w, xq []byte) {
	rng := rand.New(rand.NewPCG(11, 12))
	w = randomRow(rng, ty, rows*n)
	xs := VecDotType(ty).RowBytes(n)
	xq = make([]byte, B*xs)
	for b := range B {
		QuantizeActivations(ty, acts2floats(rng, n), xq[b*xs:(b+1)*xs])
	}
	return w, xq
}

// loop runs f b.N times on one OS thread and also reports the weight bytes
// per CPU second of that thread (GB/s-cpu), which other load on a shared
// machine disturbs much less than the wall-clock MB/s.
func loop(b *testing.B, bytes int, f func()) {
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := threadCPU()
	for b.Loop() {
		f()
	}
	if t := threadCPU() - t0; t0 != 0 && t > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/float64(t), "GB/s-cpu")
	}
}

// BenchmarkMatVecQ reports the weight bytes streamed per second (MB/s
// column) by the reference loop ("generic") and MatVecQ (named after the
// kernel set in use), one thread.
func BenchmarkMatVecQ(b *testing.B) {
	for _, ty := range benchTypes {
		for _, sz := range [][2]int{{2048, 2048}, {8192, 2048}} {
			rows, n := sz[0], sz[1]
			w, xq := benchMatrix(ty, rows, n, 1)
			dst := make([]float32, rows)
			ws := ty.RowBytes(n)
			name := fmt.Sprintf("%v/%dx%d", ty, rows, n)
			b.Run(name+"/generic", func(b *testing.B) {
				loop(b, len(w), func() {
					for r := range dst {
						dst[r] = DotQRef(ty, w[r*ws:(r+1)*ws], xq, n)
					}
				})
			})
			if dispatch.lookup(ty) == nil {
				continue
			}
			b.Run(name+"/"+Kernels(), func(b *testing.B) {
				loop(b, len(w), func() { MatVecQ(dst, ty, w, xq, n) })
			})
		}
	}
}

// BenchmarkMatMulQ is prefill: 32 activation rows against a 2048x2048
// matrix. MB/s counts the weight bytes once per activation row (B times per
// call), so it compares directly with BenchmarkMatVecQ; "matvec" is 32
// MatVecQ calls, for comparison with the tiled MatMulQ.
func BenchmarkMatMulQ(b *testing.B) {
	const rows, n, B = 2048, 2048, 32
	for _, ty := range benchTypes {
		if dispatch.lookup(ty) == nil {
			continue
		}
		w, xq := benchMatrix(ty, rows, n, B)
		xs := VecDotType(ty).RowBytes(n)
		dst := make([]float32, B*rows)
		b.Run(fmt.Sprintf("%v/B%d/matvec", ty, B), func(b *testing.B) {
			loop(b, B*len(w), func() {
				for i := range B {
					MatVecQ(dst[i*rows:(i+1)*rows], ty, w, xq[i*xs:(i+1)*xs], n)
				}
			})
		})
		b.Run(fmt.Sprintf("%v/B%d/%s", ty, B, Kernels()), func(b *testing.B) {
			loop(b, B*len(w), func() { MatMulQ(dst, ty, w, xq, n, B) })
		})
	}
}
