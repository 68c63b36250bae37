package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// su reads the lines of the su implementations in use (shadow-utils,
// util-linux, BSD) and the PAM lines su writes.
func su(ev *schemas.Event, msg string) {
	switch {
	case msg == "pam_authenticate: Authentication failure":
		set(ev, DatasetSu, schemas.CategoryAuthentication, schemas.ActionSu, schemas.OutcomeFailure, ReasonAuthFailed)
	case strings.HasPrefix(msg, "pam_"):
		pam(ev, msg)
	case strings.HasPrefix(msg, "FAILED SU (to "): // "FAILED SU (to T) U on TTY"
		suParen(ev, msg[len("FAILED SU (to "):], false)
	case strings.HasPrefix(msg, "(to "): // "(to T) U on TTY"
		suParen(ev, msg[len("(to "):], true)
	case strings.HasPrefix(msg, "Successful su for "): // "Successful su for T by U"
		suBy(ev, msg[len("Successful su for "):], true)
	case strings.HasPrefix(msg, "FAILED su for "): // "FAILED su for T by U"
		suBy(ev, msg[len("FAILED su for "):], false)
	case strings.HasPrefix(msg, "+ "), strings.HasPrefix(msg, "- "): // "+ TTY U:T"
		_, pair, ok := strings.Cut(msg[2:], " ")
		if user, target, ok2 := strings.Cut(pair, ":"); ok && ok2 && user != "" && target != "" {
			suResult(ev, user, target, msg[0] == '+')
		}
	case strings.HasPrefix(msg, "BAD SU "): // "BAD SU U to T on TTY"
		suToOn(ev, msg[len("BAD SU "):], false)
	case strings.HasPrefix(msg, "'su "): // "'su T' failed for U on TTY"
		target, rest, ok := strings.Cut(msg[len("'su "):], "' failed for ")
		if ok {
			user, _, _ := strings.Cut(rest, " on ")
			suResult(ev, user, target, false)
		}
	default: // BSD: "U to T on TTY"
		suToOn(ev, msg, true)
	}
}

func suParen(ev *schemas.Event, s string, success bool) {
	target, rest, ok := strings.Cut(s, ") ")
	if !ok {
		return
	}
	user, _, _ := strings.Cut(rest, " on ")
	suResult(ev, user, target, success)
}

func suBy(ev *schemas.Event, s string, success bool) {
	if target, user, ok := strings.Cut(s, " by "); ok {
		suResult(ev, user, target, success)
	}
}

func suToOn(ev *schemas.Event, s string, success bool) {
	user, rest, ok := strings.Cut(s, " to ")
	if !ok || strings.IndexByte(user, ' ') >= 0 {
		return
	}
	target, _, ok := strings.Cut(rest, " on ")
	if !ok || strings.IndexByte(target, ' ') >= 0 {
		return
	}
	suResult(ev, user, target, success)
}

func suResult(ev *schemas.Event, user, target string, success bool) {
	if user == "" || target == "" {
		return
	}
	ev.User.Name = user
	ev.User.Target.Name = target
	if success {
		set(ev, DatasetSu, schemas.CategoryAuthentication, schemas.ActionSu, schemas.OutcomeSuccess, "")
	} else {
		set(ev, DatasetSu, schemas.CategoryAuthentication, schemas.ActionSu, schemas.OutcomeFailure, ReasonAuthFailed)
	}
}
