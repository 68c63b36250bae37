package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// readErrorPause keeps a socket that fails every read from spinning.
const readErrorPause = 10 * time.Millisecond

// UDPListener receives syslog datagrams. One goroutine reads the socket, so
// lines from one sender keep their order (the sshd tracker depends on it).
type UDPListener struct {
	p      *Pipeline
	opts   ListenerOptions
	logger zerolog.Logger
	// readErrs, pubErrs and dropLogs limit the logs of read errors,
	// publish errors and kernel drops.
	readErrs, pubErrs, dropLogs errorLimiter
	// countDrops is set when the kernel reports its drops (Linux).
	countDrops bool
	// unlogged is the kernel drops not yet logged; serve owns it.
	unlogged uint64
	// limit drops lines over the rate; rateLogs logs them, and
	// rateLimited counts them.
	limit       *rateLimiter
	rateLogs    rateLog
	rateLimited prometheus.Counter

	conn   *net.UDPConn
	runCtx context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	draining bool      // set by Stop
	drainAt  time.Time // when the current read ends the drain
}

// NewUDPListener checks opts and returns a listener that Start binds.
func NewUDPListener(p *Pipeline, opts ListenerOptions) (*UDPListener, error) {
	o, err := opts.withDefaults("udp")
	if err != nil {
		return nil, err
	}
	return &UDPListener{
		p:           p,
		opts:        o,
		logger:      p.logger.With().Str("source", string(KindUDP)).Logger(),
		limit:       newRateLimiter(o.Rate, o.Burst),
		rateLimited: p.metrics.forKind(KindUDP).rateLimited,
		done:        make(chan struct{}),
	}, nil
}

// Start binds the socket and serves it in the background until Stop. ctx
// bounds the bind only.
func (l *UDPListener) Start(ctx context.Context) error {
	if l.conn != nil {
		return errors.New("cannot start udp syslog listener: already started")
	}
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", l.opts.Address)
	if err != nil {
		return fmt.Errorf("cannot listen for syslog on udp %s: %w", l.opts.Address, err)
	}
	conn := pc.(*net.UDPConn)
	if err := conn.SetReadBuffer(l.opts.ReadBufferSize); err != nil {
		l.logger.Warn().Err(err).
			Int("bytes", l.opts.ReadBufferSize).
			Msg("cannot set udp receive buffer; keeping the kernel default")
	}
	l.countDrops, err = enableDropCount(conn)
	if err != nil {
		l.logger.Warn().Err(err).Msg("cannot count the datagrams the kernel drops; " +
			"tocsin_ingest_udp_kernel_drops_total will stay at zero")
	}
	l.conn = conn
	l.runCtx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	l.logger.Info().Str("address", conn.LocalAddr().String()).Msg("listening for syslog")
	go l.serve()
	return nil
}

// Addr returns the bound address, or nil before Start.
func (l *UDPListener) Addr() net.Addr {
	if l.conn == nil {
		return nil
	}
	return l.conn.LocalAddr()
}

// Stop drains the socket: it reads until no datagram has arrived for the
// drain timeout, publishes what was read, and closes the socket. If ctx
// ends first, pending publishes are abandoned and Stop returns ctx's error.
func (l *UDPListener) Stop(ctx context.Context) error {
	if l.conn == nil {
		return nil
	}
	l.mu.Lock()
	if !l.draining {
		l.draining = true
		l.drainAt = time.Now().Add(l.opts.DrainTimeout)
		_ = l.conn.SetReadDeadline(l.drainAt)
	}
	l.mu.Unlock()
	select {
	case <-l.done:
		l.cancel()
		if err := l.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("cannot close udp syslog listener: %w", err)
		}
		return nil
	case <-ctx.Done():
		l.cancel()
		_ = l.conn.Close()
		<-l.done
		return fmt.Errorf("cannot drain udp syslog listener on %s: %w", l.Addr(), ctx.Err())
	}
}

func (l *UDPListener) serve() {
	defer close(l.done)
	name := "udp:" + l.conn.LocalAddr().String() + "@" + strconv.FormatInt(l.p.epoch, 10)
	b := l.p.NewBatcher(Source{Kind: KindUDP, Name: name, Location: l.opts.Location, Format: l.opts.Format})
	buf := make([]byte, l.opts.MaxMessageSize+1)
	var oob []byte
	if l.countDrops {
		oob = make([]byte, dropOOBSize)
	}
	var drops dropCounter
	senders := senderCache{}
	for {
		l.setDeadline(b)
		n, ap, dropped, counted, err := readDatagram(l.conn, buf, oob)
		if counted {
			l.kernelDropped(drops.update(dropped))
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if l.drained(time.Now()) {
					break
				}
				l.report(b.FlushDue(l.runCtx, time.Now()))
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				break
			}
			// Errors such as a reflected ICMP unreachable concern one
			// datagram; the socket keeps working.
			if n, ok := l.readErrs.allow(time.Now()); ok {
				l.logger.Warn().Err(err).Int("count", n).Msg("cannot read udp datagram")
			}
			time.Sleep(readErrorPause)
			continue
		}
		l.datagram(b, buf[:n], time.Now(), senders.name(ap.Addr()))
		if l.runCtx.Err() != nil {
			break
		}
	}
	l.report(b.Close(l.runCtx))
	if l.unlogged > 0 {
		l.logDrops()
	}
}

// dropCounter turns the kernel's running count of the datagrams it dropped
// for a socket into increases.
type dropCounter struct {
	last uint32
}

// update takes the count that came with a datagram and returns how much
// it grew. The count is 32 bits and wraps; a count below the last one
// (which datagrams read in order never carry) adds nothing.
func (d *dropCounter) update(count uint32) uint32 {
	grew := count - d.last
	if grew >= 1<<31 {
		return 0
	}
	d.last = count
	return grew
}

// kernelDropped counts n datagrams the kernel dropped because the socket's
// receive buffer was full, and logs them at most once per errorLogEvery.
//
// Known shortcoming: the kernel reports its count with the next datagram
// it queues, so drops stay uncounted until another datagram arrives, and
// drops after the last datagram before Stop are never counted.
func (l *UDPListener) kernelDropped(n uint32) {
	if n == 0 {
		return
	}
	l.p.metrics.udpKernelDrops.Add(float64(n))
	l.unlogged += uint64(n)
	if _, ok := l.dropLogs.allow(time.Now()); ok {
		l.logDrops()
	}
}

func (l *UDPListener) logDrops() {
	l.logger.Warn().
		Uint64("datagrams", l.unlogged).
		Int("read_buffer_size", l.opts.ReadBufferSize).
		Msg("kernel dropped udp datagrams: the socket's receive buffer was full; " +
			"raise the listener's read buffer size (and net.core.rmem_max) or relieve the event bus")
	l.unlogged = 0
}

// setDeadline arms the read deadline for the next flush or, once Stop has
// begun, the end of the drain, whichever comes first.
func (l *UDPListener) setDeadline(b *Batcher) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := b.DueAt()
	if l.draining {
		l.drainAt = time.Now().Add(l.opts.DrainTimeout)
		if d.IsZero() || l.drainAt.Before(d) {
			d = l.drainAt
		}
	}
	_ = l.conn.SetReadDeadline(d)
}

// drained reports whether a read that timed out at now ends the drain.
func (l *UDPListener) drained(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.draining && !now.Before(l.drainAt)
}

// datagram hands the lines of one datagram to b.
func (l *UDPListener) datagram(b *Batcher, data []byte, now time.Time, sender string) {
	if limit := l.opts.MaxMessageSize; len(data) > limit {
		if l.allow(now) {
			l.report(b.Reject(l.runCtx, data[:limit], now, sender, ReasonTooLong,
				"datagram longer than "+strconv.Itoa(limit)+" bytes"))
		}
		return
	}
	if len(data) == 0 {
		if l.allow(now) {
			l.report(b.Line(l.runCtx, data, now, sender))
		}
		return
	}
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if l.allow(now) {
			l.report(b.Line(l.runCtx, trimTrailer(line), now, sender))
		}
	}
}

// allow takes one line from the rate limit, or counts it as dropped.
func (l *UDPListener) allow(now time.Time) bool {
	if l.limit.allow(now) {
		return true
	}
	l.rateLimited.Inc()
	l.rateLogs.add(now, 1, l.logger, l.opts.Rate, l.opts.Burst, true)
	return false
}

// report logs a publish error, at most once per errorLogEvery.
func (l *UDPListener) report(err error) {
	if err == nil {
		return
	}
	if n, ok := l.pubErrs.allow(time.Now()); ok {
		l.logger.Error().Err(err).Int("count", n).Msg("cannot publish ingested lines")
	}
}

// trimTrailer drops trailing CR and NUL bytes.
func trimTrailer(line []byte) []byte {
	for n := len(line); n > 0 && (line[n-1] == '\r' || line[n-1] == 0); n-- {
		line = line[:n-1]
	}
	return line
}
