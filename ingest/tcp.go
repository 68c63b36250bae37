package ingest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/ingest/framing"
)

// Accept retry back-off after errors such as running out of descriptors.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// errIdle ends a connection that sent nothing for the idle timeout.
var errIdle = errors.New("idle timeout")

// errEvicted ends an idle connection closed to admit a new one.
var errEvicted = errors.New("evicted at the connection limit to admit a new connection")

// TCPListener receives syslog over TCP with RFC 6587 framing, one goroutine
// and one Batcher per connection. A connection's goroutine publishes its
// own batches, so a blocked bus stops it reading and TCP flow control
// pushes back on the sender; nothing is buffered beyond one message.
//
// The same machinery (connection limit and eviction, idle timeout, drain,
// back-pressure, rate limit, TLS) serves syslog over TLS (NewTLSListener)
// and RELP (NewRELPListener); only the protocol spoken on each connection
// differs.
type TCPListener struct {
	p      *Pipeline
	opts   ListenerOptions
	kind   Kind
	logger zerolog.Logger
	km     *kindMetrics
	// session speaks the listener's protocol on one connection, after
	// the TLS handshake when there is one, until the connection ends.
	session func(l *TCPListener, c *tcpConn)
	tls     *tls.Config
	limit   *rateLimiter
	// acceptErrs, rejects, evictions, pubErrs, handshakeErrs and
	// protoErrs limit the logs of accept errors, connections refused or
	// evicted at the limit, publish errors, failed TLS handshakes and
	// RELP protocol errors; rateLogs those of lines over the rate.
	acceptErrs, rejects, evictions, pubErrs, handshakeErrs, protoErrs errorLimiter
	rateLogs                                                          rateLog

	ln     net.Listener
	runCtx context.Context
	cancel context.CancelFunc
	stop   chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex
	conns    map[*tcpConn]struct{}
	stopping bool
	seq      uint64
}

// NewTCPListener checks opts and returns a listener that Start binds.
// With opts.TLS set it is a syslog-over-TLS listener, as NewTLSListener
// returns.
func NewTCPListener(p *Pipeline, opts ListenerOptions) (*TCPListener, error) {
	kind := KindTCP
	if opts.TLS != nil {
		kind = KindTLS
	}
	return newStreamListener(p, opts, kind, (*TCPListener).serveSyslog)
}

// newStreamListener returns a listener of kind whose connections session
// serves.
func newStreamListener(p *Pipeline, opts ListenerOptions, kind Kind, session func(*TCPListener, *tcpConn)) (*TCPListener, error) {
	o, err := opts.withDefaults(string(kind))
	if err != nil {
		return nil, err
	}
	return &TCPListener{
		p:       p,
		opts:    o,
		kind:    kind,
		logger:  p.logger.With().Str("source", string(kind)).Logger(),
		km:      p.metrics.forKind(kind),
		session: session,
		tls:     serverTLS(o.TLS),
		limit:   newRateLimiter(o.Rate, o.Burst),
		stop:    make(chan struct{}),
		conns:   map[*tcpConn]struct{}{},
	}, nil
}

// what names the listener in errors: "tcp syslog", "tls syslog", "relp".
func (l *TCPListener) what() string {
	if l.kind == KindRELP {
		return "relp"
	}
	return string(l.kind) + " syslog"
}

// Start binds the address and accepts connections in the background until
// Stop. ctx bounds the bind only.
func (l *TCPListener) Start(ctx context.Context) error {
	if l.ln != nil {
		return fmt.Errorf("cannot start %s listener: already started", l.what())
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", l.opts.Address)
	if err != nil {
		if l.kind == KindRELP {
			return fmt.Errorf("cannot listen for relp on %s: %w", l.opts.Address, err)
		}
		return fmt.Errorf("cannot listen for syslog on %s %s: %w", l.kind, l.opts.Address, err)
	}
	l.ln = ln
	l.runCtx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	l.logger.Info().
		Str("address", ln.Addr().String()).
		Int("max_connections", l.opts.MaxConnections).
		Bool("tls", l.tls != nil).
		Float64("rate", l.opts.Rate).
		Msg("listening for " + l.what())
	l.wg.Add(1)
	go l.accept()
	return nil
}

// Addr returns the bound address, or nil before Start.
func (l *TCPListener) Addr() net.Addr {
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

// Stop stops accepting connections and drains every connection, including
// those the kernel had queued for accepting: each is read until it has
// been quiet for the drain timeout or its sender closes it. Then Stop
// publishes what was read and closes the connections. If ctx ends first,
// pending publishes are abandoned, the connections are closed and Stop
// returns ctx's error.
func (l *TCPListener) Stop(ctx context.Context) error {
	if l.ln == nil {
		return nil
	}
	l.mu.Lock()
	if !l.stopping {
		l.stopping = true
		close(l.stop)
		for c := range l.conns {
			c.drain()
		}
		// Accept what is queued; the accept loop closes the socket
		// once no connection has come for the drain timeout.
		if !l.armAccept() {
			_ = l.ln.Close()
		}
	}
	l.mu.Unlock()
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		l.cancel()
		return nil
	case <-ctx.Done():
		l.cancel()
		_ = l.ln.Close()
		l.mu.Lock()
		for c := range l.conns {
			_ = c.conn.Close()
		}
		l.mu.Unlock()
		<-done
		return fmt.Errorf("cannot drain %s listener on %s: %w", l.what(), l.ln.Addr(), ctx.Err())
	}
}

func (l *TCPListener) accept() {
	defer l.wg.Done()
	defer l.ln.Close()
	backoff := acceptBackoffMin
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if l.isStopping() || errors.Is(err, net.ErrClosed) {
				return
			}
			if n, ok := l.acceptErrs.allow(time.Now()); ok {
				l.logger.Error().Err(err).Int("count", n).Dur("retry_in", backoff).Msg("cannot accept connection")
			}
			select {
			case <-l.stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, acceptBackoffMax)
			continue
		}
		backoff = acceptBackoffMin
		l.admit(conn)
	}
}

// armAccept sets the accept deadline of a stopping listener.
func (l *TCPListener) armAccept() bool {
	dl, ok := l.ln.(interface{ SetDeadline(time.Time) error })
	return ok && dl.SetDeadline(time.Now().Add(l.opts.DrainTimeout)) == nil
}

func (l *TCPListener) isStopping() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopping
}

// admit starts serving conn. At the connection limit it evicts the
// connection idle the longest to make room, or closes conn when every
// connection is busy.
func (l *TCPListener) admit(conn net.Conn) {
	if l.opts.Admit != nil {
		if err := l.opts.Admit(); err != nil {
			_ = conn.Close()
			l.km.rejected.Inc()
			if n, ok := l.rejects.allow(time.Now()); ok {
				l.logger.Error().Err(err).
					Str("remote", conn.RemoteAddr().String()).
					Int("count", n).
					Msg("connection refused: tocsin cannot take more input now")
			}
			return
		}
	}
	l.mu.Lock()
	var evicted *tcpConn
	if len(l.conns) >= l.opts.MaxConnections {
		evicted = l.idlest(time.Now())
		if evicted != nil {
			// Out of the count now; its goroutine ends it at once.
			delete(l.conns, evicted)
			evicted.evict()
		}
	}
	if evicted == nil && len(l.conns) >= l.opts.MaxConnections {
		l.mu.Unlock()
		_ = conn.Close()
		l.km.rejected.Inc()
		if n, ok := l.rejects.allow(time.Now()); ok {
			l.logger.Warn().
				Str("remote", conn.RemoteAddr().String()).
				Int("limit", l.opts.MaxConnections).
				Int("count", n).
				Msg("connection refused: connection limit reached; " +
					"raise the listener's max connections if senders are legitimate")
		}
		return
	}
	l.seq++
	name := string(l.kind) + ":" + l.ln.Addr().String() + "#" + strconv.FormatUint(l.seq, 10) + "@" + strconv.FormatInt(l.p.epoch, 10)
	sender := senderOf(conn.RemoteAddr())
	if l.tls != nil {
		conn = tls.Server(conn, l.tls)
	}
	c := &tcpConn{
		conn:     conn,
		idle:     l.opts.IdleTimeout,
		gap:      l.opts.DrainTimeout,
		b:        l.p.NewBatcher(Source{Kind: l.kind, Name: name, Location: l.opts.Location, Format: l.opts.Format}),
		sender:   sender,
		lastRead: time.Now(),
	}
	if l.stopping {
		c.drain()
		l.armAccept()
	}
	c.active.Store(c.lastRead.UnixNano())
	l.conns[c] = struct{}{}
	l.wg.Add(1)
	l.mu.Unlock()
	l.km.conns.Inc()
	if evicted != nil {
		l.km.evicted.Inc()
		if n, ok := l.evictions.allow(time.Now()); ok {
			l.logger.Warn().
				Str("evicted", evicted.conn.RemoteAddr().String()).
				Str("admitted", conn.RemoteAddr().String()).
				Int("limit", l.opts.MaxConnections).
				Int("count", n).
				Msg("idle connection closed to admit a new one: connection limit reached")
		}
	}
	go l.serve(c)
}

// idlest returns the connection that has waited for data the longest, if
// it has waited for at least EvictIdle, or nil. A connection whose reader
// is elsewhere (parsing, publishing to a slow bus) is busy, not idle. It
// scans every connection, which at the default limit takes microseconds;
// the caller holds l.mu.
func (l *TCPListener) idlest(now time.Time) *tcpConn {
	limit := now.Add(-l.opts.EvictIdle).UnixNano()
	var best *tcpConn
	var bestAt int64
	for c := range l.conns {
		if !c.reading.Load() {
			continue
		}
		if at := c.active.Load(); at <= limit && (best == nil || at < bestAt) {
			best, bestAt = c, at
		}
	}
	return best
}

func (l *TCPListener) serve(c *tcpConn) {
	defer func() {
		_ = c.conn.Close()
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
		l.km.conns.Dec()
		l.wg.Done()
	}()
	raw, tc := c.conn, (*tls.Conn)(nil)
	if t, ok := c.conn.(*tls.Conn); ok {
		raw, tc = t.NetConn(), t
	}
	if l.opts.ReadBufferSize > 0 {
		if tcp, ok := raw.(*net.TCPConn); ok {
			_ = tcp.SetReadBuffer(l.opts.ReadBufferSize)
		}
	}
	if tc != nil {
		if err := l.handshake(c, tc); err != nil {
			l.handshakeFailed(c, err)
			_ = c.b.Close(l.runCtx) // nothing was read
			return
		}
	}
	l.session(l, c)
}

// serveSyslog reads RFC 6587 frames (octet-counted or newline-framed)
// until the connection ends, and publishes what it read.
func (l *TCPListener) serveSyslog(c *tcpConn) {
	fr := framing.New(c, l.opts.MaxMessageSize)
	for {
		f, err := fr.Next()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				l.report(c.b.FlushDue(l.runCtx, time.Now()))
				continue
			}
			l.closed(c, err)
			if rest := fr.Rest(); len(rest) > 0 && !errors.Is(err, io.EOF) {
				l.report(c.b.Reject(l.runCtx, rest, c.lastRead, c.sender, ReasonTruncated,
					"connection ended inside a message: "+err.Error()))
			}
			break
		}
		if l.limit != nil {
			l.throttle(c)
		}
		if err := l.frame(c, f); err != nil {
			l.report(err)
			if l.runCtx.Err() != nil {
				break
			}
		}
	}
	l.report(c.b.Close(l.runCtx))
}

// frame hands one frame to the connection's Batcher.
func (l *TCPListener) frame(c *tcpConn, f framing.Frame) error {
	ctx, b, at := l.runCtx, c.b, c.lastRead
	switch f.Kind {
	case framing.KindOK:
		data := f.Data
		if f.Octet {
			// syslog-ng's syslog() driver counts a line feed after each
			// message in its length; as rsyslog does, tocsin drops it (and
			// a CR before it), so that the message's last word stays clean.
			data = bytes.TrimSuffix(bytes.TrimSuffix(data, []byte{'\n'}), []byte{'\r'})
		}
		return b.Line(ctx, data, at, c.sender)
	case framing.KindTooLong:
		detail := "message longer than " + strconv.Itoa(l.opts.MaxMessageSize) + " bytes"
		if f.Octet {
			detail = "octet count " + strconv.Itoa(f.Declared) + " above the limit of " +
				strconv.Itoa(l.opts.MaxMessageSize) + " bytes"
		}
		return b.Reject(ctx, f.Data, at, c.sender, ReasonTooLong, detail)
	case framing.KindTruncated:
		return b.Reject(ctx, f.Data, at, c.sender, ReasonTruncated,
			"connection ended "+strconv.Itoa(f.Declared-len(f.Data))+" bytes short of octet count "+strconv.Itoa(f.Declared))
	default:
		return b.Reject(ctx, f.Data, at, c.sender, ReasonBadOctetCount,
			"leading digit run longer than "+strconv.Itoa(framing.MaxCountDigits)+" digits; read as a newline-framed message")
	}
}

// closed logs why a connection ended, when it is worth a line.
func (l *TCPListener) closed(c *tcpConn, err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	case errors.Is(err, errEvicted):
		l.logger.Debug().
			Str("remote", c.conn.RemoteAddr().String()).
			Msg("closing idle connection to admit a new one")
	case errors.Is(err, errIdle):
		l.km.idle.Inc()
		l.logger.Debug().
			Str("remote", c.conn.RemoteAddr().String()).
			Dur("idle_timeout", c.idle).
			Msg("closing idle connection")
	default:
		l.logger.Debug().Err(err).Str("remote", c.conn.RemoteAddr().String()).Msg("connection ended")
	}
}

// report logs a publish error, at most once per errorLogEvery.
func (l *TCPListener) report(err error) {
	if err == nil {
		return
	}
	if n, ok := l.pubErrs.allow(time.Now()); ok {
		l.logger.Error().Err(err).Int("count", n).Msg("cannot publish ingested lines")
	}
}

// tcpConn is one connection. Its Read arms the deadline that wakes the
// reader for the next flush, the idle timeout or the end of a drain.
type tcpConn struct {
	conn     net.Conn
	idle     time.Duration
	gap      time.Duration // the drain timeout
	b        *Batcher
	sender   string
	lastRead time.Time // only the serving goroutine uses it
	// idleFrom is where the idle timeout counts from: the last read,
	// moved on by the time the goroutine spent away from Read (parsing,
	// or blocked publishing while the bus applies back-pressure), so
	// that a sender tocsin stopped reading is never called idle.
	idleFrom time.Time
	leftRead time.Time
	// active is lastRead in unix nanoseconds and reading is set while
	// the goroutine waits in Read, for the accept loop to find idle
	// connections.
	active  atomic.Int64
	reading atomic.Bool

	mu       sync.Mutex
	draining bool      // set by Stop
	drainAt  time.Time // when the current read ends the drain
	evicted  bool      // set by evict
}

// evict makes the connection's next or current Read return errEvicted.
func (c *tcpConn) evict() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evicted = true
	_ = c.conn.SetReadDeadline(time.Unix(1, 0))
}

// drain makes the connection end once it has been quiet for c.gap.
func (c *tcpConn) drain() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draining = true
	c.drainAt = time.Now().Add(c.gap)
	_ = c.conn.SetReadDeadline(c.drainAt)
}

// Read reads from the connection. It returns os.ErrDeadlineExceeded when
// a flush is due, errIdle after the idle timeout, errEvicted once evicted
// and io.EOF once a drain is over.
func (c *tcpConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.evicted {
		c.mu.Unlock()
		return 0, errEvicted
	}
	now := time.Now()
	if c.idleFrom.IsZero() {
		c.idleFrom = c.lastRead
	}
	if !c.leftRead.IsZero() {
		c.idleFrom = c.idleFrom.Add(now.Sub(c.leftRead))
	}
	d := c.idleFrom.Add(c.idle)
	if due := c.b.DueAt(); !due.IsZero() && due.Before(d) {
		d = due
	}
	if c.draining {
		c.drainAt = now.Add(c.gap)
		if c.drainAt.Before(d) {
			d = c.drainAt
		}
	}
	err := c.conn.SetReadDeadline(d)
	c.reading.Store(true)
	c.mu.Unlock()
	if err != nil {
		c.reading.Store(false)
		return 0, err
	}
	n, err := c.conn.Read(p)
	now = time.Now()
	c.leftRead = now
	if n > 0 {
		c.lastRead = now
		c.idleFrom = now
		c.active.Store(now.UnixNano())
	}
	c.reading.Store(false)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.mu.Lock()
		drained := c.draining && !now.Before(c.drainAt)
		evicted := c.evicted
		c.mu.Unlock()
		switch {
		case evicted:
			return n, errEvicted
		case drained:
			return n, io.EOF
		case !now.Before(c.idleFrom.Add(c.idle)):
			return n, errIdle
		}
	}
	return n, err
}

// senderOf returns the IP address of a peer, without port.
func senderOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap().String()
	}
	return a.String()
}
