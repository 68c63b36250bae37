package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"
	"unsafe"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Wire types: the low two bits of every tag, telling a reader how long the
// value is even when it does not know the field.
const (
	// wtVarint is an unsigned LEB128 varint; signed fields store their
	// value zigzag-encoded.
	wtVarint = 0
	// wtFixed64 is 8 bytes, little-endian.
	wtFixed64 = 1
	// wtBytes is a varint length, then that many bytes.
	wtBytes = 2
	// wtRef is two varints, offset and length, naming a substring of the
	// record's event.original, which must come earlier in the record.
	wtRef = 3
)

var wireTypeNames = [4]string{"varint", "fixed64", "bytes", "ref"}

// Field numbers of schemas.Event. They never change meaning: a removed
// field's number is retired, not reused. Numbers 1 to 31 take one byte of
// tag, so the fields every event carries come first. docs/wire.md lists
// the same table.
const (
	fOriginal       = 1
	fTimestamp      = 2
	fCreated        = 3
	fID             = 4
	fKind           = 5
	fCategory       = 6
	fAction         = 7
	fOutcome        = 8
	fReason         = 9
	fDataset        = 10
	fCount          = 11
	fMessage        = 12
	fSourceIP       = 13
	fSourcePort     = 14
	fSourceDomain   = 15
	fUserName       = 16
	fUserTarget     = 17
	fHostName       = 18
	fProcessName    = 19
	fProcessPID     = 20
	fCommandLine    = 21
	fSSHMethod      = 22
	fLogSourceAddr  = 23
	fSyslogFormat   = 24
	fSyslogPriority = 25
	fSyslogFacility = 26
	fSyslogSeverity = 27
	fSyslogHostname = 28
	fSyslogAppName  = 29
	fSyslogProcID   = 30
	fSyslogMsgID    = 31
	fSyslogSD       = 32

	// Fields of the formats beyond syslog authentication (firewalls,
	// antivirus, Windows, accounts, configuration, certificates).
	fEventType        = 33
	fEventCode        = 34
	fEventSeverity    = 35
	fUserID           = 36
	fUserDomain       = 37
	fUserTargetID     = 38
	fUserTargetDomain = 39
	fProcessExe       = 40
	fParentPID        = 41
	fParentExe        = 42
	fSourceBytes      = 43
	fSourcePackets    = 44
	fSourceMAC        = 45
	fSourceNATIP      = 46
	fSourceNATPort    = 47
	fDestIP           = 48
	fDestPort         = 49
	fDestDomain       = 50
	fDestBytes        = 51
	fDestPackets      = 52
	fDestMAC          = 53
	fDestNATIP        = 54
	fDestNATPort      = 55
	fNetTransport     = 56
	fNetProtocol      = 57
	fNetType          = 58
	fNetDirection     = 59
	fNetBytes         = 60
	fNetPackets       = 61
	fObsVendor        = 62
	fObsProduct       = 63
	fObsVersion       = 64
	fObsType          = 65
	fObsHostname      = 66
	fObsSerial        = 67
	fObsIngress       = 68
	fObsEgress        = 69
	fRuleID           = 70
	fRuleName         = 71
	fRuleCategory     = 72
	fThreatName       = 73
	fThreatCategory   = 74
	fThreatSeverity   = 75
	fFilePath         = 76
	fFileName         = 77
	fFileMD5          = 78
	fFileSHA1         = 79
	fFileSHA256       = 80
	fGroupName        = 81
	fGroupID          = 82
	fGroupDomain      = 83
	fWinEventID       = 84
	fWinChannel       = 85
	fWinProvider      = 86
	fWinComputer      = 87
	fWinRecordID      = 88
	fWinKeywords      = 89
	fWinLogonType     = 90
	fWinStatus        = 91
	fWinSubStatus     = 92
	fTLSVersions      = 93
	fTLSSubject       = 94
	fTLSIssuer        = 95
	fTLSNotBefore     = 96
	fTLSNotAfter      = 97
	fTLSHash          = 98
	fVulnID           = 99
	fVulnSeverity     = 100
	fChangeItem       = 101
	// fLabel is one entry of labels, repeated: a bytes value holding a
	// varint key length, the key, then the value.
	fLabel = 102
	fLast  = fLabel

	// fFirstExt is the first field number written by the table-driven
	// part of the encoder.
	fFirstExt = fEventType
)

// endMarker ends every event: tag 0 (field 0, varint) with no value. A
// record cut short anywhere, even between two fields, lacks it and is
// refused instead of decoding as an event with fields missing.
const endMarker = 0x00

// Value kinds of event fields.
const (
	kindString = iota
	kindInt
	kindTime
	kindID
	kindLabel
)

var kindNames = [...]string{"string", "int", "time", "id", "label"}

// eventField names one field number: its dotted name (the rule-language
// path; "id" for Event.ID), its value kind and where it lives in
// schemas.Event.
type eventField struct {
	name string
	kind int
	// off is the field's byte offset in schemas.Event, for the decoder.
	off uintptr
}

// eventFields is indexed by field number.
var eventFields [fLast + 1]eventField

// The field table is built from typed accessors, so the compiler checks
// that each number's kind matches its Go type; the decoder then stores
// through the recorded offsets without a per-field switch.
func init() {
	var e schemas.Event
	base := uintptr(unsafe.Pointer(&e))
	str := func(f int, name string, p *string) {
		eventFields[f] = eventField{name, kindString, uintptr(unsafe.Pointer(p)) - base}
	}
	num := func(f int, name string, p *int) {
		eventFields[f] = eventField{name, kindInt, uintptr(unsafe.Pointer(p)) - base}
	}
	tm := func(f int, name string, p *time.Time) {
		eventFields[f] = eventField{name, kindTime, uintptr(unsafe.Pointer(p)) - base}
	}
	str(fOriginal, "event.original", &e.Event.Original)
	tm(fTimestamp, "timestamp", &e.Timestamp)
	tm(fCreated, "event.created", &e.Event.Created)
	eventFields[fID] = eventField{"id", kindID, uintptr(unsafe.Pointer(&e.ID)) - base}
	str(fKind, "event.kind", &e.Event.Kind)
	str(fCategory, "event.category", &e.Event.Category)
	str(fAction, "event.action", &e.Event.Action)
	str(fOutcome, "event.outcome", &e.Event.Outcome)
	str(fReason, "event.reason", &e.Event.Reason)
	str(fDataset, "event.dataset", &e.Event.Dataset)
	num(fCount, "event.count", &e.Event.Count)
	str(fMessage, "message", &e.Message)
	str(fSourceIP, "source.ip", &e.Source.IP)
	num(fSourcePort, "source.port", &e.Source.Port)
	str(fSourceDomain, "source.domain", &e.Source.Domain)
	str(fUserName, "user.name", &e.User.Name)
	str(fUserTarget, "user.target.name", &e.User.Target.Name)
	str(fHostName, "host.name", &e.Host.Name)
	str(fProcessName, "process.name", &e.Process.Name)
	num(fProcessPID, "process.pid", &e.Process.PID)
	str(fCommandLine, "process.command_line", &e.Process.CommandLine)
	str(fSSHMethod, "ssh.method", &e.SSH.Method)
	str(fLogSourceAddr, "log.source.address", &e.Log.Source.Address)
	str(fSyslogFormat, "log.syslog.format", &e.Log.Syslog.Format)
	num(fSyslogPriority, "log.syslog.priority", &e.Log.Syslog.Priority)
	num(fSyslogFacility, "log.syslog.facility", &e.Log.Syslog.Facility)
	num(fSyslogSeverity, "log.syslog.severity", &e.Log.Syslog.Severity)
	str(fSyslogHostname, "log.syslog.hostname", &e.Log.Syslog.Hostname)
	str(fSyslogAppName, "log.syslog.appname", &e.Log.Syslog.AppName)
	str(fSyslogProcID, "log.syslog.procid", &e.Log.Syslog.ProcID)
	str(fSyslogMsgID, "log.syslog.msgid", &e.Log.Syslog.MsgID)
	str(fSyslogSD, "log.syslog.structured_data", &e.Log.Syslog.StructuredData)

	str(fEventType, "event.type", &e.Event.Type)
	str(fEventCode, "event.code", &e.Event.Code)
	num(fEventSeverity, "event.severity", &e.Event.Severity)
	str(fUserID, "user.id", &e.User.ID)
	str(fUserDomain, "user.domain", &e.User.Domain)
	str(fUserTargetID, "user.target.id", &e.User.Target.ID)
	str(fUserTargetDomain, "user.target.domain", &e.User.Target.Domain)
	str(fProcessExe, "process.executable", &e.Process.Executable)
	num(fParentPID, "process.parent.pid", &e.Process.Parent.PID)
	str(fParentExe, "process.parent.executable", &e.Process.Parent.Executable)
	num(fSourceBytes, "source.bytes", &e.Source.Bytes)
	num(fSourcePackets, "source.packets", &e.Source.Packets)
	str(fSourceMAC, "source.mac", &e.Source.MAC)
	str(fSourceNATIP, "source.nat_ip", &e.Source.NATIP)
	num(fSourceNATPort, "source.nat_port", &e.Source.NATPort)
	str(fDestIP, "destination.ip", &e.Destination.IP)
	num(fDestPort, "destination.port", &e.Destination.Port)
	str(fDestDomain, "destination.domain", &e.Destination.Domain)
	num(fDestBytes, "destination.bytes", &e.Destination.Bytes)
	num(fDestPackets, "destination.packets", &e.Destination.Packets)
	str(fDestMAC, "destination.mac", &e.Destination.MAC)
	str(fDestNATIP, "destination.nat_ip", &e.Destination.NATIP)
	num(fDestNATPort, "destination.nat_port", &e.Destination.NATPort)
	str(fNetTransport, "network.transport", &e.Network.Transport)
	str(fNetProtocol, "network.protocol", &e.Network.Protocol)
	str(fNetType, "network.type", &e.Network.Type)
	str(fNetDirection, "network.direction", &e.Network.Direction)
	num(fNetBytes, "network.bytes", &e.Network.Bytes)
	num(fNetPackets, "network.packets", &e.Network.Packets)
	str(fObsVendor, "observer.vendor", &e.Observer.Vendor)
	str(fObsProduct, "observer.product", &e.Observer.Product)
	str(fObsVersion, "observer.version", &e.Observer.Version)
	str(fObsType, "observer.type", &e.Observer.Type)
	str(fObsHostname, "observer.hostname", &e.Observer.Hostname)
	str(fObsSerial, "observer.serial_number", &e.Observer.SerialNumber)
	str(fObsIngress, "observer.ingress_interface", &e.Observer.IngressInterface)
	str(fObsEgress, "observer.egress_interface", &e.Observer.EgressInterface)
	str(fRuleID, "rule.id", &e.Rule.ID)
	str(fRuleName, "rule.name", &e.Rule.Name)
	str(fRuleCategory, "rule.category", &e.Rule.Category)
	str(fThreatName, "threat.name", &e.Threat.Name)
	str(fThreatCategory, "threat.category", &e.Threat.Category)
	str(fThreatSeverity, "threat.severity", &e.Threat.Severity)
	str(fFilePath, "file.path", &e.File.Path)
	str(fFileName, "file.name", &e.File.Name)
	str(fFileMD5, "file.hash.md5", &e.File.Hash.MD5)
	str(fFileSHA1, "file.hash.sha1", &e.File.Hash.SHA1)
	str(fFileSHA256, "file.hash.sha256", &e.File.Hash.SHA256)
	str(fGroupName, "group.name", &e.Group.Name)
	str(fGroupID, "group.id", &e.Group.ID)
	str(fGroupDomain, "group.domain", &e.Group.Domain)
	num(fWinEventID, "winlog.event_id", &e.Winlog.EventID)
	str(fWinChannel, "winlog.channel", &e.Winlog.Channel)
	str(fWinProvider, "winlog.provider_name", &e.Winlog.Provider)
	str(fWinComputer, "winlog.computer_name", &e.Winlog.Computer)
	num(fWinRecordID, "winlog.record_id", &e.Winlog.RecordID)
	str(fWinKeywords, "winlog.keywords", &e.Winlog.Keywords)
	num(fWinLogonType, "winlog.logon_type", &e.Winlog.LogonType)
	str(fWinStatus, "winlog.status", &e.Winlog.Status)
	str(fWinSubStatus, "winlog.sub_status", &e.Winlog.SubStatus)
	str(fTLSVersions, "tls.versions", &e.TLS.Versions)
	str(fTLSSubject, "tls.server.subject", &e.TLS.Server.Subject)
	str(fTLSIssuer, "tls.server.issuer", &e.TLS.Server.Issuer)
	tm(fTLSNotBefore, "tls.server.not_before", &e.TLS.Server.NotBefore)
	tm(fTLSNotAfter, "tls.server.not_after", &e.TLS.Server.NotAfter)
	str(fTLSHash, "tls.server.hash", &e.TLS.Server.Hash)
	str(fVulnID, "vulnerability.id", &e.Vulnerability.ID)
	str(fVulnSeverity, "vulnerability.severity", &e.Vulnerability.Severity)
	str(fChangeItem, "change.item", &e.Change.Item)
	eventFields[fLabel] = eventField{"labels", kindLabel, uintptr(unsafe.Pointer(&e.Labels)) - base}
	for n := 1; n <= fLast; n++ {
		if eventFields[n].name == "" {
			panic(fmt.Sprintf("wire: BUG: event field number %d has no entry", n))
		}
	}
}

// AppendEvent appends ev's binary encoding to dst and returns the extended
// slice. It allocates only when dst must grow; a caller that reuses dst
// across events encodes without allocating.
//
// String fields that are substrings of ev.Event.Original (as parsers leave
// them) are written as references into it, so a typical event costs its
// raw line plus a few bytes per field.
func AppendEvent(dst []byte, ev *schemas.Event) []byte {
	dst = append(dst, Magic, typeByteEvent, EventVersion)
	orig := ev.Event.Original
	if orig != "" {
		dst = append(dst, fOriginal<<2|wtBytes)
		dst = appendUvarint(dst, uint64(len(orig)))
		dst = append(dst, orig...)
	}
	dst = appendTime(dst, fTimestamp, ev.Timestamp)
	dst = appendTime(dst, fCreated, ev.Event.Created)
	if ev.ID != 0 {
		dst = append(dst, fID<<2|wtFixed64)
		dst = binary.LittleEndian.AppendUint64(dst, ev.ID)
	}
	dst = appendString(dst, orig, fKind, ev.Event.Kind)
	dst = appendString(dst, orig, fCategory, ev.Event.Category)
	dst = appendString(dst, orig, fAction, ev.Event.Action)
	dst = appendString(dst, orig, fOutcome, ev.Event.Outcome)
	dst = appendString(dst, orig, fReason, ev.Event.Reason)
	dst = appendString(dst, orig, fDataset, ev.Event.Dataset)
	dst = appendInt(dst, fCount, ev.Event.Count)
	dst = appendString(dst, orig, fMessage, ev.Message)
	dst = appendString(dst, orig, fSourceIP, ev.Source.IP)
	dst = appendInt(dst, fSourcePort, ev.Source.Port)
	dst = appendString(dst, orig, fSourceDomain, ev.Source.Domain)
	dst = appendString(dst, orig, fUserName, ev.User.Name)
	dst = appendString(dst, orig, fUserTarget, ev.User.Target.Name)
	dst = appendString(dst, orig, fHostName, ev.Host.Name)
	dst = appendString(dst, orig, fProcessName, ev.Process.Name)
	dst = appendInt(dst, fProcessPID, ev.Process.PID)
	dst = appendString(dst, orig, fCommandLine, ev.Process.CommandLine)
	dst = appendString(dst, orig, fSSHMethod, ev.SSH.Method)
	dst = appendString(dst, orig, fLogSourceAddr, ev.Log.Source.Address)
	sl := &ev.Log.Syslog
	dst = appendString(dst, orig, fSyslogFormat, sl.Format)
	dst = appendInt(dst, fSyslogPriority, sl.Priority)
	dst = appendInt(dst, fSyslogFacility, sl.Facility)
	dst = appendInt(dst, fSyslogSeverity, sl.Severity)
	dst = appendString(dst, orig, fSyslogHostname, sl.Hostname)
	dst = appendString(dst, orig, fSyslogAppName, sl.AppName)
	dst = appendString(dst, orig, fSyslogProcID, sl.ProcID)
	dst = appendString(dst, orig, fSyslogMsgID, sl.MsgID)
	dst = appendString(dst, orig, fSyslogSD, sl.StructuredData)
	dst = appendExt(dst, orig, ev)
	return append(dst, endMarker)
}

// appendExt writes the fields from fFirstExt on, reading them through the
// field table: most events leave all of them empty, and a loop over the
// table keeps the encoder as short as the decoder.
func appendExt(dst []byte, orig string, ev *schemas.Event) []byte {
	base := unsafe.Pointer(ev)
	for n := fFirstExt; n < fLabel; n++ {
		f := &eventFields[n]
		p := unsafe.Add(base, f.off)
		switch f.kind {
		case kindString:
			dst = appendString(dst, orig, n, *(*string)(p))
		case kindInt:
			dst = appendInt(dst, n, *(*int)(p))
		case kindTime:
			dst = appendTime(dst, n, *(*time.Time)(p))
		}
	}
	if len(ev.Labels) == 0 {
		return dst
	}
	// Keys in order, so that one event always encodes to the same bytes.
	keys := make([]string, 0, len(ev.Labels))
	for k := range ev.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := ev.Labels[k]
		dst = appendTag(dst, fLabel, wtBytes)
		dst = appendUvarint(dst, uint64(uvarintLen(uint64(len(k)))+len(k)+len(v)))
		dst = appendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
		dst = append(dst, v...)
	}
	return dst
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendTag(dst []byte, field, wt int) []byte {
	if field < 32 {
		return append(dst, byte(field<<2|wt))
	}
	return binary.AppendUvarint(dst, uint64(field)<<2|uint64(wt))
}

// appendString writes a non-empty string as a reference into orig when
// it lies there, else as bytes. The empty check is kept small enough to
// inline, since most events leave most fields empty.
func appendString(dst []byte, orig string, field int, s string) []byte {
	if s == "" {
		return dst
	}
	return appendNonEmpty(dst, orig, field, s)
}

func appendNonEmpty(dst []byte, orig string, field int, s string) []byte {
	if off, ok := offsetIn(orig, s); ok {
		dst = appendTag(dst, field, wtRef)
		dst = appendUvarint(dst, uint64(off))
		return appendUvarint(dst, uint64(len(s)))
	}
	dst = appendTag(dst, field, wtBytes)
	dst = appendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendUvarint is binary.AppendUvarint with the one-byte case inlined.
func appendUvarint(dst []byte, v uint64) []byte {
	if v < 0x80 {
		return append(dst, byte(v))
	}
	return binary.AppendUvarint(dst, v)
}

// offsetIn reports whether s lies in orig's memory (a substring the parser
// cut from it) and at which offset. It compares addresses only and never
// reads through them.
func offsetIn(orig, s string) (int, bool) {
	if len(s) > len(orig) {
		return 0, false
	}
	base := uintptr(unsafe.Pointer(unsafe.StringData(orig)))
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	if p < base || p-base > uintptr(len(orig)-len(s)) {
		return 0, false
	}
	return int(p - base), true
}

func appendInt(dst []byte, field, v int) []byte {
	if v == 0 {
		return dst
	}
	dst = appendTag(dst, field, wtVarint)
	return appendUvarint(dst, zigzag(int64(v)))
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// Times whose unix seconds lie strictly between these bounds fit in an
// int64 count of nanoseconds (years 1678 to 2262).
const (
	minNanoSec = math.MinInt64/1_000_000_000 + 1
	maxNanoSec = math.MaxInt64/1_000_000_000 - 1
	// unixToInternal is the seconds from year 1 to 1970; time.Unix wraps
	// for seconds above MaxInt64 minus this.
	unixToInternal = 62135596800
	maxUnixSec     = math.MaxInt64 - unixToInternal
	wideTimeLen    = 12
)

// appendTime writes a non-zero time as fixed64 unix nanoseconds, or, for
// the rare time outside years 1678-2262, as 12 bytes: int64 unix seconds
// and uint32 nanoseconds, little-endian.
func appendTime(dst []byte, field int, t time.Time) []byte {
	if t.IsZero() {
		return dst
	}
	sec := t.Unix()
	if sec > minNanoSec && sec < maxNanoSec {
		dst = appendTag(dst, field, wtFixed64)
		return binary.LittleEndian.AppendUint64(dst, uint64(sec*1e9+int64(t.Nanosecond())))
	}
	dst = appendTag(dst, field, wtBytes)
	dst = append(dst, wideTimeLen)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(sec))
	return binary.LittleEndian.AppendUint32(dst, uint32(t.Nanosecond()))
}

// DecodeError says where and why a record could not be decoded.
type DecodeError struct {
	// Record is the record type being decoded ("event").
	Record string
	// Offset is the byte offset in the record value where the problem
	// starts.
	Offset int
	// Reason says what was wrong there.
	Reason string
	// Err is ErrUnsupportedVersion for a record from a newer writer, else
	// nil.
	Err error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("cannot decode %s record: at byte %d: %s", e.Record, e.Offset, e.Reason)
}

// Unwrap returns Err.
func (e *DecodeError) Unwrap() error { return e.Err }

func eventError(off int, format string, args ...any) error {
	return &DecodeError{Record: RecordEvent, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// checkEventPrefix validates the 3-byte prefix of a binary event.
func checkEventPrefix(src []byte) error {
	if len(src) < prefixLen {
		return eventError(0, "record is %d bytes, shorter than the 3-byte prefix (is this a tocsin event?)", len(src))
	}
	if src[0] != Magic {
		return eventError(0, "first byte is 0x%02x, not the magic 0x%02x: not a binary tocsin event (a raw line or a JSON record on the events topic?)", src[0], Magic)
	}
	if src[1] != typeByteEvent {
		return eventError(1, "record type byte is 0x%02x, want 0x%02x ('E', event)", src[1], typeByteEvent)
	}
	if v := src[2]; v != EventVersion {
		if v > EventVersion {
			return &DecodeError{Record: RecordEvent, Offset: 2, Err: ErrUnsupportedVersion, Reason: fmt.Sprintf(
				"event version %d is newer than this reader (it reads version %d): upgrade the consuming tocsin role to the producer's release", v, EventVersion)}
		}
		return eventError(2, "event version %d is not a version this reader knows (it reads version %d)", v, EventVersion)
	}
	return nil
}

// DecodeEvent decodes a record written by AppendEvent into ev, replacing
// everything ev held. All of ev's strings share one allocation, a copy of
// src, so src may be reused as soon as DecodeEvent returns; every string
// that was a substring of event.original when encoded is one again, as
// parsers leave them.
//
// Times come back in UTC with their nanoseconds; the time's location and
// monotonic reading are not carried. Fields of unknown numbers (from a
// newer writer of the same version) are skipped. On error ev is left zero
// and the error, a *DecodeError, gives the byte offset and the reason; it
// wraps ErrUnsupportedVersion for a record of a newer version. DecodeEvent
// never panics, whatever src holds, and allocates nothing beyond the copy
// of src (and the error).
func DecodeEvent(src []byte, ev *schemas.Event) error {
	*ev = schemas.Event{}
	if err := checkEventPrefix(src); err != nil {
		return err
	}
	if err := decodeEvent(string(src), ev); err != nil {
		*ev = schemas.Event{}
		return err
	}
	return nil
}

// decodeEvent decodes the fields after the prefix. s is the caller's
// copy of the whole record; every string stored in ev is a slice of it.
func decodeEvent(s string, ev *schemas.Event) error {
	var orig string
	haveOrig := false
	base := unsafe.Pointer(ev)
	i := prefixLen
	for i < len(s) {
		at := i
		var tag uint64
		if b := s[i]; b < 0x80 {
			tag = uint64(b)
			i++
		} else {
			v, n := uvarint(s, i)
			if n <= 0 {
				return varintError(s, at, n)
			}
			tag, i = v, i+n
		}
		field, wt := tag>>2, int(tag&3)
		if field-1 >= fLast { // field 0 wraps around too
			if field == 0 {
				if tag != endMarker {
					return eventError(at, "tag 0x%02x has field number 0, which only the end marker 0x00 may use", tag)
				}
				if i != len(s) {
					return eventError(at, "end marker is followed by %d more bytes (two records joined, or garbage appended?)", len(s)-i)
				}
				return nil
			}
			var err error
			if i, err = skip(s, i, wt); err != nil {
				return err
			}
			continue
		}
		f := &eventFields[field]
		p := unsafe.Add(base, f.off)
		switch wt {
		case wtBytes:
			var n uint64
			if i < len(s) && s[i] < 0x80 {
				n = uint64(s[i])
				i++
			} else {
				v, w := uvarint(s, i)
				if w <= 0 {
					return varintError(s, i, w)
				}
				n, i = v, i+w
			}
			if n > uint64(len(s)-i) {
				return eventError(at, "field %d (%s): length %d runs past the end of the record (%d bytes left)", field, f.name, n, len(s)-i)
			}
			v := s[i : i+int(n)]
			i += int(n)
			switch f.kind {
			case kindString:
				*(*string)(p) = v
				if field == fOriginal {
					orig, haveOrig = v, true
				}
			case kindTime:
				t, err := wideTime(v)
				if err != nil {
					return eventError(at, "field %d (%s): %v", field, f.name, err)
				}
				*(*time.Time)(p) = t
			case kindLabel:
				kl, w := uvarint(v, 0)
				if w <= 0 || kl > uint64(len(v)-w) {
					return eventError(at, "field %d (%s): key length runs past the label's %d bytes", field, f.name, len(v))
				}
				if ev.Labels == nil {
					ev.Labels = make(map[string]string)
				}
				ev.Labels[v[w:w+int(kl)]] = v[w+int(kl):]
			default:
				return wrongType(at, field, wt)
			}
		case wtRef:
			if f.kind != kindString || field == fOriginal {
				return wrongType(at, field, wt)
			}
			if !haveOrig {
				return eventError(at, "field %d (%s) refers into event.original, which has not come before it", field, f.name)
			}
			off, n1 := uvarint(s, i)
			if n1 <= 0 {
				return varintError(s, i, n1)
			}
			n, n2 := uvarint(s, i+n1)
			if n2 <= 0 {
				return varintError(s, i+n1, n2)
			}
			i += n1 + n2
			if off > uint64(len(orig)) || n > uint64(len(orig))-off {
				return eventError(at, "field %d (%s) refers to %d bytes at offset %d of event.original, which has %d", field, f.name, n, off, len(orig))
			}
			*(*string)(p) = orig[off : off+n]
		case wtVarint:
			if f.kind != kindInt {
				return wrongType(at, field, wt)
			}
			var u uint64
			if i < len(s) && s[i] < 0x80 {
				u = uint64(s[i])
				i++
			} else {
				v, n := uvarint(s, i)
				if n <= 0 {
					return varintError(s, i, n)
				}
				u, i = v, i+n
			}
			v := unzigzag(u)
			if bits.UintSize == 32 && (v > math.MaxInt32 || v < math.MinInt32) {
				return eventError(at, "field %d (%s): value %d does not fit in an int on this platform", field, f.name, v)
			}
			*(*int)(p) = int(v)
		case wtFixed64:
			if len(s)-i < 8 {
				return eventError(at, "field %d (%s): 8-byte value runs past the end of the record (%d bytes left)", field, f.name, len(s)-i)
			}
			v := le64(s[i : i+8])
			i += 8
			switch f.kind {
			case kindID:
				*(*uint64)(p) = v
			case kindTime:
				*(*time.Time)(p) = time.Unix(0, int64(v)).UTC()
			default:
				return wrongType(at, field, wt)
			}
		}
	}
	return eventError(len(s), "record ends without the end marker 0x00: it was cut short")
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// wideTime reads the 12-byte form of a time: int64 unix seconds and uint32
// nanoseconds, little-endian.
func wideTime(v string) (time.Time, error) {
	if len(v) != wideTimeLen {
		return time.Time{}, fmt.Errorf("a %d-byte time, want %d bytes (seconds and nanoseconds)", len(v), wideTimeLen)
	}
	sec := int64(le64(v[:8]))
	nsec := uint32(v[8]) | uint32(v[9])<<8 | uint32(v[10])<<16 | uint32(v[11])<<24
	if nsec >= 1e9 || sec > maxUnixSec {
		return time.Time{}, fmt.Errorf("not a valid time (seconds %d, nanoseconds %d)", sec, nsec)
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}

// uvarint reads an unsigned LEB128 varint of at most 10 bytes at s[i:]. It
// returns the value and its length; the length is 0 when s ends first and
// -1 when the value overflows 64 bits.
func uvarint(s string, i int) (uint64, int) {
	var v uint64
	for n := 0; n < binary.MaxVarintLen64; n++ {
		if i+n >= len(s) {
			return 0, 0
		}
		b := s[i+n]
		if n == binary.MaxVarintLen64-1 && b > 1 {
			return 0, -1
		}
		v |= uint64(b&0x7f) << (7 * n)
		if b < 0x80 {
			return v, n + 1
		}
	}
	return 0, -1
}

func varintError(s string, at, n int) error {
	if n == 0 {
		return eventError(at, "varint runs past the end of the record (%d bytes)", len(s))
	}
	return eventError(at, "varint overflows 64 bits")
}

// skip passes over the value at s[i:] of a field this reader does not know
// and returns the offset after it.
func skip(s string, i, wt int) (int, error) {
	switch wt {
	case wtVarint:
		_, n := uvarint(s, i)
		if n <= 0 {
			return 0, varintError(s, i, n)
		}
		return i + n, nil
	case wtFixed64:
		if len(s)-i < 8 {
			return 0, eventError(i, "8-byte value runs past the end of the record (%d bytes left)", len(s)-i)
		}
		return i + 8, nil
	case wtBytes:
		n, w := uvarint(s, i)
		if w <= 0 {
			return 0, varintError(s, i, w)
		}
		if n > uint64(len(s)-i-w) {
			return 0, eventError(i, "length %d runs past the end of the record (%d bytes left)", n, len(s)-i-w)
		}
		return i + w + int(n), nil
	default: // wtRef: offset and length, both varints
		for range 2 {
			_, n := uvarint(s, i)
			if n <= 0 {
				return 0, varintError(s, i, n)
			}
			i += n
		}
		return i, nil
	}
}

func wrongType(at int, field uint64, wt int) error {
	f := eventFields[field]
	return eventError(at, "field %d (%s) has wire type %s, which cannot hold its %s value", field, f.name, wireTypeNames[wt], kindNames[f.kind])
}
