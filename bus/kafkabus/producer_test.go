package kafkabus

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
)

// javaMurmur2 is the Java client's Utils.murmur2, written again here
// from its definition so that the producer is checked against something
// other than kafka-go.
func javaMurmur2(data []byte) int32 {
	const m, r = uint32(0x5bd1e995), 24
	h := uint32(0x9747b28c) ^ uint32(len(data))
	n := len(data) / 4 * 4
	for i := 0; i < n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h = h*m ^ k
	}
	switch len(data) % 4 {
	case 3:
		h ^= uint32(data[n+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[n+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[n])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// javaPartition is BuiltInPartitioner.partitionForKey:
// toPositive(murmur2(key)) % partitions.
func javaPartition(key []byte, partitions int) int {
	return int(javaMurmur2(key)&0x7fffffff) % partitions
}

func TestMurmur2MatchesJavaVectors(t *testing.T) {
	// The cases of Kafka's UtilsTest.testMurmur2.
	for key, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		require.Equal(t, want, javaMurmur2([]byte(key)), key)
	}
	bal := kafka.Murmur2Balancer{Consistent: true}
	parts := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	for i := 0; i < 10000; i++ {
		key := []byte(strconv.Itoa(i * 7919))
		require.Equal(t, javaPartition(key, len(parts)), bal.Balance(kafka.Message{Key: key}, parts...))
	}
	// A nil key always lands where the empty key does.
	require.Equal(t, javaPartition(nil, 12), bal.Balance(kafka.Message{}, parts...))
}

// TestMurmur2MatchesJavaClient asks the Java client itself
// (BuiltInPartitioner.partitionForKey, from the broker's jars) where keys
// go, when Java and the jars are at hand.
func TestMurmur2MatchesJavaClient(t *testing.T) {
	java, err := exec.LookPath("java")
	if err != nil {
		t.Skip("java not installed")
	}
	home, _ := os.UserHomeDir()
	jars := filepath.Join(home, ".cache", "tocsin-testinfra", "kafka-4.4.0")
	if d := os.Getenv("TOCSIN_TESTINFRA_CACHE"); d != "" {
		jars = filepath.Join(d, "kafka-4.4.0")
	}
	if _, err := os.Stat(filepath.Join(jars, "kafka-clients-4.4.0.jar")); err != nil {
		t.Skipf("Kafka jars not in %s (testinfra/kafka.sh fetch puts them there)", jars)
	}
	src := filepath.Join(t.TempDir(), "Partition.java")
	require.NoError(t, os.WriteFile(src, []byte(`
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import java.io.*;
import java.util.HexFormat;
public class Partition {
  public static void main(String[] a) throws IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    for (String l; (l = in.readLine()) != null; ) {
      StringBuilder sb = new StringBuilder();
      for (String n : a) {
        sb.append(BuiltInPartitioner.partitionForKey(HexFormat.of().parseHex(l), Integer.parseInt(n))).append(' ');
      }
      System.out.println(sb.toString().trim());
    }
  }
}`), 0o600))
	var keys [][]byte
	var stdin bytes.Buffer
	for i := 0; i < 2000; i++ {
		k := []byte(fmt.Sprintf("198.51.100.%d|user%d", i%256, i))
		if i%3 == 0 {
			k = k[:i%len(k)] // every length from 0 up
		}
		keys = append(keys, k)
		stdin.WriteString(hex.EncodeToString(k) + "\n")
	}
	counts := []int{1, 7, 12, 64}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"-cp", jars + "/*", src}
	for _, n := range counts {
		args = append(args, strconv.Itoa(n))
	}
	cmd := exec.CommandContext(ctx, java, args...)
	cmd.Stdin = &stdin
	out, err := cmd.Output()
	require.NoError(t, err)
	sc := bufio.NewScanner(bytes.NewReader(out))
	bal := kafka.Murmur2Balancer{Consistent: true}
	i := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		require.Len(t, fields, len(counts))
		for j, n := range counts {
			want, err := strconv.Atoi(fields[j])
			require.NoError(t, err)
			require.Equal(t, want, bal.Balance(kafka.Message{Key: keys[i]}, loadPartitionList(n)...), "key %q, %d partitions", keys[i], n)
		}
		i++
	}
	require.Equal(t, len(keys), i)
}

func loadPartitionList(n int) []int {
	l := make([]int, n)
	for i := range l {
		l[i] = i
	}
	return l
}

// TestProduceRoundTrip produces from several goroutines and checks that
// every message arrives once, on the partition the Java client would
// choose, with each key's messages in order and its bytes intact.
func TestProduceRoundTrip(t *testing.T) {
	cfg := testConfig(t)
	const partitions = 6
	topic := newTopic(t, cfg, partitions)
	other := newTopic(t, cfg, 2)
	reg := prometheus.NewRegistry()
	p, err := NewProducer(cfg, ProducerOptions{Topic: topic, Compression: "lz4", Registerer: reg, BatchSize: 100})
	require.NoError(t, err)
	defer p.Close()

	const writers, batches, per = 4, 10, 150
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs := make([]Message, 0, per)
			for b := 0; b < batches; b++ {
				msgs = msgs[:0]
				for i := 0; i < per; i++ {
					seq := b*per + i
					key := fmt.Sprintf("w%d-k%d", w, seq%25)
					msgs = append(msgs, Message{
						Key:     []byte(key),
						Value:   fmt.Appendf(nil, "%s#%06d", key, seq),
						Headers: []Header{{Key: "writer", Value: []byte{byte('0' + w)}}},
					})
				}
				if err := p.Produce(ctx, msgs); err != nil {
					errs <- err
					return
				}
				// The caller may reuse its bytes at once.
				for i := range msgs {
					for j := range msgs[i].Value {
						msgs[i].Value[j] = 'X'
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// A message naming another topic, a nil key and an empty value.
	require.NoError(t, p.Produce(ctx, []Message{{Topic: other, Key: []byte("x"), Value: []byte("y")}, {Value: []byte{}}}))

	got := readAll(t, cfg, topic)
	total := 0
	lastSeq := map[string]int{}
	for _, part := range sortedKeys(got) {
		for _, m := range got[part] {
			total++
			require.Equal(t, javaPartition(m.Key, partitions), part, "key %q", m.Key)
			if len(m.Key) == 0 {
				require.NotNil(t, m.Value)
				require.Empty(t, m.Value)
				continue
			}
			key, seqText, ok := strings.Cut(string(m.Value), "#")
			require.True(t, ok, "value %q", m.Value)
			require.Equal(t, string(m.Key), key)
			seq, err := strconv.Atoi(seqText)
			require.NoError(t, err)
			if prev, ok := lastSeq[key]; ok {
				require.Greater(t, seq, prev, "key %s out of order", key)
			}
			lastSeq[key] = seq
			require.Equal(t, []byte{key[1]}, m.Header("writer"))
		}
	}
	require.Equal(t, writers*batches*per+1, total)
	require.Len(t, lastSeq, writers*25)
	gotOther := readAll(t, cfg, other)
	require.Len(t, gotOther[javaPartition([]byte("x"), 2)], 1)

	require.Equal(t, float64(writers*batches*per+1), metricValue(t, p.m.produced.WithLabelValues(topic)))
	require.Equal(t, float64(1), metricValue(t, p.m.produced.WithLabelValues(other)))
	require.Equal(t, float64(0), metricValue(t, p.m.errors.WithLabelValues(topic)))
	require.Equal(t, uint64(writers*batches+1), histogramCount(t, reg, "tocsin_kafka_produce_duration_seconds"))

	// A second producer on the same registry shares the metrics.
	p2, err := NewProducer(cfg, ProducerOptions{Topic: topic, Registerer: reg})
	require.NoError(t, err)
	require.Same(t, p.m.produced, p2.m.produced)
	require.NoError(t, p2.Close())
}

func TestProducePermanentErrors(t *testing.T) {
	cfg := testConfig(t)
	topic := newTopic(t, cfg, 1)
	p, err := NewProducer(cfg, ProducerOptions{})
	require.NoError(t, err)
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	err = p.Produce(ctx, []Message{{Value: []byte("x")}})
	require.ErrorContains(t, err, "names no topic and the producer has no default topic")

	// The broker's default max.message.bytes is about 1 MiB.
	big := Message{Topic: topic, Key: []byte("big"), Value: bytes.Repeat([]byte("x"), 2<<20)}
	small := Message{Topic: topic, Key: []byte("small"), Value: []byte("ok")}
	err = p.Produce(ctx, []Message{big})
	require.ErrorContains(t, err, "larger than the topic accepts")
	require.ErrorContains(t, err, "max.message.bytes")
	require.NoError(t, p.Produce(ctx, []Message{small}))
	got := readAll(t, cfg, topic)
	require.Len(t, got[0], 1)
	require.Equal(t, "ok", string(got[0][0].Value))

	_, err = NewProducer(cfg, ProducerOptions{Compression: "brotli", BatchSize: -1})
	require.ErrorContains(t, err, `unknown compression "brotli"`)
	require.ErrorContains(t, err, "batch size -1 is negative")

	require.NoError(t, p.Close())
	require.ErrorIs(t, p.Produce(ctx, []Message{small}), ErrProducerClosed)
}

func TestProduceHonoursContext(t *testing.T) {
	cfg := testConfig(t)
	p, err := NewProducer(cfg, ProducerOptions{})
	require.NoError(t, err)
	defer p.Close()
	// A topic that does not exist: Produce waits for it to appear and
	// gives up with the caller's context.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.Produce(ctx, []Message{{Topic: "tocsin-test-never-created-" + strconv.FormatInt(time.Now().UnixNano(), 36), Value: []byte("x")}})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestProduceDirectPartition(t *testing.T) {
	cfg := testConfig(t)
	topic := newTopic(t, cfg, 3)
	p, err := NewProducer(cfg, ProducerOptions{Topic: topic})
	require.NoError(t, err)
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n, err := p.Partitions(ctx, topic)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	// One key to every partition, whatever its hash says.
	var msgs []Message
	for part := range 3 {
		msgs = append(msgs, Message{Key: []byte("same"), Value: []byte{byte('a' + part)}, Partition: part, Direct: true})
	}
	require.NoError(t, p.Produce(ctx, msgs))
	err = p.Produce(ctx, []Message{{Key: []byte("x"), Partition: 3, Direct: true}})
	require.ErrorContains(t, err, "partition 3: the topic has 3 partitions")
	got := readAll(t, cfg, topic)
	for part := range 3 {
		require.Len(t, got[part], 1, "partition %d", part)
		require.Equal(t, []byte{byte('a' + part)}, got[part][0].Value)
	}
}
