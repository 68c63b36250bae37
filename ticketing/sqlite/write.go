package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

// timeLayout is fixed width, so stored times sort as strings.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// The layout's range. A time outside it (only a forged or broken
// timestamp gets there) is stored as the nearest end; an event's JSON
// keeps its exact value.
var (
	minTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

func encTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	switch {
	case t.Before(minTime):
		t = minTime
	case t.After(maxTime):
		t = maxTime
	}
	return t.UTC().Format(timeLayout)
}

func decTime(v sql.NullString) (time.Time, error) {
	if !v.Valid || v.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, v.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad stored time %q: %w", v.String, err)
	}
	return t, nil
}

const upsertIncident = `
INSERT INTO incidents (seq, id, title, severity, status, rule_id, rule_ids, group_key, entities,
	first_seen, last_seen, alert_count, assignee, resolution, created_at, updated_at, resolved_at, quiet_from)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	title = excluded.title, severity = excluded.severity, status = excluded.status,
	rule_id = excluded.rule_id, rule_ids = excluded.rule_ids, group_key = excluded.group_key,
	entities = excluded.entities, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
	alert_count = excluded.alert_count, assignee = excluded.assignee, resolution = excluded.resolution,
	created_at = excluded.created_at, updated_at = excluded.updated_at,
	resolved_at = excluded.resolved_at, quiet_from = excluded.quiet_from`

const insertAlert = `
INSERT INTO alerts (id, incident_id, rule_id, severity, first_seen, last_seen, events_stored, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`

const insertEvent = `
INSERT INTO events (alert_id, pos, id, timestamp, original, body) VALUES (?, ?, ?, ?, ?, ?)`

const insertChange = `
INSERT INTO changes (incident_id, field, old_value, new_value, actor, at) VALUES (?, ?, ?, ?, ?, ?)`

const insertComment = `
INSERT INTO comments (incident_id, author, body, at) VALUES (?, ?, ?, ?)`

// Apply writes b in one transaction.
func (s *Store) Apply(ctx context.Context, b *ticketing.Batch) error {
	return s.noteWrite(s.applyTx(ctx, b))
}

func (s *Store) applyTx(ctx context.Context, b *ticketing.Batch) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("cannot begin write: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.apply(ctx, tx, b); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cannot commit write: %w", err)
	}
	return nil
}

func (s *Store) apply(ctx context.Context, tx *sql.Tx, b *ticketing.Batch) error {
	if len(b.Incidents) > 0 {
		st, err := tx.PrepareContext(ctx, upsertIncident)
		if err != nil {
			return fmt.Errorf("cannot prepare incident write: %w", err)
		}
		defer st.Close()
		for i := range b.Incidents {
			if err := writeIncident(ctx, st, &b.Incidents[i]); err != nil {
				return fmt.Errorf("cannot write incident %s: %w", b.Incidents[i].ID, err)
			}
		}
	}
	if len(b.Alerts) > 0 {
		if err := writeAlerts(ctx, tx, b.Alerts); err != nil {
			return err
		}
	}
	for _, c := range b.Changes {
		if _, err := tx.ExecContext(ctx, insertChange, c.IncidentID, c.Field, c.Old, c.New, c.By, encTime(c.At)); err != nil {
			return fmt.Errorf("cannot write history of incident %s: %w", c.IncidentID, err)
		}
	}
	for _, c := range b.Comments {
		if _, err := tx.ExecContext(ctx, insertComment, c.IncidentID, c.Comment.Author, c.Comment.Text, encTime(c.Comment.At)); err != nil {
			return fmt.Errorf("cannot write comment on incident %s: %w", c.IncidentID, err)
		}
	}
	return nil
}

func writeIncident(ctx context.Context, st *sql.Stmt, r *ticketing.IncidentRecord) error {
	ruleIDs, err := json.Marshal(nonNil(r.RuleIDs))
	if err != nil {
		return err
	}
	ents, err := json.Marshal(nonNil(r.Entities))
	if err != nil {
		return err
	}
	rule := ""
	if len(r.RuleIDs) > 0 {
		rule = r.RuleIDs[0]
	}
	_, err = st.ExecContext(ctx, r.Seq, r.ID, r.Title, int(r.Severity), string(r.Status), rule,
		string(ruleIDs), r.GroupKey, string(ents), encTime(r.FirstSeen), encTime(r.LastSeen),
		r.AlertCount, r.Assignee, r.Resolution, encTime(r.CreatedAt), encTime(r.UpdatedAt),
		encTime(r.ResolvedAt), encTime(r.QuietFrom))
	return err
}

func writeAlerts(ctx context.Context, tx *sql.Tx, alerts []ticketing.AlertRecord) error {
	ast, err := tx.PrepareContext(ctx, insertAlert)
	if err != nil {
		return fmt.Errorf("cannot prepare alert write: %w", err)
	}
	defer ast.Close()
	est, err := tx.PrepareContext(ctx, insertEvent)
	if err != nil {
		return fmt.Errorf("cannot prepare event write: %w", err)
	}
	defer est.Close()
	for _, ar := range alerts {
		a := ar.Alert
		body := *a
		body.Events = nil
		js, err := json.Marshal(&body)
		if err != nil {
			return fmt.Errorf("cannot encode alert %s: %w", a.ID, err)
		}
		res, err := ast.ExecContext(ctx, a.ID, ar.IncidentID, a.RuleID, int(a.Severity),
			encTime(a.FirstSeen), encTime(a.LastSeen), len(a.Events), string(js))
		if err != nil {
			return fmt.Errorf("cannot write alert %s: %w", a.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("cannot write alert %s: %w", a.ID, err)
		}
		if n == 0 {
			continue // stored before: its events are too
		}
		for i := range a.Events {
			if err := writeEvent(ctx, est, a.ID, i, &a.Events[i]); err != nil {
				return fmt.Errorf("cannot write event %d of alert %s: %w", i, a.ID, err)
			}
		}
	}
	return nil
}

func writeEvent(ctx context.Context, st *sql.Stmt, alertID string, pos int, e *schemas.Event) error {
	// The original line has its own column; keeping it out of the JSON
	// halves the space a long line takes.
	c := *e
	c.Event.Original = ""
	js, err := json.Marshal(&c)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, alertID, pos, int64(e.ID), encTime(e.Timestamp), e.Event.Original, string(js))
	return err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

const insertFailure = `
INSERT INTO parse_failures (source, address, reason, detail, raw, received) VALUES (?, ?, ?, ?, ?, ?)`

// AddParseFailures stores fs and trims the table to the newest
// MaxParseFailures rows.
func (s *Store) AddParseFailures(ctx context.Context, fs []schemas.ParseFailure) error {
	return s.noteWrite(s.addParseFailures(ctx, fs))
}

func (s *Store) addParseFailures(ctx context.Context, fs []schemas.ParseFailure) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("cannot begin write: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	st, err := tx.PrepareContext(ctx, insertFailure)
	if err != nil {
		return fmt.Errorf("cannot prepare parse failure write: %w", err)
	}
	defer st.Close()
	for i := range fs {
		f := &fs[i]
		raw := f.Raw
		if raw == nil {
			raw = []byte{}
		}
		if _, err := st.ExecContext(ctx, f.Source, f.Address, f.Reason, f.Detail, raw, encTime(f.Received)); err != nil {
			return fmt.Errorf("cannot write parse failure: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx,
		`DELETE FROM parse_failures WHERE id <= (SELECT max(id) FROM parse_failures) - ?`, s.maxFailures); err != nil {
		return fmt.Errorf("cannot trim parse failures: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cannot commit write: %w", err)
	}
	return nil
}
