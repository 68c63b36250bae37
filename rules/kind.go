package rules

import (
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Kind is one type of rule (match, threshold, ...). The loader decodes
// the fields every rule has into a Spec, then hands the rule's remaining
// keys to its kind, which checks them and compiles the run-time
// Detector. A new kind (ordered sequences, absence, risk scores, ...)
// is a new Kind value passed in Loader.Kinds; neither the loader nor the
// engine changes.
type Kind interface {
	// Name is the value of the rule's kind field.
	Name() string
	// Compile reads the kind's own keys through c, reports every problem
	// with c.Errorf (or the accessors, which report for themselves), and
	// returns the detector; it may return nil when it reported a problem.
	// It must read every key it accepts before returning, even after a
	// problem: keys nobody read are reported as unknown.
	Compile(c *KindContext) Detector
}

// PlaceholderKind is a Kind that says which reason placeholders its
// detectors may offer (the keys of Detector.Vars). It is optional; the
// loader uses it to check a rule's reason even when the kind's keys have
// problems, and to tell an author that a placeholder used in a rule of
// another kind belongs to this one.
type PlaceholderKind interface {
	Kind
	// Placeholders maps each placeholder a detector of this kind may
	// offer to the rule key that enables it, "" when every rule of the
	// kind has it.
	Placeholders() map[string]string
}

// Detector is the compiled, kind-specific half of a rule. The engine owns
// everything around it: conditions, group keys, sharding, expiry of idle
// groups, alert assembly and snapshots. A Detector is immutable and
// shared by all shards.
type Detector interface {
	// Extra returns the kind's conditions besides the rule's own. The
	// engine numbers inputs 0 for the rule condition and i+1 for Extra()[i]
	// when it calls Group.Observe.
	Extra() []*Condition
	// NewGroup returns the state of a new group. A nil Group makes the
	// rule stateless: every matching event fires an alert of its own.
	NewGroup() Group
	// Horizon is how long, in event time, a group stays relevant after its
	// newest event; a group idle for longer holds no state worth keeping
	// and the engine drops it.
	Horizon() time.Duration
	// DecodeGroup restores a group from what Group.AppendState wrote.
	DecodeGroup(data []byte) (Group, error)
	// Vars are the rule parameters that reason templates may name
	// ("threshold", "window"), already formatted.
	Vars() map[string]string
	// DefaultReason is the reason template used when the rule has none.
	DefaultReason() string
}

// Group is the state of one rule for one group key. The engine calls it
// from a single goroutine at a time.
type Group interface {
	// Observe feeds an event that matched input (0 for the rule's
	// condition, i+1 for Detector.Extra()[i]). It returns true when the
	// rule fires, with f filled in; f's slices may be reused by the caller
	// after the call, and the group must not keep them.
	Observe(ev *schemas.Event, input int, f *Firing) bool
	// AppendState appends a versioned, self-contained encoding of the
	// group's state to b, for engine snapshots.
	AppendState(b []byte) ([]byte, error)
}

// Firing describes why a rule fired.
type Firing struct {
	FirstSeen, LastSeen time.Time
	// Count is the sum of event.count over the counted events.
	Count int
	// Distinct is the number of distinct values (distinct rules only).
	Distinct int
	// Events are the events behind the firing, oldest first.
	Events []*schemas.Event
}

// Reset empties f for reuse, keeping its capacity.
func (f *Firing) Reset() {
	clear(f.Events)
	*f = Firing{Events: f.Events[:0]}
}

// KindContext gives a Kind the rule being compiled and strict accessors
// for its keys. Accessors report a missing required key or a malformed
// value themselves, with file and line, and return ok=false.
type KindContext struct {
	spec  *Spec
	m     *mapNode
	lists map[string]*List
	subs  []*KindContext
}

// Spec returns the rule's common fields.
func (c *KindContext) Spec() *Spec { return c.spec }

// Has reports whether key is set.
func (c *KindContext) Has(key string) bool {
	c.m.used[key] = true
	return c.m.has(key)
}

// Errorf reports a problem with key.
func (c *KindContext) Errorf(key, format string, args ...any) { c.m.errorf(key, format, args...) }

// Int reads an integer.
func (c *KindContext) Int(key string, required bool) (int, bool) { return c.m.integer(key, required) }

// Duration reads a positive Go duration.
func (c *KindContext) Duration(key string, required bool) (time.Duration, bool) {
	return c.m.duration(key, required)
}

// String reads a string.
func (c *KindContext) String(key string, required bool) (string, bool) {
	s, _, ok := c.m.str(key, required)
	return s, ok
}

// Field reads the name of a field known to schemas.LookupField.
func (c *KindContext) Field(key string, required bool) (schemas.FieldSpec, bool) {
	s, _, ok := c.m.str(key, required)
	if !ok {
		return schemas.FieldSpec{}, false
	}
	f, ok := schemas.LookupField(s)
	if !ok {
		c.m.errorf(key, "unknown field %q%s", s, fieldHint(s))
		return schemas.FieldSpec{}, false
	}
	return f, true
}

// Condition compiles an expression held in key, with the same checks as
// the rule's condition.
func (c *KindContext) Condition(key string, required bool) (*Condition, bool) {
	v, ok := c.m.node(key)
	if !ok {
		c.m.missing(key, required)
		return nil, false
	}
	return compileConditionNode(v, c.m, key, c.lists)
}

// Sub returns a context for a nested mapping held in key. Its unknown
// keys are reported like the rule's own.
func (c *KindContext) Sub(key string, required bool) (*KindContext, bool) {
	m, ok := c.m.sub(key, required)
	if !ok {
		return nil, false
	}
	s := &KindContext{spec: c.spec, m: m, lists: c.lists}
	c.subs = append(c.subs, s)
	return s, true
}

// finish reports unknown keys here and in nested mappings.
func (c *KindContext) finish() {
	allowed := make([]string, 0, len(c.m.used))
	for k := range c.m.used {
		allowed = append(allowed, k)
	}
	c.m.finish(allowed)
	for _, s := range c.subs {
		s.finish()
	}
}

// compileConditionNode compiles the expression in node v (the value of
// key in m), mapping expression lines to file lines.
func compileConditionNode(v *yaml.Node, m *mapNode, key string, lists map[string]*List) (*Condition, bool) {
	if v.Kind != yaml.ScalarNode {
		m.errorf(key, "want an expression string, got %s", kindName(v))
		return nil, false
	}
	cond, problems := compileCondition(v.Value, lists)
	base := v.Line
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		base++ // block scalar text starts on the line after "|" or ">"
	}
	for _, p := range problems {
		m.rep.add(base+p.line-1, m.rule, m.prefix+key, "%s", p.msg)
	}
	return cond, len(problems) == 0
}

func fieldHint(name string) string {
	if s := suggest(name, schemas.FieldNames()); s != "" {
		return "; did you mean " + s + "?"
	}
	return " (want one of: " + strings.Join(schemas.FieldNames(), ", ") + ")"
}
