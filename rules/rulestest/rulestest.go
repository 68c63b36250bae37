// Package rulestest runs the tests that rule files carry: each test's log
// lines are parsed as ingest parses them (pinned to the test's reference
// time), fed with its field-by-field events through a real engine running
// the rules of the test's file, and the alerts compared with what the test
// expects. `tocsin rules test DIR` is a thin wrapper around Run.
package rulestest

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tocsin-siem/tocsin/bus"

	"github.com/tocsin-siem/tocsin/engine"
	"github.com/tocsin-siem/tocsin/ingest/parse"
	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
)

// Options select and shape a run.
type Options struct {
	// Builtin adds the built-in rules and their tests before dirs.
	Builtin bool
	// Run, when set, is a regular expression; only tests whose name or
	// file matches it run.
	Run string
	// Verbose also lists every alert each test raised.
	Verbose bool
	// Location is the zone of syslog timestamps that carry none; default
	// UTC.
	Location *time.Location
}

// Report summarises a run.
type Report struct {
	Passed, Failed int
	Results        []Result
}

// OK reports whether every test passed.
func (r Report) OK() bool { return r.Failed == 0 }

// Result is one test's outcome.
type Result struct {
	File, Name string
	Line       int
	Passed     bool
	// Problems say what differed, one sentence each.
	Problems []string
	// Alerts are the alerts the test's rules raised.
	Alerts   []schemas.Alert
	Duration time.Duration
}

// Run loads the rule directories (plus the built-in rules when
// opts.Builtin), runs every test and writes one line per test to w, like
// go test, then "N passed, M failed". The error is for a run that could
// not happen (rules that do not load, a bad opts.Run); failed tests are in
// the Report.
func Run(ctx context.Context, dirs []string, w io.Writer, opts Options) (Report, error) {
	var srcs []rules.Source
	if opts.Builtin {
		srcs = append(srcs, rules.BuiltinSource())
	}
	for _, d := range dirs {
		srcs = append(srcs, rules.DirSource(d))
	}
	set, err := rules.Load(srcs...)
	if err != nil {
		return Report{}, fmt.Errorf("cannot load rules: %w", err)
	}
	return RunSet(ctx, set, w, opts)
}

// RunSet runs the tests of an already loaded set.
func RunSet(ctx context.Context, set *rules.Set, w io.Writer, opts Options) (Report, error) {
	var filter *regexp.Regexp
	if opts.Run != "" {
		re, err := regexp.Compile(opts.Run)
		if err != nil {
			return Report{}, fmt.Errorf("cannot use test filter %q: %w", opts.Run, err)
		}
		filter = re
	}
	var rep Report
	for _, f := range set.Files {
		for _, t := range f.Tests {
			if filter != nil && !filter.MatchString(t.Name) && !filter.MatchString(t.File) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return rep, fmt.Errorf("cannot finish rule tests: %w", err)
			}
			res := runTest(ctx, set, t, opts)
			rep.Results = append(rep.Results, res)
			if res.Passed {
				rep.Passed++
			} else {
				rep.Failed++
			}
			writeResult(w, res, opts.Verbose)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", rep.Passed, rep.Failed)
	return rep, nil
}

func writeResult(w io.Writer, res Result, verbose bool) {
	status := "PASS"
	if !res.Passed {
		status = "FAIL"
	}
	fmt.Fprintf(w, "--- %s: %s:%d: %s (%.2fs)\n", status, res.File, res.Line, res.Name, res.Duration.Seconds())
	for _, p := range res.Problems {
		fmt.Fprintf(w, "    %s\n", p)
	}
	if verbose {
		for _, a := range res.Alerts {
			fmt.Fprintf(w, "    alert %s [%s]: %s\n", a.RuleID, groupOf(a), a.Reason)
		}
	}
}

func runTest(ctx context.Context, set *rules.Set, t *rules.Test, opts Options) Result {
	start := time.Now()
	res := Result{File: t.File, Name: t.Name, Line: t.Line}
	events, problems := testEvents(t, opts.Location)
	res.Problems = problems
	if len(events) == 0 && len(problems) == 0 {
		res.Problems = append(res.Problems, "the test has no input: give it lines or events")
	}
	out := &bus.Collector[schemas.Alert]{}
	eng, err := engine.New(engine.Options{
		Rules:  set.Subset(t.Rules...),
		Alerts: out,
		Shards: 1,
		Now:    func() time.Time { return t.Now },
	})
	if err != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("cannot start engine: %v", err))
		res.Duration = time.Since(start)
		return res
	}
	if err := eng.Handle(ctx, events); err != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("engine: %v", err))
	}
	if err := eng.Flush(ctx); err != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("engine: %v", err))
	}
	if err := eng.Close(ctx); err != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("engine: %v", err))
	}
	res.Alerts = out.Take()
	res.Problems = append(res.Problems, compare(t, res.Alerts)...)
	res.Passed = len(res.Problems) == 0
	res.Duration = time.Since(start)
	return res
}

// testEvents parses the test's lines (with the sshd attempt tracker, as
// ingest does) and appends its field-by-field events. Event IDs are the
// input positions, so alert IDs are stable.
func testEvents(t *rules.Test, loc *time.Location) ([]*schemas.Event, []string) {
	var problems []string
	p := parse.New(parse.Options{Location: loc})
	tracker := parse.NewSSHDTracker(0)
	out := make([]*schemas.Event, 0, len(t.Lines)+len(t.Events))
	for _, l := range t.Lines {
		ev := new(schemas.Event)
		if err := p.Parse(l.Text, t.Now, ev); err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: cannot parse line: %v", t.File, l.Line, err))
			continue
		}
		tracker.Apply(ev)
		ev.ID = uint64(len(out) + 1)
		out = append(out, ev)
	}
	for i := range t.Events {
		ev := t.Events[i]
		ev.ID = uint64(len(out) + 1)
		out = append(out, &ev)
	}
	return out, problems
}

// compare checks alerts against the expectations: each expectation's
// count must match exactly, and every alert must be covered by one.
func compare(t *rules.Test, alerts []schemas.Alert) []string {
	var problems []string
	covered := make([]bool, len(alerts))
	for _, e := range t.Expect {
		var got []int
		for i := range alerts {
			if matches(e, &alerts[i]) {
				got = append(got, i)
				covered[i] = true
			}
		}
		if len(got) != e.Count {
			problems = append(problems, fmt.Sprintf("%s:%d: rule %s%s: want %s, got %d",
				t.File, e.Line, e.Rule, groupSpec(e.Group), plural(e.Count, "alert"), len(got)))
		}
	}
	for i, ok := range covered {
		if !ok {
			a := &alerts[i]
			problems = append(problems, fmt.Sprintf("unexpected alert from %s [%s]: %s", a.RuleID, groupOf(*a), a.Reason))
		}
	}
	return problems
}

func matches(e rules.Expectation, a *schemas.Alert) bool {
	if a.RuleID != e.Rule {
		return false
	}
	for field, want := range e.Group {
		found := false
		for _, ent := range a.Entities {
			if ent.Field == field && ent.Value == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func groupSpec(g map[string]string) string {
	if len(g) == 0 {
		return ""
	}
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + g[k]
	}
	return " group {" + strings.Join(parts, ", ") + "}"
}

func groupOf(a schemas.Alert) string {
	parts := make([]string, len(a.Entities))
	for i, e := range a.Entities {
		parts[i] = e.Field + "=" + e.Value
	}
	return strings.Join(parts, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
