package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/config"
	"github.com/tocsin-siem/tocsin/engine"
	"github.com/tocsin-siem/tocsin/ingest"
	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
	"github.com/tocsin-siem/tocsin/ticketing/chstore"
)

// Queue sizes of the in-process bus, in batches.
const (
	eventQueueBatches   = 256
	alertQueueBatches   = 1024
	failureQueueBatches = 256
	// stopTimeout bounds a clean shutdown; what is still queued after it
	// is lost, which the log then says.
	stopTimeout = 60 * time.Second
	// snapshotFile is the engine's saved windows, inside the data folder.
	snapshotFile = "engine.snapshot"
)

// RunCommand is `tocsin run`.
func RunCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", "run [flags]", stderr)
	flags := config.RegisterFlags(fs)
	flags.Alias("kafka", "kafka.brokers")
	flags.Alias("clickhouse", "clickhouse.dsn")
	var ruleDirs stringList
	fs.Var(&ruleDirs, "rules", "directory of rule files, added to rules.dirs (repeatable; as in tocsin replay)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErr("run takes no arguments, got %q", rest)
	}
	cfg, err := config.Load(flags, nil)
	if err != nil {
		return err
	}
	cfg.Rules.Dirs = append(cfg.Rules.Dirs, ruleDirs...)
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	if cfg.UsesKafka() {
		return runDistributed(ctx, cfg, log)
	}
	return Run(ctx, cfg, log)
}

// loadRules loads the built-in rules (when enabled) and the rule
// directories.
func loadRules(builtin bool, dirs []string) (*rules.Set, error) {
	var srcs []rules.Source
	if builtin {
		srcs = append(srcs, rules.BuiltinSource())
	}
	for _, d := range dirs {
		if err := hasRuleFiles(d); err != nil {
			return nil, err
		}
		srcs = append(srcs, rules.DirSource(d))
	}
	set, err := rules.Load(srcs...)
	if err != nil {
		return nil, fmt.Errorf("cannot load rules:\n%w", err)
	}
	return set, nil
}

// hasRuleFiles reports a rules directory that holds no rule file, which
// is a mistaken path more often than an intent.
func hasRuleFiles(dir string) error {
	found := false
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot read rules directory: %w", err)
	}
	if !found {
		return fmt.Errorf("rules directory %s holds no rule files (*.yaml, *.yml)", dir)
	}
	return nil
}

// Run runs the live pipeline until ctx ends, then stops it cleanly: the
// listeners stop reading, everything they accepted goes through the
// engine and ticketing, and the engine's open windows are saved.
func Run(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	reg := newRegistry()
	set, err := loadRules(cfg.Rules.Builtin, cfg.Rules.Dirs)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg, reg, log)
	if err != nil {
		return err
	}
	defer store.Close()

	mgr, err := newManager(cfg, store, reg, log)
	if err != nil {
		return err
	}
	busLog := log.With().Str("component", "bus").Logger()
	onErr := func(stage string) func(error) {
		return func(err error) {
			busLog.Error().Err(err).Str("stage", stage).Msg("batch not handled; what it held is lost")
		}
	}
	// giveUp ends the retries of a failing stage once shutdown has waited
	// stopTimeout for it.
	giveUp, abandon := context.WithCancel(context.Background())
	defer abandon()
	alertQ := bus.NewQueue[schemas.Alert](alertQueueBatches,
		retrying[schemas.Alert]{h: mgr, giveUp: giveUp, stage: "ticketing", log: log}, onErr("ticketing"))
	failQ := bus.NewQueue[schemas.ParseFailure](failureQueueBatches,
		retrying[schemas.ParseFailure]{h: mgr.FailureHandler(), giveUp: giveUp, stage: "failures", log: log}, onErr("failures"))

	eng, err := engine.New(engine.Options{
		Rules:         set,
		Alerts:        alertQ,
		Shards:        cfg.Engine.Shards,
		EvidenceLimit: cfg.Engine.EvidenceLimit,
		Logger:        log,
		Registerer:    reg,
	})
	if err != nil {
		return fmt.Errorf("cannot start the engine: %w", err)
	}
	snapPath := filepath.Join(cfg.DataDir, snapshotFile)
	if err := eng.LoadSnapshot(snapPath); err != nil {
		// A snapshot that cannot be read must not keep tocsin down: the
		// windows start empty, and the file is kept for inspection.
		log.Error().Err(err).Str("path", snapPath).Msg("cannot restore engine windows; starting with empty windows")
		_ = os.Rename(snapPath, snapPath+".unreadable")
	}
	eventQ := bus.NewQueue[*schemas.Event](eventQueueBatches, eng, onErr("engine"))
	var events bus.Publisher[*schemas.Event] = eventQ
	var historyQ *bus.Queue[*schemas.Event]
	if store.ch != nil {
		// With ClickHouse, every event also goes to the history table.
		historyQ = bus.NewQueue[*schemas.Event](eventQueueBatches,
			retrying[*schemas.Event]{h: chHistory{store.ch}, giveUp: giveUp, stage: "history", log: log}, onErr("history"))
		events = bus.Tee[*schemas.Event]{eventQ, historyQ}
	}

	pipe, err := ingest.NewPipeline(ingest.PipelineOptions{
		Events:        events,
		Failures:      failQ,
		Location:      cfg.Location(),
		MaxFailureRaw: cfg.Syslog.FailureRawLimit,
		Disabled:      cfg.Ingest.DisabledFormats,
		Logger:        log,
		Registerer:    reg,
	})
	if err != nil {
		return fmt.Errorf("cannot start ingest: %w", err)
	}

	// Listen on every address before serving anything, so that a busy
	// port stops tocsin at once with a clear error.
	httpLn, err := net.Listen("tcp", cfg.HTTP.Address)
	if err != nil {
		return fmt.Errorf("cannot listen for HTTP on %s (set http.address or --http-address): %w", cfg.HTTP.Address, err)
	}
	stops, err := startListeners(ctx, cfg, pipe, nil, log)
	if err != nil {
		httpLn.Close()
		return err
	}
	feeds, err := startFeeds(ctx, cfg, pipe, nil, log)
	if err != nil {
		for _, stop := range stops {
			_ = stop(context.Background())
		}
		httpLn.Close()
		return err
	}
	stops = append(stops, feeds...)

	srv := apiServer(newAPI(cfg, mgr, reg, log))
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(httpLn) }()
	log.Info().Str("address", httpLn.Addr().String()).Int("rules", len(set.Rules)).Str("data_dir", cfg.DataDir).Msg("tocsin is running")

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	sweep := time.NewTicker(cfg.Ticketing.SweepInterval)
	defer sweep.Stop()
	snap := time.NewTicker(cfg.Engine.SnapshotInterval)
	defer snap.Stop()

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-srvErr:
			runErr = fmt.Errorf("HTTP server stopped: %w", err)
			break loop
		case now := <-sweep.C:
			if err := mgr.Sweep(ctx, now); err != nil {
				log.Error().Err(err).Msg("cannot resolve quiet incidents")
			}
		case <-snap.C:
			if err := eng.SaveSnapshot(snapPath); err != nil {
				log.Error().Err(err).Str("path", snapPath).Msg("cannot save engine windows")
			}
		case <-hup:
			reloadRules(cfg, eng.Reload, log)
		}
	}

	log.Info().Msg("stopping: draining listeners and queues")
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	go func() {
		<-stopCtx.Done()
		abandon()
	}()
	errs := []error{runErr}
	for _, stop := range stops {
		errs = append(errs, stop(stopCtx))
	}
	pipe.Close()
	errs = append(errs, eventQ.Close(stopCtx), eng.Flush(stopCtx))
	if historyQ != nil {
		errs = append(errs, historyQ.Close(stopCtx))
	}
	if err := eng.SaveSnapshot(snapPath); err != nil {
		errs = append(errs, fmt.Errorf("cannot save engine windows: %w", err))
	}
	errs = append(errs, eng.Close(stopCtx), alertQ.Close(stopCtx), failQ.Close(stopCtx))
	// The API answers until every accepted line has become an incident.
	if err := srv.Shutdown(stopCtx); err != nil {
		errs = append(errs, fmt.Errorf("cannot stop the HTTP server: %w", err))
	}
	errs = append(errs, mgr.Close(stopCtx))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	log.Info().Msg("stopped")
	return nil
}

// startListeners starts the syslog listeners of cfg feeding pipe and
// returns their Stop functions. admit, when set, gates new TCP
// connections. On error the listeners already started are stopped.
func startListeners(ctx context.Context, cfg config.Config, pipe *ingest.Pipeline, admit func() error, log zerolog.Logger) ([]func(context.Context) error, error) {
	var stops []func(context.Context) error
	stopAll := func() {
		for _, stop := range stops {
			_ = stop(context.Background())
		}
	}
	if a := cfg.Syslog.UDP.Address; a != "" {
		l, err := ingest.NewUDPListener(pipe, ingest.ListenerOptions{
			Address:        a,
			MaxMessageSize: cfg.Syslog.UDP.MaxMessageSize,
			Location:       cfg.Syslog.UDP.ListenerLocation(),
			Format:         cfg.Syslog.UDP.Format,
			Rate:           float64(cfg.Syslog.UDP.Rate),
			Burst:          cfg.Syslog.UDP.Burst,
		})
		if err == nil {
			err = l.Start(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("cannot listen for syslog over UDP on %s (set syslog.udp.address or --syslog-udp-address): %w", a, err)
		}
		stops = append(stops, l.Stop)
		log.Info().Str("address", l.Addr().String()).Str("protocol", "udp").Msg("syslog listener started")
	}
	if a := cfg.Syslog.TCP.Address; a != "" {
		l, err := ingest.NewTCPListener(pipe, ingest.ListenerOptions{
			Address:        a,
			MaxMessageSize: cfg.Syslog.TCP.MaxMessageSize,
			MaxConnections: cfg.Syslog.TCP.MaxConnections,
			IdleTimeout:    cfg.Syslog.TCP.IdleTimeout,
			EvictIdle:      cfg.Syslog.TCP.EvictIdle,
			Location:       cfg.Syslog.TCP.ListenerLocation(),
			Format:         cfg.Syslog.TCP.Format,
			Admit:          admit,
			Rate:           float64(cfg.Syslog.TCP.Rate),
			Burst:          cfg.Syslog.TCP.Burst,
		})
		if err == nil {
			err = l.Start(ctx)
		}
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("cannot listen for syslog over TCP on %s (set syslog.tcp.address or --syslog-tcp-address): %w", a, err)
		}
		stops = append(stops, l.Stop)
		log.Info().Str("address", l.Addr().String()).Str("protocol", "tcp").Msg("syslog listener started")
	}
	secure, err := startSecureListeners(ctx, cfg, pipe, admit, log)
	if err != nil {
		stopAll()
		return nil, err
	}
	stops = append(stops, secure...)
	return stops, nil
}

// chHistory writes the events of the embedded pipeline to ClickHouse's
// history table.
//
// Shortcoming: it writes each bus batch (a few hundred events) as one
// insert; at high rates ClickHouse prefers fewer, larger inserts, which
// the Kafka path's history consumer makes.
type chHistory struct{ st *chstore.Store }

func (h chHistory) Handle(ctx context.Context, batch []*schemas.Event) error {
	evs := make([]schemas.Event, len(batch))
	for i, ev := range batch {
		evs[i] = *ev
	}
	return h.st.WriteEvents(ctx, evs, "")
}

// reloadRules loads the configured rules again and hands them to reload
// (SIGHUP); on any error the previous rules keep running.
func reloadRules(cfg config.Config, reload func(*rules.Set) error, log zerolog.Logger) {
	set, err := loadRules(cfg.Rules.Builtin, cfg.Rules.Dirs)
	if err == nil {
		err = reload(set)
	}
	if err != nil {
		log.Error().Err(err).Msg("rules not reloaded; the previous rules keep running")
		return
	}
	log.Info().Int("rules", len(set.Rules)).Msg("rules reloaded")
}

// newManager starts the ticketing Manager of cfg on store.
func newManager(cfg config.Config, store ticketing.Store, reg prometheus.Registerer, log zerolog.Logger) (*ticketing.Manager, error) {
	mgr, err := ticketing.New(ticketing.Options{
		Store:       store,
		QuietPeriod: cfg.Ticketing.QuietPeriod,
		Webhooks:    webhookConfigs(cfg.Ticketing.Webhooks),
		Logger:      log,
		Registerer:  reg,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot start ticketing: %w", err)
	}
	return mgr, nil
}

// newAPI is the HTTP API of mgr, with reg on /metrics.
func newAPI(cfg config.Config, mgr *ticketing.Manager, reg prometheus.Gatherer, log zerolog.Logger) http.Handler {
	return ticketing.NewAPI(ticketing.APIOptions{Manager: mgr, Gatherer: reg, Token: cfg.HTTP.Token, Logger: log})
}

// apiServer serves h with tocsin's HTTP timeouts.
func apiServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
}

// webhookConfigs maps the configuration to ticketing's webhook settings.
func webhookConfigs(ws []config.Webhook) []ticketing.WebhookConfig {
	out := make([]ticketing.WebhookConfig, 0, len(ws))
	for _, w := range ws {
		sev, _ := schemas.ParseSeverity(w.MinSeverity) // checked by config.Validate
		out = append(out, ticketing.WebhookConfig{
			URL:         w.URL,
			MinSeverity: sev,
			BearerToken: w.Token,
			MaxAttempts: w.MaxAttempts,
			Timeout:     w.Timeout,
		})
	}
	return out
}
