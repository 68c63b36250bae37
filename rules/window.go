package rules

import (
	"encoding/json"

	"github.com/tocsin-siem/tocsin/schemas"
)

// windowGroup is the state of a threshold rule for one group: the counted
// events still inside the window, oldest first, at most threshold of them.
//
// Time is event time (ev.Timestamp). Events are expected roughly in order;
// an event older than the group's newest counted event is counted as if
// it happened at that newest time, so late delivery neither reorders the
// window nor resurrects expired entries, and an event older than that by
// more than the window is ignored (it could only have belonged to windows
// that were already judged).
type windowGroup struct {
	d       *thresholdDetector
	entries []entry // oldest first
	sum     int     // sum of entries' counts
	newest  int64   // newest counted timestamp, ns (after clamping)
	started bool    // newest is set
	last    int64   // time of the last counted event, for re-arming and followed_by
	fired   bool    // alert raised; silent until the window empties
	primed  bool    // followed_by: threshold reached at the last counted event
	// small backs entries while the window holds few events, so most
	// groups (a source seen once or twice) cost one allocation.
	small [4]entry
}

// entry is one counted event. For distinct rules it is the newest event
// with its value (read back through the distinct field), and count sums
// every occurrence of the value still in the window.
type entry struct {
	ts    int64
	count int
	ev    *schemas.Event
}

func newWindowGroup(d *thresholdDetector) *windowGroup {
	g := &windowGroup{d: d}
	g.entries = g.small[:0]
	return g
}

// Observe implements Group.
func (g *windowGroup) Observe(ev *schemas.Event, input int, f *Firing) bool {
	ts := ev.Timestamp.UnixNano()
	if input > 0 {
		return g.follow(ev, ts, f)
	}
	c := ev.Event.Count
	if c <= 0 {
		return false
	}
	var val string
	if g.d.distinct.Get != nil {
		if val = g.d.distinct.Get(ev); val == "" {
			return false
		}
	}
	window := int64(g.d.window)
	if g.started && ts < g.newest {
		if ts < g.newest-window {
			return false
		}
		ts = g.newest
	}
	if g.fired {
		if ts-g.last <= window {
			g.last, g.newest = ts, ts
			return false
		}
		g.rearm()
	}
	g.newest, g.started, g.last = ts, true, ts
	g.expire(ts - window)
	level := g.add(ts, c, val, ev)
	g.primed = level >= g.d.n
	if !g.primed || g.d.follow != nil {
		return false
	}
	g.fire(f, nil)
	return true
}

// add counts an event and returns the rule's level: the sum of counts, or
// the number of distinct values.
func (g *windowGroup) add(ts int64, c int, val string, ev *schemas.Event) int {
	if g.d.distinct.Get == nil {
		g.push(entry{ts: ts, count: c, ev: ev})
		return g.sum
	}
	// A linear scan: windows hold at most threshold entries and distinct
	// thresholds are small. Shortcoming: a rule with a distinct threshold
	// in the thousands pays that many string compares per event; such a
	// rule would want a map beside the entries.
	for i := range g.entries {
		if g.d.distinct.Get(g.entries[i].ev) == val {
			e := g.entries[i]
			copy(g.entries[i:], g.entries[i+1:])
			g.entries = g.entries[:len(g.entries)-1]
			g.sum -= e.count
			e.ts, e.count, e.ev = ts, e.count+c, ev
			g.push(e)
			return len(g.entries)
		}
	}
	g.push(entry{ts: ts, count: c, ev: ev})
	return len(g.entries)
}

// push appends e, dropping the oldest entry when the window already holds
// threshold entries. That only happens once the threshold is reached
// (every entry counts at least 1), and the level stays at or above it.
//
// Shortcoming: while a followed_by rule is armed, failures past the
// threshold push the oldest ones out, so the eventual alert's Count and
// evidence cover the newest threshold events rather than every event in
// the window. Keeping them all would let one long attack grow a group
// without bound; an exact count would need a second, count-only ring.
func (g *windowGroup) push(e entry) {
	if n := len(g.entries); n >= g.d.n {
		g.sum -= g.entries[0].count
		copy(g.entries, g.entries[1:])
		g.entries[n-1] = entry{}
		g.entries = g.entries[:n-1]
	}
	g.entries = append(g.entries, e)
	g.sum += e.count
}

// expire drops entries older than cutoff.
func (g *windowGroup) expire(cutoff int64) {
	i := 0
	for i < len(g.entries) && g.entries[i].ts < cutoff {
		g.sum -= g.entries[i].count
		g.entries[i] = entry{}
		i++
	}
	if i > 0 {
		n := copy(g.entries, g.entries[i:])
		clear(g.entries[n:])
		g.entries = g.entries[:n]
	}
}

func (g *windowGroup) follow(ev *schemas.Event, ts int64, f *Firing) bool {
	if g.fired || !g.primed || ts-g.last > int64(g.d.within) {
		return false
	}
	g.fire(f, ev)
	return true
}

// fire fills f from the window (plus the follow-up event, if any) and
// silences the group until the window empties.
func (g *windowGroup) fire(f *Firing, followUp *schemas.Event) {
	for i := range g.entries {
		e := &g.entries[i]
		f.Events = append(f.Events, e.ev)
		f.Count += e.count
	}
	if followUp != nil {
		f.Events = append(f.Events, followUp)
	}
	if g.d.distinct.Get != nil {
		f.Distinct = len(g.entries)
	}
	for i, ev := range f.Events {
		if i == 0 || ev.Timestamp.Before(f.FirstSeen) {
			f.FirstSeen = ev.Timestamp
		}
		if i == 0 || ev.Timestamp.After(f.LastSeen) {
			f.LastSeen = ev.Timestamp
		}
	}
	g.fired, g.primed = true, false
	clear(g.entries)
	g.entries = g.entries[:0]
	g.sum = 0
}

// rearm forgets a fired window.
func (g *windowGroup) rearm() {
	g.fired, g.primed = false, false
	clear(g.entries)
	g.entries = g.entries[:0]
	g.sum = 0
}

const windowStateVersion = 1

type windowState struct {
	V       int          `json:"v"`
	Entries []entryState `json:"entries,omitempty"`
	Sum     int          `json:"sum"`
	Newest  int64        `json:"newest"`
	Started bool         `json:"started"`
	Last    int64        `json:"last"`
	Fired   bool         `json:"fired,omitempty"`
	Primed  bool         `json:"primed,omitempty"`
}

type entryState struct {
	TS    int64          `json:"ts"`
	Count int            `json:"count"`
	Event *schemas.Event `json:"event"`
}

// AppendState implements Group.
func (g *windowGroup) AppendState(b []byte) ([]byte, error) {
	st := windowState{
		V: windowStateVersion, Sum: g.sum, Newest: g.newest, Started: g.started,
		Last: g.last, Fired: g.fired, Primed: g.primed,
	}
	for _, e := range g.entries {
		st.Entries = append(st.Entries, entryState{TS: e.ts, Count: e.count, Event: e.ev})
	}
	data, err := json.Marshal(st)
	if err != nil {
		return b, err
	}
	return append(b, data...), nil
}
