// Command authgen writes a realistic Linux auth log with planted
// attackers, and optionally the ground truth naming them, for tocsin's
// benchmarks and end-to-end checks.
//
//	authgen -lines 1000000 -seed 1 -o /tmp/auth.log -truth /tmp/auth.truth.json
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tocsin-siem/tocsin/bench/internal/authlog"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("authgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o        authlog.Options
		out      = fs.String("o", "-", "write the log to this file (- for standard output)")
		truthOut = fs.String("truth", "", "write the ground truth as JSON to this file")
		format   = fs.String("format", "file", "line format: file (RFC 3164 without PRI, as on disk), rfc3164, rfc5424")
		start    = fs.String("start", "2026-03-02T00:00:00Z",
			"time of the first line (RFC 3339); its zone is the one printed")
	)
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed; the same flags and seed give the same bytes")
	fs.IntVar(&o.Lines, "lines", 1_000_000, "exact number of lines")
	fs.DurationVar(&o.Duration, "duration", 24*time.Hour, "time span of the log (at least 2h)")
	fs.IntVar(&o.Attackers, "attackers", 3, "attackers planted of each kind (0 for none)")
	fs.IntVar(&o.Hosts, "hosts", 12, "hosts in the fleet")
	fs.IntVar(&o.Users, "users", 40, "human accounts")
	fs.IntVar(&o.SlowAttempts, "slow-attempts", 24, "failures of a slow brute force")
	fs.DurationVar(&o.SlowSpan, "slow-span", 50*time.Minute, "span of a slow brute force")
	fs.IntVar(&o.SprayUsers, "spray-users", 25, "distinct users a password sprayer tries")
	fs.IntVar(&o.SudoEpisodes, "sudo-episodes", 3, "times a sudo attacker fails three passwords")
	fs.Float64Var(&o.IPv6Share, "ipv6", 0.02, "share of scanners and probes from IPv6 addresses (negative for none)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "authgen: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var err error
	if o.Format, err = authlog.ParseFormat(*format); err != nil {
		fmt.Fprintf(stderr, "authgen: -format: %v\n", err)
		return 2
	}
	if o.Start, err = time.Parse(time.RFC3339, *start); err != nil {
		fmt.Fprintf(stderr, "authgen: -start: %v\n", err)
		return 2
	}
	if o.Attackers == 0 {
		o.NoAttackers = true
	}
	if err := generate(o, *out, *truthOut, stdout); err != nil {
		fmt.Fprintf(stderr, "authgen: %v\n", err)
		return 1
	}
	return 0
}

func generate(o authlog.Options, out, truthOut string, stdout io.Writer) error {
	g, err := authlog.New(o)
	if err != nil {
		return err
	}
	w := stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return fmt.Errorf("cannot create log file: %w", err)
		}
		defer f.Close()
		w = f
	}
	if _, err := g.WriteTo(w); err != nil {
		return err
	}
	if c, ok := w.(io.Closer); ok && out != "-" {
		if err := c.Close(); err != nil {
			return fmt.Errorf("cannot close log file: %w", err)
		}
	}
	if truthOut == "" {
		return nil
	}
	f, err := os.Create(truthOut)
	if err != nil {
		return fmt.Errorf("cannot create truth file: %w", err)
	}
	if err := g.Truth().Write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot close truth file: %w", err)
	}
	return nil
}
