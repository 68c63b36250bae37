package chstore

import (
	"math"
	"time"
)

// The ranges of the column types that hold times. A time outside them
// (only a forged or broken timestamp gets there) is stored as the nearest
// end; the JSON bodies of alerts and events keep the exact value.
var (
	// Int64 nanoseconds since the epoch: 1677-09-21 to 2262-04-11.
	minNanos = time.Unix(0, math.MinInt64).UTC()
	maxNanos = time.Unix(0, math.MaxInt64).UTC()
	// DateTime: UInt32 seconds since the epoch.
	maxDateTime = time.Unix(math.MaxUint32, 0).UTC()
	// Date: UInt16 days since the epoch.
	maxDate = time.Unix(math.MaxUint16*86400, 0).UTC()
)

// encNanos encodes t as nanoseconds since the epoch, 0 for the zero time.
// The epoch instant itself therefore reads back as the zero time, which no
// ticket holds in practice.
func encNanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minNanos):
		return math.MinInt64
	case t.After(maxNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// decNanos is the inverse of encNanos, in UTC.
func decNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// clampDateTime brings t into the range of a DateTime column, whole
// seconds, UTC.
func clampDateTime(t time.Time) time.Time {
	switch {
	case t.Unix() < 0:
		return time.Unix(0, 0).UTC()
	case t.After(maxDateTime):
		return maxDateTime
	}
	return time.Unix(t.Unix(), 0).UTC()
}

// dayOf is the UTC day of t within a Date column's range.
func dayOf(t time.Time) time.Time {
	switch {
	case t.Unix() < 0:
		return time.Unix(0, 0).UTC()
	case t.After(maxDate):
		t = maxDate
	}
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// firstSet returns the first time of ts that is not zero, else the
// zero time.
func firstSet(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}
