package kafkabus

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Several producers and consumer groups of one process share a registry
// (tocsin run has all roles in one process), so a collector that is
// already registered with the same description is reused rather than
// refused.

func registerCounterVec(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	got, err := register(reg, c)
	if err != nil {
		return nil, err
	}
	if v, ok := got.(*prometheus.CounterVec); ok {
		return v, nil
	}
	return nil, errors.New("a collector of another type uses the same metric name")
}

func registerGaugeVec(reg prometheus.Registerer, c *prometheus.GaugeVec) (*prometheus.GaugeVec, error) {
	got, err := register(reg, c)
	if err != nil {
		return nil, err
	}
	if v, ok := got.(*prometheus.GaugeVec); ok {
		return v, nil
	}
	return nil, errors.New("a collector of another type uses the same metric name")
}

func registerHistogram(reg prometheus.Registerer, c prometheus.Histogram) (prometheus.Histogram, error) {
	got, err := register(reg, c)
	if err != nil {
		return nil, err
	}
	if v, ok := got.(prometheus.Histogram); ok {
		return v, nil
	}
	return nil, errors.New("a collector of another type uses the same metric name")
}

func register(reg prometheus.Registerer, c prometheus.Collector) (prometheus.Collector, error) {
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		return are.ExistingCollector, nil
	}
	return nil, fmt.Errorf("cannot register Kafka metrics: %w", err)
}

type producerMetrics struct {
	produced *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration prometheus.Histogram
}

func newProducerMetrics(reg prometheus.Registerer) (*producerMetrics, error) {
	var m producerMetrics
	var err error
	if m.produced, err = registerCounterVec(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tocsin_kafka_produced_messages_total",
		Help: "Messages the brokers acknowledged (all in-sync replicas), by topic.",
	}, []string{"topic"})); err != nil {
		return nil, err
	}
	if m.errors, err = registerCounterVec(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tocsin_kafka_produce_errors_total",
		Help: "Produce requests that failed, by topic; each retry of a request counts.",
	}, []string{"topic"})); err != nil {
		return nil, err
	}
	if m.duration, err = registerHistogram(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "tocsin_kafka_produce_duration_seconds",
		Help:    "Time a Produce call took from the call until every message was acknowledged, retries included.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	})); err != nil {
		return nil, err
	}
	return &m, nil
}

type groupMetrics struct {
	consumed   *prometheus.CounterVec
	lag        *prometheus.GaugeVec
	commits    *prometheus.CounterVec
	rebalances *prometheus.CounterVec
}

func newGroupMetrics(reg prometheus.Registerer) (*groupMetrics, error) {
	var m groupMetrics
	var err error
	if m.consumed, err = registerCounterVec(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tocsin_kafka_consumed_messages_total",
		Help: "Messages handed to the consumer, by group and topic; redelivered messages count again.",
	}, []string{"group", "topic"})); err != nil {
		return nil, err
	}
	if m.lag, err = registerGaugeVec(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tocsin_kafka_consumer_lag",
		Help: "Messages between the last one fetched and the partition's high watermark, by group, topic and partition, for partitions assigned to this member.",
	}, []string{"group", "topic", "partition"})); err != nil {
		return nil, err
	}
	if m.commits, err = registerCounterVec(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tocsin_kafka_commits_total",
		Help: "Offset commits the group coordinator accepted, by group.",
	}, []string{"group"})); err != nil {
		return nil, err
	}
	if m.rebalances, err = registerCounterVec(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tocsin_kafka_rebalances_total",
		Help: "Group generations this member joined (each rebalance starts one), by group.",
	}, []string{"group"})); err != nil {
		return nil, err
	}
	return &m, nil
}
