package spool

import (
	"time"
)

// deliverLoop is the one goroutine that calls the Sink. It delivers the
// memory tier first (its records are older), then the disk tier from the
// oldest segment on, and acknowledges each batch only once the Sink took
// it. It ends when the buffer is closed and empty, or when Close gives up.
func (b *Buffer) deliverLoop() {
	defer close(b.delivDone)
	for {
		b.mu.Lock()
		for b.mem.n == 0 && (b.disk == nil || len(b.disk.segs) == 0) {
			if b.closed {
				b.mu.Unlock()
				return
			}
			b.mu.Unlock()
			select {
			case <-b.work:
			case <-b.runCtx.Done():
				return
			}
			b.mu.Lock()
		}
		if b.mem.n > 0 {
			batch := b.mem.take(b.opts.MaxBatch)
			b.mu.Unlock()
			if !b.send(batch) {
				return
			}
			b.mu.Lock()
			b.mem.release(len(batch))
			b.deliveredLocked(len(batch))
			b.leftLocked(int64(len(batch)))
			b.mu.Unlock()
			continue
		}
		d := b.disk
		seg := d.segs[0]
		limit := seg.size
		b.mu.Unlock()

		batch, skipped, err := d.rd.read(seg, limit, b.opts.MaxBatch, b.opts.readWindow)
		if len(skipped) > 0 && !seg.recovered {
			// Open counted the damage in recovered segments already.
			for _, r := range skipped {
				b.met.corrupt.Inc()
				b.log.Error().Str("segment", seg.path).Int64("offset", r.start).Int64("skipped_bytes", r.end-r.start).
					Msg("spool segment damaged while in use; skipping to the next valid record; records in it are lost")
			}
		}
		if err != nil {
			b.log.Error().Err(err).Msg("cannot read spooled records; retrying")
			if !b.pause(b.opts.RetryMax) {
				return
			}
			continue
		}
		if len(batch) > 0 && !b.send(batch) {
			return
		}
		b.ackDisk(seg, len(batch))
	}
}

// ackDisk records that n records of seg were delivered, deletes seg once
// it was read to its end, and records the position in the cursor.
func (b *Buffer) ackDisk(seg *segment, n int) {
	d := b.disk
	b.mu.Lock()
	before := d.records
	d.rd.ack()
	seg.consumed += int64(n)
	d.records -= int64(n)
	// seg.size may have grown since the read; only a segment read to its
	// current end is done. Being the oldest, it is also the last one
	// only when it is the one being written, so nothing newer exists.
	if d.rd.offset(seg) >= seg.size {
		if err := d.removeFront(); err != nil {
			b.log.Error().Err(err).Msg("cannot remove delivered spool segment")
		}
	}
	cur := d.cursorNow()
	b.deliveredLocked(n)
	// What removeFront let go beyond n was lost in damaged ranges.
	b.leftLocked(before - d.records)
	b.mu.Unlock()
	if err := d.writeCursor(cur); err != nil {
		b.log.Error().Err(err).Msg("cannot record spool position; a restart may deliver some records twice")
	}
	d.cursorDirty.Store(true)
}

// deliveredLocked updates the state after a delivery and wakes waiting
// publishers.
func (b *Buffer) deliveredLocked(n int) {
	b.met.delivered.Add(float64(n))
	if !b.failingSince.IsZero() {
		b.log.Info().Dur("failed_for", time.Since(b.failingSince)).Msg("spool sink recovered")
		b.failingSince = time.Time{}
	}
	if b.waiters > 0 {
		close(b.room)
		b.room = make(chan struct{})
	}
	b.updateLocked()
}

// send calls the Sink until it takes batch, backing off between failures.
// It returns false when Close gave up.
func (b *Buffer) send(batch []Record) bool {
	wait := b.opts.RetryMin
	for attempt := 1; ; attempt++ {
		err := b.opts.Sink(b.runCtx, batch)
		if err == nil {
			return true
		}
		if b.runCtx.Err() != nil {
			return false
		}
		b.met.sinkErrors.Inc()
		b.mu.Lock()
		if b.failingSince.IsZero() {
			b.failingSince = time.Now()
		}
		since := b.failingSince
		b.updateLocked()
		b.mu.Unlock()
		if attempt == 1 || attempt%10 == 0 {
			b.log.Error().Err(err).Int("attempt", attempt).Int("batch_size", len(batch)).
				Dur("retry_in", wait).Time("failing_since", since).
				Msg("spool cannot deliver batch; retrying the same batch")
		}
		if !b.pause(wait) {
			return false
		}
		wait = min(2*wait, b.opts.RetryMax)
	}
}

// pause waits for d unless Close gives up first.
func (b *Buffer) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.runCtx.Done():
		return false
	}
}
