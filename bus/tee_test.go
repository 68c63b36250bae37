package bus

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTeeReachesEveryPublisherDespiteAnError(t *testing.T) {
	var a, b Collector[int]
	boom := errors.New("boom")
	failing := Direct[int]{H: HandlerFunc[int](func(context.Context, []int) error { return boom })}
	tee := Tee[int]{&a, failing, &b}
	err := tee.Publish(context.Background(), []int{1, 2})
	require.ErrorIs(t, err, boom)
	require.Equal(t, []int{1, 2}, a.Take())
	require.Equal(t, []int{1, 2}, b.Take(), "the publisher after the failing one got the batch")
}
