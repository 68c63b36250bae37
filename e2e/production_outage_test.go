package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tcpFeeder writes the lines of a file over one TCP connection, as fast
// as the listener reads them, and counts the bytes written.
type tcpFeeder struct {
	written atomic.Int64
	done    chan error
}

func feedTCP(addr, file string, limit time.Duration) *tcpFeeder {
	f := &tcpFeeder{done: make(chan error, 1)}
	go func() {
		data, err := os.ReadFile(file)
		if err != nil {
			f.done <- err
			return
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			f.done <- err
			return
		}
		defer c.Close()
		_ = c.SetWriteDeadline(time.Now().Add(limit))
		w := bufio.NewWriterSize(c, 4096)
		for len(data) > 0 {
			n := min(len(data), 4096)
			if _, err := w.Write(data[:n]); err != nil {
				f.done <- err
				return
			}
			f.written.Add(int64(n))
			data = data[n:]
		}
		if err := w.Flush(); err != nil {
			f.done <- err
			return
		}
		// A clean close after the listener read everything.
		tcp := c.(*net.TCPConn)
		if err := tcp.CloseWrite(); err != nil {
			f.done <- err
			return
		}
		_ = c.SetReadDeadline(time.Now().Add(limit))
		var one [1]byte
		if _, err := c.Read(one[:]); !errors.Is(err, io.EOF) {
			f.done <- fmt.Errorf("listener did not close cleanly: %w", err)
			return
		}
		f.done <- nil
	}()
	return f
}

// TestOutageClickHouseAndKafka stops ClickHouse and then the Kafka broker
// in the middle of a run (15 s and 10 s; 2 min and 1 min with
// TOCSIN_CHAOS=full) while lines keep arriving over TCP. Ingest keeps the
// lines in its buffer while Kafka is away (the spool metrics show the
// backlog), ticketing retries ClickHouse, and after both return
// everything catches up: the incidents equal the replay's, every line is
// in the event history once and no alert is stored twice. A second ingest
// with a tiny buffer (256 events in memory, 1 MiB on disk) stops reading
// its sender when the buffer is full, refuses new TCP connections, and
// loses nothing of what it accepted once Kafka returns.
func TestOutageClickHouseAndKafka(t *testing.T) {
	chDown, kafkaDown := 15*time.Second, 10*time.Second
	lines := 60_000
	if chaosFull() {
		chDown, kafkaDown, lines = 2*time.Minute, time.Minute, 400_000
	}
	t0 := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(t0).Seconds(), what) }
	kafkaSrv, chSrv := privateServers(t)
	phase("private Kafka and ClickHouse started")
	dir := t.TempDir()
	logPath, truthPath := authLog(t, dir, lines, 3)
	want := replay(t, "--quiet-period", "100000h", logPath)
	require.NotEmpty(t, want)
	parts, _ := splitFile(t, logPath, t.TempDir(), 4)

	c := newProdCluster(t, kafkaSrv.addr, chSrv.addr)
	tk := c.newRole("ticketing", "ticketing")
	en := c.newRole("engine", "engine")
	in := c.newRole("ingest", "ingest")
	// The tiny-buffer ingest has topics of its own and no engine: only
	// its event history is checked.
	tiny := newProdCluster(t, kafkaSrv.addr, chSrv.addr)
	tinyTk := tiny.newRole("ticketing", "ticketing")
	tinyIn := tiny.newRole("ingest", "ingest",
		"TOCSIN_INGEST_BUFFER_MEMORY_EVENTS=256", "TOCSIN_INGEST_BUFFER_DISK_MAX_BYTES=1048576")
	startInOrder(tk, en, in, tinyTk, tinyIn)
	phase("roles healthy")
	start := time.Now()
	sendFile(t, in.syslog, parts[0])

	// ClickHouse away: ingest and the engine go on, ticketing holds its
	// batches and Kafka keeps the rest.
	require.NoError(t, chSrv.stop())
	chStopped := time.Now()
	phase("ClickHouse stopped")
	sendFile(t, in.syslog, parts[1])
	// The events wait in Kafka: the history consumer cannot store them.
	var chLag int64
	waitFor(t, chDown, "the event history to fall behind while ClickHouse is away", func() bool {
		lags, err := c.lags()
		chLag = lags["history/events"]
		return err == nil && chLag > 0
	})
	time.Sleep(time.Until(chStopped.Add(chDown)))
	require.NoError(t, chSrv.resume())
	t.Logf("ClickHouse was stopped for %s; the event history was %d events behind", time.Since(chStopped).Round(100*time.Millisecond), chLag)

	// Kafka away: ingest keeps what it reads in its buffer.
	phase("ClickHouse resumed")
	tinyLog, _ := authLog(t, t.TempDir(), 100_000, 4)
	tinyLines := countLines(t, tinyLog)
	phase("stopping Kafka")
	require.NoError(t, kafkaSrv.stop())
	kafkaStopped := time.Now()
	phase("Kafka stopped")
	require.False(t, dialRefused(tinyIn.syslog), "an ingest whose buffer has room accepts connections while Kafka is away")
	sendFile(t, in.syslog, parts[2])
	waitFor(t, 30*time.Second, "the ingest buffer to show the backlog", func() bool {
		return in.metric("tocsin_spool_memory_records", `buffer="events"`)+in.metric("tocsin_spool_disk_records", `buffer="events"`) > 0
	})
	backlog := in.metric("tocsin_spool_memory_records", `buffer="events"`) + in.metric("tocsin_spool_disk_records", `buffer="events"`)

	feeder := feedTCP(tinyIn.syslog, tinyLog, 5*time.Minute)
	waitFor(t, 30*time.Second, "the tiny buffer to fill", func() bool {
		return tinyIn.metric("tocsin_spool_full", `buffer="events"`) == 1
	})
	require.True(t, dialRefused(tinyIn.syslog), "a full ingest refuses new TCP connections")
	stalled := feeder.written.Load()
	time.Sleep(time.Second)
	require.Less(t, feeder.written.Load()-stalled, int64(1<<20), "a full ingest stops reading its sender")
	tinyDisk := tinyIn.metric("tocsin_spool_disk_bytes", `buffer="events"`)
	code, body := httpGet(tinyIn.metrics + "/healthz")
	require.Equal(t, 503, code, "a full ingest is not ready: %s", body)

	phase("tiny ingest full")
	time.Sleep(time.Until(kafkaStopped.Add(kafkaDown)))
	phase("resuming Kafka")
	require.NoError(t, kafkaSrv.resume())
	t.Logf("Kafka was stopped for %s; the main ingest held %.0f events meanwhile; the tiny one %.0f bytes on disk, "+
		"its sender stalled after %d of %d bytes", time.Since(kafkaStopped).Round(100*time.Millisecond), backlog, tinyDisk,
		stalled, fileSize(t, tinyLog))

	phase("Kafka resumed")
	sendFile(t, in.syslog, parts[3])
	select {
	case err := <-feeder.done:
		require.NoError(t, err, "the stalled sender finishes once Kafka is back")
	case <-time.After(3 * time.Minute):
		t.Fatal("the stalled sender did not finish within 3 minutes of Kafka's return")
	}
	waitFor(t, 60*time.Second, "the tiny ingest to accept connections again", func() bool { return !dialRefused(tinyIn.syslog) })
	phase("the stalled sender finished")

	got := c.settle(tk.api, []*roleProc{in}, lines, 4*time.Minute, 5*time.Second)
	t.Logf("caught up %s after the run started", time.Since(start).Round(time.Second))
	requireSameIncidents(t, "after ClickHouse and Kafka outages vs replay", want, got)
	dup := c.duplicates(got)
	require.Equal(t, dup.alertIDs, dup.alertRows, "no alert stored twice")
	require.Equal(t, alertTotal(want), dup.alertIDs, "every alert stored")
	require.Zero(t, dup.incidentDuplicates)
	require.Equal(t, uint64(lines), c.mustUint("SELECT uniqExact(id) FROM DB.events"), "every line in the event history")
	report, ok := checkTruth(t, truthPath, got)
	require.True(t, ok, "checktruth:\n%s", report)

	phase("main cluster checked")
	waitFor(t, 2*time.Minute, "the tiny ingest's lines in its event history", func() bool {
		n, err := tiny.chUint("SELECT uniqExact(id) FROM DB.events")
		return err == nil && n >= uint64(tinyLines)
	})
	require.Equal(t, uint64(tinyLines), tiny.mustUint("SELECT uniqExact(id) FROM DB.events"),
		"the tiny ingest lost none of the lines it read")
	require.Zero(t, tinyIn.metric("tocsin_spool_corrupt_records_total"))
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st.Size()
}
