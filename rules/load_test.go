package rules

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
)

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}

func loadMap(files map[string]string) (*Set, error) {
	return Load(Source{FS: mapFS(files), Dir: ".", Name: "rules"})
}

// loadErrors loads files that must fail and returns the rendered problems.
func loadErrors(t *testing.T, files map[string]string) []string {
	t.Helper()
	_, err := loadMap(files)
	require.Error(t, err)
	var errs Errors
	require.True(t, errors.As(err, &errs), "error is %T", err)
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

const goodRule = `rules:
  - id: ssh-bf
    title: SSH brute force
    severity: high
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [source.ip]
    threshold: 10
    window: 1m
`

func TestLoadGoodRule(t *testing.T) {
	set, err := loadMap(map[string]string{"ssh.yaml": goodRule})
	require.NoError(t, err)
	require.Len(t, set.Rules, 1)
	r := set.Rule("ssh-bf")
	require.NotNil(t, r)
	require.Equal(t, "rules/ssh.yaml", r.Spec.File)
	require.Equal(t, 2, r.Spec.Line)
	require.Equal(t, "threshold", r.Spec.Kind)
	require.True(t, r.Condition.Native())
	require.Equal(t, "event.action", r.Condition.Index().Field)
	require.Equal(t, []string{"ssh_login"}, r.Condition.Index().Values)
	require.Len(t, r.GroupBy, 1)
	require.Equal(t, "source.ip", r.GroupBy[0].Name)
	require.Len(t, r.Conditions(), 1)
	require.NotEmpty(t, r.Hash)
}

func TestLoadReportsEveryProblemWithFileAndLine(t *testing.T) {
	got := loadErrors(t, map[string]string{
		"a.yaml": `rules:
  - id: ssh-bf
    title: SSH brute force
    severity: hgih
    kind: threshold
    condition: event.actoin == "ssh_login" && source.iP != ""
    group_by: [source.ip, user.nmae]
    thresold: 10
    window: 10 minutes
  - id: Bad_ID
    title: x
    severity: low
    kind: sequence
    condition: in_list(source.ip, "nope")
    tags: [attack.t11, Credential]
    references: [ftp://example.com/x]
`,
		"b.yaml": `rules:
  - id: ssh-bf
    title: duplicate
    severity: low
    kind: match
    condition: |
      event.action == "ssh_login" &&
        event.outcom == "failure"
  - id: reasons
    title: reason
    severity: low
    kind: match
    condition: event.action == "sudo"
    reason: "{nope} happened"
`,
		"c.yml":         "rules: [\n  - broken",
		"lists/bad.txt": "10.0.0.0/8\n# fine\n10.0.0.0/33\n",
	})
	want := []string{
		`rules/a.yaml:2: rule "ssh-bf": threshold: missing (required)`,
		`rules/a.yaml:4: rule "ssh-bf": severity: unknown severity "hgih" (want one of info, low, medium, high, critical)`,
		`rules/a.yaml:6: rule "ssh-bf": condition: unknown field actoin (event.actoin); did you mean event.action?`,
		`rules/a.yaml:6: rule "ssh-bf": condition: unknown field iP (source.iP); did you mean source.ip?`,
		`rules/a.yaml:7: rule "ssh-bf": group_by: unknown field "user.nmae"; did you mean user.name?`,
		`rules/a.yaml:8: rule "ssh-bf": thresold: unknown key (want one of: condition, description, distinct, followed_by, group_by, id, kind, reason, references, severity, tags, threshold, title, window)`,
		`rules/a.yaml:9: rule "ssh-bf": window: want a duration such as 90s, 10m or 2h, got "10 minutes"`,
		`rules/a.yaml:10: rule "Bad_ID": id: "Bad_ID" must be 1-128 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit`,
		`rules/a.yaml:10: rule "Bad_ID": group_by: required (alerts of a rule are grouped into incidents by these fields)`,
		`rules/a.yaml:13: rule "Bad_ID": kind: unknown kind "sequence" (want one of: match, threshold)`,
		`rules/a.yaml:14: rule "Bad_ID": condition: in_list: unknown list "nope" (loaded lists: bad)`,
		`rules/a.yaml:15: rule "Bad_ID": tags: "attack.t11" is not an ATT&CK technique (attack.t1110.001), tactic (attack.credential_access), group or software id`,
		`rules/a.yaml:15: rule "Bad_ID": tags: "Credential" must be lower-case letters, digits, '.', '_' or '-'`,
		`rules/a.yaml:16: rule "Bad_ID": references: "ftp://example.com/x" is not an http(s) URL`,
		`rules/b.yaml:2: rule "ssh-bf": id: duplicate rule id (first defined at rules/a.yaml:2)`,
		`rules/b.yaml:2: rule "ssh-bf": group_by: required (alerts of a rule are grouped into incidents by these fields)`,
		`rules/b.yaml:8: rule "ssh-bf": condition: unknown field outcom (event.outcom); did you mean event.outcome?`,
		`rules/b.yaml:9: rule "reasons": group_by: required (alerts of a rule are grouped into incidents by these fields)`,
		`rules/b.yaml:14: rule "reasons": reason: unknown placeholder {nope}; a match rule offers an event field such as {source.ip} or one of: {count}, {distinct_count}, {events}, {first_seen}, {last_seen}, {title}, {id}, {severity}, {group}`,
		`rules/c.yml:1: cannot parse YAML: did not find expected node content`,
		`rules/lists/bad.txt:3: invalid CIDR prefix "10.0.0.0/33": netip.ParsePrefix("10.0.0.0/33"): prefix length out of range`,
	}
	require.Equal(t, want, got)
}

func TestLoadProblems(t *testing.T) {
	// rule is a rule with extra keys, grouped by source.ip unless extra
	// says otherwise.
	rule := func(extra string) map[string]string {
		if !strings.Contains(extra, "group_by:") {
			extra += "    group_by: [source.ip]\n"
		}
		return map[string]string{"r.yaml": `rules:
  - id: r1
    title: t
    severity: low
` + extra}
	}
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"no lists loaded", rule("    kind: match\n    condition: in_list(source.ip, \"scanners\")\n"),
			[]string{`rules/r.yaml:6: rule "r1": condition: in_list: unknown list "scanners" (no lists are loaded; put NAME.txt in a lists/ directory of the rules)`}},
		{"list name must be constant", map[string]string{
			"lists/a.txt": "1.2.3.4\n",
			"r.yaml":      "rules:\n  - id: r1\n    title: t\n    severity: low\n    kind: match\n    condition: in_list(source.ip, user.name)\n    group_by: [source.ip]\n",
		}, []string{`rules/r.yaml:6: rule "r1": condition: in_list: the list name must be a constant string`}},
		{"type error from expr", rule("    kind: match\n    condition: event.count == \"x\"\n"),
			[]string{`rules/r.yaml:6: rule "r1": condition: invalid operation: == (mismatched types int and string) (at column 13)`}},
		{"not boolean", rule("    kind: match\n    condition: source.ip\n"),
			[]string{`rules/r.yaml:6: rule "r1": condition: expected bool, but got string`}},
		{"field of a string", rule("    kind: match\n    condition: event.action.name == \"x\"\n"),
			[]string{`rules/r.yaml:6: rule "r1": condition: event.action is a string and has no field name`}},
		{"unknown root", rule("    kind: match\n    condition: evnt.action == \"x\"\n"),
			[]string{`rules/r.yaml:6: rule "r1": condition: unknown field evnt (evnt); did you mean event?`}},
		{"syntax error", rule("    kind: match\n    condition: event.action == \n"),
			[]string{`rules/r.yaml:6: rule "r1": condition: unexpected token EOF (at column 15)`}},
		{"missing condition and kind", rule(""), []string{
			`rules/r.yaml:2: rule "r1": kind: missing (required)`,
			`rules/r.yaml:2: rule "r1": condition: missing (required)`,
		}},
		{"followed_by problems", rule(`    kind: threshold
    condition: event.action == "ssh_login"
    threshold: 0
    window: -1m
    distinct: user.nam
    followed_by:
      condition: event.outcome == "success"
      withn: 5m
`), []string{
			`rules/r.yaml:7: rule "r1": threshold: must be between 1 and 100000, got 0`,
			`rules/r.yaml:8: rule "r1": window: must be positive, got -1m`,
			`rules/r.yaml:9: rule "r1": distinct: unknown field "user.nam"; did you mean user.name?`,
			`rules/r.yaml:11: rule "r1": followed_by.within: missing (required)`,
			`rules/r.yaml:12: rule "r1": followed_by.withn: unknown key (want one of: condition, within)`,
		}},
		{"match takes no threshold keys", rule("    kind: match\n    condition: event.action == \"x\"\n    window: 1m\n"),
			[]string{`rules/r.yaml:7: rule "r1": window: unknown key (want one of: condition, description, group_by, id, kind, reason, references, severity, tags, title)`}},
		{"duplicate keys and aliases", map[string]string{"r.yaml": `rules:
  - id: r1
    id: r2
    title: &t title
    description: *t
    severity: low
    kind: match
    condition: event.action == "x"
    group_by: [source.ip]
`}, []string{
			`rules/r.yaml:3: id: duplicate key (first on line 2)`,
			`rules/r.yaml:5: rule "r1": description: YAML aliases are not supported; write the value out`,
		}},
		{"shapes", map[string]string{
			"empty.yaml":   "",
			"list.yaml":    "- a\n- b\n",
			"notlist.yaml": "rules: {id: x}\n",
			"scalar.yaml":  "rules:\n  - just a string\n",
			"extra.yaml":   "rules: []\nrule: []\n",
		}, []string{
			`rules/empty.yaml: empty file; want a mapping with a rules: list`,
			`rules/extra.yaml:2: rule: unknown key (want one of: rules, tests)`,
			`rules/list.yaml:1: the file must be a mapping, got a list`,
			`rules/notlist.yaml:1: rules: want a list of rules, got a mapping`,
			`rules/scalar.yaml:2: a rule must be a mapping, got a scalar ("just a string")`,
		}},
		{"bad reason template", rule("    kind: match\n    condition: event.action == \"x\"\n    reason: \"{count\"\n"),
			[]string{`rules/r.yaml:7: rule "r1": reason: unclosed placeholder at column 1 (write {{ for a literal brace)`}},
		{"group_by problems", rule("    kind: match\n    condition: event.action == \"x\"\n    group_by: [source.ip, source.ip, message]\n"),
			[]string{
				`rules/r.yaml:7: rule "r1": group_by: field "source.ip" listed twice`,
				`rules/r.yaml:7: rule "r1": group_by: unknown field "message" (want one of: change.item, destination.address, destination.domain, destination.ip, destination.port, event.action, event.category, event.code, event.dataset, event.outcome, event.reason, event.type, file.hash.sha256, file.path, group.name, host.name, log.source.address, log.syslog.appname, log.syslog.hostname, log.syslog.msgid, log.syslog.procid, network.direction, network.protocol, network.transport, observer.hostname, observer.ingress_interface, observer.product, observer.vendor, process.command_line, process.executable, process.name, process.pid, rule.id, rule.name, source.address, source.domain, source.ip, source.port, ssh.method, threat.name, tls.server.issuer, tls.server.subject, user.domain, user.id, user.name, user.target.domain, user.target.id, user.target.name, vulnerability.id, winlog.computer_name, winlog.event_id, winlog.logon_type)`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, loadErrors(t, tc.files))
		})
	}
}

func TestLoadTestSpecProblems(t *testing.T) {
	got := loadErrors(t, map[string]string{"r.yaml": goodRule + `tests:
  - name: one
    now: yesterday
    events:
      - {event.actoin: ssh_login, source.ip: 192.0.2.1, event.count: many}
      - {event: x}
    expect:
      - rule: ssh-bf
        group: {user.name: root}
        cout: 2
      - rule: other
  - name: one
    lines: [{a: b}]
  - name: three
    lines: "Dec 10 06:55:46 h sshd[1]: x"
    expect: {rule: ssh-bf}
`})
	want := []string{
		`rules/r.yaml:12: test "one": now: want an RFC 3339 time such as 2024-12-10T06:55:46Z, got "yesterday"`,
		`rules/r.yaml:14: test "one": events.event.actoin: unknown field actoin (event.actoin); did you mean event.action?`,
		`rules/r.yaml:14: test "one": events.event.count: event.count wants an integer, got "many"`,
		`rules/r.yaml:15: test "one": events.event: event is a group of fields; set its members (event.action, event.category, event.code, event.count, event.created, event.dataset, event.kind, event.original, event.outcome, event.reason, event.severity, event.type)`,
		`rules/r.yaml:18: test "one": expect.group.user.name: rule "ssh-bf" does not group by user.name (group_by: source.ip)`,
		`rules/r.yaml:19: test "one": expect.cout: unknown key (want one of: count, group, rule)`,
		`rules/r.yaml:20: test "one": expect.rule: no rule "other" in this file (a test runs the rules of its own file)`,
		`rules/r.yaml:21: tests.name: duplicate test name "one" (first on line 11)`,
		`rules/r.yaml:21: test "one": expect: missing (required; write expect: [] for "no alert")`,
		`rules/r.yaml:22: test "one": lines: want a log line, got a mapping`,
		`rules/r.yaml:25: test "three": expect: want a list of {rule, group, count}, got a mapping`,
	}
	require.Equal(t, want, got)
}

func TestLoadTests(t *testing.T) {
	set, err := loadMap(map[string]string{"r.yaml": goodRule + `tests:
  - name: lines and events
    now: 2024-12-31T00:00:00Z
    lines: |
      Dec 10 06:55:46 h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2

      Dec 10 06:55:47 h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2
    events:
      - {timestamp: "+90s", event.action: ssh_login, source.ip: 192.0.2.1, event.count: 3}
      - {"@timestamp": "2024-12-10T06:55:48Z", source.port: 22, event.created: "+1s"}
    expect:
      - rule: ssh-bf
        group: {source.ip: 192.0.2.1}
        count: 0
      - rule: ssh-bf
`})
	require.NoError(t, err)
	require.Len(t, set.Files, 1)
	tests := set.Files[0].Tests
	require.Len(t, tests, 1)
	tc := tests[0]
	require.Equal(t, "lines and events", tc.Name)
	require.Equal(t, 11, tc.Line)
	require.Equal(t, []string{"ssh-bf"}, tc.Rules)
	require.Equal(t, "2024-12-31T00:00:00Z", tc.Now.Format(time.RFC3339))
	require.Equal(t, []TestLine{
		{Text: "Dec 10 06:55:46 h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2", Line: 14},
		{Text: "Dec 10 06:55:47 h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2", Line: 16},
	}, tc.Lines)
	require.Len(t, tc.Events, 2)
	require.Equal(t, tc.Now.Add(90*time.Second), tc.Events[0].Timestamp)
	require.Equal(t, "ssh_login", tc.Events[0].Event.Action)
	require.Equal(t, 3, tc.Events[0].Event.Count)
	require.Equal(t, "event", tc.Events[0].Event.Kind)
	require.Equal(t, 1, tc.Events[1].Event.Count, "count defaults to 1")
	require.Equal(t, 22, tc.Events[1].Source.Port)
	require.Equal(t, "2024-12-10T06:55:48Z", tc.Events[1].Timestamp.Format(time.RFC3339))
	require.Equal(t, tc.Now.Add(time.Second), tc.Events[1].Event.Created)
	require.Equal(t, []Expectation{
		{Rule: "ssh-bf", Group: map[string]string{"source.ip": "192.0.2.1"}, Count: 0, Line: 21},
		{Rule: "ssh-bf", Count: 1, Line: 24},
	}, tc.Expect)
}

func TestRuleHashCoversStateOnly(t *testing.T) {
	hash := func(text string) string {
		set, err := loadMap(map[string]string{"r.yaml": text})
		require.NoError(t, err)
		return set.Rules[0].Hash
	}
	base := hash(goodRule)
	cosmetic := strings.NewReplacer(
		"title: SSH brute force", "title: renamed",
		"severity: high", "severity: critical",
		"    window: 1m\n", "    window: 1m\n    reason: \"{count} now\"\n    description: words\n",
	).Replace(goodRule)
	require.Equal(t, base, hash(cosmetic), "title, severity, reason and description do not touch state")
	reordered := strings.Replace(goodRule, "    threshold: 10\n    window: 1m\n", "    window: 1m\n    threshold: 10\n", 1)
	require.Equal(t, base, hash(reordered), "key order does not matter")
	for name, changed := range map[string]string{
		"threshold": strings.Replace(goodRule, "threshold: 10", "threshold: 11", 1),
		"window":    strings.Replace(goodRule, "window: 1m", "window: 2m", 1),
		"condition": strings.Replace(goodRule, `"failure"`, `"success"`, 1),
		"group_by":  strings.Replace(goodRule, "[source.ip]", "[source.ip, user.name]", 1),
		"distinct":  strings.Replace(goodRule, "window: 1m", "window: 1m\n    distinct: user.name", 1),
	} {
		require.NotEqual(t, base, hash(changed), name)
	}
}

func TestSubset(t *testing.T) {
	set, err := Load(BuiltinSource())
	require.NoError(t, err)
	sub := set.Subset("sudo-repeated-failures", "nope", "ssh-brute-force-fast", "sudo-repeated-failures")
	require.Len(t, sub.Rules, 2)
	require.Equal(t, "ssh-brute-force-fast", sub.Rules[0].Spec.ID)
	require.Equal(t, "sudo-repeated-failures", sub.Rules[1].Spec.ID)
	require.Nil(t, sub.Rule("ssh-password-spray"))
	require.Same(t, set.Rule("ssh-brute-force-fast"), sub.Rule("ssh-brute-force-fast"))
	require.Equal(t, set.Lists, sub.Lists)
}

func TestLoadDirsOnDisk(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(dir, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	write("ssh/bf.yml", strings.Replace(goodRule, `event.outcome == "failure"`, `event.outcome == "failure" && !in_list(source.ip, "trusted_sources")`, 1))
	write(".hidden/ignored.yaml", "not: [valid")
	write("notes.txt", "not a rule file")
	write("lists/trusted_sources.txt", "192.0.2.0/24  # scanners\n2001:db8::1\n")
	write("lists/bastions.yaml", "- 198.51.100.7\n- bastion.example.com\n")

	set, err := Load(BuiltinSource(), DirSource(dir))
	require.NoError(t, err)
	require.NotNil(t, set.Rule("ssh-bf"))
	require.NotNil(t, set.Rule("ssh-brute-force-fast"))
	require.Equal(t, filepath.ToSlash(dir)+"/ssh/bf.yml", set.Rule("ssh-bf").Spec.File)

	trusted := set.Lists["trusted_sources"]
	require.NotNil(t, trusted)
	require.Equal(t, []string{"builtin/lists/trusted_sources.txt", filepath.ToSlash(dir) + "/lists/trusted_sources.txt"}, trusted.Files)
	require.True(t, trusted.Contains("192.0.2.77"))
	require.True(t, trusted.Contains("2001:db8:0:0::1"))
	require.False(t, trusted.Contains("198.51.100.7"))
	require.True(t, set.Lists["bastions"].Contains("bastion.example.com"))

	_, err = LoadDirs(filepath.Join(dir, "missing"))
	require.ErrorContains(t, err, "missing: cannot open rules directory")
}

func TestBuiltinRules(t *testing.T) {
	set, err := Load(BuiltinSource())
	require.NoError(t, err)
	// The rules whose conditions need the expr VM (an ||, contains,
	// endsWith, int(), a field without a native getter). Every other
	// built-in condition is decided by the native checks, and every
	// condition, these included, is indexed by event.action, so the VM
	// only ever runs on the few events of its rule's own actions, never on
	// the sshd, sudo or firewall traffic lines that make up the volume.
	vm := map[string]bool{
		"defender-exclusion-added":              true,
		"firewall-threat-detected":              true, // threat.severity has no native getter
		"linux-uid0-account":                    true,
		"network-admin-account-created":         true,
		"tls-certificate-expired":               true,
		"tls-certificate-expiring":              true,
		"tls-vulnerable-endpoint":               true, // vulnerability.severity has no native getter
		"windows-lsass-access":                  true, // the access mask is a label
		"windows-privileged-group-member-added": true,
	}
	var ids []string
	for _, r := range set.Rules {
		ids = append(ids, r.Spec.ID)
		require.NotEmpty(t, r.Spec.Description, r.Spec.ID)
		require.NotEmpty(t, r.Spec.References, r.Spec.ID)
		require.NotEmpty(t, r.Spec.Tags, r.Spec.ID)
		require.True(t, slices.ContainsFunc(r.Spec.Tags, func(tag string) bool { return strings.HasPrefix(tag, "attack.t") }),
			"%s: a built-in rule names its ATT&CK technique", r.Spec.ID)
		native := true
		for _, c := range r.Conditions() {
			native = native && c.Native()
			require.Equal(t, "event.action", c.Index().Field, "%s: %s", r.Spec.ID, c.Source)
		}
		require.Equal(t, !vm[r.Spec.ID], native, "%s: built-in conditions stay on the native fast path unless listed", r.Spec.ID)
	}
	require.Equal(t, []string{ // sorted by id, as Load returns them
		"auditd-auth-failures", "defender-exclusion-added", "defender-protection-disabled",
		"firewall-host-sweep-internal", "firewall-login-brute-force",
		"firewall-login-brute-force-then-success", "firewall-port-scan-external",
		"firewall-port-scan-internal", "firewall-threat-detected", "linux-uid0-account",
		"linux-user-added-to-admin-group", "malware-action-failed", "malware-detected",
		"network-admin-account-created", "network-config-changed", "ssh-brute-force-fast",
		"ssh-brute-force-pam", "ssh-brute-force-slow", "ssh-brute-force-then-success", "ssh-password-spray",
		"sudo-repeated-failures", "tls-certificate-expired", "tls-certificate-expiring",
		"tls-vulnerable-endpoint", "windows-account-lockouts", "windows-log-cleared",
		"windows-logon-brute-force", "windows-lsass-access",
		"windows-password-spray", "windows-privileged-group-member-added",
	}, ids)
	for _, f := range set.Files {
		require.NotEmpty(t, f.Tests, f.Path)
	}
	require.Zero(t, set.Lists["trusted_sources"].Len(), "the built-in allow-list ships empty")
	require.Zero(t, set.Lists["lsass_readers"].Len(), "the built-in allow-list ships empty")
	internal := set.Lists["internal_networks"]
	for _, a := range []string{"10.20.30.44", "172.31.255.1", "192.168.1.1", "fd12:3456::1", "127.0.0.2", "::1"} {
		require.True(t, internal.Contains(a), a)
	}
	for _, a := range []string{"198.51.100.7", "172.32.0.1", "2001:db8::1"} {
		require.False(t, internal.Contains(a), a)
	}
	require.True(t, set.Lists["linux_admin_groups"].Contains("wheel"))
	require.False(t, set.Lists["linux_admin_groups"].Contains("docker"), "root-equivalent groups beyond sudo's are the site's choice")
}
