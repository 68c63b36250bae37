package spool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMemoryOnlyDeliversInOrder(t *testing.T) {
	b := openTest(t, Options{MaxBatch: 16}, nil)
	for i := 0; i < 1000; i += 10 {
		b.publish(t, recs(i, 10, 50))
	}
	waitFor(t, "all delivered", func() bool { return b.sink.count() == 1000 })
	requireSeq(t, b.sink.records(), 0, 1000, 50)
	require.Equal(t, Stats{}, b.Stats())
}

func TestPublishCopiesRecords(t *testing.T) {
	s := &testSink{failing: true}
	b := openTest(t, Options{}, s)
	rs := recs(0, 3, 20)
	b.publish(t, rs)
	for i := range rs {
		rs[i].Value[0] ^= 0xFF // the caller reuses its buffers
		rs[i].Key = nil
	}
	s.setFailing(false)
	waitFor(t, "delivered", func() bool { return s.count() == 3 })
	requireSeq(t, s.records(), 0, 3, 20)
}

func TestEmptyKeyAndValueDeliveredAsNil(t *testing.T) {
	dir := t.TempDir()
	s := &testSink{failing: true}
	b := openTest(t, Options{Dir: dir, MemoryRecords: 1}, s)
	in := []Record{{Key: []byte{}, Value: []byte("v")}, {Key: []byte("k"), Value: nil}, {}}
	b.publish(t, in) // the first in memory, the others on disk
	require.Equal(t, int64(2), b.Stats().DiskRecords)
	s.setFailing(false)
	waitFor(t, "delivered", func() bool { return s.count() == 3 })
	require.Equal(t, []Record{{Value: []byte("v")}, {Key: []byte("k")}, {}}, s.records())
}

// TestOrderAcrossTiers runs memory -> disk -> memory with a sink that
// fails for a while, and checks every record arrives once, in order.
func TestOrderAcrossTiers(t *testing.T) {
	dir := t.TempDir()
	s := &testSink{failing: true}
	b := openTest(t, Options{Dir: dir, MemoryRecords: 50, SegmentBytes: 8192, MaxBytes: 1 << 20, MaxBatch: 32}, s)

	for i := 0; i < 1000; i += 7 {
		b.publish(t, recs(i, min(7, 1000-i), 100))
	}
	st := b.Stats()
	require.Equal(t, int64(50), st.MemoryRecords)
	require.Equal(t, int64(950), st.DiskRecords)
	require.Greater(t, len(segFiles(t, dir)), 10, "records spread over several segments")
	require.Equal(t, segBytesOnDisk(t, dir), st.DiskBytes)
	waitFor(t, "sink failure seen", func() bool { return !b.Stats().SinkFailingSince.IsZero() })

	// While the sink recovers, keep publishing: these go to disk until the
	// disk tier is drained, then to memory again.
	s.setFailing(false)
	for i := 1000; i < 3000; i += 10 {
		b.publish(t, recs(i, 10, 100))
	}
	waitFor(t, "all delivered", func() bool { return s.count() == 3000 })
	waitFor(t, "drained segments deleted", func() bool { return len(segFiles(t, dir)) == 0 })
	require.Equal(t, Stats{}, b.Stats())

	// Back in memory: a new record goes to memory, not disk.
	s.setFailing(true)
	b.publish(t, recs(3000, 5, 100))
	require.Equal(t, int64(5), b.Stats().MemoryRecords)
	require.Empty(t, segFiles(t, dir))
	s.setFailing(false)
	waitFor(t, "all delivered", func() bool { return s.count() == 3005 })
	requireSeq(t, s.records(), 0, 3005, 100)
	require.Positive(t, value(b.met.sinkErrors))
	require.Equal(t, 3005.0, value(b.met.delivered))
}

// TestFlappingSinkWithConcurrentPublishers checks per-publisher order and
// exact counts while the sink fails on and off and the buffer moves
// between tiers.
func TestFlappingSinkWithConcurrentPublishers(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	down := false
	s := &testSink{failWhen: func(int, []Record) bool { mu.Lock(); defer mu.Unlock(); return down }}
	b := openTest(t, Options{Dir: dir, MemoryRecords: 64, SegmentBytes: 8192, MaxBytes: 1 << 20, MaxBatch: 50}, s)

	const publishers, perPublisher = 4, 3000
	stop := make(chan struct{})
	flapped := make(chan struct{})
	go func() {
		defer close(flapped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Millisecond):
			}
			mu.Lock()
			down = i%2 == 0
			mu.Unlock()
		}
	}()
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := 0; i < perPublisher; i += 3 {
				batch := recs(p*perPublisher+i, 3, 60)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := b.Publish(ctx, batch)
				cancel()
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-flapped
	mu.Lock()
	down = false
	mu.Unlock()
	waitFor(t, "all delivered", func() bool { return s.count() == publishers*perPublisher })

	next := make([]int, publishers)
	for p := range next {
		next[p] = p * perPublisher
	}
	for i, r := range s.records() {
		n := seqOf(r)
		p := n / perPublisher
		require.Equal(t, next[p], n, "record %d: publisher %d out of order", i, p)
		require.Equal(t, rec(n, 60), r)
		next[p]++
	}
	require.Positive(t, value(b.met.sinkErrors), "the sink did fail")
}

func TestRetryResendsTheSameBatch(t *testing.T) {
	s := &testSink{keepCalls: true, failWhen: func(call int, _ []Record) bool { return call == 2 || call == 3 }}
	b := openTest(t, Options{MaxBatch: 10}, s)
	b.publish(t, recs(0, 30, 20)) // taken under one lock: batches of 10
	waitFor(t, "all delivered", func() bool { return s.count() == 30 })
	s.mu.Lock()
	calls := s.batches
	s.mu.Unlock()
	require.Len(t, calls, 5)
	requireSeq(t, calls[0], 0, 10, 20)
	requireSeq(t, calls[1], 10, 10, 20)
	require.Equal(t, calls[1], calls[2], "a failed batch is retried as it was")
	require.Equal(t, calls[1], calls[3])
	requireSeq(t, calls[4], 20, 10, 20)
	requireSeq(t, s.records(), 0, 30, 20)
	require.Equal(t, 2.0, value(b.met.sinkErrors))
}

func TestFullAndErrFullMemoryOnly(t *testing.T) {
	s := &testSink{failing: true}
	b := openTest(t, Options{MemoryRecords: 10}, s)
	require.False(t, b.Full())
	b.publish(t, recs(0, 10, 30))
	require.True(t, b.Full())
	require.Equal(t, 1.0, value(b.met.full))
	waitFor(t, "sink failure seen", func() bool { return !b.Stats().SinkFailingSince.IsZero() })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := b.Publish(ctx, recs(10, 3, 30))
	require.ErrorIs(t, err, ErrFull)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var fe *FullError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, 0, fe.Accepted)
	require.Equal(t, 3, fe.Total)
	require.Equal(t, int64(10), fe.Stats.MemoryRecords)
	require.False(t, fe.Stats.SinkFailingSince.IsZero())
	require.Contains(t, err.Error(), "sink has been failing since")

	// A publisher waiting for room gets it once the sink recovers.
	done := make(chan error, 1)
	go func() { done <- b.Publish(context.Background(), recs(10, 5, 30)) }()
	waitFor(t, "publisher waiting", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.waiters == 1
	})
	require.True(t, b.Full())
	s.setFailing(false)
	require.NoError(t, <-done)
	waitFor(t, "all delivered", func() bool { return s.count() == 15 })
	require.False(t, b.Full())
	require.Equal(t, 0.0, value(b.met.full))
	requireSeq(t, s.records(), 0, 15, 30)
	require.True(t, b.Stats().SinkFailingSince.IsZero())
}

func TestFullAndErrFullWithDisk(t *testing.T) {
	dir := t.TempDir()
	s := &testSink{failing: true}
	const maxBytes = 16 << 10
	b := openTest(t, Options{Dir: dir, MemoryRecords: 20, MaxBytes: maxBytes, SegmentBytes: 4096}, s)
	const size = 200
	frame := int(frameLen([]byte("k0"), make([]byte, size)))
	accepted := 0
	var fe *FullError
	for fe == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		err := b.Publish(ctx, recs(accepted, 4, size))
		cancel()
		accepted += 4
		if err != nil {
			require.ErrorAs(t, err, &fe)
			require.ErrorIs(t, err, ErrFull)
			accepted += fe.Accepted - 4
		}
		require.LessOrEqual(t, segBytesOnDisk(t, dir), int64(maxBytes))
	}
	require.True(t, b.Full())
	require.Greater(t, accepted, 20, "the disk tier took records beyond memory")
	require.Less(t, accepted, maxBytes/frame+1, "memory records count against MaxBytes")
	require.Equal(t, int64(20), fe.Stats.MemoryRecords)
	require.Equal(t, int64(accepted-20), fe.Stats.DiskRecords)
	require.Equal(t, segBytesOnDisk(t, dir), fe.Stats.DiskBytes)

	s.setFailing(false)
	waitFor(t, "drained", func() bool { return s.count() == accepted })
	require.False(t, b.Full())
	b.publish(t, recs(accepted, 100, size))
	waitFor(t, "all delivered", func() bool { return s.count() == accepted+100 })
	requireSeq(t, s.records(), 0, accepted+100, size)
}

func TestPublishAfterCloseAndWaitersOnClose(t *testing.T) {
	s := &testSink{failing: true}
	b := openTest(t, Options{MemoryRecords: 2}, s)
	b.publish(t, recs(0, 2, 10))
	done := make(chan error, 1)
	go func() { done <- b.Publish(context.Background(), recs(2, 1, 10)) }()
	waitFor(t, "publisher waiting", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.waiters == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := b.Close(ctx)
	require.ErrorContains(t, err, "cannot keep 2 undelivered records")
	require.ErrorIs(t, <-done, ErrClosed)
	require.ErrorIs(t, b.Publish(context.Background(), recs(3, 1, 10)), ErrClosed)
	require.Equal(t, err, b.Close(context.Background()), "a second Close returns the first's result")
}

func TestCloseDeliversWhileItCan(t *testing.T) {
	s := &testSink{failing: true}
	b := openTest(t, Options{Dir: t.TempDir(), MemoryRecords: 10}, s)
	b.publish(t, recs(0, 25, 10))
	time.AfterFunc(20*time.Millisecond, func() { s.setFailing(false) })
	require.NoError(t, b.Close(context.Background()))
	requireSeq(t, s.records(), 0, 25, 10)
}

func TestTooLarge(t *testing.T) {
	b := openTest(t, Options{MemoryBytes: 1000}, nil)
	err := b.Publish(context.Background(), []Record{rec(0, 10), {Value: make([]byte, 1001)}})
	require.ErrorIs(t, err, ErrTooLarge)
	require.ErrorContains(t, err, "record 2 of 2")
	require.Equal(t, Stats{}, b.Stats(), "nothing of a refused batch is taken")

	d := openTest(t, Options{Dir: t.TempDir(), MaxBytes: 4096}, nil)
	require.ErrorIs(t, d.Publish(context.Background(), []Record{{Value: make([]byte, 4096-23)}}), ErrTooLarge)
	require.NoError(t, d.Publish(context.Background(), []Record{{Value: make([]byte, 4096-24)}}))
}

func TestOpenValidates(t *testing.T) {
	_, err := Open(Options{})
	require.ErrorContains(t, err, "Sink is required")
	_, err = Open(Options{Dir: t.TempDir(), MaxBytes: 100, Sink: (&testSink{}).sink})
	require.ErrorContains(t, err, "below the minimum")
}

func TestMetricsShareARegistry(t *testing.T) {
	b := openTest(t, Options{Name: "one"}, &testSink{failing: true})
	opts := Options{Name: "two", Sink: (&testSink{failing: true}).sink, Registerer: b.reg}
	two, err := Open(opts)
	require.NoError(t, err)
	b.publish(t, recs(0, 3, 10))
	require.NoError(t, two.Publish(context.Background(), recs(0, 5, 10)))
	require.Equal(t, 2, series(t, b.reg, "tocsin_spool_memory_records"))
	require.Equal(t, 3.0, value(b.met.memRecords))
	require.Equal(t, 5.0, value(two.met.memRecords))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, two.Close(ctx), "memory only: records are lost and Close says so")
}

func TestPublishDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	var delivered int
	var mu sync.Mutex
	b, err := Open(Options{MemoryRecords: 1 << 12, Sink: func(_ context.Context, r []Record) error {
		mu.Lock()
		delivered += len(r)
		mu.Unlock()
		return nil
	}})
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close(context.Background())) }()
	batch := recs(0, 16, 200)
	ctx := context.Background()
	require.NoError(t, b.Publish(ctx, batch)) // warm up the chunks
	allocs := testing.AllocsPerRun(200, func() {
		if err := b.Publish(ctx, batch); err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs)
}

func TestLockedDir(t *testing.T) {
	dir := t.TempDir()
	openTest(t, Options{Dir: dir}, nil)
	_, err := Open(Options{Dir: dir, Sink: (&testSink{}).sink})
	require.ErrorContains(t, err, "locked by another buffer")
}

func ExampleBuffer_Publish() {
	b, err := Open(Options{Sink: func(_ context.Context, recs []Record) error {
		for _, r := range recs {
			fmt.Printf("%s=%s\n", r.Key, r.Value)
		}
		return nil
	}})
	if err != nil {
		panic(err)
	}
	err = b.Publish(context.Background(), []Record{{Key: []byte("192.0.2.7"), Value: []byte(`{"event":1}`)}})
	if errors.Is(err, ErrFull) {
		fmt.Println("full")
	}
	_ = b.Close(context.Background())
	// Output: 192.0.2.7={"event":1}
}
