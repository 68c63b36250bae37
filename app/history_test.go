package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus/kafkabus"
	"github.com/tocsin-siem/tocsin/internal/testch"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
	"github.com/tocsin-siem/tocsin/ticketing/chstore"
)

func TestMain(m *testing.M) { os.Exit(testch.Main(m)) }

var errStoreDown = errors.New("connection refused")

// fakeEventStore is an eventWriter that records every call's events. When
// gate is set, each call waits for it first; the first fail calls fail.
type fakeEventStore struct {
	gate chan struct{}

	mu     sync.Mutex
	fail   int
	calls  int
	stored [][]schemas.Event
}

func (f *fakeEventStore) WriteEvents(ctx context.Context, evs []schemas.Event, _ string) error {
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail > 0 {
		f.fail--
		return errStoreDown
	}
	f.stored = append(f.stored, slices.Clone(evs))
	return nil
}

// flushes returns the IDs of each stored flush, sorted within it.
func (f *fakeEventStore) flushes() [][]uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([][]uint64, len(f.stored))
	for i, evs := range f.stored {
		for _, e := range evs {
			out[i] = append(out[i], e.ID)
		}
		slices.Sort(out[i])
	}
	return out
}

// idRange returns first, first+1, ... n of them.
func idRange(first, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(first + i)
	}
	return out
}

var historyT0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// historyEvent is an event as the ingest stage would put on the topic.
func historyEvent(id uint64) schemas.Event {
	ts := historyT0.Add(time.Duration(id) * time.Millisecond)
	var e schemas.Event
	e.ID = id
	e.Timestamp = ts
	e.Event = schemas.EventInfo{Kind: "event", Category: schemas.CategoryAuthentication, Action: schemas.ActionSSHLogin,
		Outcome: schemas.OutcomeFailure, Reason: "wrong password", Dataset: "sshd", Count: 1, Created: ts,
		Original: fmt.Sprintf("Mar  1 10:00:00 web1 sshd[%d]: Failed password for root from 192.0.2.%d port %d ssh2", id%30000, id%250, 1024+id%60000)}
	e.Source = schemas.Endpoint{IP: fmt.Sprintf("192.0.2.%d", id%250), Port: int(1024 + id%60000)}
	e.User.Name = "root"
	e.Host.Name = "web1"
	e.Process = schemas.Process{Name: "sshd", PID: int(id % 30000)}
	e.Message = "Failed password for root"
	return e
}

// eventRecords returns n encoded events with IDs from first, as a partition's
// batch.
func eventRecords(partition, first, n int) []kafkabus.Message {
	msgs := make([]kafkabus.Message, n)
	for i := range msgs {
		e := historyEvent(uint64(first + i))
		msgs[i] = kafkabus.Message{Topic: "tocsin.events", Partition: partition, Offset: int64(first + i), Value: wire.AppendEvent(nil, &e)}
	}
	return msgs
}

// startHistoryWriter returns a writer to st whose run goes until the test ends
// or stop is called; stop returns once run did.
func startHistoryWriter(t testing.TB, st eventWriter, o historyOptions, reg prometheus.Registerer, log zerolog.Logger) (w *historyWriter, stop func()) {
	t.Helper()
	w, err := newHistoryWriter(st, o, reg, log)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		w.run(ctx)
	}()
	stop = func() {
		cancel()
		<-ran
	}
	t.Cleanup(stop)
	return w, stop
}

// writeConcurrently runs one write per batch concurrently and returns their errors.
func writeConcurrently(ctx context.Context, w *historyWriter, batches ...[]kafkabus.Message) []error {
	errs := make([]error, len(batches))
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Go(func() { errs[i] = w.write(ctx, b) })
	}
	wg.Wait()
	return errs
}

func (w *historyWriter) heldRows() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.held
}

// metricValue returns the value of a gauge or counter, or the sample count and
// sum of a histogram, named name in reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) (value float64, count uint64) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM:
			return m.GetHistogram().GetSampleSum(), m.GetHistogram().GetSampleCount()
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), 0
		default:
			return m.GetGauge().GetValue(), 0
		}
	}
	t.Fatalf("no metric %s", name)
	return 0, 0
}

func TestHistoryGroupsConcurrentBatchesIntoOneFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeEventStore{}
		reg := prometheus.NewRegistry()
		w, _ := startHistoryWriter(t, f, historyOptions{FlushRows: 500, FlushWait: time.Minute}, reg, zerolog.Nop())
		var batches [][]kafkabus.Message
		for p := range 10 {
			batches = append(batches, eventRecords(p, p*50, 50))
		}
		start := time.Now()
		for _, err := range writeConcurrently(t.Context(), w, batches...) {
			require.NoError(t, err)
		}
		require.Zero(t, time.Since(start), "the 500th row started the flush; no timer ran")
		require.Equal(t, [][]uint64{idRange(0, 500)}, f.flushes())

		sum, n := metricValue(t, reg, "tocsin_history_flush_rows")
		require.Equal(t, uint64(1), n)
		require.Equal(t, 500.0, sum)
		_, n = metricValue(t, reg, "tocsin_history_flush_seconds")
		require.Equal(t, uint64(1), n)
		pending, _ := metricValue(t, reg, "tocsin_history_pending_rows")
		require.Zero(t, pending)
	})
}

// TestHistoryFlushesWhenTheOldestBatchIsDue: below FlushRows, the flush
// starts FlushWait after the oldest batch came, and takes the younger
// ones with it.
func TestHistoryFlushesWhenTheOldestBatchIsDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeEventStore{}
		w, _ := startHistoryWriter(t, f, historyOptions{FlushWait: time.Second}, nil, zerolog.Nop())
		start := time.Now()
		var took [2]time.Duration
		var wg sync.WaitGroup
		wg.Go(func() {
			require.NoError(t, w.write(t.Context(), eventRecords(0, 0, 3)))
			took[0] = time.Since(start)
		})
		time.Sleep(400 * time.Millisecond)
		wg.Go(func() {
			require.NoError(t, w.write(t.Context(), eventRecords(1, 3, 2)))
			took[1] = time.Since(start)
		})
		wg.Wait()
		require.Equal(t, [2]time.Duration{time.Second, time.Second}, took)
		require.Equal(t, [][]uint64{idRange(0, 5)}, f.flushes())

		// A lone batch later waits its own FlushWait.
		start = time.Now()
		require.NoError(t, w.write(t.Context(), eventRecords(0, 5, 1)))
		require.Equal(t, time.Second, time.Since(start))
		require.Equal(t, [][]uint64{idRange(0, 5), idRange(5, 1)}, f.flushes())
	})
}

// TestHistoryFlushesABatchThatIsBehindAtOnce: a batch whose newest
// record is older than FlushWait does not wait; a fresh batch, or one
// without Kafka times, does.
func TestHistoryFlushesABatchThatIsBehindAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		age  time.Duration // of the newest record; 0: no time
		took time.Duration
	}{
		{"behind", 1500 * time.Millisecond, 0},
		{"fresh", 200 * time.Millisecond, time.Second},
		{"no time", 0, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeEventStore{}
				w, _ := startHistoryWriter(t, f, historyOptions{FlushWait: time.Second}, nil, zerolog.Nop())
				msgs := eventRecords(0, 0, 20)
				if tc.age > 0 {
					for i := range msgs {
						msgs[i].Time = time.Now().Add(-tc.age - time.Duration(len(msgs)-i)*time.Millisecond)
					}
				}
				start := time.Now()
				require.NoError(t, w.write(t.Context(), msgs))
				require.Equal(t, tc.took, time.Since(start))
				require.Equal(t, [][]uint64{idRange(0, 20)}, f.flushes())
			})
		})
	}
}

// TestHistoryFailedFlushFailsEveryWaiter: the store's error reaches every
// batch of the flush, and the batches handed in again are stored.
func TestHistoryFailedFlushFailsEveryWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeEventStore{fail: 1}
		reg := prometheus.NewRegistry()
		// RetryFor below the first back-off: one attempt per flush.
		w, _ := startHistoryWriter(t, f, historyOptions{FlushRows: 100, RetryFor: time.Millisecond}, reg, zerolog.Nop())
		a, b := eventRecords(0, 0, 50), eventRecords(1, 50, 50)
		for _, err := range writeConcurrently(t.Context(), w, a, b) {
			require.ErrorIs(t, err, errStoreDown)
		}
		require.Empty(t, f.flushes())
		failures, _ := metricValue(t, reg, "tocsin_history_flush_failures_total")
		require.Equal(t, 1.0, failures)
		require.Zero(t, w.heldRows(), "a failed flush holds no rows")

		// ConsumeBatches hands the same batches in again.
		for _, err := range writeConcurrently(t.Context(), w, a, b) {
			require.NoError(t, err)
		}
		require.Equal(t, [][]uint64{idRange(0, 100)}, f.flushes())
		require.Equal(t, 2, f.calls)
	})
}

// TestHistoryFlushRetriesTheStore: within RetryFor a flush retries with
// back-off (retryStore), so a short outage does not reach the consumer;
// past it, the waiters get the error.
func TestHistoryFlushRetriesTheStore(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fail  int
		calls int
		took  time.Duration
		err   error
	}{
		// Attempts at 0, 0.1 s and 0.3 s.
		{name: "recovers", fail: 2, calls: 3, took: 300 * time.Millisecond},
		// Attempts at 0, 0.1, 0.3, 0.7, 1.5, 3.1 and 6.3 s; the next
		// would be at 12.7 s, past RetryFor.
		{name: "gives up", fail: 100, calls: 7, took: 10 * time.Second, err: errStoreDown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeEventStore{fail: tc.fail}
				w, _ := startHistoryWriter(t, f, historyOptions{FlushRows: 10, RetryFor: 10 * time.Second}, nil, zerolog.Nop())
				start := time.Now()
				err := w.write(t.Context(), eventRecords(0, 0, 10))
				require.Equal(t, tc.took, time.Since(start))
				require.Equal(t, tc.calls, f.calls)
				if tc.err != nil {
					require.ErrorIs(t, err, tc.err)
				} else {
					require.NoError(t, err)
					require.Equal(t, [][]uint64{idRange(0, 10)}, f.flushes())
				}
			})
		})
	}
}

// TestHistoryBoundsPendingRows: while the store is slow, writes beyond
// MaxPending rows wait for a flush to end.
func TestHistoryBoundsPendingRows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeEventStore{gate: make(chan struct{})}
		reg := prometheus.NewRegistry()
		w, _ := startHistoryWriter(t, f, historyOptions{FlushRows: 100, MaxPending: 200}, reg, zerolog.Nop())
		var returned sync.WaitGroup
		var mu sync.Mutex
		done := 0
		for p := range 8 {
			returned.Go(func() {
				require.NoError(t, w.write(t.Context(), eventRecords(p, p*50, 50)))
				mu.Lock()
				done++
				mu.Unlock()
			})
		}
		synctest.Wait()
		// Both flushers wait in the store with 100 rows each, and four
		// writers wait for room.
		require.Equal(t, 200, w.heldRows())
		pending, _ := metricValue(t, reg, "tocsin_history_pending_rows")
		require.Equal(t, 200.0, pending)
		w.mu.Lock()
		queued := w.queued
		w.mu.Unlock()
		require.Zero(t, queued)
		require.Zero(t, done)

		close(f.gate)
		returned.Wait()
		var all []uint64
		for _, fl := range f.flushes() {
			require.Len(t, fl, 100)
			all = append(all, fl...)
		}
		slices.Sort(all)
		require.Equal(t, idRange(0, 400), all)
		require.Zero(t, w.heldRows())

		// A batch larger than the bound goes in alone.
		require.NoError(t, w.write(t.Context(), eventRecords(0, 400, 300)))
		require.Len(t, f.flushes(), 5)
		require.Equal(t, idRange(400, 300), f.flushes()[4])
	})
}

// TestHistoryCancelledWaiter: a waiter whose context ends returns at once
// without disturbing the other batches; its rows are dropped when still
// queued and stored when a flush has them already.
func TestHistoryCancelledWaiter(t *testing.T) {
	t.Run("queued", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeEventStore{}
			w, _ := startHistoryWriter(t, f, historyOptions{FlushWait: time.Second}, nil, zerolog.Nop())
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			wg.Go(func() { require.ErrorIs(t, w.write(ctx, eventRecords(0, 0, 50)), context.Canceled) })
			wg.Go(func() { require.NoError(t, w.write(t.Context(), eventRecords(1, 100, 50))) })
			time.Sleep(500 * time.Millisecond)
			cancel()
			synctest.Wait()
			require.Equal(t, 50, w.heldRows(), "the cancelled batch left the queue")
			wg.Wait()
			require.Equal(t, [][]uint64{idRange(100, 50)}, f.flushes())
		})
	})
	t.Run("in flight", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &fakeEventStore{gate: make(chan struct{})}
			w, _ := startHistoryWriter(t, f, historyOptions{FlushRows: 100}, nil, zerolog.Nop())
			ctx, cancel := context.WithCancel(t.Context())
			cancelled := make(chan error)
			go func() { cancelled <- w.write(ctx, eventRecords(0, 0, 50)) }()
			var wg sync.WaitGroup
			wg.Go(func() { require.NoError(t, w.write(t.Context(), eventRecords(1, 50, 50))) })
			synctest.Wait() // the flush of both waits in the store
			cancel()
			require.ErrorIs(t, <-cancelled, context.Canceled)
			close(f.gate)
			wg.Wait()
			require.Equal(t, [][]uint64{idRange(0, 100)}, f.flushes(), "the flush stored the cancelled batch too")
		})
	})
}

// TestHistoryStopFailsWaiters: when run ends, queued batches and writers
// waiting for room get an error, later writes fail at once, and no
// goroutine is left (synctest.Test waits for them all).
func TestHistoryStopFailsWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeEventStore{}
		w, stop := startHistoryWriter(t, f, historyOptions{FlushRows: 1000, MaxPending: 1000, FlushWait: time.Minute}, nil, zerolog.Nop())
		errs := make(chan error, 3)
		for p := range 3 { // two are queued, one waits for room
			go func() { errs <- w.write(t.Context(), eventRecords(p, p*400, 400)) }()
		}
		synctest.Wait()
		require.Equal(t, 800, w.heldRows())
		stop()
		for range 3 {
			err := <-errs
			require.ErrorIs(t, err, context.Canceled)
			require.ErrorContains(t, err, "the event history writer stopped")
		}
		require.ErrorContains(t, w.write(t.Context(), eventRecords(0, 0, 1)), "the event history writer stopped")
		require.Empty(t, f.flushes())
		require.Zero(t, w.heldRows())
	})
}

// TestHistorySkipsUndecodableRecords: a record that does not decode is
// logged with its place and skipped; the others are stored.
func TestHistorySkipsUndecodableRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeEventStore{}
		var logs bytes.Buffer
		w, _ := startHistoryWriter(t, f, historyOptions{FlushRows: 2}, nil, zerolog.New(&logs))
		msgs := eventRecords(3, 0, 3)
		msgs[1].Value = []byte("not an event")
		require.NoError(t, w.write(t.Context(), msgs))
		require.Equal(t, [][]uint64{{0, 2}}, f.flushes())
		require.Contains(t, logs.String(), `"partition":3,"offset":1,"message":"skipping an event record that does not decode"`)

		require.NoError(t, w.write(t.Context(), msgs[1:2]), "a batch with nothing to store is done")
		require.Len(t, f.flushes(), 1)
		require.Zero(t, w.heldRows(), "the undecodable records gave their room back")
	})
}

func TestHistoryOptions(t *testing.T) {
	o, err := historyOptions{}.withDefaults()
	require.NoError(t, err)
	require.Equal(t, historyOptions{FlushRows: 20_000, FlushWait: time.Second, MaxPending: 80_000, RetryFor: 10 * time.Second, Flushers: 2}, o)
	_, err = historyOptions{FlushRows: 100, MaxPending: 50}.withDefaults()
	require.ErrorContains(t, err, "max pending 50 is below flush rows 100")
	_, err = historyOptions{FlushWait: -time.Second}.withDefaults()
	require.ErrorContains(t, err, "must not be negative")
}

// openHistoryStore opens a ClickHouse store on a fresh database of the
// test server.
func openHistoryStore(t testing.TB, reg prometheus.Registerer) *chstore.Store {
	t.Helper()
	st, err := chstore.Open(t.Context(), chstore.Options{Addr: []string{testch.Addr(t)}, Database: testch.Database(t), Registerer: reg})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestHistoryStoresInClickHouse writes through a real server from eight
// partitions at once and counts what arrived.
func TestHistoryStoresInClickHouse(t *testing.T) {
	reg := prometheus.NewRegistry()
	st := openHistoryStore(t, reg)
	w, _ := startHistoryWriter(t, st, historyOptions{FlushRows: 400, FlushWait: 200 * time.Millisecond}, reg, zerolog.Nop())
	const partitions, batches, size = 8, 4, 50
	var wg sync.WaitGroup
	for p := range partitions {
		wg.Go(func() {
			for b := range batches {
				require.NoError(t, w.write(t.Context(), eventRecords(p, (p*batches+b)*size, size)))
			}
		})
	}
	wg.Wait()
	n, err := st.CountEvents(t.Context(), historyT0, historyT0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(partitions*batches*size), n)
	rows, flushes := metricValue(t, reg, "tocsin_history_flush_rows")
	require.Equal(t, float64(partitions*batches*size), rows)
	require.Less(t, flushes, uint64(partitions*batches), "batches shared INSERTs")

	// A batch delivered again folds into the rows it copies.
	require.NoError(t, w.write(t.Context(), eventRecords(0, 0, size)))
	n, err = st.CountEvents(t.Context(), historyT0, historyT0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(partitions*batches*size), n)
}

// countingStore counts the calls that reached the store and their rows.
type countingStore struct {
	st            eventWriter
	mu            sync.Mutex
	inserts, rows int
}

func (c *countingStore) WriteEvents(ctx context.Context, evs []schemas.Event, source string) error {
	err := c.st.WriteEvents(ctx, evs, source)
	c.mu.Lock()
	c.inserts++
	c.rows += len(evs)
	c.mu.Unlock()
	return err
}

// directWrite is the writer before group commit: each partition batch is
// its own INSERT.
func directWrite(st eventWriter) func(ctx context.Context, msgs []kafkabus.Message) error {
	return func(ctx context.Context, msgs []kafkabus.Message) error {
		evs := make([]schemas.Event, len(msgs))
		n := 0
		for i := range msgs {
			if wire.DecodeEvent(msgs[i].Value, &evs[n]) == nil {
				n++
			}
		}
		evs = evs[:n]
		return retryStore(ctx, zerolog.Nop(), "history", n, func() error { return st.WriteEvents(ctx, evs, "") })
	}
}

// BenchmarkHistoryOfferedLoad feeds partitions at a fixed total rate for
// four seconds, as a live events topic does: a partition's consumer takes
// what arrived since its last batch (at least 50 records, at most a
// fetch), so batches stay small while the store keeps up. A backlog has
// every record there from the start, a minute old; "backlog-1x2000" is
// one partition whose fetches hold 2,000 records (large events). It
// reports the rows per INSERT, the rows per partition batch, the rows
// stored per second and (with a rate) how long after the last arrival the
// last row was stored, before group commit (direct) and with it (group,
// default options). One round of each:
//
//	go test ./app -run '^$' -bench HistoryOfferedLoad -benchtime 1x
func BenchmarkHistoryOfferedLoad(b *testing.B) {
	const arrivals = 4
	for _, sc := range []struct {
		name                    string
		partitions, rate, fetch int
	}{
		{"rate=4000", 8, 4_000, 20_000},
		{"rate=20000", 8, 20_000, 20_000},
		{"rate=60000", 8, 60_000, 20_000},
		{"backlog", 8, 0, 20_000},
		{"backlog-1x2000", 1, 0, 2_000},
	} {
		for _, mode := range []string{"direct", "group"} {
			b.Run(mode+"/"+sc.name, func(b *testing.B) {
				perPartition := sc.rate / sc.partitions * arrivals
				if sc.rate == 0 {
					perPartition = 320_000 / sc.partitions
				}
				recs := make([][]kafkabus.Message, sc.partitions)
				for p := range recs {
					recs[p] = eventRecords(p, p*perPartition, perPartition)
				}
				for b.Loop() {
					st := &countingStore{st: openHistoryStore(b, nil)}
					write := directWrite(st)
					if mode == "group" {
						w, _ := startHistoryWriter(b, st, historyOptions{}, nil, zerolog.Nop())
						write = w.write
					}
					took, batches := offeredLoad(b, write, recs, sc.rate/sc.partitions, sc.fetch)
					b.ReportMetric(float64(st.rows)/float64(st.inserts), "rows/insert")
					b.ReportMetric(float64(st.rows)/float64(batches), "rows/batch")
					b.ReportMetric(float64(st.rows)/took.Seconds(), "rows/s")
					if sc.rate > 0 {
						b.ReportMetric((took - arrivals*time.Second).Seconds(), "s-behind")
					}
				}
			})
		}
	}
}

// offeredLoad runs one consumer per partition over recs, whose records
// arrive at rate per second and partition (all at once, a minute ago,
// when 0) and are fetched at most fetch at a time. It returns how long
// until all were stored and how many batches it took.
func offeredLoad(b *testing.B, write func(context.Context, []kafkabus.Message) error, recs [][]kafkabus.Message, rate, fetch int) (time.Duration, int) {
	const minBatch = 50
	start := time.Now()
	// at is when record i of a partition arrived in Kafka.
	at := func(i int) time.Time {
		if rate == 0 {
			return start.Add(-time.Minute)
		}
		return start.Add(time.Duration(float64(i+1) / float64(rate) * float64(time.Second)))
	}
	arrived := func(total int) int {
		if rate == 0 {
			return total
		}
		return min(total, int(time.Since(start).Seconds()*float64(rate)))
	}
	var mu sync.Mutex
	batches := 0
	var wg sync.WaitGroup
	for p := range recs {
		wg.Go(func() {
			msgs := recs[p]
			for done := 0; done < len(msgs); {
				avail := arrived(len(msgs)) - done
				if avail < minBatch && done+avail < len(msgs) {
					time.Sleep(time.Until(at(done + minBatch - 1)))
					continue
				}
				n := min(avail, fetch)
				batch := msgs[done : done+n]
				for i := range batch {
					batch[i].Time = at(done + i)
				}
				if err := write(b.Context(), batch); err != nil {
					b.Error(err)
					return
				}
				done += n
				mu.Lock()
				batches++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return time.Since(start), batches
}

// BenchmarkHistorySmallBatches has eight partitions write batches of
// exactly 50 records back to back for three seconds, a consumer whose
// batches cannot grow: before group commit (direct), with FlushRows at
// one batch per partition (group-400), and with the defaults (group),
// where every flush waits FlushWait for rows that cannot come. It
// reports rows per INSERT and rows stored per second. One round:
//
//	go test ./app -run '^$' -bench HistorySmallBatches -benchtime 1x
func BenchmarkHistorySmallBatches(b *testing.B) {
	const partitions, size, most = 8, 50, 40_000
	const runFor = 3 * time.Second
	recs := make([][]kafkabus.Message, partitions)
	for p := range recs {
		recs[p] = eventRecords(p, p*most, most)
	}
	for _, mode := range []string{"direct", "group-400", "group"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				st := &countingStore{st: openHistoryStore(b, nil)}
				write := directWrite(st)
				switch mode {
				case "group-400":
					w, _ := startHistoryWriter(b, st, historyOptions{FlushRows: partitions * size}, nil, zerolog.Nop())
					write = w.write
				case "group":
					w, _ := startHistoryWriter(b, st, historyOptions{}, nil, zerolog.Nop())
					write = w.write
				}
				start := time.Now()
				var wg sync.WaitGroup
				for p := range recs {
					wg.Go(func() {
						for done := 0; done < most && time.Since(start) < runFor; done += size {
							if err := write(b.Context(), recs[p][done:done+size]); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(st.rows)/float64(st.inserts), "rows/insert")
				b.ReportMetric(float64(st.rows)/time.Since(start).Seconds(), "rows/s")
			}
		})
	}
}
