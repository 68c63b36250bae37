// Package testch gives tests a real ClickHouse server and a fresh
// database on it.
//
// Addr returns the native address of the server named by the environment
// variable TOCSIN_TEST_CLICKHOUSE (host:port) or, when that is unset, of a
// private server that the first call starts for the test binary with
// testinfra/clickhouse.sh (Debian's clickhouse-server 18.16, about 0.3 s).
// Main stops that server after the tests. When no server can be had, a
// test fails with the reason if the environment variable CI is set, and is
// skipped with a one-line hint otherwise.
//
// A package that uses Addr has a TestMain that calls Main:
//
//	func TestMain(m *testing.M) { os.Exit(testch.Main(m)) }
package testch

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
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// EnvAddr names the environment variable that points the tests at a
// running server's native port, host:port.
const EnvAddr = "TOCSIN_TEST_CLICKHOUSE"

// server is the private server of this test binary, started at most once.
var server struct {
	once sync.Once
	dir  string // the server's folder; empty when none was started
	addr string
	err  error
}

// Addr returns the native host:port of the test server, starting a private
// one on first use when EnvAddr is unset. Without a server it fails the
// test under CI and skips it elsewhere.
func Addr(t testing.TB) string {
	t.Helper()
	if a := strings.TrimSpace(os.Getenv(EnvAddr)); a != "" {
		return a
	}
	server.once.Do(start)
	if server.err != nil {
		unavailable(t, server.err)
	}
	return server.addr
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("no ClickHouse server for the tests: %v", err)
	}
	t.Skipf("skipped: no ClickHouse server (%v); set %s=host:port or let testinfra/clickhouse.sh install clickhouse-server (needs root)", err, EnvAddr)
}

// startAttempts bounds the tries at starting a server. The script picks
// ports that are free when it looks, which a busy machine's other
// processes can take before the server binds them; the next try picks
// others.
const startAttempts = 3

// start runs testinfra/clickhouse.sh start in a fresh folder.
func start() {
	script, err := findScript()
	if err != nil {
		server.err = err
		return
	}
	for range startAttempts {
		server.dir, server.addr, server.err = startOnce(script)
		if server.err == nil {
			return
		}
	}
}

func startOnce(script string) (dir, addr string, err error) {
	dir, err = os.MkdirTemp("", "tocsin-testch-")
	if err != nil {
		return "", "", fmt.Errorf("cannot create a folder for the server: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, script, "start", dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		why := lastLine(stderr.String())
		// The folder goes; keep the server's own reason.
		if log, rerr := os.ReadFile(filepath.Join(dir, "log", "clickhouse-server.err.log")); rerr == nil && len(log) > 0 {
			why += ": " + lastLine(string(log))
		}
		_ = os.RemoveAll(dir)
		return "", "", fmt.Errorf("%s start failed: %w: %s", script, err, why)
	}
	addr = strings.TrimSpace(string(out))
	if addr == "" {
		_ = stop(dir)
		return "", "", fmt.Errorf("%s start printed no address", script)
	}
	return dir, addr, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// findScript walks up from the working directory to the module root.
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "testinfra", "clickhouse.sh")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("cannot find testinfra/clickhouse.sh: %w", err)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (go.mod) above the working directory")
		}
		dir = parent
	}
}

// Main runs the tests and then stops the private server, if one was
// started. Use it as os.Exit(testch.Main(m)) in TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if err := waitDrops(); err != nil {
		fmt.Fprintf(os.Stderr, "testch: %v\n", err)
	}
	if server.dir != "" {
		if err := stop(server.dir); err != nil {
			fmt.Fprintf(os.Stderr, "testch: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

func stop(dir string) error {
	script, err := findScript()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, script, "stop", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("cannot stop the test ClickHouse server in %s: %w: %s", dir, err, lastLine(string(out)))
	}
	return os.RemoveAll(dir)
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// drops tracks the databases being dropped after their tests; Main waits
// for them. Dropping a database of ten tables takes 18.16 about half a
// second, which tests need not wait for.
var drops struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

// Database returns the name of a new, empty database on the test server,
// unique to the test. It is dropped in the background when the test
// ends; Main waits for that. The name starts with "t_" and holds only
// lower-case letters, digits and underscores.
func Database(t testing.TB) string {
	t.Helper()
	base := unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(base) > 40 {
		base = base[len(base)-40:]
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := "t_" + strings.Trim(base, "_") + "_" + hex.EncodeToString(rnd[:])

	addr := Addr(t)
	conn, err := open(addr)
	if err != nil {
		t.Fatalf("cannot connect to the test ClickHouse at %s: %v", addr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		_ = conn.Close()
		t.Fatalf("cannot create test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		drops.wg.Go(func() {
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
				drops.mu.Lock()
				drops.errs = append(drops.errs, fmt.Errorf("cannot drop test database %s: %w", name, err))
				drops.mu.Unlock()
			}
		})
	})
	return name
}

// waitDrops waits for the background drops and returns their errors.
func waitDrops() error {
	drops.wg.Wait()
	drops.mu.Lock()
	defer drops.mu.Unlock()
	return errors.Join(drops.errs...)
}

// open connects to addr and checks that the server answers.
func open(addr string) (clickhouse.Conn, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:         []string{addr},
		DialTimeout:  10 * time.Second,
		MaxOpenConns: 2,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := conn.Ping(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

// Conn opens a native connection to the test server for set-up and
// checks; it is closed when the test ends.
func Conn(t testing.TB) clickhouse.Conn {
	t.Helper()
	addr := Addr(t)
	conn, err := open(addr)
	if err != nil {
		t.Fatalf("cannot connect to the test ClickHouse at %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
