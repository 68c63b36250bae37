package parse

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// testReceived is the arrival time used by tests unless they say otherwise.
var testReceived = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// sharedData returns the path of rel inside the shared data set that sits
// next to the repository (<repo>/../shared/data), or skips the test when
// that data set is not there.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("cannot find the repository root (go.mod) above the test directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s is not available (expected next to the repository): %v", rel, err)
	}
	return p
}

// mustParse parses line with a UTC parser and testReceived.
func mustParse(t testing.TB, line string) schemas.Event {
	t.Helper()
	var ev schemas.Event
	require.NoError(t, New(Options{}).Parse(line, testReceived, &ev), "line %q", line)
	return ev
}

// reasonOf returns the Reason of a Parse error, or "" for nil.
func reasonOf(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var pe *Error
	require.ErrorAs(t, err, &pe)
	return pe.Reason
}
