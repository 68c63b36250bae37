package parse

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// The envelopes below are built from the shippers' documented event
// shapes: Vector's log event (message, host, timestamp, source_type and
// the source's own keys), Fluent Bit's record (log, and date as epoch
// seconds with a fraction when the output adds it), and the ECS
// documents Filebeat and Elastic Agent send (@timestamp, message or
// event.original, host.name, log.file.path, agent.*).

const jsonSSHDFailed = "Dec 10 06:55:48 web1 sshd[4]: Failed password for root from 192.0.2.7 port 4022 ssh2"

func TestJSONVectorEnvelope(t *testing.T) {
	rec := `{"file":"/var/log/auth.log","host":"vector-1","message":"` + jsonSSHDFailed + `","source_type":"file","timestamp":"2026-12-10T06:55:49.123Z"}`
	ev := genMustParse(t, rec)
	require.Equal(t, rec, ev.Event.Original)
	require.Equal(t, DatasetSSHD, ev.Event.Dataset)
	require.Equal(t, schemas.ActionSSHLogin, ev.Event.Action)
	require.Equal(t, schemas.OutcomeFailure, ev.Event.Outcome)
	require.Equal(t, "192.0.2.7", ev.Source.IP)
	require.Equal(t, "root", ev.User.Name)
	// The line's own host and time win; the shipper's host is kept.
	require.Equal(t, "web1", ev.Host.Name)
	require.Equal(t, utc(2026, 12, 10, 6, 55, 48, 0), ev.Timestamp)
	require.Equal(t, "vector-1", ev.Labels["host"])
	require.Equal(t, "file", ev.Labels["source_type"])
	require.Equal(t, "/var/log/auth.log", ev.Labels["file"])
	require.NotContains(t, ev.Labels, "message")
	require.NotContains(t, ev.Labels, "timestamp")

	// The envelope's time is the reference for a year-less stamp: a
	// December line shipped on New Year's Eve 2025 and read in 2026.
	rec = `{"host":"vector-1","message":"Dec 31 23:59:58 web1 sshd[4]: Failed password for root from 192.0.2.7 port 4022 ssh2","timestamp":"2025-12-31T23:59:59Z"}`
	ev = genMustParse(t, rec)
	require.Equal(t, utc(2025, 12, 31, 23, 59, 58, 0), ev.Timestamp)

	// An inner line without host or time takes the envelope's.
	rec = `{"host":"vector-1","message":"CEF:0|v|p|1|2|n|5|src=192.0.2.9","source_type":"socket","timestamp":"2026-12-10T06:55:49Z"}`
	ev = genMustParse(t, rec)
	require.Equal(t, DatasetCEF, ev.Event.Dataset)
	require.Equal(t, "192.0.2.9", ev.Source.IP)
	require.Equal(t, "vector-1", ev.Host.Name)
	require.Equal(t, utc(2026, 12, 10, 6, 55, 49, 0), ev.Timestamp)
}

func TestJSONFluentBitEnvelope(t *testing.T) {
	rec := `{"date":1599483201.123456,"log":"<38>Sep  7 12:53:20 h sshd[1]: Accepted publickey for alice from 192.0.2.7 port 50122 ssh2: ED25519 SHA256:x\n","stream":"stdout"}`
	ev := genMustParse(t, rec)
	require.Equal(t, schemas.OutcomeSuccess, ev.Event.Outcome)
	require.Equal(t, "alice", ev.User.Name)
	require.Equal(t, "h", ev.Host.Name)
	require.Equal(t, utc(2020, 9, 7, 12, 53, 20, 0), ev.Timestamp, "the line's time; its year from the envelope's date")
	require.Equal(t, "stdout", ev.Labels["stream"])

	rec = `{"date":1599483201.5,"log":"plain application text"}`
	ev = genMustParse(t, rec)
	require.Equal(t, DatasetJSON, ev.Event.Dataset)
	require.Equal(t, "plain application text", ev.Message)
	require.Equal(t, utc(2020, 9, 7, 12, 53, 21, 500_000_000), ev.Timestamp)
}

func TestJSONFilebeatEnvelope(t *testing.T) {
	rec := `{"@timestamp":"2026-12-10T06:55:49.000Z","@metadata":{"beat":"filebeat","type":"_doc","version":"8.15.0"},` +
		`"agent":{"type":"filebeat","version":"8.15.0","hostname":"web1"},"ecs":{"version":"8.0.0"},` +
		`"host":{"name":"web1","hostname":"web1"},"log":{"offset":42,"file":{"path":"/var/log/clamav/clamav.log"}},` +
		`"input":{"type":"filestream"},"message":"Tue Apr 23 11:21:06 2024 -> /tmp/x.exe: Win.Test.EICAR_HDB-1 FOUND"}`
	ev := genMustParse(t, rec)
	require.Equal(t, DatasetClamAV, ev.Event.Dataset)
	require.Equal(t, genActionMalwareDetected, ev.Event.Action)
	require.Equal(t, "Win.Test.EICAR_HDB-1", ev.Threat.Name)
	require.Equal(t, "/tmp/x.exe", ev.File.Path)
	require.Equal(t, utc(2024, 4, 23, 11, 21, 6, 0), ev.Timestamp, "clamd.log's own time")
	require.Equal(t, "web1", ev.Host.Name)
	require.Equal(t, "/var/log/clamav/clamav.log", ev.Labels["log.file.path"])
	require.Equal(t, "42", ev.Labels["log.offset"])
	require.Equal(t, "filebeat", ev.Labels["agent.type"])
	require.Equal(t, "filestream", ev.Labels["input.type"])

	// event.original is the raw line where a shipper keeps both.
	rec = `{"@timestamp":"2026-12-10T06:55:49.000Z","event":{"original":"` + jsonSSHDFailed + `","module":"system"},"message":"Failed password for root","host":{"name":"web1"}}`
	ev = genMustParse(t, rec)
	require.Equal(t, DatasetSSHD, ev.Event.Dataset)
	require.Equal(t, "Failed password for root from 192.0.2.7 port 4022 ssh2", ev.Message)
	require.Equal(t, "Failed password for root", ev.Labels["message"], "the shipper's other message differs: kept")
	require.Equal(t, "system", ev.Labels["event.module"])
	require.NotContains(t, ev.Labels, "event.original")
}

func TestJSONECSFields(t *testing.T) {
	rec := `{"@timestamp":"2026-01-02T03:04:05Z","source":{"ip":"192.0.2.1","port":4444},"destination.ip":"198.51.100.2",` +
		`"destination":{"port":22},"user":{"name":"alice","target":{"name":"root"}},` +
		`"event":{"action":"logged-in","category":["authentication","session"],"outcome":"success","code":4624,"severity":3},` +
		`"process.pid":42,"network":{"transport":"TCP"},"file":{"hash":{"sha256":"275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F"}},` +
		`"custom":{"deep":{"k":"v"}},"tags":["a","b"],"n":null,"flag":true,"ratio":0.5}`
	ev := genMustParse(t, rec)
	require.Equal(t, DatasetJSON, ev.Event.Dataset)
	require.Equal(t, utc(2026, 1, 2, 3, 4, 5, 0), ev.Timestamp)
	require.Equal(t, "192.0.2.1", ev.Source.IP)
	require.Equal(t, 4444, ev.Source.Port)
	require.Equal(t, "198.51.100.2", ev.Destination.IP)
	require.Equal(t, 22, ev.Destination.Port)
	require.Equal(t, "alice", ev.User.Name)
	require.Equal(t, "root", ev.User.Target.Name)
	require.Equal(t, "logged-in", ev.Event.Action)
	require.Equal(t, "authentication", ev.Event.Category)
	require.Equal(t, "success", ev.Event.Outcome)
	require.Equal(t, "4624", ev.Event.Code)
	require.Equal(t, 3, ev.Event.Severity)
	require.Equal(t, 42, ev.Process.PID)
	require.Equal(t, "tcp", ev.Network.Transport)
	require.Equal(t, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", ev.File.Hash.SHA256)
	require.Equal(t, map[string]string{"custom.deep.k": "v", "tags": `["a","b"]`, "flag": "true", "ratio": "0.5"}, ev.Labels)
}

func TestJSONInnerLines(t *testing.T) {
	// A line a reader claims and finds malformed fails the record with
	// that reader's reason.
	ev, reason := genParseLine(t, `{"message":"CEF:0|a|b"}`)
	require.Equal(t, ReasonBadCEF, reason)
	require.Equal(t, `{"message":"CEF:0|a|b"}`, ev.Event.Original)

	// An application's own JSON log: its message is text, not a failure.
	ev = genMustParse(t, `{"level":"info","message":"server started","time":"2024-01-02T03:04:05Z","port":8080}`)
	require.Equal(t, DatasetJSON, ev.Event.Dataset)
	require.Equal(t, "server started", ev.Message)
	require.Equal(t, utc(2024, 1, 2, 3, 4, 5, 0), ev.Timestamp)
	require.Equal(t, "info", ev.Labels["level"])
	require.Equal(t, "8080", ev.Labels["port"])

	// JSON after a syslog header keeps the header.
	ev = genMustParse(t, `Dec  1 06:55:48 web1 myapp[9]: {"user":"x","source.ip":"192.0.2.1"}`)
	require.Equal(t, DatasetJSON, ev.Event.Dataset)
	require.Equal(t, "web1", ev.Host.Name)
	require.Equal(t, "myapp", ev.Process.Name)
	require.Equal(t, "192.0.2.1", ev.Source.IP)
	require.Equal(t, "x", ev.Labels["user"])
	require.Equal(t, utc(2026, 12, 1, 6, 55, 48, 0), ev.Timestamp)

	// A Docker log record (JSON in a string) shipped in a JSON envelope.
	ev = genMustParse(t, `{"log":"{\"message\":\"`+jsonSSHDFailed+`\"}\n","stream":"stdout","time":"2026-12-10T06:55:49.5Z"}`)
	require.Equal(t, DatasetSSHD, ev.Event.Dataset)
	require.Equal(t, "192.0.2.7", ev.Source.IP)

	// Wrapping deeper than jsonMaxEmbed leaves the innermost as text.
	inner := `{"message":"` + jsonSSHDFailed + `"}`
	for range jsonMaxEmbed {
		inner = `{"message":` + strconv.Quote(inner) + `}`
	}
	ev = genMustParse(t, inner)
	require.Equal(t, DatasetJSON, ev.Event.Dataset)
	require.True(t, strings.HasPrefix(ev.Message, `{"message":`), ev.Message)
}

func TestJSONMalformedAndHostile(t *testing.T) {
	for rec, detail := range map[string]string{
		`[{"a":1},{"b":2}]`: "send one object per line",
		`{"a":`:             "the record ends inside a JSON value at byte 5",
		`{"a":1}x`:          "more after the JSON value at byte 7",
		`{"a":tru}`:         "expected a JSON value at byte 5",
		`{"a":"\x"}`:        "a malformed JSON string at byte 7",
		`{a:1}`:             "expected a quoted key at byte 1",
		`{"a" 1}`:           "expected ':' after a key at byte 5",
		`{"a":1,}`:          "expected a quoted key at byte 7",
		`{"a":01}`:          "expected ',' or a closing bracket at byte 6",
		"{\"a\":\"\x01\"}":  "a malformed JSON string at byte 6",
	} {
		var ev schemas.Event
		err := New(Options{}).Parse(rec, testReceived, &ev)
		require.Equal(t, ReasonBadJSON, reasonOf(t, err), rec)
		require.Contains(t, err.Error(), detail, rec)
	}
	// Text that merely starts with '[' is no JSON record.
	_, reason := genParseLine(t, "[2024-01-02 03:04:05] worker started")
	require.Equal(t, ReasonNoHeader, reason)

	// 33 levels fail; 32 parse, the deepest kept as a label.
	deep := strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33)
	_, reason = genParseLine(t, deep)
	require.Equal(t, ReasonBadJSON, reason)
	ev := genMustParse(t, deep[5:len(deep)-1])
	require.Equal(t, "1", ev.Labels[strings.TrimSuffix(strings.Repeat("a.", 31), ".")+".a"])

	// Hostile records fail at the depth limit, long before their end.
	for _, rec := range []string{
		`{"a":` + strings.Repeat("[", 100_000),
		`{"a":` + strings.Repeat("[", 10<<20),
		strings.Repeat(`{"a":`, 2<<20),
	} {
		var e schemas.Event
		err := New(Options{}).Parse(rec, testReceived, &e)
		require.Equal(t, ReasonBadJSON, reasonOf(t, err))
		require.Contains(t, err.Error(), "nested deeper than 32 levels")
	}

	// A 10 MB flat record parses with its labels bounded.
	var b strings.Builder
	b.WriteString(`{"big":"` + strings.Repeat("x", 5000) + `"`)
	for i := 0; b.Len() < 10<<20; i++ {
		b.WriteString(`,"k` + strconv.Itoa(i) + `":` + strconv.Itoa(i))
	}
	b.WriteString("}")
	ev = genMustParse(t, b.String())
	require.Len(t, ev.Labels, genMaxLabels)
	require.Len(t, ev.Labels["big"], genMaxLabelValue)
	require.Equal(t, "7", ev.Labels["k7"])
}

func TestJSONClaims(t *testing.T) {
	require.True(t, jsonClaims(`{not json`))
	require.True(t, jsonClaims(`[1, 2]`))
	require.False(t, jsonClaims(`[2024-01-02] x`))
	// Switched off, a JSON record is a line no format reads.
	var ev schemas.Event
	err := New(Options{Disabled: []string{"json"}}).Parse(`{"a":1}`, testReceived, &ev)
	require.Equal(t, ReasonNoHeader, reasonOf(t, err))
}

func TestGenLabelBounds(t *testing.T) {
	var ev schemas.Event
	genLabel(&ev, "k", "first")
	genLabel(&ev, "k", "second")
	require.Equal(t, "first", ev.Labels["k"])
	genLabel(&ev, strings.Repeat("k", genMaxLabelKey+1), "v")
	require.Len(t, ev.Labels, 1)
	// Cut on a UTF-8 boundary: "é" is two bytes.
	v := strings.Repeat("é", genMaxLabelValue)
	genLabel(&ev, "u", v)
	require.Len(t, ev.Labels["u"], genMaxLabelValue)
	require.True(t, strings.HasSuffix(ev.Labels["u"], "é"))
	genLabel(&ev, "odd", "a"+v)
	require.Len(t, ev.Labels["odd"], genMaxLabelValue-1)
}

func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		`{"file":"/var/log/auth.log","host":"vector-1","message":"` + jsonSSHDFailed + `","source_type":"file","timestamp":"2026-12-10T06:55:49.123Z"}`,
		`{"date":1599483201.123456,"log":"plain text\n","stream":"stdout"}`,
		`{"@timestamp":"2026-12-10T06:55:49.000Z","host":{"name":"web1"},"log":{"file":{"path":"/x"}},"message":"Tue Apr 23 11:21:06 2024 -> /tmp/x: Eicar FOUND"}`,
		`{"source":{"ip":"192.0.2.1","port":4444},"event":{"category":["authentication"]},"tags":["a"],"n":null}`,
		`{"log":"{\"message\":\"CEF:0|v|p|1|2|n|5|src=1.2.3.4\"}"}`,
		`[{"a":1}]`, `{"a":[[[[1]]]]}`, `{"a":"\u00e9\ud83d\ude00"}`,
	} {
		f.Add(s)
	}
	p := New(Options{})
	reasons := genKnownReasons()
	f.Fuzz(func(t *testing.T, line string) {
		var ev schemas.Event
		err := p.Parse(line, testReceived, &ev)
		genCheckEvent(t, line, &ev, err, reasons)
	})
}

func BenchmarkParseJSON(b *testing.B) {
	genBench(b,
		`{"file":"/var/log/auth.log","host":"vector-1","message":"`+jsonSSHDFailed+`","source_type":"file","timestamp":"2026-12-10T06:55:49.123Z"}`,
		`{"@timestamp":"2026-01-02T03:04:05Z","source":{"ip":"192.0.2.1","port":4444},"user":{"name":"alice"},"event":{"action":"logged-in","category":["authentication"],"outcome":"success"},"custom":{"k":"v"}}`,
	)
}
