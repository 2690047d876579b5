//go:build amd64 || arm64

package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/tandem-llm/tandem/gguf"
)

// The DRAM benchmarks stream a working set far beyond the last-level cache,
// as decode does with a model's weights: many distinct copies of a matrix,
// one MatVecQ after another. One op is a pass over the whole working set;
// MB/s is weight bytes per wall-clock second. "/2t" splits every matrix's
// rows in two halves on two goroutines (locked to OS threads), which meet
// once per pass. They allocate dramWorkingSet bytes; -short skips them.
const dramWorkingSet = 256 << 20

// dramShapes are decode shapes (rows x cols) of SmolLM2-135M (576 wide),
// Qwen2.5-0.5B (896) and Llama-3.2-1B (2048): the ffn up/gate matrices,
// and for the k-quants (whose rows must be multiples of 256 values) the
// ffn down ones where 576 and 896 are not.
func dramShapes(ty gguf.Type) [][2]int {
	if ty.BlockSize() == gguf.QK_K {
		return [][2]int{{576, 1536}, {896, 4864}, {8192, 2048}}
	}
	return [][2]int{{1536, 576}, {4864, 896}, {8192, 2048}}
}

// dramPass runs f(copy, r0, r1) over the rows of every copy, split over
// threads goroutines, b.N times.
func dramPass(b *testing.B, bytes int64, threads, copies, rows int, f func(c, r0, r1 int)) {
	b.SetBytes(bytes)
	b.ReportAllocs()
	if threads == 1 {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for b.Loop() {
			for c := range copies {
				f(c, 0, rows)
			}
		}
		return
	}
	start := make([]chan bool, threads)
	var done sync.WaitGroup
	for t := range threads {
		start[t] = make(chan bool)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			r0, r1 := rows*t/threads/16*16, rows*(t+1)/threads/16*16
			if t == threads-1 {
				r1 = rows
			}
			for range start[t] {
				for c := range copies {
					f(c, r0, r1)
				}
				done.Done()
			}
		}()
	}
	for b.Loop() {
		done.Add(threads)
		for _, s := range start {
			s <- true
		}
		done.Wait()
	}
	for _, s := range start {
		close(s)
	}
}

// BenchmarkMatVecQDRAM: MatVecQ from DRAM on 1 and 2 threads, for the
// types of the small models' mixes at their widths. Compare MB/s with
// BenchmarkStreamRead.
func BenchmarkMatVecQDRAM(b *testing.B) {
	if testing.Short() {
		b.Skip("allocates 256 MB")
	}
	for _, ty := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ5_0, gguf.TypeQ4_K, gguf.TypeQ6_K} {
		for _, sh := range dramShapes(ty) {
			rows, n := sh[0], sh[1]
			ws := ty.RowBytes(n)
			m, xq := benchMatrix(ty, rows, n, 1)
			copies := (dramWorkingSet + len(m) - 1) / len(m)
			w := make([]byte, copies*len(m))
			for c := range copies {
				copy(w[c*len(m):], m)
			}
			dst := make([]float32, rows)
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%v/%dx%d/%dt", ty, rows, n, threads), func(b *testing.B) {
					dramPass(b, int64(len(w)), threads, copies, rows, func(c, r0, r1 int) {
						MatVecQ(dst[r0:r1], ty, w[c*len(m)+r0*ws:c*len(m)+r1*ws], xq, n)
					})
				})
			}
		}
	}
}

// BenchmarkMatVecQL2 is BenchmarkMatVecQDRAM's shapes cut to 512 KB of
// weights, which stay in L2: the kernels' compute speed, which bounds
// their speed from DRAM (1 thread).
func BenchmarkMatVecQL2(b *testing.B) {
	for _, ty := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ5_0, gguf.TypeQ4_K, gguf.TypeQ6_K} {
		for _, sh := range dramShapes(ty) {
			n := sh[1]
			rows := min(sh[0], (512<<10)/ty.RowBytes(n))
			w, xq := benchMatrix(ty, rows, n, 1)
			dst := make([]float32, rows)
			b.Run(fmt.Sprintf("%v/%dx%d", ty, rows, n), func(b *testing.B) {
				loop(b, len(w), func() { MatVecQ(dst, ty, w, xq, n) })
			})
		}
	}
}

// BenchmarkStreamRead is the baseline for BenchmarkMatVecQDRAM: the fastest
// plain read of the same working set (streamRead, in assembly) in 1 MB
// calls, on 1 and 2 threads.
func BenchmarkStreamRead(b *testing.B) {
	if testing.Short() {
		b.Skip("allocates 256 MB")
	}
	const chunk = 1 << 20
	w := make([]byte, dramWorkingSet)
	for i := range w {
		w[i] = byte(i)
	}
	var sink [2]uint64
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("%dt", threads), func(b *testing.B) {
			dramPass(b, int64(len(w)), threads, 1, len(w)/chunk, func(_, r0, r1 int) {
				s := uint64(0)
				for r := r0; r < r1; r++ {
					s ^= streamRead(&w[r*chunk], chunk)
				}
				sink[r0*len(sink)/(len(w)/chunk)] ^= s
			})
		})
	}
	_ = sink
}
