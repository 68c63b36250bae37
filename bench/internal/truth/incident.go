package truth

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// maxIncidentLine bounds one JSON line of replay output. Incidents are a
// few hundred bytes; the bound only keeps a corrupt file from exhausting
// memory.
const maxIncidentLine = 16 << 20

// Entity is an incident entity as replay prints it.
type Entity struct {
	Type  string `json:"type"`
	Field string `json:"field"`
	Value string `json:"value"`
}

// Incident is the part of a replayed incident the checker reads. It
// decodes schemas.Incident lines, and also alert lines (rule_id instead of
// rule_ids) so the checker works on either stream.
type Incident struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	Severity   string    `json:"severity"`
	RuleIDs    []string  `json:"rule_ids"`
	RuleID     string    `json:"rule_id"`
	Entities   []Entity  `json:"entities"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	AlertCount int       `json:"alert_count"`
}

// Rules returns the incident's rule IDs, whichever field carried them.
func (in *Incident) Rules() []string {
	if len(in.RuleIDs) > 0 {
		return in.RuleIDs
	}
	if in.RuleID != "" {
		return []string{in.RuleID}
	}
	return nil
}

// ReadIncidents reads JSON lines, one incident per line. Blank lines are
// skipped; a line that is not an object with an id and a rule ID is an
// error naming the line.
func ReadIncidents(r io.Reader) ([]Incident, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxIncidentLine)
	var out []Incident
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(trimSpace(line)) == 0 {
			continue
		}
		var in Incident
		if err := json.Unmarshal(line, &in); err != nil {
			return nil, fmt.Errorf("line %d: cannot decode incident: %w", n, err)
		}
		if in.ID == "" || len(in.Rules()) == 0 {
			return nil, fmt.Errorf("line %d: incident lacks id or rule_ids", n)
		}
		out = append(out, in)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("cannot read incidents: a line is over %d bytes: %w", maxIncidentLine, err)
		}
		return nil, fmt.Errorf("cannot read incidents: %w", err)
	}
	return out, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
