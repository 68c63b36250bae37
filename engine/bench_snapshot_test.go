package engine

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/ingest/parse"
	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
)

// benchGroups is the number of attacking sources in the snapshot
// benchmarks; each sends benchPerGroup failed logins.
const (
	benchGroups   = 10_000
	benchPerGroup = 3
)

var benchUsers = []string{"root", "admin", "test", "oracle", "ubuntu", "postgres", "git", "user", "guest",
	"ftpuser", "pi", "deploy", "jenkins", "hadoop", "support", "mysql", "www", "nagios", "backup", "alice"}

// benchEvents returns benchGroups*benchPerGroup failed logins as sshd
// logs them, parsed by the real parser (so their fields are substrings
// of the line, as in production), with the variety of a real log: users,
// ports, process IDs and times differ.
func benchEvents(tb testing.TB) []*schemas.Event {
	tb.Helper()
	p := parse.New(parse.Options{})
	rnd := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	out := make([]*schemas.Event, 0, benchGroups*benchPerGroup)
	for i := range benchGroups * benchPerGroup {
		g := i % benchGroups
		src := fmt.Sprintf("10.%d.%d.%d", g/65536, g/256%256, g%256)
		at := start.Add(time.Duration(i/benchGroups)*time.Second + time.Duration(rnd.IntN(1000))*time.Millisecond)
		line := fmt.Sprintf("<38>%s web1 sshd[%d]: Failed password for invalid user %s from %s port %d ssh2",
			at.Format(time.Stamp), 1000+rnd.IntN(60000), benchUsers[rnd.IntN(len(benchUsers))], src, 1024+rnd.IntN(64000))
		ev := new(schemas.Event)
		require.NoError(tb, p.Parse(line, at.Add(time.Duration(rnd.IntN(500))*time.Millisecond), ev))
		require.Equal(tb, schemas.ActionSSHLogin, ev.Event.Action, line)
		ev.ID = rnd.Uint64()
		ev.Log.Source.Address = "192.0.2.10"
		out = append(out, ev)
	}
	return out
}

// benchSets are the rule sets the snapshot benchmarks run: the one rule
// a brute-force burst opens, and every built-in rule (a failed login
// opens a group in four of them).
func benchSets(tb testing.TB) map[string]*rules.Set {
	tb.Helper()
	set, err := rules.Load(rules.BuiltinSource())
	require.NoError(tb, err)
	return map[string]*rules.Set{"one-rule": set.Subset("ssh-brute-force-fast"), "builtin": set}
}

// benchEngine is an engine holding the benchmark's open groups, and the
// number of groups it holds.
func benchEngine(b *testing.B, set *rules.Set, evs []*schemas.Event) (*testEngine, int) {
	b.Helper()
	te := newTestEngine(b, set, nil)
	for i := 0; i < len(evs); i += 1000 {
		require.NoError(b, te.Handle(b.Context(), evs[i:min(i+1000, len(evs))]))
	}
	require.NoError(b, te.Flush(b.Context()))
	require.Empty(b, te.out.all(), "no rule may fire: every group stays open")
	n := openGroups(te.Engine)
	require.GreaterOrEqual(b, n, benchGroups)
	return te, n
}

// openGroups sums every rule's open groups.
func openGroups(e *Engine) int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	n := 0
	for _, r := range e.set.rules {
		n += int(r.groups.Load())
	}
	return n
}

// gzipLen is the size of data compressed as the Kafka engine role
// compresses its checkpoints (gzip, fastest level).
func gzipLen(tb testing.TB, data []byte) int {
	tb.Helper()
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	require.NoError(tb, err)
	_, err = zw.Write(data)
	require.NoError(tb, err)
	require.NoError(tb, zw.Close())
	return out.Len()
}

// BenchmarkSnapshot writes a snapshot of 10,000 sources with three failed
// logins each, for one rule and for the built-in set, into a reused
// buffer (as the Kafka engine role does every checkpoint).
//
//	go test ./engine -run '^$' -bench 'Snapshot|Restore' -benchmem
func BenchmarkSnapshot(b *testing.B) {
	evs := benchEvents(b)
	for name, set := range benchSets(b) {
		b.Run(name, func(b *testing.B) {
			te, groups := benchEngine(b, set, evs)
			var buf bytes.Buffer
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				buf.Reset()
				require.NoError(b, te.Snapshot(&buf))
			}
			b.ReportMetric(float64(buf.Len()), "bytes/snapshot")
			b.ReportMetric(float64(gzipLen(b, buf.Bytes())), "gzip-bytes/snapshot")
			b.ReportMetric(float64(groups), "groups")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(groups), "ns/group")
		})
	}
}

// BenchmarkRestore restores BenchmarkSnapshot's snapshot into a fresh
// engine each time (the engine's creation is not timed).
func BenchmarkRestore(b *testing.B) {
	evs := benchEvents(b)
	for name, set := range benchSets(b) {
		b.Run(name, func(b *testing.B) {
			te, groups := benchEngine(b, set, evs)
			var buf bytes.Buffer
			require.NoError(b, te.Snapshot(&buf))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				fresh, err := New(Options{Rules: set, Alerts: &collector{}, Shards: 1})
				require.NoError(b, err)
				b.StartTimer()
				require.NoError(b, fresh.Restore(bytes.NewReader(buf.Bytes())))
				b.StopTimer()
				require.Equal(b, groups, openGroups(fresh))
				require.NoError(b, fresh.Close(b.Context()))
				b.StartTimer()
			}
			b.ReportMetric(float64(buf.Len()), "bytes/snapshot")
			b.ReportMetric(float64(groups), "groups")
		})
	}
}
