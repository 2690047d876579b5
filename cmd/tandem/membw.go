package main

import (
	"encoding/binary"
	"time"

	"github.com/tandem-llm/tandem/parallel"
)

// streamRead measures the machine's memory read bandwidth in bytes per
// second: threads sum a buffer much larger than the caches, as decode streams
// the weights once per token. The best of reps passes is returned.
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
				var s0, s1, s2, s3 uint64
				b := buf[c<<20 : (c+1)<<20]
				for i := 0; i < len(b); i += 32 {
					s0 += binary.LittleEndian.Uint64(b[i:])
					s1 += binary.LittleEndian.Uint64(b[i+8:])
					s2 += binary.LittleEndian.Uint64(b[i+16:])
					s3 += binary.LittleEndian.Uint64(b[i+24:])
				}
				sums[c] = s0 + s1 + s2 + s3
			}
		})
		best = max(best, size/time.Since(start).Seconds())
	}
	return best
}
