package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// sshd reads the OpenSSH server's messages (program sshd or sshd-session).
// It dispatches on the first byte, then on the prefix.
func sshd(ev *schemas.Event, msg string) {
	if r, ok := strings.CutPrefix(msg, "error: "); ok {
		msg = r
	} else if r, ok := strings.CutPrefix(msg, "fatal: "); ok {
		msg = r
	}
	if msg == "" {
		return
	}
	switch msg[0] {
	case 'F':
		if rest, ok := strings.CutPrefix(msg, "Failed "); ok {
			sshLogin(ev, rest, false)
		}
	case 'A':
		if rest, ok := strings.CutPrefix(msg, "Accepted "); ok {
			sshLogin(ev, rest, true)
		} else if rest, ok := strings.CutPrefix(msg, "Address "); ok {
			// "Address IP maps to NAME, but this does not map back to the
			// address - POSSIBLE BREAK-IN ATTEMPT!"
			if ip, name, ok := strings.Cut(rest, " maps to "); ok && isIP(ip) {
				if k := strings.IndexByte(name, ','); k > 0 {
					setDomain(ev, name[:k])
				}
				setIP(ev, ip)
				set(ev, DatasetSSHD, "", "", "", ReasonReverseMapping)
			}
		}
	case 'I':
		if rest, ok := strings.CutPrefix(msg, "Invalid user "); ok {
			sshInvalidUser(ev, rest)
		}
	case 'i':
		if rest, ok := strings.CutPrefix(msg, "input_userauth_request: invalid user "); ok {
			// The same attempt that "Invalid user" reported: the user
			// name only, no action, so that nothing counts it twice.
			ev.User.Name = strings.TrimSuffix(rest, " [preauth]")
			ev.Event.Dataset = DatasetSSHD
		}
	case 'C':
		if rest, ok := strings.CutPrefix(msg, "Connection closed by "); ok {
			sshPeer(ev, rest, ReasonConnectionClosed)
		} else if rest, ok := strings.CutPrefix(msg, "Connection reset by "); ok {
			sshPeer(ev, rest, ReasonConnectionReset)
		}
	case 'D':
		switch {
		case strings.HasPrefix(msg, "Disconnected from "):
			sshPeer(ev, msg[len("Disconnected from "):], ReasonDisconnected)
		case strings.HasPrefix(msg, "Disconnecting: "):
			rest := strings.TrimSuffix(msg[len("Disconnecting: "):], " [preauth]")
			reason := ReasonDisconnected
			if r, ok := strings.CutPrefix(rest, "Too many authentication failures"); ok {
				reason = ReasonTooManyFailures
				ev.User.Name = strings.TrimPrefix(r, " for ")
			}
			set(ev, DatasetSSHD, schemas.CategoryNetwork, schemas.ActionSSHDisconnect, "", reason)
		case strings.HasPrefix(msg, "Disconnecting "):
			sshPeer(ev, msg[len("Disconnecting "):], ReasonDisconnected)
		case strings.HasPrefix(msg, "Did not receive identification string from "):
			sshPeer(ev, msg[len("Did not receive identification string from "):], ReasonNoIdentification)
		}
	case 'R':
		if rest, ok := strings.CutPrefix(msg, "Received disconnect from "); ok {
			sshReceivedDisconnect(ev, rest)
		}
	case 'r':
		// tcp_wrappers: "refused connect from NAME (ADDR)"
		if rest, ok := strings.CutPrefix(msg, "refused connect from "); ok {
			if name, tail, ok := strings.Cut(rest, " ("); ok {
				if ip, ok := strings.CutSuffix(tail, ")"); ok && isIP(ip) {
					setIP(ev, ip)
					if !strings.HasSuffix(name, ip) { // tcp_wrappers repeats the address when it has no name
						setDomain(ev, name)
					}
					set(ev, DatasetSSHD, schemas.CategoryNetwork, schemas.ActionSSHDisconnect, "", ReasonConnectionRefused)
				}
			}
			return
		}
		if rest, ok := strings.CutPrefix(msg, "reverse mapping checking getaddrinfo for "); ok {
			// "NAME [IP] failed - POSSIBLE BREAK-IN ATTEMPT!": not an attempt.
			if name, tail, ok := strings.Cut(rest, " ["); ok {
				if ip, _, ok := strings.Cut(tail, "]"); ok && isIP(ip) {
					setIP(ev, ip)
					setDomain(ev, name)
					set(ev, DatasetSSHD, "", "", "", ReasonReverseMapping)
				}
			}
		}
	case 'm':
		if rest, ok := strings.CutPrefix(msg, "maximum authentication attempts exceeded for "); ok {
			if sshUserFrom(ev, strings.TrimPrefix(rest, "invalid user ")) {
				set(ev, DatasetSSHD, schemas.CategoryNetwork, schemas.ActionSSHDisconnect, "", ReasonMaxAttempts)
			}
		}
	case 'P':
		if rest, ok := strings.CutPrefix(msg, "PAM "); ok {
			pamMore(ev, "sshd", rest)
		}
	case 'p':
		pam(ev, msg)
	case 'B':
		// "Bad protocol version identification 'TEXT' from ADDR port N"
		if rest, ok := strings.CutPrefix(msg, "Bad protocol version identification "); ok {
			if k := lastIndex(rest, " from "); k >= 0 {
				sshPeer(ev, rest[k+len(" from "):], ReasonBadProtocol)
			}
		}
	case 'M':
		// A patched sshd's "Magic value check failed (N) on obfuscated
		// handshake from ADDR port N".
		if strings.HasPrefix(msg, "Magic value check failed ") {
			if k := lastIndex(msg, " from "); k >= 0 {
				sshPeer(ev, msg[k+len(" from "):], ReasonConnectionFailed)
			}
		}
	case 'T':
		if rest, ok := strings.CutPrefix(msg, "Timeout before authentication for "); ok {
			sshPeer(ev, rest, ReasonAuthTimeout)
		}
	case 's':
		if rest, ok := strings.CutPrefix(msg, "ssh_dispatch_run_fatal: Connection from "); ok {
			sshPeer(ev, rest, ReasonConnectionFailed)
		}
	case 'U':
		if rest, ok := strings.CutPrefix(msg, "Unable to negotiate with "); ok {
			sshPeer(ev, rest, ReasonNegotiationFailed)
			return
		}
		// "User NAME from ADDR not allowed because ..."
		if rest, ok := strings.CutPrefix(msg, "User "); ok {
			if k := lastIndex(rest, " not allowed because "); k > 0 {
				if sshUserFrom(ev, rest[:k]) {
					set(ev, DatasetSSHD, "", "", "", ReasonUserNotAllowed)
				}
			}
		}
	}
}

// sshLogin reads the part after "Failed " or "Accepted ":
// "METHOD for [invalid user ]USER from ADDR port N PROTO[: KEY]".
func sshLogin(ev *schemas.Event, rest string, success bool) {
	method, rest, ok := strings.Cut(rest, " for ")
	if !ok || method == "" || strings.IndexByte(method, ' ') >= 0 {
		return
	}
	invalid := false
	if r, ok := strings.CutPrefix(rest, "invalid user "); ok {
		invalid, rest = true, r
	}
	if !sshUserFrom(ev, rest) {
		return
	}
	ev.SSH.Method = method
	if success {
		set(ev, DatasetSSHD, schemas.CategoryAuthentication, schemas.ActionSSHLogin, schemas.OutcomeSuccess, "")
		return
	}
	reason := ReasonAuthFailed
	switch {
	case invalid:
		reason = ReasonInvalidUser
	case method == "password" || strings.HasPrefix(method, "keyboard-interactive"):
		reason = ReasonWrongPassword
	case method == "publickey" || method == "hostbased":
		reason = ReasonKeyRejected
	case method == "none":
		reason = ReasonNoCredentials
	}
	set(ev, DatasetSSHD, schemas.CategoryAuthentication, schemas.ActionSSHLogin, schemas.OutcomeFailure, reason)
}

// sshUserFrom reads "USER from ADDR[ port N]...". The user name is whatever
// precedes the last " from ", so names with spaces (or with " from " in
// them, sent by an attacker) keep the real address.
func sshUserFrom(ev *schemas.Event, rest string) bool {
	k := lastIndex(rest, " from ")
	if k < 0 {
		return false
	}
	addr := rest[k+len(" from "):]
	tail := ""
	if sp := strings.IndexByte(addr, ' '); sp >= 0 {
		addr, tail = addr[:sp], addr[sp:]
	}
	if addr == "" {
		return false
	}
	ev.User.Name = rest[:k]
	setHostOrIP(ev, addr)
	if port, _, ok := cutPort(tail); ok {
		ev.Source.Port = port
	}
	return true
}

// sshInvalidUser reads "USER from ADDR[ port N]" after "Invalid user ". The
// line stands for one failed attempt (see SSHDTracker).
func sshInvalidUser(ev *schemas.Event, rest string) {
	if sshUserFrom(ev, rest) {
		set(ev, DatasetSSHD, schemas.CategoryAuthentication, schemas.ActionSSHLogin, schemas.OutcomeFailure, ReasonInvalidUser)
	}
}

// sshPeer reads "[authenticating |invalid ]user USER ADDR[ port N][: TEXT][ [preauth]]"
// or "ADDR[ port N]..." as written after "Connection closed by",
// "Disconnected from" and the like, and records a disconnect.
func sshPeer(ev *schemas.Event, rest, reason string) {
	rest = strings.TrimSuffix(rest, " [preauth]")
	hasUser := false
	for _, p := range [...]string{"authenticating user ", "invalid user ", "user "} {
		if r, ok := strings.CutPrefix(rest, p); ok {
			rest, hasUser = r, true
			break
		}
	}
	// ": TEXT" ends the peer; an IPv6 address has colons but no ": ".
	rest, text, _ := strings.Cut(rest, ": ")
	port := 0
	if k := lastIndex(rest, " port "); k >= 0 {
		if n, tail, ok := cutPort(rest[k:]); ok && tail == "" {
			port, rest = n, rest[:k]
		}
	}
	addr := rest
	if hasUser {
		sp := strings.LastIndexByte(rest, ' ')
		if sp < 0 {
			return
		}
		addr = rest[sp+1:]
		ev.User.Name = rest[:sp]
	}
	if !isIP(addr) {
		ev.User.Name = ""
		return
	}
	setIP(ev, addr)
	ev.Source.Port = port
	if strings.Contains(text, "Too many authentication failures") {
		reason = ReasonTooManyFailures
	}
	set(ev, DatasetSSHD, schemas.CategoryNetwork, schemas.ActionSSHDisconnect, "", reason)
}

// sshReceivedDisconnect reads "ADDR port N:CODE: TEXT" or "ADDR: CODE: TEXT".
func sshReceivedDisconnect(ev *schemas.Event, rest string) {
	word, tail, _ := strings.Cut(rest, " ")
	addr := strings.TrimSuffix(word, ":")
	if !isIP(addr) {
		return
	}
	setIP(ev, addr)
	if len(addr) == len(word) { // "ADDR port N:CODE: TEXT"
		if r, ok := strings.CutPrefix(tail, "port "); ok {
			if port, _, ok := leadingInt(r); ok && port <= 65535 {
				ev.Source.Port = port
			}
		}
	}
	set(ev, DatasetSSHD, schemas.CategoryNetwork, schemas.ActionSSHDisconnect, "", ReasonReceivedDisconnect)
}
