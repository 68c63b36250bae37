package ingest

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// DefaultMaxLineSize is the longest file line kept whole.
const DefaultMaxLineSize = 1 << 20

// fileBuffer is the read buffer of the file reader; longer lines are
// assembled in a scratch buffer.
const fileBuffer = 256 << 10

// progressEvery is how many input bytes pass between two Progress calls.
const progressEvery = 1 << 20

// ctxCheckEvery is how many lines pass between two checks of the context.
const ctxCheckEvery = 4096

// FileOptions configures ReadFiles.
type FileOptions struct {
	// MaxLineSize is the longest line kept whole (default 1 MiB); a longer
	// one is cut and kept as a "too_long" failure.
	MaxLineSize int
	// Received gives each line's received time, the parser's reference for
	// year inference. Replay passes a function returning a pinned
	// reference time; nil means time.Now.
	Received func() time.Time
	// Progress, when set, is called from the reading goroutine about once
	// per MiB of input and after each file.
	Progress func(Progress)
	// Split is RecordOptions.Split for files of JSON documents.
	Split func(doc []byte) [][]byte
	// Format is the one format of the files' lines (see parse.Formats);
	// empty detects it per line.
	Format string
}

// Progress reports how far ReadFiles has come, over all its files.
type Progress struct {
	// Path is the file being read.
	Path string
	// BytesRead counts bytes read from disk (compressed bytes for gzip
	// files); BytesTotal is the sum of the files' sizes, without standard
	// input, whose size is unknown.
	BytesRead, BytesTotal int64
	// Lines counts lines read, blank and failed ones included.
	Lines int64
	// FilesDone of Files have been read to the end.
	FilesDone, Files int
}

// ReadFiles reads each path in turn, line by line, into p: plain text or
// gzip, told apart by the gzip magic bytes. The path "-" is standard input.
// Each file gets its own Batcher with the source name "file:" + path and
// sender address "file:" + path, so event IDs follow from path and line
// number. A missing file stops the call before anything is read.
func ReadFiles(ctx context.Context, p *Pipeline, paths []string, opts FileOptions) (Progress, error) {
	if opts.MaxLineSize < 0 {
		return Progress{}, fmt.Errorf("cannot read files: max line size %d is negative", opts.MaxLineSize)
	}
	if opts.MaxLineSize == 0 {
		opts.MaxLineSize = DefaultMaxLineSize
	}
	if opts.Received == nil {
		opts.Received = time.Now
	}
	prog := Progress{Files: len(paths)}
	var errs []error
	for _, path := range paths {
		if path == "-" {
			continue
		}
		st, err := os.Stat(path)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("cannot read log file: %w", err))
		case st.IsDir():
			errs = append(errs, fmt.Errorf("cannot read log file %s: it is a directory", path))
		default:
			prog.BytesTotal += st.Size()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return prog, err
	}
	for _, path := range paths {
		if err := readFile(ctx, p, path, opts, &prog); err != nil {
			return prog, err
		}
		prog.FilesDone++
		if opts.Progress != nil {
			opts.Progress(prog)
		}
	}
	return prog, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

func readFile(ctx context.Context, p *Pipeline, path string, opts FileOptions, prog *Progress) error {
	var in io.Reader
	name := path
	if path == "-" {
		in, name = os.Stdin, "stdin"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("cannot read log file: %w", err)
		}
		defer f.Close()
		in = f
	}
	counter := &countingReader{r: in}
	raw := bufio.NewReaderSize(counter, fileBuffer)
	src := raw
	if magic, _ := raw.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			return fmt.Errorf("cannot read gzip log file %s: %w", name, err)
		}
		defer gz.Close()
		src = bufio.NewReaderSize(gz, fileBuffer)
	}
	prog.Path = path
	base := prog.BytesRead
	next := int64(progressEvery)
	sender := "file:" + name
	b := p.NewBatcher(Source{Kind: KindFile, Name: sender, Format: opts.Format})
	var readErr error
	n := 0
	err := ScanRecords(src, RecordOptions{MaxSize: opts.MaxLineSize, Split: opts.Split}, func(rec Record) error {
		prog.Lines++
		var err error
		switch {
		case rec.Reason != "":
			err = b.Reject(ctx, rec.Data, opts.Received(), sender, rec.Reason, rec.Detail)
		case rec.TooLong:
			err = b.Reject(ctx, rec.Data, opts.Received(), sender, ReasonTooLong,
				"line longer than "+strconv.Itoa(opts.MaxLineSize)+" bytes")
		default:
			err = b.Line(ctx, rec.Data, opts.Received(), sender)
		}
		if err != nil {
			return err
		}
		n++
		if n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("cannot finish reading %s: %w", name, err)
			}
		}
		if counter.n >= next {
			prog.BytesRead = base + counter.n
			next = counter.n + progressEvery
			if opts.Progress != nil {
				opts.Progress(*prog)
			}
		}
		return nil
	})
	if re := (*ReadError)(nil); errors.As(err, &re) {
		readErr = fmt.Errorf("cannot read log file %s after line %d: %w", name, re.After, re.Err)
	} else if err != nil {
		_ = b.Close(ctx)
		return err
	}
	prog.BytesRead = base + counter.n
	if err := b.Close(ctx); err != nil {
		return errors.Join(readErr, err)
	}
	return readErr
}

// lineReader splits a stream into lines, cutting lines longer than max.
type lineReader struct {
	r       *bufio.Reader
	max     int
	scratch []byte
}

// next returns the next line without its LF and a trailing CR. tooLong
// reports that the line was longer than max and holds its first max bytes.
// The slice is valid until the next call. At the end of the stream it
// returns io.EOF; a last line without LF is returned first.
func (l *lineReader) next() (line []byte, tooLong bool, err error) {
	chunk, err := l.r.ReadSlice('\n')
	if err == nil || (errors.Is(err, io.EOF) && len(chunk) > 0) {
		return l.finish(chunk)
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return nil, false, err
	}
	// A line longer than the read buffer: keep up to max+2 bytes, room for
	// a CR LF after max bytes of content, and drop the rest.
	l.scratch = l.scratch[:0]
	total := 0
	for {
		total += len(chunk)
		if room := l.max + 2 - len(l.scratch); room > 0 {
			l.scratch = append(l.scratch, chunk[:min(len(chunk), room)]...)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
		chunk, err = l.r.ReadSlice('\n')
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false, err
	}
	if total > l.max+2 {
		return l.scratch[:l.max], true, nil
	}
	return l.finish(l.scratch)
}

// finish strips the terminator and applies the limit.
func (l *lineReader) finish(line []byte) ([]byte, bool, error) {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) > l.max {
		return line[:l.max], true, nil
	}
	return line, false, nil
}
