package parse

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// The hot path must not allocate: every string field is a substring of
// the line and every timestamp is computed without time.Location lookups
// that allocate.
func TestParseDoesNotAllocate(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	cases := []struct {
		name string
		loc  *time.Location
		line string
	}{
		{"rfc3164 sshd", time.UTC, "Dec 10 07:07:38 LabSZ sshd[24206]: Failed password for invalid user test9 from 52.80.34.196 port 36060 ssh2"},
		{"rfc3164 sshd in a Location", ny, "<38>Dec 10 07:07:38 LabSZ sshd[24206]: Accepted publickey for alice from 2001:db8::7 port 50122 ssh2: ED25519 SHA256:x"},
		{"rfc5424", time.UTC, `<165>1 2026-10-11T22:14:15.003Z mymachine.example.com sshd 8710 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] Accepted publickey for alice from 192.0.2.7 port 50122 ssh2`},
		{"sudo", time.UTC, "<86>Jun 25 15:48:21 precise32 sudo:     mike : TTY=pts/0 ; PWD=/home/vagrant ; USER=root ; COMMAND=/bin/su -"},
		{"sudo failure", time.UTC, "Jun 25 16:15:45 precise32 sudo:     mike : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/bin/ls"},
		{"su", time.UTC, "Jan  1 00:00:00 h su[4242]: FAILED SU (to root) alice on pts/0"},
		{"pam with a host name", time.UTC, "Dec 10 07:07:38 LabSZ sshd[24206]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=ec2-52-80-34-196.cn-north-1.compute.amazonaws.com.cn "},
		{"repeated", time.UTC, "Dec 10 07:27:55 LabSZ sshd[24392]: message repeated 5 times: [ Failed password for root from 112.95.230.3 port 53290 ssh2]"},
		{"disconnect", time.UTC, "Dec 10 07:27:55 LabSZ sshd[24392]: Received disconnect from 1.2.3.4 port 4444:11: Bye Bye [preauth]"},
		{"rfc3164 after a BOM", time.UTC, "\xef\xbb\xbfDec 10 07:07:38 LabSZ sshd[24206]: Failed password for root from 52.80.34.196 port 36060 ssh2"},
		{"rsyslog precision stamp", time.UTC, "2024-01-02T03:04:05.123456+01:00 host sshd[1]: Connection closed by 1.2.3.4 port 22 [preauth]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := New(Options{Location: c.loc})
			var ev schemas.Event
			allocs := testing.AllocsPerRun(200, func() {
				ev.Reset()
				if err := p.Parse(c.line, testReceived, &ev); err != nil {
					t.Fatal(err)
				}
			})
			require.Zero(t, allocs)
			require.NotEmpty(t, ev.Event.Action)
		})
	}
}

func TestTrackerApplyDoesNotAllocateOnceWarm(t *testing.T) {
	tr := NewSSHDTracker(16)
	invalid := mustParse(t, sshdAt("h", 9, invalidX))
	failed := mustParse(t, sshdAt("h", 9, failedX))
	tr.Apply(&invalid)
	tr.Apply(&failed)
	allocs := testing.AllocsPerRun(200, func() {
		a, b := invalid, failed
		tr.Apply(&a)
		tr.Apply(&b)
		if b.Event.Count != 0 {
			t.Fatal("credit not used")
		}
	})
	require.Zero(t, allocs)
}

func BenchmarkHeader3164(b *testing.B) {
	benchLine(b, "Dec 10 07:07:38 LabSZ CRON[24206]: (root) CMD (cd / && run-parts --report /etc/cron.hourly)")
}

func BenchmarkHeader5424(b *testing.B) {
	benchLine(b, `<165>1 2026-10-11T22:14:15.003Z mymachine.example.com evntslog 8710 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event log entry`)
}

func benchLine(b *testing.B, line string) {
	p := New(Options{})
	var ev schemas.Event
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		ev.Reset()
		if err := p.Parse(line, testReceived, &ev); err != nil {
			b.Fatal(err)
		}
	}
}
