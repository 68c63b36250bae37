package parse

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/tocsin-siem/tocsin/schemas"
)

// The reports in testdata/tls_scan were written for these tests in the
// shapes testssl.sh (--jsonfile and --jsonfile-pretty) and SSLyze
// (--json_out) document; hosts, addresses and fingerprints are made up
// (see testdata/tls_scan/README.md). The shared data set holds no scanner
// reports.

// readReport returns a report file compacted to one line, as the file and
// HTTP readers hand a single JSON document to the parser.
func readReport(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "tls_scan", name))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, json.Compact(&buf, raw))
	return buf.Bytes()
}

// tlsWant is what one endpoint's event must hold.
type tlsWant struct {
	dataset, product, version  string
	ip, domain                 string
	port                       int
	outcome, reason            string
	versions                   string
	subject, issuer, hash      string
	notBefore, notAfter, stamp time.Time
	vulnIDs, vulnSeverity      string
	labels                     map[string]string
}

func checkTLS(t *testing.T, ev *schemas.Event, w tlsWant) {
	t.Helper()
	e := ev.Event
	require.Equal(t, schemas.CategoryVulnerability, e.Category)
	require.Equal(t, schemas.TypeInfo, e.Type)
	require.Equal(t, "tls_scan_result", e.Action)
	require.Equal(t, w.dataset, e.Dataset)
	require.Equal(t, w.outcome, e.Outcome)
	require.Equal(t, w.reason, e.Reason)
	require.Equal(t, w.product, ev.Observer.Product)
	require.Equal(t, w.version, ev.Observer.Version)
	require.Equal(t, "scanner", ev.Observer.Type)
	require.Equal(t, w.ip, ev.Destination.IP)
	require.Equal(t, w.domain, ev.Destination.Domain)
	require.Equal(t, w.port, ev.Destination.Port)
	require.Equal(t, w.versions, ev.TLS.Versions)
	require.Equal(t, w.subject, ev.TLS.Server.Subject)
	require.Equal(t, w.issuer, ev.TLS.Server.Issuer)
	require.Equal(t, w.hash, ev.TLS.Server.Hash)
	require.True(t, w.notBefore.Equal(ev.TLS.Server.NotBefore), "not_before %s", ev.TLS.Server.NotBefore)
	require.True(t, w.notAfter.Equal(ev.TLS.Server.NotAfter), "not_after %s", ev.TLS.Server.NotAfter)
	require.True(t, w.stamp.Equal(ev.Timestamp), "timestamp %s, want %s", ev.Timestamp, w.stamp)
	require.Equal(t, w.vulnIDs, ev.Vulnerability.ID)
	require.Equal(t, w.vulnSeverity, ev.Vulnerability.Severity)
	for k, v := range w.labels {
		got, ok := ev.Labels[k]
		if v == "" {
			require.False(t, ok, "label %s should be absent", k)
			continue
		}
		require.Equal(t, v, got, "label %s in %v", k, ev.Labels)
	}
}

var (
	testsslShop = tlsWant{
		dataset: "testssl", product: "testssl.sh", version: "3.2.0",
		ip: "192.0.2.10", domain: "shop.example.com", port: 443,
		outcome: "failure", reason: "vulnerable", versions: "SSLv3,TLSv1.0,TLSv1.1,TLSv1.2",
		subject: "CN=shop.example.com", issuer: "Example Issuing CA 2 (Example Trust Services from US)",
		hash:      "951623a26f8b3388802aa74907be0916ccafb0be58696a01d4c8d7b9876ea44e",
		notBefore: time.Date(2025, 10, 22, 8, 0, 0, 0, time.UTC), notAfter: time.Date(2026, 1, 21, 8, 0, 0, 0, time.UTC),
		stamp: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		// heartbleed (CRITICAL), POODLE (HIGH) and SWEET32 ("VULNERABLE",
		// rated LOW) count; LUCKY13's "potentially vulnerable" at LOW and
		// DROWN_hint do not.
		vulnIDs: "CVE-2014-0160,CVE-2014-3566,CVE-2016-2183,CVE-2016-6329", vulnSeverity: "CRITICAL",
		labels: map[string]string{"days_to_expiry": "20", "chain_trusted": "true", "vulnerability_names": "heartbleed,poodle,sweet32",
			"worst_severity": "CRITICAL", "san": "shop.example.com www.shop.example.com"},
	}
	testsslMail = tlsWant{
		dataset: "testssl", product: "testssl.sh", version: "3.2.0",
		ip: "198.51.100.25", domain: "mail.example.net", port: 993,
		outcome: "failure", reason: "certificate expired", versions: "TLSv1.2,TLSv1.3",
		subject: "CN=mail.example.net", issuer: "mail.example.net",
		hash:      "e654bdfe666d924e27f5e357e3cb7c39421d0a4f27c79707f13afd8fc422aa64",
		notBefore: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), notAfter: time.Date(2025, 6, 30, 23, 59, 0, 0, time.UTC),
		stamp:  time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		labels: map[string]string{"days_to_expiry": "-185", "chain_trusted": "false", "vulnerability_names": ""},
	}
	testsslVPN = tlsWant{
		dataset: "testssl", product: "testssl.sh",
		ip: "203.0.113.7", domain: "vpn.example.org", port: 443,
		outcome: "failure", reason: "vulnerable", versions: "TLSv1.0,TLSv1.2,TLSv1.3",
		subject: "CN=vpn.example.org", issuer: "Example Issuing CA 2 (Example Trust Services from US)",
		hash:      "884d12a2a84c19ae63c39b4f7f13e9d34ab05a2476ac19ec88960fe9bda9b4b6",
		notBefore: time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), notAfter: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		// A flat report carries no scan time: the time it arrived.
		stamp:   testReceived,
		vulnIDs: "CVE-2017-17382,CVE-2017-17427,CVE-2017-17428,CVE-2013-3587,CVE-2011-3389", vulnSeverity: "HIGH",
		labels: map[string]string{"days_to_expiry": "-34", "vulnerability_names": "robot,breach,beast", "chain_trusted": "true"},
	}
	testsslIntranet = tlsWant{
		dataset: "testssl", product: "testssl.sh",
		ip: "203.0.113.8", domain: "intranet.example.org", port: 8443,
		outcome: "success", versions: "TLSv1.2,TLSv1.3", subject: "CN=intranet.example.org",
		notAfter: time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC), stamp: testReceived,
		labels: map[string]string{"days_to_expiry": "87"},
	}
	sslyzePortal = tlsWant{
		dataset: "sslyze", product: "sslyze", version: "6.1.0",
		ip: "192.0.2.44", domain: "portal.example.com", port: 443,
		outcome: "failure", reason: "vulnerable", versions: "TLSv1.0,TLSv1.2",
		subject: "CN=portal.example.com,O=Example Corp,C=US", issuer: "CN=Example Issuing CA 2,O=Example Trust Services,C=US",
		hash:      "e89bbdbac811e9a8565478640fba9b810bf43c7a6eea042fb5fd0f10ffe15e9a",
		notBefore: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), notAfter: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC),
		stamp:   time.Date(2025, 11, 20, 9, 30, 0, 0, time.UTC),
		vulnIDs: "CVE-2014-0224,robot", vulnSeverity: "HIGH",
		labels: map[string]string{"days_to_expiry": "10", "chain_trusted": "true", "vulnerability_names": "ccs_injection,robot",
			"san": "portal.example.com sso.example.com"},
	}
	sslyzeOld = tlsWant{
		dataset: "sslyze", product: "sslyze", version: "6.1.0",
		ip: "192.0.2.45", domain: "old.example.com", port: 8443,
		outcome: "unknown", reason: "scan failed", stamp: time.Date(2025, 11, 20, 9, 30, 0, 0, time.UTC),
		labels: map[string]string{"scan_error": "ERROR_NO_CONNECTIVITY"},
	}
)

func TestTLSScanSplitAndParse(t *testing.T) {
	p := New(Options{})
	for _, c := range []struct {
		file string
		want []tlsWant
	}{
		{"testssl_pretty.json", []tlsWant{testsslShop, testsslMail}},
		{"testssl_flat.json", []tlsWant{testsslVPN, testsslIntranet}},
		{"sslyze.json", []tlsWant{sslyzePortal, sslyzeOld}},
	} {
		t.Run(c.file, func(t *testing.T) {
			recs := SplitTLSReport(readReport(t, c.file))
			require.Len(t, recs, len(c.want))
			for i, rec := range recs {
				require.True(t, strings.HasPrefix(string(rec), `{"tls_scan_endpoint":{`), "canonical record %s", rec)
				var ev schemas.Event
				require.NoError(t, p.Parse(string(rec), testReceived, &ev))
				checkTLS(t, &ev, c.want[i])
			}
		})
	}
}

// A report of one endpoint is read as it is; SplitTLSReport leaves it.
func TestTLSScanSingleEndpoint(t *testing.T) {
	p := New(Options{})
	for _, c := range []struct {
		file string
		want tlsWant
	}{
		{"testssl_pretty_single.json", testsslMail},
		{"sslyze_single.json", sslyzePortal},
	} {
		t.Run(c.file, func(t *testing.T) {
			rec := readReport(t, c.file)
			require.Nil(t, SplitTLSReport(rec))
			var ev schemas.Event
			require.NoError(t, p.Parse(string(rec), testReceived, &ev))
			checkTLS(t, &ev, c.want)
			require.Equal(t, string(rec), ev.Event.Original)
		})
	}
	// One element of a pretty report's scanResult, alone.
	elem := gjson.GetBytes(readReport(t, "testssl_pretty.json"), "scanResult.1").Raw
	var ev schemas.Event
	require.NoError(t, p.Parse(elem, testReceived, &ev))
	want := testsslMail
	want.version, want.stamp = "", testReceived
	want.labels = map[string]string{"days_to_expiry": "-522"}
	checkTLS(t, &ev, want)
}

// A multi-endpoint report given to Parse whole fails with a reason that
// says to split it; the event holds the first endpoint.
func TestTLSScanWholeReport(t *testing.T) {
	var ev schemas.Event
	err := New(Options{}).Parse(string(readReport(t, "testssl_pretty.json")), testReceived, &ev)
	require.Equal(t, ReasonTLSScanMulti, reasonOf(t, err))
	require.Contains(t, err.Error(), "2 endpoints")
	require.Equal(t, "shop.example.com", ev.Destination.Domain)
}

func TestTLSScanMalformed(t *testing.T) {
	p := New(Options{})
	for _, rec := range []string{
		`{"tls_scan_endpoint":{"scanner":"testssl","port":"x"`,
		`{"Invocation":"testssl.sh x","scanResult":[]}`,
		`[{"id":"TLS1","severity":"OK","finding":"offered",}]`,
	} {
		var ev schemas.Event
		err := p.Parse(rec, testReceived, &ev)
		require.Equal(t, ReasonBadTLSScan, reasonOf(t, err), "record %s", rec)
	}
	require.Nil(t, SplitTLSReport([]byte(`{"Invocation":"testssl.sh x","scanResult":[{"targetHost":"a"`)))
	require.Nil(t, SplitTLSReport([]byte(`{"EventID":4624}`)))
	require.Nil(t, SplitTLSReport(nil))
}

// tlsJSON claims the scanners' reports and nothing else JSON that tocsin
// reads (Winlogbeat and NXLog Windows events, CloudTrail).
func TestTLSScanDetection(t *testing.T) {
	for _, f := range []string{"testssl_pretty.json", "testssl_flat.json", "sslyze.json", "sslyze_single.json"} {
		require.True(t, tlsJSON(string(readReport(t, f))), f)
		raw, err := os.ReadFile(filepath.Join("testdata", "tls_scan", f))
		require.NoError(t, err)
		require.True(t, tlsJSON(string(raw)), "%s as written, not compacted", f)
	}
	for _, rel := range []string{
		"otrf/account_creation/empire_wmic_add_user_backdoor.filtered.jsonl",
		"otrf/exfiltration/ec2_proxy_s3_exfiltration.jsonl",
		"antivirus/windows_defender/elastic_windows_defender_1116_1117.json",
	} {
		for _, line := range readLines(t, sharedData(t, rel)) {
			if line == "" {
				continue
			}
			require.False(t, tlsJSON(line), "%s: %.80s", rel, line)
			require.Nil(t, SplitTLSReport([]byte(line)))
		}
	}
}

func TestTLSScanForced(t *testing.T) {
	p := New(Options{Format: "tls_scan"})
	var ev schemas.Event
	require.NoError(t, p.Parse(string(readReport(t, "sslyze_single.json")), testReceived, &ev))
	require.Equal(t, "portal.example.com", ev.Destination.Domain)
}

func BenchmarkParseTLSScan(b *testing.B) {
	rec := string(readReport(b, "sslyze_single.json"))
	p := New(Options{})
	var ev schemas.Event
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		ev.Reset()
		if err := p.Parse(rec, testReceived, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitTLSReport(b *testing.B) {
	rec := readReport(b, "testssl_pretty.json")
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if len(SplitTLSReport(rec)) != 2 {
			b.Fatal("want 2 endpoints")
		}
	}
}
