package chstore

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Tables written, the table label of the write metrics.
const (
	tEvents      = "events"
	tIncidents   = "incidents"
	tAlerts      = "alerts"
	tAlertEvents = "alert_events"
	tHistory     = "incident_history"
	tComments    = "comments"
	tBatches     = "batches"
	tAborted     = "aborted_batches"
	tFailures    = "parse_failures"
)

var writeTables = []string{tEvents, tIncidents, tAlerts, tAlertEvents, tHistory, tComments, tBatches, tAborted, tFailures}

// Queries, the query label of tocsin_clickhouse_query_duration_seconds.
const (
	qLoadActive    = "load_active"
	qKnownAlerts   = "known_alerts"
	qApplyCheck    = "apply_check"
	qIncident      = "incident"
	qIncidents     = "incidents"
	qAlerts        = "alerts"
	qEvents        = "events"
	qHistory       = "history"
	qParseFailures = "parse_failures"
	qCountEvents   = "count_events"
	qRetention     = "retention"
	qPing          = "ping"
)

var queryNames = []string{qLoadActive, qKnownAlerts, qApplyCheck, qIncident, qIncidents, qAlerts, qEvents,
	qHistory, qParseFailures, qCountEvents, qRetention, qPing}

type metrics struct {
	all       []prometheus.Collector
	writeDur  map[string]prometheus.Observer
	rows      map[string]prometheus.Counter
	writeErrs map[string]prometheus.Counter
	queryDur  map[string]prometheus.Observer
}

// newMetrics builds the store's metrics with every label child present,
// so each series reads 0 before its first write.
func newMetrics() *metrics {
	writeDur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tocsin_clickhouse_write_duration_seconds",
		Help:    "Time to write one block of rows to a ClickHouse table, by table.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10),
	}, []string{"table"})
	rows := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tocsin_clickhouse_rows_written_total",
		Help: "Rows written to ClickHouse, by table.",
	}, []string{"table"})
	writeErrs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tocsin_clickhouse_write_errors_total",
		Help: "Writes to ClickHouse that failed, by table.",
	}, []string{"table"})
	queryDur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tocsin_clickhouse_query_duration_seconds",
		Help:    "Time of ClickHouse reads, by the store operation that made them.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 10),
	}, []string{"query"})
	m := &metrics{
		all:       []prometheus.Collector{writeDur, rows, writeErrs, queryDur},
		writeDur:  map[string]prometheus.Observer{},
		rows:      map[string]prometheus.Counter{},
		writeErrs: map[string]prometheus.Counter{},
		queryDur:  map[string]prometheus.Observer{},
	}
	for _, t := range writeTables {
		m.writeDur[t] = writeDur.WithLabelValues(t)
		m.rows[t] = rows.WithLabelValues(t)
		m.writeErrs[t] = writeErrs.WithLabelValues(t)
	}
	for _, q := range queryNames {
		m.queryDur[q] = queryDur.WithLabelValues(q)
	}
	return m
}

func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for i, c := range m.all {
		if err := reg.Register(c); err != nil {
			for _, done := range m.all[:i] {
				reg.Unregister(done)
			}
			return err
		}
	}
	return nil
}

// wrote records one block write.
func (m *metrics) wrote(table string, rows int, start time.Time, err error) {
	m.writeDur[table].Observe(time.Since(start).Seconds())
	if err != nil {
		m.writeErrs[table].Inc()
		return
	}
	m.rows[table].Add(float64(rows))
}

// queried records one store read, which may take several queries.
func (m *metrics) queried(query string, start time.Time) {
	m.queryDur[query].Observe(time.Since(start).Seconds())
}
