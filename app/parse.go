package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/tocsin-siem/tocsin/ingest"
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
	ff := addFormatFlags(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
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
	if len(files) == 0 {
		files = []string{"-"}
	}
	p := parse.New(popts)
	tracker := parse.NewSSHDTracker(parse.DefaultMaxProcs)
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	failed := 0
	for _, name := range files {
		r, closeFn, err := openLog(name)
		if err != nil {
			return err
		}
		br := bufio.NewReaderSize(r, 64<<10)
		err = ingest.ScanRecords(br, ingest.RecordOptions{Split: parse.SplitRecords}, func(rec ingest.Record) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if rec.Reason == "" && !rec.TooLong && len(trimEOL(rec.Data)) == 0 {
				return nil
			}
			res := parseResult{File: name, Line: rec.N}
			switch {
			case rec.Reason != "":
				failed++
				res.Error = &parseErrorView{Reason: rec.Reason, Detail: rec.Detail, Raw: string(rec.Data)}
			case rec.TooLong:
				failed++
				res.Error = &parseErrorView{Reason: ingest.ReasonTooLong, Detail: fmt.Sprintf("longer than %d bytes; the first ones are shown", len(rec.Data)), Raw: string(rec.Data)}
			default:
				var ev schemas.Event
				if perr := p.Parse(string(rec.Data), ref, &ev); perr != nil {
					failed++
					view := &parseErrorView{Reason: ingest.ReasonParse, Raw: string(rec.Data)}
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
			}
			if err := enc.Encode(&res); err != nil {
				return fmt.Errorf("cannot write output: %w", err)
			}
			return nil
		})
		closeFn()
		if err != nil {
			if re := (*ingest.ReadError)(nil); errors.As(err, &re) {
				return fmt.Errorf("cannot read %s %v", name, err)
			}
			return err
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "%s did not parse\n", plural(failed, "record", "records"))
	}
	return nil
}
