package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/internal/testkafka"
)

// fastGroup gives options whose rebalances settle in about a second.
func fastGroup(group string, topics []string, h PartitionHandler) GroupOptions {
	return GroupOptions{
		GroupID:           group,
		Topics:            topics,
		Handler:           h,
		MaxWait:           100 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		RebalanceTimeout:  5 * time.Second,
		HeartbeatInterval: 200 * time.Millisecond,
	}
}

// recorder is a PartitionHandler that records what the group did.
type recorder struct {
	name string
	mu   sync.Mutex
	seen offsetLog
	// events is the sequence of calls, "assign p c", "handle p first last", "revoke p"
	events   []string
	assigned map[int]int64 // partition -> committed, for live assignments
	// start, when set, chooses the start offset from the committed one.
	start func(partition int, committed int64) int64
	// result, when set, chooses what Handle returns for a batch.
	result func(msgs []Message) (int64, error)
	// delay slows Handle down.
	delay time.Duration
	// signal receives the number of messages handled so far.
	signal func(total int)
	total  int
}

func newRecorder(name string) *recorder {
	return &recorder{name: name, seen: offsetLog{}, assigned: map[int]int64{}}
}

func (r *recorder) Assign(_ context.Context, topic string, partition int, committed int64) (PartitionConsumer, int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("assign %d %d", partition, committed))
	r.assigned[partition] = committed
	start := committed
	if r.start != nil {
		start = r.start(partition, committed)
	}
	return &recordingConsumer{r: r, partition: partition}, start, nil
}

type recordingConsumer struct {
	r         *recorder
	partition int
	revoked   bool
}

func (c *recordingConsumer) Handle(_ context.Context, msgs []Message) (int64, error) {
	r := c.r
	if c.revoked {
		panic("Handle after Revoke")
	}
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range msgs {
		if msgs[i].Partition != c.partition {
			panic("message of another partition")
		}
		if i > 0 && msgs[i].Offset <= msgs[i-1].Offset {
			panic("offsets out of order")
		}
	}
	r.events = append(r.events, fmt.Sprintf("handle %d %d %d", c.partition, msgs[0].Offset, msgs[len(msgs)-1].Offset))
	off, err := msgs[len(msgs)-1].Offset+1, error(nil)
	if r.result != nil {
		off, err = r.result(msgs)
	}
	if err != nil {
		return -1, err
	}
	for i := range msgs {
		r.seen[c.partition] = append(r.seen[c.partition], msgs[i].Offset)
	}
	r.total += len(msgs)
	if r.signal != nil {
		r.signal(r.total)
	}
	return off, nil
}

func (c *recordingConsumer) Revoke(context.Context) {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	c.revoked = true
	c.r.events = append(c.r.events, fmt.Sprintf("revoke %d", c.partition))
	delete(c.r.assigned, c.partition)
}

func (r *recorder) snapshot() (offsetLog, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := offsetLog{}
	for p, o := range r.seen {
		seen[p] = append([]int64(nil), o...)
	}
	return seen, append([]string(nil), r.events...)
}

// produceN produces n messages with keys spread over the partitions.
func produceN(t testing.TB, cfg Config, topic string, from, n int) {
	t.Helper()
	p, err := NewProducer(cfg, ProducerOptions{Topic: topic, Linger: -1})
	require.NoError(t, err)
	defer p.Close()
	msgs := make([]Message, 0, n)
	for i := from; i < from+n; i++ {
		msgs = append(msgs, msgf(fmt.Sprintf("key-%d", i%97), "message %d", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, p.Produce(ctx, msgs))
}

// endOffsets returns each partition's high watermark.
func endOffsets(t testing.TB, cfg Config, topic string, partitions int) map[int]int64 {
	t.Helper()
	end := map[int]int64{}
	for p, msgs := range readAll(t, cfg, topic) {
		end[p] = msgs[len(msgs)-1].Offset + 1
	}
	for p := 0; p < partitions; p++ {
		if _, ok := end[p]; !ok {
			end[p] = 0
		}
	}
	return end
}

// runUntil runs RunGroup until done returns true (polled) or the time is
// up, then stops it and waits for it to return.
func runUntil(t testing.TB, cfg Config, opts GroupOptions, limit time.Duration, done func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ret := make(chan error, 1)
	go func() { ret <- RunGroup(ctx, cfg, opts) }()
	deadline := time.Now().Add(limit)
	for !done() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-ret:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("RunGroup did not return within 30 s of its context ending")
	}
	require.True(t, done(), "condition not met within %s", limit)
}

func covered(r *recorder, end map[int]int64) func() bool {
	return func() bool {
		seen, _ := r.snapshot()
		for p, last := range end {
			got := map[int64]bool{}
			for _, o := range seen[p] {
				got[o] = true
			}
			for o := int64(0); o < last; o++ {
				if !got[o] {
					return false
				}
			}
		}
		return true
	}
}

func TestGroupCommitAndResume(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	const partitions = 2
	topic := newTopic(t, cfg, partitions)
	group := testkafka.Group(t, "g")
	produceN(t, cfg, topic, 0, 200)
	end1 := endOffsets(t, cfg, topic, partitions)
	reg := prometheus.NewRegistry()

	// First run: everything, committed after each Handle.
	r1 := newRecorder("first")
	opts := fastGroup(group, []string{topic}, r1)
	opts.MaxBatch = 30
	opts.Registerer = reg
	lagSeen := map[string]float64{}
	runUntil(t, cfg, opts, 30*time.Second, func() bool {
		if !covered(r1, end1)() {
			return false
		}
		// Caught up: the lag of both partitions is 0.
		for k, v := range gauges(t, reg, "tocsin_kafka_consumer_lag") {
			lagSeen[k] = v
		}
		// Labels come sorted by name: group, partition, topic.
		l0, ok0 := lagSeen[group+"/0/"+topic]
		l1, ok1 := lagSeen[group+"/1/"+topic]
		return ok0 && ok1 && l0 == 0 && l1 == 0
	})
	require.Empty(t, gauges(t, reg, "tocsin_kafka_consumer_lag"), "a revoked partition's lag is dropped")
	_, events := r1.snapshot()
	require.Contains(t, events, fmt.Sprintf("assign 0 %d", FirstOffset))
	require.Equal(t, "revoke", events[len(events)-1][:6], "revoked last")
	require.Equal(t, end1, committedOffsets(t, cfg, group, topic, partitions))
	m, err := newGroupMetrics(reg)
	require.NoError(t, err)
	require.Equal(t, float64(200), metricValue(t, m.consumed.WithLabelValues(group, topic)))
	require.GreaterOrEqual(t, metricValue(t, m.commits.WithLabelValues(group)), float64(200/30))
	require.Equal(t, float64(1), metricValue(t, m.rebalances.WithLabelValues(group)))

	// Second run, committing on a timer: it resumes at the committed
	// offsets.
	produceN(t, cfg, topic, 200, 100)
	end2 := endOffsets(t, cfg, topic, partitions)
	r2 := newRecorder("second")
	opts.Handler = r2
	opts.CommitInterval = 200 * time.Millisecond
	runUntil(t, cfg, opts, 30*time.Second, func() bool {
		seen, _ := r2.snapshot()
		for p, last := range end2 {
			if last > end1[p] && (len(seen[p]) == 0 || seen[p][len(seen[p])-1] < last-1) {
				return false
			}
		}
		return true
	})
	seen, events := r2.snapshot()
	for p := 0; p < partitions; p++ {
		require.Contains(t, events, fmt.Sprintf("assign %d %d", p, end1[p]))
		if end2[p] > end1[p] {
			require.Equal(t, end1[p], seen[p][0], "partition %d resumed at its committed offset", p)
		}
	}
	require.Equal(t, end2, committedOffsets(t, cfg, group, topic, partitions))

	// Third run replays 10 records before the committed offset, returns
	// offsets below it, then commits nothing: the committed offsets stay.
	r3 := newRecorder("replay")
	r3.start = func(_ int, committed int64) int64 { return max(committed-10, 0) }
	firstLag := map[int]float64{}
	r3.result = func(msgs []Message) (int64, error) {
		p := msgs[0].Partition
		if _, ok := firstLag[p]; !ok {
			firstLag[p] = gauges(t, reg, "tocsin_kafka_consumer_lag")[fmt.Sprintf("%s/%d/%s", group, p, topic)]
		}
		if msgs[0].Offset%2 == 0 {
			return msgs[0].Offset + 1, nil // below the committed offset
		}
		return -1, nil
	}
	opts.Handler = r3
	opts.CommitInterval = 0
	opts.MaxBatch = 5
	runUntil(t, cfg, opts, 30*time.Second, func() bool {
		seen, _ := r3.snapshot()
		return len(seen[0]) >= 10 && len(seen[1]) >= 10
	})
	seen, _ = r3.snapshot()
	for p := 0; p < partitions; p++ {
		require.Equal(t, end2[p]-10, seen[p][0], "partition %d replayed from committed-10", p)
		require.Equal(t, end2[p]-1, seen[p][9])
	}
	require.Equal(t, end2, committedOffsets(t, cfg, group, topic, partitions), "never committed backwards")
	// The first replayed batch of 5 left 5 records behind the watermark.
	require.Equal(t, map[int]float64{0: 5, 1: 5}, firstLag)
}

func TestGroupRebalanceTwoMembers(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	const partitions = 4
	topic := newTopic(t, cfg, partitions)
	group := testkafka.Group(t, "g")
	produceN(t, cfg, topic, 0, 2000)

	a, b := newRecorder("a"), newRecorder("b")
	a.delay, b.delay = 5*time.Millisecond, 5*time.Millisecond
	started := make(chan struct{})
	var once sync.Once
	a.signal = func(total int) {
		if total >= 300 {
			once.Do(func() { close(started) })
		}
	}
	regA := prometheus.NewRegistry()
	optsA := fastGroup(group, []string{topic}, a)
	optsA.MaxBatch = 50
	optsA.Registerer = regA
	optsB := fastGroup(group, []string{topic}, b)
	optsB.MaxBatch = 50

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(1)
	go func() { defer wg.Done(); errs <- RunGroup(ctx, cfg, optsA) }()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("member a handled nothing within 30 s")
	}
	joined := time.Now()
	wg.Add(1)
	go func() { defer wg.Done(); errs <- RunGroup(ctx, cfg, optsB) }()
	// More records while the group rebalances.
	produceN(t, cfg, topic, 2000, 2000)
	end := endOffsets(t, cfg, topic, partitions)

	var settled time.Duration
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		na := len(a.assigned)
		a.mu.Unlock()
		b.mu.Lock()
		nb := len(b.assigned)
		b.mu.Unlock()
		if settled == 0 && na > 0 && nb > 0 && na+nb == partitions {
			settled = time.Since(joined)
		}
		seenA, _ := a.snapshot()
		seenB, _ := b.snapshot()
		union := offsetLog{}
		for p := 0; p < partitions; p++ {
			union[p] = append(append(union[p], seenA[p]...), seenB[p]...)
		}
		if settled > 0 && covered(&recorder{seen: union}, end)() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NotZero(t, settled, "the two members never shared the partitions")
	t.Logf("second member joined; partitions shared after %s", settled)
	require.Less(t, settled, 10*time.Second)

	seenA, eventsA := a.snapshot()
	seenB, eventsB := b.snapshot()
	union := offsetLog{}
	for p := 0; p < partitions; p++ {
		union[p] = append(append(union[p], seenA[p]...), seenB[p]...)
	}
	union.requireCovers(t, end)
	require.Equal(t, end, committedOffsets(t, cfg, group, topic, partitions))
	// Each consumer was revoked once, after its last Handle.
	for _, events := range [][]string{eventsA, eventsB} {
		live := map[string]bool{}
		for _, e := range events {
			var kind string
			var p int
			_, err := fmt.Sscanf(e, "%s %d", &kind, &p)
			require.NoError(t, err)
			key := fmt.Sprint(p)
			switch kind {
			case "assign":
				require.False(t, live[key], "assigned twice without a revoke: %v", events)
				live[key] = true
			case "handle":
				require.True(t, live[key], "handle outside an assignment: %v", events)
			case "revoke":
				require.True(t, live[key], "revoke without an assignment: %v", events)
				live[key] = false
			}
		}
		for p, l := range live {
			require.False(t, l, "partition %s never revoked", p)
		}
	}
	m, err := newGroupMetrics(regA)
	require.NoError(t, err)
	require.GreaterOrEqual(t, metricValue(t, m.rebalances.WithLabelValues(group)), float64(2))
}

func TestGroupHandleErrorRedelivers(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	topic := newTopic(t, cfg, 1)
	group := testkafka.Group(t, "g")
	produceN(t, cfg, topic, 0, 50)
	r := newRecorder("r")
	failed := false
	r.result = func(msgs []Message) (int64, error) {
		if !failed && msgs[0].Offset <= 20 && msgs[len(msgs)-1].Offset >= 20 {
			failed = true
			return -1, errors.New("downstream unavailable")
		}
		return msgs[len(msgs)-1].Offset + 1, nil
	}
	opts := fastGroup(group, []string{topic}, r)
	opts.MaxBatch = 10
	start := time.Now()
	runUntil(t, cfg, opts, 30*time.Second, covered(r, map[int]int64{0: 50}))
	t.Logf("redelivered after a handler error within %s", time.Since(start))
	_, events := r.snapshot()
	require.Equal(t, []string{
		"assign 0 -2", "handle 0 0 9", "handle 0 10 19", "handle 0 20 29", "revoke 0",
		"assign 0 20", "handle 0 20 29", "handle 0 30 39", "handle 0 40 49",
	}, events[:9])
	require.Equal(t, map[int]int64{0: 50}, committedOffsets(t, cfg, group, topic, 1))
}

func TestConsumeBatchesRetriesInPlace(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	topic := newTopic(t, cfg, 1)
	group := testkafka.Group(t, "g")
	produceN(t, cfg, topic, 0, 40)
	reg := prometheus.NewRegistry()
	var mu sync.Mutex
	var calls []int64
	attempts := 0
	fn := func(_ context.Context, msgs []Message) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, msgs[0].Offset)
		if msgs[0].Offset == 10 && attempts < 2 {
			attempts++
			return errors.New("try again")
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	ret := make(chan error, 1)
	opts := fastGroup(group, []string{topic}, nil)
	opts.MaxBatch = 10
	opts.Registerer = reg
	go func() { ret <- ConsumeBatches(ctx, cfg, opts, fn) }()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) >= 6
	}, 30*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		return committedOffsets(t, cfg, group, topic, 1)[0] == 40
	}, 10*time.Second, 50*time.Millisecond)
	cancel()
	require.NoError(t, <-ret)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []int64{0, 10, 10, 10, 20, 30}, calls)
	m, err := newGroupMetrics(reg)
	require.NoError(t, err)
	require.Equal(t, float64(1), metricValue(t, m.rebalances.WithLabelValues(group)), "retried without leaving the group")
}

func TestRunGroupRejectsBadOptions(t *testing.T) {
	err := RunGroup(context.Background(), Config{Brokers: []string{"k:1"}}, GroupOptions{Topics: []string{"a b"}, HeartbeatInterval: -1})
	require.ErrorContains(t, err, "no group id")
	require.ErrorContains(t, err, "no handler")
	require.ErrorContains(t, err, `topic name "a b"`)
	require.ErrorContains(t, err, "heartbeat interval -1ns is negative")
	err = RunGroup(context.Background(), Config{Brokers: []string{"k:1"}}, GroupOptions{GroupID: "g", Topics: []string{"t"},
		Handler: newRecorder("x"), SessionTimeout: 6 * time.Second, HeartbeatInterval: 3 * time.Second})
	require.ErrorContains(t, err, "more than a third of the session timeout")
	err = ConsumeBatches(context.Background(), Config{Brokers: []string{"k:1"}}, GroupOptions{GroupID: "g", Topics: []string{"t"}}, nil)
	require.ErrorContains(t, err, "no batch function")
}

// idleRecorder counts Idle calls and commits an offset it is told.
type idleRecorder struct {
	*recorder
	idles  int
	commit int64
}

func (r *idleRecorder) Assign(ctx context.Context, topic string, partition int, committed int64) (PartitionConsumer, int64, error) {
	pc, start, err := r.recorder.Assign(ctx, topic, partition, committed)
	if err != nil {
		return nil, 0, err
	}
	return &idleConsumer{PartitionConsumer: pc, r: r}, start, nil
}

type idleConsumer struct {
	PartitionConsumer
	r *idleRecorder
}

func (c *idleConsumer) Idle(context.Context) (int64, error) {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	c.r.idles++
	return c.r.commit, nil
}

func TestGroupIdleCallsAndCommits(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	topic := newTopic(t, cfg, 1)
	group := testkafka.Group(t, "g")
	produceN(t, cfg, topic, 0, 10)
	r := &idleRecorder{recorder: newRecorder("r"), commit: 7}
	// Handle commits nothing; only Idle does.
	r.result = func([]Message) (int64, error) { return -1, nil }
	runUntil(t, cfg, fastGroup(group, []string{topic}, r), 30*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.idles >= 3
	})
	r.mu.Lock()
	idles := r.idles
	r.mu.Unlock()
	require.GreaterOrEqual(t, idles, 3)
	seen, _ := r.snapshot()
	require.Len(t, seen[0], 10, "every record was handled before the partition went idle")
	require.Equal(t, map[int]int64{0: 7}, committedOffsets(t, cfg, group, topic, 1))
}
