package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syslogLine returns a valid RFC 3164 line of exactly n bytes.
func syslogLine(n int) string {
	head := "<13>Dec  4 10:00:00 web1 app: "
	return head + strings.Repeat("a", n-len(head))
}

// TestHostileInputKeepsServing sends garbage, binary, truncated and
// oversized messages to both listeners: each bad one is counted with its
// reason and listed by the API, every good one is kept, and tocsin keeps
// serving and correlating.
func TestHostileInputKeepsServing(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), "--syslog-udp-max-message-size", "1024")
	addr := fmt.Sprintf("127.0.0.1:%d", s.port)

	udp, err := net.Dial("udp", addr)
	require.NoError(t, err)
	defer udp.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	binary := make([]byte, 300)
	for i := range binary {
		binary[i] = byte(rng.UintN(256))
	}
	binary[0] = 0x01 // not '<' nor a digit: it can only be a failure
	udpGood := []string{syslogLine(200), syslogLine(1024)}
	for _, m := range [][]byte{
		[]byte(udpGood[0]),
		[]byte("hello, this is not syslog"),
		binary,
		[]byte("<999>Dec  4 10:00:00 host x: bad priority"),
		[]byte(udpGood[1]),       // exactly at the limit: kept whole
		[]byte(syslogLine(1025)), // one past: cut and kept as a failure
	} {
		_, err := udp.Write(m)
		require.NoError(t, err)
	}

	tcp, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	big := syslogLine(1 << 20)
	tooBig := syslogLine(1<<20 + 1)
	var stream strings.Builder
	stream.WriteString(big + "\n")                                 // at the 1 MiB limit
	stream.WriteString(tooBig + "\n")                              // one byte past
	stream.WriteString(syslogLine(100) + "\n")                     // must survive the cut
	stream.WriteString("\x00\x00garbage \xff\xfe\n")               // binary junk
	stream.WriteString(fmt.Sprintf("%d %s", 120, syslogLine(120))) // octet-counted
	stream.WriteString("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n")
	stream.WriteString("200 <13>Dec  4 10:00:00 web1 app: truncated") // declares more than it sends
	_, err = tcp.Write([]byte(stream.String()))
	require.NoError(t, err)
	require.NoError(t, tcp.Close())

	// 2 good UDP lines + 4 good TCP lines; 4 UDP failures; 3 TCP failures.
	waitFor(t, 20*time.Second, "every message to be counted", func() bool {
		return s.metric("tocsin_ingest_events_total") >= 6 && s.metric("tocsin_ingest_parse_failures_total") >= 7
	})
	require.Equal(t, 6.0, s.metric("tocsin_ingest_events_total"))
	require.Equal(t, 7.0, s.metric("tocsin_ingest_parse_failures_total"))
	require.Equal(t, 2.0, s.metric("tocsin_ingest_parse_failures_total", `reason="too_long"`))
	require.Equal(t, 1.0, s.metric("tocsin_ingest_parse_failures_total", `reason="truncated"`))
	require.Equal(t, 1.0, s.metric("tocsin_ingest_parse_failures_total", `reason="bad_priority"`))

	var page struct {
		Failures []struct {
			Source string `json:"source"`
			Reason string `json:"reason"`
			Raw    string `json:"raw"`
		} `json:"failures"`
		Total int `json:"total"`
	}
	waitFor(t, 10*time.Second, "failures to be stored", func() bool {
		s.get("/api/v1/parse-failures?limit=100", &page)
		return page.Total >= 7
	})
	require.Equal(t, 7, page.Total)
	reasons := map[string]int{}
	for _, f := range page.Failures {
		reasons[f.Reason]++
		require.NotEmpty(t, f.Raw, "the raw bytes are kept")
		if f.Reason == "too_long" {
			require.LessOrEqual(t, len(f.Raw), 8<<10, "a failure keeps at most the first 8 KiB")
		}
	}
	require.Equal(t, 2, reasons["too_long"])

	// Still serving: a brute force sent now opens an incident.
	tcp2, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	for i := range 12 {
		fmt.Fprintf(tcp2, "<38>Dec  4 10:01:%02d bastion sshd[%d]: Failed password for root from 203.0.113.9 port %d ssh2\n", i, 4000+i, 40000+i)
	}
	require.NoError(t, tcp2.Close())
	waitFor(t, 20*time.Second, "a brute-force incident after the hostile input", func() bool {
		for _, in := range s.incidents() {
			for _, e := range in.Entities {
				if e.Value == "203.0.113.9" {
					return true
				}
			}
		}
		return false
	})
	s.stop()
}
