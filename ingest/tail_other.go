//go:build !unix

package ingest

import "os"

// keyOf returns a key made from the path.
//
// Shortcoming: without a device and inode, a file is known by its path,
// so a rotation by rename is seen as a truncation (or as nothing, when
// the new file grows past the old one's size before a poll) and the
// rotated file is not finished.
func keyOf(path string, _ os.FileInfo) fileKey {
	return fileKey{ino: nameHash(path)}
}
