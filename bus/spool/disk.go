package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

const (
	segSuffix = ".seg"
	// firstSeq numbers the first segment of an empty directory. It leaves
	// room below for the segments that Close writes memory records to,
	// which must sort before every segment already on disk.
	firstSeq uint64 = 1 << 40
	// flushBytes bounds the frames staged in memory before a write.
	flushBytes = 1 << 20
)

// segment is one segment file.
type segment struct {
	seq       uint64
	path      string
	size      int64 // bytes of the file that hold data
	records   int64 // valid records in the file
	consumed  int64 // records delivered, or before the cursor at Open
	start     int64 // where reading starts
	recovered bool  // found at Open rather than written by this process
}

// disk is the disk tier. The mutex of the Buffer guards every field
// except the reader, which only the delivery goroutine touches.
type disk struct {
	dir      string
	maxBytes int64
	segBytes int64
	window   int

	segs    []*segment // oldest first
	w       *os.File   // open for writing segs[len(segs)-1] when it is wseg
	wseg    *segment
	nextSeq uint64
	bytes   int64 // sum of segment sizes
	records int64 // records not yet delivered
	dirty   bool  // written since the last fsync

	scratch    []byte // frames staged for one write
	stagedRecs int64

	lock        *os.File
	cursor      *os.File
	cursorDirty atomic.Bool // written since the last fsync
	rd          reader
}

func segName(seq uint64) string { return fmt.Sprintf("%016x%s", seq, segSuffix) }

func parseSegName(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(hex) != 16 {
		return 0, false
	}
	seq, err := strconv.ParseUint(hex, 16, 64)
	return seq, err == nil
}

// fits reports whether a frame of fl bytes can be written while reserved
// bytes (the memory tier's records) still fit beside it.
func (d *disk) fits(fl, reserved int64) bool {
	need := fl
	if d.needsRotation(fl) {
		need += segHeaderLen
	}
	return d.bytes+int64(len(d.scratch))+need+reserved <= d.maxBytes
}

// needsRotation reports whether a frame of fl bytes needs a new segment.
// A segment's first record goes in whatever its size.
func (d *disk) needsRotation(fl int64) bool {
	if d.wseg == nil {
		return true
	}
	used := d.wseg.size + int64(len(d.scratch))
	return used > segHeaderLen && used+fl > d.segBytes
}

// write appends as many of recs as fit and returns how many are written.
func (d *disk) write(recs []Record, reserved int64) (int, error) {
	done := 0
	for _, r := range recs {
		fl := frameLen(r.Key, r.Value)
		if !d.fits(fl, reserved) {
			break
		}
		if d.needsRotation(fl) {
			n, err := d.flush()
			done += n
			if err != nil {
				return done, err
			}
			if err := d.rotate(); err != nil {
				return done, err
			}
		}
		d.scratch = appendFrame(d.scratch, r.Key, r.Value)
		d.stagedRecs++
		if len(d.scratch) >= flushBytes {
			n, err := d.flush()
			done += n
			if err != nil {
				return done, err
			}
		}
	}
	n, err := d.flush()
	return done + n, err
}

// flush writes the staged frames to the open segment and returns how many
// records that wrote. On error nothing staged counts as written.
func (d *disk) flush() (int, error) {
	if len(d.scratch) == 0 {
		return 0, nil
	}
	n := d.stagedRecs
	data := d.scratch
	d.scratch, d.stagedRecs = d.scratch[:0], 0
	if _, err := d.w.WriteAt(data, d.wseg.size); err != nil {
		// Cut off a partial write so the segment ends on a whole frame.
		_ = d.w.Truncate(d.wseg.size)
		return 0, fmt.Errorf("cannot write to spool segment %s: %w; free disk space or lower MaxBytes", d.wseg.path, err)
	}
	d.wseg.size += int64(len(data))
	d.wseg.records += n
	d.bytes += int64(len(data))
	d.records += n
	d.dirty = true
	if cap(d.scratch) > 4*flushBytes {
		d.scratch = nil // after an outsized record
	}
	return int(n), nil
}

// rotate closes the segment being written, after an fsync, and starts a
// new one.
func (d *disk) rotate() error {
	if err := d.closeWriter(); err != nil {
		return err
	}
	seg := &segment{seq: d.nextSeq, size: segHeaderLen, start: segHeaderLen}
	seg.path = filepath.Join(d.dir, segName(seg.seq))
	f, err := createSegment(seg.path, d.dir)
	if err != nil {
		return err
	}
	d.nextSeq++
	d.w, d.wseg = f, seg
	d.segs = append(d.segs, seg)
	d.bytes += segHeaderLen
	return nil
}

// createSegment creates a segment file holding only its header, and makes
// its directory entry durable.
func createSegment(path, dir string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("cannot create spool segment: %w; check that %s is writable", err, dir)
	}
	if _, err := f.Write(segHeader()); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, fmt.Errorf("cannot write spool segment %s: %w; free disk space", path, err)
	}
	if err := syncDir(dir); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	return f, nil
}

// closeWriter fsyncs and closes the segment being written, if any.
func (d *disk) closeWriter() error {
	if d.w == nil {
		return nil
	}
	f := d.w
	d.w, d.wseg = nil, nil
	d.dirty = false
	syncErr := f.Sync()
	closeErr := f.Close()
	if err := errors.Join(syncErr, closeErr); err != nil {
		return fmt.Errorf("cannot close spool segment %s: %w", f.Name(), err)
	}
	return nil
}

// removeFront deletes the oldest segment once it was read to its end.
// Records in it that were not delivered were in damaged ranges.
func (d *disk) removeFront() error {
	seg := d.segs[0]
	if seg == d.wseg {
		if err := d.closeWriter(); err != nil {
			return err
		}
	}
	d.rd.close()
	d.segs[0] = nil
	d.segs = d.segs[1:]
	d.records -= seg.records - seg.consumed
	d.bytes -= seg.size
	if err := os.Remove(seg.path); err != nil {
		return fmt.Errorf("cannot delete delivered spool segment %s: %w; "+
			"its records will be delivered again after a restart unless it is removed", seg.path, err)
	}
	return nil
}

// dump writes records into one new segment that sorts before every
// segment on disk, so that the next Open delivers them first. Close uses
// it for the memory tier, whose records are older than the disk's. The
// segment may exceed SegmentBytes: the memory tier was admitted only
// while its frames fit within MaxBytes beside the disk tier.
func (d *disk) dump(m *memory) error {
	seq := d.nextSeq
	if len(d.segs) > 0 {
		seq = d.segs[0].seq - 1
	}
	path := filepath.Join(d.dir, segName(seq))
	f, err := createSegment(path, d.dir)
	if err != nil {
		return err
	}
	seg := &segment{seq: seq, path: path, size: segHeaderLen, start: segHeaderLen}
	buf := d.scratch[:0]
	write := func() error {
		if _, err := f.WriteAt(buf, seg.size); err != nil {
			return fmt.Errorf("cannot write memory records to spool segment %s: %w; free disk space", path, err)
		}
		seg.size += int64(len(buf))
		buf = buf[:0]
		return nil
	}
	err = m.each(func(r Record) error {
		buf = appendFrame(buf, r.Key, r.Value)
		seg.records++
		if len(buf) >= flushBytes {
			return write()
		}
		return nil
	})
	if err == nil {
		err = write()
	}
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err != nil {
		_ = os.Remove(path)
		return err
	}
	d.segs = slices.Insert(d.segs, 0, seg)
	d.bytes += seg.size
	d.records += seg.records
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot open spool directory %s: %w", dir, err)
	}
	err = f.Sync()
	err = errors.Join(err, f.Close())
	if err != nil {
		return fmt.Errorf("cannot sync spool directory %s: %w", dir, err)
	}
	return nil
}

// reader reads the oldest segment for the delivery goroutine.
type reader struct {
	seg   *segment
	f     *os.File
	sr    segReader
	acked int64 // end of the last batch the Sink took; sr.off runs ahead
	buf   []Record
}

func (r *reader) close() {
	if r.f != nil {
		_ = r.f.Close()
	}
	r.f, r.seg = nil, nil
}

// read returns the next batch of seg, which holds limit bytes of data,
// and the damaged ranges it skipped. The records alias the reader's
// window and stay valid until the next read.
func (r *reader) read(seg *segment, limit int64, max, window int) ([]Record, []region, error) {
	if r.seg != seg {
		r.close()
		f, err := os.Open(seg.path)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot open spool segment: %w", err)
		}
		r.f, r.seg, r.acked = f, seg, seg.start
		r.sr.window = window
		r.sr.reset(f, seg.start, limit)
	}
	r.sr.limit = limit
	recs, skipped, err := r.sr.readBatch(r.buf[:0], max)
	if cap(recs) > cap(r.buf) {
		r.buf = recs[:0]
	}
	if err != nil {
		err = fmt.Errorf("cannot read spool segment %s: %w", seg.path, err)
	}
	return recs, skipped, err
}

// ack records that the Sink took everything read so far.
func (r *reader) ack() { r.acked = r.sr.off }

// offset is the end of what the Sink took from seg, or seg.start when the
// reader is not reading seg.
func (r *reader) offset(seg *segment) int64 {
	if r.seg == seg {
		return r.acked
	}
	return seg.start
}
