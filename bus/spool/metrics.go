package spool

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one buffer's children of the spool collectors, resolved once.
type metrics struct {
	memRecords prometheus.Gauge
	memBytes   prometheus.Gauge
	diskRecs   prometheus.Gauge
	diskBytes  prometheus.Gauge
	full       prometheus.Gauge
	sinkErrors prometheus.Counter
	corrupt    prometheus.Counter
	delivered  prometheus.Counter

	drop func()
}

func newMetrics(reg prometheus.Registerer, name string) (*metrics, error) {
	gauge := func(n, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "tocsin", Subsystem: "spool", Name: n, Help: help,
		}, []string{"buffer"})
	}
	counter := func(n, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "tocsin", Subsystem: "spool", Name: n, Help: help,
		}, []string{"buffer"})
	}
	gv := []*prometheus.GaugeVec{
		gauge("memory_records", "Records held in the memory tier, the batch being delivered included."),
		gauge("memory_bytes", "Key and value bytes held in the memory tier."),
		gauge("disk_records", "Records in the disk tier not yet delivered."),
		gauge("disk_bytes", "Bytes of the disk tier's segment files."),
		gauge("full", "1 while the buffer cannot take a typical record or a publisher waits for room, else 0."),
	}
	cv := []*prometheus.CounterVec{
		counter("sink_errors_total", "Failed deliveries to the sink; each is retried with the same batch."),
		counter("corrupt_records_total",
			"Damaged ranges found in segment files (torn tails, bad checksums, unreadable files); "+
				"each lost at least one record."),
		counter("delivered_records_total", "Records the sink accepted."),
	}
	if reg != nil {
		for i, c := range gv {
			if err := register(reg, c, func(e prometheus.Collector) bool {
				v, ok := e.(*prometheus.GaugeVec)
				gv[i] = v
				return ok
			}); err != nil {
				return nil, err
			}
		}
		for i, c := range cv {
			if err := register(reg, c, func(e prometheus.Collector) bool {
				v, ok := e.(*prometheus.CounterVec)
				cv[i] = v
				return ok
			}); err != nil {
				return nil, err
			}
		}
	}
	m := &metrics{
		memRecords: gv[0].WithLabelValues(name),
		memBytes:   gv[1].WithLabelValues(name),
		diskRecs:   gv[2].WithLabelValues(name),
		diskBytes:  gv[3].WithLabelValues(name),
		full:       gv[4].WithLabelValues(name),
		sinkErrors: cv[0].WithLabelValues(name),
		corrupt:    cv[1].WithLabelValues(name),
		delivered:  cv[2].WithLabelValues(name),
	}
	// Gauges go when the buffer closes, so a closed buffer does not show a
	// stale backlog; counters stay, as counters should.
	m.drop = func() {
		for _, v := range gv {
			v.DeleteLabelValues(name)
		}
	}
	return m, nil
}

// register registers c, or adopts the collector already registered under
// its name (another buffer's) through use.
func register(reg prometheus.Registerer, c prometheus.Collector, use func(prometheus.Collector) bool) error {
	err := reg.Register(c)
	if err == nil {
		return nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) && use(are.ExistingCollector) {
		return nil
	}
	return fmt.Errorf("cannot register spool metrics: %w", err)
}
