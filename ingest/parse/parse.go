package parse

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Values of schemas.Syslog.Format.
const (
	FormatRFC3164 = "rfc3164"
	FormatRFC5424 = "rfc5424"
	FormatNone    = "none"
)

// Values of schemas.Syslog.Format above are the header's; the names a
// listener's format takes are FormatAuto, FormatSyslog and the sources'
// (see Formats).

// priorityDefault is what RFC 3164 section 4.3.3 tells a relay to assume
// for a line without <PRI>: facility user (1), severity notice (5).
const priorityDefault = 13

// Options configures a Parser. The zero value is ready to use.
type Options struct {
	// Location is the zone for timestamps that carry none (default time.UTC).
	Location *time.Location
	// Format is the one format to read (see Formats), or "" or "auto" to
	// detect it per message. A name Validate rejects reads as auto.
	Format string
	// Disabled names sources that detection skips: their messages keep
	// their syslog header fields and get no meaning.
	Disabled []string
}

// Parser reads syslog lines into events. It keeps no state between lines
// and is safe for concurrent use.
type Parser struct {
	loc *time.Location
	utc bool
	// forced is the one source a listener was told to expect; nil
	// detects per message. syslogOnly reads only the syslog header and
	// the authentication messages.
	forced     *Source
	syslogOnly bool
	detect     detector
	// yearCache holds the last reference day and its year (see yearOfDay).
	yearCache atomic.Uint64
}

// New returns a Parser for opts.
func New(opts Options) *Parser {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	p := &Parser{loc: loc, utc: loc == time.UTC, detect: newDetector(opts.Disabled)}
	switch opts.Format {
	case "", FormatAuto:
	case FormatSyslog:
		p.syslogOnly = true
	default:
		p.forced = lookupSource(opts.Format)
	}
	p.yearCache.Store(uint64(1) << 63) // a day no reference falls on
	return p
}

// Parse fills ev (which the caller has Reset) from one line without its
// trailing newline, or one JSON or XML record. received is when the line
// arrived; it is the reference for inferring the year of year-less
// timestamps and the timestamp of lines that carry none. Parse sets
// ev.Event.Original = line, ev.Event.Created = received, ev.Event.Count = 1
// (or N), and all fields it can read. It never allocates for RFC 3164/5424
// headers, sshd/sudo/su/PAM messages and the firewall formats (string
// fields are substrings of line). On failure it returns *Error and ev holds
// whatever was read.
//
// Every timestamp Parse sets is in UTC.
func (p *Parser) Parse(line string, received time.Time, ev *schemas.Event) error {
	ev.Event.Original = line
	ev.Event.Created = received
	ev.Event.Count = 1
	// A UTF-8 byte order mark that starts the line (the first line of a
	// file that Notepad or PowerShell wrote) is skipped; Original keeps it.
	line, skipped := strings.CutPrefix(line, bom)
	if len(line) == 0 {
		p.noHeader(line, received, ev)
		return bomNote(&Error{Reason: ReasonEmpty, Detail: "the line is empty"}, skipped)
	}
	var err *Error
	var jsonSrc *Source
	if (line[0] == '{' || line[0] == '[') && p.forced == nil {
		jsonSrc = p.claim(line)
	}
	switch {
	case p.forced != nil:
		err = p.parseForced(line, received, ev)
	case line[0] == '<':
		if len(line) > 1 && !isDigit(line[1]) {
			if src := p.claim(line); src != nil {
				err = p.wholeWith(src, line, received, ev)
				break
			}
		}
		if err = p.parsePRI(line, received, ev); err == nil {
			err = p.body(ev, received)
		}
	case jsonSrc != nil:
		err = p.wholeWith(jsonSrc, line, received, ev)
	default:
		if err = p.parse3164(line, 0, false, received, ev); err == nil {
			err = p.body(ev, received)
		} else if err.Reason == ReasonNoHeader {
			// A line without syslog header may still be a format of its
			// own: CEF, a FortiGate record, an auditd line.
			if src := p.claim(line); src != nil {
				err = p.wholeWith(src, line, received, ev)
			} else {
				err = &Error{Reason: err.Reason, Detail: err.Detail}
			}
		}
	}
	if ev.Timestamp.IsZero() {
		ev.Timestamp = received.UTC()
	}
	if err != nil {
		return bomNote(err, skipped)
	}
	ev.Event.Kind = "event"
	return nil
}

// The no-header results of parse3164 are shared values, so that a line
// without syslog header that another format then reads costs no
// allocation; Parse copies them before returning one, since bomNote edits
// the detail. Nothing else may return them to a caller of Parse.
var (
	errNoHeaderBadStamp = &Error{Reason: ReasonNoHeader, Detail: "no priority and no valid timestamp at byte 0"}
	errNoHeader         = &Error{Reason: ReasonNoHeader, Detail: "neither a priority nor a timestamp at byte 0"}
)

// bomNote says in err's detail that its byte offsets count from after a
// leading byte order mark, when one was skipped.
func bomNote(err *Error, skipped bool) *Error {
	if skipped {
		err.Detail += " (after a leading byte order mark)"
	}
	return err
}

// noHeader records a line that carries no syslog header: the whole line is
// the message and the time it arrived is its timestamp.
func (p *Parser) noHeader(line string, received time.Time, ev *schemas.Event) {
	ev.Log.Syslog = schemas.Syslog{Format: FormatNone}
	ev.Timestamp = received.UTC()
	ev.Message = line
}

// parsePRI reads "<PRI>" and hands the rest to the RFC 5424 or RFC 3164
// reader: "<PRI>" followed by digits and a space is RFC 5424's VERSION.
func (p *Parser) parsePRI(line string, received time.Time, ev *schemas.Event) *Error {
	pri, i := 0, 1
	for ; i < len(line) && i <= 4 && isDigit(line[i]); i++ {
		pri = pri*10 + int(line[i]-'0')
	}
	switch {
	case i == 1:
		return fail(ReasonBadPriority, "expected digits after '<'", i)
	case i >= len(line) || line[i] != '>':
		return fail(ReasonBadPriority, "expected '>' closing a priority of at most 3 digits", i)
	case i > 4 || pri > 191:
		return fail(ReasonBadPriority, "priority above 191", 1)
	case i > 2 && line[1] == '0':
		return fail(ReasonBadPriority, "priority with a leading zero", 1)
	}
	setPriority(ev, pri)
	i++
	if i == len(line) {
		return fail(ReasonNoMessage, "nothing after the priority", i)
	}
	// RFC 5424: VERSION is 1-3 digits followed by a space.
	j := i
	for j < len(line) && isDigit(line[j]) {
		j++
	}
	if j > i && j < len(line) && line[j] == ' ' {
		if j-i > 3 || line[i] == '0' {
			return fail(ReasonBadVersion, "RFC 5424 version outside 1-999", i)
		}
		return p.parse5424(line, j+1, received, ev)
	}
	return p.parse3164(line, i, true, received, ev)
}

func setPriority(ev *schemas.Event, pri int) {
	ev.Log.Syslog.Priority = pri
	ev.Log.Syslog.Facility = pri >> 3
	ev.Log.Syslog.Severity = pri & 7
}

// parse3164 reads an RFC 3164 line from line[i:]: TIMESTAMP, HOSTNAME and
// TAG, each optional, then MSG. See the package documentation for how a
// missing hostname or tag is recognised.
func (p *Parser) parse3164(line string, i int, hasPRI bool, received time.Time, ev *schemas.Event) *Error {
	sl := &ev.Log.Syslog
	sl.Format = FormatRFC3164
	if !hasPRI {
		setPriority(ev, priorityDefault)
	} else if i < len(line) && line[i] == ' ' {
		i++ // "<PRI> Mmm dd ..." from some network gear
	}
	// Not recognised: the '*' and '.' that Cisco devices put before the
	// timestamp when their clock is not synchronised, and timestamps that
	// start with the year ("2015 Nov 13 13:40:01"). Such lines read as
	// having no timestamp: they get the receive time and keep the stamp in
	// the message. Accepting them needs a rule that tells such a mark from
	// a message that starts with '*' or '.'.
	var st stamp
	n, res := 0, stampNone
	if i < len(line) {
		if isDigit(line[i]) {
			n, res = isoStamp(line[i:], false, &st)
		} else {
			n, res = bsdStamp(line[i:], &st)
		}
	}
	switch res {
	case stampBad:
		if !hasPRI {
			// Not marked as syslog and not a valid stamp: no header.
			p.noHeader(line, received, ev)
			return errNoHeaderBadStamp
		}
		ev.Timestamp = received.UTC()
		return fail(ReasonBadTimestamp, "invalid timestamp", i+n)
	case stampNone:
		if !hasPRI {
			p.noHeader(line, received, ev)
			return errNoHeader
		}
		// No timestamp: Parse gives the event the receive time, unless
		// the message's own reader finds one.
	case stampOK:
		t, ok := p.instant(&st, received)
		if !ok {
			ev.Timestamp = received.UTC()
			return fail(ReasonBadTimestamp, "no year fits the date", i)
		}
		ev.Timestamp = t
		i += n
		for i < len(line) && line[i] == ' ' {
			i++
		}
	}
	rest := line[i:]
	if rest == "" {
		return nil
	}
	if name, procid, msg, ok := cutTag(rest); ok {
		setTag(ev, name, procid)
		ev.Message = trimCR(msg)
		return nil
	}
	sp := strings.IndexByte(rest, ' ')
	if res != stampOK {
		// Without a timestamp, take the first word as a hostname only when
		// a tag follows it; otherwise all of it is the message.
		if sp > 0 {
			if name, procid, msg, ok := cutTag(rest[sp+1:]); ok {
				setHost(ev, rest[:sp])
				setTag(ev, name, procid)
				ev.Message = trimCR(msg)
				return nil
			}
		}
		ev.Message = trimCR(rest)
		return nil
	}
	if sp < 0 {
		setHost(ev, trimCR(rest))
		return nil
	}
	// Not recognised: AIX's relay prefix "Message forwarded from HOST:",
	// which reads as hostname "Message" with no tag; the real hostname and
	// tag stay in the message.
	setHost(ev, rest[:sp])
	rest = rest[sp+1:]
	if name, procid, msg, ok := cutTag(rest); ok {
		setTag(ev, name, procid)
		ev.Message = trimCR(msg)
		return nil
	}
	ev.Message = trimCR(rest)
	return nil
}

func setHost(ev *schemas.Event, host string) {
	ev.Log.Syslog.Hostname = host
	ev.Host.Name = host
}

func setTag(ev *schemas.Event, name, procid string) {
	ev.Log.Syslog.AppName = name
	ev.Log.Syslog.ProcID = procid
	ev.Process.Name = name
	ev.Process.PID = atoiPID(procid)
}

// cutTag reports whether s starts with an RFC 3164 TAG: a name followed by
// ':', "[pid]:" or "[pid]" and then a space or the end of s. The name may
// hold any byte but space, '[' and ':' ("sshd-session", "sshd(pam_unix)",
// "ctld/snmpd", "%ASA-4-106023"). msg is what follows the tag and one
// space.
func cutTag(s string) (name, procid, msg string, ok bool) {
	j := 0
	for j < len(s) && s[j] != ' ' && s[j] != '[' && s[j] != ':' {
		j++
	}
	if j == 0 || j == len(s) {
		return "", "", "", false
	}
	name = s[:j]
	if s[j] == '[' {
		k := j + 1
		for k < len(s) && s[k] != ']' && s[k] != ' ' {
			k++
		}
		if k == len(s) || s[k] != ']' {
			return "", "", "", false
		}
		procid = s[j+1 : k]
		j = k + 1
		if j < len(s) && s[j] == ':' {
			j++
		}
	} else if s[j] == ':' {
		j++
	} else {
		return "", "", "", false
	}
	if j < len(s) {
		if s[j] != ' ' {
			return "", "", "", false
		}
		j++
	}
	return name, procid, s[j:], true
}

// atoiPID reads a decimal process ID; anything else is 0.
func atoiPID(s string) int {
	if s == "" || len(s) > 10 {
		return 0
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// trimCR drops one trailing carriage return, left by CRLF framing.
func trimCR(s string) string {
	if len(s) > 0 && s[len(s)-1] == '\r' {
		return s[:len(s)-1]
	}
	return s
}
