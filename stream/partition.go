package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus/kafkabus"
	"github.com/tocsin-siem/tocsin/engine"
	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
)

// Headers of repartition copies, besides wire.HeaderType.
const (
	// HeaderKeySet names the key set a repartition copy is for.
	HeaderKeySet = "tocsin-keyset"
	// HeaderOrigin is "<partition>:<offset>" of the copy's event in the
	// events topic.
	HeaderOrigin = "tocsin-origin"
	// TypeCheckpoint is the wire.HeaderType value of checkpoint records.
	TypeCheckpoint = "checkpoint/1"
)

// revokeTimeout bounds the final checkpoint of a revoked partition, which
// may run after the group's context ended.
const revokeTimeout = 30 * time.Second

var (
	typeEvent      = []byte(wire.TypeEvent)
	typeAlert      = []byte(wire.TypeAlert)
	typeCheckpoint = []byte(TypeCheckpoint)
)

// partition consumes one partition of the events topic (one engine over
// the local rules) or of the repartition topic (one engine per key set).
// Its methods run in one goroutine.
type partition struct {
	r      *Runner
	topic  string
	part   int
	key    string
	repart bool
	log    zerolog.Logger
	// noisy is log, rate-limited, for problems of single records.
	noisy zerolog.Logger
	plan  *plan

	units map[string]*unit // by key set; "" on an events partition

	vm    vm.VM
	sink  alertSink
	evs   []schemas.Event
	ptrs  []*schemas.Event
	out   []kafkabus.Message
	arena []byte
	hdrs  []kafkabus.Header
	// copies counts this batch's copies per key set (plan.keysets order).
	copies []int

	// replayUntil: records below it had their alerts and copies produced
	// before the group committed; they only rebuild windows.
	replayUntil int64
	// next is the offset after the last record handled; ckptNext that of
	// the last checkpoint written or restored.
	next, ckptNext int64
	sinceCkpt      int
	lastCkpt       time.Time
	// ckptCost is how long the last checkpoint took.
	ckptCost time.Duration
	// diverged is set when a batch failed after the engines took it: the
	// windows then hold records beyond next, which are delivered again, so
	// this state must not be checkpointed.
	diverged bool
	// firstDue asks for a checkpoint after the first batch of a partition
	// that had none, so that the group never commits an offset of a
	// partition without a checkpoint to restore its windows from.
	firstDue bool
	// dirty is set when the state moved since the last checkpoint.
	dirty bool

	// hwm is the highest event time of the latest batch an events
	// partition read, sent to the repartition partitions in progress
	// markers; idleSent is set once they were told that the partition
	// caught up.
	hwm      int64
	idleSent bool
	// markedHwm and markedAt are the progress and time of the last marker.
	markedHwm int64
	markedAt  time.Time
	// groupCap is the partition's share of Engine.MaxGroupsPerRule.
	groupCap int
	// ro holds a repartition partition's copies until they are due.
	ro        reorder
	due       []heldCopy
	heldGauge prometheus.Gauge

	repartitioned map[string]prometheus.Counter // by key set
	duplicates    map[string]prometheus.Counter
	replayed      prometheus.Counter
	bad           prometheus.Counter
}

// unit is one engine of a partition.
type unit struct {
	keySet string
	eng    *engine.Engine
	reg    *engineRegisterer
	// origins is the highest origin offset seen per events partition.
	origins map[int32]int64
	batch   []*schemas.Event
	// snapSize is the size of the last snapshot, to size the next one's
	// buffer.
	snapSize int
}

// alertSink collects the alerts of a partition's engines, which run
// inline (one shard) in the partition's goroutine.
type alertSink struct{ alerts []schemas.Alert }

func (s *alertSink) Publish(_ context.Context, batch []schemas.Alert) error {
	s.alerts = append(s.alerts, batch...)
	return nil
}

func (s *alertSink) reset() {
	clear(s.alerts)
	s.alerts = s.alerts[:0]
}

func newPartition(r *Runner, topic string, part int, repart bool) *partition {
	log := r.log.With().Str("topic", topic).Int("partition", part).Logger()
	p := &partition{
		r: r, topic: topic, part: part, key: r.checkpointKey(topic, part), repart: repart,
		log:           log,
		noisy:         log.Sample(&zerolog.BurstSampler{Burst: 5, Period: time.Minute}),
		plan:          r.plan.Load(),
		units:         map[string]*unit{},
		repartitioned: map[string]prometheus.Counter{},
		duplicates:    map[string]prometheus.Counter{},
		replayed:      r.m.replayed.WithLabelValues(topic),
		bad:           r.m.badRecords.WithLabelValues(topic),
		hwm:           math.MinInt64,
	}
	p.ro.since = time.Now()
	if repart {
		p.heldGauge = r.m.reorderHeld.WithLabelValues(strconv.Itoa(part))
	}
	return p
}

// unitFor returns the engine of a key set ("" for the local rules),
// creating it on first use.
func (p *partition) unitFor(keySet string, set *rules.Set) (*unit, error) {
	if u := p.units[keySet]; u != nil {
		return u, nil
	}
	reg := newEngineRegisterer(p.r.opts.Registerer, p.topic, p.part, keySet)
	eo := p.r.opts.Engine
	eo.Rules = set
	eo.Alerts = &p.sink
	eo.Shards = 1
	eo.MaxGroupsPerRule = p.groupCap
	// The engine names its own component; the partition labels stay.
	eo.Logger = p.r.opts.Logger.With().Str("group", p.r.opts.Group).Str("topic", p.topic).Int("partition", p.part).Str("keyset", keySet).Logger()
	eo.Registerer = reg
	eng, err := engine.New(eo)
	if err != nil {
		reg.unregisterAll()
		return nil, fmt.Errorf("cannot start the engine of %s/%d key set %q: %w", p.topic, p.part, keySet, err)
	}
	u := &unit{keySet: keySet, eng: eng, reg: reg, origins: map[int32]int64{}}
	p.units[keySet] = u
	return u, nil
}

func (p *partition) dropUnit(u *unit) {
	_ = u.eng.Close(context.Background()) // inline engine: nothing queued
	u.reg.unregisterAll()
	delete(p.units, u.keySet)
}

// close releases the engines and their metric series.
func (p *partition) close() {
	p.ro.held = nil
	p.reportHeld()
	for _, u := range p.units {
		p.dropUnit(u)
	}
}

// restore loads a checkpoint record and returns its offset.
func (p *partition) restore(rec []byte) (int64, error) {
	c, err := decodeCheckpoint(rec)
	if err != nil {
		return 0, err
	}
	if c.Topic != p.topic || c.Partition != p.part {
		return 0, fmt.Errorf("checkpoint under key %q is for %s/%d", p.key, c.Topic, c.Partition)
	}
	changed, gone := 0, 0
	for id, h := range c.Rules {
		switch cur, ok := p.plan.hashes[id]; {
		case !ok:
			gone++
		case cur != h:
			changed++
		}
	}
	if changed+gone > 0 {
		p.log.Warn().Int("changed", changed).Int("removed", gone).Msg("rules changed since the checkpoint; their windows start empty, the others are kept")
	}
	for _, es := range c.Engines {
		set := p.plan.local
		if p.repart {
			ks := p.plan.byName[es.KeySet]
			if ks == nil {
				p.log.Warn().Str("keyset", es.KeySet).Msg("checkpoint holds windows of a key set no rule uses any more; they are dropped")
				continue
			}
			set = ks.rules
		} else if es.KeySet != "" {
			return 0, fmt.Errorf("checkpoint of events partition %d holds key set %q", p.part, es.KeySet)
		}
		u, err := p.unitFor(es.KeySet, set)
		if err != nil {
			return 0, err
		}
		if err := u.eng.Restore(bytes.NewReader(es.Snapshot)); err != nil {
			return 0, fmt.Errorf("key set %q: %w", es.KeySet, err)
		}
		for k, v := range es.Origins {
			u.origins[k] = v
		}
	}
	if c.HighWater != 0 {
		p.hwm = c.HighWater
	}
	now := time.Now()
	for _, m := range c.Marks {
		p.ro.note(m.Origin, m.HighWater, m.Idle, now)
	}
	dropped := 0
	for _, h := range c.Held {
		ks := p.plan.byName[h.KeySet]
		if !p.repart || ks == nil {
			dropped++
			continue
		}
		u, err := p.unitFor(ks.name, ks.rules)
		if err != nil {
			return 0, err
		}
		ev := new(schemas.Event)
		if err := wire.DecodeEvent(h.Event, ev); err != nil {
			return 0, fmt.Errorf("held copy %d:%d: %w", h.Origin, h.Offset, err)
		}
		p.ro.hold(heldCopy{ts: mergeTime(ev), evTs: ev.Timestamp.UnixNano(), arrived: now, origin: h.Origin, offset: h.Offset, u: u, ev: ev})
	}
	p.reportHeld()
	if dropped > 0 {
		p.log.Warn().Int("copies", dropped).Msg("checkpoint holds waiting copies for key sets no rule uses any more; they are dropped")
	}
	return c.Next, nil
}

// applyPlan switches the partition to the newest rule set.
func (p *partition) applyPlan() error {
	np := p.r.plan.Load()
	if np == p.plan {
		return nil
	}
	for name, u := range p.units {
		set := np.local
		if p.repart {
			ks := np.byName[name]
			if ks == nil {
				p.log.Info().Str("keyset", name).Msg("no rule uses this key set any more; its windows are dropped")
				p.dropUnit(u)
				continue
			}
			set = ks.rules
		}
		if err := u.eng.Reload(set); err != nil {
			return fmt.Errorf("cannot reload the rules of %s/%d: %w", p.topic, p.part, err)
		}
	}
	p.plan = np
	return nil
}

// Handle implements kafkabus.PartitionConsumer.
func (p *partition) Handle(ctx context.Context, msgs []kafkabus.Message) (int64, error) {
	if len(msgs) == 0 {
		return -1, nil
	}
	if err := p.applyPlan(); err != nil {
		return -1, err
	}
	p.resetOut()
	p.copies = append(p.copies[:0], make([]int, len(p.plan.keysets))...)
	if cap(p.evs) < len(msgs) {
		p.evs = make([]schemas.Event, len(msgs))
	}
	p.evs = p.evs[:len(msgs)]
	// Records below replayUntil come first; each part is run on its own so
	// that the replayed part's alerts can be left out.
	k := sort.Search(len(msgs), func(i int) bool { return msgs[i].Offset >= p.replayUntil })
	var err error
	if k > 0 {
		err = p.run(ctx, msgs[:k], 0, true)
		p.replayed.Add(float64(k))
	}
	if err == nil && k < len(msgs) {
		err = p.run(ctx, msgs[k:], k, false)
		if err == nil && p.markerDue() {
			err = p.queueMarkers(ctx, msgs[len(msgs)-1].Offset, false)
		}
	}
	if err == nil && len(p.out) > 0 {
		err = p.r.opts.Producer.Produce(ctx, p.out)
		if err != nil {
			err = fmt.Errorf("cannot produce %d alerts and copies of %s/%d: %w", len(p.out), p.topic, p.part, err)
		}
	}
	clear(p.out)
	if err != nil {
		p.diverged = true
		return -1, err
	}
	for i, n := range p.copies {
		if n > 0 {
			p.counter(p.repartitioned, p.r.m.repartitioned, p.plan.keysets[i].name).Add(float64(n))
		}
	}
	p.next = msgs[len(msgs)-1].Offset + 1
	p.sinceCkpt += len(msgs)
	p.dirty, p.idleSent = true, false
	if p.checkpointDue() {
		p.checkpoint(ctx)
	}
	if p.r.onHandled != nil {
		p.r.onHandled(p.topic, p.part, p.next)
	}
	if p.firstDue {
		// The partition has no checkpoint yet, and producing this one
		// failed: commit nothing, so that a crash replays from where its
		// windows can be rebuilt; the next batch tries again.
		return -1, nil
	}
	if p.next <= p.replayUntil {
		return -1, nil // still below what the group committed
	}
	return p.next, nil
}

// run feeds msgs (whose first element is msgs[base] of the batch) to the
// engines and, unless replay, queues their alerts and copies in p.out.
func (p *partition) run(ctx context.Context, msgs []kafkabus.Message, base int, replay bool) error {
	var err error
	if p.repart {
		err = p.runRepartition(ctx, msgs)
	} else {
		err = p.runEvents(ctx, msgs, base, replay)
	}
	if err != nil {
		p.sink.reset()
		return err
	}
	if !replay {
		err = p.queueAlerts()
	}
	p.sink.reset()
	return err
}

func (p *partition) runEvents(ctx context.Context, msgs []kafkabus.Message, base int, replay bool) error {
	u, err := p.unitFor("", p.plan.local)
	if err != nil {
		return err
	}
	batchMax := int64(math.MinInt64)
	p.ptrs = p.ptrs[:0]
	for i := range msgs {
		// An event ingest made from a raw-topic record that was consumed
		// again (ingest died before committing it) is dropped here.
		if op, oo, ok := parseOrigin(msgs[i].Header(wire.HeaderRawOrigin)); ok {
			if seen, had := u.origins[op]; had && oo <= seen {
				p.counter(p.duplicates, p.r.m.duplicates, "").Inc()
				continue
			}
			u.origins[op] = oo
		}
		ev := &p.evs[base+i]
		ok, err := p.decode(&msgs[i], ev)
		if err != nil {
			clear(p.ptrs)
			return err
		}
		if !ok {
			continue
		}
		batchMax = max(batchMax, mergeTime(ev))
		p.ptrs = append(p.ptrs, ev)
		if !replay {
			p.route(&msgs[i], ev)
		}
	}
	if len(p.ptrs) > 0 {
		p.hwm = batchMax
	}
	err = u.eng.Handle(ctx, p.ptrs)
	clear(p.ptrs)
	return err
}

// runRepartition notes the progress markers among msgs, holds the copies
// (dropping those delivered again) and feeds the copies that are due to
// their key sets' engines in event time order.
func (p *partition) runRepartition(ctx context.Context, msgs []kafkabus.Message) error {
	now := time.Now()
	for i := range msgs {
		m := &msgs[i]
		if bytes.Equal(m.Header(wire.HeaderType), typeProgress) {
			op, _, ok1 := parseOrigin(m.Header(HeaderOrigin))
			hwm, idle, ok2 := decodeMarker(m.Value)
			if !ok1 || !ok2 {
				p.bad.Inc()
				p.noisy.Warn().Int64("offset", m.Offset).Msg("unreadable progress marker; skipped")
				continue
			}
			p.ro.note(op, hwm, idle, now)
			continue
		}
		name := m.Header(HeaderKeySet)
		ks := p.plan.byName[string(name)]
		if ks == nil {
			p.bad.Inc()
			p.noisy.Warn().Int64("offset", m.Offset).Str("keyset", clip(name)).Msg("copy for a key set no loaded rule uses (do all engines run the same rules?); skipped")
			continue
		}
		u, err := p.unitFor(ks.name, ks.rules)
		if err != nil {
			return err
		}
		op, oo, hasOrigin := parseOrigin(m.Header(HeaderOrigin))
		if hasOrigin {
			if seen, had := u.origins[op]; had && oo <= seen {
				p.counter(p.duplicates, p.r.m.duplicates, ks.name).Inc()
				continue
			}
			u.origins[op] = oo
		}
		// Held copies outlive the batch, whose buffers are reused.
		ev := new(schemas.Event)
		ok, err := p.decode(m, ev)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		p.ro.hold(heldCopy{ts: mergeTime(ev), evTs: ev.Timestamp.UnixNano(), arrived: now, origin: op, offset: oo, u: u, ev: ev})
	}
	_, err := p.release(ctx)
	return err
}

func (p *partition) clearBatches() {
	for _, u := range p.units {
		clear(u.batch)
		u.batch = u.batch[:0]
	}
}

// decode reads an event record. A record that is not an event is
// counted, logged and skipped, since reading it again would not help; an
// event of a newer version than this build reads is an error, so that the
// partition stops there until the engine is upgraded rather than losing it.
//
// Shortcoming: that error ends the member's session, so all of the
// member's partitions are revoked and assigned again in a loop until the
// engine is upgraded, and re-keyed rules stall with them; holding back
// only the one partition would need the group to retry a single
// partition's batch in place.
func (p *partition) decode(m *kafkabus.Message, ev *schemas.Event) (bool, error) {
	if t := m.Header(wire.HeaderType); t != nil && !bytes.Equal(t, typeEvent) {
		if rt, v, ok := wire.ParseType(string(t)); ok && rt == wire.RecordEvent && v > wire.EventVersion {
			return false, fmt.Errorf("record %s/%d@%d is %s, newer than this build reads (%s): upgrade tocsin engine", p.topic, p.part, m.Offset, clip(t), wire.TypeEvent)
		}
		p.bad.Inc()
		p.noisy.Warn().Int64("offset", m.Offset).Str("type", clip(t)).Msg("record is not an event; skipped")
		return false, nil
	}
	if err := wire.DecodeEvent(m.Value, ev); err != nil {
		if errors.Is(err, wire.ErrUnsupportedVersion) {
			return false, fmt.Errorf("record %s/%d@%d: %w: upgrade tocsin engine", p.topic, p.part, m.Offset, err)
		}
		p.bad.Inc()
		p.noisy.Warn().Int64("offset", m.Offset).Err(err).Msg("cannot decode event; skipped")
		return false, nil
	}
	return true, nil
}

// clip bounds a header value quoted in logs and errors.
func clip(b []byte) string {
	const limit = 64
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}

// route queues one copy of ev per key set whose rules may take it.
func (p *partition) route(m *kafkabus.Message, ev *schemas.Event) {
	for ki, ks := range p.plan.keysets {
		if !p.matches(ks, ev) {
			continue
		}
		start := len(p.arena)
		empty := false
		for i, get := range ks.getters {
			v := get(ev)
			if v == "" {
				empty = true // the engine ignores such events for these rules
				break
			}
			if i > 0 {
				p.arena = append(p.arena, 0)
			}
			p.arena = append(p.arena, v...)
		}
		if empty {
			p.arena = p.arena[:start]
			continue
		}
		key := p.arena[start:len(p.arena):len(p.arena)]
		start = len(p.arena)
		p.arena = strconv.AppendInt(p.arena, int64(p.part), 10)
		p.arena = append(p.arena, ':')
		p.arena = strconv.AppendInt(p.arena, m.Offset, 10)
		origin := p.arena[start:len(p.arena):len(p.arena)]
		h := len(p.hdrs)
		p.hdrs = append(p.hdrs,
			kafkabus.Header{Key: wire.HeaderType, Value: typeEvent},
			kafkabus.Header{Key: HeaderKeySet, Value: ks.nameBytes},
			kafkabus.Header{Key: HeaderOrigin, Value: origin})
		p.out = append(p.out, kafkabus.Message{
			Topic: p.r.opts.RepartitionTopic, Key: key, Value: m.Value, Headers: p.hdrs[h:len(p.hdrs):len(p.hdrs)],
		})
		p.copies[ki]++
	}
}

func (p *partition) matches(ks *keySet, ev *schemas.Event) bool {
	for _, c := range ks.conds {
		ok, err := c.Match(ev, &p.vm)
		if err != nil {
			p.noisy.Warn().Str("keyset", ks.name).Err(err).Msg("condition failed at run time; event counted as not matching")
			continue
		}
		if ok {
			return true
		}
	}
	return false
}

// queueAlerts appends the collected alerts to p.out.
func (p *partition) queueAlerts() error {
	for i := range p.sink.alerts {
		a := &p.sink.alerts[i]
		start := len(p.arena)
		p.arena = wire.AppendAlertKey(p.arena, a)
		key := p.arena[start:len(p.arena):len(p.arena)]
		start = len(p.arena)
		var err error
		p.arena, err = wire.AppendAlert(p.arena, a)
		if err != nil {
			return fmt.Errorf("cannot encode alert %s of rule %s: %w", a.ID, a.RuleID, err)
		}
		value := p.arena[start:len(p.arena):len(p.arena)]
		h := len(p.hdrs)
		p.hdrs = append(p.hdrs, kafkabus.Header{Key: wire.HeaderType, Value: typeAlert})
		p.out = append(p.out, kafkabus.Message{
			Topic: p.r.opts.AlertsTopic, Key: key, Value: value, Headers: p.hdrs[h:len(p.hdrs):len(p.hdrs)],
		})
	}
	return nil
}

// counter resolves a per-key-set child once per partition.
func (p *partition) counter(cache map[string]prometheus.Counter, vec *prometheus.CounterVec, ks string) prometheus.Counter {
	c := cache[ks]
	if c == nil {
		c = vec.WithLabelValues(ks)
		cache[ks] = c
	}
	return c
}

// parseOrigin reads a HeaderOrigin value without allocating.
func parseOrigin(v []byte) (int32, int64, bool) {
	i := bytes.IndexByte(v, ':')
	if i <= 0 || i == len(v)-1 {
		return 0, 0, false
	}
	part, ok1 := parseUint(v[:i], 1<<31-1)
	off, ok2 := parseUint(v[i+1:], 1<<63-1)
	return int32(part), off, ok1 && ok2
}

func parseUint(b []byte, limit int64) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n > limit || n < 0 {
			return 0, false
		}
	}
	return n, true
}

// checkpointBudget bounds the share of a partition's time spent writing
// checkpoints: after one that took d, the next waits at least
// checkpointBudget*d, whatever CheckpointInterval and CheckpointEvents say.
// Runner.budget holds it; tests set 0.
const checkpointBudget = 19 // at most 5% of the time

// checkpointDue reports whether a checkpoint is due after a batch.
func (p *partition) checkpointDue() bool {
	if p.firstDue {
		return true
	}
	since := time.Since(p.lastCkpt)
	if since < time.Duration(p.r.budget)*p.ckptCost {
		return false
	}
	return p.sinceCkpt >= p.r.opts.CheckpointEvents || since >= p.r.opts.CheckpointInterval
}

// checkpoint saves the partition's state with its next offset. A failure
// is logged and counted; the previous checkpoint stays in place, and a
// first checkpoint that Kafka refused stays due.
func (p *partition) checkpoint(ctx context.Context) {
	first := p.firstDue
	p.firstDue = false
	p.sinceCkpt = 0
	began := time.Now()
	p.lastCkpt = began
	defer func() {
		p.ckptCost = time.Since(began)
		p.r.m.checkpointSeconds.Observe(p.ckptCost.Seconds())
	}()
	if p.diverged {
		p.noisy.Warn().Int64("checkpoint_offset", p.ckptNext).Int64("offset", p.next).
			Msg("a batch failed after the engines took it; no checkpoint until the partition is assigned again, the previous one stays")
		return
	}
	c := checkpoint{Topic: p.topic, Partition: p.part, Next: p.next, SavedAt: time.Now().UTC(), Rules: map[string]string{}}
	names := make([]string, 0, len(p.units))
	for name := range p.units {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		u := p.units[name]
		var buf bytes.Buffer
		buf.Grow(u.snapSize + u.snapSize/8)
		if err := u.eng.Snapshot(&buf); err != nil {
			p.checkpointFailed(err, 0)
			return
		}
		u.snapSize = buf.Len()
		es := engineState{KeySet: name, Snapshot: buf.Bytes()}
		if len(u.origins) > 0 {
			es.Origins = u.origins
		}
		c.Engines = append(c.Engines, es)
		set := p.plan.local
		if ks := p.plan.byName[name]; p.repart && ks != nil {
			set = ks.rules
		}
		for _, r := range set.Rules {
			c.Rules[r.Spec.ID] = r.Hash
		}
	}
	c.HighWater = p.hwm
	if p.hwm == math.MinInt64 {
		c.HighWater = 0
	}
	for i, m := range p.ro.marks {
		if m.known {
			c.Marks = append(c.Marks, markState{Origin: int32(i), HighWater: m.hwm, Idle: m.idle})
		}
	}
	var evbuf []byte
	for _, h := range p.ro.held {
		start := len(evbuf)
		evbuf = wire.AppendEvent(evbuf, h.ev)
		c.Held = append(c.Held, heldState{KeySet: h.u.keySet, Origin: h.origin, Offset: h.offset, Event: evbuf[start:len(evbuf):len(evbuf)]})
	}
	data, err := encodeCheckpoint(nil, &c)
	if err != nil {
		p.checkpointFailed(err, 0)
		return
	}
	if len(data) > p.r.opts.CheckpointMaxBytes {
		p.checkpointFailed(fmt.Errorf("checkpoint is %d bytes, over the limit of %d (CheckpointMaxBytes; raise it with the state topic's max.message.bytes, or lower the engine's MaxGroupsPerRule or EvidenceLimit)",
			len(data), p.r.opts.CheckpointMaxBytes), len(data))
		return
	}
	msg := []kafkabus.Message{{
		Topic: p.r.opts.StateTopic, Key: []byte(p.key), Value: data,
		Headers: []kafkabus.Header{{Key: wire.HeaderType, Value: typeCheckpoint}},
	}}
	if err := p.r.opts.Producer.Produce(ctx, msg); err != nil {
		p.checkpointFailed(fmt.Errorf("cannot produce checkpoint to %s: %w", p.r.opts.StateTopic, err), len(data))
		// Kafka may take it next time; until a first one lands, the
		// partition commits nothing. A checkpoint over the size limit
		// never will, so that case commits without one (and a crash
		// then restarts the windows empty, as the log said).
		p.firstDue = first
		return
	}
	p.ckptNext = p.next
	p.dirty = false
	p.r.m.checkpoints.WithLabelValues(p.topic).Inc()
	p.r.m.checkpointBytes.WithLabelValues(p.topic, strconv.Itoa(p.part)).Set(float64(len(data)))
}

func (p *partition) checkpointFailed(err error, size int) {
	p.r.m.checkpointErrors.WithLabelValues(p.topic).Inc()
	p.log.Error().Err(err).Int("bytes", size).Int64("checkpoint_offset", p.ckptNext).Int64("offset", p.next).
		Msg("checkpoint not written; the previous one stays, so a restart replays from its offset")
}

// Revoke implements kafkabus.PartitionConsumer: it writes a last
// checkpoint when the state moved since the previous one, then releases
// the partition.
func (p *partition) Revoke(ctx context.Context) {
	defer func() {
		p.close()
		p.r.m.checkpointBytes.DeleteLabelValues(p.topic, strconv.Itoa(p.part))
		if p.repart {
			p.r.m.reorderHeld.DeleteLabelValues(strconv.Itoa(p.part))
		}
		p.r.m.partitions.WithLabelValues(p.topic).Dec()
		p.r.assigned.Add(-1)
		p.r.cache.invalidate()
	}()
	if !p.dirty {
		return
	}

	if err := p.applyPlan(); err != nil {
		p.log.Error().Err(err).Msg("cannot apply the new rules before the last checkpoint")
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	p.checkpoint(cctx)
}
