// Package spool keeps records that a sink cannot take yet: in bounded
// memory first, then in a bounded directory of segment files, and past
// both it makes the producer wait. It sits in front of Kafka in tocsin
// ingest, so that a broker outage turns into back-pressure on the
// listeners rather than lost events, and the backlog catches up, in
// order, when the broker returns.
//
// # Order and delivery
//
// One goroutine hands batches to Options.Sink, oldest record first. While
// the disk tier holds anything, new records are written to disk too, even
// when memory has room again, so records leave in the order Publish took
// them (concurrent publishers interleave, each keeping its order). A Sink
// error retries the same batch after a back-off that doubles from
// RetryMin to RetryMax: delivery is at least once. A Sink that either
// takes a whole batch or fails without taking any of it gets every record
// exactly once, as long as the process does not crash.
//
// Sync waits until every record published before the call has left the
// buffer (bus.Syncer): acknowledging transports such as RELP call it
// before they tell a sender its messages are safe. Since records leave in
// order, it only compares a running count of the records that left with
// the count at the call, so it costs nothing per record.
//
// # Bounds
//
// The memory tier holds at most MemoryRecords records in at most
// MemoryBytes of slab. The disk tier's files never exceed MaxBytes; with a
// Dir the memory tier's records count against MaxBytes too (as the frames
// they would become), so that Close can always write them out; that last
// write may add one segment header beyond MaxBytes. A segment file is
// deleted once it was delivered to its end, so disk space comes back a
// segment at a time. When a record fits in neither tier, Publish waits;
// Full reports that state for listeners that should stop reading. Files
// left by a run with a larger MaxBytes are kept and delivered; new
// records wait until the backlog is back under the cap.
//
// # Durability
//
// Spilled records are written to the segment file (one write per
// Publish), so a crash of the process loses nothing the kernel has
// accepted. A segment is fsynced when it is closed for the next one, at
// Close, and at most once a second while it is written: a power loss can
// lose the last second of spilled records. The memory tier is written to
// disk by Close; a crash loses it. A cursor file records how far the
// oldest segment was delivered, so a restart does not deliver that part
// again (apart from a batch in flight at the crash, and, after a power
// loss, up to a second of deliveries).
//
// # Disk format
//
// Segment files are named by a 16-digit hexadecimal sequence number and
// end in ".seg"; each starts with a header (magic and format version) and
// holds records framed with a marker, their lengths and a CRC-32C (see
// format.go). Open reads every segment: a torn or damaged tail, as a
// crash mid-write leaves, is cut off; a damaged range in the middle is
// skipped to the next valid frame; a file whose header is damaged is
// renamed with ".corrupt" and left for inspection, outside MaxBytes. Each
// is logged and counted in tocsin_spool_corrupt_records_total, and loses
// at least one record. A file that claims a newer format version stops
// Open, rather than be discarded. A lock file keeps two buffers out of
// one directory.
//
// # Performance
//
// Publishing to memory copies each record's key and value once into a
// chunked slab and allocates nothing per record; batches handed to the
// Sink are slices of the ring, and disk batches slices of a reused read
// window, so delivery does not copy or allocate per record either. The
// benchmarks in this package report records per second.
//
// # Metrics
//
// Every metric carries a buffer label (Options.Name):
// tocsin_spool_memory_records, tocsin_spool_memory_bytes,
// tocsin_spool_disk_records, tocsin_spool_disk_bytes, tocsin_spool_full,
// tocsin_spool_sink_errors_total, tocsin_spool_corrupt_records_total and
// tocsin_spool_delivered_records_total.
package spool
