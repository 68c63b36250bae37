package stream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus/kafkabus"
	"github.com/tocsin-siem/tocsin/rules"
)

// Runner is one member of the engine's consumer group. It implements
// kafkabus.PartitionHandler: RunGroup calls Assign for each partition it
// is given, and each partition then runs in its own goroutine.
type Runner struct {
	opts Options
	log  zerolog.Logger
	m    *metrics
	plan atomic.Pointer[plan]

	assigned atomic.Int64
	// budget is checkpointBudget, grace reorderGrace; tests change them.
	budget int
	grace  time.Duration
	cache  checkpointCache
	// readState reads the group's checkpoints: readCheckpoints, or a
	// stand-in in tests.
	readState func(context.Context, map[string]bool) (map[string][]byte, error)

	// onHandled, when set (tests and benchmarks), is called after each
	// batch with the offset the partition returned for commit.
	onHandled func(topic string, partition int, next int64)
}

// New checks opts and prepares a Runner; Run joins the group.
func New(opts Options) (*Runner, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	r := &Runner{
		opts: opts,
		log:  opts.Logger.With().Str("component", "stream").Str("group", opts.Group).Logger(),
		m:    m,
	}
	r.cache.maxAge = cacheMaxAge
	r.budget = checkpointBudget
	r.grace = reorderGrace
	r.readState = r.readCheckpoints
	r.setPlan(newPlan(opts.Rules, opts.KeyFields))
	return r, nil
}

func (r *Runner) setPlan(p *plan) {
	rekeyed := make([]string, 0, len(p.keysets))
	for _, ks := range p.keysets {
		ids := make([]string, 0, len(ks.rules.Rules))
		for _, rule := range ks.rules.Rules {
			ids = append(ids, rule.Spec.ID)
		}
		rekeyed = append(rekeyed, ks.name+": "+strings.Join(ids, " "))
	}
	r.log.Info().Int("rules", len(p.set.Rules)).Int("local", len(p.local.Rules)).Strs("rekeyed", rekeyed).Msg("rule placement")
	if len(rekeyed) > 0 && r.opts.ReorderWait < 0 {
		r.log.Warn().Strs("rekeyed", rekeyed).
			Msg("reordering is off (engine.reorder_wait 0): re-keyed rules see copies in arrival order, so on a backlog or a backfill they miss or split incidents")
	}
	r.plan.Store(p)
}

// Run consumes the events and repartition topics as a member of the
// group until ctx ends, then returns nil once every partition was revoked
// (which writes its checkpoint); it returns an error only when the group
// cannot go on.
func (r *Runner) Run(ctx context.Context) error {
	g := r.opts.Consumer
	g.GroupID = r.opts.Group
	g.Topics = []string{r.opts.EventsTopic, r.opts.RepartitionTopic}
	g.Handler = r
	g.Logger = r.opts.Logger
	g.Registerer = r.opts.Registerer
	return kafkabus.RunGroup(ctx, r.opts.Kafka, g)
}

// Reload replaces the rule set. Each partition switches at the start of
// its next batch (or when it is revoked): rules whose ID and hash are
// unchanged keep their windows, rules of a key set that no longer exists
// lose theirs. A rule keeps its placement as long as its group_by does not
// change, which changes its hash anyway.
func (r *Runner) Reload(set *rules.Set) error {
	if set == nil {
		return errors.New("cannot reload the stream engine: rule set is nil")
	}
	r.setPlan(newPlan(set, r.opts.KeyFields))
	return nil
}

// Ready reports whether the member holds at least one partition; a
// member of a group with more members than partitions never does.
func (r *Runner) Ready() bool { return r.assigned.Load() > 0 }

// checkpointKey names a partition's record in the state topic.
func (r *Runner) checkpointKey(topic string, partition int) string {
	return r.opts.Group + "/" + topic + "/" + strconv.Itoa(partition)
}

// Assign implements kafkabus.PartitionHandler: it restores the partition's
// checkpoint, if any, and starts at its offset.
func (r *Runner) Assign(ctx context.Context, topic string, partition int, committed int64) (kafkabus.PartitionConsumer, int64, error) {
	var repart bool
	switch topic {
	case r.opts.EventsTopic:
	case r.opts.RepartitionTopic:
		repart = true
	default:
		return nil, 0, fmt.Errorf("cannot consume topic %q: the stream engine reads only %q and %q", topic, r.opts.EventsTopic, r.opts.RepartitionTopic)
	}
	parts, err := r.opts.Producer.Partitions(ctx, topic)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read the partition count of %s: %w", topic, err)
	}
	groupCap := max(r.opts.Engine.MaxGroupsPerRule/max(parts, 1), MinGroupsPerPartition)
	p := newPartition(r, topic, partition, repart)
	p.groupCap = groupCap
	log := p.log.With().Int64("committed", committed).Logger()

	key := r.checkpointKey(topic, partition)
	rec, found, err := r.cache.get(ctx, key, r.readState)
	if err != nil {
		p.close()
		return nil, 0, fmt.Errorf("cannot read the checkpoint of %s/%d from topic %s: %w", topic, partition, r.opts.StateTopic, err)
	}
	start := committed
	restored := false
	if found {
		start0 := time.Now()
		next, rerr := p.restore(rec)
		dur := time.Since(start0)
		r.m.restoreSeconds.Observe(dur.Seconds())
		if rerr != nil {
			r.m.checkpointErrors.WithLabelValues(topic).Inc()
			log.Error().Err(rerr).Int("bytes", len(rec)).Msg("cannot restore the partition's checkpoint; its windows start empty at the committed offset")
			p.close()
			p = newPartition(r, topic, partition, repart)
			p.groupCap = groupCap
		} else {
			start, restored = next, true
			log.Info().Int64("checkpoint_offset", next).Int("bytes", len(rec)).Dur("restore", dur).Msg("partition restored from its checkpoint")
		}
	}
	if repart && r.opts.ReorderWait >= 0 {
		// Every events partition is waited for, also one not heard from
		// yet, for up to ReorderWait.
		n, err := r.opts.Producer.Partitions(ctx, r.opts.EventsTopic)
		if err != nil {
			p.close()
			return nil, 0, fmt.Errorf("cannot read the partition count of %s: %w", r.opts.EventsTopic, err)
		}
		p.ro.expect(n)
	}
	if !found && committed >= 0 {
		log.Warn().Msg("no checkpoint for this partition: its windows start empty, so attacks in progress before the committed offset are counted from here on")
	}
	// Records below the committed offset had their alerts and copies
	// produced before the commit: read them again only for the windows.
	p.replayUntil = max(committed, 0)
	p.firstDue = !restored
	p.next = start
	p.ckptNext = start
	p.lastCkpt = time.Now()
	r.assigned.Add(1)
	r.m.partitions.WithLabelValues(topic).Inc()
	return p, start, nil
}

// Assigned implements kafkabus.AssignmentObserver: the next read of the
// state topic keeps only the checkpoints of these partitions.
func (r *Runner) Assigned(_ context.Context, partitions map[string][]int) {
	want := map[string]bool{}
	for topic, parts := range partitions {
		for _, p := range parts {
			want[r.checkpointKey(topic, p)] = true
		}
	}
	r.cache.expect(want)
}

// readCheckpoints reads the newest checkpoint of every partition of this
// group from the state topic, or of the partitions in want when it is
// not nil.
func (r *Runner) readCheckpoints(ctx context.Context, want map[string]bool) (map[string][]byte, error) {
	prefix := []byte(r.opts.Group + "/")
	start := time.Now()
	recs, err := kafkabus.ReadLatest(ctx, r.opts.Kafka, r.opts.StateTopic, func(key []byte) bool {
		if want != nil {
			return want[string(key)]
		}
		return len(key) > len(prefix) && string(key[:len(prefix)]) == string(prefix)
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(recs))
	size := 0
	for k, m := range recs {
		out[k] = m.Value
		size += len(m.Value)
	}
	r.log.Info().Str("state_topic", r.opts.StateTopic).Int("checkpoints", len(out)).Int("bytes", size).
		Dur("took", time.Since(start)).Msg("read the group's checkpoints")
	return out, nil
}

// cacheMaxAge bounds how long checkpoints read at the start of a
// generation serve later assignments, should a generation end without
// revoking anything.
const cacheMaxAge = 30 * time.Second

// checkpointCache holds the state topic's checkpoints, read once per
// generation: at the first assignment after a revocation (or after
// maxAge). Each entry is handed out once, since a partition is assigned
// once per generation. When the group told the whole assignment first
// (expect), only the checkpoints of the member's partitions are kept.
type checkpointCache struct {
	mu     sync.Mutex
	recs   map[string][]byte
	want   map[string]bool
	readAt time.Time
	maxAge time.Duration
}

// expect starts a generation: the next get reads the topic again,
// keeping the keys in want.
func (c *checkpointCache) expect(want map[string]bool) {
	c.mu.Lock()
	c.recs, c.want = nil, want
	c.mu.Unlock()
}

func (c *checkpointCache) get(ctx context.Context, key string, read func(context.Context, map[string]bool) (map[string][]byte, error)) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.want != nil && !c.want[key] {
		c.want = nil // an assignment it was not told of: read everything
		c.recs = nil
	}
	if c.recs == nil || time.Since(c.readAt) > c.maxAge {
		recs, err := read(ctx, c.want)
		if err != nil {
			return nil, false, err
		}
		c.recs, c.readAt = recs, time.Now()
	}
	v, ok := c.recs[key]
	delete(c.recs, key)
	return v, ok && v != nil, nil
}

// invalidate makes the next get read the topic again.
func (c *checkpointCache) invalidate() {
	c.mu.Lock()
	c.recs = nil
	c.mu.Unlock()
}
