package kafkabus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// latestFetchBytes is what ReadLatest asks per fetch: checkpoints are
// large, and a record larger than this still comes whole.
const latestFetchBytes = 32 << 20

// ReadLatest reads topic from its oldest record up to the high watermark
// each partition has when ReadLatest starts, and returns the newest record
// of each key for which keep returns true. A record with a nil value (a
// tombstone) deletes its key. The map is keyed by string(key); the
// returned messages own their bytes. keep may be called concurrently, for
// different partitions.
//
// A key lives in one partition unless the partition count changed; if
// several partitions hold it, the record with the latest timestamp wins.
func ReadLatest(ctx context.Context, cfg Config, topic string, keep func(key []byte) bool) (map[string]Message, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr := cfg.transport()
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: cfg.addr(), Transport: tr, Timeout: requestTimeout}
	parts, first, last, err := topicBounds(ctx, client, topic)
	if err != nil {
		return nil, fmt.Errorf("cannot read topic %s: %w", topic, err)
	}
	n := len(parts)

	results := make([]map[string]Message, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for _, p := range parts {
		if first[p] >= last[p] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[p], errs[p] = readPartitionLatest(ctx, client, topic, p, first[p], last[p], keep)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := map[string]Message{}
	for _, r := range results {
		for k, m := range r {
			if old, ok := out[k]; !ok || m.Time.After(old.Time) {
				out[k] = m
			}
		}
	}
	return out, nil
}

func readPartitionLatest(ctx context.Context, client *kafka.Client, topic string, p int, from, to int64, keep func([]byte) bool) (map[string]Message, error) {
	r := &partitionReader{client: client, topic: topic, partition: p, maxBytes: latestFetchBytes,
		maxWait: 100 * time.Millisecond, offset: from}
	out := map[string]Message{}
	b := backoff{min: 100 * time.Millisecond, max: 2 * time.Second}
	for r.offset < to {
		msgs, err := r.next(ctx, 1024)
		if err != nil {
			if ctx.Err() == nil && transient(err) && !errors.Is(err, kafka.OffsetOutOfRange) {
				if sleep(ctx, b.next()) {
					continue
				}
			}
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return nil, fmt.Errorf("cannot read %s/%d at offset %d: %w", topic, p, r.offset, err)
		}
		b.reset()
		if len(msgs) == 0 {
			// Nothing at or after the offset: compaction removed the
			// records up to the watermark.
			break
		}
		for i := range msgs {
			m := &msgs[i]
			if m.Offset >= to {
				return out, nil
			}
			if !keep(m.Key) {
				continue
			}
			if m.Value == nil {
				delete(out, string(m.Key))
				continue
			}
			out[string(m.Key)] = cloneMessage(m)
		}
	}
	return out, nil
}

// cloneMessage copies m's bytes out of a reader's reused buffer.
func cloneMessage(m *Message) Message {
	c := *m
	c.Key = bytes.Clone(m.Key)
	c.Value = bytes.Clone(m.Value)
	if m.Headers != nil {
		c.Headers = make([]Header, len(m.Headers))
		for i, h := range m.Headers {
			c.Headers[i] = Header{Key: h.Key, Value: bytes.Clone(h.Value)}
		}
	}
	return c
}
