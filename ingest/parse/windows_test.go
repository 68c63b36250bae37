package parse

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// The samples in testdata/windows were written for these tests from
// Microsoft's documented event schema and the documented layouts of
// Winlogbeat, NXLog, Wazuh, evtx_dump and PowerShell (see the README
// there): ../shared/data has no rendered event XML, no Winlogbeat
// document and none with a German or French rendering. Every expected
// value below is read off the sample line it names.

// TestWindowsRenderedXML reads the Windows Event Forwarding samples, one
// <Event> per line as `wevtutil qe /f:RenderedXml` writes it; lines 1, 7
// and 11 are rendered in German (de-DE), lines 2 and 15 in French
// (fr-FR).
func TestWindowsRenderedXML(t *testing.T) {
	lines := winSample(t, "wef_rendered.xml")
	require.Len(t, lines, 19)
	cases := []struct {
		line int // 1-based
		want map[string]any
	}{
		{1, map[string]any{ // 4625 de-DE: wrong password from an IPv4-mapped address
			"event.code": "4625", "event.action": "logon_failed", "event.outcome": "failure", "event.reason": "wrong password",
			"event.category": "authentication", "event.type": "start", "event.dataset": "windows_security",
			"user.name": "jmueller", "user.domain": "BEISPIEL", "user.id": "",
			"source.ip": "203.0.113.50", "source.port": 51234, "source.domain": "KIOSK-07",
			"host.name": "DC01.beispiel.local", "observer.vendor": "Microsoft", "observer.product": "Windows",
			"winlog.event_id": 4625, "winlog.channel": "Security", "winlog.provider_name": "Microsoft-Windows-Security-Auditing",
			"winlog.computer_name": "DC01.beispiel.local", "winlog.record_id": 884211, "winlog.keywords": "Audit Failure",
			"winlog.logon_type": 3, "winlog.status": "0xc000006d", "winlog.sub_status": "0xc000006a",
			"timestamp":               "2026-03-02T09:14:07.5530214Z",
			"labels.LogonProcessName": "NtLmSsp", "labels.AuthenticationPackageName": "NTLM", "labels.FailureReason": "%%2313",
			"process.executable": "",
		}},
		{2, map[string]any{ // 4624 fr-FR: remote interactive logon
			"event.action": "logon", "event.outcome": "success", "user.name": "adupont", "user.domain": "EXEMPLE",
			"user.id": "S-1-5-21-1004336348-1177238915-682003330-1108", "source.ip": "198.51.100.23", "source.port": 50112,
			"winlog.logon_type": 10, "process.executable": `C:\Windows\System32\svchost.exe`, "process.name": "svchost.exe",
			"process.pid": 0x3e4, "host.name": "SRV-FICHIERS.exemple.fr", "winlog.keywords": "Audit Success",
			"labels.SubjectUserName": "SRV-FICHIERS$", "labels.TargetLogonId": "0x2b7d1f4",
		}},
		{3, map[string]any{ // 4624 on the machine itself: loopback stays a label
			"event.action": "logon", "user.name": "kpatel", "source.ip": "", "source.port": 0, "source.domain": "WS042",
			"labels.IpAddress": "127.0.0.1", "labels.IpPort": "0", "winlog.logon_type": 2,
		}},
		{4, map[string]any{ // 4720: da-ops created svc-backup2
			"event.action": "user_created", "event.category": "iam", "event.type": "creation", "event.outcome": "success",
			"user.name": "da-ops", "user.domain": "CORP", "user.id": "S-1-5-21-3623811015-3361044348-30300820-1105",
			"user.target.name": "svc-backup2", "user.target.domain": "CORP",
			"user.target.id": "S-1-5-21-3623811015-3361044348-30300820-1337", "labels.SamAccountName": "svc-backup2",
			"labels.UserAccountControl": "%%2080",
		}},
		{5, map[string]any{ // 4732: added to the local Administrators by SID
			"event.action": "group_member_added", "event.type": "change", "group.name": "Administrators",
			"group.domain": "Builtin", "group.id": "S-1-5-32-544", "user.name": "da-ops",
			"user.target.id": "S-1-5-21-3623811015-3361044348-30300820-1337", "user.target.name": "",
		}},
		{6, map[string]any{ // 4728: added to Domain Admins by distinguished name
			"event.action": "group_member_added", "group.name": "Domain Admins", "group.domain": "CORP",
			"user.target.name": `Backup\, Service 2`, "user.target.id": "S-1-5-21-3623811015-3361044348-30300820-1337",
		}},
		{7, map[string]any{ // 4740 de-DE: jmueller locked out, the attempts came from KIOSK-07
			"event.action": "user_locked_out", "event.outcome": "success", "user.name": "DC01$",
			"user.target.name": "jmueller", "user.target.id": "S-1-5-21-2811370513-2355498624-1611924373-1119",
			"user.target.domain": "", "source.domain": "KIOSK-07", "message": "Ein Benutzerkonto wurde gesperrt.",
		}},
		{8, map[string]any{ // 4688: cmd.exe started an encoded PowerShell
			"event.action": "process_created", "event.category": "process", "event.type": "start",
			"process.executable": `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "process.name": "powershell.exe",
			"process.pid": 0x1a2c, "process.command_line": "powershell.exe -nop -w hidden -enc SQBFAFgA",
			"process.parent.executable": `C:\Windows\System32\cmd.exe`, "process.parent.pid": 0x9f0,
			"user.name": "kpatel", "user.domain": "CORP",
		}},
		{9, map[string]any{ // 4663 on the SAM hive
			"event.action": "sam_access", "event.category": "file", "event.type": "access", "event.outcome": "success",
			"file.path": `\REGISTRY\MACHINE\SAM\SAM\Domains\Account\Users`, "user.name": "Administrator",
			"process.executable": `C:\Windows\System32\reg.exe`, "process.pid": 0x1f40, "labels.AccessMask": "0x20000",
		}},
		{10, map[string]any{ // 4656 on lsass.exe, refused
			"event.action": "lsass_access", "event.outcome": "failure", "file.name": "lsass.exe",
			"process.executable": `C:\Users\kpatel\AppData\Local\Temp\pd64.exe`, "labels.AccessMask": "0x1010",
		}},
		{11, map[string]any{ // 4771 de-DE: Kerberos pre-authentication failed, wrong password
			"event.action": "kerberos_preauth_failed", "event.outcome": "failure", "event.reason": "wrong password",
			"user.name": "jmueller", "source.ip": "10.20.30.40", "source.port": 49731, "winlog.status": "0x18",
			"labels.ServiceName": "krbtgt/BEISPIEL.LOCAL",
		}},
		{12, map[string]any{ // 4768 for an account that does not exist
			"event.action": "kerberos_tgt_request", "event.outcome": "failure", "event.reason": "user unknown",
			"user.name": "admin", "user.domain": "BEISPIEL", "user.id": "", "source.ip": "10.20.30.40",
		}},
		{13, map[string]any{ // 4726
			"event.action": "user_deleted", "event.type": "deletion", "user.target.name": "svc-backup2", "user.name": "da-ops",
		}},
		{14, map[string]any{ // 1102 from UserData
			"event.action": "log_cleared", "event.category": "host", "event.dataset": "windows_security",
			"user.name": "Administrator", "user.domain": "WS042", "change.item": "Security",
			"winlog.provider_name": "Microsoft-Windows-Eventlog",
		}},
		{15, map[string]any{ // Defender 1116 fr-FR
			"event.action": "malware_detected", "event.category": "malware", "event.dataset": "windows_defender",
			"event.outcome": "", "event.severity": 5, "threat.name": "Trojan:Win32/Wacatac.B!ml",
			"threat.category": "Cheval de Troie", "threat.severity": "Grave",
			"file.path": `C:\Users\adupont\Downloads\facture_0342.exe`, "file.name": "facture_0342.exe",
			"user.name": "adupont", "user.domain": "EXEMPLE", "process.executable": `C:\Program Files\Mozilla Firefox\firefox.exe`,
			"observer.product": "Antivirus Microsoft Defender", "observer.type": "antivirus", "observer.version": "4.18.25010.11",
			"host.name": "PC-COMPTA-03.exemple.fr", "labels.Threat ID": "2147735505",
		}},
		{16, map[string]any{ // Defender 1117: quarantine that failed (error code 0x80508023)
			"event.action": "malware_action_taken", "event.outcome": "failure", "event.reason": "quarantine",
			"file.path": `C:\Users\adupont\Downloads\lot.zip`, "process.executable": "",
			"labels.Path": `containerfile:_C:\Users\adupont\Downloads\lot.zip; file:_C:\Users\adupont\Downloads\lot.zip->facture.exe`,
		}},
		{17, map[string]any{ // Defender 5001
			"event.action": "protection_disabled", "event.category": "host", "event.reason": "real-time protection",
			"observer.product": "Microsoft Defender Antivirus",
		}},
		{18, map[string]any{ // Defender 5007: an exclusion path added
			"event.action": "config_changed", "event.category": "configuration",
			"change.item": `HKLM\SOFTWARE\Microsoft\Windows Defender\Exclusions\Paths\C:\ProgramData\tmp`,
		}},
		{19, map[string]any{ // a System event of a classic provider: no mapping, values unnamed
			"event.dataset": "windows", "event.action": "", "event.code": "7036", "winlog.channel": "System",
			"labels.param1": "Windows Update", "labels.param2": "running", "event.severity": 4,
		}},
	}
	for _, c := range cases {
		ev := winMust(t, lines[c.line-1])
		require.Equal(t, lines[c.line-1], ev.Event.Original)
		winCheck(t, &ev, c.want, "wef_rendered.xml line "+strconv.Itoa(c.line))
	}
}

// TestWindowsMeaningNotFromText proves that the rendered text, which is
// in the machine's language, decides nothing: the same events with the
// keywords mask flipped change their outcome, and a rendering that
// claims the opposite changes nothing.
func TestWindowsMeaningNotFromText(t *testing.T) {
	lines := winSample(t, "wef_rendered.xml")
	lsass := lines[9] // 4656, mask Audit Failure
	require.Contains(t, lsass, "<Keywords>0x8010000000000000</Keywords>")
	ev := winMust(t, lsass)
	require.Equal(t, schemas.OutcomeFailure, ev.Event.Outcome)

	granted := strings.Replace(lsass, "<Keywords>0x8010000000000000</Keywords>", "<Keywords>0x8020000000000000</Keywords>", 1)
	ev = winMust(t, granted)
	require.Equal(t, schemas.OutcomeSuccess, ev.Event.Outcome)
	require.Equal(t, "Audit Success", ev.Winlog.Keywords)

	// A German rendering saying "failed" on an event whose mask says
	// success: the mask wins.
	rendered := strings.Replace(granted, "</EventData>", "</EventData><RenderingInfo Culture='de-DE'><Message>Zugriff verweigert.</Message>"+
		"<Keywords><Keyword>Überwachung fehlgeschlagen</Keyword></Keywords></RenderingInfo>", 1)
	ev = winMust(t, rendered)
	require.Equal(t, schemas.OutcomeSuccess, ev.Event.Outcome)
	require.Equal(t, "Zugriff verweigert.", ev.Message)

	// 4625 is a failure whatever the keywords and the language say.
	de := lines[0]
	require.Contains(t, de, "Überwachung fehlgeschlagen")
	ev = winMust(t, strings.Replace(de, "fehlgeschlagen", "erfolgreich", -1))
	require.Equal(t, schemas.OutcomeFailure, ev.Event.Outcome)
	require.Equal(t, "logon_failed", ev.Event.Action)
}

// TestWindowsWinlogbeat reads Winlogbeat 7 documents (event_id and
// record_id as numbers, ECS fields the Beat derived) and Winlogbeat 8
// documents (event_id as a string) taken out of an Elasticsearch _bulk
// body, as the HTTP endpoint hands them on.
func TestWindowsWinlogbeat(t *testing.T) {
	v7 := winSample(t, "winlogbeat7.ndjson")
	v8 := winBulkDocs(t, "winlogbeat8_bulk.ndjson")
	require.Len(t, v7, 4)
	require.Len(t, v8, 4)
	cases := []struct {
		name string
		rec  string
		want map[string]any
	}{
		{"7: 4625 with German keyword names and no event.outcome", v7[0], map[string]any{
			"event.action": "logon_failed", "event.outcome": "failure", "event.reason": "user unknown",
			"user.name": "backup", "user.domain": "CORP", "source.ip": "192.0.2.77", "source.port": 40122,
			"source.domain": "", "winlog.logon_type": 3, "winlog.keywords": "Überwachung fehlgeschlagen",
			"winlog.record_id": 91002, "host.name": "DC01.corp.example", "timestamp": "2026-03-02T09:14:07.553Z",
			"message": "Ein Konto konnte nicht angemeldet werden.", "labels.LogonProcessName": "NtLmSsp ",
		}},
		{"7: 4624 network logon without an address", v7[1], map[string]any{
			"event.action": "logon", "event.outcome": "success", "user.name": "kpatel", "source.ip": "",
			"labels.IpAddress": nil, "winlog.logon_type": 3, "labels.TargetLogonId": "0x1a2b3c",
		}},
		{"7: 4769 for user@REALM", v7[2], map[string]any{
			"event.action": "kerberos_service_ticket", "event.outcome": "success", "event.reason": "",
			"user.name": "kpatel", "user.domain": "CORP.EXAMPLE", "source.ip": "10.1.2.3", "source.port": 53011,
			"labels.ServiceName": "FS01$", "winlog.status": "0x0",
		}},
		{"7: 4672", v7[3], map[string]any{
			"event.action": "special_privileges", "user.name": "da-ops", "user.domain": "CORP",
			"labels.PrivilegeList": "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeDebugPrivilege",
		}},
		{"8: 4625 on a locked-out account over IPv6", v8[0], map[string]any{
			"event.code": "4625", "winlog.event_id": 4625, "event.action": "logon_failed", "event.reason": "account locked out",
			"source.ip": "2001:db8::17", "source.port": 0, "source.domain": "LAPTOP-9", "user.name": "jdoe",
			"winlog.status": "0xc0000234", "winlog.sub_status": "0x0", "winlog.record_id": 774501,
			"host.name": "WS042.corp.example", "winlog.computer_name": "WS042.corp.example",
		}},
		{"8: 4720", v8[1], map[string]any{
			"event.action": "user_created", "user.name": "Administrator", "user.target.name": "helpdesk2",
			"user.target.domain": "WS042", "user.target.id": "S-1-5-21-1111111111-2222222222-3333333333-1004",
		}},
		{"8: 4688 comsvcs MiniDump", v8[2], map[string]any{
			"event.action": "process_created", "process.executable": `C:\Windows\System32\rundll32.exe`,
			"process.pid": 0x2f4c, "process.parent.pid": 0x1d88,
			"process.command_line":      `rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 636 C:\Temp\out.dmp full`,
			"process.parent.executable": `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
		}},
		{"8: Defender 1117 quarantine", v8[3], map[string]any{
			"event.dataset": "windows_defender", "event.action": "malware_action_taken", "event.outcome": "success",
			"event.reason": "quarantine", "threat.name": "Virus:DOS/EICAR_Test_File", "threat.category": "Virus",
			"file.path": `C:\Users\Administrator\Desktop\eicar.com.txt`, "user.name": "Administrator",
			"user.domain": "WS042", "process.executable": `C:\Windows\explorer.exe`, "winlog.keywords": "",
		}},
	}
	for _, c := range cases {
		ev := winMust(t, c.rec)
		winCheck(t, &ev, c.want, c.name)
	}
}

// TestWindowsOtherShapes reads the other JSON layouts: Wazuh's
// eventchannel record (alone and inside an alert), evtx_dump JSON,
// PowerShell 5 and 7 Get-WinEvent records and an NXLog record whose
// EventTime carries its offset.
func TestWindowsOtherShapes(t *testing.T) {
	lines := winSample(t, "other_shapes.ndjson")
	require.Len(t, lines, 6)
	cases := []struct {
		name string
		want map[string]any
	}{
		{"wazuh 4625", map[string]any{
			"event.action": "logon_failed", "event.reason": "account disabled", "user.name": "svc-sql",
			"user.domain": "CORP", "source.ip": "192.0.2.200", "source.domain": "SCANNER", "winlog.logon_type": 3,
			"winlog.status": "0xc000006e", "winlog.sub_status": "0xc0000072", "winlog.record_id": 55120,
			"message": "An account failed to log on.", "timestamp": "2026-03-02T15:00:00.1234567Z",
			"labels.AuthenticationPackageName": "NTLM",
		}},
		{"wazuh alert 4732", map[string]any{
			"event.action": "group_member_added", "group.name": "Remote Desktop Users", "group.id": "S-1-5-32-555",
			"user.name": "da-ops", "user.target.id": "S-1-5-21-3623811015-3361044348-30300820-1337",
			"host.name": "DC01.corp.example", "timestamp": "2026-03-02T15:00:59.5Z",
		}},
		{"evtx_dump 4625", map[string]any{
			"event.action": "logon_failed", "event.reason": "wrong password", "user.name": "Administrateur",
			"winlog.logon_type": 3, "winlog.record_id": 77001, "source.ip": "203.0.113.9", "source.port": 61000,
			"labels.KeyLength": "0", "timestamp": "2026-03-02T15:10:00.000001Z",
		}},
		{"PowerShell 5 Defender 5001", map[string]any{
			"event.action": "protection_disabled", "observer.product": "Microsoft Defender Antivirus",
			"observer.version": "4.18.25010.11", "host.name": "PC-COMPTA-03.exemple.fr", "winlog.record_id": 9140,
			"timestamp": "2026-03-02T15:15:00Z", "event.severity": 3,
		}},
		{"PowerShell 7 Security 4625 (positional values)", map[string]any{
			"event.action": "logon_failed", "event.outcome": "failure", "user.name": "",
			"labels.param6": "mallory", "labels.param7": "CORP", "labels.param1": "S-1-0-0",
			"winlog.keywords": "Audit Failure", "timestamp": "2026-03-02T21:20:00.5Z",
		}},
		{"NXLog Defender 1116 with an offset", map[string]any{
			"event.action": "malware_detected", "threat.name": "HackTool:Win32/Mimikatz!pz", "threat.category": "Tool",
			"threat.severity": "High", "event.severity": 4, "user.name": "adupont",
			"file.path": `C:\Users\adupont\AppData\Local\Temp\m.exe`, "timestamp": "2026-03-02T16:05:44.071Z",
			"labels.Domain": nil, "labels.EventReceivedTime": nil, "labels.Action ID": "9",
		}},
	}
	for i, c := range cases {
		ev := winMust(t, lines[i])
		winCheck(t, &ev, c.want, c.name)
	}
}

// TestWindowsSyslogWrapped reads events that a forwarder sent behind a
// syslog header: the header's host stays in log.syslog, the event's
// computer is host.name, and the event's own time wins.
func TestWindowsSyslogWrapped(t *testing.T) {
	xmlLine := winSample(t, "wef_rendered.xml")[0]
	ev := winMust(t, "<14>Mar  2 09:14:08 wec01 WEC[112]: "+xmlLine)
	require.Equal(t, "logon_failed", ev.Event.Action)
	require.Equal(t, "wec01", ev.Log.Syslog.Hostname)
	require.Equal(t, "DC01.beispiel.local", ev.Host.Name)
	require.Equal(t, time.Date(2026, 3, 2, 9, 14, 7, 553021400, time.UTC), ev.Timestamp, "the event's TimeCreated wins")

	jsonLine := winBulkDocs(t, "winlogbeat8_bulk.ndjson")[0]
	ev = winMust(t, "<134>1 2026-03-02T14:00:02Z relay01 winlogbeat - - - "+jsonLine)
	require.Equal(t, "logon_failed", ev.Event.Action)
	require.Equal(t, "relay01", ev.Log.Syslog.Hostname)
	require.Equal(t, "WS042.corp.example", ev.Host.Name)
	require.Equal(t, time.Date(2026, 3, 2, 14, 0, 1, 250000000, time.UTC), ev.Timestamp, "the document's @timestamp wins")
}

// TestWindowsMalformed: a recognised record that cannot be read fails
// with the windows source's reason and a detail saying what is wrong.
func TestWindowsMalformed(t *testing.T) {
	cases := []struct {
		name, rec, reason, detail string
	}{
		{"truncated JSON", `{"winlog":{"event_id":4625,"channel":"Security"`, ReasonBadWindowsJSON, "not valid JSON"},
		{"no event ID", `{"winlog":{"channel":"Security","provider_name":"Microsoft-Windows-Security-Auditing"}}`, ReasonBadWindowsJSON, "no event ID"},
		{"event ID not a number", `{"EventID":"four","SourceName":"x","Channel":"Security"}`, ReasonBadWindowsJSON, `"four" is not a number`},
		{"event ID too large", `{"EventID":70000,"SourceName":"x","Channel":"Security"}`, ReasonBadWindowsJSON, "0 to 65535"},
		{"unclosed XML", `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>4625</EventID></System>`, ReasonBadWindowsXML, "cannot read the event XML"},
		{"XML with a mismatched end tag", `<Event><System><EventID>4625</Channel></System></Event>`, ReasonBadWindowsXML, "<EventID> is closed by </Channel>"},
		{"XML without EventID", `<Event><System><Channel>Security</Channel></System></Event>`, ReasonBadWindowsXML, "no System/EventID"},
		{"XML with a bad EventID", `<Event><System><EventID>12a</EventID></System></Event>`, ReasonBadWindowsXML, `"12a"`},
		{"XML with invalid UTF-8", "<Event><System><EventID>4625</EventID><Computer>\xff\xfe</Computer></System></Event>", ReasonBadWindowsXML, "UTF-8"},
		{"a bad time", `<Event><System><EventID>4625</EventID><TimeCreated SystemTime='yesterday'/></System></Event>`, ReasonBadTimestamp, `"yesterday"`},
		{"Winlogbeat with a bad time", `{"@timestamp":"2026-13-40T00:00:00Z","winlog":{"event_id":4624,"provider_name":"Microsoft-Windows-Security-Auditing"}}`, ReasonBadTimestamp, "cannot read the event time"},
	}
	for _, c := range cases {
		ev, err := winParseWith(New(Options{}), c.rec)
		require.Equal(t, c.reason, reasonOf(t, err), c.name)
		require.Contains(t, err.Error(), c.detail, c.name)
		require.True(t, strings.HasPrefix(ev.Event.Dataset, "windows"), "%s: dataset %q", c.name, ev.Event.Dataset)
		require.Equal(t, c.rec, ev.Event.Original, c.name)
		require.False(t, ev.Timestamp.IsZero(), c.name)
	}
	// A record with a bad time keeps everything else it read.
	ev, err := winParseWith(New(Options{}), `<Event><System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4625</EventID>`+
		`<TimeCreated SystemTime='yesterday'/></System><EventData><Data Name='TargetUserName'>eve</Data></EventData></Event>`)
	require.Error(t, err)
	require.Equal(t, "logon_failed", ev.Event.Action)
	require.Equal(t, "eve", ev.User.Name)
	require.Equal(t, winReceived, ev.Timestamp)
}

// TestWindowsForcedAndDisabled: a listener told to expect windows
// refuses other text with a reason; with the source disabled, Windows
// records are not read.
func TestWindowsForcedAndDisabled(t *testing.T) {
	forced := New(Options{Format: "windows"})
	_, err := winParseWith(forced, "Dec 10 06:55:48 web1 sshd[4]: Failed password for root from 192.0.2.7 port 4022 ssh2")
	require.Equal(t, ReasonNotWindowsEvent, reasonOf(t, err))
	_, err = winParseWith(forced, `{"eventName":"GetObject","sourceIPAddress":"192.0.2.1"}`)
	require.Equal(t, ReasonNotWindowsEvent, reasonOf(t, err))
	// wevtutil without /f writes events inside <Events>; one line per
	// event is what the source reads.
	_, err = winParseWith(forced, `<Events><Event><System><EventID>4625</EventID></System></Event></Events>`)
	require.Equal(t, ReasonBadWindowsXML, reasonOf(t, err))
	require.Contains(t, err.Error(), "not <Event>")
	ev, err := winParseWith(forced, winSample(t, "wef_rendered.xml")[0])
	require.NoError(t, err)
	require.Equal(t, "logon_failed", ev.Event.Action)

	off := New(Options{Disabled: []string{"windows"}})
	ev, err = winParseWith(off, winSample(t, "wef_rendered.xml")[0])
	require.Error(t, err, "no other format reads XML")
	require.Empty(t, ev.Event.Action)
	require.Empty(t, ev.Event.Dataset)
	// A Winlogbeat document is still JSON: the generic reader takes it,
	// without the Windows meaning.
	ev, err = winParseWith(off, winSample(t, "winlogbeat7.ndjson")[0])
	require.NoError(t, err)
	require.Equal(t, DatasetJSON, ev.Event.Dataset)
	require.Zero(t, ev.Winlog.EventID)
}

// TestWindowsLabelsBounded: a record with thousands of EventData keys
// keeps at most winMaxLabels of them.
func TestWindowsLabelsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"winlog":{"event_id":4624,"provider_name":"Microsoft-Windows-Security-Auditing","event_data":{`)
	for i := 0; i < 5000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"K` + strconv.Itoa(i%100) + strings.Repeat("x", i/100) + `":"v"`)
	}
	b.WriteString(`,"TargetUserName":"bob"}}}`)
	ev := winMust(t, b.String())
	require.LessOrEqual(t, len(ev.Labels), winMaxLabels)
	require.Equal(t, "logon", ev.Event.Action)
}

func TestWindowsHelpers(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0x8010000000000000", 0x8010000000000000, true},
		{"-9214364837600034816", 0x8020000000000000, true}, // NXLog's signed form
		{"-9223372036854775808", 0x8000000000000000, true},
		{"9223372036854775808", 0x8000000000000000, true},
		{"18446744073709551616", 0, false},
		{"0x", 0, false}, {"0x1g", 0, false}, {"", 0, false}, {"-", 0, false},
	} {
		m, ok := winMask(c.in)
		require.Equal(t, c.ok, ok, c.in)
		require.Equal(t, c.want, m, c.in)
	}

	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	p := New(Options{Location: ny})
	for in, want := range map[string]string{
		"2020-09-14 08:05:52":               "2020-09-14T12:05:52Z", // NXLog EventTime: local time of the host
		"2020-10-18 07:50:06.220":           "2020-10-18T11:50:06.22Z",
		"2022-04-29T12:36:01.9027913Z":      "2022-04-29T12:36:01.9027913Z",
		"2024-06-20T20:21:15.2279837-05:00": "2024-06-21T01:21:15.2279837Z",
		"2016-10-06 01:50:49.420927 UTC":    "2016-10-06T01:50:49.420927Z",
		"/Date(1718932875227)/":             "2024-06-21T01:21:15.227Z",
	} {
		got, ok := p.winTime(in)
		require.True(t, ok, in)
		require.Equal(t, want, got.Format(time.RFC3339Nano), in)
	}
	for _, bad := range []string{"", "yesterday", "2020-09-14 08:05:52 PST", "/Date(abc)/", "/Date(123", "2020-02-30T00:00:00Z"} {
		_, ok := p.winTime(bad)
		require.False(t, ok, bad)
	}

	for in, want := range map[string]string{
		`file:_C:\a\b.exe`: `C:\a\b.exe`,
		`containerfile:_C:\a.zip; file:_C:\a.zip->b.exe; webfile:_C:\a.zip|https://x/a.zip|pid:1,ProcessStart:2`: `C:\a.zip`,
		`webfile:_C:\d\f.exe|https://example.org/f.exe|pid:3532`:                                                 `C:\d\f.exe`,
		`regkey:_HKLM\SOFTWARE\x`: `HKLM\SOFTWARE\x`,
		``:                        ``,
	} {
		require.Equal(t, want, defFilePath(in), in)
	}

	require.Equal(t, "bob", winCN("CN=bob,CN=Users,DC=example,DC=org"))
	require.Equal(t, `Doe\, John`, winCN(`cn=Doe\, John,OU=x`))
	require.Equal(t, "bob", winCN("CN=bob"))
	require.Equal(t, "-", winCN("-"))

	require.True(t, winIsSAM(`\REGISTRY\MACHINE\SAM`, ""))
	require.True(t, winIsSAM(`\registry\machine\sam\SAM\Domains`, ""))
	require.True(t, winIsSAM(`\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy1\Windows\System32\config\SAM`, "File"))
	require.True(t, winIsSAM("", "SAM_DOMAIN"))
	require.False(t, winIsSAM(`\REGISTRY\MACHINE\SAMPLE`, "Key"))
	require.False(t, winIsSAM(`C:\Users\Sam\notes.txt`, "File"))
	require.True(t, winIsLSASS(`\Device\HarddiskVolume2\Windows\System32\LSASS.EXE`))
	require.False(t, winIsLSASS(`C:\tools\notlsass.exe`))

	require.Equal(t, ReasonWrongPassword, winNTStatusReason("0xC000006A"))
	require.Equal(t, "account expired", winNTStatusReason("0xc0000193"))
	require.Equal(t, "", winNTStatusReason("0x0"))
	require.Equal(t, "clock skew", winKerberosReason("0x25"))
	require.Equal(t, "", winKerberosReason("-"))
}

// TestWindowsNXLog reads NXLog im_msvistalog records: EventTime is the
// Windows host's local time without zone, read in the parser's
// Location; the second record is in the variant OTRF's LSASS dataset
// uses (TimeCreated, no Keywords and no EventType).
func TestWindowsNXLog(t *testing.T) {
	lines := winSample(t, "nxlog.ndjson")
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	ev, err := winParseWith(New(Options{Location: berlin}), lines[0])
	require.NoError(t, err)
	winCheck(t, &ev, map[string]any{
		"event.action": "logon_failed", "event.reason": "wrong password", "user.name": "mchen", "user.domain": "CORP",
		"source.ip": "10.4.7.31", "source.port": 0, "source.domain": "WS117", "host.name": "DC02.corp.example",
		"winlog.record_id": 1204431, "winlog.keywords": "Audit Failure", "timestamp": "2026-03-02T09:41:07Z",
		"labels.LogonProcessName": "NtLmSsp ", "labels.EventReceivedTime": nil, "labels.SourceModuleType": nil,
		"labels.Severity": nil, "labels.Category": nil, "labels.ExecutionThreadID": nil, "labels.SubjectLogonId": "0x0",
	}, "nxlog 4625")
	require.True(t, strings.HasPrefix(ev.Message, "An account failed to log on.\r\n"))

	ev = winMust(t, lines[1])
	winCheck(t, &ev, map[string]any{
		"event.action": "lsass_access", "event.outcome": "success", "user.name": "kpatel", "host.name": "WS042",
		"process.executable": `C:\Windows\System32\rundll32.exe`, "process.pid": 0x2f4c, "winlog.keywords": "",
		"file.path": `\Device\HarddiskVolume3\Windows\System32\lsass.exe`, "timestamp": "2026-03-02T11:42:05.01Z",
		"labels.AccessList": "%%4484\n\t\t\t\t",
	}, "nxlog 4663")
}

// TestWindowsWinlogbeatEventCode: winlog.event_id wins over ECS
// event.code, which is read only when the winlog object has no ID.
func TestWindowsWinlogbeatEventCode(t *testing.T) {
	ev := winMust(t, `{"event":{"code":"logon"},"winlog":{"event_id":4624,"provider_name":"Microsoft-Windows-Security-Auditing"}}`)
	require.Equal(t, "4624", ev.Event.Code)
	ev = winMust(t, `{"event":{"code":4625},"winlog":{"provider_name":"Microsoft-Windows-Security-Auditing","event_data":{"TargetUserName":"x"}}}`)
	require.Equal(t, "logon_failed", ev.Event.Action)
	require.Equal(t, "x", ev.User.Name)
}
