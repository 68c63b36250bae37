package ingest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// checkLimits checks the options that rate limits, TLS and RELP add to
// ListenerOptions.
func (o ListenerOptions) checkLimits(proto string) []error {
	var errs []error
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate %v is not a number of lines per second, 0 or more", o.Rate))
	}
	if o.Burst < 0 {
		errs = append(errs, fmt.Errorf("burst %d is negative", o.Burst))
	}
	if o.Burst > 0 && o.Rate == 0 {
		errs = append(errs, fmt.Errorf("burst %d is set without a rate; set the rate too, or remove the burst", o.Burst))
	}
	if o.HandshakeTimeout < 0 {
		errs = append(errs, fmt.Errorf("handshake timeout %s is negative", o.HandshakeTimeout))
	}
	if o.AckTimeout < 0 {
		errs = append(errs, fmt.Errorf("ack timeout %s is negative", o.AckTimeout))
	}
	if o.TLS != nil && proto == "udp" {
		errs = append(errs, errors.New("TLS is set, but syslog over UDP has no TLS (DTLS is not supported)"))
	}
	return errs
}

// rateLimiter caps lines per second with a burst, shared by all the
// connections of one listener. It is the generic cell rate algorithm:
// one atomic "theoretical arrival time" that each line moves on by the
// emission interval, so a line costs one compare-and-swap and takes no
// lock. A nil *rateLimiter allows everything.
type rateLimiter struct {
	interval  int64 // nanoseconds between lines at the rate
	tolerance int64 // how far ahead of now the arrival time may run: the burst
	tat       atomic.Int64
}

// newRateLimiter returns a limiter of rate lines per second with burst,
// or nil when rate is 0.
func newRateLimiter(rate float64, burst int) *rateLimiter {
	if rate <= 0 {
		return nil
	}
	interval := max(int64(float64(time.Second)/rate), 1)
	return &rateLimiter{interval: interval, tolerance: int64(max(burst, 1)-1) * interval}
}

// allow takes one line arriving at now, and reports false when it is
// over the rate; a refused line takes nothing. UDP drops such lines.
func (r *rateLimiter) allow(now time.Time) bool {
	if r == nil {
		return true
	}
	t := now.UnixNano()
	for {
		tat := r.tat.Load()
		from := max(tat, t)
		if from-t > r.tolerance {
			return false
		}
		if r.tat.CompareAndSwap(tat, from+r.interval) {
			return true
		}
	}
}

// reserve takes one line arriving at now and returns how long to wait
// before taking it, zero when it is within the rate. Stream listeners
// sleep that long: the wait is the back-pressure.
func (r *rateLimiter) reserve(now time.Time) time.Duration {
	if r == nil {
		return 0
	}
	t := now.UnixNano()
	for {
		tat := r.tat.Load()
		from := max(tat, t)
		if r.tat.CompareAndSwap(tat, from+r.interval) {
			return time.Duration(max(from-t-r.tolerance, 0))
		}
	}
}

// rateLog logs a listener's rate-limited lines at most once per
// errorLogEvery, with the number since the last log. It takes no lock.
type rateLog struct {
	next  atomic.Int64 // unix nanoseconds before which nothing is logged
	count atomic.Int64 // lines limited and not yet logged
}

// add counts n lines limited at now and logs the count when the last log
// is old enough.
func (r *rateLog) add(now time.Time, n int64, log zerolog.Logger, rate float64, burst int, dropped bool) {
	r.count.Add(n)
	next := r.next.Load()
	t := now.UnixNano()
	if t < next || !r.next.CompareAndSwap(next, t+int64(errorLogEvery)) {
		return
	}
	count := r.count.Swap(0)
	ev := log.Warn().Int64("count", count).Float64("rate", rate).Int("burst", burst)
	if dropped {
		ev.Msg("lines dropped over the listener's rate limit; raise its rate or burst if the senders are legitimate")
		return
	}
	ev.Msg("senders slowed down to the listener's rate limit (reading paused); " +
		"raise its rate or burst if the senders are legitimate")
}

// throttle makes a stream connection wait for the listener's rate limit
// before its next line. While it waits, the connection's Batcher may be
// due for a flush, so it flushes after the wait, unless its producer
// publishes on its own (RELP). Stop ends the wait, so
// that a drain is not slowed down.
func (l *TCPListener) throttle(c *tcpConn) {
	d := l.limit.reserve(time.Now())
	if d <= 0 {
		return
	}
	l.km.rateLimited.Inc()
	l.rateLogs.add(time.Now(), 1, l.logger, l.opts.Rate, l.opts.Burst, false)
	if !sleep(l.runCtx, l.stop, d) || c.b.manual {
		return
	}
	l.report(c.b.FlushDue(l.runCtx, time.Now()))
}

// sleep waits for d, or until ctx ends or stop is closed, and reports
// whether the whole wait passed.
func sleep(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-stop:
	}
	return false
}
