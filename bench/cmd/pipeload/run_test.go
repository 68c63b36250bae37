package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/ingest/parse"
	"github.com/tocsin-siem/tocsin/schemas"
)

// fakePipeline stands in for the three roles: a TCP listener that parses
// every line with tocsin's parser and opens an incident, delay later,
// for a source with threshold failed SSH logins; an incident API; and
// metrics that count the lines.
type fakePipeline struct {
	t         *testing.T
	threshold int
	delay     time.Duration
	ln        net.Listener
	lines     atomic.Int64

	mu        sync.Mutex
	fails     map[string]int
	incidents []map[string]any // newest last
	queries   atomic.Int64
}

func newFakePipeline(t *testing.T, threshold int, delay time.Duration) *fakePipeline {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakePipeline{t: t, threshold: threshold, delay: delay, ln: ln, fails: map[string]int{}}
	t.Cleanup(func() { ln.Close() })
	go f.accept()
	return f
}

func (f *fakePipeline) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.serve(c)
	}
}

func (f *fakePipeline) serve(c net.Conn) {
	defer c.Close()
	p := parse.New(parse.Options{})
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f.lines.Add(1)
		var ev schemas.Event
		if p.Parse(sc.Text(), time.Now(), &ev) != nil {
			continue
		}
		if ev.Event.Action != schemas.ActionSSHLogin || ev.Event.Outcome != schemas.OutcomeFailure {
			continue
		}
		ip := ev.Source.IP
		f.mu.Lock()
		f.fails[ip] += max(1, ev.Event.Count)
		fire := f.fails[ip] == f.threshold
		f.mu.Unlock()
		if fire {
			time.AfterFunc(f.delay, func() {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.incidents = append(f.incidents, map[string]any{
					"id": fmt.Sprintf("INC-%06d", len(f.incidents)+1), "created_at": time.Now(),
					"entities": []map[string]string{{"type": "ip", "field": "source.ip", "value": ip}},
				})
			})
		}
	}
}

func (f *fakePipeline) api() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/incidents", func(w http.ResponseWriter, r *http.Request) {
		f.queries.Add(1)
		require.Equal(f.t, "ssh-brute-force-fast", r.URL.Query().Get("rule"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		f.mu.Lock()
		var page []map[string]any
		for i := len(f.incidents) - 1 - offset; i >= 0 && len(page) < limit; i-- {
			page = append(page, f.incidents[i])
		}
		total := len(f.incidents)
		f.mu.Unlock()
		if page == nil {
			page = []map[string]any{}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"incidents": page, "total": total, "limit": limit, "offset": offset})
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		n := f.lines.Load()
		fmt.Fprintf(w, "tocsin_kafka_consumer_lag{group=\"tocsin-history\",topic=\"tocsin.events\",partition=\"0\"} 0\n")
		fmt.Fprintf(w, "tocsin_clickhouse_rows_written_total{table=\"events\"} %d\n", n)
		fmt.Fprintf(w, "tocsin_clickhouse_write_duration_seconds_bucket{table=\"events\",le=\"0.1\"} %d\n", n/1000)
		fmt.Fprintf(w, "tocsin_clickhouse_write_duration_seconds_bucket{table=\"events\",le=\"+Inf\"} %d\n", n/1000)
		fmt.Fprintf(w, "tocsin_clickhouse_write_duration_seconds_sum{table=\"events\"} %g\n", float64(n/1000)*0.05)
		fmt.Fprintf(w, "tocsin_clickhouse_write_duration_seconds_count{table=\"events\"} %d\n", n/1000)
	})
	mux.HandleFunc("GET /ingest/metrics", func(w http.ResponseWriter, r *http.Request) {
		n := f.lines.Load()
		fmt.Fprintf(w, "tocsin_ingest_lines_total{source=\"tcp\"} %d\ntocsin_ingest_events_total{source=\"tcp\"} %d\n", n, n)
		fmt.Fprintf(w, "tocsin_kafka_produced_messages_total{topic=\"tocsin.events\"} %d\n", n)
		fmt.Fprintf(w, "tocsin_kafka_produced_messages_total{topic=\"tocsin.failures\"} 3\n")
		fmt.Fprintf(w, "tocsin_spool_memory_records{buffer=\"events\"} 0\ntocsin_spool_disk_records{buffer=\"events\"} 0\n")
	})
	mux.HandleFunc("GET /engine/metrics", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tocsin_engine_events_total{keyset=\"\",partition=\"0\",topic=\"tocsin.events\"} %d\n", f.lines.Load())
		fmt.Fprintf(w, "tocsin_engine_events_total{keyset=\"x\",partition=\"0\",topic=\"tocsin.repartition\"} 7\n")
		fmt.Fprintf(w, "tocsin_kafka_consumer_lag{group=\"tocsin-engine\",topic=\"tocsin.events\",partition=\"0\"} 0\n")
	})
	return mux
}

var resultRE = regexp.MustCompile(`(?m)^RESULT .*$`)

func resultField(t *testing.T, out, key string) string {
	line := resultRE.FindString(out)
	require.NotEmpty(t, line, out)
	m := regexp.MustCompile(` ` + key + `=(\S+)`).FindStringSubmatch(line)
	require.NotNil(t, m, "%s not in %s", key, line)
	return m[1]
}

func TestRunAgainstFakePipeline(t *testing.T) {
	f := newFakePipeline(t, 10, 120*time.Millisecond)
	srv := httptest.NewServer(f.api())
	defer srv.Close()

	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{
		"-syslog", f.ln.Addr().String(), "-api", srv.URL,
		"-ingest-metrics", srv.URL + "/ingest/metrics", "-engine-metrics", srv.URL + "/engine/metrics",
		"-lines", "10000", "-duration", "2500ms", "-rate", "8000", "-conns", "2",
		"-burst-every", "400ms", "-burst-span", "200ms", "-burst-first", "100ms",
		"-report", "1s", "-drain", "5s", "-burst-timeout", "3s",
	}, &out, &errOut)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	s := out.String()
	require.Contains(t, s, "shares them with everything it measures")
	require.Contains(t, s, "drained")

	sent, err := strconv.Atoi(resultField(t, s, "sent_lines_per_s"))
	require.NoError(t, err)
	require.InDelta(t, 8000, sent, 1200, s)
	bursts, err := strconv.Atoi(resultField(t, s, "bursts"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, bursts, 4, s)
	require.Equal(t, "0", resultField(t, s, "missed"))
	p50, err := strconv.Atoi(resultField(t, s, "latency_p50_ms"))
	require.NoError(t, err)
	// The fake opens the incident 120 ms after the last line arrives; the
	// poll adds up to 50 ms.
	require.GreaterOrEqual(t, p50, 120, s)
	require.Less(t, p50, 400, s)
	// Engine events count only the events topic.
	engine, err := strconv.Atoi(resultField(t, s, "engine_events_per_s"))
	require.NoError(t, err)
	require.InDelta(t, sent, engine, 1500, s)
	rows, err := strconv.Atoi(resultField(t, s, "history_rows_per_s"))
	require.NoError(t, err)
	require.InDelta(t, sent, rows, 1500, s)
	require.Regexp(t, `\[ +[12]s\] sent [0-9,]+ \([0-9,]+ lines/s\) \| ingest [0-9,]+ ev/s, to Kafka [0-9,]+ ev/s, buffered 0 \|`, s)
	kafka, err := strconv.Atoi(resultField(t, s, "kafka_events_per_s"))
	require.NoError(t, err)
	require.InDelta(t, sent, kafka, 1500, s)
	require.Regexp(t, `clickhouse writes to events, whole run: 2[01] batches`, s)
	require.Contains(t, s, "p50 0.050s")
	require.Greater(t, f.queries.Load(), int64(bursts))
	t.Log("\n" + s)
}

func TestRunReportsMissedBursts(t *testing.T) {
	// A threshold no burst reaches: every burst is missed, and the run
	// fails.
	f := newFakePipeline(t, 1000, 0)
	srv := httptest.NewServer(f.api())
	defer srv.Close()
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{
		"-syslog", f.ln.Addr().String(), "-api", srv.URL,
		"-ingest-metrics", "", "-engine-metrics", "", "-ticketing-metrics", "-",
		"-lines", "10000", "-duration", "1s", "-rate", "1000", "-conns", "1",
		"-burst-every", "300ms", "-burst-span", "50ms", "-burst-first", "10ms",
		"-burst-timeout", "1s", "-drain", "0s",
	}, &out, &errOut)
	require.Equal(t, 1, code, out.String())
	require.Contains(t, errOut.String(), "bursts did not show as incidents of ssh-brute-force-fast")
	require.Contains(t, out.String(), "MISSED burst 0 from 198.1")
	require.Equal(t, "na", resultField(t, out.String(), "latency_p50_ms"))
}

func TestParseOptionsBounds(t *testing.T) {
	var errOut bytes.Buffer
	_, err := parseOptions([]string{"-duration", "5h", "-conns", "0", "-rate", "-1", "-burst-every", "1s", "-burst-span", "2s", "-drain", "1h"}, &errOut)
	require.Error(t, err)
	for _, want := range []string{"-duration 5h0m0s", "-conns 0", "-rate -1", "-burst-every 1s", "-drain 1h0m0s"} {
		require.ErrorContains(t, err, want)
	}
	o, err := parseOptions([]string{"-api", "http://h:1/"}, &errOut)
	require.NoError(t, err)
	require.Equal(t, "http://h:1", o.api)
	require.Equal(t, "http://h:1/metrics", o.ticketingMetrics)
	require.Equal(t, 10*time.Minute, o.duration)
}

func TestBurstLineParsesAsFailedLogin(t *testing.T) {
	now := time.Date(2027, 5, 9, 7, 8, 9, 123456000, time.UTC)
	line := burstLine(nil, now, "bench01", 30001, "198.18.0.9", 40001)
	require.Equal(t, byte('\n'), line[len(line)-1])
	var ev schemas.Event
	require.NoError(t, parse.New(parse.Options{}).Parse(string(line[:len(line)-1]), now, &ev))
	require.Equal(t, schemas.ActionSSHLogin, ev.Event.Action)
	require.Equal(t, schemas.OutcomeFailure, ev.Event.Outcome)
	require.Equal(t, "198.18.0.9", ev.Source.IP)
	require.Equal(t, "root", ev.User.Name)
	require.Equal(t, now, ev.Timestamp)
}

func TestBurstAddr(t *testing.T) {
	require.Equal(t, "198.18.0.5", burstAddr(5, 0).String())
	require.Equal(t, "198.19.255.255", burstAddr(1<<17-1, 0).String())
	require.Equal(t, "198.18.0.0", burstAddr(1<<17-1, 1).String())
	for i := range 300 {
		require.True(t, burstNet.Contains(burstAddr(130000, i)))
	}
	require.True(t, netip.MustParseAddr("198.18.0.0").Is4())
}

func TestPollerPagesAndTimesOut(t *testing.T) {
	f := &fakePipeline{t: t}
	for i := range 5 {
		f.incidents = append(f.incidents, map[string]any{
			"id": fmt.Sprintf("INC-%d", i), "created_at": time.Now(),
			"entities": []map[string]string{{"value": fmt.Sprintf("198.18.0.%d", i)}},
		})
	}
	srv := httptest.NewServer(f.api())
	defer srv.Close()
	pol := &poller{hc: srv.Client(), api: srv.URL, rule: "ssh-brute-force-fast", interval: 10 * time.Millisecond,
		timeout: 300 * time.Millisecond, pageSize: 2}
	in := make(chan planted, 3)
	now := time.Now()
	// The oldest incident is on the third page; 198.18.0.99 never shows;
	// an old incident for 198.18.0.4 is stale for a burst begun now.
	in <- planted{index: 0, ip: "198.18.0.0", first: now, last: now}
	in <- planted{index: 1, ip: "198.18.0.99", first: now, last: now}
	in <- planted{index: 2, ip: "198.18.0.4", first: now.Add(time.Minute), last: now.Add(time.Minute)}
	close(in)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pol.run(ctx, in)
	require.Len(t, pol.done, 3)
	byIP := map[string]result{}
	for _, r := range pol.done {
		byIP[r.ip] = r
	}
	require.True(t, byIP["198.18.0.0"].seen)
	require.Equal(t, "INC-0", byIP["198.18.0.0"].incident)
	require.False(t, byIP["198.18.0.0"].stale)
	require.False(t, byIP["198.18.0.99"].seen)
	require.True(t, byIP["198.18.0.4"].stale)
	require.Equal(t, int64(1), pol.nMissed.Load())
	require.Equal(t, int64(2), pol.nSeen.Load())
	require.Equal(t, int64(0), pol.nPending.Load())
}
