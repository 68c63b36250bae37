package parse

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// fwBenchFilterlog is a pfSense block of an inbound SSH SYN.
const fwBenchFilterlog = "Sep 28 10:38:24 pfSense filterlog: 53,,,1000102631,em0,match,block,in,4,0x0,,64,600,0,none,6,tcp,44,198.51.100.2,192.0.2.15,53792,22,0,S,31552001,,65535,,mss"

// Lines written from Netgate's "Raw Filter Log Format" (the CrowdSec
// and Wazuh samples below have no IPv6 TCP, no ICMP message and no CARP
// record).
func TestFilterlogLines(t *testing.T) {
	fwRun(t, []fwCase{
		{"ipv4 tcp block", fwBenchFilterlog, fwFields{
			"event.dataset": DatasetFilterlog, "event.category": "network", "event.type": "denied",
			"event.action": "connection_denied", "event.reason": "", "rule.id": "1000102631",
			"source.ip": "198.51.100.2", "source.port": 53792, "destination.ip": "192.0.2.15",
			"destination.port": 22, "network.transport": "tcp", "network.type": "ipv4",
			"network.direction": "inbound", "network.bytes": 44, "observer.ingress_interface": "em0",
			"observer.vendor": "Netgate", "observer.product": "pfSense", "observer.hostname": "pfSense",
			"process.name": "filterlog",
		}},
		{"ipv6 tcp", "Mar  3 09:12:45 fw filterlog[4321]: 7,,,1000000105,igb0,match,block,in,6,0x00,0x00000,57,tcp,6,40,2001:db8:1::10,2001:db8:2::20,51515,22,0,S,1285436544,,64800,,mss", fwFields{
			"event.action": "connection_denied", "source.ip": "2001:db8:1::10", "source.port": 51515,
			"destination.ip": "2001:db8:2::20", "destination.port": 22, "network.type": "ipv6",
			"network.transport": "tcp", "network.bytes": 40, "rule.id": "1000000105", "host.name": "fw",
		}},
		{"ipv6 udp out", "Mar  3 09:12:46 fw filterlog[4321]: 12,,,1000000211,igb1,match,pass,out,6,0x00,0x00000,64,udp,17,61,2001:db8:2::20,2001:db8:ffff::53,40001,53,61", fwFields{
			"event.action": "connection_allowed", "network.direction": "outbound",
			"observer.egress_interface": "igb1", "observer.ingress_interface": "", "destination.port": 53,
		}},
		{"ipv6 icmpv6 without type", "Mar  3 09:12:47 fw filterlog[4321]: 4,,,1000000003,igb0,match,pass,in,6,0x00,0x00000,255,ipv6-icmp,58,32,fe80::1,ff02::1:ff00:2,", fwFields{
			"network.transport": "ipv6-icmp", "source.ip": "fe80::1", "event.reason": "",
		}},
		{"icmp echo request", "Mar  3 09:12:48 fw filterlog[4321]: 5,,,1000000103,em1,match,pass,in,4,0x0,,64,12345,0,DF,1,icmp,84,10.0.0.5,192.0.2.8,request,4242,1", fwFields{
			"network.transport": "icmp", "event.reason": "echo request", "source.port": 0,
		}},
		{"icmp port unreachable", "Mar  3 09:12:49 fw filterlog[4321]: 5,,,1000000103,em1,match,block,out,4,0x0,,64,1,0,none,1,icmp,56,192.0.2.1,198.51.100.7,unreachport,198.51.100.7,udp,33434", fwFields{
			"event.reason": "port unreachable", "event.action": "connection_denied",
		}},
		{"carp", "Mar  3 09:12:50 fw filterlog[4321]: 9,,,1000000006,em0,match,pass,out,4,0x10,,255,0,0,DF,112,carp,56,192.0.2.2,224.0.0.18,advertise,255,1,2,1,0", fwFields{
			"network.transport": "carp", "destination.ip": "224.0.0.18", "event.action": "connection_allowed",
		}},
		{"non-match reason", "Mar  3 09:12:51 fw filterlog[4321]: 0,,,0,em0,bad-offset,block,in,4,0x0,,64,1,0,none,6,tcp,40,198.51.100.4,192.0.2.1,1,2,0,S,1,,1,,", fwFields{
			"event.reason": "bad-offset", "rule.id": "0",
		}},
		{"opnsense label", "<134>1 2022-09-06T18:37:34+02:00 opnsense filterlog 69805 - [meta sequenceId=\"2633353\"] 10,,,02f4bab031b57d1e30553ce08e0ec131,re0,match,block,in,4,0x0,,118,28579,0,none,17,udp,132,198.51.100.22,192.0.2.198,49838,52938,112", fwFields{
			"observer.vendor": "Deciso", "observer.product": "OPNsense", "rule.id": "02f4bab031b57d1e30553ce08e0ec131",
			"network.transport": "udp", "source.port": 49838,
		}},
	})
}

// TestFilterlogCrowdSec checks the CrowdSec hub's pf-logs parser.assert
// (MIT, shared data set). The folder is named after BSD pf, but its lines
// are pfSense and OPNsense filterlog records.
func TestFilterlogCrowdSec(t *testing.T) {
	n := crowdsecFwAsserts(t, "pf-logs", nil)
	t.Logf("%d CrowdSec assertions checked", n)
	require.Greater(t, n, 250)
}

// TestFilterlogWazuh reads the Wazuh ruleset's pfSense tests (GPL-2.0,
// shared data set).
func TestFilterlogWazuh(t *testing.T) {
	lines := fwWazuhLines(t, "wazuh_ruleset_tests/pfsense.ini")
	require.Len(t, lines, 2)
	ev := fwMust(t, "", lines[0])
	fwCheck(t, &ev, fwFields{
		"event.action": "connection_allowed", "rule.id": "65", "network.transport": "icmp",
		"source.ip": "192.168.105.11", "destination.ip": "192.168.105.1", "network.direction": "outbound",
		"observer.egress_interface": "vmx1", "host.name": "",
	})
	ev = fwMust(t, "", lines[1])
	fwCheck(t, &ev, fwFields{
		"event.action": "connection_denied", "rule.id": "1000102433", "network.transport": "udp",
		"source.ip": "10.9.0.119", "source.port": 17500, "destination.ip": "10.9.0.255",
		"destination.port": 17600, "host.name": "pfSense",
	})
}

func TestFilterlogErrors(t *testing.T) {
	for _, c := range []struct{ msg, detail string }{
		{"53,,,1000000301,em0,match,block", "expected at least 9 comma-separated fields"},
		{"53,,,1000000301,em0,match,block,in,5,0x0", "IP version is neither 4 nor 6 at byte 35"},
		{"53,,,1000000301,em0,match,block,in,4,0x0,,64,420,0,none,6,tcp", "expected 11 IPv4 fields"},
		{"53,,,1000000301,em0,match,block,in,4,0x0,,64,420,0,none,6,tcp,460,10.0.2.256,10.0.2.15,1,2", "source is not an IP address at byte 66"},
		{"53,,,1000000301,em0,match,block,in,4,0x0,,64,420,0,none,6,tcp,460,10.0.2.2,10.0.2.15,1", "expected source and destination ports"},
		{"53,,,1000000301,em0,match,block,in,4,0x0,,64,420,0,none,6,tcp,460,10.0.2.2,10.0.2.15,x,22", "ports are not numbers"},
		{"1,,,2,em0,match,pass,in,6,0x00,0x0,64,udp,17,10,2001:db8::1,", "destination is not an IP address"},
	} {
		ev, err := fwParse("", "Sep 28 10:38:09 pfSense filterlog: "+c.msg)
		require.Equal(t, ReasonBadFilterlog, reasonOf(t, err), c.msg)
		require.Contains(t, err.Error(), c.detail, c.msg)
		require.Equal(t, DatasetFilterlog, ev.Event.Dataset)
	}
	// Told the format, a record without header reads as well.
	ev := fwMust(t, DatasetFilterlog, "53,,,1000000301,em0,match,block,in,4,0x0,,64,420,0,none,6,tcp,460,10.0.2.2,10.0.2.15,53742,22,420,PA,1:2,3,65535,,")
	require.Equal(t, fwDenied, ev.Event.Action)
}

func FuzzFilterlog(f *testing.F) {
	seeds := []string{
		fwBenchFilterlog,
		"53,,,1000000301,em0,match,block,in,4,0x0,,64,420,0,none,6,tcp,460,10.0.2.2,10.0.2.15,53742,22,420,PA,29633380:29633800,3617062173,65535,,",
		"Mar  3 09:12:45 fw filterlog[4321]: 7,,,1000000105,igb0,match,block,in,6,0x00,0x00000,57,tcp,6,40,2001:db8:1::10,2001:db8:2::20,51515,22,0,S,1285436544,,64800,,mss",
		"Mar  3 09:12:49 fw filterlog[4321]: 5,,,1000000103,em1,match,block,out,4,0x0,,64,1,0,none,1,icmp,56,192.0.2.1,198.51.100.7,unreachport,198.51.100.7,udp,33434",
	}
	seeds = append(seeds, fwSharedLines("crowdsec_hub_tests/pf-logs/pf-logs.log")...)
	for _, s := range seeds {
		f.Add(s)
	}
	forced, auto := New(Options{Format: DatasetFilterlog}), New(Options{})
	f.Fuzz(func(t *testing.T, line string) { fwFuzz(t, forced, auto, line) })
}

func BenchmarkParseFilterlog(b *testing.B) { fwBench(b, fwBenchFilterlog) }
