package ingest

import (
	"github.com/tocsin-siem/tocsin/internal/shareddata"

	"bytes"
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/schemas"
)

// sink collects what a pipeline publishes.
type sink struct {
	mu       sync.Mutex
	events   []*schemas.Event
	failures []schemas.ParseFailure
	batches  []int
}

func (s *sink) handleEvents(_ context.Context, batch []*schemas.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, batch...)
	s.batches = append(s.batches, len(batch))
	return nil
}

func (s *sink) handleFailures(_ context.Context, batch []schemas.ParseFailure) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, batch...)
	return nil
}

// snapshot returns copies of what was collected so far.
func (s *sink) snapshot() ([]*schemas.Event, []schemas.ParseFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*schemas.Event(nil), s.events...), append([]schemas.ParseFailure(nil), s.failures...)
}

// waitFor waits until n events and failures in all were published.
func (s *sink) waitFor(t *testing.T, n int) ([]*schemas.Event, []schemas.ParseFailure) {
	t.Helper()
	require.Eventually(t, func() bool {
		ev, f := s.snapshot()
		return len(ev)+len(f) >= n
	}, 10*time.Second, 5*time.Millisecond)
	return s.snapshot()
}

// messages returns the events' messages in order.
func messages(evs []*schemas.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Message
	}
	return out
}

type testPipeline struct {
	*Pipeline
	sink *sink
	reg  *prometheus.Registry
	logs *syncBuffer
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestPipeline builds a pipeline publishing synchronously into a sink;
// mod may adjust the options first.
func newTestPipeline(t *testing.T, mod func(*PipelineOptions)) *testPipeline {
	t.Helper()
	s := &sink{}
	reg := prometheus.NewRegistry()
	logs := &syncBuffer{}
	opts := PipelineOptions{
		Events:     bus.Direct[*schemas.Event]{H: bus.HandlerFunc[*schemas.Event](s.handleEvents)},
		Failures:   bus.Direct[schemas.ParseFailure]{H: bus.HandlerFunc[schemas.ParseFailure](s.handleFailures)},
		Logger:     zerolog.New(logs),
		Registerer: reg,
	}
	if mod != nil {
		mod(&opts)
	}
	p, err := NewPipeline(opts)
	require.NoError(t, err)
	return &testPipeline{Pipeline: p, sink: s, reg: reg, logs: logs}
}

// metric returns the value of the counter or gauge name with labels, or 0
// when it has no such series.
func (tp *testPipeline) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	families, err := tp.reg.Gather()
	require.NoError(t, err)
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, labels []string) bool {
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// sharedData returns the path of rel in the shared data set beside the
// repository, or skips the test.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	return shareddata.Path(t, rel)
}

// sshLine is a valid RFC 3164 sshd line with the given host, pid and user.
func sshLine(host string, pid int, user string) string {
	return "<38>Jan  5 10:00:00 " + host + " sshd[" + strconv.Itoa(pid) + "]: Failed password for " + user + " from 10.0.0.5 port 2222 ssh2"
}
