// Package shareddata finds the project's shared test data set, which lives
// beside the repository (<repo>/../shared/data) rather than in it: real
// logs and vectors under licences that forbid copying them into the
// repository. Tests that need it skip, saying why, when it is absent.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Lookup returns the path of rel inside the shared data set. It walks up
// from the working directory to the repository root (the folder holding
// go.mod) and reports whether the path exists.
func Lookup(rel string) (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "data", rel)
			_, err := os.Stat(p)
			return p, err == nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Path returns the path of rel inside the shared data set, or skips the
// test with the reason when it is not there.
func Path(t testing.TB, rel string) string {
	t.Helper()
	p, ok := Lookup(rel)
	if !ok {
		t.Skipf("skipped: shared test data %s is not here; it lives beside the repository in ../shared/data (CI always has it)", rel)
	}
	return p
}
