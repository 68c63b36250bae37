package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/schemas"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func TestBatcherFillsEvent(t *testing.T) {
	tp := newTestPipeline(t, nil)
	b := tp.NewBatcher(Source{Kind: KindTCP, Name: "conn-1"})
	ctx := context.Background()

	buf := []byte(sshLine("web1", 123, "root"))
	require.NoError(t, b.Line(ctx, buf, t0, "192.0.2.7"))
	// The header has no hostname: host.name falls back to the sender.
	require.NoError(t, b.Line(ctx, []byte("<13>Jan  1 00:00:00 sshd[12]: Accepted password for bob from 10.0.0.6 port 22 ssh2"), t0, "192.0.2.8"))
	copy(buf, "XXXXXXXX") // the batcher must have copied the line
	require.Empty(t, tp.sink.events, "published before the batch was full")
	require.NoError(t, b.Close(ctx))

	evs, fails := tp.sink.snapshot()
	require.Empty(t, fails)
	require.Len(t, evs, 2)
	e := evs[0]
	require.Equal(t, EventID("conn-1", 1), e.ID)
	require.Equal(t, sshLine("web1", 123, "root"), e.Event.Original)
	require.Equal(t, "web1", e.Host.Name)
	require.Equal(t, "192.0.2.7", e.Log.Source.Address)
	require.Equal(t, "sshd", e.Event.Dataset)
	require.Equal(t, "10.0.0.5", e.Source.IP)
	require.Equal(t, t0, e.Event.Created)

	e = evs[1]
	require.Equal(t, EventID("conn-1", 2), e.ID)
	require.Empty(t, e.Log.Syslog.Hostname)
	require.Equal(t, "192.0.2.8", e.Host.Name)
	require.Equal(t, "192.0.2.8", e.Log.Source.Address)
	require.NotEqual(t, evs[0].ID, evs[1].ID)

	require.Equal(t, 2.0, tp.metric(t, "tocsin_ingest_lines_total", "source", "tcp"))
	require.Equal(t, 2.0, tp.metric(t, "tocsin_ingest_events_total", "source", "tcp"))
	require.Equal(t, float64(len(evs[0].Event.Original)+len(evs[1].Event.Original)),
		tp.metric(t, "tocsin_ingest_bytes_total", "source", "tcp"))
}

func TestEventIDIsFNV64a(t *testing.T) {
	// FNV-64a of "a", a zero byte and eight zero bytes, computed by hand
	// from the algorithm's definition rather than taken from the code.
	h := uint64(14695981039346656037)
	for _, c := range append([]byte("a"), make([]byte, 9)...) {
		h ^= uint64(c)
		h *= 1099511628211
	}
	require.Equal(t, h, EventID("a", 0))
	require.NotEqual(t, EventID("a", 1), EventID("a", 256))
	require.NotEqual(t, EventID("ab", 1), EventID("a", 1))
}

func TestBatcherBatchesBySizeAndInterval(t *testing.T) {
	tp := newTestPipeline(t, func(o *PipelineOptions) {
		o.BatchSize = 3
		o.FlushInterval = time.Second
	})
	b := tp.NewBatcher(Source{Kind: KindUDP, Name: "u"})
	ctx := context.Background()
	for i := range 7 {
		require.NoError(t, b.Line(ctx, []byte(sshLine("h", i, "u")), t0, "s"))
	}
	require.Equal(t, []int{3, 3}, tp.sink.batches)
	require.Equal(t, 1, b.Pending())
	require.Equal(t, t0.Add(time.Second), b.DueAt())

	// Not yet due, then due.
	require.NoError(t, b.FlushDue(ctx, t0.Add(999*time.Millisecond)))
	require.Equal(t, []int{3, 3}, tp.sink.batches)
	require.NoError(t, b.FlushDue(ctx, t0.Add(time.Second)))
	require.Equal(t, []int{3, 3, 1}, tp.sink.batches)
	require.True(t, b.DueAt().IsZero())

	// The interval counts from the oldest pending line.
	require.NoError(t, b.Line(ctx, []byte(sshLine("h", 1, "u")), t0.Add(5*time.Second), "s"))
	require.NoError(t, b.Line(ctx, []byte(sshLine("h", 2, "u")), t0.Add(6*time.Second), "s"))
	require.Equal(t, t0.Add(6*time.Second), b.DueAt())
	require.NoError(t, b.FlushDue(ctx, t0.Add(6*time.Second)))
	require.Equal(t, []int{3, 3, 1, 2}, tp.sink.batches)
}

func TestBatcherBlankLines(t *testing.T) {
	tp := newTestPipeline(t, nil)
	b := tp.NewBatcher(Source{Kind: KindFile, Name: "file:x"})
	ctx := context.Background()
	for _, l := range []string{"", " \t", "\r", "\x00", sshLine("h", 1, "u")} {
		require.NoError(t, b.Line(ctx, []byte(l), t0, "file:x"))
	}
	require.NoError(t, b.Close(ctx))
	evs, fails := tp.sink.snapshot()
	require.Empty(t, fails)
	require.Len(t, evs, 1)
	require.Equal(t, EventID("file:x", 5), evs[0].ID, "blank lines keep their line numbers")
	require.Equal(t, 4.0, tp.metric(t, "tocsin_ingest_blank_lines_total", "source", "file"))
	require.Equal(t, 5.0, tp.metric(t, "tocsin_ingest_lines_total", "source", "file"))
}

func TestBatcherFailures(t *testing.T) {
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.BatchSize = 2 })
	b := tp.NewBatcher(Source{Kind: KindFile, Name: "file:/var/log/auth.log"})
	ctx := context.Background()
	garbage := []byte("hello world")
	require.NoError(t, b.Line(ctx, garbage, t0, "file:/var/log/auth.log"))
	copy(garbage, "XXXXX")
	require.NoError(t, b.Line(ctx, []byte("<999>Jan  1 00:00:00 h a: x"), t0, "file:/var/log/auth.log"))
	require.NoError(t, b.Reject(ctx, []byte("cut"), t0, "file:/var/log/auth.log", ReasonTooLong, "line longer than 3 bytes"))
	require.NoError(t, b.Line(ctx, []byte(sshLine("h", 1, "u")), t0, "file:/var/log/auth.log"))
	require.NoError(t, b.Close(ctx))

	evs, fails := tp.sink.snapshot()
	require.Len(t, evs, 1)
	require.Equal(t, EventID("file:/var/log/auth.log", 4), evs[0].ID)
	require.Len(t, fails, 3)
	require.Equal(t, schemas.ParseFailure{
		Source: "file:/var/log/auth.log", Address: "file:/var/log/auth.log",
		Reason: "no_header", Detail: fails[0].Detail, Raw: []byte("hello world"), Received: t0,
	}, fails[0])
	require.NotEmpty(t, fails[0].Detail)
	require.Equal(t, "bad_priority", fails[1].Reason)
	require.Equal(t, ReasonTooLong, fails[2].Reason)
	require.Equal(t, "line longer than 3 bytes", fails[2].Detail)
	require.Equal(t, []byte("cut"), fails[2].Raw)

	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_parse_failures_total", "source", "file", "reason", "no_header"))
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_parse_failures_total", "source", "file", "reason", "bad_priority"))
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_parse_failures_total", "source", "file", "reason", "too_long"))
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_oversize_total", "source", "file"))
	require.Equal(t, 4.0, tp.metric(t, "tocsin_ingest_lines_total", "source", "file"))
	// Known reasons exist before any failure.
	require.Zero(t, tp.metric(t, "tocsin_ingest_parse_failures_total", "source", "file", "reason", "truncated"))
	families, err := tp.reg.Gather()
	require.NoError(t, err)
	found := false
	for _, mf := range families {
		if mf.GetName() == "tocsin_ingest_parse_failures_total" {
			for _, m := range mf.GetMetric() {
				found = found || matches(m, []string{"reason", "bad_octet_count"})
			}
		}
	}
	require.True(t, found, "failure reasons are not pre-created")
}

func TestBatcherWithoutFailureBus(t *testing.T) {
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.Failures = nil })
	b := tp.NewBatcher(Source{Kind: KindUDP, Name: "u"})
	ctx := context.Background()
	require.NoError(t, b.Line(ctx, []byte("garbage"), t0, "s"))
	require.NoError(t, b.Line(ctx, []byte(sshLine("h", 1, "u")), t0, "s"))
	require.NoError(t, b.Close(ctx))
	evs, _ := tp.sink.snapshot()
	require.Len(t, evs, 1)
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_parse_failures_total", "source", "udp", "reason", "no_header"))
	require.Contains(t, tp.logs.String(), `"reason":"no_header"`)
}

func TestBatcherFailureLogIsSummarised(t *testing.T) {
	tp := newTestPipeline(t, nil)
	ctx := context.Background()
	long := "garbage " + strings.Repeat("z", 5000)
	for range 3 {
		b := tp.NewBatcher(Source{Kind: KindTCP, Name: "c"})
		for range 100 {
			require.NoError(t, b.Line(ctx, []byte(long), t0, "192.0.2.1"))
		}
		require.NoError(t, b.Close(ctx))
	}
	tp.Close()

	var total int64
	lines := strings.Split(strings.TrimSpace(tp.logs.String()), "\n")
	require.Len(t, lines, 2, "one summary at the first failure, one at Close")
	for _, l := range lines {
		var rec struct {
			Count     int64  `json:"count"`
			Sample    string `json:"sample"`
			Component string `json:"component"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &rec))
		require.Equal(t, "ingest", rec.Component)
		require.LessOrEqual(t, len(rec.Sample), sampleBytes)
		total += rec.Count
	}
	require.Equal(t, int64(300), total)
}

func TestBatcherPublishError(t *testing.T) {
	boom := errors.New("bus down")
	tp := newTestPipeline(t, func(o *PipelineOptions) {
		o.BatchSize = 2
		o.Events = bus.Direct[*schemas.Event]{H: bus.HandlerFunc[*schemas.Event](
			func(context.Context, []*schemas.Event) error { return boom })}
	})
	b := tp.NewBatcher(Source{Kind: KindUDP, Name: "u"})
	ctx := context.Background()
	require.NoError(t, b.Line(ctx, []byte(sshLine("h", 1, "u")), t0, "s"))
	err := b.Line(ctx, []byte(sshLine("h", 2, "u")), t0, "s")
	require.ErrorIs(t, err, boom)
	require.Contains(t, err.Error(), "cannot publish 2 events from u")
	require.Zero(t, b.Pending())
	require.Equal(t, 2.0, tp.metric(t, "tocsin_ingest_dropped_total", "source", "udp"))
}

func TestBatcherAppliesSSHDTracker(t *testing.T) {
	tp := newTestPipeline(t, nil)
	b := tp.NewBatcher(Source{Kind: KindTCP, Name: "c"})
	ctx := context.Background()
	// Hostless lines: the tracker keys on host.name, which ingest has set
	// to the sender by the time the tracker sees the event.
	for _, l := range []string{
		"<38>Jan  5 10:00:00 sshd[77]: Invalid user admin from 10.0.0.9 port 4000",
		"<38>Jan  5 10:00:01 sshd[77]: Failed password for invalid user admin from 10.0.0.9 port 4000 ssh2",
		"<38>Jan  5 10:00:02 sshd[77]: Failed password for invalid user admin from 10.0.0.9 port 4000 ssh2",
	} {
		require.NoError(t, b.Line(ctx, []byte(l), t0, "192.0.2.9"))
	}
	require.NoError(t, b.Close(ctx))
	evs, fails := tp.sink.snapshot()
	require.Empty(t, fails)
	require.Len(t, evs, 3)
	counts := []int{evs[0].Event.Count, evs[1].Event.Count, evs[2].Event.Count}
	require.Equal(t, []int{1, 0, 1}, counts, "each attempt counts once")
}

func TestBatcherAllocsPerLine(t *testing.T) {
	tp := newTestPipeline(t, func(o *PipelineOptions) {
		o.Events = bus.Direct[*schemas.Event]{H: bus.HandlerFunc[*schemas.Event](
			func(context.Context, []*schemas.Event) error { return nil })}
	})
	b := tp.NewBatcher(Source{Kind: KindFile, Name: "file:a"})
	ctx := context.Background()
	line := []byte(sshLine("web1", 4242, "root"))
	allocs := testing.AllocsPerRun(10000, func() {
		_ = b.Line(ctx, line, t0, "file:a")
	})
	// The line's string; the event slab adds 1/256.
	require.LessOrEqual(t, allocs, 1.0)
}

func TestNewPipelineRejectsBadOptions(t *testing.T) {
	_, err := NewPipeline(PipelineOptions{BatchSize: -1, FlushInterval: -time.Second})
	require.Error(t, err)
	require.Contains(t, err.Error(), "cannot create ingest pipeline")
	require.Contains(t, err.Error(), "an event publisher is required")
	require.Contains(t, err.Error(), "batch size -1 is negative")
	require.Contains(t, err.Error(), "flush interval -1s is negative")

	tp := newTestPipeline(t, nil)
	_, err = NewPipeline(PipelineOptions{Events: bus.Direct[*schemas.Event]{}, Registerer: tp.reg})
	require.ErrorContains(t, err, "already registered")
}

// nopParser fills only what the batcher reads, so that a benchmark
// measures the batcher's own cost.
type nopParser struct{}

func (nopParser) Parse(line string, received time.Time, ev *schemas.Event) error {
	ev.Event.Original = line
	ev.Event.Created = received
	ev.Host.Name = "h"
	return nil
}

// BenchmarkBatcherOverhead is ingest's cost per line beyond parsing: the
// line's copy, the event slab, the ID, batching and publishing.
func BenchmarkBatcherOverhead(b *testing.B) {
	p, err := NewPipeline(PipelineOptions{Events: bus.Direct[*schemas.Event]{H: bus.HandlerFunc[*schemas.Event](
		func(context.Context, []*schemas.Event) error { return nil })}})
	require.NoError(b, err)
	p.parser = nopParser{}
	bt := p.NewBatcher(Source{Kind: KindFile, Name: "file:bench"})
	line := []byte(sshLine("web1", 4242, "root"))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = bt.Line(ctx, line, t0, "file:bench")
	}
}

func TestBatcherCapsFailureRaw(t *testing.T) {
	tp := newTestPipeline(t, nil)
	b := tp.NewBatcher(Source{Kind: KindTCP, Name: "c"})
	ctx := context.Background()
	const size = 1153434
	long := []byte("garbage " + strings.Repeat("z", size-8))
	require.NoError(t, b.Line(ctx, long, t0, "192.0.2.1"))
	cut := []byte(strings.Repeat("y", DefaultTCPMaxMessageSize))
	require.NoError(t, b.Reject(ctx, cut, t0, "192.0.2.1", ReasonTooLong, "message longer than 1048576 bytes"))
	require.NoError(t, b.Line(ctx, []byte("short garbage"), t0, "192.0.2.1"))
	require.NoError(t, b.Close(ctx))

	_, fails := tp.sink.snapshot()
	require.Len(t, fails, 3)
	require.Equal(t, DefaultMaxFailureRaw, len(fails[0].Raw))
	require.True(t, bytes.Equal(long[:DefaultMaxFailureRaw], fails[0].Raw), "kept bytes differ")
	require.Equal(t, "no_header", fails[0].Reason)
	require.True(t, strings.HasSuffix(fails[0].Detail, "; 1153434 bytes, first 8192 kept"), fails[0].Detail)
	require.Equal(t, DefaultMaxFailureRaw, len(fails[1].Raw))
	require.True(t, bytes.Equal(cut[:DefaultMaxFailureRaw], fails[1].Raw), "kept bytes differ")
	require.Equal(t, "message longer than 1048576 bytes; 1048576 bytes, first 8192 kept", fails[1].Detail)
	require.Equal(t, []byte("short garbage"), fails[2].Raw)
	require.NotContains(t, fails[2].Detail, "kept")
	// The metrics count what arrived, not what was kept.
	require.Equal(t, float64(size+DefaultTCPMaxMessageSize+len("short garbage")),
		tp.metric(t, "tocsin_ingest_bytes_total", "source", "tcp"))
	require.Equal(t, 2.0, tp.metric(t, "tocsin_ingest_parse_failures_total", "source", "tcp", "reason", "no_header"))
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_oversize_total", "source", "tcp"))
}

func TestBatcherMaxFailureRawOption(t *testing.T) {
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.MaxFailureRaw = 16 })
	b := tp.NewBatcher(Source{Kind: KindUDP, Name: "u"})
	ctx := context.Background()
	require.NoError(t, b.Line(ctx, []byte("0123456789abcdefXYZ"), t0, "s"))
	require.NoError(t, b.Line(ctx, []byte("0123456789abcdef"), t0, "s"))
	require.NoError(t, b.Close(ctx))
	_, fails := tp.sink.snapshot()
	require.Len(t, fails, 2)
	require.Equal(t, []byte("0123456789abcdef"), fails[0].Raw)
	require.True(t, strings.HasSuffix(fails[0].Detail, "; 19 bytes, first 16 kept"), fails[0].Detail)
	require.Equal(t, []byte("0123456789abcdef"), fails[1].Raw)
	require.NotContains(t, fails[1].Detail, "kept")

	_, err := NewPipeline(PipelineOptions{Events: bus.Direct[*schemas.Event]{}, MaxFailureRaw: -1})
	require.ErrorContains(t, err, "max failure raw -1 is negative")
}

func TestBatcherSkipsLeadingBOM(t *testing.T) {
	tp := newTestPipeline(t, nil)
	b := tp.NewBatcher(Source{Kind: KindFile, Name: "file:x"})
	ctx := context.Background()
	const bom = "\xef\xbb\xbf"
	withBOM := bom + sshLine("h", 1, "root")
	require.NoError(t, b.Line(ctx, []byte(withBOM), t0, "file:x"))
	require.NoError(t, b.Line(ctx, []byte(bom), t0, "file:x"))
	require.NoError(t, b.Line(ctx, []byte(bom+"\r"), t0, "file:x"))
	require.NoError(t, b.Close(ctx))
	evs, fails := tp.sink.snapshot()
	require.Empty(t, fails)
	require.Len(t, evs, 1)
	require.Equal(t, "root", evs[0].User.Name)
	require.Equal(t, "h", evs[0].Host.Name)
	require.Equal(t, withBOM, evs[0].Event.Original, "Original keeps the bytes as received")
	require.Equal(t, 2.0, tp.metric(t, "tocsin_ingest_blank_lines_total", "source", "file"))
}

func TestBatcherUsesItsSourcesTimeZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	tp := newTestPipeline(t, nil) // the pipeline's zone is UTC
	ctx := context.Background()
	line := []byte("<38>Jul  1 12:00:00 h sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2")
	received := time.Date(2024, 7, 2, 0, 0, 0, 0, time.UTC)
	own := tp.NewBatcher(Source{Kind: KindTCP, Name: "tcp:1", Location: berlin})
	require.NoError(t, own.Line(ctx, line, received, "192.0.2.9"))
	require.NoError(t, own.Close(ctx))
	shared := tp.NewBatcher(Source{Kind: KindTCP, Name: "tcp:2"})
	require.NoError(t, shared.Line(ctx, line, received, "192.0.2.9"))
	require.NoError(t, shared.Close(ctx))
	evs, _ := tp.sink.snapshot()
	require.Len(t, evs, 2)
	require.Equal(t, time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC), evs[0].Timestamp.UTC(), "12:00 in Berlin's summer time")
	require.Equal(t, time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC), evs[1].Timestamp.UTC())
}
