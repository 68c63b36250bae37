package engine

import (
	"context"
	"strings"
	"sync"

	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
)

// shard owns the groups of the group keys that hash to it. In sharded mode
// only its goroutine touches its fields; inline, mu guards them.
type shard struct {
	e  *Engine
	id int
	in chan message
	mu sync.Mutex

	states []*ruleState // by rule slot
	// watermark is the newest event time seen (ns); a group is expired
	// once the watermark has moved more than its rule's horizon plus
	// Options.Lateness past the group's last event.
	watermark int64
	firing    rules.Firing
	keyBuf    []byte
	vals      []string
	alerts    []schemas.Alert
}

// message is a batch of work or a control function for a shard.
type message struct {
	items *[]item
	ctl   func(*shard)
	done  chan struct{}
}

// ruleState is one rule's groups in one shard, with a recency list:
// head is the most recently active group, tail the least.
type ruleState struct {
	rule       *engRule
	groups     map[string]*group
	head, tail *group
}

// group is one group key's state. seen is the shard's watermark when the
// group last received an event: expiry measures idleness by how far the
// watermark has moved since, rather than by the group's own event times,
// so that a host whose clock lags the others (or logs in another time
// zone) does not see its groups expired on every sweep.
type group struct {
	key        string
	seen       int64
	prev, next *group
	st         rules.Group
}

func newShard(e *Engine, id int) *shard { return &shard{e: e, id: id} }

func (sh *shard) run() {
	defer sh.e.wg.Done()
	for msg := range sh.in {
		if msg.items != nil {
			sh.processBatch(*msg.items)
			sh.e.putBatch(msg.items)
			if alerts := sh.takeAlerts(); len(alerts) > 0 {
				// Errors are logged by publish; the shard goes on.
				_ = sh.e.publish(context.Background(), alerts)
			}
		}
		if msg.ctl != nil {
			msg.ctl(sh)
		}
		if msg.done != nil {
			close(msg.done)
		}
	}
}

// takeAlerts returns the alerts raised so far and resets the buffer. The
// returned slice is valid until the next batch.
func (sh *shard) takeAlerts() []schemas.Alert {
	a := sh.alerts
	sh.alerts = sh.alerts[:0]
	return a
}

// resize installs a new rule set's states: carry[i] is the old slot whose
// groups new slot i keeps, or -1; nil carry starts every rule empty.
// Groups of rules not carried over are dropped.
func (sh *shard) resize(set *ruleSet, carry []int) {
	next := make([]*ruleState, len(set.rules))
	taken := make([]bool, len(sh.states))
	for i, r := range set.rules {
		if carry != nil && carry[i] >= 0 && carry[i] < len(sh.states) {
			st := sh.states[carry[i]]
			st.rule = r
			next[i] = st
			taken[carry[i]] = true
			continue
		}
		next[i] = &ruleState{rule: r, groups: map[string]*group{}}
	}
	for i, st := range sh.states {
		if !taken[i] {
			st.groups, st.head, st.tail = nil, nil, nil
		}
	}
	sh.states = next
}

func (sh *shard) processBatch(items []item) {
	for i := range items {
		sh.process(&items[i])
	}
	sh.sweep()
}

func (sh *shard) process(it *item) {
	r := it.rule
	rs := sh.states[r.slot]
	if rs.rule != r {
		return // queued before a reload that replaced the rule: the state is gone
	}
	ev := it.ev
	var g *group
	switch len(r.getters) {
	case 0:
		g = rs.groups[""]
		if g == nil {
			g = sh.newGroup(rs, "")
		}
	case 1:
		v := r.getters[0](ev)
		if v == "" {
			return
		}
		g = rs.groups[v]
		if g == nil {
			// Copied so the group does not pin the line v was sliced from.
			g = sh.newGroup(rs, strings.Clone(v))
		}
	default:
		buf := sh.keyBuf[:0]
		for i, get := range r.getters {
			v := get(ev)
			if v == "" {
				return
			}
			if i > 0 {
				buf = append(buf, keySep)
			}
			buf = append(buf, v...)
		}
		sh.keyBuf = buf
		g = rs.groups[string(buf)]
		if g == nil {
			g = sh.newGroup(rs, string(buf))
		}
	}
	sh.advance(ev.Timestamp.UnixNano(), ev)
	g.seen = sh.watermark
	rs.touch(g)
	sh.firing.Reset()
	if g.st.Observe(ev, int(it.input), &sh.firing) {
		sh.vals = splitKey(g.key, len(r.getters), sh.vals[:0])
		sh.alerts = append(sh.alerts, sh.e.buildAlert(r, sh.vals, &sh.firing))
		r.alerts.Inc()
	}
}

// advance moves the watermark, unless the event claims to be further
// ahead of its receive time than Options.FutureTolerance allows.
func (sh *shard) advance(ts int64, ev *schemas.Event) {
	if ts <= sh.watermark {
		return
	}
	if !ev.Event.Created.IsZero() && ts-ev.Event.Created.UnixNano() > int64(sh.e.opts.FutureTolerance) {
		return
	}
	sh.watermark = ts
}

// newGroup creates and links a group, evicting the least recently active
// one when the rule's share of MaxGroupsPerRule is used up. The group keeps
// key, which must not alias an event or a reused buffer.
func (sh *shard) newGroup(rs *ruleState, key string) *group {
	if len(rs.groups) >= sh.e.perShardCap && rs.tail != nil {
		sh.drop(rs, rs.tail)
		sh.e.m.dropped.Inc()
	}
	g := &group{key: key, st: rs.rule.r.Detector.NewGroup()}
	rs.groups[g.key] = g
	rs.pushFront(g)
	rs.rule.groups.Add(1)
	return g
}

func (sh *shard) drop(rs *ruleState, g *group) {
	rs.unlink(g)
	delete(rs.groups, g.key)
	rs.rule.groups.Add(-1)
}

// sweep expires idle groups of every rule, oldest first.
func (sh *shard) sweep() {
	lateness := int64(sh.e.opts.Lateness)
	for _, rs := range sh.states {
		cutoff := sh.watermark - rs.rule.horizon - lateness
		for rs.tail != nil && rs.tail.seen < cutoff {
			sh.drop(rs, rs.tail)
		}
	}
}

func (rs *ruleState) pushFront(g *group) {
	g.prev, g.next = nil, rs.head
	if rs.head != nil {
		rs.head.prev = g
	}
	rs.head = g
	if rs.tail == nil {
		rs.tail = g
	}
}

func (rs *ruleState) unlink(g *group) {
	if g.prev != nil {
		g.prev.next = g.next
	} else {
		rs.head = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	} else {
		rs.tail = g.prev
	}
	g.prev, g.next = nil, nil
}

func (rs *ruleState) touch(g *group) {
	if rs.head == g {
		return
	}
	rs.unlink(g)
	rs.pushFront(g)
}

// splitKey splits a stored key into its n group_by values.
func splitKey(key string, n int, out []string) []string {
	if n <= 1 {
		if n == 1 {
			out = append(out, key)
		}
		return out
	}
	start := 0
	for i := 0; i < len(key); i++ {
		if key[i] == keySep {
			out = append(out, key[start:i])
			start = i + 1
		}
	}
	return append(out, key[start:])
}
