package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Alerts and parse failures are few and people read them with kcat, so
// they travel as JSON documents whose first member, "v", holds the record
// type and version exactly as the HeaderType header does ("alert/1").
// Members a reader does not know are ignored, so new members are added
// without a version change.
//
// JSON strings are Unicode, but log lines are bytes: a hostile line may
// hold bytes that are not UTF-8, and encoding/json would replace them.
// Such a string appears in its member with U+FFFD in place of the bad
// bytes, for people, and exactly, in base64, in the "bytes" member, keyed
// by its path ("events/0/event/original"), for the decoder.

// exactBytes maps the path of each string that is not valid UTF-8 to its
// bytes.
type exactBytes map[string][]byte

// collectInvalid returns the strings under v that are not valid UTF-8,
// by path, or nil when there are none.
func collectInvalid(v reflect.Value) exactBytes {
	var out exactBytes
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.String:
			if s := v.String(); !utf8.ValidString(s) {
				if out == nil {
					out = exactBytes{}
				}
				out[path] = []byte(s)
			}
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), path)
			}
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				return // []byte is base64 in JSON already
			}
			for i := range v.Len() {
				walk(v.Index(i), join(path, strconv.Itoa(i)))
			}
		case reflect.Struct:
			t := v.Type()
			for i := range t.NumField() {
				f := t.Field(i)
				name, ok := jsonName(f)
				switch {
				case !ok || f.Type == reflect.TypeFor[exactBytes]():
				case f.Anonymous:
					walk(v.Field(i), path)
				default:
					walk(v.Field(i), join(path, name))
				}
			}
		}
	}
	walk(v, "")
	return out
}

func join(path, elem string) string {
	if path == "" {
		return elem
	}
	return path + "/" + elem
}

// jsonName is the member name encoding/json gives an exported field; ok is
// false for fields it leaves out.
func jsonName(f reflect.StructField) (string, bool) {
	if !f.IsExported() && !f.Anonymous {
		return "", false
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name, true
}

// restoreInvalid puts the exact bytes back into the strings their paths
// name under v.
func restoreInvalid(v reflect.Value, exact exactBytes, record string) error {
	for path, b := range exact {
		s, err := stringAt(v, path)
		if err != nil {
			return &DecodeError{Record: record, Reason: fmt.Sprintf("bytes: path %q %v", path, err)}
		}
		s.SetString(string(b))
	}
	return nil
}

// stringAt finds the string member that path names under v.
func stringAt(v reflect.Value, path string) (reflect.Value, error) {
	for elem := range strings.SplitSeq(path, "/") {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return v, fmt.Errorf("goes through a member that is null")
			}
			v = v.Elem()
		}
		switch v.Kind() {
		case reflect.Slice:
			i, err := strconv.Atoi(elem)
			if err != nil || i < 0 || i >= v.Len() {
				return v, fmt.Errorf("has index %q where the list has %d items", elem, v.Len())
			}
			v = v.Index(i)
		case reflect.Struct:
			f, ok := memberOf(v, elem)
			if !ok {
				return v, fmt.Errorf("names no member %q", elem)
			}
			v = f
		default:
			return v, fmt.Errorf("goes below a member that is not an object or a list")
		}
	}
	if v.Kind() != reflect.String || !v.CanSet() {
		return v, fmt.Errorf("does not name a string member")
	}
	return v, nil
}

// memberOf returns the field of struct v that encodes as member name,
// looking into embedded structs.
func memberOf(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		n, ok := jsonName(f)
		if !ok {
			continue
		}
		if f.Anonymous {
			e := v.Field(i)
			if e.Kind() == reflect.Pointer {
				if e.IsNil() {
					continue
				}
				e = e.Elem()
			}
			if m, ok := memberOf(e, name); ok {
				return m, true
			}
			continue
		}
		if n == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// alertDoc is an alert on the wire: "v" first, then the alert's own
// members as schemas.Alert marshals them.
type alertDoc struct {
	V string `json:"v"`
	*schemas.Alert
	Bytes exactBytes `json:"bytes,omitempty"`
}

// failureDoc is a parse failure on the wire. The raw bytes are a JSON
// string when they are valid UTF-8, so that kcat shows the line, and
// base64 in raw_base64 otherwise.
type failureDoc struct {
	V         string     `json:"v"`
	Source    string     `json:"source"`
	Address   string     `json:"address,omitempty"`
	Reason    string     `json:"reason"`
	Detail    string     `json:"detail,omitempty"`
	Raw       *string    `json:"raw,omitempty"`
	RawBase64 []byte     `json:"raw_base64,omitempty"`
	Received  time.Time  `json:"received"`
	Bytes     exactBytes `json:"bytes,omitempty"`
}

// AppendAlert appends a's JSON document, without a trailing newline, to
// dst. Evidence events are included whole; their times keep their
// nanoseconds.
func AppendAlert(dst []byte, a *schemas.Alert) ([]byte, error) {
	doc := alertDoc{V: TypeAlert, Alert: a}
	doc.Bytes = collectInvalid(reflect.ValueOf(&doc).Elem())
	return appendJSON(dst, doc, "alert")
}

// DecodeAlert reads a document written by AppendAlert into a, replacing
// everything a held. Times come back in UTC. A document of a newer
// version is refused with an error wrapping ErrUnsupportedVersion.
func DecodeAlert(src []byte, a *schemas.Alert) error {
	*a = schemas.Alert{}
	doc := alertDoc{Alert: a}
	if err := decodeJSON(src, RecordAlert, AlertVersion, &doc); err != nil {
		*a = schemas.Alert{}
		return err
	}
	if err := restoreInvalid(reflect.ValueOf(&doc).Elem(), doc.Bytes, RecordAlert); err != nil {
		*a = schemas.Alert{}
		return err
	}
	a.FirstSeen, a.LastSeen, a.CreatedAt = a.FirstSeen.UTC(), a.LastSeen.UTC(), a.CreatedAt.UTC()
	for i := range a.Events {
		ev := &a.Events[i]
		ev.Timestamp, ev.Event.Created = ev.Timestamp.UTC(), ev.Event.Created.UTC()
		srv := &ev.TLS.Server
		srv.NotBefore, srv.NotAfter = srv.NotBefore.UTC(), srv.NotAfter.UTC()
	}
	return nil
}

// AppendFailure appends f's JSON document, without a trailing newline, to
// dst.
func AppendFailure(dst []byte, f *schemas.ParseFailure) ([]byte, error) {
	doc := failureDoc{V: TypeFailure, Source: f.Source, Address: f.Address, Reason: f.Reason,
		Detail: f.Detail, Received: f.Received}
	switch {
	case len(f.Raw) == 0:
	case utf8.Valid(f.Raw):
		raw := string(f.Raw)
		doc.Raw = &raw
	default:
		doc.RawBase64 = f.Raw
	}
	doc.Bytes = collectInvalid(reflect.ValueOf(&doc).Elem())
	return appendJSON(dst, doc, "parse failure")
}

// DecodeFailure reads a document written by AppendFailure into f,
// replacing everything f held. Received comes back in UTC; an empty Raw
// comes back nil.
func DecodeFailure(src []byte, f *schemas.ParseFailure) error {
	*f = schemas.ParseFailure{}
	var doc failureDoc
	if err := decodeJSON(src, RecordFailure, FailureVersion, &doc); err != nil {
		return err
	}
	if err := restoreInvalid(reflect.ValueOf(&doc).Elem(), doc.Bytes, RecordFailure); err != nil {
		return err
	}
	if doc.Raw != nil && doc.RawBase64 != nil {
		return &DecodeError{Record: RecordFailure, Reason: "both raw and raw_base64 are set; a failure has one raw line"}
	}
	*f = schemas.ParseFailure{Source: doc.Source, Address: doc.Address, Reason: doc.Reason,
		Detail: doc.Detail, Raw: doc.RawBase64, Received: doc.Received.UTC()}
	if doc.Raw != nil && *doc.Raw != "" {
		f.Raw = []byte(*doc.Raw)
	}
	if len(f.Raw) == 0 {
		f.Raw = nil
	}
	return nil
}

func appendJSON(dst []byte, doc any, what string) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	// Log lines are full of <, > and &; people read these documents, and
	// no browser does.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return dst, fmt.Errorf("cannot encode %s as JSON: %w", what, err)
	}
	out := buf.Bytes()
	return out[:len(out)-1], nil // Encode ends the document with a newline
}

// decodeJSON checks the "v" member, then decodes the document into doc.
func decodeJSON(src []byte, record string, version int, doc any) error {
	var head struct {
		V *string `json:"v"`
	}
	if err := json.Unmarshal(src, &head); err != nil {
		return jsonError(record, src, err)
	}
	if head.V == nil {
		return &DecodeError{Record: record, Reason: `no "v" member: not a tocsin ` + record + ` document`}
	}
	typ, v, ok := ParseType(*head.V)
	if !ok {
		return &DecodeError{Record: record, Reason: fmt.Sprintf(`"v" is %q, not of the form %s/N`, *head.V, record)}
	}
	if typ != record {
		return &DecodeError{Record: record, Reason: fmt.Sprintf(`"v" is %q: a %s record, not a %s record`, *head.V, typ, record)}
	}
	if v > version {
		return &DecodeError{Record: record, Err: ErrUnsupportedVersion, Reason: fmt.Sprintf(
			"%s version %d is newer than this reader (it reads version %d): upgrade the consuming tocsin role to the producer's release", record, v, version)}
	}
	if v < version {
		return &DecodeError{Record: record, Reason: fmt.Sprintf("%s version %d is not a version this reader knows (it reads version %d)", record, v, version)}
	}
	if err := json.Unmarshal(src, doc); err != nil {
		return jsonError(record, src, err)
	}
	return nil
}

// jsonError turns an encoding/json error into a *DecodeError with the byte
// offset when encoding/json reports one.
func jsonError(record string, src []byte, err error) error {
	off := 0
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off = int(syn.Offset)
	case errors.As(err, &typ):
		off = int(typ.Offset)
	}
	reason := "invalid JSON: " + err.Error()
	if len(bytes.TrimSpace(src)) == 0 {
		reason = "empty record"
	}
	return &DecodeError{Record: record, Offset: off, Reason: reason}
}
