package app

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tocsin-siem/tocsin/rules/rulestest"
	"github.com/tocsin-siem/tocsin/schemas/wire"
	"github.com/tocsin-siem/tocsin/stream"
)

// RulesCommand is `tocsin rules test|check`.
func RulesCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("rules needs a subcommand: test or check")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, "Usage:\n  tocsin rules test [flags] [DIR...]   run the examples in rule files; exit 1 on a mismatch\n"+
			"  tocsin rules check [flags] [DIR...]  load rule files and report every problem\n")
		return nil
	case "test":
		return rulesTest(ctx, args[1:], stdout, stderr)
	case "check":
		return rulesCheck(args[1:], stdout, stderr)
	default:
		return usageErr("unknown rules subcommand %q (want test or check)", args[0])
	}
}

func rulesTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rules test", "rules test [flags] [DIR...]", stderr)
	noBuiltin := fs.Bool("no-builtin", false, "do not test the built-in rules with DIR's (they are always tested when no DIR is given)")
	run := fs.String("run", "", "only tests whose name or file matches this regular expression")
	verbose := fs.Bool("v", false, "list the alerts of passing tests too")
	tz := fs.String("timezone", "UTC", "zone of timestamps that carry none")
	dirs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return usageErr("--timezone: %v", err)
	}
	builtin := len(dirs) == 0 || !*noBuiltin
	rep, err := rulestest.Run(ctx, dirs, stdout, rulestest.Options{Builtin: builtin, Run: *run, Verbose: *verbose, Location: loc})
	if err != nil {
		return err
	}
	if rep.Passed+rep.Failed == 0 {
		if *run != "" {
			return fmt.Errorf("no rule test matches --run %q", *run)
		}
		return fmt.Errorf("no rule tests found in %v: add a tests: section to the rule files", dirs)
	}
	if !rep.OK() {
		return ErrFailed
	}
	return nil
}

func rulesCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rules check", "rules check [DIR...]", stderr)
	noBuiltin := fs.Bool("no-builtin", false, "check only DIR's rules")
	keyFields := fs.String("key-fields", strings.Join(wire.DefaultKeyFields, ","),
		"the Kafka path's kafka.key_fields, to show which rules are re-keyed")
	dirs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	fields := strings.Split(*keyFields, ",")
	if _, err := wire.NewKeyer(fields); err != nil {
		return usageErr("--key-fields: %v", err)
	}
	set, err := loadRules(!*noBuiltin || len(dirs) == 0, dirs)
	if err != nil {
		return err
	}
	if len(set.Rules) == 0 {
		return fmt.Errorf("no rules found in %v: rule files end in .yaml or .yml and hold a rules: list", dirs)
	}
	tests := 0
	for _, f := range set.Files {
		tests += len(f.Tests)
	}
	fmt.Fprintf(stdout, "%s, %s and %s loaded without problems\n",
		plural(len(set.Rules), "rule", "rules"), plural(len(set.Lists), "list", "lists"), plural(tests, "test", "tests"))
	local, rekeyed := stream.Placement(set, fields)
	fmt.Fprintf(stdout, "on Kafka, with events keyed by %s:\n  %s where events land: %s\n",
		strings.Join(fields, ", then "), plural(len(local), "rule runs", "rules run"), strings.Join(local, ", "))
	keys := slices.Sorted(maps.Keys(rekeyed))
	for _, k := range keys {
		fmt.Fprintf(stdout, "  re-keyed by %s through the repartition topic: %s\n", k, strings.Join(rekeyed[k], ", "))
	}
	return nil
}
