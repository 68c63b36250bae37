package rules

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
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

// parseReason splits s into literal text and placeholders. It reports
// every syntax problem, not just the first: the template is only usable
// when there are none.
func parseReason(s string) (reasonTemplate, []string) {
	var t reasonTemplate
	var problems []string
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
				problems = append(problems, fmt.Sprintf("unclosed placeholder at column %d (write {{ for a literal brace)", i+1))
				i = len(s)
				break
			}
			name := strings.TrimSpace(s[i+1 : i+end])
			if name == "" {
				problems = append(problems, fmt.Sprintf("empty placeholder at column %d", i+1))
				i += end
				break
			}
			if lit.Len() > 0 {
				t.parts = append(t.parts, reasonPart{lit: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, reasonPart{name: name})
			i += end
		case c == '}':
			problems = append(problems, fmt.Sprintf("unmatched } at column %d (write }} for a literal brace)", i+1))
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, reasonPart{lit: lit.String()})
	}
	return t, problems
}

// placeholderScope is what a rule's reason may name: the built-in
// figures, event fields, and its kind's parameters.
type placeholderScope struct {
	// kind is the rule's kind name; "" when unknown or missing.
	kind string
	// vars are the kind's parameters this rule has (Detector.Vars), or
	// all the kind may offer when its keys have problems.
	vars map[string]string
	// kinds maps every loaded kind to the placeholders it may offer and
	// the key that enables each ("" for always); kinds that do not say
	// are absent.
	kinds map[string]map[string]string
	// lenient accepts every placeholder any loaded kind offers: used when
	// the rule's kind is missing or unknown, so that the reason is still
	// checked without guessing at the parameters of the kind meant.
	lenient bool
}

// check returns a problem for each distinct placeholder of t that the
// rule cannot fill, in order of first appearance.
func (t reasonTemplate) check(sc placeholderScope) []string {
	var problems []string
	seen := map[string]bool{}
	for _, p := range t.parts {
		if p.name == "" || seen[p.name] {
			continue
		}
		seen[p.name] = true
		if msg := sc.problem(p.name); msg != "" {
			problems = append(problems, msg)
		}
	}
	return problems
}

// problem says what is wrong with placeholder name, or "" when the rule
// can fill it.
func (sc placeholderScope) problem(name string) string {
	if _, ok := sc.vars[name]; ok || isBuiltinVar(name) {
		return ""
	}
	if _, ok := schemas.LookupField(name); ok {
		return "" // a derived field such as source.address
	}
	f, isField := eventFields[name]
	if isField && !f.isStruct() {
		return ""
	}
	if sc.lenient && sc.otherKindsOffering(name, true) != nil {
		return ""
	}
	if isField {
		return fmt.Sprintf("placeholder {%s} is a group of fields, not a value; name one of them: %s",
			name, braceList(leafFieldsUnder(name)))
	}
	if key, ok := sc.kinds[sc.kind][name]; ok && key != "" {
		return fmt.Sprintf("placeholder {%s} is only set when the rule has %s", name, key)
	}
	if others := sc.otherKindsOffering(name, false); others != nil {
		return fmt.Sprintf("placeholder {%s} belongs to %s rules; %s", name, strings.Join(others, " and "), sc.offer())
	}
	if s := suggest(name, sc.candidates()); s != "" {
		return fmt.Sprintf("unknown placeholder {%s}; did you mean {%s}?", name, s)
	}
	return fmt.Sprintf("unknown placeholder {%s}; %s", name, sc.offer())
}

// otherKindsOffering lists, sorted, the kinds other than the rule's own
// (all of them when all is true) that may offer placeholder name.
func (sc placeholderScope) otherKindsOffering(name string, all bool) []string {
	var out []string
	for k, ph := range sc.kinds {
		if _, ok := ph[name]; ok && (all || k != sc.kind) {
			out = append(out, k)
		}
	}
	if out == nil {
		return nil
	}
	return sortedCopy(out)
}

// offered lists the non-field placeholders the rule offers: the built-in
// figures, then its kind's parameters.
func (sc placeholderScope) offered() []string {
	out := slices.Clone(reasonBuiltins)
	if !sc.lenient {
		return append(out, sortedKeys(sc.vars)...)
	}
	all := map[string]string{}
	for _, ph := range sc.kinds {
		maps.Copy(all, ph)
	}
	return append(out, sortedKeys(all)...)
}

// offer phrases what the rule offers, for an error message.
func (sc placeholderScope) offer() string {
	who := "a rule"
	if sc.kind != "" {
		who = "a " + sc.kind + " rule"
	}
	return fmt.Sprintf("%s offers an event field such as {source.ip} or one of: %s", who, braceList(sc.offered()))
}

// candidates are the names a misspelt placeholder is compared with:
// what the rule offers and every event field that holds a value.
func (sc placeholderScope) candidates() []string {
	var fields []string
	for p, f := range eventFields {
		if !f.isStruct() {
			fields = append(fields, p)
		}
	}
	slices.Sort(fields) // suggest keeps the first of equally close names
	return append(sc.offered(), fields...)
}

// leafFieldsUnder lists, sorted, the value fields below a group of fields.
func leafFieldsUnder(path string) []string {
	var out []string
	for p, f := range eventFields {
		if strings.HasPrefix(p, path+".") && !f.isStruct() {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func braceList(names []string) string {
	return "{" + strings.Join(names, "}, {") + "}"
}

func isBuiltinVar(n string) bool {
	return slices.Contains(reasonBuiltins, n)
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
		if f, ok := schemas.LookupField(name); ok {
			return f.Get(last)
		}
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
