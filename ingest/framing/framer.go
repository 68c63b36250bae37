// Package framing splits a syslog TCP byte stream into messages, following
// RFC 6587 with both of its framings detected per message:
//
//   - octet counting, "MSG-LEN SP MSG", chosen when a message starts with a
//     digit 1-9, the digits are followed by a space and there are at most
//     MaxCountDigits of them;
//   - non-transparent framing, where a message ends at LF or NUL (one CR
//     before the LF is dropped), used for everything else.
//
// A message longer than the limit is cut at the limit and reported as
// KindTooLong; the rest of it is discarded (the remaining declared octets,
// or everything up to the next LF or NUL), so the next message is read
// intact. A digit run that is too long to be a plausible count is reported
// as KindBadCount and its frame is read with newline framing.
//
// The frames a Framer returns do not depend on how the stream is chunked by
// the reader, and Next may be called again after a read error such as a
// deadline: nothing buffered is lost.
package framing

import (
	"bytes"
	"errors"
	"io"
)

// MaxCountDigits is the longest MSG-LEN accepted, in digits. Longer digit
// runs followed by a space are not taken as a count: skipping up to a
// gigabyte on the word of one header is already generous.
const MaxCountDigits = 9

// Kind says how a frame ended.
type Kind uint8

// Frame kinds.
const (
	// KindOK is a complete message.
	KindOK Kind = iota
	// KindTooLong is a message longer than the limit: Data holds its first
	// limit bytes and the rest was discarded.
	KindTooLong
	// KindTruncated is an octet-counted message cut short by the end of the
	// stream: Data holds the bytes that arrived.
	KindTruncated
	// KindBadCount is a frame that starts with a digit run too long to be a
	// MSG-LEN; it was read with newline framing and Data holds it whole.
	KindBadCount
)

var kindNames = [...]string{"ok", "too_long", "truncated", "bad_count"}

// String returns a short lower-case name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Frame is one message read from the stream.
type Frame struct {
	// Data aliases the Framer's buffer: it is valid until the next call to
	// Next and must be copied to be kept.
	Data []byte
	Kind Kind
	// Octet reports that the frame was octet-counted.
	Octet bool
	// Declared is the MSG-LEN of an octet-counted frame, 0 otherwise.
	Declared int
}

// initialBuffer is the buffer a Framer starts with. It grows up to the
// message limit when a long message needs it and shrinks back once the long
// message has been consumed, so that idle connections stay cheap.
const initialBuffer = 64 << 10

// headerSlack is room for the MSG-LEN digits and the space, and for the CR
// and LF after a newline-framed message of the maximum size.
const headerSlack = MaxCountDigits + 8

// maxEmptyReads bounds the reads that return neither data nor an error.
const maxEmptyReads = 100

// Framer reads frames from an io.Reader. It is not safe for concurrent use.
type Framer struct {
	r       io.Reader
	max     int
	initCap int

	buf    []byte
	r0, w  int  // unread bytes are buf[r0:w]
	scan   int  // leading unread bytes known to hold no terminator
	eof    bool // the reader returned io.EOF
	skip   int  // octets still to discard from an oversize counted frame
	toLine bool // discard through the next LF or NUL
	bad    bool // the pending newline frame began with a bad count
}

// New returns a Framer that cuts messages longer than max bytes; max below
// 1 is taken as 1.
func New(r io.Reader, max int) *Framer {
	if max < 1 {
		max = 1
	}
	initCap := min(initialBuffer, max+headerSlack)
	return &Framer{r: r, max: max, initCap: initCap, buf: make([]byte, initCap)}
}

// Buffered returns the number of bytes read from the reader and not yet
// returned as part of a frame.
func (f *Framer) Buffered() int { return f.w - f.r0 }

// Rest returns the start of a message that the stream has not finished:
// the unread bytes, at most the limit of them, unless they belong to a
// message already reported as too long. Call it when giving up on a stream
// for a reason other than io.EOF. The slice aliases the buffer.
func (f *Framer) Rest() []byte {
	if f.skip > 0 || f.toLine {
		return nil
	}
	return f.buf[f.r0:min(f.w, f.r0+f.max)]
}

// Next returns the next frame. At the end of the stream it returns io.EOF;
// a newline-framed message that the stream ends without a terminator is
// returned first as an ordinary frame. Any other error comes from the reader
// and leaves the Framer as it was, so Next may be called again.
func (f *Framer) Next() (Frame, error) {
	for {
		switch {
		case f.skip > 0:
			n := min(f.skip, f.w-f.r0)
			f.r0 += n
			f.skip -= n
			if f.skip > 0 {
				if err := f.fillOrEOF(1); err != nil {
					return Frame{}, err
				}
			}
			continue
		case f.toLine:
			if i := terminator(f.buf[f.r0:f.w]); i >= 0 {
				f.r0 += i + 1
				f.toLine = false
				continue
			}
			f.r0 = f.w
			if err := f.fillOrEOF(1); err != nil {
				return Frame{}, err
			}
			continue
		case f.r0 == f.w:
			if err := f.fillOrEOF(1); err != nil {
				return Frame{}, err
			}
			continue
		}
		if !f.bad && f.scan == 0 {
			if c := f.buf[f.r0]; c >= '1' && c <= '9' {
				fr, st, err := f.counted()
				if err != nil {
					return Frame{}, err
				}
				switch st {
				case countDone:
					return fr, nil
				case countMore:
					continue
				}
			}
		}
		fr, done, err := f.line()
		if done || err != nil {
			return fr, err
		}
	}
}

// countState is what counted made of the bytes at the read position.
type countState uint8

const (
	countDone countState = iota // a counted frame was produced
	countMore                   // more bytes were read; try again
	countNone                   // not a count: use newline framing
)

// counted tries to read an octet-counted frame at f.r0. When the bytes
// are not a count it returns countNone, having set f.bad for a digit run
// too long to be one.
func (f *Framer) counted() (Frame, countState, error) {
	p := f.r0
	n := 0
	for p < f.w && p-f.r0 <= MaxCountDigits {
		c := f.buf[p]
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
		p++
	}
	digits := p - f.r0
	if digits > MaxCountDigits {
		// Too many digits for a count, whatever follows them.
		f.bad = true
		return Frame{}, countNone, nil
	}
	if p == f.w {
		if f.eof {
			return Frame{}, countNone, nil
		}
		return Frame{}, countMore, f.fill(digits + 1)
	}
	if f.buf[p] != ' ' {
		return Frame{}, countNone, nil
	}
	hdr := digits + 1
	body := f.r0 + hdr
	want := min(n, f.max)
	if f.w-body < want {
		if !f.eof {
			return Frame{}, countMore, f.fill(hdr + want)
		}
		fr := Frame{Data: f.buf[body:f.w], Kind: KindTruncated, Octet: true, Declared: n}
		if n > f.max {
			fr.Kind = KindTooLong
		}
		f.r0 = f.w
		return fr, countDone, nil
	}
	fr := Frame{Data: f.buf[body : body+want], Kind: KindOK, Octet: true, Declared: n}
	f.r0 = body + want
	if n > f.max {
		fr.Kind = KindTooLong
		f.skip = n - f.max
	}
	return fr, countDone, nil
}

// line reads a newline-framed message at f.r0.
func (f *Framer) line() (Frame, bool, error) {
	// A message of max bytes may be followed by CR LF: look at max+2 bytes.
	window := min(f.w-f.r0, f.max+2)
	if i := terminator(f.buf[f.r0+f.scan : f.r0+window]); i >= 0 {
		end := f.r0 + f.scan + i
		fr := f.lineFrame(f.buf[f.r0:end])
		f.r0 = end + 1
		return fr, true, nil
	}
	if window == f.max+2 {
		fr := Frame{Data: f.buf[f.r0 : f.r0+f.max], Kind: KindTooLong}
		f.r0 += f.max
		f.scan = 0
		f.bad = false
		f.toLine = true
		return fr, true, nil
	}
	f.scan = window
	if f.eof {
		fr := f.lineFrame(f.buf[f.r0:f.w])
		f.r0 = f.w
		return fr, true, nil
	}
	if err := f.fill(f.max + 2); err != nil {
		return Frame{}, false, err
	}
	return Frame{}, false, nil
}

// lineFrame finishes a newline frame whose terminator was found or whose
// stream ended.
func (f *Framer) lineFrame(data []byte) Frame {
	if n := len(data); n > 0 && data[n-1] == '\r' {
		data = data[:n-1]
	}
	fr := Frame{Data: data, Kind: KindOK}
	if f.bad {
		fr.Kind = KindBadCount
	}
	if len(data) > f.max {
		// Only reachable through a CR at max+1: the message itself is
		// one byte too long.
		fr.Data = data[:f.max]
		fr.Kind = KindTooLong
	}
	f.scan = 0
	f.bad = false
	return fr
}

// fillOrEOF reads more bytes, returning io.EOF when the stream has ended
// and nothing is buffered.
func (f *Framer) fillOrEOF(need int) error {
	if f.eof {
		if f.r0 == f.w {
			return io.EOF
		}
		return nil
	}
	return f.fill(need)
}

// fill reads at least one more byte into the buffer, first making room for
// need unread bytes. At the end of the stream it sets f.eof and returns nil.
func (f *Framer) fill(need int) error {
	unread := f.w - f.r0
	need = max(need, unread+1)
	shrink := len(f.buf) > f.initCap && need <= f.initCap && unread <= f.initCap/2
	if shrink || len(f.buf)-f.r0 < need || f.w == len(f.buf) {
		size := len(f.buf)
		switch {
		case need > size:
			size = max(min(2*size, f.max+headerSlack), need)
		case shrink:
			size = f.initCap
		}
		if size != len(f.buf) {
			nb := make([]byte, size)
			copy(nb, f.buf[f.r0:f.w])
			f.buf = nb
		} else {
			copy(f.buf, f.buf[f.r0:f.w])
		}
		f.r0, f.w = 0, unread
	}
	for range maxEmptyReads {
		n, err := f.r.Read(f.buf[f.w:])
		f.w += n
		if errors.Is(err, io.EOF) {
			f.eof = true
			return nil
		}
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

// terminator returns the index of the first LF or NUL in b, or -1.
func terminator(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return bytes.IndexByte(b, 0)
	}
	if j := bytes.IndexByte(b[:i], 0); j >= 0 {
		return j
	}
	return i
}
