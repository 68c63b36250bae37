// Package storetest is the conformance suite of ticketing.Store: the
// cases every store must pass, so that the Manager and the API behave the
// same on the embedded SQLite store and on ClickHouse.
//
// A store's tests call Run with a function that opens the store under
// test:
//
//	func TestConformance(t *testing.T) { storetest.Run(t, openForTest) }
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

// Open opens the store under test. The first call for a subtest t opens
// a store on fresh, empty storage; a later call with the same t opens
// the same storage again, as a restarted process would, after the suite
// closed the previous store. Open registers the store's Close with
// t.Cleanup; the suite may close it earlier, so Close must tolerate a
// second call (an error from it is ignored).
type Open func(t *testing.T) ticketing.Store

// Run runs the suite, one subtest per case.
func Run(t *testing.T, open Open) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, Open)
	}{
		{"IncidentRoundTrip", testIncidentRoundTrip},
		{"EmptyStore", testEmptyStore},
		{"ApplyIsAtomic", testApplyIsAtomic},
		{"AlertsAndEvents", testAlertsAndEvents},
		{"KnownAlertsManyIDs", testKnownAlertsManyIDs},
		{"IncidentsFilterAndPage", testIncidentsFilterAndPage},
		{"HistoryAndComments", testHistoryAndComments},
		{"ParseFailures", testParseFailures},
		{"LoadActiveAfterReopen", testLoadActiveAfterReopen},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open) })
	}
}

// t0 is an event time far from the wall clock, as in a replay.
var t0 = time.Date(2024, 3, 1, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))

// Incident returns an open incident of rule and group with sequence seq,
// created at t0, as the Manager would write it.
func Incident(seq int64, rule, group string) ticketing.IncidentRecord {
	return ticketing.IncidentRecord{
		Incident: schemas.Incident{
			ID: ticketing.IncidentID(seq), Title: "t " + group, Severity: schemas.SeverityHigh,
			Status: schemas.StatusOpen, RuleIDs: []string{rule}, GroupKey: group,
			Entities:  []schemas.Entity{{Type: "ip", Field: "source.ip", Value: group}},
			FirstSeen: t0, LastSeen: t0.Add(time.Minute), AlertCount: 1,
			CreatedAt: t0, UpdatedAt: t0,
		},
		Seq:       seq,
		QuietFrom: t0.Add(time.Minute),
	}
}

// Event returns an event with id and original line, at t0 plus 5ns.
func Event(id uint64, original string) schemas.Event {
	var e schemas.Event
	e.ID = id
	e.Timestamp = time.Date(2024, 3, 1, 10, 0, 0, 5, time.UTC)
	e.Event.Original = original
	e.Event.Count = 1
	e.Event.Action = schemas.ActionSSHLogin
	e.Source.IP = "1.2.3.4"
	e.Message = "msg"
	return e
}

func apply(t *testing.T, s ticketing.Store, b *ticketing.Batch) {
	t.Helper()
	require.NoError(t, s.Apply(context.Background(), b))
}

func testIncidentRoundTrip(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	require.NoError(t, s.Ping(ctx))
	r := Incident(7, "ssh-bf", "1.2.3.4")
	r.Assignee = "bob"
	r.Entities = append(r.Entities, schemas.Entity{Type: "host", Field: "host.name", Value: "web1"})
	r.Comments = []schemas.Comment{{Author: "ignored", Text: "comments are written through Batch.Comments"}}
	c := schemas.Comment{Author: "bob", Text: "ünïcode\n", At: r.CreatedAt}
	apply(t, s, &ticketing.Batch{
		Incidents: []ticketing.IncidentRecord{r},
		Comments:  []ticketing.CommentRecord{{IncidentID: r.ID, Comment: c}},
		Changes:   []schemas.Change{{IncidentID: r.ID, Field: "status", New: "open", By: "rule:ssh-bf", At: r.CreatedAt}},
	})
	got, err := s.Incident(ctx, r.ID)
	require.NoError(t, err)
	require.True(t, got.FirstSeen.Equal(r.FirstSeen))
	require.Equal(t, 123456789, got.FirstSeen.Nanosecond(), "nanoseconds kept")
	require.Equal(t, time.UTC, got.FirstSeen.Location())
	require.True(t, got.LastSeen.Equal(r.LastSeen))
	require.True(t, got.CreatedAt.Equal(r.CreatedAt))
	require.True(t, got.UpdatedAt.Equal(r.UpdatedAt))
	require.True(t, got.QuietFrom.Equal(r.QuietFrom))
	require.True(t, got.ResolvedAt.IsZero())
	require.Equal(t, r.Entities, got.Entities)
	require.Equal(t, r.RuleIDs, got.RuleIDs)
	require.Equal(t, r.Title, got.Title)
	require.Equal(t, r.GroupKey, got.GroupKey)
	require.Equal(t, schemas.SeverityHigh, got.Severity)
	require.Equal(t, schemas.StatusOpen, got.Status)
	require.Equal(t, 1, got.AlertCount)
	require.Equal(t, int64(7), got.Seq)
	require.Equal(t, "bob", got.Assignee)
	require.Equal(t, []schemas.Comment{{Author: "bob", Text: "ünïcode\n", At: c.At.UTC()}}, got.Comments)

	// Writing the record again replaces it.
	r.Status = schemas.StatusResolved
	r.Resolution = "blocked"
	r.ResolvedAt = r.LastSeen.Add(time.Hour)
	r.Severity = schemas.SeverityCritical
	r.AlertCount = 3
	apply(t, s, &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r}})
	got, err = s.Incident(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, schemas.StatusResolved, got.Status)
	require.Equal(t, "blocked", got.Resolution)
	require.Equal(t, schemas.SeverityCritical, got.Severity)
	require.Equal(t, 3, got.AlertCount)
	require.True(t, got.ResolvedAt.Equal(r.ResolvedAt))
	require.Len(t, got.Comments, 1, "the comment stays")

	list, total, err := s.Incidents(ctx, ticketing.IncidentQuery{})
	require.NoError(t, err)
	require.Equal(t, 1, total, "a rewritten incident is listed once")
	require.Len(t, list, 1)
	require.Equal(t, schemas.StatusResolved, list[0].Status)
	require.Empty(t, list[0].Comments, "lists carry no comments")

	st, err := s.LoadActive(ctx)
	require.NoError(t, err)
	require.Empty(t, st.Active)
	require.Equal(t, int64(7), st.LastSeq)

	h, err := s.History(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, []schemas.Change{{IncidentID: r.ID, Field: "status", New: "open", By: "rule:ssh-bf", At: r.CreatedAt.UTC()}}, h)

	_, err = s.Incident(ctx, "INC-404")
	require.ErrorIs(t, err, ticketing.ErrNotFound)
}

func testEmptyStore(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	st, err := s.LoadActive(ctx)
	require.NoError(t, err)
	require.Empty(t, st.Active)
	require.Zero(t, st.LastSeq)
	list, total, err := s.Incidents(ctx, ticketing.IncidentQuery{Page: ticketing.Page{Limit: 10}})
	require.NoError(t, err)
	require.Zero(t, total)
	require.NotNil(t, list)
	require.Empty(t, list)
	alerts, total, err := s.Alerts(ctx, "INC-000001", ticketing.Page{Limit: 10})
	require.NoError(t, err)
	require.Zero(t, total)
	require.Empty(t, alerts)
	evs, total, err := s.Events(ctx, "nope", ticketing.Page{Limit: 10})
	require.NoError(t, err)
	require.Zero(t, total)
	require.Empty(t, evs)
	h, err := s.History(ctx, "INC-000001")
	require.NoError(t, err)
	require.Empty(t, h)
	known, err := s.KnownAlerts(ctx, []string{"a", "b"})
	require.NoError(t, err)
	require.Empty(t, known)
	known, err = s.KnownAlerts(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, known)
	require.NoError(t, s.Apply(ctx, &ticketing.Batch{}), "an empty batch writes nothing")
	p, err := s.ParseFailures(ctx, ticketing.FailureQuery{})
	require.NoError(t, err)
	require.Zero(t, p.Total)
	require.Empty(t, p.Failures)
	require.NoError(t, s.AddParseFailures(ctx, nil))
}

func testApplyIsAtomic(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	r := Incident(1, "r", "g")
	a := schemas.Alert{ID: "a1", RuleID: "r", Events: []schemas.Event{Event(1, "x")}}
	orphan := schemas.Alert{ID: "a2", RuleID: "r"}
	bad := &ticketing.Batch{
		Incidents: []ticketing.IncidentRecord{r},
		Alerts:    []ticketing.AlertRecord{{IncidentID: r.ID, Alert: &a}, {IncidentID: "INC-missing", Alert: &orphan}},
		Changes:   []schemas.Change{{IncidentID: r.ID, Field: "status", New: "open", By: "rule:r", At: t0}},
	}
	err := s.Apply(ctx, bad)
	require.ErrorContains(t, err, "a2", "an alert of a missing incident fails the batch")
	requireNothingOf(t, s, r.ID, "a1", "a2")

	// A cancelled write keeps nothing either.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	good := &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r}, Alerts: []ticketing.AlertRecord{{IncidentID: r.ID, Alert: &a}}}
	require.Error(t, s.Apply(cctx, good))
	requireNothingOf(t, s, r.ID, "a1")

	// The same batch, retried, is stored once.
	apply(t, s, good)
	known, err := s.KnownAlerts(ctx, []string{"a1", "a2"})
	require.NoError(t, err)
	require.Equal(t, map[string]struct{}{"a1": {}}, known)
	_, total, err := s.Alerts(ctx, r.ID, ticketing.Page{})
	require.NoError(t, err)
	require.Equal(t, 1, total)
}

// requireNothingOf checks that no read shows the incident or alerts.
func requireNothingOf(t *testing.T, s ticketing.Store, incident string, alerts ...string) {
	t.Helper()
	ctx := context.Background()
	_, err := s.Incident(ctx, incident)
	require.ErrorIs(t, err, ticketing.ErrNotFound, "the incident of the failed batch was not kept")
	known, err := s.KnownAlerts(ctx, alerts)
	require.NoError(t, err)
	require.Empty(t, known)
	list, total, err := s.Incidents(ctx, ticketing.IncidentQuery{})
	require.NoError(t, err)
	require.Zero(t, total)
	require.Empty(t, list)
	h, err := s.History(ctx, incident)
	require.NoError(t, err)
	require.Empty(t, h)
	st, err := s.LoadActive(ctx)
	require.NoError(t, err)
	require.Empty(t, st.Active)
	for _, a := range alerts {
		evs, _, err := s.Events(ctx, a, ticketing.Page{})
		require.NoError(t, err)
		require.Empty(t, evs)
	}
}

func testAlertsAndEvents(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	r := Incident(1, "r", "g")
	// Bytes that are not UTF-8 survive in the original line.
	odd := "Mar  1 10:00:00 h sshd[1]: user \xff\xfe\x00 end"
	a := schemas.Alert{ID: "a1", RuleID: "r", RuleTitle: "R", Severity: schemas.SeverityLow, EventsTotal: 10,
		GroupKey: "g", Entities: []schemas.Entity{{Type: "ip", Field: "source.ip", Value: "1.2.3.4"}},
		Reason: "3 failures", FirstSeen: t0.UTC(), LastSeen: t0.Add(time.Second).UTC(), Count: 3,
		CreatedAt: t0.Add(2 * time.Second).UTC(),
		Events:    []schemas.Event{Event(1<<63|5, odd), Event(2, "second"), Event(3, "third")}}
	b := &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r}, Alerts: []ticketing.AlertRecord{{IncidentID: r.ID, Alert: &a}}}
	apply(t, s, b)
	// The same alert again is skipped with its events.
	apply(t, s, b)

	alerts, total, err := s.Alerts(ctx, r.ID, ticketing.Page{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Len(t, alerts, 1)
	require.Equal(t, r.ID, alerts[0].IncidentID)
	require.Equal(t, 3, alerts[0].EventsStored)
	require.Equal(t, 10, alerts[0].EventsTotal)
	require.Nil(t, alerts[0].Events)
	want := a
	want.Events = nil
	require.Equal(t, want, alerts[0].Alert)

	evs, total, err := s.Events(ctx, "a1", ticketing.Page{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 3, total)
	require.Len(t, evs, 3)
	require.Equal(t, odd, evs[0].Event.Original)
	require.Equal(t, uint64(1<<63|5), evs[0].ID)
	require.Equal(t, a.Events, evs)

	evs, total, err = s.Events(ctx, "a1", ticketing.Page{Limit: 1, Offset: 2})
	require.NoError(t, err)
	require.Equal(t, 3, total)
	require.Equal(t, []schemas.Event{a.Events[2]}, evs)
	evs, _, err = s.Events(ctx, "a1", ticketing.Page{Offset: 1})
	require.NoError(t, err)
	require.Equal(t, a.Events[1:], evs, "an offset without a limit returns the rest")

	// More alerts, in two batches: oldest first, paged.
	var more []ticketing.AlertRecord
	for i := range 5 {
		al := schemas.Alert{ID: fmt.Sprintf("b%d", i), RuleID: "r", FirstSeen: t0.Add(time.Duration(i) * time.Hour)}
		more = append(more, ticketing.AlertRecord{IncidentID: r.ID, Alert: &al})
	}
	apply(t, s, &ticketing.Batch{Alerts: more[:3]})
	apply(t, s, &ticketing.Batch{Alerts: more[3:]})
	alerts, total, err = s.Alerts(ctx, r.ID, ticketing.Page{Limit: 3, Offset: 2})
	require.NoError(t, err)
	require.Equal(t, 6, total)
	var ids []string
	for _, al := range alerts {
		ids = append(ids, al.ID)
	}
	require.Equal(t, []string{"b1", "b2", "b3"}, ids)
	require.Zero(t, alerts[0].EventsStored)

	alerts, total, err = s.Alerts(ctx, "INC-other", ticketing.Page{Limit: 3})
	require.NoError(t, err)
	require.Zero(t, total)
	require.Empty(t, alerts)
}

func testKnownAlertsManyIDs(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	r := Incident(1, "r", "g")
	b := &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r}}
	var ids []string
	for i := range 5000 {
		id := fmt.Sprintf("alert-%032d", i)
		ids = append(ids, id, "missing-"+id)
		if i%2 == 0 {
			b.Alerts = append(b.Alerts, ticketing.AlertRecord{IncidentID: r.ID, Alert: &schemas.Alert{ID: id, RuleID: "r"}})
		}
	}
	require.Len(t, ids, 10_000)
	apply(t, s, b)
	known, err := s.KnownAlerts(ctx, ids)
	require.NoError(t, err)
	require.Len(t, known, 2500)
	require.Contains(t, known, fmt.Sprintf("alert-%032d", 4998))
	require.NotContains(t, known, fmt.Sprintf("alert-%032d", 4999))
	require.NotContains(t, known, "missing-"+fmt.Sprintf("alert-%032d", 0))
}

func testIncidentsFilterAndPage(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	b := &ticketing.Batch{}
	for i := int64(1); i <= 9; i++ {
		r := Incident(i, fmt.Sprintf("rule-%d", i%3), fmt.Sprintf("g%d", i))
		r.Severity = schemas.Severity(i % 5)
		switch i % 3 {
		case 1:
			r.Status = schemas.StatusAcknowledged
		case 2:
			r.Status = schemas.StatusResolved
			r.ResolvedAt = t0.Add(time.Hour)
		}
		b.Incidents = append(b.Incidents, r)
	}
	apply(t, s, b)
	seqs := func(q ticketing.IncidentQuery) ([]string, int) {
		t.Helper()
		list, total, err := s.Incidents(ctx, q)
		require.NoError(t, err)
		var out []string
		for _, in := range list {
			out = append(out, in.ID)
		}
		return out, total
	}
	all, total := seqs(ticketing.IncidentQuery{})
	require.Equal(t, 9, total)
	require.Equal(t, ticketing.IncidentID(9), all[0], "newest first")
	require.Equal(t, ticketing.IncidentID(1), all[8])

	page, total := seqs(ticketing.IncidentQuery{Page: ticketing.Page{Limit: 2, Offset: 3}})
	require.Equal(t, 9, total)
	require.Equal(t, []string{ticketing.IncidentID(6), ticketing.IncidentID(5)}, page)

	got, total := seqs(ticketing.IncidentQuery{Status: schemas.StatusResolved})
	require.Equal(t, 3, total)
	require.Equal(t, []string{ticketing.IncidentID(8), ticketing.IncidentID(5), ticketing.IncidentID(2)}, got)

	high := schemas.SeverityHigh
	got, total = seqs(ticketing.IncidentQuery{MinSeverity: &high})
	require.Equal(t, 4, total) // severities 3 and 4: incidents 3, 4, 8, 9
	require.Equal(t, []string{ticketing.IncidentID(9), ticketing.IncidentID(8), ticketing.IncidentID(4), ticketing.IncidentID(3)}, got)

	got, total = seqs(ticketing.IncidentQuery{Severity: &high, Status: schemas.StatusResolved})
	require.Equal(t, 1, total)
	require.Equal(t, []string{ticketing.IncidentID(8)}, got)

	got, total = seqs(ticketing.IncidentQuery{RuleID: "rule-0", Page: ticketing.Page{Limit: 1}})
	require.Equal(t, 3, total)
	require.Equal(t, []string{ticketing.IncidentID(9)}, got)

	got, total = seqs(ticketing.IncidentQuery{RuleID: "nope"})
	require.Zero(t, total)
	require.Empty(t, got)

	// A status change moves an incident between filters.
	r := b.Incidents[8] // INC-000009, resolved? 9%3 == 0: open
	require.Equal(t, schemas.StatusOpen, r.Status)
	r.Status = schemas.StatusResolved
	apply(t, s, &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r}})
	_, total = seqs(ticketing.IncidentQuery{Status: schemas.StatusResolved})
	require.Equal(t, 4, total)
	_, total = seqs(ticketing.IncidentQuery{Status: schemas.StatusOpen})
	require.Equal(t, 2, total)
}

func testHistoryAndComments(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	r := Incident(3, "r", "g")
	at := t0.UTC()
	ch := func(field, old, new, by string, d time.Duration) schemas.Change {
		return schemas.Change{IncidentID: r.ID, Field: field, Old: old, New: new, By: by, At: at.Add(d)}
	}
	first := []schemas.Change{ch("status", "", "open", "rule:r", 0), ch("severity", "", "high", "rule:r", 0)}
	apply(t, s, &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r}, Changes: first})
	second := []schemas.Change{ch("status", "open", "acknowledged", "alice", time.Minute), ch("assignee", "", "alice", "alice", time.Minute)}
	r.Status = schemas.StatusAcknowledged
	apply(t, s, &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r}, Changes: second,
		Comments: []ticketing.CommentRecord{{IncidentID: r.ID, Comment: schemas.Comment{Author: "alice", Text: "one", At: at.Add(time.Minute)}}}})
	// A change and comment on a stored incident, without the incident
	// in the batch.
	third := []schemas.Change{ch("status", "acknowledged", "acknowledged", "bob", 2*time.Minute)}
	apply(t, s, &ticketing.Batch{Changes: third,
		Comments: []ticketing.CommentRecord{
			{IncidentID: r.ID, Comment: schemas.Comment{Author: "bob", Text: "two", At: at.Add(2 * time.Minute)}},
			{IncidentID: r.ID, Comment: schemas.Comment{Author: "bob", Text: "three", At: at.Add(2 * time.Minute)}},
		}})

	h, err := s.History(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, append(append(first, second...), third...), h)

	got, err := s.Incident(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, schemas.StatusAcknowledged, got.Status)
	var texts []string
	for _, c := range got.Comments {
		texts = append(texts, c.Text)
	}
	require.Equal(t, []string{"one", "two", "three"}, texts)
	require.True(t, got.Comments[1].At.Equal(at.Add(2*time.Minute)))

	// Another incident's history is its own.
	h, err = s.History(ctx, "INC-000004")
	require.NoError(t, err)
	require.Empty(t, h)
}

func testParseFailures(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	rec := time.Date(2024, 3, 1, 10, 0, 0, 42, time.UTC)
	var fs []schemas.ParseFailure
	for i := range 6 {
		f := schemas.ParseFailure{Source: "udp", Address: "10.0.0.1:514", Reason: "no_header", Detail: fmt.Sprintf("d%d", i),
			Raw: fmt.Appendf(nil, "line %d \xff", i), Received: rec.Add(time.Duration(i) * time.Second)}
		if i%2 == 1 {
			f.Source, f.Reason = "tcp", "too_long"
		}
		if i == 5 {
			f.Reason = "bad_priority"
		}
		fs = append(fs, f)
	}
	require.NoError(t, s.AddParseFailures(ctx, fs[:4]))
	require.NoError(t, s.AddParseFailures(ctx, fs[4:]))

	p, err := s.ParseFailures(ctx, ticketing.FailureQuery{})
	require.NoError(t, err)
	require.Equal(t, 6, p.Total)
	require.Equal(t, map[string]int{"no_header": 3, "too_long": 2, "bad_priority": 1}, p.ByReason)
	require.Len(t, p.Failures, 6)
	require.Equal(t, fs[5], p.Failures[0], "newest first, every field kept")
	require.Equal(t, fs[0], p.Failures[5])

	p, err = s.ParseFailures(ctx, ticketing.FailureQuery{Reason: "no_header", Page: ticketing.Page{Limit: 2}})
	require.NoError(t, err)
	require.Equal(t, 3, p.Total)
	require.Equal(t, []schemas.ParseFailure{fs[4], fs[2]}, p.Failures)
	require.Equal(t, map[string]int{"no_header": 3, "too_long": 2, "bad_priority": 1}, p.ByReason, "the split ignores the reason filter")

	p, err = s.ParseFailures(ctx, ticketing.FailureQuery{Source: "tcp", Page: ticketing.Page{Limit: 1, Offset: 1}})
	require.NoError(t, err)
	require.Equal(t, 3, p.Total)
	require.Equal(t, map[string]int{"too_long": 2, "bad_priority": 1}, p.ByReason)
	require.Equal(t, []schemas.ParseFailure{fs[3]}, p.Failures)

	p, err = s.ParseFailures(ctx, ticketing.FailureQuery{Source: "tcp", Reason: "no_header"})
	require.NoError(t, err)
	require.Zero(t, p.Total)
	require.Empty(t, p.Failures)
}

func testLoadActiveAfterReopen(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	var b ticketing.Batch
	for i := int64(1); i <= 5; i++ {
		r := Incident(i, "r", fmt.Sprintf("g%d", i))
		switch i {
		case 2:
			r.Status = schemas.StatusAcknowledged
			r.Assignee = "alice"
		case 5:
			r.Status = schemas.StatusResolved
			r.ResolvedAt = t0.Add(time.Hour)
		}
		b.Incidents = append(b.Incidents, r)
	}
	a := schemas.Alert{ID: "a1", RuleID: "r", Events: []schemas.Event{Event(9, "line")}}
	b.Alerts = []ticketing.AlertRecord{{IncidentID: ticketing.IncidentID(1), Alert: &a}}
	apply(t, s, &b)
	// Incident 3 is resolved in a later batch.
	r3 := b.Incidents[2]
	r3.Status = schemas.StatusResolved
	apply(t, s, &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r3}})
	require.NoError(t, s.Close())

	s = open(t)
	st, err := s.LoadActive(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(5), st.LastSeq, "the highest sequence counts resolved incidents too")
	require.Len(t, st.Active, 3)
	for i, want := range []int64{1, 2, 4} {
		got := st.Active[i]
		require.Equal(t, want, got.Seq)
		require.Equal(t, ticketing.IncidentID(want), got.ID)
		require.True(t, got.QuietFrom.Equal(b.Incidents[want-1].QuietFrom))
		require.Equal(t, b.Incidents[want-1].GroupKey, got.GroupKey)
		require.Equal(t, b.Incidents[want-1].Status, got.Status)
	}
	require.Equal(t, "alice", st.Active[1].Assignee)
	known, err := s.KnownAlerts(ctx, []string{"a1"})
	require.NoError(t, err)
	require.Contains(t, known, "a1")
	evs, total, err := s.Events(ctx, "a1", ticketing.Page{})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Equal(t, "line", evs[0].Event.Original)
}
