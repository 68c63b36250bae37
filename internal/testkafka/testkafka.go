// Package testkafka gives tests a real Apache Kafka broker.
//
// Bootstrap returns the broker named by TOCSIN_TEST_KAFKA (host:port) or,
// when that is unset, starts one private broker for the test binary with
// testinfra/kafka.sh, in a temporary folder; Main, called from the
// package's TestMain, stops it. When no broker can be started the test is
// skipped with the reason, or fails when the environment variable CI is
// set.
//
// Tests isolate themselves with unique topic and group names (Topic,
// Group), so they can share the broker and run in parallel.
package testkafka

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvBroker names an existing broker to use instead of starting one.
const EnvBroker = "TOCSIN_TEST_KAFKA"

// startTimeout bounds kafka.sh start, which may first download the
// broker's jars with Maven.
const startTimeout = 5 * time.Minute

var shared struct {
	once sync.Once
	addr string
	dir  string
	err  error
}

// Bootstrap returns the address of a broker for t (see the package doc).
func Bootstrap(t testing.TB) string {
	t.Helper()
	if a := os.Getenv(EnvBroker); a != "" {
		return a
	}
	shared.once.Do(func() {
		shared.addr, shared.dir, shared.err = start()
	})
	if shared.err != nil {
		unavailable(t, shared.err)
	}
	return shared.addr
}

// Main runs the tests and then stops the broker Bootstrap started, if any.
// Call it from TestMain: os.Exit(testkafka.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared.dir != "" {
		if err := stop(shared.dir); err != nil {
			fmt.Fprintf(os.Stderr, "testkafka: %v\n", err)
		}
	}
	return code
}

// Broker is a private broker one test started for itself, to stop or
// pause it without disturbing other tests.
type Broker struct {
	Addr string // host:port
	Dir  string // the broker's folder (kafka.sh's DIR)
	PID  int    // the broker's JVM
}

// StartPrivate starts a broker for t alone and stops it when t ends.
// Starting takes about 4 s.
func StartPrivate(t testing.TB) *Broker {
	t.Helper()
	addr, dir, err := start()
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() {
		if err := stop(dir); err != nil {
			t.Errorf("testkafka: %v", err)
		}
	})
	pid, err := readPID(dir)
	if err != nil {
		t.Fatalf("testkafka: %v", err)
	}
	return &Broker{Addr: addr, Dir: dir, PID: pid}
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("no Kafka broker for this test: %v", err)
	}
	t.Skipf("no Kafka broker (%v); set %s=host:port, or install Java 17+ and Maven so that testinfra/kafka.sh can start one", err, EnvBroker)
}

// Topic returns a topic name unique to this run of t, starting with
// prefix.
func Topic(t testing.TB, prefix string) string {
	return unique(t, prefix)
}

// Group returns a consumer group id unique to this run of t.
func Group(t testing.TB, prefix string) string {
	return unique(t, prefix)
}

func unique(t testing.TB, prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	var sb strings.Builder
	for _, r := range prefix + "-" + t.Name() {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			sb.WriteRune(r)
		default:
			sb.WriteByte('_')
		}
	}
	name := sb.String()
	if len(name) > 200 {
		name = name[:200]
	}
	return name + "-" + hex.EncodeToString(b[:])
}

// script finds testinfra/kafka.sh above the working directory (a
// package's folder while its tests run).
func script() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "testinfra", "kafka.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testinfra/kafka.sh not found above the working directory")
		}
		dir = parent
	}
}

// start runs kafka.sh start in a new temporary folder and arranges for
// the broker to be stopped should the test binary die without calling
// stop.
func start() (addr, dir string, err error) {
	sh, err := script()
	if err != nil {
		return "", "", err
	}
	dir, err = os.MkdirTemp("", "tocsin-kafka-")
	if err != nil {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", sh, "start", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	watch(sh, dir, cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		_ = stop(dir)
		return "", "", fmt.Errorf("%s start failed: %v: %s", sh, err, lastLines(stderr.String(), 5))
	}
	addr = strings.TrimSpace(stdout.String())
	if i := strings.LastIndexByte(addr, '\n'); i >= 0 {
		addr = addr[i+1:]
	}
	if addr == "" {
		_ = stop(dir)
		return "", "", fmt.Errorf("%s start printed no address: %s", sh, lastLines(stderr.String(), 5))
	}
	return addr, dir, nil
}

// watch starts a small shell loop, in its own process group, that stops
// the broker and removes its folder once this process is gone, so that a
// test binary killed by a timeout or a panic leaves no broker behind,
// even when it dies while kafka.sh (process starter) is still starting
// it. It ends by itself after this process ends.
func watch(sh, dir string, starter int) {
	loop := `while kill -0 "$1" 2>/dev/null; do sleep 1; done
for _ in $(seq 1 300); do kill -0 "$2" 2>/dev/null || break; sleep 1; done
bash "$3" stop "$4" >/dev/null 2>&1; rm -rf "$4"`
	cmd := exec.Command("bash", "-c", loop, "testkafka-watch", strconv.Itoa(os.Getpid()), strconv.Itoa(starter), sh, dir)
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err == nil {
		go func() { _ = cmd.Wait() }()
	}
}

// detached puts a child in a process group of its own, so that a signal
// to the test's group does not reach it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// stop stops the broker in dir and removes the folder.
func stop(dir string) error {
	sh, err := script()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", sh, "stop", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("stopping the broker in %s: %v: %s", dir, err, lastLines(string(out), 5))
	}
	return os.RemoveAll(dir)
}

func readPID(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		return 0, fmt.Errorf("cannot read the broker's pid: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
