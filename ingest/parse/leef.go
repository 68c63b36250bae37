package parse

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tocsin-siem/tocsin/schemas"
)

// IBM QRadar's Log Event Extended Format:
//
//	LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value...
//	LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|key=value<D>key=value...
//
// LEEF 2.0's delimiter is one character or its code in hex ("x09",
// "0x5E"); an empty one, or none, means tab. LEEF 1.0 separates
// attributes with tabs; records without a tab are read with '|' (as
// PAN-OS writes them) or, with neither, with spaces before each key=.

// DatasetLEEF is the event.dataset of LEEF records.
const DatasetLEEF = "leef"

// ReasonBadLEEF is a LEEF record with an incomplete header, an unusable
// delimiter, or an attribute without '='.
const ReasonBadLEEF = "bad_leef"

func init() {
	register(Source{
		Name:        "leef",
		Description: "IBM QRadar Log Event Extended Format (LEEF 1.0 and 2.0), after a syslog header or alone",
		Priority:    80,
		Prefixes:    []string{"LEEF:"},
		Reasons:     []string{ReasonBadLEEF},
		Parse:       parseLEEF,
	})
}

// leefState holds what the attributes say that is applied once all of
// them are read.
type leefState struct {
	devTime, devTimeFormat string
	action                 string
}

func parseLEEF(p *Parser, in Input, ev *schemas.Event) *Error {
	msg := in.Msg
	if !strings.HasPrefix(msg, "LEEF:") {
		return fail(ReasonBadLEEF, `expected "LEEF:" and the version`, 0)
	}
	i := len("LEEF:")
	j := strings.IndexByte(msg[i:], '|')
	if j <= 0 || j > 8 {
		return fail(ReasonBadLEEF, "expected the LEEF version and '|'", i)
	}
	version := msg[i : i+j]
	if !isDigit(version[0]) {
		return fail(ReasonBadLEEF, "expected a LEEF version such as 1.0 or 2.0", i)
	}
	i += j + 1
	ev.Event.Dataset = DatasetLEEF
	var hdr [4]string
	n := 0
	for ; n < len(hdr); n++ {
		k := cefHeaderEnd(msg, i)
		if k < 0 {
			break
		}
		hdr[n] = cefUnescapeHeader(msg[i:k])
		i = k + 1
	}
	genLabel(ev, "leef.version", version)
	leefHeader(ev, hdr, n)
	if n < len(hdr) {
		return fail(ReasonBadLEEF, "the header has "+strconv.Itoa(n+1)+" of its 5 fields", i)
	}
	attrs := msg[i:]
	var delim [utf8.UTFMax]byte
	dn := 0
	if version[0] >= '2' {
		if k := strings.IndexByte(attrs, '|'); k >= 0 && k <= 6 && !strings.Contains(attrs[:k], "=") {
			r, ok := leefDelimiter(attrs[:k])
			if !ok {
				return fail(ReasonBadLEEF, "the delimiter field is neither one character nor its hex code", i)
			}
			dn = utf8.EncodeRune(delim[:], r)
			attrs = attrs[k+1:]
			i += k + 1
		}
	}
	if dn == 0 {
		switch {
		case strings.IndexByte(attrs, '\t') >= 0 || attrs == "":
			delim[0], dn = '\t', 1
		case strings.IndexByte(attrs, '|') >= 0:
			delim[0], dn = '|', 1
		}
	}
	var st leefState
	var bad *Error
	if dn == 0 {
		bad = leefSpaced(p, ev, &st, msg, i)
	} else {
		bad = leefSplit(p, ev, &st, msg, i, string(delim[:dn]))
	}
	leefFinish(p, in, ev, &st)
	return bad
}

func leefHeader(ev *schemas.Event, hdr [4]string, n int) {
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
	}
}

// leefDelimiter reads LEEF 2.0's delimiter field: empty (tab), one
// character, or "xHH", "0xHH" (up to four hex digits).
func leefDelimiter(s string) (rune, bool) {
	if s == "" {
		return '\t', true
	}
	if r, size := utf8.DecodeRuneInString(s); size == len(s) && r != utf8.RuneError {
		return r, r != '=' && r != '|'
	}
	h := s
	if len(h) > 2 && h[0] == '0' && (h[1]|0x20) == 'x' {
		h = h[2:]
	} else if len(h) > 1 && (h[0]|0x20) == 'x' {
		h = h[1:]
	} else {
		return 0, false
	}
	if len(h) > 4 || !genIsHex(h) {
		return 0, false
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil || v == 0 || v == '=' || !utf8.ValidRune(rune(v)) {
		return 0, false
	}
	return rune(v), true
}

// leefSplit reads attributes separated by delim, starting at msg[i].
// Empty attributes (a trailing delimiter) are skipped; one without '='
// is reported and the rest is still read.
func leefSplit(p *Parser, ev *schemas.Event, st *leefState, msg string, i int, delim string) *Error {
	var bad *Error
	for i < len(msg) {
		k := strings.Index(msg[i:], delim)
		end := len(msg)
		if k >= 0 {
			end = i + k
		}
		attr := msg[i:end]
		if end == len(msg) {
			attr = strings.TrimRight(attr, "\r\n")
		}
		if attr != "" {
			key, val, ok := strings.Cut(attr, "=")
			if !ok || key == "" {
				if bad == nil {
					bad = fail(ReasonBadLEEF, "an attribute without key=", i)
				}
			} else {
				leefField(p, ev, st, key, val)
			}
		}
		if k < 0 {
			break
		}
		i = end + len(delim)
	}
	return bad
}

// leefSpaced reads attributes separated by spaces, each value running to
// the space before the next key=, as CEF extensions are read but without
// escapes: the LEEF 1.0 records of some products use spaces where the
// format says tab.
func leefSpaced(p *Parser, ev *schemas.Event, st *leefState, msg string, i int) *Error {
	for i < len(msg) && msg[i] == ' ' {
		i++
	}
	for i < len(msg) {
		k := leefKeyLen(msg[i:])
		if k == 0 || i+k == len(msg) || msg[i+k] != '=' {
			return fail(ReasonBadLEEF, "expected key=value", i)
		}
		key := msg[i : i+k]
		v := i + k + 1
		end := len(msg)
		for j := v; j < len(msg); j++ {
			if msg[j] == ' ' && leefKeyAt(msg, j+1) {
				end = j
				break
			}
		}
		val := msg[v:end]
		if end == len(msg) {
			val = strings.TrimRight(val, " \t\r\n")
		}
		leefField(p, ev, st, key, val)
		i = end + 1
	}
	return nil
}

func leefKeyLen(s string) int {
	i := 0
	for i < len(s) && genKeyChar(s[i]) && s[i] != ':' {
		i++
	}
	return i
}

func leefKeyAt(s string, i int) bool {
	k := leefKeyLen(s[i:])
	return k > 0 && i+k < len(s) && s[i+k] == '='
}

// leefField files one attribute: IBM's predefined keys the schema has a
// place for, and the traffic fields of PAN-OS; the rest in Labels.
func leefField(p *Parser, ev *schemas.Event, st *leefState, key, val string) {
	ok := true
	switch key {
	case "src":
		ok = genSetIP(&ev.Source, val)
	case "dst":
		ok = genSetIP(&ev.Destination, val)
	case "srcPort":
		ev.Source.Port, ok = genPort(val)
	case "dstPort":
		ev.Destination.Port, ok = genPort(val)
	case "srcPostNAT":
		ok = genSetNATIP(&ev.Source, val)
	case "dstPostNAT":
		ok = genSetNATIP(&ev.Destination, val)
	case "srcPostNATPort":
		ev.Source.NATPort, ok = genPort(val)
	case "dstPostNATPort":
		ev.Destination.NATPort, ok = genPort(val)
	case "srcMAC":
		ev.Source.MAC = val
	case "dstMAC":
		ev.Destination.MAC = val
	case "srcBytes":
		ev.Source.Bytes, ok = genUint(val)
	case "dstBytes":
		ev.Destination.Bytes, ok = genUint(val)
	case "srcPackets":
		ev.Source.Packets, ok = genUint(val)
	case "dstPackets":
		ev.Destination.Packets, ok = genUint(val)
	case "totalPackets":
		ev.Network.Packets, ok = genUint(val)
	case "totalBytes":
		ev.Network.Bytes, ok = genUint(val)
	case "proto":
		ok = val != ""
		ev.Network.Transport = genTransport(val)
	case "usrName":
		ok = val != ""
		ev.User.Name = val
	case "accountName":
		ok = val != "" && ev.User.Name == ""
		if ok {
			ev.User.Name = val
		}
	case "sev":
		var n int
		n, ok = genUint(val)
		ok = ok && n <= 10
		if ok {
			ev.Event.Severity = n
		}
	case "cat":
		ev.Rule.Category = val
	case "policy", "RuleName":
		ok = val != ""
		ev.Rule.Name = val
	case "identHostName":
		ok = val != "" && ev.Host.Name == ""
		if ok {
			ev.Host.Name = val
		}
	case "devTime":
		st.devTime = val
	case "devTimeFormat":
		st.devTimeFormat = val
	case "msg":
		ev.Message = val
	case "action":
		st.action = val
		ok = false
	default:
		ok = false
	}
	if !ok {
		genLabel(ev, key, val)
	}
}

func leefFinish(p *Parser, in Input, ev *schemas.Event, st *leefState) {
	if st.devTime != "" {
		var t time.Time
		var ok bool
		if st.devTimeFormat != "" {
			t, ok = p.leefJavaTime(st.devTimeFormat, st.devTime, in.Received)
		} else {
			t, ok = p.genTime(st.devTime, in.Received)
		}
		genSetTimestamp(ev, t, ok)
		if !ok {
			genLabel(ev, "devTime", st.devTime)
		}
	}
	if st.devTimeFormat != "" {
		genLabel(ev, "devTimeFormat", st.devTimeFormat)
	}
	if ev.Message == "" {
		ev.Message = in.Msg
	}
	genApplyVerdict(ev, st.action)
}

// leefJavaTime reads value with a Java SimpleDateFormat pattern, as LEEF's
// devTimeFormat gives it ("MMM dd yyyy HH:mm:ss.SSS zzz",
// "yyyy-MM-dd'T'HH:mm:ss.SSSZ"). It knows the letters y M d H k h K a m s
// S E z Z X and quoted literals; other pattern letters fail the read. A
// time without zone is read in the parser's Location; without year, the
// year is inferred from ref.
func (p *Parser) leefJavaTime(pattern, value string, ref time.Time) (time.Time, bool) {
	var st stamp
	st.day = 1
	month := false
	pm, twelve := -1, false
	zoneKnown, zoneOff := false, 0
	v := 0
	for i := 0; i < len(pattern); {
		c := pattern[i]
		run := 1
		for i+run < len(pattern) && pattern[i+run] == c {
			run++
		}
		if c == '\'' {
			if run >= 2 { // '' is a quote
				if v >= len(value) || value[v] != '\'' {
					return time.Time{}, false
				}
				v++
				i += 2
				continue
			}
			end := strings.IndexByte(pattern[i+1:], '\'')
			if end < 0 {
				return time.Time{}, false
			}
			lit := pattern[i+1 : i+1+end]
			if !strings.HasPrefix(value[v:], lit) {
				return time.Time{}, false
			}
			v += len(lit)
			i += end + 2
			continue
		}
		i += run
		if c|0x20 < 'a' || c|0x20 > 'z' {
			for k := 0; k < run; k++ {
				if v >= len(value) || value[v] != c {
					return time.Time{}, false
				}
				v++
			}
			continue
		}
		var n, used int
		switch c {
		case 'y':
			max := 4
			if run == 2 {
				max = 2
			}
			n, used = leefDigits(value[v:], max)
			if used == 0 {
				return time.Time{}, false
			}
			if used == 2 && run == 2 {
				n += 2000
			}
			st.year, st.hasYear = n, true
		case 'M':
			if run >= 3 {
				if len(value)-v < 3 {
					return time.Time{}, false
				}
				n = monthOf(value[v], value[v+1], value[v+2])
				used = 3
				for v+used < len(value) && value[v+used]|0x20 >= 'a' && value[v+used]|0x20 <= 'z' {
					used++
				}
			} else {
				n, used = leefDigits(value[v:], 2)
			}
			st.month, month = n, true
		case 'd':
			n, used = leefDigits(value[v:], 2)
			st.day = n
		case 'H', 'k':
			n, used = leefDigits(value[v:], 2)
			if c == 'k' && n == 24 {
				n = 0
			}
			st.hour = n
		case 'h', 'K':
			n, used = leefDigits(value[v:], 2)
			if n == 12 {
				n = 0
			}
			st.hour, twelve = n, true
		case 'a':
			if len(value)-v < 2 {
				return time.Time{}, false
			}
			switch {
			case strings.EqualFold(value[v:v+2], "AM"):
				pm = 0
			case strings.EqualFold(value[v:v+2], "PM"):
				pm = 1
			default:
				return time.Time{}, false
			}
			used = 2
		case 'm':
			n, used = leefDigits(value[v:], 2)
			st.minute = n
		case 's':
			n, used = leefDigits(value[v:], 2)
			st.sec = n
		case 'S':
			// Read as a fraction of a second, right for "SSS" and for
			// the longer runs some producers write.
			var end int
			st.nsec, used, end = fraction(value, v)
			used = end - v
		case 'E':
			for used < len(value)-v && value[v+used]|0x20 >= 'a' && value[v+used]|0x20 <= 'z' {
				used++
			}
		case 'z', 'Z', 'X':
			end := v
			for end < len(value) && value[end] != ' ' {
				end++
			}
			off, known, ok := genZone(value[v:end])
			if !ok {
				return time.Time{}, false
			}
			zoneKnown, zoneOff = known, off
			used = end - v
		default:
			return time.Time{}, false
		}
		if used == 0 && c != 'E' {
			return time.Time{}, false
		}
		v += used
	}
	if v != len(value) || !month || st.month < 1 || st.month > 12 || st.day < 1 ||
		st.hour > 23 || st.minute > 59 || st.sec > 59 {
		return time.Time{}, false
	}
	if twelve && pm == 1 {
		st.hour += 12
	}
	if st.hasYear {
		if st.year < minYear || st.day > daysIn(st.month, st.year) {
			return time.Time{}, false
		}
	} else if st.day > daysIn(st.month, 2000) {
		return time.Time{}, false
	}
	if zoneKnown {
		return p.zoned(&st, zoneOff, ref)
	}
	return p.instant(&st, ref)
}

// leefDigits reads 1 to max digits at the start of s.
func leefDigits(s string, max int) (n, used int) {
	for used < len(s) && used < max && isDigit(s[used]) {
		n = n*10 + int(s[used]-'0')
		used++
	}
	return n, used
}
