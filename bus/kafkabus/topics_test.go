package kafkabus

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/internal/testkafka"
)

func topicConfigs(t *testing.T, cfg Config, topic string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr := cfg.transport()
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: cfg.addr(), Transport: tr, Timeout: requestTimeout}
	res, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic,
		ConfigNames: []string{"cleanup.policy", "max.message.bytes", "retention.ms"},
	}}})
	require.NoError(t, err)
	out := map[string]string{}
	for _, r := range res.Resources {
		require.NoError(t, r.Error)
		for _, e := range r.ConfigEntries {
			out[e.ConfigName] = e.ConfigValue
		}
	}
	return out
}

func TestEnsureTopics(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	plain, state := testkafka.Topic(t, "events"), testkafka.Topic(t, "state")
	specs := []TopicSpec{
		{Name: plain, Partitions: 3, ReplicationFactor: 1},
		{Name: state, Partitions: 2, Compacted: true, MaxMessageBytes: 8 << 20, RetentionMs: -1},
	}
	counts, err := EnsureTopics(ctx, cfg, specs)
	require.NoError(t, err)
	require.Equal(t, map[string]int{plain: 3, state: 2}, counts)
	require.Equal(t, map[string]string{"cleanup.policy": "compact", "max.message.bytes": "8388608", "retention.ms": "-1"},
		topicConfigs(t, cfg, state))
	require.Equal(t, "delete", topicConfigs(t, cfg, plain)["cleanup.policy"])

	// An existing topic keeps its partition count; the caller compares.
	specs[0].Partitions = 8
	counts, err = EnsureTopics(ctx, cfg, specs)
	require.NoError(t, err)
	require.Equal(t, map[string]int{plain: 3, state: 2}, counts)
	n, err := PartitionCount(ctx, cfg, plain)
	require.NoError(t, err)
	require.Equal(t, 3, n)

	// The broker refuses a replication factor above its broker count.
	tooMany := testkafka.Topic(t, "rf")
	_, err = EnsureTopics(ctx, cfg, []TopicSpec{{Name: tooMany, Partitions: 2, ReplicationFactor: 3, Compacted: true}})
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, "cannot create topic "+tooMany+": ")
	require.Contains(t, msg, "fewer brokers than the replication factor 3")
	require.Contains(t, msg, "create it with kafka-topics.sh --bootstrap-server "+cfg.Brokers[0]+" --create --topic "+tooMany+
		" --partitions 2 --replication-factor 3 --config cleanup.policy=compact, or grant this client CREATE")
	_, err = PartitionCount(ctx, cfg, tooMany)
	require.ErrorContains(t, err, "topic "+tooMany+" does not exist")

	// Names Kafka would refuse are refused before it is asked.
	_, err = EnsureTopics(ctx, cfg, []TopicSpec{{Name: "bad name", Partitions: 1}, {Name: strings.Repeat("x", 250)}, {Name: "ok", Partitions: -1}})
	require.ErrorContains(t, err, `topic name "bad name" has ' ' at byte 3`)
	require.ErrorContains(t, err, "is 250 characters long; Kafka allows 249")
	require.ErrorContains(t, err, "topic ok: partitions -1 is negative")
}

func TestEnsureTopicsBrokerDown(t *testing.T) {
	t.Parallel()
	cfg := Config{Brokers: []string{"127.0.0.1:1"}, DialTimeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := EnsureTopics(ctx, cfg, []TopicSpec{{Name: "tocsin.events", Partitions: 12}})
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, "cannot create topic tocsin.events: cannot reach the Kafka cluster")
	require.Contains(t, msg, "check that the brokers run")
	require.Contains(t, msg, "kafka-topics.sh --bootstrap-server 127.0.0.1:1 --create --topic tocsin.events --partitions 12")
	_, err = PartitionCount(ctx, cfg, "tocsin.events")
	require.Error(t, err)
}
