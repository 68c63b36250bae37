package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"

	"github.com/rs/zerolog"
)

// The cursor file records how far the oldest segment was delivered, so
// that a restart after a crash does not deliver that part again. Format:
// the magic "TSPLCURS", the segment's uint64 sequence number, the int64
// offset of its next undelivered frame, and a CRC-32C of those 24 bytes.
// Segments that sort before the cursor's are delivered whole: they hold
// memory records that Close wrote after the cursor.
const (
	cursorName  = "cursor"
	cursorMagic = "TSPLCURS"
	cursorLen   = 28
	lockName    = "lock"
)

type cursorPos struct {
	seq uint64
	off int64
}

func encodeCursor(c cursorPos) []byte {
	b := make([]byte, 0, cursorLen)
	b = append(b, cursorMagic...)
	b = binary.LittleEndian.AppendUint64(b, c.seq)
	b = binary.LittleEndian.AppendUint64(b, uint64(c.off))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeCursor(b []byte) (cursorPos, bool) {
	if len(b) < cursorLen || string(b[:8]) != cursorMagic ||
		crc32.Checksum(b[:24], castagnoli) != binary.LittleEndian.Uint32(b[24:]) {
		return cursorPos{}, false
	}
	return cursorPos{
		seq: binary.LittleEndian.Uint64(b[8:]),
		off: int64(binary.LittleEndian.Uint64(b[16:])),
	}, true
}

// writeCursor records the delivery position; a zero position clears it.
// No fsync: a process crash keeps it, a power loss at worst delivers the
// last second's records again.
func (d *disk) writeCursor(c cursorPos) error {
	if _, err := d.cursor.WriteAt(encodeCursor(c), 0); err != nil {
		return fmt.Errorf("cannot record the spool delivery position in %s: %w", d.cursor.Name(), err)
	}
	return nil
}

// cursorNow is the position to record: the oldest segment and where the
// reader stands in it.
func (d *disk) cursorNow() cursorPos {
	if len(d.segs) == 0 {
		return cursorPos{}
	}
	seg := d.segs[0]
	return cursorPos{seq: seg.seq, off: d.rd.offset(seg)}
}

// openDisk locks dir and recovers its segments.
func openDisk(opts *Options, log zerolog.Logger, corrupt func(n int)) (*disk, error) {
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create spool directory: %w", err)
	}
	d := &disk{
		dir: opts.Dir, maxBytes: opts.MaxBytes, segBytes: opts.SegmentBytes,
		window: opts.readWindow, nextSeq: firstSeq,
	}
	lock, err := lockDir(filepath.Join(opts.Dir, lockName))
	if err != nil {
		return nil, err
	}
	d.lock = lock
	if err := d.recover(log, corrupt); err != nil {
		d.release()
		return nil, err
	}
	return d, nil
}

// release closes the disk tier's files and unlocks its directory.
func (d *disk) release() {
	d.rd.close()
	if d.cursor != nil {
		_ = d.cursor.Close()
		d.cursor = nil
	}
	if d.lock != nil {
		unlockDir(d.lock)
		_ = d.lock.Close()
		d.lock = nil
	}
}

func (d *disk) recover(log zerolog.Logger, corrupt func(n int)) error {
	cf, err := os.OpenFile(filepath.Join(d.dir, cursorName), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("cannot open spool cursor: %w; check that %s is writable", err, d.dir)
	}
	d.cursor = cf
	raw := make([]byte, cursorLen)
	n, _ := cf.ReadAt(raw, 0)
	cur, hasCursor := decodeCursor(raw[:n])

	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return fmt.Errorf("cannot list spool directory: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		if seq, ok := parseSegName(e.Name()); ok && e.Type().IsRegular() {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	maxSeq := uint64(0)
	if hasCursor {
		maxSeq = cur.seq
	}
	for _, seq := range seqs {
		maxSeq = max(maxSeq, seq)
		path := filepath.Join(d.dir, segName(seq))
		var want int64 = -1
		if hasCursor && seq == cur.seq {
			want = cur.off
		}
		seg, err := recoverSegment(path, want, d.window, log, corrupt)
		if err != nil {
			return err
		}
		if seg == nil {
			continue
		}
		seg.seq = seq
		d.segs = append(d.segs, seg)
		d.bytes += seg.size
		d.records += seg.records - seg.consumed
	}
	if maxSeq >= firstSeq {
		d.nextSeq = maxSeq + 1
	}
	if err := d.writeCursor(d.cursorNow()); err != nil {
		return err
	}
	if len(d.segs) > 0 {
		log.Info().Int("segments", len(d.segs)).Int64("disk_records", d.records).Int64("disk_bytes", d.bytes).
			Msg("spool recovered records from disk; delivering them first")
	}
	return nil
}

// recoverSegment checks one segment file. It truncates a damaged tail,
// counts damaged ranges in the middle (the reader later skips them), and
// returns nil for a file with nothing left to deliver, which it deletes.
// cursorOff, when not -1, is where delivery stopped in this segment.
func recoverSegment(path string, cursorOff int64, window int, log zerolog.Logger,
	corrupt func(n int),
) (*segment, error) {
	log = log.With().Str("segment", path).Logger()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open spool segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot open spool segment: %w", err)
	}
	size := fi.Size()
	head := make([]byte, segHeaderLen)
	if size < segHeaderLen {
		// Created but its header never written: it cannot hold records.
		log.Info().Int64("size", size).Msg("removing spool segment without a whole header")
		return nil, removeFile(path)
	}
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("cannot read spool segment %s: %w", path, err)
	}
	if err := checkHeader(head); err != nil {
		if errors.Is(err, errNewerFormat) {
			return nil, fmt.Errorf("cannot recover spool segment %s: %w; run the tocsin version that wrote it "+
				"until it is delivered, or move the file away", path, err)
		}
		corrupt(1)
		bad := path + ".corrupt"
		log.Error().Err(err).Str("moved_to", bad).Int64("size", size).
			Msg("spool segment is damaged beyond reading; its records are lost; moved aside for inspection")
		if err := os.Rename(path, bad); err != nil {
			return nil, fmt.Errorf("cannot move damaged spool segment %s aside: %w", path, err)
		}
		return nil, nil
	}

	seg := &segment{path: path, start: segHeaderLen, recovered: true}
	var sr segReader
	sr.window = window
	sr.reset(f, segHeaderLen, size)
	var recs [1]Record
	cursorFound := false
	for {
		if sr.off == cursorOff && !cursorFound {
			cursorFound = true
			seg.consumed, seg.start = seg.records, sr.off
		}
		if sr.off >= sr.limit {
			break
		}
		got, skipped, err := sr.readBatch(recs[:0], 1)
		if err != nil {
			return nil, fmt.Errorf("cannot read spool segment %s: %w", path, err)
		}
		seg.records += int64(len(got))
		for _, r := range skipped {
			if r.end == sr.limit {
				if err := f.Truncate(r.start); err != nil {
					return nil, fmt.Errorf("cannot cut the torn tail off spool segment %s: %w", path, err)
				}
				sr.limit, sr.off = r.start, r.start
				corrupt(1)
				log.Warn().Int64("offset", r.start).Int64("skipped_bytes", r.end-r.start).
					Msg("spool segment ends in a torn or damaged record, as after a crash mid-write; cut it off")
				continue
			}
			if cursorOff >= 0 && !cursorFound && r.end <= cursorOff {
				continue // met and counted by the run that delivered it
			}
			corrupt(1)
			log.Error().Int64("offset", r.start).Int64("skipped_bytes", r.end-r.start).
				Msg("spool segment has a damaged range; skipping to the next valid record; records in it are lost")
		}
	}
	if cursorOff >= 0 && !cursorFound {
		log.Warn().Int64("offset", cursorOff).
			Msg("spool cursor does not point at a record boundary; delivering the whole segment again")
	}
	seg.size = sr.limit
	if seg.records == seg.consumed {
		return nil, removeFile(path)
	}
	return seg, nil
}

func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cannot remove spool segment %s: %w", path, err)
	}
	return nil
}
