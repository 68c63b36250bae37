package stream

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
)

func builtinRules(t testing.TB) *rules.Set {
	t.Helper()
	set, err := rules.Load(rules.BuiltinSource())
	require.NoError(t, err)
	return set
}

// loadRuleText compiles one rule file given as YAML text.
func loadRuleText(t testing.TB, text string) *rules.Set {
	t.Helper()
	set, err := rules.Load(rules.Source{FS: fstest.MapFS{"r.yaml": {Data: []byte(text)}}, Dir: ".", Name: "test"})
	require.NoError(t, err)
	return set
}

func TestPlacementBuiltin(t *testing.T) {
	local, rekeyed := Placement(builtinRules(t), wire.DefaultKeyFields)
	// The rules grouped by source.address (the first key field) and the
	// match rules, which keep no state, run where events land.
	require.Equal(t, []string{
		"auditd-auth-failures", "defender-exclusion-added", "defender-protection-disabled",
		"firewall-host-sweep-internal", "firewall-login-brute-force",
		"firewall-login-brute-force-then-success", "firewall-port-scan-external",
		"firewall-port-scan-internal", "firewall-threat-detected", "linux-uid0-account",
		"linux-user-added-to-admin-group", "malware-action-failed", "malware-detected",
		"network-admin-account-created", "network-config-changed", "ssh-brute-force-fast",
		"ssh-brute-force-pam", "ssh-brute-force-slow", "ssh-brute-force-then-success", "ssh-password-spray",
		"tls-certificate-expired", "tls-certificate-expiring", "tls-vulnerable-endpoint",
		"windows-account-lockouts", "windows-log-cleared", "windows-logon-brute-force",
		"windows-lsass-access", "windows-password-spray", "windows-privileged-group-member-added",
	}, local)
	require.Equal(t, map[string][]string{
		"user.name,host.name": {"sudo-repeated-failures"},
	}, rekeyed)
}

const mixedRules = `rules:
  - id: root-login
    title: root logs in
    severity: low
    kind: match
    condition: event.action == "ssh_login" && user.name == "root"
    group_by: [user.name]
  - id: user-fail
    title: failures per user
    severity: low
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [user.name]
    threshold: 3
    window: 5m
  - id: user-spray
    title: sources per user
    severity: low
    kind: threshold
    condition: event.action == "ssh_login"
    group_by: [user.name]
    distinct: source.address
    threshold: 3
    window: 5m
    followed_by:
      condition: event.action == "ssh_login" && event.outcome == "success"
      within: 1m
  - id: host-source
    title: per host and source
    severity: low
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [host.name, source.address]
    threshold: 3
    window: 5m
`

func TestPlacementRules(t *testing.T) {
	set := loadRuleText(t, mixedRules)
	local, rekeyed := Placement(set, wire.DefaultKeyFields)
	require.Equal(t, []string{"host-source", "root-login"}, local, "a match rule keeps no state and runs anywhere")
	require.Equal(t, map[string][]string{"user.name": {"user-fail", "user-spray"}}, rekeyed)

	local, rekeyed = Placement(set, []string{"user.name"})
	require.Equal(t, []string{"root-login", "user-fail", "user-spray"}, local)
	require.Equal(t, map[string][]string{"host.name,source.address": {"host-source"}}, rekeyed)

	local, rekeyed = Placement(set, nil)
	require.Equal(t, []string{"root-login"}, local)
	require.Len(t, rekeyed, 2)
}

func TestPlanConditions(t *testing.T) {
	p := newPlan(loadRuleText(t, mixedRules), wire.DefaultKeyFields)
	require.Len(t, p.keysets, 1)
	ks := p.byName["user.name"]
	require.NotNil(t, ks)
	require.Equal(t, []byte("user.name"), ks.nameBytes)
	srcs := []string{}
	for _, c := range ks.conds {
		srcs = append(srcs, c.Source)
	}
	// Both rules' conditions and the followed_by one, each once.
	require.ElementsMatch(t, []string{
		`event.action == "ssh_login" && event.outcome == "failure"`,
		`event.action == "ssh_login"`,
		`event.action == "ssh_login" && event.outcome == "success"`,
	}, srcs)
	require.Len(t, ks.getters, 1)
	require.Equal(t, "bob", ks.getters[0](&schemas.Event{User: schemas.User{Name: "bob"}}))
	require.Equal(t, []string{"host-source", "root-login"}, ruleIDs(p.local))
	require.Len(t, p.hashes, 4)
}

func ruleIDs(set *rules.Set) []string {
	ids := []string{}
	for _, r := range set.Rules {
		ids = append(ids, r.Spec.ID)
	}
	return ids
}

func TestParseOrigin(t *testing.T) {
	for _, tc := range []struct {
		in   string
		part int32
		off  int64
		ok   bool
	}{
		{"0:0", 0, 0, true},
		{"7:123456789012", 7, 123456789012, true},
		{"2147483647:9223372036854775807", 2147483647, 9223372036854775807, true},
		{"2147483648:1", 0, 0, false},
		{"1:9223372036854775808", 0, 0, false},
		{"", 0, 0, false},
		{":1", 0, 0, false},
		{"1:", 0, 0, false},
		{"-1:1", 0, 0, false},
		{"1:2:3", 0, 0, false},
		{"a:1", 0, 0, false},
	} {
		p, o, ok := parseOrigin([]byte(tc.in))
		require.Equal(t, tc.ok, ok, tc.in)
		if ok {
			require.Equal(t, tc.part, p, tc.in)
			require.Equal(t, tc.off, o, tc.in)
		}
	}
}
