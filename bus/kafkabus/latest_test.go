package kafkabus

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/internal/testkafka"
)

func TestReadLatest(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := testkafka.Topic(t, "state")
	_, err := EnsureTopics(ctx, cfg, []TopicSpec{{Name: topic, Partitions: 3, Compacted: true, MaxMessageBytes: 8 << 20}})
	require.NoError(t, err)
	p, err := NewProducer(cfg, ProducerOptions{Topic: topic})
	require.NoError(t, err)
	defer p.Close()

	var v1, v2 []Message
	for i := 0; i < 20; i++ {
		v1 = append(v1, Message{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v1 of k%d", i),
			Headers: []Header{{Key: "offset", Value: fmt.Appendf(nil, "%d", 100+i)}}})
		v1 = append(v1, msgf(fmt.Sprintf("skip-%d", i), "not kept"))
	}
	require.NoError(t, p.Produce(ctx, v1))
	for i := 0; i < 10; i++ {
		v2 = append(v2, msgf(fmt.Sprintf("k%d", i), "v2 of k%d", i))
	}
	require.NoError(t, p.Produce(ctx, v2))
	// Tombstones, and a checkpoint of several MB.
	big := bytes.Repeat([]byte("checkpoint "), 300_000)
	require.NoError(t, p.Produce(ctx, []Message{
		{Key: []byte("k5"), Value: nil},
		{Key: []byte("k15"), Value: nil},
		{Key: []byte("k7"), Value: big},
		{Key: []byte("k16"), Value: nil},
		{Key: []byte("k16"), Value: []byte("back")},
	}))

	var calls atomic.Int64
	got, err := ReadLatest(ctx, cfg, topic, func(key []byte) bool {
		calls.Add(1)
		return !strings.HasPrefix(string(key), "skip-")
	})
	require.NoError(t, err)
	require.Equal(t, int64(20+20+10+5), calls.Load(), "keep sees every record once")

	want := map[string]string{}
	for i := 0; i < 20; i++ {
		want[fmt.Sprintf("k%d", i)] = fmt.Sprintf("v1 of k%d", i)
	}
	for i := 0; i < 10; i++ {
		want[fmt.Sprintf("k%d", i)] = fmt.Sprintf("v2 of k%d", i)
	}
	delete(want, "k5")
	delete(want, "k15")
	want["k7"] = string(big)
	want["k16"] = "back"
	require.Len(t, got, len(want))
	for k, v := range want {
		m, ok := got[k]
		require.True(t, ok, "key %s missing", k)
		require.Equal(t, k, string(m.Key))
		require.True(t, v == string(m.Value), "key %s: value of %d bytes, want %d", k, len(m.Value), len(v))
		require.Equal(t, topic, m.Topic)
		require.Equal(t, javaPartition(m.Key, 3), m.Partition)
	}
	k10, k1 := got["k10"], got["k1"]
	require.Equal(t, []byte("110"), k10.Header("offset"))
	require.Nil(t, k1.Header("offset"), "the newest record of k1 has no header")

	// An empty topic gives an empty map; a missing one an error.
	empty := newTopic(t, cfg, 2)
	got, err = ReadLatest(ctx, cfg, empty, func([]byte) bool { return true })
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = ReadLatest(ctx, cfg, "tocsin-test-missing-topic-x", func([]byte) bool { return true })
	require.ErrorContains(t, err, "cannot read topic tocsin-test-missing-topic-x")
}
