package parse

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// header is the part of an event the syslog header fills.
type header struct {
	format, host, app, procid, msgid, sd, msg string
	pri, pid                                  int
	ts                                        time.Time
}

func headerOf(ev schemas.Event) header {
	sl := ev.Log.Syslog
	return header{
		format: sl.Format, host: sl.Hostname, app: sl.AppName, procid: sl.ProcID, msgid: sl.MsgID,
		sd: sl.StructuredData, msg: ev.Message, pri: sl.Priority, pid: ev.Process.PID, ts: ev.Timestamp,
	}
}

func utc(y int, m time.Month, d, hh, mm, ss, ns int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, ns, time.UTC)
}

func TestParseHeaders(t *testing.T) {
	cases := []struct {
		name string
		line string
		want header
	}{
		{"auth.log line without PRI", "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
			header{format: FormatRFC3164, pri: 13, host: "LabSZ", app: "sshd", procid: "24200", pid: 24200,
				msg: "Invalid user webmaster from 173.234.31.186", ts: utc(2025, 12, 10, 6, 55, 46, 0)}},
		{"day padded with a space", "<38>Jun  9 10:44:36 server sshd[3204729]: x",
			header{format: FormatRFC3164, pri: 38, host: "server", app: "sshd", procid: "3204729", pid: 3204729, msg: "x", ts: utc(2026, 6, 9, 10, 44, 36, 0)}},
		{"single-digit day without padding", "Nov 2 15:40:14 workshop sshd[28179]: x",
			header{format: FormatRFC3164, pri: 13, host: "workshop", app: "sshd", procid: "28179", pid: 28179, msg: "x", ts: utc(2026, 11, 2, 15, 40, 14, 0)}},
		{"zero-padded day", "Aug 03 21:39:20 hostname sshd[69420]: x",
			header{format: FormatRFC3164, pri: 13, host: "hostname", app: "sshd", procid: "69420", pid: 69420, msg: "x", ts: utc(2026, 8, 3, 21, 39, 20, 0)}},
		{"upper-case month", "<190>NOV 22 00:00:33 192.168.33.8-1 CMDLOGGER[165319912]: cmd",
			header{format: FormatRFC3164, pri: 190, host: "192.168.33.8-1", app: "CMDLOGGER", procid: "165319912", pid: 165319912, msg: "cmd", ts: utc(2026, 11, 22, 0, 0, 33, 0)}},
		{"rsyslog high-precision timestamp", "2024-01-02T03:04:05.123456+01:00 host tag: msg",
			header{format: FormatRFC3164, pri: 13, host: "host", app: "tag", msg: "msg", ts: utc(2024, 1, 2, 2, 4, 5, 123456000)}},
		{"RFC 3339 timestamp with a space and +hhmm", "2020-03-23 06:47:42.801612-0700  localhost sshd[3186]: x",
			header{format: FormatRFC3164, pri: 13, host: "localhost", app: "sshd", procid: "3186", pid: 3186, msg: "x", ts: utc(2020, 3, 23, 13, 47, 42, 801612000)}},
		{"no hostname, tag with pid", "<13>Jan  1 00:00:00 sshd[12]: hello there",
			header{format: FormatRFC3164, pri: 13, app: "sshd", procid: "12", pid: 12, msg: "hello there", ts: utc(2026, 1, 1, 0, 0, 0, 0)}},
		{"no hostname, tag with colon", "<86>Jan  1 00:00:00 su: hello",
			header{format: FormatRFC3164, pri: 86, app: "su", msg: "hello", ts: utc(2026, 1, 1, 0, 0, 0, 0)}},
		{"no timestamp", "<15> openvpn[2499]: PTHREAD support initialized",
			header{format: FormatRFC3164, pri: 15, app: "openvpn", procid: "2499", pid: 2499, msg: "PTHREAD support initialized", ts: testReceived}},
		{"no timestamp, hostname and tag", "<15>gw openvpn[2499]: up",
			header{format: FormatRFC3164, pri: 15, host: "gw", app: "openvpn", procid: "2499", pid: 2499, msg: "up", ts: testReceived}},
		{"no timestamp, no tag", "<15>just some words",
			header{format: FormatRFC3164, pri: 15, msg: "just some words", ts: testReceived}},
		{"no tag after the hostname", "<166>Jul  6 20:33:28 ABC-1-234567 Some message here",
			header{format: FormatRFC3164, pri: 166, host: "ABC-1-234567", msg: "Some message here", ts: utc(2026, 7, 6, 20, 33, 28, 0)}},
		{"sshd-session program", "Feb 12 14:10:24 sd-126005 sshd-session[16379]: Invalid user pascal5 from 192.168.1.3 port 53502",
			header{format: FormatRFC3164, pri: 13, host: "sd-126005", app: "sshd-session", procid: "16379", pid: 16379,
				msg: "Invalid user pascal5 from 192.168.1.3 port 53502", ts: utc(2026, 2, 12, 14, 10, 24, 0)}},
		{"Cisco year and trailing colon", "<190>Apr 15 2007 21:28:13: %PIX-6-302014: Teardown TCP connection",
			header{format: FormatRFC3164, pri: 190, app: "%PIX-6-302014", msg: "Teardown TCP connection", ts: utc(2007, 4, 15, 21, 28, 13, 0)}},
		{"year after the time", "<190>Apr 15 21:28:13 2007 linksys app: msg",
			header{format: FormatRFC3164, pri: 190, host: "linksys", app: "app", msg: "msg", ts: utc(2007, 4, 15, 21, 28, 13, 0)}},
		{"fractional seconds", "<7> Aug 29 02:00:00.156789 ctld snmpd[2499]: up",
			header{format: FormatRFC3164, pri: 7, host: "ctld", app: "snmpd", procid: "2499", pid: 2499, msg: "up", ts: utc(2026, 8, 29, 2, 0, 0, 156789000)}},
		{"procid that is not a number", "<14>2017-05-21T00:00:01.123Z host Hostd[81480B70]: verbose",
			header{format: FormatRFC3164, pri: 14, host: "host", app: "Hostd", procid: "81480B70", msg: "verbose", ts: utc(2017, 5, 21, 0, 0, 1, 123000000)}},
		{"CRLF framing", "<13>Jan  1 00:00:00 host app: payload\r",
			header{format: FormatRFC3164, pri: 13, host: "host", app: "app", msg: "payload", ts: utc(2026, 1, 1, 0, 0, 0, 0)}},
		{"bytes that are not UTF-8 are kept", "<13>Jan  1 00:00:00 host app: caf\xe9 \xff",
			header{format: FormatRFC3164, pri: 13, host: "host", app: "app", msg: "caf\xe9 \xff", ts: utc(2026, 1, 1, 0, 0, 0, 0)}},
		{"timestamp and hostname only", "<14>Aug 30 23:00:05 X4711",
			header{format: FormatRFC3164, pri: 14, host: "X4711", ts: utc(2026, 8, 30, 23, 0, 5, 0)}},
		{"RFC 5424 with everything", "<165>1 2003-10-11T22:14:15.003-07:00 mymachine.example.com evntslog 8710 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\"][x y=\"a\\]b\"] \xef\xbb\xbfAn application event",
			header{format: FormatRFC5424, pri: 165, host: "mymachine.example.com", app: "evntslog", procid: "8710", pid: 8710, msgid: "ID47",
				sd: "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"][x y=\"a\\]b\"]", msg: "An application event", ts: utc(2003, 10, 12, 5, 14, 15, 3000000)}},
		{"RFC 5424 all NILVALUE", "<13>1 - - - - - -",
			header{format: FormatRFC5424, pri: 13, sd: "-", ts: testReceived}},
		{"RFC 5424 empty MSG after SP", "<13>1 - - - - - - ",
			header{format: FormatRFC5424, pri: 13, sd: "-", ts: testReceived}},
		{"RFC 5424 MSG keeps leading spaces", "<13>1 2019-05-15T11:21:57+03:00 domain.tld tag - - -  nosd-sp",
			header{format: FormatRFC5424, pri: 13, host: "domain.tld", app: "tag", sd: "-", msg: " nosd-sp", ts: utc(2019, 5, 15, 8, 21, 57, 0)}},
		{"RFC 5424 nanoseconds", "<34>1 2026-04-27T15:46:41.000006930Z h su - - - MSG",
			header{format: FormatRFC5424, pri: 34, host: "h", app: "su", sd: "-", msg: "MSG", ts: utc(2026, 4, 27, 15, 46, 41, 6930)}},
		{"RFC 5424 timestamp without zone", "<134>1 2009-10-16T11:51:56 ex app 20208 - - entry",
			header{format: FormatRFC5424, pri: 134, host: "ex", app: "app", procid: "20208", pid: 20208, sd: "-", msg: "entry", ts: utc(2009, 10, 16, 11, 51, 56, 0)}},
		{"RFC 5424 version 2", "<78>2 2016-01-15T00:04:01+00:00 host1 CROND 10391 - [sdid] some_message",
			header{format: FormatRFC5424, pri: 78, host: "host1", app: "CROND", procid: "10391", pid: 10391, sd: "[sdid]", msg: "some_message", ts: utc(2016, 1, 15, 0, 4, 1, 0)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := mustParse(t, c.line)
			got := headerOf(ev)
			require.True(t, c.want.ts.Equal(got.ts), "timestamp: want %s, got %s", c.want.ts, got.ts)
			require.Equal(t, time.UTC, got.ts.Location())
			got.ts = c.want.ts
			require.Equal(t, c.want, got)
			require.Equal(t, c.want.host, ev.Host.Name)
			require.Equal(t, c.want.app, ev.Process.Name)
			require.Equal(t, c.line, ev.Event.Original)
			require.Equal(t, testReceived, ev.Event.Created)
			require.Equal(t, 1, ev.Event.Count)
			require.Equal(t, "event", ev.Event.Kind)
			require.Equal(t, c.want.pri>>3, ev.Log.Syslog.Facility)
			require.Equal(t, c.want.pri&7, ev.Log.Syslog.Severity)
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		line, reason string
	}{
		{"", ReasonEmpty},
		{"hello world", ReasonNoHeader},
		{"Feb 30 10:00:00 host app: msg", ReasonNoHeader},
		{"{\"json\": true", ReasonBadJSON},
		{"<>1 - - -", ReasonBadPriority},
		{"<13", ReasonBadPriority},
		{"<abc>x", ReasonBadPriority},
		{"<192>Jan  1 00:00:00 host app: x", ReasonBadPriority},
		{"<013>Jan  1 00:00:00 host app: x", ReasonBadPriority},
		{"<1000>x", ReasonBadPriority},
		{"<13>", ReasonNoMessage},
		{"<13>Feb 30 10:00:00 host app: x", ReasonBadTimestamp},
		{"<13>Jan 12 25:00:00 host app: x", ReasonBadTimestamp},
		{"<13>Jan 12 06:30:00x host app: x", ReasonBadTimestamp},
		{"<13>2026-02-29T00:00:00Z host app: x", ReasonBadTimestamp},
		{"<13>0 - - - - - -", ReasonBadVersion},
		{"<13>1000 - - - - - -", ReasonBadVersion},
		{"<13>1 2026-13-01T00:00:00Z h a p m -", ReasonBadTimestamp},
		{"<13>1 2026-01-01t00:00:00Z h a p m -", ReasonBadTimestamp},
		{"<13>1 2026-01-01T00:00:00+24:00 h a p m -", ReasonBadTimestamp},
		{"<13>1 2026-01-01T00:00:00Z", ReasonBadHeader},
		{"<13>1 2026-01-01T00:00:00Z host", ReasonBadHeader},
		{"<13>1 - h\x01st a p m -", ReasonBadHeader},
		{"<13>1 - h a p m", ReasonBadStructuredData},
		{"<13>1 - h a p m X", ReasonBadStructuredData},
		{"<13>1 - h a p m [x", ReasonBadStructuredData},
		{"<13>1 - h a p m [x a=\"b]\"]", ReasonBadStructuredData},
		{"<13>1 - h a p m [x a=b]", ReasonBadStructuredData},
		{"<13>1 - h a p m [x]y", ReasonBadStructuredData},
	}
	p := New(Options{})
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			var ev schemas.Event
			err := p.Parse(c.line, testReceived, &ev)
			require.Error(t, err)
			var pe *Error
			require.True(t, errors.As(err, &pe))
			require.Equal(t, c.reason, pe.Reason)
			require.Contains(t, Reasons(), pe.Reason)
			require.Equal(t, pe.Reason+": "+pe.Detail, err.Error())
			require.NotEmpty(t, pe.Detail)
			require.Equal(t, c.line, ev.Event.Original)
			require.Equal(t, testReceived, ev.Event.Created)
			require.Equal(t, 1, ev.Event.Count)
			// The header's timestamp when it was read before the failure,
			// else the receive time.
			require.False(t, ev.Timestamp.IsZero())
			require.Empty(t, ev.Event.Action)
		})
	}
}

func TestParseErrorKeepsWhatWasRead(t *testing.T) {
	var ev schemas.Event
	err := New(Options{}).Parse("<13>1 2026-01-01T00:00:00Z host", testReceived, &ev)
	require.Equal(t, ReasonBadHeader, reasonOf(t, err))
	require.Equal(t, utc(2026, 1, 1, 0, 0, 0, 0), ev.Timestamp)
	require.Equal(t, FormatRFC5424, ev.Log.Syslog.Format)
	require.Equal(t, 13, ev.Log.Syslog.Priority)

	ev = schemas.Event{}
	err = New(Options{}).Parse("<13>Feb 30 10:00:00 host app: x", testReceived, &ev)
	require.Equal(t, ReasonBadTimestamp, reasonOf(t, err))
	require.Equal(t, testReceived, ev.Timestamp)
}

func TestParseNoHeaderKeepsTheLine(t *testing.T) {
	var ev schemas.Event
	err := New(Options{}).Parse("plain text line", testReceived, &ev)
	require.Equal(t, ReasonNoHeader, reasonOf(t, err))
	require.Equal(t, FormatNone, ev.Log.Syslog.Format)
	require.Equal(t, "plain text line", ev.Message)
	require.Zero(t, ev.Log.Syslog.Priority)
}

func TestYearInference(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	cases := []struct {
		name     string
		loc      *time.Location
		line     string
		received time.Time
		want     time.Time
	}{
		{"Dec 31 line received on Jan 1", time.UTC, "Dec 31 23:59:00 h a: x", utc(2027, 1, 1, 0, 30, 0, 0), utc(2026, 12, 31, 23, 59, 0, 0)},
		{"replayed Dec 10 line, reference Dec 4", time.UTC, "Dec 10 06:55:46 h a: x", utc(2026, 12, 4, 0, 0, 0, 0), utc(2025, 12, 10, 6, 55, 46, 0)},
		{"Jan 5 line after it", time.UTC, "Jan  5 06:55:46 h a: x", utc(2026, 12, 4, 0, 0, 0, 0), utc(2026, 1, 5, 6, 55, 46, 0)},
		{"sender clock up to a day ahead", time.UTC, "Dec  5 10:00:00 h a: x", utc(2026, 12, 4, 23, 0, 0, 0), utc(2026, 12, 5, 10, 0, 0, 0)},
		{"more than a day ahead is last year", time.UTC, "Dec  6 10:00:00 h a: x", utc(2026, 12, 4, 23, 0, 0, 0), utc(2025, 12, 6, 10, 0, 0, 0)},
		{"exactly a day ahead", time.UTC, "Dec  5 23:00:00 h a: x", utc(2026, 12, 4, 23, 0, 0, 0), utc(2026, 12, 5, 23, 0, 0, 0)},
		{"Feb 29 in a common year goes to the last leap year", time.UTC, "Feb 29 12:00:00 h a: x", utc(2026, 3, 10, 0, 0, 0, 0), utc(2024, 2, 29, 12, 0, 0, 0)},
		{"Feb 29 in a leap year", time.UTC, "Feb 29 12:00:00 h a: x", utc(2028, 3, 1, 0, 0, 0, 0), utc(2028, 2, 29, 12, 0, 0, 0)},
		{"Feb 29 seen before it comes", time.UTC, "Feb 29 12:00:00 h a: x", utc(2028, 2, 1, 0, 0, 0, 0), utc(2024, 2, 29, 12, 0, 0, 0)},
		{"Feb 29 across 2100, not a leap year", time.UTC, "Feb 29 12:00:00 h a: x", utc(2100, 3, 5, 0, 0, 0, 0), utc(2096, 2, 29, 12, 0, 0, 0)},
		{"Mar 1 before a leap day", time.UTC, "Mar  1 00:00:00 h a: x", utc(2028, 2, 28, 0, 0, 0, 0), utc(2027, 3, 1, 0, 0, 0, 0)},
		{"Jan 1 after a leap year", time.UTC, "Dec 31 00:00:00 h a: x", utc(2025, 1, 2, 0, 0, 0, 0), utc(2024, 12, 31, 0, 0, 0, 0)},
		{"zone-less stamp in the configured Location", ny, "Jul  1 12:00:00 h a: x", utc(2026, 12, 4, 0, 0, 0, 0), utc(2026, 7, 1, 16, 0, 0, 0)},
		{"year of the reference in the Location", ny, "Jan  1 00:30:00 h a: x", utc(2027, 1, 1, 4, 0, 0, 0), utc(2027, 1, 1, 5, 30, 0, 0)},
		{"previous year in the Location", ny, "Dec 31 23:30:00 h a: x", utc(2027, 1, 1, 3, 0, 0, 0), utc(2027, 1, 1, 4, 30, 0, 0)},
		{"Feb 29 in the Location", ny, "Feb 29 12:00:00 h a: x", utc(2026, 3, 10, 0, 0, 0, 0), utc(2024, 2, 29, 17, 0, 0, 0)},
		{"explicit offset ignores the Location", ny, "2026-07-01T12:00:00Z h a: x", utc(2026, 12, 4, 0, 0, 0, 0), utc(2026, 7, 1, 12, 0, 0, 0)},
		{"explicit year in the Location", ny, "Apr 15 2007 21:28:13: %ASA: x", utc(2026, 12, 4, 0, 0, 0, 0), utc(2007, 4, 16, 1, 28, 13, 0)},
		{"RFC 5424 without zone in the Location", ny, "<13>1 2009-10-16T11:51:56 h a - - - x", utc(2026, 12, 4, 0, 0, 0, 0), utc(2009, 10, 16, 15, 51, 56, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ev schemas.Event
			require.NoError(t, New(Options{Location: c.loc}).Parse(c.line, c.received, &ev))
			require.True(t, c.want.Equal(ev.Timestamp), "want %s, got %s", c.want, ev.Timestamp)
		})
	}
}

// The one-entry year cache must not leak a reference year into a line
// received on another day.
func TestYearCacheFollowsTheReference(t *testing.T) {
	p := New(Options{})
	for _, c := range []struct {
		received time.Time
		want     int
	}{
		{utc(2026, 12, 4, 0, 0, 0, 0), 2026},
		{utc(2031, 6, 1, 0, 0, 0, 0), 2031},
		{utc(2026, 12, 4, 0, 0, 0, 0), 2026},
		{utc(1999, 12, 31, 0, 0, 0, 0), 1999},
	} {
		var ev schemas.Event
		require.NoError(t, p.Parse("Mar  1 00:00:00 h a: x", c.received, &ev))
		require.Equal(t, c.want, ev.Timestamp.Year())
	}
}

func TestCivilDates(t *testing.T) {
	for y := 1600; y <= 2400; y++ {
		for _, md := range [][2]int{{1, 1}, {2, 28}, {3, 1}, {12, 31}} {
			want := time.Date(y, time.Month(md[0]), md[1], 0, 0, 0, 0, time.UTC)
			days := daysFromCivil(y, md[0], md[1])
			require.Equal(t, want.Unix(), days*86400, "%d-%d-%d", y, md[0], md[1])
			require.Equal(t, y, yearOfDays(days))
		}
	}
	require.Equal(t, int64(-1), floorDiv(-1, 86400))
	require.Equal(t, int64(0), floorDiv(0, 86400))
}

func TestWalkStructuredData(t *testing.T) {
	type param struct{ id, name, value string }
	var got []param
	sd := `[a x="1" y="q\"u\\o\]te"][b][c z="back\slash"]`
	require.NoError(t, WalkStructuredData(sd, func(id, name, value string) bool {
		got = append(got, param{id, name, value})
		return true
	}))
	require.Equal(t, []param{
		{"a", "x", "1"}, {"a", "y", `q"u\o]te`}, {"b", "", ""}, {"c", "z", `back\slash`},
	}, got)

	n := 0
	require.NoError(t, WalkStructuredData(sd, func(string, string, string) bool { n++; return false }))
	require.Equal(t, 1, n, "returning false stops the walk")

	require.NoError(t, WalkStructuredData("-", func(string, string, string) bool { t.Fatal("no params"); return false }))
	require.Error(t, WalkStructuredData(`[a x="1"`, func(string, string, string) bool { return true }))
	require.Error(t, WalkStructuredData(`[a x="1"] trailing`, func(string, string, string) bool { return true }))
}

// Parse holds no per-line state, so one Parser serves many goroutines.
func TestParseConcurrent(t *testing.T) {
	p := New(Options{})
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func(g int) {
			defer func() { done <- struct{}{} }()
			received := utc(2020+g, 6, 1, 0, 0, 0, 0)
			for i := 0; i < 2000; i++ {
				var ev schemas.Event
				if err := p.Parse("Mar  1 00:00:00 h sshd[1]: Failed password for root from 10.0.0.1 port 22 ssh2", received, &ev); err != nil {
					t.Error(err)
					return
				}
				if ev.Timestamp.Year() != 2020+g || ev.Event.Action != schemas.ActionSSHLogin {
					t.Errorf("goroutine %d got year %d action %q", g, ev.Timestamp.Year(), ev.Event.Action)
					return
				}
			}
		}(g)
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}

func TestParseSkipsLeadingBOM(t *testing.T) {
	const bom = "\xef\xbb\xbf"
	for _, line := range []string{
		"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
		"<38>Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
		"<38>1 2025-12-10T06:55:46Z LabSZ sshd 24200 - - Invalid user webmaster from 173.234.31.186",
	} {
		want := mustParse(t, line)
		got := mustParse(t, bom+line)
		require.Equal(t, bom+line, got.Event.Original, "Original keeps the BOM")
		got.Event.Original = want.Event.Original
		require.Equal(t, want, got, "line %q", line)
	}

	// Only one BOM, and only at the start.
	var ev schemas.Event
	err := New(Options{}).Parse(bom+bom+"<13>Jan  1 00:00:00 h a: x", testReceived, &ev)
	require.Equal(t, ReasonNoHeader, reasonOf(t, err))
	require.Contains(t, err.Error(), "after a leading byte order mark")
	require.Equal(t, bom+"<13>Jan  1 00:00:00 h a: x", ev.Message)
	ev.Reset()
	err = New(Options{}).Parse("x"+bom+"<13>Jan  1 00:00:00 h a: x", testReceived, &ev)
	require.Equal(t, ReasonNoHeader, reasonOf(t, err))
	require.NotContains(t, err.Error(), "byte order mark")
	ev.Reset()
	err = New(Options{}).Parse(bom, testReceived, &ev)
	require.Equal(t, ReasonEmpty, reasonOf(t, err))
}

func TestOneSourceHowEverTheLogSpellsIt(t *testing.T) {
	p := New(Options{})
	src := func(from string) (string, string) {
		var ev schemas.Event
		line := "<38>Dec  4 10:00:00 h sshd[1]: Failed password for root from " + from + " port 22 ssh2"
		require.NoError(t, p.Parse(line, testReceived, &ev))
		return ev.Source.IP, ev.Source.Domain
	}
	for _, spelling := range []string{"2001:db8::1", "2001:DB8::1", "2001:0db8::0001", "2001:db8:0:0:0:0:0:1"} {
		ip, _ := src(spelling)
		require.Equal(t, "2001:db8::1", ip, spelling)
	}
	for _, spelling := range []string{"::ffff:192.0.2.7", "::FFFF:192.0.2.7", "0:0:0:0:0:ffff:192.0.2.7"} {
		ip, _ := src(spelling)
		require.Equal(t, "192.0.2.7", ip, spelling)
	}
	for _, spelling := range []string{"evil.example.org", "Evil.Example.ORG", "evil.example.org.", "EVIL.EXAMPLE.ORG"} {
		_, domain := src(spelling)
		require.Equal(t, "evil.example.org", domain, spelling)
	}
	line := "<38>Dec  4 10:00:00 h sshd[1]: Failed password for root from 2001:db8::1 port 22 ssh2"
	var ev schemas.Event
	require.Zero(t, testing.AllocsPerRun(100, func() {
		ev = schemas.Event{}
		_ = p.Parse(line, testReceived, &ev)
	}), "an address already in its canonical form costs nothing")
}
