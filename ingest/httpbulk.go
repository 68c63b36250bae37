package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// Bulk actions, as the Elasticsearch bulk API names them.
const (
	bulkCreate = "create"
	bulkIndex  = "index"
	bulkUpdate = "update"
	bulkDelete = "delete"
)

// bulkItem is one action of an Elasticsearch bulk request and, once
// handled, its answer.
type bulkItem struct {
	action string
	index  string
	// id is the sender's _id; when empty, eventID in hex is answered.
	id      string
	eventID uint64
	// doc is the document line, trimmed; valid when hasDoc.
	doc    recordSpan
	hasDoc bool
	// status is the item's HTTP status; errType and errReason explain
	// one of 400 and above.
	status    int
	errType   string
	errReason string
}

// bulkMeta is the object an action line holds.
type bulkMeta struct {
	Index string `json:"_index"`
	ID    string `json:"_id"`
}

// bulkAction is an action line: exactly one of its fields is set.
type bulkAction struct {
	Create *bulkMeta `json:"create"`
	Index  *bulkMeta `json:"index"`
	Update *bulkMeta `json:"update"`
	Delete *bulkMeta `json:"delete"`
}

// splitBulk appends the items of an Elasticsearch bulk body: NDJSON of
// action lines, each but delete followed by its document line. Blank
// lines are skipped. A malformed action line, or an action without its
// document line, fails the whole request as Elasticsearch does; a
// document that is not one JSON object, and the update and delete actions
// that tocsin does not carry out, become items with an error status.
// defaultIndex names the index of items whose action names none (the
// {index} of /{index}/_bulk).
func splitBulk(body []byte, defaultIndex string, items []bulkItem) ([]bulkItem, error) {
	line, next := 0, 0
	// Shippers repeat one action line for a whole batch; the last one
	// read is kept to skip decoding it again.
	var lastAction []byte
	var lastItem bulkItem
	nextLine := func() (start, end int, ok bool) {
		for next < len(body) {
			start = next
			end = len(body)
			if i := bytes.IndexByte(body[start:], '\n'); i >= 0 {
				end = start + i
				next = end + 1
			} else {
				next = end
			}
			line++
			for end > start && isSpace(body[end-1]) {
				end--
			}
			start = skipSpace(body[:end], start)
			if end > start {
				return start, end, true
			}
		}
		return 0, 0, false
	}
	for {
		start, end, ok := nextLine()
		if !ok {
			return items, nil
		}
		actionLine := line
		it := lastItem
		if lastAction == nil || !bytes.Equal(body[start:end], lastAction) {
			var err error
			if it, err = bulkActionItem(body[start:end], defaultIndex); err != nil {
				return items, &bodyError{Offset: start, Reason: "line " + strconv.Itoa(actionLine) + ": " + err.Error()}
			}
			lastAction, lastItem = body[start:end], it
		}
		if it.action == bulkDelete {
			it.status, it.errType = 400, "illegal_argument_exception"
			it.errReason = "tocsin takes create and index actions only; a delete has nothing to remove"
			items = append(items, it)
			continue
		}
		dstart, dend, ok := nextLine()
		if !ok {
			return items, &bodyError{Offset: len(body), Reason: "line " + strconv.Itoa(actionLine) +
				": the " + it.action + " action has no document line after it"}
		}
		it.doc, it.hasDoc = recordSpan{start: dstart, end: dend}, true
		switch {
		case it.action == bulkUpdate:
			it.status, it.errType = 400, "illegal_argument_exception"
			it.errReason = "tocsin takes create and index actions only; an update has nothing to change"
		case body[dstart] != '{':
			it.status, it.errType = 400, "mapper_parsing_exception"
			it.errReason = "failed to parse: the document on line " + strconv.Itoa(line) + " is not a JSON object"
		default:
			if e, err := valueEnd(body[:dend], dstart); err != nil || e != dend || !json.Valid(body[dstart:dend]) {
				it.status, it.errType = 400, "mapper_parsing_exception"
				it.errReason = "failed to parse: the document on line " + strconv.Itoa(line) + " is not one valid JSON object"
			}
		}
		items = append(items, it)
	}
}

// bulkActionItem decodes an action line into an item without its
// document.
func bulkActionItem(line []byte, defaultIndex string) (bulkItem, error) {
	var a bulkAction
	if err := json.Unmarshal(line, &a); err != nil {
		return bulkItem{}, errors.New("malformed action line: " + err.Error())
	}
	it := bulkItem{index: defaultIndex}
	set := 0
	for _, c := range []struct {
		name string
		meta *bulkMeta
	}{{bulkCreate, a.Create}, {bulkIndex, a.Index}, {bulkUpdate, a.Update}, {bulkDelete, a.Delete}} {
		if c.meta != nil {
			set++
			it.action = c.name
			if c.meta.Index != "" {
				it.index = c.meta.Index
			}
			it.id = c.meta.ID
		}
	}
	if set != 1 {
		return bulkItem{}, errors.New("malformed action line: expected one of create, index, update, delete, each with an object")
	}
	return it, nil
}

// appendBulkResponse appends the answer of Elasticsearch's bulk API for
// items, handled in took milliseconds.
func appendBulkResponse(dst []byte, items []bulkItem, took int64) []byte {
	failed := false
	for i := range items {
		if items[i].status >= 300 {
			failed = true
			break
		}
	}
	dst = append(dst, `{"took":`...)
	dst = strconv.AppendInt(dst, took, 10)
	dst = append(dst, `,"errors":`...)
	dst = strconv.AppendBool(dst, failed)
	dst = append(dst, `,"items":[`...)
	for i := range items {
		it := &items[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"`...)
		dst = append(dst, it.action...)
		dst = append(dst, `":{"_index":`...)
		dst = appendJSONString(dst, it.index)
		dst = append(dst, `,"_id":`...)
		if it.id != "" || it.eventID == 0 {
			dst = appendJSONString(dst, it.id)
		} else {
			dst = appendHexID(dst, it.eventID)
		}
		if it.status < 300 {
			dst = append(dst, `,"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},`+
				`"_seq_no":0,"_primary_term":1,"status":`...)
			dst = strconv.AppendInt(dst, int64(it.status), 10)
		} else {
			dst = append(dst, `,"status":`...)
			dst = strconv.AppendInt(dst, int64(it.status), 10)
			dst = append(dst, `,"error":{"type":`...)
			dst = appendJSONString(dst, it.errType)
			dst = append(dst, `,"reason":`...)
			dst = appendJSONString(dst, it.errReason)
			dst = append(dst, '}')
		}
		dst = append(dst, "}}"...)
	}
	return append(dst, "]}"...)
}

// appendHexID appends id as a JSON string of 16 hex digits.
func appendHexID(dst []byte, id uint64) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, hex[(id>>uint(shift))&0xf])
	}
	return append(dst, '"')
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
		i++
	}
	return append(dst, '"')
}
