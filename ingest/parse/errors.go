package parse

import (
	"slices"
	"strconv"
)

// Reasons a line fails to parse. Each is a short fixed phrase meant to be
// used as a metric label and as schemas.ParseFailure.Reason.
const (
	// ReasonEmpty is an empty line.
	ReasonEmpty = "empty"
	// ReasonNoHeader is a line with neither a PRI nor a timestamp at its
	// start: nothing marks it as syslog.
	ReasonNoHeader = "no_header"
	// ReasonBadPriority is a malformed or out-of-range <PRI>.
	ReasonBadPriority = "bad_priority"
	// ReasonBadVersion is an RFC 5424 VERSION outside 1-999.
	ReasonBadVersion = "bad_version"
	// ReasonBadTimestamp is a timestamp that starts like one but is not
	// valid (field out of range, impossible date, missing separator).
	ReasonBadTimestamp = "bad_timestamp"
	// ReasonBadHeader is an RFC 5424 HOSTNAME, APP-NAME, PROCID or MSGID
	// that is missing, too long or holds characters outside printable
	// US-ASCII.
	ReasonBadHeader = "bad_header"
	// ReasonBadStructuredData is RFC 5424 STRUCTURED-DATA that does not
	// follow the grammar (unbalanced brackets, unescaped ']' in a value,
	// missing quotes).
	ReasonBadStructuredData = "bad_structured_data"
	// ReasonNoMessage is a line that holds a <PRI> and nothing after it.
	ReasonNoMessage = "no_message"
)

// Reasons lists every Reason that Parse can return, so that callers can
// create their metric label children up front.
func Reasons() []string {
	out := []string{
		ReasonEmpty, ReasonNoHeader, ReasonBadPriority, ReasonBadVersion,
		ReasonBadTimestamp, ReasonBadHeader, ReasonBadStructuredData,
		ReasonNoMessage, ReasonNotThisFormat,
	}
	for _, s := range sources() {
		for _, r := range s.Reasons {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// Error is a line that Parse could not read. Reason is one of the Reason
// constants; Detail says what was expected and where.
type Error struct {
	Reason string
	Detail string
}

// Error returns "reason: detail".
func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Reason
	}
	return e.Reason + ": " + e.Detail
}

// fail builds an *Error whose detail names the byte offset where parsing
// stopped. It allocates; it runs only for lines that fail.
func fail(reason, what string, at int) *Error {
	return &Error{Reason: reason, Detail: what + " at byte " + strconv.Itoa(at)}
}
