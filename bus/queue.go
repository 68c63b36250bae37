package bus

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("bus: queue closed")

// Queue is the in-process bus: a bounded queue of batches drained by one
// goroutine that calls the handler in publication order. Publish copies the
// batch, so the caller may reuse it at once.
type Queue[T any] struct {
	h       Handler[T]
	ch      chan []T
	onError func(error)

	mu     sync.RWMutex
	closed bool
	done   chan struct{}
}

// NewQueue starts a queue holding at most capacity batches. onError, when
// not nil, receives each error the handler returns; the queue keeps going.
func NewQueue[T any](capacity int, h Handler[T], onError func(error)) *Queue[T] {
	if capacity < 1 {
		capacity = 1
	}
	q := &Queue[T]{h: h, ch: make(chan []T, capacity), onError: onError, done: make(chan struct{})}
	go q.run()
	return q
}

func (q *Queue[T]) run() {
	defer close(q.done)
	for b := range q.ch {
		// The handler gets a context of its own: a consumer finishes
		// what was accepted even while the producers shut down.
		if err := q.h.Handle(context.Background(), b); err != nil && q.onError != nil {
			q.onError(err)
		}
	}
}

// Publish enqueues a copy of batch, blocking while the queue is full.
func (q *Queue[T]) Publish(ctx context.Context, batch []T) error {
	if len(batch) == 0 {
		return nil
	}
	cp := make([]T, len(batch))
	copy(cp, batch)
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return ErrClosed
	}
	select {
	case q.ch <- cp:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Len is the number of batches waiting.
func (q *Queue[T]) Len() int { return len(q.ch) }

// Close stops accepting batches and waits until every accepted batch was
// handled or ctx ends.
func (q *Queue[T]) Close(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
	q.mu.Unlock()
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
