package parse

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fwBenchFortiGate is a forward traffic record of an accepted session
// with source NAT and byte counts, as FortiOS 6 and 7 write it.
const fwBenchFortiGate = `<189>date=2020-04-23 time=12:11:51 devname="fw-branch1" devid="FG100ETK19000000" logid="0000000020" type="traffic" subtype="forward" level="notice" vd="root" eventtime=1587229911390385486 tz="-0500" srcip=192.168.10.10 srcport=6000 srcintf="port1" srcintfrole="lan" dstip=198.51.100.13 dstport=443 dstintf="wan1" dstintfrole="wan" sessionid=4352 proto=6 action="accept" policyid=3426 policytype="policy" policyname="lan-to-wan" service="HTTPS" trandisp="snat" transip=203.0.113.14 transport=60964 appcat="unscanned" duration=5462 sentbyte=438650 rcvdbyte=65446 sentpkt=723 rcvdpkt=1045`

// Lines written from the FortiOS Log Message Reference (the fields of
// traffic, UTM and event records), with documentation addresses.
func TestFortiGateLines(t *testing.T) {
	fwRun(t, []fwCase{
		{"traffic accept with nat", fwBenchFortiGate, fwFields{
			"event.dataset": DatasetFortiGate, "event.code": "0000000020", "event.severity": 5,
			"event.category": "network", "event.type": "allowed", "event.action": "connection_allowed",
			"source.ip": "192.168.10.10", "source.port": 6000, "source.nat_ip": "203.0.113.14", "source.nat_port": 60964,
			"destination.ip": "198.51.100.13", "destination.port": 443, "network.transport": "tcp",
			"source.bytes": 438650, "destination.bytes": 65446, "network.bytes": 438650 + 65446,
			"source.packets": 723, "destination.packets": 1045, "network.packets": 723 + 1045,
			"rule.id": "3426", "rule.name": "lan-to-wan", "observer.hostname": "fw-branch1",
			"observer.serial_number": "FG100ETK19000000", "observer.vendor": "Fortinet",
			"observer.ingress_interface": "port1", "observer.egress_interface": "wan1",
			"timestamp": time.Date(2020, 4, 23, 17, 11, 51, 0, time.UTC), "host.name": "fw-branch1",
		}},
		{"traffic deny, date= and time= win over the header", `Jun  1 10:00:00 fw1 date=2024-06-01 time=09:59:59 devname="fw1" devid="FG1" logid="0000000013" type="traffic" subtype="forward" level="notice" srcip=198.51.100.7 srcport=4444 dstip=192.0.2.10 dstport=3389 proto=6 action="deny" policyid=0`, fwFields{
			"event.action": "connection_denied", "event.type": "denied", "destination.port": 3389,
			"timestamp": time.Date(2024, 6, 1, 9, 59, 59, 0, time.UTC), "host.name": "fw1",
		}},
		{"traffic close", `date=2024-06-01 time=09:59:59 logid="0000000013" type="traffic" subtype="forward" srcip=10.1.100.11 dstip=198.51.100.55 proto=17 action="close" sentbyte=10 rcvdbyte=20`, fwFields{
			"event.action": "connection_closed", "event.type": "end", "network.bytes": 30, "network.transport": "udp",
			"timestamp": time.Date(2024, 6, 1, 9, 59, 59, 0, time.UTC),
		}},
		{"eventtime when there is no date", `logid="0000000013" devname="fw1" type="traffic" subtype="local" eventtime=1587229857509058693 srcip=192.0.2.1 dstip=192.0.2.2 proto=1 action="accept"`, fwFields{
			"timestamp": time.Unix(0, 1587229857509058693).UTC(), "network.transport": "icmp",
		}},
		{"virus blocked", `date=2019-05-13 time=11:45:03 logid="0211008192" type="utm" subtype="virus" eventtype="infected" level="warning" vd="vdom1" msg="File is infected." action="blocked" service="HTTP" srcip=10.1.100.11 dstip=198.51.100.55 srcport=60446 dstport=80 policyid=4 proto=6 direction="incoming" filename="eicar.com" virus="EICAR_TEST_FILE" dtype="Virus" user="bob"`, fwFields{
			"event.action": "malware_detected", "event.category": "malware", "event.type": "denied",
			"event.reason": "blocked", "threat.name": "EICAR_TEST_FILE", "threat.category": "Virus",
			"file.name": "eicar.com", "user.name": "bob", "network.direction": "inbound",
		}},
		{"ips dropped", `date=2019-05-15 time=17:56:41 logid="0419016384" type="utm" subtype="ips" eventtype="signature" level="alert" severity="critical" srcip=10.1.100.22 dstip=198.51.100.55 action="dropped" proto=6 policyid=1 attack="Adobe.Flash.newfunction.Handling.Code.Execution" srcport=46810 dstport=80 attackid=23305`, fwFields{
			"event.action": "intrusion_detected", "event.category": "intrusion_detection", "event.type": "denied",
			"threat.name": "Adobe.Flash.newfunction.Handling.Code.Execution", "threat.severity": "critical",
			"rule.id": "23305", "event.severity": 1, "event.reason": "dropped",
		}},
		{"webfilter blocked", `date=2019-05-13 time=16:29:45 logid="0316013056" type="utm" subtype="webfilter" eventtype="ftgd_blk" level="warning" policyid=1 srcip=10.1.100.11 srcport=44258 dstip=198.51.100.158 dstport=80 proto=6 hostname="Bad.Example.NET" action="blocked" direction="outgoing" cat=26 catdesc="Malicious Websites"`, fwFields{
			"event.action": "connection_denied", "event.reason": "webfilter", "destination.domain": "bad.example.net",
			"network.direction": "outbound",
		}},
		{"admin login failed", `date=2016-06-17 time=02:37:41 devname=fw2 devid=FGT60 logid=0100032002 type=event subtype=system level=alert vd="root" logdesc="Admin login failed" sn=0 user="root" ui=ssh(198.51.100.227) action=login status=failed reason="name_invalid" msg="Administrator root login failed from ssh(198.51.100.227) because of invalid user name"`, fwFields{
			"event.action": "logon_failed", "event.outcome": "failure", "event.category": "authentication",
			"user.name": "root", "source.ip": "198.51.100.227", "event.reason": "name_invalid",
		}},
		{"admin login ok", `date=2016-06-16 time=16:22:34 devname=fw2 logid=0100032001 type=event subtype=system level=information logdesc="Admin login successful" user="admin" ui=https(10.42.8.253) action=login status=success reason=none`, fwFields{
			"event.action": "logon_succeeded", "event.outcome": "success", "source.ip": "10.42.8.253", "event.reason": "",
		}},
		{"admin logout", `date=2016-06-16 time=08:48:28 devname=fw2 logid=0100032003 type=event subtype=system logdesc="Admin logout successful" user="admin" ui=https(192.0.2.253) action=logout status=success`, fwFields{
			"event.action": "logoff", "user.name": "admin",
		}},
		{"config change", `date=2016-06-16 time=09:03:03 devname=fw2 logid=0100044547 type=event subtype=system level=information logdesc="Object attribute configured" user="admin" ui="GUI(192.0.2.8)" action=Edit cfgtid=2162752 cfgpath="firewall.policy" cfgobj="7" cfgattr="action[deny->accept]" msg="Edit firewall.policy 7"`, fwFields{
			"event.action": "config_changed", "event.category": "configuration", "event.type": "change",
			"user.name": "admin", "source.ip": "192.0.2.8", "change.item": "firewall.policy",
		}},
		{"admin account added", `date=2024-02-01 time=10:00:00 devname=fw2 logid=0100044546 type=event subtype=system level=information logdesc="Object attribute configured" user="admin" ui="GUI(192.0.2.8)" action=Add cfgpath="system.admin" cfgobj="backdoor" cfgattr="accprofile[super_admin]" msg="Add system.admin backdoor"`, fwFields{
			"event.action": "user_created", "event.category": "iam", "event.type": "creation",
			"user.name": "admin", "user.target.name": "backdoor", "source.ip": "192.0.2.8", "change.item": "system.admin",
		}},
		{"local user deleted", `date=2024-02-01 time=10:01:00 devname=fw2 logid=0100044545 type=event subtype=system logdesc="Object deleted" user="admin" ui="ssh(192.0.2.9)" action=Delete cfgpath="user.local" cfgobj="guest1"`, fwFields{
			"event.action": "user_deleted", "user.target.name": "guest1",
		}},
		{"ssl vpn login failed", `date=2016-06-15 time=21:35:09 devname=fw2 logid=0101039426 type=event subtype=vpn level=alert logdesc="SSL VPN login fail" action="ssl-login-fail" tunneltype="ssl-web" remip=198.51.100.8 tunnelip=(null) user="mallory" group="N/A" reason="sslvpn_login_unknown_user"`, fwFields{
			"event.action": "logon_failed", "user.name": "mallory", "source.ip": "198.51.100.8", "group.name": "",
			"source.nat_ip": "",
		}},
		{"ssl vpn tunnel up", `date=2016-06-16 time=08:47:00 devname=fw2 logid=0101039947 type=event subtype=vpn logdesc="SSL VPN tunnel up" action="tunnel-up" tunneltype="ssl-tunnel" remip=198.51.100.7 tunnelip=10.212.134.200 user="carol" group="SSL_VPN"`, fwFields{
			"event.action": "vpn_session_started", "source.ip": "198.51.100.7", "source.nat_ip": "10.212.134.200",
			"user.name": "carol", "group.name": "SSL_VPN",
		}},
		{"ssl vpn tunnel down", `date=2016-06-16 time=08:49:26 devname=fw2 logid=0101039948 type=event subtype=vpn action="tunnel-down" remip=198.51.100.7 user="carol" sentbyte=2284 rcvdbyte=2630`, fwFields{
			"event.action": "vpn_session_closed", "network.bytes": 4914,
		}},
		{"fsso logon", `date=2020-04-23 time=12:32:48 devname="fw3" logid="0102043014" type="event" subtype="user" logdesc="FSSO logon authentication status" srcip=10.10.10.10 user="dave" server="dc1" action="FSSO-logon"`, fwFields{
			"event.action": "logon_succeeded", "user.name": "dave", "source.ip": "10.10.10.10",
		}},
		{"fortios 4 status and names", `Feb 20 12:26:25 date=2011-02-20 time=12: 26:24 devname=fw4 device_id=FG000001 log_id=0038000004 type=traffic subtype=other pri=notice status=deny vd="root" src=192.0.2.10 src_port=1111 dst=198.51.100.40 dst_port=2222 proto=6 src_int="port 1" dst_int="internal" sent=0 rcvd=0`, fwFields{
			"event.action": "connection_denied", "source.ip": "192.0.2.10", "source.port": 1111,
			"destination.port": 2222, "observer.serial_number": "FG000001", "event.code": "0038000004",
			"observer.ingress_interface": "port 1", "observer.hostname": "fw4", "host.name": "fw4",
		}},
		{"unknown event keeps its code", `date=2019-05-10 time=09:53:18 logid="0108037894" type="event" subtype="ha" level="critical" vd="root" logdesc="Virtual cluster member joined"`, fwFields{
			"event.action": "", "event.code": "0108037894", "event.severity": 2, "event.dataset": DatasetFortiGate,
		}},
	})
}

// TestFortiGateElasticSamples reads the head of Elastic's FortiGate test
// log (Elastic License 2.0, shared data set): the pairs each line must
// give are read off it here, and the table holds each line's action.
func TestFortiGateElasticSamples(t *testing.T) {
	lines := readLines(t, sharedData(t, "firewall/fortigate/elastic_test-fortinet.head.log"))
	require.Len(t, lines, 29)
	actions := []string{
		fwDenied, fwDenied, fwAllowed, fwAllowed, fwAllowed, fwAllowed, fwAllowed, fwAllowed, fwAllowed, "",
		fwAllowed, fwLogon, "", "", "", fwLogon, "", "", "", "", fwVPNStarted, fwLogoff, "", "", "",
		fwAllowed, fwAllowed, fwAllowed, "",
	}
	kv := func(line, key string) string {
		m := regexp.MustCompile(`(?:^|[ >])` + key + `=("[^"]*"|\S*)`).FindStringSubmatch(line)
		if m == nil {
			return ""
		}
		v := m[1]
		if len(v) > 1 && v[0] == '"' {
			v = v[1 : len(v)-1]
		}
		return v
	}
	for i, line := range lines {
		ev := fwMust(t, "", line)
		want := fwFields{
			"event.dataset": DatasetFortiGate, "event.action": actions[i], "event.code": kv(line, "logid"),
			"observer.hostname": kv(line, "devname"), "observer.serial_number": kv(line, "devid"),
			"event.severity": fortiLevel(kv(line, "level")),
		}
		if ip := kv(line, "srcip"); ip != "" {
			want["source.ip"] = ip
		}
		if p := kv(line, "dstport"); p != "" {
			n, _ := strconv.Atoi(p)
			want["destination.port"] = n
		}
		if b := kv(line, "sentbyte"); b != "" {
			n, _ := strconv.Atoi(b)
			want["source.bytes"] = n
		}
		if pol := kv(line, "policyid"); pol != "" {
			want["rule.id"] = pol
		}
		// Every line has date=, time= and (but for one) tz=.
		d, err := time.Parse("2006-01-02 15:04:05 -0700", kv(line, "date")+" "+kv(line, "time")+" "+kv(line, "tz"))
		if err != nil {
			d, err = time.Parse("2006-01-02 15:04:05", kv(line, "date")+" "+kv(line, "time"))
		}
		require.NoError(t, err)
		want["timestamp"] = d
		fwCheck(t, &ev, want, "line ", i+1)
	}
}

// TestFortiGateWazuh reads the Wazuh ruleset's FortiGate tests (GPL-2.0,
// shared data set): each line's action by the log it holds.
func TestFortiGateWazuh(t *testing.T) {
	lines := fwWazuhLines(t, "wazuh_ruleset_tests/fortigate.ini")
	actions := []string{
		"", fwLogonFailed, fwLogonFailed, fwConfig, fwIntrusion, fwConfig, fwConfig, fwConfig, fwLogonFailed,
		fwLogoff, fwDenied, fwAllowed, fwDenied, fwDenied, fwAllowed, fwDenied, fwDenied, fwClosed, fwAllowed,
		fwClosed, fwVPNStarted, fwVPNClosed, fwLogon, fwIntrusion, fwIntrusion, fwIntrusion, fwIntrusion,
		fwConfig, fwAllowed, fwAllowed, fwDenied, "", fwMalware, fwMalware, fwAllowed, "", "", fwDenied,
		fwDenied, fwDenied, fwDenied, fwDenied, fwDenied, fwDenied, fwDenied, fwDenied,
	}
	require.Len(t, lines, len(actions))
	for i, line := range lines {
		ev := fwMust(t, "", line)
		fwCheck(t, &ev, fwFields{"event.dataset": DatasetFortiGate, "event.action": actions[i]}, "line ", i+1, " ", line)
	}
}

func TestFortiGateErrors(t *testing.T) {
	for _, c := range []struct{ line, detail string }{
		{`date=2020-04-23 time=12:17:48 logid="0316013056 type="utm" subtype="webfilter`, `value of subtype has no closing quote at byte 67`},
		{`date=2020-13-23 time=12:17:48 logid="1" type="traffic" subtype="forward"`, "date= is not YYYY-MM-DD at byte 5"},
		{`date=2020-04-23 time=12:17 logid="1" type="traffic" subtype="forward"`, "time= is not hh:mm:ss at byte 21"},
		{`logid="1" devname=x type="traffic" subtype="forward" eventtime=12ab`, "eventtime= is not a Unix time"},
	} {
		ev, err := fwParse("", c.line)
		require.Equal(t, ReasonBadFortiGate, reasonOf(t, err), c.line)
		require.Contains(t, err.Error(), c.detail, c.line)
		require.Equal(t, DatasetFortiGate, ev.Event.Dataset)
	}
	// date= and time= win over a header's time, so bad ones fail even
	// behind a header, which keeps the event's time.
	ev, err := fwParse("", `Jun  1 10:00:00 fw1 date=2020-13-23 time=1 logid="1" type="traffic" subtype="forward" action="deny"`)
	require.Equal(t, ReasonBadFortiGate, reasonOf(t, err))
	require.Equal(t, time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC), ev.Timestamp)
}

func FuzzFortiGate(f *testing.F) {
	seeds := []string{
		fwBenchFortiGate,
		`date=2016-06-17 time=02:37:41 devname=fw2 devid=FGT60 logid=0100032002 type=event subtype=system level=alert logdesc="Admin login failed" user="root" ui=ssh(198.51.100.227) action=login status=failed`,
		`Feb 20 12:26:25 date=2011-02-20 time=12: 26:24 devname=fw4 device_id=FG000001 log_id=0038000004 type=traffic subtype=other status=deny src=192.0.2.10 dst=198.51.100.40`,
		`date=2019-05-13 time=11:45:03 logid="0211008192" type="utm" subtype="virus" action="blocked" srcip=10.1.100.11 dstip=198.51.100.55 filename="a \"b\" c" virus="EICAR_TEST_FILE"`,
		`logid="1" devname=x type="traffic" subtype="forward" eventtime=1587229857509058693 tz="+05:30"`,
	}
	seeds = append(seeds, fwSharedLines("firewall/fortigate/elastic_test-fortinet.head.log")...)
	for _, s := range seeds {
		f.Add(s)
	}
	forced, auto := New(Options{Format: DatasetFortiGate}), New(Options{})
	f.Fuzz(func(t *testing.T, line string) { fwFuzz(t, forced, auto, line) })
}

func BenchmarkParseFortiGate(b *testing.B) { fwBench(b, fwBenchFortiGate) }
