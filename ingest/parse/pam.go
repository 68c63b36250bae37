package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// pam reads "pam_MODULE(SERVICE:TYPE): BODY", as written by any Linux-PAM
// module (pam_unix, pam_sss, ...) inside any program's log line.
func pam(ev *schemas.Event, msg string) {
	open := strings.IndexByte(msg, '(')
	if open < 0 {
		return
	}
	inner, body, ok := strings.Cut(msg[open+1:], "): ")
	if !ok {
		return
	}
	service, _, _ := strings.Cut(inner, ":")
	pamBody(ev, service, body)
}

// pamBody reads the text a PAM module logs for service.
func pamBody(ev *schemas.Event, service, body string) {
	switch {
	case strings.HasPrefix(body, "authentication failure; "):
		pamAuthFailure(ev, service, body[len("authentication failure; "):])
	case strings.HasPrefix(body, "session opened for user "):
		pamSession(ev, service, body[len("session opened for user "):], ReasonSessionOpened)
	case strings.HasPrefix(body, "session closed for user "):
		pamSession(ev, service, body[len("session closed for user "):], ReasonSessionClosed)
	case strings.HasPrefix(body, "check pass; user unknown"):
		// Followed by an "authentication failure" line for the same
		// attempt, which is the one that counts.
		set(ev, datasetOf(service), "", "", "", ReasonUserUnknown)
	case body != "" && isDigit(body[0]):
		pamMore(ev, service, body) // old Linux-PAM: "N more authentication failures; ..."
	}
}

// pamMore reads "N more authentication failure[s]; KEY=VALUE ...": N
// further failures that PAM summarised in one line.
func pamMore(ev *schemas.Event, service, s string) {
	n, rest, ok := leadingInt(s)
	if !ok || n == 0 || !strings.HasPrefix(rest, " more authentication failure") {
		return
	}
	_, kv, ok := strings.Cut(rest, "; ")
	if !ok {
		return
	}
	pamAuthFailure(ev, service, kv)
	ev.Event.Count *= n
}

// datasetOf names the dataset for events a PAM service reports.
func datasetOf(service string) string {
	switch service {
	case "sshd":
		return DatasetSSHD
	case "sudo", "sudo-i":
		return DatasetSudo
	case "su", "su-l":
		return DatasetSu
	}
	return DatasetPAM
}

// pamAuthFailure reads the KEY=VALUE list of pam_unix's "authentication
// failure" (logname= uid= euid= tty= ruser= rhost= user=). For su the
// acting user is ruser (else logname) and the target is user; for sudo the
// acting user is ruser, logname or user; for every other service user is
// the one logging in.
func pamAuthFailure(ev *schemas.Event, service, kv string) {
	var logname, ruser, rhost, user string
	for kv != "" {
		tok, rest, _ := strings.Cut(kv, " ")
		kv = rest
		key, value, ok := strings.Cut(tok, "=")
		if !ok {
			continue
		}
		switch key {
		case "logname":
			logname = value
		case "ruser":
			ruser = value
		case "rhost":
			rhost = value
		case "user":
			user = value
		}
	}
	switch ds := datasetOf(service); ds {
	case DatasetSudo:
		set(ev, ds, schemas.CategoryAuthentication, schemas.ActionSudo, schemas.OutcomeFailure, ReasonAuthFailed)
		ev.User.Name = firstOf(ruser, logname, user)
	case DatasetSu:
		set(ev, ds, schemas.CategoryAuthentication, schemas.ActionSu, schemas.OutcomeFailure, ReasonAuthFailed)
		ev.User.Name = firstOf(ruser, logname, "")
		ev.User.Target.Name = user
	default:
		set(ev, ds, schemas.CategoryAuthentication, schemas.ActionPAMAuth, schemas.OutcomeFailure, ReasonAuthFailed)
		ev.User.Name = user
	}
	setHostOrIP(ev, rhost)
}

func firstOf(a, b, c string) string {
	if a != "" {
		return a
	}
	if b != "" {
		return b
	}
	return c
}

// pamSession reads "USER[(uid=N)] by [BY][(uid=N)]" or "USER" after
// "session opened/closed for user ". For su and sudo the session belongs to
// the target account and BY is the acting user; for other services USER
// is the one logging in.
func pamSession(ev *schemas.Event, service, s, reason string) {
	user := s
	if k := strings.IndexAny(s, " ("); k >= 0 {
		user = s[:k]
	}
	by := ""
	if _, b, ok := strings.Cut(s, " by "); ok {
		by = b
		if k := strings.IndexAny(b, " ("); k >= 0 {
			by = b[:k]
		}
	}
	switch ds := datasetOf(service); ds {
	case DatasetSSHD:
		set(ev, ds, schemas.CategorySession, schemas.ActionSSHSession, schemas.OutcomeSuccess, reason)
		ev.User.Name = user
	case DatasetSudo, DatasetSu:
		set(ev, ds, schemas.CategorySession, schemas.ActionPAMSession, schemas.OutcomeSuccess, reason)
		ev.User.Name = by
		ev.User.Target.Name = user
	default:
		set(ev, ds, schemas.CategorySession, schemas.ActionPAMSession, schemas.OutcomeSuccess, reason)
		ev.User.Name = user
	}
}
