package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus/kafkabus"
	"github.com/tocsin-siem/tocsin/engine"
	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas/wire"
)

// Producer sends records to Kafka; *kafkabus.Producer satisfies it.
// Produce returns once every message was acknowledged, or with an error
// when that cannot happen (ctx ended, a permanent broker refusal). Messages
// to one partition must reach it in the order given, across calls too.
type Producer interface {
	Produce(ctx context.Context, msgs []kafkabus.Message) error
	// Partitions returns the partition count of a topic.
	Partitions(ctx context.Context, topic string) (int, error)
}

// Options configure a Runner.
type Options struct {
	// Kafka reaches the brokers. Required.
	Kafka kafkabus.Config
	// Group is the consumer group ID; it also prefixes the checkpoint
	// keys. Required.
	Group string
	// EventsTopic holds the events ingest produced; RepartitionTopic the
	// re-keyed copies; StateTopic (compacted) the checkpoints; AlertsTopic
	// receives the alerts. All required, and distinct.
	EventsTopic, RepartitionTopic, StateTopic, AlertsTopic string
	// KeyFields are the fields ingest keys events by, in order; default
	// wire.DefaultKeyFields. They must match ingest's.
	KeyFields []string
	// Rules is the rule set to run. Required.
	Rules *rules.Set
	// Engine is the template of every partition's engine: EvidenceLimit,
	// Lateness, FutureTolerance and Now are used as given; Rules, Alerts,
	// Shards (1: each partition is one goroutine), Logger and Registerer
	// are set by the Runner. MaxGroupsPerRule (default 100000) is shared
	// out over the topic's partitions, at least MinGroupsPerPartition each,
	// so that a member holding every partition keeps about as many groups
	// per rule as one engine would.
	Engine engine.Options
	// Consumer is the template of the consumer group: MaxBatch, MaxWait,
	// the session timings and CommitInterval are used as given; GroupID,
	// Topics, Handler, Logger and Registerer are set by the Runner.
	Consumer kafkabus.GroupOptions
	// CheckpointInterval is the longest time between two checkpoints of a
	// busy partition (default 10s); CheckpointEvents the most records
	// between two (default 200000). Both are checked after each batch.
	// A partition whose state is so large that checkpoints take long
	// writes them less often: at most 5% of its time goes to them.
	CheckpointInterval time.Duration
	CheckpointEvents   int
	// CheckpointMaxBytes is the largest checkpoint record written; set it
	// to the state topic's max.message.bytes less 1 KiB, and let the
	// Producer send records that large. Default 1000000, under Kafka's
	// default limit of 1 MiB.
	CheckpointMaxBytes int
	// ReorderWait is how long a repartition partition waits for an events
	// partition that stopped reporting its progress (its member died, or
	// a rebalance is under way) before feeding the copies of the others
	// without it; copies are delayed by up to this much meanwhile.
	// Default 15s; negative feeds copies as they arrive, in event time
	// order within each batch only.
	ReorderWait time.Duration
	// ReorderMaxHeld bounds the copies a repartition partition holds;
	// beyond it the oldest are fed at once. Default 100000.
	ReorderMaxHeld int
	// Producer sends alerts, repartition copies and checkpoints (each
	// message names its topic). Required.
	Producer Producer
	// Logger receives the Runner's logs; the zero value logs nothing.
	Logger zerolog.Logger
	// Registerer takes the Runner's metrics and every partition engine's
	// (labelled by topic, partition and key set); nil exports none.
	Registerer prometheus.Registerer
}

// Defaults of Options.
const (
	DefaultCheckpointInterval = 10 * time.Second
	DefaultCheckpointEvents   = 200_000
	DefaultCheckpointMaxBytes = 1_000_000
	DefaultReorderWait        = 15 * time.Second
	DefaultMaxGroupsPerRule   = 100_000
	MinGroupsPerPartition     = 1000
	DefaultReorderMaxHeld     = 100_000
)

// withDefaults checks opts and fills in the defaults; the error lists
// every problem.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if err := o.Kafka.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.Group == "" {
		errs = append(errs, errors.New("the consumer group (Group) is empty"))
	}
	topics := map[string]string{}
	for _, t := range []struct{ name, what string }{
		{o.EventsTopic, "events topic"}, {o.RepartitionTopic, "repartition topic"},
		{o.StateTopic, "state topic"}, {o.AlertsTopic, "alerts topic"},
	} {
		if t.name == "" {
			errs = append(errs, fmt.Errorf("the %s name is empty", t.what))
			continue
		}
		if other, dup := topics[t.name]; dup {
			errs = append(errs, fmt.Errorf("the %s and the %s are both %q; give each its own topic", other, t.what, t.name))
		}
		topics[t.name] = t.what
	}
	if o.KeyFields == nil {
		o.KeyFields = wire.DefaultKeyFields
	}
	if _, err := wire.NewKeyer(o.KeyFields); err != nil {
		errs = append(errs, fmt.Errorf("key fields: %w", err))
	}
	if o.Rules == nil {
		errs = append(errs, errors.New("no rule set (Rules)"))
	}
	if o.Producer == nil {
		errs = append(errs, errors.New("no producer (Producer)"))
	}
	if o.ReorderMaxHeld < 0 {
		errs = append(errs, fmt.Errorf("reorder max held %d must not be negative", o.ReorderMaxHeld))
	}
	if o.CheckpointInterval < 0 || o.CheckpointEvents < 0 || o.CheckpointMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("checkpoint interval %s, events %d and max bytes %d must not be negative",
			o.CheckpointInterval, o.CheckpointEvents, o.CheckpointMaxBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("cannot start the stream engine: %w", err)
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = DefaultCheckpointInterval
	}
	if o.CheckpointEvents == 0 {
		o.CheckpointEvents = DefaultCheckpointEvents
	}
	if o.CheckpointMaxBytes == 0 {
		o.CheckpointMaxBytes = DefaultCheckpointMaxBytes
	}
	if o.Engine.MaxGroupsPerRule <= 0 {
		o.Engine.MaxGroupsPerRule = DefaultMaxGroupsPerRule
	}
	if o.ReorderWait == 0 {
		o.ReorderWait = DefaultReorderWait
	}
	if o.ReorderMaxHeld == 0 {
		o.ReorderMaxHeld = DefaultReorderMaxHeld
	}
	return o, nil
}
