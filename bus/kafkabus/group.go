package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// Consumer group defaults.
const (
	DefaultMaxBatch          = 1024
	DefaultMaxWait           = 250 * time.Millisecond
	DefaultSessionTimeout    = 10 * time.Second
	DefaultRebalanceTimeout  = 30 * time.Second
	DefaultHeartbeatInterval = time.Second

	// revokeTimeout bounds a Revoke called while the group shuts down.
	revokeTimeout = 30 * time.Second
)

// GroupOptions configure RunGroup.
type GroupOptions struct {
	// GroupID names the consumer group; members with one id share the
	// partitions of Topics.
	GroupID string
	// Topics must exist (see EnsureTopics).
	Topics []string
	// Handler is told about each partition this member is assigned.
	Handler PartitionHandler
	// MaxBatch is the most messages one Handle call gets. Default
	// DefaultMaxBatch.
	MaxBatch int
	// MaxWait is how long a fetch waits at the broker for new records
	// before it returns empty. Default DefaultMaxWait.
	MaxWait time.Duration
	// MaxBytes is the most bytes one fetch asks of a partition. Default
	// DefaultFetchBytes.
	MaxBytes int
	// SessionTimeout is how long the coordinator waits for a heartbeat
	// before it gives this member's partitions to others (the broker's
	// group.min.session.timeout.ms, 6 s by default, is the floor).
	// Default DefaultSessionTimeout.
	SessionTimeout time.Duration
	// RebalanceTimeout is how long the coordinator waits for members to
	// rejoin in a rebalance: each member's last Handle and Revoke must
	// fit in it. Default DefaultRebalanceTimeout.
	RebalanceTimeout time.Duration
	// HeartbeatInterval is how often the member tells the coordinator it
	// lives, and so how soon it notices a rebalance. At most a third of
	// SessionTimeout. Default DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// CommitInterval batches offset commits; 0 commits after every
	// Handle that returned a new offset.
	CommitInterval time.Duration
	// Logger receives rebalances, handler errors and outages.
	Logger zerolog.Logger
	// Registerer receives the consumer metrics; nil keeps them
	// unregistered.
	Registerer prometheus.Registerer

	// retryInPlace makes a failed Handle be retried with the same batch
	// after a back-off instead of ending the member's session
	// (ConsumeBatches).
	retryInPlace bool
}

func (o *GroupOptions) validate() error {
	var errs []error
	if o.GroupID == "" {
		errs = append(errs, errors.New("consumer group: no group id"))
	}
	if len(o.Topics) == 0 {
		errs = append(errs, errors.New("consumer group: no topics"))
	}
	for _, t := range o.Topics {
		if err := checkTopicName(t); err != nil {
			errs = append(errs, fmt.Errorf("consumer group: %w", err))
		}
	}
	if o.Handler == nil {
		errs = append(errs, errors.New("consumer group: no handler"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"max wait", o.MaxWait}, {"session timeout", o.SessionTimeout}, {"rebalance timeout", o.RebalanceTimeout},
		{"heartbeat interval", o.HeartbeatInterval}, {"commit interval", o.CommitInterval}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("consumer group: %s %s is negative", d.name, d.v))
		}
	}
	if o.MaxBatch < 0 || o.MaxBytes < 0 {
		errs = append(errs, errors.New("consumer group: max batch and max bytes must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultFetchBytes
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = DefaultSessionTimeout
	}
	if o.RebalanceTimeout == 0 {
		o.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = min(DefaultHeartbeatInterval, o.SessionTimeout/3)
	}
	if o.HeartbeatInterval > o.SessionTimeout/3 {
		return fmt.Errorf("consumer group: heartbeat interval %s is more than a third of the session timeout %s", o.HeartbeatInterval, o.SessionTimeout)
	}
	return nil
}

// RunGroup joins the consumer group and consumes the partitions it is
// assigned until ctx ends, then leaves the group and returns nil. It
// returns an error for invalid options and for refusals no retry can
// cure (credentials, authorisation, a session timeout the brokers do not
// allow).
//
// For each assigned partition the handler's Assign gives a consumer and a
// start offset; batches of records from that offset on are handed to the
// consumer's Handle in order, and the offset Handle returns is committed
// (never one it did not return, never a lower one than the group's). When
// the generation ends (another member joins or leaves, the session is
// lost) reading stops, pending offsets are committed, each consumer is
// revoked after its last Handle, and the member rejoins.
//
// A Handle or Assign error is logged; the member then leaves the group,
// waits (capped exponential back-off) and joins again, so the records
// after the last committed offset are delivered again, here or to
// another member. An unreachable cluster is retried the same way and
// logged once per outage.
func RunGroup(ctx context.Context, cfg Config, opts GroupOptions) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := opts.validate(); err != nil {
		return err
	}
	m, err := newGroupMetrics(opts.Registerer)
	if err != nil {
		return err
	}
	tr := cfg.transport()
	defer tr.CloseIdleConnections()
	g := &group{
		cfg:  cfg,
		opts: opts,
		log:  opts.Logger.With().Str("group", opts.GroupID).Logger(),
		m:    m,
		// The timeout also bounds a fetch whose broker stopped answering.
		client: &kafka.Client{Addr: cfg.addr(), Transport: tr, Timeout: opts.MaxWait + requestTimeout},
	}
	g.out = &outage{log: g.log, what: "consumer group"}
	g.fetchOut = &outage{log: g.log, what: "fetching"}
	g.commitOut = &outage{log: g.log, what: "committing"}
	g.rebalances = m.rebalances.WithLabelValues(opts.GroupID)
	g.commits = m.commits.WithLabelValues(opts.GroupID)
	b := backoff{min: 250 * time.Millisecond, max: 5 * time.Second}
	for {
		began := time.Now()
		err := g.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		// A session that ran a while ends a streak of failures; one that
		// failed at once continues it, and the delay grows.
		if time.Since(began) > time.Minute {
			b.reset()
		}
		var he *handlerError
		switch {
		case errors.As(err, &he):
			g.log.Error().Err(he.err).Str("topic", he.topic).Int("partition", he.partition).
				Msg("the partition consumer failed; leaving the group and rejoining after a back-off, so its records are delivered again")
		case unrecoverable(opts, err) != nil:
			return unrecoverable(opts, err)
		case err != nil:
			g.out.fail(err, "cannot join the consumer group; retrying with back-off")
		}
		if !sleep(ctx, b.next()) {
			return nil
		}
	}
}

// unrecoverable turns the errors no retry can cure into an error for the
// operator; it returns nil for the others.
func unrecoverable(opts GroupOptions, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kafka.InvalidSessionTimeout):
		return fmt.Errorf("consumer group %s: the broker refuses the session timeout %s: %w; choose one between the brokers' group.min.session.timeout.ms and group.max.session.timeout.ms",
			opts.GroupID, opts.SessionTimeout, err)
	case errors.Is(err, kafka.GroupAuthorizationFailed), errors.Is(err, kafka.TopicAuthorizationFailed):
		return fmt.Errorf("consumer group %s: %w; grant this client READ on the group and on topics %s", opts.GroupID, err, strings.Join(opts.Topics, ", "))
	case errors.Is(err, kafka.SASLAuthenticationFailed):
		return fmt.Errorf("consumer group %s: %w; check the SASL mechanism, user name and password", opts.GroupID, err)
	case errors.Is(err, kafka.InconsistentGroupProtocol):
		return fmt.Errorf("consumer group %s: %w; another kind of client uses this group id, give tocsin its own", opts.GroupID, err)
	}
	return nil
}

// ConsumeBatches runs a consumer group for a stateless consumer: fn gets
// each batch of each assigned partition and the batch's offsets are
// committed once fn returns nil. When fn fails, the same batch is given
// to it again after a back-off (capped at 10 s) until it succeeds or the
// partition is taken away; nothing is skipped. Other options are as for
// RunGroup, whose Handler this replaces.
func ConsumeBatches(ctx context.Context, cfg Config, opts GroupOptions, fn func(ctx context.Context, msgs []Message) error) error {
	if fn == nil {
		return errors.New("consumer group: no batch function")
	}
	opts.Handler = batchHandler{fn: fn}
	opts.retryInPlace = true
	return RunGroup(ctx, cfg, opts)
}

type batchHandler struct {
	fn func(ctx context.Context, msgs []Message) error
}

func (h batchHandler) Assign(_ context.Context, _ string, _ int, committed int64) (PartitionConsumer, int64, error) {
	return batchConsumer(h), committed, nil
}

type batchConsumer batchHandler

func (c batchConsumer) Handle(ctx context.Context, msgs []Message) (int64, error) {
	if err := c.fn(ctx, msgs); err != nil {
		return -1, err
	}
	return msgs[len(msgs)-1].Offset + 1, nil
}

func (batchConsumer) Revoke(context.Context) {}

// handlerError is a failure of the handler, as opposed to Kafka's.
type handlerError struct {
	topic     string
	partition int
	err       error
}

func (e *handlerError) Error() string {
	return fmt.Sprintf("partition consumer of %s/%d: %v", e.topic, e.partition, e.err)
}

func (e *handlerError) Unwrap() error { return e.err }

type group struct {
	cfg        Config
	opts       GroupOptions
	log        zerolog.Logger
	m          *groupMetrics
	client     *kafka.Client
	out        *outage
	fetchOut   *outage
	commitOut  *outage
	rebalances prometheus.Counter
	commits    prometheus.Counter
}

// session is one membership: it joins, runs generations until ctx ends or
// something fails, and leaves.
func (g *group) session(ctx context.Context) error {
	// kafka-go speaks only the eager rebalance protocol: every rebalance
	// revokes all partitions of every member, also those it gets back,
	// so each member pays a Revoke and an Assign per partition per
	// rebalance.
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                     g.opts.GroupID,
		Brokers:                g.cfg.Brokers,
		Dialer:                 g.cfg.dialer(),
		Topics:                 g.opts.Topics,
		HeartbeatInterval:      g.opts.HeartbeatInterval,
		SessionTimeout:         g.opts.SessionTimeout,
		RebalanceTimeout:       g.opts.RebalanceTimeout,
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 5 * time.Second,
		// kafka-go waits this long between its own attempts to join; a
		// failed join comes back to RunGroup, which backs off itself.
		JoinGroupBackoff: 100 * time.Millisecond,
		StartOffset:      kafka.FirstOffset,
		Timeout:          g.cfg.dialTimeout(),
	})
	if err != nil {
		return fmt.Errorf("consumer group %s: %w", g.opts.GroupID, err)
	}
	// Close leaves the group, after the running generation's partition
	// goroutines returned.
	defer cg.Close()
	for {
		gen, err := cg.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, kafka.RebalanceInProgress) {
				continue
			}
			return err
		}
		g.out.ok()
		if err := g.generation(ctx, gen); err != nil || ctx.Err() != nil {
			return err
		}
	}
}

// generation consumes the partitions of one generation and returns when
// the generation ended and every partition goroutine returned, with the
// first handler error if any. When ctx ends it returns at once; closing
// the group then ends the generation and waits for the goroutines.
func (g *group) generation(ctx context.Context, gen *kafka.Generation) error {
	g.rebalances.Inc()
	n := 0
	for _, parts := range gen.Assignments {
		n += len(parts)
	}
	ev := g.log.Info().Int32("generation", gen.ID).Int("partitions", n)
	for topic, parts := range gen.Assignments {
		ids := make([]int, len(parts))
		for i, p := range parts {
			ids[i] = p.ID
		}
		ev = ev.Ints(topic, ids)
	}
	ev.Msg("joined the consumer group")
	if obs, ok := g.opts.Handler.(AssignmentObserver); ok {
		all := make(map[string][]int, len(gen.Assignments))
		for topic, parts := range gen.Assignments {
			for _, p := range parts {
				all[topic] = append(all[topic], p.ID)
			}
		}
		obs.Assigned(ctx, all)
	}

	c := &committer{g: g, gen: gen, done: map[tp]int64{}, pending: map[tp]int64{}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for topic, parts := range gen.Assignments {
		for _, pa := range parts {
			wg.Add(1)
			gen.Start(func(gctx context.Context) {
				defer wg.Done()
				if err := g.partition(ctx, gctx, c, topic, pa); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			})
		}
	}
	// Holds the generation open when no partition was assigned, and
	// commits batched offsets.
	wg.Add(1)
	gen.Start(func(gctx context.Context) {
		defer wg.Done()
		c.loop(gctx)
	})
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return nil
	}
	mu.Lock()
	defer mu.Unlock()
	return first
}

type tp struct {
	topic     string
	partition int
}

// committer commits a generation's offsets, never one below what the
// group has.
type committer struct {
	g   *group
	gen *kafka.Generation

	mu      sync.Mutex
	done    map[tp]int64 // committed, or the group's offset at assignment
	pending map[tp]int64
}

// start records the group's committed offset for a partition.
func (c *committer) start(k tp, committed int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if committed >= 0 {
		c.done[k] = committed
	} else {
		c.done[k] = -1
	}
}

// offer notes an offset the consumer returned; it is committed now when
// CommitInterval is 0, else by the loop or at the end of the partition.
func (c *committer) offer(k tp, off int64) {
	c.mu.Lock()
	if off <= c.done[k] || off <= c.pending[k] {
		c.mu.Unlock()
		return
	}
	c.pending[k] = off
	c.mu.Unlock()
	if c.g.opts.CommitInterval == 0 {
		c.flush(&k)
	}
}

// flush commits the pending offset of one partition, or of all when k is
// nil. A failure keeps the offsets pending; the records after the last
// committed offset are delivered again if it never succeeds.
func (c *committer) flush(k *tp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := map[string]map[int]int64{}
	for key, off := range c.pending {
		if k != nil && key != *k {
			continue
		}
		if req[key.topic] == nil {
			req[key.topic] = map[int]int64{}
		}
		req[key.topic][key.partition] = off
	}
	if len(req) == 0 {
		return
	}
	if err := c.gen.CommitOffsets(req); err != nil {
		if errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.IllegalGeneration) || errors.Is(err, kafka.UnknownMemberId) {
			// The generation ended under us; the next owner starts
			// from the last committed offset.
			c.g.log.Info().Err(err).Int32("generation", c.gen.ID).Msg("offset commit refused at the end of a generation; the records after the last committed offset will be delivered again")
			return
		}
		c.g.commitOut.fail(err, "cannot commit offsets; they stay pending and are retried, and records after the last committed offset may be delivered again")
		return
	}
	c.g.commitOut.ok()
	c.g.commits.Inc()
	for topic, parts := range req {
		for p, off := range parts {
			key := tp{topic, p}
			c.done[key] = off
			if c.pending[key] == off {
				delete(c.pending, key)
			}
		}
	}
}

func (c *committer) loop(gctx context.Context) {
	if c.g.opts.CommitInterval == 0 {
		<-gctx.Done()
		return
	}
	t := time.NewTicker(c.g.opts.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-gctx.Done():
			return
		case <-t.C:
			c.flush(nil)
		}
	}
}

// partition runs one assigned partition until the generation ends (gctx)
// or the consumer fails. Handle runs under ctx, not gctx, so that a batch
// in progress is finished when a rebalance starts.
func (g *group) partition(ctx, gctx context.Context, c *committer, topic string, pa kafka.PartitionAssignment) error {
	if gctx.Err() != nil {
		return nil
	}
	k := tp{topic, pa.ID}
	c.start(k, pa.Offset)
	pc, start, err := g.opts.Handler.Assign(ctx, topic, pa.ID, pa.Offset)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return &handlerError{topic: topic, partition: pa.ID, err: fmt.Errorf("assign: %w", err)}
	}
	label := strconv.Itoa(pa.ID)
	lag := g.m.lag.WithLabelValues(g.opts.GroupID, topic, label)
	defer func() {
		c.flush(&k)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
		pc.Revoke(rctx)
		cancel()
		g.m.lag.DeleteLabelValues(g.opts.GroupID, topic, label)
	}()
	consumed := g.m.consumed.WithLabelValues(g.opts.GroupID, topic)

	r := &partitionReader{client: g.client, topic: topic, partition: pa.ID, maxBytes: g.opts.MaxBytes, maxWait: g.opts.MaxWait}
	if r.offset, err = g.resolve(gctx, topic, pa.ID, start); err != nil {
		return nil // the generation ended while the cluster was away
	}
	b := backoff{min: 100 * time.Millisecond, max: 5 * time.Second}
	for gctx.Err() == nil {
		msgs, err := r.next(gctx, g.opts.MaxBatch)
		if err != nil {
			if gctx.Err() != nil {
				break
			}
			if errors.Is(err, kafka.OffsetOutOfRange) {
				if r.offset, err = g.outOfRange(gctx, topic, pa.ID, r.offset); err != nil {
					break
				}
				continue
			}
			if !transient(err) {
				return &handlerError{topic: topic, partition: pa.ID, err: fmt.Errorf("fetch: %w", err)}
			}
			g.fetchOut.fail(err, "cannot fetch records; retrying with back-off")
			if !sleep(gctx, b.next()) {
				break
			}
			continue
		}
		g.fetchOut.ok()
		b.reset()
		if len(msgs) == 0 {
			// Caught up: the lag is what arrived since the fetch, if anything.
			lag.Set(float64(max(r.hwm-r.offset, 0)))
			if idler, ok := pc.(Idler); ok {
				off, err := idler.Idle(ctx)
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return &handlerError{topic: topic, partition: pa.ID, err: fmt.Errorf("idle: %w", err)}
				}
				if off >= 0 {
					c.offer(k, off)
				}
			}
			continue
		}
		lag.Set(float64(max(r.hwm-r.offset, 0)))
		consumed.Add(float64(len(msgs)))
		off, err := g.handle(ctx, gctx, pc, msgs)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if gctx.Err() != nil && g.opts.retryInPlace {
				return nil
			}
			return &handlerError{topic: topic, partition: pa.ID, err: err}
		}
		if off >= 0 {
			c.offer(k, off)
		}
	}
	return nil
}

// handle calls Handle; for ConsumeBatches a failure is retried with the
// same batch until it succeeds or the partition is taken away.
func (g *group) handle(ctx, gctx context.Context, pc PartitionConsumer, msgs []Message) (int64, error) {
	off, err := pc.Handle(ctx, msgs)
	if err == nil || !g.opts.retryInPlace {
		return off, err
	}
	b := backoff{min: 100 * time.Millisecond, max: 10 * time.Second}
	for attempt := 1; ; attempt++ {
		if attempt == 1 {
			g.log.Error().Err(err).Str("topic", msgs[0].Topic).Int("partition", msgs[0].Partition).
				Int64("offset", msgs[0].Offset).Msg("the batch consumer failed; retrying the same batch with back-off")
		}
		if !sleep(gctx, b.next()) {
			return -1, err
		}
		if off, err = pc.Handle(ctx, msgs); err == nil {
			g.log.Info().Str("topic", msgs[0].Topic).Int("partition", msgs[0].Partition).Int("attempts", attempt+1).
				Msg("the batch consumer succeeded again")
			return off, nil
		}
	}
}

// resolve turns FirstOffset and LastOffset into real offsets, retrying
// while the cluster is unreachable.
func (g *group) resolve(gctx context.Context, topic string, partition int, off int64) (int64, error) {
	if off >= 0 {
		return off, nil
	}
	which := kafka.FirstOffset
	if off == LastOffset {
		which = kafka.LastOffset
	}
	b := backoff{min: 100 * time.Millisecond, max: 5 * time.Second}
	for {
		got, err := listOffsets(gctx, g.client, topic, []int{partition}, which)
		if err == nil {
			g.fetchOut.ok()
			return got[partition], nil
		}
		if gctx.Err() != nil {
			return 0, gctx.Err()
		}
		g.fetchOut.fail(err, "cannot read a partition's offsets; retrying with back-off")
		if !sleep(gctx, b.next()) {
			return 0, gctx.Err()
		}
	}
}

// outOfRange handles a fetch offset the partition no longer (or not yet)
// holds: retention deleted the records, or the log was truncated. Reading
// goes on from the oldest record still there, so nothing that exists is
// skipped.
func (g *group) outOfRange(gctx context.Context, topic string, partition int, off int64) (int64, error) {
	first, err := g.resolve(gctx, topic, partition, FirstOffset)
	if err != nil {
		return 0, err
	}
	ev := g.log.Warn().Str("topic", topic).Int("partition", partition).Int64("offset", off).Int64("first_offset", first)
	if off < first {
		ev.Int64("lost", first-off).Msg("records were deleted by retention before they were consumed; going on from the oldest record left")
	} else {
		ev.Msg("the partition no longer holds the offset (log truncated or topic recreated); reading again from its oldest record")
	}
	return first, nil
}
