package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxJSONDocument bounds the bytes of a file read as JSON documents (see
// ScanRecords): a decoder holds a whole document in memory.
const MaxJSONDocument = 64 << 20

// ReasonBadJSON is the failure reason of a file read as JSON documents
// whose JSON breaks off; the rest of the file is that one failure.
const ReasonBadJSON = "bad_json"

// Record is one unit of input: a line, or one JSON record of a file of
// JSON documents.
type Record struct {
	// Data is the record without its line end; valid until the next
	// record.
	Data []byte
	// N is the 1-based line number, or the record's number in a file of
	// JSON documents.
	N int
	// TooLong reports that the record was cut at the size limit.
	TooLong bool
	// Reason and Detail, when Reason is set, say why Data could not be
	// read as a record: the rest of a file whose JSON breaks off.
	Reason, Detail string
}

// ReadError is an error of the stream ScanRecords reads, as opposed to
// one its callback returned.
type ReadError struct {
	// After is the number of the last record read whole.
	After int
	Err   error
}

func (e *ReadError) Error() string { return fmt.Sprintf("after line %d: %v", e.After, e.Err) }
func (e *ReadError) Unwrap() error { return e.Err }

// RecordOptions configures ScanRecords.
type RecordOptions struct {
	// MaxSize is the longest record kept whole (default
	// DefaultMaxLineSize).
	MaxSize int
	// Split, when set, is offered each top-level JSON value of a file of
	// JSON documents before the value is split into records; when it
	// returns records, those are the value's records. The TLS scanner
	// reports, one document for many endpoints, are split this way.
	Split func(doc []byte) [][]byte
}

// ScanRecords reads r as records and calls fn for each, stopping at the
// first error fn returns. A stream whose first non-blank byte is '[', or
// '{' starting a JSON value that does not end on its first line (a
// pretty-printed document), is read as JSON documents: each top-level
// object is a record, each element of a top-level array is one, every
// record compacted onto one line so that it reads like an NDJSON line.
// Anything else, NDJSON included, is read line by line.
func ScanRecords(r *bufio.Reader, opts RecordOptions, fn func(Record) error) error {
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxLineSize
	}
	if jsonDocuments(r) {
		return scanJSON(r, opts, fn)
	}
	lr := lineReader{r: r, max: opts.MaxSize}
	for n := 1; ; n++ {
		line, tooLong, err := lr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return &ReadError{After: n - 1, Err: err}
		}
		if err := fn(Record{Data: line, N: n, TooLong: tooLong}); err != nil {
			return err
		}
	}
}

// jsonDocuments peeks at the start of r: true for a JSON array of
// records ('[' then '{', '[' or ']', blanks between; on one line, '['
// then '{'), and for a pretty-printed object ('{' whose first line is not a JSON value by
// itself, then '"' or '}'). A text line that merely starts with '[' (an
// application log's "[2024-01-01 10:00:00] started") is not one.
func jsonDocuments(r *bufio.Reader) bool {
	head, _ := r.Peek(64 << 10)
	head = bytes.TrimPrefix(head, utf8BOM)
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 || (head[0] != '[' && head[0] != '{') {
		return false
	}
	next := bytes.TrimLeft(head[1:], " \t\r\n")
	if len(next) == 0 {
		return false
	}
	line, _, _ := bytes.Cut(head, []byte("\n"))
	if json.Valid(bytes.TrimRight(line, "\r")) {
		// NDJSON is read as lines; a one-line array of objects is split.
		return head[0] == '[' && next[0] == '{'
	}
	if head[0] == '[' {
		return next[0] == '{' || next[0] == '[' || next[0] == ']'
	}
	// A first line cut by the peek may still be a whole value.
	return (next[0] == '"' || next[0] == '}') && bytes.IndexByte(head, '\n') >= 0
}

func scanJSON(r *bufio.Reader, opts RecordOptions, fn func(Record) error) error {
	if b, _ := r.Peek(len(utf8BOM)); bytes.Equal(b, utf8BOM) {
		_, _ = r.Discard(len(utf8BOM))
	}
	lim := &io.LimitedReader{R: r, N: MaxJSONDocument + 1}
	dec := json.NewDecoder(lim)
	n := 0
	var buf bytes.Buffer
	emit := func(v []byte) error {
		n++
		buf.Reset()
		if err := json.Compact(&buf, v); err != nil {
			return fn(Record{Data: v, N: n, Reason: ReasonBadJSON, Detail: err.Error()})
		}
		rec := Record{Data: buf.Bytes(), N: n}
		if len(rec.Data) > opts.MaxSize {
			rec.Data, rec.TooLong = rec.Data[:opts.MaxSize], true
		}
		return fn(rec)
	}
	for {
		var v json.RawMessage
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			rest, _ := io.ReadAll(io.LimitReader(io.MultiReader(dec.Buffered(), lim), int64(opts.MaxSize)))
			detail := fmt.Sprintf("the JSON breaks off after record %d (byte %d): %v", n, dec.InputOffset(), err)
			if lim.N <= 0 {
				detail = fmt.Sprintf("a file of JSON documents is read whole and may hold at most %d bytes; "+
					"write it as NDJSON (one record per line) instead", MaxJSONDocument)
			}
			return fn(Record{Data: rest, N: n + 1, Reason: ReasonBadJSON, Detail: detail})
		}
		if opts.Split != nil {
			if recs := opts.Split(v); recs != nil {
				for _, rec := range recs {
					if err := emit(rec); err != nil {
						return err
					}
				}
				continue
			}
		}
		if v[0] != '[' {
			if err := emit(v); err != nil {
				return err
			}
			continue
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(v, &elems); err != nil {
			return fn(Record{Data: v, N: n + 1, Reason: ReasonBadJSON, Detail: err.Error()})
		}
		for _, e := range elems {
			if err := emit(e); err != nil {
				return err
			}
		}
	}
}
