package ingest

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzRELPSession runs a whole RELP session over an in-memory connection
// on arbitrary client bytes: the session must end without panicking, take
// no more messages than the stream could hold, and answer with
// well-formed frames only.
func FuzzRELPSession(f *testing.F) {
	open := relpFrameText(1, "open", librelpOpen)
	for _, s := range []string{
		open + relpFrameText(2, "syslog", "<38>Jan  5 10:00:00 web1 sshd[7]: Failed password for root from 10.0.0.5 port 22 ssh2") +
			relpFrameText(3, "close", ""),
		open + relpFrameText(2, "syslog", strings.Repeat("z", 400)) + relpFrameText(3, "syslog", "\x00\xff"),
		open + relpFrameText(2, "starttls", "") + relpFrameText(3, "open", librelpOpen) + relpFrameText(4, "rsp", "200 OK"),
		open + "0 serverclose 0\n" + relpFrameText(2, "syslog", "<13>x"),
		relpFrameText(1, "open", "relp_version=x\ncommands=syslog"),
		"1 syslog 3 abc\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tp := newTestPipeline(t, nil)
		l, err := NewRELPListener(tp.Pipeline, ListenerOptions{MaxMessageSize: 256, AckTimeout: time.Second})
		require.NoError(t, err)
		l.runCtx = context.Background()
		server, client := net.Pipe()
		c := &tcpConn{conn: server, idle: 5 * time.Second, gap: time.Second, sender: "192.0.2.1", lastRead: time.Now(),
			b: tp.NewBatcher(Source{Kind: KindRELP, Name: "fuzz"})}
		answers := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(client)
			answers <- b
		}()
		go func() {
			_, _ = client.Write(data)
			// Give the session the rest of the stream's answers to write,
			// then hang up.
			time.Sleep(time.Millisecond)
			_ = client.Close()
		}()
		l.serveRELP(c)
		_ = server.Close()
		out := <-answers

		evs, fails := tp.sink.snapshot()
		require.LessOrEqual(t, len(evs)+len(fails), strings.Count(string(data), "syslog"))
		rd := newRELPReader(strings.NewReader(string(out)), 1<<20)
		for {
			fr, err := rd.next()
			if err != nil {
				// Answers may be cut off by the hang-up, never malformed.
				require.NotErrorAs(t, err, new(*relpFrameError), "answers %q", out)
				break
			}
			require.Contains(t, []relpCommand{relpRsp, relpServerClose}, fr.command)
		}
	})
}
