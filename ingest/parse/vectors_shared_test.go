package parse

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the syslog-ng vectors need CET wherever the tests run

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// The rsyslog testbench and syslog-ng vectors are GPL-licensed data; they
// are read from the shared data set at test time and never copied here.

var facilityNames = [...]string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

var severityNames = [...]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// rsyslogTemplate is a template body split into properties and the
// literal text between them.
type rsyslogTemplate struct {
	props []string
	lits  []string // lits[i] precedes props[i]; lits[len(props)] ends the line
}

func parseTemplate(tpl string) (rsyslogTemplate, bool) {
	start := strings.Index(tpl, `string="`)
	if start < 0 {
		return rsyslogTemplate{}, false
	}
	body := tpl[start+len(`string="`):]
	end := strings.Index(body, `\n"`)
	if end < 0 {
		return rsyslogTemplate{}, false
	}
	body = body[:end]
	var t rsyslogTemplate
	for {
		i := strings.IndexByte(body, '%')
		if i < 0 {
			t.lits = append(t.lits, body)
			return t, true
		}
		j := strings.IndexByte(body[i+1:], '%')
		if j < 0 {
			return rsyslogTemplate{}, false
		}
		t.lits = append(t.lits, body[:i])
		t.props = append(t.props, body[i+1:i+1+j])
		body = body[i+2+j:]
	}
}

// split reads the property values out of a line rendered with t. A value
// runs to the first occurrence of the literal that follows it, the last
// one to the end; values holding that literal are misread, which the
// choices table records.
func (t rsyslogTemplate) split(line string) (map[string]string, bool) {
	out := map[string]string{}
	rest, ok := strings.CutPrefix(line, t.lits[0])
	if !ok {
		return nil, false
	}
	for i, p := range t.props {
		next := t.lits[i+1]
		if i == len(t.props)-1 {
			v, ok := strings.CutSuffix(rest, next)
			if !ok {
				return nil, false
			}
			out[p] = v
			break
		}
		k := strings.Index(rest, next)
		if k < 0 {
			return nil, false
		}
		out[p], rest = rest[:k], rest[k+len(next):]
	}
	return out, true
}

// rsyslogValue renders one property of ev in rsyslog's spelling.
func rsyslogValue(ev schemas.Event, prop string) (string, bool) {
	sl := ev.Log.Syslog
	switch prop {
	case "PRI":
		return strconv.Itoa(sl.Priority), true
	case "syslogfacility-text":
		return facilityNames[sl.Facility], true
	case "syslogseverity-text":
		return severityNames[sl.Severity], true
	case "timestamp":
		return ev.Timestamp.Format("Jan _2 15:04:05"), true
	case "hostname":
		return sl.Hostname, true
	case "programname":
		return sl.AppName, true
	case "msg":
		return ev.Message, true
	case "timestamp:::date-rfc3339":
		return ev.Timestamp.Format(time.RFC3339Nano), true
	case "timestamp:::date-subseconds":
		return strconv.Itoa(ev.Timestamp.Nanosecond() / 1000), true
	}
	return "", false // %syslogtag%, %app-name%, ...: tocsin keeps no such property
}

// normaliseRsyslog turns rsyslog's rendering of prop into tocsin's terms.
func normaliseRsyslog(prop, v, format string) string {
	switch prop {
	case "hostname":
		if v == "$RS_HOSTNAME" { // rsyslog's own name, used for lines without one
			return ""
		}
	case "msg":
		if format == FormatRFC3164 {
			return strings.TrimPrefix(v, " ") // rsyslog keeps the space after the tag
		}
	case "timestamp:::date-rfc3339":
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
	case "timestamp:::date-subseconds":
		micro, _ := strconv.Atoi((v + "000000")[:6]) // fraction digits as written
		return strconv.Itoa(micro)
	}
	return v
}

// rsyslogChoice records, for one input line ("script#index"), the
// properties where tocsin reads something else than rsyslog, with
// tocsin's value (a value ending in "..." is a prefix); parseErr is
// tocsin's error reason when tocsin rejects the line.
type rsyslogChoice struct {
	ours     map[string]string
	parseErr string
	note     string
}

// Notes shared by several lines.
const (
	noteNoColon  = "a word after the hostname without ':' or '[pid]' is not taken as a tag: tocsin follows go-syslog and keeps it in the message, rsyslog takes it as the tag"
	noteNoHeader = "no <PRI> and no timestamp: tocsin reports no_header instead of guessing hostname and tag from the first words"
	noteUTC      = "tocsin keeps timestamps in UTC; rsyslog prints the sender's wall time"
)

var rsyslogChoices = map[string]rsyslogChoice{
	"tests/parsertest-parse-nodate.sh#1": {parseErr: ReasonNoHeader, note: noteNoHeader},
	"tests/parsertest-parse1.sh#4":       {ours: map[string]string{"programname": "", "msg": "tag This msg contains 8-bit European chars: äöü"}, note: noteNoColon},
	"tests/parsertest-parse1.sh#10": {ours: map[string]string{"programname": "", "msg": "05\",result_code=200,b"},
		note: noteNoColon + "; the rsyslog output also cannot be split, its tag holding commas"},
	"tests/parsertest-parse1.sh#11": {ours: map[string]string{"programname": "", "msg": "-- MARK --"}, note: noteNoColon},
	"tests/parsertest-parse1.sh#12": {ours: map[string]string{"programname": "", "msg": "-- MARK --"}, note: noteNoColon},
	"tests/parsertest-parse1.sh#17": {ours: map[string]string{"timestamp": "Aug 24 12:14:15"}, note: noteUTC},
	"tests/parsertest-parse1.sh#18": {parseErr: ReasonBadStructuredData, note: "a space after '=' in a PARAM breaks the RFC 5424 grammar; rsyslog accepts it"},
	"tests/parsertest-parse1.sh#19": {parseErr: ReasonBadStructuredData, note: "a space after '=' in a PARAM breaks the RFC 5424 grammar; rsyslog accepts it"},
	"tests/parsertest-parse1.sh#20": {ours: map[string]string{"hostname": "netips-warden2-p", "msg": "[audit] user=[*SMS] src=192.168.11.11 iface=5 access=9 Update State Reset"},
		note: "four digits after the time are a year (syslog-ng reads \"Mmm dd hh:mm:ss yyyy\" the same way); rsyslog takes them as the hostname"},
	"tests/parsertest-parse1.sh#21":           {ours: map[string]string{"programname": "", "msg": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, note: noteNoColon},
	"tests/parsertest-parse1.sh#26":           {ours: map[string]string{"programname": "", "msg": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, note: noteNoColon},
	"tests/parsertest-parse2.sh#0":            {ours: map[string]string{"programname": "", "msg": "MSWinEventLog 0#011Security..."}, note: noteNoColon},
	"tests/parsertest-parse_8bit_escape.sh#0": {ours: map[string]string{"programname": "", "msg": "tag This msg contains 8-bit European chars: äöü"}, note: noteNoColon + "; tocsin also keeps 8-bit bytes as they are"},
	"tests/parsertest-snare_ccoff_udp.sh#0":   {parseErr: ReasonNoHeader, note: noteNoHeader},
	"tests/pmrfc3164-json.sh#0":               {ours: map[string]string{"msg": ""}, note: "a JSON record: tocsin reads it with its JSON format rather than as a line without syslog header"},
	"tests/pmrfc3164-json.sh#1":               {parseErr: ReasonNoHeader, note: noteNoHeader},
	"tests/pmrfc3164-json.sh#2":               {parseErr: ReasonNoHeader, note: noteNoHeader},
	"tests/pmsnare-ccbackslash.sh#3":          {ours: map[string]string{"programname": "", "msg": "MSWinEventLog\t1\tSecurity..."}, note: noteNoColon + " (a tab does not end a tag either)"},
	"tests/pmsnare-cccstyle.sh#5":             {ours: map[string]string{"programname": "", "msg": "MSWinEventLog\t1\tSecurity..."}, note: noteNoColon + " (a tab does not end a tag either)"},
	"tests/pmsnare-cccstyle.sh#6":             {ours: map[string]string{"programname": "", "msg": "MSWinEventLog\t1\tSecurity..."}, note: noteNoColon + " (a tab does not end a tag either)"},
	"tests/pmsnare-ccoff.sh#1":                {ours: map[string]string{"programname": "", "msg": "MSWinEventLog\t1\tSecurity..."}, note: noteNoColon + " (a tab does not end a tag either)"},
	"tests/pmsnare-ccoff.sh#2":                {parseErr: ReasonNoHeader, note: noteNoHeader},
	"tests/pmsnare-modoverride.sh#3":          {ours: map[string]string{"programname": "", "msg": "MSWinEventLog\\0111\\011Security..."}, note: noteNoColon},
	"tests/prop-programname.sh#0":             {ours: map[string]string{"programname": "", "msg": "tag/with/slashes msgh ...x"}, note: noteNoColon},
}

func TestRsyslogTestbenchVectors(t *testing.T) {
	b, err := os.ReadFile(sharedData(t, "syslog_vectors/rsyslog_testbench_vectors.json"))
	require.NoError(t, err)
	var f struct {
		Vectors []struct {
			Path      string   `json:"source_path"`
			Templates []string `json:"output_templates"`
			Pairs     []struct {
				Input    string `json:"input"`
				Expected string `json:"expected_line"`
			} `json:"pairs"`
		} `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	p := New(Options{})
	var problems []string
	checked := 0
	used := map[string]bool{}
	for _, v := range f.Vectors {
		if len(v.Pairs) == 0 || len(v.Templates) == 0 {
			continue
		}
		tpl, ok := parseTemplate(v.Templates[len(v.Templates)-1])
		if !ok {
			continue
		}
		for i, pair := range v.Pairs {
			key := v.Path + "#" + strconv.Itoa(i)
			var ev schemas.Event
			err := p.Parse(pair.Input, testReceived, &ev)
			choice, recordedLine := rsyslogChoices[key]
			used[key] = recordedLine
			if got := reasonOf(t, err); got != choice.parseErr {
				problems = append(problems, key+" error "+strconv.Quote(got))
				continue
			}
			if err != nil {
				continue
			}
			theirs, ok := tpl.split(pair.Expected)
			for _, prop := range tpl.props {
				ours, known := rsyslogValue(ev, prop)
				if !known {
					continue
				}
				want, recorded := choice.ours[prop]
				if !recorded {
					if !ok {
						problems = append(problems, key+" cannot split "+strconv.Quote(pair.Expected))
						continue
					}
					want = normaliseRsyslog(prop, theirs[prop], ev.Log.Syslog.Format)
					if prop == "timestamp:::date-rfc3339" {
						ours = ev.Timestamp.Truncate(time.Microsecond).Format(time.RFC3339Nano)
					}
				}
				checked++
				if prefix, ok := strings.CutSuffix(want, "..."); ok && recorded {
					if strings.HasPrefix(ours, prefix) && strings.HasSuffix(pair.Input, ours) {
						continue
					}
				}
				if ours != want {
					problems = append(problems, key+" "+prop+": want "+strconv.Quote(want)+" got "+strconv.Quote(ours))
				}
			}
		}
	}
	require.Empty(t, problems, strings.Join(problems, "\n"))
	require.Greater(t, checked, 100)
	for key := range rsyslogChoices {
		require.True(t, used[key], "choice recorded for %s, which the vector file does not hold", key)
	}
}

// syslogNGChoice records, for one syslog-ng vector, the fields where
// tocsin reads something else, with tocsin's value; parseErr is tocsin's
// error reason when tocsin rejects the line.
type syslogNGChoice struct {
	ours     map[string]string
	parseErr string
	note     string
}

// noteHostCheck explains the vectors where syslog-ng was told not to
// expect a hostname, or to reject hostnames by pattern.
const noteHostCheck = "syslog-ng ran with hostname parsing off or a hostname filter; tocsin always reads a word followed by a tag as the hostname"

var syslogNGChoices = map[string]syslogNGChoice{
	"syslogng-msgparse-000": {parseErr: ReasonBadStructuredData, note: "an SD-ID longer than RFC 5424's 32 characters is rejected; syslog-ng accepts it"},
	"syslogng-msgparse-005": {ours: map[string]string{"host": "alma", "program": "korte", "message": "message"}, note: noteHostCheck},
	"syslogng-msgparse-020": {ours: map[string]string{"host": "%bzorp", "program": "openvpn", "message": "PTHREAD support initialized"}, note: noteHostCheck},
	"syslogng-msgparse-022": {ours: map[string]string{"host": "bzorp", "program": "openvpn", "message": "PTHREAD support initialized"}, note: noteHostCheck},
	"syslogng-msgparse-026": {ours: map[string]string{"host": "ctld", "program": "snmpd", "message": "PTHREAD support initialized"}, note: noteHostCheck},
	"syslogng-msgparse-027": {ours: map[string]string{"host": "ctld", "program": "snmpd", "message": "PTHREAD support initialized"}, note: noteHostCheck},
	"syslogng-msgparse-028": {ours: map[string]string{"host": "ctld", "program": "snmpd", "message": "PTHREAD support initialized"}, note: noteHostCheck},
	"syslogng-msgparse-029": {ours: map[string]string{"host": "ctld", "program": "snmpd", "message": "PTHREAD support initialized"}, note: noteHostCheck},
	"syslogng-msgparse-030": {ours: map[string]string{"host": "ctld", "program": "snmpd", "message": "PTHREAD support initialized"}, note: noteHostCheck},
	"syslogng-msgparse-033": {ours: map[string]string{"time": "2018-11-21T23:00:33Z"},
		note: "year inference: tocsin takes the latest year that is not after the receive time plus a day (Nov 22 seen on Feb 8 is last November); syslog-ng picks the coming November"},
	"syslogng-msgparse-034": {ours: map[string]string{"program": "", "time": "2019-02-08T08:37:49.123Z", "sdpairs": "none",
		"message": ".Apr 15 2007 21:28:13: %PIX-6-302014: Teardown TCP connection 1688438 for bloomberg-net:1.2.3.4/8294 to inside:5.6.7.8/3639 duration 0:07:01 bytes 16975 TCP FINs"},
		note: "a '.' before the timestamp (Cisco's mark for an unsynchronised clock) is not recognised: the line keeps its receive time and all text as the message"},
	"syslogng-msgparse-037": {ours: map[string]string{"host": "Message", "program": "", "message": "forwarded from cdaix66: sshd[679960]: Accepted publickey for nagios from 1.9.1.1 port 42096 ssh2"},
		note: "syslog-ng special-cases AIX's \"Message forwarded from HOST:\" prefix; tocsin does not"},
	"syslogng-msgparse-062": {parseErr: ReasonNoHeader, note: noteNoHeader},
}

func TestSyslogNGVectors(t *testing.T) {
	b, err := os.ReadFile(sharedData(t, "syslog_vectors/syslogng_msgparse_vectors.json"))
	require.NoError(t, err)
	var f struct {
		Vectors []struct {
			ID       string `json:"id"`
			Input    string `json:"input"`
			Flags    any    `json:"parse_flags"`
			Expected struct {
				Pri     any        `json:"pri"`
				Sec     any        `json:"stamp_sec"`
				Usec    any        `json:"stamp_usec"`
				Host    *string    `json:"host"`
				Program *string    `json:"program"`
				Message *string    `json:"message"`
				SD      *string    `json:"sd_string"`
				PID     *string    `json:"pid"`
				MsgID   *string    `json:"msgid"`
				SDPairs [][]string `json:"sd_pairs"`
			} `json:"expected"`
		} `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	// The vectors were made with TZ=CET and a fixed "now".
	cet, err := time.LoadLocation("CET")
	require.NoError(t, err)
	now := time.Unix(1549615069, 123000000)
	p := New(Options{Location: cet})
	var problems []string
	used := map[string]bool{}
	checked := 0
	for _, v := range f.Vectors {
		pri, ok := v.Expected.Pri.(float64)
		if !ok {
			continue // an initialiser the extraction could not read
		}
		choice, recorded := syslogNGChoices[v.ID]
		used[v.ID] = recorded
		var ev schemas.Event
		err := p.Parse(v.Input, now, &ev)
		if strings.Contains(fmt.Sprint(v.Flags), "LP_PIGGYBACK_ERRORS") && pri == 43 {
			// syslog-ng rejected the line and logged its own error instead.
			checked++
			if err == nil {
				problems = append(problems, v.ID+": syslog-ng rejects the line, tocsin accepts it")
			}
			continue
		}
		if got := reasonOf(t, err); got != choice.parseErr {
			problems = append(problems, v.ID+" error "+strconv.Quote(got))
			continue
		}
		if err != nil {
			continue
		}
		sd := ev.Log.Syslog.StructuredData
		if sd == "-" {
			sd = ""
		}
		pid := ev.Log.Syslog.ProcID
		ours := map[string]string{
			"pri":     strconv.Itoa(ev.Log.Syslog.Priority),
			"host":    ev.Log.Syslog.Hostname,
			"program": ev.Log.Syslog.AppName,
			"message": ev.Message,
			"sd":      sd,
			"pid":     pid,
			"msgid":   ev.Log.Syslog.MsgID,
			"time":    ev.Timestamp.UTC().Format(time.RFC3339Nano),
		}
		theirs := map[string]*string{
			"host": v.Expected.Host, "program": v.Expected.Program, "message": v.Expected.Message,
			"sd": v.Expected.SD, "pid": v.Expected.PID, "msgid": v.Expected.MsgID,
		}
		priStr := strconv.Itoa(int(pri))
		theirs["pri"] = &priStr
		switch sec, _ := v.Expected.Sec.(float64); sec {
		case 0: // the receive time
			ts := now.UTC().Format(time.RFC3339Nano)
			theirs["time"] = &ts
		case 1: // not checked
		default:
			usec, _ := v.Expected.Usec.(float64)
			ts := time.Unix(int64(sec), int64(usec)*1000).UTC().Format(time.RFC3339Nano)
			theirs["time"] = &ts
		}
		for field, want := range theirs {
			if want == nil {
				continue
			}
			w := *want
			if o, ok := choice.ours[field]; ok {
				w = o
			}
			checked++
			if ours[field] != w {
				problems = append(problems, v.ID+" "+field+": want "+strconv.Quote(w)+" got "+strconv.Quote(ours[field]))
			}
		}
		// The vectors list the pairs the test checks, not always all of them.
		got := map[string]string{}
		require.NoError(t, WalkStructuredData(ev.Log.Syslog.StructuredData, func(id, name, value string) bool {
			if name != "" {
				got[".SDATA."+id+"."+name] = value
			}
			return true
		}))
		if choice.ours["sdpairs"] == "none" {
			if len(got) != 0 {
				problems = append(problems, v.ID+" sd pairs: want none, got "+fmt.Sprint(got))
			}
		} else {
			for _, pair := range v.Expected.SDPairs {
				checked++
				if got[pair[0]] != pair[1] {
					problems = append(problems, v.ID+" sd pair "+pair[0]+": want "+strconv.Quote(pair[1])+" got "+strconv.Quote(got[pair[0]]))
				}
			}
		}
	}
	require.Empty(t, problems, strings.Join(problems, "\n"))
	require.Greater(t, checked, 150)
	for id := range syslogNGChoices {
		require.True(t, used[id], "choice recorded for %s, which the vector file does not hold", id)
	}
}
