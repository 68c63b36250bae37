package ticketing

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Bounds on the parts of a title; entity values come from log lines, so
// an attacker chooses them.
const (
	maxTitleValue    = 64
	maxTitleEntities = 3
)

// Title names an incident after its rule and the entities of its first
// alert: "SSH brute force from 1.2.3.4", "Sudo failures for user bob on
// web1". It uses the first entity of each kind, at most three kinds, and
// shortens long values. ruleID stands in for an empty rule title.
func Title(ruleTitle, ruleID string, ents []schemas.Entity) string {
	var b strings.Builder
	b.WriteString(clean(strings.TrimSpace(ruleTitle), 200))
	if b.Len() == 0 {
		b.WriteString(clean(ruleID, 200))
	}
	var seen [maxTitleEntities]string
	n := 0
	for _, e := range ents {
		if n == maxTitleEntities {
			break
		}
		if e.Value == "" || contains(seen[:n], e.Type) {
			continue
		}
		seen[n] = e.Type
		n++
		b.WriteByte(' ')
		switch e.Type {
		case "ip", "domain":
			b.WriteString("from ")
		case "user":
			b.WriteString("for user ")
		case "host":
			b.WriteString("on ")
		default:
			b.WriteString("with ")
			b.WriteString(clean(e.Type, maxTitleValue))
			b.WriteByte(' ')
		}
		b.WriteString(clean(e.Value, maxTitleValue))
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// clean keeps at most limit runes of s, replaces control and invalid
// characters with '?', and marks a cut with "…".
func clean(s string, limit int) string {
	var b strings.Builder
	n := 0
	for i, r := range s {
		if n == limit {
			if i < len(s) {
				b.WriteString("…")
			}
			break
		}
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
