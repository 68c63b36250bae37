package ingest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func spanTexts(t *testing.T, body []byte, spans []recordSpan) []string {
	t.Helper()
	out := make([]string, len(spans))
	for i, sp := range spans {
		b, err := recordText(body, sp)
		require.NoError(t, err)
		out[i] = string(b)
	}
	return out
}

func TestSplitJSON(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []string
		err  string
	}{
		{`{"a":1}`, []string{`{"a":1}`}, ""},
		{"\ufeff {\"a\":1}\n", []string{`{"a":1}`}, ""},
		{`{"a":"}"}{"b":"\"{"}`, []string{`{"a":"}"}`, `{"b":"\"{"}`}, ""},
		{`{"a":"\\"}` + "\n" + `{"b":2}`, []string{`{"a":"\\"}`, `{"b":2}`}, ""},
		{"[ ]\n[{\"a\":[1,{\"b\":[]}]} , \"x\\ny\"]", []string{`{"a":[1,{"b":[]}]}`, "x\ny"}, ""},
		{`[{"a":1}{"b":2}]`, nil, "record 1 (byte 8 of the body): found '{' after an array element"},
		{`{"a":1}]`, nil, "record 2 (byte 7 of the body): found ']' where a JSON object"},
		{`{"a":1`, nil, "record 1 (byte 0 of the body): the value that starts here is not closed"},
		{`{"a":"x}`, nil, "a string inside the value that starts here is not closed"},
		{`"abc`, nil, "a string that starts here is not closed"},
		{`{"a":tru}`, nil, "record 1 (byte 8 of the body): invalid JSON: invalid character '}' in literal true"},
		{`{"a":1,}`, nil, "invalid JSON"},
		{`[{"a":1},`, nil, "the body ends where a record belongs"},
		{`[{"a":1}`, nil, "byte 0 of the body: the array that starts here is not closed"},
		{`null`, nil, "found 'n' where a JSON object"},
		{"{\"a\":1}\x00", nil, "found byte 0x00 where"},
		{`{"a":` + strings.Repeat(`{"b":`, maxJSONDepth) + `1` + strings.Repeat(`}`, maxJSONDepth+1), nil, "nested deeper than 128 levels"},
	} {
		spans, err := splitJSON([]byte(tc.body), nil)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.body)
			continue
		}
		require.NoError(t, err, tc.body)
		require.Equal(t, tc.want, spanTexts(t, []byte(tc.body), spans), tc.body)
	}
}

func TestSplitLines(t *testing.T) {
	body := []byte("a\r\n\nb\rc\nlast")
	require.Equal(t, []string{"a", "", "b\rc", "last"}, spanTexts(t, body, splitLines(body, nil)))
	require.Empty(t, splitLines(nil, nil))
	require.Equal(t, []string{""}, spanTexts(t, []byte("\n"), splitLines([]byte("\n"), nil)))
}

func TestJSONBodyDetection(t *testing.T) {
	for _, tc := range []struct {
		ct, body string
		json     bool
	}{
		{"application/json", "hello", true},
		{"application/x-ndjson", "", true},
		{"application/json-lines", "", true},
		{"application/vnd.api+json; charset=utf-8", "", true},
		{"text/plain", "{}", false},
		{"", "  \n{}", true},
		{"", "\ufeff[1]", true},
		{"application/x-www-form-urlencoded", "{}", true},
		{"application/octet-stream", "<13>Dec 10 sshd: x", false},
		{"", "", false},
	} {
		require.Equal(t, tc.json, jsonBody(tc.ct, []byte(tc.body)), "%q %q", tc.ct, tc.body)
	}
}

func TestSplitBulkDocumentSpans(t *testing.T) {
	body := []byte("{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\r\n  {\"m\":\"x\"}  \r\n\n{\"create\":{}}\n{\"m\":\"y\"}")
	items, err := splitBulk(body, "dflt", nil)
	require.NoError(t, err)
	require.Len(t, items, 2)
	require.Equal(t, `{"m":"x"}`, string(body[items[0].doc.start:items[0].doc.end]))
	require.Equal(t, "a", items[0].index)
	require.Equal(t, "1", items[0].id)
	require.Equal(t, `{"m":"y"}`, string(body[items[1].doc.start:items[1].doc.end]), "a last line without LF counts")
	require.Equal(t, "dflt", items[1].index)
	require.Zero(t, items[1].status)
}

func TestAppendBulkResponse(t *testing.T) {
	items := []bulkItem{
		{action: bulkCreate, index: "i\"1", id: "00ff", status: 201},
		{action: bulkDelete, index: "i", id: "x\x01\xff", status: 400, errType: "t", errReason: "r\n"},
	}
	out := appendBulkResponse(nil, items, 7)
	var r map[string]any
	require.NoError(t, json.Unmarshal(out, &r), string(out))
	require.Equal(t, true, r["errors"])
	require.Equal(t, float64(7), r["took"])
	del := r["items"].([]any)[1].(map[string]any)["delete"].(map[string]any)
	require.Equal(t, "x\x01\ufffd", del["_id"])
	require.Equal(t, "r\n", del["error"].(map[string]any)["reason"])
	cr := r["items"].([]any)[0].(map[string]any)["create"].(map[string]any)
	require.Equal(t, `i"1`, cr["_index"])
	require.Equal(t, float64(201), cr["status"])
	require.False(t, bytes.Contains(appendBulkResponse(nil, items[:1], 0), []byte(`"errors":true`)))
}

// FuzzSplitJSON checks that the JSON splitter never panics and that what
// it accepts is what encoding/json accepts: every record is one valid
// JSON object or string, records are in order and do not overlap, and
// what lies between them is whitespace, commas and brackets.
func FuzzSplitJSON(f *testing.F) {
	for _, s := range []string{
		"[" + vectorRec1 + "," + vectorRec2 + "]",
		vectorRec1 + "\n" + vectorRec2 + "\n",
		fluentRec1 + fluentRec2,
		winlogbeatDoc,
		`["a","b\"c"]`, `[]`, `{"a":[[[]]]}`, `{"a":"\\"}`, "\ufeff{}", `[{"a":1},]`, `{"a":1}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		spans, err := splitJSON(body, nil)
		if err != nil {
			var be *bodyError
			require.ErrorAs(t, err, &be)
			require.GreaterOrEqual(t, be.Offset, 0)
			require.LessOrEqual(t, be.Offset, len(body))
			return
		}
		prev := 0
		for _, sp := range spans {
			require.LessOrEqual(t, prev, sp.start)
			require.Less(t, sp.start, sp.end)
			require.LessOrEqual(t, sp.end, len(body))
			rec := body[sp.start:sp.end]
			require.True(t, json.Valid(rec), "%q", rec)
			require.Contains(t, []byte{'{', '"'}, rec[0])
			require.Equal(t, rec[0] == '"', sp.quoted)
			_, err := recordText(body, sp)
			require.NoError(t, err)
			gap := body[prev:sp.start]
			if prev == 0 { // a byte order mark may open the body, after blanks
				gap = bytes.TrimPrefix(bytes.TrimLeft(gap, " \t\r\n"), utf8BOM)
			}
			require.Empty(t, bytes.Trim(gap, " \t\r\n,[]"), "%q", gap)
			prev = sp.end
		}
		rest := body[prev:]
		if prev == 0 {
			rest = bytes.TrimPrefix(bytes.TrimLeft(rest, " \t\r\n"), utf8BOM) // a byte order mark alone
		}
		require.Empty(t, bytes.Trim(rest, " \t\r\n,[]"))
	})
}

// FuzzSplitBulk checks that the bulk splitter never panics and that each
// item it returns points at a trimmed document inside the body.
func FuzzSplitBulk(f *testing.F) {
	for _, s := range []string{
		`{"create":{"_index":"filebeat-8.15.0"}}` + "\n" + filebeatDoc + "\n",
		`{"create":{}}` + "\n" + winlogbeatDoc + "\n" + `{"delete":{"_id":"1"}}` + "\n",
		`{"update":{}}` + "\n" + `{"doc":{}}`,
		`{"index":{"_index":7}}` + "\n{}\n",
		"\n\n{\"index\":{}}\n[1]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := splitBulk(body, "d", nil)
		if err != nil {
			return
		}
		for _, it := range items {
			require.Contains(t, []string{bulkCreate, bulkIndex, bulkUpdate, bulkDelete}, it.action)
			if it.action == bulkDelete {
				require.False(t, it.hasDoc)
				continue
			}
			require.True(t, it.hasDoc)
			doc := body[it.doc.start:it.doc.end]
			require.NotEmpty(t, doc)
			require.False(t, isSpace(doc[0]) || isSpace(doc[len(doc)-1]))
			require.NotContains(t, string(doc), "\n")
			if it.status == 0 {
				require.Contains(t, []string{bulkCreate, bulkIndex}, it.action)
				require.True(t, json.Valid(doc))
				require.Equal(t, byte('{'), doc[0])
			}
		}
		var out map[string]any
		require.NoError(t, json.Unmarshal(appendBulkResponse(nil, items, 1), &out))
	})
}

// FuzzSplitLines checks that the lines, joined with the terminators that
// were cut, give back the body.
func FuzzSplitLines(f *testing.F) {
	f.Add([]byte("a\r\nb\n\nc"))
	f.Add([]byte("\r\n\r"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var rebuilt []byte
		for _, sp := range splitLines(body, nil) {
			rebuilt = append(rebuilt, body[sp.start:sp.end]...)
			rest := body[sp.end:]
			switch {
			case bytes.HasPrefix(rest, []byte("\r\n")):
				rebuilt = append(rebuilt, "\r\n"...)
			case bytes.HasPrefix(rest, []byte("\n")):
				rebuilt = append(rebuilt, '\n')
			case bytes.Equal(rest, []byte("\r")):
				rebuilt = append(rebuilt, '\r')
			}
		}
		require.Equal(t, string(body), string(rebuilt))
	})
}

func TestBulkIndexOf(t *testing.T) {
	for path, want := range map[string]string{
		"/_bulk": "", "/logs/_bulk": "logs", "/prefix/logs/_bulk": "logs", "//_bulk": "", "/_all/_bulk": "",
	} {
		require.Equal(t, want, bulkIndexOf(path), path)
	}
}
