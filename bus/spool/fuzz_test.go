package spool

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// validSegment is a segment of six records of varied sizes.
func validSegment() []byte {
	data := segHeader()
	for i := range 6 {
		r := rec(i, 5+i*7)
		data = appendFrame(data, r.Key, r.Value)
	}
	return data
}

// requireFramesOf asserts that every record is a whole, valid frame of
// data, in file order, with no two overlapping.
func requireFramesOf(t testing.TB, data []byte, from int, got []Record) {
	t.Helper()
	pos := from
	for i, r := range got {
		frame := appendFrame(nil, r.Key, r.Value)
		at := bytes.Index(data[min(pos, len(data)):], frame)
		require.GreaterOrEqual(t, at, 0, "record %d is not a frame of the file", i)
		pos += at + len(frame)
	}
}

// FuzzOpenSegment gives arbitrary bytes as a segment file, with an
// arbitrary cursor, to what Open does with each segment (recoverSegment)
// and then reads it as the delivery goroutine does (reader). It must never
// panic; every record must be a whole, valid frame of the file, in order;
// and the records delivered must be exactly the ones recovery counted.
// It calls those two directly rather than Open and Close, whose fsyncs
// and goroutines would cut the exec rate a hundredfold;
// TestOpenDamagedSegments runs the whole of Open over mutated segments.
func FuzzOpenSegment(f *testing.F) {
	valid := validSegment()
	f.Add(valid, uint8(0), uint16(0))
	f.Add(valid[:len(valid)-5], uint8(3), uint16(0))
	f.Add(append(append([]byte{}, valid[:40]...), valid[60:]...), uint8(1), uint16(0))
	f.Add(append(append([]byte{}, valid...), frameMarker[:]...), uint8(200), uint16(0))
	f.Add(valid, uint8(9), uint16(segHeaderLen+frameLen([]byte("k0"), make([]byte, 8))))
	f.Add(segHeader(), uint8(0), uint16(0))
	f.Add([]byte{}, uint8(0), uint16(0))
	f.Add([]byte("TSPOOL\x02\x00"), uint8(0), uint16(0))

	dir := f.TempDir()
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, data []byte, window uint8, cursor uint16) {
		path := filepath.Join(dir, strconv.FormatInt(n.Add(1), 10)+segSuffix)
		require.NoError(t, os.WriteFile(path, data, 0o640))
		defer os.Remove(path)
		defer os.Remove(path + ".corrupt")
		cursorOff := int64(-1)
		if cursor > 0 {
			cursorOff = int64(cursor)
		}
		win := 1 + int(window)
		seg, err := recoverSegment(path, cursorOff, win, zerolog.Nop(), func(int) {})
		if err != nil {
			require.ErrorContains(t, err, "newer format version")
			return
		}
		if seg == nil {
			return // nothing to deliver: removed or moved aside
		}
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, fi.Size(), seg.size, "a damaged tail is cut off the file")
		require.GreaterOrEqual(t, seg.start, int64(segHeaderLen))

		var rd reader
		defer rd.close()
		var got []Record
		for rd.offset(seg) < seg.size {
			before := rd.offset(seg)
			batch, _, err := rd.read(seg, seg.size, 3, win)
			require.NoError(t, err)
			got = append(got, cloneRecords(batch)...)
			rd.ack()
			require.Greater(t, rd.offset(seg), before, "the reader moves on")
		}
		require.Equal(t, seg.records-seg.consumed, int64(len(got)), "delivered what recovery counted")
		requireFramesOf(t, data, int(seg.start), got)
	})
}

// TestOpenDamagedSegments runs Open and Close over randomly damaged
// segments and checks what they deliver, as FuzzOpenSegment does for
// the parts.
func TestOpenDamagedSegments(t *testing.T) {
	valid := validSegment()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 150 {
		data := append([]byte(nil), valid...)
		for k := rng.IntN(4); k >= 0 && len(data) > 0; k-- {
			switch rng.IntN(3) {
			case 0:
				data[rng.IntN(len(data))] = byte(rng.IntN(256))
			case 1:
				data = data[:rng.IntN(len(data))]
			case 2:
				at := rng.IntN(len(data))
				data = append(data[:at], append(bytes.Repeat([]byte{byte(rng.IntN(256))}, rng.IntN(9)), data[at:]...)...)
			}
		}
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, segName(firstSeq)), data, 0o640))
		var mu sync.Mutex
		var got []Record
		gate := make(chan struct{})
		b, err := Open(Options{Dir: dir, MemoryRecords: 16, readWindow: 1 + rng.IntN(100),
			Sink: func(_ context.Context, recs []Record) error {
				<-gate
				mu.Lock()
				got = append(got, cloneRecords(recs)...)
				mu.Unlock()
				return nil
			}})
		if err != nil {
			require.ErrorContains(t, err, "newer format version")
			continue
		}
		recovered := b.Stats().DiskRecords
		close(gate)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		require.NoError(t, b.Close(ctx))
		cancel()
		require.Zero(t, b.Stats().DiskRecords, "everything recovered was delivered")
		mu.Lock()
		require.Equal(t, recovered, int64(len(got)))
		requireFramesOf(t, data, segHeaderLen, got)
		mu.Unlock()
		require.Empty(t, segFiles(t, dir))
	}
}

// TestReaderWindows reads a valid segment, with damage in it, through
// windows of every small size: the records found must not depend on it.
func TestReaderWindows(t *testing.T) {
	data := segHeader()
	var want []Record
	for i := range 40 {
		r := rec(i, i*13%90)
		if i%9 == 4 {
			r.Key = nil
		}
		start := len(data)
		data = appendFrame(data, r.Key, r.Value)
		if i%11 == 7 {
			data[start+frameHeaderLen] ^= 0xFF // damaged: dropped
			continue
		}
		want = append(want, r)
		if i%13 == 5 {
			data = append(data, frameMarker[:]...) // junk between frames
		}
	}
	for window := 1; window < 300; window += 7 {
		var sr segReader
		sr.window = window
		sr.reset(bytes.NewReader(data), segHeaderLen, int64(len(data)))
		var got []Record
		skips := 0
		for sr.off < sr.limit {
			batch, skipped, err := sr.readBatch(nil, 5)
			require.NoError(t, err)
			got = append(got, cloneRecords(batch)...)
			skips += len(skipped)
		}
		require.Equal(t, want, got, "window %d", window)
		require.Equal(t, 5, skips, "window %d: 3 damaged frames and 2 of junk", window)
	}
}
