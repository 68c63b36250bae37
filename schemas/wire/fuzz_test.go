package wire

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tocsin-siem/tocsin/schemas"
)

func FuzzDecodeEvent(f *testing.F) {
	ev := sshdEvent(f)
	f.Add(AppendEvent(nil, ev))
	f.Add(AppendEvent(nil, &schemas.Event{Timestamp: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), Message: "m"}))
	f.Add([]byte{Magic, 'E', 1, 0})
	f.Add([]byte{Magic, 'E', 1, fOriginal<<2 | wtBytes, 2, 'a', 'b', fMessage<<2 | wtRef, 1, 1, 0xa0, 0x05, 0x01, 0})
	f.Fuzz(func(t *testing.T, src []byte) {
		var ev schemas.Event
		if err := DecodeEvent(src, &ev); err != nil {
			require.Equal(t, schemas.Event{}, ev)
			return
		}
		again := AppendEvent(nil, &ev)
		var ev2 schemas.Event
		require.NoError(t, DecodeEvent(again, &ev2))
		require.Equal(t, ev, ev2, "decode, encode, decode is stable")
		require.Equal(t, again, AppendEvent(nil, &ev2), "and so is the encoding")
	})
}

func FuzzDecodeAlert(f *testing.F) {
	a := testAlert(f)
	doc, err := AppendAlert(nil, a)
	require.NoError(f, err)
	f.Add(doc)
	a.GroupKey = "\xff"
	doc, err = AppendAlert(nil, a)
	require.NoError(f, err)
	f.Add(doc)
	f.Add([]byte(`{"v":"alert/1","events":[{"@timestamp":"2025-12-10T06:55:48.123456789Z"}],"bytes":{"events/0/message":"/w=="}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		var a schemas.Alert
		if err := DecodeAlert(src, &a); err != nil {
			return
		}
		again, err := AppendAlert(nil, &a)
		if err != nil {
			// Only a time JSON cannot write (a year past 9999 after the
			// conversion to UTC) may fail.
			require.ErrorContains(t, err, "year outside of range")
			return
		}
		var a2 schemas.Alert
		require.NoError(t, DecodeAlert(again, &a2), "%s", again)
		require.Equal(t, a, a2, "decode, encode, decode is stable")
	})
}

func FuzzDecodeFailure(f *testing.F) {
	doc, err := AppendFailure(nil, &schemas.ParseFailure{Source: "udp", Reason: "no_header", Raw: []byte("x\xff"),
		Detail: "\xfe", Received: time.Unix(1, 2)})
	require.NoError(f, err)
	f.Add(doc)
	f.Add([]byte(`{"v":"failure/1","raw":"line","received":"2025-12-10T06:55:48Z"}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		var fl schemas.ParseFailure
		if err := DecodeFailure(src, &fl); err != nil {
			return
		}
		again, err := AppendFailure(nil, &fl)
		if err != nil {
			require.ErrorContains(t, err, "year outside of range")
			return
		}
		var f2 schemas.ParseFailure
		require.NoError(t, DecodeFailure(again, &f2), "%s", again)
		require.Equal(t, fl, f2, "decode, encode, decode is stable")
	})
}
