package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/schemas"
)

// discardPipeline publishes into nothing and parses with nopParser, so
// that a benchmark measures the transport and the Batcher only.
func discardPipeline(b *testing.B) *Pipeline {
	b.Helper()
	p, err := NewPipeline(PipelineOptions{
		Events: bus.Direct[*schemas.Event]{H: bus.HandlerFunc[*schemas.Event](
			func(context.Context, []*schemas.Event) error { return nil })},
		Failures: bus.Direct[schemas.ParseFailure]{H: bus.HandlerFunc[schemas.ParseFailure](
			func(context.Context, []schemas.ParseFailure) error { return nil })},
	})
	require.NoError(b, err)
	p.parser = nopParser{}
	return p
}

// vectorBatch is n Vector records as NDJSON, each a little different.
func vectorBatch(n int) []byte {
	var buf bytes.Buffer
	for i := range n {
		buf.WriteString(strings.Replace(vectorRec1, "port 4022", "port "+strconv.Itoa(1000+i), 1))
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func BenchmarkSplitJSON(b *testing.B) {
	body := vectorBatch(500)
	spans := make([]recordSpan, 0, 500)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if spans, err = splitJSON(body, spans[:0]); err != nil || len(spans) != 500 {
			b.Fatal(err, len(spans))
		}
	}
}

// benchHTTP posts body to path on a loopback listener, over one
// keep-alive connection, and reports records per second.
func benchHTTP(b *testing.B, path string, body []byte, records int, hdr ...string) {
	l, err := NewHTTPListener(discardPipeline(b), HTTPOptions{Address: "127.0.0.1:0"})
	require.NoError(b, err)
	require.NoError(b, l.Start(context.Background()))
	defer func() { require.NoError(b, l.Stop(context.Background())) }()
	url := "http://" + l.Addr().String() + path
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal(resp.Status)
		}
	}
	b.ReportMetric(float64(b.N*records)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkHTTPNDJSON is Vector's NDJSON over loopback: 500 records a
// request.
func BenchmarkHTTPNDJSON(b *testing.B) {
	benchHTTP(b, "/", vectorBatch(500), 500, "Content-Type", "application/x-ndjson")
}

// BenchmarkHTTPBulkGzip is Filebeat's bulk request over loopback: 500
// documents a request, gzip level 1 as Beats default to.
func BenchmarkHTTPBulkGzip(b *testing.B) {
	var raw bytes.Buffer
	for i := range 500 {
		raw.WriteString(`{"create":{"_index":"filebeat-8.15.0"}}` + "\n")
		raw.WriteString(strings.Replace(filebeatDoc, "20412", strconv.Itoa(20412+i*100), 1) + "\n")
	}
	var zb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
	_, _ = zw.Write(raw.Bytes())
	_ = zw.Close()
	benchHTTP(b, "/_bulk", zb.Bytes(), 500, "Content-Type", "application/json", "Content-Encoding", "gzip")
}

// BenchmarkTail appends 1 MiB of lines to a followed file and polls once
// per iteration.
func BenchmarkTail(b *testing.B) {
	path := filepath.Join(b.TempDir(), "auth.log")
	require.NoError(b, os.WriteFile(path, nil, 0o600))
	tl, err := NewTailer(discardPipeline(b), TailOptions{Paths: []string{path}})
	require.NoError(b, err)
	defer tl.closeAll()
	ctx := context.Background()
	tl.poll(ctx, time.Now(), false)
	line := "Dec 10 06:55:48 web1 sshd[4242]: Failed password for root from 192.0.2.7 port 4022 ssh2\n"
	chunk := []byte(strings.Repeat(line, (1<<20)/len(line)))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(b, err)
	defer f.Close()
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, err := f.Write(chunk); err != nil {
			b.Fatal(err)
		}
		for tl.poll(ctx, time.Now(), false) {
		}
	}
	b.ReportMetric(float64(b.N*len(chunk)/len(line))/time.Since(start).Seconds(), "lines/s")
}
