package parse

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// panosRecord joins fields into a record after setting the overrides
// (by position).
func panosRecord(fields []string, overrides map[int]string) string {
	f := append([]string(nil), fields...)
	for i, v := range overrides {
		f[i] = v
	}
	return strings.Join(f, ",")
}

// panosTraffic81 is a TRAFFIC record laid out field by field as the PAN-OS
// 8.1 "Traffic Log Fields" list them (65 fields).
var panosTraffic81 = []string{
	"1", "2025/03/14 10:20:05", "013201001234", "TRAFFIC", "end", "2305", "2025/03/14 10:20:04",
	"10.5.20.31", "198.51.100.80", "203.0.113.5", "198.51.100.80", "allow-web", "corp\\jdoe", "",
	"ssl", "vsys1", "trust", "untrust", "ethernet1/2", "ethernet1/1", "fwd-siem", "2025/03/14 10:20:04",
	"884200", "1", "52144", "443", "40112", "443", "0x400053", "tcp", "allow", "7734", "1758", "5976",
	"36", "2025/03/14 10:18:00", "124", "computer-and-internet-info", "0", "7012344", "0x0",
	"10.0.0.0-10.255.255.255", "United States", "0", "16", "20", "tcp-fin", "0", "0", "0", "0", "",
	"pa-fw1", "from-policy", "", "", "0", "", "0", "", "N/A", "0", "0", "0", "0",
}

// panosThreat91 is a THREAT record laid out as the PAN-OS 9.1 "Threat Log
// Fields" list them (79 fields), with a quoted file name holding a comma.
var panosThreat91 = []string{
	"1", "2025/03/14 10:22:31", "013201001234", "THREAT", "virus", "2305", "2025/03/14 10:22:30",
	"10.5.20.31", "198.51.100.80", "203.0.113.5", "198.51.100.80", "allow-web", "corp\\jdoe", "",
	"web-browsing", "vsys1", "trust", "untrust", "ethernet1/2", "ethernet1/1", "fwd-siem",
	"2025/03/14 10:22:30", "884201", "1", "52145", "80", "40113", "80", "0x402000", "tcp", "reset-both",
	`"invoice, march.zip"`, "Eicar Test File(39040)", "any", "medium", "server-to-client", "7012345",
	"0x8000000000000000", "10.0.0.0-10.255.255.255", "US", "0", "application/zip", "0",
	"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", "", "0", "", "zip", "", "", "", "",
	"", "0", "0", "0", "0", "0", "", "pa-fw1", "", "", "", "get", "0", "", "0", "", "N/A", "virus",
	"AppThreat-8590-7130", "", "0", "0", "", "", "c3f1e6d2-0000-4000-8000-000000000001", "0", "",
}

// panosLine is a PAN-OS 8.1 TRAFFIC record with overrides.
func panosLine(overrides map[int]string) string { return panosRecord(panosTraffic81, overrides) }

// panosThreatLine is a PAN-OS 9.1 THREAT record with overrides.
func panosThreatLine(overrides map[int]string) string { return panosRecord(panosThreat91, overrides) }

// fwBenchPANOS is a TRAFFIC end record under an RFC 3164 header.
var fwBenchPANOS = "Mar 14 10:20:05 pa-fw1 " + panosLine(nil)

// Records built from the PAN-OS field lists (the shared data set has
// TRAFFIC samples only): field positions are those the lists give.
func TestPANOSLines(t *testing.T) {
	fwRun(t, []fwCase{
		{"traffic end", fwBenchPANOS, fwFields{
			"event.dataset": DatasetPANOS, "event.category": "network", "event.type": "end",
			"event.action": "connection_closed", "event.reason": "tcp-fin",
			"source.ip": "10.5.20.31", "source.port": 52144, "source.nat_ip": "203.0.113.5", "source.nat_port": 40112,
			"destination.ip": "198.51.100.80", "destination.port": 443, "destination.nat_ip": "",
			"network.transport": "tcp", "network.protocol": "ssl", "network.bytes": 7734, "network.packets": 36,
			"source.bytes": 1758, "destination.bytes": 5976, "source.packets": 16, "destination.packets": 20,
			"rule.name": "allow-web", "user.name": "jdoe", "user.domain": "corp",
			"observer.serial_number": "013201001234", "observer.hostname": "pa-fw1", "observer.vendor": "Palo Alto Networks",
			"observer.ingress_interface": "ethernet1/2", "observer.egress_interface": "ethernet1/1",
			// The record's generated time wins over the header's.
			"timestamp": time.Date(2025, 3, 14, 10, 20, 4, 0, time.UTC),
		}},
		{"traffic start without header takes the generated time", panosLine(map[int]string{4: "start"}), fwFields{
			"event.action": "connection_built", "event.type": "start", "event.reason": "",
			"timestamp": time.Date(2025, 3, 14, 10, 20, 4, 0, time.UTC),
		}},
		{"traffic deny", panosLine(map[int]string{4: "deny", 30: "deny", 46: "policy-deny"}), fwFields{
			"event.action": "connection_denied", "event.type": "denied", "event.reason": "policy-deny",
		}},
		{"traffic drop subtype", panosLine(map[int]string{4: "drop"}), fwFields{"event.action": "connection_denied"}},
		{"traffic reset action", panosLine(map[int]string{30: "reset-both"}), fwFields{"event.action": "connection_denied"}},
		{"ipv6 and no translation", panosLine(map[int]string{7: "2001:0db8::0001", 8: "2001:db8::80", 9: "0.0.0.0", 10: "0.0.0.0", 12: "", 26: "0", 27: "0"}), fwFields{
			"source.ip": "2001:db8::1", "source.nat_ip": "", "network.type": "ipv6", "user.name": "",
		}},
		{"8.0 record without device name", "Mar 14 10:20:05 pa-fw2 " + strings.Join(panosTraffic81[:47], ","), fwFields{
			"event.action": "connection_closed", "observer.hostname": "pa-fw2", "event.reason": "tcp-fin",
		}},
		{"header without host name", "Mar 14 10:20:05 " + panosLine(nil), fwFields{
			"event.action": "connection_closed", "host.name": "", "log.syslog.hostname": "",
			"observer.hostname": "pa-fw1", "source.ip": "10.5.20.31",
		}},
		{"threat virus", "Mar 14 10:22:31 pa-fw1 " + panosThreatLine(nil), fwFields{
			"event.action": "malware_detected", "event.category": "malware", "event.type": "denied",
			"event.reason": "reset-both", "event.code": "39040", "threat.name": "Eicar Test File",
			"threat.severity": "medium", "threat.category": "virus", "file.name": "invoice, march.zip",
			"file.hash.sha256": "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
			"source.ip":        "10.5.20.31", "destination.port": 80, "rule.name": "allow-web", "observer.hostname": "pa-fw1",
		}},
		{"threat vulnerability alert", panosThreatLine(map[int]string{4: "vulnerability", 30: "alert", 31: "", 32: "Apache Log4j Remote Code Execution Vulnerability(91991)", 34: "critical", 69: "code-execution"}), fwFields{
			"event.action": "intrusion_detected", "event.category": "intrusion_detection", "event.type": "info",
			"threat.name": "Apache Log4j Remote Code Execution Vulnerability", "event.code": "91991",
			"threat.severity": "critical", "threat.category": "code-execution", "file.name": "",
		}},
		{"threat spyware", panosThreatLine(map[int]string{4: "spyware", 30: "drop", 32: "Cobalt Strike Beacon Command and Control Traffic Detection(86445)", 34: "critical", 69: "backdoor"}), fwFields{
			"event.action": "intrusion_detected", "event.type": "denied", "threat.category": "backdoor",
		}},
		{"threat scan", panosThreatLine(map[int]string{4: "scan", 30: "drop", 32: "TCP Port Scan(8001)", 34: "critical"}), fwFields{
			"event.action": "scan_detected", "threat.name": "TCP Port Scan", "event.code": "8001",
		}},
		{"threat url blocked", panosThreatLine(map[int]string{4: "url", 30: "block-url", 31: `"Malware.Example.com/dl/payload.exe"`, 32: "(9999)", 33: "malware", 34: "informational"}), fwFields{
			"event.action": "connection_denied", "event.reason": "malware", "destination.domain": "malware.example.com",
			"threat.name": "",
		}},
		{"threat url allowed", panosThreatLine(map[int]string{4: "url", 30: "alert", 31: "www.example.org/", 32: "(9999)", 33: "news"}), fwFields{
			"event.action": "connection_allowed", "event.reason": "news", "destination.domain": "www.example.org",
		}},
		{"wildfire malicious", panosThreatLine(map[int]string{4: "wildfire", 30: "alert", 31: "setup.exe", 32: "Windows Executable (EXE)(52020)", 33: "malicious"}), fwFields{
			"event.action": "malware_detected", "file.name": "setup.exe", "threat.name": "Windows Executable (EXE)",
		}},
		{"wildfire benign", panosThreatLine(map[int]string{4: "wildfire", 30: "alert", 31: "notes.pdf", 32: "Adobe PDF Document(52015)", 33: "benign"}), fwFields{
			"event.action": "", "file.name": "notes.pdf",
		}},
		{"config", "Mar 14 11:00:00 pa-fw1 1,2025/03/14 11:00:00,013201001234,CONFIG,0,2305,2025/03/14 11:00:00,192.0.2.50,vsys1,edit,admin,Web,Succeeded, vsys  vsys1 rulebase security rules  allow-web,,,7012400,0x0,0,0,0,0,,pa-fw1,,", fwFields{
			"event.action": "config_changed", "event.category": "configuration", "event.outcome": "success",
			"user.name": "admin", "source.ip": "192.0.2.50", "event.reason": "edit",
			"change.item": " vsys  vsys1 rulebase security rules  allow-web", "observer.hostname": "pa-fw1",
		}},
		{"config failed", "1,2025/03/14 11:00:00,013201001234,CONFIG,0,2305,2025/03/14 11:00:00,192.0.2.50,vsys1,commit,admin,CLI,Failed,,,,7012401,0x0", fwFields{
			"event.action": "config_changed", "event.outcome": "failure", "event.reason": "commit",
		}},
		{"system keeps its event id", "1,2025/03/14 11:05:00,013201001234,SYSTEM,auth,2305,2025/03/14 11:05:00,,auth-fail,,0,0,general,medium,failed authentication for user 'admin',7012402,0x0,0,0,0,0,,pa-fw1", fwFields{
			"event.dataset": DatasetPANOS, "event.code": "auth-fail", "event.action": "", "observer.hostname": "pa-fw1",
		}},
	})
}

// TestPANOSElasticSamples reads the PAN-OS TRAFFIC lines of Elastic's test
// log (Elastic License 2.0, shared data set); fields are read off each
// line here by position.
func TestPANOSElasticSamples(t *testing.T) {
	lines := readLines(t, sharedData(t, "firewall/paloalto/elastic_test-panw-panos-traffic.selected.log"))
	require.Len(t, lines, 13)
	actions := map[string]string{"end": fwClosed, "start": fwBuilt, "drop": fwDenied, "deny": fwDenied, "": "", "test": ""}
	for i, line := range lines {
		ev := fwMust(t, "", line)
		_, rec, _ := strings.Cut(line, " PA-220 ")
		f := strings.Split(rec, ",")
		require.Len(t, f, 65)
		atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
		want := fwFields{
			"event.dataset": DatasetPANOS, "event.action": actions[f[4]], "source.ip": f[7],
			"destination.ip": f[8], "source.port": atoi(f[24]), "destination.port": atoi(f[25]),
			"rule.name": f[11], "network.transport": f[29], "network.bytes": atoi(f[31]),
			"source.bytes": atoi(f[32]), "destination.bytes": atoi(f[33]), "network.packets": atoi(f[34]),
			"observer.serial_number": f[2], "observer.hostname": f[52], "source.nat_ip": f[9],
		}
		if f[4] != "start" {
			want["event.reason"] = f[46]
		}
		fwCheck(t, &ev, want, "line ", i+1)
	}
}

func TestPANOSErrors(t *testing.T) {
	for _, c := range []struct{ line, detail string }{
		{"1,2025/03/14 10:20:05,0132,TRAFFIC,end,1,2025/03/14 10:20:04,10.0.0.1", "TRAFFIC record with too few fields"},
		{"1,2025/03/14 10:20:05,0132,THREAT,virus,1,2025/03/14 10:20:04,10.0.0.1", "THREAT record with too few fields"},
		{"1,2025/03/14 10:20:05,0132,CONFIG,0,1,2025/03/14 10:20:04,10.0.0.1", "CONFIG record with too few fields"},
		{panosLine(map[int]string{7: "10.5.20"}), "source address is not an IP address at byte 72"},
		{panosLine(map[int]string{8: "host"}), "destination address is not an IP address"},
		{panosThreatLine(map[int]string{31: `"unterminated`}), "quoted field has no closing quote"},
		{panosThreatLine(map[int]string{31: `"a"b`}), "quoted field not followed by a comma"},
	} {
		ev, err := fwParse("", c.line)
		require.Equal(t, ReasonBadPANOS, reasonOf(t, err), c.line)
		require.Contains(t, err.Error(), c.detail, c.line)
		require.Equal(t, DatasetPANOS, ev.Event.Dataset)
	}
}

func TestPANOSSplit(t *testing.T) {
	var f [panosMaxFields]string
	for in, want := range map[string][]string{
		"a,b,c":          {"a", "b", "c"},
		"a,,c,":          {"a", "", "c", ""},
		`a,"b,c",d`:      {"a", "b,c", "d"},
		`a,"say ""hi"""`: {"a", `say ""hi""`},
		`"",x`:           {"", "x"},
	} {
		n, err := panosSplit(in, &f)
		require.Nil(t, err, in)
		require.Equal(t, want, f[:n], in)
	}
}

func FuzzPANOS(f *testing.F) {
	seeds := []string{
		fwBenchPANOS, panosLine(nil), panosThreatLine(nil), "Mar 14 10:20:05 " + panosLine(nil),
		panosThreatLine(map[int]string{4: "url", 30: "block-url", 31: `"Malware.Example.com/dl/payload.exe"`}),
		"1,2025/03/14 11:00:00,013201001234,CONFIG,0,2305,2025/03/14 11:00:00,192.0.2.50,vsys1,edit,admin,Web,Succeeded,x,,,7,0x0",
	}
	seeds = append(seeds, fwSharedLines("firewall/paloalto/elastic_test-panw-panos-traffic.selected.log")...)
	for _, s := range seeds {
		f.Add(s)
	}
	forced, auto := New(Options{Format: DatasetPANOS}), New(Options{})
	f.Fuzz(func(t *testing.T, line string) { fwFuzz(t, forced, auto, line) })
}

func BenchmarkParsePANOS(b *testing.B) { fwBench(b, fwBenchPANOS) }

func BenchmarkParsePANOSThreat(b *testing.B) {
	fwBench(b, "Mar 14 10:22:31 pa-fw1 "+panosThreatLine(nil))
}
