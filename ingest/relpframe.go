package ingest

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// RELP frame limits, from the protocol's specification.
const (
	// relpMaxDigits bounds TXNR and DATALEN.
	relpMaxDigits = 9
	// relpMaxCommand bounds a command name, in letters.
	relpMaxCommand = 32
	// relpMaxTxnr is the last transaction number; the next is 1.
	relpMaxTxnr = 999_999_999
	// relpHeaderMax is the longest header with the space after DATALEN.
	relpHeaderMax = relpMaxDigits + 1 + relpMaxCommand + 1 + relpMaxDigits + 1
	// relpInitialBuffer is a session's read buffer until a long frame
	// needs more; it shrinks back afterwards.
	relpInitialBuffer = 16 << 10
)

// relpCommand is a RELP command a server knows.
type relpCommand uint8

const (
	relpOther relpCommand = iota
	relpOpen
	relpSyslog
	relpClose
	relpRsp
	relpServerClose
)

// relpCommands maps command names to commands; names are compared
// case-sensitively, as librelp does.
var relpCommands = map[string]relpCommand{
	"open": relpOpen, "syslog": relpSyslog, "close": relpClose, "rsp": relpRsp, "serverclose": relpServerClose,
}

// relpFrame is one RELP frame: HEADER [SP DATA] LF, where HEADER is
// TXNR SP COMMAND SP DATALEN.
type relpFrame struct {
	txnr    int
	command relpCommand
	// name is the command's name when command is relpOther, for the
	// answer that refuses it.
	name string
	// data holds the first min(declared, limit) bytes of DATA. It
	// aliases the reader's buffer and is valid until the next call to
	// next.
	data []byte
	// declared is DATALEN.
	declared int
	// cut reports that DATALEN was above the limit: data holds the
	// limit's worth and the rest was skipped.
	cut bool
}

// relpFrameError is a frame that breaks the protocol. The session cannot
// go on after one, since the stream's framing is lost.
type relpFrameError struct {
	reason string
}

func (e *relpFrameError) Error() string { return "invalid RELP frame: " + e.reason }

func frameErr(format string, a ...any) error {
	return &relpFrameError{reason: fmt.Sprintf(format, a...)}
}

// errRELPTruncated is the end of the stream inside a frame.
var errRELPTruncated = errors.New("connection ended inside a RELP frame")

// relpReader reads RELP frames from a stream with a bounded buffer: a
// frame whose DATA is longer than the limit is cut at the limit and the
// rest skipped exactly (DATALEN says how much), so the next frame is read
// intact. It is not safe for concurrent use.
type relpReader struct {
	r   io.Reader
	max int
	// buf holds the unread bytes buf[r0:w]; eof is set once r returned
	// io.EOF.
	buf   []byte
	r0, w int
	eof   bool
	// cut holds the kept DATA of a frame cut at the limit while its rest
	// is skipped; it is reused.
	cut []byte
}

// newRELPReader reads frames from r, cutting DATA longer than limit
// bytes (at least 1).
func newRELPReader(r io.Reader, limit int) *relpReader {
	limit = max(limit, 1)
	return &relpReader{r: r, max: limit, buf: make([]byte, min(relpInitialBuffer, relpHeaderMax+limit+1))}
}

// relpHeader is a parsed header. size counts its bytes, with the space
// after DATALEN, or with the trailer when DATALEN is 0.
type relpHeader struct {
	txnr     int
	command  relpCommand
	name     string
	datalen  int
	size     int
	complete bool // DATALEN is 0: the header is the whole frame
}

// parseHeader parses the header at the read position. It returns
// more=true when the buffer ends before the header does, and an error
// for bytes that cannot be a header.
func (r *relpReader) parseHeader() (h relpHeader, more bool, err error) {
	b := r.buf[r.r0:r.w]
	i := 0
	// TXNR
	for ; i < len(b) && isDigit(b[i]); i++ {
		if i == relpMaxDigits {
			return h, false, frameErr("transaction number longer than %d digits", relpMaxDigits)
		}
		h.txnr = h.txnr*10 + int(b[i]-'0')
	}
	if i == len(b) {
		return h, true, nil
	}
	if i == 0 {
		return h, false, frameErr("a frame must start with its transaction number, found %s", quoteByte(b[i]))
	}
	if b[i] != ' ' {
		return h, false, frameErr("%s after the transaction number where a space belongs", quoteByte(b[i]))
	}
	i++
	// COMMAND
	start := i
	for ; i < len(b) && isAlpha(b[i]); i++ {
		if i-start == relpMaxCommand {
			return h, false, frameErr("command longer than %d letters", relpMaxCommand)
		}
	}
	if i == len(b) {
		return h, true, nil
	}
	if i == start {
		return h, false, frameErr("%s where the command belongs", quoteByte(b[i]))
	}
	if b[i] != ' ' {
		return h, false, frameErr("%s in the command, which holds letters only", quoteByte(b[i]))
	}
	name := b[start:i]
	h.command = relpCommands[string(name)]
	if h.command == relpOther {
		h.name = string(name)
	}
	i++
	// DATALEN
	start = i
	for ; i < len(b) && isDigit(b[i]); i++ {
		if i-start == relpMaxDigits {
			return h, false, frameErr("DATALEN longer than %d digits", relpMaxDigits)
		}
		h.datalen = h.datalen*10 + int(b[i]-'0')
	}
	if i == len(b) {
		return h, true, nil
	}
	if i == start {
		return h, false, frameErr("%s where DATALEN belongs", quoteByte(b[i]))
	}
	switch {
	case h.datalen == 0 && b[i] == '\n':
		h.complete = true
	case h.datalen == 0:
		return h, false, frameErr("DATALEN is 0 but %s follows where the trailer (LF) belongs", quoteByte(b[i]))
	case b[i] != ' ':
		return h, false, frameErr("%s after DATALEN where a space belongs", quoteByte(b[i]))
	}
	h.size = i + 1
	return h, false, nil
}

// next returns the next frame. At the end of the stream between frames it
// returns io.EOF; inside a frame, errRELPTruncated. A *relpFrameError
// reports bytes that break the protocol; any other error comes from the
// underlying reader. After an error the session must end: the reader
// does not resume.
func (r *relpReader) next() (relpFrame, error) {
	var h relpHeader
	for {
		var more bool
		var err error
		h, more, err = r.parseHeader()
		if err != nil {
			return relpFrame{}, err
		}
		if !more {
			break
		}
		if err := r.fillSome(); err != nil {
			return relpFrame{}, err
		}
	}
	f := relpFrame{txnr: h.txnr, command: h.command, name: h.name, declared: h.datalen}
	if h.complete {
		r.r0 += h.size
		return f, nil
	}
	if h.datalen <= r.max {
		if err := r.ensure(h.size + h.datalen + 1); err != nil {
			return relpFrame{}, err
		}
		body := r.r0 + h.size
		end := body + h.datalen
		if r.buf[end] != '\n' {
			return relpFrame{}, trailerErr(r.buf[end], h.datalen)
		}
		f.data = r.buf[body:end]
		r.r0 = end + 1
		return f, nil
	}
	// Keep the limit's worth, skip the rest, then check the trailer.
	if err := r.ensure(h.size + r.max); err != nil {
		return relpFrame{}, err
	}
	body := r.r0 + h.size
	r.cut = append(r.cut[:0], r.buf[body:body+r.max]...)
	r.r0 = body + r.max
	for skip := h.datalen - r.max; skip > 0; {
		if r.r0 == r.w {
			if err := r.fillSome(); err != nil {
				return relpFrame{}, err
			}
		}
		n := min(skip, r.w-r.r0)
		r.r0 += n
		skip -= n
	}
	if err := r.ensure(1); err != nil {
		return relpFrame{}, err
	}
	if c := r.buf[r.r0]; c != '\n' {
		return relpFrame{}, trailerErr(c, h.datalen)
	}
	r.r0++
	f.data, f.cut = r.cut, true
	return f, nil
}

// trailerErr reports byte c where the trailer of a frame of datalen bytes
// belongs.
func trailerErr(c byte, datalen int) error {
	return frameErr("%s follows the %d bytes of DATA where the trailer (LF) belongs: DATALEN does not match the data",
		quoteByte(c), datalen)
}

// buffered reports whether next can return without reading: a whole
// frame, or bytes that are not one, are in the buffer.
func (r *relpReader) buffered() bool {
	if r.r0 == r.w {
		return false
	}
	h, more, err := r.parseHeader()
	switch {
	case err != nil:
		return true
	case more:
		return false
	case h.complete:
		return true
	}
	return h.datalen <= r.max && r.w-r.r0 >= h.size+h.datalen+1
}

// ensure reads until n unread bytes are buffered.
func (r *relpReader) ensure(n int) error {
	for r.w-r.r0 < n {
		if err := r.fill(n); err != nil {
			return err
		}
	}
	return nil
}

// fillSome reads at least one more byte.
func (r *relpReader) fillSome() error { return r.fill(r.w - r.r0 + 1) }

// fill makes room for need unread bytes and reads once. At the end of
// the stream it returns io.EOF between frames and errRELPTruncated inside
// one.
func (r *relpReader) fill(need int) error {
	if r.eof {
		if r.r0 == r.w {
			return io.EOF
		}
		return errRELPTruncated
	}
	unread := r.w - r.r0
	initial := min(relpInitialBuffer, relpHeaderMax+r.max+1)
	switch {
	case need > len(r.buf):
		nb := make([]byte, max(min(2*len(r.buf), relpHeaderMax+r.max+1), need))
		copy(nb, r.buf[r.r0:r.w])
		r.buf = nb
		r.r0, r.w = 0, unread
	case len(r.buf) > initial && need <= initial && unread <= initial/2:
		// A long frame is done: give its buffer back.
		nb := make([]byte, initial)
		copy(nb, r.buf[r.r0:r.w])
		r.buf = nb
		r.r0, r.w = 0, unread
	case len(r.buf)-r.r0 < need || r.w == len(r.buf):
		copy(r.buf, r.buf[r.r0:r.w])
		r.r0, r.w = 0, unread
	}
	for range maxEmptyReads {
		n, err := r.r.Read(r.buf[r.w:])
		r.w += n
		if errors.Is(err, io.EOF) {
			r.eof = true
			if n > 0 {
				return nil
			}
			if r.r0 == r.w {
				return io.EOF
			}
			return errRELPTruncated
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

// maxEmptyReads bounds the reads that return neither data nor an error.
const maxEmptyReads = 100

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// quoteByte shows a byte in an error message.
func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}
