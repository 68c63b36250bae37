package authlog

import "strconv"

// The message texts below follow OpenSSH 8.x/9.x, Linux-PAM, sudo and
// systemd-logind as found in real auth logs.
//
// Shortcoming: only the "sshd" program name and today's message forms are
// produced. OpenSSH 9.8 and later log per-connection lines as
// "sshd-session", and releases before 7.5 wrote "Invalid user X from IP"
// without a port; logs of those shapes need other fixtures.

func itoa(n int) string { return strconv.Itoa(n) }

func msgInvalidUser(user, ip string, port int) string {
	return "Invalid user " + user + " from " + ip + " port " + itoa(port)
}

func msgFailed(user, ip string, port int, invalid bool) string {
	if invalid {
		return "Failed password for invalid user " + user + " from " + ip + " port " + itoa(port) + " ssh2"
	}
	return "Failed password for " + user + " from " + ip + " port " + itoa(port) + " ssh2"
}

// msgRepeated is rsyslog's reduction of identical consecutive lines.
func msgRepeated(n int, inner string) string {
	return "message repeated " + itoa(n) + " times: [ " + inner + "]"
}

func msgAccepted(method, user, ip string, port int, fp string) string {
	s := "Accepted " + method + " for " + user + " from " + ip + " port " + itoa(port) + " ssh2"
	if method == "publickey" {
		s += ": ED25519 SHA256:" + fp
	}
	return s
}

const msgCheckPass = "pam_unix(sshd:auth): check pass; user unknown"

// msgPAMAuthFail is pam_unix's failure line for sshd; user is empty for
// unknown users. Linux-PAM puts two spaces before "user=".
func msgPAMAuthFail(rhost, user string) string {
	s := "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=" + rhost
	if user != "" {
		s += "  user=" + user
	}
	return s
}

func msgPAMMore(n int, rhost, user string) string {
	return "PAM " + itoa(n) + " more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=" +
		rhost + "  user=" + user
}

func msgByeBye(ip string, port int) string {
	return "Received disconnect from " + ip + " port " + itoa(port) + ":11: Bye Bye [preauth]"
}

// msgDisconnected is sshd's closing line; who is "invalid user X",
// "authenticating user X", "user X" or empty.
func msgDisconnected(who, ip string, port int, preauth bool) string {
	s := "Disconnected from "
	if who != "" {
		s += who + " "
	}
	s += ip + " port " + itoa(port)
	if preauth {
		s += " [preauth]"
	}
	return s
}

func msgClosedBy(who, ip string, port int) string {
	s := "Connection closed by "
	if who != "" {
		s += who + " "
	}
	return s + ip + " port " + itoa(port) + " [preauth]"
}

func msgReverse(ip string) string {
	return "reverse mapping checking getaddrinfo for " + rdns(ip) + " [" + ip + "] failed - POSSIBLE BREAK-IN ATTEMPT!"
}

func msgSessionOpened(svc, user string, uid int, by string, byUID int) string {
	s := "pam_unix(" + svc + ":session): session opened for user " + user + "(uid=" + itoa(uid) + ") by "
	if by != "" {
		s += by
	}
	return s + "(uid=" + itoa(byUID) + ")"
}

func msgSessionClosed(svc, user string) string {
	return "pam_unix(" + svc + ":session): session closed for user " + user
}

// sudoUser pads the invoking user the way sudo does ("%8s : ").
func sudoUser(user string) string {
	const pad = "        "
	if len(user) < len(pad) {
		return pad[:len(pad)-len(user)] + user
	}
	return user
}

func msgSudoCommand(user, tty, cmd string) string {
	s := sudoUser(user) + " : "
	if tty != "" {
		s += "TTY=" + tty + " ; "
	}
	return s + "PWD=/home/" + user + " ; USER=root ; COMMAND=" + cmd
}

func msgSudoIncorrect(user string, n int, tty, cmd string) string {
	return sudoUser(user) + " : " + itoa(n) + " incorrect password attempts ; TTY=" + tty +
		" ; PWD=/home/" + user + " ; USER=root ; COMMAND=" + cmd
}

func msgSudoAuthFail(user string, uid int, tty string) string {
	return "pam_unix(sudo:auth): authentication failure; logname=" + user + " uid=" + itoa(uid) +
		" euid=0 tty=/dev/" + tty + " ruser=" + user + " rhost=  user=" + user
}
