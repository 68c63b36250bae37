package ingest

import (
	"context"
	"crypto/tls"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/schemas"
)

// countingPipeline counts the events it receives and keeps nothing.
func countingPipeline(b *testing.B, n *atomic.Int64) *Pipeline {
	b.Helper()
	h := bus.HandlerFunc[*schemas.Event](func(_ context.Context, evs []*schemas.Event) error {
		n.Add(int64(len(evs)))
		return nil
	})
	p, err := NewPipeline(PipelineOptions{
		Events:        bus.Direct[*schemas.Event]{H: h},
		FlushInterval: 5 * time.Millisecond,
		Logger:        zerolog.Nop(),
		Registerer:    prometheus.NewRegistry(),
	})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

const benchSyslogLine = "<38>Jan  5 10:00:00 web1 sshd[4242]: Failed password for invalid user admin from 203.0.113.9 port 52211 ssh2"

// BenchmarkSyslogLoopback sends sshd lines to a syslog listener on
// loopback, newline-framed in writes of 256 lines over one connection
// (TCP, TLS) or one line per datagram (UDP), and waits until every line
// was parsed and published. Sender and listener share the core.
func BenchmarkSyslogLoopback(b *testing.B) {
	for _, kind := range []string{"tcp", "tls", "udp"} {
		b.Run(kind, func(b *testing.B) {
			var got atomic.Int64
			p := countingPipeline(b, &got)
			opts := ListenerOptions{Address: "127.0.0.1:0"}
			var clientCfg *tls.Config
			if kind == "tls" {
				ca := newTestCA(b, "bench CA")
				opts.TLS = &tls.Config{Certificates: []tls.Certificate{ca.issue(b, "localhost", true)}}
				clientCfg = &tls.Config{RootCAs: ca.pool(), ServerName: "localhost"}
			}
			type listener interface {
				Start(context.Context) error
				Stop(context.Context) error
				Addr() net.Addr
			}
			var l listener
			var err error
			switch kind {
			case "udp":
				l, err = NewUDPListener(p, opts)
			case "tls":
				l, err = NewTLSListener(p, opts)
			default:
				l, err = NewTCPListener(p, opts)
			}
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = l.Stop(context.Background()) }()
			var c net.Conn
			switch kind {
			case "udp":
				c, err = net.Dial("udp", l.Addr().String())
			case "tls":
				c, err = tls.Dial("tcp", l.Addr().String(), clientCfg)
			default:
				c, err = net.Dial("tcp", l.Addr().String())
			}
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			var chunk []byte
			for range 256 {
				chunk = append(chunk, benchSyslogLine+"\n"...)
			}
			b.SetBytes(int64(len(benchSyslogLine)))
			b.ReportAllocs()
			b.ResetTimer()
			sent := 0
			for sent < b.N {
				if kind == "udp" {
					if _, err := c.Write([]byte(benchSyslogLine)); err != nil {
						b.Fatal(err)
					}
					sent++
					// Keep the socket buffer from overflowing: wait
					// when the listener is far behind.
					for int64(sent)-got.Load() > 2000 {
						time.Sleep(50 * time.Microsecond)
					}
					continue
				}
				n := min(256, b.N-sent)
				if _, err := c.Write(chunk[:n*(len(benchSyslogLine)+1)]); err != nil {
					b.Fatal(err)
				}
				sent += n
			}
			deadline := time.Now().Add(30 * time.Second)
			for got.Load() < int64(b.N) {
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d lines arrived", got.Load(), b.N)
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
