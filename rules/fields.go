package rules

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
)

// eventField is one field of schemas.Event as rule conditions name it.
type eventField struct {
	path  string
	typ   reflect.Type
	index []int
}

var (
	timeType = reflect.TypeFor[time.Time]()
	// eventFields maps every dotted expr name of schemas.Event, inner
	// structs included ("event", "event.action"), to its field.
	eventFields = buildEventFields()
)

func buildEventFields() map[string]eventField {
	out := map[string]eventField{}
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := f.Tag.Get("expr")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			path := prefix + name
			idx := append(append([]int(nil), index...), i)
			out[path] = eventField{path: path, typ: f.Type, index: idx}
			if f.Type.Kind() == reflect.Struct && f.Type != timeType {
				walk(f.Type, path+".", idx)
			}
		}
	}
	walk(reflect.TypeFor[schemas.Event](), "", nil)
	return out
}

// isStruct reports whether the field has sub-fields.
func (f eventField) isStruct() bool {
	return f.typ.Kind() == reflect.Struct && f.typ != timeType
}

// subFieldNames lists the names directly under path, for suggestions.
func subFieldNames(path string) []string {
	var names []string
	prefix := path + "."
	if path == "" {
		prefix = ""
	}
	for p := range eventFields {
		rest, ok := strings.CutPrefix(p, prefix)
		if ok && !strings.Contains(rest, ".") {
			names = append(names, rest)
		}
	}
	return sortedCopy(names)
}

// stringGetter returns a reader for a string field that the engine can
// call without reflection: schemas.LookupField's getter when the field
// is a plain string there.
func stringGetter(path string) (schemas.FieldSpec, bool) {
	f, ok := eventFields[path]
	if !ok || f.typ.Kind() != reflect.String {
		return schemas.FieldSpec{}, false
	}
	return schemas.LookupField(path)
}

// setEventField assigns a test event's field from its YAML text. Strings
// are taken as they are, integers parsed, and times read as RFC 3339 or
// as "+DURATION" after base.
func setEventField(ev *schemas.Event, path, value string, base time.Time) error {
	if path == "@timestamp" {
		path = "timestamp"
	}
	f, ok := eventFields[path]
	if !ok {
		return fmt.Errorf("unknown field %s", path)
	}
	v := reflect.ValueOf(ev).Elem().FieldByIndex(f.index)
	switch {
	case f.typ == timeType:
		t, err := parseTestTime(value, base)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(t))
	case f.typ.Kind() == reflect.String:
		v.SetString(value)
	case f.typ.Kind() == reflect.Int:
		n, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("%s wants an integer, got %q", path, value)
		}
		v.SetInt(int64(n))
	case f.typ.Kind() == reflect.Uint64:
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			return fmt.Errorf("%s wants an unsigned integer, got %q", path, value)
		}
		v.SetUint(n)
	default:
		return fmt.Errorf("%s is a group of fields; set its members (%s.%s)", path, path, strings.Join(subFieldNames(path), ", "+path+"."))
	}
	return nil
}

// parseTestTime reads RFC 3339, or "+1m30s" meaning base plus that much.
func parseTestTime(s string, base time.Time) (time.Time, error) {
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return time.Time{}, fmt.Errorf("want RFC 3339 time or +DURATION, got %q", s)
		}
		return base.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want RFC 3339 time or +DURATION, got %q", s)
	}
	return t, nil
}
