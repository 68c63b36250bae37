package ingest

import (
	"context"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startUDP starts a UDP listener on a free loopback port and returns it
// with a client socket connected to it.
func startUDP(t *testing.T, tp *testPipeline, opts ListenerOptions) (*UDPListener, *net.UDPConn) {
	t.Helper()
	opts.Address = "127.0.0.1:0"
	l, err := NewUDPListener(tp.Pipeline, opts)
	require.NoError(t, err)
	require.NoError(t, l.Start(context.Background()))
	t.Cleanup(func() { _ = l.Stop(context.Background()) })
	c, err := net.DialUDP("udp", nil, l.Addr().(*net.UDPAddr))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return l, c
}

func send(t *testing.T, c net.Conn, datagrams ...string) {
	t.Helper()
	for _, d := range datagrams {
		_, err := c.Write([]byte(d))
		require.NoError(t, err)
	}
}

func TestUDPDeliversEvents(t *testing.T) {
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.FlushInterval = 20 * time.Millisecond })
	_, c := startUDP(t, tp, ListenerOptions{})
	send(t, c,
		sshLine("web1", 1, "root"),
		sshLine("web1", 2, "alice")+"\n",
		sshLine("web2", 3, "bob")+"\r\n"+sshLine("web2", 4, "carol")+"\x00",
		"",
	)
	// Published by the flush interval, without Stop.
	evs, fails := tp.sink.waitFor(t, 4)
	require.Empty(t, fails)
	require.Len(t, evs, 4)
	for i, user := range []string{"root", "alice", "bob", "carol"} {
		require.Equal(t, user, evs[i].User.Name)
		require.Equal(t, "127.0.0.1", evs[i].Log.Source.Address)
	}
	require.Equal(t, sshLine("web2", 3, "bob"), evs[2].Event.Original)
	require.Eventually(t, func() bool {
		return tp.metric(t, "tocsin_ingest_blank_lines_total", "source", "udp") == 1
	}, 5*time.Second, 5*time.Millisecond)
}

func TestUDPSizeLimit(t *testing.T) {
	const limit = 1024
	tp := newTestPipeline(t, nil)
	l, c := startUDP(t, tp, ListenerOptions{MaxMessageSize: limit})
	header := "<13>Jan  1 00:00:00 h app: "
	at := header + strings.Repeat("a", limit-len(header))
	over := header + strings.Repeat("b", limit+1-len(header))
	send(t, c, at, over, sshLine("h", 1, "after"))
	require.NoError(t, l.Stop(context.Background()))

	evs, fails := tp.sink.snapshot()
	require.Len(t, evs, 2)
	require.Equal(t, at, evs[0].Event.Original)
	require.Equal(t, "after", evs[1].User.Name)
	require.Len(t, fails, 1)
	require.Equal(t, ReasonTooLong, fails[0].Reason)
	require.Equal(t, over[:limit], string(fails[0].Raw))
	require.Equal(t, "udp", fails[0].Source)
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_oversize_total", "source", "udp"))
}

func TestUDPDefaultLimitTakesLargestDatagram(t *testing.T) {
	// The default limit is 64 KiB, above the largest IPv4 UDP payload
	// (65,507 bytes): no datagram that can arrive is cut.
	tp := newTestPipeline(t, nil)
	l, c := startUDP(t, tp, ListenerOptions{})
	header := "<13>Jan  1 00:00:00 h app: "
	biggest := header + strings.Repeat("x", 65507-len(header))
	send(t, c, biggest)
	require.NoError(t, l.Stop(context.Background()))
	evs, fails := tp.sink.snapshot()
	require.Empty(t, fails)
	require.Len(t, evs, 1)
	require.Equal(t, 65507, len(evs[0].Event.Original))
}

func TestUDPKeepsServingAfterGarbage(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l, c := startUDP(t, tp, ListenerOptions{})
	var valid []string
	for i := range 20 {
		switch i % 4 {
		case 0:
			send(t, c, "\x00\x01\x02\xff\xfe binary")
		case 1:
			send(t, c, "<999>Jan  1 00:00:00 h a: bad priority")
		case 2:
			send(t, c, "\x00\x00\x00")
		}
		u := "user" + strconv.Itoa(i)
		valid = append(valid, u)
		send(t, c, sshLine("h", i, u))
	}
	require.NoError(t, l.Stop(context.Background()))
	evs, fails := tp.sink.snapshot()
	require.Len(t, evs, len(valid))
	for i, e := range evs {
		require.Equal(t, valid[i], e.User.Name)
	}
	require.Len(t, fails, 10)
	for _, f := range fails {
		require.Contains(t, []string{"no_header", "bad_priority"}, f.Reason)
	}
}

func TestUDPStopDrains(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l, c := startUDP(t, tp, ListenerOptions{})
	const n = 300
	for i := range n {
		send(t, c, sshLine("h", i, "u"))
	}
	require.NoError(t, l.Stop(context.Background()))
	evs, fails := tp.sink.snapshot()
	require.Empty(t, fails)
	require.Equal(t, n, len(evs))
	require.Equal(t, float64(n), tp.metric(t, "tocsin_ingest_lines_total", "source", "udp"))
}

func TestUDPStartErrors(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l, _ := startUDP(t, tp, ListenerOptions{})
	require.ErrorContains(t, l.Start(context.Background()), "already started")

	taken, err := NewUDPListener(tp.Pipeline, ListenerOptions{Address: l.Addr().String()})
	require.NoError(t, err)
	err = taken.Start(context.Background())
	require.ErrorContains(t, err, "cannot listen for syslog on udp "+l.Addr().String())

	_, err = NewUDPListener(tp.Pipeline, ListenerOptions{MaxMessageSize: -1, DrainTimeout: -1})
	require.ErrorContains(t, err, "max message size -1 is negative")
	require.ErrorContains(t, err, "drain timeout -1ns is negative")
}

func TestUDPHardStop(t *testing.T) {
	bb := &blockingBus{release: make(chan struct{}), entered: make(chan struct{}, 1)}
	tp := newTestPipeline(t, func(o *PipelineOptions) {
		o.Events = bb
		o.BatchSize = 1
	})
	l, c := startUDP(t, tp, ListenerOptions{})
	send(t, c, sshLine("h", 1, "u"), sshLine("h", 2, "v"))
	<-bb.entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := l.Stop(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "cannot drain udp syslog listener")
	// The first line was read and lost with its publish; the second was
	// never read off the socket.
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_dropped_total", "source", "udp"))
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_lines_total", "source", "udp"))
}

func TestUDPCountsKernelDrops(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the kernel's drop counter (SO_RXQ_OVFL) is read on Linux only")
	}
	bb := &blockingBus{release: make(chan struct{}), entered: make(chan struct{}, 1)}
	tp := newTestPipeline(t, func(o *PipelineOptions) {
		o.Events = bb
		o.BatchSize = 1
	})
	// The smallest receive buffer the kernel grants holds a few datagrams.
	l, c := startUDP(t, tp, ListenerOptions{ReadBufferSize: 1024})
	send(t, c, sshLine("h", 1, "first"))
	<-bb.entered // the reader is stuck in Publish and reads nothing

	const flood = 2000
	line := sshLine("h", 2, "flood") + " " + strings.Repeat("x", 400)
	sent := 1
	for range flood {
		if _, err := c.Write([]byte(line)); err == nil {
			sent++
		}
	}
	close(bb.release)
	// The count arrives with the next datagram the kernel queues.
	require.Eventually(t, func() bool {
		send(t, c, sshLine("h", 3, "after"))
		sent++
		return tp.metric(t, "tocsin_ingest_udp_kernel_drops_total") > 0
	}, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, l.Stop(context.Background()))

	drops := tp.metric(t, "tocsin_ingest_udp_kernel_drops_total")
	lines := tp.metric(t, "tocsin_ingest_lines_total", "source", "udp")
	t.Logf("sent %d datagrams, read %.0f, kernel dropped %.0f", sent, lines, drops)
	require.Equal(t, float64(sent), lines+drops, "every datagram is read or counted as dropped")
	require.Contains(t, tp.logs.String(), "kernel dropped udp datagrams")
}

func TestDropCounterWraps(t *testing.T) {
	var d dropCounter
	require.Equal(t, uint32(5), d.update(5))
	require.Equal(t, uint32(0), d.update(5))
	require.Equal(t, uint32(0), d.update(3), "an older datagram's count adds nothing")
	d.last = 0xfffffffe
	require.Equal(t, uint32(3), d.update(1), "the kernel's counter wraps at 32 bits")
}
