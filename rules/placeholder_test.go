package rules

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLoadReportsEveryReasonProblemAtOnce is the new-user report: one
// run of the loader names every problem in the file, reason placeholders
// included, whatever else is wrong with the rule.
func TestLoadReportsEveryReasonProblemAtOnce(t *testing.T) {
	got := loadErrors(t, map[string]string{"r.yaml": `rules:
  - id: bad-tag-and-reason
    title: a bad tag does not hide a bad reason
    severity: low
    tags: [attack.t11]
    kind: match
    condition: event.action == "sudo"
    group_by: [user.name]
    reason: "{nosuch.field} and {user.nmae} {threshold} {user.nmae}"
  - id: no-group
    title: match rule without group_by
    severity: low
    kind: match
    condition: event.action == "sudo"
  - id: empty-group
    title: empty group_by
    severity: low
    kind: match
    condition: event.action == "sudo"
    group_by: []
  - id: threshold-reason
    title: threshold placeholders
    severity: low
    kind: threshold
    condition: event.action == "ssh_login"
    group_by: [source.ip]
    threshold: 5
    window: 1m
    reason: "{windw} {within} {distinct} {event} {Source.IP} } {"
  - id: broken-keys
    title: kind keys with problems still get their reason checked
    severity: low
    kind: threshold
    condition: event.action == "ssh_login"
    group_by: [source.ip]
    window: 1m
    reason: "{within} {distinct} {threshold} {usr.name}"
  - id: unknown-kind
    title: reason checked without knowing the kind
    severity: low
    kind: sequence
    condition: event.action == "ssh_login"
    group_by: [source.ip]
    reason: "{threshold} {hostname}"
`})
	offerMatch := "a match rule offers an event field such as {source.ip} or one of: " +
		"{count}, {distinct_count}, {events}, {first_seen}, {last_seen}, {title}, {id}, {severity}, {group}"
	require.Equal(t, []string{
		`rules/r.yaml:5: rule "bad-tag-and-reason": tags: "attack.t11" is not an ATT&CK technique (attack.t1110.001), tactic (attack.credential_access), group or software id`,
		`rules/r.yaml:9: rule "bad-tag-and-reason": reason: unknown placeholder {nosuch.field}; ` + offerMatch,
		`rules/r.yaml:9: rule "bad-tag-and-reason": reason: unknown placeholder {user.nmae}; did you mean {user.name}?`,
		`rules/r.yaml:9: rule "bad-tag-and-reason": reason: placeholder {threshold} belongs to threshold rules; ` + offerMatch,
		`rules/r.yaml:10: rule "no-group": group_by: required (alerts of a rule are grouped into incidents by these fields)`,
		`rules/r.yaml:20: rule "empty-group": group_by: want at least one field (alerts of a rule are grouped into incidents by these fields)`,
		`rules/r.yaml:29: rule "threshold-reason": reason: unmatched } at column 49 (write }} for a literal brace)`,
		`rules/r.yaml:29: rule "threshold-reason": reason: unclosed placeholder at column 51 (write {{ for a literal brace)`,
		`rules/r.yaml:29: rule "threshold-reason": reason: unknown placeholder {windw}; did you mean {window}?`,
		`rules/r.yaml:29: rule "threshold-reason": reason: placeholder {within} is only set when the rule has followed_by`,
		`rules/r.yaml:29: rule "threshold-reason": reason: placeholder {distinct} is only set when the rule has distinct`,
		`rules/r.yaml:29: rule "threshold-reason": reason: placeholder {event} is a group of fields, not a value; name one of them: ` +
			`{event.action}, {event.category}, {event.code}, {event.count}, {event.created}, {event.dataset}, {event.kind}, {event.original}, {event.outcome}, {event.reason}, {event.severity}, {event.type}`,
		`rules/r.yaml:29: rule "threshold-reason": reason: unknown placeholder {Source.IP}; did you mean {source.ip}?`,
		`rules/r.yaml:30: rule "broken-keys": threshold: missing (required)`,
		`rules/r.yaml:37: rule "broken-keys": reason: unknown placeholder {usr.name}; did you mean {user.name}?`,
		`rules/r.yaml:41: rule "unknown-kind": kind: unknown kind "sequence" (want one of: match, threshold)`,
		`rules/r.yaml:44: rule "unknown-kind": reason: unknown placeholder {hostname}; did you mean {host.name}?`,
	}, got)
}

func TestReasonPlaceholderMessages(t *testing.T) {
	rule := func(kind, extra, reason string) map[string]string {
		return map[string]string{"r.yaml": `rules:
  - id: r1
    title: t
    severity: low
    kind: ` + kind + `
    condition: event.action == "ssh_login"
    group_by: [source.ip]
` + extra + `    reason: "` + reason + `"
`}
	}
	const thr = "    threshold: 3\n    window: 1m\n"
	for _, tc := range []struct {
		name, kind, extra, reason, want string
	}{
		{"unknown in a threshold rule lists its parameters", "threshold", thr, "{bogus}",
			`rules/r.yaml:10: rule "r1": reason: unknown placeholder {bogus}; a threshold rule offers an event field such as {source.ip} or one of: ` +
				`{count}, {distinct_count}, {events}, {first_seen}, {last_seen}, {title}, {id}, {severity}, {group}, {threshold}, {window}`},
		{"window in a match rule", "match", "", "{window}",
			`rules/r.yaml:8: rule "r1": reason: placeholder {window} belongs to threshold rules; a match rule offers an event field such as {source.ip} or one of: ` +
				`{count}, {distinct_count}, {events}, {first_seen}, {last_seen}, {title}, {id}, {severity}, {group}`},
		{"user is a group of fields", "match", "", "{user}",
			`rules/r.yaml:8: rule "r1": reason: placeholder {user} is a group of fields, not a value; name one of them: {user.domain}, {user.id}, {user.name}, {user.target.domain}, {user.target.id}, {user.target.name}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, []string{tc.want}, loadErrors(t, rule(tc.kind, tc.extra, tc.reason)))
		})
	}

	// What a rule has, it may name.
	set, err := loadMap(rule("threshold", thr+"    distinct: user.name\n    followed_by: {condition: event.outcome == \"success\", within: 5m}\n",
		"{threshold} {window} {distinct} {within} {user.target.name} {count}"))
	require.NoError(t, err)
	require.Equal(t, "3 1m0s user.name 5m0s  0", set.Rule("r1").Reason(&Firing{}, []string{"192.0.2.1"}))
}

// TestKindPlaceholdersCoverVars keeps each built-in kind's Placeholders in
// step with what its detectors offer.
func TestKindPlaceholdersCoverVars(t *testing.T) {
	set, err := loadMap(map[string]string{"r.yaml": `rules:
  - id: full
    title: t
    severity: low
    kind: threshold
    condition: event.action == "ssh_login"
    group_by: [source.ip]
    threshold: 3
    window: 1m
    distinct: user.name
    followed_by: {condition: event.outcome == "success", within: 5m}
  - id: m
    title: t
    severity: low
    kind: match
    condition: event.action == "ssh_login"
    group_by: [source.ip]
`})
	require.NoError(t, err)
	for id, k := range map[string]PlaceholderKind{"full": thresholdKind{}, "m": matchKind{}} {
		vars := set.Rule(id).Detector.Vars()
		require.Equal(t, slices.Sorted(maps.Keys(k.Placeholders())), slices.Sorted(maps.Keys(vars)), id)
	}
}
