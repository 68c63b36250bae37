//go:build unix

package ingest

import (
	"os"
	"syscall"
)

// keyOf returns the device and inode of a file.
func keyOf(path string, st os.FileInfo) fileKey {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return fileKey{dev: uint64(s.Dev), ino: uint64(s.Ino)}
	}
	return fileKey{ino: nameHash(path)}
}
