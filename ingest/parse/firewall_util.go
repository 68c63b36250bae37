package parse

import (
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Helpers shared by the firewall readers (netfilter, filterlog, Cisco ASA,
// FortiGate, PAN-OS). Every one of them works on substrings of the line
// and does not allocate on the lines those readers understand.

// Dataset values of the firewall sources; each is also the source's name.
const (
	DatasetNetfilter = "netfilter"
	DatasetFilterlog = "filterlog"
	DatasetCiscoASA  = "cisco_asa"
	DatasetFortiGate = "fortigate"
	DatasetPANOS     = "panos"
)

// Actions the firewall readers set in event.action. The vocabulary is
// tocsin's own; docs/formats lists which messages give each.
const (
	// fwAllowed: the firewall let a packet or connection through.
	fwAllowed = "connection_allowed"
	// fwDenied: the firewall dropped, rejected or blocked it.
	fwDenied = "connection_denied"
	// fwLogged: a packet was logged by a rule that does not say what it
	// did with it (a netfilter LOG prefix without a verdict word).
	fwLogged = "packet_logged"
	// fwBuilt and fwClosed: a connection was set up or torn down.
	fwBuilt  = "connection_built"
	fwClosed = "connection_closed"
	// fwNATBuilt and fwNATClosed: an address translation was created or
	// removed.
	fwNATBuilt  = "translation_built"
	fwNATClosed = "translation_closed"
	// fwIntrusion: an IPS signature or anomaly matched.
	fwIntrusion = "intrusion_detected"
	// fwScan: a host scanning (or being scanned) was detected.
	fwScan = "scan_detected"
	// fwRate: a threat-detection drop rate went over its limit.
	fwRate = "threat_rate_exceeded"
	// fwShunned: a host was added to the shun (block) list.
	fwShunned = "host_shunned"
	// fwSYNFlood: a SYN flood against a server was detected.
	fwSYNFlood = "syn_flood_detected"
	// fwMalware: an antivirus engine on the firewall found malware.
	fwMalware = "malware_detected"
	// fwLogon, fwLogonFailed and fwLogoff: a user (VPN, administrator,
	// AAA) logged on, failed to, or logged off.
	fwLogon       = "logon_succeeded"
	fwLogonFailed = "logon_failed"
	fwLogoff      = "logoff"
	// fwVPNStarted and fwVPNClosed: a remote-access or site-to-site VPN
	// session started or ended.
	fwVPNStarted = "vpn_session_started"
	fwVPNClosed  = "vpn_session_closed"
	// fwVPNAddress: a VPN client was given an address.
	fwVPNAddress = "vpn_address_assigned"
	// fwCommand: an administrator ran a command on the device.
	fwCommand = "command_executed"
	// fwConfig: the device's configuration changed.
	fwConfig = "config_changed"
	// fwUserCreated, fwUserDeleted and fwUserChanged: a local account was
	// added, removed or changed (its privilege) on the device.
	fwUserCreated = "user_created"
	fwUserDeleted = "user_deleted"
	fwUserChanged = "user_changed"
)

// fwSet fills the fields every firewall event has: dataset, the observer
// and, when the line gave one, the observer's host name.
func fwSet(ev *schemas.Event, dataset, vendor, product string) {
	ev.Event.Dataset = dataset
	o := &ev.Observer
	o.Vendor, o.Product, o.Type = vendor, product, "firewall"
	if o.Hostname == "" {
		o.Hostname = ev.Host.Name
	}
}

// fwClass sets category, type and action together.
func fwClass(ev *schemas.Event, category, typ, action string) {
	ev.Event.Category, ev.Event.Type, ev.Event.Action = category, typ, action
}

// fwVerdict records a firewall's decision on a packet or connection.
func fwVerdict(ev *schemas.Event, allowed bool) {
	if allowed {
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeAllowed, fwAllowed)
	} else {
		fwClass(ev, schemas.CategoryNetwork, schemas.TypeDenied, fwDenied)
	}
}

// fwFail builds the *Error of a recognised record that does not read:
// what was expected, and the byte offset in the syslog message (or in the
// line, when it had no header) where reading stopped.
func fwFail(reason, what string, at int) *Error {
	return &Error{Reason: reason, Detail: what + " at byte " + strconv.Itoa(at) + " of the message"}
}

// fwOffset returns where sub, a substring of msg, starts in msg; an empty
// sub is taken to be at the end of msg.
func fwOffset(msg, sub string) int {
	if sub == "" || msg == "" {
		return len(msg)
	}
	b := uintptr(unsafe.Pointer(unsafe.StringData(msg)))
	p := uintptr(unsafe.Pointer(unsafe.StringData(sub)))
	if p < b || p > b+uintptr(len(msg)) {
		return 0
	}
	return int(p - b)
}

// fwSetIP stores s in e.IP in the one spelling every reader uses (see
// fwCanonIP) and reports whether s was an address.
func fwSetIP(e *schemas.Endpoint, s string) bool {
	ip, ok := fwCanonIP(s)
	if ok {
		e.IP = ip
	}
	return ok
}

// fwSetHost stores a peer written as an address or as a name: an address
// in e.IP, a name in e.Domain in lower case without the root's dot (as
// source.domain elsewhere in this package). Empty names and the
// placeholders "N/A" and "any" are skipped.
func fwSetHost(e *schemas.Endpoint, s string) {
	if s == "" || s == "N/A" || s == "any" {
		return
	}
	if fwSetIP(e, s) {
		return
	}
	if d := strings.TrimRight(s, "."); d != "" {
		e.Domain = asciiLower(d)
	}
}

// fwCanonIP returns s as the address in one spelling: IPv4 as written
// (dotted quads without leading zeros), an IPv4-mapped IPv6 address as its
// IPv4 address, and other IPv6 addresses in RFC 5952 form. ok is false for
// anything else, including addresses with a zone.
func fwCanonIP(s string) (string, bool) {
	if len(s) < 2 || len(s) > 45 {
		return "", false
	}
	if strings.IndexByte(s, ':') < 0 {
		return s, isIPv4(s)
	}
	if v4, ok := strings.CutPrefix(s, "::ffff:"); ok && isIPv4(v4) {
		return v4, true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && c != ':' && c != '.' && (c|0x20 < 'a' || c|0x20 > 'f') {
			return "", false
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", false
	}
	a = a.Unmap()
	var buf [64]byte
	b := a.AppendTo(buf[:0])
	if string(b) == s {
		return s, true
	}
	return fwIPString(a, b), true
}

// fwIPCache remembers the RFC 5952 text of recently seen IPv6 addresses
// that a log wrote in another form. netfilter writes every IPv6 address
// in full ("fe80:0000:0000:..."), so without it each such line would
// allocate its addresses' text. It is a direct-mapped table of a fixed
// size: it holds only results of a pure function, so a slot overwritten
// by another address costs one allocation and nothing else.
var fwIPCache [1 << 10]atomic.Pointer[fwIPEntry]

type fwIPEntry struct {
	addr netip.Addr
	text string
}

// fwIPString returns the text b of address a, from fwIPCache when it is
// there.
func fwIPString(a netip.Addr, b []byte) string {
	raw := a.As16()
	h := uint64(14695981039346656037)
	for _, c := range raw {
		h = (h ^ uint64(c)) * 1099511628211
	}
	slot := &fwIPCache[h&(uint64(len(fwIPCache))-1)]
	if e := slot.Load(); e != nil && e.addr == a {
		return e.text
	}
	e := &fwIPEntry{addr: a, text: string(b)}
	slot.Store(e)
	return e.text
}

// fwNetType sets network.type from the source or destination address.
func fwNetType(ev *schemas.Event) {
	ip := ev.Source.IP
	if ip == "" {
		ip = ev.Destination.IP
	}
	switch {
	case ip == "":
	case strings.IndexByte(ip, ':') >= 0:
		ev.Network.Type = "ipv6"
	default:
		ev.Network.Type = "ipv4"
	}
}

// fwPort reads a port number: 1-5 digits, at most 65535.
func fwPort(s string) (int, bool) {
	if len(s) == 0 || len(s) > 5 {
		return 0, false
	}
	n, ok := fwUint(s)
	return n, ok && n <= 65535
}

// fwUint reads a decimal number of at most 18 digits.
func fwUint(s string) (int, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// fwTransport returns the layer-4 protocol given by name (any case) or by
// IANA number as the lower-case name network.transport holds. A number
// without a name here is kept as written; a name outside the table gives
// "" (it is more often a placeholder or a word of the message than a
// protocol).
func fwTransport(s string) string {
	switch s {
	case "":
		return ""
	case "1":
		return "icmp"
	case "2":
		return "igmp"
	case "4":
		return "ipip"
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "41":
		return "ipv6"
	case "47":
		return "gre"
	case "50":
		return "esp"
	case "51":
		return "ah"
	case "58":
		return "ipv6-icmp"
	case "89":
		return "ospf"
	case "103":
		return "pim"
	case "112":
		return "vrrp"
	case "132":
		return "sctp"
	case "136":
		return "udplite"
	}
	for _, name := range [...]string{
		"tcp", "udp", "icmp", "gre", "esp", "ah", "sctp", "igmp", "ospf", "pim", "vrrp", "carp", "udplite", "ipv6-icmp",
	} {
		if strings.EqualFold(s, name) {
			return name
		}
	}
	if strings.EqualFold(s, "icmpv6") || strings.EqualFold(s, "icmp6") {
		return "ipv6-icmp"
	}
	if _, ok := fwUint(s); ok && len(s) <= 3 {
		return s
	}
	return ""
}

// fwICMPName returns the name of an ICMP (or, with v6, ICMPv6) message
// type and code, or "" for one without a name here. The readers put it in
// event.reason: the schema has no field for ICMP type and code, and the
// name is what a rule about pings or unreachables needs.
func fwICMPName(v6 bool, typ, code int) string {
	if v6 {
		switch typ {
		case 1:
			switch code {
			case 1:
				return "communication prohibited"
			case 3:
				return "address unreachable"
			case 4:
				return "port unreachable"
			}
			return "destination unreachable"
		case 2:
			return "packet too big"
		case 3:
			return "time exceeded"
		case 4:
			return "parameter problem"
		case 128:
			return "echo request"
		case 129:
			return "echo reply"
		case 130:
			return "multicast listener query"
		case 131, 143:
			return "multicast listener report"
		case 132:
			return "multicast listener done"
		case 133:
			return "router solicitation"
		case 134:
			return "router advertisement"
		case 135:
			return "neighbor solicitation"
		case 136:
			return "neighbor advertisement"
		case 137:
			return "redirect"
		}
		return ""
	}
	switch typ {
	case 0:
		return "echo reply"
	case 3:
		switch code {
		case 0:
			return "network unreachable"
		case 1:
			return "host unreachable"
		case 2:
			return "protocol unreachable"
		case 3:
			return "port unreachable"
		case 4:
			return "fragmentation needed"
		case 9, 10, 13:
			return "communication prohibited"
		}
		return "destination unreachable"
	case 4:
		return "source quench"
	case 5:
		return "redirect"
	case 8:
		return "echo request"
	case 9:
		return "router advertisement"
	case 10:
		return "router solicitation"
	case 11:
		return "time exceeded"
	case 12:
		return "parameter problem"
	case 13:
		return "timestamp request"
	case 14:
		return "timestamp reply"
	case 17:
		return "mask request"
	case 18:
		return "mask reply"
	}
	return ""
}

// fwSetICMP records an ICMP type and code given as text, when both are
// numbers and the type has a name.
func fwSetICMP(ev *schemas.Event, v6 bool, typ, code string) {
	t, ok1 := fwUint(typ)
	c, ok2 := fwUint(code)
	if !ok1 || t > 255 {
		return
	}
	if !ok2 || c > 255 {
		c = -1
	}
	if name := fwICMPName(v6, t, c); name != "" {
		ev.Event.Reason = name
	}
}

// fwWord returns the first space-separated word of s and the rest after
// one space. Words are short: a plain loop beats strings.IndexByte's
// set-up here.
func fwWord(s string) (word, rest string) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// fwComma returns the index of the first comma in s, or len(s); a plain
// loop for the short fields of CSV records.
func fwComma(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return i
		}
	}
	return len(s)
}
