package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus/kafkabus"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
)

// Group commit defaults of the event history writer.
const (
	defaultHistoryFlushRows = 20_000
	defaultHistoryFlushWait = time.Second
	defaultHistoryRetryFor  = 10 * time.Second
	defaultHistoryFlushers  = 2
)

// eventWriter stores events in the event history; *chstore.Store is one.
type eventWriter interface {
	WriteEvents(ctx context.Context, evs []schemas.Event, source string) error
}

// historyOptions tune the group commit of the event history.
type historyOptions struct {
	// FlushRows starts a flush as soon as this many rows wait. A flush
	// takes whole batches, oldest first, up to this many rows (or one
	// batch that is larger on its own). Default 20,000.
	FlushRows int
	// FlushWait starts a flush when the oldest waiting batch has waited
	// this long, however few rows wait. A batch whose newest record was
	// already older than FlushWait when it came (the consumer is behind,
	// so waiting would gather nothing Kafka does not hold already)
	// starts a flush at once. Default 1 s.
	FlushWait time.Duration
	// MaxPending bounds the rows held, waiting or being flushed: a write
	// that would go beyond it blocks until a flush ends (a batch larger
	// than the bound on its own waits until nothing else is held).
	// Default 4 x FlushRows; at least FlushRows.
	MaxPending int
	// RetryFor is how long a flush retries a failing store, with
	// back-off, before it fails its waiters, whose batches the consumer
	// then hands in again. Default 10 s.
	RetryFor time.Duration
	// Flushers is how many flushes may run at once. Default 2.
	Flushers int
}

func (o historyOptions) withDefaults() (historyOptions, error) {
	if o.FlushRows < 0 || o.MaxPending < 0 || o.FlushWait < 0 || o.RetryFor < 0 || o.Flushers < 0 {
		return o, errors.New("event history: flush rows, flush wait, max pending, retry time and flushers must not be negative")
	}
	if o.FlushRows == 0 {
		o.FlushRows = defaultHistoryFlushRows
	}
	if o.FlushWait == 0 {
		o.FlushWait = defaultHistoryFlushWait
	}
	if o.MaxPending == 0 {
		o.MaxPending = 4 * o.FlushRows
	}
	if o.RetryFor == 0 {
		o.RetryFor = defaultHistoryRetryFor
	}
	if o.Flushers == 0 {
		o.Flushers = defaultHistoryFlushers
	}
	if o.MaxPending < o.FlushRows {
		return o, fmt.Errorf("event history: max pending %d is below flush rows %d; raise it", o.MaxPending, o.FlushRows)
	}
	return o, nil
}

// historyWriter stores every event of the events topic in the event
// history with group commit: write is called for several partitions at
// once, hands its batch to a shared queue and waits, and run flushes the
// queue in one WriteEvents call (one INSERT) when FlushRows rows wait or
// the oldest batch has waited FlushWait. Every waiter of a flush gets its
// result: nil once its rows are stored, or the store's error, so that the
// consumer retries the batch and commits no offset it did not store.
// While a partition's consumer waits, its records gather in Kafka, so on
// a live topic its next batch holds about FlushWait's worth of them.
//
// A consumer that is behind (a backlog, a restart, a store outage just
// ended) gains nothing by waiting: the next batch is as large as a fetch
// allows already. A batch whose newest record Kafka got more than
// FlushWait before it is queued is therefore flushed at once, with
// whatever else waits; otherwise a partition whose fetches hold fewer
// than FlushRows rows (large events) would store one fetch per
// FlushWait. The age comes from the record's Kafka timestamp, so a
// producer clock running behind this host's by more than FlushWait
// makes every batch look behind: flushes then start as soon as a batch
// comes, and an INSERT holds the batches that queued while the previous
// ones were written, never fewer rows than without group commit.
//
// Redelivery: a flush whose INSERT failed may have stored part or all of
// its rows; its batches come again from Kafka and are written again. The
// events table folds rows with the same (timestamp, id) when its parts
// merge (see chstore.WriteEvents), so copies exist on disk until then and
// a count must use FINAL or uniqExact(id), as it must for any redelivery.
// A waiter whose context ends returns the context's error at once: its
// batch is withdrawn when no flush has taken it yet, and is otherwise
// stored by that flush anyway; either way its offsets stay uncommitted
// and the same rule covers the copy written when it comes again.
type historyWriter struct {
	st  eventWriter
	o   historyOptions
	log zerolog.Logger
	met historyMetrics

	// kick wakes an idle flusher when a batch is queued or left queued.
	kick chan struct{}
	// evPool holds event slices for write, given back after their flush.
	evPool sync.Pool

	mu sync.Mutex
	// queue holds the batches no flush has taken, oldest first, with
	// queued rows in all, behind of them marked behind.
	queue  []*historyBatch
	queued int
	behind int
	// held counts the rows queued or being flushed, bounded by
	// MaxPending.
	held int
	// freed is closed, and replaced, whenever held goes down, for the
	// writers that wait for room.
	freed chan struct{}
	// stopped is set when run ended; every later write fails with it.
	stopped error
}

// historyBatch is one write's events and the channel for its result.
type historyBatch struct {
	evs []schemas.Event
	// newest is the Kafka time of the batch's last record, zero when
	// unknown.
	newest time.Time
	at     time.Time // when it was queued
	// behind marks a batch whose newest record was older than FlushWait
	// when it was queued.
	behind bool
	done   chan error
}

// newHistoryWriter returns a writer to st and registers its metrics on
// reg (none when nil). Its run must be running for writes to complete.
func newHistoryWriter(st eventWriter, o historyOptions, reg prometheus.Registerer, log zerolog.Logger) (*historyWriter, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	met := newHistoryMetrics()
	if err := met.register(reg); err != nil {
		return nil, fmt.Errorf("cannot register the event history metrics: %w", err)
	}
	return &historyWriter{st: st, o: o, log: log, met: met, kick: make(chan struct{}, 1), freed: make(chan struct{})}, nil
}

// consume runs the history consumer group with this writer until ctx
// ends or the group fails, and returns after the flusher stopped.
func (w *historyWriter) consume(ctx context.Context, kc kafkabus.Config, opts kafkabus.GroupOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	flusher := make(chan struct{})
	go func() {
		defer close(flusher)
		w.run(ctx)
	}()
	err := kafkabus.ConsumeBatches(ctx, kc, opts, w.write)
	cancel()
	<-flusher
	return err
}

// write stores the events of msgs, for kafkabus.ConsumeBatches: it returns
// nil only once they are stored. A record that does not decode is logged
// and skipped (it can never decode), not retried.
func (w *historyWriter) write(ctx context.Context, msgs []kafkabus.Message) error {
	// Room is taken before decoding, so that the bound holds for decoded
	// events too; what does not decode is given back at enqueue.
	if err := w.reserve(ctx, len(msgs)); err != nil {
		return err
	}
	evs := w.events(len(msgs))
	n := 0
	for i := range msgs {
		if err := wire.DecodeEvent(msgs[i].Value, &evs[n]); err == nil {
			n++
		} else {
			w.log.Error().Err(err).Str("topic", msgs[i].Topic).Int("partition", msgs[i].Partition).Int64("offset", msgs[i].Offset).
				Msg("skipping an event record that does not decode")
		}
	}
	b := &historyBatch{evs: evs[:n], newest: msgs[len(msgs)-1].Time, done: make(chan error, 1)}
	if !w.enqueue(b, len(msgs)) {
		w.recycle(evs)
		return w.stoppedErr()
	}
	select {
	case err := <-b.done:
		return err
	case <-ctx.Done():
	}
	if w.withdraw(b) {
		w.recycle(b.evs)
		return ctx.Err()
	}
	select {
	case err := <-b.done: // the flush ended as ctx did
		return err
	default:
		return ctx.Err()
	}
}

// events returns a zeroed slice of n events, from the pool when it has one
// large enough.
func (w *historyWriter) events(n int) []schemas.Event {
	if p, ok := w.evPool.Get().(*[]schemas.Event); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]schemas.Event, n)
}

// recycle gives evs back to the pool, without the strings it refers to.
func (w *historyWriter) recycle(evs []schemas.Event) {
	clear(evs)
	evs = evs[:0]
	w.evPool.Put(&evs)
}

// reserve waits until n more rows fit in MaxPending (or nothing is
// held) and counts them held; it fails when ctx ends or the writer
// stopped first.
func (w *historyWriter) reserve(ctx context.Context, n int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.stopped == nil && w.held > 0 && w.held+n > w.o.MaxPending {
		freed := w.freed
		w.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			w.mu.Lock()
			return ctx.Err()
		}
		w.mu.Lock()
	}
	if w.stopped != nil {
		return w.stopped
	}
	w.held += n
	w.met.pending.Set(float64(w.held))
	return nil
}

// enqueue queues b in the room reserved for its records and gives back
// the rest; it returns false, giving back all, when b is empty or the
// writer stopped.
func (w *historyWriter) enqueue(b *historyBatch, reserved int) bool {
	n := len(b.evs)
	w.mu.Lock()
	if n == 0 || w.stopped != nil {
		w.release(reserved)
		w.mu.Unlock()
		return false
	}
	if n < reserved {
		w.release(reserved - n)
	}
	b.at = time.Now()
	if !b.newest.IsZero() && b.at.Sub(b.newest) > w.o.FlushWait {
		b.behind = true
		w.behind++
	}
	w.queue = append(w.queue, b)
	w.queued += n
	w.mu.Unlock()
	w.wake()
	return true
}

// stoppedErr is the error of a stopped writer, or nil.
func (w *historyWriter) stoppedErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stopped
}

// withdraw takes b out of the queue when no flush has taken it, and says
// whether it did.
func (w *historyWriter) withdraw(b *historyBatch) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, q := range w.queue {
		if q == b {
			copy(w.queue[i:], w.queue[i+1:])
			w.queue[len(w.queue)-1] = nil
			w.queue = w.queue[:len(w.queue)-1]
			w.queued -= len(b.evs)
			if b.behind {
				w.behind--
			}
			w.release(len(b.evs))
			return true
		}
	}
	return false
}

// release returns n held rows and wakes the writers waiting for room.
// w.mu must be held.
func (w *historyWriter) release(n int) {
	w.held -= n
	w.met.pending.Set(float64(w.held))
	close(w.freed)
	w.freed = make(chan struct{})
}

// run flushes the queue with Flushers goroutines until ctx ends, then
// fails the batches still queued and every later write. It is called
// once.
func (w *historyWriter) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range w.o.Flushers {
		wg.Go(func() { w.flushLoop(ctx) })
	}
	wg.Wait()
	w.stop(ctx)
}

// flushScratch is one flusher's memory, kept between its flushes: the
// batches it took and their rows side by side.
type flushScratch struct {
	taken []*historyBatch
	rows  []schemas.Event
}

// flushLoop is one flusher: it waits for a due flush, runs it, and goes
// on until ctx ends.
func (w *historyWriter) flushLoop(ctx context.Context) {
	var sc flushScratch
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for ctx.Err() == nil {
		wait := w.next(&sc, time.Now())
		if len(sc.taken) > 0 {
			w.flush(ctx, &sc)
			continue
		}
		var due <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			due = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-due:
		}
	}
}

// next moves the batches of the next flush into sc.taken when one is
// due, or says how long until the oldest batch is due (0: nothing is
// queued).
func (w *historyWriter) next(sc *flushScratch, now time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return 0
	}
	if w.queued < w.o.FlushRows && w.behind == 0 {
		if wait := w.queue[0].at.Add(w.o.FlushWait).Sub(now); wait > 0 {
			return wait
		}
	}
	rows, k := 0, 0
	for k < len(w.queue) && (k == 0 || rows+len(w.queue[k].evs) <= w.o.FlushRows) {
		rows += len(w.queue[k].evs)
		if w.queue[k].behind {
			w.behind--
		}
		k++
	}
	sc.taken = append(sc.taken[:0], w.queue[:k]...)
	rest := copy(w.queue, w.queue[k:])
	clear(w.queue[rest:])
	w.queue = w.queue[:rest]
	w.queued -= rows
	if rest > 0 {
		w.wake() // another flusher may take the rest
	}
	return 0
}

// wake tells one idle flusher to look at the queue again.
func (w *historyWriter) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// flush writes the batches in sc.taken in one WriteEvents call, retrying
// with back-off for up to RetryFor while ctx lasts, and hands every batch
// the result.
func (w *historyWriter) flush(ctx context.Context, sc *flushScratch) {
	rows := sc.rows[:0]
	for _, b := range sc.taken {
		rows = append(rows, b.evs...)
	}
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, w.o.RetryFor)
	err := retryStore(rctx, w.log, "history", len(rows), func() error { return w.st.WriteEvents(ctx, rows, "") })
	cancel()
	w.met.flushSeconds.Observe(time.Since(start).Seconds())
	w.met.flushRows.Observe(float64(len(rows)))
	if err != nil {
		w.met.flushFailures.Inc()
	}
	clear(rows)
	sc.rows = rows[:0]
	w.mu.Lock()
	w.release(len(rows))
	w.mu.Unlock()
	for _, b := range sc.taken {
		b.done <- err
		w.recycle(b.evs)
	}
	clear(sc.taken)
	sc.taken = sc.taken[:0]
}

// stop fails the queued batches and every later write with the reason
// ctx ended; their offsets stay uncommitted and Kafka delivers them again.
func (w *historyWriter) stop(ctx context.Context) {
	err := fmt.Errorf("the event history writer stopped: %w", context.Cause(ctx))
	w.mu.Lock()
	w.stopped = err
	queue := w.queue
	w.queue = nil
	w.queued = 0
	w.behind = 0
	rows := 0
	for _, b := range queue {
		rows += len(b.evs)
	}
	w.release(rows)
	w.mu.Unlock()
	for _, b := range queue {
		b.done <- err
	}
}

// historyMetrics are the group commit's own metrics; the INSERTs
// themselves are timed and counted by chstore's
// tocsin_clickhouse_write_* metrics with table="events".
type historyMetrics struct {
	flushRows     prometheus.Histogram
	flushSeconds  prometheus.Histogram
	flushFailures prometheus.Counter
	pending       prometheus.Gauge
}

func newHistoryMetrics() historyMetrics {
	return historyMetrics{
		flushRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tocsin_history_flush_rows",
			Help:    "Rows in each flush of the event history (one INSERT when it succeeds at once).",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tocsin_history_flush_seconds",
			Help:    "Time of each flush of the event history, its retries included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}),
		flushFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tocsin_history_flush_failures_total",
			Help: "Flushes of the event history that still failed after their retries; their batches are handed in again.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tocsin_history_pending_rows",
			Help: "Rows of the event history waiting for a flush or being flushed.",
		}),
	}
}

func (m historyMetrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	cs := []prometheus.Collector{m.flushRows, m.flushSeconds, m.flushFailures, m.pending}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return err
		}
	}
	return nil
}
