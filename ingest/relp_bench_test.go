package ingest

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/schemas"
)

// benchPipeline counts what it receives and keeps nothing.
func benchPipeline(b *testing.B) *Pipeline {
	b.Helper()
	discard := bus.HandlerFunc[*schemas.Event](func(context.Context, []*schemas.Event) error { return nil })
	p, err := NewPipeline(PipelineOptions{
		Events:     bus.Direct[*schemas.Event]{H: discard},
		Logger:     zerolog.Nop(),
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkRELPLoopback sends sshd lines over one RELP session on
// loopback with rsyslog's default window of 128 unanswered frames, and
// reads every answer.
func BenchmarkRELPLoopback(b *testing.B) {
	for _, useTLS := range []bool{false, true} {
		name := "plain"
		if useTLS {
			name = "tls"
		}
		b.Run(name, func(b *testing.B) {
			p := benchPipeline(b)
			opts := ListenerOptions{Address: "127.0.0.1:0"}
			var clientCfg *tls.Config
			if useTLS {
				ca := newTestCA(b, "bench CA")
				opts.TLS = &tls.Config{Certificates: []tls.Certificate{ca.issue(b, "localhost", true)}}
				clientCfg = &tls.Config{RootCAs: ca.pool(), ServerName: "localhost"}
			}
			l, err := NewRELPListener(p, opts)
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = l.Stop(context.Background()) }()
			var c net.Conn
			if useTLS {
				c, err = tls.Dial("tcp", l.Addr().String(), clientCfg)
			} else {
				c, err = net.Dial("tcp", l.Addr().String())
			}
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			rd := newRELPReader(c, 1<<16)
			if _, err := io.WriteString(c, relpFrameText(1, "open", librelpOpen)); err != nil {
				b.Fatal(err)
			}
			if _, err := rd.next(); err != nil {
				b.Fatal(err)
			}
			line := "<38>Jan  5 10:00:00 web1 sshd[4242]: Failed password for invalid user admin from 203.0.113.9 port 52211 ssh2"
			const window = 128
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			b.ResetTimer()
			txnr := 2
			var buf []byte
			for done := 0; done < b.N; {
				n := min(window, b.N-done)
				buf = buf[:0]
				for i := range n {
					buf = strconv.AppendInt(buf, int64(txnr+i), 10)
					buf = append(buf, " syslog "...)
					buf = strconv.AppendInt(buf, int64(len(line)), 10)
					buf = append(buf, ' ')
					buf = append(buf, line...)
					buf = append(buf, '\n')
				}
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
				for i := range n {
					f, err := rd.next()
					if err != nil || f.txnr != txnr+i || !strings.HasPrefix(string(f.data), "200") {
						b.Fatalf("answer %d: %+v %v", txnr+i, f, err)
					}
				}
				txnr += n
				done += n
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkRateLimiter measures one line through a limiter that never
// refuses.
func BenchmarkRateLimiter(b *testing.B) {
	r := newRateLimiter(1e12, 1<<30)
	now := time.Now()
	b.ReportAllocs()
	for range b.N {
		r.allow(now)
	}
}
