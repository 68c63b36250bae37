package parse

import (
	"strings"

	"github.com/tocsin-siem/tocsin/schemas"
)

// ReasonBadNetfilter is a netfilter LOG line ("IN=... OUT=...") whose
// packet fields do not read: no SRC= or DST= address, an address or port
// that is not one.
const ReasonBadNetfilter = "bad_netfilter"

func init() {
	register(Source{
		Name:        DatasetNetfilter,
		Description: "Linux iptables/nftables kernel LOG lines (IN= OUT= SRC= DST= PROTO= ...)",
		Priority:    20,
		Sniff:       netfilterSniff,
		Reasons:     []string{ReasonBadNetfilter},
		Parse:       parseNetfilter,
	})
}

// netfilterSniff reports whether msg holds the packet fields that the
// kernel's LOG and nftables' log statements write.
func netfilterSniff(msg string) bool { return netfilterStart(msg) >= 0 }

// netfilterStart returns the offset of the "IN=" that starts the packet
// fields: one not glued to a word before it ("LOGIN=") and whose value
// is followed by " OUT=". -1 when there is none.
func netfilterStart(msg string) int {
	// Most messages hold no '=' at all: one byte scan turns them away.
	eq := strings.IndexByte(msg, '=')
	if eq < 2 {
		return -1
	}
	for off := eq - 2; off < len(msg); {
		k := strings.Index(msg[off:], "IN=")
		if k < 0 {
			return -1
		}
		k += off
		if k == 0 || !netfilterWordByte(msg[k-1]) {
			j := k + 3
			for j < len(msg) && msg[j] != ' ' {
				j++
			}
			if strings.HasPrefix(msg[j:], " OUT=") {
				return k
			}
		}
		off = k + 3
	}
	return -1
}

func netfilterWordByte(c byte) bool {
	return isDigit(c) || c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// parseNetfilter reads "[PREFIX]IN=if OUT=if [MAC=..] SRC=a DST=a LEN=n
// ... PROTO=p [SPT=n DPT=n | TYPE=n CODE=n] ...". The part before IN= is
// the log prefix a rule set (after the kernel's uptime stamp); it names
// the rule and, when it holds a verdict word, says what the rule did.
func parseNetfilter(_ *Parser, in Input, ev *schemas.Event) *Error {
	msg := in.Msg
	fwSet(ev, DatasetNetfilter, "Linux", "netfilter")
	k := netfilterStart(msg)
	if k < 0 {
		return fwFail(ReasonBadNetfilter, `expected "IN=" followed by " OUT="`, 0)
	}
	verdict := netfilterRule(ev, netfilterPrefix(msg[:k], in.App))

	var src, dst, proto, spt, dpt, icmpType, icmpCode, length string
	rest := msg[k:]
	for rest != "" {
		var tok string
		tok, rest = fwWord(rest)
		if tok == "" {
			continue
		}
		if tok[0] == '[' {
			// The packet an ICMP error quotes: its SRC= and DST= are not
			// this packet's.
			break
		}
		eq := 0
		for eq < len(tok) && tok[eq] != '=' {
			eq++
		}
		if eq == len(tok) {
			// A flag (DF, SYN, ACK, ...). Not kept, like TTL=, ID= and
			// MARK=: the event schema has no field for them.
			continue
		}
		key, val := tok[:eq], tok[eq+1:]
		switch key {
		case "IN":
			ev.Observer.IngressInterface = val
		case "OUT":
			ev.Observer.EgressInterface = val
		case "MAC":
			// destination MAC, source MAC, ethertype: 6+6+2 bytes.
			if len(val) >= 17 {
				ev.Destination.MAC = val[:17]
			}
			if len(val) >= 35 && val[17] == ':' {
				ev.Source.MAC = val[18:35]
			}
		case "SRC":
			src = val
		case "DST":
			dst = val
		case "LEN":
			if length == "" {
				length = val // the IP length; a later LEN= is the UDP length
			}
		case "PROTO":
			proto = val
		case "SPT":
			spt = val
		case "DPT":
			dpt = val
		case "TYPE":
			icmpType = val
		case "CODE":
			icmpCode = val
		}
	}
	if src == "" || dst == "" {
		return fwFail(ReasonBadNetfilter, "expected SRC= and DST= addresses", k)
	}
	if !fwSetIP(&ev.Source, src) {
		return fwFail(ReasonBadNetfilter, "SRC= is not an IP address", fwOffset(msg, src))
	}
	if !fwSetIP(&ev.Destination, dst) {
		return fwFail(ReasonBadNetfilter, "DST= is not an IP address", fwOffset(msg, dst))
	}
	if spt != "" {
		n, ok := fwPort(spt)
		if !ok {
			return fwFail(ReasonBadNetfilter, "SPT= is not a port", fwOffset(msg, spt))
		}
		ev.Source.Port = n
	}
	if dpt != "" {
		n, ok := fwPort(dpt)
		if !ok {
			return fwFail(ReasonBadNetfilter, "DPT= is not a port", fwOffset(msg, dpt))
		}
		ev.Destination.Port = n
	}
	if n, ok := fwUint(length); ok {
		ev.Network.Bytes = n
		ev.Network.Packets = 1
	}
	ev.Network.Transport = fwTransport(proto)
	fwNetType(ev)
	if icmpType != "" {
		fwSetICMP(ev, ev.Network.Type == "ipv6", icmpType, icmpCode)
	}
	inIf, outIf := ev.Observer.IngressInterface, ev.Observer.EgressInterface
	switch {
	case inIf != "" && outIf == "":
		ev.Network.Direction = "inbound"
	case inIf == "" && outIf != "":
		ev.Network.Direction = "outbound"
	}
	switch verdict {
	case netfilterAllow:
		fwVerdict(ev, true)
	case netfilterDeny:
		fwVerdict(ev, false)
	default:
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeConnection, fwLogged)
	}
	return nil
}

// netfilterPrefix returns the log prefix: what precedes IN= after the
// kernel's "[  uptime]" stamp, without the spaces and colon around it. A
// line whose syslog tag is not "kernel" and that has no prefix of its own
// ("DENY: IN=eth0 ...") uses the tag.
func netfilterPrefix(pre, app string) string {
	pre = strings.TrimLeft(pre, " ")
	if len(pre) > 2 && pre[0] == '[' {
		if end := strings.IndexByte(pre, ']'); end > 0 && netfilterUptime(pre[1:end]) {
			pre = pre[end+1:]
		}
	}
	pre = strings.TrimRight(strings.TrimSpace(pre), ":")
	pre = strings.TrimSpace(pre)
	if pre == "" && app != "kernel" {
		pre = app
	}
	return pre
}

// netfilterUptime reports whether s is the kernel's "  123.456789".
func netfilterUptime(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || isDigit(c):
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return dot
}

// Verdicts a log prefix can state.
const (
	netfilterNone = iota
	netfilterAllow
	netfilterDeny
)

// netfilterRule sets rule.name (and rule.id) from the log prefix and
// returns the verdict it states. A Ubiquiti (EdgeOS, VyOS) prefix
// "[RULESET-NUMBER-A|D|R]" gives the rule set as the name, the rule
// number as the id and accept, drop or reject; any other prefix is the
// rule's name, without the brackets UFW puts around it, and states a
// verdict when one of its words is a verdict word (DROP, REJECT, DENY,
// BLOCK, ACCEPT, ALLOW, PASS, in any case).
func netfilterRule(ev *schemas.Event, pre string) int {
	if pre == "" {
		return netfilterNone
	}
	if len(pre) > 2 && pre[0] == '[' && pre[len(pre)-1] == ']' {
		pre = pre[1 : len(pre)-1]
		if len(pre) > 4 && pre[len(pre)-2] == '-' {
			// The set may hold hyphens itself: the number is the part
			// before the verdict letter.
			body := pre[:len(pre)-2]
			if i := strings.LastIndexByte(body, '-'); i > 0 && i < len(body)-1 {
				verdict := netfilterNone
				switch pre[len(pre)-1] | 0x20 {
				case 'a':
					verdict = netfilterAllow
				case 'd', 'r':
					verdict = netfilterDeny
				}
				if verdict != netfilterNone {
					ev.Rule.Name, ev.Rule.ID = body[:i], body[i+1:]
					return verdict
				}
			}
		}
	}
	ev.Rule.Name = pre
	for rest := pre; rest != ""; {
		i := 0
		for i < len(rest) && !netfilterLetter(rest[i]) {
			i++
		}
		j := i
		for j < len(rest) && netfilterLetter(rest[j]) {
			j++
		}
		switch w := rest[i:j]; {
		case len(w) < 4 || len(w) > 8:
			// Shorter or longer than every verdict word.
		case netfilterIs(w, "drop", "dropped", "deny", "denied", "reject", "rejected", "block", "blocked"):
			return netfilterDeny
		case netfilterIs(w, "accept", "accepted", "allow", "allowed", "pass", "passed"):
			return netfilterAllow
		}
		rest = rest[j:]
	}
	return netfilterNone
}

func netfilterLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// netfilterIs reports whether w is one of words, ignoring case.
func netfilterIs(w string, words ...string) bool {
	for _, x := range words {
		if strings.EqualFold(w, x) {
			return true
		}
	}
	return false
}
