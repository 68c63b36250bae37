package parse

import (
	"bufio"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Real logs from Loghub and the CrowdSec hub tests, read from the shared
// data set next to the repository.

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, sc.Err())
	return lines
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	var rows []map[string]string
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, k := range recs[0] {
			row[k] = r[i]
		}
		rows = append(rows, row)
	}
	return rows
}

// kind is what a Loghub template means to tocsin.
type kind struct{ dataset, action, outcome string }

// openSSHTemplates maps every template of Loghub's OpenSSH sample to the
// meaning tocsin gives its lines.
var openSSHTemplates = map[string]kind{
	"E1":  {"sshd", schemas.ActionSSHLogin, schemas.OutcomeSuccess},   // Accepted password
	"E2":  {"sshd", schemas.ActionSSHDisconnect, ""},                  // Connection closed
	"E3":  {"sshd", schemas.ActionSSHDisconnect, ""},                  // Did not receive identification string
	"E4":  {"sshd", schemas.ActionSSHDisconnect, ""},                  // Too many authentication failures for admin
	"E5":  {"sshd", schemas.ActionSSHDisconnect, ""},                  // Too many authentication failures for root
	"E6":  {"sshd", schemas.ActionSSHDisconnect, ""},                  // error: Received disconnect ... JSchException
	"E7":  {"sshd", schemas.ActionSSHDisconnect, ""},                  // error: Received disconnect ... No more methods
	"E8":  {"sshd", schemas.ActionSSHLogin, schemas.OutcomeFailure},   // Failed none for invalid user
	"E9":  {"sshd", schemas.ActionSSHLogin, schemas.OutcomeFailure},   // Failed password
	"E10": {"sshd", schemas.ActionSSHLogin, schemas.OutcomeFailure},   // Failed password for invalid user
	"E11": {"", "", ""},                                               // fatal: Write failed
	"E12": {"sshd", "", ""},                                           // input_userauth_request: invalid user
	"E13": {"sshd", schemas.ActionSSHLogin, schemas.OutcomeFailure},   // Invalid user
	"E14": {"sshd", schemas.ActionSSHLogin, schemas.OutcomeFailure},   // message repeated N times: [ Failed password ...]
	"E15": {"sshd", schemas.ActionPAMAuth, schemas.OutcomeFailure},    // PAM 1 more authentication failure
	"E16": {"sshd", schemas.ActionPAMAuth, schemas.OutcomeFailure},    // PAM N more authentication failures
	"E17": {"sshd", schemas.ActionPAMAuth, schemas.OutcomeFailure},    // PAM N more ... user=root
	"E18": {"", "", ""},                                               // PAM service(sshd) ignoring max retries
	"E19": {"sshd", schemas.ActionPAMAuth, schemas.OutcomeFailure},    // pam_unix authentication failure
	"E20": {"sshd", schemas.ActionPAMAuth, schemas.OutcomeFailure},    // pam_unix authentication failure user=
	"E21": {"sshd", "", ""},                                           // check pass; user unknown
	"E22": {"sshd", schemas.ActionSSHSession, schemas.OutcomeSuccess}, // session closed
	"E23": {"sshd", schemas.ActionSSHSession, schemas.OutcomeSuccess}, // session opened
	"E24": {"sshd", schemas.ActionSSHDisconnect, ""},                  // Received disconnect: Bye Bye
	"E25": {"sshd", schemas.ActionSSHDisconnect, ""},                  // Received disconnect: Closed due to user request
	"E26": {"sshd", schemas.ActionSSHDisconnect, ""},                  // Received disconnect: disconnected by user
	"E27": {"sshd", "", ""},                                           // reverse mapping ... POSSIBLE BREAK-IN ATTEMPT
}

func TestLoghubOpenSSH(t *testing.T) {
	dir := sharedData(t, "loghub/OpenSSH")
	lines := readLines(t, filepath.Join(dir, "OpenSSH_2k.log"))
	rows := readCSV(t, filepath.Join(dir, "OpenSSH_2k.log_structured.csv"))
	require.Len(t, lines, 2000)
	require.Len(t, rows, len(lines))
	p := New(Options{})
	received := time.Date(2017, 1, 15, 0, 0, 0, 0, time.UTC) // the sample spans Dec 10 to Jan 7
	for i, line := range lines {
		var ev schemas.Event
		require.NoError(t, p.Parse(line, received, &ev), "line %d: %q", i+1, line)
		row := rows[i]
		require.Equal(t, "LabSZ", ev.Host.Name, "line %d", i+1)
		require.Equal(t, row["Pid"], strconv.Itoa(ev.Process.PID), "line %d", i+1)
		require.Equal(t, "sshd", ev.Process.Name, "line %d", i+1)
		require.Equal(t, row["Content"], strings.TrimRight(ev.Message, " "), "line %d", i+1)
		want, known := openSSHTemplates[row["EventId"]]
		require.True(t, known, "template %s", row["EventId"])
		got := kind{ev.Event.Dataset, ev.Event.Action, ev.Event.Outcome}
		require.Equal(t, want, got, "line %d (%s): %q", i+1, row["EventId"], line)
		if ev.Event.Action == schemas.ActionSSHLogin || ev.Event.Action == schemas.ActionPAMAuth {
			require.NotEmpty(t, ev.Source.IP+ev.Source.Domain, "line %d", i+1)
		}
		// Year inference across the new year: December is 2016.
		wantYear := 2017
		if ev.Timestamp.Month() == time.December {
			wantYear = 2016
		}
		require.Equal(t, wantYear, ev.Timestamp.Year(), "line %d", i+1)
	}
}

// TestLoghubOpenSSHAttempts checks the attempt accounting on a real log
// against a count made directly from the raw lines, looking ahead the way
// a batch reader can: every "Failed" line counts (N for "message repeated
// N times"), and an "Invalid user" line counts only when no "Failed ...
// for invalid user" line of the same process follows it before the next
// "Invalid user" line or the process's end.
func TestLoghubOpenSSHAttempts(t *testing.T) {
	lines := readLines(t, sharedData(t, "loghub/OpenSSH/OpenSSH_2k.log"))
	pidOf := func(line string) string {
		i := strings.Index(line, "sshd[")
		j := strings.IndexByte(line[i:], ']')
		return line[i+5 : i+j]
	}
	want := 0
	pendingInvalid := map[string]bool{}
	repeated := regexp.MustCompile(`message repeated (\d+) times: \[ Failed `)
	for _, line := range lines {
		pid := pidOf(line)
		switch {
		case strings.Contains(line, ": Invalid user "):
			if pendingInvalid[pid] {
				want++ // the previous one was not followed by a Failed line
			}
			pendingInvalid[pid] = true
		case strings.Contains(line, ": Failed "):
			want++
			if strings.Contains(line, " for invalid user ") && pendingInvalid[pid] {
				delete(pendingInvalid, pid) // the same attempt
			}
		case repeated.MatchString(line):
			n, _ := strconv.Atoi(repeated.FindStringSubmatch(line)[1])
			want += n
			if strings.Contains(line, " for invalid user ") && pendingInvalid[pid] {
				delete(pendingInvalid, pid)
			}
		}
	}
	want += len(pendingInvalid)

	p := New(Options{})
	tr := NewSSHDTracker(0)
	received := time.Date(2017, 1, 15, 0, 0, 0, 0, time.UTC)
	got, invalidLines, failedLines := 0, 0, 0
	for _, line := range lines {
		var ev schemas.Event
		require.NoError(t, p.Parse(line, received, &ev))
		tr.Apply(&ev)
		if ev.Event.Action == schemas.ActionSSHLogin && ev.Event.Outcome == schemas.OutcomeFailure {
			require.GreaterOrEqual(t, ev.Event.Count, 0)
			got += ev.Event.Count
			if ev.SSH.Method == "" {
				invalidLines++
			} else {
				failedLines++
			}
		}
	}
	require.Equal(t, want, got)
	// The sample has attempts of both kinds, so the check is not vacuous.
	require.Greater(t, invalidLines, 100)
	require.Greater(t, failedLines, 400)
	require.Less(t, got, invalidLines+failedLines+20, "Invalid user lines followed by a Failed line are not counted twice")
	t.Logf("OpenSSH_2k: %d failed-login attempts from %d Invalid user and %d Failed lines", got, invalidLines, failedLines)
}

// linuxPAM maps the PAM lines of Loghub's Linux sample (keyed by program
// and template) to their meaning; every other line must stay unclassified.
var linuxPAM = map[string]kind{
	"sshd(pam_unix) E16":   {"sshd", schemas.ActionPAMAuth, schemas.OutcomeFailure},
	"sshd(pam_unix) E17":   {"sshd", schemas.ActionPAMAuth, schemas.OutcomeFailure},
	"sshd(pam_unix) E18":   {"sshd", schemas.ActionPAMAuth, schemas.OutcomeFailure},
	"sshd(pam_unix) E19":   {"sshd", schemas.ActionPAMAuth, schemas.OutcomeFailure},
	"sshd(pam_unix) E27":   {"sshd", "", ""},
	"sshd(pam_unix) E101":  {"sshd", schemas.ActionSSHSession, schemas.OutcomeSuccess},
	"sshd(pam_unix) E102":  {"sshd", schemas.ActionSSHSession, schemas.OutcomeSuccess},
	"su(pam_unix) E101":    {"su", schemas.ActionPAMSession, schemas.OutcomeSuccess},
	"su(pam_unix) E102":    {"su", schemas.ActionPAMSession, schemas.OutcomeSuccess},
	"gdm(pam_unix) E15":    {"pam", schemas.ActionPAMAuth, schemas.OutcomeFailure},
	"gdm(pam_unix) E27":    {"pam", "", ""},
	"login(pam_unix) E101": {"pam", schemas.ActionPAMSession, schemas.OutcomeSuccess},
	"login(pam_unix) E103": {"pam", schemas.ActionPAMSession, schemas.OutcomeSuccess},
}

func TestLoghubLinux(t *testing.T) {
	dir := sharedData(t, "loghub/Linux")
	lines := readLines(t, filepath.Join(dir, "Linux_2k.log"))
	rows := readCSV(t, filepath.Join(dir, "Linux_2k.log_structured.csv"))
	require.Len(t, rows, len(lines))
	p := New(Options{})
	received := time.Date(2005, 8, 1, 0, 0, 0, 0, time.UTC)
	classified := 0
	for i, line := range lines {
		var ev schemas.Event
		require.NoError(t, p.Parse(line, received, &ev), "line %d: %q", i+1, line)
		require.Equal(t, "combo", ev.Host.Name, "line %d", i+1)
		row := rows[i]
		want := linuxPAM[row["Component"]+" "+row["EventId"]]
		got := kind{ev.Event.Dataset, ev.Event.Action, ev.Event.Outcome}
		require.Equal(t, want, got, "line %d (%s %s): %q", i+1, row["Component"], row["EventId"], line)
		if want.action != "" {
			classified++
		}
	}
	require.Greater(t, classified, 700)
}

// crowdsecAssert is one "results[stage][parser][i].Evt.<Parsed|Meta>[key] == value" line.
var crowdsecAssert = regexp.MustCompile(`^results\["(s\d\d-[a-z]+)"\]\["[^"]+"\]\[(\d+)\]\.Evt\.(Parsed|Meta)\["([a-z_]+)"\] == "(.*)"$`)

// crowdsecChoices records the CrowdSec assertions where tocsin reads
// another value, keyed "test#line.key", with tocsin's value.
var crowdsecChoices = map[string]struct{ ours, note string }{
	// pam-logs line 0 is pam_tally2's lock notice, which tocsin leaves
	// unclassified; CrowdSec extracts the user name from it.
	"pam-logs#0.username": {"", "pam_tally2 lock notices are not classified; the lock itself is not a login event"},
}

// crowdsecValue renders the event field that a CrowdSec parsed or meta key
// stands for; ok is false for keys tocsin has no field for.
func crowdsecValue(ev schemas.Event, key string) (string, bool) {
	switch key {
	case "message":
		return ev.Message, true
	case "program":
		return ev.Process.Name, true
	case "pid":
		return ev.Log.Syslog.ProcID, true
	case "machine":
		return ev.Host.Name, true
	case "sshd_client_ip", "source_ip":
		return ev.Source.IP, true
	case "sshd_invalid_user", "target_user", "username":
		return ev.User.Name, true
	}
	return "", false
}

func TestCrowdSecParserAsserts(t *testing.T) {
	base := sharedData(t, "crowdsec_hub_tests")
	p := New(Options{})
	checked := 0
	used := map[string]bool{}
	for _, test := range []string{"sshd-logs", "pam-logs", "syslog-logs"} {
		lines := readLines(t, filepath.Join(base, test, test+".log"))
		events := make([]schemas.Event, len(lines))
		for i, line := range lines {
			if line == "" {
				continue // trailing empty line
			}
			require.NoError(t, p.Parse(line, testReceived, &events[i]), "%s line %d", test, i)
		}
		for _, a := range readLines(t, filepath.Join(base, test, "parser.assert")) {
			m := crowdsecAssert.FindStringSubmatch(a)
			if m == nil {
				continue
			}
			i, _ := strconv.Atoi(m[2])
			require.Less(t, i, len(events), a)
			ev, key, want := events[i], m[4], m[5]
			if key == "timestamp" {
				checked++
				checkCrowdSecTimestamp(t, want, ev.Timestamp, a)
				continue
			}
			got, known := crowdsecValue(ev, key)
			if !known {
				continue
			}
			id := test + "#" + m[2] + "." + key
			if c, ok := crowdsecChoices[id]; ok {
				used[id] = true
				want = c.ours
			}
			checked++
			require.Equal(t, want, got, "%s: %s", id, a)
		}
	}
	require.Greater(t, checked, 250)
	for id := range crowdsecChoices {
		require.True(t, used[id], "choice %s matches no assertion", id)
	}
}

// checkCrowdSecTimestamp compares CrowdSec's raw timestamp text with the
// parsed time: all of it for RFC 3339, month, day and time of day for
// RFC 3164 (CrowdSec keeps no year there).
func checkCrowdSecTimestamp(t *testing.T, raw string, got time.Time, msg string) {
	t.Helper()
	if ts, err := time.Parse(time.RFC3339Nano, raw); err == nil {
		require.True(t, ts.Equal(got), msg)
		return
	}
	ts, err := time.Parse("Jan _2 15:04:05", strings.Join(strings.Fields(raw), " "))
	require.NoError(t, err, msg)
	require.Equal(t, ts.Format("Jan _2 15:04:05"), got.Format("Jan _2 15:04:05"), msg)
}

// TestCrowdSecBruteForceLogs checks the lines behind CrowdSec's ssh-bf
// scenario: every attempt carries the attacker's address and user name,
// and the six attempts from 35.188.49.176 (one of them from sshd-session)
// count six.
func TestCrowdSecBruteForceLogs(t *testing.T) {
	base := sharedData(t, "crowdsec_hub_tests")
	p := New(Options{})
	tr := NewSSHDTracker(0)
	perIP := map[string]int{}
	for _, test := range []string{"ssh-bf", "ssh-time-based-bf"} {
		for i, line := range readLines(t, filepath.Join(base, test, test+".log")) {
			if line == "" {
				continue // the files end with an empty line
			}
			var ev schemas.Event
			require.NoError(t, p.Parse(line, testReceived, &ev), "%s line %d", test, i)
			tr.Apply(&ev)
			require.Equal(t, schemas.ActionSSHLogin, ev.Event.Action, line)
			require.NotEmpty(t, ev.User.Name, line)
			if ev.Event.Outcome == schemas.OutcomeFailure {
				perIP[ev.Source.IP] += ev.Event.Count
			}
		}
	}
	require.Equal(t, map[string]int{
		"35.188.49.176": 6, "10.0.0.100": 3, "10.0.0.101": 4, "10.0.0.102": 3, "10.0.0.103": 4,
	}, perIP)
}
