package parse

import (
	"strings"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// ReasonBadFortiGate is a FortiGate record that does not read: a quoted
// value without its closing quote, or (when the line's header gave no
// time) a date=, time= or eventtime= that is not one.
const ReasonBadFortiGate = "bad_fortigate"

func init() {
	register(Source{
		Name:        DatasetFortiGate,
		Description: "FortiGate (FortiOS) key=value logs: traffic, UTM (antivirus, IPS, filters) and event records",
		Priority:    30,
		Sniff:       fortiSniff,
		Reasons:     []string{ReasonBadFortiGate},
		Parse:       parseFortiGate,
	})
}

// fortiSniff looks for a FortiOS record: "date=", "devname=" or
// "logver=" starting a word within the first 96 bytes (a relay may put
// its own stamp before it), and " type=" and a log id.
func fortiSniff(msg string) bool {
	head := msg
	if len(head) > 96 {
		head = head[:96]
	}
	// Walk the '=' of the head (most messages have none) and look at the
	// word before each.
	for off := 0; off < len(head); {
		j := strings.IndexByte(head[off:], '=')
		if j < 0 {
			return false
		}
		j += off
		k := j
		for k > 0 && head[k-1] != ' ' {
			k--
		}
		switch head[k:j] {
		case "date", "devname", "logver":
			return strings.Contains(msg, " type=") && (strings.Contains(msg, "logid=") || strings.Contains(msg, "log_id="))
		}
		off = j + 1
	}
	return false
}

// fortiRecord holds the values the classification needs after the walk
// over the pairs.
type fortiRecord struct {
	typ, subtype, action, status, level    string
	logdesc, cfgpath, date, clock, tz      string
	eventtime, sent, rcvd, sentPkt, rcvPkt string
	tranDisp, tranIP, tranPort, severity   string
	attackID, ui, tunnelIP, direction      string
	cfgobj                                 string
}

// parseFortiGate reads the space-separated key=value pairs FortiOS writes
// (values quoted when they may hold spaces) and classifies the record by
// type, subtype and action.
func parseFortiGate(p *Parser, in Input, ev *schemas.Event) *Error {
	msg := strings.TrimRight(in.Msg, " \r")
	fwSet(ev, DatasetFortiGate, "Fortinet", "FortiGate")
	var r fortiRecord
	for s := msg; s != ""; {
		if s[0] == ' ' {
			s = s[1:]
			continue
		}
		// Keys and unquoted values are short: plain loops beat
		// strings.IndexByte's set-up.
		k := 0
		for k < len(s) && s[k] != '=' && s[k] != ' ' {
			k++
		}
		if k == len(s) {
			break
		}
		if s[k] == ' ' {
			// A word without '=': a relay's prefix, or the space FortiOS
			// 3 and 4 put inside time= ("time=10: 13:03").
			s = s[k+1:]
			continue
		}
		key := s[:k]
		s = s[k+1:]
		var val string
		if s != "" && s[0] == '"' {
			end := fortiQuoteEnd(s)
			if end < 0 {
				return fwFail(ReasonBadFortiGate, "value of "+key+" has no closing quote", fwOffset(msg, s))
			}
			val, s = s[1:end], s[end+1:]
		} else {
			v := 0
			for v < len(s) && s[v] != ' ' {
				v++
			}
			val, s = s[:v], s[min(v+1, len(s)):]
		}
		fortiField(ev, &r, key, val)
	}
	if err := fortiTime(p, in, ev, &r, msg); err != nil {
		return err
	}
	fortiFinish(ev, &r)
	fwNetType(ev)
	return nil
}

// fortiQuoteEnd returns the index of the quote that closes the value
// opening s[0], skipping quotes escaped with a backslash; -1 if none.
func fortiQuoteEnd(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// fortiNone reports whether v is one of FortiOS's placeholders for "no
// value".
func fortiNone(v string) bool {
	return v == "" || v == "N/A" || v == "n/a" || v == "(null)" || v == "none"
}

// fortiField stores one pair: in the event when the field has a place
// there, in r when the classification needs it.
func fortiField(ev *schemas.Event, r *fortiRecord, key, val string) {
	switch key {
	case "date":
		r.date = val
	case "time":
		r.clock = val
	case "tz":
		r.tz = val
	case "eventtime":
		r.eventtime = val
	case "devname":
		ev.Observer.Hostname = val
		if ev.Host.Name == "" || strings.HasPrefix(ev.Host.Name, "date=") {
			ev.Host.Name = val
		}
	case "devid", "device_id":
		ev.Observer.SerialNumber = val
	case "logid", "log_id":
		ev.Event.Code = val
	case "type":
		r.typ = val
	case "subtype":
		r.subtype = val
	case "level", "pri":
		r.level = val
	case "action":
		r.action = val
	case "status":
		r.status = val
	case "logdesc":
		r.logdesc = val
	case "srcip", "src":
		fwSetHost(&ev.Source, val)
	case "dstip", "dst":
		fwSetHost(&ev.Destination, val)
	case "srcport", "src_port":
		ev.Source.Port, _ = fwPort(val)
	case "dstport", "dst_port":
		ev.Destination.Port, _ = fwPort(val)
	case "remip":
		fwSetHost(&ev.Source, val)
	case "locip":
		fwSetHost(&ev.Destination, val)
	case "remport":
		ev.Source.Port, _ = fwPort(val)
	case "locport":
		ev.Destination.Port, _ = fwPort(val)
	case "srcintf", "src_int":
		if !fortiNone(val) {
			ev.Observer.IngressInterface = val
		}
	case "dstintf", "dst_int", "outintf":
		if !fortiNone(val) {
			ev.Observer.EgressInterface = val
		}
	case "proto":
		ev.Network.Transport = fwTransport(val)
	case "policyid":
		ev.Rule.ID = val
	case "policyname":
		ev.Rule.Name = val
	case "user":
		if !fortiNone(val) {
			ev.User.Name = val
		}
	case "group":
		if !fortiNone(val) {
			ev.Group.Name = val
		}
	case "hostname":
		// The name the client asked for; an address here is not allowed
		// to replace dstip.
		if _, isIP := fwCanonIP(val); !isIP && !fortiNone(val) {
			fwSetHost(&ev.Destination, val)
		}
	case "sentbyte", "sent":
		r.sent = val
	case "rcvdbyte", "rcvd":
		r.rcvd = val
	case "sentpkt", "sent_pkt":
		r.sentPkt = val
	case "rcvdpkt", "rcvd_pkt":
		r.rcvPkt = val
	case "trandisp", "tran_disp":
		r.tranDisp = val
	case "transip", "tran_ip":
		r.tranIP = val
	case "transport", "tran_port":
		r.tranPort = val
	case "tunnelip":
		r.tunnelIP = val
	case "virus":
		ev.Threat.Name = val
	case "dtype":
		ev.Threat.Category = val
	case "attack":
		ev.Threat.Name = val
	case "attackid":
		r.attackID = val
	case "severity":
		r.severity = val
	case "filename":
		ev.File.Name = val
	case "cfgpath":
		r.cfgpath = val
	case "cfgobj":
		r.cfgobj = val
	case "ui":
		r.ui = val
	case "reason":
		if !fortiNone(val) {
			ev.Event.Reason = val
		}
	case "direction":
		r.direction = val
	}
}

// fortiTime sets the event's time from date= and time= (with tz=, else
// in the parser's zone), or from eventtime=, when the line's header gave
// none.
func fortiTime(p *Parser, in Input, ev *schemas.Event, r *fortiRecord, msg string) *Error {
	if !ev.Timestamp.IsZero() {
		return nil
	}
	if r.date != "" && r.clock != "" {
		var st stamp
		d := r.date
		y, ok1 := num4(d, 0)
		m, ok2 := num2(d, 5)
		day, ok3 := num2(d, 8)
		if len(d) != 10 || d[4] != '-' || d[7] != '-' || !ok1 || !ok2 || !ok3 ||
			y < minYear || m < 1 || m > 12 || day < 1 || day > daysIn(m, y) {
			return fwFail(ReasonBadFortiGate, "date= is not YYYY-MM-DD", fwOffset(msg, d))
		}
		st.year, st.month, st.day, st.hasYear = y, m, day, true
		if len(r.clock) != 8 || !clock(r.clock, 0, &st) {
			return fwFail(ReasonBadFortiGate, "time= is not hh:mm:ss", fwOffset(msg, r.clock))
		}
		if off, ok := fortiZone(r.tz); ok {
			st.offset, st.hasZone = off, true
		}
		t, ok := p.instant(&st, in.Received)
		if !ok {
			return fwFail(ReasonBadFortiGate, "date= and time= give no instant", fwOffset(msg, d))
		}
		ev.Timestamp = t
		return nil
	}
	if r.eventtime != "" {
		n, ok := fortiEpoch(r.eventtime)
		if !ok || len(r.eventtime) < 9 {
			return fwFail(ReasonBadFortiGate, "eventtime= is not a Unix time", fwOffset(msg, r.eventtime))
		}
		// Seconds, milliseconds, microseconds or nanoseconds, by length.
		switch {
		case len(r.eventtime) <= 10:
			ev.Timestamp = time.Unix(n, 0).UTC()
		case len(r.eventtime) <= 13:
			ev.Timestamp = time.UnixMilli(n).UTC()
		case len(r.eventtime) <= 16:
			ev.Timestamp = time.UnixMicro(n).UTC()
		default:
			ev.Timestamp = time.Unix(0, n).UTC()
		}
	}
	return nil
}

// fortiEpoch reads eventtime=: up to 19 digits that fit an int64.
func fortiEpoch(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return int64(n), n < 1<<63
}

// fortiZone reads tz= as "+hhmm", "-hhmm" or "+hh:mm" and returns seconds
// east of UTC.
func fortiZone(tz string) (int, bool) {
	if len(tz) < 5 || (tz[0] != '+' && tz[0] != '-') {
		return 0, false
	}
	hh, ok1 := num2(tz, 1)
	mmAt := 3
	if tz[3] == ':' {
		mmAt = 4
	}
	mm, ok2 := num2(tz, mmAt)
	if !ok1 || !ok2 || len(tz) != mmAt+2 || hh > 23 || mm > 59 {
		return 0, false
	}
	off := hh*3600 + mm*60
	if tz[0] == '-' {
		off = -off
	}
	return off, true
}

// fortiLevel maps FortiOS's level= (the syslog severities) to a number.
func fortiLevel(level string) int {
	switch level {
	case "emergency":
		return 0
	case "alert":
		return 1
	case "critical":
		return 2
	case "error":
		return 3
	case "warning":
		return 4
	case "notice":
		return 5
	case "information":
		return 6
	case "debug":
		return 7
	}
	return 0
}

// fortiBlocked reports whether a UTM or traffic action stopped the
// traffic.
func fortiBlocked(action string) bool {
	switch action {
	case "deny", "block", "blocked", "dropped", "drop", "reset", "reset-client", "reset-server",
		"reset_client", "reset_server", "clear_session", "quarantine", "quarantine-src-ip":
		return true
	}
	return false
}

// fortiPassed reports whether a UTM action let the traffic through.
func fortiPassed(action string) bool {
	switch action {
	case "pass", "passthrough", "allow", "allowed", "accept", "monitored", "exempt":
		return true
	}
	return false
}

// fortiFinish sets what depends on more than one pair: byte and packet
// counts, translation, the time zone, and the classification.
func fortiFinish(ev *schemas.Event, r *fortiRecord) {
	ev.Event.Severity = fortiLevel(r.level)
	sent, ok1 := fwUint(r.sent)
	rcvd, ok2 := fwUint(r.rcvd)
	if ok1 || ok2 {
		ev.Source.Bytes, ev.Destination.Bytes, ev.Network.Bytes = sent, rcvd, sent+rcvd
	}
	sp, ok1 := fwUint(r.sentPkt)
	rp, ok2 := fwUint(r.rcvPkt)
	if ok1 || ok2 {
		ev.Source.Packets, ev.Destination.Packets, ev.Network.Packets = sp, rp, sp+rp
	}
	if ip, ok := fwCanonIP(r.tranIP); ok && ip != "0.0.0.0" {
		n, _ := fwPort(r.tranPort)
		switch r.tranDisp {
		case "dnat":
			ev.Destination.NATIP, ev.Destination.NATPort = ip, n
		case "snat", "snat+dnat":
			ev.Source.NATIP, ev.Source.NATPort = ip, n
		}
	}
	switch r.direction {
	case "incoming":
		ev.Network.Direction = "inbound"
	case "outgoing":
		ev.Network.Direction = "outbound"
	}
	action := r.action
	if action == "" {
		action = r.status // FortiOS 3 and 4 wrote status=
	}
	switch r.typ {
	case "traffic":
		fortiTraffic(ev, action)
	case "utm":
		fortiUTM(ev, r, action)
	case "anomaly": // FortiOS 5 wrote DoS anomalies as their own type.
		fortiIntrusion(ev, r, action)
	case "event":
		fortiEvent(ev, r)
	}
}

// fortiTraffic classifies a traffic record by its action.
func fortiTraffic(ev *schemas.Event, action string) {
	switch action {
	case "deny", "block", "blocked", "drop", "dropped":
		fwVerdict(ev, false)
	case "accept", "pass", "allow":
		fwVerdict(ev, true)
	case "close", "timeout", "client-rst", "server-rst":
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeEnd, fwClosed)
	case "start":
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeStart, fwBuilt)
	default:
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeConnection, "")
	}
}

// fortiUTM classifies a UTM record: antivirus, IPS and anomaly records by
// what they found, the filters (web, application, DNS, SSL, files) by
// whether they let the traffic through.
func fortiUTM(ev *schemas.Event, r *fortiRecord, action string) {
	switch r.subtype {
	case "virus":
		typ := schemas.TypeInfo
		if fortiBlocked(action) {
			typ = schemas.TypeDenied
		}
		fwClass(ev, schemas.CategoryMalware, typ, fwMalware)
		if !fortiNone(action) {
			ev.Event.Reason = action
		}
		return
	case "ips", "anomaly":
		fortiIntrusion(ev, r, action)
		return
	}
	switch {
	case fortiBlocked(action):
		fwVerdict(ev, false)
	case fortiPassed(action):
		fwVerdict(ev, true)
	default:
		return
	}
	if ev.Event.Reason == "" {
		ev.Event.Reason = r.subtype
	}
}

// fortiIntrusion records an IPS signature or anomaly match.
func fortiIntrusion(ev *schemas.Event, r *fortiRecord, action string) {
	typ := schemas.TypeInfo
	if fortiBlocked(action) {
		typ = schemas.TypeDenied
	}
	fwClass(ev, schemas.CategoryIntrusionDetection, typ, fwIntrusion)
	if r.attackID != "" {
		ev.Rule.ID = r.attackID
	}
	ev.Threat.Severity = r.severity
	if !fortiNone(action) && ev.Event.Reason == "" {
		ev.Event.Reason = action
	}
}

// fortiEvent classifies the system, VPN and user events tocsin reads:
// administrator logins and logouts, configuration changes, SSL VPN logins
// and tunnels, FSSO and firewall-authentication logons.
func fortiEvent(ev *schemas.Event, r *fortiRecord) {
	switch r.subtype {
	case "system":
		switch {
		case r.action == "login":
			fortiAdminAddr(ev, r.ui)
			if r.status == "success" {
				fwClass(ev, schemas.CategoryAuthentication, schemas.TypeStart, fwLogon)
				ev.Event.Outcome = schemas.OutcomeSuccess
			} else {
				fwClass(ev, schemas.CategoryAuthentication, schemas.TypeStart, fwLogonFailed)
				ev.Event.Outcome = schemas.OutcomeFailure
			}
		case r.action == "logout":
			fortiAdminAddr(ev, r.ui)
			fwClass(ev, schemas.CategoryAuthentication, schemas.TypeEnd, fwLogoff)
			ev.Event.Outcome = schemas.OutcomeSuccess
		case r.cfgpath == "system.admin" || r.cfgpath == "user.local":
			// An administrator or local user account added, removed or
			// changed: the account is cfgobj.
			fortiAdminAddr(ev, r.ui)
			ev.Change.Item = r.cfgpath
			ev.User.Target.Name = r.cfgobj
			switch r.action {
			case "Add":
				fwClass(ev, schemas.CategoryIAM, schemas.TypeCreation, fwUserCreated)
			case "Delete":
				fwClass(ev, schemas.CategoryIAM, schemas.TypeDeletion, fwUserDeleted)
			default:
				fwClass(ev, schemas.CategoryIAM, schemas.TypeChange, fwUserChanged)
			}
			ev.Event.Outcome = schemas.OutcomeSuccess
		case r.cfgpath != "" || strings.Contains(r.logdesc, "onfigur"):
			// "Object attribute configured", "Attribute configured",
			// "Configuration changed", "Path configured", ...
			fortiAdminAddr(ev, r.ui)
			// Only the path: joining cfgobj ("firewall.policy" and "7")
			// would need a copy, and the path says what kind of object
			// changed.
			ev.Change.Item = r.cfgpath
			fwClass(ev, schemas.CategoryConfiguration, schemas.TypeChange, fwConfig)
			ev.Event.Outcome = schemas.OutcomeSuccess
		}
	case "vpn":
		switch r.action {
		case "ssl-login-fail":
			fwClass(ev, schemas.CategoryAuthentication, schemas.TypeStart, fwLogonFailed)
			ev.Event.Outcome = schemas.OutcomeFailure
		case "tunnel-up":
			fwClass(ev, schemas.CategorySession, schemas.TypeStart, fwVPNStarted)
			ev.Event.Outcome = schemas.OutcomeSuccess
			if ip, ok := fwCanonIP(r.tunnelIP); ok {
				ev.Source.NATIP = ip
			}
		case "tunnel-down":
			fwClass(ev, schemas.CategorySession, schemas.TypeEnd, fwVPNClosed)
		}
	case "user":
		switch r.action {
		case "FSSO-logon", "auth-logon":
			fwClass(ev, schemas.CategoryAuthentication, schemas.TypeStart, fwLogon)
			ev.Event.Outcome = schemas.OutcomeSuccess
		case "FSSO-logoff", "auth-logout":
			fwClass(ev, schemas.CategoryAuthentication, schemas.TypeEnd, fwLogoff)
			ev.Event.Outcome = schemas.OutcomeSuccess
		case "authentication":
			if r.status == "failure" || r.status == "failed" {
				fwClass(ev, schemas.CategoryAuthentication, schemas.TypeStart, fwLogonFailed)
				ev.Event.Outcome = schemas.OutcomeFailure
			}
		}
	}
}

// fortiAdminAddr reads the administrator's address from ui=
// ("https(192.0.2.4)", "GUI(10.0.0.1)", "ssh(192.0.2.7)").
func fortiAdminAddr(ev *schemas.Event, ui string) {
	if ev.Source.IP != "" {
		return
	}
	if _, a, ok := strings.Cut(ui, "("); ok {
		a, _, _ = strings.Cut(a, ")")
		fwSetIP(&ev.Source, a)
	}
}
