package parse

import (
	"testing"

	"github.com/tocsin-siem/tocsin/schemas"
)

// benchWindows parses one record per iteration, in auto mode, as a
// listener does.
func benchWindows(b *testing.B, rec string) {
	p := New(Options{})
	var ev schemas.Event
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		ev.Reset()
		if err := p.Parse(rec, winReceived, &ev); err != nil {
			b.Fatal(err)
		}
	}
	if ev.Event.Action == "" {
		b.Fatal("the record got no action")
	}
}

// A Winlogbeat 8 document of a failed logon, from a _bulk body.
func BenchmarkParseWindowsWinlogbeat(b *testing.B) {
	benchWindows(b, winBulkDocs(b, "winlogbeat8_bulk.ndjson")[0])
}

// An NXLog record of a failed logon, with its rendered message.
func BenchmarkParseWindowsNXLog(b *testing.B) {
	benchWindows(b, winSample(b, "nxlog.ndjson")[0])
}

// A rendered event XML of a failed logon (German rendering).
func BenchmarkParseWindowsXML(b *testing.B) {
	benchWindows(b, winSample(b, "wef_rendered.xml")[0])
}

// A Wazuh eventchannel record of a failed logon.
func BenchmarkParseWindowsWazuh(b *testing.B) {
	benchWindows(b, winSample(b, "other_shapes.ndjson")[0])
}

// An evtx_dump JSON record of a failed logon.
func BenchmarkParseWindowsEvtx(b *testing.B) {
	benchWindows(b, winSample(b, "other_shapes.ndjson")[2])
}

// A PowerShell Get-WinEvent record of a Defender detection.
func BenchmarkParseWindowsPowerShell(b *testing.B) {
	benchWindows(b, winSample(b, "other_shapes.ndjson")[3])
}

// The JSON detector on a record that is not a Windows event: it runs for
// every JSON record no earlier source took.
func BenchmarkWindowsJSONDetectOther(b *testing.B) {
	rec := `{"eventVersion":"1.05","userIdentity":{"type":"IAMUser","userName":"pedro"},"eventName":"GetObject",` +
		`"awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","requestParameters":{"bucketName":"b","key":"k"}}`
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if winJSONShape(rec) != winShapeNone {
			b.Fatal("claimed")
		}
	}
}
