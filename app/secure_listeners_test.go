package app

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/bus/spool"
	"github.com/tocsin-siem/tocsin/config"
	"github.com/tocsin-siem/tocsin/ingest"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/schemas/wire"
)

var (
	_ bus.Syncer = syncedPublisher[*schemas.Event]{}
	_ bus.Syncer = syncedPublisher[schemas.ParseFailure]{}
)

// flakySink stands in for Kafka: it refuses records while down.
type flakySink struct {
	down atomic.Bool
	mu   sync.Mutex
	recs int
}

func (s *flakySink) sink(_ context.Context, recs []spool.Record) error {
	if s.down.Load() {
		return context.DeadlineExceeded
	}
	s.mu.Lock()
	s.recs += len(recs)
	s.mu.Unlock()
	return nil
}

func (s *flakySink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recs
}

// TestRELPOnIngestAnswersOnceKafkaAccepted runs the ingest role's path:
// a RELP listener publishing through the spool buffer in front of a sink
// that is down, then up. The message is answered only once the sink took
// it.
func TestRELPOnIngestAnswersOnceKafkaAccepted(t *testing.T) {
	cfg := config.Default()
	cfg.Syslog.UDP.Address, cfg.Syslog.TCP.Address = "", ""
	cfg.RELP.Address = "127.0.0.1:0"
	keyer, err := wire.NewKeyer(cfg.Kafka.KeyFields)
	require.NoError(t, err)

	sink := &flakySink{}
	sink.down.Store(true)
	open := func(name string) *spool.Buffer {
		b, err := spool.Open(spool.Options{Sink: sink.sink, Name: name, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond})
		require.NoError(t, err)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = b.Close(ctx)
		})
		return b
	}
	evBuf, failBuf := open("events"), open("failures")
	pipe, err := ingest.NewPipeline(ingest.PipelineOptions{
		Events:   syncedPublisher[*schemas.Event]{newEventPublisher(keyer, evBuf.Publish), evBuf},
		Failures: syncedPublisher[schemas.ParseFailure]{&failurePublisher{put: failBuf.Publish}, failBuf},
	})
	require.NoError(t, err)
	// Started as the roles start them; the returned address is found
	// through the log line.
	logs := &lockedBuffer{}
	stops, err := startListeners(context.Background(), cfg, pipe, nil, zerolog.New(logs))
	require.NoError(t, err)
	require.Len(t, stops, 1)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = stops[0](ctx)
	})
	addr := logs.field(t, "address")

	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	rd := bufio.NewReader(c)
	frame := func(txnr int, cmd, data string) string {
		return strconv.Itoa(txnr) + " " + cmd + " " + strconv.Itoa(len(data)) + " " + data + "\n"
	}
	_, err = c.Write([]byte(frame(1, "open", "relp_version=0\nrelp_software=librelp\ncommands=syslog") +
		frame(2, "syslog", "<38>Jan  5 10:00:00 web1 sshd[7]: Failed password for root from 10.0.0.5 port 22 ssh2")))
	require.NoError(t, err)
	line, err := rd.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "1 rsp 58 200 OK\n", line, "the open answer's first line")
	for range 3 { // the offers
		_, err = rd.ReadString('\n')
		require.NoError(t, err)
	}
	// Kafka is down: no answer.
	require.NoError(t, c.SetReadDeadline(time.Now().Add(150*time.Millisecond)))
	line, err = rd.ReadString('\n')
	require.Error(t, err, "got %q", line)
	require.Zero(t, sink.count())

	sink.down.Store(false)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	line, err = rd.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "2 rsp 6 200 OK\n", line)
	require.Equal(t, 1, sink.count(), "answered once the sink took the event")
}

// lockedBuffer collects log lines from concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// field returns the first value of a string field in the logs.
func (b *lockedBuffer) field(t *testing.T, name string) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	i := strings.Index(s, `"`+name+`":"`)
	require.GreaterOrEqual(t, i, 0, "no %s in the logs: %s", name, s)
	s = s[i+len(name)+4:]
	return s[:strings.IndexByte(s, '"')]
}
