package wire

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tocsin-siem/tocsin/schemas"
)

func testAlert(t testing.TB) *schemas.Alert {
	ev1 := *sshdEvent(t)
	ev2 := *fillEvent(t, eventLeaves(t))
	// Times outside JSON's four-digit years would not round-trip through
	// RFC 3339; evidence events have real times.
	ev2.Timestamp = time.Date(2025, 12, 10, 6, 55, 49, 987654321, time.FixedZone("CET", 3600))
	ev2.Event.Created = time.Date(2025, 12, 10, 6, 55, 50, 1, time.UTC)
	return &schemas.Alert{
		ID: "a1b2", RuleID: "ssh-brute-force-fast", RuleTitle: "SSH brute force", RuleKind: "threshold",
		Description: "many failures", Severity: schemas.SeverityHigh,
		Tags: []string{"attack.t1110"}, References: []string{"https://attack.mitre.org/techniques/T1110/"},
		GroupKey:  "203.0.113.7",
		Entities:  []schemas.Entity{{Type: "ip", Field: "source.address", Value: "203.0.113.7"}},
		Reason:    "10 failed logins in 1m",
		FirstSeen: time.Date(2025, 12, 10, 6, 55, 48, 1, time.UTC), LastSeen: time.Date(2025, 12, 10, 6, 56, 0, 999999999, time.UTC),
		Count: 10, Events: []schemas.Event{ev1, ev2}, EventsTotal: 12,
		CreatedAt: time.Date(2025, 12, 10, 6, 56, 1, 5, time.UTC),
	}
}

func TestAlertRoundTrip(t *testing.T) {
	a := testAlert(t)
	doc, err := AppendAlert([]byte("x"), a)
	require.NoError(t, err)
	require.Equal(t, `x{"v":"alert/1","id":"a1b2","rule_id":"ssh-brute-force-fast",`, string(doc[:len(`x{"v":"alert/1","id":"a1b2","rule_id":"ssh-brute-force-fast",`)]))
	typ, v, ok := Sniff(doc[1:])
	require.True(t, ok)
	require.Equal(t, RecordAlert, typ)
	require.Equal(t, 1, v)

	var got schemas.Alert
	require.NoError(t, DecodeAlert(doc[1:], &got))
	want := *a
	want.Events = append([]schemas.Event(nil), a.Events...)
	want.Events[1].Timestamp = want.Events[1].Timestamp.UTC()
	srv := &want.Events[1].TLS.Server
	srv.NotBefore, srv.NotAfter = srv.NotBefore.UTC(), srv.NotAfter.UTC()
	require.Equal(t, want, got, "everything survives, evidence times to the nanosecond")
	require.Equal(t, 987654321, got.Events[1].Timestamp.Nanosecond())

	// Every field of the evidence events, by reflection.
	leaves := eventLeaves(t)
	for i := range a.Events {
		requireSameEvent(t, leaves, &a.Events[i], &got.Events[i])
	}
}

func TestAlertVersions(t *testing.T) {
	doc, err := AppendAlert(nil, testAlert(t))
	require.NoError(t, err)
	newer := strings.Replace(string(doc), `"v":"alert/1"`, `"v":"alert/2"`, 1)
	var a schemas.Alert
	err = DecodeAlert([]byte(newer), &a)
	require.ErrorIs(t, err, ErrUnsupportedVersion)
	require.EqualError(t, err, "cannot decode alert record: at byte 0: alert version 2 is newer than this reader (it reads version 1): upgrade the consuming tocsin role to the producer's release")
	require.Equal(t, schemas.Alert{}, a)

	// A newer writer's extra members are ignored.
	extra := strings.Replace(string(doc), `"v":"alert/1",`, `"v":"alert/1","mitre":{"x":[1,2]},`, 1)
	require.NoError(t, DecodeAlert([]byte(extra), &a))
	require.Equal(t, "a1b2", a.ID)

	for _, c := range []struct{ doc, want string }{
		{``, "at byte 0: empty record"},
		{`{"id":"x"}`, `no "v" member: not a tocsin alert document`},
		{`{"v":"failure/1"}`, `"v" is "failure/1": a failure record, not a alert record`},
		{`{"v":"alert/one"}`, `"v" is "alert/one", not of the form alert/N`},
		{`{"v":"alert/1","count":"ten"}`, "invalid JSON: json: cannot unmarshal string into Go struct field"},
		{`{"v":"alert/1","id":`, "at byte 20: invalid JSON: unexpected end of JSON input"},
		{`{"v":"alert/1","severity":"urgent"}`, `unknown severity "urgent"`},
		{"\xfeE\x01\x00", "at byte 1: invalid JSON: invalid character"},
	} {
		err := DecodeAlert([]byte(c.doc), &a)
		require.ErrorContains(t, err, c.want, c.doc)
		require.ErrorContains(t, err, "cannot decode alert record: at byte ", c.doc)
	}
}

func TestFailureRoundTrip(t *testing.T) {
	for _, raw := range [][]byte{
		[]byte("<38>Dec 10 06:55:48 web1 sshd[1]: \"quoted\" <tag> & tab\t"),
		{0xff, 0xfe, 'a', 0x00, 0xc3},
		nil,
	} {
		f := schemas.ParseFailure{Source: "udp", Address: "192.0.2.1", Reason: "no_header", Detail: "at byte 0",
			Raw: raw, Received: time.Date(2025, 12, 10, 6, 55, 48, 123456789, time.FixedZone("X", -7200))}
		doc, err := AppendFailure(nil, &f)
		require.NoError(t, err)
		typ, v, ok := Sniff(doc)
		require.True(t, ok)
		require.Equal(t, RecordFailure, typ)
		require.Equal(t, 1, v)
		var got schemas.ParseFailure
		require.NoError(t, DecodeFailure(doc, &got))
		want := f
		want.Received = f.Received.UTC()
		require.Equal(t, want, got)

		var m map[string]any
		require.NoError(t, json.Unmarshal(doc, &m))
		switch {
		case raw == nil:
			require.NotContains(t, m, "raw")
			require.NotContains(t, m, "raw_base64")
		case raw[0] == 0xff:
			require.Equal(t, "//5hAMM=", m["raw_base64"], "bytes that are not UTF-8 travel as base64")
		default:
			require.Equal(t, string(raw), m["raw"], "a text line is readable in kcat")
			require.Contains(t, string(doc), `<tag> & tab`, "no HTML escaping")
		}
	}
	var f schemas.ParseFailure
	require.ErrorContains(t, DecodeFailure([]byte(`{"v":"failure/1","raw":"a","raw_base64":"YQ=="}`), &f), "both raw and raw_base64 are set")
	require.ErrorIs(t, DecodeFailure([]byte(`{"v":"failure/9"}`), &f), ErrUnsupportedVersion)
	require.ErrorContains(t, DecodeFailure([]byte(`{"v":"alert/1"}`), &f), "a alert record, not a failure record")
}

func TestSniff(t *testing.T) {
	rec := AppendEvent(nil, sshdEvent(t))
	for _, c := range []struct {
		value   []byte
		typ     string
		version int
		ok      bool
	}{
		{rec, RecordEvent, 1, true},
		{[]byte{Magic, 'E', 7}, RecordEvent, 7, true},
		{[]byte{Magic, 'E', 0}, "", 0, false},
		{[]byte{Magic, 'X', 1}, "", 0, false},
		{[]byte{Magic, 'E'}, "", 0, false},
		{[]byte(`{"v":"alert/1"}`), RecordAlert, 1, true},
		{[]byte(`{"v":"failure/12","x":1}`), RecordFailure, 12, true},
		{[]byte(`{"v":"alert/01"}`), "", 0, false},
		{[]byte(`{"v":"ticket/1"}`), "", 0, false},
		{[]byte(`{"v":"alert/1`), "", 0, false},
		{[]byte(`{ "v":"alert/1"}`), "", 0, false},
		{[]byte("<38>Dec 10 06:55:48 web1 sshd[1]: x"), "", 0, false},
		{nil, "", 0, false},
	} {
		typ, v, ok := Sniff(c.value)
		require.Equal(t, c.ok, ok, "%q", c.value)
		require.Equal(t, c.typ, typ, "%q", c.value)
		require.Equal(t, c.version, v, "%q", c.value)
	}
	for _, h := range []string{"event", "event/", "event/0", "event/+1", "event/256", "event/1x", "Event/1", "ticket/1", "event/1/2"} {
		_, _, ok := ParseType(h)
		require.False(t, ok, h)
	}
	typ, v, ok := ParseType("failure/255")
	require.True(t, ok)
	require.Equal(t, RecordFailure, typ)
	require.Equal(t, 255, v)
	for _, h := range []string{TypeEvent, TypeAlert, TypeFailure} {
		typ, v, ok := ParseType(h)
		require.True(t, ok, h)
		require.Equal(t, h, typ+"/1")
		require.Equal(t, 1, v)
	}
}

func TestJSONKeepsBytesThatAreNotUTF8(t *testing.T) {
	a := testAlert(t)
	a.GroupKey = "ro\xffot"
	a.Entities[0].Value = "\xc3"
	a.Tags = append(a.Tags, "ok", "t\xfe")
	doc, err := AppendAlert(nil, a)
	require.NoError(t, err)
	var m struct {
		GroupKey string            `json:"group_key"`
		Bytes    map[string][]byte `json:"bytes"`
	}
	require.NoError(t, json.Unmarshal(doc, &m))
	require.Equal(t, "ro\uFFFDot", m.GroupKey, "people see the replacement character")
	require.Equal(t, []byte("ro\xffot"), m.Bytes["group_key"])
	require.Equal(t, []byte("\xc3"), m.Bytes["entities/0/value"])
	require.Equal(t, []byte("t\xfe"), m.Bytes["tags/2"])
	require.Contains(t, m.Bytes, "events/1/event/original")
	require.NotContains(t, m.Bytes, "events/0/event/original", "valid strings are not repeated")

	var got schemas.Alert
	require.NoError(t, DecodeAlert(doc, &got))
	require.Equal(t, a.GroupKey, got.GroupKey)
	require.Equal(t, a.Entities, got.Entities)
	require.Equal(t, a.Tags, got.Tags)
	requireSameEvent(t, eventLeaves(t), &a.Events[1], &got.Events[1])

	for _, c := range []struct{ bytes, want string }{
		{`{"nope":"eA=="}`, `bytes: path "nope" names no member "nope"`},
		{`{"events/9/message":"eA=="}`, `bytes: path "events/9/message" has index "9" where the list has 2 items`},
		{`{"count":"eA=="}`, `bytes: path "count" does not name a string member`},
		{`{"group_key/x":"eA=="}`, `goes below a member that is not an object or a list`},
		{`{"group_key":"!!"}`, "invalid JSON"},
	} {
		bad := strings.Replace(string(doc), `"bytes":{`, `"bytes":`+c.bytes+`,"old":{`, 1)
		require.ErrorContains(t, DecodeAlert([]byte(bad), &got), c.want)
		require.Equal(t, schemas.Alert{}, got)
	}

	f := schemas.ParseFailure{Source: "tcp", Reason: "no_header", Detail: "near \xff", Raw: []byte("x")}
	doc, err = AppendFailure(nil, &f)
	require.NoError(t, err)
	var gotF schemas.ParseFailure
	require.NoError(t, DecodeFailure(doc, &gotF))
	require.Equal(t, f, gotF)
}
