package app

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus"
)

// Backoff bounds for retrying a stage that failed a batch.
const (
	retryFirst = 100 * time.Millisecond
	retryMax   = 10 * time.Second
)

// retrying hands each batch to h until h takes it or giveUp ends. While it
// retries, the queue in front of it fills and back-pressure reaches the
// listeners, so a store that stops taking writes slows ingestion down
// rather than losing alerts.
type retrying[T any] struct {
	h      bus.Handler[T]
	giveUp context.Context
	stage  string
	log    zerolog.Logger
}

func (r retrying[T]) Handle(ctx context.Context, batch []T) error {
	wait := retryFirst
	for attempt := 1; ; attempt++ {
		err := r.h.Handle(ctx, batch)
		if err == nil {
			if attempt > 1 {
				r.log.Info().Str("stage", r.stage).Int("attempts", attempt).Msg("batch handled after retries")
			}
			return nil
		}
		if attempt == 1 || attempt%10 == 0 {
			r.log.Error().Err(err).Str("stage", r.stage).Int("attempt", attempt).Int("batch_size", len(batch)).
				Dur("retry_in", wait).Msg("cannot hand batch on; retrying")
		}
		select {
		case <-r.giveUp.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}
