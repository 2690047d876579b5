//go:build !unix && !windows

package hub

import "os"

// lockFile does not lock on platforms without flock or LockFileEx; there,
// concurrent pulls of one file rely on the final rename alone.
func lockFile(f *os.File) (bool, error) { return true, nil }

func (l *fileLock) unlock() {
	os.Remove(l.path)
	l.f.Close()
}
