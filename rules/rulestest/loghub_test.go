package rulestest

import (
	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/internal/shareddata"

	"bufio"
	"context"
	"os"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/engine"
	"github.com/tocsin-siem/tocsin/ingest/parse"
	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
)

// sharedData returns the path of rel in the shared data set beside the
// repository, or skips the test.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	return shareddata.Path(t, rel)
}

// attemptsByIP counts failed SSH login attempts per source address straight
// from the raw lines, independently of the parser: "Failed ... from IP"
// and "Invalid user ... from IP" count one, "message repeated N times:
// [ Failed ...]" counts N, and a "Failed ... for invalid user" line right
// after its process's "Invalid user" line repeats that attempt. It also
// counts, per address, the lines that report a failure of any kind.
func attemptsByIP(t *testing.T, path string) (map[string][]attempt, map[string]int) {
	var (
		header   = regexp.MustCompile(`^(\w{3} +\d+ \d\d:\d\d:\d\d) \S+ sshd\[(\d+)\]: (.*)$`)
		invalid  = regexp.MustCompile(`^Invalid user .* from (\S+)$`)
		failed   = regexp.MustCompile(`^Failed \S+ for (invalid user )?.* from (\S+) port \d+`)
		repeated = regexp.MustCompile(`^message repeated (\d+) times: \[ Failed \S+ for .* from (\S+) port`)
		anyFail  = regexp.MustCompile(`(?i)fail|invalid user`)
		ipWord   = regexp.MustCompile(`\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b`)
	)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	att := map[string][]attempt{}
	failLines := map[string]int{}
	credit := map[string]int{} // pid -> unmatched "Invalid user" lines
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := header.FindStringSubmatch(sc.Text())
		require.NotNil(t, m, sc.Text())
		ts, err := time.Parse("2006 Jan _2 15:04:05", "2024 "+m[1])
		require.NoError(t, err)
		pid, msg := m[2], m[3]
		if anyFail.MatchString(msg) {
			for _, ip := range ipWord.FindAllString(msg, -1) {
				failLines[ip]++
			}
		}
		switch {
		case invalid.MatchString(msg):
			ip := invalid.FindStringSubmatch(msg)[1]
			att[ip] = append(att[ip], attempt{ts, 1})
			credit[pid]++
		case failed.MatchString(msg):
			sm := failed.FindStringSubmatch(msg)
			n := 1
			if sm[1] != "" && credit[pid] > 0 {
				credit[pid]--
				n = 0
			}
			att[sm[2]] = append(att[sm[2]], attempt{ts, n})
		case repeated.MatchString(msg):
			sm := repeated.FindStringSubmatch(msg)
			n, _ := strconv.Atoi(sm[1])
			att[sm[2]] = append(att[sm[2]], attempt{ts, n})
		}
	}
	require.NoError(t, sc.Err())
	return att, failLines
}

type attempt struct {
	at time.Time
	n  int
}

// maxInWindow is the most attempts in any closed window of length w.
func maxInWindow(as []attempt, w time.Duration) int {
	best := 0
	for i := range as {
		sum := 0
		for _, b := range as {
			if !b.at.Before(as[i].at) && !b.at.After(as[i].at.Add(w)) {
				sum += b.n
			}
		}
		best = max(best, sum)
	}
	return best
}

// TestOpenSSHReplay replays the Loghub OpenSSH sample through the parser,
// the sshd attempt tracker and an engine with the built-in rules. Every
// source with 10 or more failed attempts within 60 seconds must get a
// burst brute-force alert, no other source may, and a source with at most
// two failure lines of any kind must get no alert at all.
func TestOpenSSHReplay(t *testing.T) {
	path := sharedData(t, "loghub/OpenSSH/OpenSSH_2k.log")
	att, failLines := attemptsByIP(t, path)

	var wantFast []string
	for ip, as := range att {
		if maxInWindow(as, time.Minute) >= 10 {
			wantFast = append(wantFast, ip)
		}
	}
	sort.Strings(wantFast)
	require.NotEmpty(t, wantFast, "the sample is known to hold bursts")

	for _, shards := range []int{1, 4} {
		t.Run("shards="+strconv.Itoa(shards), func(t *testing.T) {
			alerts := replay(t, path, shards)
			byRule := map[string]map[string]int{}
			for _, a := range alerts {
				if byRule[a.RuleID] == nil {
					byRule[a.RuleID] = map[string]int{}
				}
				byRule[a.RuleID][a.GroupKey]++
			}
			var gotFast []string
			for ip := range byRule["ssh-brute-force-fast"] {
				gotFast = append(gotFast, ip)
			}
			sort.Strings(gotFast)
			require.Equal(t, wantFast, gotFast)
			for _, a := range alerts {
				ip := a.GroupKey
				require.Greater(t, failLines[ip], 2, "alert %s for %s, which has only %d failure lines", a.RuleID, ip, failLines[ip])
				if a.RuleID == "ssh-brute-force-fast" {
					require.GreaterOrEqual(t, a.Count, 10)
					require.LessOrEqual(t, a.LastSeen.Sub(a.FirstSeen), time.Minute)
				}
			}
		})
	}
}

func replay(t *testing.T, path string, shards int) []schemas.Alert {
	set, err := rules.Load(rules.BuiltinSource())
	require.NoError(t, err)
	out := &bus.Collector[schemas.Alert]{}
	eng, err := engine.New(engine.Options{Rules: set, Alerts: out, Shards: shards})
	require.NoError(t, err)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	p := parse.New(parse.Options{})
	tracker := parse.NewSSHDTracker(0)
	received := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sc := bufio.NewScanner(f)
	var batch []*schemas.Event
	ctx := context.Background()
	for n := uint64(1); sc.Scan(); n++ {
		ev := new(schemas.Event)
		require.NoError(t, p.Parse(sc.Text(), received, ev), sc.Text())
		tracker.Apply(ev)
		ev.ID = n
		batch = append(batch, ev)
		if len(batch) == 64 {
			require.NoError(t, eng.Handle(ctx, batch))
			batch = batch[:0]
		}
	}
	require.NoError(t, sc.Err())
	require.NoError(t, eng.Handle(ctx, batch))
	require.NoError(t, eng.Flush(ctx))
	require.NoError(t, eng.Close(ctx))
	alerts := out.Take()
	for _, a := range alerts {
		t.Logf("%s %s: %s", a.RuleID, a.FirstSeen.Format(time.TimeOnly), a.Reason)
	}
	return alerts
}
