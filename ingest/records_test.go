package ingest

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type gotRecord struct {
	Data    string
	N       int
	TooLong bool
	Reason  string
}

func scanAll(t *testing.T, in string, opts RecordOptions) []gotRecord {
	t.Helper()
	var out []gotRecord
	err := ScanRecords(bufio.NewReader(strings.NewReader(in)), opts, func(r Record) error {
		out = append(out, gotRecord{string(r.Data), r.N, r.TooLong, r.Reason})
		return nil
	})
	require.NoError(t, err)
	return out
}

func TestScanRecordsLines(t *testing.T) {
	got := scanAll(t, "a b\r\n\n{\"x\":1}\nlast", RecordOptions{})
	require.Equal(t, []gotRecord{{"a b", 1, false, ""}, {"", 2, false, ""}, {`{"x":1}`, 3, false, ""}, {"last", 4, false, ""}}, got)
}

func TestScanRecordsNDJSONStaysLines(t *testing.T) {
	got := scanAll(t, "{\"a\":1}\n{\"a\": 2}\n", RecordOptions{})
	require.Equal(t, []gotRecord{{`{"a":1}`, 1, false, ""}, {`{"a": 2}`, 2, false, ""}}, got)
}

func TestScanRecordsJSONDocuments(t *testing.T) {
	doc := "\xef\xbb\xbf{\n  \"host\": \"a\",\n  \"n\": [1, 2]\n}\n{\"host\": \"b\"}\n[\n {\"i\": 1},\n {\"i\": 2}\n]\n"
	got := scanAll(t, doc, RecordOptions{})
	require.Equal(t, []gotRecord{
		{`{"host":"a","n":[1,2]}`, 1, false, ""},
		{`{"host":"b"}`, 2, false, ""},
		{`{"i":1}`, 3, false, ""},
		{`{"i":2}`, 4, false, ""},
	}, got)
}

func TestScanRecordsSplit(t *testing.T) {
	split := func(doc []byte) [][]byte {
		if !bytes.Contains(doc, []byte("scanResult")) {
			return nil
		}
		return [][]byte{[]byte(`{"endpoint": 1}`), []byte(`{"endpoint": 2}`)}
	}
	got := scanAll(t, "[{\"scanResult\": []}]\n[{\"plain\": true}]", RecordOptions{Split: split})
	require.Equal(t, []gotRecord{{`{"endpoint":1}`, 1, false, ""}, {`{"endpoint":2}`, 2, false, ""}, {`{"plain":true}`, 3, false, ""}}, got)
}

func TestScanRecordsBrokenJSON(t *testing.T) {
	got := scanAll(t, "[\n{\"a\": 1},\n{\"b\": \n", RecordOptions{})
	require.Len(t, got, 1)
	require.Equal(t, ReasonBadJSON, got[0].Reason)
	require.Equal(t, 1, got[0].N)

	got = scanAll(t, "{\n\"a\": 1\n}\n{\"b\" 2}\n", RecordOptions{})
	require.Len(t, got, 2)
	require.Equal(t, gotRecord{`{"a":1}`, 1, false, ""}, got[0])
	require.Equal(t, ReasonBadJSON, got[1].Reason)
	require.Equal(t, 2, got[1].N)
}

func TestScanRecordsTooLong(t *testing.T) {
	got := scanAll(t, "[{\"a\": \""+strings.Repeat("x", 100)+"\"}]", RecordOptions{MaxSize: 20})
	require.Equal(t, []gotRecord{{`{"a":"xxxxxxxxxxxxxx`, 1, true, ""}}, got)
	got = scanAll(t, strings.Repeat("y", 50)+"\nok\n", RecordOptions{MaxSize: 20})
	require.Equal(t, []gotRecord{{strings.Repeat("y", 20), 1, true, ""}, {"ok", 2, false, ""}}, got)
}

func FuzzScanRecords(f *testing.F) {
	for _, s := range []string{"a\nb\n", "[{\"a\":1},{\"b\":2}]", "{\n\"a\":\n[1,\n2]}\n{\"c\":3}", "[", "{\n", "\xef\xbb\xbf[1,2]", "[[[[[[]]]]]]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n := 0
		err := ScanRecords(bufio.NewReader(strings.NewReader(in)), RecordOptions{MaxSize: 64}, func(r Record) error {
			n++
			if len(r.Data) > 64 && r.Reason == "" {
				t.Fatalf("record of %d bytes passed the 64-byte limit", len(r.Data))
			}
			if r.N < 1 {
				t.Fatalf("record number %d", r.N)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("ScanRecords on an in-memory reader: %v", err)
		}
	})
}

// Text lines that start with '[' or '{' are lines, not a JSON document.
func TestScanRecordsBracketedText(t *testing.T) {
	in := "[2024-01-01 10:00:00] app started\nDec  5 01:00:11 web1 sshd[41]: Failed password for root from 192.0.2.7 port 4011 ssh2\n"
	require.Equal(t, []gotRecord{
		{"[2024-01-01 10:00:00] app started", 1, false, ""},
		{"Dec  5 01:00:11 web1 sshd[41]: Failed password for root from 192.0.2.7 port 4011 ssh2", 2, false, ""},
	}, scanAll(t, in, RecordOptions{}))
	in = "{request 42} took 3 ms\n{request 43} took 9 ms\n"
	require.Len(t, scanAll(t, in, RecordOptions{}), 2)
	// A one-line array of objects is split; of anything else it is a
	// line, which the parser reads or refuses.
	require.Equal(t, []gotRecord{{`{"a":1}`, 1, false, ""}}, scanAll(t, "[{\"a\":1}]\n", RecordOptions{}))
	require.Equal(t, []gotRecord{{`[1, 2]`, 1, false, ""}}, scanAll(t, "[1, 2]\n", RecordOptions{}))
}
