package chstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

// groupSet renders as a parenthesised list: "id IN ?" with a groupSet.
type groupSet = clickhouse.GroupSet

// Bounds on one IN list: ClickHouse refuses queries over 256 KiB
// (max_query_size), and the where helper repeats the list.
const (
	chunkIDs   = 1000
	chunkBytes = 48 << 10
)

// forChunks calls fn with ids cut into lists that keep a query small.
func forChunks(ids []string, fn func(groupSet) error) error {
	for len(ids) > 0 {
		n, size := 0, 0
		for n < len(ids) && n < chunkIDs && (n == 0 || size+len(ids[n]) <= chunkBytes) {
			size += len(ids[n]) + 4
			n++
		}
		vals := make([]any, n)
		for i, id := range ids[:n] {
			vals[i] = id
		}
		if err := fn(groupSet{Value: vals}); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// incidentSelect lists the incident columns that reads decode, in
// scanIncident's order.
const incidentSelect = `seq, id, title, severity, status, rule_ids, group_key, entity_type, entity_field,
	entity_value, first_seen_ns, last_seen_ns, alert_count, assignee, resolution, created_at_ns,
	updated_at_ns, resolved_at_ns, quiet_from_ns, rule_id`

// latestIncidents is a subquery of the newest committed row of each
// incident that filter selects, at or below version upTo when upTo is
// not zero.
func (s *Store) latestIncidents(filter string, upTo uint64, args ...any) (string, []any) {
	cond, all := s.where(tIncidents, filter, args...)
	if upTo > 0 {
		cond += " AND version <= " + strconv.FormatUint(upTo, 10)
	}
	return `(SELECT ` + incidentSelect + ` FROM ` + s.db + `.incidents WHERE ` + cond +
		` ORDER BY version DESC LIMIT 1 BY id)`, all
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

type scanner interface{ Scan(dest ...any) error }

func scanIncident(sc scanner) (ticketing.IncidentRecord, error) {
	var (
		r                                       ticketing.IncidentRecord
		sev                                     uint8
		status, rule                            string
		et, ef, ev                              []string
		first, last, created, updated, resolved int64
		quiet, count                            int64
	)
	if err := sc.Scan(&r.Seq, &r.ID, &r.Title, &sev, &status, &r.RuleIDs, &r.GroupKey, &et, &ef, &ev,
		&first, &last, &count, &r.Assignee, &r.Resolution, &created, &updated, &resolved, &quiet, &rule); err != nil {
		return r, err
	}
	r.Severity = schemas.Severity(sev)
	r.Status = schemas.Status(status)
	r.Entities = joinEntities(et, ef, ev)
	r.AlertCount = int(count)
	r.FirstSeen, r.LastSeen = decNanos(first), decNanos(last)
	r.CreatedAt, r.UpdatedAt, r.ResolvedAt = decNanos(created), decNanos(updated), decNanos(resolved)
	r.QuietFrom = decNanos(quiet)
	return r, nil
}

// collect runs q and calls fn for each row.
func (s *Store) collect(ctx context.Context, q string, args []any, fn func(driver.Rows) error) error {
	rows, err := s.conn.Query(ctx, q, args...)
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

// LoadActive returns the open and acknowledged incidents, oldest first,
// and the highest incident sequence ever committed: of the incidents
// still stored, or carried in the batches table for those dropped.
func (s *Store) LoadActive(ctx context.Context) (ticketing.State, error) {
	defer s.met.queried(qLoadActive, time.Now())
	var st ticketing.State
	var fromBatches int64
	if err := s.conn.QueryRow(ctx, s.sql(`SELECT max(max_seq) FROM {db}.batches`)).Scan(&fromBatches); err != nil {
		return st, fmt.Errorf("cannot read incident sequence: %w", err)
	}
	cond, args := s.where(tIncidents, "1")
	if err := s.conn.QueryRow(ctx, s.sql(`SELECT max(seq) FROM {db}.incidents WHERE `+cond), args...).Scan(&st.LastSeq); err != nil {
		return st, fmt.Errorf("cannot read incident sequence: %w", err)
	}
	st.LastSeq = max(st.LastSeq, fromBatches)
	sub, args := s.latestIncidents("1", 0)
	err := s.collect(ctx, `SELECT `+incidentSelect+` FROM `+sub+` WHERE status IN ('open', 'acknowledged') ORDER BY seq`, args,
		func(rows driver.Rows) error {
			r, err := scanIncident(rows)
			if err != nil {
				return err
			}
			st.Active = append(st.Active, r)
			return nil
		})
	if err != nil {
		return st, fmt.Errorf("cannot read active incidents: %w", err)
	}
	return st, nil
}

// KnownAlerts returns the ids among ids that are stored, in queries of
// at most a thousand ids.
func (s *Store) KnownAlerts(ctx context.Context, ids []string) (map[string]struct{}, error) {
	defer s.met.queried(qKnownAlerts, time.Now())
	known, err := s.knownAlerts(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("cannot look up alerts: %w", err)
	}
	return known, nil
}

func (s *Store) knownAlerts(ctx context.Context, ids []string) (map[string]struct{}, error) {
	known := map[string]struct{}{}
	err := forChunks(ids, func(set groupSet) error {
		cond, args := s.where(tAlerts, "id IN ?", set)
		return s.collect(ctx, s.sql(`SELECT DISTINCT id FROM {db}.alerts WHERE `+cond), args, func(rows driver.Rows) error {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			known[id] = struct{}{}
			return nil
		})
	})
	return known, err
}

// Incident returns one incident's current state with its comments.
func (s *Store) Incident(ctx context.Context, id string) (ticketing.IncidentRecord, error) {
	defer s.met.queried(qIncident, time.Now())
	sub, args := s.latestIncidents("id = ?", 0, id)
	r, err := scanIncident(s.conn.QueryRow(ctx, `SELECT `+incidentSelect+` FROM `+sub, args...))
	if err != nil {
		if isNoRows(err) {
			return r, ticketing.ErrNotFound
		}
		return r, fmt.Errorf("cannot read incident %s: %w", id, err)
	}
	cond, args := s.where(tComments, "incident_id = ?", id)
	err = s.collect(ctx, s.sql(`SELECT author, text, at_ns FROM {db}.comments WHERE `+cond+` ORDER BY version, pos`), args,
		func(rows driver.Rows) error {
			var c schemas.Comment
			var at int64
			if err := rows.Scan(&c.Author, &c.Text, &at); err != nil {
				return err
			}
			c.At = decNanos(at)
			r.Comments = append(r.Comments, c)
			return nil
		})
	if err != nil {
		return r, fmt.Errorf("cannot read comments of incident %s: %w", id, err)
	}
	return r, nil
}

// Incidents lists the incidents that match q, newest first. The page and
// the total are read at the same committed version, so that they agree.
func (s *Store) Incidents(ctx context.Context, q ticketing.IncidentQuery) ([]schemas.Incident, int, error) {
	defer s.met.queried(qIncidents, time.Now())
	var upTo uint64
	if err := s.conn.QueryRow(ctx, s.sql(`SELECT max(version) FROM {db}.batches`)).Scan(&upTo); err != nil {
		return nil, 0, fmt.Errorf("cannot list incidents: %w", err)
	}
	list := []schemas.Incident{}
	if upTo == 0 {
		return list, 0, nil
	}
	sub, args := s.latestIncidents("1", upTo)
	cond := " WHERE 1"
	if q.Status != "" {
		cond += " AND status = ?"
		args = append(args, string(q.Status))
	}
	if q.Severity != nil {
		cond += " AND severity = ?"
		args = append(args, uint8(*q.Severity))
	}
	if q.MinSeverity != nil {
		cond += " AND severity >= ?"
		args = append(args, uint8(*q.MinSeverity))
	}
	if q.RuleID != "" {
		cond += " AND rule_id = ?"
		args = append(args, q.RuleID)
	}
	var total uint64
	if err := s.conn.QueryRow(ctx, `SELECT count() FROM `+sub+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("cannot count incidents: %w", err)
	}
	err := s.collect(ctx, `SELECT `+incidentSelect+` FROM `+sub+cond+` ORDER BY seq DESC`+limit(q.Page), args,
		func(rows driver.Rows) error {
			r, err := scanIncident(rows)
			list = append(list, r.Incident)
			return err
		})
	if err != nil {
		return nil, 0, fmt.Errorf("cannot list incidents: %w", err)
	}
	return list, int(total), nil
}

// limit renders p as a LIMIT clause; a zero Limit means no limit.
func limit(p ticketing.Page) string {
	off := max(p.Offset, 0)
	switch {
	case p.Limit > 0:
		return " LIMIT " + strconv.Itoa(off) + ", " + strconv.Itoa(p.Limit)
	case off > 0:
		return " LIMIT " + strconv.Itoa(off) + ", " + strconv.FormatInt(1<<62, 10)
	}
	return ""
}

// Alerts lists an incident's alerts oldest first.
func (s *Store) Alerts(ctx context.Context, incidentID string, p ticketing.Page) ([]ticketing.StoredAlert, int, error) {
	defer s.met.queried(qAlerts, time.Now())
	cond, args := s.where(tAlerts, "incident_id = ?", incidentID)
	var total uint64
	if err := s.conn.QueryRow(ctx, s.sql(`SELECT uniqExact(id) FROM {db}.alerts WHERE `+cond), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("cannot count alerts of incident %s: %w", incidentID, err)
	}
	list := []ticketing.StoredAlert{}
	// A batch committed twice would hold an alert twice; the first copy
	// counts.
	err := s.collect(ctx, s.sql(`SELECT incident_id, events_stored, body FROM {db}.alerts WHERE `+cond+
		` ORDER BY version, pos LIMIT 1 BY id`+limit(p)), args,
		func(rows driver.Rows) error {
			var a ticketing.StoredAlert
			var stored int64
			var body string
			if err := rows.Scan(&a.IncidentID, &stored, &body); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(body), &a.Alert); err != nil {
				return fmt.Errorf("%w: alert body: %w", errBadRow, err)
			}
			a.EventsStored = int(stored)
			list = append(list, a)
			return nil
		})
	if err != nil {
		return nil, 0, fmt.Errorf("cannot list alerts of incident %s: %w", incidentID, err)
	}
	return list, int(total), nil
}

// Events lists the events stored for an alert, oldest first.
func (s *Store) Events(ctx context.Context, alertID string, p ticketing.Page) ([]schemas.Event, int, error) {
	defer s.met.queried(qEvents, time.Now())
	list := []schemas.Event{}
	// The events are those written with the alert's first committed row.
	cond, args := s.where(tAlerts, "id = ?", alertID)
	var batch uint64
	err := s.conn.QueryRow(ctx, s.sql(`SELECT batch FROM {db}.alerts WHERE `+cond+` ORDER BY version LIMIT 1`), args...).Scan(&batch)
	if isNoRows(err) {
		return list, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("cannot find alert %s: %w", alertID, err)
	}
	var total uint64
	if err := s.conn.QueryRow(ctx, s.sql(`SELECT count() FROM {db}.alert_events WHERE alert_id = ? AND batch = ?`),
		alertID, batch).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("cannot count events of alert %s: %w", alertID, err)
	}
	err = s.collect(ctx, s.sql(`SELECT original, body FROM {db}.alert_events WHERE alert_id = ? AND batch = ? ORDER BY pos`+limit(p)),
		[]any{alertID, batch}, func(rows driver.Rows) error {
			var e schemas.Event
			var orig, body string
			if err := rows.Scan(&orig, &body); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				return fmt.Errorf("%w: event body: %w", errBadRow, err)
			}
			e.Event.Original = orig
			list = append(list, e)
			return nil
		})
	if err != nil {
		return nil, 0, fmt.Errorf("cannot list events of alert %s: %w", alertID, err)
	}
	return list, int(total), nil
}

// History lists an incident's changes oldest first.
func (s *Store) History(ctx context.Context, incidentID string) ([]schemas.Change, error) {
	defer s.met.queried(qHistory, time.Now())
	list := []schemas.Change{}
	cond, args := s.where(tHistory, "incident_id = ?", incidentID)
	err := s.collect(ctx, s.sql(`SELECT incident_id, field, old_value, new_value, actor, at_ns FROM {db}.incident_history WHERE `+
		cond+` ORDER BY version, pos`), args,
		func(rows driver.Rows) error {
			var c schemas.Change
			var at int64
			if err := rows.Scan(&c.IncidentID, &c.Field, &c.Old, &c.New, &c.By, &at); err != nil {
				return err
			}
			c.At = decNanos(at)
			list = append(list, c)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("cannot read history of incident %s: %w", incidentID, err)
	}
	return list, nil
}
