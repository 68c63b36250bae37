package rules

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestListContains(t *testing.T) {
	set, err := loadMap(map[string]string{
		"lists/hosts.txt": `# bastions and scanners
10.1.2.3
192.0.2.0/24      # scanner range
2001:db8:0:0::/48
::ffff:198.51.100.0/120
bastion.example.com#not-a-comment
  spaced.example.com  
`,
		"lists/users.yaml": "- svc-backup\n- 'svc-monitor'\n",
	})
	require.NoError(t, err)
	hosts := set.Lists["hosts"]
	require.Equal(t, 6, hosts.Len())
	for v, want := range map[string]bool{
		"10.1.2.3":                          true,
		"10.1.2.4":                          false,
		"::ffff:10.1.2.3":                   true, // same address, mapped spelling
		"192.0.2.0":                         true,
		"192.0.2.255":                       true,
		"192.0.3.0":                         false,
		"2001:db8::1":                       true,
		"2001:0db8:0000:0000:0000::1":       true,
		"2001:db8:1::1":                     false,
		"198.51.100.77":                     true, // v4-mapped prefix covers plain v4
		"198.51.101.1":                      false,
		"bastion.example.com#not-a-comment": true,
		"spaced.example.com":                true,
		"bastion.example.com":               false,
		"":                                  false,
		"# bastions and scanners":           false,
	} {
		require.Equal(t, want, hosts.Contains(v), v)
	}
	users := set.Lists["users"]
	require.True(t, users.Contains("svc-monitor"))
	require.False(t, users.Contains("root"))
	require.False(t, users.Contains("10.1.2.3"))
}

func TestListProblems(t *testing.T) {
	got := loadErrors(t, map[string]string{
		"lists/a.txt":        "10.0.0.0/8\n300.1.2.3/8\n",
		"lists/b.yaml":       "values: [1, 2]\n",
		"lists/c.yaml":       "- ok\n- [nested]\n- 10.0.0.1/99\n",
		"lists/bad name.txt": "x\n",
		"r.yaml":             "rules: []\n",
	})
	require.Equal(t, []string{
		`rules/lists/a.txt:2: invalid CIDR prefix "300.1.2.3/8": netip.ParsePrefix("300.1.2.3/8"): ParseAddr("300.1.2.3"): IPv4 field has value >255`,
		`rules/lists/b.yaml:1: a YAML list file must hold a list of values, got a mapping`,
		`rules/lists/bad name.txt: list name "bad name" must be letters, digits, '_', '.' or '-'`,
		`rules/lists/c.yaml:2: want a value, got a list`,
		`rules/lists/c.yaml:3: invalid CIDR prefix "10.0.0.1/99": netip.ParsePrefix("10.0.0.1/99"): prefix length out of range`,
	}, got)
}

func TestListContainsDoesNotAllocate(t *testing.T) {
	l := newList("x")
	for _, v := range []string{"192.0.2.0/24", "2001:db8::/32", "10.0.0.1", "name"} {
		require.Empty(t, l.add(v))
	}
	probes := []string{"192.0.2.7", "2001:db8::9", "10.0.0.1", "name", "nope", "203.0.113.1"}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		l.Contains(probes[i%len(probes)])
		i++
	})
	require.Zero(t, allocs)
}
