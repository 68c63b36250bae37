package parse

import (
	"strings"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// RFC 5424 length limits (section 6).
const (
	maxHostname = 255
	maxAppName  = 48
	maxProcID   = 128
	maxMsgID    = 32
	maxSDName   = 32
)

// bom is the UTF-8 byte order mark that RFC 5424 lets a MSG start with.
const bom = "\xef\xbb\xbf"

// parse5424 reads an RFC 5424 line from line[i:], just after "<PRI>VERSION ":
// TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [SP MSG].
// NILVALUE ("-") leaves a field empty; a NILVALUE timestamp means the line
// gets received as its timestamp.
func (p *Parser) parse5424(line string, i int, received time.Time, ev *schemas.Event) *Error {
	sl := &ev.Log.Syslog
	sl.Format = FormatRFC5424
	if i < len(line) && line[i] == '-' && (i+1 == len(line) || line[i+1] == ' ') {
		// No timestamp: Parse gives the event the receive time, unless
		// the message's own reader finds one.
		i++
	} else {
		var st stamp
		n, res := isoStamp(line[i:], true, &st)
		if res != stampOK {
			ev.Timestamp = received.UTC()
			return fail(ReasonBadTimestamp, "expected an RFC 3339 timestamp or '-'", i+n)
		}
		ev.Timestamp, _ = p.instant(&st, received)
		i += n
	}
	var ok bool
	if sl.Hostname, i, ok = headerField(line, i, maxHostname); !ok {
		return fail(ReasonBadHeader, "expected HOSTNAME (1-255 printable US-ASCII) or '-'", i)
	}
	ev.Host.Name = sl.Hostname
	if sl.AppName, i, ok = headerField(line, i, maxAppName); !ok {
		return fail(ReasonBadHeader, "expected APP-NAME (1-48 printable US-ASCII) or '-'", i)
	}
	ev.Process.Name = sl.AppName
	if sl.ProcID, i, ok = headerField(line, i, maxProcID); !ok {
		return fail(ReasonBadHeader, "expected PROCID (1-128 printable US-ASCII) or '-'", i)
	}
	ev.Process.PID = atoiPID(sl.ProcID)
	if sl.MsgID, i, ok = headerField(line, i, maxMsgID); !ok {
		return fail(ReasonBadHeader, "expected MSGID (1-32 printable US-ASCII) or '-'", i)
	}
	if i >= len(line) || line[i] != ' ' {
		return fail(ReasonBadStructuredData, "expected a space before STRUCTURED-DATA", i)
	}
	i++
	end, err := structuredData(line, i)
	if err != nil {
		return err
	}
	sl.StructuredData = line[i:end]
	switch {
	case end == len(line):
	case line[end] == ' ':
		ev.Message = trimCR(strings.TrimPrefix(line[end+1:], bom))
	default:
		return fail(ReasonBadStructuredData, "expected a space or the end of the line after STRUCTURED-DATA", end)
	}
	return nil
}

// headerField reads one space-led header field at line[i:] (i is the space
// before it): 1 to max printable US-ASCII characters, or "-" for none.
func headerField(line string, i, max int) (string, int, bool) {
	if i >= len(line) || line[i] != ' ' {
		return "", i, false
	}
	i++
	start := i
	for i < len(line) && line[i] != ' ' {
		if line[i]-33 > 126-33 { // outside printable US-ASCII
			return "", i, false
		}
		i++
	}
	switch n := i - start; {
	case n == 0 || n > max:
		return "", start, false
	case n == 1 && line[start] == '-':
		return "", i, true
	}
	return line[start:i], i, true
}

// structuredData checks the STRUCTURED-DATA that starts at line[i] and
// returns the index just after it. It follows RFC 5424 section 6.3: "-" or
// one or more "[SD-ID *(SP PARAM-NAME="PARAM-VALUE")]", names of 1-32
// printable US-ASCII characters other than '=', ' ', ']' and '"', values
// in which '"', '\' and ']' are escaped with '\'. A backslash before any
// other character is kept as a plain backslash, as section 6.3.3 says.
func structuredData(line string, i int) (int, *Error) {
	if i < len(line) && line[i] == '-' {
		return i + 1, nil
	}
	if i >= len(line) || line[i] != '[' {
		return i, fail(ReasonBadStructuredData, "expected '[' or '-'", i)
	}
	for i < len(line) && line[i] == '[' {
		i++
		var ok bool
		if i, ok = sdName(line, i); !ok {
			return i, fail(ReasonBadStructuredData, "expected an SD-ID", i)
		}
		for i < len(line) && line[i] == ' ' {
			i++
			if i, ok = sdName(line, i); !ok {
				return i, fail(ReasonBadStructuredData, "expected a PARAM-NAME", i)
			}
			if i+1 >= len(line) || line[i] != '=' || line[i+1] != '"' {
				return i, fail(ReasonBadStructuredData, "expected '=\"' after PARAM-NAME", i)
			}
			i += 2
		value:
			for {
				if i >= len(line) {
					return i, fail(ReasonBadStructuredData, "unterminated PARAM-VALUE", i)
				}
				switch line[i] {
				case '\\':
					i += 2
				case '"':
					i++
					break value
				case ']':
					return i, fail(ReasonBadStructuredData, "unescaped ']' in PARAM-VALUE", i)
				default:
					i++
				}
			}
		}
		if i >= len(line) || line[i] != ']' {
			return i, fail(ReasonBadStructuredData, "expected ']' closing an SD-ELEMENT", i)
		}
		i++
	}
	return i, nil
}

// sdNameByte marks the bytes allowed in an SD-ID or PARAM-NAME: printable
// US-ASCII other than '=', ' ', ']' and '"'.
var sdNameByte = func() (t [256]bool) {
	for c := 33; c <= 126; c++ {
		t[c] = c != '=' && c != ']' && c != '"'
	}
	return t
}()

// sdName reads an SD-ID or PARAM-NAME at line[i:].
func sdName(line string, i int) (int, bool) {
	start := i
	for i < len(line) && sdNameByte[line[i]] {
		i++
	}
	n := i - start
	return i, n > 0 && n <= maxSDName
}

// WalkStructuredData calls fn for each parameter of the RFC 5424
// STRUCTURED-DATA sd (as Parse stores it in schemas.Syslog.StructuredData),
// with the element's SD-ID, the parameter name and its value with escapes
// removed. An element without parameters is reported once with empty name
// and value. fn returns false to stop. Values that hold escapes are copied;
// others are substrings of sd. It returns an *Error when sd is malformed.
func WalkStructuredData(sd string, fn func(id, name, value string) bool) error {
	if sd == "" || sd == "-" {
		return nil
	}
	if end, err := structuredData(sd, 0); err != nil {
		return err
	} else if end != len(sd) {
		return fail(ReasonBadStructuredData, "trailing bytes after STRUCTURED-DATA", end)
	}
	i := 0
	for i < len(sd) && sd[i] == '[' {
		i++
		idEnd, _ := sdName(sd, i)
		id := sd[i:idEnd]
		i = idEnd
		params := 0
		for sd[i] == ' ' {
			i++
			nameEnd, _ := sdName(sd, i)
			name := sd[i:nameEnd]
			i = nameEnd + 2
			start, escaped := i, false
			for sd[i] != '"' {
				if sd[i] == '\\' {
					escaped = true
					i++
				}
				i++
			}
			value := sd[start:i]
			if escaped {
				value = unescapeSD(value)
			}
			i++
			params++
			if !fn(id, name, value) {
				return nil
			}
		}
		if params == 0 && !fn(id, "", "") {
			return nil
		}
		i++
	}
	return nil
}

func unescapeSD(v string) string {
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case '"', '\\', ']':
				i++
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
