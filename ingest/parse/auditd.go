package parse

import (
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// DatasetAuditd is the dataset of Linux audit records.
const DatasetAuditd = "auditd"

// ReasonBadAuditd is an audit record whose type or "audit(SECONDS:SERIAL)"
// stamp cannot be read.
const ReasonBadAuditd = "bad_auditd"

// Actions of audit records beside the account actions they share with
// the shadow tools' messages (see accounts.go).
const (
	auditUserAuth      = "user_auth"
	auditUserAcct      = "user_acct"
	auditUserLogin     = "user_login"
	auditUserLogout    = "user_logout"
	auditSessionStart  = "session_start"
	auditSessionEnd    = "session_end"
	auditCredAcquire   = "cred_acquire"
	auditCredDispose   = "cred_dispose"
	auditCredRefresh   = "cred_refresh"
	auditUserCmd       = "user_cmd"
	auditExecve        = "execve"
	auditSyscall       = "syscall"
	auditConfigChanged = "config_changed"
	auditMACDenied     = "mac_denied"
	auditMACGranted    = "mac_granted"
	auditAnomaly       = "anomaly"
)

// auditMaxArgs bounds the EXECVE arguments kept as labels, and
// auditMaxCmdArgs those joined into the command line: an argument index
// comes from the record, so it must not size a slice unchecked.
const (
	auditMaxArgs    = 64
	auditMaxCmdArgs = 1024
)

func init() {
	register(Source{
		Name:        "auditd",
		Description: "Linux audit records: audit.log lines, audisp syslog forwarding, journald's and the kernel's audit messages, raw or enriched",
		Priority:    25,
		Apps:        []string{"audispd", "audisp-syslog", "audit"},
		Sniff:       auditSniff,
		Reasons:     []string{ReasonBadAuditd},
		Parse:       parseAuditd,
	})
}

// auditSniff reports whether msg is an audit record: "[node=N ][audit:
// ]type=T msg=audit(" or the kernel's "type=NNNN audit(". It looks at no
// more than the record's first 80 bytes after the type.
func auditSniff(msg string) bool {
	s := msg
	if strings.HasPrefix(s, "node=") {
		sp := strings.IndexByte(s, ' ')
		if sp < 0 {
			return false
		}
		s = s[sp+1:]
	}
	s = strings.TrimPrefix(s, "audit: ")
	if !strings.HasPrefix(s, "type=") {
		return false
	}
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.Contains(s, " msg=audit(") || strings.Contains(s, " audit(")
}

// auditRecord is an audit record's header: the parts before its fields.
type auditRecord struct {
	node, typ, serial string
	sec, msec         int64
	stamped           bool
	body, enriched    string
}

// parseAuditd reads one audit record into ev. Each record is one event:
// the SYSCALL, EXECVE, PATH and PROCTITLE records of one system call
// share a serial (labels["sequence"]) but are not joined here.
func parseAuditd(_ *Parser, in Input, ev *schemas.Event) *Error {
	var rec auditRecord
	if err := auditHeader(in, &rec); err != nil {
		ev.Event.Dataset = DatasetAuditd
		return err
	}
	ev.Event.Dataset = DatasetAuditd
	ev.Event.Code = auditTypeName(rec.typ)
	ev.Observer.Vendor, ev.Observer.Product = "Linux", "auditd"
	if rec.node != "" {
		ev.Host.Name = rec.node
	}
	if rec.stamped && ev.Timestamp.IsZero() {
		ev.Timestamp = time.Unix(rec.sec, rec.msec*int64(time.Millisecond)).UTC()
	}
	var f auditFieldSet
	f.typ = ev.Event.Code
	if rec.serial != "" {
		f.label(ev, "sequence", rec.serial)
	}
	if f.typ == "AVC" || f.typ == "USER_AVC" {
		f.avc(rec.body)
	}
	sc := auditScanner{s: rec.body}
	for {
		k, v, quoted, ok := sc.next()
		if !ok {
			break
		}
		f.field(ev, k, v, quoted)
	}
	sc = auditScanner{s: rec.enriched}
	for {
		k, v, _, ok := sc.next()
		if !ok {
			break
		}
		f.enrichedField(ev, k, v)
	}
	f.finish(ev)
	return nil
}

// auditHeader reads "[node=N ][audit: ]type=T msg=audit(S.MS:SERIAL): ",
// the kernel's "type=NNNN audit(S.MS:SERIAL): " and, from journald
// (program "audit"), "TYPE FIELDS". The fields after a group separator
// (0x1d, or rsyslog's "#035" escape of it) are the enriched ones.
func auditHeader(in Input, rec *auditRecord) *Error {
	msg := in.Msg
	s := strings.TrimLeft(msg, " ")
	at := func() int { return len(msg) - len(s) }
	if rest, ok := strings.CutPrefix(s, "node="); ok {
		sp := strings.IndexByte(rest, ' ')
		if sp < 0 {
			return fail(ReasonBadAuditd, "nothing after node=", at())
		}
		rec.node, s = rest[:sp], strings.TrimLeft(rest[sp+1:], " ")
	}
	s = strings.TrimPrefix(s, "audit: ")
	if rest, ok := strings.CutPrefix(s, "type="); ok {
		sp := strings.IndexByte(rest, ' ')
		if sp <= 0 {
			return fail(ReasonBadAuditd, "expected a record type and a space after type=", at())
		}
		rec.typ, s = rest[:sp], strings.TrimLeft(rest[sp+1:], " ")
		if rest, ok := strings.CutPrefix(s, "msg=audit("); ok {
			s = rest
		} else if rest, ok := strings.CutPrefix(s, "audit("); ok {
			s = rest
		} else {
			return fail(ReasonBadAuditd, "expected msg=audit( after the record type", at())
		}
		if err := auditStamp(&s, rec); err != nil {
			err.Detail += " at byte " + strconv.Itoa(at())
			return err
		}
	} else {
		// journald: "USER_LOGIN pid=1 uid=0 ..."
		sp := strings.IndexByte(s, ' ')
		if sp <= 0 || !auditTypeWord(s[:sp]) {
			return fail(ReasonBadAuditd, "expected type= or a record type in capitals", at())
		}
		rec.typ, s = s[:sp], s[sp+1:]
	}
	if i := strings.IndexByte(s, 0x1d); i >= 0 {
		rec.body, rec.enriched = s[:i], s[i+1:]
	} else if i := strings.Index(s, "#035"); i >= 0 {
		rec.body, rec.enriched = s[:i], s[i+4:]
	} else {
		rec.body = s
	}
	return nil
}

// auditStamp reads "SECONDS.MILLIS:SERIAL)" and the ": " or " : " after
// it from *s.
func auditStamp(s *string, rec *auditRecord) *Error {
	t := *s
	i := 0
	for i < len(t) && i < 12 && isDigit(t[i]) {
		rec.sec = rec.sec*10 + int64(t[i]-'0')
		i++
	}
	if i == 0 || i >= len(t) || t[i] != '.' {
		return &Error{Reason: ReasonBadAuditd, Detail: "expected seconds and a dot in audit(SECONDS.MILLIS:SERIAL)"}
	}
	i++
	j := i
	for i < len(t) && i-j < 3 && isDigit(t[i]) {
		rec.msec = rec.msec*10 + int64(t[i]-'0')
		i++
	}
	if i-j != 3 || i >= len(t) || t[i] != ':' {
		return &Error{Reason: ReasonBadAuditd, Detail: "expected three digits of milliseconds and a colon in audit(SECONDS.MILLIS:SERIAL)"}
	}
	i++
	j = i
	for i < len(t) && i-j < 20 && isDigit(t[i]) {
		i++
	}
	if i == j || i >= len(t) || t[i] != ')' {
		return &Error{Reason: ReasonBadAuditd, Detail: "expected a serial number and ')' in audit(SECONDS.MILLIS:SERIAL)"}
	}
	rec.serial = t[j:i]
	rest := t[i+1:]
	if r, ok := strings.CutPrefix(rest, ":"); ok {
		rest = r
	} else if r, ok := strings.CutPrefix(rest, " :"); ok {
		rest = r
	}
	*s = strings.TrimLeft(rest, " ")
	rec.stamped = true
	return nil
}

// auditTypeWord reports whether w looks like a record type name: capitals,
// digits and underscores, starting with a capital.
func auditTypeWord(w string) bool {
	if w == "" || w[0] < 'A' || w[0] > 'Z' {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if (c < 'A' || c > 'Z') && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

// auditTypeName returns the name of a record type the kernel wrote as a
// number (type=1400), or t itself.
func auditTypeName(t string) string {
	if t == "" || !isDigit(t[0]) {
		return t
	}
	switch t {
	case "1006":
		return "LOGIN"
	case "1100":
		return "USER_AUTH"
	case "1101":
		return "USER_ACCT"
	case "1102":
		return "USER_MGMT"
	case "1103":
		return "CRED_ACQ"
	case "1104":
		return "CRED_DISP"
	case "1105":
		return "USER_START"
	case "1106":
		return "USER_END"
	case "1107":
		return "USER_AVC"
	case "1108":
		return "USER_CHAUTHTOK"
	case "1109":
		return "USER_ERR"
	case "1110":
		return "CRED_REFR"
	case "1112":
		return "USER_LOGIN"
	case "1113":
		return "USER_LOGOUT"
	case "1114":
		return "ADD_USER"
	case "1115":
		return "DEL_USER"
	case "1116":
		return "ADD_GROUP"
	case "1117":
		return "DEL_GROUP"
	case "1123":
		return "USER_CMD"
	case "1130":
		return "SERVICE_START"
	case "1131":
		return "SERVICE_STOP"
	case "1132":
		return "GRP_MGMT"
	case "1133":
		return "GRP_CHAUTHTOK"
	case "1135":
		return "ACCT_LOCK"
	case "1136":
		return "ACCT_UNLOCK"
	case "1300":
		return "SYSCALL"
	case "1302":
		return "PATH"
	case "1305":
		return "CONFIG_CHANGE"
	case "1307":
		return "CWD"
	case "1309":
		return "EXECVE"
	case "1327":
		return "PROCTITLE"
	case "1400":
		return "AVC"
	case "1700":
		return "ANOM_PROMISCUOUS"
	case "1701":
		return "ANOM_ABEND"
	case "1702":
		return "ANOM_LINK"
	case "1703":
		return "ANOM_CREAT"
	case "2100":
		return "ANOM_LOGIN_FAILURES"
	case "2101":
		return "ANOM_LOGIN_TIME"
	case "2102":
		return "ANOM_LOGIN_SESSIONS"
	case "2103":
		return "ANOM_LOGIN_ACCT"
	case "2104":
		return "ANOM_LOGIN_LOCATION"
	case "2112":
		return "ANOM_EXEC"
	case "2117":
		return "ANOM_ROOT_TRANS"
	}
	return t
}

// auditScanner walks the KEY=VALUE fields of a record. A value is a word,
// "a quoted string" or, for msg='...', the fields of a user-space
// message, which the scanner walks in turn. Words without '=' (the "avc:
// denied { read } for" of an AVC record) are skipped.
type auditScanner struct {
	s     string
	inner string
}

func (sc *auditScanner) next() (key, val string, quoted, ok bool) {
	for {
		src := &sc.s
		if sc.inner != "" {
			src = &sc.inner
		}
		s := *src
		for s != "" && s[0] == ' ' {
			s = s[1:]
		}
		if s == "" {
			*src = ""
			if src == &sc.inner {
				continue
			}
			return "", "", false, false
		}
		end := 0
		for end < len(s) && s[end] != ' ' && s[end] != '=' {
			end++
		}
		if end == len(s) || s[end] == ' ' || end == 0 {
			// Not a field: skip the word.
			sp := strings.IndexByte(s, ' ')
			if sp < 0 {
				*src = ""
			} else {
				*src = s[sp:]
			}
			continue
		}
		key, v := s[:end], s[end+1:]
		switch {
		case v != "" && v[0] == '"':
			c := strings.IndexByte(v[1:], '"')
			if c < 0 {
				val, *src = v[1:], ""
			} else {
				val, *src = v[1:1+c], v[2+c:]
			}
			return key, val, true, true
		case v != "" && v[0] == '\'':
			c := strings.IndexByte(v[1:], '\'')
			var in string
			if c < 0 {
				in, *src = v[1:], ""
			} else {
				in, *src = v[1:1+c], v[2+c:]
			}
			if key == "msg" && src == &sc.s {
				sc.inner = in
				continue
			}
			return key, in, true, true
		}
		sp := strings.IndexByte(v, ' ')
		if sp < 0 {
			val, *src = v, ""
			return key, val, false, true
		}
		if key == "op" {
			// Older shadow tools wrote "op=adding user id=1001": the
			// words up to the next field belong to op.
			for {
				w := sp + 1
				for w < len(v) && v[w] == ' ' {
					w++
				}
				e := w
				for e < len(v) && v[e] != ' ' && v[e] != '=' && v[e] != '"' && v[e] != '\'' {
					e++
				}
				if e == w || (e < len(v) && v[e] != ' ') {
					break
				}
				sp = e
				if e == len(v) {
					break
				}
			}
		}
		val, *src = v[:sp], v[sp:]
		return key, val, false, true
	}
}

// auditFieldSet collects the fields of one record that are mapped only
// once all are read.
type auditFieldSet struct {
	typ                        string
	auid, uid, id              string
	auidName, uidName, idName  string
	acct, grp                  string
	success, res               string
	hostname, addr, op         string
	decision, perms            string
	args                       []string
	configItem                 string
	proctitle, cmd             string
	pathName, avcPath, avcName string
}

// label records a field that has no place in the schema.
func (f *auditFieldSet) label(ev *schemas.Event, k, v string) {
	if ev.Labels == nil {
		ev.Labels = make(map[string]string, 16)
	}
	ev.Labels[k] = v
}

// avc reads the "avc:  denied  { read write } for" start of an AVC record.
func (f *auditFieldSet) avc(body string) {
	rest, ok := strings.CutPrefix(strings.TrimLeft(body, " "), "avc:")
	if !ok {
		return
	}
	rest = strings.TrimLeft(rest, " ")
	f.decision = accountsWord(rest)
	if open := strings.IndexByte(rest, '{'); open >= 0 {
		if end := strings.IndexByte(rest[open:], '}'); end > 0 {
			f.perms = strings.TrimSpace(rest[open+1 : open+end])
		}
	}
}

// field maps one KEY=VALUE of the record.
func (f *auditFieldSet) field(ev *schemas.Event, k, v string, quoted bool) {
	switch k {
	case "pid":
		ev.Process.PID = atoiPID(v)
	case "ppid":
		ev.Process.Parent.PID = atoiPID(v)
	case "auid":
		f.auid = v
		f.label(ev, k, v)
	case "uid":
		f.uid = v
		f.label(ev, k, v)
	case "id":
		f.id = v
	case "acct":
		f.acct = auditDecode(v, quoted)
	case "grp":
		f.grp = auditDecode(v, quoted)
	case "exe":
		ev.Process.Executable = auditDecode(v, quoted)
	case "comm":
		ev.Process.Name = auditDecode(v, quoted)
	case "key":
		ev.Rule.Name = auditDecode(v, quoted)
	case "success":
		f.success = v
	case "res", "result":
		f.res = v
	case "hostname":
		f.hostname = v
	case "addr":
		f.addr = v
	case "op":
		f.op = v
		f.label(ev, k, v)
	case "cmd":
		f.cmd = auditDecode(v, quoted)
	case "proctitle":
		f.proctitle = auditProctitle(v, quoted)
	case "name":
		if f.typ == "AVC" {
			f.avcName = auditDecode(v, quoted)
		} else {
			f.pathName = auditDecode(v, quoted)
		}
	case "path":
		f.avcPath = auditDecode(v, quoted)
	case "apparmor":
		f.decision = strings.ToLower(v)
		f.label(ev, k, v)
	case "seresult":
		f.decision = v
	case "requested_mask", "denied_mask":
		if f.perms == "" {
			f.perms = v
		}
		f.label(ev, k, v)
	default:
		if f.typ == "EXECVE" && len(k) > 1 && k[0] == 'a' && isDigit(k[1]) {
			f.execArg(ev, k, v, quoted)
			return
		}
		if f.typ == "CONFIG_CHANGE" && f.configItem == "" && strings.HasPrefix(k, "audit_") {
			f.configItem = k
		}
		if auditEncoded(k) {
			v = auditDecode(v, quoted)
		}
		f.label(ev, k, v)
	}
}

// execArg keeps EXECVE's a0, a1, ... (and aN[i] pieces of a long
// argument, whose aN_len field comes first) in order.
func (f *auditFieldSet) execArg(ev *schemas.Event, k, v string, quoted bool) {
	i := 1
	n := 0
	for i < len(k) && isDigit(k[i]) && i < 8 {
		n = n*10 + int(k[i]-'0')
		i++
	}
	switch {
	case i == len(k):
	case k[i:] == "_len":
		return
	case k[i] == '[':
	default:
		f.label(ev, k, v)
		return
	}
	if n >= auditMaxCmdArgs {
		return
	}
	v = auditDecode(v, quoted)
	if n < len(f.args) {
		f.args[n] += v
		return
	}
	for len(f.args) < n {
		f.args = append(f.args, "")
	}
	f.args = append(f.args, v)
}

// enrichedField maps one field of the enriched part: the names auditd
// resolved for the record's ids.
func (f *auditFieldSet) enrichedField(ev *schemas.Event, k, v string) {
	switch k {
	case "AUID":
		f.auidName = v
	case "UID":
		f.uidName = v
	case "ID":
		f.idName = v
	default:
		f.label(ev, k, v)
	}
}

// auditUnset reports whether an id field holds no id: the login uid of a
// process no one logged in to is 4294967295, written -1 or "unset" by some
// tools.
func auditUnset(id string) bool {
	return id == "" || id == "4294967295" || id == "-1" || id == "unset" || id == "?"
}

// auditSwitcher reports whether exe is a program that runs commands as
// another account: its records name that account in acct.
func auditSwitcher(exe string) bool {
	base := exe[strings.LastIndexByte(exe, '/')+1:]
	switch base {
	case "su", "sudo", "runuser", "pkexec", "doas", "sudo-rs", "su-rs":
		return true
	}
	return false
}

// finish maps the collected fields by the kind of record.
func (f *auditFieldSet) finish(ev *schemas.Event) {
	ev.Event.Outcome = auditOutcome(f.success, f.res)
	// The acting user: the login uid when set, else the process's uid.
	actorID, actorName := f.uid, f.uidName
	if !auditUnset(f.auid) {
		actorID, actorName = f.auid, f.auidName
	}
	account := f.acct
	if account == "" {
		account = f.idName
	}
	switch f.typ {
	case "USER_AUTH", "USER_ACCT", "USER_LOGIN", "USER_LOGOUT", "USER_START", "USER_END",
		"CRED_ACQ", "CRED_DISP", "CRED_REFR", "USER_ERR", "GRP_AUTH",
		"ANOM_LOGIN_FAILURES", "ANOM_LOGIN_TIME", "ANOM_LOGIN_SESSIONS", "ANOM_LOGIN_ACCT", "ANOM_LOGIN_LOCATION":
		// The record is about the account logging in (acct=, id=). Under
		// su or sudo the login uid is someone else: the actor, and the
		// account is the target.
		switching := !auditUnset(f.auid) && (auditSwitcher(ev.Process.Executable) ||
			(f.auidName != "" && account != "" && f.auidName != account))
		if switching {
			ev.User.ID, ev.User.Name = f.auid, f.auidName
			ev.User.Target.Name, ev.User.Target.ID = account, f.id
		} else {
			ev.User.Name, ev.User.ID = account, f.id
			if account == "" {
				ev.User.Name = actorName
			}
			if f.id == "" && !auditUnset(f.auid) {
				ev.User.ID = f.auid
			}
		}
		f.source(ev)
		f.loginAction(ev)
	case "ADD_USER", "DEL_USER", "USER_MGMT", "USER_CHAUTHTOK", "ACCT_LOCK", "ACCT_UNLOCK", "CHUSER_ID",
		"ADD_GROUP", "DEL_GROUP", "GRP_MGMT", "GRP_CHAUTHTOK", "CHGRP_ID":
		ev.User.ID, ev.User.Name = actorID, actorName
		f.accountAction(ev, account)
		f.source(ev)
	default:
		if !auditUnset(actorID) {
			ev.User.ID = actorID
		}
		ev.User.Name = actorName
		f.kernelAction(ev)
	}
	if f.hostname != "" && f.hostname != "?" && ev.Source.IP == "" && ev.Source.Domain == "" {
		f.label(ev, "hostname", f.hostname)
	}
	if ev.Process.CommandLine == "" {
		switch {
		case f.cmd != "":
			ev.Process.CommandLine = f.cmd
		case len(f.args) > 0:
			ev.Process.CommandLine = strings.Join(f.args, " ")
		case f.proctitle != "":
			ev.Process.CommandLine = f.proctitle
		}
	}
	for i, a := range f.args {
		if i >= auditMaxArgs {
			break
		}
		f.label(ev, auditArgKey(i), a)
	}
}

// auditArgKey returns "a0" ... "a63" without formatting.
func auditArgKey(i int) string {
	const keys = "a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 "
	if i < 10 {
		return keys[i*3 : i*3+2]
	}
	return "a" + strconv.Itoa(i)
}

// auditOutcome reads success= (system calls) or res= (user-space records).
func auditOutcome(success, res string) string {
	switch success {
	case "yes":
		return schemas.OutcomeSuccess
	case "no":
		return schemas.OutcomeFailure
	}
	switch res {
	case "success", "1", "yes":
		return schemas.OutcomeSuccess
	case "failed", "fail", "failure", "0", "no":
		return schemas.OutcomeFailure
	}
	return ""
}

// source sets source.ip from addr= and source.domain from hostname= when
// the record names a remote peer.
func (f *auditFieldSet) source(ev *schemas.Event) {
	if f.addr != "" && f.addr != "?" && isIP(f.addr) {
		setIP(ev, f.addr)
		if f.hostname != "" && f.hostname != "?" && f.hostname != f.addr && !isIP(f.hostname) {
			setDomain(ev, f.hostname)
		}
	}
}

// loginAction sets the meaning of a login, session or credential record.
func (f *auditFieldSet) loginAction(ev *schemas.Event) {
	e := &ev.Event
	switch f.typ {
	case "USER_AUTH":
		e.Category, e.Type, e.Action = schemas.CategoryAuthentication, schemas.TypeInfo, auditUserAuth
	case "USER_ACCT":
		e.Category, e.Type, e.Action = schemas.CategoryAuthentication, schemas.TypeInfo, auditUserAcct
	case "USER_LOGIN":
		e.Category, e.Type, e.Action = schemas.CategoryAuthentication, schemas.TypeStart, auditUserLogin
	case "USER_LOGOUT":
		e.Category, e.Type, e.Action = schemas.CategorySession, schemas.TypeEnd, auditUserLogout
	case "USER_START":
		e.Category, e.Type, e.Action = schemas.CategorySession, schemas.TypeStart, auditSessionStart
	case "USER_END":
		e.Category, e.Type, e.Action = schemas.CategorySession, schemas.TypeEnd, auditSessionEnd
	case "CRED_ACQ":
		e.Category, e.Type, e.Action = schemas.CategoryAuthentication, schemas.TypeInfo, auditCredAcquire
	case "CRED_DISP":
		e.Category, e.Type, e.Action = schemas.CategoryAuthentication, schemas.TypeInfo, auditCredDispose
	case "CRED_REFR":
		e.Category, e.Type, e.Action = schemas.CategoryAuthentication, schemas.TypeInfo, auditCredRefresh
	case "ANOM_LOGIN_FAILURES", "ANOM_LOGIN_TIME", "ANOM_LOGIN_SESSIONS", "ANOM_LOGIN_ACCT", "ANOM_LOGIN_LOCATION":
		f.anomaly(ev)
	}
}

// accountAction sets the meaning of an account or group record: the
// acting user stays in user.*, the account changed goes to user.target.*
// and the group to group.*.
func (f *auditFieldSet) accountAction(ev *schemas.Event, account string) {
	group := false
	action, typ, reason := accountsUserModified, schemas.TypeChange, ""
	switch f.typ {
	case "ADD_USER":
		action, typ = accountsUserCreated, schemas.TypeCreation
	case "DEL_USER":
		action, typ = accountsUserDeleted, schemas.TypeDeletion
	case "USER_CHAUTHTOK":
		action = accountsPasswordChanged
	case "ACCT_LOCK":
		reason = "account locked"
	case "ACCT_UNLOCK":
		reason = "account unlocked"
	case "USER_MGMT":
		// shadow's usermod and gpasswd name group membership changes in
		// op=; the words differ between releases.
		op := f.op
		if strings.Contains(op, "group") {
			switch {
			case strings.Contains(op, "add"):
				action = accountsGroupMemberAdded
			case strings.Contains(op, "delete"), strings.Contains(op, "remove"):
				action = accountsGroupMemberRemoved
			}
		}
	case "ADD_GROUP":
		group, action, typ = true, accountsGroupCreated, schemas.TypeCreation
	case "DEL_GROUP":
		group, action, typ = true, accountsGroupDeleted, schemas.TypeDeletion
	case "GRP_MGMT", "GRP_CHAUTHTOK", "CHGRP_ID":
		group, action = true, accountsGroupModified
	}
	setAccount(ev, action, typ, ev.Event.Outcome, reason)
	if group {
		ev.Group.Name, ev.Group.ID = f.grp, f.id
		if ev.Group.Name == "" {
			ev.Group.Name = account
		}
		return
	}
	ev.User.Target.Name, ev.User.Target.ID = account, f.id
	if f.grp != "" {
		ev.Group.Name = f.grp
	}
}

// kernelAction sets the meaning of the other records.
func (f *auditFieldSet) kernelAction(ev *schemas.Event) {
	e := &ev.Event
	switch f.typ {
	case "SYSCALL":
		e.Category, e.Type, e.Action = schemas.CategoryProcess, schemas.TypeInfo, auditSyscall
	case "EXECVE":
		e.Category, e.Type, e.Action = schemas.CategoryProcess, schemas.TypeStart, auditExecve
	case "USER_CMD":
		e.Category, e.Type, e.Action = schemas.CategoryProcess, schemas.TypeStart, auditUserCmd
	case "PATH":
		ev.File.Path = f.pathName
	case "CONFIG_CHANGE":
		e.Category, e.Type, e.Action = schemas.CategoryConfiguration, schemas.TypeChange, auditConfigChanged
		ev.Change.Item = f.op
		if ev.Change.Item == "" {
			ev.Change.Item = f.configItem
		}
	case "AVC":
		f.mac(ev)
	default:
		if strings.HasPrefix(f.typ, "ANOM_") {
			f.anomaly(ev)
		}
	}
}

// mac reads an SELinux or AppArmor decision.
func (f *auditFieldSet) mac(ev *schemas.Event) {
	e := &ev.Event
	ev.File.Path, ev.File.Name = f.avcPath, f.avcName
	if f.avcPath == "" && strings.HasPrefix(f.avcName, "/") {
		// AppArmor writes the whole path in name=; SELinux writes the
		// last element there and the path, when known, in path=.
		ev.File.Path, ev.File.Name = f.avcName, f.avcName[strings.LastIndexByte(f.avcName, '/')+1:]
	}
	e.Category = schemas.CategoryProcess
	if ev.File.Path != "" || ev.File.Name != "" {
		e.Category = schemas.CategoryFile
	}
	e.Reason = f.perms
	switch f.decision {
	case "denied":
		e.Type, e.Action, e.Outcome = schemas.TypeDenied, auditMACDenied, schemas.OutcomeFailure
	case "granted", "allowed":
		e.Type, e.Action, e.Outcome = schemas.TypeAllowed, auditMACGranted, schemas.OutcomeSuccess
	default:
		e.Category = ""
	}
}

// anomaly sets the meaning of an ANOM_* record.
func (f *auditFieldSet) anomaly(ev *schemas.Event) {
	e := &ev.Event
	// res= of an anomaly record says the record was written, not that
	// anything succeeded: the outcome does not apply.
	e.Category, e.Type, e.Action, e.Outcome = schemas.CategoryIntrusionDetection, schemas.TypeInfo, auditAnomaly, ""
	switch f.typ {
	case "ANOM_ABEND":
		e.Reason = "abnormal end"
	case "ANOM_PROMISCUOUS":
		e.Reason = "promiscuous mode"
	case "ANOM_LINK":
		e.Reason = "suspicious link"
	case "ANOM_CREAT":
		e.Reason = "suspicious file creation"
	case "ANOM_LOGIN_FAILURES":
		e.Reason = "login failure limit"
	case "ANOM_LOGIN_TIME":
		e.Reason = "login at a forbidden time"
	case "ANOM_LOGIN_SESSIONS":
		e.Reason = "session limit"
	case "ANOM_LOGIN_ACCT":
		e.Reason = "login to a watched account"
	case "ANOM_LOGIN_LOCATION":
		e.Reason = "login from a forbidden location"
	case "ANOM_EXEC":
		e.Reason = "execution ended abnormally"
	case "ANOM_ROOT_TRANS":
		e.Reason = "user became root"
	}
}

// auditEncoded reports whether the linux-audit field dictionary marks a
// field as encoded: a value in double quotes is literal, a bare value is
// hexadecimal (or "(null)").
func auditEncoded(k string) bool {
	switch k {
	case "acct", "cgroup", "cmd", "comm", "cwd", "data", "device", "dir", "exe", "file", "grp",
		"invalid_context", "key", "name", "ocomm", "path", "proctitle", "vm", "watch",
		"new-chardev", "old-chardev", "new-disk", "old-disk", "new-fs", "old-fs",
		"new-net", "old-net", "new-rng", "old-rng":
		return true
	}
	return false
}

// auditDecode returns an encoded field's text: a quoted value as it is,
// a bare hexadecimal value decoded, "(null)" as empty. It allocates only
// to decode.
func auditDecode(v string, quoted bool) string {
	if quoted {
		return v
	}
	if v == "(null)" {
		return ""
	}
	if b, ok := auditHex(v); ok {
		return b
	}
	return v
}

// auditProctitle decodes a PROCTITLE value, whose arguments are separated
// by NUL bytes, into a command line.
func auditProctitle(v string, quoted bool) string {
	s := auditDecode(v, quoted)
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.TrimRight(strings.ReplaceAll(s, "\x00", " "), " ")
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// auditHex decodes an even-length hexadecimal string.
func auditHex(v string) (string, bool) {
	if v == "" || len(v)%2 != 0 {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		if _, ok := hexVal(v[i]); !ok {
			return "", false
		}
	}
	var b strings.Builder
	b.Grow(len(v) / 2)
	for i := 0; i < len(v); i += 2 {
		hi, _ := hexVal(v[i])
		lo, _ := hexVal(v[i+1])
		b.WriteByte(hi<<4 | lo)
	}
	return b.String(), true
}
