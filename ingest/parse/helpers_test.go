package parse

import (
	"github.com/tocsin-siem/tocsin/internal/shareddata"

	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// testReceived is the arrival time used by tests unless they say otherwise.
var testReceived = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// sharedData returns the path of rel in the shared data set beside the
// repository, or skips the test.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	return shareddata.Path(t, rel)
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
