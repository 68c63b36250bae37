package parse

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Helpers shared by the generic readers (CEF, LEEF, key=value, JSON) and
// the ClamAV reader. Their names start with "gen" so that they do not
// clash with the helpers of other sources in this package.

// Actions the generic readers and the ClamAV reader set, beyond the
// vocabulary in schemas. They are unexported because schemas is the one
// place where the shared vocabulary is exported; other readers in this
// package that mean the same thing use the same words.
const (
	// genActionMalwareDetected is an antivirus detection: a file or stream
	// found to hold malware (threat.name says which).
	genActionMalwareDetected = "malware_detected"
	// genActionConnectionDenied is a connection a device blocked, dropped or
	// reset, read from a generic record's action word.
	genActionConnectionDenied = "connection_denied"
	// genActionConnectionAllowed is a connection a device let through, read
	// from a generic record's action word.
	genActionConnectionAllowed = "connection_allowed"
)

// Bounds on what a generic record may put in Event.Labels. A record that
// holds more keeps the first genMaxLabels; longer values are cut at
// genMaxLabelValue bytes (on a UTF-8 boundary) and longer keys are
// dropped, so one hostile record cannot hold megabytes of labels.
const (
	genMaxLabels     = 256
	genMaxLabelKey   = 256
	genMaxLabelValue = 1024
)

// genLabel adds key=value to ev.Labels within the bounds above. It keeps
// a value already there, so a record's first spelling of a key wins.
func genLabel(ev *schemas.Event, key, value string) {
	if key == "" || len(key) > genMaxLabelKey {
		return
	}
	if ev.Labels == nil {
		ev.Labels = make(map[string]string, 16)
	} else if len(ev.Labels) >= genMaxLabels {
		return
	}
	if _, ok := ev.Labels[key]; ok {
		return
	}
	ev.Labels[key] = genTruncate(value, genMaxLabelValue)
}

// genTruncate cuts s to at most n bytes without splitting a UTF-8
// sequence.
func genTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// genIP reports the canonical form of a valid address: IPv4-mapped IPv6
// as IPv4, other IPv6 in RFC 5952 form. It allocates only when the text
// was not already canonical.
func genIP(s string) (string, bool) {
	if !isIP(s) {
		return "", false
	}
	if v4, ok := strings.CutPrefix(s, "::ffff:"); ok && isIPv4(v4) {
		return v4, true
	}
	if strings.IndexByte(s, ':') >= 0 {
		return canonicalIPv6(s), true
	}
	return s, true
}

// genSetIP sets an endpoint's address; it reports false, and sets
// nothing, for text that is not an address.
func genSetIP(e *schemas.Endpoint, s string) bool {
	ip, ok := genIP(s)
	if ok {
		e.IP = ip
	}
	return ok
}

// genSetNATIP sets an endpoint's translated address.
func genSetNATIP(e *schemas.Endpoint, s string) bool {
	ip, ok := genIP(s)
	if ok {
		e.NATIP = ip
	}
	return ok
}

// genUint reads a decimal number of at most 18 digits, so that it cannot
// overflow an int.
func genUint(s string) (int, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// genPort reads a port number 0-65535.
func genPort(s string) (int, bool) {
	n, ok := genUint(s)
	return n, ok && n <= 65535
}

// genTransport returns a layer-4 protocol name in lower case, from its
// name in any case or its IANA number. It allocates only for a name in
// upper or mixed case that is not one of the common ones.
func genTransport(s string) string {
	switch s {
	case "6", "tcp", "TCP", "Tcp":
		return "tcp"
	case "17", "udp", "UDP", "Udp":
		return "udp"
	case "1", "icmp", "ICMP", "Icmp":
		return "icmp"
	case "58", "ipv6-icmp", "IPV6-ICMP", "icmp6", "ICMP6", "icmpv6", "ICMPv6", "ICMPV6":
		return "ipv6-icmp"
	case "47", "gre", "GRE":
		return "gre"
	case "50", "esp", "ESP":
		return "esp"
	case "51", "ah", "AH":
		return "ah"
	case "132", "sctp", "SCTP":
		return "sctp"
	}
	return asciiLower(s)
}

// genVerdict reads a device's action word: "denied" for words that mean
// the traffic was stopped, "allowed" for words that mean it passed, ""
// otherwise. Case does not matter.
func genVerdict(word string) string {
	w := strings.TrimSpace(word)
	for _, d := range [...]string{"deny", "denied", "drop", "dropped", "block", "blocked",
		"reject", "rejected", "reset", "reset-both", "reset-client", "reset-server",
		"discard", "discarded", "refuse", "refused", "prevent", "prevented", "IDS:Reset"} {
		if strings.EqualFold(w, d) {
			return schemas.TypeDenied
		}
	}
	for _, a := range [...]string{"allow", "allowed", "accept", "accepted", "permit", "permitted",
		"pass", "passed"} {
		if strings.EqualFold(w, a) {
			return schemas.TypeAllowed
		}
	}
	return ""
}

// genOutcome reads an outcome word ("success", "Failure", "/Success",
// "failed"); ok is false for words it does not know.
func genOutcome(word string) (string, bool) {
	w := strings.TrimPrefix(strings.TrimSpace(word), "/")
	for _, s := range [...]string{"success", "succeeded", "successful", "ok"} {
		if strings.EqualFold(w, s) {
			return schemas.OutcomeSuccess, true
		}
	}
	for _, f := range [...]string{"failure", "failed", "fail", "error"} {
		if strings.EqualFold(w, f) {
			return schemas.OutcomeFailure, true
		}
	}
	if strings.EqualFold(w, "unknown") {
		return schemas.OutcomeUnknown, true
	}
	return "", false
}

// genApplyVerdict gives a record with a recognised action word and an
// address the network category, the allowed or denied type and the
// matching connection action. It leaves a record that already has a
// category alone.
func genApplyVerdict(ev *schemas.Event, word string) {
	if ev.Event.Category != "" || (ev.Source.IP == "" && ev.Destination.IP == "") {
		return
	}
	switch genVerdict(word) {
	case schemas.TypeDenied:
		ev.Event.Category, ev.Event.Type, ev.Event.Action = schemas.CategoryNetwork, schemas.TypeDenied, genActionConnectionDenied
	case schemas.TypeAllowed:
		ev.Event.Category, ev.Event.Type, ev.Event.Action = schemas.CategoryNetwork, schemas.TypeAllowed, genActionConnectionAllowed
	}
}

// genIsHex reports whether s is all hexadecimal digits.
func genIsHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !isDigit(s[i]) && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}

// genSetHash files a hex digest under MD5, SHA-1 or SHA-256 by its
// length, in lower case; it reports false for anything else.
func genSetHash(ev *schemas.Event, h string) bool {
	h = strings.TrimSpace(h)
	if !genIsHex(h) {
		return false
	}
	switch len(h) {
	case 32:
		ev.File.Hash.MD5 = asciiLower(h)
	case 40:
		ev.File.Hash.SHA1 = asciiLower(h)
	case 64:
		ev.File.Hash.SHA256 = asciiLower(h)
	default:
		return false
	}
	return true
}

// genBaseName returns the last element of a Unix or Windows path.
func genBaseName(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' || path[i] == '\\' {
			return path[i+1:]
		}
	}
	return path
}

// genSetTimestamp sets ev.Timestamp from a record's own time, only when
// nothing (a syslog header) set it before.
func genSetTimestamp(ev *schemas.Event, t time.Time, ok bool) {
	if ok && ev.Timestamp.IsZero() {
		ev.Timestamp = t
	}
}

// genTime reads a time as generic records write it: epoch seconds,
// milliseconds, microseconds or nanoseconds (told apart by size), RFC
// 3339, or "Mmm dd [yyyy] hh:mm:ss[.fff]" with an optional zone word
// ("UTC", "GMT", "Z", "GMT+08:00", "+0100"). A time without zone is read
// in the parser's Location, a date without year gets the year inferred
// from ref. The result is in UTC.
func (p *Parser) genTime(s string, ref time.Time) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if n, ok := genUint(s); ok {
		return genEpoch(int64(n)), true
	}
	if f, ok := genEpochFloat(s); ok {
		return f, true
	}
	var st stamp
	if isDigit(s[0]) {
		n, res := isoStamp(s, false, &st)
		if res != stampOK || n != len(s) {
			return time.Time{}, false
		}
		return p.instant(&st, ref)
	}
	n, res := bsdStamp(s, &st)
	if res != stampOK {
		return time.Time{}, false
	}
	if rest := strings.TrimSpace(s[n:]); rest != "" {
		off, known, ok := genZone(rest)
		if !ok {
			return time.Time{}, false
		}
		// Not read: zone abbreviations other than UTC and GMT ("PST",
		// "CET"), which are ambiguous across the world; such times are
		// read in the source's configured zone.
		if known {
			return p.zoned(&st, off, ref)
		}
	}
	return p.instant(&st, ref)
}

// zoned places a stamp written with a UTC offset. A stamp without year
// takes the year that instant infers for it in the parser's zone.
func (p *Parser) zoned(st *stamp, offset int, ref time.Time) (time.Time, bool) {
	if !st.hasYear {
		t, ok := p.instant(st, ref)
		if !ok {
			return t, false
		}
		st.year, st.hasYear = t.In(p.loc).Year(), true
	}
	st.hasZone, st.offset = true, offset
	return p.instant(st, ref)
}

// genZone reads a zone word: "UTC", "GMT", "Z" alone or followed by an
// offset, or an offset alone ("+01:00", "-0500"). known is false for a
// word of letters that is not one of those (an abbreviation such as
// "PST"); ok is false for anything else.
func genZone(s string) (offset int, known, ok bool) {
	rest := s
	named := false
	for _, z := range [...]string{"UTC", "GMT", "Z"} {
		if r, cut := strings.CutPrefix(s, z); cut {
			rest, named = r, true
			break
		}
	}
	if rest == "" {
		return 0, named, true
	}
	if rest[0] != '+' && rest[0] != '-' {
		if !named && genLetters(s) {
			return 0, false, true
		}
		return 0, false, false
	}
	hh, ok1 := num2(rest, 1)
	mm, ok2 := 0, true
	switch len(rest) {
	case 3:
	case 5:
		mm, ok2 = num2(rest, 3)
	case 6:
		if rest[3] != ':' {
			return 0, false, false
		}
		mm, ok2 = num2(rest, 4)
	default:
		return 0, false, false
	}
	if !ok1 || !ok2 || hh > 23 || mm > 59 {
		return 0, false, false
	}
	offset = hh*3600 + mm*60
	if rest[0] == '-' {
		offset = -offset
	}
	return offset, true, true
}

func genLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

// genEpoch reads an epoch count whose unit is told by its size: seconds
// up to 1e11 (year 5138), then milliseconds, microseconds, nanoseconds.
func genEpoch(n int64) time.Time {
	switch {
	case n < 1e11:
		return time.Unix(n, 0).UTC()
	case n < 1e14:
		return time.UnixMilli(n).UTC()
	case n < 1e17:
		return time.UnixMicro(n).UTC()
	}
	return time.Unix(0, n).UTC()
}

// genEpochFloat reads epoch seconds with a fraction ("1599483201.123456",
// Fluent Bit's date) to microsecond precision.
func genEpochFloat(s string) (time.Time, bool) {
	dot := strings.IndexByte(s, '.')
	if dot <= 0 || dot > 11 {
		return time.Time{}, false
	}
	sec, ok := genUint(s[:dot])
	if !ok {
		return time.Time{}, false
	}
	nsec, digits, end := fraction(s, dot+1)
	if digits == 0 || end != len(s) {
		return time.Time{}, false
	}
	return time.Unix(int64(sec), int64(nsec)).UTC(), true
}

// genKeyChar reports whether c may appear in a key of a key=value pair
// (CEF extension keys allow fewer; see cefKeyLen).
func genKeyChar(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == ':' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// genContainsFold is strings.Contains ignoring ASCII case, without
// allocating.
func genContainsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// genUnescape undoes backslash escapes: \n, \r and \t are control
// characters, a backslash before anything else stands for that character.
// It serves key=value's quoted values and CEF extension values (which are
// checked beforehand to hold only \=, \\, \n and \r).
func genUnescape(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			switch c = s[i]; c {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			}
		}
		b = append(b, c)
	}
	return string(b)
}
