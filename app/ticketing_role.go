package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus/kafkabus"
	"github.com/tocsin-siem/tocsin/config"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
	"github.com/tocsin-siem/tocsin/ticketing"
	"github.com/tocsin-siem/tocsin/ticketing/chstore"
	"github.com/tocsin-siem/tocsin/ticketing/sqlite"
)

// openedStore is the ticketing store of a configuration, with the
// ClickHouse store's extras when that is the one.
type openedStore struct {
	ticketing.Store
	// ch is set when the store is ClickHouse: it also keeps the event
	// history and drops old partitions.
	ch *chstore.Store
}

// chOptions maps the configuration to the ClickHouse store's options.
func chOptions(cfg config.Config, reg prometheus.Registerer, log zerolog.Logger) (chstore.Options, error) {
	o, err := chstore.ParseDSN(cfg.ClickHouse.DSN)
	if err != nil {
		return o, fmt.Errorf("clickhouse.dsn: %w", err)
	}
	o.Logger = log
	o.Registerer = reg
	o.FailureLimit = cfg.Ticketing.MaxParseFailures
	return o, nil
}

// openStore opens ClickHouse when clickhouse.dsn is set, else the
// embedded store in data_dir.
func openStore(ctx context.Context, cfg config.Config, reg prometheus.Registerer, log zerolog.Logger) (*openedStore, error) {
	if !cfg.UsesClickHouse() {
		st, err := sqlite.Open(ctx, sqlite.Options{Dir: cfg.DataDir, MaxParseFailures: cfg.Ticketing.MaxParseFailures})
		if err != nil {
			return nil, fmt.Errorf("cannot open the store in %s: %w", cfg.DataDir, err)
		}
		return &openedStore{Store: st}, nil
	}
	o, err := chOptions(cfg, reg, log)
	if err != nil {
		return nil, err
	}
	st, err := chstore.Open(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("cannot open ClickHouse: %w", err)
	}
	return &openedStore{Store: st, ch: st}, nil
}

// MigrateCommand is `tocsin migrate`: applies the ClickHouse schema
// migrations and says which ran.
func MigrateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, log, err := roleConfig("migrate", args, stderr)
	if err != nil {
		return err
	}
	if !cfg.UsesClickHouse() {
		return usageErr("tocsin migrate needs clickhouse.dsn (--clickhouse clickhouse://HOST:9000/DB, or TOCSIN_CLICKHOUSE_DSN); " +
			"the embedded store migrates itself at start")
	}
	o, err := chOptions(cfg, nil, log)
	if err != nil {
		return err
	}
	applied, err := chstore.Migrate(ctx, o)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "schema is up to date")
		return nil
	}
	for _, m := range applied {
		fmt.Fprintln(stdout, "applied", m)
	}
	return nil
}

// RunTicketing runs the ticketing role until ctx ends: it files alerts
// from Kafka as incidents, keeps parse failures and (on ClickHouse) the
// event history, serves the HTTP API, resolves quiet incidents and drops
// expired partitions. Offsets are committed only after the store took the
// records; while the store fails, the same batch is retried and Kafka
// holds the rest.
func RunTicketing(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	reg := newRegistry()
	kc, err := kafkaConfig(cfg)
	if err != nil {
		return err
	}
	t := cfg.Kafka.Topics
	if err := ensureTopics(ctx, cfg, kc, log, t.Events, t.Alerts, t.Failures); err != nil {
		return err
	}
	store, err := openStore(ctx, cfg, reg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	var hw *historyWriter
	if store.ch != nil {
		if hw, err = newHistoryWriter(store.ch, historyOptions{}, reg, log); err != nil {
			return err
		}
	}
	mgr, err := newManager(cfg, store, reg, log)
	if err != nil {
		return err
	}
	httpLn, err := net.Listen("tcp", cfg.HTTP.Address)
	if err != nil {
		return fmt.Errorf("cannot listen for HTTP on %s (set http.address or --http-address): %w", cfg.HTTP.Address, err)
	}
	th := &ticketHandler{mgr: mgr, alertsTopic: t.Alerts, log: log}
	srv := apiServer(th.guard(newAPI(cfg, mgr, reg, log)))
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(httpLn) }()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	consumers := 1
	done := make(chan error, 2)
	go func() {
		err := kafkabus.RunGroup(runCtx, kc, kafkabus.GroupOptions{
			GroupID: cfg.Kafka.Groups.Ticketing, Topics: []string{t.Alerts, t.Failures},
			Handler: th, Logger: log, Registerer: reg,
		})
		if err != nil {
			err = fmt.Errorf("alert consumer: %w", err)
		}
		done <- err
	}()
	if hw != nil {
		consumers++
		go func() {
			err := hw.consume(runCtx, kc, kafkabus.GroupOptions{
				GroupID: cfg.Kafka.Groups.History, Topics: []string{t.Events},
				MaxBatch: defaultHistoryFlushRows, MaxWait: time.Second, Logger: log, Registerer: reg,
			})
			if err != nil {
				err = fmt.Errorf("event history consumer: %w", err)
			}
			done <- err
		}()
	}
	log.Info().Str("address", httpLn.Addr().String()).Bool("clickhouse", store.ch != nil).Msg("tocsin ticketing is running")

	sweep := time.NewTicker(cfg.Ticketing.SweepInterval)
	defer sweep.Stop()
	retention := time.NewTicker(cfg.ClickHouse.Retention.Interval)
	defer retention.Stop()
	applyRetention := func(now time.Time) {
		if store.ch == nil {
			return
		}
		r := cfg.ClickHouse.Retention
		dropped, err := store.ch.ApplyRetention(ctx, chstore.Retention{EventsDays: r.EventsDays, AlertsDays: r.AlertsDays, IncidentsMonths: r.IncidentsMonths}, now)
		if err != nil {
			log.Error().Err(err).Msg("cannot drop expired partitions; retrying at the next interval")
			return
		}
		if len(dropped) > 0 {
			log.Info().Strs("partitions", dropped).Msg("dropped expired partitions")
		}
	}
	applyRetention(time.Now())

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-srvErr:
			runErr = fmt.Errorf("HTTP server stopped: %w", err)
			break loop
		case err := <-done:
			consumers--
			runErr = err
			break loop
		case now := <-sweep.C:
			if err := mgr.Sweep(ctx, now); err != nil {
				log.Error().Err(err).Msg("cannot resolve quiet incidents")
			}
		case now := <-retention.C:
			applyRetention(now)
		}
	}
	log.Info().Msg("stopping ticketing")
	stop()
	for ; consumers > 0; consumers-- {
		runErr = errors.Join(runErr, <-done)
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	errs := []error{runErr}
	if err := srv.Shutdown(stopCtx); err != nil {
		errs = append(errs, fmt.Errorf("cannot stop the HTTP server: %w", err))
	}
	errs = append(errs, mgr.Close(stopCtx))
	return errors.Join(errs...)
}

// ticketHandler consumes the alerts and failures topics. Taking over the
// alerts partition reloads the Manager's index of active incidents from
// the store, since another instance may have written since this one
// loaded it.
type ticketHandler struct {
	mgr         *ticketing.Manager
	alertsTopic string
	log         zerolog.Logger
	// active counts the alerts partitions this instance holds: the one
	// that holds them is the only writer of incidents.
	active atomic.Int32
}

// Assign implements kafkabus.PartitionHandler.
func (h *ticketHandler) Assign(ctx context.Context, topic string, partition int, committed int64) (kafkabus.PartitionConsumer, int64, error) {
	if topic == h.alertsTopic {
		if err := h.mgr.Reload(ctx); err != nil {
			return nil, 0, err
		}
		h.active.Add(1)
		return &alertPartition{h: h}, committed, nil
	}
	return &failurePartition{h: h}, committed, nil
}

// guard makes a standby instance (one that holds no alerts partition)
// read-only: its /healthz answers 503 so that a load balancer sends
// responders to the active instance, and a change to an incident is
// refused, since only the active instance may write incidents (its index
// of active incidents would not see another writer's changes).
func (h *ticketHandler) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.active.Load() == 0 && (r.URL.Path == "/healthz" || (r.Method != http.MethodGet && r.Method != http.MethodHead)) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, `{"error":"standby: this ticketing instance holds no alerts partition; changes go to the active instance"}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// retryStore calls fn until it succeeds or ctx ends (the partition was
// taken away or the role stops): a store that is down holds the batch,
// and Kafka the rest, until it returns.
func retryStore(ctx context.Context, log zerolog.Logger, what string, n int, fn func() error) error {
	wait := retryFirst
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			if attempt > 1 {
				log.Info().Str("stage", what).Int("attempts", attempt).Msg("batch stored after retries")
			}
			return nil
		}
		if attempt == 1 || attempt%10 == 0 {
			log.Error().Err(err).Str("stage", what).Int("attempt", attempt).Int("batch_size", n).Dur("retry_in", wait).
				Msg("cannot store batch; retrying, its offsets stay uncommitted")
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

type alertPartition struct {
	h      *ticketHandler
	alerts []schemas.Alert
}

// Handle files the batch's alerts; a record that does not decode is
// logged and skipped (it can never decode), not retried.
func (p *alertPartition) Handle(ctx context.Context, msgs []kafkabus.Message) (int64, error) {
	clear(p.alerts)
	p.alerts = p.alerts[:0]
	for i := range msgs {
		var a schemas.Alert
		if err := wire.DecodeAlert(msgs[i].Value, &a); err != nil {
			p.h.log.Error().Err(err).Str("topic", msgs[i].Topic).Int("partition", msgs[i].Partition).Int64("offset", msgs[i].Offset).
				Msg("skipping an alert record that does not decode")
			continue
		}
		p.alerts = append(p.alerts, a)
	}
	err := retryStore(ctx, p.h.log, "alerts", len(p.alerts), func() error {
		err := p.h.mgr.Handle(ctx, p.alerts)
		if errors.Is(err, ticketing.ErrInvalidAlert) {
			p.h.log.Error().Err(err).Msg("skipping invalid alerts")
			return nil
		}
		return err
	})
	if err != nil {
		return -1, err
	}
	return msgs[len(msgs)-1].Offset + 1, nil
}

func (p *alertPartition) Revoke(ctx context.Context) { p.h.active.Add(-1) }

type failurePartition struct {
	h  *ticketHandler
	fs []schemas.ParseFailure
}

func (p *failurePartition) Handle(ctx context.Context, msgs []kafkabus.Message) (int64, error) {
	clear(p.fs)
	p.fs = p.fs[:0]
	for i := range msgs {
		var f schemas.ParseFailure
		if err := wire.DecodeFailure(msgs[i].Value, &f); err != nil {
			p.h.log.Error().Err(err).Int64("offset", msgs[i].Offset).Msg("skipping a failure record that does not decode")
			continue
		}
		p.fs = append(p.fs, f)
	}
	fh := p.h.mgr.FailureHandler()
	if err := retryStore(ctx, p.h.log, "failures", len(p.fs), func() error { return fh.Handle(ctx, p.fs) }); err != nil {
		return -1, err
	}
	return msgs[len(msgs)-1].Offset + 1, nil
}

func (p *failurePartition) Revoke(ctx context.Context) {}
