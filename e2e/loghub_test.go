package e2e

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// attempt is one failed SSH login attempt, as this test counts them on its
// own, without tocsin's parser.
type attempt struct {
	ip string
	at time.Time
}

var (
	sshdLine     = regexp.MustCompile(`^(\w{3} +\d+ \d\d:\d\d:\d\d) \S+ sshd\[(\d+)\]: (.*)$`)
	failedMsg    = regexp.MustCompile(`^Failed \S+ for (?:invalid user )?.*? from (\S+) port \d+`)
	invalidMsg   = regexp.MustCompile(`^Invalid user .*? from (\S+)`)
	repeatedMsg  = regexp.MustCompile(`^message repeated (\d+) times: \[ ?(.*)\]$`)
	anyIPInLine  = regexp.MustCompile(`\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b`)
	failureWords = regexp.MustCompile(`Failed|Invalid user|authentication failure|BREAK-IN|Did not receive identification|Bad protocol|error:|Disconnecting: Too many`)
)

// countAttempts reads an sshd log in two passes: a Failed line is one
// attempt (N for "message repeated N times"), and an Invalid user line is
// one attempt only when no Failed line follows it in the same sshd process.
// It also counts, per IP, the lines that report a failure of any kind.
func countAttempts(t *testing.T, path string) (attempts []attempt, failureLines map[string]int) {
	t.Helper()
	type line struct {
		at       time.Time
		pid, msg string
	}
	var lines []line
	failureLines = map[string]int{}
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text := sc.Text()
		if failureWords.MatchString(text) {
			if m := anyIPInLine.FindStringSubmatch(text); m != nil {
				failureLines[m[1]]++
			}
		}
		m := sshdLine.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		at, err := time.Parse("Jan _2 15:04:05", m[1])
		require.NoError(t, err)
		lines = append(lines, line{at: at, pid: m[2], msg: m[3]})
	}
	require.NoError(t, sc.Err())

	failedInPID := map[string]int{} // index of the last Failed line per pid
	for i, l := range lines {
		msg := l.msg
		if r := repeatedMsg.FindStringSubmatch(msg); r != nil {
			msg = r[2]
		}
		if failedMsg.MatchString(msg) {
			failedInPID[l.pid] = i
		}
	}
	for i, l := range lines {
		n, msg := 1, l.msg
		if r := repeatedMsg.FindStringSubmatch(msg); r != nil {
			n, _ = strconv.Atoi(r[1])
			msg = r[2]
		}
		if m := failedMsg.FindStringSubmatch(msg); m != nil {
			for range n {
				attempts = append(attempts, attempt{ip: m[1], at: l.at})
			}
			continue
		}
		if m := invalidMsg.FindStringSubmatch(msg); m != nil {
			if last, ok := failedInPID[l.pid]; ok && last > i {
				continue // the Failed line that follows counts instead
			}
			attempts = append(attempts, attempt{ip: m[1], at: l.at})
		}
	}
	return attempts, failureLines
}

// burstSources returns the IPs with at least n attempts within window.
func burstSources(attempts []attempt, n int, window time.Duration) map[string]bool {
	byIP := map[string][]time.Time{}
	for _, a := range attempts {
		byIP[a.ip] = append(byIP[a.ip], a.at)
	}
	out := map[string]bool{}
	for ip, ts := range byIP {
		for i := range ts {
			j := i + n - 1
			if j < len(ts) && ts[j].Sub(ts[i]) <= window {
				out[ip] = true
				break
			}
		}
	}
	return out
}

func TestReplayLoghubOpenSSHFindsEveryBruteForceSource(t *testing.T) {
	path := sharedData(t, "loghub/OpenSSH/OpenSSH_2k.log")
	attempts, failureLines := countAttempts(t, path)
	want := burstSources(attempts, 10, 60*time.Second)
	require.NotEmpty(t, want, "the sample holds brute-force bursts")

	incs := replay(t, "--reference-time", "2017-01-01T00:00:00Z", path)
	bruteIPs := map[string]bool{}
	anyIPs := map[string][]string{}
	for _, in := range incs {
		for _, e := range in.Entities {
			if e.Type != "ip" {
				continue
			}
			anyIPs[e.Value] = append(anyIPs[e.Value], in.Title)
			for _, r := range in.RuleIDs {
				if strings.Contains(r, "brute") {
					bruteIPs[e.Value] = true
				}
			}
		}
	}
	for ip := range want {
		require.True(t, bruteIPs[ip], "no brute-force incident for %s, which made 10 or more failed attempts within 60s", ip)
	}
	quiet := 0
	for ip, n := range failureLines {
		if n <= 2 {
			quiet++
			require.Empty(t, anyIPs[ip], "%s has only %d failure lines yet got incidents", ip, n)
		}
	}
	require.Positive(t, quiet, "the sample holds sources with at most two failure lines")
	t.Logf("%d brute-force sources expected, %d found; %d quiet sources without incidents", len(want), len(bruteIPs), quiet)
}
