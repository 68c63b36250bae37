package parse

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// configCase is a configuration-change message and what tocsin reads.
type configCase struct {
	name, line                    string
	dataset, code, action, reason string
	user, item, cmd, srcIP        string
	vendor, product, observerHost string
	severity                      int
	stamp                         time.Time
}

// The lines below were written for these tests from the message formats
// in the vendors' documentation: Cisco's IOS and NX-OS system message
// guides (%SYS-5-CONFIG_I, %PARSER-5-CFGLOG_LOGGEDCMD with "archive log
// config", %VSHD-5-VSHD_SYSLOG_CONFIG_I), Juniper's Junos system log
// reference (UI_COMMIT, UI_CFG_AUDIT_SET, UI_CFG_AUDIT_OTHER), MikroTik's
// RouterOS logging documentation (topics, then the message; RouterOS 7
// adds the session and the command) and HPE's ArubaOS-Switch event log
// reference (module "mgr:"), whose exact wording for configuration
// changes we could not confirm in the documentation we could read. The
// shared data set holds no such lines.
var configCases = []configCase{
	{name: "ios from vty with user and address", line: "<189>Jan  1 10:00:00 core-sw1 145: %SYS-5-CONFIG_I: Configured from console by netadmin on vty0 (192.0.2.15)",
		dataset: "cisco_ios", code: "CONFIG_I", action: "config_changed", reason: "console", user: "netadmin", item: "running-config",
		srcIP: "192.0.2.15", vendor: "Cisco", product: "IOS", observerHost: "core-sw1", severity: 5, stamp: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)},
	{name: "ios on the console", line: "<189>Jan  1 10:00:00 core-sw1 146: %SYS-5-CONFIG_I: Configured from console by console",
		dataset: "cisco_ios", code: "CONFIG_I", action: "config_changed", reason: "console", user: "console", item: "running-config",
		vendor: "Cisco", product: "IOS", observerHost: "core-sw1", severity: 5, stamp: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)},
	{name: "ios vty without user", line: "<189>Jan  1 10:00:00 core-sw1 147: %SYS-5-CONFIG_I: Configured from console by vty1 (198.51.100.4)",
		dataset: "cisco_ios", code: "CONFIG_I", action: "config_changed", reason: "console", item: "running-config",
		srcIP: "198.51.100.4", vendor: "Cisco", product: "IOS", observerHost: "core-sw1", severity: 5, stamp: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)},
	{name: "ios tag as syslog tag", line: "Jan  1 10:00:00 edge-r2 %SYS-5-CONFIG_I: Configured from memory by admin on console",
		dataset: "cisco_ios", code: "CONFIG_I", action: "config_changed", reason: "memory", user: "admin", item: "running-config",
		vendor: "Cisco", product: "IOS", observerHost: "edge-r2", severity: 5, stamp: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)},
	{name: "ios device time without syslog time", line: "<189>52: *Mar  1 00:05:37.123: %SYS-5-CONFIG_I: Configured from console by admin on vty0 (192.0.2.15)",
		dataset: "cisco_ios", code: "CONFIG_I", action: "config_changed", reason: "console", user: "admin", item: "running-config",
		srcIP: "192.0.2.15", vendor: "Cisco", product: "IOS", severity: 5, stamp: time.Date(2026, 3, 1, 0, 5, 37, 123e6, time.UTC)},
	{name: "ios device time with origin hostname", line: "<189>53: core-sw1: *Mar  1 00:05:38.000: %SYS-5-CONFIG_I: Configured from console by admin on vty0 (192.0.2.15)",
		dataset: "cisco_ios", code: "CONFIG_I", action: "config_changed", reason: "console", user: "admin", item: "running-config",
		srcIP: "192.0.2.15", vendor: "Cisco", product: "IOS", observerHost: "core-sw1", severity: 5, stamp: time.Date(2026, 3, 1, 0, 5, 38, 0, time.UTC)},
	{name: "ios command log", line: "Jan  1 10:00:01 core-sw1 148: 000101: Jan  1 10:00:01.500: %PARSER-5-CFGLOG_LOGGEDCMD: User:netadmin  logged command:interface GigabitEthernet1/0/24",
		dataset: "cisco_ios", code: "CFGLOG_LOGGEDCMD", action: "config_changed", user: "netadmin", item: "interface GigabitEthernet1/0/24",
		cmd: "interface GigabitEthernet1/0/24", vendor: "Cisco", product: "IOS", observerHost: "core-sw1", severity: 5, stamp: time.Date(2026, 1, 1, 10, 0, 1, 500000000, time.UTC)},
	{name: "ios command log, exec command", line: "Jan  1 10:00:01 core-sw1 149: %PARSER-5-CFGLOG_LOGGEDCMD: User:netadmin  logged command:!exec: enable",
		dataset: "cisco_ios", code: "CFGLOG_LOGGEDCMD", user: "netadmin", cmd: "!exec: enable",
		vendor: "Cisco", product: "IOS", observerHost: "core-sw1", severity: 5, stamp: time.Date(2026, 1, 1, 10, 0, 1, 0, time.UTC)},
	{name: "ios line without header", line: "*Mar  1 00:05:39.000: %PARSER-5-CFGLOG_LOGGEDCMD: User:console  logged command:no ip http server",
		dataset: "cisco_ios", code: "CFGLOG_LOGGEDCMD", action: "config_changed", user: "console", item: "no ip http server", cmd: "no ip http server",
		vendor: "Cisco", product: "IOS", severity: 5, stamp: time.Date(2026, 3, 1, 0, 5, 39, 0, time.UTC)},
	{name: "ios, older mnemonic", line: "Jan  1 10:00:00 edge-r2 %SYS-5-CONFIG: Configured from 192.0.2.9 by admin",
		dataset: "cisco_ios", code: "CONFIG", action: "config_changed", reason: "192.0.2.9", user: "admin", item: "running-config",
		vendor: "Cisco", product: "IOS", observerHost: "edge-r2", severity: 5, stamp: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)},
	{name: "nx-os", line: "Jan  1 10:00:02 n9k-1 %VSHD-5-VSHD_SYSLOG_CONFIG_I: Configured from vty by admin on 192.0.2.77@pts/0",
		dataset: "cisco_nxos", code: "VSHD_SYSLOG_CONFIG_I", action: "config_changed", reason: "vty", user: "admin", item: "running-config",
		srcIP: "192.0.2.77", vendor: "Cisco", product: "NX-OS", observerHost: "n9k-1", severity: 5, stamp: time.Date(2026, 1, 1, 10, 0, 2, 0, time.UTC)},
	{name: "junos commit", line: "Jan  1 10:00:03 mx-1 mgd[4410]: UI_COMMIT: User 'jdoe' requested 'commit' operation (comment: change 42)",
		dataset: "juniper_junos", code: "UI_COMMIT", action: "config_changed", reason: "commit", user: "jdoe", item: "configuration",
		vendor: "Juniper", product: "Junos", observerHost: "mx-1", stamp: time.Date(2026, 1, 1, 10, 0, 3, 0, time.UTC)},
	{name: "junos audit set", line: "Jan  1 10:00:03 mx-1 mgd[4410]: UI_CFG_AUDIT_SET: User 'jdoe' set: [system services ssh root-login] \"deny\" -> \"allow\"",
		dataset: "juniper_junos", code: "UI_CFG_AUDIT_SET", action: "config_changed", reason: "set", user: "jdoe", item: "system services ssh root-login",
		vendor: "Juniper", product: "Junos", observerHost: "mx-1", stamp: time.Date(2026, 1, 1, 10, 0, 3, 0, time.UTC)},
	{name: "junos audit delete", line: "Jan  1 10:00:03 mx-1 mgd[4410]: UI_CFG_AUDIT_OTHER: User 'jdoe' delete: [firewall filter PROTECT-RE]",
		dataset: "juniper_junos", code: "UI_CFG_AUDIT_OTHER", action: "config_changed", reason: "delete", user: "jdoe", item: "firewall filter PROTECT-RE",
		vendor: "Juniper", product: "Junos", observerHost: "mx-1", stamp: time.Date(2026, 1, 1, 10, 0, 3, 0, time.UTC)},
	{name: "junos structured", line: `<189>1 2026-01-01T10:00:04.000Z mx-1 mgd 4410 UI_COMMIT [junos@2636.1.1.1.2.25 username="jdoe" command="commit"] User 'jdoe' requested 'commit' operation (comment: none)`,
		dataset: "juniper_junos", code: "UI_COMMIT", action: "config_changed", reason: "commit", user: "jdoe", item: "configuration",
		vendor: "Juniper", product: "Junos", observerHost: "mx-1", stamp: time.Date(2026, 1, 1, 10, 0, 4, 0, time.UTC)},
	{name: "junos other message", line: "Jan  1 10:00:03 mx-1 mgd[4410]: UI_CMDLINE_READ_LINE: User 'jdoe', command 'show configuration '",
		dataset: "juniper_junos", code: "UI_CMDLINE_READ_LINE", vendor: "Juniper", product: "Junos", observerHost: "mx-1", stamp: time.Date(2026, 1, 1, 10, 0, 3, 0, time.UTC)},
	{name: "routeros 6", line: "<30>Jan  1 10:00:05 gw-home system,info filter rule changed by admin",
		dataset: "mikrotik", action: "config_changed", reason: "changed", user: "admin", item: "filter rule",
		vendor: "MikroTik", product: "RouterOS", observerHost: "gw-home", stamp: time.Date(2026, 1, 1, 10, 0, 5, 0, time.UTC)},
	{name: "routeros 7", line: "<30>Jan  1 10:00:06 gw-home system,info,account user backdoor added by winbox-3.41/tcp-msg(winbox):admin@192.0.2.200/action:17 (/user add group=full name=backdoor)",
		dataset: "mikrotik", action: "config_changed", reason: "added", user: "admin", item: "user backdoor", srcIP: "192.0.2.200",
		cmd: "/user add group=full name=backdoor", vendor: "MikroTik", product: "RouterOS", observerHost: "gw-home", stamp: time.Date(2026, 1, 1, 10, 0, 6, 0, time.UTC)},
	{name: "aruba running config", line: "<190>Jan  1 10:00:07 sw-floor2 00142 mgr:  Running Config Change by manager",
		dataset: "aruba_switch", action: "config_changed", user: "manager", item: "running-config",
		vendor: "HPE", product: "ArubaOS-Switch", observerHost: "sw-floor2", stamp: time.Date(2026, 1, 1, 10, 0, 7, 0, time.UTC)},
	{name: "aruba startup config", line: "<190>Jan  1 10:00:08 sw-floor2 00131 mgr:  Startup configuration changed by CLI. New seq. number 23",
		dataset: "aruba_switch", action: "config_changed", reason: "CLI", item: "startup-config",
		vendor: "HPE", product: "ArubaOS-Switch", observerHost: "sw-floor2", stamp: time.Date(2026, 1, 1, 10, 0, 8, 0, time.UTC)},
}

func TestConfigChange(t *testing.T) {
	p := New(Options{})
	for _, c := range configCases {
		t.Run(c.name, func(t *testing.T) {
			var ev schemas.Event
			require.NoError(t, p.Parse(c.line, testReceived, &ev))
			e := ev.Event
			require.Equal(t, c.dataset, e.Dataset)
			require.Equal(t, c.code, e.Code)
			require.Equal(t, c.action, e.Action)
			require.Equal(t, c.reason, e.Reason)
			require.Equal(t, c.severity, e.Severity)
			if c.action != "" {
				require.Equal(t, schemas.CategoryConfiguration, e.Category)
				require.Equal(t, schemas.TypeChange, e.Type)
				require.Equal(t, schemas.OutcomeSuccess, e.Outcome)
			} else {
				require.Empty(t, e.Category)
			}
			require.Equal(t, c.user, ev.User.Name)
			require.Equal(t, c.item, ev.Change.Item)
			require.Equal(t, c.cmd, ev.Process.CommandLine)
			require.Equal(t, c.srcIP, ev.Source.IP)
			require.Equal(t, c.vendor, ev.Observer.Vendor)
			require.Equal(t, c.product, ev.Observer.Product)
			require.Equal(t, c.observerHost, ev.Observer.Hostname)
			require.Equal(t, c.observerHost, ev.Host.Name)
			require.True(t, c.stamp.Equal(ev.Timestamp), "timestamp %s, want %s", ev.Timestamp, c.stamp)
		})
	}
}

func TestConfigChangeMalformed(t *testing.T) {
	p := New(Options{})
	for _, line := range []string{
		"Jan  1 10:00:00 core-sw1 145: %SYS-5-CONFIG_I Configured from console by console",
		"Jan  1 10:00:00 core-sw1 146: *Mar  1 00:00:00: %SYS-5-CONFIG_I",
	} {
		var ev schemas.Event
		err := p.Parse(line, testReceived, &ev)
		require.Equal(t, ReasonBadConfigChange, reasonOf(t, err), "line %q", line)
		require.Equal(t, DatasetCiscoIOS, ev.Event.Dataset)
	}
}

// Lines with a syslog header parse without allocating; a line without
// one pays for the header reader's failure before config_change claims it.
func TestConfigChangeDoesNotAllocate(t *testing.T) {
	p := New(Options{})
	for _, c := range configCases {
		if c.line[0] == '*' {
			continue
		}
		var ev schemas.Event
		allocs := testing.AllocsPerRun(100, func() {
			ev.Reset()
			if err := p.Parse(c.line, testReceived, &ev); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs, "line %q", c.line)
	}
}

func BenchmarkParseConfigChange(b *testing.B) {
	benchLine(b, configCases[0].line)
}
