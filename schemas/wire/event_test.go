package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tocsin-siem/tocsin/schemas"
)

var timeType = reflect.TypeFor[time.Time]()

// leaf is one scalar field of schemas.Event, found by reflection.
type leaf struct {
	path  string // rule-language path ("log.syslog.hostname"; "id" for ID)
	index []int  // for reflect.Value.FieldByIndex
	typ   reflect.Type
}

// eventLeaves lists every exported scalar field of schemas.Event,
// recursively, named by its expr tags.
func eventLeaves(t testing.TB) []leaf {
	var out []leaf
	var walk func(typ reflect.Type, prefix string, index []int)
	walk = func(typ reflect.Type, prefix string, index []int) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Tag.Get("expr")
			if name == "-" || name == "" {
				name = strings.Split(f.Tag.Get("json"), ",")[0]
			}
			path := prefix + name
			idx := append(append([]int(nil), index...), i)
			if f.Type.Kind() == reflect.Struct && f.Type != timeType {
				walk(f.Type, path+".", idx)
				continue
			}
			out = append(out, leaf{path: path, index: idx, typ: f.Type})
		}
	}
	walk(reflect.TypeFor[schemas.Event](), "", nil)
	require.NotEmpty(t, out)
	return out
}

// fillEvent sets every leaf to a distinct non-zero value. A leaf of a type
// it does not know fails the test: the wire format needs a rule for it.
func fillEvent(t testing.TB, leaves []leaf) *schemas.Event {
	var ev schemas.Event
	v := reflect.ValueOf(&ev).Elem()
	for n, l := range leaves {
		f := v.FieldByIndex(l.index)
		switch {
		case l.typ == timeType:
			// Every other time is outside the range of int64 nanoseconds.
			year := 2000 + n
			if n%2 == 1 {
				year = 1 + n
			}
			f.Set(reflect.ValueOf(time.Date(year, time.Month(1+n%12), 1+n, n, n, n, 100000000+n, time.FixedZone("X", 3600*(n%5)))))
		case l.typ.Kind() == reflect.String:
			f.SetString(fmt.Sprintf("%s=%d é\x00\xff", l.path, n))
		case l.typ.Kind() == reflect.Int:
			val := int64(n+1) * 1000003
			if n%2 == 1 {
				val = -val
			}
			f.SetInt(val)
		case l.typ.Kind() == reflect.Uint64:
			f.SetUint(0xfedcba9876543210 + uint64(n))
		case l.typ == reflect.TypeFor[map[string]string]():
			// Labels are text: the alert JSON carries their bytes only
			// when they are valid UTF-8 (event.original keeps the exact
			// bytes of the line).
			f.Set(reflect.ValueOf(map[string]string{
				"cs1": fmt.Sprintf("v%d é\x00", n), "": "empty key", "empty value": "",
				"deviceCustomString1Label": "Rule name",
			}))
		default:
			t.Fatalf("event field %s has type %s, which this test (and probably the wire format) does not handle: give it a tag in event.go and a value here", l.path, l.typ)
		}
	}
	return &ev
}

// requireSameEvent compares every leaf: times as instants and in UTC.
func requireSameEvent(t *testing.T, leaves []leaf, want, got *schemas.Event) {
	t.Helper()
	wv, gv := reflect.ValueOf(want).Elem(), reflect.ValueOf(got).Elem()
	for _, l := range leaves {
		w, g := wv.FieldByIndex(l.index), gv.FieldByIndex(l.index)
		if l.typ == timeType {
			wt, gt := w.Interface().(time.Time), g.Interface().(time.Time)
			require.True(t, wt.Equal(gt), "%s: want %s, got %s", l.path, wt, gt)
			require.Equal(t, wt.IsZero(), gt.IsZero(), l.path)
			if !gt.IsZero() {
				require.Equal(t, time.UTC, gt.Location(), "%s decodes in UTC", l.path)
			}
			continue
		}
		require.Equal(t, w.Interface(), g.Interface(), l.path)
	}
}

func TestEveryEventFieldHasATag(t *testing.T) {
	var paths, tagged []string
	for _, l := range eventLeaves(t) {
		paths = append(paths, l.path)
	}
	for n := 1; n <= fLast; n++ {
		tagged = append(tagged, eventFields[n].name)
	}
	sort.Strings(paths)
	sort.Strings(tagged)
	require.Equal(t, paths, tagged, "every field of schemas.Event needs a field number in event.go (and a row in docs/wire.md)")
}

func TestEventRoundTripEveryField(t *testing.T) {
	leaves := eventLeaves(t)
	want := fillEvent(t, leaves)
	buf := AppendEvent([]byte("junk before"), want)
	require.Equal(t, "junk before", string(buf[:11]), "AppendEvent appends")
	var got schemas.Event
	require.NoError(t, DecodeEvent(buf[11:], &got))
	requireSameEvent(t, leaves, want, &got)

	// Decoding into a used event leaves nothing of it behind.
	require.NoError(t, DecodeEvent(AppendEvent(nil, &schemas.Event{Message: "m"}), &got))
	require.Equal(t, schemas.Event{Message: "m"}, got)
}

func TestEventRoundTripSubstringsOfOriginal(t *testing.T) {
	leaves := eventLeaves(t)
	src := fillEvent(t, leaves)
	// Rebuild every string as a substring of one original line, as parsers
	// leave them.
	var b strings.Builder
	v := reflect.ValueOf(src).Elem()
	for _, l := range leaves {
		if l.typ.Kind() == reflect.String && l.path != "event.original" {
			b.WriteString(v.FieldByIndex(l.index).String())
		}
	}
	orig := b.String()
	want := *src
	want.Event.Original = orig
	wv, off := reflect.ValueOf(&want).Elem(), 0
	for _, l := range leaves {
		if l.typ.Kind() == reflect.String && l.path != "event.original" {
			f := wv.FieldByIndex(l.index)
			n := len(f.String())
			f.SetString(orig[off : off+n])
			off += n
		}
	}
	// The same event with every string a copy of its own.
	copied := want
	cv := reflect.ValueOf(&copied).Elem()
	for _, l := range leaves {
		if l.typ.Kind() == reflect.String && l.path != "event.original" {
			f := cv.FieldByIndex(l.index)
			f.SetString(strings.Clone(f.String()))
		}
	}
	inline := AppendEvent(nil, &copied)
	buf := AppendEvent(nil, &want)
	require.Less(t, len(buf), len(inline)-len(orig)*3/4,
		"substrings of the original travel as references, not copies")
	var got schemas.Event
	require.NoError(t, DecodeEvent(buf, &got))
	requireSameEvent(t, leaves, &want, &got)
	gv := reflect.ValueOf(&got).Elem()
	for _, l := range leaves {
		if l.typ.Kind() == reflect.String {
			_, in := offsetIn(got.Event.Original, gv.FieldByIndex(l.index).String())
			require.True(t, in, "%s is again a substring of event.original", l.path)
		}
	}
}

func TestEventTimes(t *testing.T) {
	for _, tm := range []time.Time{
		time.Unix(0, 0), time.Unix(0, 1), time.Unix(-1, 999999999),
		time.Date(2025, 12, 10, 6, 55, 48, 123456789, time.FixedZone("CET", 3600)),
		time.Date(1677, 9, 21, 0, 12, 44, 0, time.UTC), time.Date(2262, 4, 11, 23, 47, 17, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Now(), // with a monotonic reading, which is dropped
	} {
		var got schemas.Event
		require.NoError(t, DecodeEvent(AppendEvent(nil, &schemas.Event{Timestamp: tm}), &got))
		require.True(t, tm.Equal(got.Timestamp), "want %s, got %s", tm, got.Timestamp)
		require.Equal(t, time.UTC, got.Timestamp.Location())
		require.Equal(t, tm.UTC().Round(0), got.Timestamp)
	}
}

func TestEventAllocations(t *testing.T) {
	ev := sshdEvent(t)
	buf := make([]byte, 0, 1024)
	require.Zero(t, testing.AllocsPerRun(100, func() { buf = AppendEvent(buf[:0], ev) }))
	var got schemas.Event
	require.Equal(t, 1.0, testing.AllocsPerRun(100, func() {
		if err := DecodeEvent(buf, &got); err != nil {
			panic(err)
		}
	}))
	require.Equal(t, *ev, got, "a parsed event survives the round trip unchanged")

	// The one allocation is a copy of the record, whatever the record
	// claims: garbage with huge lengths allocates no more.
	hostile := []byte{Magic, 'E', 1, fMessage<<2 | wtBytes, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'}
	per := bytesPerRun(100, func() { _ = DecodeEvent(buf, &got) })
	require.LessOrEqual(t, per, uint64(len(buf))+48, "bytes allocated per decode of a %d-byte record", len(buf))
	per = bytesPerRun(100, func() { _ = DecodeEvent(hostile, &got) })
	require.LessOrEqual(t, per, uint64(512), "a record claiming 4 GiB costs its copy and the error message")
}

// bytesPerRun is the average number of bytes f allocates.
func bytesPerRun(runs int, f func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// appendField appends one raw field to an encoded event, before its end
// marker.
func appendField(rec []byte, field uint64, wt int, value ...byte) []byte {
	rec = rec[:len(rec)-1]
	rec = binary.AppendUvarint(rec, field<<2|uint64(wt))
	return append(append(rec, value...), endMarker)
}

func TestEventSkipsUnknownFields(t *testing.T) {
	ev := sshdEvent(t)
	rec := AppendEvent(nil, ev)
	rec = appendField(rec, 400, wtVarint, 0xff, 0xff, 0x03)
	rec = appendField(rec, 401, wtFixed64, 1, 2, 3, 4, 5, 6, 7, 8)
	rec = appendField(rec, 402, wtBytes, 3, 'a', 'b', 'c')
	rec = appendField(rec, 403, wtRef, 0x80, 0x01, 2)
	rec = appendField(rec, 1<<40, wtBytes, 0)
	var got schemas.Event
	require.NoError(t, DecodeEvent(rec, &got))
	require.Equal(t, *ev, got)
}

func TestEventBadInput(t *testing.T) {
	good := AppendEvent(nil, sshdEvent(t))
	for _, c := range []struct {
		name string
		rec  []byte
		want string
	}{
		{"empty", nil, "at byte 0: record is 0 bytes, shorter than the 3-byte prefix"},
		{"text", []byte("<38>Dec 10 06:55:48 web1 sshd[1]: hello"), "at byte 0: first byte is 0x3c, not the magic 0xfe"},
		{"json", []byte(`{"v":"alert/1"}`), "not a binary tocsin event"},
		{"type", []byte{Magic, 'A', 1, 0}, "at byte 1: record type byte is 0x41"},
		{"version 0", []byte{Magic, 'E', 0, 0}, "at byte 2: event version 0 is not a version this reader knows"},
		{"no end", []byte{Magic, 'E', 1}, "at byte 3: record ends without the end marker 0x00: it was cut short"},
		{"after end", []byte{Magic, 'E', 1, 0, 0}, "at byte 3: end marker is followed by 1 more bytes"},
		{"field 0", []byte{Magic, 'E', 1, 2, 0}, "at byte 3: tag 0x02 has field number 0"},
		{"long string", []byte{Magic, 'E', 1, fMessage<<2 | wtBytes, 50, 'x', 0}, "at byte 3: field 12 (message): length 50 runs past the end of the record (2 bytes left)"},
		{"huge length", []byte{Magic, 'E', 1, fMessage<<2 | wtBytes, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0}, "length 18446744073709551615 runs past the end"},
		{"varint overflow", []byte{Magic, 'E', 1, fCount<<2 | wtVarint, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0}, "at byte 4: varint overflows 64 bits"},
		{"cut varint", []byte{Magic, 'E', 1, fCount<<2 | wtVarint, 0x80}, "at byte 4: varint runs past the end of the record"},
		{"wrong type", []byte{Magic, 'E', 1, fMessage<<2 | wtVarint, 1, 0}, "at byte 3: field 12 (message) has wire type varint, which cannot hold its string value"},
		{"id as varint", []byte{Magic, 'E', 1, fID<<2 | wtVarint, 1, 0}, "field 4 (id) has wire type varint"},
		{"ref first", []byte{Magic, 'E', 1, fMessage<<2 | wtRef, 0, 1, 0}, "field 12 (message) refers into event.original, which has not come before it"},
		{"ref outside", []byte{Magic, 'E', 1, fOriginal<<2 | wtBytes, 2, 'a', 'b', fMessage<<2 | wtRef, 1, 2, 0}, "at byte 7: field 12 (message) refers to 2 bytes at offset 1 of event.original, which has 2"},
		{"original ref", []byte{Magic, 'E', 1, fOriginal<<2 | wtRef, 0, 0, 0}, "field 1 (event.original) has wire type ref"},
		{"short time", []byte{Magic, 'E', 1, fTimestamp<<2 | wtFixed64, 1, 2, 0}, "field 2 (timestamp): 8-byte value runs past the end of the record (3 bytes left)"},
		{"wide time", []byte{Magic, 'E', 1, fTimestamp<<2 | wtBytes, 1, 0, 0}, "field 2 (timestamp): a 1-byte time, want 12 bytes"},
		{"bad nanos", []byte{Magic, 'E', 1, fTimestamp<<2 | wtBytes, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0}, "not a valid time (seconds 0, nanoseconds 4294967295)"},
		{"truncated", good[:len(good)-1], "record ends without the end marker"},
		{"joined", append(append([]byte(nil), good...), good...), "end marker is followed by"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev := *sshdEvent(t)
			err := DecodeEvent(c.rec, &ev)
			require.ErrorContains(t, err, c.want)
			require.True(t, strings.HasPrefix(err.Error(), "cannot decode event record: at byte "), err.Error())
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			require.NotErrorIs(t, err, ErrUnsupportedVersion)
			require.Equal(t, schemas.Event{}, ev, "a failed decode leaves the event zero")
		})
	}
}

func TestEventEveryTruncationFails(t *testing.T) {
	leaves := eventLeaves(t)
	for _, rec := range [][]byte{AppendEvent(nil, sshdEvent(t)), AppendEvent(nil, fillEvent(t, leaves))} {
		for n := range len(rec) {
			var ev schemas.Event
			require.Error(t, DecodeEvent(rec[:n], &ev), "cut at %d of %d", n, len(rec))
		}
	}
}

func TestEventNewerVersionRefused(t *testing.T) {
	rec := AppendEvent(nil, sshdEvent(t))
	rec[2] = EventVersion + 1
	var ev schemas.Event
	err := DecodeEvent(rec, &ev)
	require.ErrorIs(t, err, ErrUnsupportedVersion)
	require.EqualError(t, err, "cannot decode event record: at byte 2: event version 2 is newer than this reader (it reads version 1): upgrade the consuming tocsin role to the producer's release")
	require.True(t, errors.Is(err, ErrUnsupportedVersion))
}

func TestEventLayout(t *testing.T) {
	ev := schemas.Event{
		ID:        0x0102030405060708,
		Timestamp: time.Unix(1, 5),
		Message:   "Failed",
		Source:    schemas.Endpoint{Port: -2},
	}
	ev.Event.Original = "x Failed"
	ev.Event.Kind = "event"
	ev.Message = ev.Event.Original[2:]
	ev.Log.Syslog.StructuredData = "-"
	want := []byte{
		0xfe, 'E', 1, // prefix
		0x06, 8, 'x', ' ', 'F', 'a', 'i', 'l', 'e', 'd', // 1 event.original, bytes
		0x09, 0x05, 0xca, 0x9a, 0x3b, 0, 0, 0, 0, // 2 timestamp, fixed64 1000000005
		0x11, 8, 7, 6, 5, 4, 3, 2, 1, // 4 id, fixed64
		0x16, 5, 'e', 'v', 'e', 'n', 't', // 5 event.kind, bytes
		0x33, 2, 6, // 12 message, ref to bytes 2..8 of the original
		0x38, 3, // 14 source.port, zigzag(-2) = 3
		0x82, 0x01, 1, '-', // 32 log.syslog.structured_data: two-byte tag
		0x00, // end marker
	}
	require.Equal(t, want, AppendEvent(nil, &ev))
}

func TestDocsListEveryFieldNumber(t *testing.T) {
	doc, err := os.ReadFile("../../docs/wire.md")
	require.NoError(t, err)
	rows := regexp.MustCompile(`(?m)^\| (\d+) \| ([a-z0-9_.]+) \| (string|int|time|id|label) \|`).FindAllStringSubmatch(string(doc), -1)
	documented := map[int]string{}
	for _, r := range rows {
		n, err := strconv.Atoi(r[1])
		require.NoError(t, err)
		documented[n] = r[2] + " " + r[3]
	}
	inCode := map[int]string{}
	for n := 1; n <= fLast; n++ {
		inCode[n] = eventFields[n].name + " " + kindNames[eventFields[n].kind]
	}
	require.Equal(t, inCode, documented, "docs/wire.md's field table must match event.go")
}
