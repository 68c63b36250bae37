package ticketing_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

func TestAttachAndNewIncidents(t *testing.T) {
	e := newEnv(t, nil)
	a1 := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0)
	a2 := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityHigh, t0.Add(time.Hour))
	a2.Entities = append(a2.Entities, schemas.Entity{Type: "user", Field: "user.name", Value: "admin"})
	other := mkAlert("ssh-bf", "5.6.7.8", schemas.SeverityLow, t0.Add(time.Minute))
	otherRule := mkAlert("ssh-spray", "1.2.3.4", schemas.SeverityLow, t0.Add(2*time.Minute))
	e.handle(a1, other)
	e.handle(a2, otherRule)

	list, total := e.list(ticketing.IncidentQuery{})
	require.Equal(t, 3, total)
	require.Len(t, list, 3)
	// Newest first.
	require.Equal(t, []string{"INC-000003", "INC-000002", "INC-000001"}, []string{list[0].ID, list[1].ID, list[2].ID})

	d := e.incident("INC-000001")
	inc := d.Incident
	require.Equal(t, "SSH brute force from 1.2.3.4 on web1", inc.Title)
	require.Equal(t, schemas.StatusOpen, inc.Status)
	require.Equal(t, 2, inc.AlertCount)
	require.Equal(t, schemas.SeverityHigh, inc.Severity)
	require.Equal(t, []string{"ssh-bf"}, inc.RuleIDs)
	require.Equal(t, "1.2.3.4", inc.GroupKey)
	require.True(t, inc.FirstSeen.Equal(t0), "first seen %s", inc.FirstSeen)
	require.True(t, inc.LastSeen.Equal(a2.LastSeen), "last seen %s", inc.LastSeen)
	require.Len(t, inc.Entities, 3)
	require.Equal(t, "admin", inc.Entities[2].Value)
	require.Equal(t, 2, d.AlertsTotal)
	require.Equal(t, []string{a1.ID, a2.ID}, []string{d.Alerts[0].ID, d.Alerts[1].ID})
	require.Len(t, d.Alerts[0].Events, 2)
	require.Equal(t, a1.Events[1].Event.Original, d.Alerts[0].Events[1].Event.Original)
	require.Equal(t, a1.Events[1].ID, d.Alerts[0].Events[1].ID)

	// History: opened by the rule, then its severity raised.
	var fields []string
	for _, c := range d.History {
		fields = append(fields, c.Field+":"+c.Old+">"+c.New+"@"+c.By)
	}
	require.Equal(t, []string{"status:>open@rule:ssh-bf", "severity:>medium@rule:ssh-bf", "severity:medium>high@rule:ssh-bf"}, fields)

	require.Equal(t, 3.0, e.metric("tocsin_ticketing_alerts_total", "result", "opened"))
	require.Equal(t, 1.0, e.metric("tocsin_ticketing_alerts_total", "result", "attached"))
	require.Equal(t, 1.0, e.metric("tocsin_ticketing_incidents_opened_total", "severity", "medium"))
	require.Equal(t, 2.0, e.metric("tocsin_ticketing_incidents_opened_total", "severity", "low"))
	require.Equal(t, 1.0, e.metric("tocsin_ticketing_incidents_open", "severity", "high"))
	require.Equal(t, 0.0, e.metric("tocsin_ticketing_incidents_open", "severity", "medium"))
	require.Equal(t, 2.0, e.metric("tocsin_ticketing_incidents_open", "severity", "low"))
}

func TestRedeliveryChangesNothing(t *testing.T) {
	e := newEnv(t, nil)
	a1 := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0)
	a2 := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0.Add(time.Minute))
	// A duplicate inside one batch, then the whole batch again.
	e.handle(a1, a2, a1)
	before := e.incident("INC-000001")
	e.clock.Add(time.Hour)
	e.handle(a1, a2)

	after := e.incident("INC-000001")
	require.Equal(t, before, after)
	require.Equal(t, 2, after.Incident.AlertCount)
	_, total := e.list(ticketing.IncidentQuery{})
	require.Equal(t, 1, total)
	require.Equal(t, 3.0, e.metric("tocsin_ticketing_alerts_total", "result", "duplicate"))
}

func TestAlertWithoutIDIsRejected(t *testing.T) {
	e := newEnv(t, nil)
	bad := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0)
	bad.ID = ""
	good := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0)
	err := e.m.Handle(context.Background(), []schemas.Alert{bad, good})
	require.ErrorContains(t, err, "cannot file 1 of 2 alerts")
	require.Equal(t, 1, e.incident("INC-000001").Incident.AlertCount)
	require.Equal(t, 1.0, e.metric("tocsin_ticketing_alerts_total", "result", "invalid"))
}

func TestQuietPeriodInEventTime(t *testing.T) {
	e := newEnv(t, func(o *ticketing.Options) { o.QuietPeriod = 24 * time.Hour })
	a1 := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0)
	// 23h later: within the quiet period, attaches.
	a2 := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0.Add(23*time.Hour))
	// 24h after a2's last event plus a second: a new incident.
	a3 := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityLow, a2.LastSeen.Add(24*time.Hour+time.Second))
	e.handle(a1, a2, a3)

	first := e.incident("INC-000001")
	require.Equal(t, schemas.StatusResolved, first.Incident.Status)
	require.Equal(t, 2, first.Incident.AlertCount)
	require.True(t, first.Incident.ResolvedAt.Equal(a2.LastSeen.Add(24*time.Hour)), "resolved at %s", first.Incident.ResolvedAt)
	require.Equal(t, "auto: quiet for 24h0m0s", first.Incident.Resolution)
	last := first.History[len(first.History)-1]
	require.Equal(t, "resolution", last.Field)
	require.Equal(t, ticketing.ActorAuto, last.By)
	status := first.History[len(first.History)-2]
	require.Equal(t, schemas.Change{IncidentID: "INC-000001", Field: "status", Old: "open", New: "resolved",
		By: ticketing.ActorAuto, At: e.clock.Now()}, status)

	second := e.incident("INC-000002")
	require.Equal(t, schemas.StatusOpen, second.Incident.Status)
	require.Equal(t, 1, second.Incident.AlertCount)
	require.Equal(t, a3.ID, second.Alerts[0].ID)
	require.Equal(t, 0.0, e.metric("tocsin_ticketing_incidents_open", "severity", "medium"))
	require.Equal(t, 1.0, e.metric("tocsin_ticketing_incidents_open", "severity", "low"))
}

func TestSweepResolvesQuietIncidents(t *testing.T) {
	// The sweep runs on the wall clock: an incident is quiet when it has
	// had no alert (nor a responder's change) for the quiet period since
	// tocsin last touched it, whatever the age of the events behind it.
	// The events here are a year older than the clock, as in a backlog
	// that a shipper delivers late; the incidents must not close at once.
	e := newEnv(t, func(o *ticketing.Options) { o.QuietPeriod = time.Hour })
	ctx := context.Background()
	opened := e.clock.Now()
	a1 := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0)
	e.handle(a1)
	require.NoError(t, e.m.Sweep(ctx, opened.Add(time.Minute)))
	_, open := e.list(ticketing.IncidentQuery{Status: schemas.StatusOpen})
	require.Equal(t, 1, open, "events a year old do not make a fresh incident quiet")

	e.clock.Add(30 * time.Minute)
	a2 := mkAlert("ssh-bf", "5.6.7.8", schemas.SeverityMedium, t0.Add(30*time.Minute))
	e.handle(a2)

	require.NoError(t, e.m.Sweep(ctx, opened.Add(time.Hour)))
	_, open = e.list(ticketing.IncidentQuery{Status: schemas.StatusOpen})
	require.Equal(t, 2, open, "a sweep at exactly the end of the quiet period resolves nothing")

	require.NoError(t, e.m.Sweep(ctx, opened.Add(time.Hour+time.Second)))
	resolved, n := e.list(ticketing.IncidentQuery{Status: schemas.StatusResolved})
	require.Equal(t, 1, n)
	require.Equal(t, "INC-000001", resolved[0].ID)
	require.True(t, resolved[0].ResolvedAt.Equal(opened.Add(time.Hour)), "resolved when its quiet period ended")
	require.False(t, resolved[0].ResolvedAt.Before(resolved[0].CreatedAt))
	require.Equal(t, 1.0, e.metric("tocsin_ticketing_incidents_open", "severity", "medium"))

	// A later alert of the same key opens a new incident.
	a3 := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0.Add(40*time.Minute))
	e.handle(a3)
	d := e.incident("INC-000003")
	require.Equal(t, "1.2.3.4", d.Incident.GroupKey)
	require.Equal(t, a3.ID, d.Alerts[0].ID)
	require.Equal(t, 1, e.incident("INC-000001").Incident.AlertCount)
}

func TestFailedWriteLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	defer st.Close()
	flaky := &flakyStore{Store: st}
	m, err := ticketing.New(ticketing.Options{Store: flaky})
	require.NoError(t, err)
	defer m.Close(context.Background())
	ctx := context.Background()

	a1 := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0)
	require.NoError(t, m.Handle(ctx, []schemas.Alert{a1}))
	flaky.fail.Store(true)
	a2 := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityCritical, t0.Add(time.Minute))
	a3 := mkAlert("ssh-bf", "9.9.9.9", schemas.SeverityLow, t0.Add(time.Minute))
	require.ErrorContains(t, m.Handle(ctx, []schemas.Alert{a2, a3}), "disk full")

	// The redelivered batch gives the same result as if the failed
	// attempt had never happened.
	flaky.fail.Store(false)
	require.NoError(t, m.Handle(ctx, []schemas.Alert{a2, a3}))
	d, err := m.Incident(ctx, "INC-000001", ticketing.Page{}, ticketing.Page{})
	require.NoError(t, err)
	require.Equal(t, 2, d.Incident.AlertCount)
	require.Equal(t, schemas.SeverityCritical, d.Incident.Severity)
	d, err = m.Incident(ctx, "INC-000002", ticketing.Page{}, ticketing.Page{})
	require.NoError(t, err)
	require.Equal(t, "9.9.9.9", d.Incident.GroupKey)
	_, total, err := m.Incidents(ctx, ticketing.IncidentQuery{})
	require.NoError(t, err)
	require.Equal(t, 2, total)
}

func TestIncidentsSurviveRestart(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	a1 := mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0)
	a2 := mkAlert("ssh-bf", "5.6.7.8", schemas.SeverityHigh, t0)
	e.handle(a1, a2)
	_, err := e.m.Patch(ctx, "INC-000001", ticketing.Patch{Comment: "looking"}, "alice")
	require.NoError(t, err)
	_, err = e.m.Patch(ctx, "INC-000002", ticketing.Patch{Status: ptr(schemas.StatusResolved), Resolution: "blocked"}, "alice")
	require.NoError(t, err)
	before := e.incident("INC-000001")

	e.restart()
	after := e.incident("INC-000001")
	require.Equal(t, before, after)
	require.Equal(t, []schemas.Comment{{Author: "alice", Text: "looking", At: e.clock.Now()}}, after.Incident.Comments)
	require.Equal(t, 1.0, e.metric("tocsin_ticketing_incidents_open", "severity", "medium"))
	require.Equal(t, 0.0, e.metric("tocsin_ticketing_incidents_open", "severity", "high"))

	// The rebuilt index attaches to the open incident, and the sequence
	// goes on where it stopped.
	e.handle(mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0.Add(time.Minute)))
	e.handle(mkAlert("ssh-bf", "5.6.7.8", schemas.SeverityMedium, t0.Add(time.Minute)))
	require.Equal(t, 2, e.incident("INC-000001").Incident.AlertCount)
	require.Equal(t, "5.6.7.8", e.incident("INC-000003").Incident.GroupKey)
	_, total := e.list(ticketing.IncidentQuery{})
	require.Equal(t, 3, total)
}

func TestPatchTransitions(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.handle(mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0))
	const id = "INC-000001"
	patch := func(p ticketing.Patch) (schemas.Incident, error) { return e.m.Patch(ctx, id, p, "bob") }

	inc, err := patch(ticketing.Patch{Status: ptr(schemas.StatusAcknowledged), Assignee: ptr("bob")})
	require.NoError(t, err)
	require.Equal(t, schemas.StatusAcknowledged, inc.Status)
	require.Equal(t, "bob", inc.Assignee)
	require.Equal(t, 1.0, e.metric("tocsin_ticketing_incidents_open", "severity", "medium"))

	// Acknowledged incidents still take alerts.
	e.handle(mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0.Add(time.Minute)))
	require.Equal(t, 2, e.incident(id).Incident.AlertCount)

	_, err = patch(ticketing.Patch{Status: ptr(schemas.StatusResolved)})
	var invalid *ticketing.InvalidPatchError
	require.ErrorAs(t, err, &invalid)
	require.ErrorContains(t, err, "resolving needs a resolution")

	_, err = patch(ticketing.Patch{Resolution: "no status"})
	require.ErrorAs(t, err, &invalid)

	inc, err = patch(ticketing.Patch{Status: ptr(schemas.StatusResolved), Resolution: "false positive", Comment: "scanner"})
	require.NoError(t, err)
	require.Equal(t, schemas.StatusResolved, inc.Status)
	require.Equal(t, "false positive", inc.Resolution)
	require.True(t, inc.ResolvedAt.Equal(e.clock.Now()))
	require.Len(t, inc.Comments, 1)
	require.Equal(t, 0.0, e.metric("tocsin_ticketing_incidents_open", "severity", "medium"))

	_, err = patch(ticketing.Patch{Status: ptr(schemas.StatusAcknowledged)})
	var trans *ticketing.TransitionError
	require.ErrorAs(t, err, &trans)
	require.Equal(t, schemas.StatusResolved, trans.From)

	// A new alert after resolution opens a second incident, which then
	// blocks reopening the first.
	e.handle(mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, t0.Add(2*time.Minute)))
	_, err = patch(ticketing.Patch{Status: ptr(schemas.StatusOpen)})
	require.ErrorAs(t, err, &trans)
	require.ErrorContains(t, err, "INC-000002 is already active")
	_, err = e.m.Patch(ctx, "INC-000002", ticketing.Patch{Status: ptr(schemas.StatusResolved), Resolution: "dup"}, "bob")
	require.NoError(t, err)

	e.clock.Add(time.Hour)
	inc, err = patch(ticketing.Patch{Status: ptr(schemas.StatusOpen), Assignee: ptr("")})
	require.NoError(t, err)
	require.Equal(t, schemas.StatusOpen, inc.Status)
	require.Empty(t, inc.Resolution)
	require.True(t, inc.ResolvedAt.IsZero())
	require.Empty(t, inc.Assignee)

	// The reopened incident gets a fresh quiet period from the reopen, so
	// a sweep at the old deadline leaves it alone, and it takes alerts.
	require.NoError(t, e.m.Sweep(ctx, e.clock.Now().Add(time.Hour)))
	require.Equal(t, schemas.StatusOpen, e.incident(id).Incident.Status)
	e.handle(mkAlert("ssh-bf", "1.2.3.4", schemas.SeverityMedium, e.clock.Now()))
	require.Equal(t, 3, e.incident(id).Incident.AlertCount)

	// Setting what is already there writes nothing.
	before := e.incident(id)
	inc, err = patch(ticketing.Patch{Status: ptr(schemas.StatusOpen)})
	require.NoError(t, err)
	require.Equal(t, before.Incident.UpdatedAt, inc.UpdatedAt)
	require.Equal(t, before.History, e.incident(id).History)

	_, err = e.m.Patch(ctx, "INC-999999", ticketing.Patch{Comment: "x"}, "bob")
	require.ErrorIs(t, err, ticketing.ErrNotFound)
	_, err = patch(ticketing.Patch{Comment: "x"})
	require.NoError(t, err)
	_, err = e.m.Patch(ctx, id, ticketing.Patch{Comment: "x"}, "auto")
	require.ErrorAs(t, err, &invalid)

	var rows []string
	for _, c := range e.incident(id).History {
		if c.By == "bob" {
			rows = append(rows, c.Field+":"+c.Old+">"+c.New)
		}
	}
	require.Equal(t, []string{
		"status:open>acknowledged",
		"assignee:>bob",
		"status:acknowledged>resolved",
		"resolution:>false positive",
		"status:resolved>open",
		"resolution:false positive>",
		"assignee:bob>",
	}, rows)
}

func TestFailureHandlerKeepsNewest(t *testing.T) {
	dir := t.TempDir()
	st, err := openStoreMax(dir, 5)
	require.NoError(t, err)
	defer st.Close()
	m, err := ticketing.New(ticketing.Options{Store: st})
	require.NoError(t, err)
	defer m.Close(context.Background())
	var h bus.Handler[schemas.ParseFailure] = m.FailureHandler()
	ctx := context.Background()
	for i := range 8 {
		reason := "no_header"
		if i%2 == 1 {
			reason = "too_long"
		}
		f := schemas.ParseFailure{Source: "udp", Address: "10.0.0.1", Reason: reason, Raw: []byte{byte('a' + i), 0xff},
			Received: t0.Add(time.Duration(i) * time.Second)}
		require.NoError(t, h.Handle(ctx, []schemas.ParseFailure{f}))
	}
	p, err := m.ParseFailures(ctx, ticketing.FailureQuery{})
	require.NoError(t, err)
	require.Equal(t, 5, p.Total)
	require.Equal(t, map[string]int{"no_header": 2, "too_long": 3}, p.ByReason)
	require.Equal(t, []byte{'h', 0xff}, p.Failures[0].Raw, "newest first")
	require.Equal(t, []byte{'d', 0xff}, p.Failures[4].Raw, "the three oldest are gone")

	p, err = m.ParseFailures(ctx, ticketing.FailureQuery{Reason: "no_header", Page: ticketing.Page{Limit: 1, Offset: 1}})
	require.NoError(t, err)
	require.Equal(t, 2, p.Total)
	require.Len(t, p.Failures, 1)
	require.Equal(t, []byte{'e', 0xff}, p.Failures[0].Raw)
	require.True(t, p.Failures[0].Received.Equal(t0.Add(4*time.Second)))

	p, err = m.ParseFailures(ctx, ticketing.FailureQuery{Source: "tcp"})
	require.NoError(t, err)
	require.Equal(t, 0, p.Total)
	require.Empty(t, p.Failures)
}

func TestNewRejectsBadOptions(t *testing.T) {
	_, err := ticketing.New(ticketing.Options{})
	require.ErrorContains(t, err, "no store given")
	st := openStore(t, t.TempDir())
	defer st.Close()
	_, err = ticketing.New(ticketing.Options{Store: st, QuietPeriod: -time.Second})
	require.ErrorContains(t, err, "negative quiet period")
	for _, c := range []struct {
		hook ticketing.WebhookConfig
		want string
	}{
		{ticketing.WebhookConfig{URL: "ftp://x"}, "want http:// or https://"},
		{ticketing.WebhookConfig{URL: "http://x", MinSeverity: schemas.SeverityHigh,
			Severities: []schemas.Severity{schemas.SeverityLow}}, "not both"},
		{ticketing.WebhookConfig{URL: "http://x", Headers: map[string]string{"Content-Type": "text/plain"}}, "set by tocsin"},
		{ticketing.WebhookConfig{URL: "http://x", BearerToken: "t", Headers: map[string]string{"authorization": "x"}}, "not both"},
		{ticketing.WebhookConfig{URL: "http://x", MaxAttempts: -1}, "negative"},
	} {
		_, err = ticketing.New(ticketing.Options{Store: st, Webhooks: []ticketing.WebhookConfig{c.hook}})
		require.ErrorContains(t, err, c.want)
	}
}

func TestTitle(t *testing.T) {
	for _, c := range []struct {
		rule string
		ents []schemas.Entity
		want string
	}{
		{"SSH brute force", []schemas.Entity{{Type: "ip", Value: "1.2.3.4"}}, "SSH brute force from 1.2.3.4"},
		{"Sudo failures", []schemas.Entity{{Type: "user", Value: "bob"}, {Type: "user", Value: "eve"}, {Type: "host", Value: "db1"}},
			"Sudo failures for user bob on db1"},
		{"", []schemas.Entity{{Type: "process.name", Value: "cron"}}, "rule-x with process.name cron"},
		{"Odd", []schemas.Entity{{Type: "user", Value: "a\nb\x00"}}, "Odd for user a?b?"},
		{"Long", []schemas.Entity{{Type: "ip", Value: string(make([]byte, 100))}}, "Long from " + repeat("?", 64) + "…"},
	} {
		require.Equal(t, c.want, ticketing.Title(c.rule, "rule-x", c.ents))
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// TestConcurrentUse runs the writers and the API readers at once; run
// with -race it checks the locking, and the totals check that no alert
// was lost or counted twice. The goroutines report with t.Errorf, since
// require may stop only the test's own goroutine.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	api := ticketing.NewAPI(ticketing.APIOptions{Manager: e.m, Gatherer: e.reg})
	const batches, perBatch, keys = 40, 10, 20
	var wg sync.WaitGroup
	wg.Go(func() {
		for b := range batches {
			var alerts []schemas.Alert
			for i := range perBatch {
				n := b*perBatch + i
				alerts = append(alerts, mkAlert("ssh-bf", fmt.Sprintf("10.0.0.%d", n%keys), schemas.SeverityMedium,
					t0.Add(time.Duration(n)*time.Second)))
			}
			if err := e.m.Handle(ctx, alerts); err != nil {
				t.Errorf("handle: %v", err)
				return
			}
		}
	})
	wg.Go(func() {
		for range batches {
			if err := e.m.Sweep(ctx, t0); err != nil {
				t.Errorf("sweep: %v", err)
				return
			}
		}
	})
	wg.Go(func() {
		for range batches {
			_, err := e.m.Patch(ctx, "INC-000001", ticketing.Patch{Comment: "seen"}, "bob")
			if err != nil && !errors.Is(err, ticketing.ErrNotFound) {
				t.Errorf("patch: %v", err)
				return
			}
		}
	})
	wg.Go(func() {
		for range batches {
			for _, target := range []string{"/api/v1/incidents?limit=5", "/api/v1/incidents/INC-000001", "/metrics"} {
				rec := httptest.NewRecorder()
				api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
				if rec.Code != http.StatusOK && rec.Code != http.StatusNotFound {
					t.Errorf("GET %s: %d %s", target, rec.Code, rec.Body)
					return
				}
			}
		}
	})
	wg.Wait()

	list, total := e.list(ticketing.IncidentQuery{})
	require.Equal(t, keys, total)
	sum := 0
	for _, inc := range list {
		sum += inc.AlertCount
	}
	require.Equal(t, batches*perBatch, sum)
	require.Equal(t, float64(keys), e.metric("tocsin_ticketing_incidents_open", "severity", "medium"))
}
