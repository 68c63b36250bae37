//go:build !unix

package sqlite

import "os"

// lockDir is a no-op where flock is missing: nothing then stops two
// processes from writing one database, which would corrupt the incident
// sequence. tocsin is deployed on Linux.
func lockDir(string) (*os.File, error) { return nil, nil }

func unlockDir(*os.File) error { return nil }
