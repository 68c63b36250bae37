package ticketing

import (
	"context"
	"errors"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// ErrNotFound is returned by a Store, and passed on by the Manager, when
// the incident or alert asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrInvalidAlert is returned by Handle, after the valid alerts of the
// batch were filed, when some alerts lacked an ID or a rule ID. Delivering
// the batch again cannot help.
var ErrInvalidAlert = errors.New("invalid alert")

// Store persists what the ticketing stage knows: incidents, their alerts,
// the events behind each alert, history, comments and parse failures.
//
// The Manager is the only writer of incidents (Apply); it serialises its
// own calls. Readers (the HTTP API) call the query methods concurrently
// with the writer, so an implementation must allow that. Every method
// honours ctx.
type Store interface {
	IncidentStore
	FailureStore
	// Ping reports whether the store can serve requests; /healthz calls it.
	Ping(ctx context.Context) error
	// Close releases the store. No method may be called afterwards.
	Close() error
}

// IncidentStore keeps incidents and what hangs off them.
type IncidentStore interface {
	// LoadActive returns every open or acknowledged incident and the
	// highest incident sequence ever used. New calls it once to rebuild
	// its index of active incidents.
	LoadActive(ctx context.Context) (State, error)
	// KnownAlerts returns which of ids are already stored. The Manager
	// calls it once per batch to drop redelivered alerts.
	KnownAlerts(ctx context.Context, ids []string) (map[string]struct{}, error)
	// Apply writes b atomically: all of it or, on error, none of it.
	// Incidents are written whole (insert or replace by ID); an alert
	// whose ID is already stored is skipped together with its events.
	Apply(ctx context.Context, b *Batch) error

	// Incident returns one incident with its comments, or ErrNotFound.
	Incident(ctx context.Context, id string) (IncidentRecord, error)
	// Incidents returns the page of incidents that match q, newest
	// first, and how many match in all. Comments are not filled.
	Incidents(ctx context.Context, q IncidentQuery) ([]schemas.Incident, int, error)
	// Alerts returns a page of an incident's alerts, oldest first, and
	// how many it has. Each alert's Events is nil: see Events.
	Alerts(ctx context.Context, incidentID string, p Page) ([]StoredAlert, int, error)
	// Events returns a page of the events stored for an alert, oldest
	// first, and how many are stored.
	Events(ctx context.Context, alertID string, p Page) ([]schemas.Event, int, error)
	// History returns an incident's changes, oldest first.
	History(ctx context.Context, incidentID string) ([]schemas.Change, error)
}

// FailureStore keeps lines that no parser understood.
type FailureStore interface {
	// AddParseFailures stores fs. The store bounds how many it keeps,
	// dropping the oldest first.
	AddParseFailures(ctx context.Context, fs []schemas.ParseFailure) error
	// ParseFailures returns the page of failures that match q, newest
	// first, with counts.
	ParseFailures(ctx context.Context, q FailureQuery) (FailurePage, error)
}

// State is what a Store holds about the incidents that are still active.
type State struct {
	Active []IncidentRecord
	// LastSeq is the highest incident sequence used so far, 0 for an
	// empty store. IDs are never reused, even for deleted rows.
	LastSeq int64
}

// IncidentRecord is an incident together with the bookkeeping the Manager
// needs to carry it across restarts.
type IncidentRecord struct {
	schemas.Incident
	// Seq is the number in the incident ID ("INC-000042" has 42).
	Seq int64
	// QuietFrom is where the quiet period starts counting: the last
	// alert's time, or the time a responder reopened the incident when
	// that is later.
	QuietFrom time.Time
}

// StoredAlert is an alert as kept by a Store: the alert without its
// events, and how many of its events were stored.
type StoredAlert struct {
	schemas.Alert
	// IncidentID is the incident the alert belongs to.
	IncidentID string `json:"incident_id"`
	// EventsStored is how many events the store holds for the alert;
	// it can be below EventsTotal when the engine capped its evidence.
	EventsStored int `json:"events_stored"`
}

// Batch is one atomic write.
type Batch struct {
	Incidents []IncidentRecord
	Alerts    []AlertRecord
	Changes   []schemas.Change
	Comments  []CommentRecord
}

// AlertRecord files an alert, events included, under an incident.
type AlertRecord struct {
	IncidentID string
	Alert      *schemas.Alert
}

// CommentRecord files a comment under an incident.
type CommentRecord struct {
	IncidentID string
	Comment    schemas.Comment
}

// Reset empties b for reuse.
func (b *Batch) Reset() {
	clear(b.Incidents)
	clear(b.Alerts)
	clear(b.Changes)
	clear(b.Comments)
	b.Incidents = b.Incidents[:0]
	b.Alerts = b.Alerts[:0]
	b.Changes = b.Changes[:0]
	b.Comments = b.Comments[:0]
}

// Empty reports whether b writes nothing.
func (b *Batch) Empty() bool {
	return len(b.Incidents) == 0 && len(b.Alerts) == 0 && len(b.Changes) == 0 && len(b.Comments) == 0
}

// Page selects a window of a list.
type Page struct {
	Limit  int
	Offset int
}

// IncidentQuery filters a list of incidents. Zero fields match anything;
// a zero Limit returns every match.
type IncidentQuery struct {
	Status schemas.Status
	// Severity, when set, matches that severity exactly.
	Severity *schemas.Severity
	// MinSeverity, when set, matches that severity and above.
	MinSeverity *schemas.Severity
	RuleID      string
	Page
}

// FailureQuery filters a list of parse failures. Empty fields match
// anything; a zero Limit returns every match.
type FailureQuery struct {
	Reason string
	Source string
	Page
}

// FailurePage is a page of parse failures.
type FailurePage struct {
	Failures []schemas.ParseFailure
	// Total is how many failures match the whole query.
	Total int
	// ByReason counts the failures that match the query's Source, per
	// reason, ignoring its Reason, so that a client can see the split
	// while it looks at one reason.
	ByReason map[string]int
}
