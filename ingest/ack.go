package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/tocsin-siem/tocsin/bus"
)

// ErrNotPublished is wrapped by Batcher.Sync's error when a publish
// since the last Sync failed: those lines are not in tocsin at all (the
// bus refused them, or its buffer stayed full until the context ended),
// so a sender must send them again. Any other Sync error means the lines
// were published but not confirmed safe in time.
var ErrNotPublished = errors.New("lines not published")

// unsynced records which of a Batcher's publishers took a batch since its
// last Sync, and whether a publish failed.
type unsynced struct {
	events, failures, lost bool
}

// Sync publishes what is pending and returns once everything this Batcher
// published is safe: for a publisher that implements bus.Syncer (the
// buffer in front of Kafka), once Sync says the sink accepted it; for any
// other publisher (the in-process bus), once Publish returned. Only the
// publishers that took a batch since the last successful Sync are asked.
// Acknowledging transports (RELP) call it before they tell a sender that
// its messages are stored; an error means they are not known to be, and
// the sender must be told to send them again: with ErrNotPublished, some
// were not published at all. ctx bounds the publish and the wait.
func (b *Batcher) Sync(ctx context.Context) error {
	err := b.Flush(ctx)
	if b.unsynced.lost {
		b.unsynced.lost = false
		if err == nil {
			err = errors.New("an earlier batch of this sender was refused")
		}
		return fmt.Errorf("%w: %w", ErrNotPublished, err)
	}
	var errs []error
	if b.unsynced.events {
		if err := syncPublisher(ctx, b.evPub); err != nil {
			errs = append(errs, fmt.Errorf("events from %s: %w", b.src.Name, err))
		} else {
			b.unsynced.events = false
		}
	}
	if b.unsynced.failures {
		if err := syncPublisher(ctx, b.failPub); err != nil {
			errs = append(errs, fmt.Errorf("parse failures from %s: %w", b.src.Name, err))
		} else {
			b.unsynced.failures = false
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cannot confirm that published lines are stored: %w", err)
	}
	return nil
}

// syncPublisher calls p's Sync when it has one.
//
// Shortcoming: the in-process bus of the embedded tocsin run has no Sync,
// so its events count as stored once the engine's queue took them, which
// is memory; a crash before the next engine snapshot loses answered
// messages. A write-ahead log in front of the engine would close this.
func syncPublisher[T any](ctx context.Context, p bus.Publisher[T]) error {
	if s, ok := p.(bus.Syncer); ok {
		return s.Sync(ctx)
	}
	return nil
}
