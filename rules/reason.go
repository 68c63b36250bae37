package rules

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// reasonTemplate is a rule's reason sentence with {name} placeholders;
// "{{" and "}}" stand for literal braces.
type reasonTemplate struct {
	parts []reasonPart
}

type reasonPart struct {
	lit  string
	name string // placeholder; "" for literal text
}

// reasonBuiltins are placeholders every rule may use.
var reasonBuiltins = []string{
	"count", "distinct_count", "events", "first_seen", "last_seen",
	"title", "id", "severity", "group",
}

func parseReason(s string) (reasonTemplate, error) {
	var t reasonTemplate
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return t, fmt.Errorf("unclosed placeholder at column %d (write {{ for a literal brace)", i+1)
			}
			name := strings.TrimSpace(s[i+1 : i+end])
			if name == "" {
				return t, fmt.Errorf("empty placeholder at column %d", i+1)
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, reasonPart{lit: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, reasonPart{name: name})
			i += end
		case c == '}':
			return t, fmt.Errorf("unmatched } at column %d (write }} for a literal brace)", i+1)
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, reasonPart{lit: lit.String()})
	}
	return t, nil
}

// check returns the first placeholder the rule cannot fill.
func (t reasonTemplate) check(vars map[string]string) (string, bool) {
	for _, p := range t.parts {
		if p.name == "" {
			continue
		}
		if _, ok := vars[p.name]; ok {
			continue
		}
		if isBuiltinVar(p.name) {
			continue
		}
		if f, ok := eventFields[p.name]; ok && !f.isStruct() {
			continue
		}
		return p.name, false
	}
	return "", true
}

func isBuiltinVar(n string) bool {
	for _, b := range reasonBuiltins {
		if b == n {
			return true
		}
	}
	return false
}

// Reason renders the rule's reason sentence for a firing. values are the
// group_by values, in group_by order. Fields that are not grouped on are
// read from the newest event of the firing.
func (r *Rule) Reason(f *Firing, values []string) string {
	var b strings.Builder
	var last *schemas.Event
	if n := len(f.Events); n > 0 {
		last = f.Events[n-1]
	}
	for _, p := range r.reason.parts {
		if p.name == "" {
			b.WriteString(p.lit)
			continue
		}
		b.WriteString(r.reasonVar(p.name, f, values, last))
	}
	return b.String()
}

func (r *Rule) reasonVar(name string, f *Firing, values []string, last *schemas.Event) string {
	if v, ok := r.vars[name]; ok {
		return v
	}
	switch name {
	case "count":
		return strconv.Itoa(f.Count)
	case "distinct_count":
		return strconv.Itoa(f.Distinct)
	case "events":
		return strconv.Itoa(len(f.Events))
	case "first_seen":
		return f.FirstSeen.UTC().Format(time.RFC3339)
	case "last_seen":
		return f.LastSeen.UTC().Format(time.RFC3339)
	case "title":
		return r.Spec.Title
	case "id":
		return r.Spec.ID
	case "severity":
		return r.Spec.Severity.String()
	case "group":
		return r.GroupString(values)
	}
	for i, g := range r.GroupBy {
		if g.Name == name && i < len(values) {
			return values[i]
		}
	}
	if last == nil {
		return ""
	}
	fld, ok := eventFields[name]
	if !ok {
		return ""
	}
	v := reflect.ValueOf(last).Elem().FieldByIndex(fld.index)
	if fld.typ == timeType {
		return v.Interface().(time.Time).UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v.Interface())
}

// GroupString renders group_by values as "source.ip=1.2.3.4, user.name=x",
// or "all events" when the rule has no group_by.
func (r *Rule) GroupString(values []string) string {
	if len(r.GroupBy) == 0 {
		return "all events"
	}
	var b strings.Builder
	for i, g := range r.GroupBy {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(g.Name)
		b.WriteByte('=')
		if i < len(values) {
			b.WriteString(values[i])
		}
	}
	return b.String()
}
