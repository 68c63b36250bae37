package parse

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// winReceived is the arrival time of the Windows samples: after every
// sample's own time, so that a header without year lands in 2026.
var winReceived = time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)

// winSample returns the non-empty lines of a file under
// testdata/windows.
func winSample(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "windows", name))
	require.NoError(t, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// winBulkDocs returns the documents of an Elasticsearch _bulk body: the
// line after each action line, as the HTTP endpoint hands them on.
func winBulkDocs(t testing.TB, name string) []string {
	t.Helper()
	lines := winSample(t, name)
	require.Zero(t, len(lines)%2, "a _bulk body alternates action and document lines")
	var docs []string
	for i := 1; i < len(lines); i += 2 {
		require.True(t, strings.HasPrefix(lines[i-1], `{"create":`), "line %d is an action line", i)
		docs = append(docs, lines[i])
	}
	return docs
}

// winParseWith parses one record with p at winReceived.
func winParseWith(p *Parser, rec string) (schemas.Event, error) {
	var ev schemas.Event
	err := p.Parse(rec, winReceived, &ev)
	return ev, err
}

// winMust parses one record in auto mode (UTC) and requires success.
func winMust(t testing.TB, rec string) schemas.Event {
	t.Helper()
	ev, err := winParseWith(New(Options{}), rec)
	require.NoError(t, err, "record %.200s", rec)
	return ev
}

// winGet reads an event field by the dotted name rules use
// ("user.target.name", "winlog.logon_type", "labels.ServiceName").
func winGet(t testing.TB, ev *schemas.Event, path string) any {
	t.Helper()
	if k, ok := strings.CutPrefix(path, "labels."); ok {
		if v, ok := ev.Labels[k]; ok {
			return v
		}
		return nil
	}
	v := reflect.ValueOf(ev).Elem()
	for _, part := range strings.Split(path, ".") {
		found := false
		for i := 0; i < v.NumField(); i++ {
			if strings.Split(v.Type().Field(i).Tag.Get("expr"), ",")[0] == part {
				v, found = v.Field(i), true
				break
			}
		}
		require.True(t, found, "no field %q in %q", part, path)
	}
	if tm, ok := v.Interface().(time.Time); ok {
		return tm.UTC().Format(time.RFC3339Nano)
	}
	return v.Interface()
}

// winCheck asserts each dotted field of want on ev.
func winCheck(t testing.TB, ev *schemas.Event, want map[string]any, msg string) {
	t.Helper()
	for k, w := range want {
		require.Equal(t, w, winGet(t, ev, k), "%s: field %s", msg, k)
	}
}
