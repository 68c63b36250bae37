// Package parse turns syslog lines into schemas.Event values: the RFC 3164
// and RFC 5424 headers, then the meaning of the authentication messages
// that sshd, sudo, su and Linux-PAM write.
//
// # Contract
//
// Parser.Parse reads one line into an event the caller has Reset. String
// fields are substrings of the line, so Parse does not allocate for the
// lines it understands; the caller must keep the line unchanged while the
// event lives. A line that fails returns an *Error whose Reason is a fixed
// phrase (see Reasons) fit for a metric label; the event still holds what
// was read, the line as its Original and a timestamp (the header's, or the
// receive time).
//
// # Headers
//
// A UTF-8 byte order mark that starts the line (Windows tools write one at
// the start of a file) is skipped before the header is read; Original
// keeps it, and the byte offsets in a failure's Detail then count from
// after it, which the Detail says.
//
//   - "<PRI>" followed by a 1-3 digit VERSION and a space is RFC 5424.
//     Its grammar is enforced, including RFC 5424's length limits and
//     STRUCTURED-DATA escapes; a backslash before any other character is
//     kept as a backslash (RFC 5424 section 6.3.3), a BOM that starts MSG
//     is dropped, a timestamp without zone is read in Options.Location and
//     duplicate SD-IDs are accepted.
//   - Anything else that starts with "<PRI>", or with a timestamp, is read
//     as RFC 3164, best effort. A line without PRI gets priority 13 (user
//     notice), as RFC 3164 section 4.3.3 tells relays; this is how plain
//     /var/log/auth.log files parse.
//   - A line with neither PRI nor timestamp fails with ReasonNoHeader;
//     its event has format "none", the whole line as message and the
//     receive time. Guessing a hostname and tag from arbitrary text (as
//     rsyslog does) would invent hosts and programs.
//
// RFC 3164 timestamps: "Mmm dd hh:mm:ss" with any month case, the day
// padded with a space, a zero or nothing, optional fractional seconds, a
// year before the time (Cisco) or after it, a trailing colon; or RFC 3339
// (rsyslog's high-precision format), with 'T' or a space, "Z", "+hh:mm",
// "+hhmm" or no zone. A line with PRI but no timestamp gets the receive
// time.
//
// Hostname and tag are told apart by shape. A TAG is a name followed by
// ':', "[pid]:" or "[pid]" and then a space or the end of the line. If the
// first word after the timestamp is a tag, the line has no hostname
// ("<13>Jan  1 00:00:00 sshd[12]: ..."). Otherwise that word is the
// hostname and the next word is the tag if it has the shape; if it does
// not, there is no tag and the rest is the message (as go-syslog does;
// rsyslog would take the word as the tag). Without a timestamp the first
// word is a hostname only when a tag follows it.
//
// # Time
//
// Every timestamp is stored in UTC; a sender's UTC offset is applied, not
// kept. A timestamp without year gets the latest year that puts it no
// later than the receive time plus 24 hours: a Dec 31 line received on
// Jan 1 is from the previous year, a line whose sender's clock runs up to
// a day fast keeps the current year, and Feb 29 moves back to the latest
// leap year that fits. Replaying old files therefore needs a receive time
// near the files' end, not the time of the replay.
//
// # Messages
//
// The program name picks the reader (sshd and sshd-session, sudo, su;
// "pam_MODULE(SERVICE:TYPE):" in any program; old "PROGRAM(pam_unix)"
// tags), then the start of the message picks the shape. Every action
// comes from the vocabulary in schemas. A message that no reader knows
// keeps its header fields and gets no action: it is not a failure.
//
// Counting: Event.Count is 1, N for "message repeated N times: [ ... ]"
// (the inner message is read as the line's own), N for "PAM N more
// authentication failures" and for sudo's "N incorrect password attempts".
// Lines that repeat an attempt already reported keep a dataset and their
// user or address but get no action, so nothing counts them:
// "input_userauth_request: invalid user X", "check pass; user unknown",
// "reverse mapping checking getaddrinfo ... POSSIBLE BREAK-IN ATTEMPT!",
// "User X from IP not allowed". sshd's "Invalid user X from IP" is itself
// an attempt; SSHDTracker keeps it from being counted again by the
// "Failed ... for invalid user X" line that usually follows it.
//
// An IPv4-mapped IPv6 address ("::ffff:192.0.2.1") is stored as the IPv4
// address; a peer given by name goes to source.domain.
//
// The golden tests record, vector by vector, where this package reads a
// line differently from go-syslog, rsyslog, syslog-ng and CrowdSec, and
// why.
//
// # Performance
//
// Parsing is hand-written byte scanning: no regexp, no fmt, no splitting
// into slices. The year of year-less timestamps comes from a one-word
// atomic cache of the last reference day. On one core of the development
// machine a Parse of an RFC 3164 sshd line takes about 130-150 ns, of
// which the header is about 65 ns; bench/parse_bench_test.go measures it.
package parse
