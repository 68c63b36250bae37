package bus

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type recorder struct {
	mu    sync.Mutex
	got   []int
	block chan struct{}
}

func (r *recorder) Handle(_ context.Context, b []int) error {
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, b...)
	if len(b) > 0 && b[0] < 0 {
		return errors.New("negative batch")
	}
	return nil
}

func TestQueueKeepsOrderAndDrainsOnClose(t *testing.T) {
	r := &recorder{}
	var errs []error
	q := NewQueue[int](4, r, func(err error) { errs = append(errs, err) })
	batch := make([]int, 3)
	for i := range 100 {
		for j := range batch {
			batch[j] = i*3 + j
		}
		require.NoError(t, q.Publish(context.Background(), batch)) // reused at once
	}
	require.NoError(t, q.Publish(context.Background(), []int{-1}))
	require.NoError(t, q.Close(context.Background()))
	require.Len(t, r.got, 301)
	for i := range 300 {
		require.Equal(t, i, r.got[i])
	}
	require.Len(t, errs, 1, "handler errors reach onError")
	require.ErrorIs(t, q.Publish(context.Background(), []int{1}), ErrClosed)
}

func TestQueueBlocksWhenFull(t *testing.T) {
	r := &recorder{block: make(chan struct{})}
	q := NewQueue[int](1, r, nil)
	require.NoError(t, q.Publish(context.Background(), []int{1})) // taken by the handler, which blocks
	require.NoError(t, q.Publish(context.Background(), []int{2})) // fills the queue
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, q.Publish(ctx, []int{3}), context.DeadlineExceeded, "a full queue pushes back")
	close(r.block)
	require.NoError(t, q.Close(context.Background()))
	require.Equal(t, []int{1, 2}, r.got)
}

func TestDirectCallsHandlerSynchronously(t *testing.T) {
	r := &recorder{}
	d := Direct[int]{H: r}
	require.NoError(t, d.Publish(context.Background(), []int{7, 8}))
	require.Equal(t, []int{7, 8}, r.got)
	require.Error(t, d.Publish(context.Background(), []int{-5}))
}

func TestCollectorKeepsOrderAndEmpties(t *testing.T) {
	var c Collector[int]
	batch := []int{1, 2}
	require.NoError(t, c.Publish(context.Background(), batch))
	batch[0] = 9 // the publisher reuses its slice
	require.NoError(t, c.Publish(context.Background(), []int{3}))
	require.Equal(t, []int{1, 2, 3}, c.Take())
	require.Empty(t, c.Take())
}
