package wire

import (
	"fmt"
	"strings"

	"github.com/tocsin-siem/tocsin/internal/textdist"
	"github.com/tocsin-siem/tocsin/schemas"
)

// DefaultKeyFields are the fields ingest keys events by when the
// configuration names none: the source address (its IP, or its host name
// when only a name was logged), else the user, else the host. Events of
// one attacker, one account or one machine thus land on one partition.
var DefaultKeyFields = []string{"source.address", "user.name", "host.name"}

// Keyer computes the Kafka key of events from an ordered list of fields:
// the value of the first field that is not empty. The key is the plain
// value, readable in kcat; two fields with the same value ("root" as user
// and as host) share a key, which only means they share a partition. A
// Keyer is immutable and safe for concurrent use.
type Keyer struct {
	names []string
	gets  []func(*schemas.Event) string
}

// NewKeyer returns a Keyer over fields, in order of preference. Each name
// must be a groupable field (schemas.LookupField); a misspelt one is an
// error that suggests the closest name.
func NewKeyer(fields []string) (*Keyer, error) {
	if len(fields) == 0 {
		return nil, fmt.Errorf("cannot key events: no key fields given; name at least one, for example %s", strings.Join(DefaultKeyFields, ", "))
	}
	k := &Keyer{}
	seen := make(map[string]bool, len(fields))
	for _, name := range fields {
		spec, ok := schemas.LookupField(name)
		if !ok {
			msg := fmt.Sprintf("cannot key events by %q: not a field events can be keyed by", name)
			if s := suggestField(name); s != "" {
				msg += "; did you mean " + s + "?"
			} else {
				msg += " (known fields: " + strings.Join(schemas.FieldNames(), ", ") + ")"
			}
			return nil, fmt.Errorf("%s", msg)
		}
		if seen[name] {
			return nil, fmt.Errorf("cannot key events: field %q is listed twice; list each field once, in order of preference", name)
		}
		seen[name] = true
		k.names = append(k.names, name)
		k.gets = append(k.gets, spec.Get)
	}
	return k, nil
}

// suggestField returns the known field name closest to name, when it is
// close enough to be a misspelling.
func suggestField(name string) string {
	best, bestD := "", 3
	lower := strings.ToLower(name)
	for _, c := range schemas.FieldNames() {
		if d := len(c) - len(lower); d >= bestD || -d >= bestD {
			continue
		}
		if d := textdist.Distance(lower, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// Fields returns the key fields in order of preference.
func (k *Keyer) Fields() []string { return append([]string(nil), k.names...) }

// Key appends ev's key to dst: the value of the first key field that is
// not empty, and that field's index in Fields. When every field is empty it
// returns dst unchanged and -1; such an event has no entity to keep
// together, and the producer spreads it over the partitions.
//
// Key does not allocate for string fields; a numeric key field
// (source.port, process.pid) formats its value and may allocate.
func (k *Keyer) Key(dst []byte, ev *schemas.Event) ([]byte, int) {
	for i, get := range k.gets {
		if v := get(ev); v != "" {
			return append(dst, v...), i
		}
	}
	return dst, -1
}

// AppendAlertKey appends the Kafka key of an alert to dst: its rule id, a
// slash, and its group key ("ssh-brute-force-fast/203.0.113.7"), so that
// the alerts of one incident stay in order on one partition. Rule ids
// never contain a slash.
func AppendAlertKey(dst []byte, a *schemas.Alert) []byte {
	dst = append(dst, a.RuleID...)
	dst = append(dst, '/')
	return append(dst, a.GroupKey...)
}

// AppendFailureKey appends the Kafka key of a parse failure to dst: its
// source ("udp", "file:/var/log/auth.log"), so that one source's failures
// stay in order.
func AppendFailureKey(dst []byte, f *schemas.ParseFailure) []byte {
	return append(dst, f.Source...)
}
