package rules

import (
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tocsin-siem/tocsin/schemas"
)

// DefaultTestNow is a test's reference time when it sets no now: lines
// without a year fall in the year before it, and "+DURATION" event times
// count from it.
var DefaultTestNow = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Test is an example a rule file carries: input, and the alerts the
// file's rules must produce from it, no more and no fewer.
type Test struct {
	Name string
	// File and Line locate the test.
	File string
	Line int
	// Now is the reference time for the input (see DefaultTestNow).
	Now time.Time
	// Lines are raw log lines, fed first, in order.
	Lines []TestLine
	// Events are events given field by field, fed after Lines.
	Events []schemas.Event
	// Expect lists the alerts; empty means no alert at all.
	Expect []Expectation
	// Rules are the IDs of the rules the test runs: those of its file.
	Rules []string
}

// TestLine is one raw line with its place in the rule file.
type TestLine struct {
	Text string
	Line int
}

// Expectation is "rule R fires Count times for a group whose values
// include Group". Every alert the test's rules raise must be covered by
// an expectation.
type Expectation struct {
	Rule  string
	Group map[string]string
	Count int
	Line  int
}

var testKeys = []string{"name", "now", "lines", "events", "expect"}

func (ld *loadState) decodeTests(n *yaml.Node, top *mapNode, rep reporter, f *File) []*Test {
	if n.Kind != yaml.SequenceNode {
		top.errorf("tests", "want a list of tests, got %s", kindName(n))
		return nil
	}
	ids := make([]string, 0, len(f.Rules))
	for _, r := range f.Rules {
		ids = append(ids, r.Spec.ID)
	}
	var out []*Test
	seen := map[string]int{}
	for _, tn := range n.Content {
		m, ok := newMapNode(tn, rep, "", "tests.", "a test")
		if !ok {
			continue
		}
		t := &Test{File: rep.file, Line: tn.Line, Now: DefaultTestNow, Rules: ids}
		t.Name, _, _ = m.str("name", true)
		if first, dup := seen[t.Name]; dup && t.Name != "" {
			m.errorf("name", "duplicate test name %q (first on line %d)", t.Name, first)
		}
		seen[t.Name] = tn.Line
		m.prefix = "test " + quoteName(t.Name) + ": "
		if s, _, ok := m.str("now", false); ok {
			now, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				m.errorf("now", "want an RFC 3339 time such as 2024-12-10T06:55:46Z, got %q", s)
			} else {
				t.Now = now
			}
		}
		t.Lines = decodeTestLines(m)
		t.Events = decodeTestEvents(m, t.Now)
		t.Expect = ld.decodeExpect(m, f)
		m.finish(testKeys)
		out = append(out, t)
	}
	return out
}

func quoteName(s string) string { return `"` + s + `"` }

func decodeTestLines(m *mapNode) []TestLine {
	v, ok := m.node("lines")
	if !ok {
		return nil
	}
	var out []TestLine
	switch v.Kind {
	case yaml.ScalarNode:
		base := v.Line
		if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			base++
		}
		for i, l := range strings.Split(v.Value, "\n") {
			if strings.TrimSpace(l) != "" {
				out = append(out, TestLine{Text: l, Line: base + i})
			}
		}
	case yaml.SequenceNode:
		for _, e := range v.Content {
			if e.Kind != yaml.ScalarNode {
				m.rep.add(e.Line, "", m.prefix+"lines", "want a log line, got %s", kindName(e))
				continue
			}
			out = append(out, TestLine{Text: e.Value, Line: e.Line})
		}
	default:
		m.errorf("lines", "want a block of lines (lines: |) or a list of strings, got %s", kindName(v))
	}
	return out
}

func decodeTestEvents(m *mapNode, now time.Time) []schemas.Event {
	v, ok := m.node("events")
	if !ok {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		m.errorf("events", "want a list of events (field: value mappings), got %s", kindName(v))
		return nil
	}
	out := make([]schemas.Event, 0, len(v.Content))
	for _, en := range v.Content {
		em, ok := newMapNode(en, m.rep, "", m.prefix+"events.", "an event")
		if !ok {
			continue
		}
		ev := schemas.Event{Timestamp: now}
		ev.Event.Kind = "event"
		ev.Event.Count = 1
		for _, k := range em.keys {
			em.used[k] = true
			val := em.vals[k]
			if val.Kind != yaml.ScalarNode {
				em.errorf(k, "want a value, got %s", kindName(val))
				continue
			}
			if err := setEventField(&ev, k, val.Value, now); err != nil {
				f := k
				if i := strings.LastIndexByte(k, '.'); i >= 0 {
					f = k[i+1:]
				}
				msg := err.Error()
				if _, known := eventFields[k]; !known && k != "@timestamp" {
					parent := strings.TrimSuffix(k, "."+f)
					if parent == k {
						parent = ""
					}
					msg = "unknown field " + f + " (" + k + ")"
					if s := suggest(f, subFieldNames(parent)); s != "" {
						msg += "; did you mean " + strings.TrimPrefix(parent+"."+s, ".") + "?"
					}
				}
				em.errorf(k, "%s", msg)
			}
		}
		out = append(out, ev)
	}
	return out
}

func (ld *loadState) decodeExpect(m *mapNode, f *File) []Expectation {
	v, ok := m.node("expect")
	if !ok {
		m.errorf("expect", "missing (required; write expect: [] for \"no alert\")")
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		m.errorf("expect", "want a list of {rule, group, count}, got %s", kindName(v))
		return nil
	}
	var out []Expectation
	for _, en := range v.Content {
		em, ok := newMapNode(en, m.rep, "", m.prefix+"expect.", "an expectation")
		if !ok {
			continue
		}
		e := Expectation{Line: en.Line, Count: 1}
		id, _, _ := em.str("rule", true)
		e.Rule = id
		var rule *Rule
		for _, r := range f.Rules {
			if r.Spec.ID == id {
				rule = r
			}
		}
		if rule == nil && id != "" && !ld.failedInFile(f, id) {
			hint := ""
			if at := ld.where[id]; at != "" {
				hint = "; it is defined at " + at
			}
			em.errorf("rule", "no rule %q in this file (a test runs the rules of its own file%s)", id, hint)
		}
		if c, ok := em.integer("count", false); ok {
			if c < 0 {
				em.errorf("count", "must be 0 or more, got %d", c)
			}
			e.Count = c
		}
		if gm, ok := em.sub("group", false); ok {
			e.Group = map[string]string{}
			for _, k := range gm.keys {
				gm.used[k] = true
				val := gm.vals[k]
				if val.Kind != yaml.ScalarNode {
					gm.errorf(k, "want a value, got %s", kindName(val))
					continue
				}
				if rule != nil && !ruleGroupsBy(rule, k) {
					gm.errorf(k, "rule %q does not group by %s (group_by: %s)", id, k, strings.Join(rule.Spec.GroupBy, ", "))
					continue
				}
				e.Group[k] = val.Value
			}
		}
		em.finish([]string{"rule", "group", "count"})
		out = append(out, e)
	}
	return out
}

// failedInFile reports whether a rule with this id was written in the
// file but did not compile (its problems are already reported).
func (ld *loadState) failedInFile(f *File, id string) bool {
	for _, e := range ld.errs {
		if e.File == f.Path && e.Rule == id {
			return true
		}
	}
	return false
}

func ruleGroupsBy(r *Rule, field string) bool {
	for _, g := range r.Spec.GroupBy {
		if g == field {
			return true
		}
	}
	return false
}
