package hub

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// fileLock is an exclusive advisory lock on a file (flock on Unix,
// LockFileEx on Windows), held from tryLock until unlock. The lock file is
// deleted on unlock; tryLock checks after locking that the path still names
// the file it locked, so a waiter that opened the file just before the holder
// deleted it tries again instead of locking an orphan.
type fileLock struct {
	f    *os.File
	path string
}

// tryLock takes the lock at path without waiting; ok is false if another
// holder (in this or another process) has it.
func tryLock(path string) (l *fileLock, ok bool, err error) {
	for range 100 {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, false, err
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, false, err
		}
		ok, err := lockFile(f)
		if err != nil || !ok {
			f.Close()
			if err != nil {
				err = fmt.Errorf("locking %s: %w", path, err)
			}
			return nil, false, err
		}
		held, err1 := f.Stat()
		cur, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, cur) {
			return &fileLock{f: f, path: path}, true, nil
		}
		f.Close()
	}
	return nil, false, fmt.Errorf("locking %s: the lock file keeps changing", path)
}

// lock waits until it holds the lock at path or ctx is done; waiting is
// called once if the lock is busy.
func lock(ctx context.Context, path string, waiting func()) (*fileLock, error) {
	delay := 20 * time.Millisecond
	for first := true; ; first = false {
		l, ok, err := tryLock(path)
		if err != nil || ok {
			return l, err
		}
		if first && waiting != nil {
			waiting()
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}
