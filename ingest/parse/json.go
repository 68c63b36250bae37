package parse

import (
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tocsin-siem/tocsin/schemas"
)

// The generic JSON reader: the last JSON detector, which claims any JSON
// object that no other reader (Windows events, scanner reports) claimed.
//
// A record that a shipper wrapped around a log line (Vector's "message",
// Fluent Bit's "log", Filebeat's "event.original" or "message") has that
// line read as a line of its own: syslog header, then the readers of its
// program or format. The envelope's time and host fill what the line
// lacks; the record's other keys are mapped by their ECS names ("source.ip"
// or {"source":{"ip":...}}) or kept in Labels under their dotted paths.
//
// One record is one event: a JSON array fails with ReasonBadJSON (send
// arrays as one object per line, which every shipper can). A record
// nested deeper than jsonMaxDepth levels fails before any of it is read,
// so a hostile record cannot exhaust the stack.

// DatasetJSON is the event.dataset of JSON records whose inner line, if
// any, no reader claimed.
const DatasetJSON = "json"

// ReasonBadJSON is a record that is not one valid JSON object of at most
// jsonMaxDepth levels.
const ReasonBadJSON = "bad_json"

const (
	// jsonSourceName is this reader's name in configuration.
	jsonSourceName = "json"
	// jsonMaxDepth is the deepest nesting of objects and arrays a record
	// may have.
	jsonMaxDepth = 32
	// jsonMaxEmbed is how many JSON records may be wrapped in one
	// another's message (a Docker log line in a Fluent Bit record in a
	// Vector event) before the innermost is kept as text.
	//
	// Not counted: a record reached through a syslog header inside a
	// wrapped line ("<13>... app: {...}"), which the syslog reader hands
	// to this reader afresh and so starts the count again. The nesting
	// stays shallow all the same: every level escapes the quotes of the
	// one inside it, doubling their backslashes, so a record can hold
	// only about log2 of its size such levels.
	jsonMaxEmbed = 3
	// jsonMaxPath bounds a flattened key; longer paths are dropped.
	jsonMaxPath = genMaxLabelKey
)

func init() {
	register(Source{
		Name:        jsonSourceName,
		Description: "any JSON object: shipper envelopes (Vector, Fluent Bit, Filebeat) around a log line, ECS-named keys, the rest as labels",
		Priority:    99,
		JSON:        jsonClaims,
		Reasons:     []string{ReasonBadJSON},
		Parse: func(p *Parser, in Input, ev *schemas.Event) *Error {
			return p.jsonRecord(in, ev, 0)
		},
	})
}

// jsonClaims claims every record that starts with '{' (a broken one then
// fails with ReasonBadJSON rather than as a line without header), and a
// line that starts with '[' only when it is valid JSON: many text logs
// start with "[date]".
func jsonClaims(rec string) bool {
	if rec[0] == '{' {
		return true
	}
	bad, _ := jsonValidate(rec)
	return bad == ""
}

// jsonRecord reads one JSON record; depth counts the records it is
// wrapped in.
func (p *Parser) jsonRecord(in Input, ev *schemas.Event, depth int) *Error {
	rec := in.Msg
	if bad, at := jsonValidate(rec); bad != "" {
		return fail(ReasonBadJSON, bad, at)
	}
	rec = strings.TrimLeft(rec, " \t\r\n")
	if rec[0] != '{' {
		return fail(ReasonBadJSON, "a JSON array or value, not an object: send one object per line", 0)
	}
	root := gjson.Parse(rec)
	env := jsonEnvelope(root)
	ref := in.Received
	if env.time.Exists() {
		if t, ok := p.jsonTime(env.time, ref); ok {
			ref = t
		}
	}
	if env.inner != "" {
		if err := p.jsonInner(env.inner, ref, ev, depth); err != nil {
			return err
		}
	}
	var buf [jsonMaxPath]byte
	p.jsonWalk(root, buf[:0], 0, env.innerPath, ev, ref)
	if ev.Event.Dataset == "" {
		ev.Event.Dataset = DatasetJSON
	}
	return nil
}

// jsonEnv is what the top level of a record says about its envelope.
type jsonEnv struct {
	inner     string // the wrapped line
	innerPath string // its key: event.original, message or log
	time      gjson.Result
}

// jsonEnvelope finds the wrapped line (event.original before message
// before log, the first being the raw line where a shipper keeps both)
// and the envelope's time (@timestamp, timestamp, date or time).
func jsonEnvelope(root gjson.Result) jsonEnv {
	var env jsonEnv
	rank := 0
	take := func(path string, r int, v gjson.Result) {
		if v.Type == gjson.String && r > rank {
			env.inner, env.innerPath, rank = v.Str, path, r
		}
	}
	trank := 0
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "event.original":
			take("event.original", 3, v)
		case "event":
			if v.IsObject() {
				take("event.original", 3, v.Get("original"))
			}
		case "message":
			take("message", 2, v)
		case "log":
			take("log", 1, v)
		case "@timestamp":
			env.time, trank = v, 4
		case "timestamp":
			if trank < 3 {
				env.time, trank = v, 3
			}
		case "date":
			if trank < 2 {
				env.time, trank = v, 2
			}
		case "time":
			if trank < 1 {
				env.time, trank = v, 1
			}
		}
		return true
	})
	return env
}

// jsonInner reads a wrapped line into ev. A line no reader claims is the
// event's message and not a failure; a line a reader claimed and found
// malformed fails the record with that reader's reason. Whatever the
// line does not set keeps what the record had before (the syslog header
// that carried the record, when one did).
func (p *Parser) jsonInner(line string, ref time.Time, ev *schemas.Event, depth int) *Error {
	saved := struct {
		syslog schemas.Syslog
		ts     time.Time
		host   string
		proc   schemas.Process
	}{ev.Log.Syslog, ev.Timestamp, ev.Host.Name, ev.Process}
	claimed, err := p.parseEmbedded(line, ref, ev, depth)
	if !claimed {
		ev.Log.Syslog, ev.Timestamp, ev.Host.Name, ev.Process = saved.syslog, saved.ts, saved.host, saved.proc
		ev.Message = strings.TrimRight(line, "\r\n")
		return nil
	}
	if ev.Log.Syslog.Format == FormatNone && saved.syslog.Format != "" {
		ev.Log.Syslog = saved.syslog
	}
	if ev.Timestamp.IsZero() {
		ev.Timestamp = saved.ts
	}
	if ev.Host.Name == "" {
		ev.Host.Name = saved.host
	}
	return err
}

// parseEmbedded reads a log line found inside another record as Parse
// reads a line: a syslog header and the reader of its program, or a
// format of its own (CEF, a JSON or XML record), detected whatever format
// the listener was told to expect. ref is the reference time for
// year-less stamps and the time of sources that find none. claimed is
// false when nothing recognised the line, which is then left to the
// caller.
func (p *Parser) parseEmbedded(line string, ref time.Time, ev *schemas.Event, depth int) (claimed bool, err *Error) {
	line = strings.TrimRight(strings.TrimPrefix(line, bom), "\r\n")
	if line == "" {
		return false, nil
	}
	switch {
	case line[0] == '<' && len(line) > 1 && isDigit(line[1]):
		if err := p.parsePRI(line, ref, ev); err != nil {
			return true, err
		}
		return true, p.body(ev, ref)
	case line[0] == '{' || line[0] == '[' || line[0] == '<':
		return p.embeddedWhole(line, ref, ev, depth)
	}
	err = p.parse3164(line, 0, false, ref, ev)
	if err == nil {
		return true, p.body(ev, ref)
	}
	if err.Reason != ReasonNoHeader {
		return true, err
	}
	return p.embeddedWhole(line, ref, ev, depth)
}

// embeddedWhole reads a wrapped line without syslog header with the
// reader that claims it; a JSON record wrapped too deep is left as text.
func (p *Parser) embeddedWhole(line string, ref time.Time, ev *schemas.Event, depth int) (bool, *Error) {
	src := p.claim(line)
	if src == nil {
		return false, nil
	}
	if src.Name == jsonSourceName {
		if depth+1 >= jsonMaxEmbed {
			return false, nil
		}
		ev.Log.Syslog = schemas.Syslog{Format: FormatNone}
		ev.Timestamp = time.Time{}
		ev.Message = ""
		return true, p.jsonRecord(Input{Msg: line, Received: ref}, ev, depth+1)
	}
	return true, p.wholeWith(src, line, ref, ev)
}

// jsonWalk maps every leaf of v, whose flattened key is path, to the
// schema or to Labels. skip is the wrapped line's key, already read.
// Recursion is bounded by jsonMaxDepth, which jsonValidate enforced.
func (p *Parser) jsonWalk(v gjson.Result, path []byte, depth int, skip string, ev *schemas.Event, ref time.Time) {
	v.ForEach(func(k, val gjson.Result) bool {
		key := k.Str
		if len(path)+1+len(key) > jsonMaxPath || key == "" {
			return true
		}
		sub := path
		if len(sub) > 0 {
			sub = append(sub, '.')
		}
		sub = append(sub, key...)
		if val.IsObject() && depth+1 < jsonMaxDepth {
			p.jsonWalk(val, sub, depth+1, skip, ev, ref)
			return true
		}
		if string(sub) == skip {
			return true
		}
		if kind, ok := jsonKeys[string(sub)]; ok && p.jsonField(kind, val, ev, ref) {
			return true
		}
		if val.Type != gjson.Null {
			genLabel(ev, string(sub), jsonText(val))
		}
		return true
	})
}

// jsonText is a leaf's value as a label: a string unescaped, anything
// else as written.
func jsonText(v gjson.Result) string {
	if v.Type == gjson.String {
		return v.Str
	}
	return v.Raw
}

// jsonScalar is a leaf as text for a schema field: a string, a number as
// written, or an array's first element (ECS writes event.category and
// event.type as arrays).
func jsonScalar(v gjson.Result) string {
	if v.IsArray() {
		first := gjson.Result{}
		v.ForEach(func(_, e gjson.Result) bool { first = e; return false })
		v = first
	}
	switch v.Type {
	case gjson.String:
		return v.Str
	case gjson.Number:
		return v.Raw
	}
	return ""
}

func (p *Parser) jsonTime(v gjson.Result, ref time.Time) (time.Time, bool) {
	switch v.Type {
	case gjson.String:
		return p.genTime(v.Str, ref)
	case gjson.Number:
		return p.genTime(v.Raw, ref)
	}
	return time.Time{}, false
}

// jsonKind is where a flattened key's value goes.
type jsonKind uint8

const (
	jsonNone jsonKind = iota
	jsonTimestamp
	jsonMessage
	jsonHost
	jsonEventAction
	jsonEventCategory
	jsonEventType
	jsonEventOutcome
	jsonEventCode
	jsonEventSeverity
	jsonEventDataset
	jsonEventReason
	jsonSrcIP
	jsonSrcPort
	jsonSrcDomain
	jsonSrcBytes
	jsonSrcPackets
	jsonSrcMAC
	jsonSrcNATIP
	jsonSrcNATPort
	jsonDstIP
	jsonDstPort
	jsonDstDomain
	jsonDstBytes
	jsonDstPackets
	jsonDstMAC
	jsonDstNATIP
	jsonDstNATPort
	jsonUserName
	jsonUserID
	jsonUserDomain
	jsonTargetName
	jsonTargetID
	jsonTargetDomain
	jsonObsVendor
	jsonObsProduct
	jsonObsVersion
	jsonObsType
	jsonObsHostname
	jsonObsSerial
	jsonObsIngress
	jsonObsEgress
	jsonRuleID
	jsonRuleName
	jsonRuleCategory
	jsonThreatName
	jsonThreatCategory
	jsonThreatSeverity
	jsonFilePath
	jsonFileName
	jsonMD5
	jsonSHA1
	jsonSHA256
	jsonGroupName
	jsonGroupID
	jsonGroupDomain
	jsonProcName
	jsonPID
	jsonCommandLine
	jsonExecutable
	jsonPPID
	jsonParentExecutable
	jsonTransport
	jsonProtocol
	jsonNetType
	jsonDirection
	jsonNetBytes
	jsonNetPackets
	jsonVulnID
	jsonVulnSeverity
)

// jsonKeys maps flattened ECS names, and the envelope keys of Vector and
// Fluent Bit, to the schema. ECS's client.* and server.* fill source.*
// and destination.*.
var jsonKeys = map[string]jsonKind{
	"@timestamp": jsonTimestamp, "timestamp": jsonTimestamp, "date": jsonTimestamp, "time": jsonTimestamp,
	"message": jsonMessage,
	"host":    jsonHost, "hostname": jsonHost, "host.name": jsonHost, "host.hostname": jsonHost,
	"event.action": jsonEventAction, "event.category": jsonEventCategory, "event.type": jsonEventType,
	"event.outcome": jsonEventOutcome, "event.code": jsonEventCode, "event.severity": jsonEventSeverity,
	"event.dataset": jsonEventDataset, "event.reason": jsonEventReason,
	"source.ip": jsonSrcIP, "source.address": jsonSrcIP, "client.ip": jsonSrcIP, "client.address": jsonSrcIP,
	"source.port": jsonSrcPort, "client.port": jsonSrcPort,
	"source.domain": jsonSrcDomain, "client.domain": jsonSrcDomain,
	"source.bytes": jsonSrcBytes, "client.bytes": jsonSrcBytes,
	"source.packets": jsonSrcPackets, "client.packets": jsonSrcPackets,
	"source.mac": jsonSrcMAC, "client.mac": jsonSrcMAC,
	"source.nat.ip": jsonSrcNATIP, "client.nat.ip": jsonSrcNATIP,
	"source.nat.port": jsonSrcNATPort, "client.nat.port": jsonSrcNATPort,
	"destination.ip": jsonDstIP, "destination.address": jsonDstIP, "server.ip": jsonDstIP, "server.address": jsonDstIP,
	"destination.port": jsonDstPort, "server.port": jsonDstPort,
	"destination.domain": jsonDstDomain, "server.domain": jsonDstDomain,
	"destination.bytes": jsonDstBytes, "server.bytes": jsonDstBytes,
	"destination.packets": jsonDstPackets, "server.packets": jsonDstPackets,
	"destination.mac": jsonDstMAC, "server.mac": jsonDstMAC,
	"destination.nat.ip": jsonDstNATIP, "server.nat.ip": jsonDstNATIP,
	"destination.nat.port": jsonDstNATPort, "server.nat.port": jsonDstNATPort,
	"user.name": jsonUserName, "user.id": jsonUserID, "user.domain": jsonUserDomain,
	"user.target.name": jsonTargetName, "user.target.id": jsonTargetID, "user.target.domain": jsonTargetDomain,
	"observer.vendor": jsonObsVendor, "observer.product": jsonObsProduct, "observer.version": jsonObsVersion,
	"observer.type": jsonObsType, "observer.hostname": jsonObsHostname, "observer.serial_number": jsonObsSerial,
	"observer.ingress.interface.name": jsonObsIngress, "observer.egress.interface.name": jsonObsEgress,
	"rule.id": jsonRuleID, "rule.name": jsonRuleName, "rule.category": jsonRuleCategory,
	"threat.name": jsonThreatName, "threat.category": jsonThreatCategory, "threat.severity": jsonThreatSeverity,
	"file.path": jsonFilePath, "file.name": jsonFileName,
	"file.hash.md5": jsonMD5, "file.hash.sha1": jsonSHA1, "file.hash.sha256": jsonSHA256,
	"group.name": jsonGroupName, "group.id": jsonGroupID, "group.domain": jsonGroupDomain,
	"process.name": jsonProcName, "process.pid": jsonPID, "process.command_line": jsonCommandLine,
	"process.executable": jsonExecutable, "process.parent.pid": jsonPPID,
	"process.parent.executable": jsonParentExecutable,
	"network.transport":         jsonTransport, "network.protocol": jsonProtocol, "network.type": jsonNetType,
	"network.direction": jsonDirection, "network.bytes": jsonNetBytes, "network.packets": jsonNetPackets,
	"vulnerability.id": jsonVulnID, "vulnerability.severity": jsonVulnSeverity,
}

// jsonField sets the field of kind from v when it is still empty (a
// wrapped line's own reading wins over its envelope). It reports whether
// the field now holds the value; one it does not hold (it does not fit,
// or the field already says something else, as a shipper's host beside
// the line's own hostname) goes to Labels under its key.
func (p *Parser) jsonField(kind jsonKind, v gjson.Result, ev *schemas.Event, ref time.Time) bool {
	if kind == jsonTimestamp {
		// The envelope's time, when the line has its own, is when the
		// shipper read the line: not kept.
		t, ok := p.jsonTime(v, ref)
		if ok && ev.Timestamp.IsZero() {
			ev.Timestamp = t
		}
		return ok
	}
	s := jsonScalar(v)
	if s == "" {
		return false
	}
	str := func(f *string) bool {
		if *f == "" {
			*f = s
		}
		return *f == s
	}
	num := func(f *int) bool {
		n, ok := genUint(s)
		if ok && *f == 0 {
			*f = n
		}
		return ok && *f == n
	}
	port := func(f *int) bool {
		n, ok := genPort(s)
		if ok && *f == 0 {
			*f = n
		}
		return ok && *f == n
	}
	ip := func(f *string) bool {
		a, ok := genIP(s)
		if ok && *f == "" {
			*f = a
		}
		return ok && *f == a
	}
	e := &ev.Event
	switch kind {
	case jsonMessage:
		return str(&ev.Message)
	case jsonHost:
		return str(&ev.Host.Name)
	case jsonEventAction:
		return str(&e.Action)
	case jsonEventCategory:
		return str(&e.Category)
	case jsonEventType:
		return str(&e.Type)
	case jsonEventOutcome:
		return str(&e.Outcome)
	case jsonEventCode:
		return str(&e.Code)
	case jsonEventSeverity:
		return num(&e.Severity)
	case jsonEventDataset:
		return str(&e.Dataset)
	case jsonEventReason:
		return str(&e.Reason)
	case jsonSrcIP:
		return ip(&ev.Source.IP)
	case jsonSrcPort:
		return port(&ev.Source.Port)
	case jsonSrcDomain:
		return str(&ev.Source.Domain)
	case jsonSrcBytes:
		return num(&ev.Source.Bytes)
	case jsonSrcPackets:
		return num(&ev.Source.Packets)
	case jsonSrcMAC:
		return str(&ev.Source.MAC)
	case jsonSrcNATIP:
		return ip(&ev.Source.NATIP)
	case jsonSrcNATPort:
		return port(&ev.Source.NATPort)
	case jsonDstIP:
		return ip(&ev.Destination.IP)
	case jsonDstPort:
		return port(&ev.Destination.Port)
	case jsonDstDomain:
		return str(&ev.Destination.Domain)
	case jsonDstBytes:
		return num(&ev.Destination.Bytes)
	case jsonDstPackets:
		return num(&ev.Destination.Packets)
	case jsonDstMAC:
		return str(&ev.Destination.MAC)
	case jsonDstNATIP:
		return ip(&ev.Destination.NATIP)
	case jsonDstNATPort:
		return port(&ev.Destination.NATPort)
	case jsonUserName:
		return str(&ev.User.Name)
	case jsonUserID:
		return str(&ev.User.ID)
	case jsonUserDomain:
		return str(&ev.User.Domain)
	case jsonTargetName:
		return str(&ev.User.Target.Name)
	case jsonTargetID:
		return str(&ev.User.Target.ID)
	case jsonTargetDomain:
		return str(&ev.User.Target.Domain)
	case jsonObsVendor:
		return str(&ev.Observer.Vendor)
	case jsonObsProduct:
		return str(&ev.Observer.Product)
	case jsonObsVersion:
		return str(&ev.Observer.Version)
	case jsonObsType:
		return str(&ev.Observer.Type)
	case jsonObsHostname:
		return str(&ev.Observer.Hostname)
	case jsonObsSerial:
		return str(&ev.Observer.SerialNumber)
	case jsonObsIngress:
		return str(&ev.Observer.IngressInterface)
	case jsonObsEgress:
		return str(&ev.Observer.EgressInterface)
	case jsonRuleID:
		return str(&ev.Rule.ID)
	case jsonRuleName:
		return str(&ev.Rule.Name)
	case jsonRuleCategory:
		return str(&ev.Rule.Category)
	case jsonThreatName:
		return str(&ev.Threat.Name)
	case jsonThreatCategory:
		return str(&ev.Threat.Category)
	case jsonThreatSeverity:
		return str(&ev.Threat.Severity)
	case jsonFilePath:
		return str(&ev.File.Path)
	case jsonFileName:
		return str(&ev.File.Name)
	case jsonMD5, jsonSHA1, jsonSHA256:
		return genIsHex(s) && genSetHash(ev, s)
	case jsonGroupName:
		return str(&ev.Group.Name)
	case jsonGroupID:
		return str(&ev.Group.ID)
	case jsonGroupDomain:
		return str(&ev.Group.Domain)
	case jsonProcName:
		return str(&ev.Process.Name)
	case jsonPID:
		return num(&ev.Process.PID)
	case jsonCommandLine:
		return str(&ev.Process.CommandLine)
	case jsonExecutable:
		return str(&ev.Process.Executable)
	case jsonPPID:
		return num(&ev.Process.Parent.PID)
	case jsonParentExecutable:
		return str(&ev.Process.Parent.Executable)
	case jsonTransport:
		if ev.Network.Transport == "" {
			ev.Network.Transport = genTransport(s)
		}
		return true
	case jsonProtocol:
		return str(&ev.Network.Protocol)
	case jsonNetType:
		return str(&ev.Network.Type)
	case jsonDirection:
		return str(&ev.Network.Direction)
	case jsonNetBytes:
		return num(&ev.Network.Bytes)
	case jsonNetPackets:
		return num(&ev.Network.Packets)
	case jsonVulnID:
		return str(&ev.Vulnerability.ID)
	case jsonVulnSeverity:
		return str(&ev.Vulnerability.Severity)
	}
	return false
}

// jsonValidate checks that s is one JSON value of at most jsonMaxDepth
// levels, without recursion, and says what is wrong and where. It does
// not check that strings are valid UTF-8.
func jsonValidate(s string) (bad string, at int) {
	const (
		value      = iota // a value is expected
		valueOrEnd        // after '[': a value or ']'
		key               // after ',' in an object: a key
		keyOrEnd          // after '{': a key or '}'
		afterValue        // after a value: ',', a closing bracket or the end
	)
	var objects uint64 // bit d set: level d+1 is an object
	depth, i, state := 0, 0, value
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			i++
		}
		if i == len(s) {
			if state == afterValue && depth == 0 {
				return "", 0
			}
			return "the record ends inside a JSON value", i
		}
		c := s[i]
		switch state {
		case value, valueOrEnd:
			if c == ']' && state == valueOrEnd {
				depth--
				i++
				state = afterValue
				continue
			}
			switch c {
			case '{', '[':
				if depth == jsonMaxDepth {
					return "nested deeper than 32 levels", i
				}
				if c == '{' {
					objects |= 1 << depth
					state = keyOrEnd
				} else {
					objects &^= 1 << depth
					state = valueOrEnd
				}
				depth++
				i++
				continue
			case '"':
				n, ok := jsonString(s, i)
				if !ok {
					return "a malformed JSON string", n
				}
				i = n
			case 't':
				if !strings.HasPrefix(s[i:], "true") {
					return "expected a JSON value", i
				}
				i += 4
			case 'f':
				if !strings.HasPrefix(s[i:], "false") {
					return "expected a JSON value", i
				}
				i += 5
			case 'n':
				if !strings.HasPrefix(s[i:], "null") {
					return "expected a JSON value", i
				}
				i += 4
			default:
				n, ok := jsonNumber(s, i)
				if !ok {
					return "expected a JSON value", i
				}
				i = n
			}
			state = afterValue
		case key, keyOrEnd:
			if c == '}' && state == keyOrEnd {
				depth--
				i++
				state = afterValue
				continue
			}
			if c != '"' {
				return "expected a quoted key", i
			}
			n, ok := jsonString(s, i)
			if !ok {
				return "a malformed JSON string", n
			}
			i = n
			for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
				i++
			}
			if i == len(s) || s[i] != ':' {
				return "expected ':' after a key", i
			}
			i++
			state = value
		case afterValue:
			if depth == 0 {
				return "more after the JSON value", i
			}
			obj := objects&(1<<(depth-1)) != 0
			switch {
			case c == ',' && obj:
				state = key
			case c == ',':
				state = value
			case c == '}' && obj, c == ']' && !obj:
				depth--
			default:
				return "expected ',' or a closing bracket", i
			}
			i++
		}
	}
}

// jsonString checks the string that starts at s[i] ('"') and returns the
// index after it, or where it went wrong.
func jsonString(s string, i int) (int, bool) {
	for i++; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 == len(s) {
				return i, false
			}
			i++
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s) || !genIsHex(s[i+1:i+5]) {
					return i, false
				}
				i += 4
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		}
	}
	return i, false
}

// jsonNumber checks the number that starts at s[i] and returns the index
// after it.
func jsonNumber(s string, i int) (int, bool) {
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if digits() == 0 {
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return i, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, false
		}
	}
	return i, true
}
