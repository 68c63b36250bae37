//go:build !unix

package spool

import (
	"fmt"
	"os"
)

// lockDir opens the lock file. Platforms without flock get no lock: two
// buffers given the same directory there would damage each other's
// segments, because this build has no portable exclusive lock to take.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("cannot open spool lock: %w; check that the directory is writable", err)
	}
	return f, nil
}

func unlockDir(*os.File) {}
