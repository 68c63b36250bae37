package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// sudo reads sudo's own log lines, "USER : [PROBLEM ; ]KEY=VALUE ; ... ;
// COMMAND=CMD", and the PAM lines sudo writes. A first field that is not
// KEY=VALUE names a refusal ("3 incorrect password attempts", "user NOT
// in sudoers", "command not allowed").
func sudo(ev *schemas.Event, msg string) {
	if strings.HasPrefix(msg, "pam_") {
		pam(ev, msg)
		return
	}
	msg = strings.TrimLeft(msg, " ")
	user, rest, ok := strings.Cut(msg, " : ")
	if !ok || user == "" || strings.IndexByte(user, ' ') >= 0 {
		return
	}
	first, after, _ := strings.Cut(rest, " ; ")
	if strings.IndexByte(first, '=') < 0 {
		reason := first
		if n, r, ok := leadingInt(first); ok && strings.HasPrefix(r, " incorrect password attempt") {
			reason = ReasonIncorrectPassword
			ev.Event.Count *= n
		}
		set(ev, DatasetSudo, schemas.CategoryAuthentication, schemas.ActionSudo, schemas.OutcomeFailure, reason)
		rest = after
	} else {
		set(ev, DatasetSudo, schemas.CategoryProcess, schemas.ActionSudo, schemas.OutcomeSuccess, "")
	}
	ev.User.Name = user
	// COMMAND comes last and may itself hold " ; ".
	for rest != "" {
		if cmd, ok := strings.CutPrefix(rest, "COMMAND="); ok {
			ev.Process.CommandLine = cmd
			return
		}
		var field string
		field, rest, _ = strings.Cut(rest, " ; ")
		if target, ok := strings.CutPrefix(field, "USER="); ok {
			ev.User.Target.Name = target
		}
	}
}
