package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/ingest/parse"
	"github.com/tocsin-siem/tocsin/schemas"
)

// Kind is a producer kind. It is the only label on ingest metrics.
type Kind string

// Producer kinds.
const (
	KindUDP  Kind = "udp"
	KindTCP  Kind = "tcp"
	KindFile Kind = "file"
	// KindKafka marks raw lines consumed from a Kafka topic.
	KindKafka Kind = "kafka"
	// KindTLS is syslog over TLS (RFC 5425).
	KindTLS Kind = "tls"
	// KindRELP is rsyslog's Reliable Event Logging Protocol, plain or
	// over TLS.
	KindRELP Kind = "relp"
)

// Source names the producer a Batcher serves.
type Source struct {
	// Kind is the producer kind.
	Kind Kind
	// Name identifies the producer's stream of lines: event IDs hash it
	// with each line's sequence number. Files use "file:" + path, so that
	// reading a file again gives the same IDs; listeners add a connection
	// number and the pipeline's start time so that IDs do not repeat.
	Name string
	// Location, when set, is the zone of this producer's timestamps that
	// carry none, in place of the pipeline's.
	Location *time.Location
	// Format, when set, is the one format this producer's lines are in
	// (see parse.Formats), in place of detecting it per line.
	Format string
	// Events and Failures, when set, receive this producer's events and
	// parse failures in place of the pipeline's publishers: a Kafka
	// consumer collects them per partition so that it can produce them
	// with their record offsets and commit after.
	Events   bus.Publisher[*schemas.Event]
	Failures bus.Publisher[schemas.ParseFailure]
}

// slabSize is the number of events allocated at once.
const slabSize = 256

// maxFailureBytes bounds the raw bytes held in a partial failure batch, for
// a pipeline whose MaxFailureRaw is large.
const maxFailureBytes = 4 << 20

// sampleBytes is how much of a failed line a log summary quotes.
const sampleBytes = 200

// FNV-64a parameters.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

// Batcher parses one producer's lines and publishes them in batches. It is
// owned by one goroutine at a time: nothing in it is locked. Call Close
// when the producer is done.
type Batcher struct {
	p          *Pipeline
	parser     lineParser
	src        Source
	failSource string
	km         *kindMetrics
	idBase     uint64
	seq        uint64
	evPub      bus.Publisher[*schemas.Event]
	failPub    bus.Publisher[schemas.ParseFailure]

	slab     []schemas.Event
	spare    *schemas.Event
	events   []*schemas.Event
	failures []schemas.ParseFailure
	failRaw  int
	oldest   time.Time // received time of the oldest unpublished line

	// Counts not yet added to the metrics.
	nLines, nBlank, nBytes, nOversize int

	// Failures not yet reported in a log summary, and the latest one.
	failPending int
	lastFail    schemas.ParseFailure

	// unsynced records which publishers took batches since the last
	// Sync (see ack.go).
	unsynced unsynced
	// manual keeps Line and Reject from publishing a full batch: the
	// producer (RELP) bounds its batches and publishes them with Sync,
	// within its own deadline.
	manual bool
}

// NewBatcher returns a Batcher for one producer.
func (p *Pipeline) NewBatcher(src Source) *Batcher {
	failSource := string(src.Kind)
	if src.Kind == KindFile {
		failSource = src.Name
	}
	parser := p.parserFor(src.Location, src.Format)
	b := &Batcher{
		p:          p,
		parser:     parser,
		src:        src,
		failSource: failSource,
		km:         p.metrics.forKind(src.Kind),
		idBase:     nameHash(src.Name),
		events:     make([]*schemas.Event, 0, p.batch),
		evPub:      p.events,
		failPub:    p.failures,
	}
	if src.Events != nil {
		b.evPub = src.Events
	}
	if src.Failures != nil {
		b.failPub = src.Failures
	}
	return b
}

// EventID returns the ID of line seq (1-based) of the producer named name:
// FNV-64a over name, a zero byte, and seq as 8 little-endian bytes.
func EventID(name string, seq uint64) uint64 { return seqHash(nameHash(name), seq) }

// nameHash is FNV-64a over name and a zero byte.
func nameHash(name string) uint64 {
	h := fnvOffset
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= fnvPrime
	}
	return h * fnvPrime
}

// seqHash continues FNV-64a from h over seq's 8 little-endian bytes.
func seqHash(h, seq uint64) uint64 {
	for range 8 {
		h ^= seq & 0xff
		h *= fnvPrime
		seq >>= 8
	}
	return h
}

// Seq returns the sequence number of the last line handed in.
func (b *Batcher) Seq() uint64 { return b.seq }

// SetSeq makes the next line number seq+1. A consumer of a Kafka topic
// sets it to each record's offset before the record's line, so that a
// record delivered again gets the event ID it had the first time.
func (b *Batcher) SetSeq(seq uint64) { b.seq = seq }

// rename points b at another stream of lines: event IDs hash name from
// now on, and the next line is number 1.
func (b *Batcher) rename(name string) {
	b.src.Name, b.idBase, b.seq = name, nameHash(name), 0
}

// Pending returns the number of events and failures not yet published.
func (b *Batcher) Pending() int { return len(b.events) + len(b.failures) }

// DueAt returns when the pending lines must be published, or the zero time
// when nothing is pending.
func (b *Batcher) DueAt() time.Time {
	if b.Pending() == 0 {
		return time.Time{}
	}
	return b.oldest.Add(b.p.interval)
}

// Line handles one line without its terminator. line is copied, so the
// caller may reuse it at once. received is when the line arrived (replay
// passes its reference time); sender is the peer's IP address or
// "file:" + path. A line that does not parse becomes a failure. Line
// publishes when a batch is full; a live producer calls FlushDue when
// DueAt passes. The error is a publish error: the batch it concerned is
// lost and counted.
func (b *Batcher) Line(ctx context.Context, line []byte, received time.Time, sender string) error {
	b.seq++
	b.nLines++
	b.nBytes += len(line)
	if blank(line) {
		b.nBlank++
		return nil
	}
	ev := b.spare
	if ev != nil {
		b.spare = nil
	} else {
		if len(b.slab) == 0 {
			b.slab = make([]schemas.Event, slabSize)
		}
		ev = &b.slab[0]
		b.slab = b.slab[1:]
	}
	s := string(line)
	if err := b.parser.Parse(s, received, ev); err != nil {
		ev.Reset()
		b.spare = ev
		reason, detail := ReasonParse, err.Error()
		var pe *parse.Error
		if errors.As(err, &pe) {
			reason, detail = pe.Reason, pe.Detail
		}
		raw, detail := b.keepRaw(line, detail)
		return b.fail(ctx, raw, received, sender, reason, detail)
	}
	ev.ID = seqHash(b.idBase, b.seq)
	ev.Log.Source.Address = sender
	if ev.Host.Name == "" {
		ev.Host.Name = sender
	}
	if ev.Event.Dataset == "sshd" {
		b.p.tracker.Apply(ev)
	}
	if b.Pending() == 0 {
		b.oldest = received
	}
	b.events = append(b.events, ev)
	if len(b.events) >= b.p.batch && !b.manual {
		return b.Flush(ctx)
	}
	return nil
}

// Reject records a line that the transport could not deliver whole, for
// reason (ReasonTooLong, ReasonTruncated, ReasonBadOctetCount) with detail.
// raw is copied. It counts as a line, so sequence numbers stay aligned
// with line numbers.
func (b *Batcher) Reject(ctx context.Context, raw []byte, received time.Time, sender, reason, detail string) error {
	b.seq++
	b.nLines++
	b.nBytes += len(raw)
	if reason == ReasonTooLong {
		b.nOversize++
	}
	kept, detail := b.keepRaw(raw, detail)
	return b.fail(ctx, kept, received, sender, reason, detail)
}

// keepRaw copies what a failure keeps of raw: at most the pipeline's
// MaxFailureRaw bytes. When raw is cut, detail gains its length.
func (b *Batcher) keepRaw(raw []byte, detail string) ([]byte, string) {
	if len(raw) <= b.p.maxRaw {
		return append([]byte(nil), raw...), detail
	}
	detail += "; " + strconv.Itoa(len(raw)) + " bytes, first " + strconv.Itoa(b.p.maxRaw) + " kept"
	return append([]byte(nil), raw[:b.p.maxRaw]...), detail
}

// fail queues a failure; raw is already a copy the failure may keep.
func (b *Batcher) fail(ctx context.Context, raw []byte, received time.Time, sender, reason, detail string) error {
	f := schemas.ParseFailure{
		Source:   b.failSource,
		Address:  sender,
		Reason:   reason,
		Detail:   detail,
		Raw:      raw,
		Received: received,
	}
	b.km.failure(reason).Inc()
	b.failPending++
	b.lastFail = f
	if now := time.Now(); b.p.failLog.allow(now) {
		b.logFailures()
	}
	if b.failPub == nil {
		return nil
	}
	if b.Pending() == 0 {
		b.oldest = received
	}
	b.failures = append(b.failures, f)
	b.failRaw += len(raw)
	if (len(b.failures) >= b.p.batch || b.failRaw >= maxFailureBytes) && !b.manual {
		return b.Flush(ctx)
	}
	return nil
}

// logFailures writes one summary for the failures not yet reported.
func (b *Batcher) logFailures() {
	n := int64(b.failPending) + b.p.failLog.carried.Swap(0)
	f := b.lastFail
	sample := f.Raw
	if len(sample) > sampleBytes {
		sample = sample[:sampleBytes]
	}
	b.p.logger.Warn().
		Str("source", f.Source).
		Str("address", f.Address).
		Int64("count", n).
		Str("reason", f.Reason).
		Str("detail", f.Detail).
		Bytes("sample", sample).
		Msg("lines kept as parse failures")
	b.failPending = 0
}

// Flush publishes the pending events and failures.
func (b *Batcher) Flush(ctx context.Context) error {
	var errs []error
	if n := len(b.events); n > 0 {
		err := b.evPub.Publish(ctx, b.events)
		clear(b.events)
		b.events = b.events[:0]
		if err != nil {
			b.km.dropped.Add(float64(n))
			b.unsynced.lost = true
			errs = append(errs, fmt.Errorf("cannot publish %d events from %s: %w", n, b.src.Name, err))
		} else {
			b.km.events.Add(float64(n))
			b.unsynced.events = true
		}
	}
	if n := len(b.failures); n > 0 {
		err := b.failPub.Publish(ctx, b.failures)
		clear(b.failures)
		b.failures = b.failures[:0]
		b.failRaw = 0
		if err != nil {
			b.km.dropped.Add(float64(n))
			b.unsynced.lost = true
			errs = append(errs, fmt.Errorf("cannot publish %d parse failures from %s: %w", n, b.src.Name, err))
		} else {
			b.unsynced.failures = true
		}
	}
	b.syncCounters()
	return errors.Join(errs...)
}

// FlushDue publishes the pending lines if the oldest has waited for the
// flush interval by now, and brings the metrics up to date.
func (b *Batcher) FlushDue(ctx context.Context, now time.Time) error {
	if b.Pending() > 0 && !now.Before(b.DueAt()) {
		return b.Flush(ctx)
	}
	b.syncCounters()
	return nil
}

// Close publishes what is pending and reports failures not yet logged.
// The Batcher must not be used afterwards.
func (b *Batcher) Close(ctx context.Context) error {
	err := b.Flush(ctx)
	b.carryFailures()
	b.slab, b.spare = nil, nil
	return err
}

// carryFailures reports the failures not yet logged: in a summary now, if
// the pipeline's limiter allows one, or in the next summary.
func (b *Batcher) carryFailures() {
	if b.failPending == 0 {
		return
	}
	if b.p.failLog.allow(time.Now()) {
		b.logFailures()
		return
	}
	b.p.failLog.carried.Add(int64(b.failPending))
	b.failPending = 0
}

func (b *Batcher) syncCounters() {
	if b.nLines > 0 {
		b.km.lines.Add(float64(b.nLines))
		b.km.bytes.Add(float64(b.nBytes))
		b.nLines, b.nBytes = 0, 0
	}
	if b.nBlank > 0 {
		b.km.blank.Add(float64(b.nBlank))
		b.nBlank = 0
	}
	if b.nOversize > 0 {
		b.km.oversize.Add(float64(b.nOversize))
		b.nOversize = 0
	}
}

// utf8BOM is the byte order mark some Windows tools start a file with.
var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// blank reports whether line holds only spaces, tabs, CRs and NULs, after
// a leading byte order mark.
func blank(line []byte) bool {
	for _, c := range bytes.TrimPrefix(line, utf8BOM) {
		if c != ' ' && c != '\t' && c != '\r' && c != 0 {
			return false
		}
	}
	return true
}
