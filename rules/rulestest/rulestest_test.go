package rulestest

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/rules"
)

const customRules = `rules:
  - id: root-login
    title: root logged in over SSH
    severity: medium
    kind: match
    condition: event.action == "ssh_login" && event.outcome == "success" && user.name == "root"
    group_by: [source.ip]
    reason: "root logged in from {source.ip}"
tests:
  - name: root login is reported
    lines: |
      Dec 10 09:32:20 bastion sshd[5010]: Accepted publickey for root from 192.0.2.10 port 52214 ssh2: RSA SHA256:abc
    expect:
      - rule: root-login
        group: {source.ip: 192.0.2.10}
  - name: wrong expectation fails
    lines: |
      Dec 10 09:32:20 bastion sshd[5010]: Accepted publickey for root from 192.0.2.10 port 52214 ssh2: RSA SHA256:abc
      Dec 10 09:35:01 bastion sshd[5022]: Accepted password for root from 192.0.2.11 port 40110 ssh2
    expect:
      - rule: root-login
        group: {source.ip: 192.0.2.99}
  - name: unparsable line fails
    lines: ["<999>not syslog"]
    expect: []
  - name: no input fails
    expect: []
`

func writeRules(t *testing.T, text string) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "custom.yaml"), []byte(text), 0o644))
	return dir
}

func TestRunReportsPassAndFail(t *testing.T) {
	dir := writeRules(t, customRules)
	var out bytes.Buffer
	rep, err := Run(context.Background(), []string{dir}, &out, Options{})
	require.NoError(t, err)
	require.Equal(t, 1, rep.Passed)
	require.Equal(t, 3, rep.Failed)
	require.False(t, rep.OK())
	require.Len(t, rep.Results, 4)

	file := filepath.ToSlash(dir) + "/custom.yaml"
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Equal(t, "1 passed, 3 failed", lines[len(lines)-1])
	text := out.String()
	require.Contains(t, text, "--- PASS: "+file+":10: root login is reported (")
	require.Contains(t, text, "--- FAIL: "+file+":16: wrong expectation fails (")
	require.Contains(t, text, "    "+file+":21: rule root-login group {source.ip=192.0.2.99}: want 1 alert, got 0\n")
	require.Contains(t, text, "    unexpected alert from root-login [source.ip=192.0.2.10]: root logged in from 192.0.2.10\n")
	require.Contains(t, text, "    unexpected alert from root-login [source.ip=192.0.2.11]: root logged in from 192.0.2.11\n")
	require.Contains(t, text, "--- FAIL: "+file+":23: unparsable line fails (")
	require.Contains(t, text, "    "+file+":24: cannot parse line: ")
	require.Contains(t, text, "--- FAIL: "+file+":26: no input fails (")
	require.Contains(t, text, "    the test has no input: give it lines or events\n")

	passed := rep.Results[0]
	require.True(t, passed.Passed)
	require.Len(t, passed.Alerts, 1)
	require.Equal(t, "root-login", passed.Alerts[0].RuleID)
	require.Equal(t, "Accepted publickey for root from 192.0.2.10 port 52214 ssh2: RSA SHA256:abc", passed.Alerts[0].Events[0].Message)
}

func TestRunFilterAndVerbose(t *testing.T) {
	dir := writeRules(t, customRules)
	var out bytes.Buffer
	rep, err := Run(context.Background(), []string{dir}, &out, Options{Run: "reported$", Verbose: true})
	require.NoError(t, err)
	require.Equal(t, 1, rep.Passed)
	require.Zero(t, rep.Failed)
	require.Contains(t, out.String(), "    alert root-login [source.ip=192.0.2.10]: root logged in from 192.0.2.10\n")
	require.True(t, strings.HasSuffix(out.String(), "1 passed, 0 failed\n"))

	_, err = Run(context.Background(), []string{dir}, &out, Options{Run: "("})
	require.ErrorContains(t, err, "cannot use test filter")
}

func TestRunReportsLoadErrors(t *testing.T) {
	dir := writeRules(t, strings.Replace(customRules, "user.name ==", "user.nme ==", 1))
	var out bytes.Buffer
	_, err := Run(context.Background(), []string{dir}, &out, Options{})
	require.ErrorContains(t, err, "custom.yaml:6: rule \"root-login\": condition: unknown field nme (user.nme); did you mean user.name?")
	var errs rules.Errors
	require.ErrorAs(t, err, &errs)
}

// TestRunCatchesBrokenRule makes sure the built-in tests can fail: the same
// files with a threshold nudged up must report the burst tests.
func TestRunCatchesBrokenRule(t *testing.T) {
	data, err := fsReadBuiltin("ssh.yaml")
	require.NoError(t, err)
	broken := strings.Replace(string(data), "threshold: 10\n", "threshold: 11\n", 1)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ssh.yaml"), []byte(broken), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lists"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lists", "trusted_sources.txt"), nil, 0o644))
	var out bytes.Buffer
	rep, err := Run(context.Background(), []string{dir}, &out, Options{})
	require.NoError(t, err)
	require.Equal(t, 4, rep.Failed, out.String())
	require.Contains(t, out.String(), "rule ssh-brute-force-fast group {source.address=203.0.113.7}: want 1 alert, got 0")
}

func fsReadBuiltin(name string) ([]byte, error) { return fs.ReadFile(rules.Builtin(), name) }
