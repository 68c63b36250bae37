package parse

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tocsin-siem/tocsin/schemas"
)

// Names of the formats that are not a Source of their own.
const (
	// FormatAuto detects the format of each message (the default).
	FormatAuto = "auto"
	// FormatSyslog reads the syslog header and the sshd, sudo, su and PAM
	// messages only; any other message keeps its header fields.
	FormatSyslog = "syslog"
)

// Source is one kind of log that tocsin reads: a vendor format (Cisco ASA,
// FortiGate), a program's messages (ClamAV, useradd) or a generic encoding
// (CEF, JSON). Each is registered once, by the file that reads it, and can
// be detected per message, named as a listener's only format, or switched
// off.
//
// Detection asks, in order of Priority, for a message after a syslog
// header: Apps (the header's APP-NAME or TAG), AppPrefixes, Prefixes (the
// message's start), then Sniff. For a line without syslog header, Prefixes
// and Sniff see the whole line; for a JSON record (a line that starts with
// '{' or '['), JSON does.
type Source struct {
	// Name is the format's name in configuration, metrics and
	// event.dataset where the source sets no finer one.
	Name string
	// Description says in a few words what the source reads.
	Description string
	// Priority orders detection: lower first. Generic readers (key=value,
	// JSON) use high values so that vendor readers see a message first.
	Priority int
	// Apps are syslog APP-NAME (TAG) values whose messages this source
	// reads.
	Apps []string
	// AppPrefixes are APP-NAME beginnings ("%ASA-").
	AppPrefixes []string
	// Prefixes are message beginnings that identify the format whatever
	// the APP-NAME ("CEF:").
	Prefixes []string
	// Sniff, when set, reports whether a message (or a line without
	// header) is this source's. It runs for every message no earlier
	// test claimed, so it must be cheap and must not allocate.
	Sniff func(msg string) bool
	// JSON, when set, reports whether a JSON record is this source's.
	JSON func(rec string) bool
	// Reasons lists the failure reasons Parse may return, beyond the
	// package's own.
	Reasons []string
	// Parse reads in into ev. A recognised record that is malformed
	// returns an *Error; the event keeps what was read.
	Parse func(p *Parser, in Input, ev *schemas.Event) *Error
}

// Input is what a Source's Parse reads.
type Input struct {
	// Msg is the syslog MSG (after any "message repeated N times"
	// wrapper), or the whole line or JSON record when it carries no syslog
	// header.
	Msg string
	// App is the syslog APP-NAME or TAG, empty without header.
	App string
	// Received is when the line arrived: the reference for year-less
	// dates and the timestamp of records that carry none.
	Received time.Time
	// Header reports whether Msg followed a syslog header. A Source sets
	// ev.Timestamp from the record's own time when it carries one (and
	// only when ev.Timestamp is zero, as it is when Parse calls it);
	// otherwise the header's time, or the receive time, is the event's.
	Header bool
}

var (
	registryMu sync.Mutex
	registry   []*Source
	sorted     bool
)

// register adds a source; files that read a format call it from init.
func register(s Source) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if s.Name == "" || s.Parse == nil {
		panic("parse: a source needs a name and a Parse function")
	}
	for _, o := range registry {
		if o.Name == s.Name {
			panic("parse: source " + s.Name + " registered twice")
		}
	}
	registry = append(registry, &s)
	sorted = false
}

// sources returns the registered sources in detection order.
func sources() []*Source {
	registryMu.Lock()
	defer registryMu.Unlock()
	if !sorted {
		slices.SortStableFunc(registry, func(a, b *Source) int {
			return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.Name, b.Name))
		})
		sorted = true
	}
	return registry
}

// Formats lists the names a listener's format may take: auto, syslog and
// every source, sorted after the first two.
func Formats() []string {
	names := []string{FormatAuto, FormatSyslog}
	var rest []string
	for _, s := range sources() {
		rest = append(rest, s.Name)
	}
	slices.Sort(rest)
	return append(names, rest...)
}

// Sources returns the name and description of every source, sorted by
// name.
func Sources() [][2]string {
	var out [][2]string
	for _, s := range sources() {
		out = append(out, [2]string{s.Name, s.Description})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}

func lookupSource(name string) *Source {
	for _, s := range sources() {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Validate reports every unknown format name in o at once.
func (o Options) Validate() error {
	var errs []error
	known := strings.Join(Formats(), ", ")
	if o.Format != "" && o.Format != FormatAuto && o.Format != FormatSyslog && lookupSource(o.Format) == nil {
		errs = append(errs, fmt.Errorf("unknown format %q (want one of: %s)", o.Format, known))
	}
	for _, d := range o.Disabled {
		if lookupSource(d) == nil {
			errs = append(errs, fmt.Errorf("cannot disable unknown format %q (want one of: %s)", d, strings.Join(Formats()[2:], ", ")))
		}
	}
	return errors.Join(errs...)
}

// detector holds a Parser's view of the registry: the enabled sources in
// detection order, indexed by APP-NAME.
type detector struct {
	byApp     map[string]*Source
	appPrefix []*Source
	prefix    []*Source
	sniff     []*Source
	json      []*Source
}

func newDetector(disabled []string) detector {
	d := detector{byApp: map[string]*Source{}}
	for _, s := range sources() {
		if slices.Contains(disabled, s.Name) {
			continue
		}
		for _, a := range s.Apps {
			if _, taken := d.byApp[a]; !taken {
				d.byApp[a] = s
			}
		}
		if len(s.AppPrefixes) > 0 {
			d.appPrefix = append(d.appPrefix, s)
		}
		if len(s.Prefixes) > 0 {
			d.prefix = append(d.prefix, s)
		}
		if s.Sniff != nil {
			d.sniff = append(d.sniff, s)
		}
		if s.JSON != nil {
			d.json = append(d.json, s)
		}
	}
	return d
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// body gives the message of a line whose syslog header was read to the
// reader of its program or format. A message no reader claims keeps its
// header fields and gets no action: that is not a failure.
func (p *Parser) body(ev *schemas.Event, received time.Time) *Error {
	msg := ev.Message
	msg = unwrapRepeated(ev, msg)
	if msg == "" {
		return nil
	}
	app := ev.Log.Syslog.AppName
	switch app {
	case "sshd", "sshd-session", "sudo", "su":
		classify(ev, app, msg)
		return nil
	}
	if p.syslogOnly {
		classify(ev, app, msg)
		return nil
	}
	if src := p.pick(app, msg); src != nil {
		return p.parseBody(src, Input{Msg: msg, App: app, Received: received, Header: true}, ev)
	}
	classify(ev, app, msg)
	return nil
}

// pick returns the source that reads a message after a syslog header, or
// nil when none does (the PAM messages of any program are classify's).
func (p *Parser) pick(app, msg string) *Source {
	d := &p.detect
	if s := d.byApp[app]; s != nil && app != "" {
		return s
	}
	for _, s := range d.appPrefix {
		if hasAnyPrefix(app, s.AppPrefixes) {
			return s
		}
	}
	for _, s := range d.prefix {
		if hasAnyPrefix(msg, s.Prefixes) {
			return s
		}
	}
	if isPAM(app, msg) {
		return nil
	}
	for _, s := range d.sniff {
		if s.Sniff(msg) {
			return s
		}
	}
	if msg[0] == '{' {
		for _, s := range d.json {
			if s.JSON(msg) {
				return s
			}
		}
	}
	return nil
}

// parseBody runs src on a message that followed a syslog header. The
// record's own time, when it carries one (FortiGate's date and time,
// PAN-OS's generated time, CEF's rt, a Windows event's TimeCreated), wins
// over the header's, which a relay may have set and which often lacks
// the year; the header's time stays when the record has none.
func (p *Parser) parseBody(src *Source, in Input, ev *schemas.Event) *Error {
	header := ev.Timestamp
	ev.Timestamp = time.Time{}
	err := src.Parse(p, in, ev)
	if ev.Timestamp.IsZero() {
		ev.Timestamp = header
	}
	return err
}

// claim returns the source that reads a line without syslog header (a
// JSON record, an XML event, or a format with a header of its own: CEF, a
// FortiGate record, an auditd line), or nil.
func (p *Parser) claim(line string) *Source {
	d := &p.detect
	if line[0] == '{' || line[0] == '[' {
		for _, s := range d.json {
			if s.JSON(line) {
				return s
			}
		}
	}
	for _, s := range d.prefix {
		if hasAnyPrefix(line, s.Prefixes) {
			return s
		}
	}
	for _, s := range d.sniff {
		if s.Sniff(line) {
			return s
		}
	}
	return nil
}

// wholeWith reads a header-less line with src.
func (p *Parser) wholeWith(src *Source, line string, received time.Time, ev *schemas.Event) *Error {
	ev.Log.Syslog = schemas.Syslog{Format: FormatNone}
	ev.Timestamp = time.Time{}
	ev.Message = ""
	err := src.Parse(p, Input{Msg: line, Received: received}, ev)
	if ev.Message == "" && line[0] != '{' && line[0] != '[' && line[0] != '<' {
		// A text line without header is all message, as after a header;
		// a JSON or XML record is its Original.
		ev.Message = line
	}
	return err
}

// parseForced reads a line of the one format a listener was told to
// expect. A syslog header, when the line has one, is read first and the
// format reads its MSG; otherwise the format reads the whole line.
func (p *Parser) parseForced(line string, received time.Time, ev *schemas.Event) *Error {
	src := p.forced
	var err *Error
	headerless := func() *Error {
		if !src.recognises("", line, true) {
			p.noHeader(line, received, ev)
			return notThisFormat(src)
		}
		return p.wholeWith(src, line, received, ev)
	}
	switch {
	case line[0] == '{' || line[0] == '[' || (line[0] == '<' && (len(line) == 1 || !isDigit(line[1]))):
		return headerless()
	case line[0] == '<':
		err = p.parsePRI(line, received, ev)
	default:
		err = p.parse3164(line, 0, false, received, ev)
		if err != nil && err.Reason == ReasonNoHeader {
			return headerless()
		}
	}
	if err != nil {
		return err
	}
	msg := ev.Message
	msg = unwrapRepeated(ev, msg)
	app := ev.Log.Syslog.AppName
	if !src.recognises(app, msg, false) {
		return notThisFormat(src)
	}
	return p.parseBody(src, Input{Msg: msg, App: app, Received: received, Header: true}, ev)
}

// recognises reports whether any of the source's own tests takes the
// message (with its syslog APP-NAME) or the header-less line: a listener
// told its format still refuses lines of another one.
//
// A source known only by its program names (filterlog, useradd) cannot
// tell its records without a header from others: those are left to its
// Parse.
func (s *Source) recognises(app, msg string, whole bool) bool {
	if msg == "" {
		return false
	}
	if whole && len(s.Prefixes) == 0 && s.Sniff == nil && s.JSON == nil {
		return true
	}
	if !whole && app != "" && (slices.Contains(s.Apps, app) || hasAnyPrefix(app, s.AppPrefixes)) {
		return true
	}
	if hasAnyPrefix(msg, s.Prefixes) || (s.Sniff != nil && s.Sniff(msg)) {
		return true
	}
	return s.JSON != nil && (msg[0] == '{' || msg[0] == '[') && s.JSON(msg)
}

// ReasonNotThisFormat is the failure of a line that the one format a
// listener was told to expect does not recognise, for a format without a
// failure reason of its own.
const ReasonNotThisFormat = "not_this_format"

// notThisFormat is the failure of a line the forced source does not
// recognise: the source's "not_..." reason, else its first, else
// ReasonNotThisFormat.
func notThisFormat(s *Source) *Error {
	reason := ReasonNotThisFormat
	if len(s.Reasons) > 0 {
		reason = s.Reasons[0]
	}
	for _, r := range s.Reasons {
		if strings.HasPrefix(r, "not_") {
			reason = r
			break
		}
	}
	return &Error{Reason: reason, Detail: "not a " + s.Name + " record, the one format this input was told to expect"}
}

// splitters are the functions that cut one JSON document into several
// records (a scanner's report of many endpoints); sources register them.
var splitters []func(doc []byte) [][]byte

// batchKeys name the one key of a JSON object that holds a batch of
// records: AWS CloudTrail files ("Records"), Azure diagnostic logs
// ("records"), and the {"events": [...]} shape of Elastic's pipeline
// samples.
var batchKeys = []string{"Records", "records", "events"}

// splitBatch returns the records of an object whose only key is one of
// batchKeys and holds an array of objects, or nil.
func splitBatch(doc []byte) [][]byte {
	r := gjson.ParseBytes(doc)
	if !r.IsObject() {
		return nil
	}
	var recs [][]byte
	keys := 0
	ok := true
	r.ForEach(func(k, v gjson.Result) bool {
		keys++
		if keys > 1 || !slices.Contains(batchKeys, k.Str) || !v.IsArray() {
			ok = false
			return false
		}
		v.ForEach(func(_, e gjson.Result) bool {
			if !e.IsObject() {
				ok = false
				return false
			}
			recs = append(recs, []byte(e.Raw))
			return true
		})
		return ok
	})
	if !ok || keys != 1 || len(recs) == 0 {
		return nil
	}
	return recs
}

func init() { splitters = append(splitters, splitBatch) }

// SplitRecords offers a JSON document to every registered splitter and
// returns the records of the first that takes it, or nil. File and HTTP
// readers call it on each top-level JSON value (see
// ingest.RecordOptions.Split).
func SplitRecords(doc []byte) [][]byte {
	for _, f := range splitters {
		if recs := f(doc); recs != nil {
			return recs
		}
	}
	return nil
}

// unwrapRepeated returns the inner message of syslogd's "message repeated
// N times: [ ... ]", setting the event's count to N, or msg unchanged.
func unwrapRepeated(ev *schemas.Event, msg string) string {
	if strings.HasPrefix(msg, "message repeated ") {
		if inner, n, ok := cutRepeated(msg); ok {
			ev.Event.Count = n
			return inner
		}
	}
	return msg
}
