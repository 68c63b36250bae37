// Command tocsin is the one binary of the tocsin SIEM: it parses flags and
// hands over to package app.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tocsin-siem/tocsin/app"
)

const usage = `tocsin: streaming SIEM correlation that turns security logs into incidents

Usage:
  tocsin run [flags]                 listen for syslog, correlate, keep incidents, serve the API
                                     (all in one process; --kafka BROKERS --clickhouse DSN for the
                                     production path, otherwise embedded bus and store)
  tocsin ingest [flags]              production role: listeners and parsers, events to Kafka
  tocsin engine [flags]              production role: one member of the engine consumer group
  tocsin ticketing [flags]           production role: alerts to incidents in ClickHouse, the API
  tocsin migrate [flags]             apply the ClickHouse schema migrations
  tocsin replay [flags] FILE...      correlate log files (plain or gzip) in event time, print incidents
  tocsin parse [flags] [FILE...]     print the event tocsin makes of each line, or why it cannot
  tocsin rules test [flags] DIR...   run the examples in rule files; exit 1 on a mismatch
  tocsin rules check DIR...          load rule files and report every problem
  tocsin send [flags] FILE...        send log lines to a syslog listener (a tiny shipper)
  tocsin incidents [flags]           list incidents from a running tocsin
  tocsin version                     print the version

Run "tocsin COMMAND -h" for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch args[0] {
	case "run":
		err = app.RunCommand(ctx, args[1:], stdout, stderr)
	case "ingest":
		err = app.IngestCommand(ctx, args[1:], stdout, stderr)
	case "engine":
		err = app.EngineCommand(ctx, args[1:], stdout, stderr)
	case "ticketing":
		err = app.TicketingCommand(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = app.MigrateCommand(ctx, args[1:], stdout, stderr)
	case "replay":
		err = app.ReplayCommand(ctx, args[1:], stdout, stderr)
	case "rules":
		err = app.RulesCommand(ctx, args[1:], stdout, stderr)
	case "parse":
		err = app.ParseCommand(ctx, args[1:], stdout, stderr)
	case "send":
		err = app.SendCommand(ctx, args[1:], stdout, stderr)
	case "incidents":
		err = app.IncidentsCommand(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "tocsin", app.Version)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "tocsin: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, app.ErrUsage):
		fmt.Fprintln(stderr, "tocsin:", err)
		return 2
	case errors.Is(err, app.ErrFailed):
		// The command has already said what failed.
		return 1
	default:
		fmt.Fprintln(stderr, "tocsin:", err)
		return 1
	}
}
