//go:build unix

package hub

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

func lockFile(f *os.File) (bool, error) {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EWOULDBLOCK):
			return false, nil
		case !errors.Is(err, unix.EINTR):
			return false, err
		}
	}
}

// unlock deletes the lock file while still holding the lock, so that nobody
// can lock it in between, then releases it.
func (l *fileLock) unlock() {
	os.Remove(l.path)
	l.f.Close()
}
