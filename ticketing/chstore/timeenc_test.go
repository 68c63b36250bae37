package chstore

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTimeEncoding(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2024, 3, 1, 10, 0, 0, 123456789, time.FixedZone("CET", 3600)),
		time.Date(2262, 4, 11, 0, 0, 0, 0, time.UTC),
	} {
		got := decNanos(encNanos(tm))
		require.True(t, tm.Equal(got), "%s -> %s", tm, got)
		require.Equal(t, time.UTC, got.Location())
	}
	require.Zero(t, encNanos(time.Time{}))
	require.True(t, decNanos(0).IsZero())
	require.Equal(t, int64(math.MinInt64), encNanos(time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC)))
	require.Equal(t, int64(math.MaxInt64), encNanos(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)))

	require.Equal(t, time.Unix(0, 0).UTC(), clampDateTime(time.Time{}))
	require.Equal(t, int64(math.MaxUint32), clampDateTime(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)).Unix())
	require.Equal(t, time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC), clampDateTime(time.Date(2024, 3, 1, 10, 0, 0, 999, time.FixedZone("CET", 3600))))

	require.Equal(t, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), dayOf(time.Date(2024, 3, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600))))
	require.Equal(t, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), dayOf(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)))
	require.Equal(t, time.Date(2149, 6, 6, 0, 0, 0, 0, time.UTC), dayOf(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)))

	require.Equal(t, 20240229, dayKey(time.Date(2024, 2, 29, 23, 0, 0, 0, time.UTC)))
	require.Equal(t, 202402, monthsBack(time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC), 1))
	require.Equal(t, 202312, monthsBack(time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC), 1))
	require.Equal(t, 202201, monthsBack(time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC), 24))
	require.Equal(t, 202401, monthsBack(time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC), 0))
}

func TestForChunks(t *testing.T) {
	var ids []string
	for range 2500 {
		ids = append(ids, "x")
	}
	var sizes []int
	require.NoError(t, forChunks(ids, func(g groupSet) error {
		sizes = append(sizes, len(g.Value))
		return nil
	}))
	require.Equal(t, []int{1000, 1000, 500}, sizes)

	long := make([]byte, 30<<10)
	sizes = nil
	require.NoError(t, forChunks([]string{string(long), string(long), "a"}, func(g groupSet) error {
		sizes = append(sizes, len(g.Value))
		return nil
	}))
	require.Equal(t, []int{1, 2}, sizes, "a query's list stays under the size bound")
	require.NoError(t, forChunks(nil, func(groupSet) error { t.Fatal("called for no ids"); return nil }))
}
