package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// The Cisco ASA messages about people: AAA and management logins, VPN
// sessions, commands and local accounts. cisco_asa.go reads the tag and
// the traffic and threat messages.

// asaValue returns the value after "KEY = " (the first of the spellings
// given that the text holds), up to " : ", ", " or ": " or the end.
func asaValue(s string, keys ...string) (string, bool) {
	for _, key := range keys {
		_, r, ok := strings.Cut(s, key)
		if !ok {
			continue
		}
		end := len(r)
		for _, sep := range [...]string{" : ", ", ", ": "} {
			if i := strings.Index(r, sep); i >= 0 && i < end {
				end = i
			}
		}
		return strings.TrimSpace(r[:end]), true
	}
	return "", false
}

// asaAAAOK reads 113004 and 113012: "AAA user authentication|authorization|
// accounting Successful : server = S : user = U" (or "..., User = U", or
// "local database : user = U"). Only an authentication is a logon.
func asaAAAOK(ev *schemas.Event, body string) {
	r, ok := strings.CutPrefix(body, "AAA user ")
	if !ok {
		return
	}
	kind, _ := fwWord(r)
	if u, ok := asaValue(r, "user = ", "User = "); ok {
		ev.User.Name = u
	}
	ev.Event.Category = schemas.CategoryAuthentication
	if kind == "authentication" {
		fwClass(ev, schemas.CategoryAuthentication, schemas.TypeStart, fwLogon)
		ev.Event.Outcome = schemas.OutcomeSuccess
	}
}

// asaAAAReject reads 113005 and 113015: "AAA user authentication Rejected
// : reason = R : server = S : user = U : user IP = A".
func asaAAAReject(ev *schemas.Event, body string) {
	r, ok := strings.CutPrefix(body, "AAA user ")
	if !ok {
		return
	}
	kind, _ := fwWord(r)
	if reason, ok := asaValue(r, "reason = "); ok {
		ev.Event.Reason = reason
	}
	if ip, ok := asaValue(r, "user IP = "); ok {
		fwSetHost(&ev.Source, ip)
	}
	// "user = " also starts "user IP = "; the name comes first.
	if u, ok := asaValue(r, ": user = ", ", User = ", " user = "); ok && !strings.HasPrefix(u, "IP = ") {
		ev.User.Name = u
	}
	ev.Event.Category = schemas.CategoryAuthentication
	if kind == "authentication" {
		fwClass(ev, schemas.CategoryAuthentication, schemas.TypeStart, fwLogonFailed)
		ev.Event.Outcome = schemas.OutcomeFailure
	}
}

// asaVPNDisconnect reads 113019: "Group = G, Username = U, IP = A, Session
// disconnected. Session Type: T, Duration: D, Bytes xmt: X, Bytes rcv: R,
// Reason: Z".
func asaVPNDisconnect(ev *schemas.Event, body string) {
	if g, ok := asaValue(body, "Group = "); ok {
		ev.Group.Name = g
	}
	if u, ok := asaValue(body, "Username = "); ok {
		ev.User.Name = u
	}
	ip, ok := asaValue(body, "IP = ")
	if !ok {
		return
	}
	fwSetHost(&ev.Source, ip)
	x, _ := asaValue(body, "Bytes xmt: ")
	rcv, _ := asaValue(body, "Bytes rcv: ")
	xn, _ := fwUint(x)
	rn, _ := fwUint(rcv)
	ev.Network.Bytes = xn + rn
	if _, reason, ok := strings.Cut(body, "Reason: "); ok {
		ev.Event.Reason = strings.TrimSpace(reason)
	}
	fwClass(ev, schemas.CategorySession, schemas.TypeEnd, fwVPNClosed)
}

// asaLogin reads 605004 and 605005: "Login denied|permitted from A/P to
// I:B/SERVICE for user "U"".
func asaLogin(ev *schemas.Event, body string, ok bool) {
	_, r, found := strings.Cut(body, " from ")
	if !found {
		return
	}
	a, r, found := strings.Cut(r, " to ")
	if !found {
		return
	}
	b, r := fwWord(r)
	addr, port := asaAddrPort(a)
	asaEnd(&ev.Source, addr, port)
	iface, addr, svc := asaIfAddrPort(b)
	asaEnd(&ev.Destination, addr, svc)
	ev.Observer.IngressInterface = iface
	if ev.Destination.Port == 0 && svc != "" {
		ev.Network.Protocol = svc
	}
	if u, found := strings.CutPrefix(r, "for user "); found {
		ev.User.Name = strings.Trim(u, `"`)
	}
	if ok {
		fwClass(ev, schemas.CategoryAuthentication, schemas.TypeStart, fwLogon)
		ev.Event.Outcome = schemas.OutcomeSuccess
	} else {
		fwClass(ev, schemas.CategoryAuthentication, schemas.TypeStart, fwLogonFailed)
		ev.Event.Outcome = schemas.OutcomeFailure
	}
}

// asaVPNClientAuth reads 611101 "User authentication succeeded: [IP
// address: A, ]Uname: U", 611102 "... failed: ..." and 611103 "User logged
// out: Uname: U".
func asaVPNClientAuth(ev *schemas.Event, id, body string) {
	_, u, ok := strings.Cut(body, "Uname: ")
	if !ok {
		return
	}
	ev.User.Name = strings.TrimSpace(u)
	if ip, ok := asaValue(body, "IP address: "); ok {
		fwSetHost(&ev.Source, ip)
	}
	switch id {
	case "611101":
		fwClass(ev, schemas.CategoryAuthentication, schemas.TypeStart, fwLogon)
		ev.Event.Outcome = schemas.OutcomeSuccess
	case "611102":
		fwClass(ev, schemas.CategoryAuthentication, schemas.TypeStart, fwLogonFailed)
		ev.Event.Outcome = schemas.OutcomeFailure
	case "611103":
		fwClass(ev, schemas.CategoryAuthentication, schemas.TypeEnd, fwLogoff)
		ev.Event.Outcome = schemas.OutcomeSuccess
	}
}

// asaGroupUserIP reads "Group G User U IP A " or "Group <G> User <U> IP
// <A> " at the start of a WebVPN or AnyConnect message and returns the
// rest.
func asaGroupUserIP(ev *schemas.Event, body string) (string, bool) {
	var vals [3]string
	r := body
	for i, key := range [3]string{"Group ", "User ", "IP "} {
		var ok bool
		if r, ok = strings.CutPrefix(r, key); !ok {
			return "", false
		}
		if v, ok := strings.CutPrefix(r, "<"); ok {
			k := strings.IndexByte(v, '>')
			if k < 0 {
				return "", false
			}
			vals[i], r = v[:k], strings.TrimPrefix(v[k+1:], " ")
		} else {
			vals[i], r = fwWord(r)
		}
	}
	ev.Group.Name, ev.User.Name = vals[0], vals[1]
	fwSetHost(&ev.Source, vals[2])
	return r, true
}

// asaVPNSession reads 716001 "... WebVPN session started.", 716002 "...
// WebVPN session terminated: REASON.", 722022 "... TCP|UDP SVC connection
// established ..." and 722023 "... SVC connection terminated ...".
func asaVPNSession(ev *schemas.Event, id, body string) {
	r, ok := asaGroupUserIP(ev, body)
	if !ok {
		return
	}
	switch id {
	case "716001", "722022":
		fwClass(ev, schemas.CategorySession, schemas.TypeStart, fwVPNStarted)
		ev.Event.Outcome = schemas.OutcomeSuccess
	case "716002", "722023":
		fwClass(ev, schemas.CategorySession, schemas.TypeEnd, fwVPNClosed)
		if _, reason, ok := strings.Cut(r, "terminated: "); ok {
			ev.Event.Reason = strings.TrimSuffix(strings.TrimSpace(reason), ".")
		}
	}
	if strings.HasPrefix(id, "722") {
		proto, _ := fwWord(r)
		if proto == "TCP" || proto == "UDP" {
			ev.Network.Transport = fwTransport(proto)
		}
	}
}

// asaVPNAddress reads 722051: "Group <G> User <U> IP <A> IPv4 Address <B>
// IPv6 address <C> assigned to session". The address the client was
// given is its address after translation.
func asaVPNAddress(ev *schemas.Event, body string) {
	r, ok := asaGroupUserIP(ev, body)
	if !ok {
		return
	}
	if _, v, ok := strings.Cut(r, "IPv4 Address <"); ok {
		v, _, _ = strings.Cut(v, ">")
		if ip, ok := fwCanonIP(v); ok && ip != "0.0.0.0" {
			ev.Source.NATIP = ip
		}
	}
	fwClass(ev, schemas.CategorySession, schemas.TypeInfo, fwVPNAddress)
}

// asaIKEAddress reads 751025: "Local:L:P Remote:R:P Username:U IKEv2
// Group:G IPv4 Address=A IPv6 address=B assigned to session".
func asaIKEAddress(ev *schemas.Event, body string) {
	local := asaKeyWord(body, "Local:")
	remote := asaKeyWord(body, "Remote:")
	if remote == "" {
		return
	}
	for i, hp := range [2]string{remote, local} {
		e := &ev.Source
		if i == 1 {
			e = &ev.Destination
		}
		host, port := hp, ""
		if c := strings.LastIndexByte(hp, ':'); c > 0 {
			host, port = hp[:c], hp[c+1:]
		}
		asaEnd(e, host, port)
	}
	ev.User.Name = asaKeyWord(body, "Username:")
	ev.Group.Name = asaKeyWord(body, "Group:")
	if v := asaKeyWord(body, "Address="); v != "" {
		if ip, ok := fwCanonIP(v); ok && ip != "0.0.0.0" {
			ev.Source.NATIP = ip
		}
	}
	fwClass(ev, schemas.CategorySession, schemas.TypeInfo, fwVPNAddress)
}

// asaCommand reads 111008 "User 'U' executed the 'CMD' command.", 111010
// "User 'U', running 'APP' from IP A, executed 'CMD'" and 111009 "User 'U'
// executed cmd: CMD". 111009 is written for every command, "show" ones
// included, so it names user and command but is not a change.
func asaCommand(ev *schemas.Event, id, body string) {
	r, ok := strings.CutPrefix(body, "User ")
	if !ok {
		return
	}
	if q, ok := strings.CutPrefix(r, "'"); ok {
		k := strings.IndexByte(q, '\'')
		if k < 0 {
			return
		}
		ev.User.Name, r = q[:k], q[k+1:]
	} else {
		ev.User.Name, r = fwWord(r)
	}
	var cmd string
	switch id {
	case "111008":
		_, c, ok := strings.Cut(r, "executed the '")
		if !ok {
			return
		}
		cmd = strings.TrimSuffix(c, "'")
		if k := lastIndex(c, "' command"); k >= 0 {
			cmd = c[:k]
		}
	case "111010":
		if ip, ok := asaValue(r, "from IP "); ok {
			fwSetHost(&ev.Source, ip)
		}
		_, c, ok := strings.Cut(r, "executed '")
		if !ok {
			return
		}
		cmd = strings.TrimSuffix(c, "'")
	case "111009":
		_, c, _ := strings.Cut(r, "executed cmd: ")
		ev.Change.Item = strings.TrimSpace(c)
		return
	}
	ev.Change.Item = cmd
	fwClass(ev, schemas.CategoryConfiguration, schemas.TypeChange, fwCommand)
	ev.Event.Outcome = schemas.OutcomeSuccess
}
