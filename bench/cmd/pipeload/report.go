package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Metric names read from the roles.
const (
	mIngestLines   = "tocsin_ingest_lines_total"
	mIngestEvents  = "tocsin_ingest_events_total"
	mProduced      = "tocsin_kafka_produced_messages_total"
	mSpoolMemory   = "tocsin_spool_memory_records"
	mSpoolDisk     = "tocsin_spool_disk_records"
	mEngineEvents  = "tocsin_engine_events_total"
	mEngineAlerts  = "tocsin_engine_alerts_total"
	mEngineGroups  = "tocsin_engine_groups"
	mCheckpointB   = "tocsin_stream_checkpoint_bytes"
	mCheckpointErr = "tocsin_stream_checkpoint_errors_total"
	mLag           = "tocsin_kafka_consumer_lag"
	mCHRows        = "tocsin_clickhouse_rows_written_total"
	mCHWrite       = "tocsin_clickhouse_write_duration_seconds"
	mOpened        = "tocsin_ticketing_incidents_opened_total"
	mProduceTime   = "tocsin_kafka_produce_duration_seconds"
)

// Roles, as indexes of scraper.urls.
const (
	roleIngest = iota
	roleEngine
	roleTicketing
	nRoles
)

// scraper reads the three roles' metrics and adds up their counters from
// one reading to the next, so that a counter that starts again from zero
// (a partition engine created again after a rebalance) does not make the
// totals go down.
type scraper struct {
	hc    *http.Client
	token string
	urls  [nRoles]string // /metrics URLs; empty skips the role

	eventsTopic, engineGroup, histGroup string
	chTable                             string

	prev   [nRoles]*metricSet
	totals map[string]*total
	bucket map[string]float64 // ClickHouse write-time buckets, by "le"
}

// total is a counter added up since the first reading; seen once any
// reading had it.
type total struct {
	v    float64
	seen bool
}

// figures is one reading of the pipeline. Counters (lines, events, rows,
// the ClickHouse write time and count) are totals since the first
// reading; the others are current values. A value is NaN when its role
// could not be read or does not export it.
type figures struct {
	at                        time.Time
	sent, sentBytes           uint64
	ingestLines, ingestEvents float64
	produced, spool           float64
	engineEvents, alerts      float64
	groups, checkpointBytes   float64
	checkpointErrs            float64
	engineLag, historyLag     float64
	chRows, chSum, chCount    float64
	chBuckets                 []bucket
	opened                    float64
	// Produce calls of ingest and of the engine, and the seconds they
	// took: a slow acknowledgement holds up a batch.
	ingestProduceN, ingestProduceS float64
	engineProduceN, engineProduceS float64
	load                           string
	errs                           []string
}

func nan() float64 { return math.NaN() }

// value sums metric name in m (NaN when m is nil or lacks it).
func value(m *metricSet, name string, match ...string) float64 {
	if !m.has(name) {
		return nan()
	}
	return m.sum(name, match...)
}

// add grows the total called key by the counter's growth from the
// previous reading of role to cur, and returns the total (NaN while the
// role could not be read).
func (s *scraper) add(key string, role int, cur *metricSet, name string, match ...string) float64 {
	t := s.totals[key]
	if t == nil {
		t = &total{}
		s.totals[key] = t
	}
	// A role that answered without the counter has not counted yet (a
	// labelled counter appears on its first increment).
	if d, ok := counterDelta(s.prev[role], cur, name, match...); ok || cur != nil {
		t.v += d
		t.seen = true
	}
	if !t.seen {
		return nan()
	}
	return t.v
}

// baseline takes the first reading: what the counters hold then is not
// part of the run.
func (s *scraper) baseline(ctx context.Context) figures {
	s.totals = map[string]*total{}
	s.bucket = map[string]float64{}
	f := s.read(ctx, nil)
	for _, t := range s.totals {
		t.v = 0
	}
	clear(s.bucket)
	// Counters count from here; one that appears later starts from zero.
	f.ingestLines, f.ingestEvents, f.produced, f.engineEvents, f.alerts = 0, 0, 0, 0, 0
	f.checkpointErrs, f.chRows, f.chSum, f.chCount, f.opened = 0, 0, 0, 0, 0
	f.ingestProduceN, f.ingestProduceS, f.engineProduceN, f.engineProduceS = 0, 0, 0, 0
	f.chBuckets = nil
	return f
}

func (s *scraper) read(ctx context.Context, snd *sender) figures {
	f := figures{at: time.Now(), load: loadAverage()}
	if snd != nil {
		f.sent, f.sentBytes = snd.sent.Load(), snd.bytes.Load()
	}
	var cur [nRoles]*metricSet
	for role, url := range s.urls {
		if url == "" {
			continue
		}
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := scrape(c, s.hc, url, s.token)
		cancel()
		if err != nil {
			f.errs = append(f.errs, err.Error())
		}
		cur[role] = m
	}
	in, en, tk := cur[roleIngest], cur[roleEngine], cur[roleTicketing]
	f.ingestLines = s.add("lines", roleIngest, in, mIngestLines)
	f.ingestEvents = s.add("events", roleIngest, in, mIngestEvents)
	f.produced = s.add("produced", roleIngest, in, mProduced, "topic", s.eventsTopic)
	f.spool = value(in, mSpoolMemory, "buffer", "events") + value(in, mSpoolDisk, "buffer", "events")
	// Engines of repartition partitions see copies of events already
	// counted on the events topic: count only the events topic's engines
	// when the metric says which topic it is from.
	if en != nil && hasLabel(en, mEngineEvents, "topic") {
		f.engineEvents = s.add("engine", roleEngine, en, mEngineEvents, "topic", s.eventsTopic)
	} else {
		f.engineEvents = s.add("engine", roleEngine, en, mEngineEvents)
	}
	f.alerts = s.add("alerts", roleEngine, en, mEngineAlerts)
	f.checkpointErrs = s.add("checkpoint_errors", roleEngine, en, mCheckpointErr)
	f.groups = value(en, mEngineGroups)
	f.checkpointBytes = value(en, mCheckpointB)
	f.engineLag = value(en, mLag, "group", s.engineGroup)
	f.historyLag = value(tk, mLag, "group", s.histGroup)
	f.chRows = s.add("ch_rows", roleTicketing, tk, mCHRows, "table", s.chTable)
	f.chSum = s.add("ch_sum", roleTicketing, tk, mCHWrite+"_sum", "table", s.chTable)
	f.chCount = s.add("ch_count", roleTicketing, tk, mCHWrite+"_count", "table", s.chTable)
	f.opened = s.add("opened", roleTicketing, tk, mOpened)
	f.ingestProduceN = s.add("ingest_produce_n", roleIngest, in, mProduceTime+"_count")
	f.ingestProduceS = s.add("ingest_produce_s", roleIngest, in, mProduceTime+"_sum")
	f.engineProduceN = s.add("engine_produce_n", roleEngine, en, mProduceTime+"_count")
	f.engineProduceS = s.add("engine_produce_s", roleEngine, en, mProduceTime+"_sum")
	if tk != nil {
		for _, le := range bucketBounds(tk, mCHWrite+"_bucket", "table", s.chTable) {
			d, _ := counterDelta(s.prev[roleTicketing], tk, mCHWrite+"_bucket", "table", s.chTable, "le", le)
			s.bucket[le] += d
		}
	}
	f.chBuckets = toBuckets(s.bucket)
	for role, m := range cur {
		if m != nil {
			s.prev[role] = m
		}
	}
	return f
}

// bucketBounds lists the "le" labels of a histogram's buckets in m.
func bucketBounds(m *metricSet, name string, match ...string) []string {
	seen := map[string]bool{}
	var out []string
	for i := range m.samples {
		sm := &m.samples[i]
		if sm.name == name && labelsMatch(sm.labels, match) && !seen[sm.labels["le"]] {
			seen[sm.labels["le"]] = true
			out = append(out, sm.labels["le"])
		}
	}
	return out
}

func toBuckets(by map[string]float64) []bucket {
	out := make([]bucket, 0, len(by))
	for le, c := range by {
		if v, err := parseValue(le); err == nil {
			out = append(out, bucket{v, c})
		}
	}
	slices.SortFunc(out, func(a, b bucket) int { return cmp.Compare(a.le, b.le) })
	return out
}

// loadAverage is the one-minute load average ("" where unknown): other
// work on the machine takes cores from what is measured.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.SplitN(string(b), " ", 2)[0]
}

func hasLabel(m *metricSet, name, label string) bool {
	for i := range m.samples {
		if m.samples[i].name == name {
			if _, ok := m.samples[i].labels[label]; ok {
				return true
			}
		}
	}
	return false
}

// rate is (b-a)/seconds between two readings, NaN when unknown.
func rate(a, b float64, from, to time.Time) float64 {
	d := to.Sub(from).Seconds()
	if d <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return nan()
	}
	return (b - a) / d
}

// num prints a count or rate with thousands separators, "n/a" for NaN.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	neg := v < 0
	s := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// secs prints seconds with millisecond precision, "n/a" for NaN.
func secs(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', 3, 64) + "s"
}

// progress prints one line comparing two readings.
func progress(w io.Writer, start, prev, cur figures, pol *poller) {
	r := func(a, b float64) string { return num(rate(a, b, prev.at, cur.at)) }
	fmt.Fprintf(w, "[%5.0fs] sent %s (%s lines/s) | ingest %s ev/s, to Kafka %s ev/s, buffered %s | engine %s ev/s, lag %s, groups %s | history %s rows/s, lag %s, write %s x %s | bursts %d seen, %d pending, %d missed | load %s\n",
		cur.at.Sub(start.at).Seconds(),
		num(float64(cur.sent)), r(float64(prev.sent), float64(cur.sent)),
		r(prev.ingestEvents, cur.ingestEvents), r(prev.produced, cur.produced), num(cur.spool),
		r(prev.engineEvents, cur.engineEvents), num(cur.engineLag), num(cur.groups),
		r(prev.chRows, cur.chRows), num(cur.historyLag),
		num(cur.chCount-prev.chCount), secs(ratio(cur.chSum-prev.chSum, cur.chCount-prev.chCount)),
		pol.nSeen.Load(), pol.nPending.Load(), pol.nMissed.Load(), cur.load)
	for _, e := range cur.errs {
		fmt.Fprintf(w, "         metrics: %s\n", e)
	}
}

func ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return nan()
	}
	return a / b
}

// latencyStats summarises the latencies of the bursts that were seen
// (stale matches left out).
type latencyStats struct {
	n, missed, stale         int
	p50, p90, p99, max, mean time.Duration
}

func summarise(rs []result) latencyStats {
	var st latencyStats
	var ls []time.Duration
	for _, r := range rs {
		switch {
		case !r.seen:
			st.missed++
		case r.stale:
			st.stale++
		default:
			ls = append(ls, r.latency)
		}
	}
	st.n = len(ls)
	if st.n == 0 {
		return st
	}
	slices.Sort(ls)
	var total time.Duration
	for _, l := range ls {
		total += l
	}
	st.mean = total / time.Duration(st.n)
	st.p50, st.p90, st.p99 = nearestRank(ls, 0.50), nearestRank(ls, 0.90), nearestRank(ls, 0.99)
	st.max = ls[len(ls)-1]
	return st
}

// nearestRank is the q-quantile of sorted values: the smallest value with
// at least q of them at or below it.
func nearestRank(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 0, 64) + " ms"
}
