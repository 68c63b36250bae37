package parse

import (
	"net/netip"
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Dataset values this package sets in schemas.EventInfo.Dataset.
const (
	DatasetSSHD = "sshd"
	DatasetSudo = "sudo"
	DatasetSu   = "su"
	DatasetPAM  = "pam"
)

// Reason values this package sets in schemas.EventInfo.Reason. Messages
// whose own wording is the best reason (sudo's "user NOT in sudoers") keep
// that wording instead.
const (
	ReasonInvalidUser        = "invalid user"
	ReasonWrongPassword      = "wrong password"
	ReasonKeyRejected        = "key rejected"
	ReasonNoCredentials      = "no credentials"
	ReasonAuthFailed         = "authentication failure"
	ReasonUserUnknown        = "user unknown"
	ReasonUserNotAllowed     = "user not allowed"
	ReasonIncorrectPassword  = "incorrect password"
	ReasonSessionOpened      = "session opened"
	ReasonSessionClosed      = "session closed"
	ReasonConnectionClosed   = "connection closed"
	ReasonConnectionReset    = "connection reset"
	ReasonDisconnected       = "disconnected"
	ReasonReceivedDisconnect = "received disconnect"
	ReasonTooManyFailures    = "too many authentication failures"
	ReasonMaxAttempts        = "maximum authentication attempts exceeded"
	ReasonNoIdentification   = "no identification string"
	ReasonReverseMapping     = "reverse mapping failed"
	ReasonNegotiationFailed  = "negotiation failed"
	ReasonAuthTimeout        = "timeout before authentication"
	ReasonConnectionFailed   = "connection failed"
	ReasonConnectionRefused  = "connection refused"
	ReasonBadProtocol        = "bad protocol version"
)

// isPAM reports whether classify reads msg as a Linux-PAM message.
func isPAM(app, msg string) bool {
	if i := strings.IndexByte(app, '('); i > 0 && strings.HasPrefix(app[i+1:], "pam_") {
		return true
	}
	return strings.HasPrefix(msg, "pam_")
}

// classify reads the meaning of an authentication message from the
// program that wrote it (app), then from the start of msg. It reports
// whether the message was one it reads; one it does not know keeps its
// header fields and gets no action.
func classify(ev *schemas.Event, app, msg string) bool {
	switch app {
	case "sshd", "sshd-session":
		sshd(ev, msg)
	case "sudo":
		sudo(ev, msg)
	case "su":
		su(ev, msg)
	default:
		// Old Linux-PAM wrote "sshd(pam_unix)[pid]: authentication failure;
		// ..." with the service and module in the tag.
		if i := strings.IndexByte(app, '('); i > 0 && strings.HasPrefix(app[i+1:], "pam_") {
			ev.Process.Name = app[:i]
			pamBody(ev, app[:i], msg)
			return true
		}
		if strings.HasPrefix(msg, "pam_") {
			pam(ev, msg)
			return true
		}
		return false
	}
	return true
}

// cutRepeated reads syslogd's "message repeated N times: [ inner]".
func cutRepeated(msg string) (inner string, n int, ok bool) {
	rest := msg[len("message repeated "):]
	n, rest, ok = leadingInt(rest)
	if !ok || n <= 0 || !strings.HasPrefix(rest, " times: [") || !strings.HasSuffix(rest, "]") {
		return "", 0, false
	}
	inner = rest[len(" times: [") : len(rest)-1]
	inner = strings.TrimPrefix(inner, " ")
	return inner, n, true
}

// leadingInt reads a decimal number of at most 9 digits at the start of s.
func leadingInt(s string) (int, string, bool) {
	n, i := 0, 0
	for ; i < len(s) && i < 9 && isDigit(s[i]); i++ {
		n = n*10 + int(s[i]-'0')
	}
	if i == 0 || (i < len(s) && isDigit(s[i])) {
		return 0, s, false
	}
	return n, s[i:], true
}

func set(ev *schemas.Event, dataset, category, action, outcome, reason string) {
	e := &ev.Event
	e.Dataset, e.Category, e.Action, e.Outcome, e.Reason = dataset, category, action, outcome, reason
}

// isIP reports whether s is an IPv4 or IPv6 address. IPv4 is checked by
// hand; text that could be IPv6 goes to netip, which does not allocate for
// valid addresses without a zone.
func isIP(s string) bool {
	if len(s) < 2 || len(s) > 45 {
		return false
	}
	if strings.IndexByte(s, ':') < 0 {
		return isIPv4(s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && c != ':' && c != '.' && (c|0x20 < 'a' || c|0x20 > 'f') {
			return false
		}
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

func isIPv4(s string) bool {
	parts, n, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || n > 255 || (digits > 1 && s[i-digits] == '0') {
				return false
			}
			parts++
			n, digits = 0, 0
			continue
		}
		if !isDigit(s[i]) || digits == 3 {
			return false
		}
		n = n*10 + int(s[i]-'0')
		digits++
	}
	return parts == 4
}

// setHostOrIP puts a peer given as address or name into source.ip or
// source.domain.
func setHostOrIP(ev *schemas.Event, h string) {
	if h == "" {
		return
	}
	if isIP(h) {
		setIP(ev, h)
	} else {
		setDomain(ev, h)
	}
}

// setDomain sets source.domain to a host name in one spelling: lower case,
// without the root's trailing dot, so that "Evil.Example.ORG." and
// "evil.example.org" are one source. It allocates only for a name that
// needs changing.
func setDomain(ev *schemas.Event, h string) {
	ev.Source.Domain = asciiLower(strings.TrimRight(h, "."))
}

// asciiLower lowers the ASCII letters of s and leaves every other byte as
// it is (host names in logs may hold anything). It allocates only when s
// has an upper-case ASCII letter.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// setIP sets source.ip to a valid address. An IPv4-mapped IPv6 address
// (sshd on a dual-stack socket writes "::ffff:192.0.2.1") is stored as the
// IPv4 address, and other IPv6 addresses in their RFC 5952 form, so that
// one attacker has one source.ip however the log spells it.
func setIP(ev *schemas.Event, ip string) {
	if v4, ok := strings.CutPrefix(ip, "::ffff:"); ok && isIPv4(v4) {
		ip = v4
	} else if strings.IndexByte(ip, ':') >= 0 {
		ip = canonicalIPv6(ip)
	}
	ev.Source.IP = ip
}

// canonicalIPv6 returns ip in RFC 5952 form (lower case, zeros
// compressed), or as IPv4 when it maps one. It allocates only when the
// log wrote the address in another form.
func canonicalIPv6(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	var buf [64]byte
	b := a.AppendTo(buf[:0])
	if string(b) == ip {
		return ip
	}
	return string(b)
}

// cutPort reads " port N" at the start of s.
func cutPort(s string) (int, string, bool) {
	if !strings.HasPrefix(s, " port ") {
		return 0, s, false
	}
	n, rest, ok := leadingInt(s[len(" port "):])
	if !ok || n > 65535 {
		return 0, s, false
	}
	return n, rest, true
}

// lastIndex is strings.LastIndex for the separators used here, which
// occur once or twice in a line: repeated forward searches use the
// vectorised strings.Index, where strings.LastIndex hashes every byte.
func lastIndex(s, sep string) int {
	k := strings.Index(s, sep)
	if k < 0 {
		return -1
	}
	for {
		next := strings.Index(s[k+1:], sep)
		if next < 0 {
			return k
		}
		k += 1 + next
	}
}
