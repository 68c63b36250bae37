package e2e

// The tests in this file run real log senders from Debian's packages
// against `tocsin run` on loopback: syslog-ng forwarding a real sshd log,
// a private sshd refusing real logins, clamd finding the EICAR test file
// with a signature the test writes, and rsyslog forwarding over TLS and
// RELP. Each test starts its own processes on free 127.0.0.1 ports, with
// configurations in its temporary folder, and ends them by PID. A missing
// program, or a parser or listener tocsin does not have yet, skips the
// test with the reason, or fails it when the environment variable CI is
// set.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/tocsin-siem/tocsin/schemas"
)

// sendersData holds the rules and the script the sender tests use.
const sendersData = "testdata/senders"

// rsyslogForwardTemplate is rsyslog's RSYSLOG_ForwardFormat with a line
// feed, so that one template serves both the TCP forward and the file
// copy that the tests replay.
const rsyslogForwardTemplate = `template(name="fwd" type="string"
  string="<%PRI%>%TIMESTAMP:::date-rfc3339% %HOSTNAME% %syslogtag:1:32%%msg:::sp-if-no-1st-sp%%msg%\n")`

// TestSyslogNGForwardsParsed has Debian's syslog-ng read a real sshd log
// from a file and forward it to `tocsin run` over TCP, once with
// network() (RFC 3164, newline-framed) and once with syslog() (RFC 5424,
// octet-counted, carrying syslog-ng's own structured data). Every line
// must arrive and parse; the incidents must equal those of `tocsin
// replay` on the copy syslog-ng wrote of what it sent; and the events
// behind them must carry the host, program, pid, time and message of the
// original lines.
func TestSyslogNGForwardsParsed(t *testing.T) {
	sng := syslogNGPath(t)
	src := sharedData(t, "loghub/OpenSSH/OpenSSH_2k.log")
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	lines := bytes.Count(data, []byte("\n"))
	orig := indexSyslogLines(t, data)

	for _, tc := range []struct {
		name   string
		dest   string // syslog-ng destination towards tocsin, %d is the port
		copy   string // the same messages into a file, %q is its path
		format string // log.syslog.format tocsin must see
	}{
		{"network-rfc3164", `network("127.0.0.1" port(%d) transport("tcp"))`, `file(%q)`, "rfc3164"},
		{"syslog-rfc5424", `syslog("127.0.0.1" port(%d) transport("tcp"))`, `file(%q flags(syslog-protocol))`, "rfc5424"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "auth.log")
			require.NoError(t, os.WriteFile(in, data, 0o644))
			sent := filepath.Join(dir, "sent.log")
			s := startServer(t, filepath.Join(dir, "data"))

			conf := filepath.Join(dir, "syslog-ng.conf")
			require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`@version: 3.38
options { keep-hostname(yes); chain-hostnames(no); use-dns(no); stats-freq(0); };
source s_in { file(%q follow-freq(0.1)); };
destination d_tocsin { `+tc.dest+`; };
destination d_copy { `+tc.copy+`; };
log { source(s_in); destination(d_tocsin); destination(d_copy); };
`, in, s.port, sent)), 0o644))
			startDaemon(t, "syslog-ng", sng, "-F", "-e", "-f", conf,
				"--persist-file="+filepath.Join(dir, "syslog-ng.persist"),
				"--pidfile="+filepath.Join(dir, "syslog-ng.pid"),
				"--control="+filepath.Join(dir, "syslog-ng.ctl"))

			waitFor(t, 60*time.Second, fmt.Sprintf("%d lines through syslog-ng", lines), func() bool {
				return s.metric("tocsin_ingest_lines_total") >= float64(lines)
			})
			waitFor(t, 10*time.Second, "syslog-ng's copy of what it sent", func() bool {
				b, _ := os.ReadFile(sent)
				return bytes.Count(b, []byte("\n")) >= lines
			})
			got := settledSignatures(t, s)
			// The copy carries the year syslog-ng gave each year-less line
			// (in RFC 5424) or none (RFC 3164, where tocsin infers it from
			// the time of arrival, as replay does from now).
			want := replay(t, sent)
			require.NotEmpty(t, want)
			require.Equal(t, signatures(want), got)
			require.Equal(t, float64(lines), s.metric("tocsin_ingest_lines_total"), "no message was split or merged")
			require.Zero(t, s.metric("tocsin_ingest_parse_failures_total"), "every forwarded line parses")

			checked := 0
			for _, inc := range s.incidents() {
				for _, ev := range incidentEvents(s, inc.ID) {
					stamp := ev.Timestamp.UTC().Format(time.Stamp)
					line, ok := orig[syslogKey(stamp, ev.Process.PID, ev.Message)]
					require.True(t, ok, "event %s %d %q is a line of the original log: time, pid and message", stamp, ev.Process.PID, ev.Message)
					require.Equal(t, line.host, ev.Host.Name)
					require.Equal(t, line.program, ev.Process.Name)
					require.Equal(t, tc.format, ev.Log.Syslog.Format)
					if tc.format == "rfc5424" {
						require.Equal(t, strconv.Itoa(line.pid), ev.Log.Syslog.ProcID)
						require.Contains(t, ev.Log.Syslog.StructuredData, `[meta sequenceId="`, "syslog-ng's structured data is kept")
					}
					require.Equal(t, schemas.ActionSSHLogin, ev.Event.Action)
					require.Equal(t, "failure", ev.Event.Outcome)
					require.NotEmpty(t, ev.Source.IP)
					require.Contains(t, ev.Message, ev.Source.IP)
					checked++
				}
			}
			require.Positive(t, checked)
			t.Logf("syslog-ng %s: %d complete lines sent, %.0f arrived, %d incidents, %d evidence events checked against the original lines",
				tc.name, lines, s.metric("tocsin_ingest_lines_total"), len(got), checked)
		})
	}
}

// TestSSHDFailedLoginsThroughRsyslog starts a private sshd on loopback and
// makes real failed logins against it with sshpass and ssh: root with a
// wrong password, and users that do not exist. sshd's log reaches tocsin
// through a real rsyslogd: sshd's own syslog lines when this machine
// allows a mount namespace (sshd then sees the test's rsyslog socket as
// /dev/log), else the file sshd writes with -E, read by imfile. Every
// attempt must arrive parsed, the built-in brute-force rule must open an
// incident, and the incidents must equal a replay of what rsyslog sent.
func TestSSHDFailedLoginsThroughRsyslog(t *testing.T) {
	if os.Geteuid() != 0 {
		skipOrFail(t, "sshd must start as root to separate privileges")
	}
	sshd := findSender(t, "sshd", "/usr/sbin/sshd")
	ssh := findSender(t, "ssh")
	keygen := findSender(t, "ssh-keygen")
	sshpass := findSender(t, "sshpass")
	rsyslogd := findSender(t, "rsyslogd", "/usr/sbin/rsyslogd")

	fast := builtinRule(t, "ssh.yaml", "ssh-brute-force-fast")
	spray := builtinRule(t, "ssh.yaml", "ssh-password-spray")
	// One attempt per connection, two more than the burst rule needs:
	// every other one as root, the rest each as a different user that
	// does not exist.
	attempts := fast.Threshold + 2
	require.LessOrEqual(t, attempts, 40, "the burst threshold grew; keep the number of logins bounded")
	tries := map[string]int{}
	var users []string
	for i := range attempts {
		u := "root"
		if i%2 == 1 {
			u = fmt.Sprintf("nosuchuser%d", i/2+1)
			_, err := user.Lookup(u)
			require.Error(t, err, "the test needs user %s not to exist on this machine", u)
		}
		users = append(users, u)
		tries[u]++
	}

	dir := t.TempDir()
	rulesDir, err := filepath.Abs(filepath.Join(sendersData, "rules"))
	require.NoError(t, err)
	s := startServer(t, filepath.Join(dir, "data"), "--rules", rulesDir)

	sock := filepath.Join(dir, "log.sock")
	ns := privateDevLog(t, dir, sock, "sshd")
	sshdLog := filepath.Join(dir, "sshd.log")
	var input string
	if ns != nil {
		input = fmt.Sprintf(`module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket=%q ruleset="fwd")`, sock)
	} else {
		t.Log("no mount namespace here: sshd logs with -E to a file that rsyslog's imfile reads (no pid in those lines)")
		require.NoError(t, os.WriteFile(sshdLog, nil, 0o600))
		// sshd ends its -E lines with CR LF; rsyslog must not escape the
		// CR, which tocsin drops before the LF.
		input = fmt.Sprintf(`global(parser.escapeControlCharactersOnReceive="off")
module(load="imfile")
input(type="imfile" File=%q Tag="sshd:" ruleset="fwd")`, sshdLog)
	}
	sent := filepath.Join(dir, "sent.log")
	startRsyslogd(t, rsyslogd, writeRsyslogConf(t, dir, "sshbox", input, "fwd", s.port, sent), filepath.Join(dir, "rsyslogd.pid"))

	hostKey := filepath.Join(dir, "host_ed25519")
	out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "tocsin-e2e", "-f", hostKey).CombinedOutput()
	require.NoError(t, err, "ssh-keygen: %s", out)
	port := freePort(t)
	sshdConf := filepath.Join(dir, "sshd_config")
	// prohibit-password refuses root's password even when it is right;
	// sshd still checks it and logs the failure like any other.
	require.NoError(t, os.WriteFile(sshdConf, []byte(fmt.Sprintf(`ListenAddress 127.0.0.1:%d
HostKey %s
PidFile %s
UsePAM no
PasswordAuthentication yes
PubkeyAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AuthorizedKeysFile none
LogLevel INFO
`, port, hostKey, filepath.Join(dir, "sshd.pid"))), 0o600))

	base := append(slices.Clone(ns), sshd)
	run := append(slices.Clone(base), "-D", "-f", sshdConf)
	if ns != nil {
		waitFor(t, 10*time.Second, "rsyslog's socket", func() bool { return exists(sock) })
	} else {
		ensurePrivsepDir(t)
		run = append(run, "-E", sshdLog)
	}
	check := append(slices.Clone(base), "-t", "-f", sshdConf)
	out, err = exec.Command(check[0], check[1:]...).CombinedOutput()
	require.NoError(t, err, "sshd -t: %s", out)
	daemon := startDaemon(t, "sshd", run...)
	waitFor(t, 10*time.Second, "sshd to listen", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	started := time.Now()
	for _, u := range users {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, sshpass, "-p", "tocsin-e2e-wrong-password", ssh,
			"-F", "/dev/null", "-p", strconv.Itoa(port),
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null",
			"-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1",
			"-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
			u+"@127.0.0.1", "true").CombinedOutput()
		cancel()
		require.Error(t, err, "the login as %s must fail", u)
		require.Contains(t, string(out), "Permission denied", "ssh as %s", u)
	}
	t.Logf("%d failed logins in %s", attempts, time.Since(started).Round(time.Millisecond))

	window, err := time.ParseDuration(fast.Window)
	require.NoError(t, err)
	require.Less(t, time.Since(started), window, "the logins fit in %s's window", fast.ID)

	// sshd writes one "Failed password" line per attempt, and an "Invalid
	// user" line before it for a user that does not exist.
	wantLines := tries["root"] + 2*(attempts-tries["root"])
	loginIncident := func() (schemas.Incident, bool) {
		for _, in := range s.incidents() {
			if slices.Contains(in.RuleIDs, "senders-ssh-login") && entityValue(in, "ip") == "127.0.0.1" {
				return in, true
			}
		}
		return schemas.Incident{}, false
	}
	waitFor(t, 30*time.Second, fmt.Sprintf("%d login lines of sshd", wantLines), func() bool {
		in, ok := loginIncident()
		return ok && in.AlertCount >= wantLines
	})
	got := settledSignatures(t, s)
	in, _ := loginIncident()
	evs := incidentEvents(s, in.ID)
	require.Len(t, evs, wantLines)

	counted := map[string]int{}
	pids := map[int]bool{}
	for _, ev := range evs {
		require.Equal(t, "sshd", ev.Event.Dataset)
		require.Equal(t, schemas.ActionSSHLogin, ev.Event.Action)
		require.Equal(t, "failure", ev.Event.Outcome)
		require.Equal(t, "127.0.0.1", ev.Source.IP)
		require.Positive(t, ev.Source.Port)
		require.Contains(t, tries, ev.User.Name)
		require.Equal(t, "sshbox", ev.Host.Name, "rsyslog's localHostname")
		require.Equal(t, "sshd", ev.Process.Name)
		if ev.User.Name == "root" {
			require.Equal(t, "wrong password", ev.Event.Reason)
			require.Equal(t, "password", ev.SSH.Method)
		} else {
			require.Equal(t, "invalid user", ev.Event.Reason)
		}
		counted[ev.User.Name] += ev.Event.Count
		if ns != nil {
			// sshd's defaults: facility auth (4), severity info (6); one
			// process per connection, not the listener.
			require.Equal(t, 4, ev.Log.Syslog.Facility)
			require.Equal(t, 6, ev.Log.Syslog.Severity)
			require.NotEqual(t, daemon.Process.Pid, ev.Process.PID)
			require.Positive(t, ev.Process.PID)
			pids[ev.Process.PID] = true
		}
	}
	if ns != nil {
		// With the pid, the "Failed" line after an "Invalid user" line of
		// the same process counts nothing: each attempt counts once.
		require.Equal(t, tries, counted)
		require.Len(t, pids, attempts, "one sshd process per connection")
	}

	var burst, sprayed bool
	for _, in := range s.incidents() {
		if entityValue(in, "ip") != "127.0.0.1" {
			continue
		}
		burst = burst || slices.Contains(in.RuleIDs, fast.ID)
		sprayed = sprayed || slices.Contains(in.RuleIDs, spray.ID)
	}
	require.True(t, burst, "%d failed logins within seconds reach %s's threshold of %d", attempts, fast.ID, fast.Threshold)
	require.Equal(t, len(tries) >= spray.Threshold, sprayed, "%d user names tried; %s wants %d", len(tries), spray.ID, spray.Threshold)

	require.Equal(t, signatures(replay(t, "--rules", rulesDir, sent)), got, "incidents equal a replay of what rsyslog sent")
	require.Zero(t, s.metric("tocsin_ingest_parse_failures_total"), "every line sshd wrote parses")
	t.Logf("sshd: %d attempts, %d login lines sent, %d arrived parsed; %.0f lines in all; incidents %v",
		attempts, wantLines, len(evs), s.metric("tocsin_ingest_lines_total"), got)
}

// TestClamAVDetectionThroughRsyslog has Debian's clamd and clamscan find
// the EICAR test file with a signature database the test writes (Debian
// ships no signatures and the tests reach no update mirror). The
// detection reaches tocsin from clamd's log file through rsyslog's imfile,
// from clamd's syslog through rsyslog's imuxsock when this machine allows
// a mount namespace, and from clamscan's output through logger over TCP;
// each must arrive parsed as a malware detection naming the signature and
// the file.
func TestClamAVDetectionThroughRsyslog(t *testing.T) {
	clamd := findSender(t, "clamd", "/usr/sbin/clamd")
	clamscan := findSender(t, "clamscan")
	logger := findSender(t, "logger")
	rsyslogd := findSender(t, "rsyslogd", "/usr/sbin/rsyslogd")
	requireFormat(t, "clamav")

	dir := t.TempDir()
	sample := filepath.Join(dir, "samples", "eicar.com")
	require.NoError(t, os.Mkdir(filepath.Dir(sample), 0o755))
	eicar := eicarTestFile()
	require.NoError(t, os.WriteFile(sample, eicar, 0o644))
	// A hash signature: MD5, size and name of the file.
	const signature = "Tocsin.Test.EICAR"
	db := filepath.Join(dir, "db")
	require.NoError(t, os.Mkdir(db, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(db, "tocsin.hdb"),
		[]byte(fmt.Sprintf("%x:%d:%s\n", md5.Sum(eicar), len(eicar), signature)), 0o644))

	rulesDir, err := filepath.Abs(filepath.Join(sendersData, "rules"))
	require.NoError(t, err)
	s := startServer(t, filepath.Join(dir, "data"), "--rules", rulesDir)

	sock := filepath.Join(dir, "log.sock")
	ns := privateDevLog(t, dir, sock, "-")
	clamdLog := filepath.Join(dir, "clamd.log")
	require.NoError(t, os.WriteFile(clamdLog, nil, 0o600))
	// clamd's log file goes as it is, without a syslog header.
	input := fmt.Sprintf(`module(load="imfile")
template(name="raw" type="string" string="%%rawmsg%%\n")
input(type="imfile" File=%q Tag="clamd:" ruleset="raw")
ruleset(name="raw") {
  action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" template="raw"
         queue.type="LinkedList" action.resumeRetryCount="-1")
}`, clamdLog, s.port)
	logSyslog := "no"
	if ns != nil {
		logSyslog = "yes"
		input += fmt.Sprintf(`
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket=%q ruleset="fwd")`, sock)
	} else {
		t.Log("no mount namespace here: clamd's syslog shape is not tested, its log file is")
	}
	startRsyslogd(t, rsyslogd, writeRsyslogConf(t, dir, "avbox", input, "fwd", s.port, filepath.Join(dir, "sent.log")),
		filepath.Join(dir, "rsyslogd.pid"))

	clamdSock := filepath.Join(dir, "clamd.sock")
	clamdConf := filepath.Join(dir, "clamd.conf")
	require.NoError(t, os.WriteFile(clamdConf, []byte(fmt.Sprintf(`LocalSocket %s
DatabaseDirectory %s
TemporaryDirectory %s
PidFile %s
LogFile %s
LogTime yes
LogSyslog %s
LogFacility LOG_LOCAL6
Foreground yes
`, clamdSock, db, dir, filepath.Join(dir, "clamd.pid"), clamdLog, logSyslog)), 0o600))
	if ns != nil {
		waitFor(t, 10*time.Second, "rsyslog's socket", func() bool { return exists(sock) })
	}
	daemon := startDaemon(t, "clamd", append(slices.Clone(ns), clamd, "--config-file="+clamdConf)...)
	waitFor(t, 30*time.Second, "clamd's socket", func() bool { return exists(clamdSock) })

	// clamdscan is a package of its own that the tests do not install;
	// its command on clamd's socket is one line.
	reply := clamdCommand(t, clamdSock, "zSCAN "+sample)
	threat, ok := strings.CutSuffix(strings.TrimPrefix(reply, sample+": "), " FOUND")
	require.True(t, ok && strings.HasPrefix(reply, sample+": "), "clamd's answer %q", reply)
	// ClamAV appends ".UNOFFICIAL" to names from databases it did not sign.
	require.True(t, strings.HasPrefix(threat, signature), "clamd names the test's signature: %q", threat)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, clamscan, "--no-summary", "-d", db, sample).Output()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit) && exit.ExitCode() == 1, "clamscan exits 1 when it finds something: %v: %s", err, out)
	found := strings.TrimSpace(string(out))
	require.Equal(t, sample+": "+threat+" FOUND", found)
	out, err = exec.CommandContext(ctx, logger, "--tcp", "--server", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--tag", "clamscan", "--", found).CombinedOutput()
	require.NoError(t, err, "logger: %s", out)

	shapes := map[string]bool{"clamd.log via imfile": true, "clamscan via logger": true}
	if ns != nil {
		shapes["clamd via syslog"] = true
	}
	detection := func() (schemas.Incident, bool) {
		for _, in := range s.incidents() {
			if slices.Contains(in.RuleIDs, "senders-malware") {
				return in, true
			}
		}
		return schemas.Incident{}, false
	}
	waitFor(t, 30*time.Second, fmt.Sprintf("%d detections", len(shapes)), func() bool {
		in, ok := detection()
		return ok && in.AlertCount >= len(shapes)
	})
	in, _ := detection()
	evs := incidentEvents(s, in.ID)
	require.Len(t, evs, len(shapes))
	seen := map[string]bool{}
	for _, ev := range evs {
		require.Equal(t, "clamav", ev.Event.Dataset, "%s", ev.Event.Original)
		require.Equal(t, schemas.CategoryMalware, ev.Event.Category)
		require.Equal(t, "malware_detected", ev.Event.Action)
		require.Equal(t, threat, ev.Threat.Name)
		require.Equal(t, sample, ev.File.Path)
		switch {
		case ev.Log.Syslog.AppName == "clamscan":
			seen["clamscan via logger"] = true
		case ev.Log.Syslog.AppName == "clamd":
			require.Equal(t, daemon.Process.Pid, ev.Process.PID)
			require.Equal(t, "avbox", ev.Host.Name, "rsyslog's localHostname")
			require.Equal(t, 22, ev.Log.Syslog.Facility, "LogFacility LOG_LOCAL6")
			seen["clamd via syslog"] = true
		case strings.Contains(ev.Event.Original, " -> "):
			seen["clamd.log via imfile"] = true
		default:
			t.Fatalf("a detection from no sender of this test: %q", ev.Event.Original)
		}
	}
	require.Equal(t, shapes, seen)
	t.Logf("clamav: %d detections sent (%v), %d arrived parsed as %q on %s", len(shapes), slices.Sorted(maps.Keys(shapes)), len(evs), threat, sample)
}

// TestRsyslogTLSAndRELPForwardParsed has Debian's rsyslogd read a real
// sshd log with imfile and forward it to `tocsin run` over syslog TLS
// (rsyslog-gnutls, octet-counted with a client certificate, and
// newline-framed without one) and over RELP (rsyslog-relp, plain, and
// over TLS with a client certificate). The certificates are made by the
// test. Every line must arrive through that listener and parse, and the
// incidents must equal those of `tocsin replay` on the same file.
func TestRsyslogTLSAndRELPForwardParsed(t *testing.T) {
	rsyslogd := findSender(t, "rsyslogd", "/usr/sbin/rsyslogd")
	src := sharedData(t, "loghub/OpenSSH/OpenSSH_2k.log")
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	lines := bytes.Count(data, []byte("\n"))

	for _, tc := range []struct {
		name   string
		module string // rsyslog's module, whose .so must be installed
		source string // the listener's source label in metrics
		flags  func(pki rsyslogPKI, port int) []string
		global func(pki rsyslogPKI) string           // rsyslog's global settings and modules
		action func(pki rsyslogPKI, port int) string // the action in the forwarding ruleset
	}{
		{
			name: "tls-octet-counted-client-cert", module: "lmnsd_gtls", source: "tls",
			flags: func(p rsyslogPKI, port int) []string {
				return []string{"--syslog-tls-address", fmt.Sprintf("127.0.0.1:%d", port),
					"--syslog-tls-cert-file", p.serverCert, "--syslog-tls-key-file", p.serverKey,
					"--syslog-tls-client-auth", "require", "--syslog-tls-client-ca-file", p.ca}
			},
			global: func(p rsyslogPKI) string {
				return fmt.Sprintf(`global(DefaultNetstreamDriverCAFile=%q DefaultNetstreamDriverCertFile=%q DefaultNetstreamDriverKeyFile=%q)`,
					p.ca, p.clientCert, p.clientKey)
			},
			action: func(p rsyslogPKI, port int) string {
				return fmt.Sprintf(`action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" template="raw"
       StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
       StreamDriverPermittedPeers=%q TCP_Framing="octet-counted"
       queue.type="LinkedList" action.resumeRetryCount="-1")`, port, p.serverName)
			},
		},
		{
			name: "tls-newline-no-client-cert", module: "lmnsd_gtls", source: "tls",
			flags: func(p rsyslogPKI, port int) []string {
				return []string{"--syslog-tls-address", fmt.Sprintf("127.0.0.1:%d", port),
					"--syslog-tls-cert-file", p.serverCert, "--syslog-tls-key-file", p.serverKey}
			},
			global: func(p rsyslogPKI) string { return fmt.Sprintf(`global(DefaultNetstreamDriverCAFile=%q)`, p.ca) },
			action: func(p rsyslogPKI, port int) string {
				return fmt.Sprintf(`action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" template="raw"
       StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
       StreamDriverPermittedPeers=%q
       queue.type="LinkedList" action.resumeRetryCount="-1")`, port, p.serverName)
			},
		},
		{
			name: "relp", module: "omrelp", source: "relp",
			flags: func(p rsyslogPKI, port int) []string {
				return []string{"--relp-address", fmt.Sprintf("127.0.0.1:%d", port)}
			},
			global: func(rsyslogPKI) string { return `module(load="omrelp")` },
			action: func(p rsyslogPKI, port int) string {
				return fmt.Sprintf(`action(type="omrelp" target="127.0.0.1" port="%d" template="raw"
       queue.type="LinkedList" action.resumeRetryCount="-1")`, port)
			},
		},
		{
			name: "relp-tls-client-cert", module: "omrelp", source: "relp",
			flags: func(p rsyslogPKI, port int) []string {
				return []string{"--relp-address", fmt.Sprintf("127.0.0.1:%d", port),
					"--relp-cert-file", p.serverCert, "--relp-key-file", p.serverKey,
					"--relp-client-auth", "require", "--relp-client-ca-file", p.ca}
			},
			global: func(rsyslogPKI) string { return `module(load="omrelp")` },
			action: func(p rsyslogPKI, port int) string {
				return fmt.Sprintf(`action(type="omrelp" target="127.0.0.1" port="%d" template="raw" tls="on"
       tls.caCert=%q tls.myCert=%q tls.myPrivKey=%q
       tls.authMode="name" tls.permittedPeer=[%q]
       queue.type="LinkedList" action.resumeRetryCount="-1")`, port, p.ca, p.clientCert, p.clientKey, p.serverName)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireRsyslogModule(t, tc.module)
			requireRunFlag(t, tc.flags(rsyslogPKI{}, 0)[0])
			dir := t.TempDir()
			in := filepath.Join(dir, "auth.log")
			require.NoError(t, os.WriteFile(in, data, 0o644))
			pki := writeRsyslogPKI(t, dir)
			port := freePort(t)
			s := startServer(t, filepath.Join(dir, "data"), tc.flags(pki, port)...)

			work := filepath.Join(dir, "rsyslog")
			require.NoError(t, os.Mkdir(work, 0o755))
			conf := filepath.Join(dir, "rsyslog.conf")
			require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`global(workDirectory=%q)
%s
module(load="imfile")
template(name="raw" type="string" string="%%rawmsg%%")
input(type="imfile" File=%q Tag="auth:" ruleset="fwd")
ruleset(name="fwd") {
%s
}
`, work, tc.global(pki), in, tc.action(pki, port))), 0o644))
			startRsyslogd(t, rsyslogd, conf, filepath.Join(dir, "rsyslogd.pid"))

			source := `source="` + tc.source + `"`
			waitFor(t, 60*time.Second, fmt.Sprintf("%d lines over %s", lines, tc.name), func() bool {
				return s.metric("tocsin_ingest_lines_total", source) >= float64(lines)
			})
			got := settledSignatures(t, s)
			want := replay(t, in)
			require.NotEmpty(t, want)
			require.Equal(t, signatures(want), got)
			require.Equal(t, float64(lines), s.metric("tocsin_ingest_lines_total", source), "each line once")
			require.Equal(t, float64(lines), s.metric("tocsin_ingest_lines_total"), "nothing came another way")
			require.Zero(t, s.metric("tocsin_ingest_parse_failures_total"), "every line parses")
			t.Logf("rsyslog %s: %d lines sent, %.0f arrived on the %s listener, %d incidents as replay",
				tc.name, lines, s.metric("tocsin_ingest_lines_total", source), tc.source, len(got))
		})
	}
}

// rsyslogPKI names the files of a test certificate authority, a server
// certificate for tocsin and a client certificate for rsyslog.
type rsyslogPKI struct {
	ca, serverCert, serverKey, clientCert, clientKey string
	serverName                                       string
}

// writeRsyslogPKI makes a throwaway CA, a server certificate for
// 127.0.0.1 and serverName, and a client certificate, all valid for an
// hour, and writes them as PEM files in dir.
func writeRsyslogPKI(t *testing.T, dir string) rsyslogPKI {
	t.Helper()
	p := rsyslogPKI{
		ca:         filepath.Join(dir, "ca.crt"),
		serverCert: filepath.Join(dir, "server.crt"), serverKey: filepath.Join(dir, "server.key"),
		clientCert: filepath.Join(dir, "client.crt"), clientKey: filepath.Join(dir, "client.key"),
		serverName: "tocsin.test",
	}
	now := time.Now()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		return k
	}
	writePEM := func(path, typ string, der []byte) {
		require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tocsin e2e test CA"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	writePEM(p.ca, "CERTIFICATE", caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, certPath, keyPath string) {
		k := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames: []string{cn},
		}
		if usage == x509.ExtKeyUsageServerAuth {
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		require.NoError(t, err)
		writePEM(certPath, "CERTIFICATE", der)
		kder, err := x509.MarshalECPrivateKey(k)
		require.NoError(t, err)
		writePEM(keyPath, "EC PRIVATE KEY", kder)
	}
	leaf(2, p.serverName, x509.ExtKeyUsageServerAuth, p.serverCert, p.serverKey)
	leaf(3, "sender.test", x509.ExtKeyUsageClientAuth, p.clientCert, p.clientKey)
	return p
}

// requireRsyslogModule skips the test, or fails it under CI, when
// rsyslog's module name is not installed.
func requireRsyslogModule(t *testing.T, name string) {
	t.Helper()
	for _, d := range []string{"/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/aarch64-linux-gnu/rsyslog", "/usr/lib/rsyslog"} {
		if exists(filepath.Join(d, name+".so")) {
			return
		}
	}
	skipOrFail(t, "rsyslog's "+name+" module is not installed (scripts/test-deps.sh installs it)")
}

// requireRunFlag skips the test, or fails it under CI, when `tocsin run`
// has no flag of that name.
func requireRunFlag(t *testing.T, flag string) {
	t.Helper()
	out, _ := exec.Command(tocsinBin, "run", "--help").CombinedOutput()
	if !bytes.Contains(out, []byte(" -"+strings.TrimLeft(flag, "-")+" ")) {
		skipOrFail(t, "tocsin run has no "+flag+" flag yet")
	}
}

// writeRsyslogConf writes an rsyslog configuration: the given inputs,
// and a ruleset named ruleset that forwards each message to tocsin over
// TCP in RSYSLOG_ForwardFormat and writes the same lines to sent.
// hostname stands for the machine's name in the header of messages that
// arrive without one (those of syslog(3) and imfile).
func writeRsyslogConf(t *testing.T, dir, hostname, inputs, ruleset string, port int, sent string) string {
	t.Helper()
	work := filepath.Join(dir, "rsyslog")
	require.NoError(t, os.Mkdir(work, 0o755))
	conf := filepath.Join(dir, "rsyslog.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`global(workDirectory=%q localHostname=%q)
%s
%s
ruleset(name=%q) {
  action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" template="fwd"
         queue.type="LinkedList" action.resumeRetryCount="-1")
  action(type="omfile" file=%q template="fwd")
}
`, work, hostname, rsyslogForwardTemplate, inputs, ruleset, port, sent)), 0o644))
	return conf
}

// startDaemon starts argv, a sender that stays in the foreground, and
// kills it by its PID when the test ends, printing its output if the
// test failed.
func startDaemon(t *testing.T, name string, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start(), "cannot start %s", name)
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	return cmd
}

// privateDevLog returns the command prefix that runs a daemon in a mount
// namespace of its own where /dev/log is sock (see private-devlog.sh; run
// is "sshd" to give it /run/sshd too), or nil when this machine allows no
// such namespace (creating one needs root, and CAP_SYS_ADMIN in a
// container).
func privateDevLog(t *testing.T, dir, sock, run string) []string {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		return nil
	}
	script, err := filepath.Abs(filepath.Join(sendersData, "private-devlog.sh"))
	require.NoError(t, err)
	scratch, err := os.MkdirTemp(dir, "dev-")
	require.NoError(t, err)
	prefix := []string{unshare, "--mount", "--propagation", "private", "sh", script, scratch, sock, run}
	if out, err := exec.Command(prefix[0], append(prefix[1:], "true")...).CombinedOutput(); err != nil {
		t.Logf("no private /dev/log: %v: %s", err, bytes.TrimSpace(out))
		return nil
	}
	return prefix
}

// ensurePrivsepDir creates /run/sshd, which sshd refuses to start
// without, when it is missing, and removes it when the test ends.
func ensurePrivsepDir(t *testing.T) {
	t.Helper()
	const privsep = "/run/sshd"
	if exists(privsep) {
		return
	}
	require.NoError(t, os.Mkdir(privsep, 0o755), "cannot create sshd's privilege separation directory")
	t.Cleanup(func() { os.Remove(privsep) })
}

// findSender returns the path of a program, from PATH or else the first
// of also that exists (sbin is not in every PATH), or skips the test.
func findSender(t *testing.T, name string, also ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range also {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	skipOrFail(t, name+" is not installed (scripts/test-deps.sh installs it)")
	return ""
}

// syslogNGPath returns the wrapper that runs the unpacked syslog-ng, or
// skips the test.
func syslogNGPath(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("TOCSIN_TESTINFRA_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		require.NoError(t, err)
		cache = filepath.Join(home, ".cache", "tocsin-testinfra")
	}
	p := filepath.Join(cache, "syslog-ng", "syslog-ng")
	if !exists(p) {
		skipOrFail(t, "syslog-ng is not unpacked at "+p+" (testinfra/syslog-ng.sh fetch puts it there; scripts/test-deps.sh runs it)")
	}
	return p
}

// requireFormat skips the test, or fails it under CI, when tocsin does not
// know format.
func requireFormat(t *testing.T, format string) {
	t.Helper()
	cmd := exec.Command(tocsinBin, "parse", "--format", format)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("unknown format")) {
		skipOrFail(t, "tocsin has no "+format+" parser yet")
	}
	require.NoError(t, err, "tocsin parse --format %s: %s", format, out)
}

// builtinSpec is what the tests read of a built-in threshold rule.
type builtinSpec struct {
	ID        string `yaml:"id"`
	Threshold int    `yaml:"threshold"`
	Window    string `yaml:"window"`
}

// builtinRule reads rule id from a file of the built-in rules, so that the
// tests follow its threshold.
func builtinRule(t *testing.T, file, id string) builtinSpec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "rules", "builtin", file))
	require.NoError(t, err)
	var doc struct {
		Rules []builtinSpec `yaml:"rules"`
	}
	require.NoError(t, yaml.Unmarshal(data, &doc))
	for _, r := range doc.Rules {
		if r.ID == id {
			require.Positive(t, r.Threshold, "rule %s has a threshold", id)
			return r
		}
	}
	t.Fatalf("no rule %s in rules/builtin/%s", id, file)
	return builtinSpec{}
}

// incidentEvents returns the events behind every alert of an incident.
func incidentEvents(s *server, id string) []schemas.Event {
	s.t.Helper()
	var detail struct {
		Alerts []struct {
			Events      []schemas.Event `json:"events"`
			EventsTotal int             `json:"events_total"`
		} `json:"alerts"`
		AlertsTotal int `json:"alerts_total"`
	}
	s.get("/api/v1/incidents/"+id+"?alerts_limit=500&events_limit=1000", &detail)
	require.Len(s.t, detail.Alerts, detail.AlertsTotal, "one page holds every alert")
	var evs []schemas.Event
	for _, a := range detail.Alerts {
		require.Len(s.t, a.Events, a.EventsTotal, "every event behind the alert is kept")
		evs = append(evs, a.Events...)
	}
	return evs
}

// settledSignatures polls the incidents until they stay the same for half
// a second, and returns their signatures.
func settledSignatures(t *testing.T, s *server) []string {
	t.Helper()
	var got []string
	stable := 0
	waitFor(t, 30*time.Second, "incidents to settle", func() bool {
		now := signatures(s.incidents())
		if got != nil && strings.Join(now, "\n") == strings.Join(got, "\n") {
			stable++
		} else {
			stable = 0
		}
		got = now
		return stable >= 5
	})
	return got
}

// originalLine is what a person reads off an RFC 3164 line of the original
// log.
type originalLine struct {
	host    string
	program string
	pid     int
}

var rfc3164Line = regexp.MustCompile(`^([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([^\s\[:]+)\[(\d+)\]: (.*)$`)

// indexSyslogLines indexes the lines of an RFC 3164 log by time (as
// time.Stamp writes it), pid and message.
func indexSyslogLines(t *testing.T, data []byte) map[string]originalLine {
	t.Helper()
	idx := map[string]originalLine{}
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		// Loghub's file ends its lines with CR LF; senders drop the CR.
		m := rfc3164Line.FindStringSubmatch(strings.TrimSuffix(l, "\r"))
		require.NotNil(t, m, "line %q", l)
		pid, err := strconv.Atoi(m[4])
		require.NoError(t, err)
		idx[syslogKey(m[1], pid, m[5])] = originalLine{host: m[2], program: m[3], pid: pid}
	}
	return idx
}

func syslogKey(stamp string, pid int, msg string) string {
	return stamp + "\x00" + strconv.Itoa(pid) + "\x00" + msg
}

// clamdCommand sends one z-command to clamd's socket and returns the
// answer.
func clamdCommand(t *testing.T, sock, command string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))
	_, err = c.Write(append([]byte(command), 0))
	require.NoError(t, err)
	var reply []byte
	buf := make([]byte, 4096)
	for !bytes.HasSuffix(reply, []byte{0}) {
		n, err := c.Read(buf)
		reply = append(reply, buf[:n]...)
		if err != nil {
			break
		}
	}
	return string(bytes.TrimSuffix(reply, []byte{0}))
}

// eicarTestFile returns the 68 bytes of the EICAR anti-virus test file,
// assembled here so that this source file does not hold them in one
// piece for a scanner to find.
func eicarTestFile() []byte {
	head := `X5O!P%@AP[4\PZX54(P^)7CC)7}$`
	tail := "EICAR-STANDARD-" + "ANTIVIRUS-TEST-FILE!" + "$H+H*"
	return []byte(head + tail)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
