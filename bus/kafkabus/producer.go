package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/segmentio/kafka-go"
)

// ErrProducerClosed is returned by Produce after Close.
var ErrProducerClosed = errors.New("kafkabus: producer closed")

// Producer defaults.
const (
	DefaultBatchSize  = 10000
	DefaultBatchBytes = 1 << 20
	DefaultLinger     = 5 * time.Millisecond

	// DefaultRequestTimeout bounds one produce request; the broker is
	// given half of it to gather the acknowledgements of the in-sync
	// replicas.
	DefaultRequestTimeout = 10 * time.Second
	// requestTimeout bounds the requests of consumers and admin calls.
	requestTimeout = 10 * time.Second
	// senderQueue is how many Produce calls' shares of one partition may
	// wait for its sender, queued and again as many taken in; beyond that
	// Produce blocks (back-pressure), so memory stays bounded while a
	// broker is away.
	senderQueue = 16
	// metaRefresh is how often Produce re-reads a topic's partition count
	// from the client's cached cluster layout.
	metaRefresh = time.Second
	// unknownTopicWait is how long Produce waits for a topic it does not
	// know to appear (the cached layout lags topic creation by up to its
	// refresh interval, 5 s) before it fails.
	unknownTopicWait = 20 * time.Second
	// maxPooledBytes is the largest chunk buffer kept for reuse.
	maxPooledBytes = 4 << 20
)

// ProducerOptions tune a Producer. The zero value works given a topic on
// each message.
type ProducerOptions struct {
	// Topic is used for messages whose Topic is empty.
	Topic string
	// BatchSize is the most messages one produce request carries to one
	// partition. Default DefaultBatchSize.
	BatchSize int
	// BatchBytes is the most bytes (keys, values and headers, before
	// compression) one produce request carries to one partition; a single
	// larger message still goes alone. Keep it at or below the topic's
	// max.message.bytes. Default DefaultBatchBytes.
	BatchBytes int
	// Linger is how long a partition's sender may wait, before sending a
	// request that is not full, for messages that concurrent Produce
	// calls are still adding. It never waits once no call is adding
	// messages, so a lone caller pays no delay. Default DefaultLinger;
	// negative sends at once.
	Linger time.Duration
	// RequestTimeout bounds one produce request before it is retried.
	// Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Compression is "", "none", "lz4", "zstd", "snappy" or "gzip".
	Compression string
	// Logger receives one warning when produce requests start failing
	// and one note when they work again.
	Logger zerolog.Logger
	// Registerer receives the tocsin_kafka_produce* metrics; nil keeps
	// them unregistered.
	Registerer prometheus.Registerer
}

// Producer writes messages to Kafka, partitioned by key exactly as Java
// clients do (murmur2 of the key modulo the partition count), and returns
// from Produce once all in-sync replicas acknowledged every message. A
// nil key is hashed like an empty one, so keyless messages all go to one
// partition (Java clients spread them instead).
// Transient failures (broker restart, leader election, network) are
// retried with capped back-off for as long as the caller's context
// allows, so an outage is back-pressure on the caller, not loss.
//
// One sender goroutine per partition keeps one request in flight at a
// time and retries it before sending anything after it, so messages of
// one key that were given in one Produce call, or in calls that each
// returned before the next began, arrive in order.
//
// Delivery is at least once: a request whose answer was lost is sent
// again, and the brokers then store it twice, because kafka-go has no
// idempotent producer. Consumers must tolerate duplicates.
type Producer struct {
	opts    ProducerOptions
	client  *kafka.Client
	tr      *kafka.Transport
	comp    kafka.Compression
	bal     kafka.Murmur2Balancer
	log     zerolog.Logger
	m       *producerMetrics
	out     *outage
	stop    chan struct{}
	closeMu sync.Once
	wg      sync.WaitGroup

	mu      sync.RWMutex
	senders map[senderKey]*sender
	closed  bool // no more senders; set under mu

	metaMu sync.RWMutex
	meta   map[string]*topicMeta

	// adding counts Produce calls that are still handing messages to the
	// senders; quiet is closed when the count drops to zero.
	addMu  sync.Mutex
	adding int
	quiet  chan struct{}

	scratch sync.Pool // *produceScratch
	chunks  sync.Pool // *chunk
}

type senderKey struct {
	topic     string
	partition int
}

// topicMeta is what Produce knows about a topic.
type topicMeta struct {
	partitions []int // 0..n-1, the balancer's argument
	checked    time.Time
	produced   prometheus.Counter
	errors     prometheus.Counter
}

// NewProducer checks cfg and opts and returns a producer. It does not
// connect: the first Produce does.
func NewProducer(cfg Config, opts ProducerOptions) (*Producer, error) {
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	comp, err := compression(opts.Compression)
	if err != nil {
		errs = append(errs, err)
	}
	if opts.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch size %d is negative; use 0 for the default (%d)", opts.BatchSize, DefaultBatchSize))
	}
	if opts.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("request timeout %s is negative; use 0 for the default (%s)", opts.RequestTimeout, DefaultRequestTimeout))
	}
	if opts.BatchBytes < 0 {
		errs = append(errs, fmt.Errorf("batch bytes %d is negative; use 0 for the default (%d)", opts.BatchBytes, DefaultBatchBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.BatchBytes == 0 {
		opts.BatchBytes = DefaultBatchBytes
	}
	if opts.Linger == 0 {
		opts.Linger = DefaultLinger
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	m, err := newProducerMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	tr := cfg.transport()
	p := &Producer{
		opts: opts,
		tr:   tr,
		// The broker gets half the timeout to gather acknowledgements.
		client:  &kafka.Client{Addr: cfg.addr(), Transport: tr, Timeout: opts.RequestTimeout},
		comp:    comp,
		bal:     kafka.Murmur2Balancer{Consistent: true},
		log:     opts.Logger,
		m:       m,
		out:     &outage{log: opts.Logger, what: "producing"},
		stop:    make(chan struct{}),
		senders: make(map[senderKey]*sender),
		meta:    make(map[string]*topicMeta),
	}
	return p, nil
}

func compression(name string) (kafka.Compression, error) {
	switch strings.ToLower(name) {
	case "", "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("unknown compression %q; use none, lz4, zstd, snappy or gzip", name)
}

// Produce sends msgs and returns nil once the in-sync replicas of every
// partition acknowledged all of them. A message without Topic goes to the
// producer's default topic. Produce copies what it needs, so the caller
// may reuse msgs and their byte slices as soon as it returns, whatever it
// returns. It is safe for concurrent use.
//
// Transient failures are retried until ctx ends; Produce then returns
// ctx's error, and any of msgs may or may not have been stored. A
// permanent failure (a message too large, a missing topic, an
// authorisation error) is returned at once for the messages it concerns;
// the others are still delivered.
func (p *Producer) Produce(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	select {
	case <-p.stop:
		return ErrProducerClosed
	default:
	}
	start := time.Now()
	p.beginAdding()
	adding := true
	defer func() {
		if adding {
			p.endAdding()
		}
	}()
	s, _ := p.scratch.Get().(*produceScratch)
	if s == nil {
		s = &produceScratch{}
	}
	defer p.putScratch(s)

	var tc *topicChunks
	for i := range msgs {
		m := &msgs[i]
		topic := m.Topic
		if topic == "" {
			if topic = p.opts.Topic; topic == "" {
				p.releaseAll(s.list)
				return fmt.Errorf("cannot produce message %d: it names no topic and the producer has no default topic", i)
			}
		}
		if tc == nil || tc.name != topic {
			var err error
			if tc, err = p.topicChunks(ctx, s, topic); err != nil {
				p.releaseAll(s.list)
				return err
			}
		}
		var part int
		if m.Direct {
			if part = m.Partition; part < 0 || part >= len(tc.meta.partitions) {
				p.releaseAll(s.list)
				return fmt.Errorf("cannot produce message %d to %s partition %d: the topic has %d partitions", i, topic, part, len(tc.meta.partitions))
			}
		} else {
			part = p.bal.Balance(kafka.Message{Key: m.Key}, tc.meta.partitions...)
		}
		c := tc.chunks[part]
		if c == nil {
			c = p.newChunk(topic, part)
			tc.chunks[part] = c
			s.list = append(s.list, c)
		}
		c.add(m)
	}

	call := &produceCall{done: make(chan struct{})}
	call.remaining.Store(int32(len(s.list)))
	for i, c := range s.list {
		c.call = call
		snd := p.sender(c.topic, c.partition)
		if snd == nil {
			p.releaseAll(s.list[i:])
			return ErrProducerClosed
		}
		select {
		case snd.in <- c:
		case <-ctx.Done():
			call.canceled.Store(true)
			p.releaseAll(s.list[i:])
			return ctx.Err()
		case <-p.stop:
			p.releaseAll(s.list[i:])
			return ErrProducerClosed
		}
	}
	// The senders own the chunks now.
	clear(s.list)
	s.list = s.list[:0]
	adding = false
	p.endAdding()

	var err error
	select {
	case <-call.done:
		err = call.error()
	case <-ctx.Done():
		call.canceled.Store(true)
		err = ctx.Err()
	case <-p.stop:
		select {
		case <-call.done:
			err = call.error()
		default:
			err = ErrProducerClosed
		}
	}
	p.m.duration.Observe(time.Since(start).Seconds())
	return err
}

// Close stops the senders after their current request and fails what
// they still hold with ErrProducerClosed. Call it after the last Produce
// returned.
func (p *Producer) Close() error {
	p.closeMu.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.stop)
	})
	p.wg.Wait()
	p.tr.CloseIdleConnections()
	return nil
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (p *Producer) beginAdding() {
	p.addMu.Lock()
	if p.adding == 0 {
		p.quiet = make(chan struct{})
	}
	p.adding++
	p.addMu.Unlock()
}

func (p *Producer) endAdding() {
	p.addMu.Lock()
	if p.adding--; p.adding == 0 {
		close(p.quiet)
	}
	p.addMu.Unlock()
}

// addingDone returns a channel closed once no Produce call is adding
// messages.
func (p *Producer) addingDone() <-chan struct{} {
	p.addMu.Lock()
	defer p.addMu.Unlock()
	if p.adding == 0 {
		return closedChan
	}
	return p.quiet
}

// produceCall is one Produce call waiting for its chunks.
type produceCall struct {
	remaining atomic.Int32
	canceled  atomic.Bool
	done      chan struct{}
	mu        sync.Mutex
	err       error
}

func (c *produceCall) finish(err error) {
	if err != nil {
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.mu.Unlock()
	}
	if c.remaining.Add(-1) == 0 {
		close(c.done)
	}
}

func (c *produceCall) error() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// produceScratch is Produce's per-call grouping state, pooled.
type produceScratch struct {
	topics []topicChunks
	list   []*chunk
}

type topicChunks struct {
	name   string
	meta   *topicMeta
	chunks []*chunk // by partition
}

func (p *Producer) putScratch(s *produceScratch) {
	for i := range s.topics {
		clear(s.topics[i].chunks)
		s.topics[i].meta = nil
	}
	s.topics = s.topics[:0]
	clear(s.list)
	s.list = s.list[:0]
	p.scratch.Put(s)
}

func (p *Producer) topicChunks(ctx context.Context, s *produceScratch, topic string) (*topicChunks, error) {
	for i := range s.topics {
		if s.topics[i].name == topic {
			return &s.topics[i], nil
		}
	}
	tm, err := p.topicMeta(ctx, topic)
	if err != nil {
		return nil, err
	}
	n := len(tm.partitions)
	if cap(s.topics) > len(s.topics) {
		s.topics = s.topics[:len(s.topics)+1]
	} else {
		s.topics = append(s.topics, topicChunks{})
	}
	tc := &s.topics[len(s.topics)-1]
	tc.name, tc.meta = topic, tm
	if cap(tc.chunks) >= n {
		tc.chunks = tc.chunks[:n]
	} else {
		tc.chunks = make([]*chunk, n)
	}
	return tc, nil
}

// Partitions returns the number of partitions of topic, as Produce sees
// it (re-read at most every second), waiting while the cluster cannot be
// reached.
func (p *Producer) Partitions(ctx context.Context, topic string) (int, error) {
	tm, err := p.topicMeta(ctx, topic)
	if err != nil {
		return 0, err
	}
	return len(tm.partitions), nil
}

// topicMeta returns the topic's partition count as the client's cached
// cluster layout has it, waiting while the cluster cannot be reached.
// During an outage the last known count is used.
func (p *Producer) topicMeta(ctx context.Context, topic string) (*topicMeta, error) {
	p.metaMu.RLock()
	tm := p.meta[topic]
	p.metaMu.RUnlock()
	now := time.Now()
	if tm != nil && now.Sub(tm.checked) < metaRefresh {
		return tm, nil
	}
	b := backoff{min: 50 * time.Millisecond, max: 2 * time.Second}
	var unknownSince time.Time
	for {
		n, err := partitionCount(ctx, p.client, topic)
		if err == nil {
			return p.setTopicMeta(topic, tm, n), nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		switch {
		case tm != nil && transient(err) && !errors.Is(err, kafka.UnknownTopicOrPartition):
			return tm, nil
		case errors.Is(err, kafka.UnknownTopicOrPartition):
			if unknownSince.IsZero() {
				unknownSince = time.Now()
			} else if time.Since(unknownSince) > unknownTopicWait {
				return nil, fmt.Errorf("cannot produce to topic %s: the cluster does not know it; create it (tocsin creates its topics at start when kafka.create_topics is on) or fix the topic name", topic)
			}
		case !transient(err):
			return nil, fmt.Errorf("cannot produce to topic %s: cannot read its partitions: %w", topic, err)
		default:
			p.out.fail(err, "cannot reach the Kafka cluster to look up partitions; producing waits and retries")
		}
		if !sleep(ctx, b.next()) {
			return nil, ctx.Err()
		}
	}
}

func (p *Producer) setTopicMeta(topic string, old *topicMeta, n int) *topicMeta {
	p.metaMu.Lock()
	defer p.metaMu.Unlock()
	if cur := p.meta[topic]; cur != nil && len(cur.partitions) == n {
		// Replaced by a fresh copy so readers of the old one never race
		// with this write.
		fresh := *cur
		fresh.checked = time.Now()
		p.meta[topic] = &fresh
		return &fresh
	}
	if old != nil {
		p.log.Warn().Str("topic", topic).Int("partitions", n).Int("previous", len(old.partitions)).
			Msg("the topic's partition count changed; keys now map to other partitions, so per-key order holds only among messages produced after the change")
	}
	tm := &topicMeta{
		partitions: make([]int, n),
		checked:    time.Now(),
		produced:   p.m.produced.WithLabelValues(topic),
		errors:     p.m.errors.WithLabelValues(topic),
	}
	for i := range tm.partitions {
		tm.partitions[i] = i
	}
	p.meta[topic] = tm
	return tm
}

// sender returns the partition's sender, starting it if needed; nil once
// the producer is closed.
func (p *Producer) sender(topic string, partition int) *sender {
	k := senderKey{topic, partition}
	p.mu.RLock()
	s := p.senders[k]
	p.mu.RUnlock()
	if s != nil {
		return s
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s = p.senders[k]; s != nil || p.closed {
		return s
	}
	p.metaMu.RLock()
	tm := p.meta[topic]
	p.metaMu.RUnlock()
	s = &sender{
		p:         p,
		topic:     topic,
		partition: partition,
		in:        make(chan *chunk, senderQueue),
		produced:  tm.produced,
		errors:    tm.errors,
		label:     topic + "/" + strconv.Itoa(partition),
	}
	p.senders[k] = s
	p.wg.Add(1)
	go s.run()
	return s
}

func (p *Producer) newChunk(topic string, partition int) *chunk {
	c, _ := p.chunks.Get().(*chunk)
	if c == nil {
		c = &chunk{}
	}
	c.topic, c.partition = topic, partition
	return c
}

func (p *Producer) release(c *chunk) {
	if c.abandoned {
		return // a failed request may still read it; left to the collector
	}
	c.reset()
	p.chunks.Put(c)
}

func (p *Producer) releaseAll(cs []*chunk) {
	for _, c := range cs {
		p.release(c)
	}
}
