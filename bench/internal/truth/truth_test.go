package truth

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func sample() *File {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	return &File{
		Generator: "authgen", Seed: 1, Lines: 1000, Format: "file",
		Start: t0, End: t0.Add(time.Hour), Hosts: []string{"web01", "db01"},
		Attackers: []Attacker{
			{Kind: KindSSHBruteForceFast, SourceIP: "198.18.0.0", Host: "web01", Attempts: 40, Users: 2,
				Also: []Kind{KindSSHBruteForceSlow}},
			{Kind: KindSSHBruteForceSlow, SourceIP: "203.0.113.9", Host: "web01", Attempts: 12, Users: 1},
			{Kind: KindPasswordSpraying, SourceIP: "2001:db8::7", Host: "web01", Attempts: 25, Users: 25,
				Also: []Kind{KindSSHBruteForceSlow}},
			{Kind: KindSSHBruteForceSuccess, SourceIP: "192.0.2.44", User: "zoe", Host: "web01", Attempts: 15, Users: 1,
				Also: []Kind{KindSSHBruteForceFast, KindSSHBruteForceSlow}},
			{Kind: KindSudoFailures, User: "paula", Host: "db01", Attempts: 9, Users: 1},
		},
	}
}

func inc(id, rule string, ents ...Entity) Incident {
	return Incident{ID: id, Title: "t " + id, RuleIDs: []string{rule}, Entities: ents}
}

func ip(v string) Entity   { return Entity{Type: "ip", Field: "source.ip", Value: v} }
func user(v string) Entity { return Entity{Type: "user", Field: "user.name", Value: v} }
func host(v string) Entity { return Entity{Type: "host", Field: "host.name", Value: v} }

func TestCheckAllFound(t *testing.T) {
	incs := []Incident{
		inc("INC-1", "ssh-bruteforce-fast", ip("198.18.0.0")),
		inc("INC-2", "ssh-bruteforce-slow", ip("198.18.0.0")), // allowed by Also
		inc("INC-3", "ssh-bruteforce-slow", ip("203.0.113.9")),
		// Same address written in another form.
		inc("INC-4", "ssh-password-spraying", ip("2001:0db8:0000::0007")),
		inc("INC-5", "ssh-bruteforce-then-success", ip("192.0.2.44"), user("zoe")),
		inc("INC-6", "ssh-bruteforce-fast", ip("192.0.2.44")),
		inc("INC-7", "sudo-repeated-failures", user("paula"), host("db01")),
		inc("INC-8", "sudo-repeated-failures", user("paula"), host("db01")), // a repeat
	}
	r := Check(sample(), incs, NewClassifier(nil))
	require.True(t, r.OK())
	require.Empty(t, r.Missed)
	require.Empty(t, r.Benign)
	require.Empty(t, r.CrossKind)
	require.Empty(t, r.Unmapped)
	require.Equal(t, 8, r.Incidents)
	require.Equal(t, 1, r.Repeats)
	want := map[Kind][4]int{ // planted, found, flagged, correct
		KindSSHBruteForceFast:    {1, 1, 2, 2},
		KindSSHBruteForceSlow:    {1, 1, 2, 2},
		KindPasswordSpraying:     {1, 1, 1, 1},
		KindSSHBruteForceSuccess: {1, 1, 1, 1},
		KindSudoFailures:         {1, 1, 1, 1},
	}
	for _, s := range r.Kinds {
		require.Equal(t, want[s.Kind], [4]int{s.Planted, s.Found, s.Flagged, s.Correct}, s.Kind)
		require.InDelta(t, 1.0, s.Precision(), 1e-9)
		require.InDelta(t, 1.0, s.Recall(), 1e-9)
	}
	var out bytes.Buffer
	require.NoError(t, r.WriteText(&out))
	require.Contains(t, out.String(), "result: PASS")
}

func TestCheckMissesAndFalsePositives(t *testing.T) {
	incs := []Incident{
		// The fast attacker found only by the slow rule: still a miss.
		inc("INC-1", "ssh-bruteforce-slow", ip("198.18.0.0")),
		inc("INC-2", "ssh-bruteforce-slow", ip("203.0.113.9")),
		// A benign scanner flagged.
		inc("INC-3", "ssh-bruteforce-fast", ip("8.8.4.4")),
		// The slow attacker flagged as a sprayer: cross-kind, not benign.
		inc("INC-4", "password-spray", ip("203.0.113.9")),
		// Right user, wrong host: benign.
		inc("INC-5", "sudo-fail", user("paula"), host("web01")),
		// A rule the classifier cannot place, on a benign source.
		inc("INC-6", "weird-thing", ip("10.20.0.3")),
		// An incident without any subject entity.
		inc("INC-7", "ssh-bruteforce-fast"),
	}
	r := Check(sample(), incs, NewClassifier(nil))
	require.False(t, r.OK())
	var missed []string
	for _, a := range r.Missed {
		missed = append(missed, string(a.Kind)+" "+a.Subject())
	}
	require.ElementsMatch(t, []string{
		"ssh_bruteforce_fast 198.18.0.0",
		"password_spraying 2001:db8::7",
		"ssh_bruteforce_success 192.0.2.44",
		"sudo_failures paula@db01",
	}, missed)
	var benign []string
	for _, f := range r.Benign {
		benign = append(benign, f.Incident.ID+" "+f.Subject)
	}
	require.ElementsMatch(t, []string{
		"INC-3 8.8.4.4", "INC-5 paula@web01", "INC-6 10.20.0.3", "INC-7 (no subject entity)",
	}, benign)
	require.Len(t, r.CrossKind, 1)
	require.Equal(t, KindPasswordSpraying, r.CrossKind[0].Kind)
	require.Equal(t, KindSSHBruteForceSlow, r.CrossKind[0].Attacker.Kind)
	require.Len(t, r.Unmapped, 1)

	byKind := map[Kind]KindScore{}
	for _, s := range r.Kinds {
		byKind[s.Kind] = s
	}
	fast := byKind[KindSSHBruteForceFast]
	require.Equal(t, 0, fast.Found)
	require.Equal(t, 2, fast.Flagged)
	require.Equal(t, 0, fast.Correct)
	require.InDelta(t, 0.0, fast.Precision(), 1e-9)
	slow := byKind[KindSSHBruteForceSlow]
	require.Equal(t, [3]int{1, 2, 2}, [3]int{slow.Found, slow.Flagged, slow.Correct})
	spray := byKind[KindPasswordSpraying]
	require.InDelta(t, 0.0, spray.Recall(), 1e-9)
	require.InDelta(t, 0.0, spray.Precision(), 1e-9)

	var out bytes.Buffer
	require.NoError(t, r.WriteText(&out))
	s := out.String()
	require.Contains(t, s, "MISSED    sudo_failures          paula@db01 on db01")
	require.Contains(t, s, "BENIGN    ssh_bruteforce_fast    8.8.4.4 flagged by INC-3")
	require.Contains(t, s, "CROSSKIND password_spraying      203.0.113.9 planted as ssh_bruteforce_slow")
	require.Contains(t, s, "UNMAPPED  rules [weird-thing]")
	require.Contains(t, s, "result: FAIL (4 missed, 4 benign flagged)")
}

func TestClassifier(t *testing.T) {
	c := NewClassifier(map[string]Kind{"custom-1": KindSudoFailures, "ssh-password-spray": KindSSHBruteForceSlow})
	for id, want := range map[string]Kind{
		"custom-1":                     KindSudoFailures,
		"ssh-password-spray":           KindSSHBruteForceSlow, // an override wins over the built-in ID
		"ssh-brute-force-fast":         KindSSHBruteForceFast,
		"ssh-brute-force-slow":         KindSSHBruteForceSlow,
		"ssh-brute-force-then-success": KindSSHBruteForceSuccess,
		"sudo-repeated-failures":       KindSudoFailures,
		"ssh-bruteforce":               KindSSHBruteForceFast,
		"ssh-bf-fast":                  KindSSHBruteForceFast,
		"SSH-Brute-Force-Slow":         KindSSHBruteForceSlow,
		"ssh-password-spraying":        KindPasswordSpraying,
		"ssh-bruteforce-then-success":  KindSSHBruteForceSuccess,
		"bf-followed-by-login":         KindSSHBruteForceSuccess,
		"sudo-auth-failures":           KindSudoFailures,
	} {
		got, ok := c.Kind(id)
		require.True(t, ok, id)
		require.Equal(t, want, got, id)
	}
	_, ok := c.Kind("port-scan")
	require.False(t, ok)

	m, err := ParseKindMap(" a=sudo_failures, b=ssh_bruteforce_slow ,")
	require.NoError(t, err)
	require.Equal(t, map[string]Kind{"a": KindSudoFailures, "b": KindSSHBruteForceSlow}, m)
	_, err = ParseKindMap("a")
	require.ErrorContains(t, err, `cannot parse kind mapping "a": want rule-id=kind`)
	_, err = ParseKindMap("a=nope")
	require.ErrorContains(t, err, `unknown kind "nope"`)
}

func TestReadIncidents(t *testing.T) {
	in := `{"id":"INC-000001","title":"SSH brute force from 198.18.0.0","severity":"high","status":"open",` +
		`"rule_ids":["ssh-bf"],"group_key":"198.18.0.0","entities":[{"type":"ip","field":"source.ip","value":"198.18.0.0"}],` +
		`"first_seen":"2026-03-02T10:00:00Z","last_seen":"2026-03-02T10:00:40Z","alert_count":2,` +
		`"created_at":"2026-03-02T10:00:40Z","updated_at":"2026-03-02T10:00:40Z"}

{"id":"a1","rule_id":"sudo-fail","entities":[{"type":"user","field":"user.name","value":"paula"}]}
`
	incs, err := ReadIncidents(strings.NewReader(in))
	require.NoError(t, err)
	require.Len(t, incs, 2)
	require.Equal(t, []string{"ssh-bf"}, incs[0].Rules())
	require.Equal(t, 2, incs[0].AlertCount)
	require.Equal(t, time.Date(2026, 3, 2, 10, 0, 40, 0, time.UTC), incs[0].LastSeen)
	require.Equal(t, []string{"sudo-fail"}, incs[1].Rules())

	_, err = ReadIncidents(strings.NewReader("{\"id\":\"x\",\"rule_ids\":[\"r\"]}\nnot json\n"))
	require.ErrorContains(t, err, "line 2: cannot decode incident")
	_, err = ReadIncidents(strings.NewReader(`{"title":"no id"}`))
	require.ErrorContains(t, err, "line 1: incident lacks id or rule_ids")
}

func TestFileRoundTripAndValidation(t *testing.T) {
	f := sample()
	var buf bytes.Buffer
	require.NoError(t, f.Write(&buf))
	got, err := Read(&buf)
	require.NoError(t, err)
	require.Equal(t, f, got)

	_, err = Read(strings.NewReader(`{"attackers":[{"kind":"ssh_bruteforce_fast","host":"h"}],"extra":1}`))
	require.ErrorContains(t, err, `unknown field "extra"`)
	_, err = Read(strings.NewReader(`{"attackers":[{"kind":"ssh_bruteforce_fast","host":"h"},` +
		`{"kind":"sudo_failures","user":"u"},{"kind":"nope"},{"kind":"sudo_failures","user":"u","host":"h","also":["x"]}]}`))
	require.ErrorContains(t, err, "attacker 0: kind ssh_bruteforce_fast needs source_ip")
	require.ErrorContains(t, err, "attacker 1: kind sudo_failures needs user and host")
	require.ErrorContains(t, err, `attacker 2: unknown kind "nope"`)
	require.ErrorContains(t, err, `attacker 3: also: unknown kind "x"`)
}

// FuzzReadIncidents checks that arbitrary replay output never panics the
// reader and that whatever it accepts can be checked.
func FuzzReadIncidents(f *testing.F) {
	f.Add(`{"id":"i","rule_ids":["ssh-bf"],"entities":[{"type":"ip","value":"1.2.3.4"}]}`)
	f.Add(`{"id":"i","rule_id":"sudo","entities":[{"type":"user","value":"u"},{"type":"host","value":"h"}]}` + "\n\n")
	f.Add(`{"id":"i","rule_ids":["x"],"entities":[{"type":"ip","value":"::ffff:1.2.3.4"}]}`)
	f.Add("[1,2]\n")
	f.Add(`{"id":"i","rule_ids":[""],"entities":null}`)
	f.Fuzz(func(t *testing.T, s string) {
		incs, err := ReadIncidents(strings.NewReader(s))
		if err != nil {
			return
		}
		r := Check(sample(), incs, NewClassifier(nil))
		require.Equal(t, len(incs), r.Incidents)
		require.Len(t, r.Kinds, len(Kinds))
		for _, k := range r.Kinds {
			require.LessOrEqual(t, k.Correct, k.Flagged)
			require.LessOrEqual(t, k.Found, k.Planted)
		}
		require.NoError(t, r.WriteText(&bytes.Buffer{}))
	})
}

// FuzzRead checks the truth decoder on arbitrary input.
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	require.NoError(f, sample().Write(&buf))
	f.Add(buf.String())
	f.Add(`{"attackers":[{"kind":"sudo_failures","user":"u","host":"h"}]}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, s string) {
		tf, err := Read(strings.NewReader(s))
		if err != nil {
			return
		}
		for i := range tf.Attackers {
			a := &tf.Attackers[i]
			require.True(t, a.Allows(a.Kind))
			require.NotEmpty(t, a.Subject())
		}
	})
}
func TestEntitiesReadSourceAddress(t *testing.T) {
	in := Incident{Entities: []Entity{
		{Type: "ip", Field: "source.address", Value: "198.51.100.7"},
		{Type: "domain", Field: "source.address", Value: "scanner.example.net"},
		{Type: "user", Field: "user.name", Value: "alice"},
	}}
	ips, users, hosts := entities(&in)
	require.Equal(t, []string{"198.51.100.7"}, ips)
	require.Equal(t, []string{"alice"}, users)
	require.Empty(t, hosts)
}
