//go:build amd64 || arm64

package kernels

// streamRead XORs the n bytes at p (n a positive multiple of 256) into a
// 64-bit fold as fast as this CPU reads memory: BenchmarkStreamRead's
// baseline for the weight streaming of MatVecQ.
//
//go:noescape
func streamRead(p *byte, n int) uint64

// StreamRead reads b as fast as this CPU reads memory (folding it into a
// checksum so the reads cannot be skipped): the baseline that decode's
// weight streaming is compared against. Bytes past the last multiple of
// 256 are not read.
func StreamRead(b []byte) uint64 {
	n := len(b) &^ 255
	if n == 0 {
		return 0
	}
	return streamRead(&b[0], n)
}
