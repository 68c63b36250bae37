package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	partitionLabel = regexp.MustCompile(`partition="(\d+)"`)
	// restoreSummary keeps the partition, size, duration and time of a
	// "partition restored" log line.
	restoreSummary = regexp.MustCompile(`^.*"topic":"[^"]*\.([a-z]+)","partition":(\d+),.*"bytes":(\d+),"restore":([0-9.]+),"time":"([^"]*)".*$`)
)

// ownedPartitions returns the partitions of topic an engine reports as
// assigned to it (its consumer lag series of the engine group).
func ownedPartitions(p *roleProc, group, topic string) []int {
	var out []int
	for _, s := range samples(p.metrics, "tocsin_kafka_consumer_lag") {
		if !strings.Contains(s, `group="`+group+`"`) || !strings.Contains(s, `topic="`+topic+`"`) {
			continue
		}
		if m := partitionLabel.FindStringSubmatch(s); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// trickle sends the lines of file over TCP at about rate lines per second
// until stop is closed or the file ends.
func trickle(addr, file string, rate int, stop <-chan struct{}) (*atomic.Int64, <-chan error) {
	var sent atomic.Int64
	done := make(chan error, 1)
	go func() {
		f, err := os.Open(file)
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		sc := bufio.NewScanner(f)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		per := max(rate/50, 1)
		for {
			select {
			case <-stop:
				done <- nil
				return
			case <-tick.C:
			}
			var b []byte
			for i := 0; i < per && sc.Scan(); i++ {
				b = append(append(b, sc.Bytes()...), '\n')
			}
			if len(b) == 0 {
				done <- sc.Err()
				return
			}
			_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := c.Write(b); err != nil {
				done <- err
				return
			}
			sent.Add(int64(strings.Count(string(b), "\n")))
		}
	}()
	return &sent, done
}

// TestEngineRebalanceMidStream starts one engine, adds a second in the
// middle of the stream (a rebalance that moves partitions with their
// checkpointed windows), then stops the first with SIGTERM: the incidents
// equal the undisturbed replay's. It then measures how long a partition
// takes to move after kill -9 of its owner: from the kill to the first
// offset the new owner commits for it, with the size of the state it
// restores.
func TestEngineRebalanceMidStream(t *testing.T) {
	kafkaAddr, chAddr := productionServers(t)
	lines := 100_000
	if chaosFull() {
		lines = 1_000_000
	}
	dir := t.TempDir()
	logPath, _ := authLog(t, dir, lines, 5)
	want := replay(t, "--quiet-period", "100000h", logPath)
	require.NotEmpty(t, want)
	parts, _ := splitFile(t, logPath, t.TempDir(), 9)

	c := newProdCluster(t, kafkaAddr, chAddr)
	tk := c.newRole("ticketing", "ticketing")
	in := c.newRole("ingest", "ingest")
	e1 := c.newRole("engine-1", "engine")
	startInOrder(tk, in, e1)
	start := time.Now()
	require.NoError(t, <-feedPaced(in.syslog, parts[0:3], 500*time.Millisecond))
	e2 := c.startRole("engine-2", "engine")
	events := c.topic("events")
	waitFor(t, 60*time.Second, "engine-2 to get a share of the partitions", func() bool {
		return e2.metric("tocsin_stream_partitions", `topic="`+events+`"`) > 0
	})
	shareAfterJoin := fmt.Sprintf("engine-1 %.0f, engine-2 %.0f events partitions",
		e1.metric("tocsin_stream_partitions", `topic="`+events+`"`), e2.metric("tocsin_stream_partitions", `topic="`+events+`"`))
	require.NoError(t, <-feedPaced(in.syslog, parts[3:6], 500*time.Millisecond))
	stopAt := time.Now()
	require.NoError(t, e1.stop(60*time.Second), "engine-1 stops cleanly on SIGTERM\n%s", tailFile(e1.logPath, 30))
	stopTook := time.Since(stopAt)
	require.NoError(t, <-feedPaced(in.syslog, parts[6:9], 500*time.Millisecond))
	got := c.settle(tk.api, []*roleProc{in}, lines, 4*time.Minute, 5*time.Second)
	t.Logf("after join: %s; engine-1 took %s to stop; settled %s after the feed started",
		shareAfterJoin, stopTook.Round(time.Millisecond), time.Since(start).Round(time.Second))
	requireSameIncidents(t, "one engine, a second joining, the first leaving vs replay", want, got)
	dup := c.duplicates(got)
	require.Equal(t, dup.alertIDs, dup.alertRows, "no alert stored twice")
	require.Equal(t, alertTotal(want), dup.alertIDs, "every alert stored")

	// Takeover after kill -9: two members again, traffic on every
	// partition, then the owner of some partitions dies.
	e1.start()
	e1.waitHealthy(90 * time.Second)
	group := c.group("engine")
	waitFor(t, 60*time.Second, "both engines to own events partitions", func() bool {
		a, b := ownedPartitions(e1, group, events), ownedPartitions(e2, group, events)
		return len(a) > 0 && len(b) > 0 && len(a)+len(b) >= 12
	})
	moreLog, _ := authLog(t, t.TempDir(), 200_000, 6)
	stopTrickle := make(chan struct{})
	sent, trickleDone := trickle(in.syslog, moreLog, 3000, stopTrickle)
	defer func() {
		close(stopTrickle)
		<-trickleDone
	}()
	// The victim's state is in the checkpoints it wrote meanwhile.
	waitFor(t, 30*time.Second, "a checkpoint of every partition of the victim", func() bool {
		for _, p := range ownedPartitions(e2, group, events) {
			if e2.metric("tocsin_stream_checkpoint_bytes", `topic="`+events+`"`, fmt.Sprintf(`partition="%d"`, p)) == 0 {
				return false
			}
		}
		return true
	})
	victimParts := ownedPartitions(e2, group, events)
	stateBytes := map[string]float64{}
	for _, topic := range []string{events, c.topic("repartition")} {
		stateBytes[topic] = e2.metric("tocsin_stream_checkpoint_bytes", `topic="`+topic+`"`)
	}
	restoreSum0 := e1.metric("tocsin_stream_restore_seconds_sum")
	restoreN0 := e1.metric("tocsin_stream_restore_seconds_count")
	e2.kill()
	killed := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base, err := committedOffsets(ctx, kafkaAddr, group, events, victimParts)
	require.NoError(t, err)
	took := map[int]time.Duration{}
	for len(took) < len(victimParts) && time.Since(killed) < 90*time.Second {
		time.Sleep(50 * time.Millisecond)
		now, err := committedOffsets(ctx, kafkaAddr, group, events, victimParts)
		if err != nil {
			continue
		}
		for _, p := range victimParts {
			if _, ok := took[p]; !ok && now[p] > base[p] {
				took[p] = time.Since(killed)
			}
		}
	}
	require.Len(t, took, len(victimParts), "every partition of the killed engine was taken over within 90s (%d lines sent meanwhile)", sent.Load())
	var first, last time.Duration
	var rows []string
	for _, p := range victimParts {
		d := took[p]
		if first == 0 || d < first {
			first = d
		}
		last = max(last, d)
		rows = append(rows, fmt.Sprintf("%d: %.2fs", p, d.Seconds()))
	}
	var restores []string
	if data, err := os.ReadFile(e1.logPath); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, "partition restored") && strings.Contains(l, `"restore"`) {
				restores = append(restores, restoreSummary.ReplaceAllString(l, "$1/$2: $3 bytes restored in $4 ms at $5"))
			}
		}
	}
	t.Logf("the survivor's last restores:\n%s",
		strings.Join(restores[max(len(restores)-len(victimParts)-1, 0):], "\n"))
	restoreN := e1.metric("tocsin_stream_restore_seconds_count") - restoreN0
	restoreSum := e1.metric("tocsin_stream_restore_seconds_sum") - restoreSum0
	t.Logf("takeover after kill -9 of the owner of events partitions %v: the new owner's first committed offset came "+
		"%.2fs (first partition) to %.2fs (last) after the kill [%s]; the victim's last checkpoints held %.0f bytes "+
		"for its events partitions and %.0f for its repartition partitions (compressed); the survivor restored %.0f "+
		"partitions in %.3fs in all; %d lines/s flowing, %d sent meanwhile",
		victimParts, first.Seconds(), last.Seconds(), strings.Join(rows, ", "), stateBytes[events],
		stateBytes[c.topic("repartition")], restoreN, restoreSum, 3000, sent.Load())
}
