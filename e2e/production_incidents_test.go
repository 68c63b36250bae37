package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// perAccountRule groups on user.name, which is not the events' partition
// key (source.address comes first), so the distributed engine must re-key
// its events through the repartition topic.
const perAccountRule = `rules:
  - id: e2e-ssh-failures-per-account
    title: Failed SSH logins for one account from anywhere
    description: Failed SSH logins for one account name, counted across every source address.
    severity: low
    kind: threshold
    condition: event.action == "ssh_login" && event.outcome == "failure" && user.name != ""
    group_by: [user.name]
    threshold: 20
    window: 5m
`

const perAccountRuleID = "e2e-ssh-failures-per-account"

func writePerAccountRule(t *testing.T, dir string) string {
	t.Helper()
	rd := filepath.Join(dir, "rules")
	require.NoError(t, os.MkdirAll(rd, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(rd, "per-account.yaml"), []byte(perAccountRule), 0o644))
	return rd
}

func countRule(incs []schemas.Incident, rule string) int {
	n := 0
	for _, in := range incs {
		if slices.Contains(in.RuleIDs, rule) {
			n++
		}
	}
	return n
}

// TestProductionSameIncidentsAsEmbedded feeds the real loghub OpenSSH log
// to `tocsin replay` (embedded), to `tocsin run --kafka --clickhouse` (the
// three roles in one process: one engine instance) over TCP, and to
// separate ingest, three engine and ticketing processes: the incidents
// are the same in all three, for the built-in rules and for a rule that
// groups on user.name (re-keyed through the repartition topic).
func TestProductionSameIncidentsAsEmbedded(t *testing.T) {
	src := sharedData(t, "loghub/OpenSSH/OpenSSH_2k.log")
	kafkaAddr, chAddr := productionServers(t)
	dir := t.TempDir()
	rulesDir := writePerAccountRule(t, dir)
	lines := countLines(t, src)

	want := replay(t, "--rules", rulesDir, src)
	require.NotEmpty(t, want)
	require.Positive(t, countRule(want, perAccountRuleID), "the per-account rule fires on the sample, so the repartition path is exercised")
	require.Positive(t, countRule(want, "ssh-brute-force-fast"))

	t.Run("run", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		c := newProdCluster(t, kafkaAddr, chAddr, "TOCSIN_RULES_DIRS="+rulesDir)
		c.createTopics()
		p := c.startRole("run", "run")
		sendFile(t, p.syslog, src)
		got := c.settle(p.api, []*roleProc{p}, lines, 2*time.Minute, 3*time.Second)
		requireSameIncidents(t, "tocsin run --kafka --clickhouse vs replay", want, got)
		rekeyed, _ := scrape(p.engineMetrics, "tocsin_stream_repartitioned_events_total")
		require.Positive(t, rekeyed, "events were re-keyed through the repartition topic")
		require.Equal(t, uint64(lines), c.mustUint("SELECT uniqExact(id) FROM DB.events"), "every line is in the event history once")
		require.NoError(t, p.stop(60*time.Second), "tocsin run stops cleanly\n%s", tailFile(p.logPath, 30))
		t.Logf("run --kafka: %d lines to %d settled incidents in %s", lines, len(got), time.Since(start).Round(time.Millisecond))
	})

	t.Run("roles", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		c := newProdCluster(t, kafkaAddr, chAddr, "TOCSIN_RULES_DIRS="+rulesDir)
		tk := c.newRole("ticketing", "ticketing")
		engines := []*roleProc{c.newRole("engine-1", "engine"), c.newRole("engine-2", "engine"), c.newRole("engine-3", "engine")}
		in := c.newRole("ingest", "ingest")
		startInOrder(append([]*roleProc{tk, in}, engines...)...)
		// Wait for the group to give each engine a share of the events
		// topic, so that the run is spread over three instances.
		waitFor(t, 60*time.Second, "every engine to own events partitions", func() bool {
			for _, e := range engines {
				if e.metric("tocsin_stream_partitions", `topic="`+c.topic("events")+`"`) == 0 {
					return false
				}
			}
			return true
		})
		sendFile(t, in.syslog, src)
		got := c.settle(tk.api, []*roleProc{in}, lines, 2*time.Minute, 3*time.Second)
		requireSameIncidents(t, "ingest + 3 engines + ticketing vs replay", want, got)
		var rekeyed float64
		var parts []string
		for _, e := range engines {
			rekeyed += e.metric("tocsin_stream_repartitioned_events_total")
			parts = append(parts, strings.Join(samples(e.metrics, "tocsin_stream_partitions"), "; "))
		}
		require.Positive(t, rekeyed, "events were re-keyed through the repartition topic")
		require.Equal(t, uint64(lines), c.mustUint("SELECT uniqExact(id) FROM DB.events"), "every line is in the event history once")
		require.Zero(t, in.metric("tocsin_ingest_parse_failures_total"), "every line of the real log parses")
		for _, p := range append(engines, in, tk) {
			require.NoError(t, p.stop(60*time.Second), "%s stops cleanly\n%s", p.name, tailFile(p.logPath, 30))
		}
		t.Logf("3 engines (%s): %d lines to %d settled incidents in %s", strings.Join(parts, " | "), lines, len(got),
			time.Since(start).Round(time.Millisecond))
	})
}

// TestProductionRolesStartTogether starts roles on topics that do not
// exist yet: ticketing, two engines and ingest at the same moment, as an
// orchestrator does, and `tocsin run --kafka`, whose three roles start
// together in one process. They race to create the topics, and every one
// of them must come up.
func TestProductionRolesStartTogether(t *testing.T) {
	kafkaAddr, chAddr := productionServers(t)
	t.Run("processes", func(t *testing.T) {
		t.Parallel()
		c := newProdCluster(t, kafkaAddr, chAddr)
		ps := []*roleProc{c.newRole("ticketing", "ticketing"), c.newRole("engine-1", "engine"),
			c.newRole("engine-2", "engine"), c.newRole("ingest", "ingest")}
		for _, p := range ps {
			p.start()
		}
		for _, p := range ps {
			p.waitHealthy(90 * time.Second)
		}
	})
	t.Run("run", func(t *testing.T) {
		t.Parallel()
		// A few fresh starts, since the race is lost only sometimes.
		for i := range 3 {
			c := newProdCluster(t, kafkaAddr, chAddr)
			p := c.startRole(fmt.Sprintf("run-%d", i), "run")
			require.NoError(t, p.stop(60*time.Second))
		}
	})
}
