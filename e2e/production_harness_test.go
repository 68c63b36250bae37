package e2e

// Helpers for the production-path tests: real Kafka and ClickHouse
// servers, tocsin role processes (ingest, engine, ticketing, run --kafka)
// started, killed and restarted by PID, and the checks that compare their
// incidents with an embedded replay.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// chaosFull reports whether the full rounds were asked for (make chaos).
func chaosFull() bool { return os.Getenv("TOCSIN_CHAOS") == "full" }

// skipOrFail skips the test with reason, or fails it when env CI is set:
// CI must run every production test.
func skipOrFail(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s", reason)
	}
	t.Skip("skipped: " + reason)
}

// infraServer is a Kafka broker or ClickHouse server started by this test
// binary with testinfra/kafka.sh or testinfra/clickhouse.sh.
type infraServer struct {
	script string // path of the testinfra script
	dir    string
	addr   string // bootstrap (Kafka) or native (ClickHouse) host:port
}

func runScript(script, verb, dir string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, verb, dir)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s %s: %v: %s", filepath.Base(script), verb, dir, err, strings.TrimSpace(errOut.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// startInfra starts a server in a fresh folder under dir. The scripts
// pick ports that nothing listens on, but one may be taken between the
// check and the server's bind (by an outgoing connection's ephemeral
// port, say), so a failed start is tried again, twice, in a new folder.
func startInfra(kind, dir string) (*infraServer, error) {
	script, err := filepath.Abs(filepath.Join("..", "testinfra", kind+".sh"))
	if err != nil {
		return nil, err
	}
	var errs []error
	for attempt := 1; attempt <= 3; attempt++ {
		d := fmt.Sprintf("%s-%d", dir, attempt)
		out, err := runScript(script, "start", d)
		if err == nil {
			lines := strings.Split(out, "\n")
			return &infraServer{script: script, dir: d, addr: strings.TrimSpace(lines[len(lines)-1])}, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// stop stops the server (SIGTERM by the PID its script wrote).
func (s *infraServer) stop() error {
	_, err := runScript(s.script, "stop", s.dir)
	return err
}

// resume starts the stopped server again on its data and ports.
func (s *infraServer) resume() error {
	_, err := runScript(s.script, "resume", s.dir)
	return err
}

var (
	sharedInfraOnce sync.Once
	sharedKafka     *infraServer
	sharedCH        *infraServer
	sharedInfraErr  error
	sharedInfraDir  string
)

// stopSharedInfra stops the servers startedInfra started for the whole
// package; TestMain calls it after the tests.
func stopSharedInfra() {
	for _, s := range []*infraServer{sharedKafka, sharedCH} {
		if s != nil {
			if err := s.stop(); err != nil {
				fmt.Fprintln(os.Stderr, "e2e:", err)
			}
		}
	}
	if sharedInfraDir != "" {
		os.RemoveAll(sharedInfraDir)
	}
}

// productionServers returns the Kafka bootstrap address and the ClickHouse
// native address the production tests share: those of TOCSIN_TEST_KAFKA
// and TOCSIN_TEST_CLICKHOUSE (make test), or private servers started once
// for this package.
func productionServers(t *testing.T) (kafkaAddr, chAddr string) {
	t.Helper()
	k, c := os.Getenv("TOCSIN_TEST_KAFKA"), os.Getenv("TOCSIN_TEST_CLICKHOUSE")
	if k != "" && c != "" {
		return k, c
	}
	sharedInfraOnce.Do(func() {
		sharedInfraDir, sharedInfraErr = os.MkdirTemp("", "tocsin-e2e-servers-")
		if sharedInfraErr != nil {
			return
		}
		if c == "" {
			sharedCH, sharedInfraErr = startInfra("clickhouse", filepath.Join(sharedInfraDir, "clickhouse"))
			if sharedInfraErr != nil {
				return
			}
		}
		if k == "" {
			sharedKafka, sharedInfraErr = startInfra("kafka", filepath.Join(sharedInfraDir, "kafka"))
		}
	})
	if sharedInfraErr != nil {
		skipOrFail(t, fmt.Sprintf("no Kafka/ClickHouse for the production tests (run them with make test, or set TOCSIN_TEST_KAFKA "+
			"and TOCSIN_TEST_CLICKHOUSE; starting private servers failed: %v)", sharedInfraErr))
	}
	if k == "" {
		k = sharedKafka.addr
	}
	if c == "" {
		c = sharedCH.addr
	}
	return k, c
}

// privateServers starts a Kafka broker and a ClickHouse server for this
// test alone (outage tests stop and resume them), stopped at its end.
func privateServers(t *testing.T) (kafkaSrv, chSrv *infraServer) {
	t.Helper()
	dir, err := os.MkdirTemp("", "tocsin-e2e-private-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	chSrv, err = startInfra("clickhouse", filepath.Join(dir, "clickhouse"))
	if err != nil {
		skipOrFail(t, fmt.Sprintf("cannot start a private ClickHouse server (scripts/test-deps.sh installs it): %v", err))
	}
	t.Cleanup(func() { _ = chSrv.stop() })
	kafkaSrv, err = startInfra("kafka", filepath.Join(dir, "kafka"))
	if err != nil {
		skipOrFail(t, fmt.Sprintf("cannot start a private Kafka broker (scripts/test-deps.sh installs Java and Maven): %v", err))
	}
	t.Cleanup(func() { _ = kafkaSrv.stop() })
	return kafkaSrv, chSrv
}

// childEnv is the environment of a tocsin child process: this one's
// without any TOCSIN_ variable (the test's own, such as
// TOCSIN_TEST_KAFKA, are unknown settings to tocsin), plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOCSIN_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// prodCluster is one test's share of Kafka and ClickHouse: its own topic
// names, group ids and database, and the role processes it started.
type prodCluster struct {
	t      *testing.T
	dir    string
	kafka  string
	chAddr string
	db     string
	prefix string
	// env holds the TOCSIN_ settings every role of the cluster gets.
	env   []string
	procs []*roleProc
}

var prodNameRE = regexp.MustCompile(`[^a-z0-9]+`)

// newProdCluster names unique topics, groups and a database for the test,
// creates the database, and adds settings (KEY=VALUE, TOCSIN_ names) to
// every role's environment.
func newProdCluster(t *testing.T, kafkaAddr, chAddr string, settings ...string) *prodCluster {
	t.Helper()
	name := prodNameRE.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	id := fmt.Sprintf("%s_%d_%04x", strings.Trim(name, "_"), time.Now().Unix()%100000, rand.IntN(1<<16))
	// The folder (role logs, data folders) outlives a failed test, for
	// inspection; a passing test removes it.
	dir, err := os.MkdirTemp("", "tocsin-e2e-cluster-")
	require.NoError(t, err)
	c := &prodCluster{t: t, dir: dir, kafka: kafkaAddr, chAddr: chAddr, db: "e2e_" + id, prefix: "e2e." + id}
	c.env = []string{
		"TOCSIN_KAFKA_BROKERS=" + kafkaAddr,
		"TOCSIN_KAFKA_TOPICS_EVENTS=" + c.topic("events"),
		"TOCSIN_KAFKA_TOPICS_ALERTS=" + c.topic("alerts"),
		"TOCSIN_KAFKA_TOPICS_FAILURES=" + c.topic("failures"),
		"TOCSIN_KAFKA_TOPICS_REPARTITION=" + c.topic("repartition"),
		"TOCSIN_KAFKA_TOPICS_STATE=" + c.topic("state"),
		"TOCSIN_KAFKA_GROUPS_ENGINE=" + c.group("engine"),
		"TOCSIN_KAFKA_GROUPS_TICKETING=" + c.group("ticketing"),
		"TOCSIN_KAFKA_GROUPS_HISTORY=" + c.group("history"),
		"TOCSIN_KAFKA_GROUPS_RAW=" + c.group("raw"),
		"TOCSIN_CLICKHOUSE_DSN=" + c.dsn(),
		"TOCSIN_LOG_LEVEL=info",
	}
	c.env = append(c.env, settings...)
	c.exec(fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s", c.db))
	t.Cleanup(func() {
		for _, p := range c.procs {
			p.killIfRunning()
		}
		if t.Failed() {
			for _, p := range c.procs {
				t.Logf("---- last lines of %s (%s) ----\n%s", p.name, p.logPath, tailFile(p.logPath, 40))
			}
			t.Logf("kept for inspection: role logs in %s, ClickHouse database %s, Kafka topics and groups %s.*", c.dir, c.db, c.prefix)
			return
		}
		c.drop()
		os.RemoveAll(c.dir)
	})
	return c
}

// drop deletes the cluster's database and topics (best effort: the
// servers may be down after an outage test).
func (c *prodCluster) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if conn, err := c.chConn(); err == nil {
		_ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+c.db)
		conn.Close()
	}
	var topics []string
	for _, kind := range []string{"events", "alerts", "failures", "repartition", "state", "raw"} {
		topics = append(topics, c.topic(kind))
	}
	_, _ = kafkaClient(c.kafka).DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: topics})
}

func (c *prodCluster) topic(kind string) string { return c.prefix + "." + kind }
func (c *prodCluster) group(kind string) string { return c.prefix + "." + kind }
func (c *prodCluster) dsn() string {
	return fmt.Sprintf("clickhouse://%s/%s", c.chAddr, c.db)
}

// chConn opens a native connection to the cluster's ClickHouse server.
func (c *prodCluster) chConn() (clickhouse.Conn, error) {
	return clickhouse.Open(&clickhouse.Options{
		Addr:        []string{c.chAddr},
		DialTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second,
	})
}

// exec runs one statement in ClickHouse.
func (c *prodCluster) exec(q string) {
	c.t.Helper()
	conn, err := c.chConn()
	require.NoError(c.t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(c.t, conn.Exec(ctx, q), "ClickHouse: %s", q)
}

// chUint runs a query returning one unsigned number (count(),
// uniqExact(...)); FROM names are relative to the cluster's database.
func (c *prodCluster) chUint(q string) (uint64, error) {
	conn, err := c.chConn()
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var v uint64
	err = conn.QueryRow(ctx, strings.ReplaceAll(q, "DB.", c.db+".")).Scan(&v)
	return v, err
}

// mustUint is chUint that fails the test on error.
func (c *prodCluster) mustUint(q string) uint64 {
	c.t.Helper()
	v, err := c.chUint(q)
	require.NoError(c.t, err, "ClickHouse: %s", q)
	return v
}

// roleProc is one tocsin process of a cluster.
type roleProc struct {
	t       *testing.T
	name    string
	args    []string
	env     []string
	logPath string
	// metrics is the base URL of /metrics and /healthz; api that of the
	// ticketing API (ticketing and run); syslog the TCP syslog address
	// (ingest and run).
	metrics, engineMetrics, api, syslog string
	// starts counts the times the process was started.
	starts int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func loopback(t *testing.T) string { return fmt.Sprintf("127.0.0.1:%d", freePort(t)) }

// startRole starts `tocsin ROLE` (ingest, engine, ticketing, or run for
// all three in one process) with the cluster's settings, its own ports
// and data folder, and extra settings; it waits until the process
// answers /healthz with 200.
func (c *prodCluster) startRole(name, role string, extra ...string) *roleProc {
	c.t.Helper()
	p := c.newRole(name, role, extra...)
	p.start()
	p.waitHealthy(90 * time.Second)
	return p
}

// startInOrder starts the processes one after the other, each once the
// one before it is healthy, so that they do not race to create the same
// topics.
func startInOrder(ps ...*roleProc) {
	for _, p := range ps {
		p.start()
		p.waitHealthy(90 * time.Second)
	}
}

// newRole prepares a role process without starting it.
func (c *prodCluster) newRole(name, role string, extra ...string) *roleProc {
	c.t.Helper()
	p := &roleProc{t: c.t, name: name, args: []string{role}, logPath: filepath.Join(c.dir, name+".log")}
	env := append(slices.Clone(c.env), "TOCSIN_DATA_DIR="+filepath.Join(c.dir, name))
	switch role {
	case "ingest":
		m, s := loopback(c.t), loopback(c.t)
		p.metrics, p.syslog = "http://"+m, s
		env = append(env, "TOCSIN_INGEST_METRICS_ADDRESS="+m, "TOCSIN_SYSLOG_TCP_ADDRESS="+s, "TOCSIN_SYSLOG_UDP_ADDRESS=")
	case "engine":
		m := loopback(c.t)
		p.metrics = "http://" + m
		env = append(env, "TOCSIN_ENGINE_METRICS_ADDRESS="+m)
	case "ticketing":
		a := loopback(c.t)
		p.api, p.metrics = "http://"+a, "http://"+a
		env = append(env, "TOCSIN_HTTP_ADDRESS="+a)
	case "run":
		im, em, a, s := loopback(c.t), loopback(c.t), loopback(c.t), loopback(c.t)
		p.metrics, p.engineMetrics, p.api, p.syslog = "http://"+im, "http://"+em, "http://"+a, s
		env = append(env, "TOCSIN_INGEST_METRICS_ADDRESS="+im, "TOCSIN_ENGINE_METRICS_ADDRESS="+em,
			"TOCSIN_HTTP_ADDRESS="+a, "TOCSIN_SYSLOG_TCP_ADDRESS="+s, "TOCSIN_SYSLOG_UDP_ADDRESS=")
	default:
		c.t.Fatalf("unknown role %q", role)
	}
	p.env = childEnv(append(env, extra...)...)
	c.procs = append(c.procs, p)
	return p
}

// start starts the process (again, after kill or stop) on the same ports
// and data folder.
func (p *roleProc) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !p.exited() {
		p.t.Fatalf("%s is already running", p.name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(p.t, err)
	fmt.Fprintf(logf, "==== start %d of %s: tocsin %s\n", p.starts+1, p.name, strings.Join(p.args, " "))
	cmd := exec.Command(tocsinBin, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(p.t, cmd.Start())
	p.starts++
	p.cmd, p.done, p.err = cmd, make(chan struct{}), nil
	done := p.done
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
}

// exited reports whether the current process has ended; p.mu is held.
func (p *roleProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// running reports whether the process is alive.
func (p *roleProc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !p.exited()
}

// waitHealthy waits until every /healthz of the process answers 200, and
// fails the test when the process exits first.
func (p *roleProc) waitHealthy(timeout time.Duration) {
	p.t.Helper()
	urls := []string{p.metrics + "/healthz"}
	if p.engineMetrics != "" {
		urls = append(urls, p.engineMetrics+"/healthz")
	}
	if p.api != "" && p.api != p.metrics {
		urls = append(urls, p.api+"/healthz")
	}
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if !p.running() {
			p.t.Fatalf("%s exited while starting: %v\n%s", p.name, p.exitErr(), tailFile(p.logPath, 40))
		}
		ok := true
		for _, u := range urls {
			code, body := httpGet(u)
			if code != http.StatusOK {
				ok, last = false, fmt.Sprintf("%s: %d %s", u, code, body)
				break
			}
		}
		if ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("%s not healthy within %s (last answer %s)\n%s", p.name, timeout, last, tailFile(p.logPath, 40))
}

func (p *roleProc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// kill sends SIGKILL and waits for the process to end.
func (p *roleProc) kill() {
	p.t.Helper()
	p.signalAndWait(syscall.SIGKILL, 10*time.Second)
}

// stop sends SIGTERM, waits up to timeout for the process to end, and
// returns its exit error (nil for a clean exit).
func (p *roleProc) stop(timeout time.Duration) error {
	p.t.Helper()
	return p.signalAndWait(syscall.SIGTERM, timeout)
}

func (p *roleProc) signalAndWait(sig syscall.Signal, timeout time.Duration) error {
	p.t.Helper()
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	require.NotNil(p.t, cmd, "%s was never started", p.name)
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		p.t.Fatalf("%s did not exit within %s after %v\n%s", p.name, timeout, sig, tailFile(p.logPath, 40))
	}
	return p.exitErr()
}

// killIfRunning kills the process if it still runs (test cleanup).
func (p *roleProc) killIfRunning() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
	default:
		_ = cmd.Process.Kill()
		<-done
	}
}

// httpGet returns the status and body of a GET, or 0 and the error.
func httpGet(url string) (int, string) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, string(body)
}

// scrape returns the sum of the samples of metric name whose labels
// contain every given pair (`buffer="events"`) from base/metrics, and
// false when the process did not answer.
func scrape(base, name string, labels ...string) (float64, bool) {
	code, body := httpGet(base + "/metrics")
	if code != http.StatusOK {
		return 0, false
	}
	return sumMetric(body, name, labels...), true
}

// metric is scrape of the process's role metrics (the ingest ones for
// run), 0 when it does not answer.
func (p *roleProc) metric(name string, labels ...string) float64 {
	v, _ := scrape(p.metrics, name, labels...)
	return v
}

// samples returns every sample line of metric name, for reports.
func samples(base, name string) []string {
	_, body := httpGet(base + "/metrics")
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			out = append(out, line)
		}
	}
	return out
}

// incidents lists every incident of a ticketing API, page by page.
func apiIncidents(t *testing.T, api string) ([]schemas.Incident, error) {
	var all []schemas.Incident
	for offset := 0; ; {
		code, body := httpGet(fmt.Sprintf("%s/api/v1/incidents?limit=1000&offset=%d", api, offset))
		if code != http.StatusOK {
			return nil, fmt.Errorf("GET incidents: %d %s", code, body)
		}
		var page struct {
			Incidents []schemas.Incident `json:"incidents"`
			Total     int                `json:"total"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			return nil, fmt.Errorf("GET incidents: %v: %.200s", err, body)
		}
		all = append(all, page.Incidents...)
		offset += len(page.Incidents)
		if len(page.Incidents) == 0 || offset >= page.Total {
			return all, nil
		}
	}
}

// sendFile sends a file's lines to a syslog TCP address with `tocsin send`.
func sendFile(t *testing.T, addr, file string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tocsinBin, "send", "--address", addr, file).CombinedOutput()
	require.NoError(t, err, "tocsin send %s: %s", file, out)
}

// splitFile writes the lines of src into n files of about equal line
// counts in dir and returns their paths and the total line count.
func splitFile(t *testing.T, src, dir string, n int) ([]string, int) {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var paths []string
	per := (len(lines) + n - 1) / n
	for i := 0; i < n; i++ {
		lo, hi := min(i*per, len(lines)), min((i+1)*per, len(lines))
		p := filepath.Join(dir, fmt.Sprintf("part-%02d.log", i))
		require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines[lo:hi], "")), 0o644))
		paths = append(paths, p)
	}
	return paths, len(lines)
}

func kafkaClient(broker string) *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(broker), Timeout: 10 * time.Second}
}

// endOffsets returns the end offset (the next offset to be written) of
// each partition of topic.
func endOffsets(ctx context.Context, client *kafka.Client, topic string) (map[int]int64, error) {
	parts, err := topicPartitions(ctx, client, topic)
	if err != nil {
		return nil, err
	}
	var reqs []kafka.OffsetRequest
	for _, p := range parts {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	lo, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	ends := map[int]int64{}
	for _, po := range lo.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		ends[po.Partition] = po.LastOffset
	}
	return ends, nil
}

// topicEnd is the sum of the end offsets of topic's partitions: the
// records ever written to it.
func topicEnd(ctx context.Context, client *kafka.Client, topic string) (int64, error) {
	ends, err := endOffsets(ctx, client, topic)
	var n int64
	for _, e := range ends {
		n += e
	}
	return n, err
}

// groupLag is the sum over the topic's partitions of the end offset minus
// the group's committed offset (all of a partition when the group never
// committed one).
func groupLag(ctx context.Context, broker, group, topic string) (int64, error) {
	client := kafkaClient(broker)
	ends, err := endOffsets(ctx, client, topic)
	if err != nil {
		return 0, err
	}
	parts := make([]int, 0, len(ends))
	for p := range ends {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	committed, err := committedOffsets(ctx, broker, group, topic, parts)
	if err != nil {
		return 0, err
	}
	var lag int64
	for _, p := range parts {
		c := committed[p]
		if c < 0 {
			c = 0
		}
		lag += max(ends[p]-c, 0)
	}
	return lag, nil
}

// committedOffsets returns the group's committed offset per partition
// (-1 when none).
func committedOffsets(ctx context.Context, broker, group, topic string, parts []int) (map[int]int64, error) {
	client := kafkaClient(broker)
	of, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return nil, fmt.Errorf("offset fetch of %s for %s: %w", group, topic, err)
	}
	if of.Error != nil {
		return nil, fmt.Errorf("offset fetch of %s for %s: %w", group, topic, of.Error)
	}
	out := map[int]int64{}
	for _, p := range of.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("offset fetch of %s for %s/%d: %w", group, topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

func topicPartitions(ctx context.Context, client *kafka.Client, topic string) ([]int, error) {
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	for _, tp := range md.Topics {
		if tp.Name != topic {
			continue
		}
		if tp.Error != nil {
			return nil, fmt.Errorf("metadata of %s: %w", topic, tp.Error)
		}
		var out []int
		for _, p := range tp.Partitions {
			out = append(out, p.ID)
		}
		slices.Sort(out)
		return out, nil
	}
	return nil, fmt.Errorf("metadata of %s: topic not found", topic)
}

// createTopic creates a topic with n partitions.
func createTopic(t *testing.T, broker, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(broker), Timeout: 20 * time.Second}
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: n, ReplicationFactor: 1,
	}}})
	require.NoError(t, err)
	for name, err := range resp.Errors {
		require.NoError(t, err, "create topic %s", name)
	}
}

// createTopics creates the cluster's five topics as tocsin would (its
// default partition counts; the state topic compacted), for tests of
// `tocsin run --kafka`, whose three roles race to create them (see
// TestProductionRolesStartTogether).
func (c *prodCluster) createTopics() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var tcs []kafka.TopicConfig
	for kind, n := range map[string]int{"events": 12, "alerts": 1, "failures": 1, "repartition": 12, "state": 1} {
		tc := kafka.TopicConfig{Topic: c.topic(kind), NumPartitions: n, ReplicationFactor: 1}
		if kind == "state" {
			tc.ConfigEntries = []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"},
				{ConfigName: "max.message.bytes", ConfigValue: "67108864"}}
		}
		tcs = append(tcs, tc)
	}
	client := &kafka.Client{Addr: kafka.TCP(c.kafka), Timeout: 20 * time.Second}
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: tcs})
	require.NoError(c.t, err)
	for name, err := range resp.Errors {
		require.NoError(c.t, err, "create topic %s", name)
	}
	waitFor(c.t, 30*time.Second, "the new topics in the metadata", func() bool {
		for _, tc := range tcs {
			if _, err := topicPartitions(ctx, client, tc.Topic); err != nil {
				return false
			}
		}
		return true
	})
}

// lags returns the lag of every consumer group of the cluster on its
// input topics; topics that do not exist yet count as no lag.
func (c *prodCluster) lags() (map[string]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := map[string]int64{}
	for _, gt := range [][2]string{
		{"engine", "events"}, {"engine", "repartition"}, {"ticketing", "alerts"}, {"ticketing", "failures"}, {"history", "events"},
	} {
		lag, err := groupLag(ctx, c.kafka, c.group(gt[0]), c.topic(gt[1]))
		if err != nil {
			return out, err
		}
		out[gt[0]+"/"+gt[1]] = lag
	}
	return out, nil
}

// settle waits until every consumer group has consumed its topics, the
// ingest processes' buffers are empty, and the incidents of api have not
// changed for `quiet`; it returns them.
func (c *prodCluster) settle(api string, ingests []*roleProc, wantLines int, timeout, quiet time.Duration) []schemas.Incident {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var last []string
	var incs []schemas.Incident
	stableSince := time.Time{}
	status := ""
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		var lines float64
		busy := false
		for _, p := range ingests {
			lines += p.metric("tocsin_ingest_lines_total")
			if p.metric("tocsin_spool_memory_records")+p.metric("tocsin_spool_disk_records") > 0 {
				busy = true
			}
		}
		if wantLines > 0 && int(lines) < wantLines {
			status = fmt.Sprintf("ingest read %.0f of %d lines", lines, wantLines)
			stableSince = time.Time{}
			continue
		}
		if busy {
			status = "ingest buffers not empty"
			stableSince = time.Time{}
			continue
		}
		lags, err := c.lags()
		total := int64(0)
		for _, l := range lags {
			total += l
		}
		if err != nil || total > 0 {
			status = fmt.Sprintf("consumer lag %v (%v)", lags, err)
			stableSince = time.Time{}
			continue
		}
		got, err := apiIncidents(c.t, api)
		if err != nil {
			status = err.Error()
			stableSince = time.Time{}
			continue
		}
		sigs := signatures(got)
		if stableSince.IsZero() || !slices.Equal(sigs, last) {
			stableSince, last, incs = time.Now(), sigs, got
			status = fmt.Sprintf("%d incidents, waiting for them to stay unchanged for %s", len(got), quiet)
			continue
		}
		if time.Since(stableSince) >= quiet {
			return incs
		}
	}
	c.t.Fatalf("the cluster did not settle within %s: %s", timeout, status)
	return nil
}

// compareIncidents prints, per rule, the incidents expected and got, and
// the signatures missing or extra; it returns false when they differ.
func compareIncidents(t *testing.T, label string, want, got []schemas.Incident) bool {
	t.Helper()
	ws, gs := signatures(want), signatures(got)
	perRule := map[string][2]int{}
	for _, in := range want {
		r := strings.Join(in.RuleIDs, ",")
		c := perRule[r]
		c[0]++
		perRule[r] = c
	}
	for _, in := range got {
		r := strings.Join(in.RuleIDs, ",")
		c := perRule[r]
		c[1]++
		perRule[r] = c
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: incidents per rule (expected vs got)\n", label)
	fmt.Fprintf(&b, "  %-32s %8s %8s\n", "rule", "expected", "got")
	rulesSeen := make([]string, 0, len(perRule))
	for r := range perRule {
		rulesSeen = append(rulesSeen, r)
	}
	slices.Sort(rulesSeen)
	for _, r := range rulesSeen {
		fmt.Fprintf(&b, "  %-32s %8d %8d\n", r, perRule[r][0], perRule[r][1])
	}
	missing, extra := diffSorted(ws, gs)
	fmt.Fprintf(&b, "  total %d expected, %d got; %d missing, %d extra (same rule, entities, times and alert count)\n",
		len(ws), len(gs), len(missing), len(extra))
	for i, s := range missing {
		if i == 10 {
			fmt.Fprintf(&b, "  ... %d more missing\n", len(missing)-10)
			break
		}
		fmt.Fprintf(&b, "  missing %s\n", s)
	}
	for i, s := range extra {
		if i == 10 {
			fmt.Fprintf(&b, "  ... %d more extra\n", len(extra)-10)
			break
		}
		fmt.Fprintf(&b, "  extra   %s\n", s)
	}
	t.Log(b.String())
	return len(missing) == 0 && len(extra) == 0
}

// byRule splits incidents into those of the given rules and the others.
func byRule(incs []schemas.Incident, ids ...string) (of, others []schemas.Incident) {
	for _, in := range incs {
		hit := false
		for _, id := range ids {
			hit = hit || slices.Contains(in.RuleIDs, id)
		}
		if hit {
			of = append(of, in)
		} else {
			others = append(others, in)
		}
	}
	return of, others
}

// rekeyedRules are the rules of the tests' rule sets that group on
// another field than the events' partition key (source.address), so
// their events reach their engine through the repartition topic.
var rekeyedRules = []string{"sudo-repeated-failures", perAccountRuleID}

// incidentMismatch says which incidents of got differ from want's: those
// of the rules grouped on the partition key, those of the re-keyed rules,
// or both; "" when they are the same.
func incidentMismatch(want, got []schemas.Incident) string {
	wr, wl := byRule(want, rekeyedRules...)
	gr, gl := byRule(got, rekeyedRules...)
	var out []string
	if !slices.Equal(signatures(wl), signatures(gl)) {
		out = append(out, "incidents of the rules grouped on the partition key differ")
	}
	if !slices.Equal(signatures(wr), signatures(gr)) {
		out = append(out, "incidents of the re-keyed rules differ")
	}
	return strings.Join(out, "; ")
}

// requireSameIncidents prints the comparison of want and got and fails
// the test unless their signatures are equal.
func requireSameIncidents(t *testing.T, label string, want, got []schemas.Incident) {
	t.Helper()
	compareIncidents(t, label, want, got)
	require.Empty(t, incidentMismatch(want, got), "%s (see the table above)", label)
}

// diffSorted returns the elements of sorted a not in sorted b and those of
// b not in a, counting repeats.
func diffSorted(a, b []string) (onlyA, onlyB []string) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			onlyA = append(onlyA, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			onlyB = append(onlyB, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return onlyA, onlyB
}

// writeIncidentsJSONL writes incidents one JSON object per line.
func writeIncidentsJSONL(t *testing.T, path string, incs []schemas.Incident) {
	t.Helper()
	var b bytes.Buffer
	for _, in := range incs {
		line, err := json.Marshal(in)
		require.NoError(t, err)
		b.Write(line)
		b.WriteByte('\n')
	}
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

var (
	benchToolsOnce sync.Once
	benchToolsDir  string
	benchToolsErr  error
)

// benchTool returns the path of bench/cmd/NAME (authgen, checktruth),
// built once for the package.
func benchTool(t *testing.T, name string) string {
	t.Helper()
	benchToolsOnce.Do(func() {
		benchToolsDir = filepath.Dir(tocsinBin)
		for _, n := range []string{"authgen", "checktruth"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(benchToolsDir, n), "../bench/cmd/"+n).CombinedOutput()
			if err != nil {
				benchToolsErr = fmt.Errorf("cannot build %s: %v: %s", n, err, out)
				return
			}
		}
	})
	require.NoError(t, benchToolsErr)
	return filepath.Join(benchToolsDir, name)
}

// authLog generates an authgen log of n lines with its truth file in dir.
// The log covers the 24 hours that ended 12 hours ago: ClickHouse
// retention (30 days of events by default) keeps it, and year-less
// timestamps get this year.
func authLog(t *testing.T, dir string, n int, seed uint64) (logPath, truthPath string) {
	t.Helper()
	logPath = filepath.Join(dir, fmt.Sprintf("auth-%d-%d.log", n, seed))
	truthPath = filepath.Join(dir, fmt.Sprintf("auth-%d-%d.truth.json", n, seed))
	start := time.Now().UTC().Add(-36 * time.Hour).Truncate(time.Hour)
	out, err := exec.Command(benchTool(t, "authgen"), "-lines", strconv.Itoa(n), "-seed", strconv.FormatUint(seed, 10),
		"-start", start.Format(time.RFC3339), "-o", logPath, "-truth", truthPath).CombinedOutput()
	require.NoError(t, err, "authgen: %s", out)
	return logPath, truthPath
}

// checkTruth runs checktruth on incidents and returns its report and
// whether every planted attacker was found with no false positive.
func checkTruth(t *testing.T, truthPath string, incs []schemas.Incident) (string, bool) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "incidents.jsonl")
	writeIncidentsJSONL(t, p, incs)
	out, err := exec.Command(benchTool(t, "checktruth"), "-truth", truthPath, "-incidents", p).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("checktruth: %v: %s", err, out)
	}
	return string(out), err == nil
}

// tailFile returns the last n lines of a file.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 4*n {
			lines = lines[len(lines)-n:]
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// countLines counts the lines of a file, the last one with or without
// its newline.
func countLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	n := bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// dialRefused reports whether a TCP listener refuses a new connection:
// the connect fails, or the listener resets or closes it at once.
func dialRefused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return true
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var one [1]byte
	_, err = c.Read(one[:])
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}
