package parse

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// meaning is the part of an event the message classifiers fill.
type meaning struct {
	dataset, category, action, outcome, reason string
	user, target, ip, domain, method, cmd      string
	port, count                                int
}

func meaningOf(ev schemas.Event) meaning {
	e := ev.Event
	return meaning{
		dataset: e.Dataset, category: e.Category, action: e.Action, outcome: e.Outcome, reason: e.Reason,
		user: ev.User.Name, target: ev.User.Target.Name, ip: ev.Source.IP, domain: ev.Source.Domain,
		method: ev.SSH.Method, cmd: ev.Process.CommandLine, port: ev.Source.Port, count: e.Count,
	}
}

const (
	auth    = schemas.CategoryAuthentication
	network = schemas.CategoryNetwork
	session = schemas.CategorySession
	process = schemas.CategoryProcess
	failed  = schemas.OutcomeFailure
	ok      = schemas.OutcomeSuccess
)

func sshdLine(msg string) string { return "Dec 10 07:07:38 LabSZ sshd[24206]: " + msg }

type authCase struct {
	name string
	line string
	want meaning
}

func runAuthCases(t *testing.T, cases []authCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := mustParse(t, c.line)
			if c.want.count == 0 {
				c.want.count = 1
			}
			require.Equal(t, c.want, meaningOf(ev))
			require.Equal(t, "event", ev.Event.Kind)
		})
	}
}

func TestSSHD(t *testing.T) {
	runAuthCases(t, []authCase{
		{"failed password, invalid user", sshdLine("Failed password for invalid user test9 from 52.80.34.196 port 36060 ssh2"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonInvalidUser, user: "test9", ip: "52.80.34.196", port: 36060, method: "password"}},
		{"failed password, root", sshdLine("Failed password for root from 183.62.140.253 port 55164 ssh2"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonWrongPassword, user: "root", ip: "183.62.140.253", port: 55164, method: "password"}},
		{"failed publickey", sshdLine("Failed publickey for git from 10.0.0.1 port 22 ssh2: RSA SHA256:abc"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonKeyRejected, user: "git", ip: "10.0.0.1", port: 22, method: "publickey"}},
		{"failed none, invalid user", sshdLine("Failed none for invalid user 0 from 5.188.10.180 port 49054 ssh2"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonInvalidUser, user: "0", ip: "5.188.10.180", port: 49054, method: "none"}},
		{"failed none, valid user", sshdLine("Failed none for root from 5.188.10.180 port 49054 ssh2"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonNoCredentials, user: "root", ip: "5.188.10.180", port: 49054, method: "none"}},
		{"failed keyboard-interactive/pam", sshdLine("Failed keyboard-interactive/pam for invalid user warez from 192.241.237.101 port 54197 ssh2"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonInvalidUser, user: "warez", ip: "192.241.237.101", port: 54197, method: "keyboard-interactive/pam"}},
		{"failed for an empty user name", sshdLine("Failed password for invalid user  from 1.2.3.4 port 22 ssh2"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonInvalidUser, ip: "1.2.3.4", port: 22, method: "password"}},
		{"user name holding ' from '", sshdLine("Failed password for invalid user a from 9.9.9.9 port 1 ssh2 from 1.2.3.4 port 22 ssh2"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonInvalidUser, user: "a from 9.9.9.9 port 1 ssh2", ip: "1.2.3.4", port: 22, method: "password"}},
		{"failed from IPv6", sshdLine("Failed password for root from 2001:db8::1 port 2222 ssh2"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonWrongPassword, user: "root", ip: "2001:db8::1", port: 2222, method: "password"}},
		{"failed from a host name (UseDNS)", sshdLine("Failed password for root from host.example.org port 2222 ssh2"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonWrongPassword, user: "root", domain: "host.example.org", port: 2222, method: "password"}},
		{"accepted password", sshdLine("Accepted password for fztu from 119.137.62.142 port 49116 ssh2"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: ok, user: "fztu", ip: "119.137.62.142", port: 49116, method: "password"}},
		{"accepted publickey with key", sshdLine("Accepted publickey for alice from ::ffff:192.0.2.7 port 50122 ssh2: ED25519 SHA256:abc"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: ok, user: "alice", ip: "192.0.2.7", port: 50122, method: "publickey"}},
		{"invalid user without port", sshdLine("Invalid user webmaster from 173.234.31.186"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonInvalidUser, user: "webmaster", ip: "173.234.31.186"}},
		{"invalid user with port", sshdLine("Invalid user pascal from 35.188.49.176 port 53502"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonInvalidUser, user: "pascal", ip: "35.188.49.176", port: 53502}},
		{"invalid user, empty name", sshdLine("Invalid user  from 1.2.3.4 port 22"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonInvalidUser, ip: "1.2.3.4", port: 22}},
		{"invalid user, name with a leading space", sshdLine("Invalid user  0101 from 5.188.10.180"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonInvalidUser, user: " 0101", ip: "5.188.10.180"}},
		{"input_userauth_request is not an attempt", sshdLine("input_userauth_request: invalid user webmaster [preauth]"),
			meaning{dataset: "sshd", user: "webmaster"}},
		{"connection closed", sshdLine("Connection closed by 123.235.32.19 [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonConnectionClosed, ip: "123.235.32.19"}},
		{"connection closed by authenticating user", sshdLine("Connection closed by authenticating user root 206.81.24.125 port 45362 [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonConnectionClosed, user: "root", ip: "206.81.24.125", port: 45362}},
		{"connection closed by invalid user", sshdLine("Connection closed by invalid user root 206.81.24.125 port 45362 [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonConnectionClosed, user: "root", ip: "206.81.24.125", port: 45362}},
		{"connection reset", sshdLine("Connection reset by authenticating user root 80.94.92.63 port 49115 [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonConnectionReset, user: "root", ip: "80.94.92.63", port: 49115}},
		{"disconnected from invalid user", sshdLine("Disconnected from invalid user ftp 92.255.85.135 port 26138 [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonDisconnected, user: "ftp", ip: "92.255.85.135", port: 26138}},
		{"disconnected from user", sshdLine("Disconnected from user user 172.18.1.100 port 43042"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonDisconnected, user: "user", ip: "172.18.1.100", port: 43042}},
		{"disconnected from an unknown kind of user", sshdLine("Disconnected from totobad user ftp 92.255.85.135 port 26138 [preauth]"),
			meaning{}},
		{"received disconnect, old format", sshdLine("Received disconnect from 139.59.209.18: 11: Bye Bye [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonReceivedDisconnect, ip: "139.59.209.18"}},
		{"received disconnect with port", sshdLine("Received disconnect from 1.2.3.4 port 4444:11: Bye Bye [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonReceivedDisconnect, ip: "1.2.3.4", port: 4444}},
		{"received disconnect from IPv6", sshdLine("Received disconnect from 2001:db8::5: 11: Bye"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonReceivedDisconnect, ip: "2001:db8::5"}},
		{"error: received disconnect", sshdLine("error: Received disconnect from 103.99.0.122: 14: No more user authentication methods available. [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonReceivedDisconnect, ip: "103.99.0.122"}},
		{"too many authentication failures", sshdLine("Disconnecting: Too many authentication failures for admin [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonTooManyFailures, user: "admin"}},
		{"too many authentication failures, no user", sshdLine("Disconnecting: Too many authentication failures [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonTooManyFailures}},
		{"disconnecting authenticating user", sshdLine("Disconnecting authenticating user root 1.2.3.4 port 22: Too many authentication failures [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonTooManyFailures, user: "root", ip: "1.2.3.4", port: 22}},
		{"maximum authentication attempts", sshdLine("error: maximum authentication attempts exceeded for invalid user badguy from 192.168.33.1 port 55146 ssh2 [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonMaxAttempts, user: "badguy", ip: "192.168.33.1", port: 55146}},
		{"no identification string", sshdLine("Did not receive identification string from 10.0.0.9 port 4321"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonNoIdentification, ip: "10.0.0.9", port: 4321}},
		{"reverse mapping is not an attempt", sshdLine("reverse mapping checking getaddrinfo for ns.marryaldkfaczcz.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!"),
			meaning{dataset: "sshd", reason: ReasonReverseMapping, ip: "173.234.31.186", domain: "ns.marryaldkfaczcz.com"}},
		{"address maps to a name that does not map back", sshdLine("Address 192.168.18.54 maps to nmap.18.168.192.in-addr.arpa, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!"),
			meaning{dataset: "sshd", reason: ReasonReverseMapping, ip: "192.168.18.54", domain: "nmap.18.168.192.in-addr.arpa"}},
		{"user not allowed", sshdLine("User root from 192.168.33.1 not allowed because not listed in AllowUsers"),
			meaning{dataset: "sshd", reason: ReasonUserNotAllowed, user: "root", ip: "192.168.33.1"}},
		{"pam auth failure without user", sshdLine("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=173.234.31.186 "),
			meaning{dataset: "sshd", category: auth, action: "pam_auth", outcome: failed, reason: ReasonAuthFailed, ip: "173.234.31.186"}},
		{"pam auth failure with user", sshdLine("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=218.65.30.43  user=root"),
			meaning{dataset: "sshd", category: auth, action: "pam_auth", outcome: failed, reason: ReasonAuthFailed, user: "root", ip: "218.65.30.43"}},
		{"pam auth failure from a host name", sshdLine("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=ec2-52-80-34-196.cn-north-1.compute.amazonaws.com.cn "),
			meaning{dataset: "sshd", category: auth, action: "pam_auth", outcome: failed, reason: ReasonAuthFailed, domain: "ec2-52-80-34-196.cn-north-1.compute.amazonaws.com.cn"}},
		{"pam check pass is not an attempt", sshdLine("pam_unix(sshd:auth): check pass; user unknown"),
			meaning{dataset: "sshd", reason: ReasonUserUnknown}},
		{"pam session opened", sshdLine("pam_unix(sshd:session): session opened for user fztu by (uid=0)"),
			meaning{dataset: "sshd", category: session, action: "ssh_session", outcome: ok, reason: ReasonSessionOpened, user: "fztu"}},
		{"pam session closed", sshdLine("pam_unix(sshd:session): session closed for user fztu"),
			meaning{dataset: "sshd", category: session, action: "ssh_session", outcome: ok, reason: ReasonSessionClosed, user: "fztu"}},
		{"pam session opened, new format", sshdLine("pam_unix(sshd:session): session opened for user bob(uid=1001) by bob(uid=0)"),
			meaning{dataset: "sshd", category: session, action: "ssh_session", outcome: ok, reason: ReasonSessionOpened, user: "bob"}},
		{"PAM N more authentication failures", sshdLine("PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=183.62.140.253  user=root"),
			meaning{dataset: "sshd", category: auth, action: "pam_auth", outcome: failed, reason: ReasonAuthFailed, user: "root", ip: "183.62.140.253", count: 5}},
		{"PAM 1 more authentication failure", sshdLine("PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4 "),
			meaning{dataset: "sshd", category: auth, action: "pam_auth", outcome: failed, reason: ReasonAuthFailed, ip: "1.2.3.4", count: 1}},
		{"PAM ignoring max retries is not an attempt", sshdLine("PAM service(sshd) ignoring max retries; 6 > 3"),
			meaning{}},
		{"message repeated", sshdLine("message repeated 5 times: [ Failed password for root from 183.62.140.253 port 55164 ssh2]"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonWrongPassword, user: "root", ip: "183.62.140.253", port: 55164, method: "password", count: 5}},
		{"message repeated of an invalid user", sshdLine("message repeated 2 times: [ Invalid user x from 10.0.0.1]"),
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonInvalidUser, user: "x", ip: "10.0.0.1", count: 2}},
		{"unable to negotiate", sshdLine("Unable to negotiate with 206.189.59.169 port 34386: no matching host key type found. Their offer: ssh-rsa,ssh-dss [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonNegotiationFailed, ip: "206.189.59.169", port: 34386}},
		{"fatal: unable to negotiate without port", sshdLine("fatal: Unable to negotiate with 108.229.36.174: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonNegotiationFailed, ip: "108.229.36.174"}},
		{"timeout before authentication", sshdLine("fatal: Timeout before authentication for 192.168.9.212 port 47056"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonAuthTimeout, ip: "192.168.9.212", port: 47056}},
		{"ssh_dispatch_run_fatal", sshdLine("ssh_dispatch_run_fatal: Connection from 192.168.9.213 port 48680: message authentication code incorrect [preauth]"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonConnectionFailed, ip: "192.168.9.213", port: 48680}},
		{"refused connect", sshdLine("refused connect from example.com (192.168.1.1)"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonConnectionRefused, ip: "192.168.1.1", domain: "example.com"}},
		{"refused connect, mapped address", sshdLine("refused connect from _U2FsdGVkX19P_@::ffff:192.168.1.1 (::ffff:192.168.1.1)"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonConnectionRefused, ip: "192.168.1.1"}},
		{"bad protocol version", sshdLine("Bad protocol version identification 'ls' from 172.18.1.1 port 59920"),
			meaning{dataset: "sshd", category: network, action: "ssh_disconnect", reason: ReasonBadProtocol, ip: "172.18.1.1", port: 59920}},
		{"fatal without a peer", sshdLine("fatal: Write failed: Connection reset by peer [preauth]"), meaning{}},
		{"unknown message keeps only the header", sshdLine("Server listening on 0.0.0.0 port 22."), meaning{}},
		{"sshd-session program", "Feb 12 14:10:24 sd-126005 sshd-session[16379]: Invalid user pascal5 from 192.168.1.3 port 53502",
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonInvalidUser, user: "pascal5", ip: "192.168.1.3", port: 53502}},
		{"RFC 5424 sshd line", "<38>1 2026-01-01T00:00:00Z host sshd 42 - - Failed password for bob from 10.1.1.1 port 2 ssh2",
			meaning{dataset: "sshd", category: auth, action: "ssh_login", outcome: failed, reason: ReasonWrongPassword, user: "bob", ip: "10.1.1.1", port: 2, method: "password"}},
		{"old Linux-PAM tag", "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ",
			meaning{dataset: "sshd", category: auth, action: "pam_auth", outcome: failed, reason: ReasonAuthFailed, ip: "218.188.2.4"}},
		{"old Linux-PAM N more failures", "Nov 11 22:46:29 localhost sshd(pam_unix)[15794]: 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.3.1  user=root",
			meaning{dataset: "sshd", category: auth, action: "pam_auth", outcome: failed, reason: ReasonAuthFailed, user: "root", ip: "10.0.3.1", count: 2}},
	})
}

func TestOldPAMTagNamesTheProcess(t *testing.T) {
	ev := mustParse(t, "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown")
	require.Equal(t, "sshd", ev.Process.Name)
	require.Equal(t, "sshd(pam_unix)", ev.Log.Syslog.AppName)
	require.Equal(t, 19939, ev.Process.PID)
	require.Equal(t, ReasonUserUnknown, ev.Event.Reason)
}

func TestSudo(t *testing.T) {
	runAuthCases(t, []authCase{
		{"command", "Jun 25 15:48:21 precise32 sudo:  alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls",
			meaning{dataset: "sudo", category: process, action: "sudo", outcome: ok, user: "alice", target: "root", cmd: "/bin/ls"}},
		{"command with pid and TSID", "<85>Jan 24 15:50:41 ip-172-31-30-110 sudo[6040]: cplummer : TTY=pts/2 ; PWD=/home/cplummer1 ; USER=root ; TSID=0000UM ; COMMAND=/bin/bash",
			meaning{dataset: "sudo", category: process, action: "sudo", outcome: ok, user: "cplummer", target: "root", cmd: "/bin/bash"}},
		{"command holding ' ; '", "Jun 25 15:48:21 h sudo: bob : TTY=pts/1 ; PWD=/ ; USER=root ; COMMAND=/bin/sh -c echo a ; echo b",
			meaning{dataset: "sudo", category: process, action: "sudo", outcome: ok, user: "bob", target: "root", cmd: "/bin/sh -c echo a ; echo b"}},
		{"incorrect password attempts", "Jun 25 16:15:45 precise32 sudo:     mike : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/bin/ls",
			meaning{dataset: "sudo", category: auth, action: "sudo", outcome: failed, reason: ReasonIncorrectPassword, user: "mike", target: "root", cmd: "/bin/ls", count: 3}},
		{"one incorrect password attempt", "Jun 25 15:51:13 precise32 sudo:     mike : 1 incorrect password attempt ; TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/bin/ls",
			meaning{dataset: "sudo", category: auth, action: "sudo", outcome: failed, reason: ReasonIncorrectPassword, user: "mike", target: "root", cmd: "/bin/ls"}},
		{"not in sudoers", "Apr 13 08:36:31 ix sudo:     ddp2 : user NOT in sudoers ; TTY=ttypZ ; PWD=/home/ddp2 ; USER=root ; COMMAND=/bin/ls",
			meaning{dataset: "sudo", category: auth, action: "sudo", outcome: failed, reason: "user NOT in sudoers", user: "ddp2", target: "root", cmd: "/bin/ls"}},
		{"pam auth failure", "Dec  7 14:52:59 vskub1master01p sudo: pam_unix(sudo:auth): authentication failure; logname=zbadguy uid=4001 euid=0 tty=/dev/pts/12 ruser=zbadguy rhost=  user=zbadguy",
			meaning{dataset: "sudo", category: auth, action: "sudo", outcome: failed, reason: ReasonAuthFailed, user: "zbadguy"}},
		{"pam session opened", "Dec  7 14:52:59 h sudo: pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
			meaning{dataset: "sudo", category: session, action: "pam_session", outcome: ok, reason: ReasonSessionOpened, user: "alice", target: "root"}},
		{"pam session closed", "Dec  7 14:52:59 h sudo: pam_unix(sudo:session): session closed for user root",
			meaning{dataset: "sudo", category: session, action: "pam_session", outcome: ok, reason: ReasonSessionClosed, target: "root"}},
		{"pam_tally2 keeps only the header", "Dec  7 14:53:04 vskub1master01p sudo: pam_tally2(sudo:auth): user zbadguy (4001) tally 6, deny 5",
			meaning{}},
		{"unknown sudo message", "Dec  7 14:53:04 h sudo: unable to resolve host h: Name or service not known", meaning{}},
	})
}

func TestSu(t *testing.T) {
	runAuthCases(t, []authCase{
		{"FAILED SU", "Jan  1 00:00:00 h su[4242]: FAILED SU (to root) alice on pts/0",
			meaning{dataset: "su", category: auth, action: "su", outcome: failed, reason: ReasonAuthFailed, user: "alice", target: "root"}},
		{"shadow success", "Jan  1 00:00:00 h su[4242]: (to root) alice on pts/0",
			meaning{dataset: "su", category: auth, action: "su", outcome: ok, user: "alice", target: "root"}},
		{"Successful su", "Jan  1 00:00:00 h su: Successful su for root by alice",
			meaning{dataset: "su", category: auth, action: "su", outcome: ok, user: "alice", target: "root"}},
		{"util-linux FAILED su", "Jan  1 00:00:00 h su: FAILED su for root by alice",
			meaning{dataset: "su", category: auth, action: "su", outcome: failed, reason: ReasonAuthFailed, user: "alice", target: "root"}},
		{"plus line", "Jan  1 00:00:00 h su: + pts/0 alice:root",
			meaning{dataset: "su", category: auth, action: "su", outcome: ok, user: "alice", target: "root"}},
		{"minus line", "Jan  1 00:00:00 h su: - pts/0 alice:root",
			meaning{dataset: "su", category: auth, action: "su", outcome: failed, reason: ReasonAuthFailed, user: "alice", target: "root"}},
		{"BAD SU", "Apr 27 15:22:23 niban su[234]: BAD SU ger to fwmaster on /dev/ttyp0",
			meaning{dataset: "su", category: auth, action: "su", outcome: failed, reason: ReasonAuthFailed, user: "ger", target: "fwmaster"}},
		{"BSD success", "Apr 22 17:51:51 enigma su: dcid to root on /dev/ttyp1",
			meaning{dataset: "su", category: auth, action: "su", outcome: ok, user: "dcid", target: "root"}},
		{"'su root' failed", "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
			meaning{dataset: "su", category: auth, action: "su", outcome: failed, reason: ReasonAuthFailed, user: "lonvick", target: "root"}},
		{"pam auth failure", "Jan  1 00:00:00 h su: pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=pts/0 ruser=alice rhost=  user=root",
			meaning{dataset: "su", category: auth, action: "su", outcome: failed, reason: ReasonAuthFailed, user: "alice", target: "root"}},
		{"pam_authenticate failure", "Jan  1 00:00:00 h su[4242]: pam_authenticate: Authentication failure",
			meaning{dataset: "su", category: auth, action: "su", outcome: failed, reason: ReasonAuthFailed}},
		{"pam session for su -l", "Jan  1 00:00:00 h su: pam_unix(su-l:session): session opened for user root by alice(uid=1000)",
			meaning{dataset: "su", category: session, action: "pam_session", outcome: ok, reason: ReasonSessionOpened, user: "alice", target: "root"}},
		{"old Linux-PAM session", "Jun 15 04:06:18 combo su(pam_unix)[21416]: session opened for user cyrus by (uid=0)",
			meaning{dataset: "su", category: session, action: "pam_session", outcome: ok, reason: ReasonSessionOpened, target: "cyrus"}},
		{"old Linux-PAM auth failure", "Apr 27 15:22:23 niban su(pam_unix)[2298]: authentication failure; logname= uid=1342 euid=0 tty= ruser=dcid rhost=  user=root",
			meaning{dataset: "su", category: auth, action: "su", outcome: failed, reason: ReasonAuthFailed, user: "dcid", target: "root"}},
		{"unknown su message", "Apr 27 15:22:23 niban su[2921936]: failed: ttyq4 changing from ldap to root", meaning{}},
	})
}

func TestOtherPAM(t *testing.T) {
	runAuthCases(t, []authCase{
		{"login auth failure", "Jan  1 00:00:00 h login[77]: pam_unix(login:auth): authentication failure; logname=LOGIN uid=0 euid=0 tty=tty1 ruser= rhost=  user=bob",
			meaning{dataset: "pam", category: auth, action: "pam_auth", outcome: failed, reason: ReasonAuthFailed, user: "bob"}},
		{"other module, remote host", "Jan  1 00:00:00 h dovecot: pam_sss(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=bob rhost=10.9.9.9 user=bob",
			meaning{dataset: "pam", category: auth, action: "pam_auth", outcome: failed, reason: ReasonAuthFailed, user: "bob", ip: "10.9.9.9"}},
		{"cron session closed", "<14>May 21 12:00:01 hostname CROND[12393]: pam_unix(crond:session): session closed for user root",
			meaning{dataset: "pam", category: session, action: "pam_session", outcome: ok, reason: ReasonSessionClosed, user: "root"}},
		{"systemd-user session", "Jan  1 00:00:00 h systemd[1]: pam_unix(systemd-user:session): session opened for user alice(uid=1000) by alice(uid=0)",
			meaning{dataset: "pam", category: session, action: "pam_session", outcome: ok, reason: ReasonSessionOpened, user: "alice"}},
		{"old tag check pass", "Nov 11 22:46:29 localhost vsftpd(pam_unix)[25073]: check pass; user unknown",
			meaning{dataset: "pam", reason: ReasonUserUnknown}},
		{"old tag auth failure, empty rhost", "Jul  1 00:00:00 combo gdm(pam_unix)[2803]: authentication failure; logname= uid=0 euid=0 tty=:0 ruser= rhost=",
			meaning{dataset: "pam", category: auth, action: "pam_auth", outcome: failed, reason: ReasonAuthFailed}},
		{"not a PAM line", "Jan  1 00:00:00 h cron[1]: (root) CMD (run-parts /etc/cron.hourly)", meaning{}},
	})
}

func TestIsIP(t *testing.T) {
	for s, want := range map[string]bool{
		"1.2.3.4": true, "255.255.255.255": true, "0.0.0.0": true, "::1": true, "2001:db8::1": true,
		"::ffff:192.168.1.1": true, "fe80::1%eth0": false, "256.1.1.1": false, "1.2.3": false,
		"01.2.3.4": false, "1.2.3.4.5": false, "a.b.c.d": false, "host.example": false, "": false,
		"183.106.179.x": false, "1..2.3": false, "12345::": false, "10.321.1.123": false,
	} {
		require.Equal(t, want, isIP(s), s)
	}
}
