package spool

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPublishDeliver measures Publish plus delivery of 200-byte
// records (2-byte key, 198-byte value) in batches of 64, until the Sink
// has taken all of them.
//
// memory: the Sink keeps up, records go through the memory tier.
// disk: the Sink holds its first batch until every record is published,
// so all but the memory tier's 1024 are written to disk and then read
// back: the cost of a full spill and catch-up.
func BenchmarkPublishDeliver(b *testing.B) {
	for _, bc := range []struct {
		name  string
		spill bool
	}{{"memory", false}, {"disk", true}} {
		b.Run(bc.name, func(b *testing.B) {
			const batchLen = 64
			batch := recs(0, batchLen, 198)
			var delivered atomic.Int64
			gate := make(chan struct{})
			opts := Options{Sink: func(_ context.Context, r []Record) error {
				if bc.spill {
					<-gate
				}
				delivered.Add(int64(len(r)))
				return nil
			}}
			if bc.spill {
				opts.Dir = b.TempDir()
				opts.MemoryRecords = 1024
				opts.MaxBytes = 16 << 30
			}
			buf, err := Open(opts)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.SetBytes(200)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batchLen {
				if err := buf.Publish(ctx, batch[:min(batchLen, b.N-i)]); err != nil {
					b.Fatal(err)
				}
			}
			if st := buf.Stats(); bc.spill && st.DiskRecords < int64(b.N-1024-batchLen) {
				b.Fatalf("only %d of %d records went to disk", st.DiskRecords, b.N)
			}
			close(gate)
			for delivered.Load() < int64(b.N) {
				time.Sleep(50 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			if err := buf.Close(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
