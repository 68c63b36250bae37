package kafkabus

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/internal/testkafka"
)

func TestMain(m *testing.M) { os.Exit(testkafka.Main(m)) }

func testConfig(t testing.TB) Config {
	return Config{Brokers: []string{testkafka.Bootstrap(t)}, ClientID: "tocsin-test"}
}

// newTopic creates a topic for t alone.
func newTopic(t testing.TB, cfg Config, partitions int) string {
	t.Helper()
	name := testkafka.Topic(t, "kb")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	counts, err := EnsureTopics(ctx, cfg, []TopicSpec{{Name: name, Partitions: partitions, ReplicationFactor: 1}})
	require.NoError(t, err)
	require.Equal(t, partitions, counts[name])
	return name
}

// readAll returns every record of topic, by partition, read straight from
// the partitions (no group involved).
func readAll(t testing.TB, cfg Config, topic string) map[int][]Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tr := cfg.transport()
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: cfg.addr(), Transport: tr, Timeout: requestTimeout}
	parts, first, last, err := topicBounds(ctx, client, topic)
	require.NoError(t, err)
	out := map[int][]Message{}
	for _, p := range parts {
		r := &partitionReader{client: client, topic: topic, partition: p, maxBytes: 8 << 20, maxWait: 100 * time.Millisecond, offset: first[p]}
		for r.offset < last[p] {
			msgs, err := r.next(ctx, 1000)
			require.NoError(t, err)
			for i := range msgs {
				out[p] = append(out[p], cloneMessage(&msgs[i]))
			}
		}
	}
	return out
}

// committedOffsets reads a group's committed offsets of topic.
func committedOffsets(t testing.TB, cfg Config, group, topic string, partitions int) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr := cfg.transport()
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: cfg.addr(), Transport: tr, Timeout: requestTimeout}
	parts := make([]int, partitions)
	for i := range parts {
		parts[i] = i
	}
	res, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	require.NoError(t, err)
	require.NoError(t, res.Error)
	out := map[int]int64{}
	for _, p := range res.Topics[topic] {
		require.NoError(t, p.Error)
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// offsetLog records which offsets of which partitions a consumer saw.
type offsetLog map[int][]int64

// requireCovers checks that every offset below the end of each partition
// was seen at least once.
func (l offsetLog) requireCovers(t testing.TB, end map[int]int64) {
	t.Helper()
	for p, last := range end {
		seen := map[int64]bool{}
		for _, o := range l[p] {
			seen[o] = true
		}
		var missing []int64
		for o := int64(0); o < last; o++ {
			if !seen[o] {
				missing = append(missing, o)
			}
		}
		require.Empty(t, missing, "partition %d: offsets never handled", p)
	}
}

func sortedKeys[V any](m map[int]V) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}

func msgf(key string, format string, args ...any) Message {
	return Message{Key: []byte(key), Value: fmt.Appendf(nil, format, args...)}
}

// metricValue reads a counter or gauge.
func metricValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	require.NoError(t, m.Write(&d))
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	t.Fatalf("not a counter or gauge: %v", m.Desc())
	return 0
}

// histogramCount returns the sample count of the histogram named name.
func histogramCount(t testing.TB, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			require.Len(t, mf.Metric, 1)
			return mf.Metric[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// gauges returns the values of a gauge vector by "label/label/...".
func gauges(t testing.TB, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			var labels []string
			for _, l := range m.Label {
				labels = append(labels, l.GetValue())
			}
			out[strings.Join(labels, "/")] = m.GetGauge().GetValue()
		}
	}
	return out
}
