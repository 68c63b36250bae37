package stream

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus/kafkabus"
	"github.com/tocsin-siem/tocsin/engine"
)

// childEnv carries a crash child's topics and group, as JSON.
const childEnv = "TOCSIN_STREAM_CRASH_CHILD"

type childSpec struct {
	Bootstrap, Events, Repart, State, Alerts, Group string
	Parts, RepartParts                              int
}

// TestCrash kills a member with SIGKILL halfway through the input (no
// revocation, no last checkpoint), then lets a new member restore the
// last periodic checkpoints and finish. The alert IDs equal an
// undisturbed run's; alerts produced twice are counted.
func TestCrash(t *testing.T) {
	t.Parallel()
	set := testRules(t)
	evs := inputEvents(t)
	want := referenceAlerts(t, set, evs)
	// One events partition keeps the copies of rekeyed rules in input
	// order, so every alert ID can be compared with one process's.
	c := newClusterN(t, 1, 2, set)
	c.produce(evs)

	spec, err := json.Marshal(childSpec{Bootstrap: c.bootstrap, Events: c.events, Repart: c.repart,
		State: c.state, Alerts: c.alertsT, Group: c.group, Parts: c.parts, RepartParts: c.repartParts})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec), "TOCSIN_TEST_KAFKA="+c.bootstrap)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	// Follow the child's progress; kill it once it handled half the
	// events.
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		var topic string
		var part int
		var next int64
		if n, _ := fmt.Sscanf(sc.Text(), "handled %s %d %d", &topic, &part, &next); n != 3 {
			continue
		}
		c.note(topic, part, next)
		if c.handledEvents() >= int64(len(evs)/2) {
			// Somewhere in the child's next batch.
			time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
			require.NoError(t, cmd.Process.Kill())
			killed = true
			break
		}
	}
	killedAt := time.Now()
	_ = cmd.Wait()
	require.True(t, killed, "the child ended before it handled half the events")
	t.Logf("killed the member after %d of %d events", c.handledEvents(), len(evs))

	c.mu.Lock()
	c.first = time.Time{}
	c.mu.Unlock()
	m := c.start(nil)
	c.waitCaughtUp(90 * time.Second)
	c.mu.Lock()
	takeover := c.first.Sub(killedAt)
	c.mu.Unlock()
	t.Logf("takeover: %s from SIGKILL to the new member's first handled batch (session timeout %s)", takeover.Round(10*time.Millisecond), fastGroup().SessionTimeout)
	got := c.alerts()
	_, dups := idSet(got)
	t.Logf("crash: %d alerts, %d produced twice (dropped by ID downstream), %.0f records replayed, %.0f duplicate copies dropped",
		len(want), dups, value(t, m.r.m.replayed), value(t, m.r.m.duplicates))
	requireSameAlerts(t, want, got)
}

// handledEvents sums the highest handled offsets of the events topic.
func (c *cluster) handledEvents() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for k, v := range c.handled {
		if strings.HasPrefix(k, c.events+"/") {
			n += v
		}
	}
	return n
}

// TestCrashChild is the member TestCrash kills; it runs only as its child.
func TestCrashChild(t *testing.T) {
	raw := os.Getenv(childEnv)
	if raw == "" {
		t.Skip("runs only as the child process of TestCrash")
	}
	var spec childSpec
	require.NoError(t, json.Unmarshal([]byte(raw), &spec))
	cfg := kafkabus.Config{Brokers: []string{spec.Bootstrap}}
	prod, err := kafkabus.NewProducer(cfg, kafkabus.ProducerOptions{BatchBytes: 16 << 20})
	require.NoError(t, err)
	group := fastGroup()
	group.MaxBatch = 50 // small batches, so the kill lands mid-stream
	r, err := New(Options{
		Kafka: cfg, Group: spec.Group,
		EventsTopic: spec.Events, RepartitionTopic: spec.Repart, StateTopic: spec.State, AlertsTopic: spec.Alerts,
		Rules: testRules(t), Engine: engine.Options{Now: fixedNow}, Consumer: group, Producer: prod,
		CheckpointEvents: 400, CheckpointMaxBytes: 16 << 20, Logger: testLogger(),
	})
	require.NoError(t, err)
	r.onHandled = func(topic string, partition int, next int64) {
		fmt.Printf("handled %s %d %d\n", topic, partition, next)
	}
	// The parent kills this process; the timeout only bounds a child
	// whose parent went away.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	require.NoError(t, r.Run(ctx))
}
