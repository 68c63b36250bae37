package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tocsin-siem/tocsin/schemas"
)

// TestRsyslogFeedGivesSameIncidentsAsReplay has Debian's rsyslogd read a
// real auth log with imfile and forward each raw line over TCP to `tocsin
// run`; the incidents must equal those of `tocsin replay` on the same file.
func TestRsyslogFeedGivesSameIncidentsAsReplay(t *testing.T) {
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		t.Skip("skipped: rsyslogd is not installed (make test installs it with scripts/test-deps.sh)")
	}
	src := sharedData(t, "loghub/OpenSSH/OpenSSH_2k.log")
	dir := t.TempDir()
	in := filepath.Join(dir, "auth.log")
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(in, data, 0o644))
	lines := strings.Count(string(data), "\n")

	// Both runs must infer the same year for the year-less lines, so the
	// replay's reference time is "now", as the live listener's is.
	want := replay(t, in)
	require.NotEmpty(t, want)

	s := startServer(t, filepath.Join(dir, "data"))
	work := filepath.Join(dir, "rsyslog")
	require.NoError(t, os.Mkdir(work, 0o755))
	conf := filepath.Join(dir, "rsyslog.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`
global(workDirectory=%q)
module(load="imfile")
template(name="raw" type="string" string="%%rawmsg%%\n")
input(type="imfile" File=%q Tag="auth:" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" template="raw"
         queue.type="LinkedList" action.resumeRetryCount="-1")
}
`, work, in, s.port)), 0o644))
	startRsyslogd(t, rsyslogd, conf, filepath.Join(dir, "rsyslogd.pid"))

	waitFor(t, 60*time.Second, fmt.Sprintf("%d lines through rsyslog", lines), func() bool {
		return s.metric("tocsin_ingest_lines_total") >= float64(lines)
	})
	var got []string
	stable := 0
	waitFor(t, 30*time.Second, "incidents to settle", func() bool {
		now := signatures(s.incidents())
		if len(got) > 0 && strings.Join(now, "\n") == strings.Join(got, "\n") {
			stable++
		} else {
			stable = 0
		}
		got = now
		return stable >= 5
	})
	require.Equal(t, signatures(want), got)
	require.Zero(t, s.metric("tocsin_ingest_parse_failures_total"), "every line of the real log parses")
	s.stop()
}

// TestRsyslogRelayKeepsHeaders has rsyslogd receive syslog over UDP and
// relay it to tocsin over TCP with its standard forwarding template, as
// the README advises: the event time, host and program survive the relay.
func TestRsyslogRelayKeepsHeaders(t *testing.T) {
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		t.Skip("skipped: rsyslogd is not installed (make test installs it with scripts/test-deps.sh)")
	}
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"))
	relayPort := freePort(t)
	conf := filepath.Join(dir, "relay.conf")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "work"), 0o755))
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`
global(workDirectory=%q)
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="%d")
*.* action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" template="RSYSLOG_ForwardFormat"
           queue.type="LinkedList" action.resumeRetryCount="-1")
`, filepath.Join(dir, "work"), relayPort, s.port)), 0o644))
	startRsyslogd(t, rsyslogd, conf, filepath.Join(dir, "relay.pid"))

	udp, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", relayPort))
	require.NoError(t, err)
	defer udp.Close()
	lines := failedLogins("192.0.2.200", 0, 12)
	waitFor(t, 30*time.Second, "the relayed brute force", func() bool {
		// UDP to a relay that may not be listening yet: resend until the
		// lines arrive; duplicates carry the same event time and fall in
		// the same window.
		if s.metric("tocsin_ingest_events_total") < float64(len(lines)) {
			for _, l := range lines {
				udp.Write([]byte(l))
			}
		}
		for _, in := range s.incidents() {
			if entityValue(in, "ip") == "192.0.2.200" {
				return true
			}
		}
		return false
	})
	var page struct {
		Incidents []schemas.Incident `json:"incidents"`
	}
	s.get("/api/v1/incidents?rule=ssh-brute-force-fast", &page)
	require.Len(t, page.Incidents, 1)
	in := page.Incidents[0]
	require.Equal(t, "09:00:00", in.FirstSeen.UTC().Format("15:04:05"), "the header's time survives the relay")
	var detail struct {
		Alerts []struct {
			Events []schemas.Event `json:"events"`
		} `json:"alerts"`
	}
	s.get("/api/v1/incidents/"+in.ID, &detail)
	require.NotEmpty(t, detail.Alerts)
	ev := detail.Alerts[0].Events[0]
	require.Equal(t, "bastion", ev.Host.Name)
	require.Equal(t, "sshd", ev.Process.Name)
	require.Equal(t, "127.0.0.1", ev.Log.Source.Address)
}

// startRsyslogd runs Debian's rsyslogd in the foreground with a private
// configuration, and kills it (by its PID) when the test ends.
func startRsyslogd(t *testing.T, rsyslogd, conf, pidFile string) {
	t.Helper()
	rs := exec.Command(rsyslogd, "-n", "-f", conf, "-i", pidFile)
	out := &strings.Builder{}
	rs.Stdout, rs.Stderr = out, out
	require.NoError(t, rs.Start())
	t.Cleanup(func() {
		rs.Process.Kill()
		rs.Wait()
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", out.String())
		}
	})
}
