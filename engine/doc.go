// Package engine correlates events against a rules.Set and publishes
// alerts.
//
// # Flow
//
// Handle evaluates every rule condition in the caller's goroutine: an
// event is looked up in an index keyed by the constant each condition
// requires (in practice event.action), so it only meets the conditions
// that can match it, and a condition shared by several rules is evaluated
// once. Matching (rule, event) pairs of stateful rules are batched per
// shard and handed over bounded channels to shard goroutines; the shard is
// chosen by a hash of the rule's group_by values, so one group's events
// always reach the same shard, in order. Each shard owns its groups
// outright: there is no lock shared on the hot path. With one shard (the
// default when GOMAXPROCS is 1) the work is done inline.
//
// Match rules keep no state: their alerts are built in the caller's
// goroutine and published before Handle returns.
//
// # Time
//
// Windows run on event time (schemas.Event.Timestamp), never the wall
// clock, so a replay of old logs correlates exactly as the live stream
// did. Events are expected roughly in order: an event older than its
// group's newest is counted as if it happened at that newest time, and
// one older than that by more than the rule's window is not counted (see
// package rules). Each shard keeps a watermark, the newest event time it
// has seen, and expires a group once the watermark has moved more than
// the rule's horizon (window plus followed_by.within) plus
// Options.Lateness past the group's last event. Measuring idleness by the
// watermark's progress rather than by the group's own timestamps keeps a
// host whose clock lags (or that logs local time) from losing its windows
// on every sweep. Events that claim to be far ahead of their receive time
// (Options.FutureTolerance) do not move the watermark.
//
// # Bounds
//
// A group holds at most threshold events. A rule holds at most
// Options.MaxGroupsPerRule groups; past that the least recently active
// group is evicted and tocsin_engine_groups_dropped_total counts it.
// Shard queues hold Options.QueueLen batches; a full queue blocks Handle
// (back-pressure) until its context ends. Alerts carry at most
// Options.EvidenceLimit events.
//
// # Performance
//
// Events whose indexed value no rule wants cost one map lookup. Native
// conditions (see rules.Condition) run without the expr VM and without
// allocating; group keys of one field are the field's own string, and
// keys of several fields are built in a reused buffer. Handle does not
// allocate for non-matching events nor for matching events that join an
// open group; a new group costs a few small allocations. The benchmarks in
// bench/engine_bench_test.go report ns and CPU-ns per event.
//
// # State
//
// Reload swaps the rule set; groups of rules whose ID and rules.Rule.Hash
// are unchanged carry over. Snapshot and Restore save and load open
// windows in a versioned binary document (Restore also reads the JSON
// version 1 of earlier releases); SaveSnapshot writes it atomically.
// Snapshot holds Handle off only while the shards encode their groups
// into memory, not while the snapshot is written out.
package engine
