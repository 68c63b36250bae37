package schemas

import (
	"fmt"
	"time"
)

// Status is an incident's place in its lifecycle.
type Status string

// Incident statuses.
const (
	StatusOpen         Status = "open"
	StatusAcknowledged Status = "acknowledged"
	StatusResolved     Status = "resolved"
)

// ParseStatus checks a status name.
func ParseStatus(v string) (Status, error) {
	switch s := Status(v); s {
	case StatusOpen, StatusAcknowledged, StatusResolved:
		return s, nil
	}
	return "", fmt.Errorf("unknown status %q (want open, acknowledged or resolved)", v)
}

// Active reports whether further alerts attach to the incident.
func (s Status) Active() bool { return s == StatusOpen || s == StatusAcknowledged }

// Incident groups the alerts of one rule and group key while it is active.
type Incident struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	Severity   Severity  `json:"severity"`
	Status     Status    `json:"status"`
	RuleIDs    []string  `json:"rule_ids"`
	GroupKey   string    `json:"group_key"`
	Entities   []Entity  `json:"entities"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	AlertCount int       `json:"alert_count"`
	Assignee   string    `json:"assignee,omitempty"`
	// Resolution says how it was resolved ("auto: quiet for 24h0m0s",
	// or the responder's words).
	Resolution string    `json:"resolution,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	Comments   []Comment `json:"comments,omitempty"`
}

// Comment is a note a responder left on an incident.
type Comment struct {
	Author string    `json:"author"`
	Text   string    `json:"text"`
	At     time.Time `json:"at"`
}

// Change is one entry in an incident's history: what changed, from what to
// what, by whom, when.
type Change struct {
	IncidentID string    `json:"incident_id"`
	Field      string    `json:"field"`
	Old        string    `json:"old"`
	New        string    `json:"new"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
}
