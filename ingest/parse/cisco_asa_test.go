package parse

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fwBenchASA is an outbound TCP connection built through NAT.
const fwBenchASA = "Oct 10 2018 12:34:56 localhost CiscoASA[999]: %ASA-6-302013: Built outbound TCP connection 11757 for outside:198.51.100.104/80 (198.51.100.104/80) to inside:172.31.98.44/1772 (203.0.113.44/8256)"

// Lines written from Cisco's "ASA Series Syslog Messages" formats for the
// message ids tocsin reads, with documentation addresses.
func TestCiscoASALines(t *testing.T) {
	fwRun(t, []fwCase{
		{"302013 outbound with nat", fwBenchASA, fwFields{
			"event.dataset": DatasetCiscoASA, "event.code": "302013", "event.severity": 6,
			"event.category": "network", "event.type": "start", "event.action": "connection_built",
			"source.ip": "172.31.98.44", "source.port": 1772, "source.nat_ip": "203.0.113.44", "source.nat_port": 8256,
			"destination.ip": "198.51.100.104", "destination.port": 80, "destination.nat_ip": "",
			"network.direction": "outbound", "network.transport": "tcp", "observer.vendor": "Cisco",
			"observer.product": "ASA", "observer.hostname": "localhost", "observer.ingress_interface": "inside",
			"observer.egress_interface": "outside", "timestamp": time.Date(2018, 10, 10, 12, 34, 56, 0, time.UTC),
		}},
		{"302013 inbound to a mapped server", "<166>Jun  3 2025 08:15:02 edge-fw1 : %ASA-6-302013: Built inbound TCP connection 774411 for outside:198.51.100.23/51544 (198.51.100.23/51544) to dmz:10.20.0.5/443 (203.0.113.10/443)", fwFields{
			"source.ip": "198.51.100.23", "source.port": 51544, "source.nat_ip": "",
			"destination.ip": "10.20.0.5", "destination.nat_ip": "203.0.113.10", "network.direction": "inbound",
			"observer.ingress_interface": "outside", "observer.egress_interface": "dmz", "host.name": "edge-fw1",
		}},
		{"302015 ftd without host name", "May  5 17:51:17 dev01: %FTD-6-302015: Built inbound UDP connection 5150 for net:198.51.100.10/53500 (198.51.100.10/53500) to fw:192.0.2.2/53 (192.0.2.2/53)", fwFields{
			"observer.product": "FTD", "network.transport": "udp", "event.action": "connection_built",
			"host.name": "dev01", "observer.hostname": "dev01", "destination.port": 53,
		}},
		{"302014 teardown with bytes", "%ASA-6-302014: Teardown TCP connection 11749 for outside:198.51.100.242/80 to inside:172.31.98.44/1758 duration 0:01:07 bytes 38110 TCP Reset-I", fwFields{
			"event.action": "connection_closed", "event.type": "end", "network.bytes": 38110,
			"event.reason": "TCP Reset-I", "source.ip": "198.51.100.242", "destination.port": 1758,
			"log.syslog.format": FormatNone,
		}},
		{"302016 teardown udp", "Apr 27 2020 02:03:03 dev01: %ASA-4-302016: Teardown UDP connection 123364823 for OUTSIDE:198.51.100.13/500 to identity:192.0.2.61/500 duration 92:24:20 bytes 4671944", fwFields{
			"event.action": "connection_closed", "network.bytes": 4671944, "network.transport": "udp", "event.reason": "",
		}},
		{"302020 outbound icmp", "Jun  3 08:15:03 fw2: %FTD-6-302020: Built outbound ICMP connection for faddr 192.0.2.9/0 gaddr 203.0.113.4/31001 laddr 10.1.1.7/31001 type 8 code 0", fwFields{
			"event.action": "connection_built", "source.ip": "10.1.1.7", "source.nat_ip": "203.0.113.4",
			"destination.ip": "192.0.2.9", "network.transport": "icmp", "event.reason": "echo request",
			"source.port": 0,
		}},
		{"302021 teardown icmp", "Jun  3 08:15:04 fw2: %ASA-6-302021: Teardown ICMP connection for faddr 192.0.2.9/0 gaddr 203.0.113.4/2 laddr 10.1.1.7/2 type 0 code 0", fwFields{
			"event.action": "connection_closed", "source.ip": "192.0.2.9", "destination.ip": "10.1.1.7",
			"destination.nat_ip": "203.0.113.4", "event.reason": "echo reply",
		}},
		{"305011 translation", "%ASA-6-305011: Built dynamic TCP translation from inside:172.31.98.44/1772 to outside:203.0.113.44/8256", fwFields{
			"event.action": "translation_built", "source.ip": "172.31.98.44", "source.port": 1772,
			"source.nat_ip": "203.0.113.44", "source.nat_port": 8256, "destination.ip": "",
		}},
		{"305012 translation removed", "%ASA-6-305012: Teardown dynamic UDP translation from inside:172.31.98.44/56132 to outside:203.0.113.44/1188 duration 0:00:30", fwFields{
			"event.action": "translation_closed", "network.transport": "udp", "source.nat_port": 1188,
		}},
		{"106001", "%ASA-2-106001: Inbound TCP connection denied from 198.51.100.59/54322 to 192.0.2.122/1433 flags SYN on interface outside", fwFields{
			"event.action": "connection_denied", "event.type": "denied", "event.severity": 2,
			"source.ip": "198.51.100.59", "source.port": 54322, "destination.port": 1433,
			"observer.ingress_interface": "outside", "network.direction": "inbound",
		}},
		{"106006", "%ASA-2-106006: Deny inbound UDP from 198.51.100.158/53306 to 192.0.2.123/53413 on interface outside", fwFields{
			"event.action": "connection_denied", "network.transport": "udp", "destination.port": 53413,
		}},
		{"106007", "%ASA-2-106007: Deny inbound UDP from 198.51.100.1/5353 to 192.0.2.3/53 due to DNS Query", fwFields{
			"event.action": "connection_denied", "destination.port": 53, "observer.ingress_interface": "",
		}},
		{"106014 icmp", "%ASA-3-106014: Deny inbound icmp src outside:198.51.100.231 dst outside:192.0.2.112 (type 8, code 0)", fwFields{
			"event.action": "connection_denied", "event.reason": "echo request", "network.transport": "icmp",
		}},
		{"106015 no connection", "%ASA-6-106015: Deny TCP (no connection) from 198.51.100.2/53089 to 192.0.2.10/443 flags FIN PSH ACK  on interface out111", fwFields{
			"event.reason": "no connection", "observer.ingress_interface": "out111", "destination.port": 443,
		}},
		{"106021 reverse path", "%ASA-1-106021: Deny TCP reverse path check from 198.51.100.2 to 192.0.2.10 on interface fw111", fwFields{
			"event.reason": "reverse path check", "network.transport": "tcp", "source.ip": "198.51.100.2",
		}},
		{"106023 acl", "<172>Feb 13 2023 02:31:56: %ASA-4-106023: Deny tcp src inside:10.9.8.7/56949 dst outside:198.51.100.130/443 by access-group \"inside_access_in\" [0x0, 0x0]", fwFields{
			"event.action": "connection_denied", "rule.name": "inside_access_in", "source.ip": "10.9.8.7",
			"source.port": 56949, "destination.ip": "198.51.100.130", "destination.port": 443,
			"observer.ingress_interface": "inside", "observer.egress_interface": "outside",
			"timestamp": time.Date(2023, 2, 13, 2, 31, 56, 0, time.UTC),
		}},
		{"106023 ipv6 icmp", "Apr 27 2020 02:03:03 dev01: %ASA-4-106023: Deny icmp src OUTSIDE:2001:db8:add:4002::6fc6 dst OUTSIDE:2001:db8:add:4002::1 (type 128, code 0) by access-group \"OUTSIDE_in\"", fwFields{
			"source.ip": "2001:db8:add:4002::6fc6", "event.reason": "echo request", "network.type": "ipv6",
		}},
		{"106023 object name and user", "%ASA-4-106023: Deny tcp src outside:198.51.100.2/56444(LOCAL\\eve) dst srv:SRV-Files/445 by access-group \"global_access\"", fwFields{
			"source.ip": "198.51.100.2", "source.port": 56444, "destination.domain": "srv-files", "destination.port": 445,
		}},
		{"106100 denied", "Apr 29 2013 12:59:50: %ASA-6-106100: access-list outside_in denied tcp outside/198.51.100.77(40112) -> inside/10.0.0.8(3389) hit-cnt 1 first hit [0x91ae4c1b, 0x0]", fwFields{
			"event.action": "connection_denied", "rule.name": "outside_in", "destination.port": 3389,
			"observer.ingress_interface": "outside", "timestamp": time.Date(2013, 4, 29, 12, 59, 50, 0, time.UTC),
		}},
		{"106100 permitted ipv6 icmp", "%ASA-6-106100: access-list in_v6 permitted icmp6 inside/2001:db8::5(128) -> outside/2001:db8:ffff::1(0) hit-cnt 3 300-second interval [0x1, 0x0]", fwFields{
			"event.action": "connection_allowed", "event.reason": "echo request", "source.port": 0,
			"network.transport": "ipv6-icmp",
		}},
		{"733100 rate", "<164>Jun  3 2025 08:16:00 edge-fw1 : %ASA-4-733100: [ Scanning] drop rate-1 exceeded. Current burst rate is 12 per second, max configured rate is 10; Current average rate is 3 per second, max configured rate is 5; Cumulative total count is 7302", fwFields{
			"event.action": "threat_rate_exceeded", "event.category": "intrusion_detection",
			"rule.name": "Scanning", "event.reason": "burst rate exceeded",
		}},
		{"733100 host", "%ASA-4-733100: [   192.0.2.77] drop rate-1 exceeded. Current burst rate is 0 per second, max configured rate is 10; Current average rate is 7 per second, max configured rate is 5; Cumulative total count is 6018", fwFields{
			"source.ip": "192.0.2.77", "event.reason": "average rate exceeded",
		}},
		{"733101 attacking", "%ASA-4-733101: Host 198.51.100.66 is attacking. Current burst rate is 210 per second, max configured rate is 0; Current average rate is 40 per second, max configured rate is 0; Cumulative total count is 9120", fwFields{
			"event.action": "scan_detected", "source.ip": "198.51.100.66", "destination.ip": "",
		}},
		{"733101 targeted", "%ASA-4-733101: Subnet 10.20.0.0 is targeted. Current burst rate is 210 per second, max configured rate is 0; Current average rate is 40 per second, max configured rate is 0; Cumulative total count is 9120", fwFields{
			"event.action": "scan_detected", "destination.ip": "10.20.0.0", "source.ip": "",
		}},
		{"733102 shun", "%ASA-4-733102: Threat-detection adds host 198.51.100.66 to shun list", fwFields{
			"event.action": "host_shunned", "source.ip": "198.51.100.66",
		}},
		{"733104 syn flood", "%ASA-4-733104: TCP Intercept SYN flood attack detected to 203.0.113.10/443 (real 10.20.0.5/443). Average rate of 510 SYNs/sec exceeded the threshold of 500.", fwFields{
			"event.action": "syn_flood_detected", "destination.ip": "203.0.113.10", "destination.port": 443,
			"destination.nat_ip": "10.20.0.5",
		}},
		{"733105 syn flood burst", "%ASA-4-733105: TCP Intercept SYN flood attack detected to 203.0.113.11/80 (real 203.0.113.11/80). Burst rate of 900 SYNs/sec exceeded the threshold of 800.", fwFields{
			"event.action": "syn_flood_detected", "destination.nat_ip": "",
		}},
		{"400013 ips", "%ASA-4-400013: IPS:2003 ICMP Redirect from 198.51.100.2 to 10.20.0.1 on interface outside", fwFields{
			"event.action": "intrusion_detected", "threat.name": "ICMP Redirect", "rule.id": "2003",
			"source.ip": "198.51.100.2", "destination.ip": "10.20.0.1", "observer.ingress_interface": "outside",
		}},
		{"113004 aaa success", "<166>Jun  3 2025 08:17:00 edge-fw1 : %ASA-6-113004: AAA user authentication Successful : server = 10.9.9.9 : user = carol", fwFields{
			"event.action": "logon_succeeded", "event.outcome": "success", "event.category": "authentication",
			"user.name": "carol",
		}},
		{"113004 authorization is not a logon", "%ASA-6-113004: AAA user authorization Successful: server = 10.9.9.9, User = carol", fwFields{
			"event.action": "", "event.category": "authentication", "user.name": "carol",
		}},
		{"113005 aaa rejected", "<166>Aug 28 2023 15:35:01 fw123 : %ASA-6-113005: AAA user authentication Rejected : reason = Invalid password : server = 198.51.100.144 : user = a2bcde : user IP = 198.51.100.143", fwFields{
			"event.action": "logon_failed", "event.outcome": "failure", "event.reason": "Invalid password",
			"user.name": "a2bcde", "source.ip": "198.51.100.143",
		}},
		{"113005 older wording", "%ASA-6-113005: AAA user authentication Rejected: reason = AAA failure: server = 198.51.100.144, User = bob: user IP = 192.0.2.44", fwFields{
			"event.action": "logon_failed", "event.reason": "AAA failure", "user.name": "bob", "source.ip": "192.0.2.44",
		}},
		{"113015 local database", "<166>Oct 12 2023 16:00:00 fw1 : %ASA-6-113015: AAA user authentication Rejected : reason = Invalid password : local database : user = admin2 : user IP = 198.51.100.41", fwFields{
			"event.action": "logon_failed", "user.name": "admin2", "source.ip": "198.51.100.41",
		}},
		{"113019 vpn disconnected", "%ASA-4-113019: Group = RA-VPN, Username = carol, IP = 198.51.100.50, Session disconnected. Session Type: SSL, Duration: 1h:02m:11s, Bytes xmt: 4410022, Bytes rcv: 883112, Reason: User Requested", fwFields{
			"event.action": "vpn_session_closed", "event.category": "session", "user.name": "carol",
			"group.name": "RA-VPN", "source.ip": "198.51.100.50", "network.bytes": 4410022 + 883112,
			"event.reason": "User Requested",
		}},
		{"605004 login denied", "%ASA-6-605004: Login denied from 198.51.100.212/51923 to inside:10.10.1.254/https for user \"admin\"", fwFields{
			"event.action": "logon_failed", "user.name": "admin", "source.ip": "198.51.100.212",
			"destination.ip": "10.10.1.254", "network.protocol": "https",
		}},
		{"605005 login permitted", "%ASA-6-605005: Login permitted from 10.0.0.87/6651 to inside:10.10.1.254/ssh for user \"netops\"", fwFields{
			"event.action": "logon_succeeded", "event.outcome": "success", "user.name": "netops", "network.protocol": "ssh",
		}},
		{"611101", "%ASA-6-611101: User authentication succeeded: IP address: 10.0.0.9, Uname: netops", fwFields{
			"event.action": "logon_succeeded", "user.name": "netops", "source.ip": "10.0.0.9",
		}},
		{"611102", "%ASA-6-611102: User authentication failed: IP address: 10.0.0.9, Uname: netops", fwFields{
			"event.action": "logon_failed", "user.name": "netops",
		}},
		{"611103", "%ASA-5-611103: User logged out: Uname: netops", fwFields{
			"event.action": "logoff", "user.name": "netops",
		}},
		{"716001", "%ASA-6-716001: Group <RA-VPN> User <carol> IP <198.51.100.50> WebVPN session started.", fwFields{
			"event.action": "vpn_session_started", "user.name": "carol", "group.name": "RA-VPN", "source.ip": "198.51.100.50",
		}},
		{"716002", "%ASA-6-716002: Group RA-VPN User carol IP 198.51.100.50 WebVPN session terminated: Idle timeout.", fwFields{
			"event.action": "vpn_session_closed", "event.reason": "Idle timeout", "user.name": "carol",
		}},
		{"722022", "%ASA-6-722022: Group <RA VPN> User <carol smith> IP <198.51.100.50> UDP SVC connection established without compression", fwFields{
			"event.action": "vpn_session_started", "user.name": "carol smith", "group.name": "RA VPN",
			"network.transport": "udp",
		}},
		{"722023", "%ASA-6-722023: Group RA-VPN User carol IP 198.51.100.50 TCP SVC connection terminated with compression", fwFields{
			"event.action": "vpn_session_closed", "network.transport": "tcp",
		}},
		{"722051", "%ASA-4-722051: Group <RA-VPN> User <carol> IP <198.51.100.50> IPv4 Address <172.16.40.12> IPv6 address <::> assigned to session", fwFields{
			"event.action": "vpn_address_assigned", "source.ip": "198.51.100.50", "source.nat_ip": "172.16.40.12",
		}},
		{"751025", "%ASA-5-751025: Local:203.0.113.1:4500 Remote:198.51.100.51:61222 Username:dave IKEv2 Group:RA-IKE IPv4 Address=172.16.40.13 IPv6 address=:: assigned to session", fwFields{
			"event.action": "vpn_address_assigned", "source.ip": "198.51.100.51", "source.port": 61222,
			"destination.ip": "203.0.113.1", "destination.port": 4500, "user.name": "dave",
			"group.name": "RA-IKE", "source.nat_ip": "172.16.40.13",
		}},
		{"111008", "%ASA-5-111008: User 'netops' executed the 'access-list outside_in extended permit tcp any host 10.20.0.5 eq 443' command.", fwFields{
			"event.action": "command_executed", "event.category": "configuration", "event.type": "change",
			"user.name": "netops", "change.item": "access-list outside_in extended permit tcp any host 10.20.0.5 eq 443",
		}},
		{"111010", "%ASA-5-111010: User 'admin', running 'CLI' from IP 10.10.0.87, executed 'write memory'", fwFields{
			"event.action": "command_executed", "user.name": "admin", "source.ip": "10.10.0.87", "change.item": "write memory",
		}},
		{"111009 names but is not a change", "%ASA-7-111009: User 'aaaa' executed cmd: show access-list brief", fwFields{
			"event.action": "", "user.name": "aaaa", "change.item": "show access-list brief",
		}},
		{"502101 account added", "%ASA-5-502101: New user added to local dbase: Uname: ops2 Priv: 15 Encpass: ***", fwFields{
			"event.action": "user_created", "event.category": "iam", "event.type": "creation", "user.target.name": "ops2",
		}},
		{"502103 privilege changed", "%ASA-5-502103: User priv level changed: Uname: ops2 From: 1 To: 15", fwFields{
			"event.action": "user_changed", "event.type": "change", "user.target.name": "ops2",
		}},
		{"facility in the tag after a device stamp", "Sep 25 15:47:07 host1.example.com : Sep 25 15:47:07 EDT: %ASA-auth-4-113004: AAA user authentication Successful : server = srv1 : user = erin", fwFields{
			"event.code": "113004", "event.severity": 4, "event.action": "logon_succeeded", "user.name": "erin",
			"host.name": "host1.example.com",
		}},
		{"unknown id keeps its code", "%ASA-1-505015: Module ips, application up \"IPS\", version \"7.2(2)E4\" Normal Operation", fwFields{
			"event.dataset": DatasetCiscoASA, "event.code": "505015", "event.severity": 1, "event.action": "",
			"observer.vendor": "Cisco",
		}},
	})
}

// TestCiscoASAElasticSamples reads the head of Elastic's ASA test log
// (Elastic License 2.0, shared data set). Addresses, ports, interfaces and
// byte counts are read off each line here by regular expressions.
func TestCiscoASAElasticSamples(t *testing.T) {
	lines := readLines(t, sharedData(t, "firewall/cisco_asa/elastic_test-asa.head.log"))
	require.Len(t, lines, 89)
	built := regexp.MustCompile(`Built outbound (TCP|UDP) connection \d+ for (\w+):([\d.]+)/(\d+) \(\S+\) to (\w+):([\d.]+)/(\d+)`)
	teardown := regexp.MustCompile(`Teardown (TCP|UDP) connection \d+ for (\w+):([\d.]+)/(\d+) to (\w+):([\d.]+)/(\d+) duration \S+ bytes (\d+)`)
	xlate := regexp.MustCompile(`(Built|Teardown) dynamic (TCP|UDP) translation from (\w+):([\d.]+)/(\d+) to (\w+):([\d.]+)/(\d+)`)
	deny := regexp.MustCompile(`Deny (tcp) src (\w+):([\d.]+)/(\d+) dst (\w+):([\d.]+)/(\d+) by access-group "(\w+)"`)
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	counts := map[string]int{}
	for i, line := range lines {
		ev := fwMust(t, "", line)
		common := fwFields{
			"event.dataset": DatasetCiscoASA, "observer.hostname": "localhost", "process.name": "CiscoASA",
			"timestamp": time.Date(2018, 10, 10, 12, 34, 56, 0, time.UTC),
		}
		fwCheck(t, &ev, common, "line ", i+1)
		counts[ev.Event.Code]++
		var want fwFields
		if m := built.FindStringSubmatch(line); m != nil {
			// Outbound: the initiator is the side after "to".
			want = fwFields{"event.action": fwBuilt, "network.transport": fwTransport(m[1]),
				"destination.ip": m[3], "destination.port": atoi(m[4]), "observer.egress_interface": m[2],
				"source.ip": m[6], "source.port": atoi(m[7]), "observer.ingress_interface": m[5]}
		} else if m := teardown.FindStringSubmatch(line); m != nil {
			want = fwFields{"event.action": fwClosed, "network.transport": fwTransport(m[1]),
				"source.ip": m[3], "source.port": atoi(m[4]), "destination.ip": m[6],
				"destination.port": atoi(m[7]), "network.bytes": atoi(m[8])}
		} else if m := xlate.FindStringSubmatch(line); m != nil {
			action := fwNATBuilt
			if m[1] == "Teardown" {
				action = fwNATClosed
			}
			want = fwFields{"event.action": action, "source.ip": m[4], "source.port": atoi(m[5]),
				"source.nat_ip": m[7], "source.nat_port": atoi(m[8])}
		} else if m := deny.FindStringSubmatch(line); m != nil {
			want = fwFields{"event.action": fwDenied, "source.ip": m[3], "source.port": atoi(m[4]),
				"destination.ip": m[6], "destination.port": atoi(m[7]), "rule.name": m[8],
				"observer.ingress_interface": m[2], "observer.egress_interface": m[5]}
		} else {
			t.Fatalf("line %d has no expectation: %q", i+1, line)
		}
		fwCheck(t, &ev, want, "line ", i+1)
	}
	tags := map[string]int{}
	for _, line := range lines {
		tags[regexp.MustCompile(`%ASA-\d-(\d{6}):`).FindStringSubmatch(line)[1]]++
	}
	require.Equal(t, tags, counts)
	require.Len(t, counts, 7)
}

// TestCiscoASAWazuh reads the Wazuh ruleset's ASA tests (GPL-2.0, shared
// data set): every line is an ASA event with the tag's severity and id;
// the ids tocsin reads get their action.
func TestCiscoASAWazuh(t *testing.T) {
	actions := map[string]string{
		"106001": fwDenied, "106006": fwDenied, "106010": fwDenied, "106014": fwDenied, "106015": fwDenied,
		"106021": fwDenied, "106022": fwDenied, "106023": fwDenied, "302013": fwBuilt, "302014": fwClosed,
		"305011": fwNATBuilt, "305012": fwNATClosed, "605004": fwLogonFailed, "605005": fwLogon,
		"611103": fwLogoff, "113005": fwLogonFailed, "111008": fwCommand, "111010": fwCommand,
		"502101": fwUserCreated, "502102": fwUserDeleted, "502103": fwUserChanged, "733100": fwRate,
		// The Wazuh samples of these hold placeholders ("AAA user example
		// Successful", "Teardown ICMP connection 9 from ...") where the
		// message's own words go.
		"113004": "", "302021": "",
	}
	tag := regexp.MustCompile(`%ASA-(\d)-(\d{6})`)
	for _, line := range fwWazuhLines(t, "wazuh_ruleset_tests/cisco_asa.ini") {
		ev := fwMust(t, "", line)
		m := tag.FindStringSubmatch(line)
		sev, _ := strconv.Atoi(m[1])
		fwCheck(t, &ev, fwFields{
			"event.dataset": DatasetCiscoASA, "event.code": m[2], "event.severity": sev,
			"event.action": actions[m[2]],
		}, line)
	}
}

func TestCiscoASAErrors(t *testing.T) {
	for _, c := range []struct{ line, detail string }{
		{"%ASA-x-302014: Teardown", "expected a severity digit and '-' after ASA at byte 0"},
		{"%ASA-6-30201: Teardown", "expected a six-digit message id at byte 0"},
		{"Jun  3 08:15:03 fw: %ASA-6 302014", "expected a severity digit and '-' after ASA at byte 0"},
		{"Jun  3 08:15:03 fw : %FTD-auth", "expected a severity digit after FTD at byte 2"},
	} {
		ev, err := fwParse("", c.line)
		require.Equal(t, ReasonBadCiscoASA, reasonOf(t, err), c.line)
		require.Contains(t, err.Error(), c.detail, c.line)
		require.Equal(t, DatasetCiscoASA, ev.Event.Dataset)
	}
	_, err := fwParse(DatasetCiscoASA, "Jun  3 08:15:03 fw sshd[1]: hello")
	require.Equal(t, ReasonBadCiscoASA, reasonOf(t, err))
}

func FuzzCiscoASA(f *testing.F) {
	seeds := []string{
		fwBenchASA,
		"%ASA-6-302014: Teardown TCP connection 11749 for outside:198.51.100.242/80 to inside:172.31.98.44/1758 duration 0:01:07 bytes 38110 TCP Reset-I",
		"Jun  3 08:15:03 fw2: %FTD-6-302020: Built outbound ICMP connection for faddr 192.0.2.9/0 gaddr 203.0.113.4/31001 laddr 10.1.1.7/31001 type 8 code 0",
		"%ASA-6-106100: access-list in_v6 permitted icmp6 inside/2001:db8::5(128) -> outside/2001:db8:ffff::1(0) hit-cnt 3 300-second interval [0x1, 0x0]",
		"%ASA-4-733100: [ Scanning] drop rate-1 exceeded. Current burst rate is 12 per second, max configured rate is 10; Current average rate is 3 per second, max configured rate is 5; Cumulative total count is 7302",
		"%ASA-6-113005: AAA user authentication Rejected : reason = Invalid password : server = 198.51.100.144 : user = a2bcde : user IP = 198.51.100.143",
		"%ASA-6-722022: Group <RA VPN> User <carol smith> IP <198.51.100.50> UDP SVC connection established without compression",
		"%ASA-5-751025: Local:203.0.113.1:4500 Remote:198.51.100.51:61222 Username:dave IKEv2 Group:RA-IKE IPv4 Address=172.16.40.13 IPv6 address=:: assigned to session",
		"%ASA-5-111008: User 'netops' executed the 'write memory' command.",
		"Sep 25 15:47:07 host1 : Sep 25 15:47:07 EDT: %ASA-auth-4-113004: AAA user authentication Successful : server = srv1 : user = erin",
	}
	seeds = append(seeds, fwSharedLines("firewall/cisco_asa/elastic_test-asa.head.log")...)
	for _, s := range seeds {
		f.Add(s)
	}
	forced, auto := New(Options{Format: DatasetCiscoASA}), New(Options{})
	f.Fuzz(func(t *testing.T, line string) { fwFuzz(t, forced, auto, line) })
}

func BenchmarkParseCiscoASA(b *testing.B) { fwBench(b, fwBenchASA) }

func BenchmarkParseCiscoASADeny(b *testing.B) {
	fwBench(b, "<172>Feb 13 2023 02:31:56: %ASA-4-106023: Deny tcp src inside:10.9.8.7/56949 dst outside:198.51.100.130/443 by access-group \"inside_access_in\" [0x0, 0x0]")
}
