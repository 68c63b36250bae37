package spool

import (
	"context"
	"fmt"
)

// Sync returns once every record that Publish took before the call has
// left the buffer: the Sink accepted it, or, in the rare case of a disk
// segment damaged while in use, it was lost and counted in
// tocsin_spool_corrupt_records_total. Records published after the call do
// not hold it up. While the Sink fails (Kafka down), Sync waits; it
// returns ctx's error when ctx ends first, and ErrClosed when the buffer
// was closed before delivering them (with a Dir they stay on disk for the
// next Open). Acknowledging transports call it before they answer a
// sender; it implements bus.Syncer. Safe for concurrent use.
//
// Records leave in the order Publish took them, so Sync only compares
// two running counts: the records that left, and that count plus the
// backlog at the call.
func (b *Buffer) Sync(ctx context.Context) error {
	b.mu.Lock()
	target := b.left + int64(b.mem.n)
	if b.disk != nil {
		target += b.disk.records
	}
	for b.left < target {
		moved := b.leftMoved
		b.mu.Unlock()
		select {
		case <-moved:
		case <-b.delivDone:
			b.mu.Lock()
			if b.left < target {
				n := target - b.left
				b.mu.Unlock()
				return fmt.Errorf("cannot sync spool %q: it was closed with %d of the records to sync undelivered: %w",
					b.opts.Name, n, ErrClosed)
			}
			b.mu.Unlock()
			return nil
		case <-ctx.Done():
			b.mu.Lock()
			n := target - b.left
			st := b.statsLocked()
			b.mu.Unlock()
			return fmt.Errorf("cannot sync spool %q: %d records not yet accepted by the sink (%d in memory, %d on disk)%s: %w",
				b.opts.Name, n, st.MemoryRecords, st.DiskRecords, failingFor(st), ctx.Err())
		}
		b.mu.Lock()
	}
	b.mu.Unlock()
	return nil
}

// failingFor describes a failing sink for Sync's error.
func failingFor(st Stats) string {
	if st.SinkFailingSince.IsZero() {
		return ""
	}
	return "; the sink has been failing since " + st.SinkFailingSince.UTC().Format("2006-01-02T15:04:05Z")
}

// leftLocked records that n records left the buffer, delivered or lost,
// and wakes the callers of Sync.
func (b *Buffer) leftLocked(n int64) {
	if n <= 0 {
		return
	}
	b.left += n
	close(b.leftMoved)
	b.leftMoved = make(chan struct{})
}
