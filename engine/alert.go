package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"

	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
)

// buildAlert assembles the alert for a firing. values are the group_by
// values in order; f.Events must not be empty.
func (e *Engine) buildAlert(r *engRule, values []string, f *rules.Firing) schemas.Alert {
	spec := &r.r.Spec
	a := schemas.Alert{
		ID:          alertID(spec.ID, values, f.Events[0]),
		RuleID:      spec.ID,
		RuleTitle:   spec.Title,
		RuleKind:    spec.Kind,
		Description: spec.Description,
		Severity:    spec.Severity,
		Tags:        spec.Tags,
		References:  spec.References,
		GroupKey:    strings.Join(values, "|"),
		Entities:    make([]schemas.Entity, 0, len(r.r.GroupBy)),
		Reason:      r.r.Reason(f, values),
		FirstSeen:   f.FirstSeen,
		LastSeen:    f.LastSeen,
		Count:       f.Count,
		Events:      evidence(f.Events, e.opts.EvidenceLimit),
		EventsTotal: len(f.Events),
		CreatedAt:   e.opts.Now(),
	}
	for i, g := range r.r.GroupBy {
		a.Entities = append(a.Entities, schemas.Entity{Type: schemas.EntityTypeOf(g, values[i]), Field: g.Name, Value: values[i]})
	}
	return a
}

// evidence copies at most limit events: the oldest limit-1 and the
// newest, which for followed_by rules is the event that completed the
// pattern.
func evidence(evs []*schemas.Event, limit int) []schemas.Event {
	n := min(len(evs), limit)
	out := make([]schemas.Event, 0, n)
	for i := 0; i < n-1; i++ {
		out = append(out, *evs[i])
	}
	if n > 0 {
		out = append(out, *evs[len(evs)-1])
	}
	return out
}

// alertID derives an alert's ID from its rule, group and first event (its
// ID, or its timestamp when it has none), so re-processing the same
// input yields the same IDs.
func alertID(rule string, values []string, first *schemas.Event) string {
	h := sha256.New()
	h.Write([]byte(rule))
	for _, v := range values {
		h.Write([]byte{0})
		h.Write([]byte(v))
	}
	var b [17]byte
	if first.ID != 0 {
		b[0] = 'i'
		binary.BigEndian.PutUint64(b[1:9], first.ID)
	} else {
		b[0] = 't'
		binary.BigEndian.PutUint64(b[1:9], uint64(first.Timestamp.UnixNano()))
	}
	h.Write(b[:9])
	return hex.EncodeToString(h.Sum(nil)[:16])
}
