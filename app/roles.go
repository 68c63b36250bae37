package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/bus/kafkabus"
	"github.com/tocsin-siem/tocsin/bus/spool"
	"github.com/tocsin-siem/tocsin/config"
	"github.com/tocsin-siem/tocsin/engine"
	"github.com/tocsin-siem/tocsin/ingest"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
	"github.com/tocsin-siem/tocsin/stream"
)

// roleConfig parses a role's flags (every setting, plus --kafka and
// --clickhouse as short names) and loads its configuration.
func roleConfig(role string, args []string, stderr io.Writer) (config.Config, zerolog.Logger, error) {
	fs := newFlagSet(role, role+" [flags]", stderr)
	flags := config.RegisterFlags(fs)
	flags.Alias("kafka", "kafka.brokers")
	flags.Alias("clickhouse", "clickhouse.dsn")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return config.Config{}, zerolog.Nop(), err
	}
	if len(rest) > 0 {
		return config.Config{}, zerolog.Nop(), usageErr("%s takes no arguments, got %q", role, rest)
	}
	cfg, err := config.Load(flags, nil)
	if err != nil {
		return config.Config{}, zerolog.Nop(), err
	}
	return cfg, newLogger(stderr, cfg.Log.Level, cfg.Log.Format).With().Str("role", role).Logger(), nil
}

func needKafka(role string, cfg config.Config) error {
	if !cfg.UsesKafka() {
		return usageErr("tocsin %s runs on Kafka: set kafka.brokers (--kafka HOST:PORT, or TOCSIN_KAFKA_BROKERS); "+
			"for one process without Kafka, use tocsin run", role)
	}
	return nil
}

// IngestCommand is `tocsin ingest`: listeners and parsers producing
// normalised events to Kafka.
func IngestCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, log, err := roleConfig("ingest", args, stderr)
	if err != nil {
		return err
	}
	if err := needKafka("ingest", cfg); err != nil {
		return err
	}
	return RunIngest(ctx, cfg, log)
}

// EngineCommand is `tocsin engine`: one member of the engine consumer
// group.
func EngineCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, log, err := roleConfig("engine", args, stderr)
	if err != nil {
		return err
	}
	if err := needKafka("engine", cfg); err != nil {
		return err
	}
	return RunEngine(ctx, cfg, log)
}

// TicketingCommand is `tocsin ticketing`: alerts to incidents, event
// history, and the HTTP API.
func TicketingCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, log, err := roleConfig("ticketing", args, stderr)
	if err != nil {
		return err
	}
	if err := needKafka("ticketing", cfg); err != nil {
		return err
	}
	if !cfg.UsesClickHouse() {
		// Two ticketing processes with stores of their own would split
		// the incidents between them.
		return usageErr("tocsin ticketing keeps incidents in ClickHouse: set clickhouse.dsn (--clickhouse clickhouse://HOST:9000/DB, " +
			"or TOCSIN_CLICKHOUSE_DSN); for one process with its embedded store, use tocsin run")
	}
	return RunTicketing(ctx, cfg, log)
}

// runDistributed runs the three roles in one process, each with its own
// metrics, meeting on Kafka: `tocsin run --kafka ...`. When one role
// fails, the others are stopped.
func runDistributed(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	roles := []struct {
		name string
		run  func(context.Context, config.Config, zerolog.Logger) error
	}{{"ticketing", RunTicketing}, {"engine", RunEngine}, {"ingest", RunIngest}}
	errs := make([]error, len(roles))
	var wg sync.WaitGroup
	for i, r := range roles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.run(ctx, cfg, log.With().Str("role", r.name).Logger())
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", r.name, errs[i])
			}
			cancel()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// RunIngest runs the ingest role until ctx ends. Events go to Kafka
// through a buffer (memory, then disk under data_dir/spool) so that a
// Kafka outage is back-pressure: while the buffer is full, TCP senders
// are refused and readers stop. The raw-topic consumer, when configured,
// commits a record only after its events were accepted by Kafka.
func RunIngest(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	reg := newRegistry()
	kc, err := kafkaConfig(cfg)
	if err != nil {
		return err
	}
	t := cfg.Kafka.Topics
	// Ingest starts even while Kafka is unreachable: what it accepts waits
	// in its buffer, and the topics are checked again until Kafka answers.
	topics := []string{t.Events, t.Failures}
	if t.Raw != "" {
		topics = append(topics, t.Raw)
	}
	checkCtx, cancelCheck := context.WithTimeout(ctx, 20*time.Second)
	err = ensureTopics(checkCtx, cfg, kc, log, topics...)
	cancelCheck()
	if err != nil {
		log.Error().Err(err).Msg("cannot check the Kafka topics; starting anyway: events wait in the buffer until Kafka answers")
		go func() {
			for wait := 5 * time.Second; ; wait = min(2*wait, time.Minute) {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
				err := ensureTopics(ctx, cfg, kc, log, topics...)
				if err == nil {
					log.Info().Msg("Kafka topics checked")
					return
				}
				log.Error().Err(err).Dur("retry_in", wait).Msg("cannot check the Kafka topics yet")
			}
		}()
	}
	keyer, err := wire.NewKeyer(cfg.Kafka.KeyFields)
	if err != nil {
		return fmt.Errorf("kafka.key_fields: %w", err)
	}
	prod, err := kafkabus.NewProducer(kc, kafkabus.ProducerOptions{Topic: t.Events, Compression: "lz4", Logger: log, Registerer: reg})
	if err != nil {
		return fmt.Errorf("cannot start the Kafka producer: %w", err)
	}
	defer prod.Close()

	spoolDir := filepath.Join(cfg.DataDir, "spool")
	evBuf, err := spool.Open(spool.Options{
		Dir:           filepath.Join(spoolDir, "events"),
		MemoryRecords: cfg.Ingest.Buffer.MemoryEvents,
		MaxBytes:      int64(cfg.Ingest.Buffer.DiskMaxBytes),
		Sink:          producerSink(prod, t.Events, wire.TypeEvent),
		Name:          "events",
		Logger:        log,
		Registerer:    reg,
	})
	if err != nil {
		return fmt.Errorf("cannot open the event buffer in %s: %w", spoolDir, err)
	}
	failBuf, err := spool.Open(spool.Options{
		Dir:           filepath.Join(spoolDir, "failures"),
		MemoryRecords: 4096,
		MaxBytes:      min(int64(cfg.Ingest.Buffer.DiskMaxBytes), 64<<20),
		Sink:          producerSink(prod, t.Failures, wire.TypeFailure),
		Name:          "failures",
		Logger:        log,
		Registerer:    reg,
	})
	if err != nil {
		_ = evBuf.Close(context.Background())
		return fmt.Errorf("cannot open the failure buffer in %s: %w", spoolDir, err)
	}

	pipe, err := ingest.NewPipeline(ingest.PipelineOptions{
		Events:        syncedPublisher[*schemas.Event]{newEventPublisher(keyer, evBuf.Publish), evBuf},
		Failures:      syncedPublisher[schemas.ParseFailure]{&failurePublisher{put: failBuf.Publish}, failBuf},
		Location:      cfg.Location(),
		MaxFailureRaw: cfg.Syslog.FailureRawLimit,
		Disabled:      cfg.Ingest.DisabledFormats,
		Logger:        log,
		Registerer:    reg,
	})
	if err != nil {
		return fmt.Errorf("cannot start ingest: %w", err)
	}
	admit := func() error {
		if evBuf.Full() {
			st := evBuf.Stats()
			since := "Kafka slower than the input"
			if !st.SinkFailingSince.IsZero() {
				since = "Kafka failing since " + st.SinkFailingSince.UTC().Format(time.RFC3339)
			}
			return fmt.Errorf("the buffer in front of Kafka is full (%d events in memory, %d on disk; %s); "+
				"check the brokers or raise ingest.buffer.disk_max_bytes", st.MemoryRecords, st.DiskRecords, since)
		}
		return nil
	}
	ready := func() error {
		if evBuf.Full() {
			return admit()
		}
		return nil
	}
	ops, err := startOps("ingest", cfg.Ingest.MetricsAddress, cfg.HTTP.Token, reg, ready, log)
	if err != nil {
		return err
	}
	stops, err := startListeners(ctx, cfg, pipe, admit, log)
	if err != nil {
		_ = ops.Stop(context.Background())
		return err
	}
	feeds, err := startFeeds(ctx, cfg, pipe, admit, log)
	if err != nil {
		for _, stop := range stops {
			_ = stop(context.Background())
		}
		_ = ops.Stop(context.Background())
		return err
	}
	stops = append(stops, feeds...)

	var raw *rawConsumer
	rawDone := make(chan error, 1)
	if t.Raw != "" {
		raw = newRawConsumer(cfg, kc, pipe, keyer, prod, log, reg)
		go func() { rawDone <- raw.run(ctx) }()
	} else {
		rawDone <- nil
	}
	log.Info().Strs("brokers", cfg.Kafka.Brokers).Str("events_topic", t.Events).Str("raw_topic", t.Raw).Msg("tocsin ingest is running")

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-ops.Err():
		runErr = fmt.Errorf("metrics listener stopped: %w", err)
	}
	log.Info().Msg("stopping: draining listeners and the buffer")
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	errs := []error{runErr}
	for _, stop := range stops {
		errs = append(errs, stop(stopCtx))
	}
	if raw != nil {
		errs = append(errs, <-rawDone)
	}
	pipe.Close()
	// Close delivers what it can and keeps the rest on disk for the next
	// start.
	// Deliver for a while; what is left goes to disk for the next start,
	// well within a container's grace period.
	closeCtx, cancelClose := context.WithTimeout(stopCtx, 10*time.Second)
	defer cancelClose()
	errs = append(errs, evBuf.Close(closeCtx), failBuf.Close(closeCtx), ops.Stop(stopCtx))
	return errors.Join(errs...)
}

// syncedPublisher is a publisher into a spool buffer that also passes
// the buffer's Sync on (bus.Syncer), so that RELP answers a sender only
// once Kafka accepted its messages.
type syncedPublisher[T any] struct {
	bus.Publisher[T]
	buf *spool.Buffer
}

// Sync implements bus.Syncer.
func (p syncedPublisher[T]) Sync(ctx context.Context) error { return p.buf.Sync(ctx) }

// rawConsumer reads raw log lines from a Kafka topic (as rsyslog's omkafka
// writes them), one line per record, parses them with the ingest
// pipeline, produces each batch's events and failures, and only then
// returns the offset to commit: the raw topic itself is the buffer.
type rawConsumer struct {
	kc    kafkabus.Config
	pipe  *ingest.Pipeline
	keyer *wire.Keyer
	prod  *kafkabus.Producer
	cfg   config.Config
	opts  kafkabus.GroupOptions
}

func newRawConsumer(cfg config.Config, kc kafkabus.Config, pipe *ingest.Pipeline, keyer *wire.Keyer, prod *kafkabus.Producer, log zerolog.Logger, reg *prometheus.Registry) *rawConsumer {
	rc := &rawConsumer{kc: kc, pipe: pipe, keyer: keyer, prod: prod, cfg: cfg}
	rc.opts = kafkabus.GroupOptions{GroupID: cfg.Kafka.Groups.Raw, Topics: []string{cfg.Kafka.Topics.Raw}, Handler: rc, Logger: log, Registerer: reg}
	return rc
}

func (rc *rawConsumer) run(ctx context.Context) error {
	if err := kafkabus.RunGroup(ctx, rc.kc, rc.opts); err != nil {
		return fmt.Errorf("raw-topic consumer: %w", err)
	}
	return nil
}

// Assign implements kafkabus.PartitionHandler.
func (rc *rawConsumer) Assign(ctx context.Context, topic string, partition int, committed int64) (kafkabus.PartitionConsumer, int64, error) {
	p := &rawPartition{rc: rc, origin: strconv.Itoa(partition) + ":"}
	p.b = rc.pipe.NewBatcher(ingest.Source{
		Kind:     ingest.KindKafka,
		Name:     fmt.Sprintf("kafka:%s/%d", topic, partition),
		Events:   bus.Direct[*schemas.Event]{H: bus.HandlerFunc[*schemas.Event](p.collectEvents)},
		Failures: bus.Direct[schemas.ParseFailure]{H: bus.HandlerFunc[schemas.ParseFailure](p.collectFailures)},
	})
	return p, committed, nil
}

// rawPartition parses the records of one raw partition. Its batcher hands
// each line's event or failure straight to collectEvents and
// collectFailures, which stamp it with the record's offset.
type rawPartition struct {
	rc     *rawConsumer
	b      *ingest.Batcher
	origin string // "<partition>:"
	offset int64  // of the record being parsed
	buf    []byte
	spans  []rawSpan
}

// rawSpan locates one message to produce inside buf.
type rawSpan struct {
	failure            bool
	k0, k1, v1, o0, o1 int
}

func (p *rawPartition) collectEvents(_ context.Context, evs []*schemas.Event) error {
	for _, ev := range evs {
		sp := rawSpan{k0: len(p.buf)}
		p.buf, _ = p.rc.keyer.Key(p.buf, ev)
		sp.k1 = len(p.buf)
		p.buf = wire.AppendEvent(p.buf, ev)
		sp.v1 = len(p.buf)
		p.buf = append(p.buf, p.origin...)
		p.buf = strconv.AppendInt(p.buf, p.offset, 10)
		sp.o0, sp.o1 = sp.v1, len(p.buf)
		p.spans = append(p.spans, sp)
	}
	return nil
}

func (p *rawPartition) collectFailures(_ context.Context, fs []schemas.ParseFailure) error {
	for i := range fs {
		sp := rawSpan{failure: true, k0: len(p.buf)}
		p.buf = wire.AppendFailureKey(p.buf, &fs[i])
		sp.k1 = len(p.buf)
		var err error
		if p.buf, err = wire.AppendFailure(p.buf, &fs[i]); err != nil {
			return fmt.Errorf("cannot encode a parse failure: %w", err)
		}
		sp.v1 = len(p.buf)
		p.spans = append(p.spans, sp)
	}
	return nil
}

// Handle parses each record as one line (a trailing newline is dropped),
// numbering it by its offset so that a record delivered again keeps its
// event ID, produces what the batch made, and returns the offset after the
// batch once Kafka accepted it all.
func (p *rawPartition) Handle(ctx context.Context, msgs []kafkabus.Message) (int64, error) {
	p.buf, p.spans = p.buf[:0], p.spans[:0]
	for i := range msgs {
		m := &msgs[i]
		line := m.Value
		for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
			line = line[:len(line)-1]
		}
		p.offset = m.Offset
		p.b.SetSeq(uint64(m.Offset))
		received := m.Time
		if received.IsZero() {
			received = time.Now()
		}
		if err := p.b.Line(ctx, line, received, ""); err != nil {
			return -1, err
		}
		// One line at a time, so that each event carries its own offset.
		if err := p.b.Flush(ctx); err != nil {
			return -1, err
		}
	}
	t := p.rc.cfg.Kafka.Topics
	out := make([]kafkabus.Message, 0, len(p.spans))
	for _, sp := range p.spans {
		m := kafkabus.Message{Topic: t.Events, Key: p.buf[sp.k0:sp.k1], Value: p.buf[sp.k1:sp.v1],
			Headers: []kafkabus.Header{{Key: wire.HeaderType, Value: rawTypeEvent}, {Key: wire.HeaderRawOrigin, Value: p.buf[sp.o0:sp.o1]}}}
		if sp.failure {
			m = kafkabus.Message{Topic: t.Failures, Key: p.buf[sp.k0:sp.k1], Value: p.buf[sp.k1:sp.v1],
				Headers: []kafkabus.Header{{Key: wire.HeaderType, Value: rawTypeFailure}}}
		}
		out = append(out, m)
	}
	if err := p.rc.prod.Produce(ctx, out); err != nil {
		return -1, err
	}
	return msgs[len(msgs)-1].Offset + 1, nil
}

var (
	rawTypeEvent   = []byte(wire.TypeEvent)
	rawTypeFailure = []byte(wire.TypeFailure)
)

// Revoke implements kafkabus.PartitionConsumer.
func (p *rawPartition) Revoke(ctx context.Context) { _ = p.b.Close(ctx) }

// RunEngine runs one member of the engine consumer group until ctx ends.
// SIGHUP reloads the rules.
func RunEngine(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	reg := newRegistry()
	set, err := loadRules(cfg.Rules.Builtin, cfg.Rules.Dirs)
	if err != nil {
		return err
	}
	kc, err := kafkaConfig(cfg)
	if err != nil {
		return err
	}
	t := cfg.Kafka.Topics
	if err := ensureTopics(ctx, cfg, kc, log, t.Events, t.Alerts, t.Repartition, t.State); err != nil {
		return err
	}
	// The producer also writes the checkpoints, which may be as large as
	// the state topic allows; a message above the batch size goes alone.
	prod, err := kafkabus.NewProducer(kc, kafkabus.ProducerOptions{Topic: t.Alerts, Compression: "lz4", Logger: log, Registerer: reg})
	if err != nil {
		return fmt.Errorf("cannot start the Kafka producer: %w", err)
	}
	defer prod.Close()
	r, err := stream.New(stream.Options{
		Kafka:              kc,
		Group:              cfg.Kafka.Groups.Engine,
		EventsTopic:        t.Events,
		RepartitionTopic:   t.Repartition,
		StateTopic:         t.State,
		AlertsTopic:        t.Alerts,
		KeyFields:          cfg.Kafka.KeyFields,
		Rules:              set,
		Engine:             engine.Options{EvidenceLimit: cfg.Engine.EvidenceLimit, Logger: log},
		CheckpointInterval: cfg.Engine.CheckpointInterval,
		CheckpointMaxBytes: stateMaxMessageBytes,
		ReorderWait:        reorderWait(cfg.Engine.ReorderWait),
		Producer:           prod,
		Logger:             log,
		Registerer:         reg,
	})
	if err != nil {
		return fmt.Errorf("cannot start the engine: %w", err)
	}
	ready := func() error {
		if !r.Ready() {
			return errors.New("not yet a member of the consumer group with partitions assigned")
		}
		return nil
	}
	ops, err := startOps("engine", cfg.Engine.MetricsAddress, cfg.HTTP.Token, reg, ready, log)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	log.Info().Strs("brokers", cfg.Kafka.Brokers).Str("group", cfg.Kafka.Groups.Engine).Int("rules", len(set.Rules)).Msg("tocsin engine is running")

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-done:
			runErr = err
			done = nil
			break loop
		case err := <-ops.Err():
			runErr = fmt.Errorf("metrics listener stopped: %w", err)
			break loop
		case <-hup:
			reloadRules(cfg, r.Reload, log)
		}
	}
	log.Info().Msg("stopping: checkpointing partitions")
	stop()
	if done != nil {
		runErr = errors.Join(runErr, <-done)
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	return errors.Join(runErr, ops.Stop(stopCtx))
}

// reorderWait maps the setting, where 0 turns reordering off, to
// stream.Options.ReorderWait, where a negative value does.
func reorderWait(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
