package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const exposition = `# HELP tocsin_kafka_consumer_lag Records behind.
# TYPE tocsin_kafka_consumer_lag gauge
tocsin_kafka_consumer_lag{group="tocsin-engine",partition="0",topic="ev"} 12
tocsin_kafka_consumer_lag{group="tocsin-engine",partition="1",topic="ev"} 3
tocsin_kafka_consumer_lag{group="tocsin-history",partition="0",topic="ev"} 100
tocsin_engine_events_total{keyset="",partition="0",topic="ev"} 1000
tocsin_engine_events_total{keyset="user.name,host.name",partition="0",topic="rep"} 50
tocsin_odd{a="x\"y\\z\nw",b=""} -Inf 1700000000000
tocsin_clickhouse_write_duration_seconds_bucket{table="events",le="0.01"} 2
tocsin_clickhouse_write_duration_seconds_bucket{table="events",le="0.1"} 8
tocsin_clickhouse_write_duration_seconds_bucket{table="events",le="1"} 10
tocsin_clickhouse_write_duration_seconds_bucket{table="events",le="+Inf"} 10
tocsin_clickhouse_write_duration_seconds_sum{table="events"} 0.5
tocsin_clickhouse_write_duration_seconds_count{table="events"} 10
tocsin_clickhouse_write_duration_seconds_bucket{table="alerts",le="+Inf"} 99
process_start_time_seconds 1.7e+09
`

func TestParseMetrics(t *testing.T) {
	ss, err := parseMetrics([]byte(exposition))
	require.NoError(t, err)
	require.Len(t, ss, 14)
	m := &metricSet{samples: ss}
	require.InDelta(t, 15.0, m.sum("tocsin_kafka_consumer_lag", "group", "tocsin-engine"), 0)
	require.InDelta(t, 100.0, m.sum("tocsin_kafka_consumer_lag", "group", "tocsin-history"), 0)
	require.InDelta(t, 1050.0, m.sum("tocsin_engine_events_total"), 0)
	require.InDelta(t, 1000.0, m.sum("tocsin_engine_events_total", "topic", "ev"), 0)
	require.InDelta(t, 1.7e9, m.sum("process_start_time_seconds"), 0)
	require.Equal(t, map[string]string{"a": "x\"y\\z\nw", "b": ""}, ss[5].labels)
	require.True(t, math.IsInf(ss[5].value, -1))
	require.False(t, m.has("nope"))
	require.True(t, math.IsNaN(value(m, "nope")))
	require.True(t, math.IsNaN(value(nil, "tocsin_engine_events_total")))

	by := map[string]float64{}
	for _, le := range bucketBounds(m, "tocsin_clickhouse_write_duration_seconds_bucket", "table", "events") {
		by[le] = m.sum("tocsin_clickhouse_write_duration_seconds_bucket", "table", "events", "le", le)
	}
	bs := toBuckets(by)
	require.Equal(t, []bucket{{0.01, 2}, {0.1, 8}, {1, 10}, {math.Inf(1), 10}}, bs)
	// Rank 5 of 10 falls in (0.01, 0.1] holding ranks 3..8: 0.01 + 0.09*3/6.
	require.InDelta(t, 0.055, quantile(0.5, bs), 1e-9)
	// Rank 9.9 in (0.1, 1] holding ranks 9..10: 0.1 + 0.9*1.9/2.
	require.InDelta(t, 0.955, quantile(0.99, bs), 1e-9)
	require.InDelta(t, 0.005, quantile(0.1, bs), 1e-9) // rank 1 of the 2 in [0, 0.01]
}

func TestParseMetricsErrors(t *testing.T) {
	for _, bad := range []string{
		"novalue",
		"m{a=\"x\"",
		"m{a=x} 1",
		"m{a=\"x\\q\"} 1",
		"m 1 2 3",
		"m abc",
	} {
		_, err := parseMetrics([]byte("ok 1\n" + bad + "\n"))
		require.ErrorContains(t, err, "metrics line 2", bad)
	}
}

func TestQuantileEdges(t *testing.T) {
	require.True(t, math.IsNaN(quantile(0.5, nil)))
	require.True(t, math.IsNaN(quantile(0.5, []bucket{{1, 0}, {math.Inf(1), 0}})))
	// Everything above the highest finite bound: that bound.
	require.InDelta(t, 1.0, quantile(0.5, []bucket{{1, 0}, {math.Inf(1), 4}}), 0)
}

func mustSet(t *testing.T, text string) *metricSet {
	t.Helper()
	ss, err := parseMetrics([]byte(text))
	require.NoError(t, err)
	return &metricSet{samples: ss}
}

func TestCounterDeltaSurvivesResets(t *testing.T) {
	prev := mustSet(t, `c{p="0",topic="ev"} 100
c{p="1",topic="ev"} 50
c{p="2",topic="ev"} 7
c{p="0",topic="rep"} 1000
`)
	// p0 grew by 20; p1 was created again and counts 5 from zero; p2 is
	// gone; p3 is new with 4.
	cur := mustSet(t, `c{p="0",topic="ev"} 120
c{p="1",topic="ev"} 5
c{p="3",topic="ev"} 4
c{p="0",topic="rep"} 1001
`)
	d, ok := counterDelta(prev, cur, "c", "topic", "ev")
	require.True(t, ok)
	require.InDelta(t, 29.0, d, 0)
	d, ok = counterDelta(nil, cur, "c")
	require.True(t, ok)
	require.InDelta(t, 1130.0, d, 0)
	_, ok = counterDelta(prev, cur, "missing")
	require.False(t, ok)
	_, ok = counterDelta(prev, nil, "c")
	require.False(t, ok)
}

func TestScraperTotals(t *testing.T) {
	var engine string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, engine) }))
	defer srv.Close()
	sc := &scraper{hc: srv.Client(), urls: [nRoles]string{roleEngine: srv.URL}, eventsTopic: "ev", engineGroup: "g"}

	engine = "tocsin_engine_events_total{partition=\"0\",topic=\"ev\"} 500\n"
	start := sc.baseline(context.Background())
	require.InDelta(t, 0.0, start.engineEvents, 0, "what the counter held before the run is not counted")
	require.True(t, math.IsNaN(start.engineLag))
	require.InDelta(t, 0.0, start.ingestEvents, 0, "counters count from the baseline")

	engine = "tocsin_engine_events_total{partition=\"0\",topic=\"ev\"} 800\ntocsin_kafka_consumer_lag{group=\"g\",topic=\"ev\",partition=\"0\"} 42\n"
	f := sc.read(context.Background(), nil)
	require.InDelta(t, 300.0, f.engineEvents, 0)
	require.True(t, math.IsNaN(f.ingestEvents), "a role not read: unknown")
	require.InDelta(t, 0.0, f.alerts, 0, "a role read without the counter: none counted yet")
	require.InDelta(t, 42.0, f.engineLag, 0)

	// A rebalance: partition 0's engine is created again and counts from
	// zero; the total keeps growing.
	engine = "tocsin_engine_events_total{partition=\"0\",topic=\"ev\"} 60\n"
	f = sc.read(context.Background(), nil)
	require.InDelta(t, 360.0, f.engineEvents, 0)

	// A failed scrape leaves the total, and the next one counts from the
	// last good reading.
	sc.urls[roleEngine] = "http://127.0.0.1:1/metrics"
	f = sc.read(context.Background(), nil)
	require.Len(t, f.errs, 1)
	require.InDelta(t, 360.0, f.engineEvents, 0)
	sc.urls[roleEngine] = srv.URL
	engine = "tocsin_engine_events_total{partition=\"0\",topic=\"ev\"} 100\n"
	f = sc.read(context.Background(), nil)
	require.InDelta(t, 400.0, f.engineEvents, 0)
}

func TestSummarise(t *testing.T) {
	var rs []result
	for i := 1; i <= 100; i++ {
		rs = append(rs, result{seen: true, latency: time.Duration(i) * time.Millisecond})
	}
	rs = append(rs, result{seen: false}, result{seen: true, stale: true, latency: time.Hour})
	st := summarise(rs)
	require.Equal(t, 100, st.n)
	require.Equal(t, 1, st.missed)
	require.Equal(t, 1, st.stale)
	require.Equal(t, 50*time.Millisecond, st.p50)
	require.Equal(t, 90*time.Millisecond, st.p90)
	require.Equal(t, 99*time.Millisecond, st.p99)
	require.Equal(t, 100*time.Millisecond, st.max)
	require.Equal(t, 50500*time.Microsecond, st.mean)
	require.Equal(t, 0, summarise(nil).n)
}

func TestNum(t *testing.T) {
	require.Equal(t, "1,234,568", num(1234567.6))
	require.Equal(t, "-1,000", num(-1000))
	require.Equal(t, "999", num(999))
	require.Equal(t, "n/a", num(math.NaN()))
	require.Equal(t, "n/a", secs(math.Inf(1)))
	require.Equal(t, "0.125s", secs(0.125))
}

func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte(exposition))
	f.Add([]byte("a{b=\"\\\\\"} NaN\n# x\nc +Inf 12"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ss, err := parseMetrics(data)
		if err != nil {
			return
		}
		m := &metricSet{samples: ss}
		for _, s := range ss {
			if s.name == "" {
				t.Fatalf("empty name from %q", data)
			}
			if !m.has(s.name) {
				t.Fatalf("has(%q) false", s.name)
			}
		}
		by := map[string]float64{}
		for _, le := range bucketBounds(m, "x_bucket") {
			d, _ := counterDelta(nil, m, "x_bucket", "le", le)
			by[le] = d
		}
		_ = quantile(0.99, toBuckets(by))
		if len(ss) == 0 {
			return
		}
		// NaN and infinite values give NaN; anything else no growth.
		if d, ok := counterDelta(m, m, ss[0].name); !ok || (d != 0 && !math.IsNaN(d)) {
			t.Fatalf("a reading compared with itself grew by %v (ok %v)", d, ok)
		}
	})
}

func TestDrained(t *testing.T) {
	nanF := math.NaN()
	end := figures{spool: 10, engineLag: 5, historyLag: 0, chRows: 90, ingestEvents: 100}
	require.False(t, drained(end, end))
	require.True(t, drained(end, figures{spool: 0, engineLag: 0, historyLag: 0, chRows: 100, ingestEvents: 100}))
	require.False(t, drained(end, figures{spool: 0, engineLag: 0, historyLag: 0, chRows: 99, ingestEvents: 100}))
	// Lag 0 but events still being processed.
	require.False(t, drained(end, figures{spool: 0, engineLag: 0, historyLag: 0, chRows: 100, ingestEvents: 100, engineEvents: 90, produced: 100}))
	require.True(t, drained(end, figures{spool: 0, engineLag: 0, historyLag: 0, chRows: 100, ingestEvents: 100, engineEvents: 101, produced: 100}))
	// A failed scrape of the engine is not a drained engine.
	require.False(t, drained(end, figures{spool: 0, engineLag: nanF, historyLag: 0, chRows: 100, ingestEvents: 100}))
	// Figures never known are left out; nothing known is not drained.
	none := figures{spool: nanF, engineLag: nanF, historyLag: nanF, chRows: nanF, ingestEvents: nanF, engineEvents: nanF, produced: nanF}
	require.True(t, drained(none, figures{spool: nanF, engineLag: 0, historyLag: nanF, chRows: nanF, ingestEvents: nanF, engineEvents: nanF, produced: nanF}))
	require.False(t, drained(none, none))
}
