package ingest

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// extraMetrics holds the metrics of the HTTP listener and the file
// tailer, created and registered with the pipeline's registerer the first
// time one of them is built, so that a pipeline without them exports none.
type extraMetrics struct {
	mu   sync.Mutex
	http *httpMetrics
	tail *tailMetrics
}

// register registers cs with reg (when set), naming what in the error.
func register(reg prometheus.Registerer, what string, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return fmt.Errorf("cannot register %s metrics: another pipeline registered them with this registry: %w", what, err)
			}
			return fmt.Errorf("cannot register %s metrics: %w", what, err)
		}
	}
	return nil
}

// httpCodes are the statuses the HTTP listener answers with; each has its
// counter child from the start.
var httpCodes = []int{200, 400, 401, 404, 405, 408, 413, 415, 429, 500, 503}

// HTTP record outcomes, the values of the result label.
const (
	// httpAcked records were published and found safe before the answer.
	httpAcked = "acknowledged"
	// httpUnacked records were handed on but the request was answered
	// with an error (the sender will send them again).
	httpUnacked = "unacknowledged"
	// httpRefused records were answered with an error of their own (bulk
	// items that tocsin does not carry out, or malformed documents).
	httpRefused = "refused"
)

// httpMetrics are the HTTP listener's own metrics; lines, events and
// failures are counted with the other sources under source="http".
type httpMetrics struct {
	requests *prometheus.CounterVec
	codes    map[int]prometheus.Counter
	records  map[string]prometheus.Counter
	inFlight prometheus.Gauge
	ackWait  prometheus.Histogram
}

func (p *Pipeline) httpMetrics() (*httpMetrics, error) {
	p.extra.mu.Lock()
	defer p.extra.mu.Unlock()
	if p.extra.http != nil {
		return p.extra.http, nil
	}
	records := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tocsin", Subsystem: "ingest", Name: "http_records_total",
		Help: "Records received over HTTP, by result: acknowledged (safe before the answer), " +
			"unacknowledged (answered with an error; the sender sends them again) or refused (bulk items answered with an error).",
	}, []string{"result"})
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "tocsin", Subsystem: "ingest", Name: "http_requests_total",
			Help: "HTTP ingest requests answered, by status code.",
		}, []string{"code"}),
		codes:   map[int]prometheus.Counter{},
		records: map[string]prometheus.Counter{},
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "tocsin", Subsystem: "ingest", Name: "http_requests_in_flight",
			Help: "HTTP ingest requests being read, published or waiting for their batch to be safe.",
		}),
		ackWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "tocsin", Subsystem: "ingest", Name: "http_ack_wait_seconds",
			Help:    "Time from a request's body being read to its batch being safe (published, and synced on Kafka).",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}),
	}
	for _, c := range httpCodes {
		m.codes[c] = m.requests.WithLabelValues(strconv.Itoa(c))
	}
	for _, r := range []string{httpAcked, httpUnacked, httpRefused} {
		m.records[r] = records.WithLabelValues(r)
	}
	if err := register(p.reg, "http ingest", m.requests, records, m.inFlight, m.ackWait); err != nil {
		return nil, err
	}
	p.extra.http = m
	return m, nil
}

// code returns the counter of status c.
func (m *httpMetrics) code(c int) prometheus.Counter {
	if ctr, ok := m.codes[c]; ok {
		return ctr
	}
	return m.codes[500]
}

// tailMetrics are the file tailer's own metrics; lines, events and
// failures are counted with the other sources under source="tail".
type tailMetrics struct {
	files       prometheus.Gauge
	lag         prometheus.Gauge
	rotations   map[string]prometheus.Counter
	stateWrites prometheus.Counter
	stateErrors prometheus.Counter
}

// Tail rotation kinds, the values of the how label.
const (
	rotatedRename   = "rename"
	rotatedTruncate = "truncate"
)

func (p *Pipeline) tailMetrics() (*tailMetrics, error) {
	p.extra.mu.Lock()
	defer p.extra.mu.Unlock()
	if p.extra.tail != nil {
		return p.extra.tail, nil
	}
	rot := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "tocsin", Subsystem: "ingest", Name: "tail_rotations_total",
		Help: "Rotations of followed files seen, by how: rename (a new file took the path) or truncate (copytruncate).",
	}, []string{"how"})
	m := &tailMetrics{
		files: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "tocsin", Subsystem: "ingest", Name: "tail_files",
			Help: "Files being followed, rotated ones still being finished included.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "tocsin", Subsystem: "ingest", Name: "tail_lag_bytes",
			Help: "Bytes of followed files not yet published and saved in the state file, as of the last poll.",
		}),
		rotations: map[string]prometheus.Counter{},
		stateWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "tocsin", Subsystem: "ingest", Name: "tail_state_writes_total",
			Help: "Writes of the tail state file.",
		}),
		stateErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "tocsin", Subsystem: "ingest", Name: "tail_state_errors_total",
			Help: "Failed writes of the tail state file; positions are kept in memory and written again.",
		}),
	}
	for _, h := range []string{rotatedRename, rotatedTruncate} {
		m.rotations[h] = rot.WithLabelValues(h)
	}
	if err := register(p.reg, "tail", m.files, m.lag, rot, m.stateWrites, m.stateErrors); err != nil {
		return nil, err
	}
	p.extra.tail = m
	return m, nil
}
