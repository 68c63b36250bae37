package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
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

// TestSnapshotFormat pins the version 2 layout (see snapshot.go).
func TestSnapshotFormat(t *testing.T) {
	te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), nil)
	te.feed(t, burst("192.0.2.1", 2, 0, time.Second)...)
	var buf bytes.Buffer
	require.NoError(t, te.Snapshot(&buf))

	g := te.shards[0].states[0].groups["192.0.2.1"]
	state, err := g.st.AppendState(nil)
	require.NoError(t, err)
	hash := te.opts.Rules.Rule("bf").Hash
	want := []byte("TKSN\x02")
	want = binary.AppendVarint(want, te.opts.Now().UnixNano())
	want = binary.AppendVarint(want, t0.Add(time.Second).UnixNano()) // watermark
	want = append(want, 1, 2, 'b', 'f', byte(len(hash)))             // one rule: ID, hash
	want = append(want, hash...)
	want = append(want, 1, 9) // one group, its key
	want = append(want, "192.0.2.1"...)
	want = binary.AppendVarint(want, g.seen)
	want = binary.AppendUvarint(want, uint64(len(state)))
	want = append(want, state...)
	require.Equal(t, want, buf.Bytes())
}

// snapGroup and snapRule describe a version 2 snapshot built by hand.
type snapGroup struct {
	key   string
	seen  int64
	state []byte
}

type snapRule struct {
	id, hash string
	n        int // groups claimed; len(groups) when 0
	groups   []snapGroup
}

func buildV2(version byte, rules ...snapRule) []byte {
	b := append([]byte("TKSN"), version, 0, 0)
	b = binary.AppendUvarint(b, uint64(len(rules)))
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	for _, r := range rules {
		str(r.id)
		str(r.hash)
		n := r.n
		if n == 0 {
			n = len(r.groups)
		}
		b = binary.AppendUvarint(b, uint64(n))
		for _, g := range r.groups {
			str(g.key)
			b = binary.AppendVarint(b, g.seen)
			str(string(g.state))
		}
	}
	return b
}

// TestRestoreRefusesBadSnapshots: a malformed snapshot is an error that
// says what is wrong, and leaves the engine as it was.
func TestRestoreRefusesBadSnapshots(t *testing.T) {
	set := loadRules(t, map[string]string{"r.yaml": "rules:\n  - " + bruteForce + "  - " + twoFieldRule})
	src := newTestEngine(t, set, nil)
	src.feed(t, burst("192.0.2.1", 2, 0, time.Second)...)
	state, err := src.shards[0].states[0].groups["192.0.2.1"].st.AppendState(nil)
	require.NoError(t, err)
	bf, sudo := set.Rule("bf").Hash, set.Rule("sudo").Hash
	good := snapRule{id: "bf", hash: bf, groups: []snapGroup{{"192.0.2.7", 5, state}}}
	valid := buildV2(2, good)

	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":          {nil, "it is empty"},
		"not a snapshot": {[]byte("hello"), `starting 0x68656c6c: neither version 2 (magic "TKSN") nor version 1`},
		"short":          {[]byte("TKSN"), "4 bytes, shorter than the 5-byte header"},
		"newer":          {buildV2(3, good), "version 3 was written by a newer tocsin"},
		"version 1 bin":  {buildV2(1, good), "unknown version 1"},
		"rule count":     {append(valid[:7:7], 0xff, 0xff, 0x03), "rules: 65535 of them cannot fit"},
		"group count":    {buildV2(2, snapRule{id: "bf", hash: bf, n: 1000}), "groups: 1000 of them cannot fit"},
		"trailing":       {append(valid[:len(valid):len(valid)], 0), "1 bytes after the last rule"},
		"bad state": {buildV2(2, snapRule{id: "bf", hash: bf, groups: []snapGroup{{"192.0.2.7", 5, []byte{9}}}}),
			`rule "bf" group "192.0.2.7": cannot decode threshold group: state version 9 is newer`},
		"key values": {buildV2(2, good, snapRule{id: "sudo", hash: sudo, groups: []snapGroup{{"no-separator", 5, state}}}),
			`rule "sudo" group "no-separator" has 1 values, rule groups by 2 fields`},
		"json other format": {[]byte(`{"format":"x","version":1}`), `JSON format "x", want "tocsin-engine-snapshot"`},
		"json version 2":    {[]byte(`{"format":"tocsin-engine-snapshot","version":2}`), "JSON version 2; JSON snapshots are version 1"},
		"json broken":       {[]byte(`{"format":`), "version 1 (JSON)"},
		"json bad state": {[]byte(`{"format":"tocsin-engine-snapshot","version":1,"rules":[{"id":"bf","hash":"` + bf +
			`","groups":[{"key":"k","state":{"v":7}}]}]}`), `rule "bf" group "k": cannot decode threshold group: JSON state has version 7`},
	}
	for i := range len(valid) {
		cases[fmt.Sprintf("cut at %03d", i)] = struct {
			data []byte
			want string
		}{valid[:i], "cannot"}
	}
	for name, tc := range cases {
		te := newTestEngine(t, set, func(o *Options) { o.Shards = 2 })
		require.NoError(t, te.Restore(bytes.NewReader(valid)), name)
		err := te.Restore(bytes.NewReader(tc.data))
		require.ErrorContains(t, err, tc.want, name)
		require.ErrorContains(t, err, "cannot ", name)
		require.Equal(t, 1, openGroups(te.Engine), "%s: a refused snapshot leaves the engine as it was", name)
	}
}

// TestRestoreV1Fixture: a version 1 (JSON) snapshot saved by an earlier
// release (testdata/README.md says how) restores, whatever the shard
// count, and its windows carry on exactly as in an engine that never
// stopped; saved again it is version 2 and restores the same way.
func TestRestoreV1Fixture(t *testing.T) {
	v1, err := os.ReadFile("testdata/snapshot-v1.json")
	require.NoError(t, err)
	set := loadRules(t, map[string]string{"r.yaml": v1Rules})
	before, after := v1Scenario()
	live := newTestEngine(t, set, nil)
	live.feed(t, before...)
	live.out.reset()
	live.feed(t, after...)
	want := live.out.all()
	require.Len(t, want, 4, "bf 192.0.2.1, spray 192.0.2.2, sudo, then 192.0.2.1")

	for _, shards := range []int{1, 3} {
		te := newTestEngine(t, set, func(o *Options) { o.Shards = shards })
		require.NoError(t, te.Restore(bytes.NewReader(v1)))
		groups := map[string]float64{"bf": 3, "spray": 3, "then": 3, "sudo": 1}
		for rule, n := range groups {
			require.Equal(t, n, metricValue(t, te.reg, "tocsin_engine_groups", map[string]string{"rule": rule}), rule)
		}
		var v2 bytes.Buffer
		require.NoError(t, te.Snapshot(&v2))
		require.Equal(t, "TKSN\x02", v2.String()[:5])
		te.feed(t, after...)
		require.Equal(t, want, te.out.all(), "restored from version 1 into %d shards", shards)

		again := newTestEngine(t, set, func(o *Options) { o.Shards = 2 })
		require.NoError(t, again.Restore(&v2))
		again.feed(t, after...)
		require.Equal(t, want, again.out.all(), "saved again as version 2")
	}
}

// TestSnapshotRoundTripStates: counting, distinct, fired, primed and
// two-field groups saved from any number of shards restore into any
// other and carry on as if the engine never stopped.
func TestSnapshotRoundTripStates(t *testing.T) {
	set := loadRules(t, map[string]string{"r.yaml": v1Rules})
	before, after := v1Scenario()
	live := newTestEngine(t, set, nil)
	live.feed(t, before...)
	live.out.reset()
	live.feed(t, after...)
	want := live.out.all()
	require.Len(t, want, 4)

	for _, shards := range [][2]int{{1, 1}, {1, 3}, {4, 1}, {3, 2}} {
		src := newTestEngine(t, set, func(o *Options) { o.Shards = shards[0] })
		src.feed(t, before...)
		var buf bytes.Buffer
		require.NoError(t, src.Snapshot(&buf))
		te := newTestEngine(t, set, func(o *Options) { o.Shards = shards[1] })
		require.NoError(t, te.Restore(&buf))
		require.Equal(t, 10, openGroups(te.Engine))
		te.feed(t, after...)
		require.Equal(t, want, te.out.all(), "shards %v", shards)
	}
}

// TestSnapshotManyGroups: thousands of groups over several shards
// restore into another shard count with their recency order, and the
// result saves to the same bytes again.
func TestSnapshotManyGroups(t *testing.T) {
	set := loadRules(t, map[string]string{"r.yaml": "rules:\n  - " + bruteForce + "  - " + twoFieldRule})
	src := newTestEngine(t, set, func(o *Options) { o.Shards = 4 })
	const n = 3000
	var evs []*schemas.Event
	for i := range n {
		evs = append(evs, failure(ipN(i), time.Duration(i)*time.Millisecond))
		if i%3 == 0 {
			evs = append(evs, sudoFail(fmt.Sprintf("u%d", i), "h\xff", time.Duration(i)*time.Millisecond))
		}
	}
	require.NoError(t, src.Handle(context.Background(), evs))
	require.NoError(t, src.Flush(context.Background()))
	var first bytes.Buffer
	require.NoError(t, src.Snapshot(&first))

	one := newTestEngine(t, set, nil)
	require.NoError(t, one.Restore(bytes.NewReader(first.Bytes())))
	require.Equal(t, n+n/3, openGroups(one.Engine))
	for _, rs := range one.shards[0].states {
		seen := int64(0)
		count := 0
		for g := rs.tail; g != nil; g = g.prev {
			require.GreaterOrEqual(t, g.seen, seen, "least recently active at the tail")
			seen = g.seen
			count++
		}
		require.Equal(t, len(rs.groups), count)
	}
	_, ok := one.shards[0].states[1].groups["u0\x00h\xff"]
	require.True(t, ok, "keys keep bytes that are not UTF-8")

	var second, third bytes.Buffer
	require.NoError(t, one.Snapshot(&second))
	two := newTestEngine(t, set, func(o *Options) { o.Shards = 3 })
	require.NoError(t, two.Restore(bytes.NewReader(second.Bytes())))
	one2 := newTestEngine(t, set, nil)
	require.NoError(t, one2.Restore(bytes.NewReader(second.Bytes())))
	require.NoError(t, one2.Snapshot(&third))
	require.Equal(t, second.Bytes(), third.Bytes())
	require.Equal(t, n+n/3, openGroups(two.Engine))
}

// TestRestoreKeepsTheGroupCap: a snapshot with more groups than
// MaxGroupsPerRule allows keeps the most recently active ones.
func TestRestoreKeepsTheGroupCap(t *testing.T) {
	set := loadRules(t, oneRule(bruteForce))
	src := newTestEngine(t, set, nil)
	for i := range 10 {
		src.feed(t, failure(ipN(i), time.Duration(i)*time.Second))
	}
	var buf bytes.Buffer
	require.NoError(t, src.Snapshot(&buf))
	te := newTestEngine(t, set, func(o *Options) { o.MaxGroupsPerRule = 4 })
	require.NoError(t, te.Restore(&buf))
	require.Equal(t, 4, openGroups(te.Engine))
	require.Equal(t, float64(6), metricValue(t, te.reg, "tocsin_engine_groups_dropped_total", nil))
	for i := 6; i < 10; i++ {
		require.Contains(t, te.shards[0].states[0].groups, ipN(i))
	}
}

// gateWriter keeps what is written, but its first Write says so on
// entered and then waits for open to close.
type gateWriter struct {
	bytes.Buffer
	entered, open chan struct{}
}

func (w *gateWriter) Write(p []byte) (int, error) {
	if w.entered != nil {
		close(w.entered)
		w.entered = nil
		<-w.open
	}
	return w.Buffer.Write(p)
}

// TestSnapshotWritesAfterReleasingHandle: Handle waits only while the
// shards encode, not while the snapshot is written out.
func TestSnapshotWritesAfterReleasingHandle(t *testing.T) {
	for _, shards := range []int{1, 2} {
		te := newTestEngine(t, loadRules(t, oneRule(bruteForce)), func(o *Options) { o.Shards = shards })
		te.feed(t, burst("192.0.2.1", 3, 0, time.Second)...)
		entered := make(chan struct{})
		w := &gateWriter{entered: entered, open: make(chan struct{})}
		done := make(chan error, 1)
		go func() { done <- te.Snapshot(w) }()
		<-entered // Snapshot is writing, and waits for the gate
		handled := make(chan error, 1)
		go func() {
			err := te.Handle(context.Background(), burst("192.0.2.2", 1, 0, time.Second))
			handled <- errors.Join(err, te.Flush(context.Background()))
		}()
		select {
		case err := <-handled:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			close(w.open)
			t.Fatal("Handle waited for the snapshot to be written out")
		}
		close(w.open)
		require.NoError(t, <-done)

		after := newTestEngine(t, loadRules(t, oneRule(bruteForce)), nil)
		require.NoError(t, after.Restore(&w.Buffer))
		require.Equal(t, 1, openGroups(after.Engine), "the group opened while the snapshot was written is not in it")
	}
}

// TestRestoreBoundsAllocation: counts and lengths a hostile snapshot
// claims cannot make Restore allocate beyond what its size allows.
func TestRestoreBoundsAllocation(t *testing.T) {
	set := loadRules(t, map[string]string{"r.yaml": v1Rules})
	hash := set.Rule("bf").Hash
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	state := append([]byte{2, 1, 0, 0, 0}, huge...) // entry count 2^63-1
	var tiny []snapGroup
	for i := range 20000 {
		tiny = append(tiny, snapGroup{key: fmt.Sprint(i), seen: 1, state: []byte{2, 0, 0, 0, 0, 0}})
	}
	head := buildV2(2, snapRule{id: "bf", hash: hash})
	head = head[:len(head)-1] // up to the group count
	for name, tc := range map[string]struct {
		data []byte
		want string // "" for a snapshot that restores
	}{
		"rules":        {append([]byte("TKSN\x02\x00\x00"), huge...), "rules: 9223372036854775807 of them cannot fit"},
		"groups":       {append(head, huge...), "groups: 9223372036854775807 of them cannot fit"},
		"key length":   {append(append(head, 1), huge...), "group key: 9223372036854775807 bytes, but only 0 are left"},
		"entries":      {buildV2(2, snapRule{id: "bf", hash: hash, groups: []snapGroup{{"k", 1, state}}}), "9223372036854775807 entries for threshold 10"},
		"tiny groups":  {buildV2(2, snapRule{id: "bf", hash: hash, groups: tiny}), ""},
		"json entries": {[]byte(`{"format":"tocsin-engine-snapshot","version":1,"rules":[{"id":"bf","hash":"` + hash + `","groups":[{"key":"k","state":{"v":1,"entries":[{},{},{},{},{},{},{},{},{},{},{},{}]}}]}]}`), "12 entries for threshold 10"},
		"gone rule":    {buildV2(2, snapRule{id: "gone", hash: hash, groups: tiny}), ""},
	} {
		data := tc.data
		te := newTestEngine(t, set, nil)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		err := te.Restore(bytes.NewReader(data))
		runtime.ReadMemStats(&after)
		if tc.want == "" {
			require.NoError(t, err, name)
		} else {
			require.ErrorContains(t, err, tc.want, name)
		}
		got := after.TotalAlloc - before.TotalAlloc
		require.Less(t, got, uint64(256<<10+200*len(data)), "%s: %d bytes of snapshot", name, len(data))
	}
}

// TestSnapshotAllocations: a snapshot allocates per shard and per rule,
// never per group.
func TestSnapshotAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	set := loadRules(t, map[string]string{"r.yaml": "rules:\n  - " + bruteForce + "  - " + twoFieldRule})
	allocs := func(groups int) float64 {
		te := newTestEngine(t, set, nil)
		for i := range groups {
			te.feed(t, failure(ipN(i), 0))
		}
		return testing.AllocsPerRun(20, func() {
			if err := te.Snapshot(io.Discard); err != nil {
				panic(err)
			}
		})
	}
	few, many := allocs(10), allocs(2000)
	require.LessOrEqual(t, many, float64(20))
	require.LessOrEqual(t, many, few+2, "allocations do not grow with the groups")
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

// v1Rules is the rule set of the version 1 fixture: a count, a
// distinct, a followed_by and a two-field rule.
const v1Rules = `rules:
  - id: bf
    title: brute force
    severity: high
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [source.ip]
    threshold: 10
    window: 1m
  - id: spray
    title: spray
    severity: high
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [source.ip]
    distinct: user.name
    threshold: 3
    window: 10m
  - id: then
    title: brute force then success
    severity: critical
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [source.ip]
    threshold: 3
    window: 5m
    followed_by:
      condition: event.action == "ssh_login" && event.outcome == "success"
      within: 5m
  - ` + twoFieldRule

// scenarioEvent is an event with every kind of field set, and an ID
// that depends only on seq, so that a scenario builds the same events
// on every run.
func scenarioEvent(seq int, ip, user, outcome string, off time.Duration) *schemas.Event {
	at := t0.Add(off)
	ev := &schemas.Event{ID: 0x9e3779b97f4a7c15 * uint64(seq+1), Timestamp: at}
	ev.Event.Kind = "event"
	ev.Event.Category = schemas.CategoryAuthentication
	ev.Event.Action = schemas.ActionSSHLogin
	ev.Event.Outcome = outcome
	ev.Event.Dataset = "sshd"
	ev.Event.Count = 1
	ev.Event.Created = at.Add(123456789 * time.Nanosecond)
	ev.Message = "Failed password for " + user + " from " + ip + " port 40222 ssh2"
	ev.Event.Original = at.Format(time.Stamp) + " web1 sshd[4242]: " + ev.Message
	ev.Source.IP, ev.Source.Port = ip, 40000+seq
	ev.User.Name = user
	ev.Host.Name = "web1"
	ev.Process.Name, ev.Process.PID = "sshd", 4242
	ev.SSH.Method = "password"
	ev.Log.Source.Address = "192.0.2.10"
	ev.Log.Syslog = schemas.Syslog{Format: "rfc3164", Priority: 38, Facility: 4, Severity: 6, Hostname: "web1", AppName: "sshd", ProcID: "4242"}
	return ev
}

// v1Scenario returns the events fed before the version 1 fixture was
// saved, and those fed after it to check that the restored windows carry
// on: a bf window of six failures, a fired bf and spray group, a spray
// group of two users, a primed followed_by group and a sudo group of two.
func v1Scenario() (before, after []*schemas.Event) {
	seq := 0
	ev := func(ip, user, outcome string, off time.Duration) *schemas.Event {
		seq++
		return scenarioEvent(seq, ip, user, outcome, off)
	}
	s := time.Second
	for i := range 6 {
		before = append(before, ev("192.0.2.1", "root", schemas.OutcomeFailure, time.Duration(i)*s))
	}
	for i := range 10 {
		before = append(before, ev("192.0.2.9", fmt.Sprintf("u%d", i), schemas.OutcomeFailure, time.Duration(i)*s))
	}
	before = append(before, ev("192.0.2.2", "a", schemas.OutcomeFailure, 0), ev("192.0.2.2", "b", schemas.OutcomeFailure, s))
	sudo := func(off time.Duration) *schemas.Event {
		e := ev("", "alice", schemas.OutcomeFailure, off)
		e.Event.Action, e.Host.Name = schemas.ActionSudo, "web01"
		return e
	}
	before = append(before, sudo(0), sudo(s))

	for i := range 4 {
		after = append(after, ev("192.0.2.1", "root", schemas.OutcomeFailure, time.Duration(10+i)*s))
	}
	after = append(after, ev("192.0.2.9", "u0", schemas.OutcomeFailure, 20*s))
	after = append(after, ev("192.0.2.2", "c", schemas.OutcomeFailure, 30*s))
	after = append(after, ev("192.0.2.1", "root", schemas.OutcomeSuccess, 40*s))
	after = append(after, sudo(50*s))
	return before, after
}
