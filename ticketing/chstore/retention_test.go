package chstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

// incidentAt is an incident created at c, with one alert on alertDay and
// one history row.
func incidentAt(seq int64, c time.Time, status schemas.Status, alertDay time.Time) *ticketing.Batch {
	r := ticketing.IncidentRecord{Incident: schemas.Incident{
		ID: ticketing.IncidentID(seq), Status: status, RuleIDs: []string{"r"}, GroupKey: fmt.Sprint(seq),
		CreatedAt: c, UpdatedAt: c, FirstSeen: alertDay, LastSeen: alertDay,
	}, Seq: seq}
	a := &schemas.Alert{ID: fmt.Sprintf("a%d", seq), RuleID: "r", FirstSeen: alertDay,
		Events: []schemas.Event{fullEvent(uint64(seq), alertDay)}}
	return &ticketing.Batch{
		Incidents: []ticketing.IncidentRecord{r},
		Alerts:    []ticketing.AlertRecord{{IncidentID: r.ID, Alert: a}},
		Changes:   []schemas.Change{{IncidentID: r.ID, Field: "status", New: string(status), By: "t", At: c}},
		Comments:  []ticketing.CommentRecord{{IncidentID: r.ID, Comment: schemas.Comment{Author: "x", Text: "y", At: c}}},
	}
}

func TestApplyRetention(t *testing.T) {
	o := testOptions(t)
	var now time.Time
	o.Now = func() time.Time { return now }
	s := openTest(t, o)
	ctx := ctxT(t)
	write := func(at time.Time, b *ticketing.Batch) {
		t.Helper()
		now = at
		require.NoError(t, s.Apply(ctx, b))
	}
	// D: created in December, resolved, the highest sequence.
	write(date(2023, 12, 5), incidentAt(4, date(2023, 12, 5), schemas.StatusResolved, date(2023, 12, 5)))
	// A resolved and B active, created in January.
	write(date(2024, 1, 10), incidentAt(1, date(2024, 1, 10), schemas.StatusResolved, date(2024, 1, 10)))
	bB := incidentAt(2, date(2024, 1, 11), schemas.StatusAcknowledged, date(2024, 1, 11))
	write(date(2024, 1, 11), bB)
	// C: active, created in March, its alert on March 4th.
	write(date(2024, 3, 4), incidentAt(3, date(2024, 3, 4), schemas.StatusOpen, date(2024, 3, 4)))
	for d := 1; d <= 5; d++ {
		require.NoError(t, s.WriteEvents(ctx, []schemas.Event{fullEvent(uint64(d), date(2024, 3, d))}, "tcp"))
	}

	now = date(2024, 3, 5)
	dropped, err := s.ApplyRetention(ctx, Retention{EventsDays: 2, AlertsDays: 2, IncidentsMonths: 1}, now)
	require.NoError(t, err)
	require.Equal(t, []string{
		"events/20240301", "events/20240302",
		"alerts/20231205", "alerts/20240110", "alerts/20240111",
		"alert_events/20231205", "alert_events/20240110", "alert_events/20240111",
		"incidents/202312", "incident_history/202312", "comments/202312",
		"batches/202312",
	}, dropped)

	_, err = s.Incident(ctx, ticketing.IncidentID(4))
	require.ErrorIs(t, err, ticketing.ErrNotFound)
	for _, seq := range []int64{1, 2, 3} {
		r, err := s.Incident(ctx, ticketing.IncidentID(seq))
		require.NoError(t, err, "incident %d", seq)
		require.Len(t, r.Comments, 1)
	}
	st, err := s.LoadActive(ctx)
	require.NoError(t, err)
	require.Len(t, st.Active, 2)
	require.Equal(t, int64(4), st.LastSeq, "a dropped incident's sequence is not reused")
	_, n, err := s.Alerts(ctx, ticketing.IncidentID(3), ticketing.Page{})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, n, err = s.Alerts(ctx, ticketing.IncidentID(2), ticketing.Page{})
	require.NoError(t, err)
	require.Zero(t, n, "the alerts of an active incident follow the alerts' retention")
	n64, err := s.CountEvents(ctx, date(2024, 1, 1), date(2024, 4, 1))
	require.NoError(t, err)
	require.Equal(t, int64(3), n64)

	// Nothing more to drop until B is resolved.
	dropped, err = s.ApplyRetention(ctx, Retention{EventsDays: 2, AlertsDays: 2, IncidentsMonths: 1}, now)
	require.NoError(t, err)
	require.Empty(t, dropped)
	r := bB.Incidents[0]
	r.Status = schemas.StatusResolved
	write(date(2024, 3, 5), &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r}})
	dropped, err = s.ApplyRetention(ctx, Retention{IncidentsMonths: 1}, now)
	require.NoError(t, err)
	require.Equal(t, []string{"incidents/202401", "incident_history/202401", "comments/202401", "batches/202401"}, dropped)
	st, err = s.LoadActive(ctx)
	require.NoError(t, err)
	require.Len(t, st.Active, 1)
	require.Equal(t, int64(4), st.LastSeq)

	// Zero keeps everything.
	dropped, err = s.ApplyRetention(ctx, Retention{}, date(2099, 1, 1))
	require.NoError(t, err)
	require.Empty(t, dropped)
	_, err = s.ApplyRetention(ctx, Retention{EventsDays: -1}, now)
	require.ErrorContains(t, err, "may not be negative")
}

func TestParseFailureLimit(t *testing.T) {
	o := testOptions(t)
	o.FailureLimit = 100
	var now time.Time
	o.Now = func() time.Time { return now }
	s := openTest(t, o)
	ctx := ctxT(t)
	for d := 1; d <= 3; d++ {
		now = date(2024, 3, d)
		for b := range 2 {
			var fs []schemas.ParseFailure
			for i := range 35 {
				fs = append(fs, schemas.ParseFailure{Source: "udp", Reason: "no_header", Raw: fmt.Appendf(nil, "%d-%d-%d", d, b, i)})
			}
			require.NoError(t, s.AddParseFailures(ctx, fs))
		}
	}
	p, err := s.ParseFailures(ctx, ticketing.FailureQuery{Page: ticketing.Page{Limit: 1000}})
	require.NoError(t, err)
	require.Equal(t, 100, p.Total)
	require.Equal(t, map[string]int{"no_header": 100}, p.ByReason)
	require.Equal(t, "3-1-34", string(p.Failures[0].Raw))
	require.Equal(t, "2-1-5", string(p.Failures[99].Raw))
	// The first day lay wholly beyond the newest 100 when the third was
	// written, and was dropped then.
	require.Equal(t, uint64(140), rawCount(t, s, tFailures))
	parts, err := s.partitions(ctx, tFailures)
	require.NoError(t, err)
	require.Len(t, parts, 2)

	// A new process keeps the order of writes even when its clock is
	// behind.
	o.Registerer = nil
	now = date(2024, 2, 1)
	s2 := openTest(t, o)
	require.NoError(t, s2.AddParseFailures(ctx, []schemas.ParseFailure{{Source: "tcp", Reason: "too_long", Raw: []byte("late")}}))
	p, err = s2.ParseFailures(ctx, ticketing.FailureQuery{Page: ticketing.Page{Limit: 1}})
	require.NoError(t, err)
	require.Equal(t, "late", string(p.Failures[0].Raw))
	dropped, err := s2.ApplyRetention(ctx, Retention{}, now)
	require.NoError(t, err)
	require.Empty(t, dropped, "the day of 'late' holds one of the newest 100")
}

// TestRetentionCountsEventsFromArrival: a backfill of old logs received
// today is kept; an event without a receive time falls back to its own.
func TestRetentionCountsEventsFromArrival(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := ctxT(t)
	old := fullEvent(1, date(2023, 1, 1))
	old.Event.Created = date(2024, 3, 5)
	undated := fullEvent(2, date(2024, 3, 1))
	undated.Event.Created = time.Time{}
	require.NoError(t, s.WriteEvents(ctx, []schemas.Event{old, undated}, "tcp"))
	dropped, err := s.ApplyRetention(ctx, Retention{EventsDays: 2}, date(2024, 3, 5))
	require.NoError(t, err)
	require.Equal(t, []string{"events/20240301"}, dropped)
	n, err := s.CountEvents(ctx, date(2022, 1, 1), date(2025, 1, 1))
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "the backfilled event received on March 5th stays")
}
