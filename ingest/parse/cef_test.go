package parse

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// The Beats vectors and samples are Elastic-licensed: they are read from
// the shared data set at test time. The CrowdSec hub test (MIT) is in
// testdata/cef.

// cefVector is one entry of beats_cef_parser_vectors.json.
type cefVector struct {
	Name               string         `json:"name"`
	Input              string         `json:"input"`
	ExpectError        any            `json:"expect_error"`
	ExpectedHeader     map[string]any `json:"expected_header"`
	ExpectedExtensions map[string]any `json:"expected_extensions"`
	ErrorContains      []string       `json:"error_contains"`
	ParserOption       string         `json:"parser_option"`
}

// cefDifference records where tocsin reads a Beats vector differently,
// and why.
type cefDifference struct {
	// fails overrides the vector's expect_error.
	fails *bool
	// extra are labels tocsin keeps that the vector does not list.
	extra map[string]string
	why   string
}

var cefNo = new(bool)

var cefDifferences = map[string]cefDifference{
	"equalsSignWithNoValueInHeader": {
		extra: map[string]string{"src": "", "spt": ""},
		why:   "the vector runs Beats with WithRemoveEmptyValues; tocsin has no such option and keeps an empty value as an empty label",
	},
	"emptyExtensionValue": {
		fails: cefNo,
		extra: map[string]string{"dst": ""},
		why: "Beats fails because an empty dst is not an address; tocsin reads the record, keeps the empty value as a " +
			"label and leaves destination.ip unset: an empty value is well-formed CEF",
	},
	"fullExtensionNames": {
		why: "the vector runs Beats with WithFullExtensionNames; tocsin maps the short and the full names to the same " +
			"schema fields, which is what is compared",
	},
}

// cefValue returns what tocsin made of extension key, and whether the
// key is one tocsin files outside Labels.
func cefValue(ev *schemas.Event, key string) (string, bool) {
	itoa := strconv.Itoa
	switch key {
	case "src", "sourceAddress":
		return ev.Source.IP, true
	case "dst", "destinationAddress":
		return ev.Destination.IP, true
	case "spt", "sourcePort":
		return itoa(ev.Source.Port), true
	case "dpt", "destinationPort":
		return itoa(ev.Destination.Port), true
	case "in", "bytesIn":
		return itoa(ev.Source.Bytes), true
	case "out", "bytesOut":
		return itoa(ev.Destination.Bytes), true
	case "msg", "message":
		return ev.Message, true
	case "cat":
		return ev.Rule.Category, true
	case "dhost":
		return ev.Destination.Domain, true
	case "suser":
		return ev.User.Name, true
	case "duser":
		return ev.User.Target.Name, true
	}
	v, ok := ev.Labels[key]
	if !ok {
		return "<absent>", false
	}
	return v, false
}

// expectedText renders a vector's expected value as text: numbers come
// from JSON as float64.
func cefExpectedText(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatInt(int64(f), 10)
	}
	return v.(string)
}

func TestCEFBeatsVectors(t *testing.T) {
	b, err := os.ReadFile(sharedData(t, "firewall/cef/beats_cef_parser_vectors.json"))
	require.NoError(t, err)
	var file struct {
		Vectors []cefVector `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(b, &file))
	require.Len(t, file.Vectors, 27)
	p := New(Options{})
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			diff := cefDifferences[v.Name]
			var ev schemas.Event
			err := p.Parse(v.Input, testReceived, &ev)
			reason := reasonOf(t, err)
			require.Equal(t, v.Input, ev.Event.Original)
			switch want := v.ExpectError.(type) {
			case bool:
				if diff.fails != nil {
					want = *diff.fails
				}
				if want {
					require.Equal(t, ReasonBadCEF, reason, "want a failure")
				} else {
					require.Empty(t, reason, "want no failure: %v", err)
				}
			default: // "unspecified": fuzz crashers that must only not panic
				require.Contains(t, []string{"", ReasonBadCEF}, reason)
				return
			}
			for _, s := range v.ErrorContains {
				require.Contains(t, err.Error(), s)
			}
			require.Equal(t, DatasetCEF, ev.Event.Dataset)
			for k, want := range v.ExpectedHeader {
				switch k {
				case "version":
					require.Equal(t, cefExpectedText(want), ev.Labels["cef.version"])
				case "device_vendor":
					require.Equal(t, want, ev.Observer.Vendor)
				case "device_product":
					require.Equal(t, want, ev.Observer.Product)
				case "device_version":
					require.Equal(t, want, ev.Observer.Version)
				case "device_event_class_id":
					require.Equal(t, want, ev.Event.Code)
				case "name":
					require.Equal(t, want, ev.Rule.Name)
				case "severity":
					sev, ok := cefSeverity(want.(string))
					require.True(t, ok)
					require.Equal(t, sev, ev.Event.Severity)
				default:
					t.Fatalf("header field %q not checked", k)
				}
			}
			if v.ExpectedExtensions == nil {
				return
			}
			allowed := map[string]bool{}
			for k, want := range v.ExpectedExtensions {
				allowed[k] = true
				if k == "rt" {
					at, ok := p.genTime(want.(string), testReceived)
					require.True(t, ok)
					require.Equal(t, at, ev.Timestamp, "rt")
					continue
				}
				got, _ := cefValue(&ev, k)
				require.Equal(t, cefExpectedText(want), got, "extension %q", k)
			}
			for k, want := range diff.extra {
				allowed[k] = true
				require.Equal(t, want, ev.Labels[k], "label %q tocsin keeps", k)
			}
			// Nothing beyond the expected extensions, the header's labels
			// and the text of custom-field labels.
			for k := range ev.Labels {
				if strings.HasPrefix(k, "cef.") || allowed[k] {
					continue
				}
				isLabelText := false
				for lk, lv := range ev.Labels {
					if strings.HasSuffix(lk, "Label") && lv == k {
						isLabelText = true
					}
				}
				require.True(t, isLabelText, "unexpected label %q=%q", k, ev.Labels[k])
			}
		})
	}
}

func TestCEFBeatsSamples(t *testing.T) {
	lines := genSharedLines(t, "firewall/cef/beats_decode_cef_samples.log")
	require.Len(t, lines, 14)
	evs := make([]schemas.Event, len(lines))
	for i, l := range lines {
		evs[i] = genMustParse(t, l)
		require.Equal(t, DatasetCEF, evs[i].Event.Dataset, "line %d", i+1)
	}

	// Keys of any shape: dots, commas and brackets.
	ev := evs[0]
	require.Equal(t, "security", ev.Observer.Vendor)
	require.Equal(t, "100", ev.Event.Code)
	require.Equal(t, 10, ev.Event.Severity)
	require.Equal(t, "10.0.0.192", ev.Source.IP)
	require.Equal(t, "12.121.122.82", ev.Destination.IP)
	require.Equal(t, "new_value", ev.Labels["additional.dotfieldName"])
	require.Equal(t, "3221225578", ev.Labels["ad.Error_,Code"])
	require.Equal(t, "field0", ev.Labels["ad.field[0]"])
	require.Equal(t, "new_name", ev.Labels["ad.foo.name[1]"])

	// A manager's sign-in event.
	ev = evs[1]
	require.Equal(t, "Deep Security Manager", ev.Observer.Product)
	require.Equal(t, "User Signed In", ev.Rule.Name)
	require.Equal(t, "admin", ev.User.Name)
	require.Equal(t, "10.52.116.160", ev.Source.IP)
	require.Equal(t, "User signed in from 2001:db8::5", ev.Message)

	// The anti-malware detection: Eicar, with the Ransom family among the
	// related detection names.
	ev = evs[2]
	require.Equal(t, schemas.CategoryMalware, ev.Event.Category)
	require.Equal(t, genActionMalwareDetected, ev.Event.Action)
	require.Equal(t, "Eicar_test_file", ev.Threat.Name)
	require.Equal(t, `C:\Users\trend\Desktop\eicar.exe`, ev.File.Path)
	require.Equal(t, "44d88612fea8a8f36de82e1278abb02f", ev.File.Hash.MD5)
	require.Equal(t, "3395856ce81f2b7382dee72602f798b642f14140", ev.File.Hash.SHA1)
	require.Equal(t, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", ev.File.Hash.SHA256)
	require.Equal(t, "Delete", ev.Event.Reason)
	require.Equal(t, "hostname", ev.Host.Name)
	require.Equal(t, 6, ev.Event.Severity)
	require.Equal(t, "Ransom_CERBER.BZC;Ransom_CERBER.C;Ransom_CRYPNISCA.SM", ev.Labels["TrendMicroDsRelevantDetectionNames"])
	require.Equal(t, "ContainerImageName | ContainerName | ContainerID", ev.Labels["Container"])
	require.Equal(t, "1", ev.Labels["Host ID"])
	require.Equal(t, "Realtime", ev.Message)

	// Application control: custom fields labelled sha1 and md5.
	ev = evs[3]
	require.Empty(t, ev.Event.Category)
	require.Equal(t, "/home/user1/Desktop/Directory1//heartbeatSync.sh", ev.File.Path)
	require.Equal(t, "80d4ac182f97d2ab48ee4310ac51da5974167c596d133d64a83107b9069745e0", ev.File.Hash.SHA256)
	require.Equal(t, "0cc9713ba896193a527213d9c94892d41797eb7c", ev.File.Hash.SHA1)
	require.Equal(t, "7ea8ef10beb2e9876d4d7f7e5a46cf8d", ev.File.Hash.MD5)
	require.Equal(t, "root", ev.User.Name)
	require.Equal(t, "0", ev.User.ID)
	require.Equal(t, "notWhitelisted", ev.Labels["actionReason"])
	require.Equal(t, "detectOnly", ev.Labels["act"])

	// Firewall log of a packet: act=Log is neither allow nor deny.
	ev = evs[4]
	require.Equal(t, "192.168.126.150", ev.Source.IP)
	require.Equal(t, 49617, ev.Source.Port)
	require.Equal(t, "72.14.204.147", ev.Destination.IP)
	require.Equal(t, 80, ev.Destination.Port)
	require.Equal(t, "tcp", ev.Network.Transport)
	require.Equal(t, 1019, ev.Destination.Bytes)
	require.Equal(t, "00:0C:29:EB:35:DE", ev.Source.MAC)
	require.Equal(t, "00:50:56:F5:7F:47", ev.Destination.MAC)
	require.Equal(t, "0x00 ACK PSH", ev.Labels["TCP Flags"])
	require.Empty(t, ev.Event.Action)

	// Integrity monitoring.
	ev = evs[5]
	require.Equal(t, `c:\windows\message.dll`, ev.File.Path)
	require.Equal(t, "admin", ev.User.Name)

	// Intrusion prevention that reset the connection.
	ev = evs[6]
	require.Equal(t, "Test Intrusion Prevention Rule", ev.Rule.Name)
	require.Equal(t, "1001111", ev.Rule.ID)
	require.Equal(t, schemas.CategoryNetwork, ev.Event.Category)
	require.Equal(t, schemas.TypeDenied, ev.Event.Type)
	require.Equal(t, genActionConnectionDenied, ev.Event.Action)
	require.Equal(t, "IDS:Reset", ev.Labels["act"])

	// Log inspection of a Windows logon failure.
	ev = evs[7]
	require.Equal(t, "127.0.0.1", ev.Source.IP)
	require.Equal(t, "(no user)", ev.User.Target.Name)
	require.Equal(t, "win-rm6hm42g65v", ev.Source.Domain)
	require.Equal(t, "Multiple Windows Logon Failures", ev.Labels["LI Description"])
	require.True(t, strings.HasPrefix(ev.Message, "WinEvtLog Security: AUDIT_FAILURE(4625)"))

	// Web reputation.
	ev = evs[8]
	require.Equal(t, "example.com", ev.Labels["request"])
	require.Equal(t, "Blocked By Admin", ev.Message)

	// NetScaler application firewall: a blocked request, an escaped '='
	// in a URL, a message that starts with a space.
	ev = evs[9]
	require.Equal(t, "Citrix", ev.Observer.Vendor)
	require.Equal(t, "APPFW_STARTURL", ev.Rule.Name)
	require.Equal(t, "10.217.253.78", ev.Source.IP)
	require.Equal(t, 53743, ev.Source.Port)
	require.Equal(t, "GET", ev.Labels["method"])
	require.Equal(t, genActionConnectionDenied, ev.Event.Action)
	require.Equal(t, "http://vpx247.example.net/FFC/login_post.html?abc=def", evs[10].Labels["request"])
	require.Equal(t, "not blocked", evs[10].Labels["act"])
	require.Empty(t, evs[10].Event.Action)
	require.Equal(t, " Transformed (xout) potential credit card numbers seen in server response", evs[11].Message)
	require.Equal(t, " Signature violation rule ID 807: web-cgi /wwwboard/passwd.txt access", evs[13].Message)
}

func TestCEFElasticIntegrationSamples(t *testing.T) {
	lines := genSharedLines(t, "firewall/cef/elastic_test-cef.log")
	require.Len(t, lines, 4)
	ev := genMustParse(t, lines[0])
	require.Equal(t, "Elastic", ev.Observer.Vendor)
	require.Equal(t, "Vaporware", ev.Observer.Product)
	require.Equal(t, "1.0.0-alpha", ev.Observer.Version)
	require.Equal(t, "Web request", ev.Rule.Name)
	require.Equal(t, 3, ev.Event.Severity, "low")
	require.Equal(t, "low", ev.Labels["cef.severity"])
	require.Equal(t, "tcp", ev.Network.Transport)
	require.Equal(t, "89.160.20.156", ev.Source.IP)
	require.Equal(t, 33876, ev.Source.Port)
	require.Equal(t, "192.168.10.1", ev.Destination.IP)
	require.Equal(t, 443, ev.Destination.Port)
	require.Equal(t, "https://www.example.com/cart", ev.Labels["request"])
	require.Equal(t, "POST", ev.Labels["requestMethod"])
	require.Equal(t, "3457", ev.Labels["eventId"])

	ev = genMustParse(t, lines[1])
	require.Equal(t, "bob", ev.User.Name)
	require.Equal(t, "alice", ev.User.Target.Name)
	require.Equal(t, "10.10.10.10", ev.Destination.NATIP)
	require.Equal(t, "bc8bbe52f041fd17318f08a0f73762ce", ev.File.Hash.MD5)
	require.Equal(t, "a9796280592f86b74b27e370662d41eb", ev.Labels["oldFileHash"])

	ev = genMustParse(t, lines[2])
	require.Equal(t, "user", ev.Labels["spriv"])
	require.Equal(t, "root", ev.Labels["dpriv"])

	// The full name "message", and trailing padding dropped.
	ev = genMustParse(t, lines[3])
	require.Equal(t, "This event is padded with whitespace", ev.Message)
	require.Equal(t, "192.168.1.2", ev.Destination.IP)
	require.Equal(t, "192.168.3.4", ev.Source.IP)
}

// TestCEFCrowdSecHub checks the CrowdSec hub's expectations, mapped to
// tocsin's fields. Where tocsin differs the table below says how and why.
func TestCEFCrowdSecHub(t *testing.T) {
	raw, err := os.ReadFile("testdata/cef/cef-logs.log")
	require.NoError(t, err)
	lines := splitLines(strings.TrimRight(string(raw), "\n"))
	require.Len(t, lines, 4)
	assertions, err := os.ReadFile("testdata/cef/parser.assert")
	require.NoError(t, err)
	evs := make([]schemas.Event, len(lines))
	for i, l := range lines {
		evs[i] = genMustParse(t, l)
	}
	parsed := regexp.MustCompile(`^results\["s00-raw"\]\["crowdsecurity/cef-logs"\]\[(\d)\]\.Evt\.Parsed\["(\w+)"\] == "(.*)"$`)
	success := regexp.MustCompile(`^results\["s00-raw"\]\["crowdsecurity/cef-logs"\]\[(\d)\]\.Success == true$`)
	checked := 0
	for _, a := range strings.Split(string(assertions), "\n") {
		if m := success.FindStringSubmatch(a); m != nil {
			i, _ := strconv.Atoi(m[1])
			require.Equal(t, DatasetCEF, evs[i].Event.Dataset)
			checked++
			continue
		}
		m := parsed.FindStringSubmatch(a)
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		ev, key, want := evs[i], m[2], m[3]
		switch key {
		case "cef_device_vendor":
			require.Equal(t, want, ev.Observer.Vendor)
		case "program":
			// CrowdSec names the vendor as the program; tocsin keeps it in
			// observer.vendor and process.name stays the syslog tag.
			require.Equal(t, want, ev.Observer.Vendor)
		case "cef_device_product":
			require.Equal(t, want, ev.Observer.Product)
		case "cef_device_version":
			require.Equal(t, want, ev.Observer.Version)
		case "cef_event_name":
			require.Equal(t, want, ev.Rule.Name)
		case "cef_severity":
			require.Equal(t, want, strconv.Itoa(ev.Event.Severity))
		case "cef_signature_id":
			require.Equal(t, want, ev.Event.Code)
		case "cef_version":
			require.Equal(t, want, ev.Labels["cef.version"])
		case "logsource":
			require.Equal(t, "cef", want)
			require.Equal(t, DatasetCEF, ev.Event.Dataset)
		case "hostname":
			require.Equal(t, want, ev.Host.Name)
		case "timestamp":
			// The syslog stamp, its year inferred from the receive time.
			var st stamp
			_, res := bsdStamp(want, &st)
			require.Equal(t, stampOK, res)
			require.Equal(t, utc(2026, time.Month(st.month), st.day, st.hour, st.minute, st.sec, 0), ev.Timestamp)
		case "message":
			// CrowdSec keeps the raw extension as the message; tocsin's
			// message is the msg extension (the raw line is in
			// event.original), and each pair is a field or a label.
			require.True(t, strings.HasSuffix(want, "msg="+ev.Message), "message %q", ev.Message)
			require.Contains(t, ev.Event.Original, want)
		default:
			t.Fatalf("assertion on %q not mapped", key)
		}
		checked++
	}
	require.Equal(t, 4+4*10+2, checked)
	// What a person reads off the threat lines beyond the assertions.
	require.Equal(t, "192.168.100.252", evs[3].Source.IP)
	require.Equal(t, 65020, evs[3].Source.Port)
	require.Equal(t, "192.168.1.100", evs[3].Destination.IP)
	require.Equal(t, 80, evs[3].Destination.Port)
	require.Equal(t, "ET USER_AGENTS Suspicious User Agent (BlackSun)", evs[3].Labels["UNIFIipsSignature"])
	require.Equal(t, "CEF", evs[3].Process.Name)
	require.Equal(t, "10.72.1.222", evs[0].Source.IP)
}

func TestCEFEscapes(t *testing.T) {
	cases := []struct {
		name, line string
		check      func(t *testing.T, ev schemas.Event)
	}{
		{"pipe and backslash in the header", `CEF:0|a\|b|c\\d|1|2|n|5|x=1`, func(t *testing.T, ev schemas.Event) {
			require.Equal(t, "a|b", ev.Observer.Vendor)
			require.Equal(t, `c\d`, ev.Observer.Product)
		}},
		{"other backslashes in the header stay", `CEF:0|C:\dir|p|1|2|n|5|x=1`, func(t *testing.T, ev schemas.Event) {
			require.Equal(t, `C:\dir`, ev.Observer.Vendor)
		}},
		{"every extension escape", `CEF:0|v|p|1|2|n|5|msg=a\=b\\c\nd\re x=1`, func(t *testing.T, ev schemas.Event) {
			require.Equal(t, "a=b\\c\nd\re", ev.Message)
			require.Equal(t, "1", ev.Labels["x"])
		}},
		{"a value runs to the space before the next key", `CEF:0|v|p|1|2|n|5|msg=one two three k2=v2`, func(t *testing.T, ev schemas.Event) {
			require.Equal(t, "one two three", ev.Message)
			require.Equal(t, "v2", ev.Labels["k2"])
		}},
		{"'=' after an escaped backslash ends nothing", `CEF:0|v|p|1|2|n|5|fname=a\\ b=c`, func(t *testing.T, ev schemas.Event) {
			require.Equal(t, `a\`, ev.File.Name)
			require.Equal(t, "c", ev.Labels["b"])
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, genMustParse(t, c.line)) })
	}
	for _, bad := range []struct{ line, detail string }{
		{`CEF:0|v|p|1|2|n|5|msg=a\tb`, `malformed value of "msg": a backslash before a character other than`},
		{`CEF:0|v|p|1|2|n|5|msg=a=b`, `malformed value of "msg": an unescaped '='`},
		{`CEF:0|v|p|1|2|n|5|just text`, "expected key=value at byte 18"},
		{`CEF:x|v|p|1|2|n|5|`, "expected a CEF version of 1-3 digits at byte 4"},
		{`CEF:0|v|p|1`, "the header has 3 of its 7 fields"},
	} {
		var ev schemas.Event
		err := New(Options{}).Parse(bad.line, testReceived, &ev)
		require.Equal(t, ReasonBadCEF, reasonOf(t, err), bad.line)
		require.Contains(t, err.Error(), bad.detail)
	}
}

func TestCEFUnescapeAllocatesOnlyForEscapes(t *testing.T) {
	require.Zero(t, testing.AllocsPerRun(100, func() {
		if cefUnescapeHeader("Trend Micro") != "Trend Micro" {
			t.Fatal("changed")
		}
	}))
	require.Equal(t, "a|b", cefUnescapeHeader(`a\|b`))
}

func TestCEFSeverityWords(t *testing.T) {
	for word, want := range map[string]int{"0": 0, "10": 10, "Low": 3, "medium": 6, "HIGH": 8, "Very-High": 10, "very high": 10} {
		got, ok := cefSeverity(word)
		require.True(t, ok, word)
		require.Equal(t, want, got, word)
	}
	for _, bad := range []string{"11", "Unknown", "", "-1"} {
		_, ok := cefSeverity(bad)
		require.False(t, ok, bad)
	}
}

// The dates CEF producers write in rt, end and start (the formats the
// CEF specification lists, and Trend Micro's "GMT+08:00").
func TestCEFTimes(t *testing.T) {
	cases := map[string]time.Time{
		"rt=1536331839000":                   utc(2018, 9, 7, 14, 50, 39, 0),
		"rt=Sep 07 2018 14:50:39":            utc(2018, 9, 7, 14, 50, 39, 0),
		"rt=Sep 07 2018 14:50:39.250 UTC":    utc(2018, 9, 7, 14, 50, 39, 250_000_000),
		"rt=Mar 09 2015 17:05:21 GMT+08:00":  utc(2015, 3, 9, 9, 5, 21, 0),
		"end=Oct 06 2017 08:39:46 GMT+00:00": utc(2017, 10, 6, 8, 39, 46, 0),
		"start=Nov 30 10:00:00":              utc(2026, 11, 30, 10, 0, 0, 0),
		"rt=2024-01-02T03:04:05Z":            utc(2024, 1, 2, 3, 4, 5, 0),
		"rt=Sep 07 2018 14:50:39 PST":        utc(2018, 9, 7, 14, 50, 39, 0), // an abbreviation: read in the source's zone
	}
	for ext, want := range cases {
		ev := genMustParse(t, "CEF:0|v|p|1|2|n|5|"+ext)
		require.Equal(t, want, ev.Timestamp, ext)
	}
	// rt wins over end and start, and over a syslog header's time.
	ev := genMustParse(t, "CEF:0|v|p|1|2|n|5|start=1000000000000 rt=1536331839000")
	require.Equal(t, utc(2018, 9, 7, 14, 50, 39, 0), ev.Timestamp)
	ev = genMustParse(t, "<13>Dec  1 10:00:00 relay CEF:0|v|p|1|2|n|5|rt=1536331839000")
	require.Equal(t, utc(2018, 9, 7, 14, 50, 39, 0), ev.Timestamp)
	require.Equal(t, "relay", ev.Host.Name)
	// A date that does not read is kept as a label and the receive time
	// stands.
	ev = genMustParse(t, "CEF:0|v|p|1|2|n|5|rt=yesterday")
	require.Equal(t, testReceived, ev.Timestamp)
	require.Equal(t, "yesterday", ev.Labels["rt"])
}

func TestCEFDetection(t *testing.T) {
	for _, line := range []string{
		"CEF:0|v|p|1|2|n|5|src=10.0.0.1",
		"CEF: 0|v|p|1|2|n|5|src=10.0.0.1",
		"0|v|p|1|2|n|5|src=10.0.0.1",
		"<134>Sep 19 08:26:10 host CEF:0|v|p|1|2|n|5|src=10.0.0.1",
		"Sep 19 08:26:10 host CEF: 0|v|p|1|2|n|5|src=10.0.0.1",
		"<134>1 2026-09-19T08:26:10Z host app - - - CEF:0|v|p|1|2|n|5|src=10.0.0.1",
	} {
		ev := genMustParse(t, line)
		require.Equal(t, DatasetCEF, ev.Event.Dataset, line)
		require.Equal(t, "10.0.0.1", ev.Source.IP, line)
	}
	for _, s := range []string{"0|a|b|c", "12345|a|b|c|d|e|f|", "x|a|b|c|d|e|f|", ""} {
		require.False(t, cefSniff(s), s)
	}
	// A listener told to expect CEF fails other text with CEF's reason.
	var ev schemas.Event
	err := New(Options{Format: "cef"}).Parse("hello world", testReceived, &ev)
	require.Equal(t, ReasonBadCEF, reasonOf(t, err))
}

func FuzzCEF(f *testing.F) {
	for _, s := range []string{
		"CEF:0|security|threatmanager|1.0|100|trojan successfully stopped|10|src=10.0.0.192 dst=12.121.122.82 spt=1232",
		`CEF:0|security\\compliance|threat\|->manager|1.0|100|m|10|spt=1232 msg=a\nb\\c\=d`,
		"CEF:0|vendor|product|version|event_id|name|Very-High| msg=Hello World error=Failed because id==old_id user=root angle=106.7<=180",
		"CEF:0|SentinelOne|Mgmt|activityID=1111111111111111111 activityType=3505",
		"CEF:0|a=\\\\ b|", "CEF:0|\\|a=|b=", "CEF:0|\\||a=b", "CEF:0|a=|b\\\\ c=d",
		"0|Ubiquiti|UniFi Network|9.3.45|201|Threat Detected and Blocked|7|proto=TCP src=192.168.0.1",
		"Sep  8 08:32:20 UDM-Gent CEF: 0|Ubiquiti|UniFi Network|9.4.19|201|T|9|proto=TCP",
		"CEF:0|Trend Micro|Deep Security Agent|10|4000000|Eicar_test_file|6|cs1Label=VirusName cs1=X filePath=C:\\\\a rt=Sep 07 2018 14:50:39 GMT+08:00",
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

func BenchmarkParseCEF(b *testing.B) {
	genBench(b,
		`CEF:0|Trend Micro|Deep Security Agent|10.0|4000000|Eicar_test_file|6|cn1=1 cn1Label=Host ID dvchost=web1 filePath=C:\\Users\\trend\\Desktop\\eicar.exe act=Delete msg=Realtime TrendMicroDsFileMD5=44D88612FEA8A8F36DE82E1278ABB02F`,
		`<134>Sep 19 08:26:10 fw1 CEF:0|Citrix|NetScaler|NS10.0|APPFW|APPFW_STARTURL|6|src=10.217.253.78 spt=53743 method=GET request=http://vpx247.example.net/FFC/login.html msg=Disallow Illegal URL. cn1=233 cn2=205 cs1=profile1 cs2=PPE0 act=blocked`,
	)
}
