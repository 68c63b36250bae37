package ticketing

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Alert outcomes, the result label of tocsin_ticketing_alerts_total.
const (
	alertOpened    = "opened"
	alertAttached  = "attached"
	alertDuplicate = "duplicate"
	alertInvalid   = "invalid"
)

// Webhook delivery results, the result label of
// tocsin_ticketing_webhook_deliveries_total.
const (
	deliveryDelivered = "delivered"
	deliveryFailed    = "failed"
	deliveryDropped   = "dropped"
)

const numSeverities = int(schemas.SeverityCritical) + 1

type metrics struct {
	all         []prometheus.Collector
	alerts      map[string]prometheus.Counter
	opened      [numSeverities]prometheus.Counter
	open        [numSeverities]prometheus.Gauge
	storeErrors prometheus.Counter
	deliveries  map[string]prometheus.Counter
	failures    prometheus.Counter
}

// newMetrics builds the stage's metrics. Every label child exists from
// the start, so each series reads 0 before its first event.
func newMetrics() *metrics {
	alerts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tocsin_ticketing_alerts_total",
		Help: "Alerts received by the ticketing stage, by what became of them.",
	}, []string{"result"})
	opened := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tocsin_ticketing_incidents_opened_total",
		Help: "Incidents opened, by severity at opening.",
	}, []string{"severity"})
	open := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tocsin_ticketing_incidents_open",
		Help: "Incidents currently open or acknowledged, by severity.",
	}, []string{"severity"})
	storeErrors := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tocsin_ticketing_store_errors_total",
		Help: "Store operations that failed.",
	})
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tocsin_ticketing_webhook_deliveries_total",
		Help: "Webhook notifications by outcome: delivered, failed after the last attempt, or dropped because the queue was full.",
	}, []string{"result"})
	failures := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tocsin_ticketing_parse_failures_total",
		Help: "Parse failures handed to the ticketing stage for storage.",
	})

	m := &metrics{
		all:         []prometheus.Collector{alerts, opened, open, storeErrors, deliveries, failures},
		alerts:      map[string]prometheus.Counter{},
		deliveries:  map[string]prometheus.Counter{},
		storeErrors: storeErrors,
		failures:    failures,
	}
	for _, r := range []string{alertOpened, alertAttached, alertDuplicate, alertInvalid} {
		m.alerts[r] = alerts.WithLabelValues(r)
	}
	for _, r := range []string{deliveryDelivered, deliveryFailed, deliveryDropped} {
		m.deliveries[r] = deliveries.WithLabelValues(r)
	}
	for s := range numSeverities {
		name := schemas.Severity(s).String()
		m.opened[s] = opened.WithLabelValues(name)
		m.open[s] = open.WithLabelValues(name)
	}
	return m
}

// register registers the metrics with reg, when it is not nil.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range m.all {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *metrics) openGauge(s schemas.Severity) prometheus.Gauge {
	if int(s) >= numSeverities {
		s = schemas.SeverityCritical
	}
	return m.open[s]
}

func (m *metrics) openedCounter(s schemas.Severity) prometheus.Counter {
	if int(s) >= numSeverities {
		s = schemas.SeverityCritical
	}
	return m.opened[s]
}
