package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// parseDatasets runs `tocsin parse` on a file and counts its records by
// event.dataset ("-" for an event no reader claimed, "error:REASON" for a
// failure).
func parseDatasets(t *testing.T, path string, args ...string) map[string]int {
	t.Helper()
	cmd := exec.Command(tocsinBin, append(append([]string{"parse", "--reference-time", "2026-12-01T00:00:00Z"}, args...), path)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "tocsin parse %s: %s", path, stderr.String())
	counts := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r struct {
			Event *struct {
				Event struct {
					Dataset string `json:"dataset"`
				} `json:"event"`
			} `json:"event"`
			Error *struct {
				Reason string `json:"reason"`
			} `json:"error"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		switch {
		case r.Error != nil:
			counts["error:"+r.Error.Reason]++
		case r.Event.Event.Dataset == "":
			counts["-"]++
		default:
			counts[r.Event.Event.Dataset]++
		}
	}
	require.NoError(t, sc.Err())
	return counts
}

// TestParseDetectsEveryFormat runs the binary's format detection over the
// public samples in ../shared/data: every record of a single-format file
// goes to its format's reader, with nothing guessed wrong and nothing
// failing. The counts are the files' record counts; the exceptions are
// explained per file.
func TestParseDetectsEveryFormat(t *testing.T) {
	for _, c := range []struct {
		file string
		want map[string]int
	}{
		{"firewall/cef/beats_decode_cef_samples.log", map[string]int{"cef": 14}},
		{"firewall/cef/elastic_test-cef.log", map[string]int{"cef": 4}},
		{"crowdsec_hub_tests/cef-logs/cef-logs.log", map[string]int{"cef": 4}},
		{"firewall/cisco_asa/elastic_test-asa.head.log", map[string]int{"cisco_asa": 89}},
		{"firewall/fortigate/elastic_test-fortinet.head.log", map[string]int{"fortigate": 29}},
		{"firewall/iptables/elastic_test-iptables-raw.log", map[string]int{"netfilter": 24}},
		{"firewall/paloalto/elastic_test-panw-panos-traffic.selected.log", map[string]int{"panos": 13}},
		{"crowdsec_hub_tests/pf-logs/pf-logs.log", map[string]int{"filterlog": 9}},
		// The fourth line is CrowdSec's negative case: "XX=" where the
		// kernel writes "IN=", so no firewall reader may claim it.
		{"crowdsec_hub_tests/iptables-logs/iptables-logs.log", map[string]int{"netfilter": 3, "-": 1}},
		{"crowdsec_hub_tests/windows-bf/windows-bf.log", map[string]int{"windows_security": 6}},
		{"otrf/brute_force_spray/purplesharp_ad_playbook_I.filtered.jsonl", map[string]int{"windows_security": 200, "windows_sysmon": 154}},
		{"otrf/account_creation/empire_wmic_add_user_backdoor.filtered.jsonl", map[string]int{"windows_security": 133, "windows_sysmon": 136}},
		{"otrf/credential_dumping/psh_lsass_memory_dump_comsvcs.jsonl", map[string]int{"windows_security": 36, "windows_sysmon": 148}},
		// CloudTrail has no reader of its own: generic JSON.
		{"otrf/exfiltration/ec2_proxy_s3_exfiltration.jsonl", map[string]int{"json": 103}},
		// {"events": [...]} is split into its two Defender events.
		{"antivirus/windows_defender/elastic_windows_defender_1116_1117.json", map[string]int{"windows_defender": 2}},
		// sshd lines no reader gives a meaning (e.g. "Bad protocol
		// version") keep their header only.
		{"loghub/OpenSSH/OpenSSH_2k.log", map[string]int{"sshd": 1992, "-": 8}},
	} {
		t.Run(c.file, func(t *testing.T) {
			require.Equal(t, c.want, parseDatasets(t, sharedData(t, c.file)))
		})
	}
}

// TestParseFormatFlag: --format makes every other format a failure with
// the reader's reason, and --disable hands a format's lines to the next
// reader.
func TestParseFormatFlag(t *testing.T) {
	asa := sharedData(t, "firewall/cisco_asa/elastic_test-asa.head.log")
	require.Equal(t, map[string]int{"cisco_asa": 89}, parseDatasets(t, asa, "--format", "cisco_asa"))
	require.Equal(t, map[string]int{"error:bad_cef": 89}, parseDatasets(t, asa, "--format", "cef"))
	forti := sharedData(t, "firewall/fortigate/elastic_test-fortinet.head.log")
	require.Equal(t, map[string]int{"kv": 29}, parseDatasets(t, forti, "--disable", "fortigate"))
}
