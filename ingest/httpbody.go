package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// maxJSONDepth is the deepest nesting of objects and arrays a JSON body
// may have. Real log records nest a few levels (Winlogbeat's winlog.
// event_data is three); a deeper body is refused before anything walks it.
const maxJSONDepth = 128

// recordSpan locates one record in a request body: body[start:end].
type recordSpan struct {
	start, end int
	// quoted marks a JSON string whose text is the record, as when a
	// sender posts an array of raw log lines.
	quoted bool
}

// bodyError reports a body that is not what its shape claims. Record is
// the 1-based record at fault (0 when the body as a whole is), Offset the
// byte of the body where the problem was found.
type bodyError struct {
	Record int
	Offset int
	Reason string
}

func (e *bodyError) Error() string {
	if e.Record > 0 {
		return "record " + strconv.Itoa(e.Record) + " (byte " + strconv.Itoa(e.Offset) + " of the body): " + e.Reason
	}
	return "byte " + strconv.Itoa(e.Offset) + " of the body: " + e.Reason
}

// isSpace reports JSON whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first non-space byte of b at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// firstByte returns the first byte of b that is not whitespace or a UTF-8
// byte order mark, or 0 when there is none.
func firstByte(b []byte) byte {
	b = bytes.TrimPrefix(b, utf8BOM)
	if i := skipSpace(b, 0); i < len(b) {
		return b[i]
	}
	return 0
}

// splitLines appends one span per line of body: LF ends a line and a CR
// before it is dropped; a last line without LF counts. Blank lines get
// spans too, so that record numbers are line numbers (the Batcher counts
// them as blank and skips them).
func splitLines(body []byte, spans []recordSpan) []recordSpan {
	for start := 0; start < len(body); {
		end := len(body)
		next := end
		if i := bytes.IndexByte(body[start:], '\n'); i >= 0 {
			end = start + i
			next = end + 1
		}
		if end > start && body[end-1] == '\r' {
			end--
		}
		spans = append(spans, recordSpan{start: start, end: end})
		start = next
	}
	return spans
}

// splitJSON appends the records of a JSON body: a stream of top-level
// values separated by whitespace, as one object, NDJSON (one object per
// line) or objects written back to back all are. A top-level array gives
// one record per element, so a JSON array of objects (Vector's and Fluent
// Bit's "json" format) is a batch of records. A record is an object, or a
// string whose text is the record; anything else is an error. Every
// record is checked to be valid JSON; on the first error the spans found
// so far are returned with it, for the caller to drop.
func splitJSON(body []byte, spans []recordSpan) ([]recordSpan, error) {
	i := skipSpace(body, 0)
	if bytes.HasPrefix(body[i:], utf8BOM) {
		i = skipSpace(body, i+len(utf8BOM))
	}
	for i < len(body) {
		if body[i] != '[' {
			var err error
			if spans, i, err = jsonRecord(body, i, spans); err != nil {
				return spans, err
			}
			i = skipSpace(body, i)
			continue
		}
		// An array of records.
		open := i
		i = skipSpace(body, i+1)
		if i < len(body) && body[i] == ']' {
			i = skipSpace(body, i+1)
			continue
		}
		for {
			var err error
			if spans, i, err = jsonRecord(body, i, spans); err != nil {
				return spans, err
			}
			i = skipSpace(body, i)
			if i >= len(body) {
				return spans, &bodyError{Offset: open, Reason: "the array that starts here is not closed"}
			}
			if body[i] == ']' {
				i = skipSpace(body, i+1)
				break
			}
			if body[i] != ',' {
				return spans, &bodyError{Record: len(spans), Offset: i,
					Reason: fmt.Sprintf("found %s after an array element where a comma or ] belongs", quoteByte(body[i]))}
			}
			i = skipSpace(body, i+1)
		}
	}
	return spans, nil
}

// jsonRecord reads one record (an object or a string) at body[i], checks
// it, appends its span and returns the index after it.
func jsonRecord(body []byte, i int, spans []recordSpan) ([]recordSpan, int, error) {
	n := len(spans) + 1
	if i >= len(body) {
		return spans, i, &bodyError{Record: n, Offset: i, Reason: "the body ends where a record belongs"}
	}
	c := body[i]
	if c != '{' && c != '"' {
		return spans, i, &bodyError{Record: n, Offset: i,
			Reason: fmt.Sprintf("found %s where a JSON object (or a string) belongs", quoteByte(c))}
	}
	end, err := valueEnd(body, i)
	if err != nil {
		err.Record = n
		return spans, i, err
	}
	if !json.Valid(body[i:end]) {
		return spans, i, invalidJSON(body, i, end, n)
	}
	return append(spans, recordSpan{start: i, end: end, quoted: c == '"'}), end, nil
}

// invalidJSON describes why body[start:end] is not valid JSON.
func invalidJSON(body []byte, start, end, record int) *bodyError {
	var raw json.RawMessage
	err := json.Unmarshal(body[start:end], &raw)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the bytes read, the bad one included.
		return &bodyError{Record: record, Offset: start + max(0, int(se.Offset)-1), Reason: "invalid JSON: " + se.Error()}
	}
	reason := "invalid JSON"
	if err != nil {
		reason += ": " + err.Error()
	}
	return &bodyError{Record: record, Offset: start, Reason: reason}
}

// valueEnd returns the index just past the JSON value that starts at
// body[i] (an object, an array or a string), by matching brackets outside
// strings. It does not check the value's grammar; json.Valid does.
func valueEnd(body []byte, i int) (int, *bodyError) {
	if body[i] == '"' {
		end := stringEnd(body, i)
		if end < 0 {
			return 0, &bodyError{Offset: i, Reason: "a string that starts here is not closed"}
		}
		return end + 1, nil
	}
	depth := 0
	for j := i; j < len(body); j++ {
		switch body[j] {
		case '"':
			if j = stringEnd(body, j); j < 0 {
				return 0, &bodyError{Offset: i, Reason: "a string inside the value that starts here is not closed"}
			}
		case '{', '[':
			if depth++; depth > maxJSONDepth {
				return 0, &bodyError{Offset: j, Reason: "nested deeper than " + strconv.Itoa(maxJSONDepth) + " levels"}
			}
		case '}', ']':
			if depth--; depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, &bodyError{Offset: i, Reason: "the value that starts here is not closed"}
}

// stringEnd returns the index of the quote that closes the string opened
// at body[i], or -1.
func stringEnd(body []byte, i int) int {
	for k := i + 1; k < len(body); {
		q := bytes.IndexByte(body[k:], '"')
		if q < 0 {
			return -1
		}
		pos := k + q
		bs := 0
		for p := pos - 1; p > i && body[p] == '\\'; p-- {
			bs++
		}
		if bs%2 == 0 {
			return pos
		}
		k = pos + 1
	}
	return -1
}

// recordText returns the bytes a record hands to the Batcher: the span
// itself, or the text of a quoted record.
func recordText(body []byte, sp recordSpan) ([]byte, error) {
	b := body[sp.start:sp.end]
	if !sp.quoted {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}
