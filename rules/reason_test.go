package rules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

func TestParseReason(t *testing.T) {
	tm, problems := parseReason("{count} hits {{literal}} from { source.ip }.")
	require.Empty(t, problems)
	require.Equal(t, []reasonPart{
		{name: "count"}, {lit: " hits {literal} from "}, {name: "source.ip"}, {lit: "."},
	}, tm.parts)
	for src, want := range map[string][]string{
		"{count":    {"unclosed placeholder at column 1 (write {{ for a literal brace)"},
		"a {} b":    {"empty placeholder at column 3"},
		"x } y":     {"unmatched } at column 3 (write }} for a literal brace)"},
		"ok {a}{  ": {"unclosed placeholder at column 7 (write {{ for a literal brace)"},
		// Every syntax problem at once, not just the first.
		"} {} {ok} } {x": {
			"unmatched } at column 1 (write }} for a literal brace)",
			"empty placeholder at column 3",
			"unmatched } at column 11 (write }} for a literal brace)",
			"unclosed placeholder at column 13 (write {{ for a literal brace)",
		},
	} {
		_, problems := parseReason(src)
		require.Equal(t, want, problems, src)
	}
}

func TestReasonRendering(t *testing.T) {
	set, err := loadMap(map[string]string{"r.yaml": `rules:
  - id: spray
    title: Spray
    severity: high
    kind: threshold
    condition: event.action == "ssh_login"
    group_by: [source.ip, host.name]
    distinct: user.name
    threshold: 3
    window: 10m
    followed_by: {condition: event.outcome == "success", within: 5m}
    reason: "{distinct_count}/{threshold} {distinct} on {host.name} from {source.ip} in {window}, then {user.name} within {within}; {group}; {count} {events} {first_seen} {last_seen} {id} {severity} {title} {process.pid} {timestamp}"
  - id: plain
    title: Plain
    severity: low
    kind: threshold
    condition: event.action == "ssh_login"
    group_by: [host.name]
    threshold: 3
    window: 10m
  - id: single
    title: Single
    severity: low
    kind: match
    condition: event.action == "sudo"
    group_by: [user.name]
`})
	require.NoError(t, err)
	t0 := time.Date(2024, 12, 10, 6, 0, 0, 0, time.UTC)
	last := &schemas.Event{Timestamp: t0.Add(time.Minute)}
	last.User.Name = "admin"
	last.Process.PID = 4242
	last.Message = "Accepted password"
	f := &Firing{FirstSeen: t0, LastSeen: t0.Add(time.Minute), Count: 7, Distinct: 3, Events: []*schemas.Event{{}, last}}

	got := set.Rule("spray").Reason(f, []string{"192.0.2.1", "bastion"})
	require.Equal(t, "3/3 user.name on bastion from 192.0.2.1 in 10m0s, then admin within 5m0s; "+
		"source.ip=192.0.2.1, host.name=bastion; 7 2 2024-12-10T06:00:00Z 2024-12-10T06:01:00Z spray high Spray 4242 2024-12-10T06:01:00Z", got)

	require.Equal(t, "7 events of Plain for host.name=bastion within 10m0s (threshold 3)", set.Rule("plain").Reason(f, []string{"bastion"}))
	require.Equal(t, "Single: Accepted password", set.Rule("single").Reason(f, []string{"admin"}))
}
