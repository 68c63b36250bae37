package kafkabus

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/internal/testkafka"
)

// benchBatch makes n messages with 200-byte values keyed by one of 1024
// source addresses, as ingest produces them.
func benchBatch(n, seed int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		v := make([]byte, 200)
		for j := range v {
			v[j] = byte('a' + (i*7+j*13+seed)%26)
		}
		msgs[i] = Message{Key: fmt.Appendf(nil, "198.51.%d.%d", (i+seed)%4, (i+seed)%256), Value: v,
			Headers: []Header{{Key: "type", Value: []byte("event")}}}
	}
	return msgs
}

// BenchmarkProduce measures acknowledged produce throughput: batches of
// 1024 messages of 200 bytes to a 12-partition topic, acks from all
// in-sync replicas. Run with
//
//	TOCSIN_TEST_KAFKA=host:port go test -run '^$' -bench Produce -benchtime 20000x ./bus/kafkabus
//
// b.N counts messages.
func BenchmarkProduce(b *testing.B) {
	cfg := testConfig(b)
	topic := newTopic(b, cfg, 12)
	for _, bc := range []struct {
		name        string
		compression string
		linger      time.Duration
		writers     int
	}{
		{"lz4/1writer", "lz4", 0, 1},
		{"none/1writer", "none", 0, 1},
		{"lz4/1writer/nolinger", "lz4", -1, 1},
		{"lz4/4writers", "lz4", 0, 4},
		{"lz4/4writers/nolinger", "lz4", -1, 4},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := NewProducer(cfg, ProducerOptions{Topic: topic, Compression: bc.compression, Linger: bc.linger})
			require.NoError(b, err)
			defer p.Close()
			batches := make([][]Message, bc.writers)
			for w := range batches {
				batches[w] = benchBatch(1024, w)
			}
			ctx := context.Background()
			require.NoError(b, p.Produce(ctx, batches[0])) // connections and metadata
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var sent atomic.Int64
			var wg sync.WaitGroup
			for w := 0; w < bc.writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for sent.Add(1024)-1024 < int64(b.N) {
						if err := p.Produce(ctx, batches[w]); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			n := float64(min(sent.Load(), int64(b.N)+int64(bc.writers)*1024))
			b.ReportMetric(n/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/msg")
		})
	}
}

// BenchmarkConsume measures how fast a consumer group member hands the
// records of a 12-partition topic to a handler that does nothing, from
// its first batch to the last. Each iteration consumes the whole topic
// with a new group. Run with
//
//	TOCSIN_TEST_KAFKA=host:port go test -run '^$' -bench Consume -benchtime 3x ./bus/kafkabus
func BenchmarkConsume(b *testing.B) {
	const total = 200_000
	cfg := testConfig(b)
	topic := newTopic(b, cfg, 12)
	p, err := NewProducer(cfg, ProducerOptions{Topic: topic, Compression: "lz4"})
	require.NoError(b, err)
	batch := benchBatch(1024, 0)
	ctx := context.Background()
	for sent := 0; sent < total; sent += len(batch) {
		require.NoError(b, p.Produce(ctx, batch[:min(len(batch), total-sent)]))
	}
	require.NoError(b, p.Close())

	b.ReportAllocs()
	b.ResetTimer()
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		var got atomic.Int64
		var first atomic.Int64
		done := make(chan struct{})
		runCtx, cancel := context.WithCancel(ctx)
		opts := fastGroup(testkafka.Group(b, "bench"), []string{topic}, nil)
		opts.CommitInterval = time.Second
		ret := make(chan error, 1)
		go func() {
			ret <- ConsumeBatches(runCtx, cfg, opts, func(_ context.Context, msgs []Message) error {
				first.CompareAndSwap(0, time.Now().UnixNano())
				if got.Add(int64(len(msgs))) == total {
					close(done)
				}
				return nil
			})
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Minute):
			b.Fatalf("consumed %d of %d in 5 minutes", got.Load(), total)
		}
		elapsed += time.Since(time.Unix(0, first.Load()))
		cancel()
		require.NoError(b, <-ret)
	}
	b.StopTimer()
	n := float64(total * b.N)
	b.ReportMetric(n/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/msg")
}
