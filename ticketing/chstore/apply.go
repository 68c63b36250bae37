package chstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

const (
	incidentCols = `day, id, version, batch, seq, title, severity, status, rule_id, rule_ids, group_key,
		entity_type, entity_field, entity_value, first_seen_ns, last_seen_ns, alert_count, assignee, resolution,
		created_at_ns, updated_at_ns, resolved_at_ns, quiet_from_ns`
	alertCols = `day, id, batch, version, pos, incident_id, rule_id, rule_title, severity, group_key,
		entity_type, entity_field, entity_value, first_seen_ns, last_seen_ns, created_at_ns,
		count, events_total, events_stored, body`
	alertEventCols = `day, alert_id, batch, pos, id, timestamp_ns, original, body`
	historyCols    = `day, incident_id, batch, version, pos, field, old_value, new_value, actor, at_ns`
	commentCols    = `day, incident_id, batch, version, pos, author, text, at_ns`
	batchCols      = `batch, version, at, max_seq, incidents, alerts, events, changes, comments`
	abortedCols    = `batch, at, reason`
)

// verifyTimeout bounds the check, after a failed commit, of whether the
// commit row arrived anyway.
const verifyTimeout = 5 * time.Second

// plan is what Apply decided before writing anything.
type plan struct {
	batch     uint64
	version   uint64
	now       time.Time
	incidents []*ticketing.IncidentRecord
	// days maps an incident ID to its partition day: the day it was
	// created.
	days   map[string]time.Time
	alerts []ticketing.AlertRecord
	events int
	maxSeq int64
}

// Apply writes b so that readers see all of it or none of it.
//
// ClickHouse has no transactions, so every row Apply writes carries a
// batch ID, and the batch becomes visible when its row in the batches
// table is written, last. A failure or a kill between the writes leaves
// rows of a batch that never committed, which no read returns; the
// Manager writes the batch again under a new ID. When the commit row's
// write fails, Apply asks the server whether it arrived anyway; if it
// cannot tell, the batch is recorded in aborted_batches, before any later
// batch commits, so that it stays invisible whatever the server did.
//
// An alert whose ID is already stored is skipped with its events, as is a
// second copy within b. Alerts, changes and comments must name an
// incident of b or one already stored; otherwise nothing is written.
func (s *Store) Apply(ctx context.Context, b *ticketing.Batch) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.noteWrite(s.apply(ctx, b))
}

func (s *Store) apply(ctx context.Context, b *ticketing.Batch) error {
	if err := s.recordAborted(ctx); err != nil {
		return fmt.Errorf("cannot write: a failed earlier batch could not be marked as aborted yet: %w", err)
	}
	if b.Empty() {
		return nil
	}
	p, err := s.plan(ctx, b)
	if err != nil {
		return err
	}
	if err := s.writeRows(ctx, b, p); err != nil {
		return err
	}
	if err := s.commit(ctx, b, p); err != nil {
		return err
	}
	s.lastVersion = p.version
	s.lastSeq = p.maxSeq
	return nil
}

// plan checks b against the store and picks the batch's ID and version.
func (s *Store) plan(ctx context.Context, b *ticketing.Batch) (*plan, error) {
	p := &plan{now: s.now().UTC(), days: map[string]time.Time{}, maxSeq: s.lastSeq}
	// The last copy of an incident in b wins, as a second upsert would.
	index := map[string]int{}
	for i := range b.Incidents {
		r := &b.Incidents[i]
		if j, ok := index[r.ID]; ok {
			p.incidents[j] = r
		} else {
			index[r.ID] = len(p.incidents)
			p.incidents = append(p.incidents, r)
		}
		p.days[r.ID] = dayOf(firstSet(r.CreatedAt, p.now))
		p.maxSeq = max(p.maxSeq, r.Seq)
	}
	ids := make([]string, 0, len(p.incidents)+len(b.Alerts))
	for _, r := range p.incidents {
		ids = append(ids, r.ID)
	}
	seen := map[string]bool{}
	refer := func(id string) {
		if _, ok := index[id]; !ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, a := range b.Alerts {
		refer(a.IncidentID)
	}
	for _, c := range b.Changes {
		refer(c.IncidentID)
	}
	for _, c := range b.Comments {
		refer(c.IncidentID)
	}
	stored, err := s.storedIncidents(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("cannot check the batch's incidents: %w", err)
	}
	var top uint64
	for id, st := range stored {
		top = max(top, st.version)
		if _, ok := p.days[id]; !ok {
			p.days[id] = st.day
		}
	}
	missing := func(what, id string) error {
		if _, ok := p.days[id]; ok {
			return nil
		}
		return fmt.Errorf("cannot write %s: its incident %q is neither in the batch nor stored", what, id)
	}
	for _, a := range b.Alerts {
		if err := missing("alert "+a.Alert.ID, a.IncidentID); err != nil {
			return nil, err
		}
	}
	for _, c := range b.Changes {
		if err := missing("history of incident "+c.IncidentID, c.IncidentID); err != nil {
			return nil, err
		}
	}
	for _, c := range b.Comments {
		if err := missing("comment on incident "+c.IncidentID, c.IncidentID); err != nil {
			return nil, err
		}
	}

	if len(b.Alerts) > 0 {
		aids := make([]string, len(b.Alerts))
		for i, a := range b.Alerts {
			aids[i] = a.Alert.ID
		}
		known, err := s.knownAlerts(ctx, aids)
		if err != nil {
			return nil, fmt.Errorf("cannot check the batch's alerts: %w", err)
		}
		for _, a := range b.Alerts {
			if _, dup := known[a.Alert.ID]; dup {
				continue
			}
			known[a.Alert.ID] = struct{}{}
			p.alerts = append(p.alerts, a)
			p.events += len(a.Alert.Events)
		}
	}

	// Versions order the rows of one incident. They follow the wall
	// clock so that another process's later write still wins, and stay
	// above every version stored for the batch's incidents.
	p.version = max(s.lastVersion+1, top+1)
	if n := p.now.UnixNano(); n > 0 {
		p.version = max(p.version, uint64(n))
	}
	p.batch = rand.Uint64() | 1 // never 0, the column's default
	return p, nil
}

// storedIncident is what plan needs of a stored incident.
type storedIncident struct {
	version uint64
	day     time.Time
}

// storedIncidents returns the committed incidents among ids.
func (s *Store) storedIncidents(ctx context.Context, ids []string) (map[string]storedIncident, error) {
	defer s.met.queried(qApplyCheck, time.Now())
	out := map[string]storedIncident{}
	err := forChunks(ids, func(set groupSet) error {
		cond, args := s.where(tIncidents, "id IN ?", set)
		rows, err := s.conn.Query(ctx, s.sql(`SELECT id, max(version), any(day) FROM {db}.incidents WHERE `+cond+` GROUP BY id`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var st storedIncident
			if err := rows.Scan(&id, &st.version, &st.day); err != nil {
				return err
			}
			st.day = st.day.UTC()
			out[id] = st
		}
		return rows.Err()
	})
	return out, err
}

// writeRows writes every table but batches.
func (s *Store) writeRows(ctx context.Context, b *ticketing.Batch, p *plan) error {
	if len(p.incidents) > 0 {
		if err := s.insert(ctx, tIncidents, incidentCols, len(p.incidents), func(bb driver.Batch) error {
			for _, r := range p.incidents {
				if err := appendIncident(bb, r, p); err != nil {
					return fmt.Errorf("incident %s: %w", r.ID, err)
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if len(p.alerts) > 0 {
		if err := s.insert(ctx, tAlerts, alertCols, len(p.alerts), func(bb driver.Batch) error {
			for i, ar := range p.alerts {
				if err := appendAlert(bb, ar, i, p); err != nil {
					return fmt.Errorf("alert %s: %w", ar.Alert.ID, err)
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if p.events > 0 {
		if err := s.insert(ctx, tAlertEvents, alertEventCols, p.events, func(bb driver.Batch) error {
			for _, ar := range p.alerts {
				day := alertDay(ar.Alert, p.now)
				for i := range ar.Alert.Events {
					if err := appendAlertEvent(bb, ar.Alert.ID, day, i, &ar.Alert.Events[i], p.batch); err != nil {
						return fmt.Errorf("event %d of alert %s: %w", i, ar.Alert.ID, err)
					}
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if len(b.Changes) > 0 {
		if err := s.insert(ctx, tHistory, historyCols, len(b.Changes), func(bb driver.Batch) error {
			for i, c := range b.Changes {
				if err := bb.Append(p.days[c.IncidentID], c.IncidentID, p.batch, p.version, uint32(i),
					c.Field, c.Old, c.New, c.By, encNanos(c.At)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if len(b.Comments) > 0 {
		if err := s.insert(ctx, tComments, commentCols, len(b.Comments), func(bb driver.Batch) error {
			for i, c := range b.Comments {
				if err := bb.Append(p.days[c.IncidentID], c.IncidentID, p.batch, p.version, uint32(i),
					c.Comment.Author, c.Comment.Text, encNanos(c.Comment.At)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func appendIncident(bb driver.Batch, r *ticketing.IncidentRecord, p *plan) error {
	rule := ""
	if len(r.RuleIDs) > 0 {
		rule = r.RuleIDs[0]
	}
	et, ef, ev := splitEntities(r.Entities)
	return bb.Append(p.days[r.ID], r.ID, p.version, p.batch, r.Seq, r.Title, uint8(r.Severity), string(r.Status),
		rule, nonNil(r.RuleIDs), r.GroupKey, et, ef, ev, encNanos(r.FirstSeen), encNanos(r.LastSeen),
		int64(r.AlertCount), r.Assignee, r.Resolution, encNanos(r.CreatedAt), encNanos(r.UpdatedAt),
		encNanos(r.ResolvedAt), encNanos(r.QuietFrom))
}

// alertDay is an alert's partition day: the day the engine raised it,
// else of its first event, else of the write. Retention so counts from
// detection, and an alert on a backfill of old logs is kept.
func alertDay(a *schemas.Alert, now time.Time) time.Time {
	return dayOf(firstSet(a.CreatedAt, a.FirstSeen, now))
}

func appendAlert(bb driver.Batch, ar ticketing.AlertRecord, pos int, p *plan) error {
	a := ar.Alert
	body := *a
	body.Events = nil
	js, err := json.Marshal(&body)
	if err != nil {
		return err
	}
	et, ef, ev := splitEntities(a.Entities)
	return bb.Append(alertDay(a, p.now), a.ID, p.batch, p.version, uint32(pos), ar.IncidentID, a.RuleID,
		a.RuleTitle, uint8(a.Severity), a.GroupKey, et, ef, ev, encNanos(a.FirstSeen), encNanos(a.LastSeen),
		encNanos(a.CreatedAt), int64(a.Count), int64(a.EventsTotal), int64(len(a.Events)), string(js))
}

func appendAlertEvent(bb driver.Batch, alertID string, day time.Time, pos int, e *schemas.Event, batch uint64) error {
	// The original line has its own column: it keeps bytes that are not
	// UTF-8, which JSON would replace.
	c := *e
	c.Event.Original = ""
	js, err := json.Marshal(&c)
	if err != nil {
		return err
	}
	return bb.Append(day, alertID, batch, uint32(pos), e.ID, encNanos(e.Timestamp), e.Event.Original, string(js))
}

func splitEntities(es []schemas.Entity) (types, fields, values []string) {
	types = make([]string, len(es))
	fields = make([]string, len(es))
	values = make([]string, len(es))
	for i, e := range es {
		types[i], fields[i], values[i] = e.Type, e.Field, e.Value
	}
	return types, fields, values
}

func joinEntities(types, fields, values []string) []schemas.Entity {
	n := min(len(types), len(fields), len(values))
	es := make([]schemas.Entity, n)
	for i := range n {
		es[i] = schemas.Entity{Type: types[i], Field: fields[i], Value: values[i]}
	}
	return es
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// commit writes the batch's row, which makes it visible.
func (s *Store) commit(ctx context.Context, b *ticketing.Batch, p *plan) error {
	err := s.insert(ctx, tBatches, batchCols, 1, func(bb driver.Batch) error {
		return bb.Append(p.batch, p.version, clampDateTime(p.now), p.maxSeq, uint32(len(p.incidents)),
			uint32(len(p.alerts)), uint32(p.events), uint32(len(b.Changes)), uint32(len(b.Comments)))
	})
	if err == nil {
		return nil
	}
	vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), verifyTimeout)
	defer cancel()
	var n uint64
	verr := s.injected("verify")
	if verr == nil {
		verr = s.conn.QueryRow(vctx, s.sql(`SELECT count() FROM {db}.batches WHERE batch = ?`), p.batch).Scan(&n)
	}
	if verr == nil && n > 0 {
		s.log.Warn().Err(err).Uint64("batch", p.batch).Msg("the commit write reported an error but arrived; the batch is committed")
		return nil
	}
	// The server may still be processing the write, or the check could
	// not run: make sure the batch never shows.
	s.abort(vctx, p.batch, err)
	return fmt.Errorf("cannot commit the batch: %w", err)
}

// abort marks batch as never to be shown: at once for this process's
// reads, and in aborted_batches for every process as soon as it can be
// written (Apply writes nothing else until then).
func (s *Store) abort(ctx context.Context, batch uint64, cause error) {
	s.amu.Lock()
	s.aborted = append(s.aborted, batch)
	s.amu.Unlock()
	s.log.Warn().Err(cause).Uint64("batch", batch).Msg("marking a batch whose commit failed as aborted")
	if err := s.recordAborted(ctx); err != nil {
		s.log.Warn().Err(err).Uint64("batch", batch).Msg("cannot record the aborted batch yet; the next write retries")
	}
}

// recordAborted writes the pending aborted batches to aborted_batches.
func (s *Store) recordAborted(ctx context.Context) error {
	s.amu.Lock()
	pending := append([]uint64(nil), s.aborted...)
	s.amu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	at := clampDateTime(s.now())
	err := s.insert(ctx, tAborted, abortedCols, len(pending), func(bb driver.Batch) error {
		for _, b := range pending {
			if err := bb.Append(b, at, "commit failed"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.amu.Lock()
	s.aborted = s.aborted[len(pending):]
	s.amu.Unlock()
	return nil
}

// where returns the condition "filter, and the row's batch committed" for
// a query on table, with its arguments: filter's args twice, since the
// check looks up only the batches of the rows filter selects.
func (s *Store) where(table, filter string, args ...any) (string, []any) {
	var b strings.Builder
	b.WriteString(filter)
	b.WriteString(" AND batch IN (SELECT batch FROM ")
	b.WriteString(s.db)
	b.WriteString(".batches WHERE batch IN (SELECT batch FROM ")
	b.WriteString(s.db)
	b.WriteByte('.')
	b.WriteString(table)
	b.WriteString(" WHERE ")
	b.WriteString(filter)
	b.WriteString(")) AND batch NOT IN (SELECT batch FROM ")
	b.WriteString(s.db)
	b.WriteString(".aborted_batches)")
	s.amu.Lock()
	if len(s.aborted) > 0 {
		b.WriteString(" AND batch NOT IN (")
		for i, id := range s.aborted {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatUint(id, 10))
		}
		b.WriteByte(')')
	}
	s.amu.Unlock()
	all := make([]any, 0, 2*len(args))
	all = append(all, args...)
	all = append(all, args...)
	return b.String(), all
}

// errBadRow marks a stored row that does not decode.
var errBadRow = errors.New("bad stored row")
