package truth

import (
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
)

// KindScore is the checker's tally for one kind.
type KindScore struct {
	Kind Kind
	// Planted and Found count attackers of this kind, and those that an
	// incident of this kind named.
	Planted, Found int
	// Flagged counts distinct subjects named by incidents of this kind;
	// Correct counts those that are attackers allowing the kind.
	Flagged, Correct int
}

// Recall is Found/Planted, or 1 when nothing of the kind was planted.
func (s KindScore) Recall() float64 {
	if s.Planted == 0 {
		return 1
	}
	return float64(s.Found) / float64(s.Planted)
}

// Precision is Correct/Flagged, or 1 when nothing was flagged.
func (s KindScore) Precision() float64 {
	if s.Flagged == 0 {
		return 1
	}
	return float64(s.Correct) / float64(s.Flagged)
}

// Finding is one flagged subject that was not a plain hit.
type Finding struct {
	// Kind is the kind of the incident's rule, empty when unmapped.
	Kind    Kind
	Subject string
	// Attacker is the planted attacker the subject belongs to, nil for
	// benign traffic.
	Attacker *Attacker
	Incident Incident
}

// Report is the result of Check.
type Report struct {
	Incidents int
	// Repeats counts incidents naming a kind and subject that an earlier
	// incident already named.
	Repeats int
	Kinds   []KindScore
	Missed  []Attacker
	// Benign lists subjects that are no planted attacker.
	Benign []Finding
	// CrossKind lists attackers flagged by a kind they do not allow.
	CrossKind []Finding
	// Unmapped lists incidents of rules the classifier does not know;
	// they count as benign findings when their subject is no attacker.
	Unmapped []Finding
}

// OK reports whether every attacker was found and no benign subject was
// flagged.
func (r *Report) OK() bool { return len(r.Missed) == 0 && len(r.Benign) == 0 }

type index struct {
	byIP   map[string][]*Attacker
	byUser map[string][]*Attacker
}

func canonIP(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return s
}

func newIndex(f *File) *index {
	ix := &index{byIP: map[string][]*Attacker{}, byUser: map[string][]*Attacker{}}
	for i := range f.Attackers {
		a := &f.Attackers[i]
		if a.Kind.BySource() {
			ip := canonIP(a.SourceIP)
			ix.byIP[ip] = append(ix.byIP[ip], a)
		} else {
			ix.byUser[a.User] = append(ix.byUser[a.User], a)
		}
	}
	return ix
}

// entities splits an incident's entities into source addresses, acting
// users and hosts. A target user (user.target.name) is not an actor.
func entities(in *Incident) (ips, users, hosts []string) {
	for _, e := range in.Entities {
		switch {
		case e.Type == "ip" || e.Field == "source.ip":
			// source.address holds the IP, or a host name (type
			// "domain") that no planted attacker has.
			if e.Field == "" || e.Field == "source.ip" || e.Field == "source.address" {
				ips = append(ips, canonIP(e.Value))
			}
		case e.Type == "user" && e.Field != "user.target.name":
			users = append(users, e.Value)
		case e.Type == "host" || e.Field == "host.name":
			hosts = append(hosts, e.Value)
		}
	}
	return ips, users, hosts
}

// match finds the attacker an incident of kind k names, and the subject
// string it is known by. With k empty (unmapped rule) any attacker counts.
func (ix *index) match(in *Incident, k Kind) (string, *Attacker) {
	ips, users, hosts := entities(in)
	bySource := k == "" || k.BySource()
	byUser := k == "" || !k.BySource()
	if bySource {
		for _, ip := range ips {
			if as := ix.byIP[ip]; len(as) > 0 {
				return ip, pick(as, k)
			}
		}
	}
	if byUser {
		for _, u := range users {
			for _, a := range ix.byUser[u] {
				if len(hosts) == 0 || contains(hosts, a.Host) {
					return a.Subject(), a
				}
			}
		}
	}
	switch {
	case bySource && len(ips) > 0:
		return ips[0], nil
	case byUser && len(users) > 0:
		if len(hosts) > 0 {
			return users[0] + "@" + hosts[0], nil
		}
		return users[0], nil
	case len(ips) > 0:
		return ips[0], nil
	}
	return "(no subject entity)", nil
}

// pick prefers the attacker that allows k among those sharing a source.
func pick(as []*Attacker, k Kind) *Attacker {
	for _, a := range as {
		if k != "" && a.Allows(k) {
			return a
		}
	}
	return as[0]
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// Check scores incidents against the truth.
func Check(f *File, incidents []Incident, c *Classifier) *Report {
	ix := newIndex(f)
	r := &Report{Incidents: len(incidents)}
	scores := map[Kind]*KindScore{}
	for _, k := range Kinds {
		scores[k] = &KindScore{Kind: k}
	}
	for i := range f.Attackers {
		scores[f.Attackers[i].Kind].Planted++
	}
	type key struct {
		kind    Kind
		subject string
	}
	seen := map[key]bool{}
	found := map[*Attacker]bool{}
	for _, in := range incidents {
		kinds := map[Kind]bool{}
		for _, id := range in.Rules() {
			if k, ok := c.Kind(id); ok {
				kinds[k] = true
			}
		}
		if len(kinds) == 0 {
			kinds[""] = true
		}
		for _, k := range sortedKinds(kinds) {
			subject, a := ix.match(&in, k)
			kk := key{k, subject}
			if seen[kk] {
				r.Repeats++
				continue
			}
			seen[kk] = true
			fd := Finding{Kind: k, Subject: subject, Attacker: a, Incident: in}
			if k == "" {
				r.Unmapped = append(r.Unmapped, fd)
				if a == nil {
					r.Benign = append(r.Benign, fd)
				}
				continue
			}
			s := scores[k]
			s.Flagged++
			switch {
			case a == nil:
				r.Benign = append(r.Benign, fd)
			case a.Allows(k):
				s.Correct++
				if a.Kind == k {
					found[a] = true
				}
			default:
				r.CrossKind = append(r.CrossKind, fd)
			}
		}
	}
	for i := range f.Attackers {
		a := &f.Attackers[i]
		if found[a] {
			scores[a.Kind].Found++
		} else {
			r.Missed = append(r.Missed, *a)
		}
	}
	for _, k := range Kinds {
		r.Kinds = append(r.Kinds, *scores[k])
	}
	return r
}

func sortedKinds(m map[Kind]bool) []Kind {
	out := make([]Kind, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// WriteText prints the report for a person: a table per kind, then every
// miss and every wrong flag, then PASS or FAIL.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "incidents: %d (%d repeat a kind and subject already flagged)\n", r.Incidents, r.Repeats)
	fmt.Fprintf(&b, "%-24s %7s %6s %7s %8s %8s %10s\n",
		"kind", "planted", "found", "recall", "flagged", "correct", "precision")
	for _, s := range r.Kinds {
		fmt.Fprintf(&b, "%-24s %7d %6d %7.3f %8d %8d %10.3f\n",
			s.Kind, s.Planted, s.Found, s.Recall(), s.Flagged, s.Correct, s.Precision())
	}
	for _, a := range r.Missed {
		fmt.Fprintf(&b, "MISSED    %-22s %s on %s (%d attempts, %d users, %s to %s)\n",
			a.Kind, a.Subject(), a.Host, a.Attempts, a.Users,
			a.FirstSeen.Format("2006-01-02T15:04:05"), a.LastSeen.Format("15:04:05"))
	}
	for _, fd := range r.Benign {
		fmt.Fprintf(&b, "BENIGN    %-22s %s flagged by %s %q rules %v\n",
			kindName(fd.Kind), fd.Subject, fd.Incident.ID, fd.Incident.Title, fd.Incident.Rules())
	}
	for _, fd := range r.CrossKind {
		fmt.Fprintf(&b, "CROSSKIND %-22s %s planted as %s, flagged by %s rules %v\n",
			fd.Kind, fd.Subject, fd.Attacker.Kind, fd.Incident.ID, fd.Incident.Rules())
	}
	for _, fd := range r.Unmapped {
		fmt.Fprintf(&b, "UNMAPPED  rules %v (%s) name %s: map them with --kind rule-id=kind\n",
			fd.Incident.Rules(), fd.Incident.ID, fd.Subject)
	}
	if r.OK() {
		b.WriteString("result: PASS\n")
	} else {
		fmt.Fprintf(&b, "result: FAIL (%d missed, %d benign flagged)\n", len(r.Missed), len(r.Benign))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func kindName(k Kind) string {
	if k == "" {
		return "(unmapped)"
	}
	return string(k)
}
