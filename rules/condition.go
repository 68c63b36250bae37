package rules

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/tocsin-siem/tocsin/internal/textdist"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Condition is a compiled rule condition: an expr-lang boolean expression
// over schemas.Event. Top-level conjuncts of the simple forms
//
//	field == "value"    field != "value"
//	field in ["a", "b"]    field not in [...]
//	in_list(field, "name")    !in_list(field, "name")
//
// on string fields are evaluated natively, without the expr VM and
// without allocating. The VM runs only when the condition has other
// parts, and only for events that passed the native checks.
type Condition struct {
	// Source is the expression as written.
	Source string

	checks  []check
	program *vm.Program // nil when checks decide alone
	index   IndexHint
}

// IndexHint names a field and the constant values a condition requires
// it to have, so the engine only considers events carrying one of them.
// Field is "" when the condition has no such requirement.
type IndexHint struct {
	Field  string
	Get    func(*schemas.Event) string
	Values []string
}

// Index returns the condition's index hint.
func (c *Condition) Index() IndexHint { return c.index }

// Native reports whether the condition is decided without the expr VM.
func (c *Condition) Native() bool { return c.program == nil }

// Match evaluates the condition on ev. m (not nil) is scratch space for
// the VM; it is reusable across calls but not safe for concurrent use. A run-time
// error (only possible in the VM part) counts as no match and is
// returned so the caller can count it.
func (c *Condition) Match(ev *schemas.Event, m *vm.VM) (bool, error) {
	for i := range c.checks {
		if !c.checks[i].ok(ev) {
			return false, nil
		}
	}
	if c.program == nil {
		return true, nil
	}
	out, err := m.Run(c.program, ev)
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}

type checkOp uint8

const (
	opEq checkOp = iota
	opNe
	opIn
	opNotIn
	opInList
	opNotInList
)

type check struct {
	field string
	get   func(*schemas.Event) string
	op    checkOp
	val   string
	set   []string
	list  *List
}

func (c *check) ok(ev *schemas.Event) bool {
	v := c.get(ev)
	switch c.op {
	case opEq:
		return v == c.val
	case opNe:
		return v != c.val
	case opIn:
		return slices.Contains(c.set, v)
	case opNotIn:
		return !slices.Contains(c.set, v)
	case opInList:
		return c.list.Contains(v)
	case opNotInList:
		return !c.list.Contains(v)
	}
	return false
}

// condProblem is a problem at a line of the expression (1-based).
type condProblem struct {
	line int
	msg  string
}

// indexPreference orders the fields a condition is indexed by: the most
// selective, cheapest field first.
var indexPreference = []string{
	"event.action", "event.dataset", "event.category", "log.syslog.appname",
	"process.name", "event.outcome",
}

// compileCondition parses, checks and compiles src. Problems name the
// field or function at fault; all of them are returned.
func compileCondition(src string, lists map[string]*List) (*Condition, []condProblem) {
	if strings.TrimSpace(src) == "" {
		return nil, []condProblem{{1, "empty expression"}}
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, []condProblem{exprProblem(src, err)}
	}
	fc := fieldChecker{src: src, lists: lists}
	fc.visit(tree.Node, nil)
	if len(fc.problems) > 0 {
		return nil, fc.problems
	}
	program, err := expr.Compile(src, exprOptions(lists)...)
	if err != nil {
		return nil, []condProblem{exprProblem(src, err)}
	}
	c := &Condition{Source: src}
	residual := false
	for _, n := range conjuncts(tree.Node) {
		ch, ok := nativeCheck(n, lists)
		if !ok {
			residual = true
			continue
		}
		c.checks = append(c.checks, ch)
	}
	if residual {
		c.program = program
	}
	c.index = pickIndex(c.checks)
	return c, nil
}

// exprOptions are the compile options of every condition: the event as
// environment, a boolean result, and tocsin's functions.
//
// Shortcoming: inside the VM, in_list's arguments are boxed into a []any
// and the list is found by name on every call, which allocates. Only
// conditions the native path cannot handle (in_list under || or inside a
// larger expression) pay this; a per-list function patched into the
// program at compile time would remove it.
func exprOptions(lists map[string]*List) []expr.Option {
	inList := func(params ...any) (any, error) {
		v, _ := params[0].(string)
		name, _ := params[1].(string)
		l := lists[name]
		if l == nil {
			return false, fmt.Errorf("in_list: unknown list %q", name)
		}
		return l.Contains(v), nil
	}
	return []expr.Option{
		expr.Env(schemas.Event{}),
		expr.AsBool(),
		expr.Function("in_list", inList, new(func(string, string) bool)),
	}
}

func exprProblem(src string, err error) condProblem {
	var fe *file.Error
	if errors.As(err, &fe) {
		line := max(fe.Line, 1)
		msg := fe.Message
		if fe.Column > 0 || strings.Contains(src, "\n") {
			msg = fmt.Sprintf("%s (at column %d)", msg, fe.Column+1)
		}
		return condProblem{line, msg}
	}
	return condProblem{1, err.Error()}
}

// lineOf returns the 1-based line of the rune offset pos in src.
func lineOf(src string, pos int) int {
	line, n := 1, 0
	for _, r := range src {
		if n >= pos {
			break
		}
		if r == '\n' {
			line++
		}
		n++
	}
	return line
}

func conjuncts(n ast.Node) []ast.Node {
	if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
		return append(conjuncts(b.Left), conjuncts(b.Right)...)
	}
	return []ast.Node{n}
}

// fieldPath returns the dotted path of a member chain rooted at an
// identifier ("event.action"), or ok=false for anything else.
func fieldPath(n ast.Node) (root *ast.IdentifierNode, segs []string, ok bool) {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return x, []string{x.Value}, true
	case *ast.ChainNode:
		return fieldPath(x.Node)
	case *ast.MemberNode:
		prop, isStr := x.Property.(*ast.StringNode)
		if x.Method || !isStr {
			return nil, nil, false
		}
		r, s, ok := fieldPath(x.Node)
		if !ok {
			return nil, nil, false
		}
		return r, append(s, prop.Value), true
	}
	return nil, nil, false
}

func stringField(n ast.Node) (schemas.FieldSpec, bool) {
	_, segs, ok := fieldPath(n)
	if !ok {
		return schemas.FieldSpec{}, false
	}
	return stringGetter(strings.Join(segs, "."))
}

func newCheck(f schemas.FieldSpec, op checkOp) check {
	return check{field: f.Name, get: f.Get, op: op}
}

func nativeCheck(n ast.Node, lists map[string]*List) (check, bool) {
	switch x := n.(type) {
	case *ast.BinaryNode:
		switch x.Operator {
		case "==", "!=":
			f, s, ok := fieldAndString(x.Left, x.Right)
			if !ok {
				return check{}, false
			}
			op := opEq
			if x.Operator == "!=" {
				op = opNe
			}
			ch := newCheck(f, op)
			ch.val = s
			return ch, true
		case "in":
			f, ok := stringField(x.Left)
			arr, isArr := x.Right.(*ast.ArrayNode)
			if !ok || !isArr {
				return check{}, false
			}
			set := make([]string, 0, len(arr.Nodes))
			for _, e := range arr.Nodes {
				s, ok := e.(*ast.StringNode)
				if !ok {
					return check{}, false
				}
				set = append(set, s.Value)
			}
			ch := newCheck(f, opIn)
			ch.set = set
			return ch, true
		}
	case *ast.UnaryNode:
		if x.Operator != "!" && x.Operator != "not" {
			return check{}, false
		}
		inner, ok := nativeCheck(x.Node, lists)
		if !ok {
			return check{}, false
		}
		switch inner.op {
		case opIn:
			inner.op = opNotIn
		case opInList:
			inner.op = opNotInList
		default:
			return check{}, false
		}
		return inner, true
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		if !ok || id.Value != "in_list" || len(x.Arguments) != 2 {
			return check{}, false
		}
		f, ok := stringField(x.Arguments[0])
		name, isStr := x.Arguments[1].(*ast.StringNode)
		if !ok || !isStr || lists[name.Value] == nil {
			return check{}, false
		}
		ch := newCheck(f, opInList)
		ch.list = lists[name.Value]
		return ch, true
	}
	return check{}, false
}

func fieldAndString(a, b ast.Node) (schemas.FieldSpec, string, bool) {
	if s, ok := b.(*ast.StringNode); ok {
		if f, ok := stringField(a); ok {
			return f, s.Value, true
		}
	}
	if s, ok := a.(*ast.StringNode); ok {
		if f, ok := stringField(b); ok {
			return f, s.Value, true
		}
	}
	return schemas.FieldSpec{}, "", false
}

func pickIndex(checks []check) IndexHint {
	best, bestRank := -1, len(indexPreference)+1
	for i, ch := range checks {
		if ch.op != opEq && ch.op != opIn {
			continue
		}
		rank := len(indexPreference)
		for r, name := range indexPreference {
			if ch.field == name {
				rank = r
				break
			}
		}
		if rank < bestRank {
			best, bestRank = i, rank
		}
	}
	if best < 0 {
		return IndexHint{}
	}
	ch := checks[best]
	vals := ch.set
	if ch.op == opEq {
		vals = []string{ch.val}
	}
	return IndexHint{Field: ch.field, Get: ch.get, Values: slices.Clone(vals)}
}

// fieldChecker walks a parsed condition and reports every reference to
// a field schemas.Event does not have, and every misuse of in_list.
type fieldChecker struct {
	src      string
	lists    map[string]*List
	problems []condProblem
}

func (fc *fieldChecker) add(n ast.Node, format string, args ...any) {
	fc.problems = append(fc.problems, condProblem{lineOf(fc.src, n.Location().From), fmt.Sprintf(format, args...)})
}

func (fc *fieldChecker) visit(n ast.Node, vars []string) {
	switch x := n.(type) {
	case nil:
	case *ast.IdentifierNode:
		fc.checkPath(x, []string{x.Value}, vars)
	case *ast.MemberNode:
		if root, segs, ok := fieldPath(x); ok {
			fc.checkPath(root, segs, vars)
			return
		}
		fc.visit(x.Node, vars)
		fc.visit(x.Property, vars)
	case *ast.ChainNode:
		fc.visit(x.Node, vars)
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok {
			if id.Value == "in_list" {
				fc.checkInList(x)
			}
		} else {
			fc.visit(x.Callee, vars)
		}
		for _, a := range x.Arguments {
			fc.visit(a, vars)
		}
	case *ast.VariableDeclaratorNode:
		fc.visit(x.Value, vars)
		fc.visit(x.Expr, append(slices.Clone(vars), x.Name))
	case *ast.UnaryNode:
		fc.visit(x.Node, vars)
	case *ast.BinaryNode:
		fc.visit(x.Left, vars)
		fc.visit(x.Right, vars)
	case *ast.BuiltinNode:
		for _, a := range x.Arguments {
			fc.visit(a, vars)
		}
	case *ast.PredicateNode:
		fc.visit(x.Node, vars)
	case *ast.ConditionalNode:
		fc.visit(x.Cond, vars)
		fc.visit(x.Exp1, vars)
		fc.visit(x.Exp2, vars)
	case *ast.SequenceNode:
		for _, e := range x.Nodes {
			fc.visit(e, vars)
		}
	case *ast.ArrayNode:
		for _, e := range x.Nodes {
			fc.visit(e, vars)
		}
	case *ast.MapNode:
		for _, e := range x.Pairs {
			fc.visit(e, vars)
		}
	case *ast.PairNode:
		fc.visit(x.Value, vars)
	case *ast.SliceNode:
		fc.visit(x.Node, vars)
		fc.visit(x.From, vars)
		fc.visit(x.To, vars)
	}
}

// checkPath resolves root.segs against schemas.Event.
func (fc *fieldChecker) checkPath(root *ast.IdentifierNode, segs []string, vars []string) {
	if slices.Contains(vars, segs[0]) || segs[0] == "$env" {
		return
	}
	path := ""
	for i, s := range segs {
		parent := path
		if i > 0 {
			path += "."
		}
		path += s
		f, ok := eventFields[path]
		if !ok {
			msg := fmt.Sprintf("unknown field %s (%s)", s, path)
			if sug := suggest(s, subFieldNames(parent)); sug != "" {
				if parent != "" {
					sug = parent + "." + sug
				}
				msg += "; did you mean " + sug + "?"
			}
			fc.add(root, "%s", msg)
			return
		}
		if i < len(segs)-1 && f.typ.Kind() == reflect.Map {
			return // labels.NAME: any name; a missing label reads as ""
		}
		if i < len(segs)-1 && !f.isStruct() {
			fc.add(root, "%s is a %s and has no field %s", path, f.typ, segs[i+1])
			return
		}
	}
}

func (fc *fieldChecker) checkInList(x *ast.CallNode) {
	if len(x.Arguments) != 2 {
		fc.add(x, "in_list takes 2 arguments (value, \"list name\"), got %d", len(x.Arguments))
		return
	}
	name, ok := x.Arguments[1].(*ast.StringNode)
	if !ok {
		fc.add(x, "in_list: the list name must be a constant string")
		return
	}
	if fc.lists[name.Value] == nil {
		known := make([]string, 0, len(fc.lists))
		for k := range fc.lists {
			known = append(known, k)
		}
		hint := "no lists are loaded; put NAME.txt in a lists/ directory of the rules"
		if len(known) > 0 {
			hint = "loaded lists: " + strings.Join(sortedCopy(known), ", ")
		}
		fc.add(x, "in_list: unknown list %q (%s)", name.Value, hint)
	}
}

// suggest returns the candidate closest to s by edit distance, if it is
// close enough to be a plausible misspelling.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	s = strings.ToLower(s)
	for _, c := range candidates {
		lc := strings.ToLower(c)
		// The distance is at least the difference in length, so a long
		// string (a fuzzed or runaway placeholder) costs next to nothing.
		if abs(len(s)-len(lc)) >= bestD {
			continue
		}
		if d := textdist.Distance(s, lc); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
