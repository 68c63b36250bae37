package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
)

func TestThresholdAlert(t *testing.T) {
	te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), nil)
	evs := burst("203.0.113.7", 12, 0, 3*time.Second)
	te.feed(t, evs...)
	alerts := te.out.all()
	require.Len(t, alerts, 1, "one alert per burst, not one per event past the threshold")
	a := alerts[0]
	require.Equal(t, "bf", a.RuleID)
	require.Equal(t, "brute force", a.RuleTitle)
	require.Equal(t, "threshold", a.RuleKind)
	require.Equal(t, schemas.SeverityHigh, a.Severity)
	require.Equal(t, "203.0.113.7", a.GroupKey)
	require.Equal(t, []schemas.Entity{{Type: "ip", Field: "source.ip", Value: "203.0.113.7"}}, a.Entities)
	require.Equal(t, "10 failed logins from 203.0.113.7 within 1m0s (threshold 10)", a.Reason)
	require.Equal(t, 10, a.Count)
	require.Equal(t, 10, a.EventsTotal)
	require.Len(t, a.Events, 10)
	require.Equal(t, evs[0].ID, a.Events[0].ID)
	require.Equal(t, evs[9].ID, a.Events[9].ID)
	require.Equal(t, t0, a.FirstSeen)
	require.Equal(t, t0.Add(27*time.Second), a.LastSeen)
	require.Equal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), a.CreatedAt)
	require.Len(t, a.ID, 32)
}

func TestWindowsThroughTheEngine(t *testing.T) {
	s := time.Second
	tests := []struct {
		name   string
		events []*schemas.Event
		// want lists "ip:count" per alert, in time order.
		want []string
	}{
		{"fast burst", burst("192.0.2.1", 10, 0, s), []string{"192.0.2.1:10"}},
		{"nine are not ten", burst("192.0.2.1", 9, 0, s), nil},
		{"slow spread never fills a one-minute window",
			burst("192.0.2.1", 30, 0, 7*s), nil},
		{"re-arm after an empty window gives a second alert", concat(
			burst("192.0.2.1", 10, 0, s),
			burst("192.0.2.1", 5, 30*s, 10*s), // keeps the group busy
			burst("192.0.2.1", 10, 10*time.Minute, s),
		), []string{"192.0.2.1:10", "192.0.2.1:10"}},
		{"weighted counts", []*schemas.Event{
			login("192.0.2.1", "root", "failure", 0, 6),
			login("192.0.2.1", "root", "failure", s, 0),
			login("192.0.2.1", "root", "failure", 2*s, 4),
		}, []string{"192.0.2.1:10"}},
		{"groups are separate", interleave(
			burst("192.0.2.1", 10, 0, s), burst("192.0.2.2", 9, 0, s), burst("192.0.2.3", 10, 0, s),
		), []string{"192.0.2.1:10", "192.0.2.3:10"}},
		{"successes do not count", concat(
			burst("192.0.2.1", 9, 0, s),
			[]*schemas.Event{login("192.0.2.1", "root", "success", 10*s, 1)},
		), nil},
		{"events without the group field take no part", burst("", 20, 0, s), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, shards := range []int{1, 3} {
				te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), func(o *Options) { o.Shards = shards })
				te.feed(t, tc.events...)
				var got []string
				for _, a := range te.out.all() {
					got = append(got, fmt.Sprintf("%s:%d", a.GroupKey, a.Count))
				}
				require.Equal(t, tc.want, got, "shards=%d", shards)
			}
		})
	}
}

func concat(parts ...[]*schemas.Event) []*schemas.Event {
	var out []*schemas.Event
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// interleave merges bursts by timestamp, as a live stream would.
func interleave(parts ...[]*schemas.Event) []*schemas.Event {
	var out []*schemas.Event
	for i := 0; ; i++ {
		added := false
		for _, p := range parts {
			if i < len(p) {
				out = append(out, p[i])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

func TestDistinctAndFollowedBy(t *testing.T) {
	set := loadRules(t, map[string]string{"r.yaml": `rules:
  - id: spray
    title: spray
    severity: high
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [source.ip]
    distinct: user.name
    threshold: 4
    window: 10m
    reason: "{distinct_count} users from {source.ip}"
  - id: bf-success
    title: brute force then success
    severity: critical
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [source.ip]
    threshold: 3
    window: 10m
    followed_by:
      condition: event.action == "ssh_login" && event.outcome == "success"
      within: 5m
    reason: "{count} failures from {source.ip}, then {user.name} logged in"
`})
	te := newTestEngine(t, set, nil)
	m := time.Minute
	te.feed(t,
		login("192.0.2.1", "root", "failure", 0, 1),
		login("192.0.2.1", "root", "failure", m, 1),
		login("192.0.2.1", "admin", "failure", 2*m, 1),
		login("192.0.2.2", "root", "success", 3*m, 1), // another source
		login("192.0.2.1", "oracle", "failure", 4*m, 1),
		login("192.0.2.1", "alice", "success", 6*m, 1), // 2m after the last failure
		login("192.0.2.1", "test", "failure", 7*m, 1),  // fourth user: spray
		login("192.0.2.1", "alice", "success", 8*m, 1), // bf-success already fired
	)
	alerts := te.out.all()
	require.Len(t, alerts, 2)
	bf, spray := alerts[0], alerts[1]
	require.Equal(t, "bf-success", bf.RuleID)
	// Once armed, the window keeps the newest `threshold` failures.
	require.Equal(t, "3 failures from 192.0.2.1, then alice logged in", bf.Reason)
	require.Equal(t, 3, bf.Count)
	require.Equal(t, 4, bf.EventsTotal)
	require.Equal(t, "success", bf.Events[3].Event.Outcome)
	require.Equal(t, t0.Add(m), bf.FirstSeen)
	require.Equal(t, t0.Add(6*m), bf.LastSeen)

	require.Equal(t, "spray", spray.RuleID)
	require.Equal(t, "4 users from 192.0.2.1", spray.Reason)
	require.Equal(t, 5, spray.Count, "root was tried twice")
	require.Equal(t, 4, spray.EventsTotal)
}

func TestMatchRuleAndMultiFieldGroups(t *testing.T) {
	set := loadRules(t, map[string]string{"r.yaml": `rules:
  - id: root-login
    title: root logged in
    severity: medium
    kind: match
    condition: event.action == "ssh_login" && event.outcome == "success" && user.name == "root"
    group_by: [source.ip, user.name]
  - id: sudo-fail
    title: sudo failures
    severity: low
    kind: threshold
    condition: event.action == "sudo" && event.outcome == "failure"
    group_by: [user.name, host.name]
    threshold: 2
    window: 5m
`})
	te := newTestEngine(t, set, func(o *Options) { o.Shards = 2 })
	sudo := func(user, host string, off time.Duration) *schemas.Event {
		ev := login("", user, "failure", off, 1)
		ev.Event.Action = schemas.ActionSudo
		ev.Host.Name = host
		return ev
	}
	root := login("192.0.2.5", "root", "success", 0, 1)
	root.Message = "Accepted password for root"
	te.feed(t,
		root,
		login("192.0.2.5", "alice", "success", time.Second, 1),
		sudo("alice", "web01", 0), sudo("alice", "web02", time.Second), sudo("bob", "web01", 2*time.Second),
		sudo("alice", "web01", time.Minute),
		sudo("alice", "", 2*time.Minute), // no host: not grouped
	)
	alerts := te.out.all()
	require.Len(t, alerts, 2)
	require.Equal(t, "root-login", alerts[0].RuleID)
	require.Equal(t, "192.0.2.5|root", alerts[0].GroupKey)
	require.Equal(t, "root logged in: Accepted password for root", alerts[0].Reason)
	require.Equal(t, []schemas.Entity{
		{Type: "ip", Field: "source.ip", Value: "192.0.2.5"},
		{Type: "user", Field: "user.name", Value: "root"},
	}, alerts[0].Entities)
	require.Equal(t, 1, alerts[0].Count)
	require.Equal(t, "sudo-fail", alerts[1].RuleID)
	require.Equal(t, "alice|web01", alerts[1].GroupKey)
	require.Equal(t, []schemas.Entity{
		{Type: "user", Field: "user.name", Value: "alice"},
		{Type: "host", Field: "host.name", Value: "web01"},
	}, alerts[1].Entities)
}

func TestAlertIDsAreDeterministic(t *testing.T) {
	run := func(shards int) []string {
		nextID.Store(0)
		te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), func(o *Options) { o.Shards = shards })
		te.feed(t, interleave(burst("192.0.2.1", 10, 0, time.Second), burst("192.0.2.2", 10, 0, time.Second))...)
		var ids []string
		for _, a := range te.out.all() {
			ids = append(ids, a.ID)
		}
		return ids
	}
	first := run(1)
	require.Len(t, first, 2)
	require.NotEqual(t, first[0], first[1])
	require.Equal(t, first, run(1))
	require.Equal(t, first, run(4))
}

func TestEvidenceLimit(t *testing.T) {
	rule := strings.Replace(bruteForce, "threshold: 10", "threshold: 50", 1)
	te := newTestEngine(t, loadRules(t, oneRule(rule)), func(o *Options) { o.EvidenceLimit = 3 })
	evs := burst("192.0.2.1", 50, 0, time.Second)
	te.feed(t, evs...)
	a := te.out.all()
	require.Len(t, a, 1)
	require.Equal(t, 50, a[0].Count)
	require.Equal(t, 50, a[0].EventsTotal)
	require.Len(t, a[0].Events, 3)
	require.Equal(t, []uint64{evs[0].ID, evs[1].ID, evs[49].ID},
		[]uint64{a[0].Events[0].ID, a[0].Events[1].ID, a[0].Events[2].ID}, "oldest first, newest last")
}

// TestShardRouting checks that sharding changes nothing: many sources
// interleaved across several Handle calls, from several goroutines,
// give the same alerts with 1 and 4 shards, and each source's events stay
// in order.
func TestShardRouting(t *testing.T) {
	var parts [][]*schemas.Event
	want := map[string]bool{}
	for i := range 40 {
		n := 8 + i%5 // 8..12 failures
		parts = append(parts, burst(ipN(i), n, time.Duration(i)*time.Millisecond, 2*time.Second))
		if n >= 10 {
			want[ipN(i)] = true
		}
	}
	stream := interleave(parts...)
	for _, shards := range []int{1, 4} {
		te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), func(o *Options) { o.Shards = shards; o.QueueLen = 2 })
		for i := 0; i < len(stream); i += 7 {
			require.NoError(t, te.Handle(context.Background(), stream[i:min(i+7, len(stream))]))
		}
		require.NoError(t, te.Flush(context.Background()))
		got := map[string]bool{}
		for _, a := range te.out.all() {
			require.False(t, got[a.GroupKey], "one alert per source")
			got[a.GroupKey] = true
			require.Equal(t, 10, a.Count)
			for i := 1; i < len(a.Events); i++ {
				require.Less(t, a.Events[i-1].ID, a.Events[i].ID, "per-group order is kept")
			}
		}
		require.Equal(t, want, got, "shards=%d", shards)
		require.Equal(t, float64(len(stream)), metricValue(t, te.reg, "tocsin_engine_events_total", nil))
		require.Equal(t, float64(len(want)), metricValue(t, te.reg, "tocsin_engine_alerts_total", map[string]string{"rule": "bf"}))
	}
}

func TestConcurrentHandle(t *testing.T) {
	te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), func(o *Options) { o.Shards = 4 })
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for i := range 20 {
				// Each goroutine owns its sources, so per-group order holds.
				ev := failure(ipN(g*10+i%10), time.Duration(i)*time.Second)
				if err = te.Handle(context.Background(), []*schemas.Event{ev}); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-done)
	}
	require.NoError(t, te.Flush(context.Background()))
	require.Len(t, te.out.all(), 0, "two failures per source only")
	require.Equal(t, float64(160), metricValue(t, te.reg, "tocsin_engine_events_total", nil))
	require.Equal(t, float64(80), metricValue(t, te.reg, "tocsin_engine_groups", map[string]string{"rule": "bf"}))
}

func TestGroupCapEvictsLeastRecentlyActive(t *testing.T) {
	te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), func(o *Options) { o.MaxGroupsPerRule = 4 })
	// Five failures from each of six sources; the first source stays active.
	var evs []*schemas.Event
	for i := range 6 {
		evs = append(evs, burst(ipN(i), 5, time.Duration(i)*time.Second, 0)...)
		evs = append(evs, failure(ipN(0), time.Duration(i)*time.Second))
	}
	te.feed(t, evs...)
	require.Equal(t, float64(4), metricValue(t, te.reg, "tocsin_engine_groups", map[string]string{"rule": "bf"}))
	require.Equal(t, float64(2), metricValue(t, te.reg, "tocsin_engine_groups_dropped_total", nil))
	// Source 0 kept its window (5 + 6 = 11 >= 10): it fired.
	alerts := te.out.all()
	require.Len(t, alerts, 1)
	require.Equal(t, ipN(0), alerts[0].GroupKey)
}

func TestIdleGroupsExpire(t *testing.T) {
	te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), func(o *Options) { o.Lateness = time.Second })
	groups := func() float64 {
		return metricValue(t, te.reg, "tocsin_engine_groups", map[string]string{"rule": "bf"})
	}
	te.feed(t, failure("192.0.2.1", 0), failure("192.0.2.2", 10*time.Second))
	require.Equal(t, float64(2), groups())
	// 192.0.2.1 is idle for window + lateness = 61s once the watermark
	// passes 61s; 192.0.2.2 only at 71s.
	te.feed(t, failure("192.0.2.3", 62*time.Second))
	require.Equal(t, float64(2), groups())
	te.feed(t, failure("192.0.2.3", 72*time.Second))
	require.Equal(t, float64(1), groups())

	// An event claiming to be a day ahead of its receive time does not
	// move the watermark, so it cannot expire everyone else.
	future := failure("192.0.2.9", 24*time.Hour)
	future.Event.Created = t0.Add(72 * time.Second)
	te.feed(t, future, failure("192.0.2.4", 73*time.Second))
	require.Equal(t, float64(3), groups())
}

func TestLaggingClockKeepsItsGroups(t *testing.T) {
	te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), nil)
	// A host two hours behind the rest: its failures interleave with
	// current traffic, and its burst must still be seen.
	var evs []*schemas.Event
	for i := range 10 {
		evs = append(evs, failure(ipN(i), 2*time.Hour+time.Duration(i)*time.Second))
		evs = append(evs, failure("192.0.2.50", time.Duration(i)*time.Second))
	}
	te.feed(t, evs...)
	alerts := te.out.all()
	require.Len(t, alerts, 1)
	require.Equal(t, "192.0.2.50", alerts[0].GroupKey)
}

func TestRuleErrorsAreCounted(t *testing.T) {
	set := loadRules(t, oneRule(`id: modulo
    title: modulo
    severity: low
    kind: match
    condition: event.action == "ssh_login" && 10 % event.count == 0
    group_by: [source.ip]
`))
	te := newTestEngine(t, set, nil)
	te.feed(t, login("192.0.2.1", "root", "failure", 0, 0), login("192.0.2.1", "root", "failure", 0, 5))
	require.Equal(t, float64(1), metricValue(t, te.reg, "tocsin_engine_rule_errors_total", map[string]string{"rule": "modulo"}))
	require.Len(t, te.out.all(), 1)
}

func TestOptionsAndClose(t *testing.T) {
	_, err := New(Options{Alerts: &collector{}})
	require.ErrorContains(t, err, "Options.Rules is nil")
	_, err = New(Options{Rules: loadRules(t, oneRule(bruteForce))})
	require.ErrorContains(t, err, "Options.Alerts is nil")

	te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), func(o *Options) { o.Shards = 2 })
	_, err = New(Options{Rules: te.opts.Rules, Alerts: te.out, Registerer: te.reg})
	require.ErrorContains(t, err, "cannot register engine metrics")

	require.NoError(t, te.Close(context.Background()))
	require.NoError(t, te.Close(context.Background()))
	require.ErrorIs(t, te.Handle(context.Background(), burst("192.0.2.1", 1, 0, 0)), ErrClosed)
	require.ErrorIs(t, te.Flush(context.Background()), ErrClosed)
	require.ErrorIs(t, te.Reload(te.opts.Rules), ErrClosed)
}

func TestHandleDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	set := loadRules(t, map[string]string{"r.yaml": `rules:
  - id: bf
    title: bf
    severity: high
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [source.ip]
    threshold: 5
    window: 1m
  - id: sudo
    title: sudo
    severity: low
    kind: threshold
    condition: event.action == "sudo" && event.outcome == "failure"
    group_by: [user.name, host.name]
    threshold: 5
    window: 1m
`})
	for _, shards := range []int{1, 2} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) { handleAllocs(t, set, shards) })
	}
}

func handleAllocs(t *testing.T, set *rules.Set, shards int) {
	te := newTestEngine(t, set, func(o *Options) { o.Shards = shards })
	other := login("192.0.2.1", "root", "failure", 0, 1)
	other.Event.Action = schemas.ActionSSHDisconnect
	matching := burst("192.0.2.1", 64, 0, time.Second)
	sudo := make([]*schemas.Event, 64)
	for i := range sudo {
		sudo[i] = login("", "alice", "failure", time.Duration(i)*time.Second, 1)
		sudo[i].Event.Action = schemas.ActionSudo
	}
	ctx := context.Background()
	require.NoError(t, te.Handle(ctx, matching[:8])) // warm up: group exists
	require.NoError(t, te.Handle(ctx, sudo[:8]))
	batch := make([]*schemas.Event, 1)
	batch[0] = other
	require.Zero(t, testing.AllocsPerRun(200, func() { _ = te.Handle(ctx, batch) }), "non-matching events")
	i := 8
	allocs := testing.AllocsPerRun(50, func() {
		batch[0] = matching[i%64]
		_ = te.Handle(ctx, batch)
		batch[0] = sudo[i%64]
		_ = te.Handle(ctx, batch)
		_ = te.Flush(ctx)
		i++
	})
	// Flush's control messages allocate when the work goes to shard
	// goroutines; each matching event costs exactly one more allocation,
	// the engine's own copy of it, and nothing else.
	flushOnly := testing.AllocsPerRun(50, func() { _ = te.Flush(ctx) })
	require.Equal(t, flushOnly+2, allocs, "matching events into open groups, one- and two-field keys")
	if shards == 1 {
		require.Zero(t, flushOnly)
	}
}
