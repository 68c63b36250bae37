package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// On-disk format, version 1. All integers are little-endian.
//
// A segment file starts with an 8-byte header: the magic "TSPOOL" and a
// uint16 format version. Frames follow back to back:
//
//	marker   4 bytes  C7 5F A3 91
//	crc      uint32   CRC-32C of everything after this field
//	keyLen   uint32
//	valueLen uint32
//	key      keyLen bytes
//	value    valueLen bytes
//
// The marker lets a reader find the next frame after a damaged one without
// trying every byte offset as a frame: its first two bytes are not valid
// UTF-8, so log text rarely contains it. A frame is valid only when its
// marker, lengths and CRC all agree.
const (
	segMagic       = "TSPOOL"
	segVersion     = 1
	segHeaderLen   = 8
	frameHeaderLen = 16

	// MaxRecordBytes bounds a record's key plus value. Publish refuses a
	// bigger record with ErrTooLarge; a reader treats a frame that claims
	// more as damaged.
	MaxRecordBytes = 16 << 20

	// defaultReadWindow is how much of a segment a reader holds at once;
	// it grows for a frame that does not fit.
	defaultReadWindow = 1 << 20
)

var (
	frameMarker = [4]byte{0xC7, 0x5F, 0xA3, 0x91}
	castagnoli  = crc32.MakeTable(crc32.Castagnoli)
)

// segHeader returns the header a version-1 segment starts with.
func segHeader() []byte {
	h := make([]byte, 0, segHeaderLen)
	h = append(h, segMagic...)
	return binary.LittleEndian.AppendUint16(h, segVersion)
}

// errNewerFormat marks a segment written by a newer format version.
var errNewerFormat = errors.New("segment written by a newer format version")

// errBadHeader marks a file that does not start with a segment header.
var errBadHeader = errors.New("not a spool segment: bad magic")

// checkHeader validates a segment header.
func checkHeader(h []byte) error {
	if len(h) < segHeaderLen || string(h[:len(segMagic)]) != segMagic {
		return errBadHeader
	}
	if v := binary.LittleEndian.Uint16(h[len(segMagic):]); v != segVersion {
		return fmt.Errorf("%w (version %d, this build reads %d)", errNewerFormat, v, segVersion)
	}
	return nil
}

// frameLen is the encoded size of a record.
func frameLen(key, value []byte) int64 {
	return frameHeaderLen + int64(len(key)) + int64(len(value))
}

// appendFrame appends the frame of one record to dst.
func appendFrame(dst, key, value []byte) []byte {
	start := len(dst)
	dst = append(dst, frameMarker[:]...)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(key)))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(value)))
	dst = append(dst, key...)
	dst = append(dst, value...)
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(dst[start+8:], castagnoli))
	return dst
}

type frameStatus uint8

const (
	frameOK    frameStatus = iota
	frameShort             // more bytes are needed to decide
	frameBad               // not a valid frame
)

// parseFrame decodes the frame at the start of b. avail is how many bytes
// the file holds from that point on, so that a frame claiming more is bad
// rather than short. On frameShort, need is the number of bytes that
// decides. Key and value alias b and are nil when empty.
func parseFrame(b []byte, avail int64) (key, value []byte, n int, st frameStatus, need int) {
	if avail < frameHeaderLen {
		return nil, nil, 0, frameBad, 0
	}
	if len(b) < frameHeaderLen {
		return nil, nil, 0, frameShort, frameHeaderLen
	}
	if !bytes.Equal(b[:4], frameMarker[:]) {
		return nil, nil, 0, frameBad, 0
	}
	kl := int64(binary.LittleEndian.Uint32(b[8:]))
	vl := int64(binary.LittleEndian.Uint32(b[12:]))
	total := frameHeaderLen + kl + vl
	if kl+vl > MaxRecordBytes || total > avail {
		return nil, nil, 0, frameBad, 0
	}
	if int64(len(b)) < total {
		return nil, nil, 0, frameShort, int(total)
	}
	if crc32.Checksum(b[8:total], castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, nil, 0, frameBad, 0
	}
	k := frameHeaderLen + int(kl)
	if kl > 0 {
		key = b[frameHeaderLen:k:k]
	}
	if vl > 0 {
		value = b[k:total:total]
	}
	return key, value, int(total), frameOK, 0
}

// region is a damaged byte range [start, end) of a segment that a reader
// skipped.
type region struct{ start, end int64 }

// segReader reads frames from one segment through a window of the file.
// Records it returns alias the window and stay valid until the next call.
type segReader struct {
	r      io.ReaderAt
	limit  int64 // bytes of the file that hold data; may grow
	off    int64 // offset of the next frame
	window int

	buf  []byte
	wOff int64 // file offset of buf[0]
	n    int   // valid bytes in buf
}

func (s *segReader) reset(r io.ReaderAt, off, limit int64) {
	s.r, s.off, s.limit = r, off, limit
	s.wOff, s.n = 0, 0
	if s.window <= 0 {
		s.window = defaultReadWindow
	}
}

// fill makes the window cover [at, at+need), reading a whole window's
// worth from at when it does not.
func (s *segReader) fill(at int64, need int) error {
	if at >= s.wOff && at+int64(need) <= s.wOff+int64(s.n) {
		return nil
	}
	size := int64(max(need, s.window))
	size = min(size, s.limit-at)
	if int64(cap(s.buf)) < size {
		s.buf = make([]byte, size)
	}
	got, err := s.r.ReadAt(s.buf[:size], at)
	if int64(got) < size {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("file ends at %d, before the %d bytes expected", at+int64(got), s.limit)
		}
		s.n = 0
		return err
	}
	s.wOff, s.n = at, got
	return nil
}

// frameAt parses the frame at file offset at from the window.
func (s *segReader) frameAt(at int64) (key, value []byte, n int, st frameStatus, need int) {
	avail := s.limit - at
	if at < s.wOff || at > s.wOff+int64(s.n) {
		if avail < frameHeaderLen {
			return nil, nil, 0, frameBad, 0
		}
		return nil, nil, 0, frameShort, frameHeaderLen
	}
	return parseFrame(s.buf[at-s.wOff:s.n], avail)
}

// readBatch appends up to max records to dst. It stops early rather than
// refill the window under records it already returned, so a batch is
// whatever the window holds. A damaged range met before the first record
// is skipped to the next valid frame and returned in skipped.
func (s *segReader) readBatch(dst []Record, max int) (recs []Record, skipped []region, err error) {
	for len(dst) < max && s.off < s.limit {
		key, value, n, st, need := s.frameAt(s.off)
		switch st {
		case frameOK:
			dst = append(dst, Record{Key: key, Value: value})
			s.off += int64(n)
		case frameShort:
			if len(dst) > 0 {
				return dst, skipped, nil
			}
			if err := s.fill(s.off, need); err != nil {
				return dst, skipped, err
			}
		case frameBad:
			if len(dst) > 0 {
				return dst, skipped, nil
			}
			next, err := s.resync(s.off + 1)
			if err != nil {
				return dst, skipped, err
			}
			skipped = append(skipped, region{s.off, next})
			s.off = next
		}
	}
	return dst, skipped, nil
}

// resync returns the offset of the first valid frame at or after from, or
// the limit when there is none.
//
// A record whose value itself holds a whole valid frame (marker, lengths
// and checksum) would be taken for a record here when the damage ends
// inside it. Only a reader that already met damage looks at such bytes,
// and the found record's bytes are ones that were published, so this is
// left as it is rather than paying for a second checksum per frame.
func (s *segReader) resync(from int64) (int64, error) {
	at := from
	for s.limit-at >= frameHeaderLen {
		if err := s.fill(at, frameHeaderLen); err != nil {
			return 0, err
		}
		i := bytes.Index(s.buf[at-s.wOff:s.n], frameMarker[:])
		if i < 0 {
			// Keep the last bytes: a marker may straddle the window's end.
			at = max(at+1, s.wOff+int64(s.n)-int64(len(frameMarker))+1)
			continue
		}
		cand := at + int64(i)
		_, _, _, st, need := s.frameAt(cand)
		// At most twice: once for the header, once for the whole frame.
		for st == frameShort {
			if err := s.fill(cand, need); err != nil {
				return 0, err
			}
			_, _, _, st, need = s.frameAt(cand)
		}
		if st == frameOK {
			return cand, nil
		}
		at = cand + 1
	}
	return s.limit, nil
}
