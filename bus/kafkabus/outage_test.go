package kafkabus

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/internal/testkafka"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// lines returns the lines after byte from that contain substr.
func (s *syncBuffer) lines(from int, substr string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range strings.Split(s.b.String()[from:], "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// testBrokerPause freezes a private broker (SIGSTOP) while a producer and
// a consumer group use it: Produce blocks instead of failing, one warning
// is logged for the outage, and once the broker runs again (SIGCONT)
// everything produced is acknowledged and consumed.
func testBrokerPause(t *testing.T, b *testkafka.Broker) {
	began := time.Now()
	cfg := Config{Brokers: []string{b.Addr}, DialTimeout: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	topic := testkafka.Topic(t, "pause")
	_, err := EnsureTopics(ctx, cfg, []TopicSpec{{Name: topic, Partitions: 2}})
	require.NoError(t, err)

	var logs syncBuffer
	log := zerolog.New(&logs)
	p, err := NewProducer(cfg, ProducerOptions{Topic: topic, RequestTimeout: 2 * time.Second, Logger: log})
	require.NoError(t, err)
	defer p.Close()
	batch := func(from int) []Message {
		var msgs []Message
		for i := from; i < from+50; i++ {
			msgs = append(msgs, msgf(fmt.Sprintf("k%d", i%7), "m%d", i))
		}
		return msgs
	}
	require.NoError(t, p.Produce(ctx, batch(0)))

	r := newRecorder("consumer")
	opts := fastGroup(testkafka.Group(t, "g"), []string{topic}, r)
	opts.Logger = log
	groupCtx, stopGroup := context.WithCancel(ctx)
	groupDone := make(chan error, 1)
	go func() { groupDone <- RunGroup(groupCtx, cfg, opts) }()
	defer func() {
		stopGroup()
		require.NoError(t, <-groupDone)
	}()
	require.Eventually(t, func() bool { seen, _ := r.snapshot(); return len(seen[0])+len(seen[1]) == 50 },
		30*time.Second, 20*time.Millisecond)

	mark := logs.len()
	t.Logf("consumed the first batch %s after the test began", time.Since(began).Round(time.Millisecond))
	require.NoError(t, syscall.Kill(b.PID, syscall.SIGSTOP))
	// The signal takes effect asynchronously; wait for the stopped state.
	require.Eventually(t, func() bool {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", b.PID))
		if err != nil {
			return false
		}
		_, rest, _ := strings.Cut(string(st), ") ")
		return strings.HasPrefix(rest, "T")
	}, 5*time.Second, 10*time.Millisecond, "the broker did not stop")
	resumed := false
	defer func() {
		if !resumed {
			_ = syscall.Kill(b.PID, syscall.SIGCONT)
		}
	}()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- p.Produce(ctx, batch(50)) }()
	select {
	case err := <-done:
		t.Fatalf("Produce returned %v while the broker was stopped", err)
	case <-time.After(5 * time.Second):
	}
	require.NoError(t, syscall.Kill(b.PID, syscall.SIGCONT))
	resumed = true
	select {
	case err := <-done:
		require.NoError(t, err)
		t.Logf("Produce returned %s after the broker was frozen for 5 s", time.Since(start).Round(time.Millisecond))
	case <-time.After(45 * time.Second):
		t.Fatal("Produce did not complete within 45 s of the broker resuming")
	}

	all := logs.lines(mark, `"what":"producing"`)
	require.Len(t, logs.lines(mark, `produce requests fail`), 1, "one warning per outage: %v", all)
	require.Len(t, logs.lines(mark, `"what":"producing","failed_attempts"`), 1, "the end of the outage is logged once: %v", all)

	// Everything is stored (a request retried after a timeout may be
	// stored twice) and the group consumes the rest.
	values := map[string]bool{}
	for _, msgs := range readAll(t, cfg, topic) {
		for _, m := range msgs {
			values[string(m.Value)] = true
		}
	}
	for i := 0; i < 100; i++ {
		require.True(t, values[fmt.Sprintf("m%d", i)], "m%d lost", i)
	}
	end := endOffsets(t, cfg, topic, 2)
	resumedAt := time.Now()
	require.Eventually(t, covered(r, end), 45*time.Second, 50*time.Millisecond)
	t.Logf("the group consumed the rest %s after the broker resumed", time.Since(resumedAt).Round(time.Millisecond))
	groupLog := logs.lines(mark, `"group"`)
	for _, what := range []string{"consumer group", "fetching", "committing"} {
		require.LessOrEqual(t, len(logs.lines(mark, `"what":"`+what+`","message"`)), 1, "at most one warning per outage for %s: %v", what, groupLog)
	}
}
