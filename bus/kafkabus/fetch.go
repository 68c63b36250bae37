package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/segmentio/kafka-go"
)

// DefaultFetchBytes is the most bytes one fetch asks of a partition when
// GroupOptions.MaxBytes is zero. A single larger record batch is still
// returned whole.
const DefaultFetchBytes = 4 << 20

// partitionReader reads one partition in offset order and decodes records
// into messages whose byte slices live in its own buffer, reused from one
// batch to the next.
type partitionReader struct {
	client    *kafka.Client
	topic     string
	partition int
	maxBytes  int
	maxWait   time.Duration

	offset int64              // next offset to return
	hwm    int64              // high watermark of the last fetch
	cur    kafka.RecordReader // rest of the last fetch response

	msgs   []Message
	spans  []msgSpan
	hspans []hdrSpan
	buf    []byte
	hdrs   []Header
}

// msgSpan locates a message's bytes in buf while the batch is decoded;
// buf may move as it grows, so slices are cut only at the end.
type msgSpan struct {
	key, val int // offsets; lengths are in the message's own fields
	keyLen   int // -1: null
	valLen   int // -1: null
	h0, h1   int // hdrSpans
}

type hdrSpan struct {
	key    string
	off, n int
}

// next returns up to max messages from the reader's offset on, fetching
// when the previous response is used up. It returns an empty batch when
// the partition has nothing new within maxWait.
func (r *partitionReader) next(ctx context.Context, max int) ([]Message, error) {
	r.msgs = r.msgs[:0]
	r.spans = r.spans[:0]
	r.buf = r.buf[:0]
	r.hspans = r.hspans[:0]
	if r.cur == nil {
		res, err := r.client.Fetch(ctx, &kafka.FetchRequest{
			Topic:     r.topic,
			Partition: r.partition,
			Offset:    r.offset,
			MinBytes:  1,
			MaxBytes:  int64(r.maxBytes),
			MaxWait:   r.maxWait,
		})
		if err != nil {
			return nil, err
		}
		if res.Error != nil {
			return nil, res.Error
		}
		r.hwm = res.HighWatermark
		r.cur = res.Records
	}
	for len(r.msgs) < max {
		rec, err := r.cur.ReadRecord()
		if err != nil {
			r.cur = nil
			if errors.Is(err, io.EOF) {
				break
			}
			// A batch cut short by the fetch size ends the response;
			// the next fetch starts at the first record not returned.
			if len(r.msgs) > 0 {
				break
			}
			return nil, fmt.Errorf("cannot decode records of %s/%d at offset %d: %w", r.topic, r.partition, r.offset, err)
		}
		if rec.Offset < r.offset {
			// Kafka returns whole batches, which may begin before the
			// offset asked for.
			closeRecord(rec)
			continue
		}
		if err := r.add(rec); err != nil {
			closeRecord(rec)
			r.cur = nil
			return nil, err
		}
		closeRecord(rec)
		r.offset = rec.Offset + 1
	}
	r.cut()
	return r.msgs, nil
}

func closeRecord(rec *kafka.Record) {
	if rec.Key != nil {
		rec.Key.Close()
	}
	if rec.Value != nil {
		rec.Value.Close()
	}
}

// add copies rec into the reader's buffer.
func (r *partitionReader) add(rec *kafka.Record) error {
	sp := msgSpan{keyLen: -1, valLen: -1}
	var err error
	if sp.key, sp.keyLen, err = r.read(rec.Key); err != nil {
		return fmt.Errorf("cannot read the key of %s/%d offset %d: %w", r.topic, r.partition, rec.Offset, err)
	}
	if sp.val, sp.valLen, err = r.read(rec.Value); err != nil {
		return fmt.Errorf("cannot read the value of %s/%d offset %d: %w", r.topic, r.partition, rec.Offset, err)
	}
	sp.h0 = len(r.hspans)
	for _, h := range rec.Headers {
		s := hdrSpan{key: h.Key, off: len(r.buf), n: -1}
		if h.Value != nil {
			s.n = len(h.Value)
			r.buf = append(r.buf, h.Value...)
		}
		r.hspans = append(r.hspans, s)
	}
	sp.h1 = len(r.hspans)
	r.spans = append(r.spans, sp)
	r.msgs = append(r.msgs, Message{
		Topic:     r.topic,
		Partition: r.partition,
		Offset:    rec.Offset,
		Time:      rec.Time,
	})
	return nil
}

// read appends b's bytes to the buffer and returns where they are; a nil
// b is a null (length -1).
func (r *partitionReader) read(b kafka.Bytes) (off, n int, err error) {
	if b == nil {
		return 0, -1, nil
	}
	n = b.Len()
	off = len(r.buf)
	r.buf = growBytes(r.buf, n)
	if _, err := io.ReadFull(b, r.buf[off:off+n]); err != nil {
		return 0, 0, err
	}
	return off, n, nil
}

func growBytes(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, 2*cap(b)+n)
	copy(nb, b)
	return nb
}

// cut points the messages' slices into the final buffer.
func (r *partitionReader) cut() {
	r.hdrs = r.hdrs[:0]
	for _, s := range r.hspans {
		r.hdrs = append(r.hdrs, Header{Key: s.key, Value: r.slice(s.off, s.n)})
	}
	for i := range r.msgs {
		sp := &r.spans[i]
		m := &r.msgs[i]
		m.Key, m.Value, m.Headers = r.slice(sp.key, sp.keyLen), r.slice(sp.val, sp.valLen), nil
		if sp.h1 > sp.h0 {
			m.Headers = r.hdrs[sp.h0:sp.h1:sp.h1]
		}
	}
}

// topicBounds returns the partitions of topic with their first offsets
// and high watermarks, retrying transient failures (a new topic's
// partitions have no leader for a moment) until ctx ends.
func topicBounds(ctx context.Context, client *kafka.Client, topic string) (parts []int, first, last map[int]int64, err error) {
	b := backoff{min: 50 * time.Millisecond, max: time.Second}
	for {
		var n int
		if n, err = partitionCount(ctx, client, topic); err == nil {
			parts = make([]int, n)
			for i := range parts {
				parts[i] = i
			}
			if first, last, err = offsetBounds(ctx, client, topic, parts); err == nil {
				return parts, first, last, nil
			}
		}
		if !transient(err) || errors.Is(err, kafka.UnknownTopicOrPartition) || !sleep(ctx, b.next()) {
			return nil, nil, nil, err
		}
	}
}

// noBytes backs empty, non-null slices: Kafka tells an empty key or
// value from a null one, and slicing a still-nil buffer would not.
var noBytes = make([]byte, 0)

// slice returns n bytes of the buffer at off; n == -1 is null.
func (r *partitionReader) slice(off, n int) []byte {
	switch {
	case n < 0:
		return nil
	case n == 0:
		return noBytes[:0:0]
	}
	return r.buf[off : off+n : off+n]
}

// offsetBounds returns the first offset a partition still holds and its
// high watermark (the offset the next record will get).
func offsetBounds(ctx context.Context, client *kafka.Client, topic string, partitions []int) (first, last map[int]int64, err error) {
	if first, err = listOffsets(ctx, client, topic, partitions, kafka.FirstOffset); err != nil {
		return nil, nil, err
	}
	if last, err = listOffsets(ctx, client, topic, partitions, kafka.LastOffset); err != nil {
		return nil, nil, err
	}
	return first, last, nil
}

func listOffsets(ctx context.Context, client *kafka.Client, topic string, partitions []int, which int64) (map[int]int64, error) {
	req := make([]kafka.OffsetRequest, len(partitions))
	for i, p := range partitions {
		req[i] = kafka.OffsetRequest{Partition: p, Timestamp: which}
	}
	res, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: req}})
	if err != nil {
		return nil, err
	}
	out := make(map[int]int64, len(partitions))
	for _, po := range res.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("cannot list offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		if which == kafka.FirstOffset {
			out[po.Partition] = po.FirstOffset
		} else {
			out[po.Partition] = po.LastOffset
		}
	}
	for _, p := range partitions {
		if _, ok := out[p]; !ok {
			return nil, fmt.Errorf("cannot list offsets of %s/%d: the broker did not answer for it", topic, p)
		}
	}
	return out, nil
}
