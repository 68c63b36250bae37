//go:build unix

package spool

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock on path, so that two buffers
// (in one process or two) never share a directory.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("cannot open spool lock: %w; check that the directory is writable", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("cannot use spool directory: %s is locked by another buffer "+
				"(this process or another); give each buffer its own directory", path)
		}
		return nil, fmt.Errorf("cannot lock spool directory with %s: %w", path, err)
	}
	return f, nil
}

func unlockDir(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
