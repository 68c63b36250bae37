package parse

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// winSeeds adds the Windows samples and, when the shared data set is
// there, a slice of the public Windows records.
func winSeeds(f *testing.F, xmlOnly bool) {
	var recs []string
	recs = append(recs, winSample(f, "wef_rendered.xml")...)
	if !xmlOnly {
		recs = append(recs, winSample(f, "winlogbeat7.ndjson")...)
		recs = append(recs, winBulkDocs(f, "winlogbeat8_bulk.ndjson")...)
		recs = append(recs, winSample(f, "other_shapes.ndjson")...)
		recs = append(recs, winSample(f, "nxlog.ndjson")...)
		recs = append(recs,
			`{"EventID":4625,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","TargetUserName":"a\u00e9","IpAddress":"::1"}`,
			`{"Id":1116,"ProviderName":"Microsoft-Windows-Windows Defender","LogName":"x","Properties":[{"Value":{"Value":"S-1-5-18"}},1,null]}`,
			`{"Event":{"System":{"EventID":{"#text":7036},"Keywords":"0x"}},"EventData":null}`,
			`{"data":{"win":{"system":{"eventID":"4740"},"eventdata":{"targetDomainName":"X"}}}}`,
		)
	}
	recs = append(recs,
		`<Event><System><EventID>4625</EventID><Keywords>-1</Keywords></System><EventData><Data>x</Data><Data Name='IpAddress'>127.0.0.1</Data></EventData></Event>`,
		`<Event><System><EventID>4656</EventID></System><EventData><Data Name='ObjectName'>a<!--c-->b</Data></EventData><UserData><X><Y>1</Y></X></UserData></Event>`,
	)
	for _, rel := range []string{"crowdsec_hub_tests/windows-bf/windows-bf.log", "otrf/credential_dumping/psh_lsass_memory_dump_comsvcs.jsonl"} {
		path, ok := sharedDataPath(rel)
		if !ok || (xmlOnly && strings.HasSuffix(rel, ".jsonl")) {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for i, line := range splitLines(string(b)) {
			if i%25 == 0 && line != "" {
				recs = append(recs, line)
			}
		}
	}
	for _, r := range recs {
		f.Add(r)
	}
}

// winFuzzCheck parses rec in auto mode and with the windows format
// forced, and checks what must hold for any input: no panic, Original
// kept, a known reason on failure, a UTC timestamp, bounded labels and,
// when rec escapes nothing, string fields that are substrings of it.
func winFuzzCheck(t *testing.T, rec string, plain bool) {
	reasons := map[string]bool{}
	for _, r := range Reasons() {
		reasons[r] = true
	}
	received := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	for _, p := range []*Parser{New(Options{}), New(Options{Format: "windows"})} {
		var ev schemas.Event
		err := p.Parse(rec, received, &ev)
		if ev.Event.Original != rec {
			t.Fatalf("Original changed")
		}
		if err != nil {
			pe, ok := err.(*Error)
			if !ok || !reasons[pe.Reason] || pe.Detail == "" {
				t.Fatalf("error %v is not an *Error with a known reason and a detail", err)
			}
		}
		if ev.Timestamp.IsZero() || ev.Timestamp.Location() != time.UTC {
			t.Fatalf("timestamp %v is not a UTC time", ev.Timestamp)
		}
		if !strings.HasPrefix(ev.Event.Dataset, "windows") {
			continue
		}
		if len(ev.Labels) > winMaxLabels {
			t.Fatalf("%d labels, more than %d", len(ev.Labels), winMaxLabels)
		}
		if !plain {
			continue
		}
		fields := map[string]string{
			"user.name": ev.User.Name, "user.domain": ev.User.Domain, "user.id": ev.User.ID,
			"user.target.name": ev.User.Target.Name, "user.target.id": ev.User.Target.ID,
			"user.target.domain": ev.User.Target.Domain, "group.name": ev.Group.Name, "group.id": ev.Group.ID,
			"host.name": ev.Host.Name, "process.executable": ev.Process.Executable, "process.name": ev.Process.Name,
			"process.command_line": ev.Process.CommandLine, "process.parent.executable": ev.Process.Parent.Executable,
			"file.path": ev.File.Path, "file.name": ev.File.Name, "threat.name": ev.Threat.Name,
			"threat.category": ev.Threat.Category, "threat.severity": ev.Threat.Severity,
			"winlog.channel": ev.Winlog.Channel, "winlog.provider_name": ev.Winlog.Provider,
			"winlog.computer_name": ev.Winlog.Computer, "winlog.status": ev.Winlog.Status,
			"winlog.sub_status": ev.Winlog.SubStatus, "event.code": ev.Event.Code, "change.item": ev.Change.Item,
			"source.domain": ev.Source.Domain, "destination.domain": ev.Destination.Domain,
			"destination.ip": ev.Destination.IP, "observer.version": ev.Observer.Version, "message": ev.Message,
		}
		for k, v := range ev.Labels {
			fields["labels."+k] = v
		}
		for name, v := range fields {
			if !within(v, rec) {
				t.Fatalf("%s %q is not a substring of the record", name, v)
			}
		}
	}
}

// winPlain reports whether rec escapes nothing, so that every value read
// from it must be a substring: gjson copies a JSON string with escapes,
// encoding/xml copies text with entities or CR LF, CDATA sections and
// text split by comments.
func winPlain(rec string) bool {
	return !strings.ContainsAny(rec, "\\&\r") && !strings.Contains(rec, "<!")
}

// FuzzWindowsJSON fuzzes the JSON layouts (Winlogbeat, NXLog, Wazuh,
// evtx_dump, PowerShell).
func FuzzWindowsJSON(f *testing.F) {
	winSeeds(f, false)
	f.Fuzz(func(t *testing.T, rec string) { winFuzzCheck(t, rec, winPlain(rec)) })
}

// FuzzWindowsXML fuzzes the event XML reader.
func FuzzWindowsXML(f *testing.F) {
	winSeeds(f, true)
	f.Fuzz(func(t *testing.T, rec string) { winFuzzCheck(t, rec, winPlain(rec)) })
}
