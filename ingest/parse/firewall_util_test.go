package parse

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Helpers and tests shared by the firewall readers' tests.

// fwFields are expected values by the field names rules use
// ("source.ip", "event.action").
type fwFields map[string]any

// fwGet returns the value of the event field named by its dotted expr
// path.
func fwGet(t testing.TB, ev *schemas.Event, path string) any {
	t.Helper()
	v := reflect.ValueOf(ev).Elem()
next:
	for _, part := range strings.Split(path, ".") {
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).Tag.Get("expr") == part {
				v = v.Field(i)
				continue next
			}
		}
		t.Fatalf("no field %q in %q", part, path)
	}
	return v.Interface()
}

// fwCheck asserts every field of want on ev.
func fwCheck(t testing.TB, ev *schemas.Event, want fwFields, msgAndArgs ...any) {
	t.Helper()
	for path, w := range want {
		got := fwGet(t, ev, path)
		if tm, ok := w.(time.Time); ok {
			require.True(t, tm.Equal(got.(time.Time)), "%s: got %v, want %v %v", path, got, tm, fmt.Sprint(msgAndArgs...))
			continue
		}
		require.Equal(t, w, got, "%s %v", path, fmt.Sprint(msgAndArgs...))
	}
}

// fwParse parses line with a UTC parser for format ("" detects) at
// testReceived.
func fwParse(format, line string) (schemas.Event, error) {
	var ev schemas.Event
	err := New(Options{Format: format}).Parse(line, testReceived, &ev)
	return ev, err
}

// fwMust is fwParse that fails the test on an error.
func fwMust(t testing.TB, format, line string) schemas.Event {
	t.Helper()
	ev, err := fwParse(format, line)
	require.NoError(t, err, "line %q", line)
	return ev
}

// fwCase is one line and the fields a person reads off it.
type fwCase struct {
	name string
	line string
	want fwFields
}

// fwRun parses each case with format detection and checks its fields.
func fwRun(t *testing.T, cases []fwCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := fwMust(t, "", c.line)
			fwCheck(t, &ev, c.want, c.line)
			require.Nil(t, ev.Labels, "firewall readers leave labels nil")
		})
	}
}

// fwConstants are the values the firewall readers set that are not
// substrings of the line.
var fwConstants = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range []string{
		fwAllowed, fwDenied, fwLogged, fwBuilt, fwClosed, fwNATBuilt, fwNATClosed, fwIntrusion,
		fwScan, fwRate, fwShunned, fwSYNFlood, fwMalware, fwLogon, fwLogonFailed, fwLogoff,
		fwVPNStarted, fwVPNClosed, fwVPNAddress, fwCommand, fwConfig, fwUserCreated, fwUserDeleted, fwUserChanged,
		schemas.CategoryNetwork, schemas.CategoryAuthentication, schemas.CategorySession,
		schemas.CategoryMalware, schemas.CategoryIAM, schemas.CategoryConfiguration,
		schemas.CategoryIntrusionDetection, schemas.TypeAllowed, schemas.TypeDenied, schemas.TypeStart,
		schemas.TypeEnd, schemas.TypeConnection, schemas.TypeCreation, schemas.TypeDeletion,
		schemas.TypeChange, schemas.TypeInfo, schemas.OutcomeSuccess, schemas.OutcomeFailure,
		DatasetNetfilter, DatasetFilterlog, DatasetCiscoASA, DatasetFortiGate, DatasetPANOS,
		"Linux", "netfilter", "Netgate", "pfSense", "Deciso", "OPNsense", "Cisco", "ASA", "Fortinet",
		"FortiGate", "Palo Alto Networks", "PAN-OS", "firewall", "ipv4", "ipv6", "inbound", "outbound",
		"no connection", "reverse path check", "connection spoof", "burst rate exceeded",
		"average rate exceeded", "event", FormatRFC3164, FormatRFC5424, FormatNone,
	} {
		m[s] = true
	}
	for _, s := range []string{"1", "2", "4", "6", "17", "41", "47", "50", "51", "58", "89", "103", "112", "132", "136"} {
		m[fwTransport(s)] = true
	}
	m["carp"] = true
	for typ := 0; typ < 256; typ++ {
		for code := -1; code < 16; code++ {
			m[fwICMPName(false, typ, code)] = true
			m[fwICMPName(true, typ, code)] = true
		}
	}
	for _, w := range []string{"request", "reply", "unreachport", "unreachproto", "unreach", "timexceed", "paramprob", "redirect", "maskreply", "needfrag", "tstamp", "tstampreply"} {
		m[filterlogICMP(w)] = true
	}
	delete(m, "")
	return m
}()

// fwInvariants checks what must hold for any input: the line is kept as
// Original, a failure is an *Error with a known reason, labels stay nil,
// and every string field is a substring of the line, a constant of the
// readers, an address in canonical form or a lower-cased name from the
// line.
func fwInvariants(t *testing.T, line string, ev *schemas.Event, err error) {
	t.Helper()
	if ev.Event.Original != line {
		t.Fatalf("Original = %q, want the input", ev.Event.Original)
	}
	if err != nil {
		pe, ok := err.(*Error)
		if !ok {
			t.Fatalf("error %v is not an *Error", err)
		}
		known := false
		for _, r := range Reasons() {
			known = known || r == pe.Reason
		}
		if !known {
			t.Fatalf("error reason %q is not in Reasons()", pe.Reason)
		}
	}
	switch ev.Event.Dataset {
	case "", DatasetNetfilter, DatasetFilterlog, DatasetCiscoASA, DatasetFortiGate, DatasetPANOS:
	default:
		return // another reader took the input in auto mode: its own fuzz target checks it
	}
	if ev.Labels != nil {
		t.Fatal("a firewall reader set labels")
	}
	fwWalkStrings(reflect.ValueOf(ev).Elem(), "", func(path, s string) {
		switch {
		case s == "" || within(s, line) || fwConstants[s]:
		case strings.HasSuffix(path, ".ip") || strings.HasSuffix(path, ".nat_ip"):
			a, perr := netip.ParseAddr(s)
			if perr != nil || a.Unmap().String() != s {
				t.Fatalf("%s %q is not an address in canonical form", path, s)
			}
		case strings.HasSuffix(path, ".domain"):
			if s != asciiLower(s) || !strings.Contains(asciiLower(line), s) {
				t.Fatalf("%s %q is not a lower-cased name of the line", path, s)
			}
		default:
			t.Fatalf("%s %q is neither a substring of the line nor a known constant", path, s)
		}
	})
}

// fwWalkStrings calls f for every string field under v.
func fwWalkStrings(v reflect.Value, path string, f func(path, s string)) {
	switch v.Kind() {
	case reflect.String:
		f(path, v.String())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			name := v.Type().Field(i).Tag.Get("expr")
			if name == "" || name == "-" {
				continue
			}
			if path != "" {
				name = path + "." + name
			}
			fwWalkStrings(v.Field(i), name, f)
		}
	}
}

// fwFuzz runs line through format's reader (forced) and through
// detection, checking the invariants of both.
func fwFuzz(t *testing.T, forced, auto *Parser, line string) {
	for _, p := range []*Parser{forced, auto} {
		var ev schemas.Event
		err := p.Parse(line, testReceived, &ev)
		fwInvariants(t, line, &ev, err)
	}
}

// fwSharedLines returns the lines of a file of the shared data set, or
// nil when the data set is not here.
func fwSharedLines(rel string) []string {
	path, ok := sharedDataPath(rel)
	if !ok {
		return nil
	}
	var out []string
	for _, l := range fwReadFile(path) {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// fwWazuhLines returns the log lines of a Wazuh ruleset test file.
func fwWazuhLines(t testing.TB, rel string) []string {
	t.Helper()
	path := sharedData(t, rel)
	var out []string
	for _, l := range fwReadFile(path) {
		if _, rest, ok := strings.Cut(l, " pass = "); ok && strings.HasPrefix(l, "log ") {
			out = append(out, rest)
		}
	}
	require.NotEmpty(t, out)
	return out
}

// crowdsecFwAssert reads "results[STAGE][PARSER][N].Evt.Parsed|Meta[KEY]
// == VALUE" and "results[STAGE][PARSER][N].Success == BOOL".
var (
	crowdsecFwField   = regexp.MustCompile(`^results\["(s0[01]-[a-z]+)"\]\["([^"]+)"\]\[(\d+)\]\.Evt\.(?:Parsed|Meta)\["([a-z0-9_]+)"\] == "(.*)"$`)
	crowdsecFwSuccess = regexp.MustCompile(`^results\["(s0[01]-[a-z]+)"\]\["([^"]+)"\]\[(\d+)\]\.Success == (true|false)$`)
)

// crowdsecFwChoice is a CrowdSec assertion where tocsin reads another
// value, keyed "test#line.key".
type crowdsecFwChoice struct{ ours, why string }

// crowdsecFwValue renders the event field a CrowdSec key of the iptables
// and pf parsers stands for, in CrowdSec's spelling; ok is false for keys
// without a tocsin field (packet details such as TTL, TCP flags and
// sequence numbers, CrowdSec's own bookkeeping).
func crowdsecFwValue(ev *schemas.Event, parser, key string) (string, bool) {
	port := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	switch key {
	case "message":
		return ev.Message, true
	case "program":
		return ev.Process.Name, true
	case "pid":
		return ev.Log.Syslog.ProcID, true
	case "machine":
		return ev.Host.Name, true
	case "syslog_priority":
		return strconv.Itoa(ev.Log.Syslog.Priority), true
	case "src_ip", "source_ip":
		return ev.Source.IP, true
	case "dst_ip":
		return ev.Destination.IP, true
	case "src_port":
		return port(ev.Source.Port), true
	case "dst_port":
		return port(ev.Destination.Port), true
	case "int_eth", "iface":
		if ev.Observer.IngressInterface != "" {
			return ev.Observer.IngressInterface, true
		}
		return ev.Observer.EgressInterface, true
	case "proto", "service":
		return ev.Network.Transport, true
	case "length":
		return port(ev.Network.Bytes), true
	case "tracker", "ruleid":
		return ev.Rule.ID, true
	case "ip_ver":
		return strings.TrimPrefix(ev.Network.Type, "ipv"), true
	case "direction":
		// pf's in and out; tocsin's inbound and outbound.
		return strings.TrimSuffix(ev.Network.Direction, "bound"), true
	case "action":
		// pf's verdict words; tocsin's event.type.
		switch ev.Event.Type {
		case schemas.TypeDenied:
			return "block", true
		case schemas.TypeAllowed:
			return "pass", true
		}
		return ev.Event.Type, true
	case "reason":
		// tocsin leaves pf's default reason "match" out of event.reason.
		if ev.Event.Reason == "" {
			return "match", true
		}
		return ev.Event.Reason, true
	case "log_type":
		switch {
		case parser == "firewallservices/pf-logs" && ev.Event.Dataset == DatasetFilterlog:
			return "pf", true
		case ev.Event.Action == fwDenied && ev.Event.Dataset == DatasetFilterlog:
			return "pf_drop", true
		case ev.Event.Action == fwDenied && ev.Event.Dataset == DatasetNetfilter:
			return "iptables_drop", true
		}
		return ev.Event.Action, true
	}
	return "", false
}

// crowdsecFwSuccess says whether tocsin's reading of a line matches
// CrowdSec's parser succeeding on it.
func crowdsecFwSucceeds(ev *schemas.Event, stage, parser string) bool {
	switch {
	case stage == "s00-raw":
		return ev.Log.Syslog.Format != FormatNone
	case parser == "crowdsecurity/iptables-logs":
		return ev.Event.Dataset == DatasetNetfilter
	case parser == "firewallservices/pf-logs":
		return ev.Event.Dataset == DatasetFilterlog
	case parser == "firewallservices/pf-logs-drop":
		return ev.Event.Dataset == DatasetFilterlog && ev.Event.Action == fwDenied
	}
	return false
}

// crowdsecFwAsserts checks a CrowdSec hub test's parser.assert against
// tocsin's reading of its log, with choices recording where tocsin
// differs; it returns how many assertions it checked.
func crowdsecFwAsserts(t *testing.T, test string, choices map[string]crowdsecFwChoice) int {
	t.Helper()
	base := sharedData(t, "crowdsec_hub_tests")
	lines := readLines(t, filepath.Join(base, test, test+".log"))
	events := make([]schemas.Event, len(lines))
	p := New(Options{})
	for i, line := range lines {
		require.NoError(t, p.Parse(line, testReceived, &events[i]), "%s line %d", test, i)
	}
	checked := 0
	used := map[string]bool{}
	for _, a := range readLines(t, filepath.Join(base, test, "parser.assert")) {
		if m := crowdsecFwSuccess.FindStringSubmatch(a); m != nil {
			i, _ := strconv.Atoi(m[3])
			require.Less(t, i, len(events), a)
			require.Equal(t, m[4] == "true", crowdsecFwSucceeds(&events[i], m[1], m[2]), a)
			checked++
			continue
		}
		m := crowdsecFwField.FindStringSubmatch(a)
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[3])
		require.Less(t, i, len(events), a)
		ev, key, want := &events[i], m[4], m[5]
		if key == "timestamp" || key == "timestamp8601" {
			checkCrowdSecTimestamp(t, want, ev.Timestamp, a)
			checked++
			continue
		}
		got, known := crowdsecFwValue(ev, m[2], key)
		if !known {
			continue
		}
		id := test + "#" + m[3] + "." + key
		if c, ok := choices[id]; ok {
			used[id] = true
			want = c.ours
		}
		require.Equal(t, want, got, "%s: %s", id, a)
		checked++
	}
	for id := range choices {
		require.True(t, used[id], "choice %s matches no assertion", id)
	}
	return checked
}

// TestFirewallDetection checks that detection picks each firewall
// reader for its samples and that the readers claim none of the real
// OpenSSH and Linux system logs.
func TestFirewallDetection(t *testing.T) {
	samples := map[string][]string{
		DatasetNetfilter: {
			"Jun  8 14:34:33 sd-126005 kernel: [50028442.088484] IN=enp1s0 OUT= MAC=00:08:a2:0c:1f:12:00:c8:8b:e2:d6:87:08:00 SRC=198.51.100.107 DST=192.0.2.67 LEN=40 TOS=0x00 PREC=0x00 TTL=245 ID=37308 PROTO=TCP SPT=8080 DPT=8123 WINDOW=1024 RES=0x00 SYN URGP=0",
			"[  203.842973] IPTABLES-DROP: IN=lo OUT= SRC=127.0.0.1 DST=127.0.0.53 LEN=76 PROTO=UDP SPT=49007 DPT=53 LEN=56",
		},
		DatasetFilterlog: {
			"Sep 28 10:38:09 pfSense filterlog: 53,,,1000000301,em0,match,block,in,4,0x0,,64,420,0,none,6,tcp,460,10.0.2.2,10.0.2.15,53742,22,420,PA,29633380:29633800,3617062173,65535,,",
		},
		DatasetCiscoASA: {
			"Oct 10 2018 12:34:56 localhost CiscoASA[999]: %ASA-6-302014: Teardown TCP connection 11749 for outside:198.51.100.242/80 to inside:172.31.98.44/1758 duration 0:01:07 bytes 38110 TCP Reset-I",
			"%ASA-2-106001: Inbound TCP connection denied from 198.51.100.59/54322 to 192.0.2.122/1433 flags SYN on interface outside",
			"Apr 29 2013 12:59:50: %ASA-4-106023: Deny udp src office:192.0.2.1/3217 dst dmz:10.1.1.1/15000 by access-group \"ACLoffice\" [0x0, 0x0]",
			"<166>Jul 12 2024 08:11:50 fw1 : %ASA-6-605004: Login denied from 198.51.100.144/51215 to dmz:192.0.2.145/https for user \"admin\"",
		},
		DatasetFortiGate: {
			`date=2019-05-15 time=18:03:35 logid="1059028705" type="utm" subtype="app-ctrl" level="warning" srcip=10.1.100.22 dstip=195.8.215.136 action="block"`,
			`<189>date=2020-04-23 time=01:16:08 devname="fw1" devid="FG100" logid="0000000013" type="traffic" subtype="forward" srcip=10.10.10.10 dstip=192.0.2.13 action="deny"`,
			`Mar 22 19:21:00 10.10.10.10 date=2016-03-22 time=19:20:46 devname=Text devid=FGT3HD0000000000 logid=0000018000 type=anomaly subtype=anomaly level=alert srcip=10.10.10.61 dstip=10.10.10.84 action=dropped`,
		},
		DatasetPANOS: {
			panosLine(nil),
			"Nov 30 16:09:08 " + panosLine(nil),
			"Jul 13 20:39:44 " + panosLine(nil),
		},
	}
	p := New(Options{})
	for want, lines := range samples {
		for _, line := range lines {
			var ev schemas.Event
			require.NoError(t, p.Parse(line, testReceived, &ev), line)
			require.Equal(t, want, ev.Event.Dataset, line)
			require.NotEmpty(t, ev.Event.Action, line)
		}
	}
	firewall := map[string]bool{DatasetNetfilter: true, DatasetFilterlog: true, DatasetCiscoASA: true, DatasetFortiGate: true, DatasetPANOS: true}
	seen := 0
	for _, rel := range []string{"loghub/OpenSSH/OpenSSH_2k.log", "loghub/Linux/Linux_2k.log", "crowdsec_hub_tests/sshd-logs/sshd-logs.log"} {
		for _, line := range readLines(t, sharedData(t, rel)) {
			if line == "" {
				continue
			}
			var ev schemas.Event
			_ = p.Parse(line, testReceived, &ev)
			require.False(t, firewall[ev.Event.Dataset], "%s claimed %q", ev.Event.Dataset, line)
			seen++
		}
	}
	require.Greater(t, seen, 4000)
}

// TestFirewallSniffersStayOffOtherFormats feeds each firewall sniffer the
// other formats' samples and ordinary syslog messages.
func TestFirewallSniffersStayOffOtherFormats(t *testing.T) {
	others := []string{
		"Failed password for root from 198.51.100.7 port 4022 ssh2",
		"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.4",
		"CEF:0|Trend Micro|Deep Security Agent|10.0|4000000|Eicar_test_file|6|cn1=1 dvc=10.0.0.1",
		`{"EventID":4625,"Channel":"Security"}`,
		"LOGIN=alice OUT=x",
		"usage: 40% of /var; IN use",
		"type=USER_LOGIN msg=audit(1364481363.243:24287): pid=1 res=failed",
	}
	sniffers := map[string]func(string) bool{
		DatasetNetfilter: netfilterSniff, DatasetCiscoASA: asaSniff,
		DatasetFortiGate: fortiSniff, DatasetPANOS: panosSniff,
	}
	for name, sniff := range sniffers {
		for _, msg := range others {
			require.False(t, sniff(msg), "%s sniffer claimed %q", name, msg)
		}
	}
}

// TestFirewallDoesNotAllocate: the firewall paths parse without
// allocating, IPv6 netfilter lines (full-form addresses) included once
// their addresses are in the cache.
func TestFirewallDoesNotAllocate(t *testing.T) {
	cases := map[string]string{
		"netfilter":          fwBenchNetfilter,
		"netfilter ipv6":     "Jan 22 10:52:34 ubuntu-bionic kernel: [  307.757925] IN= OUT=enp0s3 MAC=90:10:12:34:56:78:90:10:aa:bb:cc:dd:86:dd:ff:ff SRC=fe80:0000:0000:0000:0084:88ff:feae:790a DST=ff02:0000:0000:0000:0000:0000:0000:0016 LEN=96 TC=0 HOPLIMIT=1 FLOWLBL=0 PROTO=ICMPv6 TYPE=143 CODE=0 MARK=0xd4",
		"netfilter ubiquiti": "<6>2021-03-12T14:10:18Z Hostname kernel: [wan-lan-default-D]IN=eth0 OUT= MAC=90:10:20:76:8d:20:90:10:65:29:b6:2a:08:00 SRC=203.0.113.15 DST=10.4.0.5 LEN=52 TOS=0x00 PREC=0x00 TTL=63 ID=0 DF PROTO=TCP SPT=38842 DPT=443 WINDOW=2853 RES=0x00 ACK URGP=0",
		"filterlog":          fwBenchFilterlog,
		"filterlog ipv6":     "<134>1 2022-09-06T19:00:06+02:00 opnsense filterlog 57126 - [meta sequenceId=\"2667099\"] 98,,,881dd59a3e942966c90498ac104715a0,re0,match,pass,in,6,0x00,0x0ea87,51,udp,17,73,2001:db8:702e:ce00:acc6:c7ee:fa01:2f8a,2001:db8:ada:d900::1738,6881,51918,73",
		"asa built":          fwBenchASA,
		"asa deny":           "Oct 10 2018 12:34:56 localhost CiscoASA[999]: %ASA-4-106023: Deny tcp src outside:198.51.100.254/80 dst inside:172.31.98.44/8277 by access-group \"inbound\" [0x0, 0x0]",
		"asa teardown":       "<166>Oct 10 2018 12:34:56 fw1 : %ASA-6-302014: Teardown TCP connection 11749 for outside:198.51.100.242/80 to inside:172.31.98.44/1758 duration 0:01:07 bytes 38110 TCP Reset-I",
		"asa aaa":            "<166>Aug 28 2023 15:35:01 fw123 : %ASA-6-113005: AAA user authentication Rejected : reason = Invalid password : server = 198.51.100.144 : user = a2bcde : user IP = 198.51.100.143",
		"asa vpn":            "<166>Jun  3 2025 08:17:06 edge-fw1 : %ASA-6-716001: Group <RA-VPN> User <carol> IP <198.51.100.50> WebVPN session started.",
		"fortigate traffic":  fwBenchFortiGate,
		"fortigate utm":      `<188>date=2020-04-23 time=12:17:48 devname="fw1" devid="FG1" logid="0316013056" type="utm" subtype="webfilter" eventtype="ftgd_blk" level="warning" vd="root" eventtime=1587230269052907555 tz="-0500" policyid=100602 user="alice" srcip=192.168.2.1 srcport=61930 srcintf="port1" dstip=192.0.2.13 dstport=443 dstintf="wan1" proto=6 service="HTTPS" hostname="example.com" action="blocked" sentbyte=1152 rcvdbyte=1130 direction="outgoing"`,
		"panos traffic":      fwBenchPANOS,
		"panos threat":       "Mar 14 10:22:31 pa-fw " + panosThreatLine(nil),
	}
	for name, line := range cases {
		t.Run(name, func(t *testing.T) {
			p := New(Options{})
			var ev schemas.Event
			require.NoError(t, p.Parse(line, testReceived, &ev))
			require.NotEmpty(t, ev.Event.Action)
			allocs := testing.AllocsPerRun(200, func() {
				ev.Reset()
				if err := p.Parse(line, testReceived, &ev); err != nil {
					t.Fatal(err)
				}
			})
			require.Zero(t, allocs)
		})
	}
}

func TestFwCanonIP(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":        "192.0.2.1",
		"::ffff:192.0.2.1": "192.0.2.1",
		"2001:DB8::1":      "2001:db8::1",
		"2001:0db8:0000:0000:0000:0000:0000:0001": "2001:db8::1",
		"fe80::1": "fe80::1",
	} {
		got, ok := fwCanonIP(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "1", "192.0.2", "192.0.2.256", "01.2.3.4", "fe80::1%eth0", "host.example", "::g"} {
		_, ok := fwCanonIP(bad)
		require.False(t, ok, bad)
	}
}

func TestFwTransport(t *testing.T) {
	for in, want := range map[string]string{
		"TCP": "tcp", "udp": "udp", "6": "tcp", "17": "udp", "1": "icmp", "58": "ipv6-icmp",
		"ICMPv6": "ipv6-icmp", "icmp6": "ipv6-icmp", "253": "253", "protocol": "", "": "",
	} {
		require.Equal(t, want, fwTransport(in), in)
	}
}

// fwReadFile returns the lines of a file, or nil when it cannot be read.
func fwReadFile(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return splitLines(strings.TrimSuffix(string(b), "\n"))
}

// BenchmarkFirewallSniffers measures what the firewall sniffers add to a
// syslog line no reader claims (they run for every such line): the same
// line with the five firewall sources enabled and disabled.
func BenchmarkFirewallSniffers(b *testing.B) {
	const line = "Dec 10 07:07:38 LabSZ CRON[24206]: (root) CMD (cd / && run-parts --report /etc/cron.hourly)"
	for _, c := range []struct {
		name     string
		disabled []string
	}{
		{"enabled", nil},
		{"disabled", []string{DatasetNetfilter, DatasetFilterlog, DatasetCiscoASA, DatasetFortiGate, DatasetPANOS}},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := New(Options{Disabled: c.disabled})
			var ev schemas.Event
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				ev.Reset()
				if err := p.Parse(line, testReceived, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
