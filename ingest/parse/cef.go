package parse

import (
	"strconv"
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// ArcSight Common Event Format:
//
//	CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
//
// In the header a backslash escapes '|' and '\'; in the extension it
// escapes '=', '\', and writes a newline as \n or \r. An extension is
// key=value pairs separated by spaces: a key ends at an unescaped '=', and
// a value runs to the space before the next key=.

// DatasetCEF is the event.dataset of CEF records.
const DatasetCEF = "cef"

// ReasonBadCEF is a CEF record whose header is incomplete or whose
// extension breaks the escaping rules (an unescaped '=' in a value, a
// backslash before a character other than '=', '\', 'n' or 'r').
const ReasonBadCEF = "bad_cef"

func init() {
	register(Source{
		Name:        "cef",
		Description: "ArcSight Common Event Format (CEF), after a syslog header or alone",
		Priority:    80,
		// "CEF: 0|..." after a syslog header reads as the tag "CEF".
		Apps:     []string{"CEF"},
		Prefixes: []string{"CEF:"},
		Sniff:    cefSniff,
		Reasons:  []string{ReasonBadCEF},
		Parse:    parseCEF,
	})
}

// cefSniff claims a CEF record written without its "CEF:" prefix
// ("0|Vendor|Product|..."), as some devices send it: a version of one to
// three digits, then the six other header fields, each ended by '|'.
func cefSniff(msg string) bool {
	i := 0
	for i < len(msg) && i < 3 && isDigit(msg[i]) {
		i++
	}
	if i == 0 || i >= len(msg) || msg[i] != '|' {
		return false
	}
	rest := msg[i+1:]
	for n := 0; n < 6; n++ {
		k := strings.IndexByte(rest, '|')
		if k < 0 {
			return false
		}
		rest = rest[k+1:]
	}
	return true
}

// cefState holds what the extension says that is applied once all of it
// is read.
type cefState struct {
	rt, end, start string
	act            string
	threat         string
	hasMsg         bool
	// custom has bit i set when cefCustom[i] or its label was seen.
	custom uint64
}

// parseCEF reads a CEF record into ev.
func parseCEF(p *Parser, in Input, ev *schemas.Event) *Error {
	msg := in.Msg
	i := 0
	if strings.HasPrefix(msg, "CEF:") {
		i = len("CEF:")
	} else if !(in.App == "CEF" || cefSniff(msg)) {
		return fail(ReasonBadCEF, `expected "CEF:" and the version`, 0)
	}
	for i < len(msg) && msg[i] == ' ' {
		i++
	}
	v := i
	for i < len(msg) && isDigit(msg[i]) {
		i++
	}
	if i == v || i-v > 3 {
		return fail(ReasonBadCEF, "expected a CEF version of 1-3 digits", v)
	}
	version := msg[v:i]
	if i == len(msg) || msg[i] != '|' {
		return fail(ReasonBadCEF, "expected '|' after the CEF version", i)
	}
	i++
	ev.Event.Dataset = DatasetCEF
	// The six other header fields, each ended by an unescaped '|'.
	var hdr [6]string
	n := 0
	for ; n < len(hdr); n++ {
		j := cefHeaderEnd(msg, i)
		if j < 0 {
			break
		}
		hdr[n] = cefUnescapeHeader(msg[i:j])
		i = j + 1
	}
	cefHeader(ev, version, hdr, n)
	var st cefState
	bad, at := cefExtensions(p, ev, &st, msg, i, n == len(hdr))
	cefFinish(p, in, ev, &st, hdr, n)
	if n < len(hdr) {
		return fail(ReasonBadCEF, "the header has "+strconv.Itoa(n+1)+" of its 7 fields", i)
	}
	if bad != "" {
		return fail(ReasonBadCEF, bad, at)
	}
	return nil
}

// cefHeaderEnd returns the index of the first unescaped '|' in s[i:], or
// -1.
func cefHeaderEnd(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case '|':
			return i
		case '\\':
			i += 2
		default:
			i++
		}
	}
	return -1
}

// cefUnescapeHeader turns "\|" into '|' and "\\" into '\'. A backslash
// before any other character stays as written. It allocates only when s
// holds an escape.
func cefUnescapeHeader(s string) string {
	k := strings.IndexByte(s, '\\')
	if k < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:k]...)
	for i := k; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '|' || s[i+1] == '\\') {
			i++
		}
		b = append(b, s[i])
	}
	return string(b)
}

// cefHeader sets what the first n header fields give.
func cefHeader(ev *schemas.Event, version string, hdr [6]string, n int) {
	genLabel(ev, "cef.version", version)
	if n > 0 {
		ev.Observer.Vendor = hdr[0]
	}
	if n > 1 {
		ev.Observer.Product = hdr[1]
	}
	if n > 2 {
		ev.Observer.Version = hdr[2]
	}
	if n > 3 {
		ev.Event.Code = hdr[3]
		ev.Rule.ID = hdr[3]
	}
	if n > 4 {
		ev.Rule.Name = hdr[4]
	}
	if n > 5 {
		sev := strings.TrimSpace(hdr[5])
		s, ok := cefSeverity(sev)
		if ok {
			ev.Event.Severity = s
		}
		if sev != "" && (!ok || !isDigit(sev[0])) {
			genLabel(ev, "cef.severity", sev)
		}
	}
}

// cefSeverity reads a severity 0-10 or its word. The words stand for the
// top of their bands in the CEF specification: Low 0-3, Medium 4-6, High
// 7-8, Very-High 9-10.
func cefSeverity(s string) (int, bool) {
	if n, ok := genUint(s); ok {
		return n, n <= 10
	}
	switch {
	case strings.EqualFold(s, "low"):
		return 3, true
	case strings.EqualFold(s, "medium"):
		return 6, true
	case strings.EqualFold(s, "high"):
		return 8, true
	case strings.EqualFold(s, "very-high"), strings.EqualFold(s, "very high"), strings.EqualFold(s, "veryhigh"):
		return 10, true
	}
	return 0, false
}

// cefKeyLen returns the length of the extension key at the start of s:
// a letter, digit or '_', then those and '.', ',', '[' and ']' (the
// specification allows letters and digits only; the others are in real
// keys such as "ad.field[0]"). It is 0 when s does not start with a key.
func cefKeyLen(s string) int {
	if s == "" || !cefKeyStart(s[0]) {
		return 0
	}
	i := 1
	for i < len(s) && (cefKeyStart(s[i]) || s[i] == '.' || s[i] == ',' || s[i] == '[' || s[i] == ']') {
		i++
	}
	return i
}

func cefKeyStart(c byte) bool {
	return c == '_' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// cefKeyAt reports whether a key followed by '=' starts at s[i].
func cefKeyAt(s string, i int) bool {
	k := cefKeyLen(s[i:])
	return k > 0 && i+k < len(s) && s[i+k] == '='
}

// cefNextKey returns the index of the next key=, after a space, at or
// after s[i], or len(s).
func cefNextKey(s string, i int) int {
	for {
		k := strings.IndexByte(s[i:], ' ')
		if k < 0 {
			return len(s)
		}
		i += k + 1
		if i < len(s) && cefKeyAt(s, i) {
			return i
		}
	}
}

// cefExtensions reads the extension that starts at msg[i]. A malformed
// pair is skipped up to the next key= and reading goes on; the first
// problem is returned with its byte offset. Without a complete header the
// rest of the record is read as the extension only when it holds a key=.
func cefExtensions(p *Parser, ev *schemas.Event, st *cefState, msg string, i int, complete bool) (bad string, at int) {
	for i < len(msg) && msg[i] == ' ' {
		i++
	}
	if !complete && !strings.Contains(msg[i:], "=") {
		return "", 0
	}
	note := func(what string, where int) {
		if bad == "" {
			bad, at = what, where
		}
	}
	for i < len(msg) {
		k := cefKeyLen(msg[i:])
		if k == 0 || i+k == len(msg) || msg[i+k] != '=' {
			note("expected key=value", i)
			i = cefNextKey(msg, i)
			continue
		}
		key := msg[i : i+k]
		v := i + k + 1
		j, end, esc, problem := v, -1, false, ""
	scan:
		for j < len(msg) {
			switch msg[j] {
			case '\\':
				if j+1 < len(msg) {
					switch msg[j+1] {
					case '=', '\\', 'n', 'r':
						esc = true
						j += 2
						continue
					}
				}
				problem = "a backslash before a character other than '=', '\\', 'n' or 'r'"
				break scan
			case '=':
				problem = "an unescaped '='"
				break scan
			case ' ':
				if cefKeyAt(msg, j+1) {
					end = j
					break scan
				}
			}
			j++
		}
		if problem != "" {
			note("malformed value of "+strconv.Quote(genTruncate(key, 64))+": "+problem, j)
			i = cefNextKey(msg, j)
			continue
		}
		var val string
		if end < 0 {
			val = strings.TrimRight(msg[v:], " \t\r\n\v\f")
			i = len(msg)
		} else {
			val = msg[v:end]
			i = end + 1
		}
		if esc {
			val = genUnescape(val) // checked to hold only valid CEF escapes
		}
		cefField(p, ev, st, key, val)
	}
	return bad, at
}

// cefField files one extension pair: the keys the schema has a place for
// (by their short or full names), the rest in Labels. A value that does
// not fit its field (an address that is not one) goes to Labels.
func cefField(p *Parser, ev *schemas.Event, st *cefState, key, val string) {
	ok := true
	switch key {
	case "src", "sourceAddress":
		ok = genSetIP(&ev.Source, val)
	case "dst", "destinationAddress":
		ok = genSetIP(&ev.Destination, val)
	case "spt", "sourcePort":
		ev.Source.Port, ok = genPort(val)
	case "dpt", "destinationPort":
		ev.Destination.Port, ok = genPort(val)
	case "sourceTranslatedAddress":
		ok = genSetNATIP(&ev.Source, val)
	case "destinationTranslatedAddress":
		ok = genSetNATIP(&ev.Destination, val)
	case "sourceTranslatedPort":
		ev.Source.NATPort, ok = genPort(val)
	case "destinationTranslatedPort":
		ev.Destination.NATPort, ok = genPort(val)
	case "shost", "sourceHostName":
		setDomain(ev, val)
	case "dhost", "destinationHostName":
		ev.Destination.Domain = asciiLower(strings.TrimRight(val, "."))
	case "smac", "sourceMacAddress":
		ev.Source.MAC = val
	case "dmac", "destinationMacAddress":
		ev.Destination.MAC = val
	case "in", "bytesIn":
		ev.Source.Bytes, ok = genUint(val)
	case "out", "bytesOut":
		ev.Destination.Bytes, ok = genUint(val)
	case "suser", "sourceUserName":
		ev.User.Name = val
	case "suid", "sourceUserId":
		ev.User.ID = val
	case "sntdom", "sourceNtDomain":
		ev.User.Domain = val
	case "duser", "destinationUserName":
		ev.User.Target.Name = val
	case "duid", "destinationUserId":
		ev.User.Target.ID = val
	case "dntdom", "destinationNtDomain":
		ev.User.Target.Domain = val
	case "proto", "transportProtocol":
		ev.Network.Transport = genTransport(val)
	case "app", "applicationProtocol":
		ev.Network.Protocol = asciiLower(val)
	case "deviceDirection":
		switch val {
		case "0":
			ev.Network.Direction = "inbound"
		case "1":
			ev.Network.Direction = "outbound"
		default:
			ok = false
		}
	case "act", "deviceAction":
		// The vendor's own word stays readable in Labels; it also
		// decides the event type and the reason of a detection.
		st.act = val
		ok = false
	case "outcome", "eventOutcome":
		ev.Event.Outcome, ok = genOutcome(val)
	case "reason":
		ev.Event.Reason = val
	case "rt", "deviceReceiptTime":
		st.rt = val
	case "end", "endTime":
		st.end = val
	case "start", "startTime":
		st.start = val
	case "msg", "message":
		ev.Message, st.hasMsg = val, true
	case "cat", "deviceEventCategory":
		ev.Rule.Category = val
	case "cnt", "baseEventCount":
		var n int
		if n, ok = genUint(val); ok && n > 0 && n <= 1_000_000 {
			ev.Event.Count = n
		} else {
			ok = false
		}
	case "fname", "fileName":
		ev.File.Name = val
	case "filePath":
		ev.File.Path = val
	case "fileHash", "TrendMicroDsFileMD5", "TrendMicroDsFileSHA1", "TrendMicroDsFileSHA256":
		ok = genSetHash(ev, val)
	case "dvchost", "deviceHostName":
		// The device the event is about: a relay (a manager forwarding
		// its agents' events) names it here, not in the syslog header.
		ev.Observer.Hostname = val
		ev.Host.Name = val
	case "sproc", "sourceProcessName":
		ev.Process.Name = val
	case "spid", "sourceProcessId":
		ev.Process.PID, ok = genUint(val)
	default:
		ok = false
		if c := key[0]; c == 'c' || c == 'f' || c == 'd' {
			if i, custom := cefCustomIndex[key]; custom {
				st.custom |= 1 << i
			}
		}
	}
	if !ok {
		genLabel(ev, key, val)
	}
}

// cefCustom lists the extension keys that a "...Label" key names: the
// label says what the value is ("cs1Label=Host ID cs1=42").
var cefCustom = [...]string{
	"cs1", "cs2", "cs3", "cs4", "cs5", "cs6", "cn1", "cn2", "cn3",
	"cfp1", "cfp2", "cfp3", "cfp4", "c6a1", "c6a2", "c6a3", "c6a4",
	"flexString1", "flexString2", "flexNumber1", "flexNumber2",
	"deviceCustomDate1", "deviceCustomDate2",
	"deviceCustomString1", "deviceCustomString2", "deviceCustomString3",
	"deviceCustomString4", "deviceCustomString5", "deviceCustomString6",
	"deviceCustomNumber1", "deviceCustomNumber2", "deviceCustomNumber3",
}

var cefCustomLabel = func() (out [len(cefCustom)]string) {
	for i, k := range cefCustom {
		out[i] = k + "Label"
	}
	return out
}()

// cefCustomIndex maps a custom key, or its label's key, to its index in
// cefCustom.
var cefCustomIndex = func() map[string]uint {
	m := make(map[string]uint, 2*len(cefCustom))
	for i, k := range cefCustom {
		m[k], m[cefCustomLabel[i]] = uint(i), uint(i)
	}
	return m
}()

// cefThreatLabels are custom-field labels whose value names the malware
// found (Trend Micro Apex Central, Deep Discovery, and similar products).
var cefThreatLabels = [...]string{"VirusName", "Virus Name", "MalwareName", "Malware Name",
	"ThreatName", "Threat Name", "threats", "Security Threat", "Detection Name", "DetectionName"}

// cefFinish applies what needs the whole record: the custom fields by
// their labels, the time, the message and the meaning.
func cefFinish(p *Parser, in Input, ev *schemas.Event, st *cefState, hdr [6]string, n int) {
	if st.custom != 0 {
		for i, k := range cefCustom {
			if st.custom&(1<<uint(i)) == 0 {
				continue
			}
			label, ok1 := ev.Labels[cefCustomLabel[i]]
			val, ok2 := ev.Labels[k]
			if !ok1 || !ok2 || label == "" {
				continue
			}
			// Each custom value is also kept under its label's text, so
			// rules read labels["Host ID"] whichever slot it came in.
			genLabel(ev, label, val)
			switch {
			case strings.EqualFold(label, "md5"), strings.EqualFold(label, "sha1"), strings.EqualFold(label, "sha256"):
				genSetHash(ev, val)
			case st.threat == "" && val != "" && cefThreatLabel(label):
				st.threat = val
			}
		}
	}
	// The event's time is rt, else end, else start; a date that does
	// not read stays readable as a label.
	for _, tk := range [...]struct{ key, val string }{{"rt", st.rt}, {"end", st.end}, {"start", st.start}} {
		if tk.val == "" {
			continue
		}
		t, ok := p.genTime(tk.val, in.Received)
		genSetTimestamp(ev, t, ok)
		if !ok {
			genLabel(ev, tk.key, tk.val)
		}
	}
	if !st.hasMsg && n > 4 {
		ev.Message = hdr[4]
	}
	if cefMalware(ev, st, hdr, n) {
		ev.Event.Category = schemas.CategoryMalware
		ev.Event.Type = schemas.TypeInfo
		ev.Event.Action = genActionMalwareDetected
		ev.Threat.Name = st.threat
		if ev.Event.Reason == "" {
			ev.Event.Reason = st.act
		}
		return
	}
	genApplyVerdict(ev, st.act)
}

func cefThreatLabel(label string) bool {
	for _, l := range cefThreatLabels {
		if strings.EqualFold(label, l) {
			return true
		}
	}
	return false
}

// cefMalware reports whether the record is an antivirus detection, and
// leaves the malware's name in st.threat. It knows detections by a custom
// field labelled with the threat's name, by Trend Micro's anti-malware
// event ids (Deep Security 4000000-4000099, Apex Central "AV:..." and
// "Spyware Detected"), and by a category that says malware or virus.
func cefMalware(ev *schemas.Event, st *cefState, hdr [6]string, n int) bool {
	if st.threat != "" {
		return true
	}
	if n < 5 {
		return false
	}
	id, name := hdr[3], hdr[4]
	detected := false
	switch {
	case strings.HasPrefix(hdr[0], "Trend Micro"):
		if num, ok := genUint(id); ok && num >= 4000000 && num <= 4000099 {
			detected = true
		} else if strings.HasPrefix(id, "AV:") || id == "Spyware Detected" {
			detected = true
		}
	default:
		cat := ev.Rule.Category
		detected = genContainsFold(cat, "malware") || genContainsFold(cat, "virus")
	}
	if detected {
		st.threat = name
	}
	return detected
}
