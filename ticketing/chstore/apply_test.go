package chstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
	"github.com/tocsin-siem/tocsin/ticketing/storetest"
)

// fullBatch writes to every ticket table: an incident, two alerts with
// events, history and a comment.
func fullBatch(seq int64) *ticketing.Batch {
	r := storetest.Incident(seq, "ssh-bf", fmt.Sprintf("10.0.0.%d", seq))
	id := r.ID
	var alerts []ticketing.AlertRecord
	for i := range 2 {
		a := &schemas.Alert{ID: fmt.Sprintf("%s-a%d", id, i), RuleID: "ssh-bf", FirstSeen: r.FirstSeen,
			Events: []schemas.Event{storetest.Event(uint64(seq*10+int64(i)), "one"), storetest.Event(uint64(seq*10+5), "two")}}
		alerts = append(alerts, ticketing.AlertRecord{IncidentID: id, Alert: a})
	}
	at := r.CreatedAt.UTC()
	return &ticketing.Batch{
		Incidents: []ticketing.IncidentRecord{r},
		Alerts:    alerts,
		Changes: []schemas.Change{
			{IncidentID: id, Field: "status", New: "open", By: "rule:ssh-bf", At: at},
			{IncidentID: id, Field: "severity", New: "high", By: "rule:ssh-bf", At: at},
		},
		Comments: []ticketing.CommentRecord{{IncidentID: id, Comment: schemas.Comment{Author: "a", Text: "c", At: at}}},
	}
}

// visible summarises what every read shows of batch b.
type visible struct {
	Incidents, Active, Alerts, Known, Events, History, Comments int
}

func look(t *testing.T, s *Store, b *ticketing.Batch) visible {
	t.Helper()
	ctx := ctxT(t)
	var v visible
	id := b.Incidents[0].ID
	_, total, err := s.Incidents(ctx, ticketing.IncidentQuery{})
	require.NoError(t, err)
	v.Incidents = total
	st, err := s.LoadActive(ctx)
	require.NoError(t, err)
	v.Active = len(st.Active)
	_, v.Alerts, err = s.Alerts(ctx, id, ticketing.Page{})
	require.NoError(t, err)
	var ids []string
	for _, a := range b.Alerts {
		ids = append(ids, a.Alert.ID)
		_, n, err := s.Events(ctx, a.Alert.ID, ticketing.Page{})
		require.NoError(t, err)
		v.Events += n
	}
	known, err := s.KnownAlerts(ctx, ids)
	require.NoError(t, err)
	v.Known = len(known)
	h, err := s.History(ctx, id)
	require.NoError(t, err)
	v.History = len(h)
	r, err := s.Incident(ctx, id)
	if !errors.Is(err, ticketing.ErrNotFound) {
		require.NoError(t, err)
		v.Comments = len(r.Comments)
	}
	return v
}

var whole = visible{Incidents: 1, Active: 1, Alerts: 2, Known: 2, Events: 4, History: 2, Comments: 1}

// rawCount counts a table's rows, committed or not.
func rawCount(t *testing.T, s *Store, table string) uint64 {
	t.Helper()
	var n uint64
	require.NoError(t, s.conn.QueryRow(ctxT(t), "SELECT count() FROM "+s.db+"."+table).Scan(&n))
	return n
}

// TestApplyFailsBetweenWrites stops an Apply before each of its six
// writes in turn: nothing of the batch shows, in this process or in a
// new one, and the retried batch shows exactly once.
func TestApplyFailsBetweenWrites(t *testing.T) {
	tables := []string{tIncidents, tAlerts, tAlertEvents, tHistory, tComments, tBatches}
	for n, failAt := range tables {
		t.Run(failAt, func(t *testing.T) {
			o := testOptions(t)
			s := openTest(t, o)
			b := fullBatch(1)
			s.fault = func(point string) error {
				if point == "insert:"+failAt {
					return errors.New("injected: connection reset")
				}
				return nil
			}
			err := s.Apply(ctxT(t), b)
			require.ErrorContains(t, err, "injected")
			require.ErrorContains(t, s.Ping(ctxT(t)), "the latest write to ClickHouse failed")
			require.Equal(t, visible{}, look(t, s, b))
			if n > 0 {
				// The writes before the failure did reach the server.
				require.Equal(t, uint64(1), rawCount(t, s, tIncidents))
			}

			// A new process (kill -9 here) sees nothing either.
			o.Registerer = nil
			s2 := openTest(t, o)
			require.Equal(t, visible{}, look(t, s2, b))

			// The Manager retries the same batch: it shows once.
			s.fault = nil
			require.NoError(t, s.Apply(ctxT(t), b))
			require.NoError(t, s.Ping(ctxT(t)))
			require.Equal(t, whole, look(t, s, b))
			require.Equal(t, whole, look(t, s2, b))
			require.Equal(t, uint64(min(n, 1)+1), rawCount(t, s, tIncidents), "the failed attempt's rows stay, hidden")
		})
	}
}

// TestCommitReplyLost: the commit row arrives but its reply does not;
// Apply finds the row and reports success.
func TestCommitReplyLost(t *testing.T) {
	s := openTest(t, testOptions(t))
	b := fullBatch(1)
	s.fault = func(point string) error {
		if point == "sent:"+tBatches {
			return errors.New("injected: reply lost")
		}
		return nil
	}
	require.NoError(t, s.Apply(ctxT(t), b))
	require.Equal(t, whole, look(t, s, b))
	require.Zero(t, rawCount(t, s, tAborted))
}

// TestCommitUnknownIsAborted: the commit row arrives, its reply is lost
// and the check fails too. The batch is marked aborted so that it never
// shows, the Manager's retry shows once, in this process and the next.
func TestCommitUnknownIsAborted(t *testing.T) {
	o := testOptions(t)
	s := openTest(t, o)
	b := fullBatch(1)
	var recordFails bool
	s.fault = func(point string) error {
		switch {
		case point == "sent:"+tBatches, point == "verify":
			return errors.New("injected: server gone")
		case point == "insert:"+tAborted && recordFails:
			return errors.New("injected: still gone")
		}
		return nil
	}
	recordFails = true
	require.ErrorContains(t, s.Apply(ctxT(t), b), "server gone")
	require.Equal(t, uint64(1), rawCount(t, s, tBatches), "the commit row is on the server")
	require.Zero(t, rawCount(t, s, tAborted), "the abort could not be recorded yet")
	require.Equal(t, visible{}, look(t, s, b), "this process hides the batch at once")

	// Until the abort is recorded, nothing else commits.
	s.fault = func(point string) error {
		if point == "insert:"+tAborted {
			return errors.New("injected: still gone")
		}
		return nil
	}
	require.ErrorContains(t, s.Apply(ctxT(t), fullBatch(2)), "could not be marked as aborted")
	require.Equal(t, uint64(1), rawCount(t, s, tBatches))

	s.fault = nil
	require.NoError(t, s.Apply(ctxT(t), b))
	require.Equal(t, uint64(1), rawCount(t, s, tAborted))
	require.Equal(t, whole, look(t, s, b))

	o.Registerer = nil
	s2 := openTest(t, o)
	require.Equal(t, whole, look(t, s2, b))
	st, err := s2.LoadActive(ctxT(t))
	require.NoError(t, err)
	require.Equal(t, int64(1), st.LastSeq)
}

// TestVersionsOrderWrites: a later write of an incident wins even when
// the clock steps back, and another process's write wins over older
// ones.
func TestVersionsOrderWrites(t *testing.T) {
	o := testOptions(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	o.Now = func() time.Time { return now }
	s := openTest(t, o)
	r := storetest.Incident(1, "r", "g")
	require.NoError(t, s.Apply(ctxT(t), &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r}}))

	// A second process whose clock is a year behind.
	o2 := o
	o2.Registerer = nil
	o2.Now = func() time.Time { return now.AddDate(-1, 0, 0) }
	s2 := openTest(t, o2)
	r.Status = schemas.StatusAcknowledged
	require.NoError(t, s2.Apply(ctxT(t), &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r}}))
	got, err := s.Incident(ctxT(t), r.ID)
	require.NoError(t, err)
	require.Equal(t, schemas.StatusAcknowledged, got.Status)

	r.Status = schemas.StatusResolved
	require.NoError(t, s.Apply(ctxT(t), &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r}}))
	got, err = s2.Incident(ctxT(t), r.ID)
	require.NoError(t, err)
	require.Equal(t, schemas.StatusResolved, got.Status)
}

// TestSameIncidentTwiceInABatch: the last copy wins, as with upserts.
func TestSameIncidentTwiceInABatch(t *testing.T) {
	s := openTest(t, testOptions(t))
	r := storetest.Incident(1, "r", "g")
	r2 := r
	r2.Status = schemas.StatusResolved
	a := &schemas.Alert{ID: "x", RuleID: "r"}
	require.NoError(t, s.Apply(ctxT(t), &ticketing.Batch{
		Incidents: []ticketing.IncidentRecord{r, r2},
		Alerts:    []ticketing.AlertRecord{{IncidentID: r.ID, Alert: a}, {IncidentID: r.ID, Alert: a}},
	}))
	got, err := s.Incident(ctxT(t), r.ID)
	require.NoError(t, err)
	require.Equal(t, schemas.StatusResolved, got.Status)
	require.Equal(t, uint64(1), rawCount(t, s, tIncidents))
	require.Equal(t, uint64(1), rawCount(t, s, tAlerts), "a second copy of an alert in a batch is skipped")
}

func TestPingReportsAFailedWrite(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := ctxT(t)
	require.NoError(t, s.Ping(ctx))
	s.fault = func(string) error { return errors.New("injected: disk full") }
	f := []schemas.ParseFailure{{Source: "udp", Reason: "no_header", Raw: []byte("x")}}
	require.ErrorContains(t, s.AddParseFailures(ctx, f), "disk full")
	require.ErrorContains(t, s.Ping(ctx), "disk full")
	// A cancelled write says nothing about the store.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.Error(t, s.Apply(cctx, fullBatch(1)))
	require.ErrorContains(t, s.Ping(ctx), "disk full")
	s.fault = nil
	require.NoError(t, s.AddParseFailures(ctx, f))
	require.NoError(t, s.Ping(ctx))
}

// TestReadersSeeWholeBatches reads while batches are written: every
// incident a reader sees comes with all of its alerts, events and
// history, never part of them.
func TestReadersSeeWholeBatches(t *testing.T) {
	s := openTest(t, testOptions(t))
	ctx := ctxT(t)
	const batches = 15
	done := make(chan error, 1)
	go func() {
		for i := int64(1); i <= batches; i++ {
			if err := s.Apply(ctx, fullBatch(i)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	checks, finished := 0, false
	for !finished {
		select {
		case err := <-done:
			require.NoError(t, err)
			finished = true // one more round sees everything
		default:
		}
		list, total, err := s.Incidents(ctx, ticketing.IncidentQuery{})
		require.NoError(t, err)
		require.Len(t, list, total)
		for _, in := range list {
			v := look(t, s, fullBatch(mustSeq(t, in.ID)))
			v.Incidents, v.Active = 1, 1
			require.Equal(t, whole, v, in.ID)
			checks++
		}
		if finished {
			require.Equal(t, batches, total)
		}
	}
	t.Logf("%d incidents checked while writing", checks)
}

func mustSeq(t *testing.T, id string) int64 {
	t.Helper()
	var seq int64
	_, err := fmt.Sscanf(id, "INC-%d", &seq)
	require.NoError(t, err)
	return seq
}
