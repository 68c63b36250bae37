package parse

import (
	"github.com/tocsin-siem/tocsin/schemas"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitBatch(t *testing.T) {
	for _, c := range []struct {
		doc  string
		want []string
	}{
		{`{"Records":[{"eventName":"GetObject"},{"eventName":"PutObject"}]}`, []string{`{"eventName":"GetObject"}`, `{"eventName":"PutObject"}`}},
		{`{"records":[{"a":1}]}`, []string{`{"a":1}`}},
		{`{"events":[{"Id":1116}, {"Id":1117}]}`, []string{`{"Id":1116}`, `{"Id":1117}`}},
		{`{"events":[{"Id":1116}],"other":1}`, nil},
		{`{"events":[1,2]}`, nil},
		{`{"events":[]}`, nil},
		{`{"Records":{"a":1}}`, nil},
		{`{"message":"x"}`, nil},
		{`[{"a":1}]`, nil},
	} {
		got := SplitRecords([]byte(c.doc))
		var s []string
		for _, r := range got {
			s = append(s, string(r))
		}
		require.Equal(t, c.want, s, c.doc)
	}
}

func TestFormatsAndValidate(t *testing.T) {
	f := Formats()
	require.Equal(t, []string{FormatAuto, FormatSyslog}, f[:2])
	for _, name := range []string{"cef", "windows", "cisco_asa", "tls_scan", "json"} {
		require.Contains(t, f, name)
	}
	require.NoError(t, Options{Format: "fortigate", Disabled: []string{"kv", "json"}}.Validate())
	err := Options{Format: "fortigat", Disabled: []string{"kv", "nosuch"}}.Validate()
	require.ErrorContains(t, err, `unknown format "fortigat"`)
	require.ErrorContains(t, err, `cannot disable unknown format "nosuch"`)
}

// A listener told its format reads the MSG of a syslog line with that
// reader only, and a line of another format fails with that reader's
// reason rather than being guessed.
func TestForcedFormat(t *testing.T) {
	p := New(Options{Format: "cef"})
	var ev = new(schemas.Event)
	require.NoError(t, p.Parse("<134>Dec  4 10:00:00 fw1 CEF:0|Vendor|Prod|1.0|100|Blocked|5|src=192.0.2.7 dst=198.51.100.2", testReceived, ev))
	require.Equal(t, "cef", ev.Event.Dataset)
	require.Equal(t, "192.0.2.7", ev.Source.IP)
	require.Equal(t, "fw1", ev.Log.Syslog.Hostname)

	ev = new(schemas.Event)
	err := p.Parse("Dec 10 06:55:48 web1 sshd[4]: Failed password for root from 192.0.2.7 port 4022 ssh2", testReceived, ev)
	require.Error(t, err)
	require.Equal(t, ReasonBadCEF, err.(*Error).Reason)

	// The same sshd line in auto mode, and with sshd's reader the only
	// one left on, still reads as sshd; "syslog" ignores CEF.
	for _, o := range []Options{{}, {Format: FormatSyslog}} {
		ev = new(schemas.Event)
		require.NoError(t, New(o).Parse("Dec 10 06:55:48 web1 sshd[4]: Failed password for root from 192.0.2.7 port 4022 ssh2", testReceived, ev))
		require.Equal(t, DatasetSSHD, ev.Event.Dataset)
	}
	ev = new(schemas.Event)
	require.NoError(t, New(Options{Format: FormatSyslog}).Parse("<134>Dec  4 10:00:00 fw1 CEF:0|V|P|1|100|B|5|src=192.0.2.7", testReceived, ev))
	require.Empty(t, ev.Event.Dataset)
	require.Empty(t, ev.Source.IP)
}

// A switched-off reader leaves its messages to the others: a FortiGate
// record without the fortigate reader is read by the generic key=value
// one, and without both it is a plain message.
func TestDisabledFormats(t *testing.T) {
	line := `date=2024-05-15 time=18:03:36 devname="FG1" devid="FGT60" logid="0000000013" type="traffic" subtype="forward" srcip=192.0.2.5 dstip=198.51.100.9 action="deny"`
	ev := new(schemas.Event)
	require.NoError(t, New(Options{}).Parse(line, testReceived, ev))
	require.Equal(t, DatasetFortiGate, ev.Event.Dataset)
	ev = new(schemas.Event)
	require.NoError(t, New(Options{Disabled: []string{"fortigate"}}).Parse(line, testReceived, ev))
	require.Equal(t, DatasetKV, ev.Event.Dataset)
	ev = new(schemas.Event)
	err := New(Options{Disabled: []string{"fortigate", "kv"}}).Parse(line, testReceived, ev)
	require.Error(t, err)
	require.Equal(t, ReasonNoHeader, err.(*Error).Reason)
}

// A format told to a listener still has to recognise each line: text of
// another kind fails with the format's reason, not as its event.
func TestForcedFormatRefusesOtherText(t *testing.T) {
	for _, c := range []struct{ format, line, reason string }{
		{"fortigate", "hello world plain text", ReasonBadFortiGate},
		{"fortigate", "<166>Apr 29 2013 12:59:50: %ASA-6-302013: Built outbound TCP connection 1 for outside:192.0.2.1/80 (192.0.2.1/80) to inside:10.0.0.1/1772 (10.0.0.1/1772)", ReasonBadFortiGate},
		{"clamav", "<13>Dec  5 01:00:00 host app: hello world", ReasonNotThisFormat},
		{"linux_accounts", "<13>Dec  5 01:00:00 host app: hello world", ReasonBadAccountMessage},
		{"config_change", "hello world plain text", ReasonBadConfigChange},
		{"windows", `{"eventName":"GetObject"}`, ReasonNotWindowsEvent},
	} {
		ev := new(schemas.Event)
		err := New(Options{Format: c.format}).Parse(c.line, testReceived, ev)
		require.Error(t, err, c.format)
		require.Equal(t, c.reason, err.(*Error).Reason, c.format)
		require.Empty(t, ev.Event.Dataset, c.format)
	}
}

// A text line without syslog header that a reader takes keeps its text as
// the message, as the MSG after a header would be.
func TestHeaderlessLineKeepsItsMessage(t *testing.T) {
	line := "%ASA-2-106006: Deny inbound UDP from 192.0.2.1/53 to 10.0.0.1/1025 on interface outside"
	ev := mustParse(t, line)
	require.Equal(t, DatasetCiscoASA, ev.Event.Dataset)
	require.Equal(t, line, ev.Message)
	ev = mustParse(t, `{"message":"","event":{"action":"x"}}`)
	require.Empty(t, ev.Message, "a JSON record is its original, not its message")
}
