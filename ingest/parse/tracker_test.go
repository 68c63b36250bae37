package parse

import (
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// feed parses each line, applies the tracker and returns the counts of
// the failed ssh_login events in order.
func feed(t *testing.T, tr *SSHDTracker, lines ...string) []int {
	t.Helper()
	var counts []int
	for _, line := range lines {
		ev := mustParse(t, line)
		tr.Apply(&ev)
		if ev.Event.Action == schemas.ActionSSHLogin && ev.Event.Outcome == schemas.OutcomeFailure {
			counts = append(counts, ev.Event.Count)
		}
	}
	return counts
}

func sshdAt(host string, pid int, msg string) string {
	return "Dec 10 07:07:38 " + host + " sshd[" + strconv.Itoa(pid) + "]: " + msg
}

const (
	invalidX   = "Invalid user x from 10.0.0.1 port 4000"
	failedX    = "Failed password for invalid user x from 10.0.0.1 port 4000 ssh2"
	failedRoot = "Failed password for root from 10.0.0.1 port 4000 ssh2"
	closedX    = "Connection closed by invalid user x 10.0.0.1 port 4000 [preauth]"
)

func TestTrackerCountsEachAttemptOnce(t *testing.T) {
	tr := NewSSHDTracker(0)
	counts := feed(t, tr,
		sshdAt("h", 1, invalidX), // counts for the attempt
		sshdAt("h", 1, failedX),  // the same attempt
		sshdAt("h", 1, failedX),  // a second attempt
		sshdAt("h", 1, failedX),  // a third
	)
	require.Equal(t, []int{1, 0, 1, 1}, counts)
	require.Zero(t, tr.Len(), "a used credit is forgotten")
}

func TestTrackerInvalidUserAloneCounts(t *testing.T) {
	tr := NewSSHDTracker(0)
	require.Equal(t, []int{1}, feed(t, tr, sshdAt("h", 1, invalidX), sshdAt("h", 1, closedX)))
	require.Zero(t, tr.Len(), "a disconnect forgets the process")
	// A later process that reuses the PID does not find the old credit.
	require.Equal(t, []int{1}, feed(t, tr, sshdAt("h", 1, failedX)))
}

func TestTrackerRepeatedFailedLine(t *testing.T) {
	tr := NewSSHDTracker(0)
	counts := feed(t, tr,
		sshdAt("h", 7, invalidX),
		sshdAt("h", 7, "message repeated 3 times: [ "+failedX+"]"),
		sshdAt("h", 7, "message repeated 2 times: [ "+failedX+"]"),
	)
	require.Equal(t, []int{1, 2, 2}, counts)
}

func TestTrackerOnlyInvalidUserFailuresUseTheCredit(t *testing.T) {
	tr := NewSSHDTracker(0)
	require.Equal(t, []int{1, 1, 0}, feed(t, tr,
		sshdAt("h", 1, invalidX),
		sshdAt("h", 1, failedRoot), // a valid user: its own attempt
		sshdAt("h", 1, failedX),
	))
}

func TestTrackerKeysOnHostAndPID(t *testing.T) {
	tr := NewSSHDTracker(0)
	require.Equal(t, []int{1, 1, 1, 0}, feed(t, tr,
		sshdAt("a", 1, invalidX),
		sshdAt("a", 2, failedX), // other process
		sshdAt("b", 1, failedX), // other host
		sshdAt("a", 1, failedX),
	))
}

func TestTrackerFallsBackToSenderAddress(t *testing.T) {
	tr := NewSSHDTracker(0)
	apply := func(line, addr string) int {
		ev := mustParse(t, line)
		require.Empty(t, ev.Host.Name)
		ev.Log.Source.Address = addr
		tr.Apply(&ev)
		return ev.Event.Count
	}
	require.Equal(t, 1, apply("<38>Dec 10 07:07:38 sshd[5]: "+invalidX, "192.0.2.1"))
	require.Equal(t, 1, apply("<38>Dec 10 07:07:38 sshd[5]: "+failedX, "192.0.2.2"))
	require.Equal(t, 0, apply("<38>Dec 10 07:07:38 sshd[5]: "+failedX, "192.0.2.1"))
}

func TestTrackerForgetsOnSessionClose(t *testing.T) {
	tr := NewSSHDTracker(0)
	feed(t, tr, sshdAt("h", 3, invalidX))
	require.Equal(t, 1, tr.Len())
	feed(t, tr, sshdAt("h", 3, "pam_unix(sshd:session): session opened for user x by (uid=0)"))
	require.Equal(t, 1, tr.Len())
	feed(t, tr, sshdAt("h", 3, "pam_unix(sshd:session): session closed for user x"))
	require.Zero(t, tr.Len())
}

func TestTrackerIgnoresOtherEvents(t *testing.T) {
	tr := NewSSHDTracker(0)
	for _, line := range []string{
		"Jan  1 00:00:00 h sudo:  alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls",
		"Jan  1 00:00:00 h sshd: Invalid user x from 10.0.0.1", // no PID
	} {
		ev := mustParse(t, line)
		before := ev
		tr.Apply(&ev)
		require.Equal(t, before, ev)
	}
	require.Zero(t, tr.Len())
}

func TestTrackerEvictsTheOldest(t *testing.T) {
	tr := NewSSHDTracker(2)
	feed(t, tr, sshdAt("h", 1, invalidX), sshdAt("h", 2, invalidX))
	feed(t, tr, sshdAt("h", 1, invalidX)) // touching pid 1 makes pid 2 the oldest
	feed(t, tr, sshdAt("h", 3, invalidX)) // evicts pid 2
	require.Equal(t, 2, tr.Len())
	require.Equal(t, uint64(1), tr.Evicted())
	require.Equal(t, []int{1, 0, 0}, feed(t, tr,
		sshdAt("h", 2, failedX), // credit lost: counts in full
		sshdAt("h", 1, failedX),
		sshdAt("h", 3, failedX),
	))
	require.Zero(t, tr.Len())
	// Freed slots are reused without growing past the bound.
	for pid := 10; pid < 100; pid++ {
		feed(t, tr, sshdAt("h", pid, invalidX))
		require.LessOrEqual(t, tr.Len(), 2)
	}
	require.LessOrEqual(t, len(tr.slots), 2)
	require.Equal(t, uint64(1+88), tr.Evicted())
}

func TestTrackerConcurrent(t *testing.T) {
	tr := NewSSHDTracker(64)
	p := New(Options{})
	var wg sync.WaitGroup
	totals := make([]int, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				pid := g*1000 + i + 1
				for _, msg := range []string{invalidX, failedX, failedX, closedX} {
					var ev schemas.Event
					if err := p.Parse(sshdAt("h", pid, msg), testReceived, &ev); err != nil {
						t.Error(err)
						return
					}
					tr.Apply(&ev)
					if ev.Event.Action == schemas.ActionSSHLogin {
						totals[g] += ev.Event.Count
					}
				}
			}
		}()
	}
	wg.Wait()
	for g, total := range totals {
		require.Equal(t, 500*2, total, "goroutine %d: two attempts per process", g)
	}
	require.Zero(t, tr.Len())
}
