package stream

import (
	"bytes"
	"compress/gzip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func sampleCheckpoint() *checkpoint {
	return &checkpoint{
		Topic:     "tocsin.events",
		Partition: 3,
		Next:      123456,
		SavedAt:   time.Date(2026, 9, 1, 12, 0, 0, 123456789, time.UTC),
		Rules:     map[string]string{"a": "h1", "b": "h2"},
		Engines: []engineState{
			{KeySet: "", Snapshot: []byte(`{"format":"tocsin-engine-snapshot"}`)},
			{KeySet: "user.name", Origins: map[int32]int64{0: 17, 5: 1 << 40}, Snapshot: []byte("x")},
		},
		HighWater: 1_788_000_000_000_000_000,
		Marks:     []markState{{Origin: 0, HighWater: -5}, {Origin: 2, HighWater: 1 << 60, Idle: true}},
		Held: []heldState{
			{KeySet: "user.name", Origin: 2, Offset: 99, Event: []byte("event bytes")},
			{KeySet: "host.name", Origin: 0, Offset: 1 << 33, Event: []byte{}},
		},
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	c := sampleCheckpoint()
	data, err := encodeCheckpoint([]byte("prefix"), c)
	require.NoError(t, err)
	require.Equal(t, "prefix", string(data[:6]))
	got, err := decodeCheckpoint(data[6:])
	require.NoError(t, err)
	require.Equal(t, c, got)

	// The header is plain: magic then version, then a gzip stream.
	require.Equal(t, "TKCP\x02", string(data[6:11]))
	require.Equal(t, []byte{0x1f, 0x8b}, data[11:13])

	empty := &checkpoint{Topic: "t", Rules: map[string]string{}, SavedAt: time.Unix(0, 0).UTC()}
	data, err = encodeCheckpoint(nil, empty)
	require.NoError(t, err)
	got, err = decodeCheckpoint(data)
	require.NoError(t, err)
	require.Equal(t, empty, got)
}

func TestCheckpointRefusals(t *testing.T) {
	good, err := encodeCheckpoint(nil, sampleCheckpoint())
	require.NoError(t, err)

	_, err = decodeCheckpoint(good[:3])
	require.ErrorContains(t, err, "shorter than its 5-byte header")

	bad := append([]byte("XXXX"), good[4:]...)
	_, err = decodeCheckpoint(bad)
	require.ErrorIs(t, err, errNotCheckpoint)

	newer := bytes.Clone(good)
	newer[4] = 3
	_, err = decodeCheckpoint(newer)
	require.ErrorContains(t, err, "version 3 was written by a newer tocsin")
	newer[4] = 0
	_, err = decodeCheckpoint(newer)
	require.ErrorContains(t, err, "unknown version 0")

	_, err = decodeCheckpoint(good[:len(good)-3])
	require.ErrorContains(t, err, "cannot decompress")

	// A well-compressed body that ends early names what was cut.
	body := rawBody(t, good)
	for _, cut := range []int{1, len(body) / 2, len(body) - 1} {
		_, err = decodeCheckpoint(frame(t, body[:cut]))
		require.Error(t, err, "cut at %d", cut)
	}
	_, err = decodeCheckpoint(frame(t, append(bytes.Clone(body), 0)))
	require.ErrorContains(t, err, "1 bytes left over")

	// A count that cannot fit is refused before anything is allocated.
	huge := []byte{0}                     // topic ""
	huge = append(huge, 0, 0, 0)          // partition, next, saved at
	huge = append(huge, 0xff, 0xff, 0x7f) // rules: 2M
	_, err = decodeCheckpoint(frame(t, huge))
	require.ErrorContains(t, err, "cannot fit")

	neg := []byte{0, 1, 0, 0, 0, 0, 0, 0, 0} // partition -1
	_, err = decodeCheckpoint(frame(t, neg))
	require.ErrorContains(t, err, "partition -1")
}

// TestCheckpointVersion1 reads a record of the first version, which had
// no reordering state: it is the version 2 body without its last fields.
func TestCheckpointVersion1(t *testing.T) {
	c := sampleCheckpoint()
	c.HighWater, c.Marks, c.Held = 0, nil, nil
	data, err := encodeCheckpoint(nil, c)
	require.NoError(t, err)
	body := rawBody(t, data)
	require.Equal(t, []byte{0, 0, 0}, body[len(body)-3:], "high water, marks and held copies, all zero")
	v1 := frame(t, body[:len(body)-3])
	v1[len(checkpointMagic)] = 1
	got, err := decodeCheckpoint(v1)
	require.NoError(t, err)
	require.Equal(t, c, got)
	// The same body read as version 2 lacks its last fields.
	_, err = decodeCheckpoint(frame(t, body[:len(body)-3]))
	require.ErrorContains(t, err, "high water")
}

func rawBody(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data[headerLen:]))
	require.NoError(t, err)
	var b bytes.Buffer
	_, err = b.ReadFrom(zr)
	require.NoError(t, err)
	return b.Bytes()
}

func frame(t testing.TB, body []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(checkpointMagic)
	b.WriteByte(checkpointVersion)
	zw := gzip.NewWriter(&b)
	_, err := zw.Write(body)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// FuzzCheckpoint decodes arbitrary bytes, framed and unframed: it must
// never panic, and what it accepts must encode and decode to itself.
func FuzzCheckpoint(f *testing.F) {
	good, err := encodeCheckpoint(nil, sampleCheckpoint())
	require.NoError(f, err)
	f.Add(good, false)
	f.Add(rawBody(&testing.T{}, good), true)
	f.Add([]byte("TKCP\x01"), false)
	f.Add([]byte{0, 0, 0, 0, 0, 0}, true)
	f.Fuzz(func(t *testing.T, data []byte, wrap bool) {
		if wrap {
			data = frame(t, data)
		}
		c, err := decodeCheckpoint(data)
		if err != nil {
			return
		}
		again, err := encodeCheckpoint(nil, c)
		require.NoError(t, err)
		c2, err := decodeCheckpoint(again)
		require.NoError(t, err)
		require.Equal(t, c, c2)
	})
}
