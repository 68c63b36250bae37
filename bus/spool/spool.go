package spool

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Record is one opaque record: a Kafka key and value the caller encoded.
// An empty key or value is delivered as nil.
type Record struct{ Key, Value []byte }

// Options configure a Buffer. Zero values take the defaults named.
type Options struct {
	// Dir holds the disk tier. Empty means memory only: records that do
	// not fit in memory wait, and Close cannot keep undelivered ones.
	Dir string
	// MemoryRecords caps the memory tier's records (default 65536).
	MemoryRecords int
	// MemoryBytes caps the memory tier's slab (default 64 MiB).
	MemoryBytes int64
	// MaxBytes caps the disk tier's files (default 1 GiB). With a Dir,
	// the memory tier's records count against it too, framed as on disk,
	// so that Close can always write them out.
	MaxBytes int64
	// SegmentBytes is the size at which a segment file is closed and the
	// next begun (default 64 MiB, at most MaxBytes). A segment is deleted
	// once all of it was delivered.
	SegmentBytes int64
	// Sink delivers a batch, oldest record first, and returns nil once the
	// records are durable elsewhere (for Kafka: acknowledged). It is
	// called from one goroutine, never concurrently. It must not keep recs
	// or their bytes after it returns, nor modify them. An error makes the
	// buffer retry the same batch after a back-off, so a batch may be
	// delivered more than once if the Sink fails after a partial success.
	// Its context ends when Close gives up, and it must return soon
	// after: Close waits for it. Required.
	Sink func(ctx context.Context, recs []Record) error
	// MaxBatch caps the records per Sink call (default 4096).
	MaxBatch int
	// RetryMin and RetryMax bound the back-off between failed Sink calls
	// (defaults 100ms and 5s); it doubles from RetryMin on each failure.
	RetryMin, RetryMax time.Duration
	// Name labels the metrics and logs (default "default"). Buffers that
	// share a Registerer need distinct names.
	Name string
	// Logger receives the buffer's logs; the zero value discards them.
	Logger zerolog.Logger
	// Registerer registers the tocsin_spool_* metrics; nil skips that.
	Registerer prometheus.Registerer

	readWindow int // segment read window; tests shrink it
}

// Defaults applied by Open.
const (
	DefaultMemoryRecords = 65536
	DefaultMemoryBytes   = 64 << 20
	DefaultMaxBytes      = 1 << 30
	DefaultSegmentBytes  = 64 << 20
	DefaultMaxBatch      = 4096
	DefaultRetryMin      = 100 * time.Millisecond
	DefaultRetryMax      = 5 * time.Second

	// minMaxBytes is the smallest disk cap accepted.
	minMaxBytes = 4096
)

// Stats is a snapshot of a buffer's backlog.
type Stats struct {
	MemoryRecords int64
	MemoryBytes   int64
	DiskRecords   int64
	DiskBytes     int64
	// SinkFailingSince is when the Sink began failing without a success
	// since; zero while it works.
	SinkFailingSince time.Time
}

var (
	// ErrFull is wrapped by Publish's error when both tiers stayed full
	// until its context ended. The error is a *FullError.
	ErrFull = errors.New("spool full")
	// ErrClosed is returned by Publish after Close.
	ErrClosed = errors.New("spool closed")
	// ErrTooLarge is returned by Publish for a record that could never
	// fit: over MaxRecordBytes, or over the tiers' own caps.
	ErrTooLarge = errors.New("spool record too large")
)

// FullError is Publish's error when it gave up waiting for room. The
// first Accepted records of the batch were taken; the rest were not.
type FullError struct {
	Name     string
	Accepted int
	Total    int
	Stats    Stats
	Cause    error // why the wait ended: the context's error
}

func (e *FullError) Error() string {
	s := e.Stats
	sink := "the sink is working but slower than the input"
	if !s.SinkFailingSince.IsZero() {
		sink = fmt.Sprintf("the sink has been failing since %s (%s)",
			s.SinkFailingSince.UTC().Format(time.RFC3339), time.Since(s.SinkFailingSince).Round(time.Second))
	}
	return fmt.Sprintf("cannot buffer records: spool %q is full (took %d of %d; %d records in memory, "+
		"%d on disk in %d bytes); %s; it takes more once the sink catches up: %v",
		e.Name, e.Accepted, e.Total, s.MemoryRecords, s.DiskRecords, s.DiskBytes, sink, e.Cause)
}

// Unwrap makes errors.Is match ErrFull and the context's error.
func (e *FullError) Unwrap() []error { return []error{ErrFull, e.Cause} }

// Buffer holds records between a producer (Publish) and a Sink: in
// memory first, then on disk, then it makes Publish wait. One goroutine
// delivers its records to the Sink in publication order.
type Buffer struct {
	opts Options
	log  zerolog.Logger
	met  *metrics

	mu           sync.Mutex
	mem          memory
	maxFramed    int64 // framed bytes the memory tier may hold
	disk         *disk // nil without a Dir
	closed       bool
	waiters      int
	room         chan struct{} // closed when room was freed
	failingSince time.Time
	// left counts the records that left the buffer (delivered, or lost
	// in a damaged segment); leftMoved is closed when it grows. Sync
	// waits on them.
	left      int64
	leftMoved chan struct{}

	full      atomic.Bool
	work      chan struct{}
	closing   chan struct{}
	runCtx    context.Context
	cancelRun context.CancelFunc
	delivDone chan struct{}
	syncStop  chan struct{}
	syncDone  chan struct{}
	closeDone chan struct{}
	closeErr  error
}

// Open starts a buffer. With a Dir it first recovers the records a
// previous run left there, which are delivered before anything new: a
// torn tail is cut off, a damaged range skipped, both counted and logged.
func Open(opts Options) (*Buffer, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	log := opts.Logger.With().Str("component", "spool").Str("buffer", opts.Name).Logger()
	met, err := newMetrics(opts.Registerer, opts.Name)
	if err != nil {
		return nil, err
	}
	b := &Buffer{
		opts:      opts,
		log:       log,
		met:       met,
		mem:       newMemory(opts.MemoryRecords, opts.MemoryBytes),
		maxFramed: math.MaxInt64,
		room:      make(chan struct{}),
		leftMoved: make(chan struct{}),
		work:      make(chan struct{}, 1),
		closing:   make(chan struct{}),
		delivDone: make(chan struct{}),
		closeDone: make(chan struct{}),
	}
	if opts.Dir != "" {
		b.maxFramed = opts.MaxBytes
		b.disk, err = openDisk(&b.opts, log, func(n int) { met.corrupt.Add(float64(n)) })
		if err != nil {
			return nil, fmt.Errorf("cannot open spool %q in %s: %w", opts.Name, opts.Dir, err)
		}
		b.syncStop, b.syncDone = make(chan struct{}), make(chan struct{})
		go b.syncLoop()
	}
	b.runCtx, b.cancelRun = context.WithCancel(context.Background())
	b.mu.Lock()
	b.updateLocked()
	b.mu.Unlock()
	go b.deliverLoop()
	return b, nil
}

func (o *Options) defaults() error {
	if o.Sink == nil {
		return errors.New("cannot open spool: Options.Sink is required")
	}
	if o.MemoryRecords <= 0 {
		o.MemoryRecords = DefaultMemoryRecords
	}
	if o.MemoryBytes <= 0 {
		o.MemoryBytes = DefaultMemoryBytes
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Dir != "" && o.MaxBytes < minMaxBytes {
		return fmt.Errorf("cannot open spool: MaxBytes %d is below the minimum of %d", o.MaxBytes, minMaxBytes)
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	o.SegmentBytes = min(o.SegmentBytes, o.MaxBytes)
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax <= 0 {
		o.RetryMax = DefaultRetryMax
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	if o.Name == "" {
		o.Name = "default"
	}
	if o.readWindow <= 0 {
		o.readWindow = defaultReadWindow
	}
	return nil
}

// Publish copies recs into the buffer; the caller may reuse them at once.
// It returns without waiting while there is room. Records keep their
// order: once any record is on disk, new ones go to disk too until the
// disk tier is drained. When memory and disk are full, Publish waits for
// room until ctx ends and then returns a *FullError (errors.Is ErrFull)
// that says how many of recs it took. After Close it returns ErrClosed.
// Safe for concurrent use; concurrent batches may interleave.
func (b *Buffer) Publish(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := b.checkSizes(recs); err != nil {
		return err
	}
	b.mu.Lock()
	done := 0
	for {
		if b.closed {
			b.mu.Unlock()
			return fmt.Errorf("cannot buffer records (took %d of %d): %w", done, len(recs), ErrClosed)
		}
		n, err := b.place(recs[done:])
		done += n
		if n > 0 {
			select {
			case b.work <- struct{}{}:
			default:
			}
		}
		if err != nil || done == len(recs) {
			b.updateLocked()
			b.mu.Unlock()
			if err != nil {
				return fmt.Errorf("cannot buffer records (took %d of %d): %w", done, len(recs), err)
			}
			return nil
		}
		b.waiters++
		b.updateLocked()
		room := b.room
		b.mu.Unlock()
		var cause error
		select {
		case <-room:
		case <-b.closing:
		case <-ctx.Done():
			cause = ctx.Err()
		}
		b.mu.Lock()
		b.waiters--
		if cause != nil {
			err := &FullError{Name: b.opts.Name, Accepted: done, Total: len(recs), Stats: b.statsLocked(), Cause: cause}
			b.updateLocked()
			b.mu.Unlock()
			return err
		}
	}
}

// checkSizes refuses records that could never be taken.
func (b *Buffer) checkSizes(recs []Record) error {
	limit := int64(MaxRecordBytes)
	where := "the spool's record limit"
	if b.disk == nil && b.opts.MemoryBytes < limit {
		limit, where = b.opts.MemoryBytes, "MemoryBytes"
	}
	if b.disk != nil && b.opts.MaxBytes-segHeaderLen-frameHeaderLen < limit {
		limit, where = b.opts.MaxBytes-segHeaderLen-frameHeaderLen, "what MaxBytes leaves for one record"
	}
	for i, r := range recs {
		if size := int64(len(r.Key) + len(r.Value)); size > limit {
			return fmt.Errorf("cannot buffer record %d of %d: its %d bytes exceed %s (%d): %w",
				i+1, len(recs), size, where, limit, ErrTooLarge)
		}
	}
	return nil
}

// place takes as many of recs as fit, in order, and returns how many.
func (b *Buffer) place(recs []Record) (int, error) {
	i := 0
	if b.disk == nil || len(b.disk.segs) == 0 {
		for ; i < len(recs); i++ {
			if !b.mem.put(recs[i].Key, recs[i].Value, b.maxFramed) {
				break
			}
		}
		if i == len(recs) || b.disk == nil {
			return i, nil
		}
	}
	n, err := b.disk.write(recs[i:], b.mem.framed)
	return i + n, err
}

// typicalRecord is the size Full tests for: ingest's events are well
// under it.
const typicalRecord = 1024

// fitsLocked reports whether a record of size bytes would be taken now.
func (b *Buffer) fitsLocked(size int) bool {
	if b.disk == nil || len(b.disk.segs) == 0 {
		if b.mem.fits(size, b.maxFramed) {
			return true
		}
	}
	return b.disk != nil && b.disk.fits(frameHeaderLen+int64(size), b.mem.framed)
}

// updateLocked refreshes the full flag and the gauges.
func (b *Buffer) updateLocked() {
	full := b.waiters > 0 || !b.fitsLocked(typicalRecord)
	b.full.Store(full)
	if full {
		b.met.full.Set(1)
	} else {
		b.met.full.Set(0)
	}
	b.met.memRecords.Set(float64(b.mem.n))
	b.met.memBytes.Set(float64(b.mem.bytes))
	if b.disk != nil {
		b.met.diskRecs.Set(float64(b.disk.records))
		b.met.diskBytes.Set(float64(b.disk.bytes))
	}
}

// Full reports whether Publish would wait now: a publisher is already
// waiting for room, or neither tier can take a typical (1 KiB) record.
// Listeners stop reading while it is true.
func (b *Buffer) Full() bool { return b.full.Load() }

// Stats returns the current backlog.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.statsLocked()
}

func (b *Buffer) statsLocked() Stats {
	s := Stats{
		MemoryRecords:    int64(b.mem.n),
		MemoryBytes:      b.mem.bytes,
		SinkFailingSince: b.failingSince,
	}
	if b.disk != nil {
		s.DiskRecords, s.DiskBytes = b.disk.records, b.disk.bytes
	}
	return s
}

// Close stops accepting records, delivers what it holds until ctx ends,
// and then stops the delivery goroutine. With a Dir, what is left
// (memory records included) stays on disk for the next Open, and Close
// returns nil; without one, undelivered records are lost and Close says
// how many. Publishers waiting for room get ErrClosed. Later calls wait
// for the first and return its result.
func (b *Buffer) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.closeDone
		return b.closeErr
	}
	b.closed = true
	close(b.closing)
	select {
	case b.work <- struct{}{}:
	default:
	}
	b.mu.Unlock()

	select {
	case <-b.delivDone:
	case <-ctx.Done():
		b.cancelRun()
		<-b.delivDone
	}
	b.cancelRun()
	if b.syncStop != nil {
		close(b.syncStop)
		<-b.syncDone
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	b.closeErr = b.persistLocked()
	b.updateLocked()
	b.met.drop()
	close(b.closeDone)
	return b.closeErr
}

// persistLocked keeps what was not delivered: on disk with a Dir, or
// reports it lost without one.
func (b *Buffer) persistLocked() error {
	left := b.mem.n
	if b.disk == nil {
		if left > 0 {
			b.log.Error().Int("records", left).Msg("spool closed with undelivered records and no directory; they are lost")
			return fmt.Errorf("cannot keep %d undelivered records of spool %q: it has no directory; "+
				"give it a Dir to keep records across a stop", left, b.opts.Name)
		}
		return nil
	}
	d := b.disk
	defer d.release()
	cur := d.cursorNow()
	var errs []error
	errs = append(errs, d.closeWriter())
	if left > 0 {
		if err := d.dump(&b.mem); err != nil {
			errs = append(errs, fmt.Errorf("cannot keep %d memory records of spool %q: %w", left, b.opts.Name, err))
		} else {
			b.mem.release(left)
		}
	}
	errs = append(errs, d.writeCursor(cur))
	if err := d.cursor.Sync(); err != nil {
		errs = append(errs, fmt.Errorf("cannot sync spool cursor: %w", err))
	}
	if d.records > 0 {
		b.log.Info().Int64("disk_records", d.records).Int64("disk_bytes", d.bytes).
			Msg("spool closed; undelivered records stay on disk for the next start")
	}
	return errors.Join(errs...)
}

// syncLoop fsyncs the segment being written and the cursor at most once
// a second while they change.
func (b *Buffer) syncLoop() {
	defer close(b.syncDone)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-b.syncStop:
			return
		case <-t.C:
		}
		b.mu.Lock()
		d := b.disk
		var f *os.File
		if d.dirty {
			f = d.w
		}
		d.dirty = false
		b.mu.Unlock()
		if f != nil {
			// A rotation may close f meanwhile; it syncs f itself first.
			if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
				b.log.Error().Err(err).Str("segment", f.Name()).Msg("cannot sync spool segment")
			}
		}
		if d.cursorDirty.Swap(false) {
			if err := d.cursor.Sync(); err != nil {
				b.log.Error().Err(err).Msg("cannot sync spool cursor")
			}
		}
	}
}
