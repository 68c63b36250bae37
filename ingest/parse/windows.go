package parse

import (
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Dataset values the windows source sets.
const (
	// DatasetWindows is an event of a provider the source has no mapping
	// for (System, Application, other channels): the winlog fields, host,
	// code and labels are set, no action.
	DatasetWindows = "windows"
	// DatasetWindowsSecurity is an event of Microsoft-Windows-Security-
	// Auditing (the Security channel) or of the event log service itself.
	DatasetWindowsSecurity = "windows_security"
	// DatasetWindowsSysmon is an event of Microsoft-Windows-Sysmon.
	DatasetWindowsSysmon = "windows_sysmon"
	// DatasetWindowsDefender is an event of Microsoft-Windows-Windows
	// Defender (Microsoft Defender Antivirus).
	DatasetWindowsDefender = "windows_defender"
)

// Failure reasons of the windows source.
const (
	// ReasonBadWindowsJSON is a JSON record shaped like a Windows event
	// that is not valid JSON or carries no usable event ID.
	ReasonBadWindowsJSON = "bad_windows_json"
	// ReasonBadWindowsXML is an "<Event" record that is not well-formed
	// XML or carries no usable event ID.
	ReasonBadWindowsXML = "bad_windows_xml"
	// ReasonNotWindowsEvent is a message given to the windows format (a
	// listener told to expect it) that is neither a Windows event in JSON
	// nor one in XML.
	ReasonNotWindowsEvent = "not_windows_event"
)

func init() {
	register(Source{
		Name: "windows",
		Description: "Windows event log records: Winlogbeat/Elastic Agent JSON, NXLog JSON, Wazuh eventchannel JSON, " +
			"evtx_dump JSON, PowerShell Get-WinEvent JSON and rendered event XML (WEF, wevtutil)",
		Priority: 20,
		// "<Events>" is claimed too, so that wevtutil output without /f gets
		// a failure that says what to change.
		Prefixes: []string{"<Event ", "<Event>", "<Events>"},
		JSON:     func(rec string) bool { return winJSONShape(rec) != winShapeNone },
		Reasons:  []string{ReasonBadWindowsJSON, ReasonBadWindowsXML, ReasonNotWindowsEvent, ReasonBadTimestamp},
		Parse:    parseWindows,
	})
}

// winShape names the JSON layouts the windows source reads.
type winShape uint8

const (
	winShapeNone winShape = iota
	// winShapeBeat is a Winlogbeat or Elastic Agent document: ECS fields
	// and a "winlog" object (Winlogbeat 7 writes event_id as a number,
	// 8 as a string).
	winShapeBeat
	// winShapeNXLog is NXLog's im_msvistalog record written with
	// to_json(): flat keys, the EventData names among NXLog's own.
	winShapeNXLog
	// winShapeWazuh is the Wazuh agent's eventchannel record:
	// {"win":{"system":{...},"eventdata":{...}}}, keys in lower camel case,
	// at the top or under "data" (a Wazuh alert).
	winShapeWazuh
	// winShapeEvtx is the JSON that evtx_dump, Hayabusa and Sigma's
	// regression data write: {"Event":{"System":{...},"EventData":{...}}}
	// with XML attributes under "#attributes".
	winShapeEvtx
	// winShapePS is a record of PowerShell's Get-WinEvent piped to
	// ConvertTo-Json: Id, ProviderName, LogName, MachineName and the
	// event data as positional Properties.
	winShapePS
)

// winJSONShape tells which Windows layout a JSON record has, from its
// top-level keys, in one pass over them.
func winJSONShape(rec string) winShape {
	if len(rec) < 2 || rec[0] != '{' {
		return winShapeNone
	}
	shape := winShapeNone
	var id, src, psID, psProv, psLog bool
	gjson.Parse(rec).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "winlog":
			if v.IsObject() {
				shape = winShapeBeat
			}
		case "EventID":
			id = true
		case "SourceName", "Channel":
			src = true
		case "win":
			if v.IsObject() && v.Get("system").IsObject() {
				shape = winShapeWazuh
			}
		case "data":
			if v.IsObject() && v.Get("win.system").IsObject() {
				shape = winShapeWazuh
			}
		case "Event":
			if v.IsObject() && v.Get("System").IsObject() {
				shape = winShapeEvtx
			}
		case "Id":
			psID = true
		case "ProviderName":
			psProv = true
		case "LogName", "ContainerLog":
			psLog = true
		}
		return shape == winShapeNone && !(id && src)
	})
	switch {
	case shape != winShapeNone:
		return shape
	case id && src:
		return winShapeNXLog
	case psID && psProv && psLog:
		return winShapePS
	}
	return winShapeNone
}

// Audit bits of an event's keywords mask (winmeta.xml: keywords
// 0x0010000000000000 Audit Failure, 0x0020000000000000 Audit Success).
const (
	winAuditFailureBit = uint64(1) << 52
	winAuditSuccessBit = uint64(1) << 53
)

// winAudit is what an event's keywords say of its result.
type winAudit int8

const (
	winAuditUnknown winAudit = iota
	winAuditSuccess
	winAuditFailure
)

// winMaxLabels bounds the EventData pairs kept in Labels: a hostile
// record with a million keys keeps the first ones.
const winMaxLabels = 256

// winRec is one Windows event as any input layout carries it, before it
// is mapped to the schema. String fields are substrings of the input
// where the layout allows (JSON strings without escapes).
type winRec struct {
	code     string // the event ID as written
	id       int
	provider string
	channel  string
	computer string
	record   string
	level    string
	keywords string // keyword names, when the record gives names
	mask     uint64
	hasMask  bool
	audit    winAudit
	time     string
	message  string
	// data holds the EventData (or UserData) pairs; the mapping takes out
	// what it puts into schema fields and the rest becomes Labels.
	data map[string]string
	// shapeErr is a reader's complaint about the record.
	shapeErr string
}

// put adds an EventData pair, up to winMaxLabels of them.
func (r *winRec) put(k, v string) {
	if k == "" {
		return
	}
	if r.data == nil {
		r.data = make(map[string]string, 24)
	}
	if len(r.data) >= winMaxLabels {
		if _, ok := r.data[k]; !ok {
			return
		}
	}
	r.data[k] = v
}

// take returns an EventData value and removes it from what becomes
// Labels. "-", which Windows writes for "none", reads as empty.
func (r *winRec) take(k string) string {
	v, ok := r.data[k]
	if !ok {
		return ""
	}
	delete(r.data, k)
	if v == "-" {
		return ""
	}
	return v
}

// get returns an EventData value and leaves it in Labels.
func (r *winRec) get(k string) string {
	if v := r.data[k]; v != "-" {
		return v
	}
	return ""
}

// setID reads the event ID from its text (JSON number or string, XML).
func (r *winRec) setID(s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return // reported as a record without event ID
	}
	n, ok := winUint(s, 65535)
	if !ok {
		r.shapeErr = "the event ID " + winQuote(s) + " is not a number from 0 to 65535"
		return
	}
	r.code, r.id = s, n
}

// setKeywords reads a keywords mask written as "0x..." hex or as a
// signed or unsigned decimal (NXLog and PowerShell write the 64-bit mask
// as a signed number).
func (r *winRec) setKeywords(s string) {
	if m, ok := winMask(s); ok {
		r.mask, r.hasMask = m, true
		switch {
		case m&winAuditFailureBit != 0:
			r.audit = winAuditFailure
		case m&winAuditSuccessBit != 0:
			r.audit = winAuditSuccess
		}
	}
}

// auditWord reads the language-independent result words some shippers
// add: NXLog's and Wazuh's AUDIT_SUCCESS / AUDIT_FAILURE, and the English
// keyword names. A mask, when the record has one, wins.
func (r *winRec) auditWord(s string) {
	if r.hasMask {
		return
	}
	switch s {
	case "AUDIT_SUCCESS", "Audit Success":
		r.audit = winAuditSuccess
	case "AUDIT_FAILURE", "Audit Failure":
		r.audit = winAuditFailure
	}
}

// keywordNames is winlog.keywords: the names the record gave, or the
// audit name its mask carries.
func (r *winRec) keywordNames() string {
	if r.keywords != "" {
		return r.keywords
	}
	if r.hasMask {
		switch {
		case r.mask&winAuditFailureBit != 0:
			return "Audit Failure"
		case r.mask&winAuditSuccessBit != 0:
			return "Audit Success"
		}
	}
	return ""
}

// outcome is the result the keywords say, or def when they say nothing.
func (r *winRec) outcome(def string) string {
	switch r.audit {
	case winAuditSuccess:
		return schemas.OutcomeSuccess
	case winAuditFailure:
		return schemas.OutcomeFailure
	}
	return def
}

// parseWindows is the windows source's Parse: it reads the record's
// layout into a winRec and maps it.
func parseWindows(p *Parser, in Input, ev *schemas.Event) *Error {
	msg := strings.TrimRight(in.Msg, " \t\r\n")
	var r winRec
	switch {
	case strings.HasPrefix(msg, "<"):
		if err := winReadXML(msg, &r); err != nil {
			winBase(ev)
			return err
		}
	case strings.HasPrefix(msg, "{"):
		shape := winJSONShape(msg)
		if shape == winShapeNone {
			return &Error{Reason: ReasonNotWindowsEvent, Detail: "a JSON record without the keys of a Windows event (winlog, EventID with SourceName or Channel, win.system, Event.System, or Id with ProviderName and LogName)"}
		}
		winBase(ev)
		if !gjson.Valid(msg) {
			return &Error{Reason: ReasonBadWindowsJSON, Detail: "the record is not valid JSON"}
		}
		doc := gjson.Parse(msg)
		switch shape {
		case winShapeBeat:
			r.readBeat(doc)
		case winShapeNXLog:
			r.readNXLog(doc)
		case winShapeWazuh:
			r.readWazuh(doc)
		case winShapeEvtx:
			r.readEvtx(doc)
		case winShapePS:
			r.readPS(doc)
		}
		if r.shapeErr == "" && r.code == "" {
			r.shapeErr = "the record has no event ID"
		}
		if r.shapeErr != "" {
			return &Error{Reason: ReasonBadWindowsJSON, Detail: r.shapeErr}
		}
	default:
		return &Error{Reason: ReasonNotWindowsEvent, Detail: "the message is neither a JSON record nor an <Event> XML element"}
	}
	return p.winApply(&r, ev)
}

// winBase marks an event as the windows source's before it is read, so
// that a failing record still says which reader refused it.
func winBase(ev *schemas.Event) {
	ev.Event.Dataset = DatasetWindows
	ev.Observer.Vendor = "Microsoft"
}

// winApply maps a read record to the schema: the fields every event
// has, then the provider's own mapping; what is left of EventData
// becomes Labels.
func (p *Parser) winApply(r *winRec, ev *schemas.Event) *Error {
	var err *Error
	if r.time != "" && ev.Timestamp.IsZero() {
		if t, ok := p.winTime(r.time); ok {
			ev.Timestamp = t
		} else {
			err = &Error{Reason: ReasonBadTimestamp, Detail: "cannot read the event time " + winQuote(r.time) + " (want RFC 3339, \"YYYY-MM-DD hh:mm:ss\" or /Date(ms)/)"}
		}
	}
	w := &ev.Winlog
	w.EventID = r.id
	w.Provider = r.provider
	w.Channel = r.channel
	w.Computer = r.computer
	w.RecordID, _ = winUint(r.record, 1<<62)
	w.Keywords = r.keywordNames()
	ev.Event.Code = r.code
	ev.Event.Dataset = DatasetWindows
	ev.Observer.Vendor = "Microsoft"
	ev.Observer.Product = "Windows"
	if r.computer != "" {
		ev.Host.Name = r.computer
		ev.Observer.Hostname = r.computer
	}
	if lv, ok := winUint(r.level, 255); ok {
		ev.Event.Severity = lv
	}
	if r.message != "" {
		ev.Message = r.message
	}
	switch {
	case strings.EqualFold(r.provider, "Microsoft-Windows-Security-Auditing"),
		r.provider == "" && strings.EqualFold(r.channel, "Security"):
		winSecurity(ev, r)
	case strings.EqualFold(r.provider, "Microsoft-Windows-Windows Defender"),
		r.provider == "" && strings.EqualFold(r.channel, "Microsoft-Windows-Windows Defender/Operational"):
		winDefender(ev, r)
	case strings.EqualFold(r.provider, "Microsoft-Windows-Sysmon"):
		winSysmon(ev, r)
	case strings.EqualFold(r.provider, "Microsoft-Windows-Eventlog"):
		winEventlog(ev, r)
	}
	if len(r.data) > 0 {
		ev.Labels = r.data
	}
	return err
}

// winTime reads an event time: RFC 3339 with any fraction (Winlogbeat,
// XML SystemTime), "YYYY-MM-DD hh:mm:ss[.fff]" without zone (NXLog's
// EventTime, read in the parser's Location), a trailing " UTC", or
// PowerShell 5's "/Date(ms)/".
func (p *Parser) winTime(s string) (time.Time, bool) {
	if rest, ok := strings.CutPrefix(s, "/Date("); ok {
		neg := strings.HasPrefix(rest, "-")
		if neg {
			rest = rest[1:]
		}
		ms, i := int64(0), 0
		for ; i < len(rest) && i < 16 && isDigit(rest[i]); i++ {
			ms = ms*10 + int64(rest[i]-'0')
		}
		if i == 0 || i == len(rest) || (rest[i] != ')' && rest[i] != '+' && rest[i] != '-') {
			return time.Time{}, false
		}
		if neg {
			ms = -ms
		}
		return time.UnixMilli(ms).UTC(), true
	}
	var st stamp
	n, res := isoStamp(s, false, &st)
	if res != stampOK {
		return time.Time{}, false
	}
	switch rest := s[n:]; {
	case rest == "":
	case rest == " UTC" && !st.hasZone:
		st.hasZone, st.offset = true, 0
	default:
		return time.Time{}, false
	}
	return p.instant(&st, time.Time{})
}

// winUint reads a decimal or "0x" hexadecimal number up to max.
func winUint(s string, max int) (int, bool) {
	base := 10
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		base, s = 16, s[2:]
	}
	if s == "" || len(s) > 19 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		d := winHexDigit(s[i])
		if d < 0 || d >= base {
			return 0, false
		}
		n = n*base + d
		if n > max {
			return 0, false
		}
	}
	return n, true
}

func winHexDigit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// winMask reads a 64-bit keywords mask: "0x" and up to 16 hex digits, or
// a decimal that may be negative (the mask read as a signed integer).
func winMask(s string) (uint64, bool) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
		if s == "" || len(s) > 16 {
			return 0, false
		}
		var m uint64
		for i := 0; i < len(s); i++ {
			d := winHexDigit(s[i])
			if d < 0 {
				return 0, false
			}
			m = m<<4 | uint64(d)
		}
		return m, true
	}
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if s == "" || len(s) > 20 {
		return 0, false
	}
	var m uint64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		d := uint64(s[i] - '0')
		if m > (^uint64(0)-d)/10 {
			return 0, false
		}
		m = m*10 + d
	}
	if neg {
		m = -m
	}
	return m, true
}

// winQuote quotes a value for an error detail, cut to a readable length.
func winQuote(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return `"` + s + `"`
}
