package parse

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// accountCase is a shadow tool's message and what tocsin reads from it.
type accountCase struct {
	line                             string
	action, typ, outcome, reason     string
	target, targetID, group, groupID string
	user                             string
	category                         string // when there is no action
	dataset                          string // linux_accounts unless set
}

// The lines below were written for these tests from the format strings in
// the shadow sources (src/useradd.c, usermod.c, userdel.c, groupadd.c,
// groupdel.c, groupmod.c, gpasswd.c, passwd.c, chage.c, chfn.c, chsh.c,
// groupmems.c and lib/cleanup_*.c of shadow 4.1 to 4.17) and pam_unix's
// passverify.c and pam_unix_passwd.c: ../shared/data holds no such lines
// beyond the two read in TestAccountsSharedSamples.
var accountCases = []accountCase{
	{line: "Dec  1 10:00:00 web1 useradd[2101]: new user: name=deploy, UID=1002, GID=1002, home=/home/deploy, shell=/bin/bash, from=/dev/pts/1",
		action: "user_created", typ: "creation", outcome: "success", target: "deploy", targetID: "1002", groupID: "1002"},
	{line: "Dec  1 10:00:00 web1 useradd[2101]: new user: name=svc, UID=0, GID=0, home=/root, shell=/bin/sh, from=none",
		action: "user_created", typ: "creation", outcome: "success", target: "svc", targetID: "0", groupID: "0"},
	{line: "Dec  1 10:00:00 web1 useradd[2101]: new user: name=old, uid=501, gid=100, home=/home/old, shell=/bin/csh",
		action: "user_created", typ: "creation", outcome: "success", target: "old", targetID: "501", groupID: "100"},
	{line: "Dec  1 10:00:00 web1 useradd[2101]: new group: name=deploy, GID=1002",
		action: "group_created", typ: "creation", outcome: "success", group: "deploy", groupID: "1002"},
	{line: "Dec  1 10:00:01 web1 useradd[2101]: add 'deploy' to group 'docker'",
		action: "group_member_added", typ: "change", outcome: "success", target: "deploy", group: "docker"},
	{line: "Dec  1 10:00:01 web1 useradd[2101]: add 'deploy' to shadow group 'docker'",
		category: "iam", target: "deploy", group: "docker"},
	{line: "Dec  1 10:00:02 web1 useradd[2101]: failed adding user 'deploy', exit code: 12",
		action: "user_created", typ: "creation", outcome: "failure", reason: "exit code: 12", target: "deploy"},
	{line: "Dec  1 10:00:03 web1 usermod[2201]: add 'mallory' to group 'sudo'",
		action: "group_member_added", typ: "change", outcome: "success", target: "mallory", group: "sudo"},
	{line: "Dec  1 10:00:03 web1 usermod[2201]: add `mallory' to group `wheel'",
		action: "group_member_added", typ: "change", outcome: "success", target: "mallory", group: "wheel"},
	{line: "Dec  1 10:00:03 web1 usermod[2201]: delete 'mallory' from group 'audio'",
		action: "group_member_removed", typ: "change", outcome: "success", target: "mallory", group: "audio"},
	{line: "Dec  1 10:00:03 web1 usermod[2201]: delete 'mallory' from shadow group 'audio'",
		category: "iam", target: "mallory", group: "audio"},
	{line: "Dec  1 10:00:04 web1 usermod[2202]: lock user 'alice' password",
		action: "user_modified", typ: "change", outcome: "success", reason: "password locked", target: "alice"},
	{line: "Dec  1 10:00:04 web1 usermod[2202]: unlock user 'alice' password",
		action: "user_modified", typ: "change", outcome: "success", reason: "password unlocked", target: "alice"},
	{line: "Dec  1 10:00:04 web1 usermod[2202]: change user 'alice' password",
		action: "password_changed", typ: "change", outcome: "success", target: "alice"},
	{line: "Dec  1 10:00:05 web1 usermod[2203]: change user 'alice' shell from '/bin/bash' to '/bin/zsh'",
		action: "user_modified", typ: "change", outcome: "success", reason: "shell changed", target: "alice"},
	{line: "Dec  1 10:00:05 web1 usermod[2203]: change user 'alice' UID from '1001' to '0'",
		action: "user_modified", typ: "change", outcome: "success", reason: "uid changed", target: "alice", targetID: "0"},
	{line: "Dec  1 10:00:05 web1 usermod[2203]: change user 'alice' GID from '1001' to '27'",
		action: "user_modified", typ: "change", outcome: "success", reason: "gid changed", target: "alice", groupID: "27"},
	{line: "Dec  1 10:00:05 web1 usermod[2203]: change user 'alice' expiration from 'never' to '2027-01-01'",
		action: "user_modified", typ: "change", outcome: "success", reason: "expiration changed", target: "alice"},
	{line: "Dec  1 10:00:05 web1 usermod[2203]: change user name 'alice' to 'alice2'",
		action: "user_modified", typ: "change", outcome: "success", reason: "name changed", target: "alice2"},
	{line: "Dec  1 10:00:05 web1 usermod[2203]: change 'alice' to 'alice2' in group 'devs'",
		action: "user_modified", typ: "change", outcome: "success", reason: "name changed", target: "alice2", group: "devs"},
	{line: "Dec  1 10:00:05 web1 usermod[2203]: change 'alice' to 'alice2' in shadow group 'devs'",
		category: "iam", target: "alice2", group: "devs"},
	{line: "Dec  1 10:00:05 web1 usermod[2203]: change admin 'alice' to 'alice2' in shadow group 'devs'",
		category: "iam", target: "alice"},
	{line: "Dec  1 10:00:06 web1 userdel[2301]: delete user 'deploy'",
		action: "user_deleted", typ: "deletion", outcome: "success", target: "deploy"},
	{line: "Dec  1 10:00:06 web1 userdel[2301]: delete user 'deploy'#012",
		action: "user_deleted", typ: "deletion", outcome: "success", target: "deploy"},
	{line: "Dec  1 10:00:06 web1 userdel[2301]: delete 'deploy' from group 'docker'#012",
		action: "group_member_removed", typ: "change", outcome: "success", target: "deploy", group: "docker"},
	{line: "Dec  1 10:00:06 web1 userdel[2301]: removed group 'deploy' owned by 'deploy'#012",
		action: "group_deleted", typ: "deletion", outcome: "success", target: "deploy", group: "deploy"},
	{line: "Dec  1 10:00:06 web1 userdel[2301]: removed shadow group 'deploy' owned by 'deploy'#012",
		category: "iam", target: "deploy", group: "deploy"},
	{line: "Dec  1 10:00:07 web1 groupadd[2401]: group added to /etc/group: name=ops, GID=1010",
		action: "group_created", typ: "creation", outcome: "success", group: "ops", groupID: "1010"},
	{line: "Dec  1 10:00:07 web1 groupadd[2401]: group added to /etc/gshadow: name=ops",
		category: "iam", group: "ops"},
	{line: "Dec  1 10:00:07 web1 groupadd[2401]: new group: name=ops, GID=1010",
		action: "group_created", typ: "creation", outcome: "success", group: "ops", groupID: "1010"},
	{line: "Dec  1 10:00:08 web1 groupdel[2501]: group 'ops' removed from /etc/group",
		action: "group_deleted", typ: "deletion", outcome: "success", group: "ops"},
	{line: "Dec  1 10:00:08 web1 groupdel[2501]: group 'ops' removed from /etc/gshadow",
		category: "iam", group: "ops"},
	{line: "Dec  1 10:00:08 web1 groupdel[2501]: group 'ops' removed#012",
		action: "group_deleted", typ: "deletion", outcome: "success", group: "ops"},
	{line: "Dec  1 10:00:08 web1 groupdel[2501]: remove group `ops'",
		action: "group_deleted", typ: "deletion", outcome: "success", group: "ops"},
	{line: "Dec  1 10:00:09 web1 groupmod[2601]: group changed in /etc/group (group ops/1010, new name: sre)",
		action: "group_modified", typ: "change", outcome: "success", group: "ops"},
	{line: "Dec  1 10:00:09 web1 groupmod[2601]: group changed in /etc/gshadow (group ops, new name: sre)",
		category: "iam", group: "ops"},
	{line: "Dec  1 10:00:09 web1 groupmod[2601]: change GID for `ops' to 1020",
		action: "group_modified", typ: "change", outcome: "success", reason: "gid changed", group: "ops", groupID: "1020"},
	{line: "Dec  1 10:00:10 web1 gpasswd[2701]: user mallory added by root to group sudo",
		action: "group_member_added", typ: "change", outcome: "success", target: "mallory", group: "sudo", user: "root"},
	{line: "Dec  1 10:00:10 web1 gpasswd[2701]: user mallory removed by alice from group sudo in /etc/group",
		action: "group_member_removed", typ: "change", outcome: "success", target: "mallory", group: "sudo", user: "alice"},
	{line: "Dec  1 10:00:10 web1 gpasswd[2701]: members of group sudo set by root to alice,bob",
		action: "group_modified", typ: "change", outcome: "success", reason: "members set", group: "sudo", user: "root"},
	{line: "Dec  1 10:00:10 web1 gpasswd[2701]: password of group devs changed by alice",
		action: "group_modified", typ: "change", outcome: "success", reason: "group password changed", group: "devs", user: "alice"},
	{line: "Dec  1 10:00:10 web1 gpasswd[2701]: alice failed to add user mallory to group sudo",
		action: "group_member_added", typ: "change", outcome: "failure", target: "mallory", group: "sudo", user: "alice"},
	{line: "Dec  1 10:00:10 web1 groupmems[2702]: add member mallory to group video by root",
		action: "group_member_added", typ: "change", outcome: "success", target: "mallory", group: "video", user: "root"},
	{line: "Dec  1 10:00:11 web1 passwd[2801]: password for 'alice' changed by 'root'",
		action: "password_changed", typ: "change", outcome: "success", target: "alice", user: "root"},
	{line: "Dec  1 10:00:11 web1 passwd[2801]: pam_unix(passwd:chauthtok): password changed for alice",
		action: "password_changed", typ: "change", outcome: "success", target: "alice"},
	{line: "Dec  1 10:00:11 web1 chpasswd[2802]: pam_unix(chpasswd:chauthtok): password changed for bob",
		action: "password_changed", typ: "change", outcome: "success", target: "bob"},
	{line: "Dec  1 10:00:11 web1 passwd[2803]: pam_unix(passwd:chauthtok): new password not acceptable",
		action: "password_changed", typ: "change", outcome: "failure", reason: "password not acceptable"},
	{line: "Dec  1 10:00:11 web1 passwd[2804]: password locked for 'carol'",
		action: "password_changed", typ: "change", outcome: "failure", reason: "account locked", target: "carol"},
	{line: "Dec  1 10:00:11 web1 passwd[2804]: now < minimum age for 'carol'",
		action: "password_changed", typ: "change", outcome: "failure", reason: "minimum age", target: "carol"},
	// A PAM authentication failure inside passwd reads as in any program.
	{line: "Dec  1 10:00:11 web1 passwd[2805]: pam_unix(passwd:auth): authentication failure; logname= uid=1003 euid=0 tty=pts/2 ruser= rhost=  user=carol",
		action: "pam_auth", outcome: "failure", reason: "authentication failure", user: "carol", category: "authentication", dataset: "pam"},
	{line: "Dec  1 10:00:12 web1 chage[2901]: changed password expiry for carol",
		action: "user_modified", typ: "change", outcome: "success", reason: "password expiry changed", target: "carol"},
	{line: "Dec  1 10:00:12 web1 chfn[2902]: changed user 'carol' information",
		action: "user_modified", typ: "change", outcome: "success", reason: "information changed", target: "carol"},
	{line: "Dec  1 10:00:12 web1 chsh[2903]: changed user 'carol' shell to '/bin/fish'",
		action: "user_modified", typ: "change", outcome: "success", reason: "shell changed", target: "carol"},
	{line: "Dec  1 10:00:13 web1 useradd[3001]: failed to add group builders",
		action: "group_created", typ: "creation", outcome: "failure", group: "builders"},
	{line: "Dec  1 10:00:13 web1 groupmod[3002]: failed to change /etc/group (group ops/1010, new name: sre)",
		action: "group_modified", typ: "change", outcome: "failure", group: "ops"},
	// Known program, unknown message: dataset only.
	{line: "Dec  1 10:00:14 web1 useradd[3003]: cannot open /etc/subuid"},
}

func TestAccounts(t *testing.T) {
	p := New(Options{})
	for _, c := range accountCases {
		t.Run(c.line[strings.Index(c.line, "]: ")+3:], func(t *testing.T) {
			var ev schemas.Event
			require.NoError(t, p.Parse(c.line, testReceived, &ev))
			ds := c.dataset
			if ds == "" {
				ds = DatasetLinuxAccounts
			}
			cat := c.category
			if cat == "" && c.action != "" {
				cat = schemas.CategoryIAM
			}
			e := ev.Event
			require.Equal(t, ds, e.Dataset)
			require.Equal(t, cat, e.Category)
			require.Equal(t, c.action, e.Action)
			require.Equal(t, c.typ, e.Type)
			require.Equal(t, c.outcome, e.Outcome)
			require.Equal(t, c.reason, e.Reason)
			require.Equal(t, c.target, ev.User.Target.Name)
			require.Equal(t, c.targetID, ev.User.Target.ID)
			require.Equal(t, c.group, ev.Group.Name)
			require.Equal(t, c.groupID, ev.Group.ID)
			require.Equal(t, c.user, ev.User.Name)
			require.Equal(t, "web1", ev.Host.Name)
		})
	}
}

// Granting sudo by usermod -aG is the change a rule watches for: one
// counted event, whose shadow-group twin is not counted again.
func TestAccountsSudoGrantCountsOnce(t *testing.T) {
	p := New(Options{})
	counted := 0
	for _, line := range []string{
		"Dec  1 10:00:03 web1 usermod[2201]: add 'mallory' to group 'sudo'",
		"Dec  1 10:00:03 web1 usermod[2201]: add 'mallory' to shadow group 'sudo'",
	} {
		var ev schemas.Event
		require.NoError(t, p.Parse(line, testReceived, &ev))
		require.Equal(t, "sudo", ev.Group.Name)
		require.Equal(t, "mallory", ev.User.Target.Name)
		if ev.Event.Action == "group_member_added" && ev.Group.Name == "sudo" {
			counted++
		}
	}
	require.Equal(t, 1, counted)
}

func TestAccountsMalformed(t *testing.T) {
	p := New(Options{})
	for _, line := range []string{
		"Dec  1 10:00:00 web1 useradd[1]: new user: UID=5, GID=5",
		"Dec  1 10:00:00 web1 userdel[1]: delete user deploy",
		"Dec  1 10:00:00 web1 passwd[1]: password for alice changed by root",
		"Dec  1 10:00:00 web1 groupadd[1]: new group: GID=7",
	} {
		var ev schemas.Event
		err := p.Parse(line, testReceived, &ev)
		require.Equal(t, ReasonBadAccountMessage, reasonOf(t, err), "line %q", line)
		require.Equal(t, DatasetLinuxAccounts, ev.Event.Dataset)
		require.Empty(t, ev.Event.Action)
	}
}

// The shared data set holds two real lines of these tools: the examples in
// Sigma's rule for privileged user creation (DRL 1.1) and Wazuh's
// "useradd failed" test (GPL-2.0), both read from ../shared/data.
func TestAccountsSharedSamples(t *testing.T) {
	p := New(Options{})
	f, err := os.Open(sharedData(t, "sigma/rules/linux/builtin/lnx_privileged_user_creation.yml"))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		text := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "#"))
		if !strings.Contains(text, "useradd[") {
			continue
		}
		n++
		var ev schemas.Event
		require.NoError(t, p.Parse(text, testReceived, &ev))
		// "... new user: name=john, UID=0, GID=0, home=/home/john, ..."
		_, kv, _ := strings.Cut(text, "new user: ")
		name := strings.TrimPrefix(strings.Split(kv, ", ")[0], "name=")
		uid := strings.TrimPrefix(strings.Split(kv, ", ")[1], "UID=")
		gid := strings.TrimPrefix(strings.Split(kv, ", ")[2], "GID=")
		require.Equal(t, "user_created", ev.Event.Action)
		require.Equal(t, name, ev.User.Target.Name)
		require.Equal(t, uid, ev.User.Target.ID)
		require.Equal(t, gid, ev.Group.ID)
		require.Equal(t, "testserver", ev.Host.Name)
	}
	require.NoError(t, sc.Err())
	require.Equal(t, 4, n, "the rule's four example lines")

	var line string
	for _, l := range readLines(t, sharedData(t, "wazuh_ruleset_tests/syslog.ini")) {
		if strings.Contains(l, "useradd[") {
			_, line, _ = strings.Cut(l, "= ")
		}
	}
	require.NotEmpty(t, line)
	var ev schemas.Event
	require.NoError(t, p.Parse(line, testReceived, &ev))
	require.Equal(t, "user_created", ev.Event.Action)
	require.Equal(t, schemas.OutcomeFailure, ev.Event.Outcome)
	require.Equal(t, "ansible", ev.User.Target.Name)
	require.Equal(t, "data deleted", ev.Event.Reason)
	require.Equal(t, "collectd", ev.Host.Name)
}

func TestAccountsDoNotAllocate(t *testing.T) {
	p := New(Options{})
	for _, line := range []string{
		accountCases[0].line,
		"Dec  1 10:00:03 web1 usermod[2201]: add 'mallory' to group 'sudo'",
		"Dec  1 10:00:11 web1 passwd[2801]: pam_unix(passwd:chauthtok): password changed for alice",
		"Dec  1 10:00:10 web1 gpasswd[2701]: user mallory added by root to group sudo",
		"Dec  1 10:00:06 web1 userdel[2301]: removed group 'deploy' owned by 'deploy'#012",
	} {
		var ev schemas.Event
		allocs := testing.AllocsPerRun(200, func() {
			ev.Reset()
			if err := p.Parse(line, testReceived, &ev); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs, "line %q", line)
		require.NotEmpty(t, ev.Event.Action)
	}
}

func BenchmarkParseAccounts(b *testing.B) {
	benchLine(b, "Dec  1 10:00:00 web1 useradd[2101]: new user: name=deploy, UID=1002, GID=1002, home=/home/deploy, shell=/bin/bash, from=/dev/pts/1")
}
