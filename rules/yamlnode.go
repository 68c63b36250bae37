package rules

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// mapNode is a YAML mapping being decoded strictly: every key must be
// read by the decoder, or finish reports it as unknown. Accessors report
// problems themselves (with the key's line) and return ok=false.
type mapNode struct {
	rep    reporter
	rule   string // rule id for error context, "" outside rules
	prefix string // field path prefix for nested mappings ("followed_by.")
	line   int
	keys   []string
	vals   map[string]*yaml.Node
	lines  map[string]int
	used   map[string]bool
}

// newMapNode checks that n is a mapping with scalar, unique keys. what
// names the thing for the error message ("rule", "test").
func newMapNode(n *yaml.Node, rep reporter, rule, prefix, what string) (*mapNode, bool) {
	if n.Kind != yaml.MappingNode {
		rep.add(n.Line, rule, strings.TrimSuffix(prefix, "."), "%s must be a mapping, got %s", what, kindName(n))
		return nil, false
	}
	m := &mapNode{
		rep: rep, rule: rule, prefix: prefix, line: n.Line,
		vals:  make(map[string]*yaml.Node, len(n.Content)/2),
		lines: make(map[string]int, len(n.Content)/2),
		used:  make(map[string]bool, len(n.Content)/2),
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			rep.add(k.Line, rule, strings.TrimSuffix(prefix, "."), "keys must be plain names, got %s", kindName(k))
			continue
		}
		if _, dup := m.vals[k.Value]; dup {
			rep.add(k.Line, rule, prefix+k.Value, "duplicate key (first on line %d)", m.lines[k.Value])
			continue
		}
		m.keys = append(m.keys, k.Value)
		m.vals[k.Value] = v
		m.lines[k.Value] = k.Line
	}
	return m, true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return "a scalar (" + strconv.Quote(truncate(n.Value, 40)) + ")"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	return "an unknown node"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (m *mapNode) errorf(key, format string, args ...any) {
	line := m.lines[key]
	if line == 0 {
		line = m.line
	}
	m.rep.add(line, m.rule, m.prefix+key, format, args...)
}

// has reports whether key is present (and not null).
func (m *mapNode) has(key string) bool {
	v, ok := m.vals[key]
	return ok && !(v.Kind == yaml.ScalarNode && v.Tag == "!!null")
}

// node returns key's value node, marking it read.
func (m *mapNode) node(key string) (*yaml.Node, bool) {
	m.used[key] = true
	if !m.has(key) {
		return nil, false
	}
	v := m.vals[key]
	if v.Kind == yaml.AliasNode {
		m.errorf(key, "YAML aliases are not supported; write the value out")
		return nil, false
	}
	return v, true
}

func (m *mapNode) missing(key string, required bool) {
	if required {
		m.errorf(key, "missing (required)")
	}
}

// str reads a scalar as a string.
func (m *mapNode) str(key string, required bool) (string, int, bool) {
	v, ok := m.node(key)
	if !ok {
		m.missing(key, required)
		return "", 0, false
	}
	if v.Kind != yaml.ScalarNode {
		m.errorf(key, "want a string, got %s", kindName(v))
		return "", 0, false
	}
	return v.Value, v.Line, true
}

// strList reads a list of scalars; a single scalar is not accepted, so
// that a mistyped list is caught rather than read as one element.
func (m *mapNode) strList(key string, required bool) ([]string, bool) {
	v, ok := m.node(key)
	if !ok {
		m.missing(key, required)
		return nil, false
	}
	if v.Kind != yaml.SequenceNode {
		m.errorf(key, "want a list of strings, got %s", kindName(v))
		return nil, false
	}
	out := make([]string, 0, len(v.Content))
	good := true
	for _, e := range v.Content {
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
			m.rep.add(e.Line, m.rule, m.prefix+key, "want a string, got %s", kindName(e))
			good = false
			continue
		}
		out = append(out, e.Value)
	}
	return out, good
}

// integer reads a YAML integer.
func (m *mapNode) integer(key string, required bool) (int, bool) {
	v, ok := m.node(key)
	if !ok {
		m.missing(key, required)
		return 0, false
	}
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
		m.errorf(key, "want an integer, got %s", kindName(v))
		return 0, false
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(v.Value, "_", ""), 0, 64)
	if err != nil || n != int64(int(n)) {
		m.errorf(key, "want an integer, got %q", v.Value)
		return 0, false
	}
	return int(n), true
}

// duration reads a Go duration ("90s", "10m", "1h30m"); it must be > 0.
func (m *mapNode) duration(key string, required bool) (time.Duration, bool) {
	s, _, ok := m.str(key, required)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		m.errorf(key, "want a duration such as 90s, 10m or 2h, got %q", s)
		return 0, false
	}
	if d <= 0 {
		m.errorf(key, "must be positive, got %s", s)
		return 0, false
	}
	return d, true
}

// sub reads a nested mapping.
func (m *mapNode) sub(key string, required bool) (*mapNode, bool) {
	v, ok := m.node(key)
	if !ok {
		m.missing(key, required)
		return nil, false
	}
	return newMapNode(v, m.rep, m.rule, m.prefix+key+".", "value")
}

// finish reports every key nobody read. allowed is listed in the message.
func (m *mapNode) finish(allowed []string) {
	for _, k := range m.keys {
		if m.used[k] {
			continue
		}
		m.errorf(k, "unknown key (want one of: %s)", strings.Join(sortedCopy(allowed), ", "))
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return slices.Compact(c)
}
