package parse

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// The shared data set has no generic key=value sample (its FortiGate
// lines belong to the FortiGate reader); these lines follow the
// documented packet-filter format of Sophos UTM's ulogd and common
// application logs.
func TestKVLines(t *testing.T) {
	ev := genMustParse(t, `Jan 18 11:07:53 utm ulogd[5316]: id="2001" severity="info" sys="SecureNet" sub="packetfilter" name="Packet dropped" action="drop" fwrule="60001" initf="eth0" srcmac="00:11:22:33:44:55" dstmac="66:77:88:99:aa:bb" srcip="192.0.2.10" dstip="198.51.100.20" proto="6" length="60" srcport="51514" dstport="22" tcpflags="SYN"`)
	require.Equal(t, DatasetKV, ev.Event.Dataset)
	require.Equal(t, "utm", ev.Host.Name)
	require.Equal(t, "ulogd", ev.Process.Name)
	require.Equal(t, "192.0.2.10", ev.Source.IP)
	require.Equal(t, 51514, ev.Source.Port)
	require.Equal(t, "198.51.100.20", ev.Destination.IP)
	require.Equal(t, 22, ev.Destination.Port)
	require.Equal(t, "tcp", ev.Network.Transport)
	require.Equal(t, "00:11:22:33:44:55", ev.Source.MAC)
	require.Equal(t, "66:77:88:99:aa:bb", ev.Destination.MAC)
	require.Equal(t, schemas.CategoryNetwork, ev.Event.Category)
	require.Equal(t, schemas.TypeDenied, ev.Event.Type)
	require.Equal(t, genActionConnectionDenied, ev.Event.Action)
	require.Equal(t, "drop", ev.Labels["action"])
	require.Equal(t, "Packet dropped", ev.Labels["name"])
	require.Equal(t, "info", ev.Labels["severity"])
	require.Equal(t, "SYN", ev.Labels["tcpflags"])

	// Quotes of both kinds, escapes, free text between pairs, a time.
	ev = genMustParse(t, `time=2024-01-02T03:04:05Z user='bob smith' result=failure msg="said \"hi\"\tthen left" note src=2001:DB8::1 pid=42`)
	require.Equal(t, utc(2024, 1, 2, 3, 4, 5, 0), ev.Timestamp)
	require.Equal(t, "bob smith", ev.User.Name)
	require.Equal(t, schemas.OutcomeFailure, ev.Event.Outcome)
	require.Equal(t, "said \"hi\"\tthen left", ev.Message)
	require.Equal(t, "2001:db8::1", ev.Source.IP)
	require.Equal(t, 42, ev.Process.PID)
	require.NotContains(t, ev.Labels, "note")

	// An antivirus detection written as pairs.
	ev = genMustParse(t, `virus=Eicar-Test-Signature file=/srv/in/eicar.com src=192.0.2.1 action=blocked sha256=275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F`)
	require.Equal(t, schemas.CategoryMalware, ev.Event.Category)
	require.Equal(t, genActionMalwareDetected, ev.Event.Action)
	require.Equal(t, "Eicar-Test-Signature", ev.Threat.Name)
	require.Equal(t, "/srv/in/eicar.com", ev.File.Path)
	require.Equal(t, "eicar.com", ev.File.Name)
	require.Equal(t, "blocked", ev.Event.Reason)
	require.Equal(t, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", ev.File.Hash.SHA256)

	// Upper-case keys map too; a value that does not fit its field is a
	// label.
	ev = genMustParse(t, `SRC=10.0.0.1 DST=not-an-address DPT=80 USER=carol`)
	require.Equal(t, "10.0.0.1", ev.Source.IP)
	require.Equal(t, "not-an-address", ev.Labels["DST"])
	require.Equal(t, 80, ev.Destination.Port)
	require.Equal(t, "carol", ev.User.Name)
}

func TestKVMalformed(t *testing.T) {
	ev, reason := genParseLine(t, `a=1 b=2 c="never closed`)
	require.Equal(t, ReasonBadKV, reason)
	require.Equal(t, "1", ev.Labels["a"])
	_, reason = genParseLine(t, `a=1 b=2 c="x"y`)
	require.Equal(t, ReasonBadKV, reason)
	// A listener told to expect key=value fails other text.
	var e schemas.Event
	err := New(Options{Format: "kv"}).Parse("hello world", testReceived, &e)
	require.Equal(t, ReasonBadKV, reasonOf(t, err))
}

func TestKVSniff(t *testing.T) {
	for _, s := range []string{"a=1 b=2 c=3", `a="x y" b='z' c=`, "k1=v1\tk2=v2 k3=v3 and more"} {
		require.True(t, kvSniff(s), s)
	}
	for _, s := range []string{"a=1 b=2", "a=1 b=2 free text", "hello a=1 b=2 c=3", `a="x b=2 c=3`, "=1 b=2 c=3", "1a=1 b=2 c=3", ""} {
		require.False(t, kvSniff(s), s)
	}
	require.Zero(t, testing.AllocsPerRun(100, func() { kvSniff(`id="2001" severity="info" sys="SecureNet"`) }))
}

func FuzzKV(f *testing.F) {
	for _, s := range []string{
		`id="2001" severity="info" sys="SecureNet" action="drop" srcip="192.0.2.10" dstport="22"`,
		`time=2024-01-02T03:04:05Z user='bob smith' msg="said \"hi\"" src=2001:DB8::1`,
		`a=1 b=2 c="never closed`,
		`Jan 18 11:07:53 utm ulogd[5316]: a=1 b=2 c=3 virus=X`,
	} {
		f.Add(s)
	}
	p := New(Options{})
	reasons := genKnownReasons()
	f.Fuzz(func(t *testing.T, line string) {
		var ev schemas.Event
		err := p.Parse(line, testReceived, &ev)
		genCheckEvent(t, line, &ev, err, reasons)
	})
}

func BenchmarkParseKV(b *testing.B) {
	genBench(b,
		`Jan 18 11:07:53 utm ulogd[5316]: id="2001" severity="info" sys="SecureNet" sub="packetfilter" name="Packet dropped" action="drop" fwrule="60001" initf="eth0" srcip="192.0.2.10" dstip="198.51.100.20" proto="6" srcport="51514" dstport="22"`,
	)
}
