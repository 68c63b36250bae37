package parse

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Helpers shared by the tests of the generic readers and ClamAV.

// genParseLine parses line with a UTC parser at testReceived and returns the
// event and the failure reason ("" when it parsed).
func genParseLine(t testing.TB, line string) (schemas.Event, string) {
	t.Helper()
	var ev schemas.Event
	err := New(Options{}).Parse(line, testReceived, &ev)
	return ev, reasonOf(t, err)
}

// genMustParse parses line and fails the test when it does not
// parse.
func genMustParse(t testing.TB, line string) schemas.Event {
	t.Helper()
	ev, reason := genParseLine(t, line)
	require.Empty(t, reason, "line %q", line)
	return ev
}

// genSharedLines reads the non-empty lines of a file in the shared data set,
// or skips the test.
func genSharedLines(t *testing.T, rel string) []string {
	t.Helper()
	b, err := os.ReadFile(sharedData(t, rel))
	require.NoError(t, err)
	var out []string
	for _, l := range splitLines(string(b)) {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// genDatasets are the datasets the generic readers and ClamAV set.
var genDatasets = map[string]bool{DatasetCEF: true, DatasetLEEF: true, DatasetKV: true, DatasetJSON: true, DatasetClamAV: true}

// genCheckEvent holds the invariants every fuzz target of these
// readers checks: the original is kept, a failure is an *Error with a
// known reason, a parsed event has a UTC timestamp, labels stay within
// their bounds, and, for input without escapes, the text fields are
// substrings of the input.
func genCheckEvent(t *testing.T, line string, ev *schemas.Event, err error, reasons map[string]bool) {
	if ev.Event.Original != line {
		t.Fatalf("Original = %q, want the input", ev.Event.Original)
	}
	if err != nil {
		pe, ok := err.(*Error)
		if !ok || !reasons[pe.Reason] {
			t.Fatalf("error %v is not an *Error with a known reason", err)
		}
	} else if ev.Timestamp.IsZero() || ev.Timestamp.Location() != time.UTC {
		t.Fatalf("parsed with timestamp %v, want a UTC time", ev.Timestamp)
	}
	if len(ev.Labels) > genMaxLabels {
		t.Fatalf("%d labels, bound %d", len(ev.Labels), genMaxLabels)
	}
	for k, v := range ev.Labels {
		if len(k) > genMaxLabelKey || len(v) > genMaxLabelValue {
			t.Fatalf("label %q of %d bytes is over its bound", genTruncate(k, 80), len(v))
		}
	}
	if strings.IndexByte(line, '\\') >= 0 {
		return
	}
	for name, s := range map[string]string{
		"message": ev.Message, "user": ev.User.Name, "target": ev.User.Target.Name,
		"rule.name": ev.Rule.Name, "rule.id": ev.Rule.ID, "file.path": ev.File.Path,
		"file.name": ev.File.Name, "threat": ev.Threat.Name, "code": ev.Event.Code, "host": ev.Host.Name,
	} {
		if !within(s, line) {
			t.Fatalf("%s %q is not a substring of the input", name, s)
		}
	}
	for k, v := range ev.Labels {
		if !within(v, line) && v != "" {
			t.Fatalf("label %q value %q is not a substring of the input", k, genTruncate(v, 80))
		}
	}
}

// genKnownReasons returns Reasons() as a set.
func genKnownReasons() map[string]bool {
	out := map[string]bool{}
	for _, r := range Reasons() {
		out[r] = true
	}
	return out
}

// genBench runs Parse over lines in turn, reporting bytes and
// allocations per line.
func genBench(b *testing.B, lines ...string) {
	p := New(Options{})
	var ev schemas.Event
	total := 0
	for _, l := range lines {
		total += len(l)
	}
	b.SetBytes(int64(total / len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ev.Reset()
		if err := p.Parse(lines[i], testReceived, &ev); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(lines) {
			i = 0
		}
	}
}
