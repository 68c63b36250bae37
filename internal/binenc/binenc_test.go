package binenc

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	var b []byte
	b = binary.AppendUvarint(b, 300)
	b = binary.AppendVarint(b, -7)
	b = binary.AppendVarint(b, math.MinInt64)
	b = AppendString(b, "key\x00value")
	b = AppendBytes(b, []byte{0xff, 0})
	b = binary.AppendUvarint(b, 2) // a count of two 1-byte items
	b = append(b, 'a', 'b')
	r := Reader{B: b}
	require.Equal(t, uint64(300), r.Uvarint("u"))
	require.Equal(t, int64(-7), r.Varint("v"))
	require.Equal(t, int64(math.MinInt64), r.Varint("min"))
	require.Equal(t, "key\x00value", r.String("s"))
	require.Equal(t, []byte{0xff, 0}, r.Bytes("b"))
	require.Equal(t, 2, r.Count("n", 1))
	require.Equal(t, byte('a'), r.Byte("x"))
	require.Equal(t, 1, r.Left())
	r.End("end")
	require.EqualError(t, r.Err, "at byte 28: end: 1 bytes left over")
	require.Equal(t, byte(0), r.Byte("after"), "reads after a failure give zero values")
}

func TestRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		in   []byte
		read func(*Reader)
		want string
	}{
		"cut varint":   {[]byte{0x80}, func(r *Reader) { r.Uvarint("len") }, "at byte 0: len: the input ends inside a varint (cut short?)"},
		"overflow":     {[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, func(r *Reader) { r.Uvarint("n") }, "at byte 0: n: varint overflows 64 bits"},
		"huge count":   {binary.AppendUvarint(nil, 1<<40), func(r *Reader) { r.Count("groups", 4) }, "at byte 0: groups: 1099511627776 of them cannot fit in the 0 bytes left"},
		"long bytes":   {[]byte{5, 'a'}, func(r *Reader) { r.Bytes("key") }, "at byte 0: key: 5 bytes, but only 1 are left (cut short?)"},
		"empty byte":   {nil, func(r *Reader) { r.Byte("flags") }, "at byte 0: flags: the input ends here (cut short?)"},
		"first sticks": {[]byte{0x80}, func(r *Reader) { r.Uvarint("a"); r.Fail("b", "other") }, "at byte 0: a: the input ends inside a varint (cut short?)"},
	} {
		t.Run(name, func(t *testing.T) {
			r := Reader{B: tc.in}
			tc.read(&r)
			require.EqualError(t, r.Err, tc.want)
		})
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte{3, 'a', 'b', 'c', 1, 0x80})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := Reader{B: data}
		for r.Err == nil && r.Left() > 0 {
			n := r.Count("n", 1)
			for range n {
				_ = r.Bytes("item")
			}
			_ = r.Varint("v")
			_ = r.Byte("b")
		}
		require.LessOrEqual(t, r.Off, len(data))
	})
}

func TestFixLength(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 70000} {
		b := []byte("head")
		at := len(b)
		b = append(b, 0, 0) // room for two bytes
		for i := range n {
			b = append(b, byte(i))
		}
		b = FixLength(b, at, 2)
		r := Reader{B: b, Off: at}
		got := r.Bytes("payload")
		require.NoError(t, r.Err, "n=%d", n)
		require.Len(t, got, n)
		require.Equal(t, 0, r.Left())
		if n > 0 {
			require.Equal(t, byte(n-1), got[n-1])
		}
		require.Equal(t, "head", string(b[:4]))
	}
}
