// Package bus carries batches between tocsin's stages. Stages never call
// each other: ingest publishes events, the engine publishes alerts, and each
// consumer is a Handler behind a bus. The in-process bus (Queue, Direct) is
// the embedded default; a Kafka implementation serves the same interfaces.
package bus

import "context"

// Handler consumes batches in the order they were published. Handle may
// keep the batch's elements but not the slice itself, which the publisher
// reuses once Handle returns. An error is the handler's to report; the bus
// only passes it back to Publish (Direct) or counts it (Queue).
type Handler[T any] interface {
	Handle(ctx context.Context, batch []T) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc[T any] func(ctx context.Context, batch []T) error

// Handle calls f.
func (f HandlerFunc[T]) Handle(ctx context.Context, batch []T) error { return f(ctx, batch) }

// Publisher is the producing side of a bus.
type Publisher[T any] interface {
	// Publish hands a batch on. It blocks while the bus is full
	// (back-pressure) until ctx ends. The caller may reuse batch once
	// Publish returns.
	Publish(ctx context.Context, batch []T) error
}

// Syncer is implemented by a Publisher whose Publish returns before the
// batch is safe: the Kafka path, where Publish puts records in a buffer in
// front of the broker. Sync returns once every record published before the
// call was accepted by the sink behind the buffer (the broker acknowledged
// it), or with ctx's error. Acknowledging transports (RELP, HTTP) call it
// before they answer a sender. A Publisher without Sync holds a batch safe
// when Publish returns.
type Syncer interface {
	Sync(ctx context.Context) error
}

// Direct is a Publisher that calls its handler synchronously: no queue,
// no goroutine. Replay uses it so that a run is deterministic.
type Direct[T any] struct{ H Handler[T] }

// Publish calls the handler in the caller's goroutine.
func (d Direct[T]) Publish(ctx context.Context, batch []T) error { return d.H.Handle(ctx, batch) }
