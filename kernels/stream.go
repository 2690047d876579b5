//go:build amd64 || arm64

package kernels

// streamRead XORs the n bytes at p (n a positive multiple of 256) into a
// 64-bit fold as fast as this CPU reads memory: BenchmarkStreamRead's
// baseline for the weight streaming of MatVecQ.
//
//go:noescape
func streamRead(p *byte, n int) uint64
