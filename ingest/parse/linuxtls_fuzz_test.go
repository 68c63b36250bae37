package parse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Fuzz targets of the linux_accounts, auditd, config_change and tls_scan
// readers. Each runs the reader both as auto-detected and as a listener's
// only format, so that any input reaches it, and checks that nothing
// panics, failures carry a known reason and Original is the input.

var fuzzReceived = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// fuzzReasons is the set of every reason Parse may return.
func fuzzReasons() map[string]bool {
	out := map[string]bool{}
	for _, r := range Reasons() {
		out[r] = true
	}
	return out
}

// fuzzParse parses line with p and checks the invariants every reader
// keeps.
func fuzzParse(t *testing.T, p *Parser, reasons map[string]bool, line string) schemas.Event {
	var ev schemas.Event
	err := p.Parse(line, fuzzReceived, &ev)
	if ev.Event.Original != line {
		t.Fatalf("Original = %q, want the input %q", ev.Event.Original, line)
	}
	if err != nil {
		pe, ok := err.(*Error)
		if !ok || !reasons[pe.Reason] {
			t.Fatalf("error %v is not an *Error with a known reason", err)
		}
	}
	if ev.Timestamp.IsZero() {
		t.Fatalf("no timestamp for %q", line)
	}
	return ev
}

// checkSubstrings fails when a field that the line names is not a
// substring of it: these readers copy nothing.
func checkSubstrings(t *testing.T, ev *schemas.Event, line string) {
	for name, s := range map[string]string{
		"user.name": ev.User.Name, "user.target.name": ev.User.Target.Name, "user.target.id": ev.User.Target.ID,
		"group.name": ev.Group.Name, "group.id": ev.Group.ID, "process.command_line": ev.Process.CommandLine,
		"observer.hostname": ev.Observer.Hostname, "event.code": ev.Event.Code,
	} {
		if !within(s, line) {
			t.Fatalf("%s %q is not a substring of %q", name, s, line)
		}
	}
}

func FuzzAccounts(f *testing.F) {
	for _, c := range accountCases {
		f.Add(c.line)
	}
	f.Add("Dec  1 10:00:00 web1 useradd[1]: new user: name=")
	f.Add("Dec  1 10:00:00 web1 gpasswd[1]: x failed to add user  to group ")
	auto, forced := New(Options{}), New(Options{Format: "linux_accounts"})
	reasons := fuzzReasons()
	f.Fuzz(func(t *testing.T, line string) {
		for _, p := range []*Parser{auto, forced} {
			ev := fuzzParse(t, p, reasons, line)
			checkSubstrings(t, &ev, line)
		}
	})
}

func FuzzAuditd(f *testing.F) {
	for _, c := range auditCases {
		f.Add(c.line)
	}
	f.Add("type=EXECVE msg=audit(1.000:1): argc=1 a99999999=41")
	f.Add("type=X msg=audit(1.000:1): msg='op=a b c")
	auto, forced := New(Options{}), New(Options{Format: "auditd"})
	reasons := fuzzReasons()
	f.Fuzz(func(t *testing.T, line string) {
		for _, p := range []*Parser{auto, forced} {
			ev := fuzzParse(t, p, reasons, line)
			if ev.Event.Dataset != DatasetAuditd {
				continue
			}
			// Every label is a field of the record (or one of the a0...
			// keys and the sequence): never more than the record's '='
			// signs allow.
			if n := len(ev.Labels); n > strings.Count(line, "=")+auditMaxArgs+2 {
				t.Fatalf("%d labels from %q", n, line)
			}
			if ev.Process.PID < 0 || ev.Process.Parent.PID < 0 {
				t.Fatalf("negative pid from %q", line)
			}
			if !within(ev.Host.Name, line) {
				t.Fatalf("host.name %q is not from the line %q", ev.Host.Name, line)
			}
		}
	})
}

func FuzzConfigChange(f *testing.F) {
	for _, c := range configCases {
		f.Add(c.line)
	}
	f.Add("system,info  by @/")
	f.Add("00001 mgr: Running Config Change by")
	auto, forced := New(Options{}), New(Options{Format: "config_change"})
	reasons := fuzzReasons()
	f.Fuzz(func(t *testing.T, line string) {
		for _, p := range []*Parser{auto, forced} {
			ev := fuzzParse(t, p, reasons, line)
			checkSubstrings(t, &ev, line)
			if !within(ev.Change.Item, line) && ev.Change.Item != "running-config" &&
				ev.Change.Item != "startup-config" && ev.Change.Item != "configuration" {
				t.Fatalf("change.item %q is not from %q", ev.Change.Item, line)
			}
		}
	})
}

// tlsSeeds returns the sample reports compacted and every canonical
// record split from them.
func tlsSeeds(f *testing.F) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "tls_scan", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no sample reports: %v", err)
	}
	var out []string
	for _, file := range files {
		rec := readReport(f, filepath.Base(file))
		out = append(out, string(rec))
		for _, r := range SplitTLSReport(rec) {
			out = append(out, string(r))
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, string(raw))
	}
	return out
}

func FuzzTLSScan(f *testing.F) {
	for _, s := range tlsSeeds(f) {
		f.Add(s)
	}
	auto, forced := New(Options{}), New(Options{Format: "tls_scan"})
	reasons := fuzzReasons()
	f.Fuzz(func(t *testing.T, rec string) {
		for _, p := range []*Parser{auto, forced} {
			ev := fuzzParse(t, p, reasons, rec)
			if ev.Event.Action == tlsScanResult && ev.Destination.IP != "" && !isIP(ev.Destination.IP) {
				t.Fatalf("destination.ip %q is no address", ev.Destination.IP)
			}
		}
	})
}

// Every record SplitTLSReport writes is one Parse reads without failing,
// whatever report it came from.
func FuzzSplitTLSReport(f *testing.F) {
	for _, s := range tlsSeeds(f) {
		f.Add(s)
	}
	p := New(Options{})
	f.Fuzz(func(t *testing.T, rec string) {
		for _, part := range SplitTLSReport([]byte(rec)) {
			var ev schemas.Event
			if err := p.Parse(string(part), fuzzReceived, &ev); err != nil {
				t.Fatalf("split record %s does not parse: %v", part, err)
			}
			if ev.Event.Action != tlsScanResult {
				t.Fatalf("split record %s read as %q", part, ev.Event.Action)
			}
		}
	})
}
