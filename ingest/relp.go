package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"time"
)

// DefaultAckTimeout bounds how long a RELP batch waits to be safe before
// its frames are answered with an error.
const DefaultAckTimeout = 30 * time.Second

// relpMaxBatch bounds the frames read, published and answered together.
const relpMaxBatch = 1024

// serverCloseTimeout bounds the write of the serverclose hint.
const serverCloseTimeout = time.Second

// relpSoftware is the relp_software offer tocsin answers with.
const relpSoftware = "tocsin"

// NewRELPListener checks opts and returns a listener of rsyslog's
// Reliable Event Logging Protocol (RELP) that Start binds; with opts.TLS
// set it takes RELP over TLS, as rsyslog's omrelp sends with tls="on".
// Its metrics and logs carry the source "relp".
//
// Each syslog frame is answered "200 OK" only once its line is safe: the
// batch it belongs to was published and, when the publisher is a
// bus.Syncer (the buffer in front of Kafka), accepted by the sink behind
// it. A parse failure is safe once the failure is. When that takes longer
// than opts.AckTimeout, the batch's frames are answered with an error
// (500), which the sender takes as not delivered. See the package
// documentation for the protocol's details.
func NewRELPListener(p *Pipeline, opts ListenerOptions) (*TCPListener, error) {
	return newStreamListener(p, opts, KindRELP, (*TCPListener).serveRELP)
}

// relpAnswer is the answer owed to one frame of a batch.
type relpAnswer struct {
	txnr int
	// syslog answers depend on whether the batch is safe; other frames
	// get rsp as it is.
	syslog bool
	rsp    string
}

// relpSession is the state of one RELP connection.
type relpSession struct {
	l  *TCPListener
	c  *tcpConn
	rd *relpReader
	// open is set once the open command was answered; txnr is the next
	// transaction number expected.
	open bool
	txnr int
	// answers are owed to the current batch's frames, in order; out is
	// the buffer they are written from.
	answers []relpAnswer
	out     []byte
	// closing is set by the client's close command.
	closing bool
	// syslogs counts the syslog frames of the current batch.
	syslogs int
}

// serveRELP runs a RELP session: it reads every frame the connection has
// buffered (a batch), hands the syslog messages to the Batcher, makes the
// batch safe, then answers each frame in order. It ends on the client's
// close, a broken frame (logged with its reason), the idle timeout, an
// eviction, a drain, or the end of the connection.
func (l *TCPListener) serveRELP(c *tcpConn) {
	s := &relpSession{l: l, c: c, rd: newRELPReader(c, l.opts.MaxMessageSize), txnr: 1}
	// Batches are published by Sync alone, within the ack timeout.
	c.b.manual = true
	defer func() { l.report(c.b.Close(l.runCtx)) }()
	for {
		f, err := s.rd.next()
		if err != nil {
			s.end(err)
			return
		}
		var fatal error
		for {
			// The answer to open goes out at once, ahead of messages
			// that wait to be safe.
			if fatal = s.frame(f); fatal != nil || s.closing || f.command == relpOpen || s.full() || !s.rd.buffered() {
				break
			}
			if f, fatal = s.rd.next(); fatal != nil {
				break
			}
		}
		if err := s.answer(); err != nil {
			var ue *relpUnanswered
			if errors.As(err, &ue) {
				s.serverClose()
			} else {
				l.closed(c, err)
			}
			return
		}
		if fatal != nil {
			s.end(fatal)
			return
		}
		if s.closing {
			s.serverClose()
			return
		}
	}
}

// frame handles one frame: a syslog message goes to the Batcher, and the
// answer it is owed is queued. An error breaks the session.
func (s *relpSession) frame(f relpFrame) error {
	if f.txnr == 0 {
		// Transaction 0 carries hints, which are not answered; a server
		// knows none from clients.
		return nil
	}
	if f.txnr != s.txnr {
		return frameErr("transaction number %d where %d was expected", f.txnr, s.txnr)
	}
	s.txnr = f.txnr%relpMaxTxnr + 1
	if !s.open && f.command != relpOpen {
		return frameErr("command %s before open", commandName(f))
	}
	switch f.command {
	case relpOpen:
		if s.open {
			s.queue(f.txnr, "200 connection already open - ignored")
			return nil
		}
		offer, err := parseOffers(f.data)
		if err != nil {
			s.queue(f.txnr, "500 "+err.Error())
			return frameErr("cannot open the session: %v", err)
		}
		s.queue(f.txnr, "200 OK\nrelp_version="+offer+"\nrelp_software="+relpSoftware+"\ncommands=syslog")
		s.open = true
	case relpSyslog:
		s.syslog(f)
	case relpClose:
		s.queue(f.txnr, "")
		s.closing = true
	case relpRsp, relpServerClose:
		return frameErr("the client sent %s, which only a server sends", commandName(f))
	default:
		s.queue(f.txnr, "500 command not supported")
	}
	return nil
}

// syslog hands a syslog frame's message to the Batcher, which does not
// publish it yet: answer does, with Sync.
func (s *relpSession) syslog(f relpFrame) {
	l, c := s.l, s.c
	if l.limit != nil {
		l.throttle(c)
	}
	if f.cut {
		_ = c.b.Reject(l.runCtx, f.data, c.lastRead, c.sender, ReasonTooLong,
			"RELP DATALEN "+strconv.Itoa(f.declared)+" above the limit of "+strconv.Itoa(l.opts.MaxMessageSize)+" bytes")
	} else {
		_ = c.b.Line(l.runCtx, trimTrailer(f.data), c.lastRead, c.sender)
	}
	s.answers = append(s.answers, relpAnswer{txnr: f.txnr, syslog: true})
	s.syslogs++
}

// full reports whether the batch is as large as one publish may be.
func (s *relpSession) full() bool {
	b := s.c.b
	return len(s.answers) >= relpMaxBatch || b.Pending() >= s.l.p.batch || b.failRaw >= maxFailureBytes
}

// queue owes frame txnr the answer rsp.
func (s *relpSession) queue(txnr int, rsp string) {
	s.answers = append(s.answers, relpAnswer{txnr: txnr, rsp: rsp})
}

// answer makes the batch's messages safe, then writes every answer the
// batch is owed, in order.
//
// When the messages were published but not confirmed safe within the
// ack timeout, they are answered 500. Known shortcoming: librelp (rsyslog's
// omrelp) does not send a frame answered 500 again; it logs the error and
// drops it. Such messages are in tocsin's buffer and reach Kafka once it
// is back, unless tocsin crashes first while they are in the buffer's
// memory tier. Leaving them unanswered instead would make librelp send
// them again on a new session after its own timeout, and each retry would
// store another copy while Kafka is down.
//
// When some were not published at all (the buffer stayed full), they are
// not answered: the session ends with errUnanswered, and the sender sends
// every unanswered frame again on its next session, so nothing is lost and
// nothing stored twice.
func (s *relpSession) answer() error {
	if len(s.answers) == 0 {
		return nil
	}
	ok := "200 OK"
	upTo := len(s.answers)
	var unanswered error
	if s.syslogs > 0 {
		if err := s.sync(); errors.Is(err, ErrNotPublished) {
			upTo = slices.IndexFunc(s.answers, func(a relpAnswer) bool { return a.syslog })
			unanswered = &relpUnanswered{frames: s.syslogs, err: err}
		} else if err != nil {
			ok = "500 not stored in time; send again"
		}
	}
	s.out = s.out[:0]
	for _, a := range s.answers[:upTo] {
		rsp := a.rsp
		if a.syslog {
			rsp = ok
		}
		s.out = appendRsp(s.out, a.txnr, rsp)
	}
	clear(s.answers)
	s.answers = s.answers[:0]
	s.syslogs = 0
	if len(s.out) > 0 {
		if err := s.write(s.out); err != nil {
			return err
		}
	}
	return unanswered
}

// relpUnanswered ends a session whose messages could not be published:
// they are left unanswered for the sender to send again.
type relpUnanswered struct {
	frames int
	err    error
}

func (e *relpUnanswered) Error() string {
	return "relp session closed with " + strconv.Itoa(e.frames) + " messages unanswered: " + e.err.Error()
}

func (e *relpUnanswered) Unwrap() error { return e.err }

// sync waits, within the ack timeout, until the batch is safe, and logs
// why it is not.
func (s *relpSession) sync() error {
	l, c := s.l, s.c
	ctx, cancel := context.WithTimeout(l.runCtx, l.opts.AckTimeout)
	defer cancel()
	err := c.b.Sync(ctx)
	if err == nil {
		return nil
	}
	if n, ok := l.pubErrs.allow(time.Now()); ok {
		ev := l.logger.Error().Err(err).
			Str("remote", c.conn.RemoteAddr().String()).
			Int("frames", s.syslogs).
			Int("count", n).
			Dur("ack_timeout", l.opts.AckTimeout)
		if errors.Is(err, ErrNotPublished) {
			ev.Msg("relp session closed without answering its messages: tocsin could not take them " +
				"(its buffer stayed full for the ack timeout); the sender sends them again")
		} else {
			ev.Msg("relp messages answered with an error: they were taken " +
				"but not confirmed stored within the ack timeout")
		}
	}
	return err
}

// write writes b within the idle timeout: a client that stops reading
// its answers is treated as gone.
func (s *relpSession) write(b []byte) error {
	_ = s.c.conn.SetWriteDeadline(time.Now().Add(s.c.idle))
	_, err := s.c.conn.Write(b)
	return err
}

// end closes the session for err: it logs a broken frame, then tells the
// client with the serverclose hint that the server is closing.
func (s *relpSession) end(err error) {
	l, c := s.l, s.c
	var fe *relpFrameError
	switch {
	case errors.As(err, &fe):
		if n, ok := l.protoErrs.allow(time.Now()); ok {
			l.logger.Warn().
				Str("remote", c.conn.RemoteAddr().String()).
				Str("reason", fe.reason).
				Int("count", n).
				Msg("relp session closed: the client broke the protocol")
		}
	case errors.Is(err, errRELPTruncated):
		l.logger.Debug().
			Str("remote", c.conn.RemoteAddr().String()).
			Msg("relp connection ended inside a frame; the client sends unanswered frames again")
	case errors.Is(err, io.EOF) && !s.drained():
		// The client closed without the close command: nothing is owed.
		return
	default:
		l.closed(c, err)
	}
	s.serverClose()
}

// drained reports whether the drain at Stop ended the session.
func (s *relpSession) drained() bool {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.c.draining
}

// serverClose sends the serverclose hint, which tells the client that
// the server is closing the session; it is best effort.
func (s *relpSession) serverClose() {
	_ = s.c.conn.SetWriteDeadline(time.Now().Add(serverCloseTimeout))
	_, _ = s.c.conn.Write([]byte("0 serverclose 0\n"))
}

// appendRsp appends a rsp frame answering txnr with data.
func appendRsp(b []byte, txnr int, data string) []byte {
	b = strconv.AppendInt(b, int64(txnr), 10)
	b = append(b, " rsp "...)
	b = strconv.AppendInt(b, int64(len(data)), 10)
	if data != "" {
		b = append(b, ' ')
		b = append(b, data...)
	}
	return append(b, '\n')
}

// parseOffers reads the offers of an open command, one per line as
// name=value,value, and returns the relp_version to answer with. The
// client must offer a relp_version and the syslog command.
func parseOffers(data []byte) (string, error) {
	version, syslog := -1, false
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		name, values, _ := bytes.Cut(line, []byte{'='})
		switch string(name) {
		case "relp_version":
			v, err := strconv.Atoi(string(values))
			if err != nil || v < 0 {
				return "", errors.New("relp_version offer is not a version number")
			}
			version = v
		case "commands":
			for cmd := range bytes.SplitSeq(values, []byte{','}) {
				syslog = syslog || string(cmd) == "syslog"
			}
		}
	}
	switch {
	case version < 0:
		return "", errors.New("relp_version offer missing")
	case !syslog:
		return "", errors.New("required command syslog not offered by client")
	}
	// Version 0 (what librelp speaks) and 1 frame alike; answer with the
	// client's, or 1 for a later one.
	return strconv.Itoa(min(version, 1)), nil
}

// commandName names a frame's command for an error.
func commandName(f relpFrame) string {
	if f.command == relpOther {
		return strconv.Quote(f.name)
	}
	for name, c := range relpCommands {
		if c == f.command {
			return name
		}
	}
	return "?"
}
