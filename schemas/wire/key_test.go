package wire

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tocsin-siem/tocsin/schemas"
)

func TestKeyerOrder(t *testing.T) {
	k, err := NewKeyer(DefaultKeyFields)
	require.NoError(t, err)
	require.Equal(t, DefaultKeyFields, k.Fields())

	var ev schemas.Event
	key, i := k.Key([]byte("old"), &ev)
	require.Equal(t, "old", string(key), "no key field set: nothing appended")
	require.Equal(t, -1, i)

	ev.Host.Name = "web1"
	key, i = k.Key(nil, &ev)
	require.Equal(t, "web1", string(key))
	require.Equal(t, 2, i)

	ev.User.Name = "root"
	key, i = k.Key(nil, &ev)
	require.Equal(t, "root", string(key))
	require.Equal(t, 1, i)

	ev.Source.Domain = "scanner.example"
	key, i = k.Key(nil, &ev)
	require.Equal(t, "scanner.example", string(key), "source.address falls back to the logged host name")
	require.Equal(t, 0, i)

	ev.Source.IP = "203.0.113.7"
	key, i = k.Key(key[:0], &ev)
	require.Equal(t, "203.0.113.7", string(key))
	require.Equal(t, 0, i)

	buf := make([]byte, 0, 64)
	require.Zero(t, testing.AllocsPerRun(100, func() { buf, _ = k.Key(buf[:0], &ev) }))

	k, err = NewKeyer([]string{"host.name", "source.port"})
	require.NoError(t, err)
	ev.Host.Name, ev.Source.Port = "", 40222
	key, i = k.Key(nil, &ev)
	require.Equal(t, "40222", string(key))
	require.Equal(t, 1, i)
}

func TestNewKeyerErrors(t *testing.T) {
	for _, c := range []struct {
		fields []string
		want   string
	}{
		{nil, "cannot key events: no key fields given; name at least one, for example source.address, user.name, host.name"},
		{[]string{"source.adress"}, `cannot key events by "source.adress": not a field events can be keyed by; did you mean source.address?`},
		{[]string{"user.nmae"}, "did you mean user.name?"},
		{[]string{"Host.Name"}, "did you mean host.name?"},
		{[]string{"colour"}, `cannot key events by "colour": not a field events can be keyed by (known fields: change.item, destination.address, `},
		{[]string{"user.name", "user.name"}, `cannot key events: field "user.name" is listed twice`},
	} {
		_, err := NewKeyer(c.fields)
		require.ErrorContains(t, err, c.want, c.fields)
	}
}

func TestAlertAndFailureKeys(t *testing.T) {
	require.Equal(t, "k:ssh-brute-force-fast/203.0.113.7|root",
		string(AppendAlertKey([]byte("k:"), &schemas.Alert{RuleID: "ssh-brute-force-fast", GroupKey: "203.0.113.7|root"})))
	require.Equal(t, "file:/var/log/auth.log", string(AppendFailureKey(nil, &schemas.ParseFailure{Source: "file:/var/log/auth.log"})))
}
