package ticketing

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// List page sizes for the API.
const (
	DefaultListLimit = 50
	MaxListLimit     = 1000
	// maxOffset keeps offsets in a range every store handles.
	maxOffset = 1<<31 - 1
)

// DefaultActor is the actor recorded for a PATCH that names none.
const DefaultActor = "api"

// patchBody is the PATCH /api/v1/incidents/{id} body.
type patchBody struct {
	Status     *string `json:"status"`
	Assignee   *string `json:"assignee"`
	Comment    *string `json:"comment"`
	Resolution *string `json:"resolution"`
	Actor      *string `json:"actor"`
}

// DecodePatch reads a PATCH body: one JSON object with the fields
// status, assignee, comment, resolution and actor, nothing else. It
// returns the patch, validated, and the actor (DefaultActor when absent).
func DecodePatch(r io.Reader) (Patch, string, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var b patchBody
	if err := dec.Decode(&b); err != nil {
		if errors.Is(err, io.EOF) {
			return Patch{}, "", errors.New("invalid body: empty, want a JSON object")
		}
		return Patch{}, "", fmt.Errorf("invalid body: %w", err)
	}
	switch _, err := dec.Token(); {
	case err == nil:
		return Patch{}, "", errors.New("invalid body: data after the JSON object")
	case !errors.Is(err, io.EOF):
		return Patch{}, "", fmt.Errorf("invalid body: %w", err)
	}
	var p Patch
	if b.Status != nil {
		s, err := schemas.ParseStatus(*b.Status)
		if err != nil {
			return Patch{}, "", fmt.Errorf("invalid body: %w", err)
		}
		p.Status = &s
	}
	p.Assignee = b.Assignee
	if b.Comment != nil {
		p.Comment = *b.Comment
	}
	if b.Resolution != nil {
		p.Resolution = *b.Resolution
	}
	actor := DefaultActor
	if b.Actor != nil {
		actor = *b.Actor
	}
	if err := p.Validate(actor); err != nil {
		return Patch{}, "", err
	}
	return p, actor, nil
}

// query reads URL parameters strictly: each at most once, none unknown.
type query struct {
	v    url.Values
	errs []error
}

func newQuery(v url.Values, known ...string) *query {
	q := &query{v: v}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case !slices.Contains(known, k):
			q.errs = append(q.errs, fmt.Errorf("unknown query parameter %q (known: %s)", k, strings.Join(known, ", ")))
		case len(v[k]) > 1:
			q.errs = append(q.errs, fmt.Errorf("query parameter %q given %d times", k, len(v[k])))
		}
	}
	return q
}

func (q *query) str(k string) string { return q.v.Get(k) }

// int reads a non-negative integer up to hi; def when absent.
func (q *query) int(k string, def, lo, hi int) int {
	s := q.v.Get(k)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		q.errs = append(q.errs, fmt.Errorf("query parameter %s=%q: want an integer from %d to %d", k, s, lo, hi))
		return def
	}
	return n
}

func (q *query) severity(k string) *schemas.Severity {
	s := q.v.Get(k)
	if s == "" {
		return nil
	}
	v, err := schemas.ParseSeverity(s)
	if err != nil {
		q.errs = append(q.errs, fmt.Errorf("query parameter %s: %w", k, err))
		return nil
	}
	return &v
}

func (q *query) err() error { return errors.Join(q.errs...) }

// ParseIncidentQuery reads the parameters of GET /api/v1/incidents:
// status, severity (exact), min_severity, rule, limit (1..1000, default
// 50) and offset. severity and min_severity together must both hold.
func ParseIncidentQuery(v url.Values) (IncidentQuery, error) {
	q := newQuery(v, "status", "severity", "min_severity", "rule", "limit", "offset")
	var out IncidentQuery
	if s := q.str("status"); s != "" {
		st, err := schemas.ParseStatus(s)
		if err != nil {
			q.errs = append(q.errs, fmt.Errorf("query parameter status: %w", err))
		}
		out.Status = st
	}
	out.Severity = q.severity("severity")
	out.MinSeverity = q.severity("min_severity")
	out.RuleID = q.str("rule")
	out.Limit = q.int("limit", DefaultListLimit, 1, MaxListLimit)
	out.Offset = q.int("offset", 0, 0, maxOffset)
	return out, q.err()
}

// ParseDetailQuery reads the parameters of GET /api/v1/incidents/{id}:
// alerts_limit, alerts_offset, events_limit and events_offset.
func ParseDetailQuery(v url.Values) (alerts, events Page, err error) {
	q := newQuery(v, "alerts_limit", "alerts_offset", "events_limit", "events_offset")
	alerts.Limit = q.int("alerts_limit", DefaultAlertsLimit, 1, MaxAlertsLimit)
	alerts.Offset = q.int("alerts_offset", 0, 0, maxOffset)
	events.Limit = q.int("events_limit", DefaultEventsLimit, 1, MaxEventsLimit)
	events.Offset = q.int("events_offset", 0, 0, maxOffset)
	return alerts, events, q.err()
}

// ParseFailureQuery reads the parameters of GET /api/v1/parse-failures:
// reason, source, limit (1..1000, default 50) and offset.
func ParseFailureQuery(v url.Values) (FailureQuery, error) {
	q := newQuery(v, "reason", "source", "limit", "offset")
	out := FailureQuery{Reason: q.str("reason"), Source: q.str("source")}
	out.Limit = q.int("limit", DefaultListLimit, 1, MaxListLimit)
	out.Offset = q.int("offset", 0, 0, maxOffset)
	return out, q.err()
}
