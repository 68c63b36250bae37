package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/engine"
	"github.com/tocsin-siem/tocsin/ingest"
	"github.com/tocsin-siem/tocsin/ingest/parse"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
	"github.com/tocsin-siem/tocsin/ticketing/sqlite"
)

// replayGCPercent is replay's GOGC unless the environment sets one.
const replayGCPercent = 300

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// ReplayCommand is `tocsin replay`: it reads log files in event time
// through the same parser, engine and ticketing as `tocsin run`, and prints
// the incidents opened.
func ReplayCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay", "replay [flags] FILE...", stderr)
	var ruleDirs stringList
	fs.Var(&ruleDirs, "rules", "directory of rule files (repeatable)")
	noBuiltin := fs.Bool("no-builtin", false, "do not load the built-in rules")
	output := fs.String("output", "text", "text or jsonl")
	tf := addTimeFlags(fs)
	ff := addFormatFlags(fs)
	quiet := fs.Duration("quiet-period", 24*time.Hour, "an incident without alerts for this long (in event time) is resolved")
	shards := fs.Int("shards", 0, "engine goroutines (0: GOMAXPROCS)")
	progress := fs.String("progress", "auto", "progress on stderr: auto (when it is a terminal), always or never")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the replay to this file")
	keep := fs.String("data-dir", "", "keep the incidents in this folder's store (default: a temporary one, removed at the end)")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageErr("replay needs at least one FILE (or - for standard input)")
	}
	if *output != "text" && *output != "jsonl" {
		return usageErr("--output must be text or jsonl, not %q", *output)
	}
	if *ff.list {
		printFormats(stdout)
		return nil
	}
	ref, loc, err := tf.values()
	if err != nil {
		return err
	}
	popts, err := ff.options(loc)
	if err != nil {
		return err
	}
	if *noBuiltin && len(ruleDirs) == 0 {
		return usageErr("--no-builtin needs at least one --rules DIR")
	}
	if *quiet < time.Minute {
		return usageErr("--quiet-period must be at least 1m")
	}
	if os.Getenv("GOGC") == "" {
		// Replay is a batch job whose live heap is small (open windows)
		// while it allocates an event per line: collecting less often
		// trades about twice the peak memory for a quarter less CPU.
		// GOGC in the environment overrides this.
		debug.SetGCPercent(replayGCPercent)
	}
	showProgress := *progress == "always" || (*progress == "auto" && isTerminal(stderr))

	set, err := loadRules(!*noBuiltin, ruleDirs)
	if err != nil {
		return err
	}
	dir := *keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "tocsin-replay-"); err != nil {
			return fmt.Errorf("cannot create a temporary store: %w", err)
		}
		defer os.RemoveAll(dir)
	}
	store, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
	if err != nil {
		return fmt.Errorf("cannot open the store in %s: %w", dir, err)
	}
	defer store.Close()
	mgr, err := ticketing.New(ticketing.Options{Store: store, QuietPeriod: *quiet})
	if err != nil {
		return fmt.Errorf("cannot start ticketing: %w", err)
	}
	alerts := &bus.Collector[schemas.Alert]{}
	eng, err := engine.New(engine.Options{Rules: set, Alerts: alerts, Shards: *shards})
	if err != nil {
		return fmt.Errorf("cannot start the engine: %w", err)
	}
	failures := &failureTally{}
	pipe, err := ingest.NewPipeline(ingest.PipelineOptions{
		Events:   bus.Direct[*schemas.Event]{H: eng},
		Failures: failures,
		Location: loc,
		Disabled: popts.Disabled,
	})
	if err != nil {
		return fmt.Errorf("cannot start ingest: %w", err)
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cannot write CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cannot start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	opts := ingest.FileOptions{Received: func() time.Time { return ref }, Format: popts.Format, Split: parse.SplitRecords}
	if showProgress {
		opts.Progress = func(p ingest.Progress) { drawProgress(stderr, p, time.Since(start)) }
	}
	prog, readErr := ingest.ReadFiles(ctx, pipe, files, opts)
	pipe.Close()
	if showProgress {
		fmt.Fprint(stderr, "\r\033[K")
	}
	flushCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := eng.Flush(flushCtx); err != nil {
		return fmt.Errorf("cannot finish correlation: %w", err)
	}
	if err := eng.Close(flushCtx); err != nil {
		return fmt.Errorf("cannot stop the engine: %w", err)
	}
	if err := handOver(ctx, alerts.Take(), mgr); err != nil {
		return fmt.Errorf("cannot open incidents: %w", err)
	}
	if err := mgr.Close(flushCtx); err != nil {
		return fmt.Errorf("cannot stop ticketing: %w", err)
	}
	if readErr != nil {
		return fmt.Errorf("cannot read input: %w", readErr)
	}
	elapsed := time.Since(start)

	incs, err := allIncidents(ctx, mgr)
	if err != nil {
		return err
	}
	if err := printIncidents(stdout, *output, incs); err != nil {
		return fmt.Errorf("cannot write incidents: %w", err)
	}
	rate := float64(prog.Lines) / elapsed.Seconds()
	fmt.Fprintf(stderr, "replayed %s in %s (%.0f lines/s, GOMAXPROCS %d): %s, %s\n",
		plural(int(prog.Lines), "line", "lines"), elapsed.Round(time.Millisecond), rate, runtime.GOMAXPROCS(0),
		plural(len(incs), "incident", "incidents"), failures.summary())
	return nil
}

// handOver sorts replay's alerts by first and last seen, then rule and
// group, and hands them to ticketing in batches, so that they reach it in
// event-time order whatever shard raised them: incident IDs and the
// quiet-period logic then come out the same on every run. Replay holds
// every alert (each with at most the engine's evidence limit of events)
// until the input is read.
func handOver(ctx context.Context, alerts []schemas.Alert, h bus.Handler[schemas.Alert]) error {
	sort.SliceStable(alerts, func(i, j int) bool {
		a, b := &alerts[i], &alerts[j]
		switch {
		case !a.FirstSeen.Equal(b.FirstSeen):
			return a.FirstSeen.Before(b.FirstSeen)
		case !a.LastSeen.Equal(b.LastSeen):
			return a.LastSeen.Before(b.LastSeen)
		case a.RuleID != b.RuleID:
			return a.RuleID < b.RuleID
		case a.GroupKey != b.GroupKey:
			return a.GroupKey < b.GroupKey
		}
		return a.ID < b.ID
	})
	const batch = 256
	for i := 0; i < len(alerts); i += batch {
		if err := h.Handle(ctx, alerts[i:min(i+batch, len(alerts))]); err != nil {
			return err
		}
	}
	return nil
}

// allIncidents pages through every incident, oldest first.
func allIncidents(ctx context.Context, mgr *ticketing.Manager) ([]schemas.Incident, error) {
	var out []schemas.Incident
	const page = 500
	for off := 0; ; off += page {
		incs, total, err := mgr.Incidents(ctx, ticketing.IncidentQuery{Page: ticketing.Page{Limit: page, Offset: off}})
		if err != nil {
			return nil, fmt.Errorf("cannot list incidents: %w", err)
		}
		out = append(out, incs...)
		if len(incs) == 0 || len(out) >= total {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].FirstSeen.Equal(out[j].FirstSeen) {
			return out[i].FirstSeen.Before(out[j].FirstSeen)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// failureTally counts replay's parse failures by reason and keeps the
// first few, for the summary.
type failureTally struct {
	mu       sync.Mutex
	byReason map[string]int
	total    int
	first    []schemas.ParseFailure
}

func (f *failureTally) Publish(_ context.Context, batch []schemas.ParseFailure) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byReason == nil {
		f.byReason = map[string]int{}
	}
	for _, pf := range batch {
		f.byReason[pf.Reason]++
		f.total++
		if len(f.first) < 3 {
			f.first = append(f.first, pf)
		}
	}
	return nil
}

func (f *failureTally) summary() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.total == 0 {
		return "every line parsed"
	}
	reasons := make([]string, 0, len(f.byReason))
	for r, n := range f.byReason {
		reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(reasons)
	s := fmt.Sprintf("%s did not parse (%s)", plural(f.total, "line", "lines"), strings.Join(reasons, ", "))
	for _, pf := range f.first {
		raw := pf.Raw
		if len(raw) > 80 {
			raw = raw[:80]
		}
		s += fmt.Sprintf("\n  %s: %s: %q", pf.Source, joinNonEmpty(": ", pf.Reason, pf.Detail), raw)
	}
	return s
}

// drawProgress rewrites one status line on a terminal.
func drawProgress(w io.Writer, p ingest.Progress, elapsed time.Duration) {
	pct := ""
	if p.BytesTotal > 0 {
		pct = fmt.Sprintf("%3.0f%% ", 100*float64(p.BytesRead)/float64(p.BytesTotal))
	}
	rate := float64(p.Lines) / max(elapsed.Seconds(), 1e-3)
	fmt.Fprintf(w, "\r\033[K%s%d/%d files, %.1f MB, %d lines, %.0f lines/s", pct, p.FilesDone, p.Files,
		float64(p.BytesRead)/1e6, p.Lines, rate)
}
