package stream

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus/kafkabus"
	"github.com/tocsin-siem/tocsin/engine"
	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
)

// fakeProducer keeps what is produced; fail, when set, refuses it (only
// when the batch holds a message to failTopic, if that is set).
type fakeProducer struct {
	mu        sync.Mutex
	msgs      []kafkabus.Message
	fail      error
	failTopic string
	parts     map[string]int
}

func (f *fakeProducer) Produce(_ context.Context, msgs []kafkabus.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		hit := f.failTopic == ""
		for _, m := range msgs {
			hit = hit || m.Topic == f.failTopic
		}
		if hit {
			return f.fail
		}
	}
	for _, m := range msgs {
		c := kafkabus.Message{Topic: m.Topic, Key: clone(m.Key), Value: clone(m.Value), Partition: m.Partition, Direct: m.Direct}
		for _, h := range m.Headers {
			c.Headers = append(c.Headers, kafkabus.Header{Key: h.Key, Value: clone(h.Value)})
		}
		f.msgs = append(f.msgs, c)
	}
	return nil
}

// Partitions reports parts[topic], or 1.
func (f *fakeProducer) Partitions(_ context.Context, topic string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n, ok := f.parts[topic]; ok {
		return n, nil
	}
	return 1, nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// take returns and forgets the messages produced to topic.
func (f *fakeProducer) take(topic string) []kafkabus.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out, rest []kafkabus.Message
	for _, m := range f.msgs {
		if m.Topic == topic {
			out = append(out, m)
		} else {
			rest = append(rest, m)
		}
	}
	f.msgs = rest
	return out
}

const unitRules = `rules:
  - id: src-fail
    title: failures per source
    severity: low
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [source.address]
    threshold: 3
    window: 10m
  - id: user-fail
    title: failures per user
    severity: low
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [user.name]
    threshold: 4
    window: 10m
`

// state is an in-memory state topic for tests.
type state struct {
	mu   sync.Mutex
	recs map[string][]byte
	// reads counts how often the topic was read.
	reads int
}

func (s *state) read(_ context.Context, want map[string]bool) (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	out := map[string][]byte{}
	for k, v := range s.recs {
		if want == nil || want[k] {
			out[k] = v
		}
	}
	return out, nil
}

// keep stores the checkpoints among msgs.
func (s *state) keep(msgs []kafkabus.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recs == nil {
		s.recs = map[string][]byte{}
	}
	for _, m := range msgs {
		s.recs[string(m.Key)] = m.Value
	}
}

func newUnitRunner(t testing.TB, set *rules.Set, prod *fakeProducer, st *state, reg prometheus.Registerer) *Runner {
	t.Helper()
	r, err := New(Options{
		Kafka:       kafkabus.Config{Brokers: []string{"127.0.0.1:1"}},
		Group:       "g",
		EventsTopic: "ev", RepartitionTopic: "rp", StateTopic: "st", AlertsTopic: "al",
		Rules:    set,
		Producer: prod,
		Engine:   engine.Options{Now: func() time.Time { return time.Unix(0, 0) }},
		// Copies are fed as they arrive; reorder tests set their own.
		ReorderWait: -1,
		// Checkpoints only when a test asks (Revoke) unless it lowers these.
		CheckpointInterval: time.Hour,
		CheckpointEvents:   1 << 30,
		Registerer:         reg,
	})
	require.NoError(t, err)
	r.readState = st.read
	return r
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// failure is a failed ssh login of user from src, i seconds after t0.
func failure(i int, src, user string) *schemas.Event {
	return &schemas.Event{
		ID:        uint64(1000 + i),
		Timestamp: t0.Add(time.Duration(i) * time.Second),
		Event:     schemas.EventInfo{Kind: "event", Action: "ssh_login", Outcome: "failure", Count: 1, Dataset: "sshd"},
		Source:    schemas.Endpoint{IP: src},
		User:      schemas.User{Name: user},
		Host:      schemas.Host{Name: "web1"},
		Message:   "Failed password for " + user + " from " + src,
	}
}

// records encodes evs as event records at offsets from first on.
func records(first int64, evs ...*schemas.Event) []kafkabus.Message {
	out := make([]kafkabus.Message, len(evs))
	for i, ev := range evs {
		out[i] = kafkabus.Message{
			Offset: first + int64(i), Value: wire.AppendEvent(nil, ev),
			Headers: []kafkabus.Header{{Key: wire.HeaderType, Value: []byte(wire.TypeEvent)}},
		}
	}
	return out
}

// asRecords gives produced messages the offsets a topic would.
func asRecords(first int64, msgs []kafkabus.Message) []kafkabus.Message {
	for i := range msgs {
		msgs[i].Offset = first + int64(i)
	}
	return msgs
}

func alertsOf(t *testing.T, msgs []kafkabus.Message) []schemas.Alert {
	t.Helper()
	var out []schemas.Alert
	for _, m := range msgs {
		require.Equal(t, wire.TypeAlert, string(m.Header(wire.HeaderType)))
		var a schemas.Alert
		require.NoError(t, wire.DecodeAlert(m.Value, &a))
		require.Equal(t, string(wire.AppendAlertKey(nil, &a)), string(m.Key))
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RuleID+out[i].GroupKey < out[j].RuleID+out[j].GroupKey })
	return out
}

func TestPartitionFlow(t *testing.T) {
	ctx := context.Background()
	prod, st := &fakeProducer{}, &state{}
	reg := prometheus.NewRegistry()
	r := newUnitRunner(t, loadRuleText(t, unitRules), prod, st, reg)

	pc, start, err := r.Assign(ctx, "ev", 2, kafkabus.FirstOffset)
	require.NoError(t, err)
	require.Equal(t, kafkabus.FirstOffset, start)
	require.True(t, r.Ready())

	// alice fails from four sources (rekeyed: one copy each); 10.0.0.1
	// fails three times (local alert); one event has no user: no copy.
	evs := []*schemas.Event{
		failure(0, "10.0.0.1", "alice"), failure(1, "10.0.0.2", "alice"),
		failure(2, "10.0.0.1", ""), failure(3, "10.0.0.3", "alice"),
		failure(4, "10.0.0.1", "alice"),
	}
	next, err := pc.Handle(ctx, records(0, evs...))
	require.NoError(t, err)
	require.Equal(t, int64(5), next)

	alerts := alertsOf(t, prod.take("al"))
	require.Len(t, alerts, 1)
	require.Equal(t, "src-fail", alerts[0].RuleID)
	require.Equal(t, "10.0.0.1", alerts[0].GroupKey)
	require.Equal(t, 3, alerts[0].Count)

	copies := prod.take("rp")
	require.Len(t, copies, 4)
	for i, c := range copies {
		require.Equal(t, "alice", string(c.Key))
		require.Equal(t, "user.name", string(c.Header(HeaderKeySet)))
		require.Equal(t, wire.TypeEvent, string(c.Header(wire.HeaderType)))
		require.Equal(t, fmt.Sprintf("2:%d", []int{0, 1, 3, 4}[i]), string(c.Header(HeaderOrigin)))
	}
	require.Equal(t, 4.0, value(t, r.m.repartitioned.WithLabelValues("user.name")))
	// The partition engine's metrics carry its labels.
	require.Equal(t, 1.0, value(t, r.m.partitions), "one events partition assigned")
	n, err := countSeries(reg, "tocsin_engine_events_total")
	require.NoError(t, err)
	require.Equal(t, 1, n)

	// The repartition side fires user-fail once, on the fourth copy,
	// and drops copies delivered again.
	rc, _, err := r.Assign(ctx, "rp", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	recs := asRecords(0, copies)
	next, err = rc.Handle(ctx, recs[:3])
	require.NoError(t, err)
	require.Equal(t, int64(3), next)
	require.Empty(t, prod.take("al"))
	again := asRecords(3, append(append([]kafkabus.Message{}, copies[1:3]...), copies[3]))
	next, err = rc.Handle(ctx, again)
	require.NoError(t, err)
	require.Equal(t, int64(6), next)
	alerts = alertsOf(t, prod.take("al"))
	require.Len(t, alerts, 1)
	require.Equal(t, "user-fail", alerts[0].RuleID)
	require.Equal(t, "alice", alerts[0].GroupKey)
	require.Equal(t, 4, alerts[0].Count)
	require.Equal(t, 4, alerts[0].EventsTotal)
	require.Equal(t, 2.0, value(t, r.m.duplicates.WithLabelValues("user.name")))
	require.Empty(t, prod.take("rp"), "the repartition side copies nothing")

	// The first batch of a partition without a checkpoint writes one;
	// Revoke writes one when the state moved since.
	ck := prod.take("st")
	require.Len(t, ck, 2)
	require.Equal(t, "g/ev/2", string(ck[0].Key))
	require.Equal(t, "g/rp/0", string(ck[1].Key))
	require.Equal(t, TypeCheckpoint, string(ck[0].Header(wire.HeaderType)))
	pc.Revoke(ctx)
	require.Empty(t, prod.take("st"), "nothing new since the first batch")
	rc.Revoke(ctx)
	require.False(t, r.Ready())
	ck = prod.take("st")
	require.Len(t, ck, 1)
	require.Equal(t, "g/rp/0", string(ck[0].Key))
	c, err := decodeCheckpoint(ck[0].Value)
	require.NoError(t, err)
	require.Equal(t, int64(6), c.Next)
	require.Len(t, c.Engines, 1)
	require.Equal(t, "user.name", c.Engines[0].KeySet)
	require.Equal(t, map[int32]int64{2: 4}, c.Engines[0].Origins)
	require.Equal(t, []string{"user-fail"}, keys(c.Rules))
	n, err = countSeries(reg, "tocsin_engine_events_total")
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, 3.0, value(t, r.m.checkpoints))
}

func keys(m map[string]string) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestRestoreAndReplay: a partition restored from a checkpoint older than
// the committed offset reads the records in between again for its
// windows, without producing their alerts or copies a second time.
func TestRestoreAndReplay(t *testing.T) {
	ctx := context.Background()
	set := loadRuleText(t, unitRules)
	prod, st := &fakeProducer{}, &state{}
	r := newUnitRunner(t, set, prod, st, nil)
	pc, _, err := r.Assign(ctx, "ev", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	_, err = pc.Handle(ctx, records(0, failure(0, "10.0.0.9", "bob")))
	require.NoError(t, err)
	pc.Revoke(ctx)
	st.keep(prod.take("st")) // checkpoint at offset 1, after the first batch
	prod.take("rp")

	// A second member takes over; the group had committed offset 2, so
	// offset 1 was handled (its alerts and copies produced) after the
	// checkpoint.
	prod2 := &fakeProducer{}
	r2 := newUnitRunner(t, set, prod2, st, nil)
	pc, start, err := r2.Assign(ctx, "ev", 0, 2)
	require.NoError(t, err)
	require.Equal(t, int64(1), start, "starts at the checkpoint, below the committed offset")
	next, err := pc.Handle(ctx, records(1, failure(1, "10.0.0.9", "bob")))
	require.NoError(t, err)
	require.Equal(t, int64(-1), next, "nothing new to commit")
	require.Empty(t, prod2.take("rp"), "the copy of offset 1 was produced before the commit")
	require.Equal(t, 1.0, value(t, r2.m.replayed.WithLabelValues("ev")))

	// The window holds the checkpointed failure and the replayed one:
	// the third fires.
	next, err = pc.Handle(ctx, records(2, failure(2, "10.0.0.9", "bob"), failure(3, "10.0.0.8", "bob")))
	require.NoError(t, err)
	require.Equal(t, int64(4), next)
	alerts := alertsOf(t, prod2.take("al"))
	require.Len(t, alerts, 1)
	require.Equal(t, "10.0.0.9", alerts[0].GroupKey)
	require.Equal(t, 3, alerts[0].Count)
	require.Equal(t, []uint64{1000, 1001, 1002}, []uint64{alerts[0].Events[0].ID, alerts[0].Events[1].ID, alerts[0].Events[2].ID})
	require.Len(t, prod2.take("rp"), 2)

	// A straddling batch: offsets 6 and 7 below a committed 8 are
	// replayed, 8 is new. (Offsets 4 and 5 are gone from the topic.)
	pc.Revoke(ctx)
	st.keep(prod2.take("st"))
	r3 := newUnitRunner(t, set, &fakeProducer{}, st, nil)
	pc, start, err = r3.Assign(ctx, "ev", 0, 8)
	require.NoError(t, err)
	require.Equal(t, int64(4), start)
	prod3 := r3.opts.Producer.(*fakeProducer)
	next, err = pc.Handle(ctx, records(6, failure(6, "10.0.0.7", "bob"), failure(7, "10.0.0.7", "bob"), failure(8, "10.0.0.7", "bob")))
	require.NoError(t, err)
	require.Equal(t, int64(9), next)
	alerts = alertsOf(t, prod3.take("al"))
	require.Len(t, alerts, 1, "restored window of 10.0.0.7 is empty, replay rebuilds two, the third fires")
	require.Equal(t, "10.0.0.7", alerts[0].GroupKey)
	copies := prod3.take("rp")
	require.Len(t, copies, 1, "only offset 8 is copied")
	require.Equal(t, "0:8", string(copies[0].Header(HeaderOrigin)))
}

func TestCheckpointCadenceAndLimit(t *testing.T) {
	ctx := context.Background()
	set := loadRuleText(t, unitRules)
	prod, st := &fakeProducer{}, &state{}
	r := newUnitRunner(t, set, prod, st, nil)
	r.opts.CheckpointEvents = 3
	r.budget = 0 // however fast the checkpoints, by the count alone
	pc, _, err := r.Assign(ctx, "ev", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	for i := range 7 {
		_, err = pc.Handle(ctx, records(int64(i), failure(i, fmt.Sprintf("10.1.0.%d", i), "")))
		require.NoError(t, err)
	}
	ck := prod.take("st")
	require.Len(t, ck, 3, "after the first batch, then after 3 more records twice")
	c, err := decodeCheckpoint(ck[0].Value)
	require.NoError(t, err)
	require.Equal(t, int64(1), c.Next)
	c, err = decodeCheckpoint(ck[2].Value)
	require.NoError(t, err)
	require.Equal(t, int64(7), c.Next)

	// Over the size limit: nothing is written, the error is counted, and
	// the partition goes on.
	r.opts.CheckpointMaxBytes = 10
	for i := 7; i < 10; i++ {
		next, err := pc.Handle(ctx, records(int64(i), failure(i, "10.2.0.1", "")))
		require.NoError(t, err)
		require.Equal(t, int64(i+1), next)
	}
	require.Empty(t, prod.take("st"))
	require.Equal(t, 1.0, value(t, r.m.checkpointErrors.WithLabelValues("ev")))

	// A checkpoint that took long delays the next, whatever the count.
	r.opts.CheckpointMaxBytes = DefaultCheckpointMaxBytes
	r.budget = checkpointBudget
	p := pc.(*partition)
	p.lastCkpt, p.ckptCost = time.Now(), time.Hour
	for i := 10; i < 14; i++ {
		_, err := pc.Handle(ctx, records(int64(i), failure(i, "10.2.0.1", "")))
		require.NoError(t, err)
	}
	require.Empty(t, prod.take("st"), "not before 19 hours")
	p.lastCkpt = time.Now().Add(-20 * time.Hour)
	_, err = pc.Handle(ctx, records(14, failure(14, "10.2.0.1", "")))
	require.NoError(t, err)
	require.Len(t, prod.take("st"), 1)
	require.Less(t, p.ckptCost, time.Minute, "the cost is measured again")

	// A refused produce is the same.
	_, err = pc.Handle(ctx, records(15, failure(15, "10.2.0.1", "")))
	require.NoError(t, err)
	prod.fail = fmt.Errorf("broker says no")
	pc.Revoke(ctx)
	require.Equal(t, 2.0, value(t, r.m.checkpointErrors.WithLabelValues("ev")))
}

func TestAssignRefusesOtherTopicsAndReadsStateOncePerGeneration(t *testing.T) {
	ctx := context.Background()
	st := &state{}
	r := newUnitRunner(t, loadRuleText(t, unitRules), &fakeProducer{}, st, nil)
	_, _, err := r.Assign(ctx, "other", 0, 0)
	require.ErrorContains(t, err, `cannot consume topic "other"`)

	var pcs []kafkabus.PartitionConsumer
	for p := range 3 {
		pc, _, err := r.Assign(ctx, "ev", p, kafkabus.FirstOffset)
		require.NoError(t, err)
		pcs = append(pcs, pc)
	}
	require.Equal(t, 1, st.reads)
	for _, pc := range pcs {
		pc.Revoke(ctx)
	}
	_, _, err = r.Assign(ctx, "rp", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	require.Equal(t, 2, st.reads, "a revocation ends the generation")
}

func TestBadRecordsAndNewerEvents(t *testing.T) {
	ctx := context.Background()
	r := newUnitRunner(t, loadRuleText(t, unitRules), &fakeProducer{}, &state{}, nil)
	pc, _, err := r.Assign(ctx, "ev", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	msgs := records(0, failure(0, "10.0.0.1", "x"))
	msgs = append(msgs,
		kafkabus.Message{Offset: 1, Value: []byte("a raw line")},
		kafkabus.Message{Offset: 2, Value: []byte("{}"), Headers: []kafkabus.Header{{Key: wire.HeaderType, Value: []byte(wire.TypeAlert)}}})
	next, err := pc.Handle(ctx, msgs)
	require.NoError(t, err)
	require.Equal(t, int64(3), next)
	require.Equal(t, 2.0, value(t, r.m.badRecords.WithLabelValues("ev")))

	newer := records(3, failure(3, "10.0.0.1", "x"))
	newer[0].Headers[0].Value = []byte("event/2")
	_, err = pc.Handle(ctx, newer)
	require.ErrorContains(t, err, "upgrade tocsin engine")
}

func TestReloadKeepsUnchangedWindows(t *testing.T) {
	ctx := context.Background()
	prod := &fakeProducer{}
	r := newUnitRunner(t, loadRuleText(t, unitRules), prod, &state{}, nil)
	pc, _, err := r.Assign(ctx, "ev", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	_, err = pc.Handle(ctx, records(0, failure(0, "10.0.0.1", "x"), failure(1, "10.0.0.1", "x")))
	require.NoError(t, err)
	require.Len(t, prod.take("rp"), 2)

	// user-fail is gone, a new local match rule appears, src-fail stays.
	require.NoError(t, r.Reload(loadRuleText(t, unitRules[:len("rules:\n")+strings.Index(unitRules[len("rules:\n"):], "  - id: user-fail")]+`  - id: root
    title: root
    severity: low
    kind: match
    condition: user.name == "root"
    group_by: [user.name]
`)))
	_, err = pc.Handle(ctx, records(2, failure(2, "10.0.0.1", "root")))
	require.NoError(t, err)
	alerts := alertsOf(t, prod.take("al"))
	require.Len(t, alerts, 2)
	require.Equal(t, "root", alerts[0].RuleID)
	require.Equal(t, "src-fail", alerts[1].RuleID, "the window of src-fail carried over")
	require.Empty(t, prod.take("rp"), "no key set left")
	require.Error(t, r.Reload(nil))
}

// value reads a counter or gauge, or the sum of a vector's series.
func value(t testing.TB, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	sum := 0.0
	for m := range ch {
		var d dto.Metric
		require.NoError(t, m.Write(&d))
		switch {
		case d.Counter != nil:
			sum += d.Counter.GetValue()
		case d.Gauge != nil:
			sum += d.Gauge.GetValue()
		}
	}
	return sum
}

// countSeries counts the series of one metric name in reg.
func countSeries(reg *prometheus.Registry, name string) (int, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.Metric), nil
		}
	}
	return 0, nil
}

// TestFailedBatchIsNotCheckpointed: when the alerts of a batch cannot be
// produced, the batch is delivered again; the windows that already took
// it must not be saved under the older offset.
func TestFailedBatchIsNotCheckpointed(t *testing.T) {
	ctx := context.Background()
	prod := &fakeProducer{}
	r := newUnitRunner(t, loadRuleText(t, unitRules), prod, &state{}, nil)
	pc, _, err := r.Assign(ctx, "ev", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	_, err = pc.Handle(ctx, records(0, failure(0, "10.0.0.1", "")))
	require.NoError(t, err)
	require.Len(t, prod.take("st"), 1)

	prod.fail = fmt.Errorf("broker gone")
	_, err = pc.Handle(ctx, records(1, failure(1, "10.0.0.1", ""), failure(2, "10.0.0.1", "")))
	require.ErrorContains(t, err, "cannot produce 1 alerts and copies of ev/0: broker gone")
	prod.fail = nil
	_, err = pc.Handle(ctx, records(3, failure(3, "10.0.0.2", "")))
	require.NoError(t, err, "a later batch in the same session still works")
	pc.(*partition).checkpoint(ctx)
	pc.Revoke(ctx)
	require.Empty(t, prod.take("st"))
	require.Zero(t, value(t, r.m.checkpointErrors))
}

// TestRestoreKeepsUnchangedRules: after a rule changed, a restored
// partition keeps the windows of the rules that did not.
func TestRestoreKeepsUnchangedRules(t *testing.T) {
	ctx := context.Background()
	prod, st := &fakeProducer{}, &state{}
	r := newUnitRunner(t, loadRuleText(t, unitRules), prod, st, nil)
	pc, _, err := r.Assign(ctx, "rp", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	// Copies of alice's failures for the user.name key set (user-fail).
	copies := func(first int64, evs ...*schemas.Event) []kafkabus.Message {
		msgs := records(first, evs...)
		for i := range msgs {
			msgs[i].Headers = append(msgs[i].Headers,
				kafkabus.Header{Key: HeaderKeySet, Value: []byte("user.name")},
				kafkabus.Header{Key: HeaderOrigin, Value: fmt.Appendf(nil, "0:%d", first+int64(i))})
		}
		return msgs
	}
	_, err = pc.Handle(ctx, copies(0, failure(0, "10.0.0.1", "alice"), failure(1, "10.0.0.2", "alice"), failure(2, "10.0.0.3", "alice")))
	require.NoError(t, err)
	pc.Revoke(ctx)
	st.keep(prod.take("st"))

	for _, tc := range []struct {
		name  string
		text  string
		fires bool
	}{
		{"unchanged", unitRules, true},
		{"window changed", strings.Replace(unitRules, "threshold: 4\n    window: 10m", "threshold: 4\n    window: 11m", 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NotEqual(t, tc.fires, tc.text != unitRules)
			text := tc.text
			prod2 := &fakeProducer{}
			r2 := newUnitRunner(t, loadRuleText(t, text), prod2, st, nil)
			pc, start, err := r2.Assign(ctx, "rp", 0, kafkabus.FirstOffset)
			require.NoError(t, err)
			require.Equal(t, int64(3), start)
			// A fourth failure.
			_, err = pc.Handle(ctx, copies(3, failure(3, "10.0.0.4", "alice")))
			require.NoError(t, err)
			alerts := alertsOf(t, prod2.take("al"))
			if tc.fires {
				require.Len(t, alerts, 1, "three restored failures and the fourth reach the threshold")
				require.Equal(t, 4, alerts[0].Count)
			} else {
				require.Empty(t, alerts, "the changed rule starts empty")
			}
		})
	}
}

func TestNewListsEveryProblem(t *testing.T) {
	_, err := New(Options{
		Kafka:       kafkabus.Config{Brokers: []string{"127.0.0.1:1"}},
		EventsTopic: "t", RepartitionTopic: "t", StateTopic: "s",
		KeyFields:        []string{"source.adress"},
		CheckpointEvents: -1,
	})
	require.Error(t, err)
	for _, want := range []string{
		"cannot start the stream engine",
		"consumer group (Group) is empty",
		`the events topic and the repartition topic are both "t"`,
		"alerts topic name is empty",
		"key fields:", "source.address",
		"no rule set", "no producer",
		"events -1",
	} {
		require.ErrorContains(t, err, want)
	}
}

// TestRawOriginDropsEventsMadeTwice: ingest consumed a raw-topic record
// twice (it died before committing) and produced its event again; the
// events partition counts it once, also across a checkpoint and restore.
func TestRawOriginDropsEventsMadeTwice(t *testing.T) {
	ctx := context.Background()
	prod, st := &fakeProducer{}, &state{}
	r := newUnitRunner(t, loadRuleText(t, unitRules), prod, st, prometheus.NewRegistry())
	pc, _, err := r.Assign(ctx, "ev", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	withOrigin := func(msgs []kafkabus.Message, origins ...string) []kafkabus.Message {
		for i := range msgs {
			msgs[i].Headers = append(msgs[i].Headers, kafkabus.Header{Key: wire.HeaderRawOrigin, Value: []byte(origins[i])})
		}
		return msgs
	}
	// Raw partition 7, offsets 40 and 41, then both again, then 42: the
	// source failed three times, not five.
	batch := withOrigin(records(0, failure(0, "10.0.0.9", "u1"), failure(1, "10.0.0.9", "u2")), "7:40", "7:41")
	_, err = pc.Handle(ctx, batch)
	require.NoError(t, err)
	pc.Revoke(ctx) // checkpoints the origins with the windows
	st.keep(prod.take("st"))
	pc, start, err := r.Assign(ctx, "ev", 0, 2)
	require.NoError(t, err)
	require.Equal(t, int64(2), start)
	again := withOrigin(records(2, failure(0, "10.0.0.9", "u1"), failure(1, "10.0.0.9", "u2"), failure(2, "10.0.0.9", "u3")),
		"7:40", "7:41", "7:42")
	next, err := pc.Handle(ctx, again)
	require.NoError(t, err)
	require.Equal(t, int64(5), next)
	alerts := alertsOf(t, prod.take("al"))
	require.Len(t, alerts, 1, "the third distinct failure fires src-fail")
	require.Equal(t, 3, alerts[0].Count)
	var users []string
	for _, ev := range alerts[0].Events {
		users = append(users, ev.User.Name)
	}
	require.Equal(t, []string{"u1", "u2", "u3"}, users, "the alert's events are the three distinct failures")
	require.Equal(t, 2.0, value(t, r.m.duplicates.WithLabelValues("")))
	// Another raw partition's offsets are its own.
	_, err = pc.Handle(ctx, withOrigin(records(5, failure(3, "10.0.0.9", "u4")), "3:40"))
	require.NoError(t, err)
	require.Equal(t, 2.0, value(t, r.m.duplicates.WithLabelValues("")))
}

// TestNoCommitBeforeAFirstCheckpoint: while a partition has no checkpoint
// (the state topic refuses it), its offsets are not committed, so that a
// crash replays from where its windows can be rebuilt.
func TestNoCommitBeforeAFirstCheckpoint(t *testing.T) {
	ctx := context.Background()
	prod := &fakeProducer{fail: fmt.Errorf("not leader for partition"), failTopic: "st"}
	r := newUnitRunner(t, loadRuleText(t, unitRules), prod, &state{}, nil)
	pc, _, err := r.Assign(ctx, "ev", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	next, err := pc.Handle(ctx, records(0, failure(0, "10.0.0.1", "")))
	require.NoError(t, err)
	require.Equal(t, int64(-1), next, "no checkpoint yet: nothing to commit")
	next, err = pc.Handle(ctx, records(1, failure(1, "10.0.0.1", "")))
	require.NoError(t, err)
	require.Equal(t, int64(-1), next)
	require.Equal(t, 2.0, value(t, r.m.checkpointErrors))

	prod.fail = nil
	next, err = pc.Handle(ctx, records(2, failure(2, "10.0.0.1", "")))
	require.NoError(t, err)
	require.Equal(t, int64(3), next, "the first checkpoint landed: commit")
	require.Len(t, prod.take("st"), 1)
	next, err = pc.Handle(ctx, records(3, failure(3, "10.0.0.1", "")))
	require.NoError(t, err)
	require.Equal(t, int64(4), next)
	require.Empty(t, prod.take("st"), "later checkpoints follow the interval again")
}

// TestAssignedKeepsOnlyOwnCheckpoints: told the generation's assignment,
// the member keeps only its own partitions' checkpoints from the read.
func TestAssignedKeepsOnlyOwnCheckpoints(t *testing.T) {
	ctx := context.Background()
	st := &state{recs: map[string][]byte{"g/ev/0": []byte("a"), "g/ev/1": []byte("b"), "g/rp/0": []byte("c"), "other/ev/0": []byte("d")}}
	r := newUnitRunner(t, loadRuleText(t, unitRules), &fakeProducer{}, st, nil)
	r.Assigned(ctx, map[string][]int{"ev": {1}, "rp": {0}})
	rec, found, err := r.cache.get(ctx, "g/ev/1", r.readState)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "b", string(rec))
	require.Equal(t, map[string][]byte{"g/rp/0": []byte("c")}, r.cache.recs, "nothing of other members is kept")
	// An assignment it was not told of reads everything again.
	rec, found, err = r.cache.get(ctx, "g/ev/0", r.readState)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "a", string(rec))
	require.Equal(t, 2, st.reads)
}

// TestGroupCapIsShared: MaxGroupsPerRule is shared out over the topic's
// partitions, with a floor.
func TestGroupCapIsShared(t *testing.T) {
	ctx := context.Background()
	prod := &fakeProducer{parts: map[string]int{"ev": 8, "rp": 100}}
	reg := prometheus.NewRegistry()
	r := newUnitRunner(t, loadRuleText(t, unitRules), prod, &state{}, reg)
	r.opts.Engine.MaxGroupsPerRule = 16000
	pc, _, err := r.Assign(ctx, "ev", 3, kafkabus.FirstOffset)
	require.NoError(t, err)
	require.Equal(t, 2000, pc.(*partition).groupCap)
	rc, _, err := r.Assign(ctx, "rp", 0, kafkabus.FirstOffset)
	require.NoError(t, err)
	require.Equal(t, MinGroupsPerPartition, rc.(*partition).groupCap)
	// The engines get it: a 2001st source evicts the least recent.
	var evs []*schemas.Event
	for i := range 2001 {
		evs = append(evs, failure(i, fmt.Sprintf("10.3.%d.%d", i/256, i%256), ""))
	}
	_, err = pc.Handle(ctx, records(0, evs...))
	require.NoError(t, err)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	dropped := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "tocsin_engine_groups_dropped_total" {
			dropped = mf.Metric[0].GetCounter().GetValue()
		}
	}
	require.Equal(t, 1.0, dropped)
}
