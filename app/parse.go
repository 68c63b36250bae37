package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/tocsin-siem/tocsin/ingest/parse"
	"github.com/tocsin-siem/tocsin/schemas"
)

// parseResult is one line of `tocsin parse` output.
type parseResult struct {
	File  string          `json:"file"`
	Line  int             `json:"line"`
	Event *schemas.Event  `json:"event,omitempty"`
	Error *parseErrorView `json:"error,omitempty"`
}

type parseErrorView struct {
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
	Raw    string `json:"raw"`
}

// ParseCommand is `tocsin parse`: it prints, for each input line, the
// normalised event tocsin makes of it, or why it could not, so that an
// analyst sees the fields a rule can use before writing it.
func ParseCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("parse", "parse [flags] [FILE...]   (standard input when no FILE)", stderr)
	tf := addTimeFlags(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	ref, loc, err := tf.values()
	if err != nil {
		return err
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	p := parse.New(parse.Options{Location: loc})
	tracker := parse.NewSSHDTracker(parse.DefaultMaxProcs)
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	failed := 0
	for _, name := range files {
		r, closeFn, err := openLog(name)
		if err != nil {
			return err
		}
		br := bufio.NewReaderSize(r, 64<<10)
		for n := 1; ; n++ {
			if ctx.Err() != nil {
				closeFn()
				return ctx.Err()
			}
			raw, rerr := br.ReadBytes('\n')
			if line := trimEOL(raw); len(line) > 0 {
				res := parseResult{File: name, Line: n}
				var ev schemas.Event
				if perr := p.Parse(string(line), ref, &ev); perr != nil {
					failed++
					view := &parseErrorView{Reason: parse.ReasonEmpty, Raw: string(line)}
					var pe *parse.Error
					if errors.As(perr, &pe) {
						view.Reason, view.Detail = pe.Reason, pe.Detail
					}
					res.Error = view
				} else {
					if ev.Event.Dataset == parse.DatasetSSHD {
						tracker.Apply(&ev)
					}
					res.Event = &ev
				}
				if err := enc.Encode(&res); err != nil {
					closeFn()
					return fmt.Errorf("cannot write output: %w", err)
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				closeFn()
				return fmt.Errorf("cannot read %s: %w", name, rerr)
			}
		}
		closeFn()
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "%s did not parse\n", plural(failed, "line", "lines"))
	}
	return nil
}
