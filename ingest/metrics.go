package ingest

import (
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tocsin-siem/tocsin/ingest/parse"
)

// Failure reasons that ingest sets itself; the parser's own reasons are in
// parse.Reasons.
const (
	// ReasonTooLong is a message longer than the transport's limit; the
	// failure holds its first limit bytes.
	ReasonTooLong = "too_long"
	// ReasonTruncated is an octet-counted TCP message cut short by the end
	// of the connection.
	ReasonTruncated = "truncated"
	// ReasonBadOctetCount is a TCP frame whose leading octet count is too
	// long to be believed; the frame was read up to the next LF instead.
	ReasonBadOctetCount = "bad_octet_count"
	// ReasonParse is a parser error that carries no reason of its own.
	ReasonParse = "parse_error"
	// ReasonOther stands in for reasons past maxReasons in metric labels.
	ReasonOther = "other"
)

// maxReasons caps the reason label values per source. The parser's reasons
// are a fixed set, so this only guards against a parser that builds
// reasons from its input.
const maxReasons = 64

// knownReasons returns every reason created up front as a metric child.
func knownReasons() []string {
	return append(parse.Reasons(), ReasonTooLong, ReasonTruncated, ReasonBadOctetCount, ReasonParse, ReasonBadJSON)
}

// metrics holds ingest's Prometheus collectors. Every label is the source
// kind; senders never become labels.
type metrics struct {
	lines       *prometheus.CounterVec
	blank       *prometheus.CounterVec
	events      *prometheus.CounterVec
	failures    *prometheus.CounterVec
	bytes       *prometheus.CounterVec
	oversize    *prometheus.CounterVec
	dropped     *prometheus.CounterVec
	connections *prometheus.GaugeVec
	rejected    *prometheus.CounterVec
	idle        *prometheus.CounterVec
	evicted     *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	handshakes  *prometheus.CounterVec
	// udpKernelDrops counts datagrams, not lines, so it is apart from
	// dropped, which counts events and failures the bus refused.
	udpKernelDrops prometheus.Counter

	mu    sync.Mutex
	kinds map[Kind]*kindMetrics
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "tocsin", Subsystem: "ingest", Name: name, Help: help,
		}, labels)
	}
	m := &metrics{
		lines:    counter("lines_total", "Lines received, blank and failed ones included.", "source"),
		blank:    counter("blank_lines_total", "Blank lines received and skipped.", "source"),
		events:   counter("events_total", "Events published to the event bus.", "source"),
		failures: counter("parse_failures_total", "Lines kept as parse failures, by reason.", "source", "reason"),
		bytes:    counter("bytes_total", "Bytes of line content received, terminators excluded.", "source"),
		oversize: counter("oversize_total", "Messages longer than the size limit, cut and kept as failures.", "source"),
		dropped:  counter("dropped_total", "Events and failures lost because the bus refused them.", "source"),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "tocsin", Subsystem: "ingest", Name: "connections",
			Help: "Open connections.",
		}, []string{"source"}),
		rejected: counter("connections_rejected_total",
			"Connections closed at accept because the connection limit was reached.", "source"),
		idle: counter("idle_timeouts_total", "Connections closed after the idle timeout.", "source"),
		evicted: counter("connections_evicted_total",
			"Idle connections closed at the connection limit to admit a new one.", "source"),
		rateLimited: counter("rate_limited_total",
			"Lines over the listener's rate limit: dropped on UDP, delayed (reading paused) on stream listeners.", "source"),
		handshakes: counter("tls_handshake_failures_total",
			"TLS connections closed because the handshake failed or timed out.", "source"),
		udpKernelDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "tocsin", Subsystem: "ingest", Name: "udp_kernel_drops_total",
			Help: "UDP datagrams the kernel dropped before tocsin could read them (receive buffer full), " +
				"as the kernel reports them with the next datagram read; Linux only.",
		}),
		kinds: map[Kind]*kindMetrics{},
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{
		m.lines, m.blank, m.events, m.failures, m.bytes, m.oversize, m.dropped, m.connections, m.rejected, m.idle,
		m.evicted, m.udpKernelDrops, m.rateLimited, m.handshakes,
	} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("cannot register ingest metrics: "+
					"a pipeline is already registered with this registry: %w", err)
			}
			return nil, fmt.Errorf("cannot register ingest metrics: %w", err)
		}
	}
	return m, nil
}

// kindMetrics are the children for one source kind, resolved once.
type kindMetrics struct {
	parent   *metrics
	kind     Kind
	lines    prometheus.Counter
	blank    prometheus.Counter
	events   prometheus.Counter
	bytes    prometheus.Counter
	oversize prometheus.Counter
	dropped  prometheus.Counter
	conns    prometheus.Gauge
	rejected prometheus.Counter
	idle     prometheus.Counter
	evicted  prometheus.Counter
	// rateLimited counts lines over the listener's rate limit.
	rateLimited prometheus.Counter
	// handshakes counts failed TLS handshakes (stream kinds only).
	handshakes prometheus.Counter

	mu      sync.Mutex
	reasons map[string]prometheus.Counter
}

func (m *metrics) forKind(k Kind) *kindMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if km, ok := m.kinds[k]; ok {
		return km
	}
	l := string(k)
	km := &kindMetrics{
		parent:   m,
		kind:     k,
		lines:    m.lines.WithLabelValues(l),
		blank:    m.blank.WithLabelValues(l),
		events:   m.events.WithLabelValues(l),
		bytes:    m.bytes.WithLabelValues(l),
		oversize: m.oversize.WithLabelValues(l),
		dropped:  m.dropped.WithLabelValues(l),
		reasons:  map[string]prometheus.Counter{},
	}
	if k == KindTCP || k == KindUDP || k == KindTLS || k == KindRELP {
		km.rateLimited = m.rateLimited.WithLabelValues(l)
	}
	if k == KindTCP || k == KindTLS || k == KindRELP {
		km.conns = m.connections.WithLabelValues(l)
		km.rejected = m.rejected.WithLabelValues(l)
		km.idle = m.idle.WithLabelValues(l)
		km.evicted = m.evicted.WithLabelValues(l)
	}
	if k == KindTLS || k == KindRELP {
		km.handshakes = m.handshakes.WithLabelValues(l)
	}
	for _, r := range knownReasons() {
		km.reasons[r] = m.failures.WithLabelValues(l, r)
	}
	m.kinds[k] = km
	return km
}

// failure returns the failure counter for reason. Failures are the rare
// path, so the lock is acceptable here.
func (km *kindMetrics) failure(reason string) prometheus.Counter {
	km.mu.Lock()
	defer km.mu.Unlock()
	if c, ok := km.reasons[reason]; ok {
		return c
	}
	if len(km.reasons) >= maxReasons {
		reason = ReasonOther
		if c, ok := km.reasons[reason]; ok {
			return c
		}
	}
	c := km.parent.failures.WithLabelValues(string(km.kind), reason)
	km.reasons[reason] = c
	return c
}
