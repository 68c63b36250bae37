package parse

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// fwBenchNetfilter is a UFW block of an inbound SSH SYN, the commonest
// netfilter line on a server.
const fwBenchNetfilter = "Dec 26 09:05:47 server01 kernel: [126140.629122] [UFW BLOCK] IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=198.51.100.251 DST=192.0.2.194 LEN=52 TOS=0x02 PREC=0x00 TTL=128 ID=9209 DF PROTO=TCP SPT=17833 DPT=22 WINDOW=8192 RES=0x00 CWR ECE SYN URGP=0"

// Lines written from the kernel's LOG target format (nf_log_syslog) and
// the prefixes UFW, firewalld, EdgeOS and plain iptables rules use.
func TestNetfilterLines(t *testing.T) {
	fwRun(t, []fwCase{
		{"ufw block", fwBenchNetfilter, fwFields{
			"event.dataset": DatasetNetfilter, "event.category": "network", "event.type": "denied",
			"event.action": "connection_denied", "rule.name": "UFW BLOCK", "rule.id": "",
			"source.ip": "198.51.100.251", "source.port": 17833, "source.mac": "66:77:88:99:aa:bb",
			"destination.ip": "192.0.2.194", "destination.port": 22, "destination.mac": "00:11:22:33:44:55",
			"network.transport": "tcp", "network.type": "ipv4", "network.direction": "inbound",
			"network.bytes": 52, "network.packets": 1, "observer.ingress_interface": "eth0",
			"observer.egress_interface": "", "observer.hostname": "server01", "observer.product": "netfilter",
			"host.name": "server01", "timestamp": time.Date(2025, 12, 26, 9, 5, 47, 0, time.UTC),
		}},
		{"ufw allow outbound", "Dec 26 09:05:48 server01 kernel: [126141.0] [UFW ALLOW] IN= OUT=eth0 SRC=192.0.2.194 DST=198.51.100.9 LEN=60 PROTO=UDP SPT=40000 DPT=53 LEN=40", fwFields{
			"event.action": "connection_allowed", "event.type": "allowed", "rule.name": "UFW ALLOW",
			"network.direction": "outbound", "observer.egress_interface": "eth0", "network.transport": "udp",
			"destination.port": 53, "network.bytes": 60,
		}},
		{"ufw audit logs without verdict", "Sep 20 15:52:00 h kernel: [ 2870.303541] [UFW AUDIT] IN= OUT=ppp0 SRC=192.0.2.67 DST=198.51.100.163 LEN=62 PROTO=UDP SPT=57548 DPT=53 LEN=42", fwFields{
			"event.action": "packet_logged", "event.type": "connection", "rule.name": "UFW AUDIT",
		}},
		{"no prefix", "Jun  8 14:34:33 h kernel: [50028442.088484] IN=enp1s0 OUT= SRC=198.51.100.107 DST=192.0.2.67 LEN=40 PROTO=TCP SPT=8080 DPT=8123 SYN", fwFields{
			"event.action": "packet_logged", "rule.name": "", "source.port": 8080, "destination.port": 8123,
		}},
		{"firewalld reject", "Mar  1 10:00:00 h kernel: filter_IN_public_REJECT: IN=ens3 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.9 DST=192.0.2.5 LEN=44 PROTO=TCP SPT=1234 DPT=3306 SYN", fwFields{
			"event.action": "connection_denied", "rule.name": "filter_IN_public_REJECT",
		}},
		{"edgeos ruleset accept", "Jan  5 20:17:01 edge kernel: [WAN_OUT-2000-A]IN=eth0 OUT=eth2 SRC=192.168.134.158 DST=192.0.2.25 LEN=265 PROTO=TCP SPT=43189 DPT=443 ACK PSH", fwFields{
			"event.action": "connection_allowed", "rule.name": "WAN_OUT", "rule.id": "2000",
			"network.direction": "", "observer.ingress_interface": "eth0", "observer.egress_interface": "eth2",
		}},
		{"edgeos zone pair drop", "Oct 10 07:25:12 edge kernel: [wan-lan-default-D]IN=eth0 OUT= SRC=203.0.113.15 DST=10.4.0.5 LEN=52 PROTO=TCP SPT=38842 DPT=443 ACK", fwFields{
			"event.action": "connection_denied", "rule.name": "wan-lan", "rule.id": "default",
		}},
		{"edgeos reject", "Oct 10 07:25:13 edge kernel: [WAN_LOCAL-20-R]IN=eth0 OUT= SRC=203.0.113.15 DST=10.4.0.1 LEN=52 PROTO=TCP SPT=38843 DPT=22 SYN", fwFields{
			"event.action": "connection_denied", "rule.name": "WAN_LOCAL", "rule.id": "20",
		}},
		{"icmp echo request", "Aug 17 10:03:37 h kernel: SFW2-INext-DROP-DEFLT IN=eth0 OUT= SRC=198.51.100.36 DST=192.0.2.194 LEN=28 TOS=0x00 PREC=0x00 TTL=44 ID=60200 PROTO=ICMP TYPE=8 CODE=0 ID=10466 SEQ=21229", fwFields{
			"event.action": "connection_denied", "event.reason": "echo request", "network.transport": "icmp",
			"source.port": 0, "destination.port": 0,
		}},
		{"icmp error quoting a packet", "Jan  8 03:37:09 h kernel: DROP: IN=eth0 OUT= SRC=192.168.2.71 DST=192.168.2.83 LEN=88 PROTO=ICMP TYPE=3 CODE=3 [SRC=192.168.2.83 DST=192.168.173.191 LEN=60 PROTO=UDP SPT=21458 DPT=62936 LEN=40 ]", fwFields{
			"event.reason": "port unreachable", "source.ip": "192.168.2.71", "destination.ip": "192.168.2.83",
			"source.port": 0, "network.transport": "icmp", "network.bytes": 88, "rule.name": "DROP",
		}},
		{"ipv6 written in full", "Jan 22 10:52:34 h kernel: [  307.757925] IN= OUT=enp0s3 SRC=fe80:0000:0000:0000:0084:88ff:feae:790a DST=ff02:0000:0000:0000:0000:0000:0000:0016 LEN=96 TC=0 HOPLIMIT=1 FLOWLBL=0 PROTO=ICMPv6 TYPE=143 CODE=0", fwFields{
			"source.ip": "fe80::84:88ff:feae:790a", "destination.ip": "ff02::16", "network.type": "ipv6",
			"network.transport": "ipv6-icmp", "event.reason": "multicast listener report",
		}},
		{"ipv6 tcp", "Jan 22 10:52:35 h kernel: [IPV6-DROP] IN=eth0 OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=80 TC=0 HOPLIMIT=57 FLOWLBL=0 PROTO=TCP SPT=50000 DPT=22 SYN", fwFields{
			"source.ip": "2001:db8::1", "destination.ip": "2001:db8::2", "destination.port": 22,
			"event.action": "connection_denied",
		}},
		{"tag as prefix", "Jan  8 03:37:09 DENY: IN=eth0 OUT= SRC=192.0.2.71 DST=192.0.2.83 LEN=88 PROTO=TCP SPT=1 DPT=2", fwFields{
			"rule.name": "DENY", "event.action": "connection_denied", "host.name": "",
		}},
		{"openwrt glued prefix", "Nov 18 13:39:49 OpenWRT kernel: [10051.313745] DROP(src wan)IN=eth0 OUT= SRC=203.0.113.205 DST=192.168.8.100 LEN=44 PROTO=TCP SPT=40952 DPT=23 SYN MARK=0xff00", fwFields{
			"rule.name": "DROP(src wan)", "event.action": "connection_denied", "destination.port": 23,
		}},
		{"no header", "[  203.842973] IPTABLES-DROP: IN=lo OUT= SRC=127.0.0.1 DST=127.0.0.53 LEN=76 PROTO=UDP SPT=49007 DPT=53 LEN=56", fwFields{
			"rule.name": "IPTABLES-DROP", "log.syslog.format": FormatNone, "timestamp": testReceived,
			"network.bytes": 76,
		}},
		{"esp", "Jan  5 20:17:01 fw kernel: [4276041.728154] IN=eno1 OUT= SRC=192.0.2.116 DST=192.0.2.25 LEN=120 PROTO=ESP SPI=0xcb886522", fwFields{
			"network.transport": "esp", "source.port": 0, "event.action": "packet_logged",
		}},
	})
}

// TestNetfilterElasticSamples reads the Elastic iptables test log (Elastic
// License 2.0, read from the shared data set): addresses, ports and
// protocol are read off each line here by a regular expression; verdict,
// rule and ICMP name are in the table.
func TestNetfilterElasticSamples(t *testing.T) {
	lines := readLines(t, sharedData(t, "firewall/iptables/elastic_test-iptables-raw.log"))
	require.Len(t, lines, 24)
	type want struct{ action, rule, ruleID, reason string }
	d, a, l := fwDenied, fwAllowed, fwLogged
	wants := []want{
		{d, "wan-lan", "default", ""}, {d, "wan-lan", "default", ""}, {d, "wan-lan", "default", ""},
		{d, "DENY", "", "port unreachable"},
		{d, "iptables DROP_INPUT", "", ""}, {d, "iptables DROP_INPUT", "", ""}, {d, "iptables DROP_INPUT", "", ""},
		{d, "iptables DROP_INPUT", "", ""}, {d, "iptables DROP_INPUT", "", ""}, {d, "iptables DROP_INPUT", "", ""},
		{d, "iptables DROP_INPUT", "", ""}, {d, "iptables DROP_INPUT", "", ""}, {d, "iptables DROP_INPUT", "", ""},
		{d, "iptables DROP_INPUT", "", ""},
		{l, "", "", "echo request"}, {l, "", "", "multicast listener report"},
		{a, "LAN_LOCAL", "default", ""}, {a, "WAN_OUT", "2000", ""}, {d, "source-dest", "default", ""},
		{a, "WAN_OUT", "2000", ""}, {a, "WAN_OUT", "2000", ""},
		{l, "", "", ""},
		{a, "SOMETHING", "1234", ""}, {a, "SOMETHING", "1234", "echo request"},
	}
	field := func(line, key string) string {
		// The packet an ICMP error quotes, in brackets, is not this one.
		line, _, _ = strings.Cut(line, " [SRC=")
		m := regexp.MustCompile(`(?:^|[ \]])` + key + `=(\S*)`).FindStringSubmatch(line)
		if m == nil {
			return ""
		}
		return m[1]
	}
	for i, line := range lines {
		ev := fwMust(t, "", line)
		w := wants[i]
		sport, _ := strconv.Atoi(field(line, "SPT"))
		dport, _ := strconv.Atoi(field(line, "DPT"))
		src, _ := fwCanonIP(field(line, "SRC"))
		dst, _ := fwCanonIP(field(line, "DST"))
		length, _ := strconv.Atoi(field(line, "LEN"))
		fwCheck(t, &ev, fwFields{
			"event.dataset": DatasetNetfilter, "event.action": w.action, "rule.name": w.rule,
			"rule.id": w.ruleID, "event.reason": w.reason, "source.ip": src, "destination.ip": dst,
			"source.port": sport, "destination.port": dport, "network.bytes": length,
			"network.transport":          fwTransport(field(line, "PROTO")),
			"observer.ingress_interface": field(line, "IN"), "observer.egress_interface": field(line, "OUT"),
		}, "line ", i+1)
	}
}

// TestNetfilterCrowdSec checks the CrowdSec hub's iptables-logs
// parser.assert (MIT, shared data set).
func TestNetfilterCrowdSec(t *testing.T) {
	choices := map[string]crowdsecFwChoice{
		"iptables-logs#0.proto":    {"tcp", "network.transport is lower case"},
		"iptables-logs#1.proto":    {"tcp", "network.transport is lower case"},
		"iptables-logs#3.proto":    {"udp", "network.transport is lower case"},
		"iptables-logs#3.length":   {"76", "network.bytes is the IP packet's LEN=, the first; CrowdSec keeps the last, the UDP length"},
		"iptables-logs#0.log_type": {fwLogged, "a line without log prefix says nothing of the verdict; CrowdSec calls every line a drop"},
		"iptables-logs#1.log_type": {fwLogged, "as line 0"},
	}
	n := crowdsecFwAsserts(t, "iptables-logs", choices)
	t.Logf("%d CrowdSec assertions checked", n)
	require.Greater(t, n, 50)
}

// TestNetfilterWazuh reads the Wazuh ruleset's iptables tests (GPL-2.0,
// shared data set): every line is a netfilter event whose addresses are
// those of its first SRC= and DST=, and whose verdict is its prefix's.
func TestNetfilterWazuh(t *testing.T) {
	verdicts := map[string]string{
		"FIREWALL_OUT": fwLogged, "IPTABLE": fwLogged, "SFW2-INext-DROP-DEFLT": fwDenied, "": fwLogged,
		"DROP": fwDenied, "UFW BLOCK": fwDenied, "DROP(src wan)": fwDenied,
	}
	first := regexp.MustCompile(`SRC=(\S+) DST=(\S+)`)
	for _, line := range fwWazuhLines(t, "wazuh_ruleset_tests/iptables.ini") {
		ev := fwMust(t, "", line)
		m := first.FindStringSubmatch(line)
		want, ok := verdicts[ev.Rule.Name]
		require.True(t, ok, "unexpected rule name %q for %q", ev.Rule.Name, line)
		fwCheck(t, &ev, fwFields{
			"event.dataset": DatasetNetfilter, "source.ip": m[1], "destination.ip": m[2], "event.action": want,
		}, line)
	}
}

func TestNetfilterErrors(t *testing.T) {
	for _, c := range []struct{ line, detail string }{
		{"Jun  8 14:34:33 h kernel: IN=eth0 OUT= SRC=198.51.100.300 DST=192.0.2.1 PROTO=TCP", "SRC= is not an IP address at byte 17"},
		{"Jun  8 14:34:33 h kernel: IN=eth0 OUT= SRC=198.51.100.3 DST=host PROTO=TCP", "DST= is not an IP address at byte 34"},
		{"Jun  8 14:34:33 h kernel: IN=eth0 OUT= DST=192.0.2.1 PROTO=TCP", "expected SRC= and DST= addresses at byte 0"},
		{"Jun  8 14:34:33 h kernel: IN=eth0 OUT= SRC=198.51.100.3 DST=192.0.2.1 PROTO=TCP SPT=99999 DPT=1", "SPT= is not a port at byte 58"},
	} {
		ev, err := fwParse("", c.line)
		require.Equal(t, ReasonBadNetfilter, reasonOf(t, err), c.line)
		require.Contains(t, err.Error(), c.detail)
		require.Equal(t, DatasetNetfilter, ev.Event.Dataset)
	}
	// Told to expect netfilter, a line without its fields fails.
	_, err := fwParse(DatasetNetfilter, "Jun  8 14:34:33 h kernel: eth0: link up")
	require.Equal(t, ReasonBadNetfilter, reasonOf(t, err))
	// A kernel line that is not a LOG line is not claimed.
	ev := fwMust(t, "", "Jun  8 14:34:33 h kernel: [ 1.0] XX=enp1s0 OUT= SRC=198.51.100.107 DST=192.0.2.67")
	require.Empty(t, ev.Event.Dataset)
}

func FuzzNetfilter(f *testing.F) {
	seeds := []string{
		fwBenchNetfilter,
		"[  203.842973] IPTABLES-DROP: IN=lo OUT= SRC=127.0.0.1 DST=127.0.0.53 LEN=76 PROTO=UDP SPT=49007 DPT=53 LEN=56",
		"Jan 22 10:52:34 h kernel: IN= OUT=enp0s3 SRC=fe80:0000:0000:0000:0084:88ff:feae:790a DST=ff02::16 LEN=96 PROTO=ICMPv6 TYPE=143 CODE=0",
		"Oct 10 07:25:12 edge kernel: [wan-lan-default-D]IN=eth0 OUT= SRC=203.0.113.15 DST=10.4.0.5 LEN=52 PROTO=TCP SPT=38842 DPT=443 ACK",
		"Jan  8 03:37:09 DENY: IN=eth0 OUT= SRC=192.0.2.71 DST=192.0.2.83 LEN=88 PROTO=ICMP TYPE=3 CODE=3 [SRC=192.0.2.83 DST=192.0.2.1 ]",
	}
	for _, rel := range []string{"firewall/iptables/elastic_test-iptables-raw.log", "crowdsec_hub_tests/iptables-logs/iptables-logs.log"} {
		seeds = append(seeds, fwSharedLines(rel)...)
	}
	for _, s := range seeds {
		f.Add(s)
	}
	forced, auto := New(Options{Format: DatasetNetfilter}), New(Options{})
	f.Fuzz(func(t *testing.T, line string) { fwFuzz(t, forced, auto, line) })
}

func BenchmarkParseNetfilter(b *testing.B) { fwBench(b, fwBenchNetfilter) }

// fwBench measures Parse on one line with format detection.
func fwBench(b *testing.B, line string) {
	p := New(Options{})
	var ev schemas.Event
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		ev.Reset()
		if err := p.Parse(line, testReceived, &ev); err != nil {
			b.Fatal(err)
		}
	}
	if ev.Event.Action == "" {
		b.Fatalf("line was not classified: %q", line)
	}
}
