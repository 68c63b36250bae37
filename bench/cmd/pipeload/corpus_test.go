package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/ingest/parse"
	"github.com/tocsin-siem/tocsin/schemas"
)

func addrsOf(t tmpl) []string {
	var out []string
	for _, a := range t.addrs {
		out = append(out, string(t.text[a.off:a.off+a.len]))
	}
	return out
}

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		kind       tsKind
		ts         string
		addrs      []string
	}{
		{"file format", "Mar  2 18:01:52 mail01 sshd[3974]: Failed password for root from 81.172.54.125 port 55499 ssh2",
			ts3164, "Mar  2 18:01:52", []string{"81.172.54.125"}},
		{"rfc3164 with PRI", "<37>Mar  2 18:01:51 mail01 sshd[3974]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=81.172.54.125  user=root",
			ts3164, "Mar  2 18:01:51", []string{"81.172.54.125"}},
		{"rfc5424", "<38>1 2026-03-02T03:58:21.448445Z web01 sshd 6848 - - Disconnected from user umar 10.8.0.30 port 43334",
			tsRFC3339, "2026-03-02T03:58:21.448445Z", []string{"10.8.0.30"}},
		{"rfc3339 without PRI", "2026-03-02T03:58:21+01:00 web01 sshd[1]: Failed password for x from 2001:db8:12::7 port 22 ssh2",
			tsRFC3339, "2026-03-02T03:58:21+01:00", []string{"2001:db8:12::7"}},
		{"rfc5424 nil timestamp", "<38>1 - web01 sshd - - - from 192.0.2.1:",
			tsNone, "", []string{"192.0.2.1"}},
		{"no header", "Failed password for root from 192.0.2.9 port 1 ssh2",
			tsNone, "", []string{"192.0.2.9"}},
		{"not addresses", "Mar  2 18:01:52 h sshd[3974]: Received disconnect from 192.0.2.1 port 37715:11: Bye at 18:01:52 SHA256:ab:cd:ef v1.2.3.4 10.0.0.1x [::1] 1.2.3",
			ts3164, "Mar  2 18:01:52", []string{"192.0.2.1", "::1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseLine([]byte(tc.line))
			require.Equal(t, tc.kind, got.kind)
			if tc.kind != tsNone {
				require.Equal(t, tc.ts, tc.line[got.ts.off:got.ts.off+got.ts.len])
			}
			require.Equal(t, tc.addrs, addrsOf(got))
		})
	}
}

func TestParseCorpus(t *testing.T) {
	c, err := parseCorpus([]byte("a 192.0.2.1\r\n\n\nb\nc"))
	require.NoError(t, err)
	require.Len(t, c.lines, 3)
	require.Equal(t, "a 192.0.2.1", string(c.lines[0].text))
	require.Equal(t, "c", string(c.lines[2].text))
	require.Equal(t, int64(len("a 192.0.2.1\nb\nc\n")), c.bytes)

	_, err = parseCorpus([]byte("\n\r\n"))
	require.ErrorContains(t, err, "no lines")
	_, err = parseCorpus(bytes.Repeat([]byte("x"), 1<<20+1))
	require.ErrorContains(t, err, "longer than")
}

func TestAppendLineRewritesTimestampsAndMovesAddresses(t *testing.T) {
	lines := []string{
		"<38>1 2026-03-02T03:58:21.448445Z web01 sshd 6848 - - Failed password for root from 100.138.230.81 port 37715 ssh2",
		"Mar  2 18:01:52 mail01 sshd[3974]: Failed password for root from 2001:db8:7::5 port 55499 ssh2",
		"no stamp from 10.8.0.30",
	}
	c, err := parseCorpus([]byte(strings.Join(lines, "\n")))
	require.NoError(t, err)
	now := time.Date(2027, time.May, 9, 7, 8, 9, 123456000, time.UTC)
	st := makeStamps(now)

	var pass0, pass1 []byte
	for n := range uint64(3) {
		pass0 = c.appendLine(pass0, n, &st)
		pass1 = c.appendLine(pass1, 3+n, &st)
	}
	require.Equal(t,
		"<38>1 2027-05-09T07:08:09.123456Z web01 sshd 6848 - - Failed password for root from 100.138.230.81 port 37715 ssh2\n"+
			"May  9 07:08:09 mail01 sshd[3974]: Failed password for root from 2001:db8:7::5 port 55499 ssh2\n"+
			"no stamp from 10.8.0.30\n", string(pass0))

	moved := strings.Split(strings.TrimSuffix(string(pass1), "\n"), "\n")
	require.Len(t, moved, 3)
	want := []netip.Addr{
		shiftAddr(netip.MustParseAddr("100.138.230.81"), 1),
		shiftAddr(netip.MustParseAddr("2001:db8:7::5"), 1),
		shiftAddr(netip.MustParseAddr("10.8.0.30"), 1),
	}
	for i, l := range moved {
		got := addrsOf(parseLine([]byte(l)))
		require.Equal(t, []string{want[i].String()}, got, l)
		require.NotEqual(t, addrsOf(c.lines[i]), got)
	}

	// tocsin's own parser reads the rewritten lines with the new time and
	// address.
	p := parse.New(parse.Options{})
	var ev schemas.Event
	require.NoError(t, p.Parse(moved[0], now, &ev))
	require.Equal(t, now, ev.Timestamp)
	require.Equal(t, want[0].String(), ev.Source.IP)
	require.Equal(t, schemas.OutcomeFailure, ev.Event.Outcome)
	ev = schemas.Event{}
	require.NoError(t, p.Parse(moved[1], now, &ev))
	require.Equal(t, now.Truncate(time.Second), ev.Timestamp)
	require.Equal(t, want[1].String(), ev.Source.IP)
}

func TestShiftAddr(t *testing.T) {
	a := netip.MustParseAddr("10.8.0.30")
	require.Equal(t, a, shiftAddr(a, 0))
	seen := map[netip.Addr]bool{}
	for k := range uint64(1000) {
		b := shiftAddr(a, k)
		require.True(t, b.Is4())
		require.Equal(t, byte(10), b.As4()[0], "a private address stays in 10/8")
		require.False(t, seen[b], "pass %d repeats an address", k)
		seen[b] = true
	}
	// Nothing lands in the burst range, whatever the pass.
	for k := range uint64(5000) {
		for _, s := range []string{"198.18.0.1", "198.19.255.254", "198.17.255.255", "198.20.0.0"} {
			require.False(t, burstNet.Contains(shiftAddr(netip.MustParseAddr(s), k)), "%s pass %d", s, k)
		}
	}
	// Not even on pass 0.
	require.Equal(t, "198.22.3.4", shiftAddr(netip.MustParseAddr("198.18.3.4"), 0).String())
	c, err := parseCorpus([]byte("from 198.19.0.1 and 192.0.2.1"))
	require.NoError(t, err)
	st := makeStamps(time.Now())
	require.Equal(t, "from 198.23.0.1 and 192.0.2.1\n", string(c.appendLine(nil, 0, &st)))
	v6 := netip.MustParseAddr("2001:db8::42")
	m := shiftAddr(v6, 7)
	require.True(t, netip.MustParsePrefix("2001:db8::/32").Contains(m))
	require.NotEqual(t, v6, m)
	a16, m16 := v6.As16(), m.As16()
	require.Equal(t, a16[8:], m16[8:])
}

func FuzzParseCorpus(f *testing.F) {
	f.Add([]byte("<38>1 2026-03-02T03:58:21.448445Z web01 sshd 6848 - - from 100.138.230.81 port 1\nMar  2 18:01:52 h x: 2001:db8::1:\n"))
	f.Add([]byte("<1>Mar  2 18:01:52 ::ffff:1.2.3.4 1.2.3.4.5 fe80::1%eth0 ::\r\nx"))
	f.Add([]byte("2026-03-02T03:58:21Z 1.1.1.1:22"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseCorpus(data)
		if err != nil {
			return
		}
		st := makeStamps(time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC))
		n := uint64(len(c.lines))
		for _, pass := range []uint64{0, 1, 1000} {
			for _, l := range c.lines {
				for _, a := range l.addrs {
					if burstNet.Contains(shiftAddr(a.addr, pass)) {
						t.Fatalf("pass %d moves %s into the burst range", pass, a.addr)
					}
				}
			}
			var out []byte
			for i := range n {
				out = c.appendLine(out, pass*n+i, &st)
			}
			if got := uint64(bytes.Count(out, []byte{'\n'})); got < n {
				t.Fatalf("pass %d: %d newlines for %d lines", pass, got, n)
			}
			if pass > 0 {
				continue
			}
			// Pass 0 changes nothing but the timestamps and addresses
			// in the burst range.
			for i, l := range c.lines {
				if l.kind != tsNone || l.burst {
					continue
				}
				want := append(append([]byte(nil), l.text...), '\n')
				got := c.appendLine(nil, uint64(i), &st)
				if !bytes.Equal(want, got) {
					t.Fatalf("line %d changed: %q -> %q", i, want, got)
				}
			}
		}
	})
}

// BenchmarkAppendLine is the load generator's own cost per line on the
// second pass (timestamp and addresses rewritten), which it takes from
// the cores it shares with what it measures.
func BenchmarkAppendLine(b *testing.B) {
	c, _, err := loadCorpus(options{lines: 100_000, seed: 1})
	require.NoError(b, err)
	st := makeStamps(time.Now())
	buf := make([]byte, 0, 1<<16)
	n := uint64(len(c.lines))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range uint64(b.N) {
		if len(buf) > 1<<15 {
			buf = buf[:0]
		}
		buf = c.appendLine(buf, n+i%n, &st)
	}
}
