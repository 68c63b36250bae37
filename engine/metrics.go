package engine

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's Prometheus series. They exist even without a
// Registerer (unregistered), so the hot path never checks for nil.
type metrics struct {
	events     prometheus.Counter
	alerts     *prometheus.CounterVec
	groups     *groupGauges
	dropped    prometheus.Counter
	ruleErrors *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tocsin_engine_events_total",
			Help: "Events handed to the correlation engine.",
		}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_engine_alerts_total",
			Help: "Alerts raised, by rule.",
		}, []string{"rule"}),
		groups: &groupGauges{
			desc: prometheus.NewDesc("tocsin_engine_groups",
				"Open correlation groups (rule windows with state), by rule.", []string{"rule"}, nil),
			counts: map[string]*atomic.Int64{},
		},
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tocsin_engine_groups_dropped_total",
			Help: "Groups evicted because a rule reached its group limit (Options.MaxGroupsPerRule).",
		}),
		ruleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_engine_rule_errors_total",
			Help: "Condition evaluations that failed at run time, by rule; the event counts as not matching.",
		}, []string{"rule"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.events, m.alerts, m.groups, m.dropped, m.ruleErrors} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("cannot register engine metrics: %w (is a second engine using the same registry?)", err)
			}
			return nil, fmt.Errorf("cannot register engine metrics: %w", err)
		}
	}
	return m, nil
}

// forget drops a removed rule's series.
func (m *metrics) forget(rule string) {
	m.alerts.DeleteLabelValues(rule)
	m.groups.forget(rule)
	m.ruleErrors.DeleteLabelValues(rule)
}

// groupGauges is tocsin_engine_groups: shards count groups in plain
// atomics (group churn is on the hot path), read at scrape time.
type groupGauges struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	counts map[string]*atomic.Int64
}

// counter returns the rule's count, creating it at zero.
func (g *groupGauges) counter(rule string) *atomic.Int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.counts[rule]
	if c == nil {
		c = new(atomic.Int64)
		g.counts[rule] = c
	}
	return c
}

func (g *groupGauges) forget(rule string) {
	g.mu.Lock()
	delete(g.counts, rule)
	g.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (g *groupGauges) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector.
func (g *groupGauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for rule, c := range g.counts {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(c.Load()), rule)
	}
}
