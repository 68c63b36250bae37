package app

import (
	"context"
	"errors"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus"
)

func TestRetryingHandsOnOnceTheStageRecovers(t *testing.T) {
	calls := 0
	h := bus.HandlerFunc[int](func(_ context.Context, b []int) error {
		calls++
		if calls < 3 {
			return errors.New("attempt to write a readonly database")
		}
		require.Equal(t, []int{1, 2}, b)
		return nil
	})
	r := retrying[int]{h: h, giveUp: context.Background(), stage: "test", log: zerolog.Nop()}
	require.NoError(t, r.Handle(context.Background(), []int{1, 2}))
	require.Equal(t, 3, calls)
}

func TestRetryingStopsWhenShutdownGivesUp(t *testing.T) {
	giveUp, cancel := context.WithCancel(context.Background())
	calls := 0
	h := bus.HandlerFunc[int](func(context.Context, []int) error {
		calls++
		if calls == 2 {
			cancel()
		}
		return errors.New("store down")
	})
	r := retrying[int]{h: h, giveUp: giveUp, stage: "test", log: zerolog.Nop()}
	require.ErrorContains(t, r.Handle(context.Background(), []int{1}), "store down")
	require.Equal(t, 2, calls)
}
