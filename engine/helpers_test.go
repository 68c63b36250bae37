package engine

import (
	"context"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
)

// collector is a Publisher that keeps every alert.
type collector struct {
	mu     sync.Mutex
	alerts []schemas.Alert
}

func (c *collector) Publish(_ context.Context, batch []schemas.Alert) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.alerts = append(c.alerts, batch...)
	return nil
}

func (c *collector) all() []schemas.Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]schemas.Alert(nil), c.alerts...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].RuleID != out[j].RuleID {
			return out[i].RuleID < out[j].RuleID
		}
		if out[i].GroupKey != out[j].GroupKey {
			return out[i].GroupKey < out[j].GroupKey
		}
		return out[i].FirstSeen.Before(out[j].FirstSeen)
	})
	return out
}

func (c *collector) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.alerts = nil
}

// loadRules compiles rule files given as name -> YAML text, plus lists.
func loadRules(t testing.TB, files map[string]string) *rules.Set {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	set, err := rules.Load(rules.Source{FS: fsys, Dir: ".", Name: "test"})
	require.NoError(t, err)
	return set
}

// oneRule wraps a rule body (indented YAML under "- ") in a file.
func oneRule(body string) map[string]string {
	return map[string]string{"r.yaml": "rules:\n  - " + body}
}

const bruteForce = `id: bf
    title: brute force
    severity: high
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [source.ip]
    threshold: 10
    window: 1m
    reason: "{count} failed logins from {source.ip} within {window} (threshold {threshold})"
`

var t0 = time.Date(2024, 12, 10, 6, 55, 0, 0, time.UTC)

var nextID atomic.Uint64

// failure is a failed ssh login from ip at t0+off.
func failure(ip string, off time.Duration) *schemas.Event {
	return login(ip, "root", schemas.OutcomeFailure, off, 1)
}

func login(ip, user, outcome string, off time.Duration, count int) *schemas.Event {
	ev := &schemas.Event{ID: nextID.Add(1), Timestamp: t0.Add(off)}
	ev.Event.Action = schemas.ActionSSHLogin
	ev.Event.Outcome = outcome
	ev.Event.Count = count
	ev.Source.IP = ip
	ev.User.Name = user
	ev.Host.Name = "bastion"
	return ev
}

type testEngine struct {
	*Engine
	out *collector
	reg *prometheus.Registry
}

func newTestEngine(t testing.TB, set *rules.Set, mod func(*Options)) *testEngine {
	t.Helper()
	out := &collector{}
	reg := prometheus.NewRegistry()
	opts := Options{Rules: set, Alerts: out, Shards: 1, Registerer: reg,
		Now: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }}
	if mod != nil {
		mod(&opts)
	}
	e, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return &testEngine{Engine: e, out: out, reg: reg}
}

// feed hands events in one batch each, then flushes.
func (te *testEngine) feed(t testing.TB, evs ...*schemas.Event) {
	t.Helper()
	for _, ev := range evs {
		require.NoError(t, te.Handle(context.Background(), []*schemas.Event{ev}))
	}
	require.NoError(t, te.Flush(context.Background()))
}

// burst returns n failures from ip, step apart, starting at off.
func burst(ip string, n int, off, step time.Duration) []*schemas.Event {
	out := make([]*schemas.Event, n)
	for i := range out {
		out[i] = failure(ip, off+time.Duration(i)*step)
	}
	return out
}

// metricValue reads one series from the registry; -1 when absent.
func metricValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			if len(m.GetLabel()) != len(labels) {
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
	return -1
}

func ipN(i int) string {
	return netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}).String()
}
