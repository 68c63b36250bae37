package engine

import (
	"encoding/json"
	"strconv"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/rules"
	"github.com/tocsin-siem/tocsin/schemas"
)

// everyKind is a kind defined outside package rules, as a new kind would
// be: it fires on every Nth matching event of a group. The loader and the
// engine run it without knowing anything about it.
type everyKind struct{}

func (everyKind) Name() string { return "every" }

func (everyKind) Compile(c *rules.KindContext) rules.Detector {
	n, ok := c.Int("every", true)
	label, _ := c.String("label", false)
	if ok && n < 1 {
		c.Errorf("every", "must be at least 1, got %d", n)
		return nil
	}
	if !ok {
		return nil
	}
	return &everyDetector{n: n, label: label, id: c.Spec().ID}
}

type everyDetector struct {
	n         int
	label, id string
}

func (d *everyDetector) Extra() []*rules.Condition { return nil }
func (d *everyDetector) NewGroup() rules.Group     { return &everyGroup{d: d} }
func (d *everyDetector) Horizon() time.Duration    { return time.Hour }
func (d *everyDetector) Vars() map[string]string {
	return map[string]string{"every": strconv.Itoa(d.n), "label": d.label}
}
func (d *everyDetector) DefaultReason() string { return "{label}: {count} events" }
func (d *everyDetector) DecodeGroup(data []byte) (rules.Group, error) {
	g := &everyGroup{d: d}
	return g, json.Unmarshal(data, &g.seen)
}

type everyGroup struct {
	d    *everyDetector
	seen int
}

func (g *everyGroup) Observe(ev *schemas.Event, _ int, f *rules.Firing) bool {
	g.seen++
	if g.seen%g.d.n != 0 {
		return false
	}
	f.Events = append(f.Events, ev)
	f.Count, f.FirstSeen, f.LastSeen = g.seen, ev.Timestamp, ev.Timestamp
	return true
}

func (g *everyGroup) AppendState(b []byte) ([]byte, error) {
	return strconv.AppendInt(b, int64(g.seen), 10), nil
}

func TestPluggedInKind(t *testing.T) {
	fsys := fstest.MapFS{"r.yaml": &fstest.MapFile{Data: []byte(`rules:
  - id: every-third
    title: every third failure
    severity: info
    kind: every
    every: 3
    label: third
    condition: event.action == "ssh_login" && event.outcome == "failure"
    group_by: [source.ip]
`)}}
	loader := rules.Loader{Kinds: append(rules.DefaultKinds(), everyKind{})}
	set, err := loader.Load(rules.Source{FS: fsys, Dir: ".", Name: "t"})
	require.NoError(t, err)

	te := newTestEngine(t, set, func(o *Options) { o.Shards = 2 })
	te.feed(t, burst("192.0.2.1", 7, 0, time.Second)...)
	alerts := te.out.all()
	require.Len(t, alerts, 2)
	require.Equal(t, "every", alerts[0].RuleKind)
	require.Equal(t, "third: 3 events", alerts[0].Reason)
	require.Equal(t, "third: 6 events", alerts[1].Reason)

	// Its keys are checked strictly like any other kind's.
	fsys["r.yaml"].Data = []byte(`rules:
  - id: bad
    title: bad
    severity: info
    kind: every
    every: 0
    lable: x
    condition: event.action == "x"
    group_by: [source.ip]
`)
	_, err = loader.Load(rules.Source{FS: fsys, Dir: ".", Name: "t"})
	require.EqualError(t, err, `t/r.yaml:6: rule "bad": every: must be at least 1, got 0
t/r.yaml:7: rule "bad": lable: unknown key (want one of: condition, description, every, group_by, id, kind, label, reason, references, severity, tags, title)`)
	_, err = rules.Load(rules.Source{FS: fsys, Dir: ".", Name: "t"})
	require.ErrorContains(t, err, `kind: unknown kind "every" (want one of: match, threshold)`)
}
