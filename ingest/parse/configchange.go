package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Datasets of the configuration-change messages config_change reads.
const (
	DatasetCiscoIOS     = "cisco_ios"
	DatasetCiscoNXOS    = "cisco_nxos"
	DatasetJuniperJunos = "juniper_junos"
	DatasetMikroTik     = "mikrotik"
	DatasetArubaSwitch  = "aruba_switch"
)

// ReasonBadConfigChange is a Cisco message whose "%FACILITY-SEVERITY-
// MNEMONIC:" tag is cut short.
const ReasonBadConfigChange = "bad_config_change"

// cfgChanged is the action of every configuration change.
const cfgChanged = "config_changed"

// The Cisco messages config_change reads, as their tags start.
const (
	cfgIOSConfig   = "%SYS-5-CONFIG"
	cfgIOSCfgLog   = "%PARSER-5-CFGLOG"
	cfgNXOSConfig  = "%VSHD-5-VSHD_SYSLOG_CONFIG"
	cfgSniffWindow = 160
)

func init() {
	register(Source{
		Name:        "config_change",
		Description: "configuration changes of network devices: Cisco IOS and NX-OS, Juniper Junos, MikroTik RouterOS, HPE Aruba switches",
		Priority:    40,
		Apps:        []string{"mgd"},
		AppPrefixes: []string{cfgIOSConfig, cfgIOSCfgLog, cfgNXOSConfig},
		Sniff:       cfgSniff,
		Reasons:     []string{ReasonBadConfigChange},
		Parse:       parseConfigChange,
	})
}

// cfgSniff reports whether msg is a configuration-change message: a Cisco
// tag config_change reads within the message's first bytes (after a
// sequence number and the device's own timestamp), a Junos UI_COMMIT or
// UI_CFG_AUDIT message, MikroTik's "system,... by WHO", or an Aruba
// switch's "mgr:" configuration message.
func cfgSniff(msg string) bool {
	if cfgCiscoAt(msg) >= 0 {
		return true
	}
	switch {
	case strings.HasPrefix(msg, "UI_COMMIT"), strings.HasPrefix(msg, "UI_CFG_AUDIT"):
		return true
	case strings.HasPrefix(msg, "system,"):
		return strings.Contains(msg, " by ")
	}
	_, ok := cfgArubaText(msg)
	return ok
}

// cfgCiscoAt returns where a Cisco tag that config_change reads starts in
// the first cfgSniffWindow bytes of msg, or -1.
func cfgCiscoAt(msg string) int {
	w := msg
	if len(w) > cfgSniffWindow {
		w = w[:cfgSniffWindow]
	}
	off := 0
	for {
		i := strings.IndexByte(w[off:], '%')
		if i < 0 {
			return -1
		}
		s := w[off+i:]
		if strings.HasPrefix(s, cfgIOSConfig) || strings.HasPrefix(s, cfgIOSCfgLog) || strings.HasPrefix(s, cfgNXOSConfig) {
			return off + i
		}
		off += i + 1
	}
}

// parseConfigChange reads a configuration-change message. A message of a
// known device that is not a change keeps its dataset, code and observer
// and gets no action.
func parseConfigChange(p *Parser, in Input, ev *schemas.Event) *Error {
	msg := in.Msg
	switch {
	case strings.HasPrefix(in.App, "%"):
		// "HOST %SYS-5-CONFIG_I: Configured ..." reads with the tag as
		// the syslog TAG.
		return cfgCisco(in.App[1:], msg, ev)
	case in.App == "mgd":
		cfgJunos(msg, ev)
		return nil
	}
	if i := cfgCiscoAt(msg); i >= 0 {
		if cfgDigits(in.App) {
			// "145: %SYS-5-CONFIG_I: ..." reads as program "145": the
			// number is the device's message sequence, not a process.
			ev.Process.Name, ev.Process.PID = "", 0
		}
		if ev.Timestamp.IsZero() {
			cfgDeviceTime(p, msg[:i], in, ev)
		}
		tag, text, ok := strings.Cut(msg[i+1:], ": ")
		if !ok {
			ev.Event.Dataset = DatasetCiscoIOS
			return fail(ReasonBadConfigChange, "expected \": \" after the Cisco message tag", i)
		}
		return cfgCisco(tag, text, ev)
	}
	switch {
	case strings.HasPrefix(msg, "UI_"):
		cfgJunos(msg, ev)
	case strings.HasPrefix(msg, "system,"):
		cfgMikroTik(msg, ev)
	default:
		if text, ok := cfgArubaText(msg); ok {
			cfgAruba(text, ev)
		}
	}
	return nil
}

// cfgDeviceTime reads the device's own timestamp in what precedes a Cisco
// tag ("000051: *Mar  1 00:05:37.123: ") when the line had no syslog
// header time. A word before the timestamp that is not a sequence number
// is the device's name ("logging origin-id hostname"), taken when the
// header named no host.
func cfgDeviceTime(p *Parser, pre string, in Input, ev *schemas.Event) {
	s := strings.TrimLeft(pre, " ")
	for range 3 {
		// '*' marks a clock that is not synchronised, '.' one that lost
		// its source.
		var st stamp
		if _, res := bsdStamp(strings.TrimLeft(s, "*."), &st); res == stampOK {
			if t, ok := p.instant(&st, in.Received); ok {
				ev.Timestamp = t
			}
			return
		}
		word, rest, ok := strings.Cut(s, ": ")
		if !ok || word == "" || strings.IndexByte(word, ' ') >= 0 {
			return
		}
		if !cfgDigits(word) && ev.Host.Name == "" {
			ev.Host.Name = word
		}
		s = strings.TrimLeft(rest, " ")
	}
}

// cfgDigits reports whether s is a non-empty run of digits: an IOS
// sequence number, which syslog readers take for a program name.
func cfgDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// cfgDevice sets what every message of a device shares.
func cfgDevice(ev *schemas.Event, dataset, vendor, product string) {
	ev.Event.Dataset = dataset
	ev.Observer.Vendor, ev.Observer.Product = vendor, product
	ev.Observer.Hostname = ev.Host.Name
}

// cfgSet sets the meaning of a configuration change.
func cfgSet(ev *schemas.Event, item, reason string) {
	e := &ev.Event
	e.Category, e.Type, e.Action, e.Outcome, e.Reason = schemas.CategoryConfiguration, schemas.TypeChange, cfgChanged, schemas.OutcomeSuccess, reason
	ev.Change.Item = item
}

// cfgCisco reads a Cisco message whose tag (without '%') is
// "FACILITY-SEVERITY-MNEMONIC" and whose text follows it.
func cfgCisco(tag, text string, ev *schemas.Event) *Error {
	facility, rest, ok1 := strings.Cut(tag, "-")
	sev, mnemonic, ok2 := strings.Cut(rest, "-")
	if !ok1 || !ok2 || len(sev) != 1 || !isDigit(sev[0]) || mnemonic == "" {
		ev.Event.Dataset = DatasetCiscoIOS
		return &Error{Reason: ReasonBadConfigChange, Detail: "expected a Cisco tag FACILITY-SEVERITY-MNEMONIC"}
	}
	ev.Event.Code = mnemonic
	ev.Event.Severity = int(sev[0] - '0')
	if facility == "VSHD" {
		cfgDevice(ev, DatasetCiscoNXOS, "Cisco", "NX-OS")
	} else {
		cfgDevice(ev, DatasetCiscoIOS, "Cisco", "IOS")
	}
	switch {
	case facility == "SYS" && (mnemonic == "CONFIG_I" || mnemonic == "CONFIG"),
		facility == "VSHD" && mnemonic == "VSHD_SYSLOG_CONFIG_I":
		cfgConfigured(ev, text)
	case facility == "PARSER" && mnemonic == "CFGLOG_LOGGEDCMD":
		cfgLoggedCommand(ev, text)
	}
	return nil
}

// cfgConfigured reads "Configured from METHOD by WHO[ on LINE][ (ADDR)]"
// (IOS) and "Configured from vty by WHO on ADDR@pts/N" (NX-OS). WHO is a
// user name, or a line name (vty0) when the line had no user; "console"
// stays the user, as IOS names it in its command log too.
func cfgConfigured(ev *schemas.Event, text string) {
	rest, ok := strings.CutPrefix(text, "Configured from ")
	if !ok {
		return
	}
	method, who, ok := strings.Cut(rest, " by ")
	cfgSet(ev, "running-config", method)
	if !ok {
		return
	}
	if open := strings.LastIndex(who, " ("); open >= 0 && strings.HasSuffix(who, ")") {
		if addr := who[open+2 : len(who)-1]; isIP(addr) {
			setIP(ev, addr)
		}
		who = who[:open]
	}
	user, line, hasLine := strings.Cut(who, " on ")
	if hasLine {
		if ip, _, ok := strings.Cut(line, "@"); ok && isIP(ip) {
			setIP(ev, ip)
		}
	}
	if !hasLine && cfgIsLine(user) {
		return
	}
	ev.User.Name = user
}

// cfgIsLine reports whether w names a terminal line (vty0, tty2, aux0).
func cfgIsLine(w string) bool {
	for _, p := range [...]string{"vty", "tty", "aux"} {
		if rest, ok := strings.CutPrefix(w, p); ok && rest != "" && isDigit(rest[0]) {
			return true
		}
	}
	return false
}

// cfgLoggedCommand reads the configuration archive's "User:NAME  logged
// command:COMMAND". Commands the log marks "!exec:" ran in exec mode and
// changed nothing.
func cfgLoggedCommand(ev *schemas.Event, text string) {
	rest, ok := strings.CutPrefix(text, "User:")
	if !ok {
		return
	}
	user, cmd, ok := strings.Cut(rest, "logged command:")
	if !ok {
		return
	}
	user = strings.TrimRight(strings.TrimSpace(user), ",")
	cmd = strings.TrimRight(cmd, " ")
	ev.User.Name = user
	ev.Process.CommandLine = cmd
	if strings.HasPrefix(cmd, "!exec:") {
		return
	}
	cfgSet(ev, cmd, "")
}

// cfgJunos reads a message of Junos' management daemon: "UI_COMMIT: User
// 'NAME' requested 'OPERATION' operation (comment: ...)" and "UI_CFG_AUDIT_*:
// User 'NAME' VERB: [PATH] ...". In RFC 5424 form the tag is the MSGID and
// the message is the text alone.
func cfgJunos(msg string, ev *schemas.Event) {
	cfgDevice(ev, DatasetJuniperJunos, "Juniper", "Junos")
	code, text := ev.Log.Syslog.MsgID, msg
	if strings.HasPrefix(msg, "UI_") {
		if c, t, ok := strings.Cut(msg, ": "); ok {
			code, text = c, t
		} else {
			code, text = msg, ""
		}
	}
	if code == "-" {
		code = ""
	}
	ev.Event.Code = code
	rest, ok := strings.CutPrefix(text, "User ")
	if !ok {
		return
	}
	user, rest, ok := accountsQuoted(rest)
	if !ok {
		return
	}
	switch {
	case code == "UI_COMMIT":
		op := ""
		if r, ok := strings.CutPrefix(rest, " requested "); ok {
			op, _, _ = accountsQuoted(r)
		}
		cfgSet(ev, "configuration", op)
		ev.User.Name = user
	case strings.HasPrefix(code, "UI_CFG_AUDIT"):
		verb, after, ok := strings.Cut(strings.TrimPrefix(rest, " "), ": ")
		if !ok {
			return
		}
		item := ""
		if open := strings.IndexByte(after, '['); open >= 0 {
			if end := strings.IndexByte(after[open:], ']'); end > 0 {
				item = after[open+1 : open+end]
			}
		}
		cfgSet(ev, item, verb)
		ev.User.Name = user
	}
}

// cfgMikroTik reads RouterOS' "TOPICS ITEM VERB by WHO[ (COMMAND)]":
// "system,info filter rule added by admin" (RouterOS 6) or "... added by
// ssh:admin@192.0.2.1 (*22 = /ip firewall filter add ...)" (RouterOS 7).
func cfgMikroTik(msg string, ev *schemas.Event) {
	cfgDevice(ev, DatasetMikroTik, "MikroTik", "RouterOS")
	_, text, ok := strings.Cut(msg, " ")
	if !ok {
		return
	}
	k := strings.Index(text, " by ")
	if k < 0 {
		return
	}
	sp := strings.LastIndexByte(text[:k], ' ')
	if sp < 0 {
		return
	}
	item, verb, who := text[:sp], text[sp+1:k], text[k+len(" by "):]
	switch verb {
	case "added", "changed", "removed", "moved", "enabled", "disabled":
	default:
		return
	}
	if open := strings.Index(who, " ("); open >= 0 {
		cmd := who[open+2:]
		cmd = strings.TrimSuffix(cmd, ")")
		ev.Process.CommandLine = cmd
		who = who[:open]
	}
	if left, right, ok := strings.Cut(who, "@"); ok {
		who = left[strings.LastIndexByte(left, ':')+1:]
		addr := right
		if slash := strings.IndexByte(addr, '/'); slash >= 0 {
			addr = addr[:slash]
		}
		if isIP(addr) {
			setIP(ev, addr)
		}
	}
	cfgSet(ev, item, verb)
	ev.User.Name = who
}

// cfgArubaText returns the text after "mgr:" of an ArubaOS-Switch message
// ("[NNNNN ]mgr:  Running Config Change by admin") when it is about the
// configuration.
func cfgArubaText(msg string) (string, bool) {
	s := msg
	j := 0
	for j < len(s) && j < 6 && isDigit(s[j]) {
		j++
	}
	if j > 0 && j < len(s) && s[j] == ' ' {
		s = s[j+1:]
	}
	rest, ok := strings.CutPrefix(s, "mgr:")
	if !ok {
		return "", false
	}
	rest = strings.TrimLeft(rest, " ")
	if strings.HasPrefix(rest, "Running Config Change") || strings.HasPrefix(rest, "Startup configuration changed") {
		return rest, true
	}
	return "", false
}

// cfgAruba reads "Running Config Change[ by WHO]" and "Startup
// configuration changed by METHOD. New seq. number N". METHOD is the
// interface (CLI, SNMP, WEB, ...), not a user.
func cfgAruba(text string, ev *schemas.Event) {
	cfgDevice(ev, DatasetArubaSwitch, "HPE", "ArubaOS-Switch")
	item := "running-config"
	if strings.HasPrefix(text, "Startup") {
		item = "startup-config"
	}
	_, who, ok := strings.Cut(text, " by ")
	who = strings.TrimRight(accountsWord(who), ".")
	switch {
	case !ok:
		cfgSet(ev, item, "")
	case item == "startup-config":
		cfgSet(ev, item, who)
	default:
		cfgSet(ev, item, "")
		ev.User.Name = who
	}
}
