// Package chstore is the ClickHouse ticketing store of the production
// path: a ticketing.Store (incidents, alerts, the events behind them,
// history, comments, parse failures) plus the history of every event
// (WriteEvents) and retention by dropping partitions (ApplyRetention).
//
// It speaks ClickHouse's native protocol through clickhouse-go and uses
// only SQL that Debian's ClickHouse 18.16 and current releases both
// accept; a feature of newer releases is used only behind a check of the
// server's version (see Open).
//
// # Schema
//
// Open and Migrate create the database when it is missing and apply the
// numbered migrations in schema.go; schema_migrations records them. The
// tables, in the database named by Options.Database:
//
//   - events: every normalised event, one column per ECS field with dots
//     as underscores (source_ip, user_target_name, log_syslog_appname),
//     the raw line in event_original and the input in listener.
//     timestamp is a DateTime in UTC with the nanoseconds in
//     timestamp_nanos. ReplacingMergeTree ordered by (timestamp, id),
//     partitioned by the day it was received (event.created), so that
//     retention counts from arrival and a backfill of old logs is kept;
//     a redelivered event folds into one row when parts merge. Until
//     then, count with FINAL or uniqExact(id).
//   - alerts and alert_events: one row per alert (the alert as JSON in
//     body, and its rule, severity, entities and times as columns) and
//     per event behind it, partitioned by the day the engine raised the
//     alert.
//   - incidents: one row per version of an incident; the current state is
//     the committed row with the highest version. Partitioned by the month
//     the incident was created.
//   - incident_history and comments: append-only, one row per change or
//     comment, in the month of their incident's creation, so that an
//     incident's rows live and go together.
//   - parse_failures: partitioned by the day they were written.
//   - batches and aborted_batches: the commit records described below.
//
// Times that need nanoseconds in the ticket tables are Int64 nanoseconds
// since the epoch in columns ending in _ns, 0 meaning "not set".
//
// # All or nothing without transactions
//
// ClickHouse has no transactions and a process can die between two
// INSERTs. Every row Apply writes carries the ID of its batch, a random
// 64-bit number, and the batch counts only once its row in batches is
// written, last. Every read keeps only rows whose batch is in batches and
// not in aborted_batches, so a batch that failed part way, or whose
// process was killed, is never seen, by this process or the next; the
// Manager then writes it again under a new ID. When the commit row's
// INSERT reports an error, Apply asks whether the row arrived anyway: if
// it did, the batch succeeded; if the answer is no or unknown, the batch
// goes into aborted_batches before any later batch commits (and this
// process hides it at once), so that a row that lands late stays hidden.
// The rows of failed batches stay on disk, unseen, until retention drops
// their partitions.
//
// Versions order the rows of one incident: each batch takes a version
// above the last one this process wrote, above the incident's stored
// versions and at least the wall clock in nanoseconds, so that a later
// write wins even across processes. Inserts on the native protocol are
// synchronous, so a read right after Apply sees it.
//
// For an analyst's query, the current incidents are
//
//	SELECT * FROM tocsin.incidents
//	WHERE batch IN (SELECT batch FROM tocsin.batches)
//	  AND batch NOT IN (SELECT batch FROM tocsin.aborted_batches)
//	ORDER BY version DESC LIMIT 1 BY id
//
// and the same batch condition selects the committed alerts, events,
// history and comments. Each alert ID appears once among committed rows:
// Apply skips alerts already stored.
//
// # Retention
//
// ApplyRetention drops whole partitions (ALTER TABLE ... DROP PARTITION,
// a metadata operation): days of events, days of alerts with their
// events, months of incidents with their history and comments, but never
// a month that holds an incident whose current state is open or
// acknowledged. A month of batches goes when no remaining row refers to
// it. Parse failures are bounded by count: queries see the newest
// Options.FailureLimit, and days wholly older than those are dropped.
//
// # Metrics
//
// tocsin_clickhouse_write_duration_seconds{table},
// tocsin_clickhouse_rows_written_total{table} and
// tocsin_clickhouse_write_errors_total{table} count every INSERT block;
// tocsin_clickhouse_query_duration_seconds{query} times every read by
// the store operation that made it.
package chstore
