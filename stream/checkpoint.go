package stream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Checkpoint framing; doc.go documents it byte by byte.
const (
	checkpointMagic   = "TKCP"
	checkpointVersion = 2
	headerLen         = len(checkpointMagic) + 1
	// maxCheckpointBody bounds the decompressed body a reader accepts, so
	// a corrupt or hostile record cannot make it allocate without limit.
	maxCheckpointBody = 1 << 30
)

// checkpoint is one partition's saved state.
type checkpoint struct {
	Topic     string
	Partition int
	// Next is the offset of the first record the state does not reflect.
	Next    int64
	SavedAt time.Time
	// Rules maps rule ID to rules.Rule.Hash for every rule the partition ran.
	Rules   map[string]string
	Engines []engineState
	// HighWater is the highest event time an events partition read (Unix
	// nanoseconds; 0 for none and on repartition partitions).
	HighWater int64
	// Marks and Held are a repartition partition's reordering state: the
	// progress last reported by each events partition, and the copies
	// not yet fed to the engines.
	Marks []markState
	Held  []heldState
}

type markState struct {
	Origin    int32
	HighWater int64
	Idle      bool
}

type heldState struct {
	KeySet string
	Origin int32
	Offset int64
	// Event is the copy, as wire.AppendEvent encodes it.
	Event []byte
}

// engineState is one engine's snapshot: the local rules of an events
// partition (KeySet "") or one key set of a repartition partition.
type engineState struct {
	KeySet string
	// Origins is the highest origin offset seen per events partition
	// (repartition partitions only).
	Origins  map[int32]int64
	Snapshot []byte
}

// gzipWriters keeps compressors between checkpoints: each holds about a
// megabyte of tables.
var gzipWriters sync.Pool

// encodeCheckpoint appends the framed, compressed checkpoint to dst. The
// snapshots go to the compressor as they are, without being copied into
// one uncompressed body first: they are most of a checkpoint's bytes.
func encodeCheckpoint(dst []byte, c *checkpoint) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	buf.WriteString(checkpointMagic)
	buf.WriteByte(checkpointVersion)
	// A checkpoint is written while the partition waits, so the fastest
	// level: klauspost's gzip writes the same format as the standard
	// library's, about twice as fast, and shrinks the snapshots' events
	// about four times.
	zw, _ := gzipWriters.Get().(*gzip.Writer)
	if zw == nil {
		var err error
		if zw, err = gzip.NewWriterLevel(buf, gzip.BestSpeed); err != nil {
			return dst, fmt.Errorf("cannot compress checkpoint: %w", err)
		}
	} else {
		zw.Reset(buf)
	}
	defer gzipWriters.Put(zw)
	var h []byte
	h = appendString(h, c.Topic)
	h = binary.AppendVarint(h, int64(c.Partition))
	h = binary.AppendVarint(h, c.Next)
	h = binary.AppendVarint(h, c.SavedAt.UnixNano())
	ids := make([]string, 0, len(c.Rules))
	for id := range c.Rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	h = binary.AppendUvarint(h, uint64(len(ids)))
	for _, id := range ids {
		h = appendString(h, id)
		h = appendString(h, c.Rules[id])
	}
	h = binary.AppendUvarint(h, uint64(len(c.Engines)))
	for _, es := range c.Engines {
		h = appendString(h, es.KeySet)
		parts := make([]int32, 0, len(es.Origins))
		for p := range es.Origins {
			parts = append(parts, p)
		}
		sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
		h = binary.AppendUvarint(h, uint64(len(parts)))
		for _, p := range parts {
			h = binary.AppendVarint(h, int64(p))
			h = binary.AppendVarint(h, es.Origins[p])
		}
		h = binary.AppendUvarint(h, uint64(len(es.Snapshot)))
		if _, err := zw.Write(h); err != nil {
			return dst, fmt.Errorf("cannot compress checkpoint: %w", err)
		}
		h = h[:0]
		if _, err := zw.Write(es.Snapshot); err != nil {
			return dst, fmt.Errorf("cannot compress checkpoint: %w", err)
		}
	}
	h = binary.AppendVarint(h, c.HighWater)
	h = binary.AppendUvarint(h, uint64(len(c.Marks)))
	for _, m := range c.Marks {
		h = binary.AppendVarint(h, int64(m.Origin))
		h = binary.AppendVarint(h, m.HighWater)
		var flags byte
		if m.Idle {
			flags = markerIdle
		}
		h = append(h, flags)
	}
	h = binary.AppendUvarint(h, uint64(len(c.Held)))
	for _, x := range c.Held {
		h = appendString(h, x.KeySet)
		h = binary.AppendVarint(h, int64(x.Origin))
		h = binary.AppendVarint(h, x.Offset)
		h = binary.AppendUvarint(h, uint64(len(x.Event)))
		h = append(h, x.Event...)
	}
	if _, err := zw.Write(h); err != nil {
		return dst, fmt.Errorf("cannot compress checkpoint: %w", err)
	}
	if err := zw.Close(); err != nil {
		return dst, fmt.Errorf("cannot compress checkpoint: %w", err)
	}
	return buf.Bytes(), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// errNotCheckpoint is returned for a record that is not a checkpoint.
var errNotCheckpoint = errors.New("not a tocsin checkpoint (magic bytes differ)")

// decodeCheckpoint reads a record written by encodeCheckpoint. It never
// panics, and bounds what it allocates by maxCheckpointBody.
func decodeCheckpoint(src []byte) (*checkpoint, error) {
	if len(src) < headerLen {
		return nil, fmt.Errorf("cannot read checkpoint: %d bytes, shorter than its %d-byte header", len(src), headerLen)
	}
	if string(src[:len(checkpointMagic)]) != checkpointMagic {
		return nil, fmt.Errorf("cannot read checkpoint: %w", errNotCheckpoint)
	}
	v := src[len(checkpointMagic)]
	if v < 1 || v > checkpointVersion {
		if v > checkpointVersion {
			return nil, fmt.Errorf("cannot read checkpoint: version %d was written by a newer tocsin; this build reads version %d", v, checkpointVersion)
		}
		return nil, fmt.Errorf("cannot read checkpoint: unknown version %d", v)
	}
	zr, err := gzip.NewReader(bytes.NewReader(src[headerLen:]))
	if err != nil {
		return nil, fmt.Errorf("cannot read checkpoint: cannot decompress: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(zr, maxCheckpointBody+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read checkpoint: cannot decompress: %w", err)
	}
	if len(body) > maxCheckpointBody {
		return nil, fmt.Errorf("cannot read checkpoint: body larger than %d bytes", maxCheckpointBody)
	}
	d := decoder{b: body}
	c := &checkpoint{Rules: map[string]string{}}
	c.Topic = d.str("topic")
	c.Partition = int(d.varint("partition"))
	c.Next = d.varint("next offset")
	c.SavedAt = time.Unix(0, d.varint("saved at")).UTC()
	n := d.count("rules", 2)
	for range n {
		id := d.str("rule id")
		c.Rules[id] = d.str("rule hash")
	}
	n = d.count("engines", 3)
	for range n {
		if d.err != nil {
			break
		}
		es := engineState{KeySet: d.str("key set")}
		no := d.count("origins", 2)
		if no > 0 {
			es.Origins = make(map[int32]int64, no)
		}
		for range no {
			p := d.varint("origin partition")
			es.Origins[int32(p)] = d.varint("origin offset")
		}
		es.Snapshot = d.bytes("snapshot")
		c.Engines = append(c.Engines, es)
	}
	if v >= 2 {
		c.HighWater = d.varint("high water")
		n = d.count("marks", 3)
		for range n {
			m := markState{Origin: int32(d.varint("mark origin")), HighWater: d.varint("mark time")}
			switch f := d.byte("mark flags"); f {
			case 0:
			case markerIdle:
				m.Idle = true
			default:
				d.fail("mark flags", "unknown flags %#x", f)
			}
			c.Marks = append(c.Marks, m)
		}
		n = d.count("held copies", 4)
		for range n {
			if d.err != nil {
				break
			}
			x := heldState{KeySet: d.str("held key set")}
			x.Origin = int32(d.varint("held origin"))
			x.Offset = d.varint("held offset")
			x.Event = d.bytes("held event")
			c.Held = append(c.Held, x)
		}
	}
	if d.err == nil && d.off != len(d.b) {
		d.fail("end", "%d bytes left over", len(d.b)-d.off)
	}
	if d.err != nil {
		return nil, fmt.Errorf("cannot read checkpoint: %w", d.err)
	}
	if c.Partition < 0 || c.Next < 0 {
		return nil, fmt.Errorf("cannot read checkpoint: partition %d, next offset %d: want both >= 0", c.Partition, c.Next)
	}
	return c, nil
}

// decoder reads the body; the first problem sticks in err and every
// later read returns zero values.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%s at body offset %d: %s", what, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail(what, "bad or truncated uvarint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail(what, "bad or truncated varint")
		return 0
	}
	d.off += n
	return v
}

// count reads an element count, refusing one that the remaining bytes
// cannot hold at minBytes per element.
func (d *decoder) count(what string, minBytes int) int {
	n := d.uvarint(what)
	if d.err != nil {
		return 0
	}
	if left := uint64(len(d.b) - d.off); n > left/uint64(minBytes) {
		d.fail(what, "count %d does not fit in the %d bytes left", n, left)
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(what string) []byte {
	n := d.uvarint(what)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail(what, "length %d, only %d bytes left", n, len(d.b)-d.off)
		return nil
	}
	out := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return out
}

func (d *decoder) str(what string) string { return string(d.bytes(what)) }

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail(what, "truncated")
		return 0
	}
	b := d.b[d.off]
	d.off++
	return b
}
