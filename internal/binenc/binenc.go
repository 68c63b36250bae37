// Package binenc writes and reads the length-prefixed binary encodings
// tocsin keeps its state in (engine snapshots, rule group states, stream
// checkpoints): uvarints and zig-zag varints as encoding/binary writes
// them, and byte strings as a uvarint length followed by the bytes.
//
// A Reader never panics and never allocates on the strength of a length
// or count read from its input: a count is refused when the bytes left
// cannot hold that many items. The first problem sticks in Err, with the
// byte offset and the field it was reading, and every later read returns
// a zero value, so a decoder reads a whole structure and checks Err once.
package binenc

import (
	"encoding/binary"
	"fmt"
)

// Reader reads from B, starting at Off.
type Reader struct {
	B   []byte
	Off int
	Err error
}

// Fail records a problem with field unless one is recorded already.
func (r *Reader) Fail(field, format string, args ...any) {
	if r.Err == nil {
		r.Err = fmt.Errorf("at byte %d: %s: %s", r.Off, field, fmt.Sprintf(format, args...))
	}
}

// Left is the number of bytes not read yet.
func (r *Reader) Left() int { return len(r.B) - r.Off }

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint(field string) uint64 {
	if r.Err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.B[r.Off:])
	if n <= 0 {
		if n == 0 {
			r.Fail(field, "the input ends inside a varint (cut short?)")
		} else {
			r.Fail(field, "varint overflows 64 bits")
		}
		return 0
	}
	r.Off += n
	return v
}

// Varint reads a zig-zag signed varint.
func (r *Reader) Varint(field string) int64 {
	u := r.Uvarint(field)
	return int64(u>>1) ^ -int64(u&1)
}

// Count reads a number of items that each take at least size bytes
// (size >= 1), and refuses one the bytes left cannot hold.
func (r *Reader) Count(field string, size int) int {
	at := r.Off
	n := r.Uvarint(field)
	if r.Err != nil {
		return 0
	}
	if left := r.Left(); n > uint64(left)/uint64(max(size, 1)) {
		r.Off = at
		r.Fail(field, "%d of them cannot fit in the %d bytes left", n, left)
		return 0
	}
	return int(n)
}

// Bytes reads a length-prefixed byte string; the result aliases B.
func (r *Reader) Bytes(field string) []byte {
	at := r.Off
	n := r.Uvarint(field)
	if r.Err != nil {
		return nil
	}
	if left := r.Left(); n > uint64(left) {
		r.Off = at
		r.Fail(field, "%d bytes, but only %d are left (cut short?)", n, left)
		return nil
	}
	v := r.B[r.Off : r.Off+int(n) : r.Off+int(n)]
	r.Off += int(n)
	return v
}

// String reads a length-prefixed string of its own.
func (r *Reader) String(field string) string { return string(r.Bytes(field)) }

// Byte reads one byte.
func (r *Reader) Byte(field string) byte {
	if r.Err != nil {
		return 0
	}
	if r.Off >= len(r.B) {
		r.Fail(field, "the input ends here (cut short?)")
		return 0
	}
	b := r.B[r.Off]
	r.Off++
	return b
}

// End records a problem when bytes are left after what was read.
func (r *Reader) End(field string) {
	if r.Err == nil && r.Off != len(r.B) {
		r.Fail(field, "%d bytes left over", len(r.B)-r.Off)
	}
}

// AppendString appends s as a length-prefixed string.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendBytes appends v as a length-prefixed byte string.
func AppendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// FixLength writes the length of b[at+room:] as a uvarint at b[at:],
// where room bytes were set aside for it before the bytes were appended,
// and moves those bytes when the uvarint takes more or fewer than room.
// Setting aside the usual size avoids encoding a value twice to learn its
// length.
func FixLength(b []byte, at, room int) []byte {
	n := len(b) - at - room
	var tmp [binary.MaxVarintLen64]byte
	w := binary.PutUvarint(tmp[:], uint64(n))
	if w > room {
		b = append(b, tmp[:w-room]...)
	}
	if w != room {
		copy(b[at+w:], b[at+room:at+room+n])
		b = b[:at+w+n]
	}
	copy(b[at:], tmp[:w])
	return b
}
