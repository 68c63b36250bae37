package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// ReasonBadFilterlog is a pfSense or OPNsense filterlog record that does
// not read: too few fields for its IP version and protocol, an IP version
// other than 4 or 6, an address or port that is not one.
const ReasonBadFilterlog = "bad_filterlog"

func init() {
	register(Source{
		Name:        DatasetFilterlog,
		Description: "pfSense and OPNsense filterlog CSV records (pf rule matches, IPv4 and IPv6)",
		Priority:    20,
		Apps:        []string{"filterlog"},
		Reasons:     []string{ReasonBadFilterlog},
		Parse:       parseFilterlog,
	})
}

// filterlogCSV walks the comma-separated fields of a record. filterlog
// never quotes a field.
type filterlogCSV struct {
	s    string
	done bool
}

// next returns the next field; ok is false after the last one.
func (c *filterlogCSV) next() (string, bool) {
	if c.done {
		return "", false
	}
	if i := fwComma(c.s); i < len(c.s) {
		f := c.s[:i]
		c.s = c.s[i+1:]
		return f, true
	}
	c.done = true
	return c.s, true
}

// fields reads the next len(dst) fields into dst and reports whether
// there were that many.
func (c *filterlogCSV) fields(dst []string) bool {
	for i := range dst {
		f, ok := c.next()
		if !ok {
			return false
		}
		dst[i] = f
	}
	return true
}

// parseFilterlog reads the record pf's filterlog writes, as the Netgate
// documentation lays it out: rule, sub-rule, anchor, tracker, interface,
// reason, action, direction, IP version; then TOS, ECN, TTL, ID, offset,
// flags, protocol id, protocol name (IPv4) or class, flow label, hop
// limit, protocol name, protocol id (IPv6); then length, source and
// destination; then the protocol's own fields (ports for TCP, UDP and
// SCTP, the message type for ICMP, the CARP fields).
func parseFilterlog(_ *Parser, in Input, ev *schemas.Event) *Error {
	msg := strings.TrimRight(in.Msg, " \r")
	fwSet(ev, DatasetFilterlog, "Netgate", "pfSense")
	c := filterlogCSV{s: msg}
	var head [9]string
	if !c.fields(head[:]) {
		return fwFail(ReasonBadFilterlog, "expected at least 9 comma-separated fields (rule to IP version)", len(msg))
	}
	rule, tracker, iface, reason, action, dir, ver := head[0], head[3], head[4], head[5], head[6], head[7], head[8]
	for i := 0; i < len(tracker); i++ {
		if !isDigit(tracker[i]) {
			// OPNsense writes a rule label (a hash or UUID) where pfSense
			// writes a numeric tracker.
			ev.Observer.Vendor, ev.Observer.Product = "Deciso", "OPNsense"
			break
		}
	}
	// The rule number is kept only when there is no tracker: it is the
	// rule's position in the loaded rule set and changes when rules are
	// added, and rule has one id field.
	switch {
	case tracker != "" && tracker != "0":
		ev.Rule.ID = tracker
	case rule != "":
		ev.Rule.ID = rule
	}
	switch dir {
	case "in":
		ev.Network.Direction = "inbound"
		ev.Observer.IngressInterface = iface
	case "out":
		ev.Network.Direction = "outbound"
		ev.Observer.EgressInterface = iface
	}

	var protoID, protoName, length, src, dst string
	switch ver {
	case "4":
		var f [11]string // TOS, ECN, TTL, ID, offset, flags, proto id, proto, length, src, dst
		if !c.fields(f[:]) {
			return fwFail(ReasonBadFilterlog, "expected 11 IPv4 fields after the IP version", len(msg))
		}
		protoID, protoName, length, src, dst = f[6], f[7], f[8], f[9], f[10]
	case "6":
		var f [8]string // class, flow label, hop limit, proto, proto id, length, src, dst
		if !c.fields(f[:]) {
			return fwFail(ReasonBadFilterlog, "expected 8 IPv6 fields after the IP version", len(msg))
		}
		protoName, protoID, length, src, dst = f[3], f[4], f[5], f[6], f[7]
	default:
		return fwFail(ReasonBadFilterlog, "IP version is neither 4 nor 6", fwOffset(msg, ver))
	}
	if !fwSetIP(&ev.Source, src) {
		return fwFail(ReasonBadFilterlog, "source is not an IP address", fwOffset(msg, src))
	}
	if !fwSetIP(&ev.Destination, dst) {
		return fwFail(ReasonBadFilterlog, "destination is not an IP address", fwOffset(msg, dst))
	}
	fwNetType(ev)
	if n, ok := fwUint(length); ok {
		ev.Network.Bytes = n
		ev.Network.Packets = 1
	}
	if t := fwTransport(protoName); t != "" {
		ev.Network.Transport = t
	} else {
		ev.Network.Transport = fwTransport(protoID)
	}
	if reason != "match" {
		// pf's reason is "match" for every rule match; anything else (a
		// bad offset, a short or fragmented packet) is worth keeping.
		ev.Event.Reason = reason
	}

	switch protoID {
	case "6", "17", "132": // TCP, UDP, SCTP: source port, destination port, ...
		var f [2]string
		if !c.fields(f[:]) {
			return fwFail(ReasonBadFilterlog, "expected source and destination ports", len(msg))
		}
		sp, ok1 := fwPort(f[0])
		dp, ok2 := fwPort(f[1])
		if !ok1 || !ok2 {
			return fwFail(ReasonBadFilterlog, "ports are not numbers up to 65535", fwOffset(msg, f[0]))
		}
		ev.Source.Port, ev.Destination.Port = sp, dp
	case "1", "58": // ICMP, ICMPv6: the message type, as a word
		if typ, ok := c.next(); ok && ev.Event.Reason == "" {
			ev.Event.Reason = filterlogICMP(typ)
		}
	}

	switch action {
	case "pass":
		fwVerdict(ev, true)
	case "block":
		fwVerdict(ev, false)
	default:
		// scrub, nat, rdr, binat: not a verdict on the packet.
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeConnection, "")
	}
	return nil
}

// filterlogICMP names the ICMP message filterlog writes as a word, in the
// words fwICMPName uses.
func filterlogICMP(w string) string {
	switch w {
	case "request":
		return "echo request"
	case "reply":
		return "echo reply"
	case "unreachport":
		return "port unreachable"
	case "unreachproto":
		return "protocol unreachable"
	case "unreach":
		return "destination unreachable"
	case "timexceed":
		return "time exceeded"
	case "paramprob":
		return "parameter problem"
	case "redirect":
		return "redirect"
	case "maskreply":
		return "mask reply"
	case "needfrag":
		return "fragmentation needed"
	case "tstamp":
		return "timestamp request"
	case "tstampreply":
		return "timestamp reply"
	}
	return ""
}
