package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
	rs := exec.Command(rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
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
