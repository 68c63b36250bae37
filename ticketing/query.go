package ticketing

import (
	"context"
	"errors"
	"fmt"

	"github.com/tocsin-siem/tocsin/bus"
	"github.com/tocsin-siem/tocsin/schemas"
)

// Page sizes for Manager.Incident when a page's Limit is zero, and the
// largest allowed.
const (
	DefaultAlertsLimit = 20
	MaxAlertsLimit     = 500
	DefaultEventsLimit = 10
	MaxEventsLimit     = 1000
)

// IncidentDetail is one incident with a page of its alerts, a page of
// each alert's events, and its history.
type IncidentDetail struct {
	Incident schemas.Incident `json:"incident"`
	// Alerts are oldest first; each one's Events holds the page of its
	// events that EventsLimit and EventsOffset select.
	Alerts       []StoredAlert    `json:"alerts"`
	AlertsTotal  int              `json:"alerts_total"`
	AlertsLimit  int              `json:"alerts_limit"`
	AlertsOffset int              `json:"alerts_offset"`
	EventsLimit  int              `json:"events_limit"`
	EventsOffset int              `json:"events_offset"`
	History      []schemas.Change `json:"history"`
}

// Incident returns incident id with a page of its alerts and, for each,
// a page of its events. Limits of zero take the defaults, larger ones
// are cut to the maxima. Errors: ErrNotFound, or a store failure.
func (m *Manager) Incident(ctx context.Context, id string, alerts, events Page) (IncidentDetail, error) {
	alerts = alerts.bound(DefaultAlertsLimit, MaxAlertsLimit)
	events = events.bound(DefaultEventsLimit, MaxEventsLimit)
	rec, err := m.store.Incident(ctx, id)
	if err != nil {
		return IncidentDetail{}, m.readErr("incident "+id, err)
	}
	d := IncidentDetail{
		Incident:     rec.Incident,
		AlertsLimit:  alerts.Limit,
		AlertsOffset: alerts.Offset,
		EventsLimit:  events.Limit,
		EventsOffset: events.Offset,
	}
	if d.Alerts, d.AlertsTotal, err = m.store.Alerts(ctx, id, alerts); err != nil {
		return IncidentDetail{}, m.readErr("alerts of incident "+id, err)
	}
	for i := range d.Alerts {
		a := &d.Alerts[i]
		if a.Events, _, err = m.store.Events(ctx, a.ID, events); err != nil {
			return IncidentDetail{}, m.readErr("events of alert "+a.ID, err)
		}
	}
	if d.History, err = m.store.History(ctx, id); err != nil {
		return IncidentDetail{}, m.readErr("history of incident "+id, err)
	}
	return d, nil
}

func (m *Manager) readErr(what string, err error) error {
	if !isNotFound(err) {
		m.met.storeErrors.Inc()
	}
	return fmt.Errorf("cannot read %s: %w", what, err)
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// bound fills in a default limit, caps it, and clamps a negative offset.
func (p Page) bound(def, limit int) Page {
	if p.Limit <= 0 {
		p.Limit = def
	}
	p.Limit = min(p.Limit, limit)
	p.Offset = max(p.Offset, 0)
	return p
}

// HandleFailures stores parse failures. It does not take the Manager's
// lock: failures share nothing with incidents.
func (m *Manager) HandleFailures(ctx context.Context, fs []schemas.ParseFailure) error {
	if len(fs) == 0 {
		return nil
	}
	m.met.failures.Add(float64(len(fs)))
	if err := m.store.AddParseFailures(ctx, fs); err != nil {
		m.met.storeErrors.Inc()
		return fmt.Errorf("cannot store %d parse failures: %w", len(fs), err)
	}
	return nil
}

// FailureHandler returns m as a bus.Handler of parse failures.
func (m *Manager) FailureHandler() bus.Handler[schemas.ParseFailure] { return failureHandler{m} }

type failureHandler struct{ m *Manager }

func (h failureHandler) Handle(ctx context.Context, fs []schemas.ParseFailure) error {
	return h.m.HandleFailures(ctx, fs)
}
