package stream

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/tocsin-siem/tocsin/bus/kafkabus"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
)

// TypeProgress is the wire.HeaderType value of progress markers: an
// events partition tells every repartition partition how far it got in
// event time (see Ordering in the package doc).
const TypeProgress = "progress/1"

var typeProgress = []byte(TypeProgress)

// Progress marker value: varint merge time (Unix nanoseconds, the
// highest of the latest batch the origin partition read; see mergeTime),
// then one flags byte.
const markerIdle = 1 // the origin partition is caught up and waits for records

func appendMarker(b []byte, hwm int64, idle bool) []byte {
	b = binary.AppendVarint(b, hwm)
	if idle {
		return append(b, markerIdle)
	}
	return append(b, 0)
}

func decodeMarker(v []byte) (hwm int64, idle bool, ok bool) {
	hwm, n := binary.Varint(v)
	if n <= 0 || len(v) != n+1 || v[n]&^markerIdle != 0 {
		return 0, false, false
	}
	return hwm, v[n]&markerIdle != 0, true
}

// originMark is what a repartition partition knows of one events
// partition's progress.
type originMark struct {
	hwm   int64 // event time of its last marker
	known bool  // a marker arrived
	idle  bool  // its last marker said it was caught up
	heard time.Time
}

// reorderGrace is how long a copy waits for an idle events partition
// that has not passed its time: one that gets records again reports its
// progress within a fetch or two.
//
// Shortcoming: a partition that catches up between two of ingest's
// batches says it is idle, and on a loaded machine its next batch can
// take longer than this to be handled; copies of other partitions
// received later are then fed first, and a re-keyed rule can split an
// incident a single process would report whole. Waiting longer delays
// every re-keyed alert of a quiet stream by as much.
const reorderGrace = time.Second

// mergeTime is the time copies are merged on: when ingest received the
// event, else (events made by other tools) its event time. Merging on
// the time of receipt feeds a re-keyed rule the copies in the order one
// process receiving the same lines would see them, also when the lines'
// own times go back (older logs sent after newer ones).
func mergeTime(ev *schemas.Event) int64 {
	if !ev.Event.Created.IsZero() {
		return ev.Event.Created.UnixNano()
	}
	return ev.Timestamp.UnixNano()
}

// heldCopy is a repartition copy waiting for every origin partition to
// pass its event time.
type heldCopy struct {
	ts      int64 // mergeTime
	evTs    int64 // event time, for copies received at the same time
	arrived time.Time
	origin  int32
	offset  int64
	u       *unit
	ev      *schemas.Event
}

func compareHeld(a, b heldCopy) int {
	if c := cmp.Compare(a.ts, b.ts); c != 0 {
		return c
	}
	if c := cmp.Compare(a.evTs, b.evTs); c != 0 {
		return c
	}
	if c := cmp.Compare(a.origin, b.origin); c != 0 {
		return c
	}
	return cmp.Compare(a.offset, b.offset)
}

// reorder holds a repartition partition's copies until their event time
// is safe to feed: every events partition that is still sending has
// reported progress past it.
type reorder struct {
	marks []originMark // by events partition
	// since is when the partition was assigned: an events partition not
	// heard from yet is waited for until since+wait.
	since  time.Time
	held   []heldCopy
	sorted bool
}

// expect makes room for n events partitions.
func (o *reorder) expect(n int) {
	if n > len(o.marks) {
		o.marks = append(o.marks, make([]originMark, n-len(o.marks))...)
	}
}

// note records a progress marker of origin.
func (o *reorder) note(origin int32, hwm int64, idle bool, now time.Time) {
	if origin < 0 {
		return
	}
	o.expect(int(origin) + 1)
	m := &o.marks[origin]
	m.hwm, m.known, m.idle, m.heard = hwm, true, idle, now
}

// frontier returns the event time up to which held copies may be fed:
// the lowest progress among the events partitions that are neither idle
// nor silent for wait (math.MaxInt64 when there is none), and whether
// some partition is idle.
func (o *reorder) frontier(now time.Time, wait time.Duration) (busy int64, idle bool) {
	busy = math.MaxInt64
	for i := range o.marks {
		m := &o.marks[i]
		switch {
		case !m.known:
			if now.Sub(o.since) < wait {
				return math.MinInt64, false
			}
		case now.Sub(m.heard) >= wait:
		case m.idle:
			idle = true
		default:
			busy = min(busy, m.hwm)
		}
	}
	return busy, idle
}

// take removes the copies due at now, oldest first: those the events
// partitions that are neither idle nor silent have passed, once held for
// grace while some partition is idle (an idle partition that gets
// records again, of any time, reports them a moment later); and the
// oldest beyond maxHeld. It returns how many were forced out by maxHeld.
func (o *reorder) take(now time.Time, wait, grace time.Duration, maxHeld int, out []heldCopy) ([]heldCopy, int) {
	if len(o.held) == 0 {
		return out, 0
	}
	if !o.sorted {
		slices.SortStableFunc(o.held, compareHeld)
		o.sorted = true
	}
	busy, idle := o.frontier(now, wait)
	n := 0
	for n < len(o.held) {
		h := &o.held[n]
		if h.ts > busy || (idle && now.Sub(h.arrived) < grace) {
			break
		}
		n++
	}
	forced := 0
	if rest := len(o.held) - n; rest > maxHeld {
		forced = rest - maxHeld
		n += forced
	}
	out = append(out, o.held[:n]...)
	clear(o.held[:n])
	o.held = append(o.held[:0], o.held[n:]...)
	return out, forced
}

// hold queues a decoded copy.
func (o *reorder) hold(h heldCopy) {
	if o.sorted && len(o.held) > 0 && compareHeld(o.held[len(o.held)-1], h) > 0 {
		o.sorted = false
	}
	o.held = append(o.held, h)
}

// markerDue reports whether an events partition sends a progress marker
// after a batch: when it has re-keyed rules and reordering is on, and its
// progress moved or a third of ReorderWait passed since the last one (so
// that it is not taken for silent).
func (p *partition) markerDue() bool {
	if p.repart || len(p.plan.keysets) == 0 || p.r.opts.ReorderWait < 0 {
		return false
	}
	return p.hwm != p.markedHwm || time.Since(p.markedAt) >= p.r.opts.ReorderWait/3
}

// queueMarkers appends a progress marker for every repartition partition
// to p.out, after the batch's copies.
func (p *partition) queueMarkers(ctx context.Context, lastOffset int64, idle bool) error {
	n, err := p.r.opts.Producer.Partitions(ctx, p.r.opts.RepartitionTopic)
	if err != nil {
		return fmt.Errorf("cannot send progress markers to %s: %w", p.r.opts.RepartitionTopic, err)
	}
	start := len(p.arena)
	p.arena = appendMarker(p.arena, p.hwm, idle)
	value := p.arena[start:len(p.arena):len(p.arena)]
	start = len(p.arena)
	p.arena = strconv.AppendInt(p.arena, int64(p.part), 10)
	p.arena = append(p.arena, ':')
	p.arena = strconv.AppendInt(p.arena, lastOffset, 10)
	origin := p.arena[start:len(p.arena):len(p.arena)]
	h := len(p.hdrs)
	p.hdrs = append(p.hdrs,
		kafkabus.Header{Key: wire.HeaderType, Value: typeProgress},
		kafkabus.Header{Key: HeaderOrigin, Value: origin})
	hdrs := p.hdrs[h:len(p.hdrs):len(p.hdrs)]
	for i := range n {
		p.out = append(p.out, kafkabus.Message{
			Topic: p.r.opts.RepartitionTopic, Partition: i, Direct: true, Value: value, Headers: hdrs,
		})
	}
	p.markedHwm, p.markedAt = p.hwm, time.Now()
	return nil
}

// Idle implements kafkabus.Idler. An events partition that caught up
// tells the repartition partitions not to wait for it; a repartition
// partition feeds the copies whose wait ended.
func (p *partition) Idle(ctx context.Context) (int64, error) {
	if p.repart {
		return p.idleRepartition(ctx)
	}
	if p.idleSent || len(p.plan.keysets) == 0 || p.r.opts.ReorderWait < 0 {
		return -1, nil
	}
	p.resetOut()
	// A partition that never had a record has no last offset; 0 keeps
	// the header readable.
	err := p.queueMarkers(ctx, max(p.next-1, 0), true)
	if err == nil {
		err = p.r.opts.Producer.Produce(ctx, p.out)
	}
	clear(p.out)
	if err != nil {
		// Only a hint: the repartition side stops waiting for a silent
		// partition after ReorderWait anyway. Tried again at the next
		// idle fetch.
		p.noisy.Warn().Err(err).Msg("cannot tell the repartition partitions that this partition is idle")
		return -1, nil
	}
	p.idleSent = true
	return -1, nil
}

func (p *partition) idleRepartition(ctx context.Context) (int64, error) {
	if len(p.ro.held) == 0 {
		return -1, nil
	}
	if err := p.applyPlan(); err != nil {
		return -1, err
	}
	p.resetOut()
	fed, err := p.release(ctx)
	if err == nil && fed {
		err = p.queueAlerts()
	}
	p.sink.reset()
	if err == nil && len(p.out) > 0 {
		if err = p.r.opts.Producer.Produce(ctx, p.out); err != nil {
			err = fmt.Errorf("cannot produce %d alerts of %s/%d: %w", len(p.out), p.topic, p.part, err)
		}
	}
	clear(p.out)
	if err != nil {
		p.diverged = true
		return -1, err
	}
	if fed {
		p.dirty = true
		if time.Since(p.lastCkpt) >= p.r.opts.CheckpointInterval {
			p.checkpoint(ctx)
		}
	}
	return -1, nil
}

// release feeds the due held copies to their engines, in event time
// order. It reports whether it fed any.
func (p *partition) release(ctx context.Context) (bool, error) {
	wait, maxHeld := p.r.opts.ReorderWait, p.r.opts.ReorderMaxHeld
	if wait < 0 {
		wait, maxHeld = 0, 0
	}
	var forced int
	p.due, forced = p.ro.take(time.Now(), wait, p.r.grace, maxHeld, p.due[:0])
	if forced > 0 {
		p.r.m.reorderForced.Add(float64(forced))
		p.noisy.Warn().Int("copies", forced).Int("max_held", maxHeld).
			Msg("too many copies waiting for slower events partitions; the oldest are fed now, so rekeyed rules may see them out of order")
	}
	p.reportHeld()
	if len(p.due) == 0 {
		return false, nil
	}
	for i := range p.due {
		u := p.due[i].u
		u.batch = append(u.batch, p.due[i].ev)
	}
	clear(p.due)
	var err error
	for _, u := range p.units {
		if len(u.batch) > 0 && err == nil {
			err = u.eng.Handle(ctx, u.batch)
		}
	}
	p.clearBatches()
	return true, err
}

// reportHeld publishes how many copies the partition holds.
func (p *partition) reportHeld() {
	if p.heldGauge != nil {
		p.heldGauge.Set(float64(len(p.ro.held)))
	}
}

func (p *partition) resetOut() {
	p.out = p.out[:0]
	clear(p.hdrs)
	p.hdrs = p.hdrs[:0]
	p.arena = p.arena[:0]
}
