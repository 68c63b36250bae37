package rules

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/expr-lang/expr/vm"
	"github.com/stretchr/testify/require"
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
