//go:build !unix

package gguf

import (
	"io"
	"os"
)

// mapFile reads the file into memory where mmap is unavailable.
// Nothing can be evicted from such a copy.
func mapFile(f *os.File, size int64) (data []byte, unmap, evict func() error, err error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, nil, nil, err
	}
	nop := func() error { return nil }
	return b, nop, nop, nil
}
