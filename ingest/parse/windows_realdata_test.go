package parse

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Tests on public data in ../shared/data. Expected values are read from
// the records themselves with encoding/json, independently of the
// parser's gjson reading, or from the files' own assertions.

// winOTRFRecord is an OTRF Security-Datasets record (NXLog im_msvistalog
// JSON, through Logstash) as encoding/json reads it.
type winOTRFRecord map[string]any

func (r winOTRFRecord) str(k string) string {
	switch v := r[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// winDash is a value as tocsin maps it: "-" means none.
func winDash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// winOTRFIP is the source.ip a person expects from IpAddress: none for "-"
// and loopback, the IPv4 address of an IPv4-mapped one.
func winOTRFIP(s string) string {
	s = strings.TrimPrefix(s, "::ffff:")
	if s == "-" || s == "::1" || strings.HasPrefix(s, "127.") {
		return ""
	}
	return s
}

func winOTRFHex(t *testing.T, s string) int {
	t.Helper()
	if s == "" || s == "-" {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "0x"), 16, 64)
	require.NoError(t, err, s)
	return int(n)
}

// TestWindowsOTRF reads every record of the OTRF Windows datasets and
// checks the mapped fields against the record's own values. The hosts
// of those simulations ran on US Eastern time: NXLog's zone-less
// EventTime read in America/New_York lands shortly before the UTC
// @timestamp Logstash added on receipt, which the test also checks.
func TestWindowsOTRF(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	p := New(Options{Location: ny})
	files := []string{
		"otrf/account_creation/empire_wmic_add_user_backdoor.filtered.jsonl",
		"otrf/brute_force_spray/purplesharp_ad_playbook_I.filtered.jsonl",
		"otrf/credential_dumping/psh_lsass_memory_dump_comsvcs.jsonl",
		"otrf/lateral_movement/covenant_copy_smb_CreateRequest.jsonl",
	}
	checked := map[string]int{}
	for _, rel := range files {
		lines := readLines(t, sharedData(t, rel))
		for i, line := range lines {
			var r winOTRFRecord
			require.NoError(t, json.Unmarshal([]byte(line), &r))
			ev, err := winParseWith(p, line)
			at := rel + ":" + strconv.Itoa(i+1)
			require.NoError(t, err, at)
			require.Equal(t, r.str("EventID"), ev.Event.Code, at)
			require.Equal(t, r.str("Hostname"), ev.Host.Name, at)
			require.Equal(t, r.str("Channel"), ev.Winlog.Channel, at)
			require.Equal(t, r.str("SourceName"), ev.Winlog.Provider, at)
			if rn := r.str("RecordNumber"); rn != "" {
				require.Equal(t, rn, strconv.Itoa(ev.Winlog.RecordID), at)
			}
			if ts := r.str("@timestamp"); ts != "" && r.str("EventTime") != "" {
				got, err := time.Parse(time.RFC3339Nano, ts)
				require.NoError(t, err)
				// Shipping took up to about 20 s in these captures; a wrong
				// zone would be off by hours.
				d := got.Sub(ev.Timestamp)
				require.True(t, d >= 0 && d < 2*time.Minute, "%s: event time %s, received by Logstash at %s", at, ev.Timestamp, got)
			}
			switch r.str("SourceName") {
			case "Microsoft-Windows-Security-Auditing":
				require.Equal(t, DatasetWindowsSecurity, ev.Event.Dataset, at)
				switch id := r.str("EventID"); id {
				case "4624", "4625":
					require.Equal(t, winDash(r.str("TargetUserName")), ev.User.Name, at)
					require.Equal(t, winDash(r.str("TargetDomainName")), ev.User.Domain, at)
					require.Equal(t, r.str("LogonType"), strconv.Itoa(ev.Winlog.LogonType), at)
					require.Equal(t, winOTRFIP(r.str("IpAddress")), ev.Source.IP, at)
					require.Equal(t, winDash(r.str("ProcessName")), ev.Process.Executable, at)
					if id == "4624" {
						require.Equal(t, schemas.OutcomeSuccess, ev.Event.Outcome, at)
					} else {
						require.Equal(t, schemas.OutcomeFailure, ev.Event.Outcome, at)
						require.Equal(t, r.str("SubStatus"), ev.Winlog.SubStatus, at)
					}
					checked["logon"]++
				case "4688":
					require.Equal(t, "process_created", ev.Event.Action, at)
					require.Equal(t, r.str("NewProcessName"), ev.Process.Executable, at)
					require.Equal(t, winOTRFHex(t, r.str("NewProcessId")), ev.Process.PID, at)
					require.Equal(t, r.str("CommandLine"), ev.Process.CommandLine, at)
					require.Equal(t, r.str("ParentProcessName"), ev.Process.Parent.Executable, at)
					require.Equal(t, r.str("SubjectUserName"), ev.User.Name, at)
					checked["4688"]++
				case "4656", "4663":
					require.Equal(t, r.str("ObjectName"), ev.File.Path, at)
					want := "object_access"
					if strings.HasSuffix(strings.ToLower(r.str("ObjectName")), `\lsass.exe`) {
						want = "lsass_access"
					}
					require.Equal(t, want, ev.Event.Action, at)
					require.Equal(t, r.str("ProcessName"), ev.Process.Executable, at)
					checked[want]++
				}
				// Whatever the event, a keywords mask or EventType that
				// says failure makes the outcome a failure.
				if r.str("EventType") == "AUDIT_FAILURE" && ev.Event.Action != "" {
					require.Equal(t, schemas.OutcomeFailure, ev.Event.Outcome, at)
				}
			case "Microsoft-Windows-Sysmon":
				require.Equal(t, DatasetWindowsSysmon, ev.Event.Dataset, at)
				switch r.str("EventID") {
				case "1":
					require.Equal(t, r.str("Image"), ev.Process.Executable, at)
					require.Equal(t, r.str("ParentImage"), ev.Process.Parent.Executable, at)
					require.Equal(t, r.str("CommandLine"), ev.Process.CommandLine, at)
					checked["sysmon1"]++
				case "3":
					require.Equal(t, r.str("DestinationIp"), ev.Destination.IP, at)
					require.Equal(t, r.str("DestinationPort"), strconv.Itoa(ev.Destination.Port), at)
					require.Equal(t, r.str("Protocol"), ev.Network.Transport, at)
					checked["sysmon3"]++
				case "10":
					want := "process_access"
					if strings.HasSuffix(strings.ToLower(r.str("TargetImage")), `\lsass.exe`) {
						want = "lsass_access"
					}
					require.Equal(t, want, ev.Event.Action, at)
					require.Equal(t, r.str("SourceImage"), ev.Process.Executable, at)
					require.Equal(t, r.str("TargetImage"), ev.Labels["TargetImage"], at)
					checked["sysmon10-"+want]++
				}
			}
		}
	}
	t.Logf("checked: %v", checked)
	for _, k := range []string{"logon", "4688", "lsass_access", "object_access", "sysmon1", "sysmon3", "sysmon10-lsass_access", "sysmon10-process_access"} {
		require.NotZero(t, checked[k], k)
	}
}

// TestWindowsOTRFPasswordSpray: the PurpleSharp playbook sprays 7
// accounts with a wrong password from one workstation (metadata
// SDWIN-201022042947): 7 logon_failed events, 7 different users, one
// source, reason "wrong password".
func TestWindowsOTRFPasswordSpray(t *testing.T) {
	lines := readLines(t, sharedData(t, "otrf/brute_force_spray/purplesharp_ad_playbook_I.filtered.jsonl"))
	var failed []schemas.Event
	var wantIP, wantWS string
	for _, line := range lines {
		if !strings.Contains(line, `"EventID":4625`) {
			continue
		}
		var r winOTRFRecord
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		wantIP, wantWS = r.str("IpAddress"), r.str("WorkstationName")
		failed = append(failed, winMust(t, line))
	}
	require.Len(t, failed, 7)
	users := map[string]bool{}
	for _, ev := range failed {
		require.Equal(t, "logon_failed", ev.Event.Action)
		require.Equal(t, ReasonWrongPassword, ev.Event.Reason)
		require.Equal(t, winOTRFIP(wantIP), ev.Source.IP)
		require.Equal(t, wantWS, ev.Source.Domain)
		users[ev.User.Name] = true
	}
	require.Len(t, users, 7)
}

// TestWindowsOTRFAccountCreation: the Empire WMIC backdoor creates an
// account (4720), resets its password (4724, refused: AUDIT_FAILURE)
// and adds it to a group (4728).
func TestWindowsOTRFAccountCreation(t *testing.T) {
	lines := readLines(t, sharedData(t, "otrf/account_creation/empire_wmic_add_user_backdoor.filtered.jsonl"))
	seen := map[string]bool{}
	for _, line := range lines {
		var r winOTRFRecord
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		ev := winMust(t, line)
		switch r.str("EventID") {
		case "4720", "4724", "4726":
			require.Equal(t, r.str("SubjectUserName"), ev.User.Name)
			require.Equal(t, r.str("SubjectDomainName"), ev.User.Domain)
			require.Equal(t, r.str("TargetUserName"), ev.User.Target.Name)
			require.Equal(t, r.str("TargetSid"), ev.User.Target.ID)
			require.Equal(t, schemas.CategoryIAM, ev.Event.Category)
			seen[ev.Event.Action+"/"+ev.Event.Outcome] = true
		case "4728":
			require.Equal(t, r.str("TargetUserName"), ev.Group.Name)
			require.Equal(t, r.str("TargetSid"), ev.Group.ID)
			require.Equal(t, r.str("MemberSid"), ev.User.Target.ID)
			seen[ev.Event.Action+"/"+ev.Event.Outcome] = true
		}
	}
	require.Equal(t, map[string]bool{
		"user_created/success": true, "password_reset/failure": true, "user_deleted/success": true,
		"group_member_added/success": true,
	}, seen)
}

// TestWindowsCrowdSecBruteForce reads the CrowdSec hub's windows-bf log
// (event XML without RenderingInfo, one per line) and checks each event
// the scenario's assertions name: the meta values CrowdSec extracts are
// the fields tocsin sets. CrowdSec's log_type "windows_failed_auth" is
// tocsin's action logon_failed.
func TestWindowsCrowdSecBruteForce(t *testing.T) {
	dir := sharedData(t, "crowdsec_hub_tests/windows-bf")
	byTime := map[string]schemas.Event{}
	for _, line := range readLines(t, filepath.Join(dir, "windows-bf.log")) {
		ev := winMust(t, line)
		require.Equal(t, "logon_failed", ev.Event.Action)
		byTime[ev.Timestamp.Format(time.RFC3339Nano)] = ev
	}
	b, err := os.ReadFile(filepath.Join(dir, "scenario.assert"))
	require.NoError(t, err)
	meta := regexp.MustCompile(`Events\[(\d+)\]\.GetMeta\("(\w+)"\) == "([^"]*)"`)
	events := map[string]map[string]string{}
	for _, m := range meta.FindAllStringSubmatch(string(b), -1) {
		if events[m[1]] == nil {
			events[m[1]] = map[string]string{}
		}
		events[m[1]][m[2]] = m[3]
	}
	require.NotEmpty(t, events)
	for idx, kv := range events {
		ts, err := time.Parse(time.RFC3339Nano, kv["timestamp"])
		require.NoError(t, err)
		ev, ok := byTime[ts.UTC().Format(time.RFC3339Nano)]
		require.True(t, ok, "event %s at %s is not among the parsed lines", idx, kv["timestamp"])
		require.Equal(t, kv["source_ip"], ev.Source.IP)
		require.Equal(t, kv["username"], ev.User.Name)
		require.Equal(t, kv["logon_type"], strconv.Itoa(ev.Winlog.LogonType))
		require.Equal(t, kv["status"], ev.Winlog.Status)
		require.Equal(t, kv["sub_status"], ev.Winlog.SubStatus)
		require.Equal(t, "windows_failed_auth", kv["log_type"])
		require.Equal(t, ReasonUserUnknown, ev.Event.Reason, "SubStatus 0xc0000064")
	}
}

// winWazuhLogs returns the raw events of a Wazuh ruleset test file, by
// test name.
func winWazuhLogs(t *testing.T, rel string) map[string]string {
	b, err := os.ReadFile(sharedData(t, rel))
	require.NoError(t, err)
	out := map[string]string{}
	name := ""
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "["):
			name = strings.Trim(l, "[] \r")
		case strings.HasPrefix(l, "log "):
			if _, v, ok := strings.Cut(l, " pass = "); ok {
				out[name] = strings.TrimSpace(v)
			}
		}
	}
	return out
}

// TestWindowsWazuhRuleset reads the eventchannel JSON of Wazuh's
// Windows ruleset tests (keys in lower camel case).
func TestWindowsWazuhRuleset(t *testing.T) {
	logs := winWazuhLogs(t, "wazuh_ruleset_tests/win_security.ini")
	for name, rec := range winWazuhLogs(t, "wazuh_ruleset_tests/sysmon_eid_10.ini") {
		logs[name] = rec
	}
	require.Len(t, logs, 13)
	for name, rec := range logs {
		ev := winMust(t, rec)
		sys := gjson.Get(rec, "win.system")
		require.Equal(t, sys.Get("eventID").Str, ev.Event.Code, name)
		require.Equal(t, sys.Get("computer").Str, ev.Host.Name, name)
		require.Equal(t, sys.Get("eventRecordID").Str, strconv.Itoa(ev.Winlog.RecordID), name)
		if img := gjson.Get(rec, "win.eventdata.targetImage").Str; img != "" {
			want := "process_access"
			if strings.HasSuffix(strings.ToLower(img), "lsass.exe") {
				want = "lsass_access"
			}
			require.Equal(t, want, ev.Event.Action, name)
			require.Equal(t, gjson.Get(rec, "win.eventdata.sourceImage").Str, ev.Process.Executable, name)
		}
	}
	want := map[string]map[string]any{
		"User account enabled or created": {"event.action": "user_enabled", "user.name": "itadmin",
			"user.target.name": "toby", "user.target.domain": "APT29W1", "user.target.id": "S-1-5-21-184966080-802066075-2268707989-1002"},
		"User account changed":       {"event.action": "user_modified", "user.target.name": "toby", "labels.OldUacValue": "0x15"},
		"Domain Users Group Changed": {"event.action": "group_member_added", "group.name": "None"},
		"credential dump":            {"event.action": "lsass_access", "labels.GrantedAccess": "0x1010"},
		"explorer injection":         {"event.action": "process_access"},
		"A scheduled task was created": {"event.action": "", "event.dataset": "windows_security",
			"labels.SubjectUserName": "Administrator"},
	}
	for name, w := range want {
		ev := winMust(t, logs[name])
		winCheck(t, &ev, w, name)
	}
}

// TestWindowsSigmaRegression reads the Sigma regression events
// (evtx_dump JSON, pretty-printed; compacted as a shipper sends one).
func TestWindowsSigmaRegression(t *testing.T) {
	read := func(rel string) string {
		b, err := os.ReadFile(sharedData(t, rel))
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, json.Compact(&buf, b))
		return buf.String()
	}
	ev := winMust(t, read("sigma/regression_data/rules/windows/builtin/security/win_security_explicit_credential_local_logon/e3c6d245-7b8f-4e2a-c17f-a9d0e5b38f62.json"))
	winCheck(t, &ev, map[string]any{
		"event.action": "explicit_logon", "event.outcome": "success", "user.name": "testuser", "user.domain": "swachchhanda",
		"destination.domain": "localhost", "source.ip": "", "host.name": "swachchhanda", "winlog.record_id": 34382,
		"process.executable": `C:\Users\xodih\OneDrive\Desktop\LegacyHive.exe`, "process.pid": 0x378,
		"labels.SubjectUserName": "xodih", "timestamp": "2026-07-17T14:18:34.072213Z",
	}, "4648")
	ev = winMust(t, read("sigma/regression_data/rules/windows/file/file_event/file_event_win_taskmgr_lsass_dump/69ca12af-119d-44ed-b50f-a47af0ebc364.json"))
	winCheck(t, &ev, map[string]any{
		"event.action": "file_created", "event.dataset": "windows_sysmon", "file.name": "lsass.DMP",
		"file.path": `C:\Users\ADMINI~1\AppData\Local\Temp\lsass.DMP`, "process.executable": `C:\Windows\system32\taskmgr.exe`,
		"process.pid": 2956, "user.name": "Administrator", "user.domain": "ATTACKRANGE",
	}, "sysmon 11")
}

// TestWindowsDefenderElastic reads Elastic's Defender 1116/1117 pair
// (PowerShell Get-WinEvent records, values by position), in place: it is
// under the Elastic License.
func TestWindowsDefenderElastic(t *testing.T) {
	b, err := os.ReadFile(sharedData(t, "antivirus/windows_defender/elastic_windows_defender_1116_1117.json"))
	require.NoError(t, err)
	var got []schemas.Event
	gjson.GetBytes(b, "events").ForEach(func(_, v gjson.Result) bool {
		got = append(got, winMust(t, v.Raw))
		return true
	})
	require.Len(t, got, 2)
	for _, ev := range got {
		winCheck(t, &ev, map[string]any{
			"event.dataset": "windows_defender", "event.category": "malware", "threat.name": "Virus:DOS/EICAR_Test_File",
			"threat.category": "Virus", "threat.severity": "Severe", "event.severity": 5,
			"file.path": `C:\Users\topsyk\OneDrive\Desktop\eicar.com`, "file.name": "eicar.com",
			"user.name": "topsyk", "user.domain": "el33t-b00k-1", "host.name": "el33t-b00k-1",
			"process.executable": `C:\Users\topsyk\AppData\Local\Microsoft\OneDrive\OneDrive.exe`,
			"observer.product":   "Microsoft Defender Antivirus", "observer.version": "4.18.24050.7",
			"labels.Threat ID": "2147519003", "labels.Source Name": "Real-Time Protection",
		}, ev.Event.Code)
	}
	winCheck(t, &got[0], map[string]any{"event.code": "1117", "event.action": "malware_action_taken",
		"event.outcome": "success", "event.reason": "quarantine", "winlog.record_id": 5647,
		"timestamp": "2024-06-21T01:21:15.2279837Z"}, "1117")
	winCheck(t, &got[1], map[string]any{"event.code": "1116", "event.action": "malware_detected",
		"event.outcome": "", "winlog.record_id": 5646}, "1116")
}

// TestWindowsDetection: auto mode reads every Windows sample with the
// windows source.
func TestWindowsDetection(t *testing.T) {
	p := New(Options{})
	var recs []string
	recs = append(recs, winSample(t, "wef_rendered.xml")...)
	recs = append(recs, winSample(t, "winlogbeat7.ndjson")...)
	recs = append(recs, winBulkDocs(t, "winlogbeat8_bulk.ndjson")...)
	recs = append(recs, winSample(t, "other_shapes.ndjson")...)
	recs = append(recs, winSample(t, "nxlog.ndjson")...)
	for _, rec := range recs {
		ev, err := winParseWith(p, rec)
		require.NoError(t, err, "%.120s", rec)
		require.True(t, strings.HasPrefix(ev.Event.Dataset, "windows"), "%.120s: dataset %q", rec, ev.Event.Dataset)
	}
}

// TestWindowsClaimsNoOtherLog: the windows source claims no line of the
// Linux and OpenSSH logs and no other JSON (AWS CloudTrail).
func TestWindowsClaimsNoOtherLog(t *testing.T) {
	p := New(Options{})
	claimed := 0
	for _, rel := range []string{"loghub/OpenSSH/OpenSSH_2k.log", "loghub/Linux/Linux_2k.log", "otrf/exfiltration/ec2_proxy_s3_exfiltration.jsonl"} {
		for _, line := range readLines(t, sharedData(t, rel)) {
			ev, _ := winParseWith(p, line)
			if strings.HasPrefix(ev.Event.Dataset, "windows") {
				claimed++
				t.Errorf("%s: claimed by windows: %.120s", rel, line)
			}
			require.Equal(t, winShapeNone, winJSONShape(line), line)
		}
	}
	require.Zero(t, claimed)
}

// TestWindowsDetectorDoesNotAllocate: the JSON detector runs for every
// JSON record no earlier source took.
func TestWindowsDetectorDoesNotAllocate(t *testing.T) {
	for _, rec := range []string{
		`{"eventVersion":"1.05","userIdentity":{"type":"IAMUser","userName":"pedro"},"eventName":"GetObject","data":{"x":[1,2,{"y":"z"}]}}`,
		winSample(t, "winlogbeat7.ndjson")[0],
		winSample(t, "nxlog.ndjson")[0],
	} {
		require.Zero(t, testing.AllocsPerRun(100, func() { winJSONShape(rec) }))
	}
}
