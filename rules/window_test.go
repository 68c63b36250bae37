package rules

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
)

var wt0 = time.Date(2024, 12, 10, 6, 0, 0, 0, time.UTC)

// step feeds one event to a group and states whether the rule fires.
type step struct {
	at    time.Duration
	input int    // 0 counted condition, 1 followed_by
	count int    // event.count; 0 means 1 unless zero is set
	zero  bool   // event.count is 0
	user  string // user.name, for distinct rules
	fires bool
	// when fires: what the firing must say (zero values are not checked)
	wantCount, wantDistinct, wantEvents int
	times                               bool // check first and last
	first, last                         time.Duration
}

func stepEvent(s step) *schemas.Event {
	ev := &schemas.Event{Timestamp: wt0.Add(s.at)}
	ev.Event.Count = s.count
	if s.count == 0 && !s.zero {
		ev.Event.Count = 1
	}
	ev.User.Name = s.user
	if ev.User.Name == "" {
		ev.User.Name = "root"
	}
	return ev
}

func runSteps(t *testing.T, d *thresholdDetector, steps []step) Group {
	t.Helper()
	g := d.NewGroup()
	runStepsOn(t, g, steps)
	return g
}

// runStepsOn feeds steps to g and checks what each one must do.
func runStepsOn(t *testing.T, g Group, steps []step) {
	t.Helper()
	var f Firing
	for i, s := range steps {
		f.Reset()
		got := g.Observe(stepEvent(s), s.input, &f)
		require.Equal(t, s.fires, got, "step %d (at %s)", i, s.at)
		if !got {
			continue
		}
		if s.wantCount != 0 {
			require.Equal(t, s.wantCount, f.Count, "step %d count", i)
		}
		if s.wantDistinct != 0 {
			require.Equal(t, s.wantDistinct, f.Distinct, "step %d distinct", i)
		}
		if s.wantEvents != 0 {
			require.Len(t, f.Events, s.wantEvents, "step %d evidence", i)
		}
		if s.times {
			require.Equal(t, wt0.Add(s.first), f.FirstSeen, "step %d first seen", i)
			require.Equal(t, wt0.Add(s.last), f.LastSeen, "step %d last seen", i)
		}
	}
}

func userField(t *testing.T) schemas.FieldSpec {
	f, ok := schemas.LookupField("user.name")
	require.True(t, ok)
	return f
}

func TestWindowScenarios(t *testing.T) {
	s := time.Second
	count3 := &thresholdDetector{n: 3, window: time.Minute}
	tests := []struct {
		name  string
		d     func(t *testing.T) *thresholdDetector
		steps []step
	}{
		{"fast burst fires once at the threshold", func(*testing.T) *thresholdDetector { return count3 }, []step{
			{at: 0}, {at: 10 * s},
			{at: 20 * s, fires: true, wantCount: 3, wantEvents: 3, times: true, first: 0, last: 20 * s},
			{at: 25 * s}, {at: 30 * s},
		}},
		{"events spread wider than the window never fire", func(*testing.T) *thresholdDetector { return count3 }, []step{
			{at: 0}, {at: 50 * s}, {at: 100 * s}, {at: 150 * s}, {at: 200 * s},
		}},
		{"the window includes an event exactly one window old", func(*testing.T) *thresholdDetector { return count3 }, []step{
			{at: 0}, {at: 30 * s}, {at: 60 * s, fires: true, times: true, first: 0, last: 60 * s},
		}},
		{"re-arms only after a whole window without events", func(*testing.T) *thresholdDetector { return count3 }, []step{
			{at: 0}, {at: 10 * s}, {at: 20 * s, fires: true},
			{at: 70 * s},  // 50s after the last one: still the same burst
			{at: 125 * s}, // 55s: still busy
			{at: 186 * s}, // 61s of quiet: re-armed, counts 1
			{at: 190 * s},
			{at: 200 * s, fires: true, wantCount: 3, times: true, first: 186 * s, last: 200 * s},
		}},
		{"event.count weights each event and zero counts nothing", func(*testing.T) *thresholdDetector { return count3 }, []step{
			{at: 0, count: 2},
			{at: 5 * s, zero: true},
			{at: 6 * s, zero: true},
			{at: 10 * s, fires: true, wantCount: 3, wantEvents: 2},
		}},
		{"a single repeated-message line can reach the threshold", func(*testing.T) *thresholdDetector { return count3 }, []step{
			{at: 0, count: 5, fires: true, wantCount: 5, wantEvents: 1},
		}},
		{"distinct counts values, not events", func(t *testing.T) *thresholdDetector {
			return &thresholdDetector{n: 3, window: time.Minute, distinct: userField(t)}
		}, []step{
			{at: 0, user: "a"}, {at: 5 * s, user: "a"}, {at: 10 * s, user: "b"}, {at: 15 * s, user: "b", count: 4},
			{at: 20 * s, user: "c", fires: true, wantDistinct: 3, wantCount: 8, wantEvents: 3},
		}},
		{"distinct forgets values that left the window", func(t *testing.T) *thresholdDetector {
			return &thresholdDetector{n: 3, window: time.Minute, distinct: userField(t)}
		}, []step{
			{at: 0, user: "a"}, {at: 30 * s, user: "b"}, {at: 65 * s, user: "c"},
			{at: 80 * s, user: "d", fires: true, wantDistinct: 3, times: true, first: 30 * s, last: 80 * s},
		}},
		{"distinct keeps a value seen again inside the window", func(t *testing.T) *thresholdDetector {
			return &thresholdDetector{n: 3, window: time.Minute, distinct: userField(t)}
		}, []step{
			{at: 0, user: "a"}, {at: 30 * s, user: "b"}, {at: 50 * s, user: "a"},
			{at: 65 * s, user: "c", fires: true, wantDistinct: 3, times: true, first: 30 * s, last: 65 * s},
		}},
		{"followed_by fires on the follow-up after the threshold", func(t *testing.T) *thresholdDetector {
			return &thresholdDetector{n: 3, window: time.Minute, follow: &Condition{}, within: 30 * time.Second}
		}, []step{
			{at: 0, input: 1}, // a success before any failure means nothing
			{at: 5 * s}, {at: 10 * s},
			{at: 12 * s, input: 1}, // below the threshold still
			{at: 20 * s},           // threshold reached: armed, silent
			{at: 40 * s, input: 1, fires: true, wantCount: 3, wantEvents: 4, times: true, first: 5 * s, last: 40 * s},
			{at: 45 * s, input: 1}, // already fired
			{at: 50 * s},
		}},
		{"followed_by ignores a follow-up that comes too late", func(t *testing.T) *thresholdDetector {
			return &thresholdDetector{n: 3, window: time.Minute, follow: &Condition{}, within: 30 * time.Second}
		}, []step{
			{at: 0}, {at: 10 * s}, {at: 20 * s},
			{at: 51 * s, input: 1},
			{at: 55 * s}, // a new failure re-arms the follow-up clock
			{at: 80 * s, input: 1, fires: true, wantCount: 3, times: true, first: 10 * s, last: 80 * s},
		}},
		{"followed_by keeps counting past the threshold without growing", func(t *testing.T) *thresholdDetector {
			return &thresholdDetector{n: 3, window: time.Minute, follow: &Condition{}, within: 30 * time.Second}
		}, []step{
			{at: 0}, {at: 1 * s}, {at: 2 * s}, {at: 3 * s}, {at: 4 * s, count: 2}, {at: 5 * s},
			{at: 6 * s, input: 1, fires: true, wantCount: 4, wantEvents: 4, times: true, first: 3 * s, last: 6 * s},
		}},
		{"a late event inside the window counts at the group's time", func(*testing.T) *thresholdDetector { return count3 }, []step{
			{at: 60 * s}, {at: 30 * s}, {at: 61 * s, fires: true, wantCount: 3, times: true, first: 30 * s, last: 61 * s},
		}},
		{"an event older than the window behind the group is ignored", func(*testing.T) *thresholdDetector { return count3 }, []step{
			{at: 100 * s}, {at: 10 * s}, {at: 20 * s}, {at: 101 * s},
			{at: 102 * s, fires: true, wantCount: 3, times: true, first: 100 * s, last: 102 * s},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSteps(t, tc.d(t), tc.steps) })
	}
}

func TestWindowHoldsAtMostThresholdEntries(t *testing.T) {
	d := &thresholdDetector{n: 5, window: time.Hour, follow: &Condition{}, within: time.Minute}
	g := d.NewGroup().(*windowGroup)
	var f Firing
	for i := range 1000 {
		require.False(t, g.Observe(stepEvent(step{at: time.Duration(i) * time.Second}), 0, &f))
		require.LessOrEqual(t, len(g.entries), 5)
	}
	require.Equal(t, 5, g.sum)
}

func TestWindowStateRoundTrip(t *testing.T) {
	s := time.Second
	for _, d := range []*thresholdDetector{
		{n: 4, window: time.Minute},
		{n: 4, window: time.Minute, distinct: userField(t)},
		{n: 4, window: time.Minute, follow: &Condition{}, within: 20 * s},
	} {
		before := []step{{at: 0, user: "a"}, {at: 10 * s, user: "b", count: 2}}
		after := []step{{at: 20 * s, user: "c"}, {at: 30 * s, user: "d"}, {at: 35 * s, user: "e", input: 1}}

		orig := runSteps(t, d, before)
		data, err := orig.AppendState([]byte("prefix:"))
		require.NoError(t, err)
		require.Equal(t, "prefix:", string(data[:7]))
		restored, err := d.DecodeGroup(data[7:])
		require.NoError(t, err)

		// Both groups must now behave the same.
		var f1, f2 Firing
		for _, s := range after {
			f1.Reset()
			f2.Reset()
			ev := stepEvent(s)
			got1 := orig.Observe(ev, s.input, &f1)
			got2 := restored.Observe(ev, s.input, &f2)
			require.Equal(t, got1, got2)
			require.Equal(t, f1.Count, f2.Count)
			require.Equal(t, f1.Distinct, f2.Distinct)
			require.Len(t, f2.Events, len(f1.Events))
			for i := range f1.Events {
				require.Equal(t, f1.Events[i].Timestamp.UnixNano(), f2.Events[i].Timestamp.UnixNano())
			}
		}
	}
}

func TestDecodeGroupRejectsBadJSONState(t *testing.T) {
	d := &thresholdDetector{n: 2, window: time.Minute, distinct: userField(t)}
	ev := `{"user":{"name":"a"}}`
	for name, tc := range map[string]struct{ data, want string }{
		"not json":      {"{", "version 1 (JSON)"},
		"wrong version": {`{"v":99}`, "JSON state has version 99, want 1"},
		"no event":      {`{"v":1,"newest":1,"entries":[{"ts":1,"count":1}]}`, "entry 0 has no event"},
		"zero count":    {`{"v":1,"newest":1,"entries":[{"ts":1,"count":0,"event":` + ev + `}]}`, "entry 0 has count 0"},
		"too many": {`{"v":1,"newest":1,"entries":[{"ts":1,"count":1,"event":` + ev + `},{"ts":1,"count":1,"event":` + ev +
			`},{"ts":1,"count":1,"event":` + ev + `}]}`, "3 entries for threshold 2"},
		"no distinct value": {`{"v":1,"newest":1,"sum":1,"entries":[{"ts":1,"count":1,"event":{}}]}`, "event has no user.name value"},
		"after newest":      {`{"v":1,"newest":1,"sum":1,"entries":[{"ts":2,"count":1,"event":` + ev + `}]}`, "time 2 is after the newest counted time 1"},
		"wrong sum":         {`{"v":1,"newest":1,"sum":5,"entries":[{"ts":1,"count":1,"event":` + ev + `}]}`, "state says its entries count 5, they count 1"},
	} {
		_, err := d.DecodeGroup([]byte(tc.data))
		require.ErrorContains(t, err, tc.want, name)
		require.ErrorContains(t, err, "cannot decode threshold group: ", name)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	d := &thresholdDetector{n: 10, window: time.Minute, distinct: userField(t)}
	g := d.NewGroup()
	evs := make([]*schemas.Event, 64)
	users := []string{"a", "b", "c"}
	for i := range evs {
		evs[i] = stepEvent(step{at: time.Duration(i) * time.Second, user: users[i%3]})
	}
	var f Firing
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		f.Reset()
		g.Observe(evs[i%len(evs)], 0, &f)
		i++
	})
	require.Zero(t, allocs)
}

// stateCase is a group built by feeding before to a detector, and more
// steps to feed it afterwards, for the state encoding tests.
type stateCase struct {
	d             func(t *testing.T) *thresholdDetector
	before, after []step
}

// stateCases cover each state a window can be saved in. The version 1
// fixture (testdata/window-state-v1.json) holds the old encoding of each
// case's group after its before steps.
func stateCases() map[string]stateCase {
	s := time.Second
	return map[string]stateCase{
		"count": {
			d:      func(*testing.T) *thresholdDetector { return &thresholdDetector{n: 4, window: time.Minute} },
			before: []step{{at: 0, user: "a"}, {at: 10 * s, user: "b", count: 2}},
			after:  []step{{at: 20 * s, user: "c", fires: true, wantCount: 4, wantEvents: 3, times: true, first: 0, last: 20 * s}},
		},
		"distinct": {
			d: func(t *testing.T) *thresholdDetector {
				return &thresholdDetector{n: 3, window: time.Minute, distinct: userField(t)}
			},
			before: []step{{at: 0, user: "a"}, {at: 10 * s, user: "b", count: 2}, {at: 15 * s, user: "a"}},
			after: []step{{at: 20 * s, user: "b"}, {at: 25 * s, user: "c", fires: true, wantDistinct: 3, wantCount: 6, wantEvents: 3,
				times: true, first: 15 * s, last: 25 * s}},
		},
		"primed": {
			d: func(*testing.T) *thresholdDetector {
				return &thresholdDetector{n: 3, window: time.Minute, follow: &Condition{}, within: 20 * s}
			},
			before: []step{{at: 0}, {at: 1 * s}, {at: 2 * s}, {at: 3 * s}},
			after:  []step{{at: 10 * s, input: 1, fires: true, wantCount: 3, wantEvents: 4, times: true, first: 1 * s, last: 10 * s}},
		},
		"fired": {
			d:      func(*testing.T) *thresholdDetector { return &thresholdDetector{n: 3, window: time.Minute} },
			before: []step{{at: 0}, {at: 10 * s}, {at: 20 * s, fires: true}},
			after: []step{{at: 70 * s}, {at: 131 * s}, {at: 132 * s},
				{at: 133 * s, fires: true, wantCount: 3, times: true, first: 131 * s, last: 133 * s}},
		},
	}
}

// requireSameWindow checks that two groups hold the same state.
func requireSameWindow(t *testing.T, want, got *windowGroup) {
	t.Helper()
	require.Equal(t, want.sum, got.sum, "sum")
	require.Equal(t, want.newest, got.newest, "newest")
	require.Equal(t, want.started, got.started, "started")
	require.Equal(t, want.last, got.last, "last")
	require.Equal(t, want.fired, got.fired, "fired")
	require.Equal(t, want.primed, got.primed, "primed")
	require.Len(t, got.entries, len(want.entries))
	for i := range want.entries {
		w, g := want.entries[i], got.entries[i]
		require.Equal(t, w.ts, g.ts, "entry %d time", i)
		require.Equal(t, w.count, g.count, "entry %d count", i)
		require.True(t, w.ev.Timestamp.Equal(g.ev.Timestamp), "entry %d event time", i)
		require.Equal(t, w.ev.User.Name, g.ev.User.Name, "entry %d event user", i)
		require.Equal(t, w.ev.Event.Count, g.ev.Event.Count, "entry %d event count", i)
	}
}

// TestWindowStateCases: every kind of saved window decodes to the same
// state and then behaves as the group it was saved from.
func TestWindowStateCases(t *testing.T) {
	for name, c := range stateCases() {
		t.Run(name, func(t *testing.T) {
			d := c.d(t)
			live := runSteps(t, d, c.before).(*windowGroup)
			data, err := live.AppendState(nil)
			require.NoError(t, err)
			require.Equal(t, byte(windowStateV2), data[0])
			got, err := d.DecodeGroup(data)
			require.NoError(t, err)
			requireSameWindow(t, live, got.(*windowGroup))
			again, err := got.AppendState(nil)
			require.NoError(t, err)
			require.Equal(t, data, again, "a decoded group encodes to the same bytes")
			runStepsOn(t, got, c.after)
			runStepsOn(t, live, c.after)
		})
	}
}

// TestWindowStateV1Fixture: states saved as JSON by earlier releases
// (testdata/README.md says how the fixture was made) still decode, to
// the state the same steps build today, and carry on the same way.
func TestWindowStateV1Fixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/window-state-v1.json")
	require.NoError(t, err)
	var fixture map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &fixture))
	cases := stateCases()
	require.Len(t, fixture, len(cases))
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d := c.d(t)
			require.Contains(t, fixture, name)
			require.Equal(t, byte('{'), fixture[name][0])
			old, err := d.DecodeGroup(fixture[name])
			require.NoError(t, err)
			live := runSteps(t, d, c.before).(*windowGroup)
			requireSameWindow(t, live, old.(*windowGroup))

			// Saved again, it is version 2 and the same window.
			data, err := old.AppendState(nil)
			require.NoError(t, err)
			require.Equal(t, byte(windowStateV2), data[0])
			converted, err := d.DecodeGroup(data)
			require.NoError(t, err)
			requireSameWindow(t, live, converted.(*windowGroup))
			runStepsOn(t, old, c.after)
			runStepsOn(t, converted, c.after)
		})
	}
}

// richEvent sets every field of schemas.Event, with bytes that are not
// UTF-8 (which JSON could not keep) and times to the nanosecond.
func richEvent(user string, at time.Time) *schemas.Event {
	line := "<38>Dec 10 06:55:48 web1 sshd[4242]: Failed password for invalid user " + user + " from 203.0.113.7 port 40222 ssh2"
	ev := &schemas.Event{ID: 0x9e3779b97f4a7c15, Timestamp: at, Message: line[37:]}
	ev.Event = schemas.EventInfo{Kind: "event", Category: "authentication", Action: "ssh_login", Outcome: "failure",
		Reason: "invalid user", Dataset: "sshd", Count: 1, Created: at.Add(123456789), Original: line}
	ev.Source = schemas.Endpoint{IP: "203.0.113.7", Port: 40222, Domain: "x.example"}
	ev.User.Name, ev.User.Target.Name = user, "root"
	ev.Host.Name = "web1"
	ev.Process = schemas.Process{Name: "sshd", PID: 4242, CommandLine: "/usr/sbin/sshd -D"}
	ev.SSH.Method = "password"
	ev.Log.Source.Address = "192.0.2.10"
	ev.Log.Syslog = schemas.Syslog{Format: "rfc3164", Priority: 38, Facility: 4, Severity: 6, Hostname: "web1",
		AppName: "sshd", ProcID: "4242", MsgID: "m", StructuredData: "[a b=\"c\"]"}
	return ev
}

// TestWindowStateKeepsEventsExactly: events come back field for field,
// as copies that do not share memory with the state they came from.
func TestWindowStateKeepsEventsExactly(t *testing.T) {
	d := &thresholdDetector{n: 10, window: time.Minute, distinct: userField(t)}
	g := d.NewGroup()
	var want []*schemas.Event
	var f Firing
	for i, user := range []string{"al\xffice", "bob", "\x00carol"} {
		ev := richEvent(user, wt0.Add(time.Duration(i)*time.Second+time.Duration(i)))
		want = append(want, ev)
		require.False(t, g.Observe(ev, 0, &f))
	}
	data, err := g.AppendState(nil)
	require.NoError(t, err)
	got, err := d.DecodeGroup(data)
	require.NoError(t, err)
	for i := range data {
		data[i] = 0xff
	}
	wg := got.(*windowGroup)
	require.Len(t, wg.entries, len(want))
	for i, e := range wg.entries {
		require.Equal(t, *want[i], *e.ev, "entry %d", i)
	}
	require.True(t, &wg.entries[0] == &wg.small[0], "a few entries live in the group's own array")
}

func TestWindowStateLargeWindow(t *testing.T) {
	d := &thresholdDetector{n: 200, window: time.Hour}
	var steps []step
	for i := range 150 {
		steps = append(steps, step{at: time.Duration(i) * time.Second})
	}
	live := runSteps(t, d, steps).(*windowGroup)
	data, err := live.AppendState(nil)
	require.NoError(t, err)
	got, err := d.DecodeGroup(data)
	require.NoError(t, err)
	requireSameWindow(t, live, got.(*windowGroup))
	require.Equal(t, 150, cap(got.(*windowGroup).entries), "a large window is allocated once, to size")
}

// TestWindowStateV2Layout pins the version 2 bytes (see window.go).
func TestWindowStateV2Layout(t *testing.T) {
	d := &thresholdDetector{n: 5, window: time.Minute, follow: &Condition{}, within: time.Minute}
	g := runSteps(t, d, []step{{at: 0}, {at: 2 * time.Second, count: 3}}).(*windowGroup)
	g.last = g.newest + 7 // as after a follow-up
	data, err := g.AppendState([]byte("x"))
	require.NoError(t, err)

	newest := wt0.Add(2 * time.Second).UnixNano()
	want := []byte("x\x02\x01") // version; flags: started
	want = binary.AppendVarint(want, newest)
	want = append(want, 14, 4, 2) // last-newest 7, sum 4, two entries
	for i, e := range g.entries {
		want = binary.AppendVarint(want, []int64{-2e9, 2e9}[i])
		want = append(want, byte(e.count))
		ev := wire.AppendEvent(nil, e.ev)
		want = binary.AppendUvarint(want, uint64(len(ev)))
		want = append(want, ev...)
	}
	require.Equal(t, want, data)

	g.fired, g.primed = true, true
	data, err = g.AppendState(nil)
	require.NoError(t, err)
	require.Equal(t, byte(1|2|4), data[1])
}

func TestAppendStateDoesNotAllocate(t *testing.T) {
	d := &thresholdDetector{n: 10, window: time.Minute}
	var steps []step
	for i := range 5 {
		steps = append(steps, step{at: time.Duration(i) * time.Second})
	}
	g := runSteps(t, d, steps)
	buf := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		buf, err = g.AppendState(buf[:0])
		if err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs)
}

// stateV2 builds a version 2 state by hand.
type stateV2 struct {
	version      byte
	flags        uint64
	newest, last int64
	sum          uint64
	n            int // entries claimed; len(entries) when 0
	entries      []entryV2
}

type entryV2 struct {
	dt    int64
	count uint64
	ev    []byte
}

func (s stateV2) bytes() []byte {
	b := []byte{s.version}
	if s.version == 0 {
		b[0] = windowStateV2
	}
	b = binary.AppendUvarint(b, s.flags)
	b = binary.AppendVarint(b, s.newest)
	b = binary.AppendVarint(b, s.last-s.newest)
	b = binary.AppendUvarint(b, s.sum)
	n := s.n
	if n == 0 {
		n = len(s.entries)
	}
	b = binary.AppendUvarint(b, uint64(n))
	for _, e := range s.entries {
		b = binary.AppendVarint(b, e.dt)
		b = binary.AppendUvarint(b, e.count)
		b = binary.AppendUvarint(b, uint64(len(e.ev)))
		b = append(b, e.ev...)
	}
	return b
}

func TestDecodeGroupRejectsBadState(t *testing.T) {
	d := &thresholdDetector{n: 3, window: time.Minute, distinct: userField(t)}
	user := func(name string) []byte {
		ev := &schemas.Event{Timestamp: wt0}
		ev.User.Name = name
		return wire.AppendEvent(nil, ev)
	}
	good := stateV2{flags: 1, newest: 100, last: 100, sum: 2, entries: []entryV2{{-10, 1, user("a")}, {10, 1, user("b")}}}
	_, err := d.DecodeGroup(good.bytes())
	require.NoError(t, err, "the base of the cases below is valid")

	with := func(mod func(s *stateV2)) []byte {
		s := good
		s.entries = append([]entryV2(nil), good.entries...)
		mod(&s)
		return s.bytes()
	}
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":           {nil, "empty state"},
		"newer version":   {with(func(s *stateV2) { s.version = 3 }), "state version 3 is newer than this build reads"},
		"version byte 1":  {with(func(s *stateV2) { s.version = 1 }), "starts with byte 0x01, which is neither version 2"},
		"binary garbage":  {[]byte{0xfe, 0x45}, "starts with byte 0xfe"},
		"unknown flags":   {with(func(s *stateV2) { s.flags = 9 }), "flags 0x9 have bits this build does not know"},
		"too many":        {with(func(s *stateV2) { s.n = 4 }), "4 entries for threshold 3"},
		"cannot fit":      {with(func(s *stateV2) { s.n, s.entries, s.sum = 3, nil, 0 }), "3 entries cannot fit in the 0 bytes left"},
		"zero count":      {with(func(s *stateV2) { s.entries[1].count = 0 }), "entry 1 has count 0"},
		"huge count":      {with(func(s *stateV2) { s.entries[1].count = 1 << 63 }), "entry 1 has count"},
		"time goes back":  {with(func(s *stateV2) { s.entries[1].dt = -1 }), "entry 1: time 89 is before the previous entry's 90"},
		"after newest":    {with(func(s *stateV2) { s.entries[1].dt = 11 }), "entry 1: time 101 is after the newest counted time 100"},
		"sum":             {with(func(s *stateV2) { s.sum = 3 }), "state says its entries count 3, they count 2"},
		"no distinct":     {with(func(s *stateV2) { s.entries[1].ev = user("") }), "entry 1: event has no user.name value"},
		"same value":      {with(func(s *stateV2) { s.entries[1].ev = user("a") }), `entry 1: user.name value "a" is in the window twice`},
		"bad event":       {with(func(s *stateV2) { s.entries[1].ev = []byte("nope") }), "entry 1, event at byte"},
		"event cut short": {with(func(s *stateV2) { s.entries[1].ev = user("b")[:5] }), "runs past the end of the record"},
		"trailing bytes":  {append(good.bytes(), 0), "1 bytes after the last entry"},
		"varint overflow": {[]byte{2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, "varint overflows 64 bits"},
	}
	full := good.bytes()
	for i := 1; i < len(full); i++ {
		cases[fmt.Sprintf("cut at %03d", i)] = struct {
			data []byte
			want string
		}{full[:i], "cannot decode threshold group"}
	}
	for name, tc := range cases {
		g, err := d.DecodeGroup(tc.data)
		require.ErrorContains(t, err, tc.want, name)
		require.ErrorContains(t, err, "cannot decode threshold group: ", name)
		require.Nil(t, g, name)
	}
}
