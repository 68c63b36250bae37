package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Spec holds the fields every rule has, as written in its file. Kind
// specific keys (threshold, window, ...) are read by the rule's Kind.
type Spec struct {
	// ID names the rule for good: alerts, incidents, snapshots and
	// metrics refer to it. Lower-case letters, digits, '.', '_' and '-'.
	ID          string
	Title       string
	Description string
	Severity    schemas.Severity
	// References are http(s) URLs.
	References []string
	// Tags are lower-case labels; "attack.*" tags must name a MITRE
	// ATT&CK technique (attack.t1110.001), tactic (attack.credential_access),
	// group (attack.g0016) or software (attack.s0002).
	Tags []string
	// Kind selects the rule's Kind ("match", "threshold").
	Kind string
	// Condition is the expr-lang expression events must satisfy.
	Condition string
	// GroupBy are dotted field names (schemas.LookupField), at least
	// one; state, alerts and incidents are kept per distinct combination
	// of their values.
	GroupBy []string
	// Reason is the alert's explanation template; empty means the kind's
	// default.
	Reason string
	// File and Line locate the rule.
	File string
	Line int
}

// Rule is a compiled rule, immutable once loaded and safe to share.
type Rule struct {
	Spec Spec
	// Condition is the compiled Spec.Condition.
	Condition *Condition
	// GroupBy are the group_by fields, in order.
	GroupBy []schemas.FieldSpec
	// Detector is the kind's run-time half.
	Detector Detector
	// Hash identifies what the rule's state depends on (kind, condition,
	// group_by and the kind's keys, not title, severity or reason): two
	// loads of a rule with the same ID and Hash can share windows.
	Hash string

	reason reasonTemplate
	vars   map[string]string
}

// Conditions returns the rule's condition followed by the detector's
// extra ones; the index is the input number given to Group.Observe.
func (r *Rule) Conditions() []*Condition {
	return append([]*Condition{r.Condition}, r.Detector.Extra()...)
}

// commonKeys are the keys the loader reads itself.
var commonKeys = []string{
	"id", "title", "description", "severity", "references", "tags",
	"kind", "condition", "group_by", "reason",
}

var (
	ruleIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)
	tagRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	attackRE = regexp.MustCompile(`^attack\.(t\d{4}(\.\d{3})?|[gs]\d{4})$`)
)

var attackTactics = []string{
	"reconnaissance", "resource_development", "initial_access", "execution",
	"persistence", "privilege_escalation", "defense_evasion",
	"credential_access", "discovery", "lateral_movement", "collection",
	"command_and_control", "exfiltration", "impact",
}

// decodeRule decodes and compiles one rule. It returns nil when the rule
// has problems, all of which are reported.
func (ld *loadState) decodeRule(n *yaml.Node, rep reporter) *Rule {
	m, ok := newMapNode(n, rep, "", "", "a rule")
	if !ok {
		return nil
	}
	before := len(*rep.errs)
	spec := Spec{File: rep.file, Line: n.Line}

	if id, _, ok := m.str("id", true); ok {
		spec.ID = id
		m.rule = id
		if !ruleIDRE.MatchString(id) {
			m.errorf("id", "%q must be 1-128 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", id)
		}
		here := fmt.Sprintf("%s:%d", rep.file, n.Line)
		if first, dup := ld.where[id]; dup {
			m.errorf("id", "duplicate rule id (first defined at %s)", first)
		} else {
			ld.where[id] = here
		}
	}
	spec.Title, _, _ = m.str("title", true)
	spec.Description, _, _ = m.str("description", false)
	if sev, _, ok := m.str("severity", true); ok {
		s, err := schemas.ParseSeverity(sev)
		if err != nil {
			m.errorf("severity", "%v", err)
		}
		spec.Severity = s
	}
	spec.References, _ = m.strList("references", false)
	for _, ref := range spec.References {
		u, err := url.Parse(ref)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			m.errorf("references", "%q is not an http(s) URL", ref)
		}
	}
	spec.Tags, _ = m.strList("tags", false)
	for _, tag := range spec.Tags {
		checkTag(m, tag)
	}
	spec.Kind, _, _ = m.str("kind", true)
	condNode, hasCond := m.node("condition")
	if !hasCond {
		m.missing("condition", true)
	}
	if hasCond && condNode.Kind == yaml.ScalarNode {
		spec.Condition = condNode.Value
	}
	groupBy := ld.decodeGroupBy(m, &spec)
	reasonSrc, _, hasReason := m.str("reason", false)
	spec.Reason = reasonSrc

	var cond *Condition
	if hasCond {
		cond, _ = compileConditionNode(condNode, m, "condition", ld.lists)
	}

	kind := ld.kinds[spec.Kind]
	var det Detector
	if spec.Kind != "" && kind == nil {
		names := make([]string, 0, len(ld.kinds))
		for k := range ld.kinds {
			names = append(names, k)
		}
		m.errorf("kind", "unknown kind %q (want one of: %s)", spec.Kind, strings.Join(sortedCopy(names), ", "))
	}
	if kind != nil {
		kc := &KindContext{spec: &spec, m: m, lists: ld.lists}
		det = kind.Compile(kc)
		for _, k := range commonKeys {
			m.used[k] = true
		}
		kc.finish()
	}
	// The reason is checked whatever else is wrong with the rule, so that
	// one run reports its problems along with the others.
	tmpl, reasonOK := ld.checkReason(m, kind, det, reasonSrc, hasReason)
	if len(*rep.errs) > before || det == nil || cond == nil || !reasonOK {
		return nil
	}
	return &Rule{
		Spec: spec, Condition: cond, GroupBy: groupBy, Detector: det,
		Hash: ruleHash(&spec, m), reason: tmpl, vars: det.Vars(),
	}
}

// checkReason parses the rule's reason (the kind's default when it has
// none) and reports every problem in it: each syntax error and each
// placeholder the rule cannot fill. kind is nil when the rule's kind is
// missing or unknown, det when the kind's keys have problems. ok is false
// when the template cannot be used.
func (ld *loadState) checkReason(m *mapNode, kind Kind, det Detector, src string, has bool) (tmpl reasonTemplate, ok bool) {
	if !has {
		if det == nil {
			return tmpl, false
		}
		src = det.DefaultReason()
	}
	tmpl, problems := parseReason(src)
	sc := placeholderScope{kinds: ld.placeholders}
	check := true
	switch {
	case kind == nil:
		sc.lenient = true
	case det != nil:
		sc.kind, sc.vars = kind.Name(), det.Vars()
	default:
		// The kind's keys have problems: accept every parameter it may
		// offer if it says which; otherwise check only the syntax.
		sc.kind = kind.Name()
		ph, says := ld.placeholders[sc.kind]
		check = says
		sc.vars = make(map[string]string, len(ph))
		for name := range ph {
			sc.vars[name] = ""
		}
	}
	if check {
		problems = append(problems, tmpl.check(sc)...)
	}
	for _, p := range problems {
		m.errorf("reason", "%s", p)
	}
	return tmpl, len(problems) == 0
}

// groupByWhy explains why every rule needs group_by.
const groupByWhy = "alerts of a rule are grouped into incidents by these fields"

// decodeGroupBy reads group_by, which every rule must have: the engine
// keeps state and files incidents per distinct combination of its
// values, and names the incident's entities after them.
func (ld *loadState) decodeGroupBy(m *mapNode, spec *Spec) []schemas.FieldSpec {
	if !m.has("group_by") {
		m.used["group_by"] = true
		m.errorf("group_by", "required (%s)", groupByWhy)
		return nil
	}
	names, ok := m.strList("group_by", true)
	if ok && len(names) == 0 {
		m.errorf("group_by", "want at least one field (%s)", groupByWhy)
	}
	if ok {
		spec.GroupBy = names
	}
	out := make([]schemas.FieldSpec, 0, len(names))
	for i, name := range names {
		f, ok := schemas.LookupField(name)
		if !ok {
			m.errorf("group_by", "unknown field %q%s", name, fieldHint(name))
			continue
		}
		if slices.Contains(names[:i], name) {
			m.errorf("group_by", "field %q listed twice", name)
			continue
		}
		out = append(out, f)
	}
	return out
}

func checkTag(m *mapNode, tag string) {
	if !tagRE.MatchString(tag) {
		m.errorf("tags", "%q must be lower-case letters, digits, '.', '_' or '-'", tag)
		return
	}
	rest, isAttack := strings.CutPrefix(tag, "attack.")
	if !isAttack || attackRE.MatchString(tag) || slices.Contains(attackTactics, rest) {
		return
	}
	m.errorf("tags", "%q is not an ATT&CK technique (attack.t1110.001), tactic (attack.credential_access), group or software id", tag)
}

// ruleHash digests what a rule's state depends on: kind, condition,
// group_by and every kind-specific key, canonically (key order and YAML
// style do not matter).
func ruleHash(spec *Spec, m *mapNode) string {
	h := sha256.New()
	h.Write([]byte("tocsin-rule-state-v1\x00"))
	h.Write([]byte(spec.Kind + "\x00" + spec.Condition + "\x00" + strings.Join(spec.GroupBy, "\x01") + "\x00"))
	keys := slices.Clone(m.keys)
	sort.Strings(keys)
	for _, k := range keys {
		if slices.Contains(commonKeys, k) {
			continue
		}
		h.Write([]byte(k + "="))
		writeCanonical(h, m.vals[k])
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

type byteWriter interface{ Write([]byte) (int, error) }

func writeCanonical(w byteWriter, n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		w.Write([]byte("s:" + n.Tag + ":" + n.Value + ";"))
	case yaml.SequenceNode:
		w.Write([]byte("["))
		for _, c := range n.Content {
			writeCanonical(w, c)
		}
		w.Write([]byte("]"))
	case yaml.MappingNode:
		idx := make([]int, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			idx = append(idx, i)
		}
		sort.Slice(idx, func(a, b int) bool { return n.Content[idx[a]].Value < n.Content[idx[b]].Value })
		w.Write([]byte("{"))
		for _, i := range idx {
			w.Write([]byte(n.Content[i].Value + ":"))
			writeCanonical(w, n.Content[i+1])
		}
		w.Write([]byte("}"))
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
