package ingest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/ingest/parse"
	"github.com/tocsin-siem/tocsin/schemas"
)

// Defaults for PipelineOptions.
const (
	DefaultBatchSize     = 512
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultSSHDMaxProcs  = 65536
	DefaultMaxFailureRaw = 8 << 10
)

// failureLogEvery is the least time between two log lines that summarise
// parse failures.
const failureLogEvery = 10 * time.Second

// PipelineOptions configures a Pipeline. Only Events is required.
type PipelineOptions struct {
	// Events receives the parsed events in batches. Required.
	Events bus.Publisher[*schemas.Event]
	// Failures receives the lines that could not be parsed. When nil,
	// failures are still counted and summarised in the log, but not kept.
	Failures bus.Publisher[schemas.ParseFailure]
	// Location is the zone for timestamps that carry none (default UTC).
	Location *time.Location
	// BatchSize is the number of events (or failures) published at once
	// (default 512).
	BatchSize int
	// FlushInterval bounds how long a line waits in a partial batch on a
	// live listener (default 200ms). File replay ignores it.
	FlushInterval time.Duration
	// SSHDMaxProcs bounds the sshd processes the attempt tracker follows
	// (default 65536).
	SSHDMaxProcs int
	// Logger receives the pipeline's own logs (the zero value discards
	// them).
	Logger zerolog.Logger
	// Registerer receives the ingest metrics; nil leaves them
	// unregistered.
	Registerer prometheus.Registerer
	// MaxFailureRaw bounds the bytes of a failed line kept in its
	// ParseFailure (default 8 KiB); the failure's Detail says how long
	// the line was when it was cut. Metrics count every byte received.
	MaxFailureRaw int
	// Disabled names the formats that detection skips (see
	// parse.Options.Disabled).
	Disabled []string
}

// lineParser is what a Batcher needs from the parser; tests substitute it.
type lineParser interface {
	Parse(line string, received time.Time, ev *schemas.Event) error
}

// attemptTracker is what a Batcher needs from the sshd tracker.
type attemptTracker interface {
	Apply(ev *schemas.Event)
}

// Pipeline holds what the producers share: the buses, the parser, the
// sshd attempt tracker, metrics and the failure log limiter. It is safe for
// concurrent use; each producer takes its own Batcher.
type Pipeline struct {
	events   bus.Publisher[*schemas.Event]
	failures bus.Publisher[schemas.ParseFailure]
	batch    int
	interval time.Duration
	maxRaw   int
	parser   lineParser
	disabled []string
	loc      *time.Location
	// parsers holds one parser per zone and format that a producer asked
	// for (parserKey -> lineParser).
	parsers sync.Map
	tracker attemptTracker
	logger  zerolog.Logger
	metrics *metrics
	// epoch makes listener event IDs differ from one run to the next.
	epoch int64
	// reg registers the metrics of transports that create theirs on
	// first use (HTTP, tail); extra holds them.
	reg   prometheus.Registerer
	extra extraMetrics

	failLog failureLimiter
}

// NewPipeline checks opts, fills in defaults and registers the metrics.
func NewPipeline(opts PipelineOptions) (*Pipeline, error) {
	var errs []error
	if opts.Events == nil {
		errs = append(errs, errors.New("an event publisher is required"))
	}
	if opts.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch size %d is negative", opts.BatchSize))
	}
	if opts.FlushInterval < 0 {
		errs = append(errs, fmt.Errorf("flush interval %s is negative", opts.FlushInterval))
	}
	if opts.SSHDMaxProcs < 0 {
		errs = append(errs, fmt.Errorf("sshd max processes %d is negative", opts.SSHDMaxProcs))
	}
	if opts.MaxFailureRaw < 0 {
		errs = append(errs, fmt.Errorf("max failure raw %d is negative", opts.MaxFailureRaw))
	}
	if err := (parse.Options{Disabled: opts.Disabled}).Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("cannot create ingest pipeline: %w", err)
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.SSHDMaxProcs == 0 {
		opts.SSHDMaxProcs = DefaultSSHDMaxProcs
	}
	if opts.MaxFailureRaw == 0 {
		opts.MaxFailureRaw = DefaultMaxFailureRaw
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger.With().Str("component", "ingest").Logger()
	p := &Pipeline{
		events:   opts.Events,
		failures: opts.Failures,
		batch:    opts.BatchSize,
		interval: opts.FlushInterval,
		maxRaw:   opts.MaxFailureRaw,
		parser:   parse.New(parse.Options{Location: opts.Location, Disabled: opts.Disabled}),
		disabled: opts.Disabled,
		loc:      opts.Location,
		tracker:  parse.NewSSHDTracker(opts.SSHDMaxProcs),
		logger:   logger,
		metrics:  m,
		epoch:    time.Now().UnixNano(),
		reg:      opts.Registerer,
	}
	p.failLog.logger = logger
	return p, nil
}

// parserKey names a parser by its zone and format.
type parserKey struct {
	loc    *time.Location
	format string
}

// parserFor returns the parser of a producer with its own zone or
// format, or the pipeline's when it has neither.
func (p *Pipeline) parserFor(loc *time.Location, format string) lineParser {
	if loc == nil && (format == "" || format == parse.FormatAuto) {
		return p.parser
	}
	if loc == nil {
		loc = p.loc
	}
	k := parserKey{loc, format}
	if v, ok := p.parsers.Load(k); ok {
		return v.(lineParser)
	}
	v, _ := p.parsers.LoadOrStore(k, parse.New(parse.Options{Location: loc, Format: format, Disabled: p.disabled}))
	return v.(lineParser)
}

// Close logs the parse failures that no summary has reported yet. Call it
// once every producer has stopped.
func (p *Pipeline) Close() {
	if n := p.failLog.carried.Swap(0); n > 0 {
		p.failLog.logger.Warn().Int64("count", n).Msg("lines kept as parse failures since the last summary")
	}
}

// failureLimiter lets one failure summary through per failureLogEvery, across
// all Batchers; failures not yet reported are carried to the next summary.
type failureLimiter struct {
	logger  zerolog.Logger
	next    atomic.Int64 // unix nanoseconds before which no summary is logged
	carried atomic.Int64 // failures from other Batchers not yet reported
}

// allow reports whether a summary may be logged now, and claims the slot.
func (l *failureLimiter) allow(now time.Time) bool {
	n := l.next.Load()
	t := now.UnixNano()
	return t >= n && l.next.CompareAndSwap(n, t+int64(failureLogEvery))
}
