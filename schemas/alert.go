package schemas

import (
	"fmt"
	"strings"
	"time"
)

// Severity orders alerts and incidents. The zero value is SeverityInfo.
type Severity uint8

// Severities, lowest first.
const (
	SeverityInfo Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

// String returns the lower-case name.
func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// ParseSeverity reads a severity name, case-insensitively.
func ParseSeverity(v string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(v, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of %s)", v, strings.Join(severityNames[:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Entity is something an alert or incident is about: a source IP, a user, a
// host.
type Entity struct {
	// Type is "ip", "user", "host", "domain", or the field name when the
	// field does not name an entity kind.
	Type string `json:"type"`
	// Field is the event field the value came from ("source.ip").
	Field string `json:"field"`
	Value string `json:"value"`
}

// Alert is what a rule produces when it fires. Its ID is deterministic: the
// same rule firing on the same input yields the same ID, so a consumer can
// drop redelivered alerts.
type Alert struct {
	ID          string   `json:"id"`
	RuleID      string   `json:"rule_id"`
	RuleTitle   string   `json:"rule_title"`
	RuleKind    string   `json:"rule_kind"`
	Description string   `json:"description,omitempty"`
	Severity    Severity `json:"severity"`
	Tags        []string `json:"tags,omitempty"`
	References  []string `json:"references,omitempty"`
	// GroupKey joins the rule's group_by values; with RuleID it names the
	// incident an alert belongs to.
	GroupKey string   `json:"group_key"`
	Entities []Entity `json:"entities"`
	// Reason explains, in a sentence, why the rule fired.
	Reason    string    `json:"reason"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Count is the number of occurrences (sum of event.count) that made
	// the rule fire.
	Count int `json:"count"`
	// Events are the events behind the alert, oldest first, capped by the
	// engine's evidence limit; EventsTotal is how many there were.
	Events      []Event   `json:"events"`
	EventsTotal int       `json:"events_total"`
	CreatedAt   time.Time `json:"created_at"`
}
