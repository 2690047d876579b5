package kernels

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestPrepZ32Padding: the prepared Q8_0 row has zeros after the two dy of
// every pair, whatever the buffer held before (it comes from a pool shared
// with the other layouts, whose small integers would be denormal floats in
// the lanes the kernels multiply).
func TestPrepZ32Padding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{32, 64, 96, 896, 2048} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		xq := make([]byte, 34*(n/32))
		encodeQ8_0(x, xq)
		dst := make([]byte, prepBytesZ32(n))
		for i := 0; i < len(dst); i += 4 {
			binary.LittleEndian.PutUint32(dst[i:], 5) // a denormal as float32
		}
		prepZ32For(128)(dst, xq, n)
		for p := 0; p < len(dst); p += z32Pair {
			if pad := binary.LittleEndian.Uint64(dst[p+136:]); pad != 0 {
				t.Fatalf("n=%d pair %d: padding after dy is %#x, want 0", n, p/z32Pair, pad)
			}
		}
	}
}
