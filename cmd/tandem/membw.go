package main

import (
	"time"

	"github.com/tandem-llm/tandem/kernels"
	"github.com/tandem-llm/tandem/parallel"
)

// streamRead measures the machine's memory read bandwidth in bytes per
// second: threads read a buffer much larger than the caches with the
// fastest plain load loop (kernels.StreamRead), as decode streams the weights
// once per token. The best of reps passes is returned.
func streamRead(threads, reps int) float64 {
	const size = 512 << 20
	buf := make([]byte, size)
	for i := 0; i < size; i += 4096 {
		buf[i] = byte(i) // touch every page before timing
	}
	pool := parallel.New(threads)
	defer pool.Close()
	sums := make([]uint64, size/(1<<20))
	best := 0.0
	for r := 0; r < reps; r++ {
		start := time.Now()
		pool.For(size>>20, 1, func(c0, c1 int) {
			for c := c0; c < c1; c++ {
				sums[c] = kernels.StreamRead(buf[c<<20 : (c+1)<<20])
			}
		})
		best = max(best, size/time.Since(start).Seconds())
	}
	return best
}
