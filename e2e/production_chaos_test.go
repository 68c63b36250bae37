package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// chaosSeed is TOCSIN_CHAOS_SEED, or a new seed; the test prints it so a
// failing run can be repeated.
func chaosSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("TOCSIN_CHAOS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "TOCSIN_CHAOS_SEED")
		return v
	}
	return uint64(time.Now().UnixNano())
}

// feedPaced sends files one after the other to addr, pausing between
// them, and reports on done when the last was sent.
func feedPaced(addr string, files []string, pause time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		for i, f := range files {
			out, err := runTocsin("send", "--address", addr, f)
			if err != nil {
				done <- fmt.Errorf("tocsin send %s: %v: %s", f, err, out)
				return
			}
			if i < len(files)-1 {
				time.Sleep(pause)
			}
		}
		done <- nil
	}()
	return done
}

// duplicateReport counts the visible alerts in ClickHouse (rows of
// committed batches), their distinct IDs, and the incidents that share a
// rule and entities with another.
type duplicateReport struct {
	alertRows, alertIDs uint64
	incidentDuplicates  int
}

func (c *prodCluster) duplicates(incs []schemas.Incident) duplicateReport {
	c.t.Helper()
	visible := "batch IN (SELECT batch FROM DB.batches) AND batch NOT IN (SELECT batch FROM DB.aborted_batches)"
	r := duplicateReport{
		alertRows: c.mustUint("SELECT count() FROM DB.alerts WHERE " + visible),
		alertIDs:  c.mustUint("SELECT uniqExact(id) FROM DB.alerts WHERE " + visible),
	}
	seen := map[string]int{}
	for _, in := range incs {
		var ents []string
		for _, e := range in.Entities {
			ents = append(ents, e.Type+"="+e.Value)
		}
		k := strings.Join(in.RuleIDs, ",") + "|" + strings.Join(ents, ",")
		seen[k]++
		if seen[k] > 1 {
			r.incidentDuplicates++
		}
	}
	return r
}

func alertTotal(incs []schemas.Incident) uint64 {
	var n uint64
	for _, in := range incs {
		n += uint64(in.AlertCount)
	}
	return n
}

// TestChaosKillEngineAndTicketing runs an authgen log through ingest,
// Kafka, two engines and ticketing while, at random moments, one engine
// or the ticketing process is killed with SIGKILL and started again.
// Afterwards the incidents equal those of an undisturbed replay, no alert
// is stored twice, and every planted attacker has its incidents. The
// short version (make test) kills 3 times during 100,000 lines;
// TOCSIN_CHAOS=full (make chaos) 20 times during 1,000,000.
func TestChaosKillEngineAndTicketing(t *testing.T) {
	kafkaAddr, chAddr := productionServers(t)
	lines, rounds, chunks := 100_000, 3, 12
	if chaosFull() {
		lines, rounds, chunks = 1_000_000, 20, 100
	}
	seed := chaosSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t.Logf("chaos seed %d (TOCSIN_CHAOS_SEED=%d repeats the kill schedule); %d lines, %d rounds", seed, seed, lines, rounds)

	dir := t.TempDir()
	logPath, truthPath := authLog(t, dir, lines, 1)
	// Live ticketing resolves quiet incidents on the wall clock (24h), so
	// nothing resolves during the test: the replay that models it keeps
	// incidents open in event time too.
	want := replay(t, "--quiet-period", "100000h", logPath)
	require.NotEmpty(t, want)
	parts, total := splitFile(t, logPath, t.TempDir(), chunks)
	require.Equal(t, lines, total)

	c := newProdCluster(t, kafkaAddr, chAddr)
	tk := c.newRole("ticketing", "ticketing")
	e1, e2 := c.newRole("engine-1", "engine"), c.newRole("engine-2", "engine")
	in := c.newRole("ingest", "ingest")
	startInOrder(tk, e1, e2, in)

	start := time.Now()
	// Pace the feed so that it lasts about as long as the rounds.
	pause := time.Duration(rounds) * 6 * time.Second / time.Duration(chunks)
	fed := feedPaced(in.syslog, parts, pause)

	type round struct {
		at      time.Duration
		victim  string
		lag     string
		healthy time.Duration
	}
	var log []round
	victims := []*roleProc{e1, e2, tk}
	var feedErr error
	feedDone := false
	for r := 0; r < rounds; r++ {
		wait := time.Duration(500+rng.IntN(3500)) * time.Millisecond
		select {
		case feedErr = <-fed:
			feedDone = true
			require.NoError(t, feedErr)
			time.Sleep(wait)
		case <-time.After(wait):
		}
		v := victims[rng.IntN(len(victims))]
		lags, _ := c.lags()
		at := time.Since(start)
		v.kill()
		v.start()
		t0 := time.Now()
		v.waitHealthy(2 * time.Minute)
		log = append(log, round{at: at, victim: v.name, lag: fmt.Sprint(lags), healthy: time.Since(t0)})
	}
	if !feedDone {
		select {
		case feedErr = <-fed:
		case <-time.After(10 * time.Minute):
			t.Fatal("the feed did not finish within 10 minutes")
		}
		require.NoError(t, feedErr)
	}
	settleTimeout := 4 * time.Minute
	if chaosFull() {
		settleTimeout = 20 * time.Minute
	}
	got := c.settle(tk.api, []*roleProc{in}, lines, settleTimeout, 5*time.Second)
	elapsed := time.Since(start)

	var b strings.Builder
	fmt.Fprintf(&b, "kill -9 rounds (seed %d):\n", seed)
	for i, r := range log {
		fmt.Fprintf(&b, "  %2d at %6.1fs  %-9s  back healthy in %5.1fs  lags before %s\n", i+1, r.at.Seconds(), r.victim,
			r.healthy.Seconds(), r.lag)
	}
	t.Log(b.String())

	compareIncidents(t, "after chaos vs undisturbed replay", want, got)
	mismatch := incidentMismatch(want, got)
	dup := c.duplicates(got)
	report, truthOK := checkTruth(t, truthPath, got)
	events := c.mustUint("SELECT uniqExact(id) FROM DB.events")
	t.Logf("duplicates: %d alert rows for %d alert ids in ClickHouse (expected %d alerts), %d duplicate incidents; "+
		"event history holds %d of %d lines; settled %s after the feed started\nlosses (checktruth):\n%s",
		dup.alertRows, dup.alertIDs, alertTotal(want), dup.incidentDuplicates, events, lines, elapsed.Round(time.Second), report)
	require.Empty(t, mismatch, "incidents after the kills equal the undisturbed replay's")
	require.Equal(t, dup.alertIDs, dup.alertRows, "no alert stored twice")
	require.Equal(t, alertTotal(want), dup.alertIDs, "every alert stored")
	require.Zero(t, dup.incidentDuplicates, "no incident opened twice")
	require.True(t, truthOK, "every planted attacker found, no false positive")
	require.Equal(t, uint64(lines), events, "every line in the event history")
}

// runTocsin runs the tocsin binary (for at most 10 minutes) and returns
// its combined output.
func runTocsin(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tocsinBin, args...).CombinedOutput()
	return string(out), err
}
