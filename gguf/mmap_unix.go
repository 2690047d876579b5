//go:build unix

package gguf

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// mapFile maps the file read-only; the mapping outlives the descriptor.
// evict drops the mapping's resident pages (they are clean file pages: the
// next access reads them back), so an idle model gives its memory back.
func mapFile(f *os.File, size int64) (data []byte, unmap, evict func() error, err error) {
	if int64(int(size)) != size {
		return nil, nil, nil, syscall.EFBIG
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, nil, err
	}
	return b, func() error { return syscall.Munmap(b) }, func() error { return unix.Madvise(b, unix.MADV_DONTNEED) }, nil
}
