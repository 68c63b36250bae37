package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const truthJSON = `{
  "generator": "authgen", "seed": 1, "lines": 100, "format": "file",
  "start": "2026-03-02T00:00:00Z", "end": "2026-03-02T01:00:00Z", "hosts": ["web01"],
  "attackers": [
    {"kind": "ssh_bruteforce_fast", "source_ip": "198.18.0.1", "host": "web01",
     "first_seen": "2026-03-02T00:10:00Z", "last_seen": "2026-03-02T00:10:40Z", "attempts": 30, "users": 2,
     "also": ["ssh_bruteforce_slow"]},
    {"kind": "sudo_failures", "user": "paula", "host": "web01",
     "first_seen": "2026-03-02T00:20:00Z", "last_seen": "2026-03-02T00:24:00Z", "attempts": 9, "users": 1}
  ],
  "benign": {"scanners": 10, "probes": 3, "logins": 5, "typos": 1}
}`

const (
	incFast  = `{"id":"INC-000001","title":"SSH brute force","rule_ids":["tocsin-ssh-bf"],"entities":[{"type":"ip","field":"source.ip","value":"198.18.0.1"}]}`
	incSudo  = `{"id":"INC-000002","title":"sudo","rule_ids":["sudo-failures"],"entities":[{"type":"user","field":"user.name","value":"paula"},{"type":"host","field":"host.name","value":"web01"}]}`
	incNoise = `{"id":"INC-000003","title":"SSH brute force","rule_ids":["tocsin-ssh-bf"],"entities":[{"type":"ip","field":"source.ip","value":"10.20.0.9"}]}`
	incOdd   = `{"id":"INC-000004","title":"odd","rule_ids":["rule-x"],"entities":[{"type":"ip","field":"source.ip","value":"198.18.0.1"}]}`
)

func files(t *testing.T, incidents ...string) (truthPath, incPath string) {
	t.Helper()
	dir := t.TempDir()
	truthPath = filepath.Join(dir, "truth.json")
	incPath = filepath.Join(dir, "incidents.jsonl")
	require.NoError(t, os.WriteFile(truthPath, []byte(truthJSON), 0o644))
	require.NoError(t, os.WriteFile(incPath, []byte(strings.Join(incidents, "\n")+"\n"), 0o644))
	return truthPath, incPath
}

func runCheck(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPass(t *testing.T) {
	tp, ip := files(t, incFast, incSudo)
	code, out, errs := runCheck("", "-truth", tp, "-incidents", ip)
	require.Equal(t, 0, code, out+errs)
	require.Contains(t, out, "result: PASS")
	require.Regexp(t, `ssh_bruteforce_fast\s+1\s+1\s+1\.000\s+1\s+1\s+1\.000`, out)
}

func TestStdin(t *testing.T) {
	tp, _ := files(t)
	code, out, _ := runCheck(incFast+"\n"+incSudo+"\n", "-truth", tp)
	require.Equal(t, 0, code)
	require.Contains(t, out, "result: PASS")
}

func TestMissedAndBenignFail(t *testing.T) {
	tp, ip := files(t, incFast, incNoise)
	code, out, _ := runCheck("", "-truth", tp, "-incidents", ip)
	require.Equal(t, 1, code)
	require.Contains(t, out, "MISSED    sudo_failures          paula@web01")
	require.Contains(t, out, "BENIGN    ssh_bruteforce_fast    10.20.0.9 flagged by INC-000003")
	require.Contains(t, out, "result: FAIL (1 missed, 1 benign flagged)")
}

func TestKindOverrideAndStrict(t *testing.T) {
	tp, ip := files(t, incFast, incSudo, incOdd)
	// Unmapped rule on an attacker: reported, not a failure.
	code, out, _ := runCheck("", "-truth", tp, "-incidents", ip)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "UNMAPPED  rules [rule-x]")
	// Mapped to a kind the attacker does not allow: cross-kind, which
	// fails only under -strict.
	code, out, _ = runCheck("", "-truth", tp, "-incidents", ip, "-kind", "rule-x=password_spraying")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "CROSSKIND password_spraying")
	code, _, _ = runCheck("", "-truth", tp, "-incidents", ip, "-kind", "rule-x=password_spraying", "-strict")
	require.Equal(t, 1, code)
}

func TestUsageErrors(t *testing.T) {
	tp, ip := files(t, incFast)
	code, _, errs := runCheck("")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "usage: checktruth -truth FILE")
	code, _, errs = runCheck("", "-truth", filepath.Join(t.TempDir(), "missing.json"))
	require.Equal(t, 2, code)
	require.Contains(t, errs, "cannot open truth file")
	code, _, errs = runCheck("", "-truth", tp, "-incidents", ip, "-kind", "x=y")
	require.Equal(t, 2, code)
	require.Contains(t, errs, `unknown kind "y"`)
	code, _, errs = runCheck("garbage\n", "-truth", tp)
	require.Equal(t, 2, code)
	require.Contains(t, errs, "line 1: cannot decode incident")
}
