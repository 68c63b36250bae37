package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// ReasonBadPANOS is a PAN-OS record that does not read: a quoted field
// without its closing quote, fewer fields than its log type has, or an
// address that is not one.
const ReasonBadPANOS = "bad_panos"

func init() {
	register(Source{
		Name:        DatasetPANOS,
		Description: "Palo Alto Networks PAN-OS CSV syslog: TRAFFIC, THREAT, CONFIG and SYSTEM records",
		Priority:    30,
		Sniff:       panosSniff,
		Reasons:     []string{ReasonBadPANOS},
		Parse:       parsePANOS,
	})
}

// panosMaxFields bounds the fields read; PAN-OS 10 writes about 120 in a
// THREAT record and tocsin reads none past the 70th.
const panosMaxFields = 80

// Field positions of the PAN-OS 8.1-10.x syslog formats (counting from
// 0), as the PAN-OS "Syslog Field Descriptions" list them.
const (
	panType      = 3
	panSubtype   = 4
	panGenerated = 6
	// TRAFFIC and THREAT share their first 31 fields.
	panSrc      = 7
	panDst      = 8
	panNATSrc   = 9
	panNATDst   = 10
	panRule     = 11
	panSrcUser  = 12
	panApp      = 14
	panFromIf   = 18
	panToIf     = 19
	panSport    = 24
	panDport    = 25
	panNATSport = 26
	panNATDport = 27
	panProto    = 29
	panAction   = 30
	// TRAFFIC.
	panBytes       = 31
	panBytesSent   = 32
	panBytesRcvd   = 33
	panPackets     = 34
	panPktsSent    = 44
	panPktsRcvd    = 45
	panEndReason   = 46
	panTrafficHost = 52
	// THREAT.
	panMisc        = 31
	panThreatID    = 32
	panCategory    = 33
	panSeverity    = 34
	panDigest      = 43
	panThreatHost  = 59
	panThreatClass = 69
	// CONFIG.
	panCfgHost    = 7
	panCfgCommand = 9
	panCfgAdmin   = 10
	panCfgResult  = 12
	panCfgPath    = 13
	panCfgDevice  = 23
	// SYSTEM.
	panSysEventID = 8
	panSysDevice  = 22
)

// panosSniff recognises "N,YYYY/MM/DD hh:mm:ss,SERIAL,TYPE,...", and the
// same record when an RFC 3164 header without host name took its first
// word for one ("Jul 13 20:39:44 1,2017/07/13 20:39:44,...": the message
// then starts "20:39:44,SERIAL,TYPE,").
func panosSniff(msg string) bool { return panosShape(msg) || panosSplitShape(msg) }

func panosShape(s string) bool {
	c := 0
	for c < len(s) && c <= 8 && s[c] != ',' {
		c++
	}
	if c < 1 || c > 8 || c == len(s) {
		return false
	}
	d := s[c+1:]
	return len(d) > 20 && isDigit(d[0]) && d[4] == '/' && d[7] == '/' && d[10] == ' ' &&
		d[13] == ':' && d[16] == ':' && d[19] == ','
}

func panosSplitShape(s string) bool {
	if len(s) < 12 || s[2] != ':' || s[5] != ':' || s[8] != ',' || !isDigit(s[0]) {
		return false
	}
	_, rest, _ := strings.Cut(s[9:], ",") // the serial
	typ, _, ok := strings.Cut(rest, ",")
	return ok && panosKnownType(typ)
}

func panosKnownType(t string) bool {
	switch t {
	case "TRAFFIC", "THREAT", "CONFIG", "SYSTEM", "HIPMATCH", "USERID", "GLOBALPROTECT",
		"AUTHENTICATION", "DECRYPTION", "TUNNEL", "SCTP", "CORRELATION", "IPTAG":
		return true
	}
	return false
}

// panosSplit reads the comma-separated fields of s into f, without the
// quotes around a field that holds a comma, and returns how many there
// were (at most len(f) are kept). A field quoted with doubled quotes
// inside keeps them doubled.
func panosSplit(s string, f *[panosMaxFields]string) (int, *Error) {
	n := 0
	i := 0
	for {
		var field string
		if i < len(s) && s[i] == '"' {
			j := i + 1
			for {
				k := strings.IndexByte(s[j:], '"')
				if k < 0 {
					return n, fwFail(ReasonBadPANOS, "quoted field has no closing quote", i)
				}
				j += k
				if j+1 < len(s) && s[j+1] == '"' {
					j += 2
					continue
				}
				break
			}
			field = s[i+1 : j]
			i = j + 1
			if i < len(s) && s[i] != ',' {
				return n, fwFail(ReasonBadPANOS, "quoted field not followed by a comma", i)
			}
		} else {
			k := fwComma(s[i:])
			field = s[i : i+k]
			i += k
		}
		if n < len(f) {
			f[n] = field
		}
		n++
		if i >= len(s) {
			return n, nil
		}
		i++ // the comma
		if i == len(s) {
			if n < len(f) {
				f[n] = ""
			}
			return n + 1, nil
		}
	}
}

// parsePANOS reads a PAN-OS record: the log type picks the field layout.
// Types other than TRAFFIC, THREAT, CONFIG and SYSTEM keep dataset,
// observer and subtype and get no action.
func parsePANOS(p *Parser, in Input, ev *schemas.Event) *Error {
	msg := strings.TrimRight(in.Msg, "\r")
	if !panosShape(msg) && panosSplitShape(msg) && in.Header {
		// The header took "1,YYYY/MM/DD" for a host name: the record
		// starts there.
		h := ev.Log.Syslog.Hostname
		if off := fwOffset(ev.Event.Original, h); h != "" && off > 0 {
			msg = strings.TrimRight(ev.Event.Original[off:], "\r")
			ev.Message = msg
			ev.Log.Syslog.Hostname, ev.Host.Name = "", ""
		}
	}
	fwSet(ev, DatasetPANOS, "Palo Alto Networks", "PAN-OS")
	var f [panosMaxFields]string
	n, err := panosSplit(msg, &f)
	if err != nil {
		return err
	}
	if n <= panGenerated {
		return fwFail(ReasonBadPANOS, "expected at least 7 comma-separated fields", len(msg))
	}
	ev.Observer.SerialNumber = f[2]
	if ev.Timestamp.IsZero() {
		panosTime(p, in, ev, f[panGenerated])
	}
	switch f[panType] {
	case "TRAFFIC":
		if n <= panPackets {
			return fwFail(ReasonBadPANOS, "TRAFFIC record with too few fields (want at least 35)", len(msg))
		}
		if err := panosSession(ev, &f, msg); err != nil {
			return err
		}
		panosTraffic(ev, &f, n)
	case "THREAT":
		if n <= panSeverity+1 {
			return fwFail(ReasonBadPANOS, "THREAT record with too few fields (want at least 36)", len(msg))
		}
		if err := panosSession(ev, &f, msg); err != nil {
			return err
		}
		panosThreat(ev, &f, n)
	case "CONFIG":
		if n <= panCfgPath {
			return fwFail(ReasonBadPANOS, "CONFIG record with too few fields (want at least 14)", len(msg))
		}
		panosConfig(ev, &f, n)
	case "SYSTEM":
		if n > panSysEventID {
			ev.Event.Code = f[panSysEventID]
		}
		if n > panSysDevice && f[panSysDevice] != "" {
			ev.Observer.Hostname = f[panSysDevice]
		}
	}
	fwNetType(ev)
	if ev.Observer.Hostname == "" {
		ev.Observer.Hostname = ev.Host.Name
	}
	return nil
}

// panosTime reads "YYYY/MM/DD hh:mm:ss" (the firewall's local time) for a
// line whose header gave no time; anything else leaves the receive time.
func panosTime(p *Parser, in Input, ev *schemas.Event, s string) {
	if len(s) != 19 || s[4] != '/' || s[7] != '/' || s[10] != ' ' {
		return
	}
	var st stamp
	y, ok1 := num4(s, 0)
	m, ok2 := num2(s, 5)
	d, ok3 := num2(s, 8)
	if !ok1 || !ok2 || !ok3 || y < minYear || m < 1 || m > 12 || d < 1 || d > daysIn(m, y) || !clock(s, 11, &st) {
		return
	}
	st.year, st.month, st.day, st.hasYear = y, m, d, true
	if t, ok := p.instant(&st, in.Received); ok {
		ev.Timestamp = t
	}
}

// panosSession reads the fields TRAFFIC and THREAT share: addresses and
// their translations, ports, rule, user, application, interfaces and
// protocol.
func panosSession(ev *schemas.Event, f *[panosMaxFields]string, msg string) *Error {
	if !fwSetIP(&ev.Source, f[panSrc]) {
		return fwFail(ReasonBadPANOS, "source address is not an IP address", fwOffset(msg, f[panSrc]))
	}
	if !fwSetIP(&ev.Destination, f[panDst]) {
		return fwFail(ReasonBadPANOS, "destination address is not an IP address", fwOffset(msg, f[panDst]))
	}
	ev.Source.Port, _ = fwPort(f[panSport])
	ev.Destination.Port, _ = fwPort(f[panDport])
	panosNAT(&ev.Source, f[panNATSrc], f[panNATSport])
	panosNAT(&ev.Destination, f[panNATDst], f[panNATDport])
	ev.Rule.Name = f[panRule]
	if u := f[panSrcUser]; u != "" {
		// "domain\user" is split; other forms (user@domain) are kept.
		if i := strings.IndexByte(u, '\\'); i > 0 {
			ev.User.Domain, u = u[:i], u[i+1:]
		}
		ev.User.Name = u
	}
	switch app := f[panApp]; app {
	case "", "incomplete", "insufficient-data", "not-applicable", "unknown-tcp", "unknown-udp", "unknown-p2p":
	default:
		ev.Network.Protocol = app
	}
	ev.Observer.IngressInterface = f[panFromIf]
	ev.Observer.EgressInterface = f[panToIf]
	ev.Network.Transport = fwTransport(f[panProto])
	return nil
}

// panosNAT records a translation: an address that is not the "0.0.0.0"
// PAN-OS writes when there is none, and differs from the endpoint's own
// address or port.
func panosNAT(e *schemas.Endpoint, ip, port string) {
	c, ok := fwCanonIP(ip)
	if !ok || c == "0.0.0.0" || c == "::" {
		return
	}
	n, _ := fwPort(port)
	if c != e.IP || n != e.Port {
		e.NATIP, e.NATPort = c, n
	}
}

// panosBlocked reports whether a TRAFFIC or THREAT action stopped the
// traffic.
func panosBlocked(action string) bool {
	switch action {
	case "deny", "drop", "drop-icmp", "drop-all", "drop-all-packets", "reset-client", "reset-server",
		"reset-both", "block-url", "block-continue", "block-override", "sinkhole", "block":
		return true
	}
	return false
}

// panosTraffic classifies a TRAFFIC record: start and end of an allowed
// session, or a denied one (subtype drop or deny, or a blocking action).
func panosTraffic(ev *schemas.Event, f *[panosMaxFields]string, n int) {
	b, ok1 := fwUint(f[panBytes])
	bs, ok2 := fwUint(f[panBytesSent])
	br, ok3 := fwUint(f[panBytesRcvd])
	if ok1 {
		ev.Network.Bytes = b
	}
	if ok2 && ok3 {
		ev.Source.Bytes, ev.Destination.Bytes = bs, br
	}
	ev.Network.Packets, _ = fwUint(f[panPackets])
	if n > panPktsRcvd {
		ev.Source.Packets, _ = fwUint(f[panPktsSent])
		ev.Destination.Packets, _ = fwUint(f[panPktsRcvd])
	}
	subtype, action := f[panSubtype], f[panAction]
	if n > panEndReason && subtype != "start" && f[panEndReason] != "n/a" {
		ev.Event.Reason = f[panEndReason]
	}
	if n > panTrafficHost && f[panTrafficHost] != "" {
		ev.Observer.Hostname = f[panTrafficHost]
	}
	switch {
	case subtype == "drop" || subtype == "deny" || panosBlocked(action):
		fwVerdict(ev, false)
	case subtype == "start":
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeStart, fwBuilt)
	case subtype == "end":
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeEnd, fwClosed)
	default:
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeConnection, "")
	}
}

// panosThreat classifies a THREAT record by its subtype: antivirus and
// WildFire verdicts are malware, spyware, vulnerability and flood
// signatures intrusions, scans scans, and URL filtering a verdict on the
// request.
func panosThreat(ev *schemas.Event, f *[panosMaxFields]string, n int) {
	subtype, action, misc := f[panSubtype], f[panAction], f[panMisc]
	name := f[panThreatID]
	if i := strings.LastIndexByte(name, '('); i >= 0 && strings.HasSuffix(name, ")") {
		ev.Event.Code = name[i+1 : len(name)-1]
		name = strings.TrimRight(name[:i], " ")
	}
	ev.Threat.Severity = f[panSeverity]
	ev.Threat.Category = subtype
	if n > panThreatClass && f[panThreatClass] != "" {
		ev.Threat.Category = f[panThreatClass]
	}
	if n > panThreatHost && f[panThreatHost] != "" {
		ev.Observer.Hostname = f[panThreatHost]
	}
	typ := schemas.TypeInfo
	if panosBlocked(action) {
		typ = schemas.TypeDenied
	}
	ev.Event.Reason = action
	switch subtype {
	case "virus", "wildfire-virus", "wildfire":
		ev.File.Name = misc
		if n > panDigest {
			panosDigest(ev, f[panDigest])
		}
		if subtype == "wildfire" {
			// The category field holds WildFire's verdict.
			switch f[panCategory] {
			case "malicious", "phishing", "malware":
			default:
				return
			}
		}
		ev.Threat.Name = name
		fwClass(ev, schemas.CategoryMalware, typ, fwMalware)
	case "spyware", "vulnerability", "flood":
		ev.Threat.Name = name
		fwClass(ev, schemas.CategoryIntrusionDetection, typ, fwIntrusion)
	case "scan":
		ev.Threat.Name = name
		fwClass(ev, schemas.CategoryIntrusionDetection, typ, fwScan)
	case "url":
		// misc is "host/path"; the category field the URL's category.
		host := misc
		if i := strings.IndexAny(host, "/:"); i >= 0 {
			host = host[:i]
		}
		fwSetHost(&ev.Destination, host)
		fwVerdict(ev, !panosBlocked(action))
		ev.Event.Reason = f[panCategory]
	case "file", "data":
		ev.File.Name = misc
	}
}

// panosDigest keeps a THREAT record's file digest when it is a SHA-256
// in lower-case hex.
func panosDigest(ev *schemas.Event, d string) {
	if len(d) != 64 {
		return
	}
	for i := 0; i < len(d); i++ {
		if c := d[i]; !isDigit(c) && (c < 'a' || c > 'f') {
			return
		}
	}
	ev.File.Hash.SHA256 = d
}

// panosConfig reads a CONFIG record: who (admin, from which host) ran
// which command on which configuration path, and whether it worked.
func panosConfig(ev *schemas.Event, f *[panosMaxFields]string, n int) {
	fwSetHost(&ev.Source, f[panCfgHost])
	ev.User.Name = f[panCfgAdmin]
	ev.Change.Item = f[panCfgPath]
	ev.Event.Reason = f[panCfgCommand]
	if n > panCfgDevice && f[panCfgDevice] != "" {
		ev.Observer.Hostname = f[panCfgDevice]
	}
	fwClass(ev, schemas.CategoryConfiguration, schemas.TypeChange, fwConfig)
	switch f[panCfgResult] {
	case "Failed", "Unauthorized":
		ev.Event.Outcome = schemas.OutcomeFailure
	case "Succeeded", "Submitted":
		ev.Event.Outcome = schemas.OutcomeSuccess
	}
}
