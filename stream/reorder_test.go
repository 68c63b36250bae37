package stream

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus/kafkabus"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
)

// reorderRunner is a unit Runner over two events partitions and one
// repartition partition that waits wait for silent partitions.
func reorderRunner(t *testing.T, prod *fakeProducer, st *state, wait time.Duration) *Runner {
	t.Helper()
	prod.parts = map[string]int{"ev": 2, "rp": 1}
	r := newUnitRunner(t, loadRuleText(t, unitRules), prod, st, prometheus.NewRegistry())
	r.opts.ReorderWait = wait
	r.grace = 0
	return r
}

// userFailures are failed logins of alice from src, at the given
// seconds after t0.
func userFailures(src string, secs ...int) []*schemas.Event {
	var out []*schemas.Event
	for _, s := range secs {
		ev := failure(s, src, "alice")
		out = append(out, ev)
	}
	return out
}

// feed assigns events partition part and hands it one batch of src's
// failed logins for alice, at the given seconds after t0.
func feed(t *testing.T, r *Runner, part int, src string, secs ...int) kafkabus.PartitionConsumer {
	t.Helper()
	pc, _, err := r.Assign(context.Background(), "ev", part, kafkabus.FirstOffset)
	require.NoError(t, err)
	_, err = pc.Handle(context.Background(), records(0, userFailures(src, secs...)...))
	require.NoError(t, err)
	return pc
}

// split separates the progress markers from the copies.
func split(msgs []kafkabus.Message) (copies, markers []kafkabus.Message) {
	for _, m := range msgs {
		if string(m.Header(wire.HeaderType)) == TypeProgress {
			markers = append(markers, m)
		} else {
			copies = append(copies, m)
		}
	}
	return copies, markers
}

// TestReorderFeedsInEventTime: events partition 1 is handled first and
// holds alice's failures an hour after those of partition 0. Fed in topic
// order, the older burst would fall behind the window and be ignored;
// held until both partitions passed their time, each burst fires.
func TestReorderFeedsInEventTime(t *testing.T) {
	ctx := context.Background()
	prod, st := &fakeProducer{}, &state{}
	r := reorderRunner(t, prod, st, time.Hour)

	feed(t, r, 1, "10.0.1.1", 3600, 3601, 3602, 3603)
	feed(t, r, 0, "10.0.0.1", 0, 1, 2, 3)

	prod.take("al") // the local rule's, per source
	rp := asRecords(0, prod.take("rp"))
	copies, markers := split(rp)
	require.Len(t, copies, 8)
	require.Len(t, markers, 2, "one marker per batch to the one repartition partition")
	for i, m := range markers {
		require.True(t, m.Direct)
		require.Equal(t, 0, m.Partition)
		hwm, idle, ok := decodeMarker(m.Value)
		require.True(t, ok)
		require.False(t, idle)
		want := t0.Add([]time.Duration{3603 * time.Second, 3 * time.Second}[i]).UnixNano()
		require.Equal(t, want, hwm)
		require.Equal(t, []string{"1:3", "0:3"}[i], string(m.Header(HeaderOrigin)))
	}

	rc, _, err := r.Assign(ctx, "rp", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	// Partition 1's copies and marker: partition 0 is not heard from yet.
	_, err = rc.Handle(ctx, rp[:5])
	require.NoError(t, err)
	require.Empty(t, prod.take("al"))
	require.Equal(t, 4.0, value(t, r.m.reorderHeld))
	// Partition 0's: its burst is due, partition 1's still waits.
	_, err = rc.Handle(ctx, rp[5:])
	require.NoError(t, err)
	alerts := alertsOf(t, prod.take("al"))
	require.Len(t, alerts, 1)
	require.Equal(t, t0, alerts[0].FirstSeen)
	require.Equal(t, 4.0, value(t, r.m.reorderHeld))

	// The held copies survive a move to another member.
	rc.Revoke(ctx)
	require.Zero(t, value(t, r.m.reorderHeld))
	st.keep(prod.take("st"))
	prod2 := &fakeProducer{}
	r2 := reorderRunner(t, prod2, st, time.Hour)
	rc, start, err := r2.Assign(ctx, "rp", 0, 10)
	require.NoError(t, err)
	require.Equal(t, int64(10), start)
	require.Equal(t, 4.0, value(t, r2.m.reorderHeld))

	// Partition 0 catches up and says so: the rest is due.
	early2, _, err := r2.Assign(ctx, "ev", 0, 4)
	require.NoError(t, err)
	_, err = early2.(kafkabus.Idler).Idle(ctx)
	require.NoError(t, err)
	_, idleMarkers := split(prod2.take("rp"))
	require.Len(t, idleMarkers, 1)
	hwm, idle, ok := decodeMarker(idleMarkers[0].Value)
	require.True(t, ok)
	require.True(t, idle)
	require.Equal(t, t0.Add(3*time.Second).UnixNano(), hwm, "the checkpoint kept the partition's high water")
	_, err = early2.(kafkabus.Idler).Idle(ctx)
	require.NoError(t, err)
	require.Empty(t, prod2.take("rp"), "told once until new records come")

	next, err := rc.Handle(ctx, asRecords(10, idleMarkers))
	require.NoError(t, err)
	require.Equal(t, int64(11), next)
	alerts = alertsOf(t, prod2.take("al"))
	require.Len(t, alerts, 1)
	require.Equal(t, t0.Add(3600*time.Second), alerts[0].FirstSeen)
	require.Equal(t, 4, alerts[0].Count)
	require.Zero(t, value(t, r2.m.reorderHeld))
}

// TestIdleMarkerOfAnEmptyPartition: a partition that never had a record
// says it is idle in a marker the repartition side reads, so that its
// copies' partners do not wait for it.
func TestIdleMarkerOfAnEmptyPartition(t *testing.T) {
	ctx := context.Background()
	prod := &fakeProducer{}
	r := reorderRunner(t, prod, &state{}, time.Hour)
	busy := feed(t, r, 1, "10.0.1.1", 0, 1, 2, 3)
	empty, _, err := r.Assign(ctx, "ev", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	_, err = empty.(kafkabus.Idler).Idle(ctx)
	require.NoError(t, err)
	_, err = busy.(kafkabus.Idler).Idle(ctx)
	require.NoError(t, err)
	prod.take("al")
	rc, _, err := r.Assign(ctx, "rp", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	_, err = rc.Handle(ctx, asRecords(0, prod.take("rp")))
	require.NoError(t, err)
	require.Zero(t, value(t, r.m.badRecords.WithLabelValues("rp")))
	require.Len(t, alertsOf(t, prod.take("al")), 1, "both partitions idle: every copy is due")
}

// TestReorderStopsWaitingForSilentPartitions: a partition that reports
// nothing for ReorderWait is not waited for, and the copies it held up
// are fed by Idle.
func TestReorderStopsWaitingForSilentPartitions(t *testing.T) {
	ctx := context.Background()
	prod := &fakeProducer{}
	r := reorderRunner(t, prod, &state{}, 50*time.Millisecond)
	feed(t, r, 1, "10.0.1.1", 0, 1, 2, 3)
	prod.take("al")
	rc, _, err := r.Assign(ctx, "rp", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	_, err = rc.Handle(ctx, asRecords(0, prod.take("rp")))
	require.NoError(t, err)
	require.Empty(t, prod.take("al"), "partition 0 may still come")
	next, err := rc.(kafkabus.Idler).Idle(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(-1), next)
	time.Sleep(100 * time.Millisecond)
	_, err = rc.(kafkabus.Idler).Idle(ctx)
	require.NoError(t, err)
	require.Len(t, alertsOf(t, prod.take("al")), 1)
}

// TestReorderBoundsHeldCopies: beyond ReorderMaxHeld the oldest copies
// are fed at once, and counted.
func TestReorderBoundsHeldCopies(t *testing.T) {
	ctx := context.Background()
	prod := &fakeProducer{}
	r := reorderRunner(t, prod, &state{}, time.Hour)
	r.opts.ReorderMaxHeld = 2
	feed(t, r, 1, "10.0.1.1", 5, 1, 2, 3, 4, 0)
	prod.take("al")
	rc, _, err := r.Assign(ctx, "rp", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	_, err = rc.Handle(ctx, asRecords(0, prod.take("rp")))
	require.NoError(t, err)
	require.Equal(t, 2.0, value(t, r.m.reorderHeld))
	require.Equal(t, 4.0, value(t, r.m.reorderForced))
	alerts := alertsOf(t, prod.take("al"))
	require.Len(t, alerts, 1, "the four oldest, fed in event time order, reach the threshold")
	var ids []uint64
	for _, ev := range alerts[0].Events {
		ids = append(ids, ev.ID)
	}
	require.Equal(t, []uint64{1000, 1001, 1002, 1003}, ids)
}

func TestReorderFrontier(t *testing.T) {
	now := time.Unix(1000, 0)
	o := reorder{since: now}
	o.expect(3)
	type front struct {
		busy int64
		idle bool
	}
	frontier := func(at time.Time, wait time.Duration) front {
		busy, idle := o.frontier(at, wait)
		return front{busy, idle}
	}
	require.Equal(t, front{math.MinInt64, false}, frontier(now, time.Second), "partitions not heard from yet are waited for")
	o.note(0, 50, false, now)
	o.note(1, 20, false, now)
	o.note(2, 0, true, now)
	require.Equal(t, front{20, true}, frontier(now, time.Second), "the idle partition is not waited for by its time")
	o.note(1, 10, false, now)
	require.Equal(t, front{10, true}, frontier(now, time.Second), "a partition that went back in time (a backfill) holds the others back again")
	o.note(1, 20, false, now)
	o.note(0, 60, false, now.Add(time.Second))
	o.note(2, 0, true, now.Add(time.Second))
	require.Equal(t, front{20, true}, frontier(now.Add(1500*time.Millisecond), 2*time.Second))
	require.Equal(t, front{60, true}, frontier(now.Add(1500*time.Millisecond), time.Second), "silent partitions are dropped after wait")
	require.Equal(t, front{math.MaxInt64, false}, frontier(now.Add(3*time.Second), time.Second))
	o.note(5, 7, false, now.Add(3*time.Second))
	require.Len(t, o.marks, 6)
	require.Equal(t, front{7, false}, frontier(now.Add(3*time.Second), time.Second), "3 and 4 are past their start-up wait")

	// While a partition is idle, due copies wait for grace: it may get
	// records of any time, and reports them a moment later.
	o = reorder{since: now}
	o.note(0, 100, false, now)
	o.note(1, 500, true, now)
	o.hold(heldCopy{ts: 80, arrived: now})
	o.hold(heldCopy{ts: 40, arrived: now.Add(500 * time.Millisecond)})
	o.hold(heldCopy{ts: 120, arrived: now})
	got, forced := o.take(now.Add(time.Second), time.Minute, time.Second, 10, nil)
	require.Zero(t, forced)
	require.Empty(t, got, "the oldest copy has not waited for grace yet")
	got, _ = o.take(now.Add(1500*time.Millisecond), time.Minute, time.Second, 10, nil)
	require.Len(t, got, 2)
	require.Equal(t, []int64{40, 80}, []int64{got[0].ts, got[1].ts})
	o.note(1, 500, false, now.Add(1500*time.Millisecond))
	got, _ = o.take(now.Add(1500*time.Millisecond), time.Minute, time.Second, 10, nil)
	require.Empty(t, got, "120 is past partition 0's progress")
}

func FuzzMarker(f *testing.F) {
	f.Add(appendMarker(nil, 12345, true))
	f.Add(appendMarker(nil, math.MinInt64, false))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		hwm, idle, ok := decodeMarker(data)
		if !ok {
			return
		}
		h2, i2, ok := decodeMarker(appendMarker(nil, hwm, idle))
		require.True(t, ok)
		require.Equal(t, hwm, h2)
		require.Equal(t, idle, i2)
	})
}

// TestMarkersOnlyWhenProgressMoves: a batch that does not raise the
// partition's event time sends no marker, unless a third of ReorderWait
// passed since the last.
func TestMarkersOnlyWhenProgressMoves(t *testing.T) {
	ctx := context.Background()
	prod := &fakeProducer{}
	r := reorderRunner(t, prod, &state{}, time.Hour)
	pc, _, err := r.Assign(ctx, "ev", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	markers := func() int {
		_, m := split(prod.take("rp"))
		return len(m)
	}
	_, err = pc.Handle(ctx, records(0, userFailures("10.0.0.1", 10)...))
	require.NoError(t, err)
	require.Equal(t, 1, markers())
	_, err = pc.Handle(ctx, records(1, userFailures("10.0.0.1", 7, 10)...))
	require.NoError(t, err)
	require.Zero(t, markers(), "a batch that ends at the same time does not move the progress")
	_, err = pc.Handle(ctx, records(2, userFailures("10.0.0.1", 5)...))
	require.NoError(t, err)
	require.Equal(t, 1, markers(), "an older batch (a backfill) moves it back")
	_, err = pc.Handle(ctx, records(2, userFailures("10.0.0.1", 11)...))
	require.NoError(t, err)
	require.Equal(t, 1, markers())
	pc.(*partition).markedAt = time.Now().Add(-21 * time.Minute)
	_, err = pc.Handle(ctx, records(3, userFailures("10.0.0.1", 11)...))
	require.NoError(t, err)
	require.Equal(t, 1, markers(), "again after a third of the wait, to show it lives")
}

// TestMergeOnTimeOfReceipt: older lines received after newer ones (a
// backfill) reach a re-keyed rule in the order they were received, as in
// one process, not in the order of their own times.
func TestMergeOnTimeOfReceipt(t *testing.T) {
	ctx := context.Background()
	prod := &fakeProducer{}
	r := reorderRunner(t, prod, &state{}, time.Hour)
	received := t0.Add(24 * time.Hour)
	at := func(src string, secs []int, first int) []*schemas.Event {
		evs := userFailures(src, secs...)
		for i, ev := range evs {
			ev.Event.Created = received.Add(time.Duration(first+i) * time.Second)
		}
		return evs
	}
	// Received in this order: partition 1's two at 100 s and 101 s, then
	// partition 0's two at 0 s and 1 s.
	late, early := at("10.0.1.1", []int{100, 101}, 0), at("10.0.0.1", []int{0, 1}, 2)
	var want []schemas.Alert
	for _, a := range referenceAlerts(t, r.opts.Rules, append(append([]*schemas.Event{}, late...), early...)) {
		if a.RuleID == "user-fail" {
			want = append(want, a)
		}
	}
	require.Len(t, want, 1)

	p1, _, err := r.Assign(ctx, "ev", 1, kafkabus.FirstOffset)
	require.NoError(t, err)
	_, err = p1.Handle(ctx, records(0, late...))
	require.NoError(t, err)
	p0, _, err := r.Assign(ctx, "ev", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	_, err = p0.Handle(ctx, records(0, early...))
	require.NoError(t, err)
	for _, pc := range []kafkabus.PartitionConsumer{p0, p1} {
		_, err = pc.(kafkabus.Idler).Idle(ctx)
		require.NoError(t, err)
	}
	prod.take("al")
	// Partition 0's copies reach the repartition topic first.
	rp := prod.take("rp")
	var ordered []kafkabus.Message
	for _, origin := range []string{"0:", "1:"} {
		for _, m := range rp {
			if strings.HasPrefix(string(m.Header(HeaderOrigin)), origin) {
				ordered = append(ordered, m)
			}
		}
	}
	rc, _, err := r.Assign(ctx, "rp", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	_, err = rc.Handle(ctx, asRecords(0, ordered))
	require.NoError(t, err)
	got := alertsOf(t, prod.take("al"))
	require.Len(t, got, 1)
	require.Equal(t, want[0].FirstSeen, got[0].FirstSeen)
	require.Equal(t, want[0].LastSeen, got[0].LastSeen)
	require.Equal(t, want[0].Count, got[0].Count)
	var ids, wantIDs []uint64
	for i := range got[0].Events {
		ids = append(ids, got[0].Events[i].ID)
		wantIDs = append(wantIDs, want[0].Events[i].ID)
	}
	require.Equal(t, wantIDs, ids)
}
