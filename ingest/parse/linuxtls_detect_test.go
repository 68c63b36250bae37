package parse

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// linuxtlsDatasets are the datasets the linux_accounts, auditd,
// config_change and tls_scan readers set.
var linuxtlsDatasets = map[string]bool{
	DatasetLinuxAccounts: true, DatasetAuditd: true, DatasetCiscoIOS: true, DatasetCiscoNXOS: true,
	DatasetJuniperJunos: true, DatasetMikroTik: true, DatasetArubaSwitch: true,
	DatasetTestssl: true, DatasetSSLyze: true, "tls_scan": true,
}

// The four readers' detectors claim no line of the other formats in the
// shared data set: real OpenSSH and Linux system logs, and the firewall
// and antivirus samples.
func TestLinuxTLSDetectorsClaimNothingElse(t *testing.T) {
	p := New(Options{})
	files := []string{
		"loghub/OpenSSH/OpenSSH_2k.log",
		"loghub/Linux/Linux_2k.log",
		"crowdsec_hub_tests/sshd-logs/sshd-logs.log",
		"crowdsec_hub_tests/pam-logs/pam-logs.log",
		"firewall/iptables/elastic_test-iptables-raw.log",
		"firewall/cisco_asa/elastic_test-asa.head.log",
		"firewall/fortigate/elastic_test-fortinet.head.log",
		"firewall/paloalto/elastic_test-panw-panos-traffic.selected.log",
		"firewall/cef/beats_decode_cef_samples.log",
		"antivirus/clamav/clamav_lines_from_public_sources.tsv",
	}
	for _, rel := range files {
		lines := readLines(t, sharedData(t, rel))
		require.NotEmpty(t, lines, rel)
		for _, line := range lines {
			if line == "" {
				continue
			}
			var ev schemas.Event
			_ = p.Parse(line, testReceived, &ev)
			require.False(t, linuxtlsDatasets[ev.Event.Dataset], "%s: %q read as %s", rel, line, ev.Event.Dataset)
			require.False(t, auditSniff(line), "%s: %q", rel, line)
			require.False(t, cfgSniff(line), "%s: %q", rel, line)
		}
	}
}

// Auto detection picks each reader for its samples.
func TestLinuxTLSAutoDetection(t *testing.T) {
	p := New(Options{})
	check := func(line, want string) {
		t.Helper()
		var ev schemas.Event
		_ = p.Parse(line, testReceived, &ev)
		require.Equal(t, want, ev.Event.Dataset, "line %q", line)
	}
	for _, c := range accountCases {
		want := c.dataset
		if want == "" {
			want = DatasetLinuxAccounts
		}
		check(c.line, want)
	}
	for _, c := range auditCases {
		check(c.line, DatasetAuditd)
	}
	for _, c := range configCases {
		check(c.line, c.dataset)
	}
	require.Subset(t, Formats(), []string{"linux_accounts", "auditd", "config_change", "tls_scan"})
	require.Subset(t, Reasons(), []string{ReasonBadAccountMessage, ReasonBadAuditd, ReasonBadConfigChange, ReasonBadTLSScan, ReasonTLSScanMulti})
}

// Switching a reader off leaves its lines with their syslog header only.
func TestLinuxTLSDisabled(t *testing.T) {
	p := New(Options{Disabled: []string{"linux_accounts", "config_change"}})
	var ev schemas.Event
	require.NoError(t, p.Parse(accountCases[0].line, testReceived, &ev))
	require.Empty(t, ev.Event.Dataset)
	require.Equal(t, "useradd", ev.Process.Name)
	ev.Reset()
	require.NoError(t, p.Parse(configCases[0].line, testReceived, &ev))
	require.Empty(t, ev.Event.Action)
}
