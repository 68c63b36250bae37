package chstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sshAlert is an alert of rule for ip at first, with two events.
func sshAlert(id, rule, ip string, sev schemas.Severity, first time.Time) schemas.Alert {
	var evs []schemas.Event
	for i := range 2 {
		e := fullEvent(uint64(len(id))<<32|uint64(first.Unix())<<4|uint64(i), first.Add(time.Duration(i)*time.Second))
		e.Source.IP = ip
		e.Event.Original = fmt.Sprintf("Mar  1 10:00:0%d web1 sshd[42]: Failed password for root from %s port 22 ssh2", i, ip)
		evs = append(evs, e)
	}
	return schemas.Alert{
		ID: id, RuleID: rule, RuleTitle: "SSH brute force", Severity: sev, GroupKey: ip,
		Entities:  []schemas.Entity{{Type: "ip", Field: "source.ip", Value: ip}},
		FirstSeen: first, LastSeen: first.Add(time.Second), Count: 2, Events: evs, EventsTotal: 2,
		CreatedAt: first.Add(2 * time.Second),
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestManagerOnClickHouse runs the ticketing Manager over the store:
// open, attach, redelivery dropped, resolve, and a restart that rebuilds
// the index of open incidents from ClickHouse.
func TestManagerOnClickHouse(t *testing.T) {
	o := testOptions(t)
	o.Registerer = nil
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	clock := &testClock{t: t0.Add(time.Hour)}
	o.Now = clock.Now
	ctx := context.Background()

	start := func() (*Store, *ticketing.Manager, *prometheus.Registry) {
		s, err := Open(ctx, o)
		require.NoError(t, err)
		reg := prometheus.NewRegistry()
		m, err := ticketing.New(ticketing.Options{Store: s, Now: clock.Now, Registerer: reg})
		require.NoError(t, err)
		return s, m, reg
	}
	s, m, reg := start()
	a1 := sshAlert("a1", "ssh-bf", "192.0.2.7", schemas.SeverityMedium, t0)
	b1 := sshAlert("b1", "ssh-bf", "198.51.100.9", schemas.SeverityLow, t0)
	require.NoError(t, m.Handle(ctx, []schemas.Alert{a1, b1}))
	clock.Add(time.Minute)
	a2 := sshAlert("a2", "ssh-bf", "192.0.2.7", schemas.SeverityHigh, t0.Add(time.Hour))
	require.NoError(t, m.Handle(ctx, []schemas.Alert{a2}))
	// A bus delivers a batch again: nothing changes.
	require.NoError(t, m.Handle(ctx, []schemas.Alert{a1, a2}))
	require.Equal(t, 2.0, counter(t, reg, "tocsin_ticketing_alerts_total", "result", "duplicate"))

	d, err := m.Incident(ctx, "INC-000001", ticketing.Page{}, ticketing.Page{})
	require.NoError(t, err)
	require.Equal(t, 2, d.Incident.AlertCount)
	require.Equal(t, schemas.SeverityHigh, d.Incident.Severity)
	require.Equal(t, 2, d.AlertsTotal)
	require.Equal(t, []string{"a1", "a2"}, []string{d.Alerts[0].ID, d.Alerts[1].ID})
	require.Equal(t, a1.Events[1].Event.Original, d.Alerts[0].Events[1].Event.Original)

	clock.Add(time.Minute)
	res := schemas.StatusResolved
	_, err = m.Patch(ctx, "INC-000002", ticketing.Patch{Status: &res, Resolution: "blocked"}, "alice")
	require.NoError(t, err)
	ack := schemas.StatusAcknowledged
	_, err = m.Patch(ctx, "INC-000001", ticketing.Patch{Status: &ack, Comment: "looking"}, "alice")
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))
	require.NoError(t, s.Close())

	// A new process on the same database.
	s, m, reg = start()
	t.Cleanup(func() {
		_ = m.Close(ctx)
		_ = s.Close()
	})
	list, total, err := m.Incidents(ctx, ticketing.IncidentQuery{})
	require.NoError(t, err)
	require.Equal(t, 2, total)
	require.Equal(t, []schemas.Status{schemas.StatusResolved, schemas.StatusAcknowledged}, []schemas.Status{list[0].Status, list[1].Status})

	clock.Add(time.Minute)
	a3 := sshAlert("a3", "ssh-bf", "192.0.2.7", schemas.SeverityLow, t0.Add(2*time.Hour))
	b2 := sshAlert("b2", "ssh-bf", "198.51.100.9", schemas.SeverityLow, t0.Add(2*time.Hour))
	require.NoError(t, m.Handle(ctx, []schemas.Alert{a3, b2, a1}))
	require.Equal(t, 1.0, counter(t, reg, "tocsin_ticketing_alerts_total", "result", "duplicate"))
	require.Equal(t, 1.0, counter(t, reg, "tocsin_ticketing_alerts_total", "result", "attached"))
	require.Equal(t, 1.0, counter(t, reg, "tocsin_ticketing_alerts_total", "result", "opened"))

	d, err = m.Incident(ctx, "INC-000001", ticketing.Page{}, ticketing.Page{})
	require.NoError(t, err)
	require.Equal(t, 3, d.Incident.AlertCount, "the acknowledged incident took the alert after the restart")
	require.Equal(t, schemas.StatusAcknowledged, d.Incident.Status)
	require.Equal(t, []schemas.Comment{{Author: "alice", Text: "looking", At: t0.Add(time.Hour + 2*time.Minute)}}, d.Incident.Comments)
	var hist []string
	for _, c := range d.History {
		hist = append(hist, c.Field+":"+c.Old+">"+c.New+"@"+c.By)
	}
	require.Equal(t, []string{"status:>open@rule:ssh-bf", "severity:>medium@rule:ssh-bf",
		"severity:medium>high@rule:ssh-bf", "status:open>acknowledged@alice"}, hist)

	d, err = m.Incident(ctx, "INC-000003", ticketing.Page{}, ticketing.Page{})
	require.NoError(t, err)
	require.Equal(t, "198.51.100.9", d.Incident.GroupKey, "a resolved incident's key opens a new one, numbered on")
	require.Equal(t, []string{"b2"}, []string{d.Alerts[0].ID})
}
