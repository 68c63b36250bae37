package kafkabus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// chunk is one Produce call's messages for one partition, copied into one
// buffer so that the caller may reuse its own at once.
type chunk struct {
	topic     string
	partition int
	call      *produceCall
	buf       []byte
	recs      []chunkRec
	hdrs      []chunkHdr
	bytes     int // estimated size of recs[sent:]
	sent      int // recs before this index are acknowledged
	// abandoned is set when a request carrying this chunk failed: kafka-go
	// may still be encoding that request, so the chunk must not be
	// reused for another call's messages.
	abandoned bool
}

// chunkRec locates one message in chunk.buf. A length of -1 is a null
// key or value, which Kafka tells apart from an empty one.
type chunkRec struct {
	off            int
	keyLen, valLen int
	h0, h1         int // chunk.hdrs[h0:h1]
	size           int
	time           time.Time
}

type chunkHdr struct {
	key    string
	off, n int // n == -1: null value
}

// recordOverhead approximates the per-record framing Kafka adds, so that
// BatchBytes counts many small messages fairly.
const recordOverhead = 16

func (c *chunk) add(m *Message) {
	r := chunkRec{off: len(c.buf), keyLen: -1, valLen: -1, time: m.Time, size: recordOverhead}
	if m.Key != nil {
		r.keyLen = len(m.Key)
		c.buf = append(c.buf, m.Key...)
	}
	if m.Value != nil {
		r.valLen = len(m.Value)
		c.buf = append(c.buf, m.Value...)
	}
	r.size += len(m.Key) + len(m.Value)
	r.h0 = len(c.hdrs)
	for _, h := range m.Headers {
		ch := chunkHdr{key: h.Key, off: len(c.buf), n: -1}
		if h.Value != nil {
			ch.n = len(h.Value)
			c.buf = append(c.buf, h.Value...)
		}
		r.size += len(h.Key) + len(h.Value)
		c.hdrs = append(c.hdrs, ch)
	}
	r.h1 = len(c.hdrs)
	c.bytes += r.size
	c.recs = append(c.recs, r)
}

func (c *chunk) reset() {
	c.abandoned = false
	if cap(c.buf) > maxPooledBytes {
		c.buf = nil
	}
	c.buf = c.buf[:0]
	clear(c.hdrs) // drop the header key strings
	c.hdrs = c.hdrs[:0]
	c.recs = c.recs[:0]
	c.call, c.topic = nil, ""
	c.bytes, c.sent = 0, 0
}

// segment is the part recs[from:to] of a chunk that goes in one request.
type segment struct {
	c        *chunk
	from, to int
}

// recordSet feeds a request's segments to kafka-go's encoder without
// copying them again. The encoder reads each record before asking for the
// next, so one Record, key, value and header slice serve all of them.
type recordSet struct {
	segs     []segment
	si, ri   int
	rec      kafka.Record
	key, val bytesReader
	hdrs     []kafka.Header
}

type bytesReader struct{ bytes.Reader }

func (*bytesReader) Close() error { return nil }

func (r *recordSet) reset(segs []segment) {
	r.segs, r.si, r.ri = segs, 0, 0
	if len(segs) > 0 {
		r.ri = segs[0].from
	}
}

// ReadRecord implements kafka.RecordReader.
func (r *recordSet) ReadRecord() (*kafka.Record, error) {
	for r.si < len(r.segs) {
		sg := &r.segs[r.si]
		if r.ri >= sg.to {
			r.si++
			if r.si < len(r.segs) {
				r.ri = r.segs[r.si].from
			}
			continue
		}
		c := sg.c
		e := &c.recs[r.ri]
		r.ri++
		r.rec = kafka.Record{Time: e.time}
		off := e.off
		if e.keyLen >= 0 {
			r.key.Reset(c.buf[off : off+e.keyLen])
			r.rec.Key = &r.key
			off += e.keyLen
		}
		if e.valLen >= 0 {
			r.val.Reset(c.buf[off : off+e.valLen])
			r.rec.Value = &r.val
		}
		if e.h1 > e.h0 {
			r.hdrs = r.hdrs[:0]
			for _, h := range c.hdrs[e.h0:e.h1] {
				var v []byte
				switch {
				case h.n == 0:
					v = noBytes[:0:0] // empty, not null
				case h.n > 0:
					v = c.buf[h.off : h.off+h.n : h.off+h.n]
				}
				r.hdrs = append(r.hdrs, kafka.Header{Key: h.key, Value: v})
			}
			r.rec.Headers = r.hdrs
		}
		return &r.rec, nil
	}
	return nil, io.EOF
}

// sender owns one partition's queue: it batches the chunks waiting for
// the partition into requests and keeps one request in flight.
type sender struct {
	p         *Producer
	topic     string
	partition int
	label     string
	in        chan *chunk
	produced  prometheus.Counter
	errors    prometheus.Counter

	// owned by run
	pending []*chunk
	segs    []segment
	set     *recordSet
}

func (s *sender) run() {
	defer s.p.wg.Done()
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		if len(s.pending) == 0 {
			select {
			case c := <-s.in:
				s.pending = append(s.pending, c)
			case <-s.p.stop:
				s.shutdown()
				return
			}
			if l := s.p.opts.Linger; l > 0 && !s.full() {
				if !s.linger(linger, l) {
					s.shutdown()
					return
				}
			}
		}
		s.drain()
		s.dropCanceled()
		if len(s.pending) == 0 {
			continue
		}
		if !s.send() {
			s.shutdown()
			return
		}
	}
}

// linger waits up to l for more chunks while Produce calls are still
// adding messages, or until a request is full. It returns false when the
// producer is closing.
func (s *sender) linger(t *time.Timer, l time.Duration) bool {
	quiet := s.p.addingDone()
	select {
	case <-quiet:
		return true
	default:
	}
	t.Reset(l)
	defer t.Stop()
	for !s.full() {
		select {
		case c := <-s.in:
			s.pending = append(s.pending, c)
		case <-quiet:
			return true
		case <-t.C:
			return true
		case <-s.p.stop:
			return false
		}
	}
	return true
}

// drain moves the chunks already queued to pending, without waiting,
// while pending holds fewer than senderQueue.
func (s *sender) drain() {
	for len(s.pending) < senderQueue {
		select {
		case c := <-s.in:
			s.pending = append(s.pending, c)
		default:
			return
		}
	}
}

// full reports whether pending fills a request.
func (s *sender) full() bool {
	n, b := 0, 0
	for _, c := range s.pending {
		n += len(c.recs) - c.sent
		b += c.bytes
	}
	return n >= s.p.opts.BatchSize || b >= s.p.opts.BatchBytes
}

// dropCanceled forgets chunks whose Produce call gave up.
func (s *sender) dropCanceled() {
	kept := s.pending[:0]
	for _, c := range s.pending {
		if c.call.canceled.Load() {
			s.p.release(c)
			continue
		}
		kept = append(kept, c)
	}
	clear(s.pending[len(kept):])
	s.pending = kept
}

// build fills s.segs with the longest prefix of pending that fits one
// request, and returns its message count.
func (s *sender) build() int {
	s.segs = s.segs[:0]
	n, size := 0, 0
	for _, c := range s.pending {
		from, to := c.sent, c.sent
		for to < len(c.recs) {
			sz := c.recs[to].size
			if n > 0 && (n+1 > s.p.opts.BatchSize || size+sz > s.p.opts.BatchBytes) {
				break
			}
			n++
			size += sz
			to++
		}
		if to > from {
			s.segs = append(s.segs, segment{c: c, from: from, to: to})
		}
		if to < len(c.recs) {
			break
		}
	}
	return n
}

// send delivers one request's worth of pending, retrying transient
// failures. It returns false when the producer is closing.
func (s *sender) send() bool {
	b := backoff{min: 50 * time.Millisecond, max: 2 * time.Second}
	for {
		n := s.build()
		if n == 0 {
			return true
		}
		if s.set == nil {
			s.set = new(recordSet)
		}
		s.set.reset(s.segs)
		ctx, cancel := context.WithTimeout(context.Background(), s.p.opts.RequestTimeout)
		res, err := s.p.client.Produce(ctx, &kafka.ProduceRequest{
			Topic:        s.topic,
			Partition:    s.partition,
			RequiredAcks: kafka.RequireAll,
			Compression:  s.p.comp,
			Records:      s.set,
		})
		cancel()
		if err == nil && res != nil && res.Error != nil {
			err = res.Error
		}
		if err == nil {
			s.p.out.ok()
			s.produced.Add(float64(n))
			s.complete(nil)
			return true
		}
		s.errors.Inc()
		s.abandon()
		if !transient(err) {
			s.complete(s.permanent(err))
			return true
		}
		// A request that timed out may have been stored all the same;
		// sending it again then stores it twice, since kafka-go has no
		// idempotent producer that would let the broker drop the copy.
		s.p.out.fail(err, "produce requests fail; retrying with back-off while the callers wait (back-pressure)")
		t := time.NewTimer(b.next())
		select {
		case <-t.C:
		case <-s.p.stop:
			t.Stop()
			return false
		}
		s.drain()
		s.dropCanceled()
	}
}

// abandon gives up the record set and segments of a failed request:
// kafka-go returns when the request's deadline passes even if its
// connection has not finished encoding it, so nothing that request reads
// may be changed or reused afterwards. The encoding cannot reach the
// broker by then (the connection's deadline has passed too).
func (s *sender) abandon() {
	for _, sg := range s.segs {
		sg.c.abandoned = true
	}
	s.set = nil
	s.segs = append([]segment(nil), s.segs...)
}

func (s *sender) permanent(err error) error {
	switch {
	case errors.Is(err, kafka.MessageSizeTooLarge):
		return fmt.Errorf("cannot produce to %s: a message or batch is larger than the topic accepts (max.message.bytes): %w; raise the topic's max.message.bytes or send smaller messages", s.label, err)
	case errors.Is(err, kafka.TopicAuthorizationFailed), errors.Is(err, kafka.ClusterAuthorizationFailed):
		return fmt.Errorf("cannot produce to %s: %w; grant this principal WRITE on the topic", s.label, err)
	case errors.Is(err, kafka.SASLAuthenticationFailed):
		return fmt.Errorf("cannot produce to %s: %w; check the SASL mechanism, user name and password", s.label, err)
	}
	return fmt.Errorf("cannot produce to %s: %w", s.label, err)
}

// complete settles the segments of the request just sent: acknowledged
// (err nil) or failed for good.
func (s *sender) complete(err error) {
	done := 0
	for _, sg := range s.segs {
		c := sg.c
		c.sent = sg.to
		for _, r := range c.recs[sg.from:sg.to] {
			c.bytes -= r.size
		}
		if err != nil || c.sent == len(c.recs) {
			c.call.finish(err)
			s.p.release(c)
			done++
		}
	}
	clear(s.segs)
	s.segs = s.segs[:0]
	n := copy(s.pending, s.pending[done:])
	clear(s.pending[n:])
	s.pending = s.pending[:n]
}

// shutdown fails everything the sender still holds.
func (s *sender) shutdown() {
	for _, c := range s.pending {
		c.call.finish(ErrProducerClosed)
		s.p.release(c)
	}
	clear(s.pending)
	s.pending = s.pending[:0]
	for {
		select {
		case c := <-s.in:
			c.call.finish(ErrProducerClosed)
			s.p.release(c)
		default:
			return
		}
	}
}
