//go:build !linux

package kernels

// threadCPU is unavailable here; the CPU-time metric is then not reported.
func threadCPU() int64 { return 0 }
