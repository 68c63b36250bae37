package ingest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Listener defaults.
const (
	DefaultAddress           = "127.0.0.1:5514"
	DefaultUDPMaxMessageSize = 64 << 10
	DefaultTCPMaxMessageSize = 1 << 20
	DefaultMaxConnections    = 1024
	DefaultIdleTimeout       = 5 * time.Minute
	DefaultUDPReadBuffer     = 4 << 20
	DefaultDrainTimeout      = 200 * time.Millisecond
	DefaultEvictIdle         = 10 * time.Second
	DefaultHandshakeTimeout  = 10 * time.Second
)

// ListenerOptions configures a syslog listener. The zero value of each
// field takes its default.
type ListenerOptions struct {
	// Address is host:port to listen on (default 127.0.0.1:5514).
	Address string
	// MaxMessageSize is the longest message kept whole (default 64 KiB
	// for UDP, 1 MiB for TCP); longer ones are cut and kept as "too_long"
	// failures. Over IPv4 no UDP datagram is longer than 65,507 bytes.
	MaxMessageSize int
	// MaxConnections caps concurrent TCP connections (default 1024). A
	// connection that arrives at the cap takes the place of the open
	// connection idle the longest, if that one has been idle for at least
	// EvictIdle; when none has, it is closed at once, logged and counted.
	MaxConnections int
	// IdleTimeout closes a TCP connection that has sent nothing for this
	// long (default 5m), which also clears half-open connections.
	IdleTimeout time.Duration
	// ReadBufferSize is the kernel receive buffer (SO_RCVBUF) requested
	// for the UDP socket (default 4 MiB) and for each TCP connection
	// (default: left to the kernel's auto-tuning). The kernel may grant
	// less (net.core.rmem_max).
	ReadBufferSize int
	// Location is the zone of timestamps without one from this listener's
	// senders; nil takes the pipeline's.
	Location *time.Location
	// Format is the one format this listener's senders send (see
	// parse.Formats); empty detects it per message.
	Format string
	// DrainTimeout is the quiet period that ends a drain (default 200ms):
	// on Stop, a connection (or the UDP socket) is read until nothing
	// has arrived for this long after asking, or the sender closes.
	// Stop's context bounds a sender that never pauses.
	DrainTimeout time.Duration
	// EvictIdle is how long a TCP connection must have been waiting for
	// data, with nothing received, before a new connection at
	// MaxConnections may take its place (default 10s). A connection whose
	// reader is busy (waiting on the bus, say) is never evicted.
	EvictIdle time.Duration
	// Admit, when set, is asked before a TCP connection is served; while
	// it returns an error the listener closes new connections at once
	// and logs the error. Ingest uses it to refuse input while its
	// buffer in front of Kafka is full.
	Admit func() error
	// TLS, when set, makes a stream listener (TCP, RELP) take TLS
	// connections only: syslog over TLS (RFC 5425), or RELP over TLS.
	// Versions below TLS 1.2 are refused whatever the config says. Build
	// it with TLSOptions.ServerConfig.
	TLS *tls.Config
	// HandshakeTimeout bounds a TLS handshake (default 10s), so that a
	// client that connects and sends nothing holds a connection slot no
	// longer; a handshaking connection may also be evicted like an idle
	// one.
	HandshakeTimeout time.Duration
	// Rate caps the lines per second the listener takes, over all its
	// connections (0, the default: no cap). Lines over the rate are
	// dropped and counted on UDP; stream listeners (TCP, TLS, RELP)
	// stop reading until the rate allows them, so that senders are slowed
	// down, not dropped. Either way tocsin_ingest_rate_limited_total
	// counts them.
	Rate float64
	// Burst is how many lines may arrive at once above Rate (default:
	// one second's worth of Rate, at least 1). It needs a Rate.
	Burst int
	// AckTimeout bounds how long a RELP listener waits for a batch of
	// messages to be safe before it answers them with an error, which
	// makes the sender keep them (default 30s). Other listeners ignore
	// it.
	AckTimeout time.Duration
}

func (o ListenerOptions) withDefaults(proto string) (ListenerOptions, error) {
	var errs []error
	if o.MaxMessageSize < 0 {
		errs = append(errs, fmt.Errorf("max message size %d is negative", o.MaxMessageSize))
	}
	if o.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("max connections %d is negative", o.MaxConnections))
	}
	if o.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("idle timeout %s is negative", o.IdleTimeout))
	}
	if o.ReadBufferSize < 0 {
		errs = append(errs, fmt.Errorf("read buffer size %d is negative", o.ReadBufferSize))
	}
	if o.DrainTimeout < 0 {
		errs = append(errs, fmt.Errorf("drain timeout %s is negative", o.DrainTimeout))
	}
	if o.EvictIdle < 0 {
		errs = append(errs, fmt.Errorf("evict idle %s is negative", o.EvictIdle))
	}
	errs = append(errs, o.checkLimits(proto)...)
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("cannot configure %s syslog listener: %w", proto, err)
	}
	if o.Address == "" {
		o.Address = DefaultAddress
	}
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = DefaultTCPMaxMessageSize
		if proto == "udp" {
			o.MaxMessageSize = DefaultUDPMaxMessageSize
		}
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.ReadBufferSize == 0 && proto == "udp" {
		o.ReadBufferSize = DefaultUDPReadBuffer
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.EvictIdle == 0 {
		o.EvictIdle = DefaultEvictIdle
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.AckTimeout == 0 {
		o.AckTimeout = DefaultAckTimeout
	}
	if o.Rate > 0 && o.Burst == 0 {
		o.Burst = max(1, int(o.Rate))
	}
	return o, nil
}

// senderCacheSize bounds the UDP sender address strings kept.
const senderCacheSize = 4096

// senderCache turns sender addresses into strings once per sender, so
// that a datagram costs no allocation for its sender.
type senderCache map[netip.Addr]string

func (c senderCache) name(a netip.Addr) string {
	if s, ok := c[a]; ok {
		return s
	}
	if len(c) >= senderCacheSize {
		clear(c)
	}
	s := a.Unmap().String()
	c[a] = s
	return s
}

// errorLogEvery is the least time between two logs of a listener's publish
// errors.
const errorLogEvery = 10 * time.Second

// errorLimiter logs a recurring error at most once per errorLogEvery, with
// the number of occurrences since the last log. It is safe for concurrent
// use.
type errorLimiter struct {
	mu     sync.Mutex
	next   time.Time
	missed int
}

// allow reports whether to log now and how many occurrences, this one
// included, the log stands for.
func (e *errorLimiter) allow(now time.Time) (int, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.missed++
	if now.Before(e.next) {
		return 0, false
	}
	n := e.missed
	e.missed = 0
	e.next = now.Add(errorLogEvery)
	return n, true
}
