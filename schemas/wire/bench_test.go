package wire

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tocsin-siem/tocsin/ingest/parse"
	"github.com/tocsin-siem/tocsin/schemas"
)

// sshdLine is a typical failed login as sshd logs it through rsyslog.
const sshdLine = "<38>Dec 10 06:55:48 web1 sshd[4242]: Failed password for invalid user admin from 203.0.113.7 port 40222 ssh2"

// sshdEvent parses sshdLine the way ingest does, ID and sender included.
func sshdEvent(tb testing.TB) *schemas.Event {
	tb.Helper()
	var ev schemas.Event
	received := time.Date(2025, 12, 10, 6, 55, 48, 123456789, time.UTC)
	require.NoError(tb, parse.New(parse.Options{}).Parse(sshdLine, received, &ev))
	ev.ID = 0x9e3779b97f4a7c15
	ev.Log.Source.Address = "192.0.2.10"
	require.Equal(tb, schemas.ActionSSHLogin, ev.Event.Action)
	require.Equal(tb, "203.0.113.7", ev.Source.IP)
	return &ev
}

func BenchmarkAppendEvent(b *testing.B) {
	ev := sshdEvent(b)
	buf := AppendEvent(nil, ev)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEvent(buf[:0], ev)
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	buf := AppendEvent(nil, sshdEvent(b))
	var ev schemas.Event
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeEvent(buf, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendAlert(b *testing.B) {
	a := testAlert(b)
	a.Events = a.Events[:1]
	buf, err := AppendAlert(nil, a)
	require.NoError(b, err)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendAlert(buf[:0], a)
	}
}

func BenchmarkDecodeAlert(b *testing.B) {
	a := testAlert(b)
	a.Events = a.Events[:1]
	buf, err := AppendAlert(nil, a)
	require.NoError(b, err)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeAlert(buf, a); err != nil {
			b.Fatal(err)
		}
	}
}
