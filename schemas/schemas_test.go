package schemas

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSeverityRoundTrip(t *testing.T) {
	for _, s := range []Severity{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical} {
		b, err := json.Marshal(s)
		require.NoError(t, err)
		var back Severity
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, s, back)
	}
	got, err := ParseSeverity("HIGH")
	require.NoError(t, err)
	require.Equal(t, SeverityHigh, got)
	_, err = ParseSeverity("urgent")
	require.ErrorContains(t, err, "info, low, medium, high, critical")
	require.True(t, SeverityCritical > SeverityHigh)
}

func TestStatus(t *testing.T) {
	_, err := ParseStatus("closed")
	require.Error(t, err)
	s, err := ParseStatus("acknowledged")
	require.NoError(t, err)
	require.True(t, s.Active())
	require.False(t, StatusResolved.Active())
}

func TestFieldGettersReadTheirField(t *testing.T) {
	var e Event
	e.Source.IP, e.Source.Port, e.Source.Domain = "192.0.2.1", 22, "x.example"
	e.User.Name, e.User.Target.Name = "alice", "root"
	e.Host.Name, e.Process.Name, e.Process.PID = "web1", "sshd", 42
	e.Event.Action, e.Event.Outcome = ActionSSHLogin, OutcomeFailure
	e.Log.Source.Address = "127.0.0.1"
	want := map[string]string{
		"source.ip": "192.0.2.1", "source.port": "22", "source.domain": "x.example",
		"user.name": "alice", "user.target.name": "root", "host.name": "web1",
		"process.name": "sshd", "process.pid": "42", "event.action": "ssh_login",
		"event.outcome": "failure", "log.source.address": "127.0.0.1",
	}
	for name, v := range want {
		f, ok := LookupField(name)
		require.True(t, ok, name)
		require.Equal(t, v, f.Get(&e), name)
	}
	ip, _ := LookupField("source.ip")
	require.Equal(t, "ip", ip.EntityType)
	_, ok := LookupField("source.iq")
	require.False(t, ok)
	require.Contains(t, FieldNames(), "user.target.name")
	var empty Event
	port, _ := LookupField("source.port")
	require.Equal(t, "", port.Get(&empty), "a missing number reads as empty, not 0")
}

func TestSourceAddressIsTheIPOrTheName(t *testing.T) {
	f, ok := LookupField("source.address")
	require.True(t, ok)
	var e Event
	e.Source.Domain = "scanner.example.net"
	require.Equal(t, "scanner.example.net", f.Get(&e))
	require.Equal(t, "domain", EntityTypeOf(f, f.Get(&e)))
	e.Source.IP = "2001:db8::7"
	require.Equal(t, "2001:db8::7", f.Get(&e))
	require.Equal(t, "ip", EntityTypeOf(f, f.Get(&e)))
	user, _ := LookupField("user.name")
	require.Equal(t, "user", EntityTypeOf(user, "alice"))
	pid, _ := LookupField("process.pid")
	require.Equal(t, "process.pid", EntityTypeOf(pid, "42"))
}
