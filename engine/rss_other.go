//go:build !unix

package engine

// PeakRSS is the process's peak resident set size in bytes (0 if unknown).
func PeakRSS() int64 { return 0 }
