// Package app wires tocsin's stages into the processes that the tocsin
// binary runs: the live pipeline (run), replay of files, rule tests and the
// small client commands. Each command takes its arguments and output
// streams, so tests run them in-process.
package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/ingest/parse"
)

// Version is set at build time with -ldflags "-X .../app.Version=...".
var Version = "dev"

var (
	// ErrUsage marks a mistake on the command line.
	ErrUsage = errors.New("usage")
	// ErrFailed marks a command that has already reported its failure.
	ErrFailed = errors.New("failed")
)

func usageErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, a...))
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tocsin %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		if args[0] == "--" {
			return append(rest, args[1:]...), nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// newLogger builds tocsin's own logger on w.
func newLogger(w io.Writer, level, format string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05"}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// isTerminal reports whether w is a terminal, for progress output.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// timeFlags are the flags of the commands that parse log lines: the
// reference time for year-less timestamps and the zone of timestamps that
// carry none.
type timeFlags struct {
	ref, tz *string
}

func addTimeFlags(fs *flag.FlagSet) timeFlags {
	return timeFlags{
		ref: fs.String("reference-time", "", "RFC 3339 time that year-less timestamps are inferred against (default now)"),
		tz:  fs.String("timezone", "UTC", "zone of timestamps that carry none"),
	}
}

// formatFlags are the format choices of the commands that read logs.
type formatFlags struct {
	format, disable *string
	list            *bool
}

func addFormatFlags(fs *flag.FlagSet) formatFlags {
	return formatFlags{
		format:  fs.String("format", parse.FormatAuto, "the one format of the input; auto detects it per line (see --formats)"),
		disable: fs.String("disable", "", "comma-separated formats that detection skips"),
		list:    fs.Bool("formats", false, "list the formats and exit"),
	}
}

// options checks the flags and returns the parser options they ask for.
func (f formatFlags) options(loc *time.Location) (parse.Options, error) {
	o := parse.Options{Location: loc, Format: *f.format}
	for d := range strings.SplitSeq(*f.disable, ",") {
		if d = strings.TrimSpace(d); d != "" {
			o.Disabled = append(o.Disabled, d)
		}
	}
	if err := o.Validate(); err != nil {
		return o, usageErr("%v", err)
	}
	return o, nil
}

// printFormats lists the formats for --formats.
func printFormats(w io.Writer) {
	fmt.Fprintf(w, "%-16s %s\n", parse.FormatAuto, "detect the format of each line (default)")
	fmt.Fprintf(w, "%-16s %s\n", parse.FormatSyslog, "syslog header and the sshd, sudo, su and PAM messages only")
	for _, s := range parse.Sources() {
		fmt.Fprintf(w, "%-16s %s\n", s[0], s[1])
	}
}

// values checks and returns the flags' values.
func (f timeFlags) values() (time.Time, *time.Location, error) {
	ref := time.Now()
	if *f.ref != "" {
		var err error
		if ref, err = time.Parse(time.RFC3339, *f.ref); err != nil {
			return ref, nil, usageErr("--reference-time: %q is not an RFC 3339 time such as 2024-01-31T12:00:00Z", *f.ref)
		}
	}
	loc, err := time.LoadLocation(*f.tz)
	if err != nil {
		return ref, nil, usageErr("--timezone: %v", err)
	}
	return ref, loc, nil
}
