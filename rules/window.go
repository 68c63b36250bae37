package rules

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/tocsin-siem/tocsin/internal/binenc"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
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

// A window group's saved state, as AppendState writes it into engine
// snapshots. Version 2 (binary) is written; version 1 (JSON) is still
// read, so that snapshots saved by earlier releases restore. The first
// byte tells them apart.
//
// Version 2. uvarint and varint are encoding/binary's (varint zig-zag),
// and bytes are a uvarint length followed by that many bytes:
//
//	byte     0x02, the version (version 1 starts with '{')
//	uvarint  flags: 1 started, 2 fired, 4 primed; other bits are refused
//	varint   newest: the newest counted time, Unix ns
//	varint   last - newest: the time of the last counted event, as a
//	         difference
//	uvarint  sum of the entries' counts (checked against them on reading)
//	uvarint  number of entries, at most the rule's threshold; then per
//	         entry, oldest first:
//	           varint   ts - previous: the entry's time minus the previous
//	                    entry's (for the first entry, minus newest)
//	           uvarint  count, at least 1
//	           bytes    the entry's event, as wire.AppendEvent writes it
//
// Version 1 is a JSON object {"v":1,"entries":[{"ts","count","event"}],
// "sum","newest","started","last","fired","primed"} with events as
// schemas.Event's JSON.
//
// Distinct values are not stored: they are read again from the events.
// Events keep every field byte for byte, but their times come back in
// UTC: the instant survives, the zone it was written in does not (see
// docs/wire.md). Alerts raised from a restored window so show its
// evidence times in UTC.
const (
	windowStateV1 = 1
	windowStateV2 = 2
)

// Flags of a version 2 state.
const (
	stateStarted = 1 << iota
	stateFired
	statePrimed
	stateFlagsKnown = stateStarted | stateFired | statePrimed
)

// minEntryLen is the fewest bytes a version 2 entry takes: one each for
// the time and the count, one of length and the 4 bytes of an event with
// no fields. Decoding checks an entry count against it before allocating.
const minEntryLen = 3 + 4

// AppendState implements Group. It writes version 2 and allocates only
// when b must grow.
func (g *windowGroup) AppendState(b []byte) ([]byte, error) {
	var flags uint64
	if g.started {
		flags |= stateStarted
	}
	if g.fired {
		flags |= stateFired
	}
	if g.primed {
		flags |= statePrimed
	}
	b = append(b, windowStateV2)
	b = binary.AppendUvarint(b, flags)
	b = binary.AppendVarint(b, g.newest)
	b = binary.AppendVarint(b, g.last-g.newest)
	b = binary.AppendUvarint(b, uint64(g.sum))
	b = binary.AppendUvarint(b, uint64(len(g.entries)))
	prev := g.newest
	for i := range g.entries {
		e := &g.entries[i]
		b = binary.AppendVarint(b, e.ts-prev)
		prev = e.ts
		b = binary.AppendUvarint(b, uint64(e.count))
		// Events are a few hundred bytes: room for a two-byte length,
		// moved if the event needs fewer or more.
		at := len(b)
		b = append(b, 0, 0)
		b = wire.AppendEvent(b, e.ev)
		b = binenc.FixLength(b, at, 2)
	}
	return b, nil
}

// decodeWindowGroup reads a state written by AppendState, version 1 or
// 2. It never panics, and allocates in proportion to len(data). The
// group's events are its own copies: data may be reused afterwards.
func decodeWindowGroup(d *thresholdDetector, data []byte) (*windowGroup, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("cannot decode threshold group: empty state")
	}
	var (
		g   *windowGroup
		sum int
		err error
	)
	switch v := data[0]; {
	case v == windowStateV2:
		g, sum, err = decodeStateV2(d, data)
	case v == '{':
		g, sum, err = decodeStateV1(d, data)
	case v > windowStateV2 && v < ' ':
		err = fmt.Errorf("state version %d is newer than this build reads (1 and 2): it was saved by a newer tocsin", v)
	default:
		err = fmt.Errorf("state starts with byte 0x%02x, which is neither version 2 (0x02) nor version 1 (JSON)", v)
	}
	if err == nil {
		err = g.check(sum)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot decode threshold group: %w", err)
	}
	return g, nil
}

func decodeStateV2(d *thresholdDetector, data []byte) (*windowGroup, int, error) {
	r := binenc.Reader{B: data, Off: 1}
	flags := r.Uvarint("flags")
	newest := r.Varint("newest")
	last := newest + r.Varint("last")
	sum := r.Uvarint("sum")
	n := r.Uvarint("entry count")
	if r.Err != nil {
		return nil, 0, r.Err
	}
	if flags&^stateFlagsKnown != 0 {
		return nil, 0, fmt.Errorf("at byte 1: flags 0x%x have bits this build does not know", flags)
	}
	if sum > math.MaxInt {
		return nil, 0, fmt.Errorf("sum %d is out of range", sum)
	}
	if n > uint64(d.n) {
		return nil, 0, fmt.Errorf("%d entries for threshold %d", n, d.n)
	}
	if n > uint64(len(data)-r.Off)/minEntryLen {
		return nil, 0, fmt.Errorf("at byte %d: %d entries cannot fit in the %d bytes left", r.Off, n, len(data)-r.Off)
	}
	g := newWindowGroup(d)
	g.newest, g.last = newest, last
	g.started, g.fired, g.primed = flags&stateStarted != 0, flags&stateFired != 0, flags&statePrimed != 0
	if n > uint64(len(g.small)) {
		g.entries = make([]entry, 0, n)
	}
	// One allocation for the group's events; each event's strings share
	// a copy of its encoding that wire.DecodeEvent makes.
	evs := make([]schemas.Event, n)
	ts := newest
	for i := range evs {
		ts += r.Varint("entry time")
		count := r.Uvarint("entry count")
		at := r.Off
		raw := r.Bytes("entry event")
		if r.Err != nil {
			return nil, 0, r.Err
		}
		if count < 1 || count > math.MaxInt {
			return nil, 0, fmt.Errorf("at byte %d: entry %d has count %d", at, i, count)
		}
		if err := wire.DecodeEvent(raw, &evs[i]); err != nil {
			return nil, 0, fmt.Errorf("entry %d, event at byte %d: %w", i, at, err)
		}
		if err := g.restore(ts, int(count), &evs[i]); err != nil {
			return nil, 0, fmt.Errorf("entry %d: %w", i, err)
		}
	}
	if r.Off != len(data) {
		return nil, 0, fmt.Errorf("at byte %d: %d bytes after the last entry (two states joined, or garbage appended?)", r.Off, len(data)-r.Off)
	}
	return g, int(sum), nil
}

// windowStateJSON is version 1 of the state.
type windowStateJSON struct {
	V       int         `json:"v"`
	Entries []entryJSON `json:"entries,omitempty"`
	Sum     int         `json:"sum"`
	Newest  int64       `json:"newest"`
	Started bool        `json:"started"`
	Last    int64       `json:"last"`
	Fired   bool        `json:"fired,omitempty"`
	Primed  bool        `json:"primed,omitempty"`
}

type entryJSON struct {
	TS    int64          `json:"ts"`
	Count int            `json:"count"`
	Event *schemas.Event `json:"event"`
}

func decodeStateV1(d *thresholdDetector, data []byte) (*windowGroup, int, error) {
	var st windowStateJSON
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, 0, fmt.Errorf("version 1 (JSON): %w", err)
	}
	if st.V != windowStateV1 {
		return nil, 0, fmt.Errorf("JSON state has version %d, want %d", st.V, windowStateV1)
	}
	if len(st.Entries) > d.n {
		return nil, 0, fmt.Errorf("%d entries for threshold %d", len(st.Entries), d.n)
	}
	g := newWindowGroup(d)
	g.newest, g.started, g.last, g.fired, g.primed = st.Newest, st.Started, st.Last, st.Fired, st.Primed
	for i, e := range st.Entries {
		if e.Event == nil {
			return nil, 0, fmt.Errorf("entry %d has no event", i)
		}
		if e.Count < 1 {
			return nil, 0, fmt.Errorf("entry %d has count %d", i, e.Count)
		}
		if err := g.restore(e.TS, e.Count, e.Event); err != nil {
			return nil, 0, fmt.Errorf("entry %d: %w", i, err)
		}
	}
	return g, st.Sum, nil
}

// restore appends a decoded entry, checking what Observe guarantees of
// one: times never go backwards, the distinct field has a value, and
// that value is not already in the window.
func (g *windowGroup) restore(ts int64, count int, ev *schemas.Event) error {
	if n := len(g.entries); n > 0 && ts < g.entries[n-1].ts {
		return fmt.Errorf("time %d is before the previous entry's %d", ts, g.entries[n-1].ts)
	}
	if ts > g.newest {
		return fmt.Errorf("time %d is after the newest counted time %d", ts, g.newest)
	}
	if count > math.MaxInt-g.sum {
		return fmt.Errorf("count %d overflows the window's sum", count)
	}
	if get := g.d.distinct.Get; get != nil {
		val := get(ev)
		if val == "" {
			return fmt.Errorf("event has no %s value", g.d.distinct.Name)
		}
		// Quadratic, but distinct thresholds are small; see add.
		for i := range g.entries {
			if get(g.entries[i].ev) == val {
				return fmt.Errorf("%s value %q is in the window twice", g.d.distinct.Name, val)
			}
		}
	}
	g.entries = append(g.entries, entry{ts: ts, count: count, ev: ev})
	g.sum += count
	return nil
}

// check compares the sum a state claims with its entries'.
func (g *windowGroup) check(sum int) error {
	if sum != g.sum {
		return fmt.Errorf("state says its entries count %d, they count %d", sum, g.sum)
	}
	return nil
}
