package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus/kafkabus"
	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
)

// BenchmarkCheckpoint reports the size of one partition's checkpoint
// with 10,000 open groups (3 failed logins each, as sshd logs them, for
// every rule that counts them), the time to write it, and the time to
// restore it on assignment. No broker: the checkpoint is kept in memory.
//
//	go test ./stream -run '^$' -bench Checkpoint -benchtime 5x
func BenchmarkCheckpoint(b *testing.B) {
	for _, tc := range []struct {
		name string
		set  func(testing.TB) *rules.Set
	}{
		{"one-rule", func(t testing.TB) *rules.Set { return builtinRules(t).Subset("ssh-brute-force-fast") }},
		{"builtin", builtinRules},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			set := tc.set(b)
			prod, st := &fakeProducer{}, &state{}
			r := newBenchRunner(b, set, prod, st)
			pc, _, err := r.Assign(ctx, "ev", 0, kafkabus.FirstOffset)
			require.NoError(b, err)
			const groups = 10_000
			// Lines as sshd writes them, with the variety of a real log
			// (users, ports, process IDs, times), so that compression is
			// not flattered.
			rnd := rand.New(rand.NewPCG(1, 2))
			var evs []*schemas.Event
			for i := range 3 * groups {
				src := fmt.Sprintf("10.%d.%d.%d", i%groups/65536, i%groups/256%256, i%groups%256)
				user := benchUsers[rnd.IntN(len(benchUsers))]
				ev := failure(i/groups, src, user)
				ev.ID = rnd.Uint64()
				ev.Timestamp = ev.Timestamp.Add(time.Duration(rnd.IntN(1000)) * time.Millisecond)
				ev.Event.Created = ev.Timestamp.Add(time.Duration(rnd.IntN(500)) * time.Millisecond)
				ev.Process = schemas.Process{Name: "sshd", PID: 1000 + rnd.IntN(60000)}
				ev.Source.Port = 1024 + rnd.IntN(64000)
				ev.Message = fmt.Sprintf("Failed password for %s from %s port %d ssh2", user, src, ev.Source.Port)
				ev.Event.Original = ev.Timestamp.Format(time.Stamp) + " web1 sshd[" + fmt.Sprint(ev.Process.PID) + "]: " + ev.Message
				ev.Log.Syslog.AppName = "sshd"
				ev.SSH.Method = "password"
				evs = append(evs, ev)
			}
			for i := 0; i < len(evs); i += 1000 {
				_, err := pc.Handle(ctx, records(int64(i), evs[i:i+1000]...))
				require.NoError(b, err)
			}
			prod.take("st") // the first batch's checkpoint
			open := 0
			p := pc.(*partition)
			var size int
			var write, restore time.Duration
			var writeCPU, restoreCPU int64
			b.ResetTimer()
			for range b.N {
				start, cpu := time.Now(), cpuTime()
				p.checkpoint(ctx)
				write += time.Since(start)
				writeCPU += cpuTime() - cpu
				ck := prod.take("st")
				require.Equal(b, 1, len(ck))
				size = len(ck[0].Value)

				st.recs = map[string][]byte{"g/ev/0": ck[0].Value}
				reg := prometheus.NewRegistry()
				r2 := newBenchRunner(b, set, &fakeProducer{}, st)
				r2.opts.Registerer = reg
				start, cpu = time.Now(), cpuTime()
				pc2, next, err := r2.Assign(ctx, "ev", 0, kafkabus.FirstOffset)
				restore += time.Since(start)
				restoreCPU += cpuTime() - cpu
				require.NoError(b, err)
				require.Equal(b, int64(len(evs)), next)
				open = countGroups(b, reg)
				pc2.(*partition).close()
			}
			require.GreaterOrEqual(b, open, groups)
			b.ReportMetric(float64(size), "bytes/checkpoint")
			b.ReportMetric(float64(size)/float64(open)*10_000, "bytes/10k-groups")
			b.ReportMetric(float64(open), "groups")
			b.ReportMetric(float64(write.Milliseconds())/float64(b.N), "write-ms")
			b.ReportMetric(float64(restore.Milliseconds())/float64(b.N), "restore-ms")
			b.ReportMetric(float64(writeCPU)/1e6/float64(b.N), "write-cpu-ms")
			b.ReportMetric(float64(restoreCPU)/1e6/float64(b.N), "restore-cpu-ms")
		})
	}
}

func newBenchRunner(b *testing.B, set *rules.Set, prod *fakeProducer, st *state) *Runner {
	b.Helper()
	r := newUnitRunner(b, set, prod, st, nil)
	r.opts.CheckpointMaxBytes = 1 << 30
	return r
}

var benchUsers = []string{"root", "admin", "test", "oracle", "ubuntu", "postgres", "git", "user", "guest",
	"ftpuser", "pi", "deploy", "jenkins", "hadoop", "support", "mysql", "www", "nagios", "backup", "alice"}

// cpuTime is the CPU time this process used so far, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// countGroups sums the open groups of the engines registered on reg.
func countGroups(t testing.TB, reg *prometheus.Registry) int {
	mfs, err := reg.Gather()
	require.NoError(t, err)
	n := 0
	for _, mf := range mfs {
		if mf.GetName() == "tocsin_engine_groups" {
			for _, m := range mf.Metric {
				n += int(m.GetGauge().GetValue())
			}
		}
	}
	return n
}

// BenchmarkRunnerOnePartition produces 200,000 auth events to a
// one-partition topic, then times one Runner from its first batch until
// every event (and every repartition copy) was handled, i.e. committed.
// Needs the broker (TOCSIN_TEST_KAFKA, or a private one).
//
//	go test ./stream -run '^$' -bench RunnerOnePartition -benchtime 1x
func BenchmarkRunnerOnePartition(b *testing.B) {
	const n = 200_000
	set := builtinRules(b)
	evs := syntheticEvents(n)
	for range b.N {
		b.StopTimer()
		c := newCluster(b, 1, set)
		c.produce(evs)
		b.StartTimer()
		joined, cpu := time.Now(), cpuTime()
		m := c.start(nil)
		c.waitCaughtUp(10 * time.Minute)
		done := time.Now()
		cpu = cpuTime() - cpu
		b.StopTimer()
		m.stop(b)
		c.mu.Lock()
		first := c.first
		c.mu.Unlock()
		b.ReportMetric(n/done.Sub(first).Seconds(), "events/s")
		b.ReportMetric(n/(float64(cpu)/1e9), "events/cpu-s")
		b.ReportMetric(first.Sub(joined).Seconds(), "join-s")
		b.ReportMetric(value(b, m.r.m.repartitioned), "copies")
	}
}
