package stream

import (
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	checkpoints       *prometheus.CounterVec
	checkpointBytes   *prometheus.GaugeVec
	checkpointErrors  *prometheus.CounterVec
	restoreSeconds    prometheus.Histogram
	checkpointSeconds prometheus.Histogram
	repartitioned     *prometheus.CounterVec
	duplicates        *prometheus.CounterVec
	replayed          *prometheus.CounterVec
	badRecords        *prometheus.CounterVec
	partitions        *prometheus.GaugeVec
	reorderHeld       *prometheus.GaugeVec
	reorderForced     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		checkpoints: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_stream_checkpoints_total",
			Help: "Partition checkpoints written to the state topic, by source topic.",
		}, []string{"topic"}),
		checkpointBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tocsin_stream_checkpoint_bytes",
			Help: "Size of the last checkpoint of each assigned partition, compressed, in bytes.",
		}, []string{"topic", "partition"}),
		checkpointErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_stream_checkpoint_errors_total",
			Help: "Checkpoints not written (too large, or not acknowledged) or not read back, by source topic; the previous checkpoint stays.",
		}, []string{"topic"}),
		restoreSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tocsin_stream_restore_seconds",
			Help:    "Time to decode a partition's checkpoint and restore its engines on assignment.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}),
		checkpointSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tocsin_stream_checkpoint_seconds",
			Help:    "Time to snapshot, encode and produce a partition's checkpoint, during which the partition waits.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}),
		repartitioned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_stream_repartitioned_events_total",
			Help: "Event copies produced to the repartition topic, by key set.",
		}, []string{"keyset"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_stream_duplicate_copies_total",
			Help: "Records dropped because their origin offset was already seen (redelivery after a crash): repartition copies by key set, and events made twice from one raw-topic record (key set \"\").",
		}, []string{"keyset"}),
		replayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_stream_replayed_records_total",
			Help: "Records read again after a restore only to rebuild windows (below the committed offset; their alerts were already produced), by topic.",
		}, []string{"topic"}),
		badRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_stream_bad_records_total",
			Help: "Records skipped because they are not a readable event, or are copies for a key set no loaded rule uses, by topic.",
		}, []string{"topic"}),
		partitions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tocsin_stream_partitions",
			Help: "Partitions assigned to this member, by topic.",
		}, []string{"topic"}),
		reorderHeld: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tocsin_stream_reorder_held_copies",
			Help: "Repartition copies held until every events partition has passed their event time, by repartition partition.",
		}, []string{"partition"}),
		reorderForced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tocsin_stream_reorder_forced_total",
			Help: "Held repartition copies fed before every events partition had passed their event time, because more than the limit were held.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.checkpoints, m.checkpointBytes, m.checkpointErrors, m.restoreSeconds, m.checkpointSeconds,
		m.repartitioned, m.duplicates, m.replayed, m.badRecords, m.partitions, m.reorderHeld, m.reorderForced} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("cannot register stream metrics: %w (is a second Runner using the same registry?)", err)
			}
			return nil, fmt.Errorf("cannot register stream metrics: %w", err)
		}
	}
	return m, nil
}

// engineRegisterer registers one partition engine's metrics under its
// topic, partition and key set labels, and remembers them so that they
// can be removed when the partition goes.
type engineRegisterer struct {
	inner prometheus.Registerer // nil: register nothing
	mu    sync.Mutex
	cs    []prometheus.Collector
}

func newEngineRegisterer(reg prometheus.Registerer, topic string, partition int, keySet string) *engineRegisterer {
	if reg == nil {
		return &engineRegisterer{}
	}
	return &engineRegisterer{inner: prometheus.WrapRegistererWith(prometheus.Labels{
		"topic": topic, "partition": fmt.Sprint(partition), "keyset": keySet,
	}, reg)}
}

func (r *engineRegisterer) Register(c prometheus.Collector) error {
	if r.inner == nil {
		return nil
	}
	if err := r.inner.Register(c); err != nil {
		return err
	}
	r.mu.Lock()
	r.cs = append(r.cs, c)
	r.mu.Unlock()
	return nil
}

func (r *engineRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *engineRegisterer) Unregister(c prometheus.Collector) bool {
	if r.inner == nil {
		return false
	}
	return r.inner.Unregister(c)
}

// unregisterAll removes every collector registered through r.
func (r *engineRegisterer) unregisterAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.cs {
		r.inner.Unregister(c)
	}
	r.cs = nil
}
