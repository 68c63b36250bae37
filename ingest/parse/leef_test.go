package parse

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// TestLEEFRsyslogVectors checks rsyslog's mmleefparse test (PAN-OS LEEF
// 1.0 with '|' between attributes), read from the shared data set. Its
// output template prints vendor, product version, src, dst, action, cat,
// proto and SessionID.
func TestLEEFRsyslogVectors(t *testing.T) {
	b, err := os.ReadFile(sharedData(t, "syslog_vectors/rsyslog_testbench_vectors.json"))
	require.NoError(t, err)
	var file struct {
		Vectors []struct {
			SourcePath string `json:"source_path"`
			Pairs      []struct {
				Input        string `json:"input"`
				ExpectedLine string `json:"expected_line"`
			} `json:"pairs"`
		} `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(b, &file))
	var types []string
	for _, v := range file.Vectors {
		if v.SourcePath != "tests/mmleefparse_basic.sh" {
			continue
		}
		for _, pr := range v.Pairs {
			ev := genMustParse(t, pr.Input)
			require.Equal(t, DatasetLEEF, ev.Event.Dataset)
			got := strings.Join([]string{ev.Observer.Vendor, ev.Observer.Version, ev.Source.IP, ev.Destination.IP,
				ev.Labels["action"], ev.Rule.Category, ev.Network.Transport, ev.Labels["SessionID"]}, "|")
			require.Equal(t, pr.ExpectedLine, got)
			// Beyond the template: the header's host and time, and the
			// attributes a person reads off the line.
			require.Equal(t, "firewall.domain.local", ev.Host.Name)
			require.Equal(t, "PAN-OS Syslog Integration", ev.Observer.Product)
			require.Equal(t, "interzone-default", ev.Rule.Name)
			require.Equal(t, "TRAFFIC", ev.Labels["Type"])
			require.NotZero(t, ev.Source.Port)
			require.NotZero(t, ev.Destination.Port)
			types = append(types, ev.Event.Type)
		}
	}
	// allow, deny, reset-both: the action word gives the event type.
	require.Equal(t, []string{schemas.TypeAllowed, schemas.TypeDenied, schemas.TypeDenied}, types)
}

func TestLEEFPanOSFields(t *testing.T) {
	// The deny line of rsyslog's vector, shortened; the fields are PAN-OS's.
	line := "<14>Sep 17 13:48:38 firewall.domain.local LEEF:1.0|Palo Alto Networks|PAN-OS Syslog Integration|11.1.6-h14|deny|" +
		"cat=TRAFFIC|devTime=Sep 17 2025 11:48:37 GMT|src=172.39.129.169|dst=172.224.141.39|srcPostNAT=0.0.0.157|" +
		"RuleName=interzone-default|usrName=|srcPort=63219|dstPort=3367|proto=tcp|action=deny|totalBytes=0|dstBytes=0|" +
		"srcBytes=0|totalPackets=1|dstPackets=0|srcPackets=1|SessionEndReason=policy-deny"
	ev := genMustParse(t, line)
	require.Equal(t, "deny", ev.Event.Code)
	require.Equal(t, schemas.CategoryNetwork, ev.Event.Category)
	require.Equal(t, schemas.TypeDenied, ev.Event.Type)
	require.Equal(t, genActionConnectionDenied, ev.Event.Action)
	require.Equal(t, 63219, ev.Source.Port)
	require.Equal(t, 3367, ev.Destination.Port)
	require.Equal(t, "0.0.0.157", ev.Source.NATIP)
	require.Equal(t, 1, ev.Network.Packets)
	require.Equal(t, 1, ev.Source.Packets)
	require.Equal(t, "policy-deny", ev.Labels["SessionEndReason"])
	// devTime wins over the syslog header's time, whose year was only
	// inferred.
	require.Equal(t, utc(2025, 9, 17, 11, 48, 37, 0), ev.Timestamp)
	// Without the header, devTime gives the time.
	ev = genMustParse(t, line[strings.Index(line, "LEEF:"):])
	require.Equal(t, utc(2025, 9, 17, 11, 48, 37, 0), ev.Timestamp)
}

// The samples below are written from IBM's LEEF guide (no public LEEF
// corpus beyond rsyslog's PAN-OS lines is in the shared data set): the
// header of both versions, tab and custom delimiters, the predefined
// keys, and devTime with and without devTimeFormat.
func TestLEEFDocumentedFormat(t *testing.T) {
	cases := []struct {
		name, line string
		check      func(t *testing.T, ev schemas.Event)
	}{
		{"LEEF 1.0 with tabs", "LEEF:1.0|Microsoft|MSExchange|2013 SP1|15345|src=10.50.1.1\tdst=2.10.20.20\tspt=1200\tusrName=joe.smith\tsev=5\tcat=auth\tdevTime=Jan 18 2024 11:07:53",
			func(t *testing.T, ev schemas.Event) {
				require.Equal(t, "Microsoft", ev.Observer.Vendor)
				require.Equal(t, "MSExchange", ev.Observer.Product)
				require.Equal(t, "2013 SP1", ev.Observer.Version)
				require.Equal(t, "15345", ev.Event.Code)
				require.Equal(t, "10.50.1.1", ev.Source.IP)
				require.Equal(t, "2.10.20.20", ev.Destination.IP)
				require.Equal(t, "1200", ev.Labels["spt"])
				require.Equal(t, "joe.smith", ev.User.Name)
				require.Equal(t, 5, ev.Event.Severity)
				require.Equal(t, "auth", ev.Rule.Category)
				require.Equal(t, utc(2024, 1, 18, 11, 7, 53, 0), ev.Timestamp)
				require.Equal(t, "1.0", ev.Labels["leef.version"])
			}},
		{"LEEF 2.0 with a caret", "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21^devTime=1463064000000",
			func(t *testing.T, ev schemas.Event) {
				require.Equal(t, "10.0.1.8", ev.Source.IP)
				require.Equal(t, 81, ev.Source.Port)
				require.Equal(t, 21, ev.Destination.Port)
				require.Equal(t, utc(2016, 5, 12, 14, 40, 0, 0), ev.Timestamp)
			}},
		{"LEEF 2.0 with a hex delimiter", "LEEF:2.0|Vendor|Product|1.0|Login|x09|usrName=alice\tsrc=192.0.2.9\tproto=6",
			func(t *testing.T, ev schemas.Event) {
				require.Equal(t, "alice", ev.User.Name)
				require.Equal(t, "192.0.2.9", ev.Source.IP)
				require.Equal(t, "tcp", ev.Network.Transport)
			}},
		{"LEEF 2.0 with 0x and a multi-byte delimiter", "LEEF:2.0|V|P|1.0|E|0xa6|src=192.0.2.1¦dst=192.0.2.2",
			func(t *testing.T, ev schemas.Event) {
				require.Equal(t, "192.0.2.1", ev.Source.IP)
				require.Equal(t, "192.0.2.2", ev.Destination.IP)
			}},
		{"LEEF 2.0 with an empty delimiter field means tab", "LEEF:2.0|V|P|1.0|E||src=192.0.2.1\tdst=192.0.2.2",
			func(t *testing.T, ev schemas.Event) {
				require.Equal(t, "192.0.2.2", ev.Destination.IP)
			}},
		{"LEEF 2.0 without a delimiter field", "LEEF:2.0|V|P|1.0|E|src=192.0.2.1\tdst=192.0.2.2",
			func(t *testing.T, ev schemas.Event) {
				require.Equal(t, "192.0.2.1", ev.Source.IP)
			}},
		{"devTimeFormat with a zone", "LEEF:2.0|V|P|1.0|E|^|devTime=May 24 2016 16:04:39.001 UTC^devTimeFormat=MMM dd yyyy HH:mm:ss.SSS zzz",
			func(t *testing.T, ev schemas.Event) {
				require.Equal(t, utc(2016, 5, 24, 16, 4, 39, 1_000_000), ev.Timestamp)
				require.Equal(t, "MMM dd yyyy HH:mm:ss.SSS zzz", ev.Labels["devTimeFormat"])
			}},
		{"devTimeFormat ISO with an offset", "LEEF:1.0|V|P|1.0|E|devTime=2024-03-05T07:08:09.123+0100\tdevTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ",
			func(t *testing.T, ev schemas.Event) {
				require.Equal(t, utc(2024, 3, 5, 6, 8, 9, 123_000_000), ev.Timestamp)
			}},
		{"devTimeFormat with a 12-hour clock", "LEEF:1.0|V|P|1.0|E|devTime=03/05/2024 07:08:09 PM\tdevTimeFormat=MM/dd/yyyy hh:mm:ss a",
			func(t *testing.T, ev schemas.Event) {
				require.Equal(t, utc(2024, 3, 5, 19, 8, 9, 0), ev.Timestamp)
			}},
		{"a devTime that does not fit its format is kept", "LEEF:1.0|V|P|1.0|E|devTime=yesterday\tdevTimeFormat=yyyy-MM-dd",
			func(t *testing.T, ev schemas.Event) {
				require.Equal(t, testReceived, ev.Timestamp)
				require.Equal(t, "yesterday", ev.Labels["devTime"])
			}},
		{"NAT, MACs, bytes and an escaped pipe in the header", "LEEF:1.0|Ven\\|dor|P|1|E|srcMAC=00:11:22:33:44:55\tdstMAC=66:77:88:99:aa:bb\tsrcPostNAT=203.0.113.5\tsrcPostNATPort=40000\tdstPostNAT=10.1.1.1\tdstPostNATPort=8443\tsrcBytes=10\tdstBytes=20\tpolicy=allow-web\tmsg=hello there",
			func(t *testing.T, ev schemas.Event) {
				require.Equal(t, "Ven|dor", ev.Observer.Vendor)
				require.Equal(t, "00:11:22:33:44:55", ev.Source.MAC)
				require.Equal(t, "66:77:88:99:aa:bb", ev.Destination.MAC)
				require.Equal(t, "203.0.113.5", ev.Source.NATIP)
				require.Equal(t, 40000, ev.Source.NATPort)
				require.Equal(t, "10.1.1.1", ev.Destination.NATIP)
				require.Equal(t, 8443, ev.Destination.NATPort)
				require.Equal(t, 10, ev.Source.Bytes)
				require.Equal(t, 20, ev.Destination.Bytes)
				require.Equal(t, "allow-web", ev.Rule.Name)
				require.Equal(t, "hello there", ev.Message)
			}},
		{"spaces where tabs belong", "LEEF:1.0|Trend Micro|Deep Security Agent|10.0|4000000|usrName=admin src=10.0.0.1 msg=two words here cat=Anti-Malware",
			func(t *testing.T, ev schemas.Event) {
				require.Equal(t, "admin", ev.User.Name)
				require.Equal(t, "10.0.0.1", ev.Source.IP)
				require.Equal(t, "two words here", ev.Message)
				require.Equal(t, "Anti-Malware", ev.Rule.Category)
			}},
		{"after an RFC 5424 header", "<13>1 2024-01-18T11:07:53Z host app - - - LEEF:1.0|V|P|1|E|src=192.0.2.1",
			func(t *testing.T, ev schemas.Event) {
				require.Equal(t, "host", ev.Host.Name)
				require.Equal(t, "192.0.2.1", ev.Source.IP)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := genMustParse(t, c.line)
			require.Equal(t, DatasetLEEF, ev.Event.Dataset)
			c.check(t, ev)
		})
	}
}

func TestLEEFMalformed(t *testing.T) {
	for line, detail := range map[string]string{
		"LEEF:1.0|V|P|1":                      "the header has 3 of its 5 fields",
		"LEEF:|V|P|1|E|":                      "expected the LEEF version",
		"LEEF:2.0|V|P|1|E|xZZ|src=1.2.3.4":    "the delimiter field",
		"LEEF:1.0|V|P|1|E|src=1.2.3.4\tjunk":  "an attribute without key=",
		"LEEF:1.0|V|P|1|E|junk without pairs": "expected key=value",
	} {
		var ev schemas.Event
		err := New(Options{}).Parse(line, testReceived, &ev)
		require.Equal(t, ReasonBadLEEF, reasonOf(t, err), line)
		require.Contains(t, err.Error(), detail, line)
	}
	// A malformed attribute does not lose the others.
	ev, reason := genParseLine(t, "LEEF:1.0|V|P|1|E|src=192.0.2.1\tjunk\tdst=192.0.2.2")
	require.Equal(t, ReasonBadLEEF, reason)
	require.Equal(t, "192.0.2.2", ev.Destination.IP)
}

func TestLEEFJavaTime(t *testing.T) {
	p := New(Options{})
	cases := []struct {
		pattern, value string
		want           time.Time
	}{
		{"MMM dd yyyy HH:mm:ss", "Jan 18 2024 11:07:53", utc(2024, 1, 18, 11, 7, 53, 0)},
		{"yyyy-MM-dd HH:mm:ss.SSS", "2024-01-18 11:07:53.250", utc(2024, 1, 18, 11, 7, 53, 250_000_000)},
		{"dd/MMM/yyyy:HH:mm:ss Z", "18/Jan/2024:11:07:53 -0500", utc(2024, 1, 18, 16, 7, 53, 0)},
		{"EEE MMM d HH:mm:ss z yyyy", "Thu Jan 18 11:07:53 GMT 2024", utc(2024, 1, 18, 11, 7, 53, 0)},
		{"yyyy-MM-dd'T'HH:mm:ssXXX", "2024-01-18T11:07:53+02:00", utc(2024, 1, 18, 9, 7, 53, 0)},
		{"yy-M-d H:m:s", "24-1-8 1:2:3", utc(2024, 1, 8, 1, 2, 3, 0)},
		{"MMMM dd HH:mm:ss", "November 30 10:00:00", utc(2026, 11, 30, 10, 0, 0, 0)},
	}
	for _, c := range cases {
		got, ok := p.leefJavaTime(c.pattern, c.value, testReceived)
		require.True(t, ok, c.pattern)
		require.Equal(t, c.want, got, c.pattern)
	}
	for _, c := range [][2]string{
		{"yyyy-MM-dd", "2024-13-01"}, {"yyyy-MM-dd", "2024-02-30"}, {"yyyy-MM-dd", "2024-01-01 extra"},
		{"yyyy-MM-dd Q", "2024-01-01 Q"}, {"'unclosed", "x"}, {"HH:mm", "10:00"},
	} {
		_, ok := p.leefJavaTime(c[0], c[1], testReceived)
		require.False(t, ok, c)
	}
}

func FuzzLEEF(f *testing.F) {
	for _, s := range []string{
		"LEEF:1.0|Microsoft|MSExchange|2013 SP1|15345|src=10.50.1.1\tdst=2.10.20.20\tusrName=joe\tdevTime=Jan 18 2024 11:07:53",
		"LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^devTime=1463064000000",
		"LEEF:2.0|V|P|1.0|E|x09|usrName=alice\tsrc=192.0.2.9",
		"<14>Sep 17 13:45:35 fw LEEF:1.0|Palo Alto Networks|PAN-OS|11.1|allow|cat=TRAFFIC|src=172.19.50.39|action=allow",
		"LEEF:2.0|V|P|1.0|E|^|devTime=May 24 2016 16:04:39.001 UTC^devTimeFormat=MMM dd yyyy HH:mm:ss.SSS zzz",
		"LEEF:1.0|V|P|1|E|devTime=03/05/2024 07:08:09 PM\tdevTimeFormat=MM/dd/yyyy hh:mm:ss a",
		"LEEF:1.0|V|P|1|E|usrName=admin src=10.0.0.1 msg=two words",
	} {
		f.Add(s)
	}
	p := New(Options{})
	reasons := genKnownReasons()
	f.Fuzz(func(t *testing.T, line string) {
		var ev schemas.Event
		err := p.Parse(line, testReceived, &ev)
		genCheckEvent(t, line, &ev, err, reasons)
	})
}

func BenchmarkParseLEEF(b *testing.B) {
	genBench(b,
		"<14>Sep 17 13:45:35 firewall.domain.local LEEF:1.0|Palo Alto Networks|PAN-OS Syslog Integration|11.1.6-h14|allow|cat=TRAFFIC|devTime=Sep 17 2025 11:45:34 GMT|src=172.19.50.39|dst=172.19.5.50|RuleName=interzone-default|srcPort=62126|dstPort=443|proto=tcp|action=allow|totalBytes=460|dstBytes=70|srcBytes=390|SessionID=74879677",
		"LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21^devTime=May 24 2016 16:04:39.001 UTC^devTimeFormat=MMM dd yyyy HH:mm:ss.SSS zzz",
	)
}
