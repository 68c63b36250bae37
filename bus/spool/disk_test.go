package spool

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClosePersistsMemoryAndOpenRedelivers(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, MemoryRecords: 100, SegmentBytes: 4096}
	s := &testSink{failing: true}
	b := openTest(t, opts, s)
	b.publish(t, recs(0, 60, 50))
	require.Empty(t, segFiles(t, dir), "all in memory")
	b.closeNow(t)
	require.Len(t, segFiles(t, dir), 1, "Close wrote the memory tier out")
	require.Empty(t, s.records())

	s2 := &testSink{}
	b2 := openTest(t, opts, s2)
	waitFor(t, "redelivered", func() bool { return s2.count() == 60 })
	requireSeq(t, s2.records(), 0, 60, 50)
	waitFor(t, "segment deleted", func() bool { return len(segFiles(t, dir)) == 0 })
	require.Equal(t, Stats{}, b2.Stats())
}

// TestCloseWithMemoryAndDisk: memory records are older than the disk's,
// so the segment Close writes them to must be delivered first.
func TestCloseWithMemoryAndDisk(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, MemoryRecords: 100, SegmentBytes: 4096, MaxBatch: 7}
	s := &testSink{failing: true}
	b := openTest(t, opts, s)
	b.publish(t, recs(0, 250, 50))
	require.Equal(t, int64(150), b.Stats().DiskRecords)
	b.closeNow(t)

	// A second round: the next run delivers a little, fails, and closes
	// again with the rest in memory and on disk.
	s2 := &testSink{failWhen: func(call int, _ []Record) bool { return call > 5 }}
	b2 := openTest(t, opts, s2)
	waitFor(t, "some delivered", func() bool { return s2.callCount() > 6 })
	st := b2.Stats()
	require.Equal(t, int64(250-35), st.DiskRecords)
	b2.publish(t, recs(250, 120, 50)) // the disk tier is not empty: all to disk
	require.Zero(t, b2.Stats().MemoryRecords)
	b2.closeNow(t)
	requireSeq(t, s2.records(), 0, 35, 50)

	s3 := &testSink{}
	openTest(t, opts, s3)
	waitFor(t, "rest delivered", func() bool { return s3.count() >= 370-35 })
	requireSeq(t, s3.records(), 35, 370-35, 50)
}

// TestCrashResumesAtCursor: after a crash the next run delivers exactly
// the disk records not yet delivered; memory records are gone, as the
// package documents.
func TestCrashResumesAtCursor(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, MemoryRecords: 10, SegmentBytes: 2048, MaxBatch: 10}
	s := &testSink{failing: true}
	b := openTest(t, opts, s)
	b.publish(t, recs(0, 300, 40))
	require.Equal(t, int64(290), b.Stats().DiskRecords)
	s.mu.Lock()
	s.failing = false
	s.failWhen = func(_ int, _ []Record) bool { return len(s.got) >= 150 }
	s.mu.Unlock()
	waitFor(t, "150 delivered", func() bool { return s.count() >= 150 })
	calls := s.callCount()
	waitFor(t, "sink refusing", func() bool { return s.callCount() > calls+1 })
	b.crash(t)
	done := s.count() // a batch does not span segments, so it may end past 150
	requireSeq(t, s.records(), 0, done, 40)

	s2 := &testSink{failing: true}
	b2 := openTest(t, opts, s2)
	require.Equal(t, int64(300-done), b2.Stats().DiskRecords)
	s2.setFailing(false)
	waitFor(t, "rest delivered", func() bool { return s2.count() == 300-done })
	requireSeq(t, s2.records(), done, 300-done, 40)
	require.Zero(t, b2.corrupt())
}

// TestCrashBeforeAnyDelivery: after a crash the disk tier is delivered
// whole and the memory tier, which only Close writes out, is lost.
func TestCrashBeforeAnyDelivery(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, MemoryRecords: 5, SegmentBytes: 1 << 20}
	s := &testSink{failing: true}
	b := openTest(t, opts, s)
	b.publish(t, recs(0, 40, 40))
	b.crash(t)

	s2 := &testSink{}
	openTest(t, opts, s2)
	waitFor(t, "disk records delivered", func() bool { return s2.count() == 35 })
	requireSeq(t, s2.records(), 5, 35, 40)
}

func TestTornTailIsCutOff(t *testing.T) {
	for _, tail := range []struct {
		name string
		cut  func(frame []byte) []byte
	}{
		{"partial header", func(f []byte) []byte { return f[:9] }},
		{"partial payload", func(f []byte) []byte { return f[:len(f)-3] }},
		{"bad checksum", func(f []byte) []byte { f[len(f)-1] ^= 1; return f }},
		{"zeros", func(f []byte) []byte { return make([]byte, 4096) }},
	} {
		t.Run(tail.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Dir: dir, MemoryRecords: 1}
			s := &testSink{failing: true}
			b := openTest(t, opts, s)
			b.publish(t, recs(0, 20, 30))
			b.crash(t)
			path := onlySeg(t, dir)
			before := segFiles(t, dir)[filepath.Base(path)]
			appendTo(t, path, tail.cut(appendFrame(nil, []byte("k"), make([]byte, 30))))

			s2 := &testSink{failing: true}
			b2 := openTest(t, opts, s2)
			require.Equal(t, 1.0, b2.corrupt())
			require.Equal(t, before, segFiles(t, dir)[filepath.Base(path)], "the tail was cut off")
			st := b2.Stats()
			st.SinkFailingSince = time.Time{}
			require.Equal(t, Stats{DiskRecords: 19, DiskBytes: before}, st)
			s2.setFailing(false)
			waitFor(t, "delivered", func() bool { return s2.count() == 19 })
			requireSeq(t, s2.records(), 1, 19, 30)
			// New records after a recovered segment keep their order.
			b2.publish(t, recs(20, 5, 30))
			waitFor(t, "delivered", func() bool { return s2.count() == 24 })
			requireSeq(t, s2.records(), 1, 24, 30)
		})
	}
}

func TestCorruptMiddleIsSkipped(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, MemoryRecords: 1, SegmentBytes: 1 << 20}
	s := &testSink{failing: true}
	b := openTest(t, opts, s)
	b.publish(t, recs(0, 31, 30))
	b.crash(t)
	path := onlySeg(t, dir)
	frame := frameLen([]byte("k0"), make([]byte, 30))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	// Records 1..30 are on disk. Damage the 6th (record 6) in its value
	// and the 21st (record 21) in its marker.
	data[segHeaderLen+5*frame+frameHeaderLen+10] ^= 0x40
	data[segHeaderLen+20*frame] = 0
	require.NoError(t, os.WriteFile(path, data, 0o640))

	s2 := &testSink{}
	b2 := openTest(t, opts, s2)
	require.Equal(t, 2.0, b2.corrupt())
	waitFor(t, "delivered", func() bool { return s2.count() == 28 })
	var got []int
	for _, r := range s2.records() {
		got = append(got, seqOf(r))
	}
	want := []int{}
	for i := 1; i <= 30; i++ {
		if i != 6 && i != 21 {
			want = append(want, i)
		}
	}
	require.Equal(t, want, got)
	waitFor(t, "segment deleted", func() bool { return len(segFiles(t, dir)) == 0 })
	require.Equal(t, 2.0, b2.corrupt(), "the reader does not count damage Open counted")
}

func TestDamagedHeaderIsMovedAside(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, segName(firstSeq))
	require.NoError(t, os.WriteFile(bad, []byte("garbage that is no segment"), 0o640))
	empty := filepath.Join(dir, segName(firstSeq+1))
	require.NoError(t, os.WriteFile(empty, []byte("TSP"), 0o640))
	b := openTest(t, Options{Dir: dir, MemoryRecords: 1}, nil)
	require.Equal(t, 1.0, b.corrupt())
	require.FileExists(t, bad+".corrupt")
	require.NoFileExists(t, bad)
	require.NoFileExists(t, empty)
	require.Equal(t, Stats{}, b.Stats())
	// New segments do not reuse those numbers.
	b.sink.setFailing(true)
	b.publish(t, recs(0, 2, 1))
	require.FileExists(t, filepath.Join(dir, segName(firstSeq+2)))
}

func TestNewerFormatStopsOpen(t *testing.T) {
	dir := t.TempDir()
	h := append([]byte(segMagic), 0, 0)
	binary.LittleEndian.PutUint16(h[len(segMagic):], segVersion+1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, segName(firstSeq)), h, 0o640))
	_, err := Open(Options{Dir: dir, Sink: (&testSink{}).sink})
	require.ErrorContains(t, err, "newer format version")
	require.ErrorContains(t, err, "move the file away")
	// The lock was released: a fixed directory opens.
	require.NoError(t, os.Remove(filepath.Join(dir, segName(firstSeq))))
	b := openTest(t, Options{Dir: dir}, nil)
	b.publish(t, recs(0, 1, 1))
}

// TestDiskCapRespected publishes records of varied sizes into a failing
// sink and checks the files never exceed MaxBytes plus one header, through
// rotations, refusals and Close's write of the memory tier.
func TestDiskCapRespected(t *testing.T) {
	dir := t.TempDir()
	const maxBytes = 20000
	opts := Options{Dir: dir, MemoryRecords: 30, MaxBytes: maxBytes, SegmentBytes: 3000}
	s := &testSink{failing: true}
	b := openTest(t, opts, s)
	n, refused := 0, 0
	for i := 0; i < 400 && refused < 10; i++ {
		size := 10 + (i*37)%700
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		err := b.Publish(ctx, recs(n, 3, size))
		cancel()
		var fe *FullError
		if err != nil {
			require.ErrorAs(t, err, &fe)
			refused++
			n += fe.Accepted
		} else {
			n += 3
		}
		onDisk := segBytesOnDisk(t, dir)
		require.LessOrEqual(t, onDisk, int64(maxBytes))
		b.mu.Lock()
		st, framed := b.statsLocked(), b.mem.framed
		b.mu.Unlock()
		require.Equal(t, onDisk, st.DiskBytes)
		// Memory records count against the cap as the frames they become.
		require.LessOrEqual(t, st.DiskBytes+framed, int64(maxBytes))
	}
	require.Equal(t, 10, refused, "the cap was reached")
	require.Greater(t, len(segFiles(t, dir)), 3)
	b.closeNow(t)
	require.LessOrEqual(t, segBytesOnDisk(t, dir), int64(maxBytes+segHeaderLen))

	s2 := &testSink{}
	openTest(t, opts, s2)
	waitFor(t, "delivered", func() bool { return s2.count() == n })
	for i, r := range s2.records() {
		require.Equal(t, i, seqOf(r))
	}
}

func TestRuntimeDamageIsCounted(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, MemoryRecords: 1, SegmentBytes: 1 << 20, MaxBatch: 5}
	s := &testSink{failing: true}
	b := openTest(t, opts, s)
	b.publish(t, recs(0, 11, 30))
	path := onlySeg(t, dir)
	frame := frameLen([]byte("k0"), make([]byte, 30))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0xFF}, segHeaderLen+3*frame+30) // record 4
	require.NoError(t, err)
	require.NoError(t, f.Close())
	s.setFailing(false)
	waitFor(t, "drained", func() bool { return len(segFiles(t, dir)) == 0 })
	require.Equal(t, 1.0, b.corrupt())
	require.Equal(t, 10, s.count())
	require.Equal(t, Stats{}, b.Stats(), "the lost record does not stay counted")
}

func appendTo(t testing.TB, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}
