// Package stream runs the correlation engine as a member of a Kafka
// consumer group: each assigned partition gets its own engine.Engine, its
// alerts are produced to Kafka before its offsets are committed, and its
// windows are checkpointed to a compacted topic so that they survive a
// restart or a move to another member.
//
// # Placement
//
// Ingest keys every event by its first non-empty key field (by default
// source.address, else user.name, else host.name; see wire.Keyer), so one
// partition of the events topic sees every event of one source address.
// A rule is local when its group_by contains the first key field: every
// event of one of its groups carries the same value there, hence the same
// key and partition. Match rules keep no state and are local too. Every
// other rule is rekeyed: its key set is its group_by field names joined by
// "," ("user.name,host.name"). Placement lists both, for operators.
//
// # Flow
//
// An events-topic partition runs one engine over the local rules. For
// each event it also asks, per key set, whether a condition of one of the
// key set's rules matches; if so it produces one copy of the event's
// record to the repartition topic, keyed by the group_by values joined by
// NUL, with the headers tocsin-type=event/1, tocsin-keyset=<key set> and
// tocsin-origin=<partition>:<offset>. Events with an empty group_by value
// are not copied: the engine ignores them for that rule anyway. A
// repartition-topic partition runs one engine per key set (created on
// first use) over that key set's rules, fed only the copies naming it, so
// a rule never sees one event twice.
//
// After each batch the partition produces the batch's alerts (keyed by
// wire.AppendAlertKey; header tocsin-type=alert/1) together with the
// repartition copies, waits until Kafka acknowledged all of them, and only
// then returns the offset after the batch for the group to commit.
//
// # Delivery
//
// A crash between producing a batch's alerts and committing its offset
// delivers the batch again: its alerts are produced again with the same
// IDs (engine alert IDs are deterministic), which ticketing drops. Its
// repartition copies are produced again too; the repartition side drops a
// copy whose origin offset is not above the highest it has seen from that
// origin partition for that key set (checkpointed with the windows), so a
// rekeyed rule does not count one event twice. That relies on the copies
// of one origin partition reaching a repartition partition in offset
// order, which holds while one member owns the origin partition and the
// producer keeps each partition's order.
//
// # Checkpoints
//
// Each partition's state is written to the compacted state topic under
// the key "<group>/<topic>/<partition>" (header tocsin-type=checkpoint/1):
// after the first batch of a partition that had no checkpoint, so that the
// group never commits an offset of a partition without one; then every
// CheckpointInterval or CheckpointEvents records, whichever comes first,
// checked after a batch, but no sooner than 19 times the time the last
// checkpoint took, so that a large state costs at most 5% of the
// partition's time (and a takeover then replays more records); and when
// the partition is revoked. A checkpoint
// is always written after the alerts of the records it reflects were
// acknowledged, so it never runs ahead of them, and never after a batch
// failed once the engines had taken it (those records come again).
//
// On assignment the member reads the state topic once per generation,
// restores the partition's engines and starts reading at the checkpoint's
// offset. That may be below the group's committed offset: the records in
// between are read again only to rebuild the windows; their alerts and
// copies, produced before the commit, are not produced again. Without a
// checkpoint the partition starts at the committed offset with empty
// windows, with a warning when the group had committed an offset (it ran
// a build without checkpoints, or the state topic lost them). A rule
// whose hash changed since the checkpoint starts empty; the others keep
// their windows.
//
// A checkpoint larger than Options.CheckpointMaxBytes, which should match
// the state topic's max.message.bytes, is not written: an error is logged
// with its size and the previous checkpoint stays, so a restart replays
// more records. The same happens when producing the checkpoint fails.
// Open groups cost about 2.1 MB of checkpoint per 10,000 groups of three
// sshd failures each, written in about 35 ms (BenchmarkCheckpoint), so
// Kafka's default limit of 1 MiB holds about 4,500 such groups per
// partition.
//
// The record value is:
//
//	offset  size  field
//	0       4     magic "TKCP"
//	4       1     version, 2 (version 1 lacks the last three fields)
//	5       ...   gzip stream of the body
//
// The body is a sequence of fields in this order; uvarint and varint are
// encoding/binary's (zig-zag for varint), and a string or bytes is a
// uvarint length followed by that many bytes:
//
//	string   topic
//	varint   partition
//	varint   next offset: the first record the state does not reflect
//	varint   saved at, Unix nanoseconds
//	uvarint  number of rules, then per rule: string ID, string rules.Rule.Hash
//	uvarint  number of engines, then per engine:
//	           string   key set ("" for the local rules of an events partition)
//	           uvarint  number of origins, then per origin:
//	                      varint origin partition, varint highest origin offset seen
//	           bytes    the engine snapshot (engine.Engine.Snapshot)
//	varint   highest merge time of the latest batch (events partitions; else 0)
//	uvarint  number of progress marks, then per mark:
//	           varint origin partition, varint merge time, byte flags (1 = idle)
//	uvarint  number of held copies, then per copy:
//	           string key set, varint origin partition, varint origin offset,
//	           bytes the event (wire.AppendEvent)
//
// A reader refuses another magic and a newer version with an error that
// says so; a partition whose checkpoint cannot be read starts as if it had
// none, and the error is logged. An incompatible change takes a new
// version number; a reader keeps reading the versions before it.
//
// # Partition counts
//
// State is kept per partition, so the partition count of the events and
// repartition topics must not change while a group has state. If the
// events topic grows, Kafka maps many keys to other partitions: their
// groups start empty on the new partition and the old ones expire unused,
// so an attack in progress at that moment may be reported late or missed
// once; a new consumer group (or deleting the group's checkpoints) starts
// clean. The repartition topic behaves the same way.
//
// # Ordering
//
// Windows run on event time, and each partition's engine sees its records
// in offset order. Copies from several events partitions interleave on a
// repartition partition in the order the partitions were handled, which
// on a backlog can be hours apart in event time; a window fed that way
// would ignore the older events as too late. So the repartition side
// merges its input on the time ingest received each event
// (event.created; the event time for events that lack it), which is the
// order one process receiving the same lines sees them in, also when the
// lines' own times go back (older logs sent after newer ones):
//
//   - After a batch whose highest merge time differs from the last one
//     it reported (or when a third of ReorderWait passed since its last
//     marker), an events partition sends a progress marker (header
//     tocsin-type=progress/1, tocsin-origin=<partition>:<last offset>)
//     with that time to every repartition partition, after the batch's
//     copies. When a fetch finds it caught up, it sends one marker
//     flagged idle.
//   - A repartition partition holds each copy until every events
//     partition has reported progress at or past the copy's merge time,
//     then feeds the due copies to their engines ordered by merge time
//     (then event time, origin partition and offset). An events
//     partition that has sent nothing for Options.ReorderWait (its member
//     died or a rebalance is under way; at start-up, one not heard from
//     yet) is not waited for; while one says it is idle, due copies wait
//     one second, the time it takes that partition to report records
//     that reached it meanwhile. A copy of a partition not waited for
//     that comes later is fed at once, and the window treats it as it
//     treats late events. At most
//     Options.ReorderMaxHeld copies are held; beyond that the oldest are
//     fed at once and counted in tocsin_stream_reorder_forced_total.
//   - The held copies and the progress last heard of each events
//     partition are part of the repartition partition's checkpoint, and
//     an events partition's checkpoint keeps its last merge time, so
//     a restart resumes the merge where it was.
//
// The marker value is a varint (encoding/binary, zig-zag) of the merge
// time in Unix nanoseconds, then one flags byte (1 = idle).
//
// Several ingest instances stamp the time of receipt with their own
// clocks, so their skew is the precision of the merge.
//
// Within one events partition the order is the topic's: events of one
// partition that are out of event time order reach the windows as they
// would in a single process reading them in that order. Rules grouped on
// the first key field never pass through the repartition topic.
//
// The wait is on the wall clock, so held copies are not released at the
// same record when a partition replays after a crash: an alert may then
// be produced again with other evidence, and ticketing attaches it to the
// incident the first one opened.
package stream
