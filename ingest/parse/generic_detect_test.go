package parse

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Auto mode gives each sample to its reader.
func TestGenericDetection(t *testing.T) {
	for line, dataset := range map[string]string{
		"CEF:0|v|p|1|2|n|5|src=10.0.0.1":                           DatasetCEF,
		"<134>Sep 19 08:26:10 host CEF:0|v|p|1|2|n|5|src=10.0.0.1": DatasetCEF,
		"LEEF:1.0|V|P|1|E|src=10.0.0.1":                            DatasetLEEF,
		"Sep 19 08:26:10 host LEEF:2.0|V|P|1|E|^|src=10.0.0.1":     DatasetLEEF,
		"a=1 b=2 c=3": DatasetKV,
		"Sep 19 08:26:10 host app: user=x src=10.0.0.1 action=allow": DatasetKV,
		`{"a":1}`:                               DatasetJSON,
		`<13>Sep 19 08:26:10 host app: {"a":1}`: DatasetJSON,
		"Tue Apr 23 11:21:06 2024 -> Loaded 8691764 signatures.":                DatasetClamAV,
		"Sep 19 08:26:10 host clamd[1]: Reading databases from /var/lib/clamav": DatasetClamAV,
		"Sep 19 08:26:10 host freshclam: Database updated (1 signatures)":       DatasetClamAV,
		"ScanOnAccess: /x: Eicar-Test-Signature FOUND":                          DatasetClamAV,
		"/x/y.exe: Win.Test.EICAR_HDB-1 FOUND":                                  DatasetClamAV,
	} {
		ev, _ := genParseLine(t, line)
		require.Equal(t, dataset, ev.Event.Dataset, line)
	}
	// Each is also a format a listener can be told to expect.
	for _, f := range []string{"cef", "leef", "kv", "json", "clamav"} {
		require.Contains(t, Formats(), f)
		require.NoError(t, Options{Format: f}.Validate())
	}
	for _, r := range []string{ReasonBadCEF, ReasonBadLEEF, ReasonBadKV, ReasonBadJSON} {
		require.Contains(t, Reasons(), r)
	}
}

// None of these readers claims the lines of the OpenSSH and Linux
// samples: sshd, PAM, su, cron, kernel and the rest keep their meaning
// or their header alone.
func TestGenericSniffersLeaveOtherFormats(t *testing.T) {
	p := New(Options{})
	for _, rel := range []string{"loghub/OpenSSH/OpenSSH_2k.log", "loghub/Linux/Linux_2k.log",
		"crowdsec_hub_tests/sshd-logs/sshd-logs.log", "crowdsec_hub_tests/pam-logs/pam-logs.log",
		"crowdsec_hub_tests/syslog-logs/syslog-logs.log"} {
		lines := genSharedLines(t, rel)
		require.NotEmpty(t, lines)
		for _, l := range lines {
			var ev schemas.Event
			err := p.Parse(l, testReceived, &ev)
			require.False(t, genDatasets[ev.Event.Dataset], "%s: %q read as %s", rel, l, ev.Event.Dataset)
			switch reasonOf(t, err) {
			case ReasonBadCEF, ReasonBadLEEF, ReasonBadKV, ReasonBadJSON:
				t.Fatalf("%s: %q failed as %v", rel, l, err)
			}
		}
	}
}

// The sniffers run for every message no earlier test claimed: they must
// not allocate.
func TestGenericSniffersDoNotAllocate(t *testing.T) {
	msgs := []string{
		"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4",
		"0|Ubiquiti|UniFi Network|9.3.45|201|Threat|7|proto=TCP",
		"Tue Apr 23 11:21:06 2024 -> Loaded 8691764 signatures.",
		"/x/y.exe: Win.Test.EICAR_HDB-1 FOUND",
		`id="2001" severity="info" sys="SecureNet" sub="packetfilter"`,
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, m := range msgs {
			cefSniff(m)
			clamavSniff(m)
			kvSniff(m)
		}
	})
	require.Zero(t, allocs)
}
