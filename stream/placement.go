package stream

import (
	"slices"
	"sort"
	"strings"

	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
)

// Placement tells where each rule of set runs when events are keyed by
// keyFields: local lists the IDs of the rules an events partition runs
// itself (their group_by contains keyFields[0], or they keep no state);
// rekeyed maps each key set (group_by field names joined by ",") to the
// IDs of the rules that need the events re-keyed by it. IDs are sorted.
// With no key fields every stateful rule is rekeyed.
func Placement(set *rules.Set, keyFields []string) (local []string, rekeyed map[string][]string) {
	rekeyed = map[string][]string{}
	first := ""
	if len(keyFields) > 0 {
		first = keyFields[0]
	}
	for _, r := range set.Rules {
		if isLocal(r, first) {
			local = append(local, r.Spec.ID)
			continue
		}
		ks := keySetOf(r)
		rekeyed[ks] = append(rekeyed[ks], r.Spec.ID)
	}
	sort.Strings(local)
	for _, ids := range rekeyed {
		sort.Strings(ids)
	}
	return local, rekeyed
}

func isLocal(r *rules.Rule, firstKey string) bool {
	if r.Detector.NewGroup() == nil {
		return true // stateless: any partition will do
	}
	return firstKey != "" && slices.Contains(r.Spec.GroupBy, firstKey)
}

func keySetOf(r *rules.Rule) string { return strings.Join(r.Spec.GroupBy, ",") }

// plan is a rule set compiled for routing; it is immutable and shared by
// every partition until the next Reload.
type plan struct {
	set     *rules.Set
	local   *rules.Set
	keysets []*keySet // sorted by name
	byName  map[string]*keySet
	// hashes maps every rule ID to its hash.
	hashes map[string]string
}

// keySet is the rules that share one re-keying.
type keySet struct {
	name      string
	nameBytes []byte
	rules     *rules.Set
	// conds are the distinct conditions (by source) of the key set's
	// rules, every input included: an event matching any of them is
	// copied.
	conds   []*rules.Condition
	getters []func(*schemas.Event) string
}

func newPlan(set *rules.Set, keyFields []string) *plan {
	local, rekeyed := Placement(set, keyFields)
	p := &plan{
		set:    set,
		local:  set.Subset(local...),
		byName: map[string]*keySet{},
		hashes: make(map[string]string, len(set.Rules)),
	}
	for _, r := range set.Rules {
		p.hashes[r.Spec.ID] = r.Hash
	}
	names := make([]string, 0, len(rekeyed))
	for name := range rekeyed {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ks := &keySet{name: name, nameBytes: []byte(name), rules: set.Subset(rekeyed[name]...)}
		seen := map[string]bool{}
		for _, r := range ks.rules.Rules {
			for _, c := range r.Conditions() {
				if !seen[c.Source] {
					seen[c.Source] = true
					ks.conds = append(ks.conds, c)
				}
			}
		}
		// Every rule of the key set groups by the same fields in the
		// same order, so the first rule's getters serve them all.
		for _, g := range ks.rules.Rules[0].GroupBy {
			ks.getters = append(ks.getters, g.Get)
		}
		p.keysets = append(p.keysets, ks)
		p.byName[name] = ks
	}
	return p
}
