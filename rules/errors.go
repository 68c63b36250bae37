package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem found while loading rules, placed so that an
// operator can go straight to it: file, line, rule and field.
type Error struct {
	// File is the path as the operator knows it ("rules/ssh.yaml",
	// "builtin/ssh.yaml").
	File string
	// Line is 1-based; 0 when the problem has no single line.
	Line int
	// Rule is the id of the rule the problem is in, "" outside rules.
	Rule string
	// Field is the rule field at fault ("condition", "followed_by.within").
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error renders the problem as `file:line: rule "id": field: message`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", e.Rule)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem a load found, sorted by file and line. Load
// returns it as its error; errors.As recovers it and errors.Is/As see each
// element through Unwrap.
type Errors []*Error

// Error lists the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the elements, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
}

// reporter collects problems for one file.
type reporter struct {
	file string
	errs *Errors
}

func (r reporter) add(line int, rule, field, format string, args ...any) {
	*r.errs = append(*r.errs, &Error{
		File: r.file, Line: line, Rule: rule, Field: field,
		Msg: fmt.Sprintf(format, args...),
	})
}
