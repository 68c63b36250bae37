package parse

import (
	"hash/maphash"
	"sync"

	"github.com/tocsin-siem/tocsin/schemas"
)

// DefaultMaxProcs is how many sshd processes an SSHDTracker follows when
// NewSSHDTracker is given zero or less.
const DefaultMaxProcs = 65536

// SSHDTracker makes sshd attempt accounting hold across lines, so that
// summing Event.Count over failed ssh_login events counts each attempt
// once.
//
// The rule: a failed login attempt counts once per attempt: an sshd
// "Failed ..." line, or an "Invalid user" line not followed by one in the
// same sshd process. In a stream we cannot wait to see whether a "Failed"
// line follows, so the "Invalid user X from IP" line counts at once (Count
// 1) and leaves a credit with its process. The next "Failed ... for invalid
// user X" line of that process uses the credit: its Count drops by one
// (to 0 for a single line, to N-1 for "message repeated N times"). Later
// "Failed" lines of the process count in full. A process is forgotten when
// its credit is used, when it disconnects (any ssh_disconnect event) and
// when its sshd session closes.
//
// Processes are keyed by (host.name, process.pid); host.name falls back to
// log.source.address when the header had no hostname. The key is a 64-bit
// hash of the two, so no line memory is retained; two processes whose
// hashes collide would share a credit, which at 2^-64 per pair is ignored.
//
// Memory is bounded: at most maxProcs processes with an unused credit are
// kept. When full, the process that has waited longest is dropped (its
// later "Failed" line then counts in full, over-counting by one).
//
// Apply is safe for concurrent use; for the credit to be found, the lines
// of one sshd process must reach Apply in log order.
type SSHDTracker struct {
	mu      sync.Mutex
	seed    maphash.Seed
	max     int
	index   map[uint64]int32
	slots   []procSlot
	oldest  int32 // first slot in arrival order, -1 when empty
	newest  int32
	free    int32 // first free slot, -1 when none
	evicted uint64
}

// procSlot is one tracked process, linked in arrival order.
type procSlot struct {
	key        uint64
	prev, next int32
}

// NewSSHDTracker returns a tracker that follows at most maxProcs sshd
// processes (DefaultMaxProcs when maxProcs <= 0).
func NewSSHDTracker(maxProcs int) *SSHDTracker {
	if maxProcs <= 0 {
		maxProcs = DefaultMaxProcs
	}
	return &SSHDTracker{
		seed:   maphash.MakeSeed(),
		max:    maxProcs,
		index:  make(map[uint64]int32),
		oldest: -1,
		newest: -1,
		free:   -1,
	}
}

// Apply updates the tracker with ev and corrects ev.Event.Count when ev
// uses an "Invalid user" credit. Events other than sshd ones with a
// process ID pass through untouched.
func (t *SSHDTracker) Apply(ev *schemas.Event) {
	if ev.Event.Dataset != DatasetSSHD || ev.Process.PID == 0 {
		return
	}
	switch ev.Event.Action {
	case schemas.ActionSSHLogin:
		if ev.Event.Outcome != schemas.OutcomeFailure || ev.Event.Reason != ReasonInvalidUser {
			return
		}
		key := t.key(ev)
		t.mu.Lock()
		defer t.mu.Unlock()
		if ev.SSH.Method == "" { // "Invalid user X from IP"
			t.remember(key)
			return
		}
		// "Failed METHOD for invalid user X ..."
		if t.forget(key) && ev.Event.Count > 0 {
			ev.Event.Count--
		}
	case schemas.ActionSSHDisconnect:
		t.drop(t.key(ev))
	case schemas.ActionSSHSession:
		if ev.Event.Reason == ReasonSessionClosed {
			t.drop(t.key(ev))
		}
	}
}

// Len returns how many processes hold an unused credit.
func (t *SSHDTracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.index)
}

// Evicted returns how many credits were dropped because the tracker was
// full.
func (t *SSHDTracker) Evicted() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.evicted
}

func (t *SSHDTracker) key(ev *schemas.Event) uint64 {
	host := ev.Host.Name
	if host == "" {
		host = ev.Log.Source.Address
	}
	return maphash.String(t.seed, host) ^ (uint64(ev.Process.PID) * 0x9e3779b97f4a7c15)
}

func (t *SSHDTracker) drop(key uint64) {
	t.mu.Lock()
	t.forget(key)
	t.mu.Unlock()
}

// remember records a credit for key, moving it to the newest position if
// it is already there. Caller holds mu.
func (t *SSHDTracker) remember(key uint64) {
	if i, ok := t.index[key]; ok {
		t.unlink(i)
		t.link(i)
		return
	}
	if len(t.index) >= t.max {
		t.evicted++
		t.forget(t.slots[t.oldest].key)
	}
	var i int32
	if t.free >= 0 {
		i = t.free
		t.free = t.slots[i].next
	} else {
		t.slots = append(t.slots, procSlot{})
		i = int32(len(t.slots) - 1)
	}
	t.slots[i].key = key
	t.index[key] = i
	t.link(i)
}

// forget removes key and reports whether it was there. Caller holds mu.
func (t *SSHDTracker) forget(key uint64) bool {
	i, ok := t.index[key]
	if !ok {
		return false
	}
	delete(t.index, key)
	t.unlink(i)
	t.slots[i] = procSlot{next: t.free}
	t.free = i
	return true
}

// link appends slot i as the newest.
func (t *SSHDTracker) link(i int32) {
	t.slots[i].prev, t.slots[i].next = t.newest, -1
	if t.newest >= 0 {
		t.slots[t.newest].next = i
	} else {
		t.oldest = i
	}
	t.newest = i
}

func (t *SSHDTracker) unlink(i int32) {
	s := &t.slots[i]
	if s.prev >= 0 {
		t.slots[s.prev].next = s.next
	} else {
		t.oldest = s.next
	}
	if s.next >= 0 {
		t.slots[s.next].prev = s.prev
	} else {
		t.newest = s.prev
	}
}
