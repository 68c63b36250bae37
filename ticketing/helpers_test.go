package ticketing_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
	"github.com/tocsin-siem/tocsin/ticketing/sqlite"
)

// t0 is the event time the scenarios start from: an old date, as in a
// replay, far from the wall clock.
var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// clock is a settable wall clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t testing.TB, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Dir: dir})
	require.NoError(t, err)
	return st
}

type env struct {
	t     testing.TB
	dir   string
	store *sqlite.Store
	m     *ticketing.Manager
	reg   *prometheus.Registry
	clock *clock
}

// newEnv opens a store in a fresh directory and a Manager on it, with a
// wall clock set a year after t0.
func newEnv(t testing.TB, mod func(*ticketing.Options)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: &clock{t: t0.Add(365 * 24 * time.Hour)}}
	e.store = openStore(t, e.dir)
	e.start(mod)
	t.Cleanup(func() {
		require.NoError(t, e.m.Close(context.Background()))
		require.NoError(t, e.store.Close())
	})
	return e
}

func (e *env) start(mod func(*ticketing.Options)) {
	e.reg = prometheus.NewRegistry()
	opts := ticketing.Options{Store: e.store, Now: e.clock.Now, Registerer: e.reg}
	if mod != nil {
		mod(&opts)
	}
	m, err := ticketing.New(opts)
	require.NoError(e.t, err)
	e.m = m
}

// restart closes the Manager and the store and opens both again on the
// same directory.
func (e *env) restart() {
	require.NoError(e.t, e.m.Close(context.Background()))
	require.NoError(e.t, e.store.Close())
	e.store = openStore(e.t, e.dir)
	e.start(nil)
}

func (e *env) handle(alerts ...schemas.Alert) {
	e.t.Helper()
	require.NoError(e.t, e.m.Handle(context.Background(), alerts))
}

func (e *env) incident(id string) ticketing.IncidentDetail {
	e.t.Helper()
	d, err := e.m.Incident(context.Background(), id, ticketing.Page{Limit: 100}, ticketing.Page{Limit: 100})
	require.NoError(e.t, err)
	return d
}

func (e *env) list(q ticketing.IncidentQuery) ([]schemas.Incident, int) {
	e.t.Helper()
	l, n, err := e.m.Incidents(context.Background(), q)
	require.NoError(e.t, err)
	return l, n
}

// metric reads one series from the env's registry; 0 when absent.
func (e *env) metric(name string, labels ...string) float64 {
	e.t.Helper()
	return gathered(e.t, e.reg, name, labels...)
}

func gathered(t testing.TB, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == kv[i] && l.GetValue() == kv[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

var alertSeq atomic.Int64

// mkAlert builds an alert of rule with group key ip, seen at first, with
// two events behind it.
func mkAlert(rule, ip string, sev schemas.Severity, first time.Time) schemas.Alert {
	n := alertSeq.Add(1)
	ev := func(i int) schemas.Event {
		var e schemas.Event
		e.ID = uint64(n)<<8 | uint64(i) | 1<<63
		e.Timestamp = first.Add(time.Duration(i) * time.Second)
		e.Source.IP = ip
		e.User.Name = "root"
		e.Host.Name = "web1"
		e.Event.Action = schemas.ActionSSHLogin
		e.Event.Outcome = schemas.OutcomeFailure
		e.Event.Count = 1
		e.Event.Original = fmt.Sprintf("Mar  1 10:00:0%d web1 sshd[42]: Failed password for root from %s port 22 ssh2", i, ip)
		e.Message = "Failed password for root"
		return e
	}
	return schemas.Alert{
		ID:        fmt.Sprintf("alert-%d", n),
		RuleID:    rule,
		RuleTitle: "SSH brute force",
		RuleKind:  "threshold",
		Severity:  sev,
		GroupKey:  ip,
		Entities: []schemas.Entity{
			{Type: "ip", Field: "source.ip", Value: ip},
			{Type: "host", Field: "host.name", Value: "web1"},
		},
		Reason:      "2 failed logins",
		FirstSeen:   first,
		LastSeen:    first.Add(time.Second),
		Count:       2,
		Events:      []schemas.Event{ev(0), ev(1)},
		EventsTotal: 2,
		CreatedAt:   first.Add(2 * time.Second),
	}
}

// flakyStore fails Apply while fail is set.
type flakyStore struct {
	ticketing.Store
	fail atomic.Bool
}

func (s *flakyStore) Apply(ctx context.Context, b *ticketing.Batch) error {
	if s.fail.Load() {
		return errors.New("disk full")
	}
	return s.Store.Apply(ctx, b)
}

func openStoreMax(dir string, maxFailures int) (*sqlite.Store, error) {
	return sqlite.Open(context.Background(), sqlite.Options{Dir: dir, MaxParseFailures: maxFailures})
}
