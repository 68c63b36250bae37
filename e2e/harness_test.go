// Package e2e runs the tocsin binary as a user would: replaying files,
// serving syslog to real shippers, answering its HTTP API.
package e2e

import (
	"github.com/tocsin-siem/tocsin/internal/shareddata"
	"math/rand/v2"

	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tocsin-siem/tocsin/schemas"
)

var tocsinBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tocsin-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tocsinBin = filepath.Join(dir, "tocsin")
	build := exec.Command("go", "build", "-o", tocsinBin, "../cmd/tocsin")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot build tocsin:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopSharedInfra()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sharedData returns ../shared/data beside the repository, or skips the
// test with the reason when it is not there.
func sharedData(t *testing.T, rel string) string {
	t.Helper()
	return shareddata.Path(t, rel)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	// Below the kernel's ephemeral range (32768 and up), so that the
	// outgoing connections of parallel tests (Kafka and ClickHouse
	// clients) cannot take the port before tocsin binds it.
	for range 200 {
		port := 20000 + rand.IntN(12768)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		// The same number must be free for UDP too.
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return port
	}
	t.Fatal("no free loopback port found in 20000-32767")
	return 0
}

// replay runs tocsin replay --output jsonl and returns the incidents.
func replay(t *testing.T, args ...string) []schemas.Incident {
	t.Helper()
	cmd := exec.Command(tocsinBin, append([]string{"replay", "--output", "jsonl"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "tocsin replay: %s", stderr.String())
	return decodeIncidents(t, stdout.Bytes())
}

func decodeIncidents(t *testing.T, jsonl []byte) []schemas.Incident {
	t.Helper()
	var out []schemas.Incident
	sc := bufio.NewScanner(bytes.NewReader(jsonl))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var in schemas.Incident
		require.NoError(t, json.Unmarshal(sc.Bytes(), &in), "line %q", sc.Text())
		out = append(out, in)
	}
	require.NoError(t, sc.Err())
	return out
}

// server is a `tocsin run` process started by a test.
type server struct {
	t       *testing.T
	cmd     *exec.Cmd
	port    int // syslog UDP and TCP
	api     string
	dataDir string
	logs    *bytes.Buffer
	done    chan error
}

func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	s := &server{t: t, port: freePort(t), dataDir: dataDir, logs: &bytes.Buffer{}, done: make(chan error, 1)}
	httpPort := freePort(t)
	s.api = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	args := append([]string{"run",
		"--data-dir", dataDir,
		"--syslog-udp-address", fmt.Sprintf("127.0.0.1:%d", s.port),
		"--syslog-tcp-address", fmt.Sprintf("127.0.0.1:%d", s.port),
		"--http-address", fmt.Sprintf("127.0.0.1:%d", httpPort),
	}, extra...)
	s.cmd = exec.Command(tocsinBin, args...)
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	require.NoError(t, s.cmd.Start())
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("tocsin run output:\n%s", s.logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("tocsin run exited early: %v\n%s", err, s.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("tocsin run did not answer /healthz within 20s\n%s", s.logs.String())
	return nil
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	s.t.Helper()
	require.NoError(s.t, s.cmd.Process.Signal(os.Interrupt))
	select {
	case err := <-s.done:
		require.NoError(s.t, err, "tocsin run did not exit cleanly:\n%s", s.logs.String())
	case <-time.After(30 * time.Second):
		s.t.Fatalf("tocsin run did not stop within 30s after SIGINT")
	}
}

func (s *server) get(path string, v any) {
	s.t.Helper()
	resp, err := http.Get(s.api + path)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	require.Equal(s.t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, body)
	if v != nil {
		require.NoError(s.t, json.Unmarshal(body, v), "GET %s: %s", path, body)
	}
}

var metricLine = regexp.MustCompile(`^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$`)

// metric sums the samples of a metric whose labels contain every given
// label pair (`reason="too_long"`).
func (s *server) metric(name string, labels ...string) float64 {
	s.t.Helper()
	resp, err := http.Get(s.api + "/metrics")
	require.NoError(s.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	return sumMetric(string(body), name, labels...)
}

// sumMetric sums the samples of metric name in a Prometheus text
// exposition whose labels contain every given pair.
func sumMetric(exposition, name string, labels ...string) float64 {
	var sum float64
	for _, line := range strings.Split(exposition, "\n") {
		m := metricLine.FindStringSubmatch(line)
		if m == nil || m[1] != name {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(m[2], l)
		}
		if ok {
			v, _ := strconv.ParseFloat(m[3], 64)
			sum += v
		}
	}
	return sum
}

// incidents lists every incident through the API.
func (s *server) incidents() []schemas.Incident {
	s.t.Helper()
	var page struct {
		Incidents []schemas.Incident `json:"incidents"`
		Total     int                `json:"total"`
	}
	s.get("/api/v1/incidents?limit=1000", &page)
	require.Equal(s.t, page.Total, len(page.Incidents))
	return page.Incidents
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// signature reduces an incident to what must agree between two runs.
func signature(in schemas.Incident) string {
	var ents []string
	for _, e := range in.Entities {
		ents = append(ents, e.Type+"="+e.Value)
	}
	return fmt.Sprintf("%s|%s|%s|%s|%s|%d", strings.Join(in.RuleIDs, ","), strings.Join(ents, ","),
		in.Severity, in.FirstSeen.UTC().Format(time.RFC3339), in.LastSeen.UTC().Format(time.RFC3339), in.AlertCount)
}

func signatures(incs []schemas.Incident) []string {
	out := make([]string, 0, len(incs))
	for _, in := range incs {
		out = append(out, signature(in))
	}
	slices.Sort(out)
	return out
}
