package engine

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
)

// ruleSet is the engine's compiled view of a rules.Set: every condition
// indexed by the constant its event must carry, plus per-rule metric
// children resolved once.
type ruleSet struct {
	src   *rules.Set
	rules []*engRule // slot order
	// index holds one table per indexed field (in practice event.action);
	// an event only meets the conditions filed under its own value.
	index []fieldIndex
	// always are conditions that have no usable constant.
	always []*condGroup
}

type fieldIndex struct {
	field string
	get   func(*schemas.Event) string
	by    map[string][]*condGroup
}

// condGroup is one distinct condition (by source text) and every rule
// input that uses it: rules often share a condition, which is then
// evaluated once per event.
type condGroup struct {
	cond  *rules.Condition
	cands []candidate
}

// candidate is one input of one rule.
type candidate struct {
	rule  *engRule
	input int32
}

// engRule is a rule as the engine runs it.
type engRule struct {
	r         *rules.Rule
	slot      int
	stateless bool
	horizon   int64 // ns
	getters   []func(*schemas.Event) string

	alerts prometheus.Counter
	groups *atomic.Int64
	errors prometheus.Counter
}

func (e *Engine) compileSet(set *rules.Set) *ruleSet {
	rs := &ruleSet{src: set}
	byField := map[string]int{}
	groups := map[string]*condGroup{}
	for slot, r := range set.Rules {
		er := &engRule{
			r:         r,
			slot:      slot,
			stateless: r.Detector.NewGroup() == nil,
			horizon:   int64(r.Detector.Horizon()),
			alerts:    e.m.alerts.WithLabelValues(r.Spec.ID),
			groups:    e.m.groups.counter(r.Spec.ID),
			errors:    e.m.ruleErrors.WithLabelValues(r.Spec.ID),
		}
		for _, g := range r.GroupBy {
			er.getters = append(er.getters, g.Get)
		}
		rs.rules = append(rs.rules, er)
		for input, cond := range r.Conditions() {
			c := candidate{rule: er, input: int32(input)}
			if cg := groups[cond.Source]; cg != nil {
				cg.cands = append(cg.cands, c)
				continue
			}
			cg := &condGroup{cond: cond, cands: []candidate{c}}
			groups[cond.Source] = cg
			hint := cond.Index()
			if hint.Field == "" {
				rs.always = append(rs.always, cg)
				continue
			}
			i, ok := byField[hint.Field]
			if !ok {
				i = len(rs.index)
				byField[hint.Field] = i
				rs.index = append(rs.index, fieldIndex{field: hint.Field, get: hint.Get, by: map[string][]*condGroup{}})
			}
			seen := make(map[string]bool, len(hint.Values))
			for _, v := range hint.Values {
				if !seen[v] {
					seen[v] = true
					rs.index[i].by[v] = append(rs.index[i].by[v], cg)
				}
			}
		}
	}
	return rs
}
