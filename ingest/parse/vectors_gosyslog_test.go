package parse

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// goSyslogVector is one entry of the go-syslog vector files in testdata.
type goSyslogVector struct {
	ID          string           `json:"id"`
	Input       string           `json:"input"`
	InputBase64 string           `json:"input_base64"`
	Valid       bool             `json:"valid"`
	Error       string           `json:"error"`
	Option      string           `json:"parser_option"`
	Expected    *goSyslogMessage `json:"expected"`
}

type goSyslogMessage struct {
	Priority       *int                         `json:"Priority"`
	Facility       *int                         `json:"Facility"`
	Severity       *int                         `json:"Severity"`
	Timestamp      *string                      `json:"Timestamp"`
	Hostname       *string                      `json:"Hostname"`
	Appname        *string                      `json:"Appname"`
	ProcID         *string                      `json:"ProcID"`
	MsgID          *string                      `json:"MsgID"`
	Message        *string                      `json:"Message"`
	StructuredData map[string]map[string]string `json:"StructuredData"`
}

func (v goSyslogVector) line(t *testing.T) string {
	if v.InputBase64 == "" {
		return v.Input
	}
	b, err := base64.StdEncoding.DecodeString(v.InputBase64)
	require.NoError(t, err)
	return string(b)
}

// lossy renders s the way the vector files render invalid input: each byte
// that is not part of valid UTF-8 becomes U+FFFD.
func lossy(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n <= 1 {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		s = s[n:]
	}
	return b.String()
}

func loadGoSyslog(t *testing.T, name string) []goSyslogVector {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	var f struct {
		Vectors []goSyslogVector `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	require.NotEmpty(t, f.Vectors)
	return f.Vectors
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// sdMap collects structured data as WalkStructuredData reports it.
func sdMap(t *testing.T, sd string) map[string]map[string]string {
	t.Helper()
	if sd == "" || sd == "-" {
		return nil
	}
	m := map[string]map[string]string{}
	require.NoError(t, WalkStructuredData(sd, func(id, name, value string) bool {
		if m[id] == nil {
			m[id] = map[string]string{}
		}
		if name != "" {
			m[id][name] = value
		}
		return true
	}))
	return m
}

// checkGoSyslogFields compares ev with go-syslog's expected message. Where
// tocsin differs by design the comparison follows tocsin: a NILVALUE
// timestamp becomes the receive time, a BOM that starts MSG is dropped,
// and a year-less RFC 3164 timestamp gets the inferred year.
func checkGoSyslogFields(t *testing.T, v goSyslogVector, line string, ev schemas.Event) {
	t.Helper()
	exp := v.Expected
	require.Equal(t, *exp.Priority, ev.Log.Syslog.Priority, "priority")
	require.Equal(t, *exp.Facility, ev.Log.Syslog.Facility, "facility")
	require.Equal(t, *exp.Severity, ev.Log.Syslog.Severity, "severity")
	require.Equal(t, str(exp.Hostname), ev.Log.Syslog.Hostname, "hostname")
	require.Equal(t, str(exp.Hostname), ev.Host.Name, "host.name")
	require.Equal(t, str(exp.Appname), ev.Log.Syslog.AppName, "appname")
	require.Equal(t, str(exp.ProcID), ev.Log.Syslog.ProcID, "procid")
	require.Equal(t, str(exp.MsgID), ev.Log.Syslog.MsgID, "msgid")
	msg := str(exp.Message)
	if v.InputBase64 != "" {
		// The JSON holds a lossy rendering; the message is the raw tail
		// of the input, bytes kept as they were.
		require.True(t, strings.HasSuffix(line, ev.Message), "message is the raw tail of the line")
		require.Equal(t, msg, lossy(ev.Message))
	} else {
		require.Equal(t, strings.TrimPrefix(msg, bom), ev.Message, "message")
	}
	if exp.Timestamp == nil {
		require.True(t, ev.Timestamp.Equal(testReceived), "NILVALUE timestamp becomes the receive time")
	} else {
		want, err := time.Parse(time.RFC3339Nano, *exp.Timestamp)
		require.NoError(t, err)
		if want.Year() == 0 { // RFC 3164: no year in the line
			year := 2026
			if want.Month() == 12 && want.Day() > 5 {
				year = 2025
			}
			want = time.Date(year, want.Month(), want.Day(), want.Hour(), want.Minute(), want.Second(), want.Nanosecond(), time.UTC)
		}
		require.True(t, want.Equal(ev.Timestamp), "timestamp: want %s, got %s", want, ev.Timestamp)
	}
	if ev.Log.Syslog.Format == FormatRFC5424 {
		require.Equal(t, exp.StructuredData, sdMap(t, ev.Log.Syslog.StructuredData), "structured data")
	}
}

func TestGoSyslogRFC3164Vectors(t *testing.T) {
	p := New(Options{})
	for _, v := range loadGoSyslog(t, "gosyslog_rfc3164_vectors.json") {
		t.Run(v.ID, func(t *testing.T) {
			require.True(t, v.Valid)
			line := v.line(t)
			var ev schemas.Event
			require.NoError(t, p.Parse(line, testReceived, &ev))
			require.Equal(t, FormatRFC3164, ev.Log.Syslog.Format)
			checkGoSyslogFields(t, v, line, ev)
		})
	}
}

// vectorChoice records a vector on which tocsin's reading differs from
// the source project's, and what tocsin does instead: accept the line
// (with the given message) or reject it with the given reason.
type vectorChoice struct {
	accept  bool
	message string // the message tocsin reads, when it accepts
	reason  string // tocsin's error reason, when it rejects
	note    string // why
}

// goSyslog5424Choices lists every RFC 5424 vector where tocsin parts from
// go-syslog. go-syslog is strict; tocsin is strict on the header grammar
// and lenient where strictness would drop real lines.
var goSyslog5424Choices = func() map[string]vectorChoice {
	m := map[string]vectorChoice{
		"gosyslog-rfc5424-001": {reason: ReasonBadStructuredData, note: "a newline after the STRUCTURED-DATA NILVALUE; go-syslog says only \"parsing error\""},
		"gosyslog-rfc5424-018": {reason: ReasonBadTimestamp, note: "\"<100> 2018-11-22\": a space after <PRI> is RFC 3164 from network gear, whose timestamp is then invalid; go-syslog expects a version"},
		"gosyslog-rfc5424-022": {accept: true, message: "1", note: "\"<1>1\" has no space after the version, so it is not RFC 5424; read as RFC 3164 without timestamp"},
		"gosyslog-rfc5424-023": {accept: true, message: "3a", note: "not VERSION SP: RFC 3164 without timestamp"},
		"gosyslog-rfc5424-024": {accept: true, message: "4a ", note: "not VERSION SP: RFC 3164 without timestamp"},
		"gosyslog-rfc5424-025": {accept: true, message: "abc 2018-11-22", note: "not VERSION SP: RFC 3164 without timestamp"},
		"gosyslog-rfc5424-048": {reason: ReasonBadTimestamp, note: "junk right after the timestamp belongs to the timestamp; go-syslog says only \"parsing error\""},
		"gosyslog-rfc5424-098": {accept: true, note: "duplicate SD-IDs are accepted: the structured data is kept as written and nothing is lost"},
		"gosyslog-rfc5424-099": {accept: true, note: "duplicate SD-IDs are accepted, as for 098"},
		"gosyslog-rfc5424-115": {accept: true, note: "RFC 5424 section 6.3.3 keeps a backslash before any character other than '\"', '\\\\' and ']' as a plain backslash; go-syslog rejects it"},
		"gosyslog-rfc5424-147": {reason: ReasonBadTimestamp, note: "\"--\" is neither a timestamp nor NILVALUE; go-syslog says only \"parsing error\""},
	}
	// go-syslog's WithCompliantMsg() mode rejects a BOM followed by bytes
	// that are not UTF-8. tocsin keeps the bytes as they are.
	for id := 174; id <= 203; id++ {
		m["gosyslog-rfc5424-"+strconv.Itoa(id)] = vectorChoice{accept: true, note: "invalid UTF-8 after a BOM is kept as raw bytes (go-syslog's strict message option rejects it)"}
	}
	return m
}()

// goSyslogReasons maps go-syslog's error texts to the reasons tocsin may
// give for the same line.
func goSyslogReasons(errText string) []string {
	switch {
	case strings.HasPrefix(errText, "expecting a priority value within angle brackets"):
		return []string{ReasonEmpty, ReasonNoHeader}
	case strings.HasPrefix(errText, "expecting a priority value in the range"):
		return []string{ReasonBadPriority}
	case strings.HasPrefix(errText, "expecting a version value"):
		return []string{ReasonBadVersion}
	case strings.HasPrefix(errText, "expecting a RFC3339MICRO timestamp"), strings.HasPrefix(errText, "parsing time"):
		return []string{ReasonBadTimestamp}
	case strings.HasPrefix(errText, "expecting an hostname"), strings.HasPrefix(errText, "expecting an app-name"),
		strings.HasPrefix(errText, "expecting a procid"), strings.HasPrefix(errText, "expecting a msgid"):
		return []string{ReasonBadHeader}
	case strings.HasPrefix(errText, "expecting a structured data"), strings.HasPrefix(errText, "expecting chars"):
		return []string{ReasonBadStructuredData}
	}
	return nil
}

func TestGoSyslogRFC5424Vectors(t *testing.T) {
	p := New(Options{})
	vectors := loadGoSyslog(t, "gosyslog_rfc5424_vectors.json")
	require.Len(t, vectors, 178)
	seen := map[string]bool{}
	for _, v := range vectors {
		t.Run(v.ID, func(t *testing.T) {
			line := v.line(t)
			var ev schemas.Event
			err := p.Parse(line, testReceived, &ev)
			require.Equal(t, line, ev.Event.Original)
			choice, differs := goSyslog5424Choices[v.ID]
			seen[v.ID] = differs
			switch {
			case differs && choice.accept:
				require.False(t, v.Valid, "a choice is recorded only where go-syslog rejects")
				require.NoError(t, err, choice.note)
				if ev.Log.Syslog.Format == FormatRFC3164 {
					require.Equal(t, choice.message, ev.Message)
					require.True(t, ev.Timestamp.Equal(testReceived))
				} else {
					require.Equal(t, FormatRFC5424, ev.Log.Syslog.Format)
					require.True(t, strings.HasSuffix(line, ev.Message))
				}
			case differs:
				require.Equal(t, choice.reason, reasonOf(t, err), choice.note)
				require.False(t, v.Valid)
			case v.Valid:
				require.NoError(t, err)
				require.Equal(t, FormatRFC5424, ev.Log.Syslog.Format)
				checkGoSyslogFields(t, v, line, ev)
			default:
				require.Error(t, err, "go-syslog: %s", v.Error)
				require.Contains(t, goSyslogReasons(v.Error), reasonOf(t, err), "go-syslog: %s", v.Error)
			}
		})
	}
	for id := range goSyslog5424Choices {
		require.Contains(t, seen, id, "choice recorded for a vector that is not in the file")
	}
}
