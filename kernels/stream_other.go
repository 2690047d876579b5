//go:build !amd64 && !arm64

package kernels

import "encoding/binary"

// StreamRead reads b as fast as plain Go can (folding it into a checksum so
// the reads cannot be skipped): the baseline that decode's weight streaming
// is compared against. Bytes past the last multiple of 256 are not read.
func StreamRead(b []byte) uint64 {
	var s uint64
	for i := 0; i+8 <= len(b)&^255; i += 8 {
		s ^= binary.LittleEndian.Uint64(b[i:])
	}
	return s
}
