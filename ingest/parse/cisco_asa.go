package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// ReasonBadCiscoASA is a Cisco ASA, FTD or PIX message whose tag does not
// read: "%ASA-" not followed by a severity digit and a six-digit message
// id.
const ReasonBadCiscoASA = "bad_cisco_asa"

// asaTags are the tags Cisco's firewalls put before the message id.
var asaTags = []string{"%ASA-", "%FTD-", "%PIX-", "%FWSM-"}

func init() {
	register(Source{
		Name:        DatasetCiscoASA,
		Description: "Cisco ASA, Firepower Threat Defense and PIX syslog messages (%ASA-6-302013: ...)",
		Priority:    20,
		AppPrefixes: asaTags,
		// No Prefixes: the sniffer finds a tag that starts the message as
		// well, and every prefix costs each unclaimed message a compare.
		Sniff:   asaSniff,
		Reasons: []string{ReasonBadCiscoASA},
		Parse:   parseCiscoASA,
	})
}

// asaSniff finds a tag in the message: at its start (a line without
// header), after the " : " some ASAs put between host name and tag, or
// after a device's own time stamp ("Sep 25 15:47:07 EDT: %ASA-auth-4-
// 113004: ...").
func asaSniff(msg string) bool { return asaFind(msg) >= 0 }

// asaFind returns the offset of the tag in the first 64 bytes of msg, or
// -1.
func asaFind(msg string) int {
	head := msg
	if len(head) > 64 {
		head = head[:64]
	}
	for off := 0; off < len(head); {
		i := strings.IndexByte(head[off:], '%')
		if i < 0 {
			return -1
		}
		i += off
		if hasAnyPrefix(msg[i:], asaTags) {
			return i
		}
		off = i + 1
	}
	return -1
}

// asaTag reads "%ASA-[facility-]N-NNNNNN" at the start of s and returns
// the product, the severity, the message id and what follows the tag
// and its colon. what is non-empty when the tag is malformed.
func asaTag(s string) (product string, sev int, id, body, what string) {
	p := s[1:]
	dash := strings.IndexByte(p, '-')
	product, p = p[:dash], p[dash+1:]
	if p != "" && !isDigit(p[0]) {
		// A facility name some versions add: "%ASA-auth-4-113004".
		j := strings.IndexByte(p, '-')
		if j < 0 {
			return "", 0, "", "", "expected a severity digit after " + product
		}
		p = p[j+1:]
	}
	if len(p) < 2 || !isDigit(p[0]) || p[1] != '-' {
		return "", 0, "", "", "expected a severity digit and '-' after " + product
	}
	sev, p = int(p[0]-'0'), p[2:]
	j := 0
	for j < len(p) && isDigit(p[j]) {
		j++
	}
	if j != 6 {
		return "", 0, "", "", "expected a six-digit message id"
	}
	id, p = p[:j], p[j:]
	p = strings.TrimPrefix(p, ":")
	return product, sev, id, strings.TrimLeft(p, " "), ""
}

// parseCiscoASA reads the tag, wherever the header put it (the syslog tag
// of "host %ASA-6-302013: Built ..." or the start of the message), then
// the message ids it knows. Other ids keep dataset, code, severity and
// observer, and get no action.
func parseCiscoASA(_ *Parser, in Input, ev *schemas.Event) *Error {
	msg := in.Msg
	var tag, body string
	fromApp := hasAnyPrefix(in.App, asaTags)
	if fromApp {
		tag, body = in.App, msg
	} else {
		i := asaFind(msg)
		if i < 0 {
			fwSet(ev, DatasetCiscoASA, "Cisco", "ASA")
			return fwFail(ReasonBadCiscoASA, "expected a %ASA- tag", 0)
		}
		tag = msg[i:]
		if ev.Log.Syslog.Hostname == "" && in.App != "" && ev.Log.Syslog.ProcID == "" {
			// "May  5 17:51:17 dev01: %ASA-...": the word the header read
			// as a tag is the device's name.
			ev.Host.Name = in.App
		}
	}
	product, sev, id, rest, what := asaTag(tag)
	if what != "" {
		fwSet(ev, DatasetCiscoASA, "Cisco", "ASA")
		return fwFail(ReasonBadCiscoASA, what, fwOffset(msg, tag))
	}
	if !fromApp {
		body = rest
	}
	fwSet(ev, DatasetCiscoASA, "Cisco", product)
	ev.Event.Code = id
	ev.Event.Severity = sev
	body = strings.TrimRight(body, " \r")
	asaMessage(ev, id, body)
	fwNetType(ev)
	return nil
}

// asaMessage reads the body of the message ids this reader knows.
func asaMessage(ev *schemas.Event, id, body string) {
	switch id {
	case "106001":
		// Inbound TCP connection denied from A/P to B/Q flags F on interface I
		r, ok := strings.CutPrefix(body, "Inbound ")
		if !ok {
			return
		}
		proto, _ := fwWord(r)
		if asaDenyFromTo(ev, body, proto) {
			ev.Network.Direction = "inbound"
		}
	case "106006", "106007":
		// Deny inbound UDP from A/P to B/Q on interface I | due to DNS Query
		if r, ok := strings.CutPrefix(body, "Deny inbound "); ok {
			proto, _ := fwWord(r)
			if asaDenyFromTo(ev, body, proto) {
				ev.Network.Direction = "inbound"
			}
		}
	case "106015":
		// Deny TCP (no connection) from A/P to B/Q flags F on interface I
		if r, ok := strings.CutPrefix(body, "Deny "); ok {
			proto, _ := fwWord(r)
			if asaDenyFromTo(ev, body, proto) {
				ev.Event.Reason = "no connection"
			}
		}
	case "106021", "106022":
		// Deny P reverse path check | connection spoof from A to B on interface I
		if r, ok := strings.CutPrefix(body, "Deny "); ok {
			proto, _ := fwWord(r)
			if asaDenyFromTo(ev, body, proto) {
				ev.Event.Reason = "reverse path check"
				if id == "106022" {
					ev.Event.Reason = "connection spoof"
				}
			}
		}
	case "106010", "106014", "106023":
		asaDenySrcDst(ev, body)
	case "106100":
		asaACL(ev, body)
	case "302013", "302015":
		asaBuilt(ev, body)
	case "302014", "302016":
		asaTeardown(ev, body)
	case "302020", "302021":
		asaICMPConn(ev, body)
	case "305011", "305012":
		asaXlate(ev, body)
	case "733100":
		asaRate(ev, body)
	case "733101":
		// Host|Subnet X is targeted|attacking. Current burst rate is ...
		_, r := fwWord(body)
		x, r := fwWord(r)
		switch {
		case strings.HasPrefix(r, "is attacking"):
			fwSetHost(&ev.Source, x)
		case strings.HasPrefix(r, "is targeted"):
			fwSetHost(&ev.Destination, x)
		default:
			return
		}
		fwClass(ev, schemas.CategoryIntrusionDetection, schemas.TypeInfo, fwScan)
	case "733102":
		// Threat-detection adds host X to shun list
		if r, ok := strings.CutPrefix(body, "Threat-detection adds host "); ok {
			x, _ := fwWord(r)
			fwSetHost(&ev.Source, x)
			fwClass(ev, schemas.CategoryIntrusionDetection, schemas.TypeDenied, fwShunned)
		}
	case "733104", "733105":
		// TCP Intercept SYN flood attack detected to A/P (real B/Q). ...
		if r, ok := strings.CutPrefix(body, "TCP Intercept SYN flood attack detected to "); ok {
			mapped, r := fwWord(r)
			a, p := asaAddrPort(mapped)
			asaEnd(&ev.Destination, a, p)
			if real, ok := strings.CutPrefix(r, "(real "); ok {
				real, _, _ = strings.Cut(real, ")")
				a, p := asaAddrPort(real)
				if ip, ok := fwCanonIP(a); ok && ip != ev.Destination.IP {
					ev.Destination.NATIP = ip
					ev.Destination.NATPort, _ = fwPort(p)
				}
			}
			ev.Network.Transport = "tcp"
			fwClass(ev, schemas.CategoryIntrusionDetection, schemas.TypeInfo, fwSYNFlood)
		}
	case "113004", "113012":
		asaAAAOK(ev, body)
	case "113005", "113015":
		asaAAAReject(ev, body)
	case "113019":
		asaVPNDisconnect(ev, body)
	case "605004", "605005":
		asaLogin(ev, body, id == "605005")
	case "611101", "611102", "611103":
		asaVPNClientAuth(ev, id, body)
	case "716001", "716002", "722022", "722023":
		asaVPNSession(ev, id, body)
	case "722051":
		asaVPNAddress(ev, body)
	case "751025":
		asaIKEAddress(ev, body)
	case "111008", "111009", "111010":
		asaCommand(ev, id, body)
	case "502101", "502102", "502103":
		// New user added to local dbase: Uname: U Priv: P Encpass: X
		// User deleted from local dbase: Uname: U Priv: P Encpass: X
		// User priv level changed: Uname: U From: P To: Q
		if _, r, ok := strings.Cut(body, "Uname: "); ok {
			u, _ := fwWord(r)
			ev.User.Target.Name = u
			action, typ := fwUserCreated, schemas.TypeCreation
			switch id {
			case "502102":
				action, typ = fwUserDeleted, schemas.TypeDeletion
			case "502103":
				action, typ = fwUserChanged, schemas.TypeChange
			}
			fwClass(ev, schemas.CategoryIAM, typ, action)
			ev.Event.Outcome = schemas.OutcomeSuccess
		}
	default:
		if len(id) == 6 && strings.HasPrefix(id, "4000") {
			asaIPS(ev, body)
		}
	}
}

// asaAddrPort splits "addr/port" (the port may be a service name) and
// drops a "(user)" or "(name)" ASA appends.
func asaAddrPort(tok string) (addr, port string) {
	if i := strings.IndexByte(tok, '('); i > 0 {
		tok = tok[:i]
	}
	if s := strings.LastIndexByte(tok, '/'); s >= 0 {
		return tok[:s], tok[s+1:]
	}
	return tok, ""
}

// asaIfAddrPort splits "iface:addr[/port][(x)]"; an interface name holds
// no colon, an IPv6 address does.
func asaIfAddrPort(tok string) (iface, addr, port string) {
	if i := strings.IndexByte(tok, '('); i > 0 {
		tok = tok[:i]
	}
	if c := strings.IndexByte(tok, ':'); c >= 0 {
		iface, tok = tok[:c], tok[c+1:]
	}
	addr, port = asaAddrPort(tok)
	return iface, addr, port
}

// asaEnd sets an endpoint from an address (or object name) and a port
// (ignored when it is a service name).
func asaEnd(e *schemas.Endpoint, addr, port string) {
	fwSetHost(e, addr)
	if n, ok := fwPort(port); ok {
		e.Port = n
	}
}

// asaDenyFromTo reads "... from A[/P] to B[/Q] ... [on interface I]" of a
// denied packet.
func asaDenyFromTo(ev *schemas.Event, body, proto string) bool {
	_, r, ok := strings.Cut(body, " from ")
	if !ok {
		return false
	}
	a, r, ok := strings.Cut(r, " to ")
	if !ok {
		return false
	}
	b, r := fwWord(r)
	addr, port := asaAddrPort(a)
	asaEnd(&ev.Source, addr, port)
	addr, port = asaAddrPort(b)
	asaEnd(&ev.Destination, addr, port)
	if _, iface, ok := strings.Cut(r, "on interface "); ok {
		iface, _ = fwWord(iface)
		ev.Observer.IngressInterface = strings.TrimSuffix(iface, ".")
	}
	ev.Network.Transport = fwTransport(proto)
	fwVerdict(ev, false)
	return true
}

// asaDenySrcDst reads 106010, 106014 and 106023: "Deny [inbound] P|protocol
// N src I:A[/P] dst I:B[/Q] [(type T, code C)] [by access-group "ACL"]".
func asaDenySrcDst(ev *schemas.Event, body string) {
	r, ok := strings.CutPrefix(body, "Deny ")
	if !ok {
		return
	}
	r = strings.TrimPrefix(r, "inbound ")
	proto, r := fwWord(r)
	if proto == "protocol" {
		proto, r = fwWord(r)
	}
	r, ok = strings.CutPrefix(r, "src ")
	if !ok {
		return
	}
	src, r, ok := strings.Cut(r, " dst ")
	if !ok {
		return
	}
	dst, _ := fwWord(r)
	iface, addr, port := asaIfAddrPort(src)
	asaEnd(&ev.Source, addr, port)
	ev.Observer.IngressInterface = iface
	iface, addr, port = asaIfAddrPort(dst)
	asaEnd(&ev.Destination, addr, port)
	ev.Observer.EgressInterface = iface
	ev.Network.Transport = fwTransport(proto)
	if _, t, ok := strings.Cut(r, "(type "); ok {
		typ, t, _ := strings.Cut(t, ", code ")
		code, _, _ := strings.Cut(t, ")")
		fwSetICMP(ev, strings.IndexByte(ev.Source.IP, ':') >= 0, typ, code)
	}
	if _, acl, ok := strings.Cut(r, `by access-group "`); ok {
		ev.Rule.Name, _, _ = strings.Cut(acl, `"`)
	}
	fwVerdict(ev, false)
}

// asaACL reads 106100: "access-list ACL permitted|denied|est-allowed P
// I/A(P) -> I/B(Q) hit-cnt N ...".
func asaACL(ev *schemas.Event, body string) {
	r, ok := strings.CutPrefix(body, "access-list ")
	if !ok {
		return
	}
	acl, r := fwWord(r)
	verdict, r := fwWord(r)
	proto, r := fwWord(r)
	src, r := fwWord(r)
	arrow, r := fwWord(r)
	dst, _ := fwWord(r)
	if arrow != "->" {
		return
	}
	ev.Rule.Name = acl
	ev.Network.Transport = fwTransport(proto)
	icmp := ev.Network.Transport == "icmp" || ev.Network.Transport == "ipv6-icmp"
	var n [2]string
	for i, tok := range [2]string{src, dst} {
		iface, rest, _ := strings.Cut(tok, "/")
		addr, num, _ := strings.Cut(rest, "(")
		num = strings.TrimSuffix(num, ")")
		e := &ev.Source
		if i == 0 {
			ev.Observer.IngressInterface = iface
		} else {
			ev.Observer.EgressInterface = iface
			e = &ev.Destination
		}
		fwSetHost(e, addr)
		n[i] = num
		if !icmp {
			e.Port, _ = fwPort(num)
		}
	}
	if icmp {
		// For ICMP the numbers are the message type and code.
		fwSetICMP(ev, ev.Network.Transport == "ipv6-icmp", n[0], n[1])
	}
	switch verdict {
	case "permitted", "est-allowed":
		fwVerdict(ev, true)
	case "denied":
		fwVerdict(ev, false)
	}
}

// asaSide reads one side of a Built message: "I:A/P (M/MP)[(user)]" and
// whatever follows it.
func asaSide(s string) (iface, addr, port, maddr, mport string) {
	real, r := fwWord(s)
	iface, addr, port = asaIfAddrPort(real)
	if m, ok := strings.CutPrefix(r, "("); ok {
		m, _, _ = strings.Cut(m, ")")
		maddr, mport = asaAddrPort(m)
	}
	return iface, addr, port, maddr, mport
}

// asaBuilt reads 302013 and 302015: "Built inbound|outbound TCP|UDP
// connection ID for I:A/P (M/MP) to I:B/Q (M/MQ)". The side after "for"
// is the one on the lower-security interface: the initiator of an inbound
// connection, the responder of an outbound one.
func asaBuilt(ev *schemas.Event, body string) {
	r, ok := strings.CutPrefix(body, "Built ")
	if !ok {
		return
	}
	dir, r := fwWord(r)
	proto, r := fwWord(r)
	_, r, ok = strings.Cut(r, " for ")
	if !ok {
		return
	}
	forSide, toSide, ok := strings.Cut(r, " to ")
	if !ok {
		return
	}
	src, dst := forSide, toSide
	switch dir {
	case "inbound":
		ev.Network.Direction = "inbound"
	case "outbound":
		ev.Network.Direction = "outbound"
		src, dst = toSide, forSide
	default:
		return
	}
	asaBuiltSide(ev, &ev.Source, src, true)
	asaBuiltSide(ev, &ev.Destination, dst, false)
	ev.Network.Transport = fwTransport(proto)
	fwClass(ev, schemas.CategoryNetwork, schemas.TypeStart, fwBuilt)
}

// asaBuiltSide sets one endpoint of a Built message: the real address,
// and the mapped one as the address after translation when it differs.
// The source's interface is the ingress, the destination's the egress.
func asaBuiltSide(ev *schemas.Event, e *schemas.Endpoint, side string, ingress bool) {
	iface, addr, port, maddr, mport := asaSide(side)
	asaEnd(e, addr, port)
	if ingress {
		ev.Observer.IngressInterface = iface
	} else {
		ev.Observer.EgressInterface = iface
	}
	if ip, ok := fwCanonIP(maddr); ok {
		mp, _ := fwPort(mport)
		if ip != e.IP || mp != e.Port {
			e.NATIP, e.NATPort = ip, mp
		}
	}
}

// asaTeardown reads 302014 and 302016: "Teardown TCP|UDP connection ID for
// I:A/P to I:B/Q duration H:MM:SS bytes N [REASON]". A teardown does not
// say which side opened the connection: the side after "for" is the
// source, as in the message.
func asaTeardown(ev *schemas.Event, body string) {
	r, ok := strings.CutPrefix(body, "Teardown ")
	if !ok {
		return
	}
	proto, r := fwWord(r)
	_, r, ok = strings.Cut(r, " for ")
	if !ok {
		return
	}
	a, r, ok := strings.Cut(r, " to ")
	if !ok {
		return
	}
	b, r := fwWord(r)
	iface, addr, port := asaIfAddrPort(a)
	asaEnd(&ev.Source, addr, port)
	ev.Observer.IngressInterface = iface
	iface, addr, port = asaIfAddrPort(b)
	asaEnd(&ev.Destination, addr, port)
	ev.Observer.EgressInterface = iface
	// Not kept: the duration ("duration 0:01:07"); the event schema has
	// no field for how long a connection lasted.
	if _, r, ok = strings.Cut(r, "bytes "); ok {
		n, reason := fwWord(r)
		ev.Network.Bytes, _ = fwUint(n)
		if reason != "" && reason[0] != '(' {
			ev.Event.Reason = strings.TrimSpace(reason)
		}
	}
	ev.Network.Transport = fwTransport(proto)
	fwClass(ev, schemas.CategoryNetwork, schemas.TypeEnd, fwClosed)
}

// asaICMPConn reads 302020 and 302021: "Built inbound|outbound ICMP
// connection for faddr F/N gaddr G/N laddr L/N [type T code C]", and
// "Teardown ICMP connection for faddr ...". faddr is the foreign host,
// laddr the local one and gaddr laddr's mapped address.
func asaICMPConn(ev *schemas.Event, body string) {
	faddr := asaKeyWord(body, "faddr ")
	gaddr := asaKeyWord(body, "gaddr ")
	laddr := asaKeyWord(body, "laddr ")
	if faddr == "" || laddr == "" {
		return
	}
	f, _ := asaAddrPort(faddr)
	g, _ := asaAddrPort(gaddr)
	l, _ := asaAddrPort(laddr)
	local, foreign := &ev.Destination, &ev.Source
	built := strings.HasPrefix(body, "Built ")
	if built && strings.HasPrefix(body[len("Built "):], "outbound") {
		local, foreign = &ev.Source, &ev.Destination
		ev.Network.Direction = "outbound"
	} else if built {
		ev.Network.Direction = "inbound"
	}
	fwSetHost(foreign, f)
	fwSetHost(local, l)
	if ip, ok := fwCanonIP(g); ok && ip != local.IP {
		local.NATIP = ip
	}
	v6 := strings.IndexByte(ev.Source.IP, ':') >= 0
	ev.Network.Transport = "icmp"
	if v6 {
		ev.Network.Transport = "ipv6-icmp"
	}
	if t := asaKeyWord(body, "type "); t != "" {
		fwSetICMP(ev, v6, t, asaKeyWord(body, "code "))
	}
	if built {
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeStart, fwBuilt)
	} else {
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeEnd, fwClosed)
	}
}

// asaKeyWord returns the word after the first " KEY" (or KEY at the
// start) in s.
func asaKeyWord(s, key string) string {
	i := strings.Index(s, key)
	for i > 0 && s[i-1] != ' ' {
		j := strings.Index(s[i+1:], key)
		if j < 0 {
			return ""
		}
		i += 1 + j
	}
	if i < 0 {
		return ""
	}
	w, _ := fwWord(s[i+len(key):])
	return w
}

// asaXlate reads 305011 and 305012: "Built|Teardown dynamic|static
// TCP|UDP|ICMP translation from I:A/P to I:M/Q [duration D]". The source
// is the real address, its translation the mapped one.
func asaXlate(ev *schemas.Event, body string) {
	verb, r := fwWord(body)
	_, r = fwWord(r) // dynamic, static
	proto, r := fwWord(r)
	r, ok := strings.CutPrefix(r, "translation from ")
	if !ok {
		return
	}
	a, r, ok := strings.Cut(r, " to ")
	if !ok {
		return
	}
	b, _ := fwWord(r)
	iface, addr, port := asaIfAddrPort(a)
	asaEnd(&ev.Source, addr, port)
	ev.Observer.IngressInterface = iface
	iface, addr, port = asaIfAddrPort(b)
	if ip, ok := fwCanonIP(addr); ok {
		ev.Source.NATIP = ip
		ev.Source.NATPort, _ = fwPort(port)
	}
	ev.Observer.EgressInterface = iface
	ev.Network.Transport = fwTransport(proto)
	switch verb {
	case "Built":
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeStart, fwNATBuilt)
	case "Teardown":
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeEnd, fwNATClosed)
	}
}

// asaRate reads 733100: "[ OBJECT] drop rate-N exceeded. Current burst
// rate is X per second, max configured rate is Y; Current average rate is
// Z per second, max configured rate is W; ...". The object (a drop
// reason such as "Scanning" or "SYN attack", or a host) is the rule name;
// the reason says which rate went over.
func asaRate(ev *schemas.Event, body string) {
	obj, r, ok := strings.Cut(body, " drop rate")
	if !ok {
		return
	}
	obj = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(obj, "["), "]"))
	ev.Rule.Name = obj
	if ip, ok := fwCanonIP(obj); ok {
		ev.Source.IP = ip
	}
	burst, burstMax := asaRateAfter(r, "Current burst rate is ")
	avg, avgMax := asaRateAfter(r, "Current average rate is ")
	switch {
	case burst > burstMax && burstMax >= 0:
		ev.Event.Reason = "burst rate exceeded"
	case avg > avgMax && avgMax >= 0:
		ev.Event.Reason = "average rate exceeded"
	}
	fwClass(ev, schemas.CategoryIntrusionDetection, schemas.TypeInfo, fwRate)
}

// asaRateAfter reads "KEY X per second, max configured rate is Y" and
// returns X and Y, -1 for a number it cannot read.
func asaRateAfter(s, key string) (int, int) {
	_, r, ok := strings.Cut(s, key)
	if !ok {
		return -1, -1
	}
	x, r := fwWord(r)
	_, r, ok = strings.Cut(r, "max configured rate is ")
	if !ok {
		return -1, -1
	}
	y, _ := fwWord(r)
	y = strings.TrimRight(y, ";.")
	xn, ok1 := fwUint(x)
	yn, ok2 := fwUint(y)
	if !ok1 {
		xn = -1
	}
	if !ok2 {
		yn = -1
	}
	return xn, yn
}

// asaIPS reads the 4000nn IPS messages: "IPS:NNNN NAME from A to B on
// interface I".
func asaIPS(ev *schemas.Event, body string) {
	r, ok := strings.CutPrefix(body, "IPS:")
	if !ok {
		return
	}
	sig, r := fwWord(r)
	k := lastIndex(r, " from ")
	if k < 0 {
		return
	}
	ev.Threat.Name = r[:k]
	ev.Rule.ID = sig
	a, r, ok := strings.Cut(r[k+len(" from "):], " to ")
	if !ok {
		return
	}
	b, r := fwWord(r)
	fwSetHost(&ev.Source, a)
	fwSetHost(&ev.Destination, b)
	if iface, ok := strings.CutPrefix(r, "on interface "); ok {
		ev.Observer.IngressInterface, _ = fwWord(iface)
	}
	fwClass(ev, schemas.CategoryIntrusionDetection, schemas.TypeInfo, fwIntrusion)
}
