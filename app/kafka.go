package app

import (
	"context"
	"fmt"
	"sync"

	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus/kafkabus"
	"github.com/tocsin-siem/tocsin/bus/spool"
	"github.com/tocsin-siem/tocsin/config"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
)

// kafkaConfig maps the configuration to the Kafka client's.
func kafkaConfig(cfg config.Config) (kafkabus.Config, error) {
	k := cfg.Kafka
	kc := kafkabus.Config{Brokers: k.Brokers, ClientID: k.ClientID}
	kc.SASL.Mechanism = k.SASL.Mechanism
	kc.SASL.Username = k.SASL.Username
	kc.SASL.Password = k.SASL.Password
	if k.TLS.Enabled {
		t, err := kafkabus.TLSConfig(k.TLS.CAFile, k.TLS.CertFile, k.TLS.KeyFile, k.TLS.ServerName, k.TLS.InsecureSkipVerify)
		if err != nil {
			return kc, fmt.Errorf("kafka.tls: %w", err)
		}
		kc.TLS = t
	}
	if err := kc.Validate(); err != nil {
		return kc, fmt.Errorf("kafka: %w", err)
	}
	return kc, nil
}

// stateMaxMessageBytes is the largest engine checkpoint the state topic
// takes when tocsin creates it.
const stateMaxMessageBytes = 64 << 20

// ensureTopics creates the topics a role uses when kafka.create_topics is
// on, and warns when an existing topic's partition count differs from
// the configured one.
func ensureTopics(ctx context.Context, cfg config.Config, kc kafkabus.Config, log zerolog.Logger, names ...string) error {
	k := cfg.Kafka
	specs := map[string]kafkabus.TopicSpec{
		// The raw topic is the shippers'; ingest creates it when missing
		// so that its consumer does not wait on a topic that never comes.
		// One partition: shippers seldom key their records, and lines
		// spread over several partitions are read in parallel, so one
		// host's lines would reach the rules out of order.
		k.Topics.Raw:         {Name: k.Topics.Raw, Partitions: 1},
		k.Topics.Events:      {Name: k.Topics.Events, Partitions: k.Partitions.Events},
		k.Topics.Alerts:      {Name: k.Topics.Alerts, Partitions: k.Partitions.Alerts},
		k.Topics.Failures:    {Name: k.Topics.Failures, Partitions: k.Partitions.Failures},
		k.Topics.Repartition: {Name: k.Topics.Repartition, Partitions: k.Partitions.Repartition},
		k.Topics.State:       {Name: k.Topics.State, Partitions: k.Partitions.State, Compacted: true, MaxMessageBytes: stateMaxMessageBytes},
	}
	var want []kafkabus.TopicSpec
	for _, n := range names {
		s, ok := specs[n]
		if !ok || n == "" {
			continue
		}
		s.ReplicationFactor = k.ReplicationFactor
		want = append(want, s)
	}
	if !k.CreateTopics {
		for _, s := range want {
			n, err := kafkabus.PartitionCount(ctx, kc, s.Name)
			if err != nil {
				return fmt.Errorf("topic %s: %w (kafka.create_topics is off: create it, or turn the setting on)", s.Name, err)
			}
			warnPartitions(log, s, n, s.Name == k.Topics.Raw)
		}
		return nil
	}
	counts, err := kafkabus.EnsureTopics(ctx, kc, want)
	if err != nil {
		return err
	}
	for _, s := range want {
		warnPartitions(log, s, counts[s.Name], s.Name == k.Topics.Raw)
	}
	return nil
}

func warnPartitions(log zerolog.Logger, s kafkabus.TopicSpec, n int, raw bool) {
	if raw && n > 1 {
		log.Warn().Str("topic", s.Name).Int("partitions", n).
			Msg("the raw topic has several partitions, read in parallel: unless shippers key their records by host (omkafka's key, kcat -K), one host's lines reach the rules out of order and detections can differ from replay")
		return
	}
	if n != s.Partitions && !raw {
		log.Warn().Str("topic", s.Name).Int("partitions", n).Int("configured", s.Partitions).
			Msg("topic exists with another partition count than configured; tocsin uses it as it is (see docs/production.md on changing partition counts)")
	}
}

// eventPublisher encodes events for Kafka and hands them to a buffer (the
// live listeners) or straight to the producer (the raw-topic consumer).
// Publish is called concurrently by the listeners.
type eventPublisher struct {
	keyer *wire.Keyer
	put   func(ctx context.Context, recs []spool.Record) error
	pool  sync.Pool // *encodeScratch
}

type encodeScratch struct {
	buf  []byte
	recs []spool.Record
}

func newEventPublisher(keyer *wire.Keyer, put func(ctx context.Context, recs []spool.Record) error) *eventPublisher {
	return &eventPublisher{keyer: keyer, put: put}
}

// Publish implements bus.Publisher[*schemas.Event].
func (p *eventPublisher) Publish(ctx context.Context, batch []*schemas.Event) error {
	s, _ := p.pool.Get().(*encodeScratch)
	if s == nil {
		s = &encodeScratch{}
	}
	defer p.pool.Put(s)
	s.buf = s.buf[:0]
	s.recs = s.recs[:0]
	// Keys and values are appended to one buffer first and sliced after,
	// since appending may move it.
	type span struct{ k0, k1, v1 int }
	spans := make([]span, 0, len(batch))
	for _, ev := range batch {
		k0 := len(s.buf)
		s.buf, _ = p.keyer.Key(s.buf, ev)
		k1 := len(s.buf)
		s.buf = wire.AppendEvent(s.buf, ev)
		spans = append(spans, span{k0, k1, len(s.buf)})
	}
	for _, sp := range spans {
		s.recs = append(s.recs, spool.Record{Key: s.buf[sp.k0:sp.k1:sp.k1], Value: s.buf[sp.k1:sp.v1:sp.v1]})
	}
	return p.put(ctx, s.recs)
}

// failurePublisher encodes parse failures for Kafka, keyed by source.
type failurePublisher struct {
	put func(ctx context.Context, recs []spool.Record) error
}

// Publish implements bus.Publisher[schemas.ParseFailure].
func (p *failurePublisher) Publish(ctx context.Context, batch []schemas.ParseFailure) error {
	recs := make([]spool.Record, 0, len(batch))
	for i := range batch {
		v, err := wire.AppendFailure(nil, &batch[i])
		if err != nil {
			return fmt.Errorf("cannot encode a parse failure: %w", err)
		}
		recs = append(recs, spool.Record{Key: wire.AppendFailureKey(nil, &batch[i]), Value: v})
	}
	return p.put(ctx, recs)
}

// producerSink delivers buffered records to topic, marking each with the
// record type. One goroutine calls it (the buffer's deliverer).
func producerSink(prod *kafkabus.Producer, topic, recordType string) func(ctx context.Context, recs []spool.Record) error {
	hdr := []kafkabus.Header{{Key: wire.HeaderType, Value: []byte(recordType)}}
	var msgs []kafkabus.Message
	return func(ctx context.Context, recs []spool.Record) error {
		msgs = msgs[:0]
		for _, r := range recs {
			msgs = append(msgs, kafkabus.Message{Topic: topic, Key: r.Key, Value: r.Value, Headers: hdr})
		}
		err := prod.Produce(ctx, msgs)
		clear(msgs)
		return err
	}
}
