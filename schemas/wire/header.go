package wire

import (
	"bytes"
	"errors"
	"strings"
)

// HeaderType is the Kafka record header that names a record's type and
// version ("event/1"). Producers set it on every record, so that tools and
// consumers can route a record without decoding it; the value itself
// carries the same information (see Sniff), so a record without the header
// is still readable.
const HeaderType = "tocsin-type"

// HeaderRawOrigin is set on an event that ingest made from a record of a
// raw-line topic: "<partition>:<offset>" of that record. A raw record that
// is consumed again after a crash gives the same event again; the engine
// drops an event whose origin offset is not above the highest it has seen
// from that raw partition.
const HeaderRawOrigin = "tocsin-raw-origin"

// Values of HeaderType, one per record type and version this package
// writes.
const (
	TypeEvent   = "event/1"
	TypeAlert   = "alert/1"
	TypeFailure = "failure/1"
)

// Record types, as Sniff returns them and as the part of a HeaderType value
// before the slash.
const (
	RecordEvent   = "event"
	RecordAlert   = "alert"
	RecordFailure = "failure"
)

// Versions this package writes and the newest it reads, per record type.
const (
	EventVersion   = 1
	AlertVersion   = 1
	FailureVersion = 1
)

// Binary record prefix. Magic is 0xFE, a byte that never occurs in UTF-8
// text, so a binary record cannot be mistaken for a raw log line or a JSON
// document on the same topic.
const (
	Magic = 0xFE
	// typeByteEvent is the record-type byte of a binary event ('E').
	typeByteEvent = 'E'
	// prefixLen is the length of magic, record type and version.
	prefixLen = 3
)

// ErrUnsupportedVersion is wrapped by the decoders' error when a record is
// of a version newer than this reader knows: the writer was upgraded
// before the reader. Upgrade the reading role; the record is not lost,
// its offset is not committed.
var ErrUnsupportedVersion = errors.New("record version is newer than this reader supports")

// jsonPrefix is how AppendAlert and AppendFailure begin every document:
// the "v" member first, holding the HeaderType value.
const jsonPrefix = `{"v":"`

// Sniff tells a record's type and version from its value: a binary event
// by its 3-byte prefix, a JSON alert or failure by its leading "v" member
// as this package writes it. ok is false for anything else (a raw log
// line, or a JSON document reformatted by another tool, which the Decode
// functions may still read).
func Sniff(value []byte) (recordType string, version int, ok bool) {
	if len(value) >= prefixLen && value[0] == Magic {
		if value[1] == typeByteEvent && value[2] != 0 {
			return RecordEvent, int(value[2]), true
		}
		return "", 0, false
	}
	if !bytes.HasPrefix(value, []byte(jsonPrefix)) {
		return "", 0, false
	}
	rest := value[len(jsonPrefix):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || end > 32 {
		return "", 0, false
	}
	return ParseType(string(rest[:end]))
}

// ParseType splits a HeaderType value ("alert/1") into record type and
// version; ok is false when it is not of that form or names a type this
// package does not know. It does not retain v.
func ParseType(v string) (recordType string, version int, ok bool) {
	name, num, found := strings.Cut(v, "/")
	if !found {
		return "", 0, false
	}
	switch name {
	case RecordEvent:
		recordType = RecordEvent
	case RecordAlert:
		recordType = RecordAlert
	case RecordFailure:
		recordType = RecordFailure
	default:
		return "", 0, false
	}
	// A plain decimal from 1 to 255, no sign and no leading zero.
	if len(num) == 0 || len(num) > 3 || num[0] == '0' {
		return "", 0, false
	}
	for i := 0; i < len(num); i++ {
		if num[i] < '0' || num[i] > '9' {
			return "", 0, false
		}
		version = version*10 + int(num[i]-'0')
	}
	if version > 255 {
		return "", 0, false
	}
	return recordType, version, true
}
