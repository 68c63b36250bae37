package ingest

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRateLimiterAllow(t *testing.T) {
	r := newRateLimiter(10, 3) // one line per 100ms, three at once
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		require.True(t, r.allow(t0), "line %d of the burst", i)
	}
	require.False(t, r.allow(t0), "the burst is spent")
	require.False(t, r.allow(t0.Add(99*time.Millisecond)))
	require.True(t, r.allow(t0.Add(100*time.Millisecond)), "one interval later, one more line")
	require.False(t, r.allow(t0.Add(100*time.Millisecond)))
	require.True(t, r.allow(t0.Add(time.Hour)))
	require.True(t, r.allow(t0.Add(time.Hour)), "a long pause refills the burst")
	require.True(t, r.allow(t0.Add(time.Hour)))
	require.False(t, r.allow(t0.Add(time.Hour)))
	require.Nil(t, newRateLimiter(0, 5))
	require.True(t, (*rateLimiter)(nil).allow(t0), "no limit")
}

func TestRateLimiterReserve(t *testing.T) {
	r := newRateLimiter(10, 2)
	t0 := time.Unix(1000, 0)
	var waits []time.Duration
	for range 5 {
		waits = append(waits, r.reserve(t0))
	}
	require.Equal(t, []time.Duration{0, 0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}, waits)
	require.Equal(t, time.Duration(0), r.reserve(t0.Add(time.Hour)))
	require.Zero(t, (*rateLimiter)(nil).reserve(t0))
}

func TestUDPRateLimitDropsAndCounts(t *testing.T) {
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.FlushInterval = 10 * time.Millisecond })
	const rate, burst = 5, 10
	l, err := NewUDPListener(tp.Pipeline, ListenerOptions{Address: "127.0.0.1:0", Rate: rate, Burst: burst})
	require.NoError(t, err)
	require.NoError(t, l.Start(context.Background()))
	c, err := net.Dial("udp", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	const sent = 60
	start := time.Now()
	for i := range sent {
		_, err := c.Write([]byte(sshLine("h", i, "u")))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		return tp.metric(t, "tocsin_ingest_lines_total", "source", "udp")+
			tp.metric(t, "tocsin_ingest_rate_limited_total", "source", "udp") == sent
	}, 10*time.Second, 5*time.Millisecond)
	elapsed := time.Since(start)
	require.NoError(t, l.Stop(context.Background()))
	limited := tp.metric(t, "tocsin_ingest_rate_limited_total", "source", "udp")
	taken := tp.metric(t, "tocsin_ingest_lines_total", "source", "udp")
	require.Equal(t, float64(sent), taken+limited, "every line is taken or counted")
	require.GreaterOrEqual(t, taken, float64(burst), "the burst passes")
	// No more than the burst plus the rate over the time it took.
	require.LessOrEqual(t, taken, burst+rate*elapsed.Seconds()+1)
	require.Positive(t, limited)
	evs, _ := tp.sink.snapshot()
	require.Len(t, evs, int(taken))
	require.Contains(t, tp.logs.String(), "lines dropped over the listener's rate limit")
}

func TestTCPRateLimitSlowsSendersDown(t *testing.T) {
	tp := newTestPipeline(t, func(o *PipelineOptions) { o.FlushInterval = 10 * time.Millisecond })
	l := startTCP(t, tp, ListenerOptions{Rate: 10, Burst: 1})
	c := dial(t, l)
	const sent = 6
	var b strings.Builder
	for i := range sent {
		b.WriteString(sshLine("h", i, "u") + "\n")
	}
	start := time.Now()
	write(t, c, b.String())
	evs, _ := tp.sink.waitFor(t, sent)
	require.Len(t, evs, sent, "nothing dropped")
	// Five lines beyond the burst at ten a second: half a second at least,
	// however fast the machine.
	require.GreaterOrEqual(t, time.Since(start), 450*time.Millisecond)
	require.Positive(t, tp.metric(t, "tocsin_ingest_rate_limited_total", "source", "tcp"))
	require.Contains(t, tp.logs.String(), "senders slowed down to the listener's rate limit")
}

func TestRELPRateLimitDelaysAnswers(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l := startRELP(t, tp, ListenerOptions{Rate: 10, Burst: 1})
	rc := dialRELP(t, l, nil)
	rc.open()
	lines := make([]string, 6)
	for i := range lines {
		lines[i] = sshLine("h", i, "u")
	}
	start := time.Now()
	first := rc.send(syslogFrames(lines...)...)
	for i := range lines {
		require.Equal(t, "200 OK", rc.rsp(first+i))
	}
	require.GreaterOrEqual(t, time.Since(start), 450*time.Millisecond)
	require.Positive(t, tp.metric(t, "tocsin_ingest_rate_limited_total", "source", "relp"))
	evs, _ := tp.sink.snapshot()
	require.Len(t, evs, 6)
}

func TestListenerLimitOptionsChecked(t *testing.T) {
	tp := newTestPipeline(t, nil)
	_, err := NewTCPListener(tp.Pipeline, ListenerOptions{Rate: -1, Burst: -2, AckTimeout: -time.Second, HandshakeTimeout: -time.Second})
	require.ErrorContains(t, err, "rate -1 is not a number of lines per second")
	require.ErrorContains(t, err, "burst -2 is negative")
	require.ErrorContains(t, err, "ack timeout -1s is negative")
	require.ErrorContains(t, err, "handshake timeout -1s is negative")
	_, err = NewRELPListener(tp.Pipeline, ListenerOptions{Burst: 5})
	require.ErrorContains(t, err, "burst 5 is set without a rate")
}
