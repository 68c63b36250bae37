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

	"github.com/tocsin-siem/tocsin/internal/binenc"
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
	// HighWater is the highest event time of the latest batch an events
	// partition read (Unix nanoseconds; 0 for none and on repartition
	// partitions).
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
	h = binenc.AppendString(h, c.Topic)
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
		h = binenc.AppendString(h, id)
		h = binenc.AppendString(h, c.Rules[id])
	}
	h = binary.AppendUvarint(h, uint64(len(c.Engines)))
	for _, es := range c.Engines {
		h = binenc.AppendString(h, es.KeySet)
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
		h = binenc.AppendString(h, x.KeySet)
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
	d := binenc.Reader{B: body}
	c := &checkpoint{Rules: map[string]string{}}
	c.Topic = d.String("topic")
	c.Partition = int(d.Varint("partition"))
	c.Next = d.Varint("next offset")
	c.SavedAt = time.Unix(0, d.Varint("saved at")).UTC()
	n := d.Count("rules", 2)
	for range n {
		id := d.String("rule id")
		c.Rules[id] = d.String("rule hash")
	}
	n = d.Count("engines", 3)
	for range n {
		if d.Err != nil {
			break
		}
		es := engineState{KeySet: d.String("key set")}
		no := d.Count("origins", 2)
		if no > 0 {
			es.Origins = make(map[int32]int64, no)
		}
		for range no {
			p := d.Varint("origin partition")
			es.Origins[int32(p)] = d.Varint("origin offset")
		}
		es.Snapshot = d.Bytes("snapshot")
		c.Engines = append(c.Engines, es)
	}
	if v >= 2 {
		c.HighWater = d.Varint("high water")
		n = d.Count("marks", 3)
		for range n {
			m := markState{Origin: int32(d.Varint("mark origin")), HighWater: d.Varint("mark time")}
			switch f := d.Byte("mark flags"); f {
			case 0:
			case markerIdle:
				m.Idle = true
			default:
				d.Fail("mark flags", "unknown flags %#x", f)
			}
			c.Marks = append(c.Marks, m)
		}
		n = d.Count("held copies", 4)
		for range n {
			if d.Err != nil {
				break
			}
			x := heldState{KeySet: d.String("held key set")}
			x.Origin = int32(d.Varint("held origin"))
			x.Offset = d.Varint("held offset")
			x.Event = d.Bytes("held event")
			c.Held = append(c.Held, x)
		}
	}
	d.End("end")
	if d.Err != nil {
		return nil, fmt.Errorf("cannot read checkpoint: %w", d.Err)
	}
	if c.Partition < 0 || c.Next < 0 {
		return nil, fmt.Errorf("cannot read checkpoint: partition %d, next offset %d: want both >= 0", c.Partition, c.Next)
	}
	return c, nil
}
