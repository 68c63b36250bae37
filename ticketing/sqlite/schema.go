package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order at Open; PRAGMA user_version counts how
// many a database has had. A released migration is never edited: a change
// is a new entry at the end.
//
// Times are TEXT in one fixed-width UTC layout (see timeLayout), so that
// they sort as strings, keep nanoseconds, and cover years 0000-9999,
// which integer nanoseconds would not; NULL stands for the zero time.
var migrations = []string{
	// 1: the first schema.
	`
CREATE TABLE incidents (
	seq         INTEGER PRIMARY KEY,
	id          TEXT    NOT NULL UNIQUE,
	title       TEXT    NOT NULL,
	severity    INTEGER NOT NULL,
	status      TEXT    NOT NULL,
	rule_id     TEXT    NOT NULL,
	rule_ids    TEXT    NOT NULL, -- JSON array
	group_key   TEXT    NOT NULL,
	entities    TEXT    NOT NULL, -- JSON array of schemas.Entity
	first_seen  TEXT,
	last_seen   TEXT,
	alert_count INTEGER NOT NULL,
	assignee    TEXT    NOT NULL,
	resolution  TEXT    NOT NULL,
	created_at  TEXT,
	updated_at  TEXT,
	resolved_at TEXT,
	quiet_from  TEXT
);
CREATE INDEX incidents_status   ON incidents (status, seq);
CREATE INDEX incidents_severity ON incidents (severity, seq);
CREATE INDEX incidents_rule     ON incidents (rule_id, seq);

CREATE TABLE alerts (
	seq           INTEGER PRIMARY KEY,
	id            TEXT    NOT NULL UNIQUE,
	incident_id   TEXT    NOT NULL REFERENCES incidents (id),
	rule_id       TEXT    NOT NULL,
	severity      INTEGER NOT NULL,
	first_seen    TEXT,
	last_seen     TEXT,
	events_stored INTEGER NOT NULL,
	body          TEXT    NOT NULL -- JSON schemas.Alert without events
);
CREATE INDEX alerts_incident ON alerts (incident_id, seq);

-- One row per event behind an alert; an event behind two alerts is stored
-- twice. id holds the uint64 event ID's bits as a signed integer.
CREATE TABLE events (
	alert_id  TEXT    NOT NULL REFERENCES alerts (id),
	pos       INTEGER NOT NULL,
	id        INTEGER NOT NULL,
	timestamp TEXT,
	original  TEXT    NOT NULL,
	body      TEXT    NOT NULL, -- JSON schemas.Event without event.original
	PRIMARY KEY (alert_id, pos)
) WITHOUT ROWID;
CREATE INDEX events_id        ON events (id);
CREATE INDEX events_timestamp ON events (timestamp);

CREATE TABLE changes (
	seq         INTEGER PRIMARY KEY,
	incident_id TEXT NOT NULL REFERENCES incidents (id),
	field       TEXT NOT NULL,
	old_value   TEXT NOT NULL,
	new_value   TEXT NOT NULL,
	actor       TEXT NOT NULL,
	at          TEXT
);
CREATE INDEX changes_incident ON changes (incident_id, seq);

CREATE TABLE comments (
	seq         INTEGER PRIMARY KEY,
	incident_id TEXT NOT NULL REFERENCES incidents (id),
	author      TEXT NOT NULL,
	body        TEXT NOT NULL,
	at          TEXT
);
CREATE INDEX comments_incident ON comments (incident_id, seq);

-- AUTOINCREMENT keeps ids growing after the oldest rows are trimmed, so
-- that retention can trim by id.
CREATE TABLE parse_failures (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	source   TEXT NOT NULL,
	address  TEXT NOT NULL,
	reason   TEXT NOT NULL,
	detail   TEXT NOT NULL,
	raw      BLOB NOT NULL,
	received TEXT
);
CREATE INDEX parse_failures_reason ON parse_failures (reason, id);
CREATE INDEX parse_failures_source ON parse_failures (source, id);
`,
}

// migrate brings db to the newest schema, one transaction per step.
func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("cannot read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this tocsin knows (%d): run a newer tocsin or restore a backup", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if err := step(ctx, db, i); err != nil {
			return fmt.Errorf("cannot migrate database to schema version %d: %w", i+1, err)
		}
	}
	return nil
}

func step(ctx context.Context, db *sql.DB, i int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
		return err
	}
	// PRAGMA takes no bound parameters; i is ours, not user input.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
		return err
	}
	return tx.Commit()
}
