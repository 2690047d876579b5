package kernels

// Activation preparation for the avx512 kernels (see vecdot_gen.go): each
// activation row is rearranged once per call into the layout the kernels
// read, with the terms that depend on the activations alone precomputed,
// so that the per-weight-row work is the weights' own. Every value is
// exact (integers, and F16 scales widened to float32), so a kernel gives
// the same result from a prepared row as the same arithmetic on the raw
// blocks would.

const (
	z32Pair   = 144 // bytes per prepared pair of Q8_0 blocks
	zq40Quad  = 256 // per prepared quad of Q8_0 blocks for Q4_0, Q5_0
	zq4kBlock = 320 // per prepared Q8_K super-block for Q4_K
	zq6kBlock = 576 // per prepared Q8_K super-block for Q6_K
)

func prepBytesZ32(n int) int  { return (n/32 + 1) / 2 * z32Pair }
func prepBytesQuad(n int) int { return (n/32 + 3) / 4 * zq40Quad }
func prepBytesQ4K(n int) int  { return n / 256 * zq4kBlock }
func prepBytesQ6K(n int) int  { return n / 256 * zq6kBlock }

// prepZ32 prepares Q8_0 activations for weights whose values are offset by
// K (Q8_0 weights as w+128: K = 128): per pair of
// blocks, y (64 bytes), then per int32 lane of 4 values -K*sum(y), then
// the two dy as float32 and 8 bytes of zeros (the kernels multiply dy as 4
// floats; stale bytes there, e.g. another layout's small integers, are
// float32 denormals that cost a microcode assist per block pair: the Q8_0
// classifier of a Q4_0 model ran at 13 instead of 23 GB/s); an odd last
// block pairs with zeros.
func prepZ32For(K int) func(dst, xq []byte, n int) {
	return func(dst, xq []byte, n int) {
		_, _ = dst[prepBytesZ32(n)-1], xq[34*(n/32)-1]
		prepZ32(&dst[0], &xq[0], n/32, K)
	}
}

// prepQuadFor prepares Q8_0 activations for Q4_0 (K = 8) and Q5_0 (K = 16)
// weights, per quad of blocks: values 0-15 of each block (16 bytes each),
// values 16-31, per int32 lane (4 a block) -K*sum(y) over its 8 values, dy
// as float32 4 times a block; a partial last quad is zero after its blocks.
func prepQuadFor(K int) func(dst, xq []byte, n int) {
	return func(dst, xq []byte, n int) {
		nb := n / 32
		_, _ = dst[prepBytesQuad(n)-1], xq[34*nb-1]
		if nb%4 != 0 {
			clear(dst[nb/4*zq40Quad : prepBytesQuad(n)])
		}
		prepQuad(&dst[0], &xq[0], nb, K)
	}
}

// prepQ4KFor: per Q8_K super-block, d (float32) at 0, the 16 bsums at 4,
// and at 64 y with its 32-value sub-blocks in the order 0, 2, 1, 3, 4, 6,
// 5, 7 (the low and high nibbles of each 64 bytes of Q4_K quants).
func prepQ4KFor(dst, xq []byte, n int) {
	_, _ = dst[prepBytesQ4K(n)-1], xq[292*(n/256)-1]
	prepQ4K(&dst[0], &xq[0], n/256)
}

// prepQ6KFor: per Q8_K super-block, d at 0, y at 64, and at 320 the int16
// 32*(y[2i]+y[2i+1]) (the offset of Q6_K's values, per VPMADDUBSW pair).
func prepQ6KFor(dst, xq []byte, n int) {
	_, _ = dst[prepBytesQ6K(n)-1], xq[292*(n/256)-1]
	prepQ6K(&dst[0], &xq[0], n/256)
}
