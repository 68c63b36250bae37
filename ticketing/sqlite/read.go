package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

const incidentColumns = `seq, id, title, severity, status, rule_ids, group_key, entities,
	first_seen, last_seen, alert_count, assignee, resolution, created_at, updated_at, resolved_at, quiet_from`

type scanner interface{ Scan(dest ...any) error }

func scanIncident(sc scanner) (ticketing.IncidentRecord, error) {
	var (
		r                                      ticketing.IncidentRecord
		sev                                    int
		status, ruleIDs, ents                  string
		first, last, created, updated, resolve sql.NullString
		quiet                                  sql.NullString
	)
	if err := sc.Scan(&r.Seq, &r.ID, &r.Title, &sev, &status, &ruleIDs, &r.GroupKey, &ents,
		&first, &last, &r.AlertCount, &r.Assignee, &r.Resolution, &created, &updated, &resolve, &quiet); err != nil {
		return r, err
	}
	r.Severity = schemas.Severity(sev)
	r.Status = schemas.Status(status)
	if err := json.Unmarshal([]byte(ruleIDs), &r.RuleIDs); err != nil {
		return r, fmt.Errorf("bad rule ids of incident %s: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(ents), &r.Entities); err != nil {
		return r, fmt.Errorf("bad entities of incident %s: %w", r.ID, err)
	}
	var err error
	if r.FirstSeen, err = decTime(first); err != nil {
		return r, err
	}
	if r.LastSeen, err = decTime(last); err != nil {
		return r, err
	}
	if r.CreatedAt, err = decTime(created); err != nil {
		return r, err
	}
	if r.UpdatedAt, err = decTime(updated); err != nil {
		return r, err
	}
	if r.ResolvedAt, err = decTime(resolve); err != nil {
		return r, err
	}
	if r.QuietFrom, err = decTime(quiet); err != nil {
		return r, err
	}
	return r, nil
}

// LoadActive returns the open and acknowledged incidents and the highest
// sequence used.
func (s *Store) LoadActive(ctx context.Context) (ticketing.State, error) {
	var st ticketing.State
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM incidents`).Scan(&st.LastSeq); err != nil {
		return st, fmt.Errorf("cannot read incident sequence: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+incidentColumns+` FROM incidents
		WHERE status IN ('open', 'acknowledged') ORDER BY seq`)
	if err != nil {
		return st, fmt.Errorf("cannot read active incidents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanIncident(rows)
		if err != nil {
			return st, fmt.Errorf("cannot read active incidents: %w", err)
		}
		st.Active = append(st.Active, r)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("cannot read active incidents: %w", err)
	}
	return st, nil
}

// KnownAlerts returns the ids among ids that are stored.
func (s *Store) KnownAlerts(ctx context.Context, ids []string) (map[string]struct{}, error) {
	known := map[string]struct{}{}
	// SQLite allows 32766 bound parameters; stay well below.
	const chunk = 500
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		q := `SELECT id FROM alerts WHERE id IN (?` + strings.Repeat(", ?", n-1) + `)`
		if err := s.collect(ctx, q, args, func(rows *sql.Rows) error {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			known[id] = struct{}{}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("cannot look up alerts: %w", err)
		}
		ids = ids[n:]
	}
	return known, nil
}

// collect runs a query on the read pool and calls fn for each row. A
// reader sees every transaction the writer committed before the query
// began.
func (s *Store) collect(ctx context.Context, q string, args []any, fn func(*sql.Rows) error) error {
	return collectFrom(ctx, s.r, q, args, fn)
}

// querier is what collectFrom reads through: the read pool or one
// read transaction.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func collectFrom(ctx context.Context, db querier, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Incident returns one incident with its comments.
func (s *Store) Incident(ctx context.Context, id string) (ticketing.IncidentRecord, error) {
	r, err := scanIncident(s.r.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ticketing.ErrNotFound
	}
	if err != nil {
		return r, err
	}
	err = s.collect(ctx, `SELECT author, body, at FROM comments WHERE incident_id = ? ORDER BY seq`, []any{id},
		func(rows *sql.Rows) error {
			var c schemas.Comment
			var at sql.NullString
			if err := rows.Scan(&c.Author, &c.Text, &at); err != nil {
				return err
			}
			var err error
			c.At, err = decTime(at)
			r.Comments = append(r.Comments, c)
			return err
		})
	return r, err
}

// Incidents lists incidents newest first.
func (s *Store) Incidents(ctx context.Context, q ticketing.IncidentQuery) ([]schemas.Incident, int, error) {
	var where []string
	var args []any
	if q.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(q.Status))
	}
	if q.Severity != nil {
		where = append(where, "severity = ?")
		args = append(args, int(*q.Severity))
	}
	if q.MinSeverity != nil {
		where = append(where, "severity >= ?")
		args = append(args, int(*q.MinSeverity))
	}
	if q.RuleID != "" {
		where = append(where, "rule_id = ?")
		args = append(args, q.RuleID)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	// The count and the page come from one snapshot, so that a total
	// never disagrees with the page beside it.
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = tx.Rollback() }()
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM incidents`+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	list := []schemas.Incident{}
	args = append(args, limit(q.Limit), q.Offset)
	err = collectFrom(ctx, tx, `SELECT `+incidentColumns+` FROM incidents`+cond+` ORDER BY seq DESC LIMIT ? OFFSET ?`, args,
		func(rows *sql.Rows) error {
			r, err := scanIncident(rows)
			list = append(list, r.Incident)
			return err
		})
	return list, total, err
}

// limit maps a non-positive limit to "no limit", as SQLite spells it.
func limit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// Alerts lists an incident's alerts oldest first.
func (s *Store) Alerts(ctx context.Context, incidentID string, p ticketing.Page) ([]ticketing.StoredAlert, int, error) {
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM alerts WHERE incident_id = ?`, incidentID).Scan(&total); err != nil {
		return nil, 0, err
	}
	list := []ticketing.StoredAlert{}
	err := s.collect(ctx, `SELECT incident_id, events_stored, body FROM alerts WHERE incident_id = ?
		ORDER BY seq LIMIT ? OFFSET ?`, []any{incidentID, limit(p.Limit), p.Offset},
		func(rows *sql.Rows) error {
			var a ticketing.StoredAlert
			var body string
			if err := rows.Scan(&a.IncidentID, &a.EventsStored, &body); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(body), &a.Alert); err != nil {
				return fmt.Errorf("bad stored alert: %w", err)
			}
			list = append(list, a)
			return nil
		})
	return list, total, err
}

// Events lists the events stored for an alert, oldest first.
func (s *Store) Events(ctx context.Context, alertID string, p ticketing.Page) ([]schemas.Event, int, error) {
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE alert_id = ?`, alertID).Scan(&total); err != nil {
		return nil, 0, err
	}
	list := []schemas.Event{}
	err := s.collect(ctx, `SELECT original, body FROM events WHERE alert_id = ? ORDER BY pos LIMIT ? OFFSET ?`,
		[]any{alertID, limit(p.Limit), p.Offset},
		func(rows *sql.Rows) error {
			var e schemas.Event
			var orig, body string
			if err := rows.Scan(&orig, &body); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				return fmt.Errorf("bad stored event: %w", err)
			}
			e.Event.Original = orig
			list = append(list, e)
			return nil
		})
	return list, total, err
}

// History lists an incident's changes oldest first.
func (s *Store) History(ctx context.Context, incidentID string) ([]schemas.Change, error) {
	list := []schemas.Change{}
	err := s.collect(ctx, `SELECT incident_id, field, old_value, new_value, actor, at FROM changes
		WHERE incident_id = ? ORDER BY seq`, []any{incidentID},
		func(rows *sql.Rows) error {
			var c schemas.Change
			var at sql.NullString
			if err := rows.Scan(&c.IncidentID, &c.Field, &c.Old, &c.New, &c.By, &at); err != nil {
				return err
			}
			var err error
			c.At, err = decTime(at)
			list = append(list, c)
			return err
		})
	return list, err
}

// ParseFailures lists parse failures newest first.
func (s *Store) ParseFailures(ctx context.Context, q ticketing.FailureQuery) (ticketing.FailurePage, error) {
	page := ticketing.FailurePage{Failures: []schemas.ParseFailure{}, ByReason: map[string]int{}}
	var where []string
	var args []any
	if q.Source != "" {
		where = append(where, "source = ?")
		args = append(args, q.Source)
	}
	srcCond := ""
	if len(where) > 0 {
		srcCond = " WHERE " + strings.Join(where, " AND ")
	}
	err := s.collect(ctx, `SELECT reason, count(*) FROM parse_failures`+srcCond+` GROUP BY reason`, args,
		func(rows *sql.Rows) error {
			var reason string
			var n int
			if err := rows.Scan(&reason, &n); err != nil {
				return err
			}
			page.ByReason[reason] = n
			return nil
		})
	if err != nil {
		return page, err
	}
	if q.Reason != "" {
		where = append(where, "reason = ?")
		args = append(args, q.Reason)
		page.Total = page.ByReason[q.Reason]
	} else {
		for _, n := range page.ByReason {
			page.Total += n
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit(q.Limit), q.Offset)
	err = s.collect(ctx, `SELECT source, address, reason, detail, raw, received FROM parse_failures`+cond+
		` ORDER BY id DESC LIMIT ? OFFSET ?`, args,
		func(rows *sql.Rows) error {
			var f schemas.ParseFailure
			var rec sql.NullString
			if err := rows.Scan(&f.Source, &f.Address, &f.Reason, &f.Detail, &f.Raw, &rec); err != nil {
				return err
			}
			var err error
			f.Received, err = decTime(rec)
			page.Failures = append(page.Failures, f)
			return err
		})
	return page, err
}
