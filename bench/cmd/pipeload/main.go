// Command pipeload measures tocsin's production path (tocsin ingest →
// Kafka → tocsin engine → Kafka → tocsin ticketing → ClickHouse) under a
// sustained load, on servers already running.
//
// It sends syslog lines over TCP to the ingest role, at a fixed rate or as
// fast as ingest reads them, for a bounded duration. The lines come from a
// file (such as authgen's output) or are generated in memory with
// authgen's generator, and are sent over and over: every line gets the
// time of sending as its timestamp, and every pass after the first moves
// the IP addresses so that each pass brings new sources.
//
// Meanwhile it plants short brute-force bursts (by default 10 failed root
// logins in 2 s, each burst from a new address of 198.18.0.0/15) on a
// connection of their own, and measures for each the time from writing
// its last line to the moment its incident shows in the ticketing API
// (GET /api/v1/incidents?rule=..., polled every 50 ms, matched by the
// address among the incident's entities). The default burst reaches the
// rule's threshold (ssh-brute-force-fast: 10) with its last line, so that
// line is the one that opens the incident.
//
// Every 10 s, and at the end, it prints the lines sent and what the three
// roles' /metrics say: events parsed by ingest, events correlated by the
// engine, the consumer lag of the engine and of the event-history
// consumer, rows written to ClickHouse's events table and the time those
// writes took. After sending it waits (bounded) for the consumers to
// drain, then prints a summary ending in one RESULT line.
//
//	pipeload -syslog 127.0.0.1:5514 -api http://127.0.0.1:8080 \
//	    -ingest-metrics http://127.0.0.1:9101/metrics \
//	    -engine-metrics http://127.0.0.1:9102/metrics -duration 10m
//
// bench/pipeline.sh starts Kafka, ClickHouse and the roles, and runs it.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tocsin-siem/tocsin/bench/internal/authlog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Bounds on the flags: every loop of a run ends.
const (
	maxDuration = 4 * time.Hour
	maxDrain    = 30 * time.Minute
	maxConns    = 64
)

type options struct {
	syslog, api                         string
	ingestMetrics, engineMetrics        string
	ticketingMetrics                    string
	token                               string
	file                                string
	lines                               int
	seed                                uint64
	duration                            time.Duration
	rate                                float64
	conns                               int
	burstEvery, burstSpan, burstFirst   time.Duration
	burstLines                          int
	rule                                string
	poll, burstTimeout, report, drain   time.Duration
	eventsTopic, engineGroup, histGroup string
	chTable                             string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("pipeload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.syslog, "syslog", "127.0.0.1:5514", "TCP address of tocsin ingest's syslog listener")
	fs.StringVar(&o.api, "api", "http://127.0.0.1:8080", "base URL of tocsin ticketing's HTTP API")
	fs.StringVar(&o.ingestMetrics, "ingest-metrics", "http://127.0.0.1:9101/metrics", "metrics URL of tocsin ingest (empty: not read)")
	fs.StringVar(&o.engineMetrics, "engine-metrics", "http://127.0.0.1:9102/metrics", "metrics URL of tocsin engine (empty: not read)")
	fs.StringVar(&o.ticketingMetrics, "ticketing-metrics", "", "metrics URL of tocsin ticketing (default: -api followed by /metrics; - for none)")
	fs.StringVar(&o.token, "token", "", "bearer token for the API and /metrics (http.token); default $TOCSIN_HTTP_TOKEN")
	fs.StringVar(&o.file, "file", "", "log file to send, one line per message (default: generate -lines lines with authgen's generator)")
	fs.IntVar(&o.lines, "lines", 1_000_000, "lines to generate when -file is not given")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated lines and of the first burst address")
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "how long to send (at most 4h)")
	fs.Float64Var(&o.rate, "rate", 0, "background lines per second over all connections; 0 sends as fast as ingest reads")
	fs.IntVar(&o.conns, "conns", 2, "background TCP connections (1..64)")
	fs.DurationVar(&o.burstEvery, "burst-every", 5*time.Second, "time between planted bursts (0: none)")
	fs.IntVar(&o.burstLines, "burst-lines", 10, "failed logins per burst (the rule fires on the last one when this equals its threshold)")
	fs.DurationVar(&o.burstSpan, "burst-span", 2*time.Second, "time from a burst's first line to its last")
	fs.DurationVar(&o.burstFirst, "burst-first", 5*time.Second, "time before the first burst")
	fs.StringVar(&o.rule, "rule", "ssh-brute-force-fast", "rule whose incidents the bursts open")
	fs.DurationVar(&o.poll, "poll", 50*time.Millisecond, "interval between incident queries while a burst is pending")
	fs.DurationVar(&o.burstTimeout, "burst-timeout", 10*time.Minute, "a burst whose incident is not visible this long after its last line is missed (at most 30m)")
	fs.DurationVar(&o.report, "report", 10*time.Second, "interval between progress lines")
	fs.DurationVar(&o.drain, "drain", 3*time.Minute, "after sending, wait at most this long for the consumers to catch up (at most 30m)")
	fs.StringVar(&o.eventsTopic, "events-topic", "tocsin.events", "kafka.topics.events of the roles (engine events are counted on it)")
	fs.StringVar(&o.engineGroup, "engine-group", "tocsin-engine", "kafka.groups.engine of the roles (its consumer lag is shown)")
	fs.StringVar(&o.histGroup, "history-group", "tocsin-history", "kafka.groups.history of the roles (its consumer lag is shown)")
	fs.StringVar(&o.chTable, "ch-table", "events", "table label of the ClickHouse metrics for the event history")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.token == "" {
		o.token = os.Getenv("TOCSIN_HTTP_TOKEN")
	}
	switch o.ticketingMetrics {
	case "":
		o.ticketingMetrics = strings.TrimSuffix(o.api, "/") + "/metrics"
	case "-":
		o.ticketingMetrics = ""
	}
	o.api = strings.TrimSuffix(o.api, "/")
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if o.duration <= 0 || o.duration > maxDuration {
		bad("-duration %s: must be above 0 and at most %s", o.duration, maxDuration)
	}
	if o.rate < 0 || o.rate > 10_000_000 || math.IsNaN(o.rate) {
		bad("-rate %g: must be 0 (as fast as accepted) up to 10000000 lines/s", o.rate)
	}
	if o.conns < 1 || o.conns > maxConns {
		bad("-conns %d: must be 1..%d", o.conns, maxConns)
	}
	if o.file == "" && (o.lines < 10_000 || o.lines > 20_000_000) {
		bad("-lines %d: must be 10000..20000000 (authgen plants attackers that need room)", o.lines)
	}
	if o.burstEvery < 0 || (o.burstEvery > 0 && o.burstEvery <= o.burstSpan) {
		bad("-burst-every %s: must be 0 (no bursts) or longer than -burst-span %s", o.burstEvery, o.burstSpan)
	}
	if o.burstLines < 1 || o.burstLines > 1000 {
		bad("-burst-lines %d: must be 1..1000", o.burstLines)
	}
	if o.burstSpan < 0 || o.burstFirst < 0 {
		bad("-burst-span and -burst-first must not be negative")
	}
	if o.poll < 10*time.Millisecond {
		bad("-poll %s: must be at least 10ms", o.poll)
	}
	if o.burstTimeout < time.Second || o.burstTimeout > maxDrain {
		bad("-burst-timeout %s: must be 1s..%s", o.burstTimeout, maxDrain)
	}
	if o.report < 100*time.Millisecond {
		bad("-report %s: must be at least 100ms", o.report)
	}
	if o.drain < 0 || o.drain > maxDrain {
		bad("-drain %s: must be 0..%s", o.drain, maxDrain)
	}
	return o, errors.Join(errs...)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "pipeload: %v\n", err)
		}
		return 2
	}
	c, source, err := loadCorpus(o)
	if err != nil {
		fmt.Fprintf(stderr, "pipeload: %v\n", err)
		return 1
	}
	if err := runLoad(ctx, o, c, source, stdout); err != nil {
		fmt.Fprintf(stderr, "pipeload: %v\n", err)
		return 1
	}
	return 0
}

// loadCorpus reads -file or generates the lines, and says which.
func loadCorpus(o options) (*corpus, string, error) {
	var data []byte
	var source string
	if o.file != "" {
		b, err := os.ReadFile(o.file)
		if err != nil {
			return nil, "", fmt.Errorf("cannot read the lines to send: %w", err)
		}
		data, source = b, o.file
	} else {
		g, err := authlog.New(authlog.Options{Seed: o.seed, Lines: o.lines, Format: authlog.FormatRFC5424})
		if err != nil {
			return nil, "", fmt.Errorf("cannot generate lines: %w", err)
		}
		var buf bytes.Buffer
		if _, err := g.WriteTo(&buf); err != nil {
			return nil, "", fmt.Errorf("cannot generate lines: %w", err)
		}
		data = buf.Bytes()
		source = fmt.Sprintf("authgen -lines %d -seed %d -format rfc5424 (in memory)", o.lines, o.seed)
	}
	c, err := parseCorpus(data)
	if err != nil {
		return nil, "", fmt.Errorf("cannot use %s: %w", source, err)
	}
	return c, source, nil
}

func runLoad(ctx context.Context, o options, c *corpus, source string, w io.Writer) error {
	hc := &http.Client{Timeout: 10 * time.Second}
	sc := &scraper{
		hc: hc, token: o.token,
		urls:        [nRoles]string{o.ingestMetrics, o.engineMetrics, o.ticketingMetrics},
		eventsTopic: o.eventsTopic, engineGroup: o.engineGroup, histGroup: o.histGroup, chTable: o.chTable,
	}
	rateText := "as fast as ingest reads"
	if o.rate > 0 {
		rateText = num(o.rate) + " lines/s"
	}
	fmt.Fprintf(w, "pipeload: %s lines (%s MB) from %s\n", num(float64(len(c.lines))), num(float64(c.bytes)/1e6), source)
	fmt.Fprintf(w, "pipeload: sending to %s for %s on %d connections, %s; a burst of %d failed logins in %s every %s, watched in %s (rule %s)\n",
		o.syslog, o.duration, o.conns, rateText, o.burstLines, o.burstSpan, o.burstEvery, o.api, o.rule)
	fmt.Fprintf(w, "pipeload: this machine has %d CPUs; pipeload shares them with everything it measures\n", runtime.NumCPU())

	start := sc.baseline(ctx)
	for _, e := range start.errs {
		fmt.Fprintf(w, "pipeload: warning: %s\n", e)
	}
	snd := &sender{c: c, addr: o.syslog, rate: o.rate, chunk: chunkFor(o.rate), start: time.Now()}
	start.at = snd.start

	sendCtx, stopSending := context.WithTimeout(ctx, o.duration)
	defer stopSending()
	var wg sync.WaitGroup
	for range o.conns {
		wg.Go(func() { _ = snd.run(sendCtx) })
	}
	pol := &poller{hc: hc, api: o.api, token: o.token, rule: o.rule, interval: o.poll, timeout: o.burstTimeout, pageSize: 200}
	bursts := make(chan planted, 16)
	if o.burstEvery > 0 {
		rng := rand.New(rand.NewPCG(o.seed, uint64(time.Now().UnixNano())))
		b := &burster{addr: o.syslog, lines: o.burstLines, span: o.burstSpan, every: o.burstEvery, first: o.burstFirst,
			base: rng.Uint32N(1 << 17), host: "bench01"}
		go b.run(sendCtx, bursts)
	} else {
		close(bursts)
	}
	// The poller outlives sending by at most the burst timeout.
	pollCtx, stopPolling := context.WithTimeout(ctx, o.duration+o.burstTimeout+o.drain+time.Minute)
	defer stopPolling()
	polled := make(chan struct{})
	go func() { pol.run(pollCtx, bursts); close(polled) }()

	tick := time.NewTicker(o.report)
	prev := start
sending:
	for {
		select {
		case <-sendCtx.Done():
			break sending
		case <-tick.C:
			cur := sc.read(ctx, snd)
			progress(w, start, prev, cur, pol)
			prev = cur
		}
	}
	tick.Stop()
	wg.Wait()
	stopped := time.Now()
	end := sc.read(context.Background(), snd)
	fmt.Fprintf(w, "pipeload: sending stopped after %.1fs; waiting up to %s for the consumers to drain\n", stopped.Sub(start.at).Seconds(), o.drain)
	if end.at.Sub(prev.at) >= time.Second { // rates over a shorter interval say little
		progress(w, start, prev, end, pol)
	}

	final, drainedAt := drainWait(ctx, sc, snd, start, end, o, w, pol)
	<-polled
	st := summary(w, o, snd, start, end, final, stopped, drainedAt, pol)
	if st.missed > 0 {
		return fmt.Errorf("%d of %d bursts did not show as incidents of %s", st.missed, len(pol.done), o.rule)
	}
	if end.sent == 0 {
		return errors.New("no line was sent: see the write errors above")
	}
	return nil
}

// drained reports whether the pipeline caught up with what ingest took:
// nothing left in ingest's buffer, no consumer lag, the engine counted as
// many events as ingest produced to Kafka, and the event history holds as
// many rows as ingest made events. A figure known at the end of
// sending (end) but unknown now (a scrape failed) is not caught up.
func drained(end, cur figures) bool {
	known := false
	for _, v := range [][2]float64{{end.spool, cur.spool}, {end.engineLag, cur.engineLag}, {end.historyLag, cur.historyLag}} {
		if math.IsNaN(v[1]) {
			if !math.IsNaN(v[0]) {
				return false
			}
			continue
		}
		known = true
		if v[1] > 0 {
			return false
		}
	}
	// The engine's lag reads 0 once it has fetched everything, before it
	// has processed it: also wait for its count to reach what ingest
	// produced.
	for _, v := range [][2]float64{{cur.chRows, cur.ingestEvents}, {cur.engineEvents, cur.produced}} {
		if math.IsNaN(v[0]) || math.IsNaN(v[1]) {
			continue
		}
		known = true
		if v[0] < v[1] {
			return false
		}
	}
	return known
}

// drainWait reads the metrics every second until the pipeline drained or
// o.drain passed; it returns the last reading and when it drained (zero
// when it did not).
func drainWait(ctx context.Context, sc *scraper, snd *sender, start, end figures, o options, w io.Writer, pol *poller) (figures, time.Time) {
	cur := end
	if drained(end, cur) {
		return cur, cur.at
	}
	deadline := end.at.Add(o.drain)
	lastPrint := end
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if !sleepCtx(ctx, time.Second) {
			break
		}
		cur = sc.read(ctx, snd)
		if drained(end, cur) {
			return cur, cur.at
		}
		if cur.at.Sub(lastPrint.at) >= o.report {
			progress(w, start, lastPrint, cur, pol)
			lastPrint = cur
		}
	}
	return cur, time.Time{}
}

// summary prints the run's figures and returns the burst latencies.
func summary(w io.Writer, o options, snd *sender, start, end, final figures, stopped, drainedAt time.Time, pol *poller) latencyStats {
	win := stopped.Sub(start.at).Seconds()
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("")
	p("== pipeload summary ==")
	p("machine: %d CPUs shared by pipeload, Kafka, ClickHouse and the three tocsin roles", runtime.NumCPU())
	p("send window: %.1f s, %d connections, target %s", win, o.conns, map[bool]string{true: num(o.rate) + " lines/s", false: "as fast as accepted"}[o.rate > 0])
	p("lines sent: %s (%s lines/s, %s MB/s); write errors %d, lines lost to them %d%s",
		num(float64(end.sent)), num(float64(end.sent)/win), strings.TrimSpace(fmt.Sprintf("%.1f", float64(end.sentBytes)/win/1e6)),
		snd.writeErrs.Load(), snd.lostLines.Load(), lastErrText(snd))
	over := func(a, b float64) string { return num(rate(a, b, start.at, end.at)) }
	p("ingest: %s lines, %s events (%s/s); produced to Kafka %s (%s/s); left in its buffer at the end of sending %s",
		num(end.ingestLines), num(end.ingestEvents), over(start.ingestEvents, end.ingestEvents),
		num(end.produced), over(start.produced, end.produced), num(end.spool))
	p("engine: %s events of the events topic (%s/s), %s alerts; at the end of sending: lag %s, open groups %s, last checkpoints %s bytes; %s checkpoints not written",
		num(end.engineEvents), over(start.engineEvents, end.engineEvents), num(end.alerts),
		num(end.engineLag), num(end.groups), num(end.checkpointBytes), num(final.checkpointErrs))
	p("history (ClickHouse %s table): %s rows (%s/s); lag at the end of sending %s",
		o.chTable, num(end.chRows), over(start.chRows, end.chRows), num(end.historyLag))
	p("clickhouse writes to %s, whole run: %s batches, %s rows per batch, write time mean %s, p50 %s, p99 %s (histogram estimate)",
		o.chTable, num(final.chCount), num(ratio(final.chRows, final.chCount)), secs(ratio(final.chSum, final.chCount)),
		secs(quantile(0.5, final.chBuckets)), secs(quantile(0.99, final.chBuckets)))
	p("kafka produce calls, whole run: ingest %s, mean %s; engine %s, mean %s (until every record of a call is acknowledged)",
		num(final.ingestProduceN), secs(ratio(final.ingestProduceS, final.ingestProduceN)),
		num(final.engineProduceN), secs(ratio(final.engineProduceS, final.engineProduceN)))
	p("(rates above are over the send window)")
	engineTotal, rowsTotal := nan(), nan()
	if !drainedAt.IsZero() {
		d := drainedAt.Sub(start.at).Seconds()
		engineTotal, rowsTotal = final.engineEvents/d, final.chRows/d
		p("drained %.1f s after sending stopped; from the first line sent to the last row stored: %s events/s through the engine, %s rows/s into the history",
			max(0, drainedAt.Sub(stopped).Seconds()), num(engineTotal), num(rowsTotal))
	} else {
		p("NOT drained within %s: ingest buffer %s; engine lag %s, %s events of %s produced; history lag %s, %s rows of %s ingest events",
			o.drain, num(final.spool), num(final.engineLag), num(final.engineEvents), num(final.produced),
			num(final.historyLag), num(final.chRows), num(final.ingestEvents))
	}
	p("incidents opened during the run: %s", num(final.opened))
	for _, e := range final.errs {
		p("metrics: %s", e)
	}
	st := summarise(pol.done)
	p("bursts: %d planted, %d seen, %d missed, %d matched an older incident; %d polls, %d failed%s",
		len(pol.done), st.n+st.stale, st.missed, st.stale, pol.polls, pol.errs, map[bool]string{true: " (last: " + pol.lastErr + ")", false: ""}[pol.errs > 0])
	listed := 0
	for _, r := range pol.done {
		if r.seen {
			continue
		}
		if listed++; listed > 10 {
			p("  ... and %d more missed", st.missed-10)
			break
		}
		why := "no incident within " + o.burstTimeout.String()
		if r.err != nil {
			why = r.err.Error()
		}
		p("  MISSED burst %d from %s: %s", r.index, r.ip, why)
	}
	if st.n > 0 {
		p("latency, last burst line written -> incident visible in the API (n=%d, poll every %s): p50 %s, p90 %s, p99 %s, max %s, mean %s",
			st.n, o.poll, ms(st.p50), ms(st.p90), ms(st.p99), ms(st.max), ms(st.mean))
	}
	p("RESULT sent_lines_per_s=%s ingest_events_per_s=%s kafka_events_per_s=%s engine_events_per_s=%s history_rows_per_s=%s e2e_engine_events_per_s=%s e2e_history_rows_per_s=%s latency_p50_ms=%s latency_p90_ms=%s latency_p99_ms=%s latency_max_ms=%s bursts=%d missed=%d",
		plain(float64(end.sent)/win), plain(rate(start.ingestEvents, end.ingestEvents, start.at, end.at)),
		plain(rate(start.produced, end.produced, start.at, end.at)),
		plain(rate(start.engineEvents, end.engineEvents, start.at, end.at)), plain(rate(start.chRows, end.chRows, start.at, end.at)),
		plain(engineTotal), plain(rowsTotal),
		msPlain(st.n, st.p50), msPlain(st.n, st.p90), msPlain(st.n, st.p99), msPlain(st.n, st.max), len(pol.done), st.missed)
	return st
}

func lastErrText(s *sender) string {
	if e := s.lastErr(); e != "" {
		return " (last: " + e + ")"
	}
	return ""
}

func plain(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "na"
	}
	return fmt.Sprintf("%.0f", v)
}

func msPlain(n int, d time.Duration) string {
	if n == 0 {
		return "na"
	}
	return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond))
}
