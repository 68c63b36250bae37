package rules

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// FuzzLoad feeds arbitrary bytes to the loader as a rule file and as a
// list file: it must never panic, and a failure must come as Errors whose
// every element names its file.
func FuzzLoad(f *testing.F) {
	builtin := Builtin()
	entries, err := fs.ReadDir(builtin, ".")
	require.NoError(f, err)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := fs.ReadFile(builtin, e.Name())
		require.NoError(f, err)
		f.Add(data)
	}
	for _, seed := range []string{
		goodRule,
		"rules: [{id: a, title: t, severity: low, kind: match, condition: 'in_list(source.ip, \"l\")'}]",
		"rules:\n  - &a {id: x}\n  - *a\n",
		"rules: [{id: x, kind: threshold, threshold: 99999999999999999999, window: 1ns, followed_by: {condition: '#', within: 1h}}]",
		"tests: [{name: x, events: [{timestamp: '+1h'}], expect: [{rule: x, group: {a: b}}]}]\nrules: []",
		"rules: [{id: x, title: t, severity: low, kind: match, condition: 'let a = 1; a + event.count > 0', reason: '{{}}{'}]",
		"10.0.0.0/8\n::1\n# c\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{
			"r.yaml":       &fstest.MapFile{Data: data},
			"lists/l.txt":  &fstest.MapFile{Data: data},
			"lists/y.yaml": &fstest.MapFile{Data: data},
		}
		set, err := Load(Source{FS: fsys, Dir: ".", Name: "fuzz"})
		if err == nil {
			require.NotNil(t, set)
			for _, r := range set.Rules {
				require.NotNil(t, r.Condition)
				require.NotNil(t, r.Detector)
			}
			return
		}
		var errs Errors
		require.True(t, errors.As(err, &errs), "error is %T: %v", err, err)
		require.NotEmpty(t, errs)
		for _, e := range errs {
			require.NotEmpty(t, e.File)
			require.NotEmpty(t, e.Msg)
		}
	})
}

// FuzzCondition compiles arbitrary expressions: the field checker and the
// native-check extraction must not panic, and a condition that compiles
// must evaluate (natively or in the VM) without panicking.
func FuzzCondition(f *testing.F) {
	for _, seed := range []string{
		`event.action == "ssh_login" && event.outcome == "failure"`,
		`event.action in ["a", "b"] && !in_list(source.ip, "scanners")`,
		`let x = user.name; x startsWith "a" || x == ""`,
		`all(["a"], {# == user.name}) and event.count > 1`,
		`event.actoin.x[0]?.y`,
		`in_list(source.ip, user.name)`,
		`{a: 1}.a == 1 && source.ip[1:3] == "x"`,
	} {
		f.Add(seed)
	}
	ev := condEvents()[5]
	f.Fuzz(func(t *testing.T, src string) {
		lists := map[string]*List{"scanners": newList("scanners")}
		c, problems := compileCondition(src, lists)
		if len(problems) > 0 {
			require.Nil(t, c)
			return
		}
		var m vm.VM
		_, _ = c.Match(ev, &m)
	})
}

// FuzzDecodeGroup feeds arbitrary bytes to a threshold rule's
// DecodeGroup, for a count, a distinct and a followed_by rule: it must
// never panic, and a state it accepts must behave as a group (observe
// events) and save and decode again to the same bytes.
func FuzzDecodeGroup(f *testing.F) {
	fixture, err := os.ReadFile("testdata/window-state-v1.json")
	require.NoError(f, err)
	var v1 map[string]json.RawMessage
	require.NoError(f, json.Unmarshal(fixture, &v1))
	for _, state := range v1 {
		f.Add([]byte(state))
	}
	user, ok := schemas.LookupField("user.name")
	require.True(f, ok)
	detectors := []*thresholdDetector{
		{n: 3, window: time.Minute},
		{n: 3, window: time.Minute, distinct: user},
		{n: 3, window: time.Minute, follow: &Condition{}, within: time.Minute},
	}
	for _, c := range stateCases() {
		g := newWindowGroup(detectors[0])
		var fr Firing
		for _, s := range c.before {
			ev := stepEvent(s)
			ev.Event.Original = "Dec 10 06:55:48 web1 sshd[4242]: Failed password for " + ev.User.Name
			ev.User.Name = ev.Event.Original[len(ev.Event.Original)-len(ev.User.Name):]
			fr.Reset()
			g.Observe(ev, s.input, &fr)
		}
		data, err := g.AppendState(nil)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte{windowStateV2, 1, 0, 0, 0, 0})

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range detectors {
			g, err := d.DecodeGroup(data)
			if err != nil {
				require.Nil(t, g)
				continue
			}
			saved, err := g.AppendState(nil)
			require.NoError(t, err)
			again, err := d.DecodeGroup(saved)
			require.NoError(t, err, "a decoded group saves to a state that decodes")
			resaved, err := again.AppendState(nil)
			require.NoError(t, err)
			require.Equal(t, saved, resaved)
			wg := g.(*windowGroup)
			require.LessOrEqual(t, len(wg.entries), d.n)
			var fr Firing
			ev := &schemas.Event{Timestamp: time.Unix(0, wg.newest)}
			ev.Event.Count = 1
			ev.User.Name = "fuzz"
			for input := range 2 {
				fr.Reset()
				g.Observe(ev, input, &fr)
			}
		}
	})
}
