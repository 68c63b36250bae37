package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

const twoFieldRule = `id: sudo
    title: sudo failures
    severity: low
    kind: threshold
    condition: event.action == "sudo" && event.outcome == "failure"
    group_by: [user.name, host.name]
    threshold: 3
    window: 10m
`

func sudoFail(user, host string, off time.Duration) *schemas.Event {
	ev := login("", user, "failure", off, 1)
	ev.Event.Action = schemas.ActionSudo
	ev.Host.Name = host
	return ev
}

// TestSnapshotRoundTrip: windows opened before a snapshot continue in an
// engine restored from it, whatever its shard count.
func TestSnapshotRoundTrip(t *testing.T) {
	files := map[string]string{"r.yaml": "rules:\n  - " + bruteForce + "  - " + twoFieldRule}
	for _, shards := range [][2]int{{1, 1}, {1, 4}, {4, 1}, {3, 2}} {
		before := newTestEngine(t, loadRules(t, files), func(o *Options) { o.Shards = shards[0] })
		first := burst("192.0.2.1", 6, 0, time.Second)
		before.feed(t, first...)
		before.feed(t, burst("192.0.2.2", 3, 0, time.Second)...)
		before.feed(t, sudoFail("alice", "web01", 0), sudoFail("alice", "web01", time.Second))
		require.Empty(t, before.out.all())

		var buf bytes.Buffer
		require.NoError(t, before.Snapshot(&buf))

		after := newTestEngine(t, loadRules(t, files), func(o *Options) { o.Shards = shards[1] })
		require.NoError(t, after.Restore(bytes.NewReader(buf.Bytes())))
		require.Equal(t, float64(2), metricValue(t, after.reg, "tocsin_engine_groups", map[string]string{"rule": "bf"}))
		require.Equal(t, float64(1), metricValue(t, after.reg, "tocsin_engine_groups", map[string]string{"rule": "sudo"}))

		after.feed(t, burst("192.0.2.1", 4, 10*time.Second, time.Second)...)
		after.feed(t, sudoFail("alice", "web01", 5*time.Second))
		alerts := after.out.all()
		require.Len(t, alerts, 2, "shards %v", shards)
		require.Equal(t, "bf", alerts[0].RuleID)
		require.Equal(t, 10, alerts[0].Count, "six failures from before the snapshot plus four after")
		require.Equal(t, first[0].ID, alerts[0].Events[0].ID)
		require.Equal(t, first[0].Event.Action, alerts[0].Events[0].Event.Action)
		require.Equal(t, t0, alerts[0].FirstSeen)
		require.Equal(t, "sudo", alerts[1].RuleID)
		require.Equal(t, "alice|web01", alerts[1].GroupKey)
		require.Equal(t, 3, alerts[1].Count)
	}
}

func TestSnapshotFormat(t *testing.T) {
	te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), nil)
	te.feed(t, burst("192.0.2.1", 2, 0, time.Second)...)
	var buf bytes.Buffer
	require.NoError(t, te.Snapshot(&buf))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	require.Equal(t, "tocsin-engine-snapshot", doc["format"])
	require.Equal(t, float64(1), doc["version"])
	rules := doc["rules"].([]any)
	require.Len(t, rules, 1)
	r := rules[0].(map[string]any)
	require.Equal(t, "bf", r["id"])
	require.Equal(t, te.opts.Rules.Rule("bf").Hash, r["hash"])
	require.Len(t, r["groups"], 1)

	for name, bad := range map[string]string{
		"not json":      "nope",
		"other format":  `{"format":"x","version":1}`,
		"newer version": `{"format":"tocsin-engine-snapshot","version":2}`,
		"bad state":     `{"format":"tocsin-engine-snapshot","version":1,"rules":[{"id":"bf","hash":"` + r["hash"].(string) + `","groups":[{"key":"k","state":{"v":7}}]}]}`,
	} {
		require.Error(t, te.Restore(strings.NewReader(bad)), name)
	}
}

func TestRestoreSkipsChangedRules(t *testing.T) {
	te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), nil)
	te.feed(t, burst("192.0.2.1", 9, 0, time.Second)...)
	var buf bytes.Buffer
	require.NoError(t, te.Snapshot(&buf))

	changed := strings.Replace(bruteForce, "window: 1m", "window: 2m", 1)
	after := newTestEngine(t, loadRules(t, oneRule(changed)), nil)
	require.NoError(t, after.Restore(&buf))
	require.Equal(t, float64(0), metricValue(t, after.reg, "tocsin_engine_groups", map[string]string{"rule": "bf"}))
	after.feed(t, failure("192.0.2.1", 10*time.Second))
	require.Empty(t, after.out.all(), "the old window was not carried into a changed rule")
}

func TestSaveAndLoadSnapshotFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "engine.snapshot")
	te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), nil)
	require.NoError(t, te.LoadSnapshot(path), "a missing file is an empty snapshot")
	te.feed(t, burst("192.0.2.1", 9, 0, time.Second)...)
	require.NoError(t, te.SaveSnapshot(path))
	require.NoError(t, te.SaveSnapshot(path), "overwrites in place")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary files left behind")

	after := newTestEngine(t, loadRules(t, oneRule(bruteForce)), nil)
	require.NoError(t, after.LoadSnapshot(path))
	after.feed(t, failure("192.0.2.1", 9*time.Second))
	require.Len(t, after.out.all(), 1)

	require.ErrorContains(t, te.SaveSnapshot(filepath.Join(dir, "missing", "x")), "cannot create snapshot file")
}

func TestReloadKeepsUnchangedWindows(t *testing.T) {
	spray := `id: spray
    title: spray
    severity: high
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [source.ip]
    distinct: user.name
    threshold: 3
    window: 10m
`
	set1 := loadRules(t, map[string]string{"r.yaml": "rules:\n  - " + bruteForce + "  - " + spray})
	for _, shards := range []int{1, 3} {
		te := newTestEngine(t, set1, func(o *Options) { o.Shards = shards })
		te.feed(t, burst("192.0.2.1", 6, 0, time.Second)...)
		te.feed(t, login("192.0.2.2", "a", "failure", 0, 1), login("192.0.2.2", "b", "failure", 0, 1))
		require.Equal(t, float64(2), metricValue(t, te.reg, "tocsin_engine_groups", map[string]string{"rule": "bf"}))

		// New set: bf unchanged apart from its title (windows kept), spray
		// changed (windows dropped), and a new match rule.
		bf2 := strings.Replace(bruteForce, "title: brute force", "title: renamed", 1)
		spray2 := strings.Replace(spray, "window: 10m", "window: 20m", 1)
		set2 := loadRules(t, map[string]string{"r.yaml": "rules:\n  - " + bf2 + "  - " + spray2})
		require.NoError(t, te.Reload(set2))
		require.Equal(t, float64(2), metricValue(t, te.reg, "tocsin_engine_groups", map[string]string{"rule": "bf"}))
		require.Equal(t, float64(0), metricValue(t, te.reg, "tocsin_engine_groups", map[string]string{"rule": "spray"}))

		te.feed(t, burst("192.0.2.1", 4, 10*time.Second, time.Second)...)
		te.feed(t, login("192.0.2.2", "c", "failure", time.Minute, 1))
		alerts := te.out.all()
		require.Len(t, alerts, 1, "spray lost its two users; bf kept its six failures")
		require.Equal(t, "renamed", alerts[0].RuleTitle)
		require.Equal(t, 10, alerts[0].Count)

		// Removing a rule drops its state and its series.
		set3 := loadRules(t, map[string]string{"r.yaml": "rules:\n  - " + spray2})
		require.NoError(t, te.Reload(set3))
		require.Equal(t, float64(-1), metricValue(t, te.reg, "tocsin_engine_groups", map[string]string{"rule": "bf"}))
		require.Equal(t, float64(-1), metricValue(t, te.reg, "tocsin_engine_alerts_total", map[string]string{"rule": "bf"}))
		require.NoError(t, te.Reload(set2))
		te.out.reset()
		te.feed(t, burst("192.0.2.1", 9, 20*time.Second, time.Second)...)
		require.Empty(t, te.out.all(), "bf came back empty")
		require.NoError(t, te.Close(context.Background()))
	}
}
