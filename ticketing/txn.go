package ticketing

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// txn collects the changes of one Handle, Sweep or Patch call on working
// copies of the incidents it touches. The Manager's index changes only in
// commit, after the store accepted the batch, so a failed write leaves
// the Manager as it was.
type txn struct {
	m   *Manager
	now time.Time
	seq int64
	// work maps incident ID to its working copy, in order of first touch.
	work  map[string]*IncidentRecord
	order []string
	// was records, per touched incident that was active before, its
	// severity then (for the open-incidents gauge).
	was map[string]schemas.Severity
	// keys overrides the Manager's index: the incident now active for a
	// key, or nil when the key's incident was resolved in this txn.
	keys map[string]*IncidentRecord
	// fresh records the severity at opening of the incidents opened
	// in this txn.
	fresh  map[string]schemas.Severity
	counts map[string]int
	notes  []notification
}

// notification is a webhook event decided in a txn, sent after commit.
// It holds copies: the alert batch belongs to the publisher once Handle
// returns.
type notification struct {
	event    string
	previous schemas.Severity
	incident schemas.Incident
	alert    AlertSummary
}

// Webhook event names.
const (
	EventOpened         = "incident.opened"
	EventSeverityRaised = "incident.severity_raised"
)

func (m *Manager) begin() *txn {
	m.batch.Reset()
	return &txn{
		m:      m,
		now:    m.now().UTC(),
		seq:    m.seq,
		work:   map[string]*IncidentRecord{},
		was:    map[string]schemas.Severity{},
		keys:   map[string]*IncidentRecord{},
		fresh:  map[string]schemas.Severity{},
		counts: map[string]int{},
	}
}

// lookup returns the working copy of the active incident for key, or nil.
func (tx *txn) lookup(key string) *IncidentRecord {
	if r, ok := tx.keys[key]; ok {
		return r
	}
	r, ok := tx.m.active[key]
	if !ok {
		return nil
	}
	return tx.touch(r)
}

// touch returns the working copy of r, making one on first use.
func (tx *txn) touch(r *IncidentRecord) *IncidentRecord {
	if w, ok := tx.work[r.ID]; ok {
		return w
	}
	w := *r
	w.Entities = slices.Clone(r.Entities)
	w.RuleIDs = slices.Clone(r.RuleIDs)
	w.Comments = nil
	tx.work[w.ID] = &w
	tx.order = append(tx.order, w.ID)
	if r.Status.Active() {
		tx.was[w.ID] = r.Severity
		tx.keys[recordKey(&w)] = &w
	}
	return &w
}

// add files one new alert.
func (tx *txn) add(a *schemas.Alert) {
	first, last := alertTimes(a, tx.now)
	key := incidentKey(a.RuleID, a.GroupKey)
	r := tx.lookup(key)
	if r != nil && r.QuietFrom.Add(tx.m.quiet).Before(first) {
		// The incident went quiet in event time before this alert:
		// a replay of old logs, or a source that was silent.
		tx.autoResolve(r, r.QuietFrom.Add(tx.m.quiet))
		r = nil
	}
	if r == nil {
		r = tx.open(a, first, last)
		tx.counts[alertOpened]++
	} else {
		tx.attach(r, a, first, last)
		tx.counts[alertAttached]++
	}
	tx.m.batch.Alerts = append(tx.m.batch.Alerts, AlertRecord{IncidentID: r.ID, Alert: a})
}

func (tx *txn) open(a *schemas.Alert, first, last time.Time) *IncidentRecord {
	tx.seq++
	sev := clampSeverity(a.Severity)
	r := &IncidentRecord{
		Incident: schemas.Incident{
			ID:         IncidentID(tx.seq),
			Title:      Title(a.RuleTitle, a.RuleID, a.Entities),
			Severity:   sev,
			Status:     schemas.StatusOpen,
			RuleIDs:    []string{a.RuleID},
			GroupKey:   a.GroupKey,
			Entities:   mergeEntities(nil, a.Entities),
			FirstSeen:  first,
			LastSeen:   last,
			AlertCount: 1,
			CreatedAt:  tx.now,
			UpdatedAt:  tx.now,
		},
		Seq:       tx.seq,
		QuietFrom: last,
	}
	tx.work[r.ID] = r
	tx.order = append(tx.order, r.ID)
	tx.keys[recordKey(r)] = r
	tx.fresh[r.ID] = sev
	tx.change(r, "status", "", string(schemas.StatusOpen), "rule:"+a.RuleID)
	tx.change(r, "severity", "", sev.String(), "rule:"+a.RuleID)
	tx.notify(EventOpened, sev, r, a)
	return r
}

func (tx *txn) attach(r *IncidentRecord, a *schemas.Alert, first, last time.Time) {
	r.AlertCount++
	if first.Before(r.FirstSeen) {
		r.FirstSeen = first
	}
	if last.After(r.LastSeen) {
		r.LastSeen = last
	}
	if last.After(r.QuietFrom) {
		r.QuietFrom = last
	}
	r.Entities = mergeEntities(r.Entities, a.Entities)
	r.UpdatedAt = tx.now
	if sev := clampSeverity(a.Severity); sev > r.Severity {
		old := r.Severity
		r.Severity = sev
		tx.change(r, "severity", old.String(), sev.String(), "rule:"+a.RuleID)
		tx.notify(EventSeverityRaised, old, r, a)
	}
}

// autoResolve closes a quiet incident, resolved at the end of its quiet
// period: in event time when a later alert shows the gap (which may lie
// long before the wall clock), on the wall clock when Sweep finds it.
func (tx *txn) autoResolve(r *IncidentRecord, at time.Time) {
	tx.setStatus(r, schemas.StatusResolved, ActorAuto)
	r.ResolvedAt = at
	res := "auto: quiet for " + tx.m.quiet.String()
	tx.change(r, "resolution", r.Resolution, res, ActorAuto)
	r.Resolution = res
}

// setStatus changes r's status, writes the history row and keeps the key
// override in step.
func (tx *txn) setStatus(r *IncidentRecord, to schemas.Status, by string) {
	if r.Status == to {
		return
	}
	tx.change(r, "status", string(r.Status), string(to), by)
	r.Status = to
	r.UpdatedAt = tx.now
	k := recordKey(r)
	if to.Active() {
		tx.keys[k] = r
	} else if tx.keys[k] == r {
		tx.keys[k] = nil
	}
}

func (tx *txn) change(r *IncidentRecord, field, old, new, by string) {
	tx.m.batch.Changes = append(tx.m.batch.Changes, schemas.Change{
		IncidentID: r.ID, Field: field, Old: old, New: new, By: by, At: tx.now,
	})
}

func (tx *txn) notify(event string, prev schemas.Severity, r *IncidentRecord, a *schemas.Alert) {
	if len(tx.m.hooks) == 0 {
		return
	}
	inc := r.Incident
	inc.Entities = slices.Clone(r.Entities)
	inc.Comments = nil
	tx.notes = append(tx.notes, notification{event: event, previous: prev, incident: inc, alert: summarize(a)})
}

// commit writes the txn's batch and, once the store accepted it, makes
// the working copies the Manager's state and sends notifications.
func (m *Manager) commit(ctx context.Context, tx *txn) error {
	for _, id := range tx.order {
		m.batch.Incidents = append(m.batch.Incidents, *tx.work[id])
	}
	if !m.batch.Empty() {
		if err := m.store.Apply(ctx, &m.batch); err != nil {
			m.met.storeErrors.Inc()
			m.batch.Reset()
			return fmt.Errorf("cannot store %d incidents and %d alerts: %w",
				len(tx.order), tx.counts[alertOpened]+tx.counts[alertAttached], err)
		}
	}
	m.batch.Reset()
	m.seq = tx.seq
	for k, r := range tx.keys {
		if r == nil {
			delete(m.active, k)
		} else {
			m.active[k] = r
		}
	}
	for _, id := range tx.order {
		r := tx.work[id]
		if sev, ok := tx.was[id]; ok {
			m.met.openGauge(sev).Dec()
		}
		if sev, ok := tx.fresh[id]; ok {
			m.met.openedCounter(sev).Inc()
			m.noisy.Info().Str("incident", r.ID).Str("rule", r.RuleIDs[0]).
				Str("severity", sev.String()).Msg("incident opened")
		}
		if _, ok := tx.was[id]; ok && r.Status == schemas.StatusResolved {
			m.noisy.Info().Str("incident", r.ID).Str("resolution", r.Resolution).Msg("incident resolved")
		}
		if r.Status.Active() {
			m.met.openGauge(r.Severity).Inc()
		}
	}
	for result, n := range tx.counts {
		if c, ok := m.met.alerts[result]; ok && n > 0 {
			c.Add(float64(n))
		}
	}
	for i := range tx.notes {
		m.dispatch(&tx.notes[i])
	}
	return nil
}

// alertTimes returns an alert's first and last event times in UTC,
// falling back on its creation time or now when the engine left them
// zero.
func alertTimes(a *schemas.Alert, now time.Time) (first, last time.Time) {
	first, last = a.FirstSeen, a.LastSeen
	if first.IsZero() {
		first = a.CreatedAt
	}
	if first.IsZero() {
		first = now
	}
	if last.IsZero() || last.Before(first) {
		last = first
	}
	return first.UTC(), last.UTC()
}

func clampSeverity(s schemas.Severity) schemas.Severity {
	return min(s, schemas.SeverityCritical)
}

// mergeEntities adds the entities of add that dst lacks, up to
// maxEntities.
func mergeEntities(dst, add []schemas.Entity) []schemas.Entity {
	for _, e := range add {
		if len(dst) >= maxEntities {
			break
		}
		if !slices.Contains(dst, e) {
			dst = append(dst, e)
		}
	}
	return dst
}
