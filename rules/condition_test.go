package rules

import (
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/internal/textdist"
	"github.com/tocsin-siem/tocsin/schemas"
)

func testLists(t *testing.T) map[string]*List {
	l := newList("scanners")
	for _, v := range []string{"192.0.2.0/24", "2001:db8::/32", "scanner.example.com"} {
		require.Empty(t, l.add(v))
	}
	return map[string]*List{"scanners": l}
}

func condEvents() []*schemas.Event {
	var out []*schemas.Event
	for _, action := range []string{"ssh_login", "sudo", ""} {
		for _, outcome := range []string{"failure", "success"} {
			for _, ip := range []string{"192.0.2.9", "198.51.100.1", "2001:db8::7", ""} {
				for _, user := range []string{"root", "admin", "alice"} {
					ev := &schemas.Event{}
					ev.Event.Action, ev.Event.Outcome, ev.Source.IP, ev.User.Name = action, outcome, ip, user
					ev.Event.Count = len(user) % 3
					switch user {
					case "root":
						ev.Labels = map[string]string{"act": "blocked", "cs1": ip}
					case "admin":
						ev.Labels = map[string]string{"act": "allowed"}
					}
					out = append(out, ev)
				}
			}
		}
	}
	return out
}

// TestConditionAgreesWithExpr checks the native evaluation against the
// expr VM running the whole expression, on every event of a matrix.
func TestConditionAgreesWithExpr(t *testing.T) {
	lists := testLists(t)
	tests := []struct {
		src        string
		native     bool
		indexField string
		index      []string
	}{
		{`event.action == "ssh_login" && event.outcome == "failure"`, true, "event.action", []string{"ssh_login"}},
		{`"ssh_login" == event.action and user.name != "root"`, true, "event.action", []string{"ssh_login"}},
		{`event.action in ["ssh_login", "sudo", "ssh_login"] && !in_list(source.ip, "scanners")`, true, "event.action", []string{"ssh_login", "sudo", "ssh_login"}},
		{`event.outcome == "failure" && user.name not in ["root", "admin"]`, true, "event.outcome", []string{"failure"}},
		{`in_list(source.ip, "scanners") && not in_list(user.name, "scanners")`, true, "", nil},
		{`event.action == "ssh_login" && event.count > 0`, false, "event.action", []string{"ssh_login"}},
		{`event.action == "ssh_login" && user.name startsWith "ad"`, false, "event.action", []string{"ssh_login"}},
		{`event.action == "sudo" || user.name == "root"`, false, "", nil},
		{`let u = user.name; u == "alice" && event.action != ""`, false, "", nil},
		{`any(["root", "admin"], {# == user.name}) && source.ip != ""`, false, "", nil},
		{`!(event.action == "sudo")`, false, "", nil},
		{`labels.act == "blocked" && event.action == "sudo"`, false, "event.action", []string{"sudo"}},
		{`labels["act"] != "blocked" && labels.cs1 == ""`, false, "", nil},
	}
	evs := condEvents()
	var m vm.VM
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			c, problems := compileCondition(tc.src, lists)
			require.Empty(t, problems)
			require.Equal(t, tc.native, c.Native())
			require.Equal(t, tc.indexField, c.Index().Field)
			require.Equal(t, tc.index, c.Index().Values)
			program, err := expr.Compile(tc.src, exprOptions(lists)...)
			require.NoError(t, err)
			matched := 0
			for _, ev := range evs {
				want, err := expr.Run(program, ev)
				require.NoError(t, err)
				got, err := c.Match(ev, &m)
				require.NoError(t, err)
				require.Equal(t, want, got, "event %+v", ev.Event)
				if got {
					matched++
				}
			}
			require.NotZero(t, matched, "the matrix must exercise a match")
			require.Less(t, matched, len(evs), "and a miss")
		})
	}
}

func TestConditionProblems(t *testing.T) {
	lists := testLists(t)
	tests := map[string]string{
		`event.actoin == "x"`:                       "unknown field actoin (event.actoin); did you mean event.action?",
		`source.iP == "x"`:                          "unknown field iP (source.iP); did you mean source.ip?",
		`usr.name == "x"`:                           "unknown field usr (usr); did you mean user?",
		`log.syslog.hostnme == "x"`:                 "unknown field hostnme (log.syslog.hostnme); did you mean log.syslog.hostname?",
		`event.zzzzzzz == "x"`:                      "unknown field zzzzzzz (event.zzzzzzz)",
		`in_list(source.ip)`:                        `in_list takes 2 arguments (value, "list name"), got 1`,
		`in_list(source.ip, "scaners")`:             `in_list: unknown list "scaners" (loaded lists: scanners)`,
		`let x = 1; x == 1 && y == 2`:               "unknown field y (y)",
		`all(["a"], {.name == "a"}) && nope == "a"`: "unknown field nope (nope)",
		"": "empty expression",
	}
	for src, want := range tests {
		_, problems := compileCondition(src, lists)
		require.NotEmpty(t, problems, src)
		require.Equal(t, want, problems[0].msg, src)
	}
	// Every misspelt field is reported, each on its own line.
	_, problems := compileCondition("event.actoin == \"x\" &&\n  source.iP == \"y\"", lists)
	require.Equal(t, []condProblem{
		{1, "unknown field actoin (event.actoin); did you mean event.action?"},
		{2, "unknown field iP (source.iP); did you mean source.ip?"},
	}, problems)
}

func TestConditionRunTimeError(t *testing.T) {
	c, problems := compileCondition(`event.action == "x" && 10 % event.count == 0`, nil)
	require.Empty(t, problems)
	ev := &schemas.Event{}
	ev.Event.Action = "x"
	var m vm.VM
	ok, err := c.Match(ev, &m)
	require.Error(t, err)
	require.False(t, ok)
	ev.Event.Count = 5
	ok, err = c.Match(ev, &m)
	require.NoError(t, err)
	require.True(t, ok)
}

func TestNativeMatchDoesNotAllocate(t *testing.T) {
	c, problems := compileCondition(`event.action == "ssh_login" && event.outcome == "failure" && !in_list(source.ip, "scanners")`, testLists(t))
	require.Empty(t, problems)
	require.True(t, c.Native())
	evs := condEvents()
	var m vm.VM
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = c.Match(evs[i%len(evs)], &m)
		i++
	})
	require.Zero(t, allocs)
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{
		{"action", "action", 0}, {"actoin", "action", 1}, {"acton", "action", 1},
		{"ip", "iP", 1}, {"", "abc", 3}, {"abc", "", 3}, {"kitten", "sitting", 3},
	} {
		require.Equal(t, tc.d, textdist.Distance(tc.a, tc.b), "%s/%s", tc.a, tc.b)
	}
}
