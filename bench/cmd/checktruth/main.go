// Command checktruth scores `tocsin replay --output jsonl` incidents
// against an authgen truth file: precision and recall per attack kind.
// It exits 1 when a planted attacker was missed or a benign source was
// flagged, 2 on bad usage or unreadable input.
//
//	tocsin replay --output jsonl auth.log | checktruth -truth auth.truth.json
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tocsin-siem/tocsin/bench/internal/truth"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("checktruth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	truthPath := fs.String("truth", "", "authgen truth file (required)")
	incPath := fs.String("incidents", "-", "replay JSON lines, one incident per line (- for standard input)")
	kinds := fs.String("kind", "", "rule-id=kind pairs, comma separated, overriding the guess from rule IDs;\n"+
		"kinds: ssh_bruteforce_fast, ssh_bruteforce_slow, password_spraying, ssh_bruteforce_success, sudo_failures")
	strict := fs.Bool("strict", false, "also fail when an attacker is flagged by a kind it does not allow")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *truthPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "checktruth: usage: checktruth -truth FILE [-incidents FILE] [-kind id=kind,...]")
		return 2
	}
	overrides, err := truth.ParseKindMap(*kinds)
	if err != nil {
		fmt.Fprintf(stderr, "checktruth: -kind: %v\n", err)
		return 2
	}
	tf, err := truth.Load(*truthPath)
	if err != nil {
		fmt.Fprintf(stderr, "checktruth: %v\n", err)
		return 2
	}
	in := stdin
	if *incPath != "-" {
		f, err := os.Open(*incPath)
		if err != nil {
			fmt.Fprintf(stderr, "checktruth: cannot open incidents: %v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	incs, err := truth.ReadIncidents(in)
	if err != nil {
		fmt.Fprintf(stderr, "checktruth: %s: %v\n", *incPath, err)
		return 2
	}
	rep := truth.Check(tf, incs, truth.NewClassifier(overrides))
	if err := rep.WriteText(stdout); err != nil {
		fmt.Fprintf(stderr, "checktruth: cannot write report: %v\n", err)
		return 2
	}
	if !rep.OK() || (*strict && len(rep.CrossKind) > 0) {
		return 1
	}
	return 0
}
