package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// TopicSpec describes a topic tocsin wants.
type TopicSpec struct {
	Name string
	// Partitions for a new topic; 0 takes the broker's num.partitions.
	Partitions int
	// ReplicationFactor for a new topic; 0 takes the broker's
	// default.replication.factor.
	ReplicationFactor int
	// Compacted topics keep the newest record per key
	// (cleanup.policy=compact), for checkpoints.
	Compacted bool
	// MaxMessageBytes sets max.message.bytes when not 0.
	MaxMessageBytes int
	// RetentionMs sets retention.ms when not 0 (-1 keeps records forever).
	RetentionMs int64
}

// ensureTimeout bounds EnsureTopics when ctx has no earlier deadline.
const ensureTimeout = 30 * time.Second

// topicSettleTimeout bounds the wait for topics just created to become
// visible with partition leaders.
const topicSettleTimeout = 15 * time.Second

// EnsureTopics creates the topics of specs that do not exist and returns
// the partition count of every topic in specs. A topic that exists keeps
// its partition count and settings even when they differ from its spec;
// the caller compares and warns. When a topic cannot be created, the
// error names it, gives the broker's reason, and the command to create it
// by hand.
func EnsureTopics(ctx context.Context, cfg Config, specs []TopicSpec) (map[string]int, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var errs []error
	for _, s := range specs {
		if err := s.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return map[string]int{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, ensureTimeout)
	defer cancel()
	tr := cfg.transport()
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: cfg.addr(), Transport: tr}

	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	counts, missing, topicErrs, err := describeTopics(ctx, client, names)
	if err != nil {
		for _, s := range specs {
			errs = append(errs, s.refused(cfg, fmt.Errorf("cannot reach the Kafka cluster to check the topic: %w; check that the brokers run and that the broker addresses are right", err)))
		}
		return nil, errors.Join(errs...)
	}
	if len(topicErrs) > 0 {
		return nil, errors.Join(topicErrs...)
	}
	if len(missing) == 0 {
		return counts, nil
	}

	var create []kafka.TopicConfig
	bySpec := map[string]TopicSpec{}
	for _, s := range specs {
		if _, ok := missing[s.Name]; ok {
			create = append(create, s.topicConfig())
			bySpec[s.Name] = s
		}
	}
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: create})
	if err != nil {
		for _, t := range create {
			errs = append(errs, bySpec[t.Topic].refused(cfg, err))
		}
		return nil, errors.Join(errs...)
	}
	var recheck []string
	for _, t := range create {
		err := res.Errors[t.Topic]
		switch {
		case err == nil, errors.Is(err, kafka.TopicAlreadyExists):
			// Created, or created by someone else meanwhile.
			recheck = append(recheck, t.Topic)
		default:
			errs = append(errs, bySpec[t.Topic].refused(cfg, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// A topic just created (here, or by a process racing this one) takes
	// a moment to appear in every broker's metadata and to get partition
	// leaders: ask again for a while before calling it a failure.
	deadline := time.Now().Add(topicSettleTimeout)
	for {
		errs = errs[:0]
		got, still, topicErrs, err := describeTopics(ctx, client, recheck)
		if err == nil {
			err = errors.Join(topicErrs...)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("created topics %s but cannot read them back: %w", strings.Join(recheck, ", "), err))
		}
		for name := range still {
			errs = append(errs, fmt.Errorf("topic %s was created but this client cannot see it after %s; grant it DESCRIBE on the topic", name, topicSettleTimeout))
		}
		for name, n := range got {
			counts[name] = n
			if _, _, _, err := topicBounds(ctx, client, name); err != nil {
				errs = append(errs, fmt.Errorf("topic %s was created but its partitions are not ready after %s: %w", name, topicSettleTimeout, err))
			}
		}
		if len(errs) == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return counts, errors.Join(errs...)
}

// describeTopics returns the partition counts of the named topics that
// exist, the set of those that do not, and the other topic-level errors;
// err is set when the cluster cannot be asked at all.
func describeTopics(ctx context.Context, client *kafka.Client, names []string) (counts map[string]int, missing map[string]struct{}, topicErrs []error, err error) {
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
	if err != nil {
		return nil, nil, nil, err
	}
	counts = make(map[string]int, len(names))
	missing = map[string]struct{}{}
	for _, t := range md.Topics {
		switch {
		case t.Error == nil || len(t.Partitions) > 0:
			counts[t.Name] = len(t.Partitions)
		case errors.Is(t.Error, kafka.UnknownTopicOrPartition):
			missing[t.Name] = struct{}{}
		case errors.Is(t.Error, kafka.TopicAuthorizationFailed):
			topicErrs = append(topicErrs, fmt.Errorf("topic %s: %w; grant this client DESCRIBE on it", t.Name, t.Error))
		default:
			topicErrs = append(topicErrs, fmt.Errorf("topic %s: %w", t.Name, t.Error))
		}
	}
	return counts, missing, topicErrs, nil
}

// PartitionCount returns the number of partitions of topic.
func PartitionCount(ctx context.Context, cfg Config, topic string) (int, error) {
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	tr := cfg.transport()
	defer tr.CloseIdleConnections()
	n, err := partitionCount(ctx, &kafka.Client{Addr: cfg.addr(), Transport: tr}, topic)
	if errors.Is(err, kafka.UnknownTopicOrPartition) {
		return 0, fmt.Errorf("topic %s does not exist: %w; create it (kafka-topics.sh --create --topic %s --partitions N)", topic, err, topic)
	}
	return n, err
}

// partitionCount reads topic's partition count through client, whose
// transport answers from its cached cluster layout.
func partitionCount(ctx context.Context, client *kafka.Client, topic string) (int, error) {
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, err
	}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if len(t.Partitions) == 0 {
			if t.Error != nil {
				return 0, t.Error
			}
			return 0, kafka.UnknownTopicOrPartition
		}
		return len(t.Partitions), nil
	}
	return 0, kafka.UnknownTopicOrPartition
}

func (s TopicSpec) validate() error {
	var errs []error
	if err := checkTopicName(s.Name); err != nil {
		errs = append(errs, err)
	}
	if s.Partitions < 0 {
		errs = append(errs, fmt.Errorf("topic %s: partitions %d is negative", s.Name, s.Partitions))
	}
	if s.ReplicationFactor < 0 || s.ReplicationFactor > 32767 {
		errs = append(errs, fmt.Errorf("topic %s: replication factor %d is out of range", s.Name, s.ReplicationFactor))
	}
	if s.MaxMessageBytes < 0 {
		errs = append(errs, fmt.Errorf("topic %s: max message bytes %d is negative", s.Name, s.MaxMessageBytes))
	}
	if s.RetentionMs < -1 {
		errs = append(errs, fmt.Errorf("topic %s: retention %d ms is invalid (use -1 to keep records forever)", s.Name, s.RetentionMs))
	}
	return errors.Join(errs...)
}

// checkTopicName applies Kafka's rules for topic names, so that a bad
// name fails before any broker is asked.
func checkTopicName(name string) error {
	switch {
	case name == "":
		return errors.New("a topic has an empty name")
	case name == "." || name == "..":
		return fmt.Errorf("topic name %q is not allowed by Kafka", name)
	case len(name) > 249:
		return fmt.Errorf("topic name %.40q... is %d characters long; Kafka allows 249", name, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("topic name %q has %q at byte %d; Kafka allows only ASCII letters, digits, '.', '_' and '-'", name, c, i)
		}
	}
	return nil
}

func (s TopicSpec) configEntries() []kafka.ConfigEntry {
	var c []kafka.ConfigEntry
	if s.Compacted {
		c = append(c, kafka.ConfigEntry{ConfigName: "cleanup.policy", ConfigValue: "compact"})
	}
	if s.MaxMessageBytes > 0 {
		c = append(c, kafka.ConfigEntry{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(s.MaxMessageBytes)})
	}
	if s.RetentionMs != 0 {
		c = append(c, kafka.ConfigEntry{ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(s.RetentionMs, 10)})
	}
	return c
}

func (s TopicSpec) topicConfig() kafka.TopicConfig {
	t := kafka.TopicConfig{Topic: s.Name, NumPartitions: -1, ReplicationFactor: -1, ConfigEntries: s.configEntries()}
	if s.Partitions > 0 {
		t.NumPartitions = s.Partitions
	}
	if s.ReplicationFactor > 0 {
		t.ReplicationFactor = s.ReplicationFactor
	}
	return t
}

// refused explains why the topic could not be created and how to create
// it by hand.
func (s TopicSpec) refused(cfg Config, err error) error {
	why := err.Error()
	switch {
	case errors.Is(err, kafka.TopicAuthorizationFailed), errors.Is(err, kafka.ClusterAuthorizationFailed):
		why += " (this client may not create topics)"
	case errors.Is(err, kafka.InvalidReplicationFactor):
		why += fmt.Sprintf(" (the cluster has fewer brokers than the replication factor %d; lower it or add brokers)", s.ReplicationFactor)
	case errors.Is(err, kafka.InvalidPartitionNumber):
		why += " (the partition count is not accepted)"
	case errors.Is(err, kafka.PolicyViolation):
		why += " (the cluster's topic creation policy refused it)"
	}
	var cmd strings.Builder
	fmt.Fprintf(&cmd, "kafka-topics.sh --bootstrap-server %s --create --topic %s", strings.Join(cfg.Brokers, ","), s.Name)
	if s.Partitions > 0 {
		fmt.Fprintf(&cmd, " --partitions %d", s.Partitions)
	}
	if s.ReplicationFactor > 0 {
		fmt.Fprintf(&cmd, " --replication-factor %d", s.ReplicationFactor)
	}
	for _, e := range s.configEntries() {
		fmt.Fprintf(&cmd, " --config %s=%s", e.ConfigName, e.ConfigValue)
	}
	return fmt.Errorf("cannot create topic %s: %s; create it with %s, or grant this client CREATE on the cluster", s.Name, why, cmd.String())
}
