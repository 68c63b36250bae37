package bus

import (
	"context"
	"sync"
)

// Collector is a Publisher that keeps everything published to it, for a
// consumer that needs the whole stream before it starts (replay sorting
// alerts, a rule test comparing them). Publish is safe for concurrent use.
type Collector[T any] struct {
	mu    sync.Mutex
	items []T
}

// Publish appends a copy of batch.
func (c *Collector[T]) Publish(_ context.Context, batch []T) error {
	c.mu.Lock()
	c.items = append(c.items, batch...)
	c.mu.Unlock()
	return nil
}

// Take returns what was published, in order, and empties the collector.
func (c *Collector[T]) Take() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.items
	c.items = nil
	return out
}
