package rules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
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
	return g
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

func TestDecodeGroupRejectsBadState(t *testing.T) {
	d := &thresholdDetector{n: 2, window: time.Minute}
	for name, data := range map[string]string{
		"not json":      "{",
		"wrong version": `{"v":99}`,
		"no event":      `{"v":1,"entries":[{"ts":1,"count":1}]}`,
		"zero count":    `{"v":1,"entries":[{"ts":1,"count":0,"event":{}}]}`,
		"too many":      `{"v":1,"entries":[{"ts":1,"count":1,"event":{}},{"ts":1,"count":1,"event":{}},{"ts":1,"count":1,"event":{}}]}`,
	} {
		_, err := d.DecodeGroup([]byte(data))
		require.Error(t, err, name)
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
