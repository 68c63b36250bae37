package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tocsin-siem/tocsin/schemas"
)

// tocsin runs the binary and returns its stdout, stderr and exit code.
func tocsin(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(tocsinBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return stdout.String(), stderr.String(), code
}

func TestRulesTestBuiltinPasses(t *testing.T) {
	out, errOut, code := tocsin(t, "rules", "test")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Regexp(t, `(?m)^[1-9][0-9]* passed, 0 failed$`, out)
}

const userRule = `rules:
  - id: admin-logins
    title: Admin login from outside
    severity: medium
    kind: match
    condition: event.action == "ssh_login" && event.outcome == "success" && user.name == "admin"
    group_by: [source.ip]
tests:
  - name: admin login alerts
    lines: |
      Dec 10 06:55:00 bastion sshd[24317]: Accepted password for admin from 203.0.113.7 port 51022 ssh2
    expect:
      - rule: admin-logins
        group: {source.ip: 203.0.113.7}
  - name: a wrong expectation fails
    lines: |
      Dec 10 06:55:00 bastion sshd[24317]: Accepted password for bob from 203.0.113.8 port 51022 ssh2
    expect:
      - rule: admin-logins
        group: {source.ip: 203.0.113.8}
`

func TestRulesTestReportsMismatch(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "admin.yaml"), []byte(userRule), 0o644))
	out, _, code := tocsin(t, "rules", "test", "--no-builtin", dir)
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "1 passed, 1 failed")
	require.Contains(t, out, "a wrong expectation fails")
}

func TestMisspeltFieldNamesFileLineAndField(t *testing.T) {
	dir := t.TempDir()
	bad := strings.Replace(userRule, `user.name == "admin"`, `user.nmae == "admin"`, 1)
	bad = strings.Replace(bad, "severity: medium", "severity: urgent", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "admin.yaml"), []byte(bad), 0o644))
	_, errOut, code := tocsin(t, "rules", "check", "--no-builtin", dir)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "admin.yaml:6")
	require.Contains(t, errOut, "nmae")
	require.Contains(t, errOut, "admin.yaml:4", "every problem is listed, not just the first")

	// The same rules refuse to start a replay.
	log := filepath.Join(dir, "x.log")
	require.NoError(t, os.WriteFile(log, []byte("Dec 10 06:55:00 h sshd[1]: x\n"), 0o644))
	_, errOut, code = tocsin(t, "replay", "--rules", dir, log)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "nmae")
}

func TestReplayReadsGzipAndCustomRules(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	require.NoError(t, os.Mkdir(rulesDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(rulesDir, "admin.yaml"), []byte(userRule), 0o644))
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("Dec 10 06:55:00 bastion sshd[1]: Accepted password for admin from 192.0.2.44 port 2222 ssh2\n" +
		"Dec 10 06:56:00 bastion sshd[2]: Accepted password for bob from 192.0.2.45 port 2222 ssh2\n"))
	require.NoError(t, zw.Close())
	gz := filepath.Join(dir, "auth.log.1.gz")
	require.NoError(t, os.WriteFile(gz, buf.Bytes(), 0o644))

	incs := replay(t, "--no-builtin", "--rules", rulesDir, "--reference-time", "2024-01-15T00:00:00Z", gz)
	require.Len(t, incs, 1)
	require.Equal(t, []string{"admin-logins"}, incs[0].RuleIDs)
	require.Equal(t, "192.0.2.44", entityValue(incs[0], "ip"))
	require.Equal(t, 2023, incs[0].FirstSeen.Year(), "a December line replayed in January is last year's")
	require.Equal(t, 1, incs[0].AlertCount)
}

func TestBadConfigListsEveryProblem(t *testing.T) {
	_, errOut, code := tocsin(t, "run", "--http-address", "0.0.0.0:0", "--syslog-udp-max-message-size", "12", "--syslog-timezone", "Nowhere/City")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "http.token")
	require.Contains(t, errOut, "syslog.udp.max_message_size")
	require.Contains(t, errOut, "syslog.timezone")
}

func TestReplayIsDeterministicAcrossShards(t *testing.T) {
	path := sharedData(t, "loghub/OpenSSH/OpenSSH_2k.log")
	ref := "--reference-time=2017-01-01T00:00:00Z"
	first := replay(t, ref, "--shards", "4", path)
	require.NotEmpty(t, first)
	for _, shards := range []string{"4", "1", "3"} {
		again := replay(t, ref, "--shards", shards, path)
		require.Len(t, again, len(first))
		for i := range first {
			require.Equal(t, first[i].ID, again[i].ID, "shards=%s", shards)
			require.Equal(t, signature(first[i]), signature(again[i]), "shards=%s", shards)
		}
	}
}

func TestRunLoadsRuleDirectories(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	require.NoError(t, os.Mkdir(rulesDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(rulesDir, "admin.yaml"), []byte(userRule), 0o644))
	s := startServer(t, filepath.Join(dir, "data"), "--rules", rulesDir)
	sendTCP(t, s.port, "<38>Dec  4 09:00:00 bastion sshd[77]: Accepted password for admin from 192.0.2.61 port 2222 ssh2")
	waitFor(t, 15*time.Second, "the custom rule's incident", func() bool {
		for _, in := range s.incidents() {
			if len(in.RuleIDs) == 1 && in.RuleIDs[0] == "admin-logins" {
				return entityValue(in, "ip") == "192.0.2.61"
			}
		}
		return false
	})
	s.stop()
}

func TestSendSaysWhenTheListenerRefusedIt(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"), "--syslog-tcp-max-connections", "1", "--syslog-tcp-evict-idle", "1h")
	log := filepath.Join(dir, "lines.log")
	require.NoError(t, os.WriteFile(log, []byte(strings.Join(failedLogins("192.0.2.77", 0, 3), "\n")+"\n"), 0o644))
	addr := fmt.Sprintf("127.0.0.1:%d", s.port)

	out, errOut, code := tocsin(t, "send", "--address", addr, log)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "sent 3 lines")
	waitFor(t, 10*time.Second, "the three lines", func() bool { return s.metric("tocsin_ingest_lines_total") == 3 })

	waitFor(t, 10*time.Second, "the first sender to be gone", func() bool { return s.metric("tocsin_ingest_connections") == 0 })
	hold, err := net.Dial("tcp", addr) // takes the only slot and stays idle
	require.NoError(t, err)
	defer hold.Close()
	waitFor(t, 10*time.Second, "the idle connection", func() bool { return s.metric("tocsin_ingest_connections") == 1 })
	_, errOut, code = tocsin(t, "send", "--address", addr, log)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "reset", "refused at connect or after the lines were written, the sender hears of it")
	require.Equal(t, 3.0, s.metric("tocsin_ingest_lines_total"), "the refused lines never arrived")
	s.stop()
}

func TestParseShowsTheEventOrTheReason(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "auth.log")
	require.NoError(t, os.WriteFile(in, []byte(
		"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186\n"+
			"Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2\n"+
			"\n"+
			"hello world\n"), 0o644))
	out, errOut, code := tocsin(t, "parse", "--reference-time", "2024-01-01T00:00:00Z", in)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "1 record did not parse")
	type result struct {
		Line  int            `json:"line"`
		Event *schemas.Event `json:"event"`
		Error *struct {
			Reason string `json:"reason"`
			Raw    string `json:"raw"`
		} `json:"error"`
	}
	var got []result
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r result
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		got = append(got, r)
	}
	require.Len(t, got, 3, "the blank line is skipped")
	require.Equal(t, "ssh_login", got[0].Event.Event.Action)
	require.Equal(t, "invalid user", got[0].Event.Event.Reason)
	require.Equal(t, "webmaster", got[0].Event.User.Name)
	require.Equal(t, "173.234.31.186", got[0].Event.Source.IP)
	require.Equal(t, 2023, got[0].Event.Timestamp.Year())
	require.Equal(t, 1, got[0].Event.Event.Count)
	require.Equal(t, 0, got[1].Event.Event.Count, "the attempt was counted by the Invalid user line")
	require.Equal(t, 4, got[2].Line)
	require.Equal(t, "no_header", got[2].Error.Reason)
	require.Equal(t, "hello world", got[2].Error.Raw)
}

// TestRulesCheckShowsKafkaPlacement: rules check tells an analyst which
// rules run where their events land on Kafka and which are re-keyed.
// Rules grouped by the first key field run where events land, and so do
// match rules, which keep no state; the others are re-keyed.
func TestRulesCheckShowsKafkaPlacement(t *testing.T) {
	out, errOut, code := tocsin(t, "rules", "check")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "on Kafka, with events keyed by source.address, then user.name, then host.name:\n")
	local := placedLocally(t, out)
	require.Subset(t, local, []string{"ssh-brute-force-fast", "ssh-brute-force-pam", "ssh-brute-force-slow",
		"ssh-brute-force-then-success", "ssh-password-spray", "firewall-port-scan-external", "malware-detected"})
	require.NotContains(t, local, "sudo-repeated-failures")
	require.Contains(t, out, "  re-keyed by user.name,host.name through the repartition topic: sudo-repeated-failures\n")

	out, _, code = tocsin(t, "rules", "check", "--key-fields", "user.name,host.name")
	require.Equal(t, 0, code)
	local = placedLocally(t, out)
	require.Contains(t, local, "sudo-repeated-failures")
	require.Contains(t, local, "malware-detected", "a match rule runs wherever its events land")
	require.NotContains(t, local, "ssh-brute-force-fast")
	require.Contains(t, out, "  re-keyed by source.address through the repartition topic: firewall-host-sweep-internal,")

	_, errOut, code = tocsin(t, "rules", "check", "--key-fields", "usr.name")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "did you mean user.name?")
}

// placedLocally reads the rules `rules check` says run where events land,
// checking that the count it prints matches the list.
func placedLocally(t *testing.T, out string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  (\d+) rules? runs? where events land: (.*)$`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	ids := strings.Split(m[2], ", ")
	require.Equal(t, m[1], strconv.Itoa(len(ids)))
	return ids
}
