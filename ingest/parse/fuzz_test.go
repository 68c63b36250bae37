package parse

import (
	"github.com/tocsin-siem/tocsin/internal/shareddata"
	"net/netip"
	"strings"

	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/tocsin-siem/tocsin/schemas"
)

// seedLines adds the go-syslog vectors, the test tables' lines and, when
// the shared data set is there, real auth logs.
func seedLines(f *testing.F) []string {
	var lines []string
	for _, name := range []string{"gosyslog_rfc3164_vectors.json", "gosyslog_rfc5424_vectors.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		var v struct {
			Vectors []struct {
				Input  string `json:"input"`
				Base64 string `json:"input_base64"`
			} `json:"vectors"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			f.Fatal(err)
		}
		for _, x := range v.Vectors {
			if x.Base64 != "" {
				raw, _ := base64.StdEncoding.DecodeString(x.Base64)
				lines = append(lines, string(raw))
				continue
			}
			lines = append(lines, x.Input)
		}
	}
	lines = append(lines,
		sshdAt("h", 1, invalidX), sshdAt("h", 1, failedX), sshdAt("h", 1, closedX),
		sshdAt("h", 1, "message repeated 3 times: [ "+failedX+"]"),
		sshdAt("h", 1, "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=::1  user=root"),
		"Jun 25 16:15:45 precise32 sudo:     mike : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/bin/ls",
		"Jan  1 00:00:00 h su[4242]: FAILED SU (to root) alice on pts/0",
		"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ",
		"2020-03-23 06:47:42.801612-0700  localhost sshd[3186]: error: PAM: unknown user for illegal user badguy from 192.168.33.1",
		"<190>Apr 15 2007 21:28:13: %PIX-6-302014: Teardown TCP connection",
		"Feb 29 12:00:00 h a: x",
	)
	for _, rel := range []string{"loghub/OpenSSH/OpenSSH_2k.log", "loghub/Linux/Linux_2k.log", "crowdsec_hub_tests/sshd-logs/sshd-logs.log"} {
		path, ok := sharedDataPath(rel)
		if !ok {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// Every 20th line keeps the corpus small and varied.
		for i, line := range splitLines(string(b)) {
			if i%20 == 0 {
				lines = append(lines, line)
			}
		}
	}
	return lines
}

// sharedDataPath is sharedData without a test to skip.
func sharedDataPath(rel string) (string, bool) { return shareddata.Lookup(rel) }

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// within reports whether s is empty or lies inside line's memory: the
// parser must not copy.
func within(s, line string) bool {
	if s == "" {
		return true
	}
	if line == "" {
		return false
	}
	b := uintptr(unsafe.Pointer(unsafe.StringData(line)))
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	return p >= b && p+uintptr(len(s)) <= b+uintptr(len(line))
}

func FuzzParse(f *testing.F) {
	for _, line := range seedLines(f) {
		f.Add(line)
	}
	p := New(Options{})
	received := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	reasons := map[string]bool{}
	for _, r := range Reasons() {
		reasons[r] = true
	}
	f.Fuzz(func(t *testing.T, line string) {
		var ev schemas.Event
		err := p.Parse(line, received, &ev)
		if ev.Event.Original != line {
			t.Fatalf("Original = %q, want the input %q", ev.Event.Original, line)
		}
		if ev.Event.Count < 0 {
			t.Fatalf("negative count %d", ev.Event.Count)
		}
		if err != nil {
			pe, ok := err.(*Error)
			if !ok || !reasons[pe.Reason] {
				t.Fatalf("error %v is not an *Error with a known reason", err)
			}
		} else if ev.Timestamp.IsZero() {
			t.Fatalf("parsed without a timestamp: %q", line)
		}
		// The syslog and authentication readers keep every field a
		// substring of the line; readers of escaped formats (CEF, JSON,
		// key=value) unescape, and have fuzz targets of their own.
		switch ev.Event.Dataset {
		case "", DatasetSSHD, DatasetSudo, DatasetSu, DatasetPAM, DatasetLinuxAccounts:
		default:
			return
		}
		for name, s := range map[string]string{
			"message": ev.Message, "hostname": ev.Log.Syslog.Hostname, "appname": ev.Log.Syslog.AppName,
			"procid": ev.Log.Syslog.ProcID, "msgid": ev.Log.Syslog.MsgID, "user": ev.User.Name,
			"target": ev.User.Target.Name,
			"method": ev.SSH.Method, "command": ev.Process.CommandLine, "process": ev.Process.Name,
		} {
			if !within(s, line) {
				t.Fatalf("%s %q is not a substring of the line", name, s)
			}
		}
		// Addresses and host names are stored in one spelling, so they
		// may differ from the line's bytes: an address must be canonical,
		// a name lower case and found in the line whatever its case.
		if ip := ev.Source.IP; ip != "" {
			if a, err := netip.ParseAddr(ip); err != nil || a.Unmap().String() != ip {
				t.Fatalf("ip %q is not an address in canonical form", ip)
			}
		}
		if d := ev.Source.Domain; d != "" {
			if d != asciiLower(d) || strings.HasSuffix(d, ".") || !strings.Contains(asciiLower(line), d) {
				t.Fatalf("domain %q is not the line's name in lower case", d)
			}
		}
		if sd := ev.Log.Syslog.StructuredData; sd != "" && sd != "-" {
			if !within(sd, line) {
				t.Fatalf("structured data is not a substring of the line")
			}
			if err := WalkStructuredData(sd, func(string, string, string) bool { return true }); err != nil {
				t.Fatalf("stored structured data %q does not walk: %v", sd, err)
			}
		}
	})
}

// FuzzSSHDTracker feeds the tracker a fuzzed sequence of sshd messages
// for a few processes and checks its invariants: counts never go
// negative, a count drops by at most one, and the tracker stays within
// its bound.
func FuzzSSHDTracker(f *testing.F) {
	f.Add([]byte{0, 1, 1, 3, 0, 2, 4, 1})
	f.Add([]byte{0x10, 0x21, 0x32, 0x01, 0x11, 0x05, 0x15})
	f.Add([]byte{0, 0, 0, 0, 1, 1, 1, 1, 2, 2})
	f.Fuzz(checkTrackerOps)
}

// trackerMsgs are the sshd messages FuzzSSHDTracker draws from.
var trackerMsgs = []string{
	invalidX, failedX, failedRoot, closedX,
	"message repeated 3 times: [ " + failedX + "]",
	"pam_unix(sshd:session): session closed for user x",
	"Accepted password for x from 10.0.0.1 port 4000 ssh2",
	"input_userauth_request: invalid user x [preauth]",
}

// checkTrackerOps runs one fuzzed sequence: each byte picks a process
// (high nibble) and a message (low nibble).
func checkTrackerOps(t *testing.T, ops []byte) {
	const maxProcs = 3
	if len(ops) > 512 {
		ops = ops[:512] // longer runs add nothing but time per input
	}
	p := New(Options{})
	tr := NewSSHDTracker(maxProcs)
	for _, op := range ops {
		pid := int(op>>4)%5 + 1
		var ev schemas.Event
		if err := p.Parse(sshdAt("h", pid, trackerMsgs[int(op&0x0f)%len(trackerMsgs)]), testReceived, &ev); err != nil {
			t.Fatal(err)
		}
		before := ev.Event.Count
		tr.Apply(&ev)
		if ev.Event.Count < 0 || ev.Event.Count < before-1 || ev.Event.Count > before {
			t.Fatalf("count went from %d to %d", before, ev.Event.Count)
		}
		if n := tr.Len(); n > maxProcs {
			t.Fatalf("tracker holds %d processes, bound %d", n, maxProcs)
		}
	}
}
