package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/schemas"
)

// librelpOpen is the open command's data as librelp 1.11 sends it.
const librelpOpen = "relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog"

// relpFrameText builds a frame as a client sends it.
func relpFrameText(txnr int, cmd, data string) string {
	s := strconv.Itoa(txnr) + " " + cmd + " " + strconv.Itoa(len(data))
	if data != "" {
		s += " " + data
	}
	return s + "\n"
}

// relpClient speaks RELP to a listener, reading the server's frames with
// the listener's own frame reader.
type relpClient struct {
	t    *testing.T
	conn net.Conn
	rd   *relpReader
	txnr int
}

func dialRELP(t *testing.T, l *TCPListener, tlsCfg *tls.Config) *relpClient {
	t.Helper()
	var c net.Conn
	var err error
	if tlsCfg != nil {
		c, err = tls.Dial("tcp", l.Addr().String(), tlsCfg)
	} else {
		c, err = net.Dial("tcp", l.Addr().String())
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &relpClient{t: t, conn: c, rd: newRELPReader(c, 1<<20), txnr: 1}
}

// send writes frames with the next transaction numbers, in one write,
// and returns the first transaction number used.
func (rc *relpClient) send(cmds ...[2]string) int {
	rc.t.Helper()
	first := rc.txnr
	var b strings.Builder
	for _, c := range cmds {
		b.WriteString(relpFrameText(rc.txnr, c[0], c[1]))
		rc.txnr++
	}
	write(rc.t, rc.conn, b.String())
	return first
}

// reply reads the server's next frame within 10 seconds.
func (rc *relpClient) reply() relpFrame {
	rc.t.Helper()
	require.NoError(rc.t, rc.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	f, err := rc.rd.next()
	require.NoError(rc.t, err)
	f.data = append([]byte(nil), f.data...)
	return f
}

// rsp reads the next reply, which must answer txnr, and returns its data.
func (rc *relpClient) rsp(txnr int) string {
	rc.t.Helper()
	f := rc.reply()
	require.Equal(rc.t, relpRsp, f.command, "a rsp frame")
	require.Equal(rc.t, txnr, f.txnr, "the answer's transaction number")
	return string(f.data)
}

// open opens the session as librelp does.
func (rc *relpClient) open() {
	rc.t.Helper()
	txnr := rc.send([2]string{"open", librelpOpen})
	require.Equal(rc.t, "200 OK\nrelp_version=0\nrelp_software=tocsin\ncommands=syslog", rc.rsp(txnr))
}

// closedByServer asserts that the server sent the serverclose hint and
// hung up.
func (rc *relpClient) closedByServer() {
	rc.t.Helper()
	f := rc.reply()
	require.Equal(rc.t, relpServerClose, f.command)
	require.Zero(rc.t, f.txnr, "hints use transaction 0")
	_, err := rc.rd.next()
	require.ErrorIs(rc.t, err, io.EOF)
}

// syslogFrames returns syslog commands for lines.
func syslogFrames(lines ...string) [][2]string {
	out := make([][2]string, len(lines))
	for i, l := range lines {
		out[i] = [2]string{"syslog", l}
	}
	return out
}

func startRELP(t *testing.T, tp *testPipeline, opts ListenerOptions) *TCPListener {
	t.Helper()
	opts.Address = "127.0.0.1:0"
	l, err := NewRELPListener(tp.Pipeline, opts)
	require.NoError(t, err)
	require.NoError(t, l.Start(context.Background()))
	t.Cleanup(func() { _ = l.Stop(context.Background()) })
	return l
}

func TestRELPSession(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l := startRELP(t, tp, ListenerOptions{})
	rc := dialRELP(t, l, nil)
	rc.open()
	txnr := rc.send(syslogFrames(sshLine("web1", 10, "alice"))...)
	require.Equal(t, "200 OK", rc.rsp(txnr))
	// The answer came after the event was published: no waiting here.
	evs, _ := tp.sink.snapshot()
	require.Len(t, evs, 1)
	require.Equal(t, "alice", evs[0].User.Name)
	require.Equal(t, "web1", evs[0].Host.Name)
	require.Equal(t, "127.0.0.1", evs[0].Log.Source.Address)

	txnr = rc.send([2]string{"close", ""})
	require.Empty(t, rc.rsp(txnr))
	rc.closedByServer()
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_events_total", "source", "relp"))
	require.Eventually(t, func() bool { return tp.metric(t, "tocsin_ingest_connections", "source", "relp") == 0 },
		5*time.Second, time.Millisecond)
}

func TestRELPPipelinedFramesAnsweredInOrder(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l := startRELP(t, tp, ListenerOptions{})
	rc := dialRELP(t, l, nil)
	rc.open()
	var lines []string
	for i := range 300 {
		lines = append(lines, sshLine("h", i, "u"+strconv.Itoa(i)))
	}
	// rsyslog keeps up to its window of frames unanswered; send them all
	// in one write, as a window's worth arrives.
	first := rc.send(syslogFrames(lines...)...)
	for i := range lines {
		require.Equal(t, "200 OK", rc.rsp(first+i))
	}
	evs, fails := tp.sink.snapshot()
	require.Empty(t, fails)
	require.Len(t, evs, 300)
	for i, e := range evs {
		require.Equal(t, "u"+strconv.Itoa(i), e.User.Name)
	}
	// Fewer publishes than frames: the frames were taken in batches.
	tp.sink.mu.Lock()
	batches := len(tp.sink.batches)
	tp.sink.mu.Unlock()
	require.Less(t, batches, 300)
}

func TestRELPParseFailureAnsweredOnceStored(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l := startRELP(t, tp, ListenerOptions{})
	rc := dialRELP(t, l, nil)
	rc.open()
	txnr := rc.send(syslogFrames("\x01\x02 not syslog", sshLine("h", 1, "erin"))...)
	require.Equal(t, "200 OK", rc.rsp(txnr))
	require.Equal(t, "200 OK", rc.rsp(txnr+1))
	evs, fails := tp.sink.snapshot()
	require.Len(t, evs, 1)
	require.Len(t, fails, 1)
	require.Equal(t, "relp", fails[0].Source)
	require.Equal(t, "\x01\x02 not syslog", string(fails[0].Raw))
}

// gatedSyncer is a publisher whose Sync waits for a gate.
type gatedSyncer[T any] struct {
	bus.Publisher[T]
	gate  chan struct{}
	calls atomic.Int64
}

func (g *gatedSyncer[T]) Sync(ctx context.Context) error {
	g.calls.Add(1)
	select {
	case <-g.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// noReply asserts that the server answers nothing for a while.
func (rc *relpClient) noReply(d time.Duration) {
	rc.t.Helper()
	require.NoError(rc.t, rc.conn.SetReadDeadline(time.Now().Add(d)))
	_, err := rc.conn.Read(make([]byte, 1))
	var ne net.Error
	require.True(rc.t, errors.As(err, &ne) && ne.Timeout(), "no answer yet, got %v", err)
}

func TestRELPAnswersOnlyOnceSynced(t *testing.T) {
	var events *gatedSyncer[*schemas.Event]
	tp := newTestPipeline(t, func(o *PipelineOptions) {
		events = &gatedSyncer[*schemas.Event]{Publisher: o.Events, gate: make(chan struct{})}
		o.Events = events
	})
	l := startRELP(t, tp, ListenerOptions{})
	rc := dialRELP(t, l, nil)
	rc.open()
	txnr := rc.send(syslogFrames(sshLine("h", 1, "frank"))...)
	require.Eventually(t, func() bool { return events.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	evs, _ := tp.sink.snapshot()
	require.Len(t, evs, 1, "published, but not yet safe")
	rc.noReply(100 * time.Millisecond)
	close(events.gate)
	require.Equal(t, "200 OK", rc.rsp(txnr))
}

func TestRELPAnswersErrorAfterAckTimeout(t *testing.T) {
	var failures *gatedSyncer[schemas.ParseFailure]
	tp := newTestPipeline(t, func(o *PipelineOptions) {
		failures = &gatedSyncer[schemas.ParseFailure]{Publisher: o.Failures, gate: make(chan struct{})}
		o.Failures = failures
	})
	l := startRELP(t, tp, ListenerOptions{AckTimeout: 100 * time.Millisecond})
	rc := dialRELP(t, l, nil)
	rc.open()
	// An event alone needs no failure Sync: answered at once.
	txnr := rc.send(syslogFrames(sshLine("h", 1, "gina"))...)
	require.Equal(t, "200 OK", rc.rsp(txnr))
	require.Zero(t, failures.calls.Load())
	// A parse failure waits for the failure publisher, which never
	// confirms: the whole batch is answered with an error.
	start := time.Now()
	txnr = rc.send(syslogFrames(sshLine("h", 2, "hank"), "\x00garbage")...)
	require.Equal(t, "500 not stored in time; send again", rc.rsp(txnr))
	require.Equal(t, "500 not stored in time; send again", rc.rsp(txnr+1))
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	require.Contains(t, tp.logs.String(), "relp messages answered with an error")
	// The session goes on, and answers 200 once the publisher is back.
	close(failures.gate)
	txnr = rc.send(syslogFrames("\x00more garbage")...)
	require.Equal(t, "200 OK", rc.rsp(txnr))
}

func TestRELPMalformedFrames(t *testing.T) {
	open := relpFrameText(1, "open", librelpOpen)
	for _, tc := range []struct {
		name, stream, reason string
		// ok counts the frames answered 200 before the break, the open
		// included; events counts the messages taken.
		ok, events int
		// refusal is the error answer to the frame that broke the
		// session, when it gets one.
		refusal string
	}{
		{name: "bad first txnr", stream: relpFrameText(2, "open", librelpOpen),
			reason: "transaction number 2 where 1 was expected"},
		{name: "repeated txnr", stream: open + relpFrameText(2, "syslog", "<13>a") + relpFrameText(2, "syslog", "<13>b"),
			reason: "transaction number 2 where 3 was expected", ok: 2, events: 1},
		{name: "txnr not a number", stream: "x open 0\n", reason: "a frame must start with its transaction number, found 'x'"},
		{name: "txnr too long", stream: "1234567890 open 0\n", reason: "transaction number longer than 9 digits"},
		{name: "DATALEN lying", stream: open + "2 syslog 3 <13>hello\n",
			reason: "'>' follows the 3 bytes of DATA where the trailer (LF) belongs: DATALEN does not match the data", ok: 1},
		{name: "missing trailer", stream: open + "2 syslog 5 <13>a" + relpFrameText(3, "syslog", "<13>b"),
			reason: "'3' follows the 5 bytes of DATA where the trailer (LF) belongs", ok: 1},
		{name: "DATALEN too long", stream: open + "2 syslog 1234567890 x\n", reason: "DATALEN longer than 9 digits", ok: 1},
		{name: "no space after DATALEN", stream: open + "2 syslog 5\n<13>a\n", reason: "byte 0x0a after DATALEN where a space belongs", ok: 1},
		{name: "command with a digit", stream: "1 op3n 0\n", reason: "'3' in the command, which holds letters only"},
		{name: "syslog before open", stream: relpFrameText(1, "syslog", "<13>a"), reason: "command syslog before open"},
		{name: "open without syslog", stream: relpFrameText(1, "open", "relp_version=0\ncommands=eventlog"),
			reason: "required command syslog not offered", refusal: "500 required command syslog not offered by client"},
		{name: "client sends rsp", stream: open + relpFrameText(2, "rsp", "200 OK"), reason: "the client sent rsp, which only a server sends", ok: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp := newTestPipeline(t, nil)
			l := startRELP(t, tp, ListenerOptions{})
			rc := dialRELP(t, l, nil)
			write(t, rc.conn, tc.stream)
			for range tc.ok {
				f := rc.reply()
				require.Equal(t, relpRsp, f.command)
				require.True(t, strings.HasPrefix(string(f.data), "200 OK"), "answered: %q", f.data)
			}
			if tc.refusal != "" {
				require.Equal(t, tc.refusal, rc.rsp(1))
			}
			rc.closedByServer()
			require.Contains(t, tp.logs.String(), "relp session closed: the client broke the protocol")
			require.Contains(t, tp.logs.String(), tc.reason)
			evs, fails := tp.sink.snapshot()
			require.Len(t, evs, tc.events, "only answered frames were taken")
			require.Empty(t, fails)
		})
	}
}

func TestRELPUnknownCommandAnsweredWithError(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l := startRELP(t, tp, ListenerOptions{})
	rc := dialRELP(t, l, nil)
	rc.open()
	txnr := rc.send([2]string{"starttls", ""}, [2]string{"syslog", sshLine("h", 1, "ivy")})
	require.Equal(t, "500 command not supported", rc.rsp(txnr))
	require.Equal(t, "200 OK", rc.rsp(txnr+1))
	txnr = rc.send([2]string{"open", librelpOpen})
	require.Equal(t, "200 connection already open - ignored", rc.rsp(txnr))
}

func TestRELPOversizeMessageKeepsSessionInSync(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l := startRELP(t, tp, ListenerOptions{MaxMessageSize: 1024})
	rc := dialRELP(t, l, nil)
	rc.open()
	big := "<13>Jan  5 10:00:00 h app: " + strings.Repeat("x", 10<<20) // 10 MB
	txnr := rc.send(syslogFrames(big, sshLine("h", 1, "jack"))...)
	require.Equal(t, "200 OK", rc.rsp(txnr), "the cut message is kept as a failure, so it is answered")
	require.Equal(t, "200 OK", rc.rsp(txnr+1), "the next frame was read intact")
	evs, fails := tp.sink.snapshot()
	require.Len(t, evs, 1)
	require.Equal(t, "jack", evs[0].User.Name)
	require.Len(t, fails, 1)
	require.Equal(t, ReasonTooLong, fails[0].Reason)
	require.Equal(t, big[:1024], string(fails[0].Raw))
	require.Contains(t, fails[0].Detail, "RELP DATALEN "+strconv.Itoa(len(big))+" above the limit of 1024 bytes")
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_oversize_total", "source", "relp"))
}

func TestRELPHugeDATALENThenHangUp(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l := startRELP(t, tp, ListenerOptions{MaxMessageSize: 1024})
	rc := dialRELP(t, l, nil)
	rc.open()
	// A 10 MB DATALEN with a few bytes behind it: nothing is allocated
	// for it, and the unfinished frame is not taken (the sender keeps it).
	write(t, rc.conn, "2 syslog 10000000 <13>short\n")
	require.NoError(t, rc.conn.(*net.TCPConn).CloseWrite())
	rc.closedByServer()
	evs, fails := tp.sink.snapshot()
	require.Empty(t, evs)
	require.Empty(t, fails)
}

func TestRELPOverTLS(t *testing.T) {
	s := newTLSSetup(t)
	tp := newTestPipeline(t, nil)
	l := startRELP(t, tp, ListenerOptions{TLS: s.serverConfig(t, ClientAuthRequire)})
	rc := dialRELP(t, l, s.clientConfig(s.clientCA.issue(t, "relp-client", false)))
	rc.open()
	txnr := rc.send(syslogFrames(sshLine("h", 1, "kim"))...)
	require.Equal(t, "200 OK", rc.rsp(txnr))
	evs, _ := tp.sink.snapshot()
	require.Equal(t, "kim", evs[0].User.Name)
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_connections", "source", "relp"))
}

func TestRELPIdleSessionGetsServerClose(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l := startRELP(t, tp, ListenerOptions{IdleTimeout: 100 * time.Millisecond})
	rc := dialRELP(t, l, nil)
	rc.open()
	rc.closedByServer()
	require.Equal(t, 1.0, tp.metric(t, "tocsin_ingest_idle_timeouts_total", "source", "relp"))
}

func TestRELPStopDrainsAndAnswers(t *testing.T) {
	tp := newTestPipeline(t, nil)
	l := startRELP(t, tp, ListenerOptions{DrainTimeout: 50 * time.Millisecond})
	rc := dialRELP(t, l, nil)
	rc.open()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, l.Stop(ctx))
	}()
	txnr := rc.send(syslogFrames(sshLine("h", 1, "leo"))...)
	require.Equal(t, "200 OK", rc.rsp(txnr), "a message arriving during the drain is taken and answered")
	rc.closedByServer()
	wg.Wait()
	evs, _ := tp.sink.snapshot()
	require.Len(t, evs, 1)
}

func TestParseOffers(t *testing.T) {
	for _, tc := range []struct {
		data, version, err string
	}{
		{librelpOpen, "0", ""},
		{"commands=eventlog,syslog\nrelp_version=1", "1", ""},
		{"relp_version=7\ncommands=syslog", "1", ""},
		{"relp_version=1\nunknown_offer=x\ncommands=syslog\n", "1", ""},
		{"commands=syslog", "", "relp_version offer missing"},
		{"relp_version=one\ncommands=syslog", "", "relp_version offer is not a version number"},
		{"relp_version=0", "", "required command syslog not offered by client"},
		{"", "", "relp_version offer missing"},
	} {
		v, err := parseOffers([]byte(tc.data))
		if tc.err != "" {
			require.EqualError(t, err, tc.err, "offers %q", tc.data)
			continue
		}
		require.NoError(t, err, "offers %q", tc.data)
		require.Equal(t, tc.version, v, "offers %q", tc.data)
	}
}

// fullBus refuses batches while full, as the buffer in front of Kafka
// does once its memory and disk are spent: Publish waits for its context.
type fullBus[T any] struct {
	bus.Publisher[T]
	full atomic.Bool
}

func (f *fullBus[T]) Publish(ctx context.Context, batch []T) error {
	if f.full.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.Publisher.Publish(ctx, batch)
}

func TestRELPLeavesUnpublishedMessagesUnanswered(t *testing.T) {
	var events *fullBus[*schemas.Event]
	tp := newTestPipeline(t, func(o *PipelineOptions) {
		events = &fullBus[*schemas.Event]{Publisher: o.Events}
		o.Events = events
	})
	events.full.Store(true)
	l := startRELP(t, tp, ListenerOptions{AckTimeout: 100 * time.Millisecond})
	rc := dialRELP(t, l, nil)
	rc.open()
	rc.send(append([][2]string{{"starttls", ""}}, syslogFrames(sshLine("h", 1, "mia"), sshLine("h", 2, "ned"))...)...)
	require.Equal(t, "500 command not supported", rc.rsp(2), "answers before the first message still go out")
	// The messages are not in tocsin: no answer, so that the sender keeps
	// them and sends them again on its next session.
	rc.closedByServer()
	require.Contains(t, tp.logs.String(), "relp session closed without answering its messages")
	require.Equal(t, 2.0, tp.metric(t, "tocsin_ingest_dropped_total", "source", "relp"))

	events.full.Store(false)
	rc = dialRELP(t, l, nil)
	rc.open()
	txnr := rc.send(syslogFrames(sshLine("h", 1, "mia"), sshLine("h", 2, "ned"))...)
	require.Equal(t, "200 OK", rc.rsp(txnr))
	require.Equal(t, "200 OK", rc.rsp(txnr+1))
	evs, _ := tp.sink.snapshot()
	require.Equal(t, []string{"mia", "ned"}, []string{evs[0].User.Name, evs[1].User.Name}, "each stored once")
}
