package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
)

// ErrClosed is returned by Handle and the other methods after Close.
var ErrClosed = errors.New("engine: closed")

// Options configure an Engine. Zero values take the documented defaults.
type Options struct {
	// Rules is the rule set to run. Required.
	Rules *rules.Set
	// Alerts receives every alert. Required. Shard goroutines publish to
	// it concurrently; a slow publisher slows the engine down
	// (back-pressure) rather than dropping alerts.
	Alerts bus.Publisher[schemas.Alert]
	// Shards is the number of goroutines that own correlation state.
	// Default runtime.GOMAXPROCS(0). With 1, Handle does all the work in
	// the caller's goroutine.
	Shards int
	// EvidenceLimit caps the events copied into an alert; Count and
	// EventsTotal stay exact. Default 100.
	EvidenceLimit int
	// MaxGroupsPerRule caps the open groups of one rule across all shards.
	// When a shard's share is full, its least recently active group is
	// evicted and tocsin_engine_groups_dropped_total counts it. Default
	// 100000.
	MaxGroupsPerRule int
	// QueueLen is the number of batches each shard's queue holds before
	// Handle blocks. Default 64.
	QueueLen int
	// Lateness is how far behind a shard's watermark (its newest event
	// time) an idle group may fall, beyond its rule's horizon, before it is
	// expired. Default 1m.
	Lateness time.Duration
	// FutureTolerance is how far ahead of its own receive time
	// (event.created) an event may claim to be and still advance the
	// expiry watermark; an event further ahead is still correlated, but
	// cannot make everyone else's windows expire. Default 10m.
	FutureTolerance time.Duration
	// Logger receives warnings; the zero value logs nothing.
	Logger zerolog.Logger
	// Registerer takes the engine's metrics; nil means none are exported.
	Registerer prometheus.Registerer
	// Now stamps Alert.CreatedAt. Default time.Now.
	Now func() time.Time
}

// Engine correlates events against a rule set. Conditions are evaluated
// in the caller's goroutine; stateful work is routed by group key to
// shard goroutines that own their state, so per-group order is kept and
// no lock is shared on the hot path.
//
// Handle may be called from several goroutines. Reload, Snapshot and
// Restore wait for in-flight Handle calls and queued work to finish.
type Engine struct {
	opts Options
	log  zerolog.Logger
	m    *metrics
	seed maphash.Seed

	// mu is held for reading by Handle and Flush, and for writing by
	// Reload, Snapshot, Restore and Close, which so see no work in flight
	// between the callers and the shard queues.
	mu     sync.RWMutex
	set    *ruleSet
	shards []*shard
	closed bool

	callers sync.Pool // *caller
	batches sync.Pool // *[]item
	wg      sync.WaitGroup
	// perShardCap is MaxGroupsPerRule split over the shards.
	perShardCap int
}

// caller is per-Handle scratch space.
type caller struct {
	vm     vm.VM
	items  []*[]item // per shard
	alerts []schemas.Alert
	vals   []string
	// own is the engine's copy of the event being evaluated, made when
	// its first stateful rule takes it (see route).
	own *schemas.Event
}

// item is one (rule, condition, event) for a shard.
type item struct {
	rule  *engRule
	ev    *schemas.Event
	input int32
}

// New starts an engine.
func New(opts Options) (*Engine, error) {
	if opts.Rules == nil {
		return nil, errors.New("cannot start engine: Options.Rules is nil")
	}
	if opts.Alerts == nil {
		return nil, errors.New("cannot start engine: Options.Alerts is nil")
	}
	if opts.Shards <= 0 {
		opts.Shards = runtime.GOMAXPROCS(0)
	}
	if opts.EvidenceLimit <= 0 {
		opts.EvidenceLimit = 100
	}
	if opts.MaxGroupsPerRule <= 0 {
		opts.MaxGroupsPerRule = 100_000
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 64
	}
	if opts.Lateness <= 0 {
		opts.Lateness = time.Minute
	}
	if opts.FutureTolerance <= 0 {
		opts.FutureTolerance = 10 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		opts:        opts,
		log:         opts.Logger.With().Str("component", "engine").Logger(),
		m:           m,
		seed:        maphash.MakeSeed(),
		perShardCap: max(1, (opts.MaxGroupsPerRule+opts.Shards-1)/opts.Shards),
	}
	e.log = e.log.Sample(&zerolog.BurstSampler{Burst: 10, Period: time.Minute})
	e.callers.New = func() any { return &caller{items: make([]*[]item, opts.Shards)} }
	e.batches.New = func() any { s := make([]item, 0, 256); return &s }
	e.set = e.compileSet(opts.Rules)
	for i := range opts.Shards {
		sh := newShard(e, i)
		sh.resize(e.set, nil)
		e.shards = append(e.shards, sh)
		if opts.Shards > 1 {
			sh.in = make(chan message, opts.QueueLen)
			e.wg.Add(1)
			go sh.run()
		}
	}
	return e, nil
}

func (e *Engine) inline() bool { return len(e.shards) == 1 }

// Handle evaluates a batch of events. It implements bus.Handler. An event
// that a stateful rule takes is copied once, so windows never hold the
// caller's pointers: ingest allocates events many at a time, and a window
// holding one of them would keep all its neighbours alive. The caller must
// not modify the events until Handle returns. With more than one shard
// Handle returns once the work is queued; Flush waits for it.
func (e *Engine) Handle(ctx context.Context, batch []*schemas.Event) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrClosed
	}
	c := e.callers.Get().(*caller)
	defer e.callers.Put(c)
	set := e.set
	for _, ev := range batch {
		if ev == nil {
			continue
		}
		c.own = nil
		for i := range set.index {
			ix := &set.index[i]
			for _, cg := range ix.by[ix.get(ev)] {
				e.consider(c, cg, ev)
			}
		}
		for _, cg := range set.always {
			e.consider(c, cg, ev)
		}
	}
	e.m.events.Add(float64(len(batch)))
	err := e.dispatch(ctx, c)
	if len(c.alerts) > 0 {
		if perr := e.publish(ctx, c.alerts); perr != nil && err == nil {
			err = perr
		}
		clear(c.alerts)
		c.alerts = c.alerts[:0]
	}
	return err
}

// consider evaluates one condition on ev and, when it holds, routes the
// event to every rule input that uses the condition.
func (e *Engine) consider(c *caller, cg *condGroup, ev *schemas.Event) {
	ok, err := cg.cond.Match(ev, &c.vm)
	if err != nil {
		for i := range cg.cands {
			cg.cands[i].rule.errors.Inc()
		}
		e.log.Warn().Str("rule", cg.cands[0].rule.r.Spec.ID).Err(err).Msg("condition failed at run time; event counted as not matching")
		return
	}
	if !ok {
		return
	}
	for i := range cg.cands {
		e.route(c, &cg.cands[i], ev)
	}
}

// route queues ev for the shard owning the rule's group, or raises a match
// alert at once for stateless rules.
func (e *Engine) route(c *caller, cand *candidate, ev *schemas.Event) {
	r := cand.rule
	if r.stateless {
		c.vals = c.vals[:0]
		for _, g := range r.getters {
			c.vals = append(c.vals, g(ev))
		}
		f := rules.Firing{FirstSeen: ev.Timestamp, LastSeen: ev.Timestamp, Count: ev.Event.Count, Events: []*schemas.Event{ev}}
		c.alerts = append(c.alerts, e.buildAlert(r, c.vals, &f))
		r.alerts.Inc()
		return
	}
	shard := 0
	if !e.inline() {
		h, ok := e.groupHash(r, ev)
		if !ok {
			return
		}
		shard = int(h % uint64(len(e.shards)))
	}
	b := c.items[shard]
	if b == nil {
		b = e.batches.Get().(*[]item)
		c.items[shard] = b
	}
	if c.own == nil {
		c.own = new(schemas.Event)
		*c.own = *ev
	}
	*b = append(*b, item{rule: r, ev: c.own, input: cand.input})
}

// groupHash hashes the event's group key the way keyHash hashes a stored
// key, without building the key. ok is false when a group_by value is
// missing: such events take no part in the rule.
func (e *Engine) groupHash(r *engRule, ev *schemas.Event) (uint64, bool) {
	switch len(r.getters) {
	case 0:
		return maphash.String(e.seed, ""), true
	case 1:
		v := r.getters[0](ev)
		return maphash.String(e.seed, v), v != ""
	}
	var h maphash.Hash
	h.SetSeed(e.seed)
	for i, g := range r.getters {
		v := g(ev)
		if v == "" {
			return 0, false
		}
		if i > 0 {
			h.WriteByte(keySep)
		}
		h.WriteString(v)
	}
	return h.Sum64(), true
}

// keySep separates group_by values in stored group keys.
const keySep = 0

func (e *Engine) keyHash(key string) uint64 { return maphash.String(e.seed, key) }

// dispatch hands the caller's per-shard batches over.
func (e *Engine) dispatch(ctx context.Context, c *caller) error {
	if e.inline() {
		b := c.items[0]
		if b == nil {
			return nil
		}
		c.items[0] = nil
		sh := e.shards[0]
		sh.mu.Lock()
		sh.processBatch(*b)
		alerts := sh.takeAlerts()
		sh.mu.Unlock()
		e.putBatch(b)
		if len(alerts) > 0 {
			return e.publish(ctx, alerts)
		}
		return nil
	}
	var err error
	for i, b := range c.items {
		if b == nil {
			continue
		}
		c.items[i] = nil
		if err != nil {
			e.putBatch(b)
			continue
		}
		select {
		case e.shards[i].in <- message{items: b}:
		case <-ctx.Done():
			e.putBatch(b)
			err = fmt.Errorf("cannot queue events for shard %d: %w", i, ctx.Err())
		}
	}
	return err
}

func (e *Engine) putBatch(b *[]item) {
	clear(*b)
	*b = (*b)[:0]
	e.batches.Put(b)
}

func (e *Engine) publish(ctx context.Context, alerts []schemas.Alert) error {
	if err := e.opts.Alerts.Publish(ctx, alerts); err != nil {
		e.log.Error().Err(err).Int("alerts", len(alerts)).Msg("cannot publish alerts")
		return fmt.Errorf("cannot publish %d alerts: %w", len(alerts), err)
	}
	return nil
}

// onShards runs fn in every shard's own goroutine (or directly, inline)
// and waits for all of them. The caller holds e.mu.
func (e *Engine) onShards(ctx context.Context, fn func(*shard)) error {
	if e.inline() {
		sh := e.shards[0]
		sh.mu.Lock()
		defer sh.mu.Unlock()
		fn(sh)
		return nil
	}
	dones := make([]chan struct{}, len(e.shards))
	for i, sh := range e.shards {
		dones[i] = make(chan struct{})
		select {
		case sh.in <- message{ctl: fn, done: dones[i]}:
		case <-ctx.Done():
			return fmt.Errorf("cannot reach shard %d: %w", i, ctx.Err())
		}
	}
	for i, d := range dones {
		select {
		case <-d:
		case <-ctx.Done():
			return fmt.Errorf("cannot wait for shard %d: %w", i, ctx.Err())
		}
	}
	return nil
}

// Flush returns once every event handed in before the call is processed
// and the resulting alerts are published. Replay calls it at the end of
// its input.
func (e *Engine) Flush(ctx context.Context) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrClosed
	}
	return e.onShards(ctx, func(*shard) {})
}

// Reload replaces the rule set. The windows of a rule whose ID and Hash
// are unchanged carry over; every other rule starts empty, and removed
// rules lose their state and metric series.
func (e *Engine) Reload(set *rules.Set) error {
	if set == nil {
		return errors.New("cannot reload engine: rule set is nil")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	old := e.set
	next := e.compileSet(set)
	carry := make([]int, len(next.rules)) // new slot -> old slot, or -1
	oldByID := make(map[string]*engRule, len(old.rules))
	for _, r := range old.rules {
		oldByID[r.r.Spec.ID] = r
	}
	kept := map[string]bool{}
	for i, r := range next.rules {
		carry[i] = -1
		if o := oldByID[r.r.Spec.ID]; o != nil && o.r.Hash == r.r.Hash && !r.stateless {
			carry[i] = o.slot
			kept[r.r.Spec.ID] = true
		}
	}
	err := e.onShards(context.Background(), func(sh *shard) { sh.resize(next, carry) })
	if err != nil {
		return fmt.Errorf("cannot reload engine: %w", err)
	}
	for _, r := range next.rules {
		if !kept[r.r.Spec.ID] {
			r.groups.Store(0)
		}
	}
	newIDs := map[string]bool{}
	for _, r := range next.rules {
		newIDs[r.r.Spec.ID] = true
	}
	for id := range oldByID {
		if !newIDs[id] {
			e.m.forget(id)
		}
	}
	e.set = next
	e.log.Info().Int("rules", len(next.rules)).Int("kept", len(kept)).Msg("rules reloaded")
	return nil
}

// Close stops the shards after they finish queued work, or when ctx
// ends. Calls after the first return nil.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	if !e.inline() {
		for _, sh := range e.shards {
			close(sh.in)
		}
	}
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cannot close engine: %w", ctx.Err())
	}
}

// Engine is the consumer of ingest's event bus.
var _ bus.Handler[*schemas.Event] = (*Engine)(nil)
