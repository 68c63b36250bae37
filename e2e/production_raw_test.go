package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// kcatProduce writes each line of file as one record of topic with kcat.
func kcatProduce(t *testing.T, kcat, broker, topic, file string) {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, "-P", "-b", broker, "-t", topic, "-p", "0")
	cmd.Stdin = f
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "kcat -P: %s", out)
}

// waitRawConsumed waits until the raw-topic group has committed every
// record of the raw topic.
func (c *prodCluster) waitRawConsumed(timeout time.Duration) {
	c.t.Helper()
	waitFor(c.t, timeout, "the raw topic to be consumed", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		lag, err := groupLag(ctx, c.kafka, c.group("raw"), c.topic("raw"))
		return err == nil && lag == 0
	})
}

// TestProductionRawTopicProducers has real shippers write raw log lines
// into the raw topic that `tocsin ingest` consumes: kcat (one record per
// line) and rsyslogd with omkafka reading the file with imfile. Both give
// the incidents of `tocsin replay`. With kcat, ingest is killed with
// SIGKILL in the middle of the stream and started again: the event
// history holds each line once (after ReplacingMergeTree folds a
// redelivered record, which keeps its event id) and the incidents do not
// change.
func TestProductionRawTopicProducers(t *testing.T) {
	src := sharedData(t, "loghub/OpenSSH/OpenSSH_2k.log")
	kafkaAddr, chAddr := productionServers(t)
	want := replay(t, src)
	require.NotEmpty(t, want)
	lines := countLines(t, src)

	t.Run("kcat", func(t *testing.T) {
		t.Parallel()
		kcat, err := exec.LookPath("kcat")
		if err != nil {
			skipOrFail(t, "kcat is not installed (make test installs it with scripts/test-deps.sh)")
		}
		c := newProdCluster(t, kafkaAddr, chAddr)
		createTopic(t, kafkaAddr, c.topic("raw"), 1)
		raw := "TOCSIN_KAFKA_TOPICS_RAW=" + c.topic("raw")
		tk := c.newRole("ticketing", "ticketing")
		en := c.newRole("engine", "engine")
		in := c.newRole("ingest", "ingest", raw)
		startInOrder(tk, en, in)
		parts, _ := splitFile(t, src, t.TempDir(), 4)
		kcatProduce(t, kcat, kafkaAddr, c.topic("raw"), parts[0])
		kcatProduce(t, kcat, kafkaAddr, c.topic("raw"), parts[1])
		// Kill ingest while it works through the first half. The raw
		// consumer's lines are counted by the Kafka consumer metrics.
		rawGroup := `group="` + c.group("raw") + `"`
		waitFor(t, 60*time.Second, "ingest to start on the raw records", func() bool {
			return in.metric("tocsin_kafka_consumed_messages_total", rawGroup) > 0
		})
		before := in.metric("tocsin_kafka_consumed_messages_total", rawGroup)
		ingestLines := in.metric("tocsin_ingest_lines_total")
		in.kill()
		kcatProduce(t, kcat, kafkaAddr, c.topic("raw"), parts[2])
		in.start()
		in.waitHealthy(90 * time.Second)
		kcatProduce(t, kcat, kafkaAddr, c.topic("raw"), parts[3])
		c.waitRawConsumed(2 * time.Minute)
		got := c.settle(tk.api, nil, 0, 2*time.Minute, 3*time.Second)
		rows := c.mustUint("SELECT count() FROM DB.events")
		ids := c.mustUint("SELECT uniqExact(id) FROM DB.events")
		final := c.mustUint("SELECT count() FROM DB.events FINAL")
		t.Logf("ingest had consumed %.0f raw records when killed (tocsin_ingest_lines_total said %.0f); "+
			"events table: %d rows, %d distinct ids, %d after FINAL, for %d lines", before, ingestLines, rows, ids, final, lines)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		produced, err := topicEnd(ctx, kafkaClient(kafkaAddr), c.topic("events"))
		require.NoError(t, err)
		t.Logf("the events topic holds %d records for %d raw records", produced, lines)
		requireSameIncidents(t, "kcat -> raw topic -> ingest (killed once) vs replay", want, got)
		require.Equal(t, uint64(lines), ids, "each raw record is one event, redelivered or not")
		require.Equal(t, uint64(lines), final, "ReplacingMergeTree folds every redelivered event")
	})

	t.Run("rsyslog-omkafka", func(t *testing.T) {
		t.Parallel()
		rsyslogd, err := exec.LookPath("rsyslogd")
		if err != nil {
			skipOrFail(t, "rsyslogd is not installed (make test installs it with scripts/test-deps.sh)")
		}
		if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so"); err != nil {
			if _, err2 := os.Stat("/usr/lib/rsyslog/omkafka.so"); err2 != nil {
				skipOrFail(t, "rsyslog's omkafka is not installed (Debian package rsyslog-kafka; make test installs it)")
			}
		}
		c := newProdCluster(t, kafkaAddr, chAddr)
		c.createTopics()
		createTopic(t, kafkaAddr, c.topic("raw"), 1)
		p := c.startRole("run", "run", "TOCSIN_KAFKA_TOPICS_RAW="+c.topic("raw"))

		dir := t.TempDir()
		in := filepath.Join(dir, "auth.log")
		data, err := os.ReadFile(src)
		require.NoError(t, err)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			data = append(data, '\n') // imfile reads only complete lines
		}
		require.NoError(t, os.WriteFile(in, data, 0o644))
		work := filepath.Join(dir, "work")
		require.NoError(t, os.Mkdir(work, 0o755))
		conf := filepath.Join(dir, "rsyslog.conf")
		require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`
global(workDirectory=%q)
module(load="imfile")
module(load="omkafka")
template(name="raw" type="string" string="%%rawmsg%%")
input(type="imfile" File=%q Tag="auth:" ruleset="tokafka")
ruleset(name="tokafka") {
  action(type="omkafka" topic=%q broker=[%q] template="raw" partitions.number="1"
         confParam=["queue.buffering.max.ms=20"]
         queue.type="LinkedList" action.resumeRetryCount="-1")
}
`, work, in, c.topic("raw"), kafkaAddr)), 0o644))
		startRsyslogd(t, rsyslogd, conf, filepath.Join(dir, "rsyslogd.pid"))
		waitFor(t, 90*time.Second, fmt.Sprintf("%d raw records from rsyslog", lines), func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			n, err := topicEnd(ctx, kafkaClient(kafkaAddr), c.topic("raw"))
			return err == nil && n >= int64(lines)
		})
		c.waitRawConsumed(2 * time.Minute)
		got := c.settle(p.api, nil, 0, 2*time.Minute, 3*time.Second)
		requireSameIncidents(t, "rsyslog imfile -> omkafka -> raw topic -> tocsin run --kafka vs replay", want, got)
		require.Equal(t, uint64(lines), c.mustUint("SELECT uniqExact(id) FROM DB.events"), "each line once in the event history")
		require.NoError(t, p.stop(60*time.Second), "tocsin run stops cleanly\n%s", tailFile(p.logPath, 30))
	})
}
