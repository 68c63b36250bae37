package ingest

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/schemas"
)

func startTCP(t *testing.T, tp *testPipeline, opts ListenerOptions) *TCPListener {
	t.Helper()
	opts.Address = "127.0.0.1:0"
	l, err := NewTCPListener(tp.Pipeline, opts)
	require.NoError(t, err)
	require.NoError(t, l.Start(context.Background()))
	t.Cleanup(func() { _ = l.Stop(context.Background()) })
	return l
}

func dial(t *testing.T, l *TCPListener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	_, err := io.WriteString(c, s)
	require.NoError(t, err)
}

func octet(s string) string { return strconv.Itoa(len(s)) + " " + s }

func TestTCPMixedFraming(t *testing.T) {
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.FlushInterval = 20 * time.Millisecond })
	l := startTCP(t, tp, ListenerOptions{})
	c := dial(t, l)
	write(t, c, octet(sshLine("h", 1, "a"))+
		sshLine("h", 2, "b")+"\n"+
		octet(sshLine("h", 3, "c"))+
		sshLine("h", 4, "d")+"\r\n"+
		sshLine("h", 5, "e")+"\x00"+
		octet(sshLine("h", 6, "f")))
	evs, fails := tp.sink.waitFor(t, 6)
	require.Empty(t, fails)
	var users []string
	for _, e := range evs {
		users = append(users, e.User.Name)
		require.Equal(t, "127.0.0.1", e.Log.Source.Address)
	}
	require.Equal(t, []string{"a", "b", "c", "d", "e", "f"}, users)
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_connections", "source", "tcp"))
}

func TestTCPKeepsServingAfterBadInput(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l := startTCP(t, tp, ListenerOptions{})
	c := dial(t, l)
	var users []string
	var stream strings.Builder
	for i := range 10 {
		u := "user" + strconv.Itoa(i)
		users = append(users, u)
		stream.WriteString(sshLine("h", i, u) + "\n")
		switch i % 5 {
		case 0:
			stream.WriteString("\x01\x02\xff\xfe binary garbage\n")
		case 1:
			stream.WriteString("garbage without header\x00")
		case 2:
			stream.WriteString("99999999999 <13>Jan  1 00:00:00 h a: bad count\n")
		case 3:
			stream.WriteString(octet("<999>Jan  1 00:00:00 h a: bad priority"))
		case 4:
			stream.WriteString("\x00\x00\n\n")
		}
	}
	// The stream ends inside an octet-counted message.
	stream.WriteString("500 <13>Jan  1 00:00:00 h a: cut short")
	write(t, c, stream.String())
	require.NoError(t, c.Close())

	require.Eventually(t, func() bool {
		return tp.metric(t, "tocsin_ingest_connections", "source", "tcp") == 0
	}, 5*time.Second, 5*time.Millisecond)
	evs, fails := tp.sink.snapshot()
	var got []string
	for _, e := range evs {
		got = append(got, e.User.Name)
	}
	require.Equal(t, users, got)
	reasons := map[string]int{}
	for _, f := range fails {
		reasons[f.Reason]++
	}
	require.Equal(t, map[string]int{
		"no_header": 4, ReasonBadOctetCount: 2, "bad_priority": 2, ReasonTruncated: 1,
	}, reasons)
	last := fails[len(fails)-1]
	require.Equal(t, "<13>Jan  1 00:00:00 h a: cut short", string(last.Raw))
	require.Contains(t, last.Detail, "short of octet count 500")
}

func TestTCPSizeLimits(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l := startTCP(t, tp, ListenerOptions{})
	const limit = DefaultTCPMaxMessageSize
	header := "<13>Jan  1 00:00:00 h app: "
	at := header + strings.Repeat("a", limit-len(header))
	over := header + strings.Repeat("b", limit+1-len(header))
	next := sshLine("h", 1, "next")
	c := dial(t, l)
	go func() {
		// Written concurrently: the server reads as the client writes.
		_, _ = io.WriteString(c, at+"\n"+over+"\n"+next+"\n"+octet(at)+octet(over)+octet(next))
		_ = c.Close()
	}()
	require.Eventually(t, func() bool {
		evs, fails := tp.sink.snapshot()
		return len(evs)+len(fails) == 6
	}, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, l.Stop(context.Background()))
	evs, fails := tp.sink.snapshot()
	require.Len(t, evs, 4)
	require.True(t, at == evs[0].Event.Original, "message at the limit differs")
	require.Equal(t, "next", evs[1].User.Name)
	require.True(t, at == evs[2].Event.Original, "counted message at the limit differs")
	require.Equal(t, "next", evs[3].User.Name)
	require.Len(t, fails, 2)
	for _, f := range fails {
		require.Equal(t, ReasonTooLong, f.Reason)
		// The transport cut the message at the limit; the failure keeps
		// the first DefaultMaxFailureRaw bytes of that.
		require.True(t, over[:DefaultMaxFailureRaw] == string(f.Raw), "raw bytes differ")
		require.True(t, strings.HasSuffix(f.Detail, "; 1048576 bytes, first 8192 kept"), f.Detail)
	}
	require.Contains(t, fails[1].Detail, "octet count 1048577 above the limit")
	require.Equal(t, 2.0, tp.metric(t, "tocsin_ingest_oversize_total", "source", "tcp"))
}

func TestTCPConnectionLimit(t *testing.T) {
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.FlushInterval = 10 * time.Millisecond })
	l := startTCP(t, tp, ListenerOptions{MaxConnections: 3})
	var open []net.Conn
	for i := range 3 {
		c := dial(t, l)
		write(t, c, sshLine("h", i, "ok"+strconv.Itoa(i))+"\n")
		open = append(open, c)
	}
	tp.sink.waitFor(t, 3)
	require.Equal(t, 3.0, tp.metric(t, "tocsin_ingest_connections", "source", "tcp"))

	for range 2 {
		c := dial(t, l)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		_, err := c.Read(make([]byte, 1))
		require.ErrorIs(t, err, io.EOF, "a connection past the limit is closed")
	}
	require.Equal(t, 2.0, tp.metric(t, "tocsin_ingest_connections_rejected_total", "source", "tcp"))
	require.Contains(t, tp.logs.String(), "connection limit reached")

	// A freed slot admits a new connection.
	require.NoError(t, open[0].Close())
	require.Eventually(t, func() bool {
		return tp.metric(t, "tocsin_ingest_connections", "source", "tcp") == 2
	}, 5*time.Second, 5*time.Millisecond)
	c := dial(t, l)
	write(t, c, sshLine("h", 9, "late")+"\n")
	evs, _ := tp.sink.waitFor(t, 4)
	require.Equal(t, "late", evs[3].User.Name)
}

func TestTCPSlowSender(t *testing.T) {
	// Flushes fall due while a message is half sent: the framer must
	// resume where it was.
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.FlushInterval = 2 * time.Millisecond })
	l := startTCP(t, tp, ListenerOptions{})
	c := dial(t, l)
	stream := sshLine("h", 1, "first") + "\n" + octet(sshLine("h", 2, "second")) + sshLine("h", 3, "third") + "\n"
	for i := range len(stream) {
		write(t, c, stream[i:i+1])
		if i%8 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	evs, fails := tp.sink.waitFor(t, 3)
	require.Empty(t, fails)
	require.Equal(t, []string{"first", "second", "third"}, []string{evs[0].User.Name, evs[1].User.Name, evs[2].User.Name})
}

func TestTCPIdleTimeout(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l := startTCP(t, tp, ListenerOptions{IdleTimeout: 50 * time.Millisecond})
	c := dial(t, l)
	write(t, c, sshLine("h", 1, "u")+"\n<13>Jan  1 00:00:00 h a: never fini")
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err := c.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF, "the idle connection was not closed")
	require.Eventually(t, func() bool {
		return tp.metric(t, "tocsin_ingest_idle_timeouts_total", "source", "tcp") == 1
	}, 5*time.Second, 5*time.Millisecond)
	evs, fails := tp.sink.snapshot()
	require.Len(t, evs, 1)
	require.Len(t, fails, 1, "the unfinished message is kept")
	require.Equal(t, ReasonTruncated, fails[0].Reason)
	require.Equal(t, "<13>Jan  1 00:00:00 h a: never fini", string(fails[0].Raw))
}

func TestTCPStopDrains(t *testing.T) {
	for _, closeFirst := range []bool{true, false} {
		t.Run("client closes "+strconv.FormatBool(closeFirst), func(t *testing.T) {
			tp := newTestPipeline(t, nil)
			l := startTCP(t, tp, ListenerOptions{})
			const conns, perConn = 4, 2500
			for i := range conns {
				c := dial(t, l)
				var sb strings.Builder
				for j := range perConn {
					if j%2 == 0 {
						sb.WriteString(octet(sshLine("h", j, "u"+strconv.Itoa(i))))
					} else {
						sb.WriteString(sshLine("h", j, "u"+strconv.Itoa(i)) + "\n")
					}
				}
				write(t, c, sb.String())
				if closeFirst {
					require.NoError(t, c.Close())
				}
			}
			require.NoError(t, l.Stop(context.Background()))
			evs, fails := tp.sink.snapshot()
			require.Empty(t, fails)
			require.Equal(t, conns*perConn, len(evs))
			require.Equal(t, 0.0, tp.metric(t, "tocsin_ingest_connections", "source", "tcp"))
		})
	}
}

// blockingBus accepts nothing until released, and gives up when the
// publisher's context ends.
type blockingBus struct {
	release chan struct{}
	entered chan struct{}
}

func (b *blockingBus) Publish(ctx context.Context, batch []*schemas.Event) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var _ bus.Publisher[*schemas.Event] = (*blockingBus)(nil)

func TestTCPBackPressureAndHardStop(t *testing.T) {
	bb := &blockingBus{release: make(chan struct{}), entered: make(chan struct{}, 1)}
	tp := newTestPipeline(t, func(o *PipelineOptions) {
		o.Events = bb
		o.BatchSize = 1
	})
	l := startTCP(t, tp, ListenerOptions{ReadBufferSize: 64 << 10})
	c := dial(t, l)
	write(t, c, sshLine("h", 1, "u")+"\n")
	<-bb.entered
	// The reader is stuck in Publish: the client soon cannot write, as
	// nothing drains the socket. 64 MiB is far above what the kernel
	// buffers hold.
	require.NoError(t, c.SetWriteDeadline(time.Now().Add(500*time.Millisecond)))
	chunk := []byte(strings.Repeat(sshLine("h", 2, "v")+"\n", 1000))
	written := 0
	var err error
	for written < 64<<20 && err == nil {
		var n int
		n, err = c.Write(chunk)
		written += n
	}
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.Less(t, written, 64<<20)

	// Stop cannot drain a bus that never takes anything: it gives up at
	// its deadline, abandons the publish and still returns.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = l.Stop(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "cannot drain tcp syslog listener")
	require.Positive(t, tp.metric(t, "tocsin_ingest_dropped_total", "source", "tcp"))
}

func TestTCPStartErrors(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l := startTCP(t, tp, ListenerOptions{})
	require.ErrorContains(t, l.Start(context.Background()), "already started")
	taken, err := NewTCPListener(tp.Pipeline, ListenerOptions{Address: l.Addr().String()})
	require.NoError(t, err)
	require.ErrorContains(t, taken.Start(context.Background()), "cannot listen for syslog on tcp")
	_, err = NewTCPListener(tp.Pipeline, ListenerOptions{MaxConnections: -2, IdleTimeout: -time.Second})
	require.ErrorContains(t, err, "max connections -2 is negative")
	require.ErrorContains(t, err, "idle timeout -1s is negative")
}

// closedByServer reports whether the server has closed c.
func closedByServer(t *testing.T, c net.Conn) bool {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF)
}

func TestTCPEvictsIdleConnectionAtLimit(t *testing.T) {
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.FlushInterval = 10 * time.Millisecond })
	const evictAfter = 300 * time.Millisecond
	l := startTCP(t, tp, ListenerOptions{MaxConnections: 2, EvictIdle: evictAfter})

	idle := dial(t, l)
	write(t, idle, sshLine("h", 1, "idle")+"\n<13>Jan  1 00:00:00 h a: never fini")
	busy := dial(t, l)
	write(t, busy, sshLine("h", 2, "busy")+"\n")
	tp.sink.waitFor(t, 2)
	time.Sleep(evictAfter + 100*time.Millisecond)
	write(t, busy, sshLine("h", 3, "busy")+"\n")
	tp.sink.waitFor(t, 3)

	// At the limit: the connection idle the longest makes room.
	fresh := dial(t, l)
	write(t, fresh, sshLine("h", 4, "fresh")+"\n")
	require.True(t, closedByServer(t, idle), "the idle connection was not closed")
	evs, _ := tp.sink.waitFor(t, 5)
	var users []string
	for _, e := range evs {
		users = append(users, e.User.Name)
	}
	require.Contains(t, users, "fresh")
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_connections_evicted_total", "source", "tcp"))
	require.Zero(t, tp.metric(t, "tocsin_ingest_connections_rejected_total", "source", "tcp"))
	require.Eventually(t, func() bool {
		_, fails := tp.sink.snapshot()
		return len(fails) == 1
	}, 5*time.Second, 5*time.Millisecond)
	_, fails := tp.sink.snapshot()
	require.Equal(t, ReasonTruncated, fails[0].Reason, "the unfinished message is kept")
	require.Contains(t, fails[0].Detail, "evicted")
	require.Equal(t, "<13>Jan  1 00:00:00 h a: never fini", string(fails[0].Raw))
	require.Eventually(t, func() bool {
		return tp.metric(t, "tocsin_ingest_connections", "source", "tcp") == 2
	}, 5*time.Second, 5*time.Millisecond)

	// Both connections have just sent: a newcomer is refused.
	write(t, busy, sshLine("h", 5, "busy")+"\n")
	write(t, fresh, sshLine("h", 6, "fresh")+"\n")
	tp.sink.waitFor(t, 7)
	late := dial(t, l)
	require.True(t, closedByServer(t, late), "a connection past the limit is closed")
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_connections_rejected_total", "source", "tcp"))
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_connections_evicted_total", "source", "tcp"))

	// The survivors still deliver.
	write(t, busy, sshLine("h", 7, "still")+"\n")
	evs, _ = tp.sink.waitFor(t, 8)
	require.Equal(t, "still", evs[len(evs)-1].User.Name)
}

func TestTCPDoesNotEvictConnectionBlockedOnBus(t *testing.T) {
	// A connection whose reader waits on the bus is busy, however long
	// ago it last read.
	bb := &blockingBus{release: make(chan struct{}), entered: make(chan struct{}, 1)}
	tp := newTestPipeline(t, func(o *PipelineOptions) {
		o.Events = bb
		o.BatchSize = 1
	})
	l := startTCP(t, tp, ListenerOptions{MaxConnections: 1, EvictIdle: 50 * time.Millisecond})
	c := dial(t, l)
	write(t, c, sshLine("h", 1, "u")+"\n")
	<-bb.entered
	time.Sleep(150 * time.Millisecond)
	late := dial(t, l)
	require.True(t, closedByServer(t, late))
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_connections_rejected_total", "source", "tcp"))
	require.Zero(t, tp.metric(t, "tocsin_ingest_connections_evicted_total", "source", "tcp"))
	close(bb.release)
}

// TestTCPBackPressureIsNotIdleness: while the bus holds a publish (Kafka
// down, buffer full), tocsin stops reading; the sender is not idle, so
// the idle timeout must not close it, and nothing it sent is lost.
func TestTCPBackPressureIsNotIdleness(t *testing.T) {
	release := make(chan struct{})
	var blocked atomic.Bool
	tp := newTestPipeline(t, func(o *PipelineOptions) {
		inner := o.Events
		o.BatchSize = 1
		o.Events = bus.Direct[*schemas.Event]{H: bus.HandlerFunc[*schemas.Event](func(ctx context.Context, evs []*schemas.Event) error {
			if blocked.CompareAndSwap(false, true) {
				<-release // the first publish waits, as a full buffer would
			}
			return inner.Publish(ctx, evs)
		})}
	})
	l := startTCP(t, tp, ListenerOptions{IdleTimeout: 100 * time.Millisecond})
	c := dial(t, l)
	var sb strings.Builder
	for i := range 50 {
		sb.WriteString(sshLine("h", i, "u"+strconv.Itoa(i)) + "\n")
	}
	write(t, c, sb.String())
	time.Sleep(500 * time.Millisecond) // five idle timeouts while held
	close(release)
	evs, fails := tp.sink.waitFor(t, 50)
	require.Empty(t, fails)
	require.Len(t, evs, 50)
	require.Zero(t, tp.metric(t, "tocsin_ingest_idle_timeouts_total", "source", "tcp"))
}

// syslog-ng's syslog() driver ends each octet-counted message with a line
// feed that its count includes; the event must not keep it.
func TestTCPOctetCountedTrailingNewline(t *testing.T) {
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.FlushInterval = 20 * time.Millisecond })
	l := startTCP(t, tp, ListenerOptions{})
	c := dial(t, l)
	write(t, c, octet(sshLine("h", 1, "a")+"\n")+octet(sshLine("h", 2, "b")+"\r\n")+octet(sshLine("h", 3, "c")))
	evs, fails := tp.sink.waitFor(t, 3)
	require.Empty(t, fails)
	for i, e := range evs {
		require.Equal(t, strings.TrimRight(sshLine("h", i+1, string(rune('a'+i))), "\n"), e.Event.Original)
		require.NotContains(t, e.Message, "\n")
		require.NotContains(t, e.Source.IP, "\n")
	}
}
