package authlog_test

import (
	"bytes"
	"crypto/sha256"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/bench/internal/authlog"
	"github.com/tocsin-siem/tocsin/bench/internal/truth"
)

func generate(t *testing.T, o authlog.Options) ([]byte, *truth.File) {
	t.Helper()
	g, err := authlog.New(o)
	require.NoError(t, err)
	var buf bytes.Buffer
	n, err := g.WriteTo(&buf)
	require.NoError(t, err)
	require.Equal(t, int64(buf.Len()), n)
	return buf.Bytes(), g.Truth()
}

// TestPlantedAttackersMatchTheirKind checks every property the truth file
// promises, on the log itself, and that nothing benign comes near a
// threshold.
func TestPlantedAttackersMatchTheirKind(t *testing.T) {
	const lines = 200_000
	log, tf := generate(t, authlog.Options{Seed: 7, Lines: lines, Attackers: 4})
	o := readOracle(t, log, 2026)
	require.Equal(t, lines, o.lines)
	require.Len(t, tf.Attackers, 4*len(truth.Kinds))

	attackerIP := map[string]bool{}
	attackerSudo := map[string]bool{}
	for _, a := range tf.Attackers {
		if a.Kind.BySource() {
			require.False(t, attackerIP[a.SourceIP], "source %s planted twice", a.SourceIP)
			attackerIP[a.SourceIP] = true
			as := o.ssh[a.SourceIP]
			require.Equal(t, a.Attempts, total(as), "%s %s attempts", a.Kind, a.SourceIP)
			for _, at := range as {
				require.Equal(t, a.Host, at.host, "%s attacks one host", a.SourceIP)
				require.False(t, at.at.Before(a.FirstSeen.Truncate(time.Second)))
				require.False(t, at.at.After(a.LastSeen))
			}
		} else {
			attackerSudo[a.User+"@"+a.Host] = true
		}
		switch a.Kind {
		case truth.KindSSHBruteForceFast:
			as := o.ssh[a.SourceIP]
			require.GreaterOrEqual(t, maxIn(as, time.Minute), 10, "fast %s", a.SourceIP)
			require.LessOrEqual(t, maxDistinctIn(as, time.Hour), 3, "fast %s is no sprayer", a.SourceIP)
			require.Empty(t, o.accepted[a.SourceIP])
		case truth.KindSSHBruteForceSlow:
			as := o.ssh[a.SourceIP]
			require.Equal(t, 24, a.Attempts)
			require.Equal(t, 1, maxIn(as, 90*time.Second), "slow %s: two attempts within 90s", a.SourceIP)
			require.Equal(t, 24, maxIn(as, time.Hour), "slow %s fits an hour", a.SourceIP)
			require.GreaterOrEqual(t, a.LastSeen.Sub(a.FirstSeen), 35*time.Minute)
			require.LessOrEqual(t, maxDistinctIn(as, time.Hour), 2)
			require.Empty(t, o.accepted[a.SourceIP])
		case truth.KindPasswordSpraying:
			as := o.ssh[a.SourceIP]
			require.Equal(t, 25, maxDistinctIn(as, 10*time.Minute), "spray %s", a.SourceIP)
			require.LessOrEqual(t, maxIn(as, time.Minute), 6, "spray %s is no fast brute force", a.SourceIP)
			for _, at := range as {
				if at.n > 0 {
					require.Equal(t, 1, at.n)
				}
			}
			require.Empty(t, o.accepted[a.SourceIP])
		case truth.KindSSHBruteForceSuccess:
			as := o.ssh[a.SourceIP]
			require.GreaterOrEqual(t, maxIn(as, time.Minute), 10, "success %s", a.SourceIP)
			require.Equal(t, 1, maxDistinctIn(as, time.Hour))
			acc := o.accepted[a.SourceIP]
			require.Len(t, acc, 1)
			last := as[len(as)-1].at
			require.True(t, acc[0].After(last) && acc[0].Sub(last) <= 11*time.Second,
				"success %s: accepted %s after last failure %s", a.SourceIP, acc[0], last)
		case truth.KindSudoFailures:
			s := o.sudo[a.User+"@"+a.Host]
			require.GreaterOrEqual(t, maxIn(s, 10*time.Minute), 12, "sudo %s@%s", a.User, a.Host)
		}
	}

	// Benign: no external source other than the attackers has more than
	// two attempts in the whole log.
	for ip, as := range o.ssh {
		if attackerIP[ip] {
			continue
		}
		if strings.HasPrefix(ip, "10.") {
			// Internal clients mistype at most once per two hours.
			require.Equal(t, 1, maxIn(as, 2*time.Hour), "benign client %s", ip)
			continue
		}
		require.LessOrEqual(t, total(as), 2, "benign source %s: %d attempts", ip, total(as))
	}
	for who, s := range o.sudo {
		if attackerSudo[who] {
			continue
		}
		require.LessOrEqual(t, maxIn(s, 2*time.Hour), 1, "benign sudo %s", who)
	}
	// Benign sudo typos by the attackers' accounts stay below the
	// planted count plus one.
	for who := range attackerSudo {
		require.LessOrEqual(t, maxIn(o.sudo[who], 10*time.Minute), 13, who)
	}
	require.Greater(t, tf.Benign.Scanners, 1000)
	require.Greater(t, tf.Benign.Typos, 10)
}

func TestMixResemblesARealAuthLog(t *testing.T) {
	const lines = 100_000
	log, tf := generate(t, authlog.Options{Seed: 3, Lines: lines})
	o := readOracle(t, log, 2026)
	share := func(k string) float64 { return float64(o.kinds[k]) / lines }
	require.InDelta(t, 0.60, share("sshd"), 0.08, "sshd share")
	require.InDelta(t, 0.16, share("CRON"), 0.04, "cron share")
	require.InDelta(t, 0.11, share("sudo"), 0.04, "sudo share")
	for _, k := range []string{"su", "systemd-logind", "polkitd", "pkexec", "systemd",
		"repeated", "invalid", "pair", "accepted-publickey", "accepted-password",
		"sudo-pam-fail", "sudo-incorrect"} {
		require.Positive(t, o.kinds[k], "no %s lines", k)
	}
	for _, want := range []string{
		"reverse mapping checking getaddrinfo for ",
		"Received disconnect from ",
		"Connection closed by ",
		"pam_unix(sshd:session): session opened for user ",
		"pam_unix(cron:session): session closed for user root",
		"pam_unix(sudo:session): session opened for user root(uid=0) by ",
		"Disconnecting authenticating user root ",
		"PAM 5 more authentication failures; ",
	} {
		require.True(t, bytes.Contains(log, []byte(want)), "no line contains %q", want)
	}
	// The log spans about the requested day.
	span := tf.End.Sub(tf.Start)
	require.InDelta(t, float64(24*time.Hour), float64(span), float64(3*time.Hour), "span %s", span)
}

func TestDeterministic(t *testing.T) {
	o := authlog.Options{Seed: 11, Lines: 20_000, Attackers: 1}
	a, ta := generate(t, o)
	b, tb := generate(t, o)
	require.Equal(t, sha256.Sum256(a), sha256.Sum256(b))
	require.Equal(t, ta, tb)
	o.Seed = 12
	c, tc := generate(t, o)
	require.NotEqual(t, sha256.Sum256(a), sha256.Sum256(c))
	require.NotEqual(t, ta.Attackers[0].SourceIP+ta.Attackers[0].User, tc.Attackers[0].SourceIP+tc.Attackers[0].User)
}

func TestFormats(t *testing.T) {
	base := authlog.Options{Seed: 5, Lines: 5000, Attackers: 1, Duration: 2 * time.Hour}
	file, _ := generate(t, base)

	base.Format = authlog.FormatRFC3164
	with, _ := generate(t, base)
	re3164 := regexp.MustCompile(`^<(\d{1,3})>([A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d \S+ .*)$`)
	fileLines := strings.Split(strings.TrimSuffix(string(file), "\n"), "\n")
	withLines := strings.Split(strings.TrimSuffix(string(with), "\n"), "\n")
	require.Len(t, withLines, 5000)
	pris := map[string]bool{}
	for i, l := range withLines {
		m := re3164.FindStringSubmatch(l)
		require.NotNil(t, m, l)
		require.Equal(t, fileLines[i], m[2], "rfc3164 is the file line with a PRI")
		pris[m[1]] = true
		switch {
		case strings.Contains(l, " sshd["):
			require.Contains(t, []string{"33", "34", "35", "36", "37", "38"}, m[1], l)
		case strings.Contains(l, "incorrect password attempts"):
			require.Equal(t, "81", m[1], l)
		}
	}
	require.True(t, pris["38"] && pris["86"], "auth.info and authpriv.info present: %v", pris)

	base.Format = authlog.FormatRFC5424
	v5, _ := generate(t, base)
	re5424 := regexp.MustCompile(`^<\d{1,3}>1 2026-03-02T\d\d:\d\d:\d\d\.\d{6}Z \S+ [\w-]+ (\d+|-) - - (.*)$`)
	for i, l := range strings.Split(strings.TrimSuffix(string(v5), "\n"), "\n") {
		m := re5424.FindStringSubmatch(l)
		require.NotNil(t, m, l)
		require.True(t, strings.HasSuffix(fileLines[i], ": "+m[2]), "same message: %q vs %q", fileLines[i], l)
	}
}

func TestOptionErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		o    authlog.Options
		want string
	}{
		"short duration": {authlog.Options{Duration: time.Hour}, "duration must be at least 2h"},
		"too few users":  {authlog.Options{Users: 3}, "users must be 5 to 10000"},
		"spray too wide": {authlog.Options{SprayUsers: 500}, "spray users must be 2 to"},
		"slow too dense": {authlog.Options{SlowAttempts: 40, SlowSpan: 30 * time.Minute}, "too short for 40 attempts"},
		"no room":        {authlog.Options{Lines: 500, Attackers: 5}, "cannot fit"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := authlog.New(tc.o)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := authlog.ParseFormat("json")
	require.ErrorContains(t, err, `unknown format "json"`)
	f, err := authlog.ParseFormat("rfc5424")
	require.NoError(t, err)
	require.Equal(t, authlog.FormatRFC5424, f)
}

// TestAttacksDominate leaves the benign stream so thin that planted lines
// are often the only ones pending: the count stays exact and the order
// holds.
func TestAttacksDominate(t *testing.T) {
	for _, lines := range []int{700, 1000} {
		log, tf := generate(t, authlog.Options{Seed: 8, Lines: lines, Attackers: 1})
		o := readOracle(t, log, 2026)
		require.Equal(t, lines, o.lines)
		for _, a := range tf.Attackers {
			if a.Kind.BySource() {
				require.Equal(t, a.Attempts, total(o.ssh[a.SourceIP]), a.SourceIP)
			}
		}
	}
}

func TestNoAttackers(t *testing.T) {
	log, tf := generate(t, authlog.Options{Seed: 2, Lines: 30_000, NoAttackers: true})
	require.Empty(t, tf.Attackers)
	o := readOracle(t, log, 2026)
	for ip, as := range o.ssh {
		if strings.HasPrefix(ip, "10.") {
			require.Equal(t, 1, maxIn(as, 2*time.Hour), ip)
		} else {
			require.LessOrEqual(t, total(as), 2, ip)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	const lines = 100_000
	var n int64
	for b.Loop() {
		g, err := authlog.New(authlog.Options{Seed: 1, Lines: lines})
		require.NoError(b, err)
		n, err = g.WriteTo(discard{})
		require.NoError(b, err)
	}
	b.SetBytes(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
