package chstore

// migration is one step of the schema. A released migration is never
// edited: a change is a new entry at the end. Every statement must be
// safe to run twice (CREATE ... IF NOT EXISTS), since two processes may
// start together, and must work on ClickHouse 18.16 and on current
// releases (no DateTime64, Map, LowCardinality, TTL, CODEC, Bool, JSON).
// {db} stands for the database name.
type migration struct {
	version int
	name    string
	stmts   []string
	// columns are added, when missing, before stmts run.
	columns []column
}

// column is one column a migration adds to an existing table.
type column struct {
	table, name, typ string
}

// migrations is the schema, oldest first; version i+1 is at index i.
//
// Times that need nanoseconds are Int64 nanoseconds since the Unix epoch
// in columns ending in _ns, 0 for "not set"; see encNanos. Partition keys
// are a Date column day (UTC).
var migrations = []migration{
	{1, "ticket_tables", []string{
		// One row per Apply that completed: a row of any other ticket
		// table is visible only when its batch is here. max_seq carries
		// the highest incident sequence used so far, so that IDs are not
		// reused after old incidents are dropped.
		`CREATE TABLE IF NOT EXISTS {db}.batches (
			batch     UInt64,
			version   UInt64,
			at        DateTime('UTC'),
			max_seq   Int64,
			incidents UInt32,
			alerts    UInt32,
			events    UInt32,
			changes   UInt32,
			comments  UInt32
		) ENGINE = MergeTree PARTITION BY toYYYYMM(at) ORDER BY batch`,
		// Batches whose commit row may have been written although the
		// writer saw an error, so that they stay invisible whatever
		// happened on the server. Nothing prunes it: it gains a row only
		// when a commit's outcome stays unknown, and a row is 20 bytes.
		`CREATE TABLE IF NOT EXISTS {db}.aborted_batches (
			batch  UInt64,
			at     DateTime('UTC'),
			reason String
		) ENGINE = MergeTree ORDER BY batch`,
		// One row per version of an incident: the current state is the
		// committed row with the highest version. Every version of an
		// incident has the day it was created, so it lives in one
		// partition.
		`CREATE TABLE IF NOT EXISTS {db}.incidents (
			day           Date,
			id            String,
			version       UInt64,
			batch         UInt64,
			seq           Int64,
			title         String,
			severity      UInt8,
			status        String,
			rule_id       String,
			rule_ids      Array(String),
			group_key     String,
			entity_type   Array(String),
			entity_field  Array(String),
			entity_value  Array(String),
			first_seen_ns Int64,
			last_seen_ns  Int64,
			alert_count   Int64,
			assignee      String,
			resolution    String,
			created_at_ns Int64,
			updated_at_ns Int64,
			resolved_at_ns Int64,
			quiet_from_ns Int64
		) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(day) ORDER BY (id, version)`,
		// One row per alert, by the day of its first event. body is the
		// alert as JSON without its events.
		`CREATE TABLE IF NOT EXISTS {db}.alerts (
			day           Date,
			id            String,
			batch         UInt64,
			version       UInt64,
			pos           UInt32,
			incident_id   String,
			rule_id       String,
			rule_title    String,
			severity      UInt8,
			group_key     String,
			entity_type   Array(String),
			entity_field  Array(String),
			entity_value  Array(String),
			first_seen_ns Int64,
			last_seen_ns  Int64,
			created_at_ns Int64,
			count         Int64,
			events_total  Int64,
			events_stored Int64,
			body          String
		) ENGINE = MergeTree PARTITION BY toYYYYMMDD(day) ORDER BY (id, batch)`,
		// The events behind each alert, in the alert's partition. body is
		// the event as JSON without event.original, which has its own
		// column.
		`CREATE TABLE IF NOT EXISTS {db}.alert_events (
			day          Date,
			alert_id     String,
			batch        UInt64,
			pos          UInt32,
			id           UInt64,
			timestamp_ns Int64,
			original     String,
			body         String
		) ENGINE = MergeTree PARTITION BY toYYYYMMDD(day) ORDER BY (alert_id, batch, pos)`,
		// Every change of an incident, append-only, in the month its
		// incident was created.
		`CREATE TABLE IF NOT EXISTS {db}.incident_history (
			day         Date,
			incident_id String,
			batch       UInt64,
			version     UInt64,
			pos         UInt32,
			field       String,
			old_value   String,
			new_value   String,
			actor       String,
			at_ns       Int64
		) ENGINE = MergeTree PARTITION BY toYYYYMM(day) ORDER BY (incident_id, version, pos)`,
		`CREATE TABLE IF NOT EXISTS {db}.comments (
			day         Date,
			incident_id String,
			batch       UInt64,
			version     UInt64,
			pos         UInt32,
			author      String,
			text        String,
			at_ns       Int64
		) ENGINE = MergeTree PARTITION BY toYYYYMM(day) ORDER BY (incident_id, version, pos)`,
	}, nil},
	{2, "parse_failures", []string{
		// day is the day the row was written: whole days beyond the newest
		// FailureLimit rows are dropped.
		`CREATE TABLE IF NOT EXISTS {db}.parse_failures (
			day         Date,
			written_ns  Int64,
			pos         UInt32,
			source      String,
			address     String,
			reason      String,
			detail      String,
			raw         String,
			received_ns Int64
		) ENGINE = MergeTree PARTITION BY toYYYYMMDD(day) ORDER BY (written_ns, pos)`,
	}, nil},
	{3, "event_history", []string{
		// Every normalised event, one column per field (dots become
		// underscores), by the day tocsin received it (event.created; the
		// event's own time when that is unset), so that retention keeps
		// what was received in the last days, backfilled old logs
		// included. A redelivered event has the same times and id and
		// collapses when parts merge; count with FINAL or uniqExact(id)
		// to see each event once before that.
		`CREATE TABLE IF NOT EXISTS {db}.events (
			timestamp                  DateTime('UTC'),
			timestamp_nanos            UInt32,
			id                         UInt64,
			listener                   String,
			event_kind                 String,
			event_category             String,
			event_action               String,
			event_outcome              String,
			event_reason               String,
			event_dataset              String,
			event_count                Int64,
			event_created              DateTime('UTC'),
			event_created_nanos        UInt32,
			event_original             String,
			source_ip                  String,
			source_port                Int32,
			source_domain              String,
			user_name                  String,
			user_target_name           String,
			host_name                  String,
			process_name               String,
			process_pid                Int64,
			process_command_line       String,
			ssh_method                 String,
			log_syslog_format          String,
			log_syslog_priority        Int32,
			log_syslog_facility        Int32,
			log_syslog_severity        Int32,
			log_syslog_hostname        String,
			log_syslog_appname         String,
			log_syslog_procid          String,
			log_syslog_msgid           String,
			log_syslog_structured_data String,
			log_source_address         String,
			message                    String
		) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(if(toUInt32(event_created) = 0, timestamp, event_created)) ORDER BY (timestamp, id)`,
	}, nil},
	// The fields of the formats beyond syslog authentication. The ones
	// analysts filter on get columns; every other field an event sets
	// (and each label, as "labels.NAME") is a row of the fields nested
	// column, read as fields.value[indexOf(fields.key, 'rule.id')].
	{version: 4, name: "event_fields", columns: []column{
		{"events", "event_type", "String"},
		{"events", "event_code", "String"},
		{"events", "event_severity", "Int32"},
		{"events", "user_id", "String"},
		{"events", "user_domain", "String"},
		{"events", "user_target_domain", "String"},
		{"events", "process_executable", "String"},
		{"events", "destination_ip", "String"},
		{"events", "destination_port", "Int32"},
		{"events", "destination_domain", "String"},
		{"events", "network_transport", "String"},
		{"events", "network_direction", "String"},
		{"events", "network_bytes", "Int64"},
		{"events", "observer_vendor", "String"},
		{"events", "observer_product", "String"},
		{"events", "observer_hostname", "String"},
		{"events", "rule_name", "String"},
		{"events", "threat_name", "String"},
		{"events", "file_path", "String"},
		{"events", "group_name", "String"},
		{"events", "winlog_event_id", "Int32"},
		{"events", "fields.key", "Array(String)"},
		{"events", "fields.value", "Array(String)"},
	}},
}

// migrationsTable records which migrations a database has had. Two
// processes that migrate together may both record a version; the
// ReplacingMergeTree folds them, and readers group by version.
const migrationsTable = `CREATE TABLE IF NOT EXISTS {db}.schema_migrations (
	version    UInt32,
	name       String,
	applied_at DateTime('UTC')
) ENGINE = ReplacingMergeTree ORDER BY version`
