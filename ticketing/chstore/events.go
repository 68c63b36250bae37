package chstore

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tocsin-siem/tocsin/schemas"
)

// eventCols is the events table's column list, in eventColumns' order.
const eventCols = `timestamp, timestamp_nanos, id, listener, event_kind, event_category, event_action,
	event_outcome, event_reason, event_dataset, event_count, event_created, event_created_nanos, event_original,
	source_ip, source_port, source_domain, user_name, user_target_name, host_name, process_name, process_pid,
	process_command_line, ssh_method, log_syslog_format, log_syslog_priority, log_syslog_facility,
	log_syslog_severity, log_syslog_hostname, log_syslog_appname, log_syslog_procid, log_syslog_msgid,
	log_syslog_structured_data, log_source_address, message,
	event_type, event_code, event_severity, user_id, user_domain, user_target_domain, process_executable,
	destination_ip, destination_port, destination_domain, network_transport, network_direction, network_bytes,
	observer_vendor, observer_product, observer_hostname, rule_name, threat_name, file_path, group_name,
	winlog_event_id, fields.key, fields.value`

// extStrings are the string columns added with the formats beyond syslog
// authentication, in eventCols' order.
var extStrings = []func(*schemas.Event) string{
	func(e *schemas.Event) string { return e.Event.Type },
	func(e *schemas.Event) string { return e.Event.Code },
	nil, // event_severity
	func(e *schemas.Event) string { return e.User.ID },
	func(e *schemas.Event) string { return e.User.Domain },
	func(e *schemas.Event) string { return e.User.Target.Domain },
	func(e *schemas.Event) string { return e.Process.Executable },
	func(e *schemas.Event) string { return e.Destination.IP },
	nil, // destination_port
	func(e *schemas.Event) string { return e.Destination.Domain },
	func(e *schemas.Event) string { return e.Network.Transport },
	func(e *schemas.Event) string { return e.Network.Direction },
	nil, // network_bytes
	func(e *schemas.Event) string { return e.Observer.Vendor },
	func(e *schemas.Event) string { return e.Observer.Product },
	func(e *schemas.Event) string { return e.Observer.Hostname },
	func(e *schemas.Event) string { return e.Rule.Name },
	func(e *schemas.Event) string { return e.Threat.Name },
	func(e *schemas.Event) string { return e.File.Path },
	func(e *schemas.Event) string { return e.Group.Name },
}

// extField is a field kept in the fields nested column.
type extField struct {
	name string
	get  func(*schemas.Event) string
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// extFields are the fields without a column of their own; an event's
// non-empty ones, then its labels, fill fields.key and fields.value.
var extFields = []extField{
	{"user.target.id", func(e *schemas.Event) string { return e.User.Target.ID }},
	{"process.parent.pid", func(e *schemas.Event) string { return itoa(e.Process.Parent.PID) }},
	{"process.parent.executable", func(e *schemas.Event) string { return e.Process.Parent.Executable }},
	{"source.bytes", func(e *schemas.Event) string { return itoa(e.Source.Bytes) }},
	{"source.packets", func(e *schemas.Event) string { return itoa(e.Source.Packets) }},
	{"source.mac", func(e *schemas.Event) string { return e.Source.MAC }},
	{"source.nat_ip", func(e *schemas.Event) string { return e.Source.NATIP }},
	{"source.nat_port", func(e *schemas.Event) string { return itoa(e.Source.NATPort) }},
	{"destination.bytes", func(e *schemas.Event) string { return itoa(e.Destination.Bytes) }},
	{"destination.packets", func(e *schemas.Event) string { return itoa(e.Destination.Packets) }},
	{"destination.mac", func(e *schemas.Event) string { return e.Destination.MAC }},
	{"destination.nat_ip", func(e *schemas.Event) string { return e.Destination.NATIP }},
	{"destination.nat_port", func(e *schemas.Event) string { return itoa(e.Destination.NATPort) }},
	{"network.protocol", func(e *schemas.Event) string { return e.Network.Protocol }},
	{"network.type", func(e *schemas.Event) string { return e.Network.Type }},
	{"network.packets", func(e *schemas.Event) string { return itoa(e.Network.Packets) }},
	{"observer.version", func(e *schemas.Event) string { return e.Observer.Version }},
	{"observer.type", func(e *schemas.Event) string { return e.Observer.Type }},
	{"observer.serial_number", func(e *schemas.Event) string { return e.Observer.SerialNumber }},
	{"observer.ingress_interface", func(e *schemas.Event) string { return e.Observer.IngressInterface }},
	{"observer.egress_interface", func(e *schemas.Event) string { return e.Observer.EgressInterface }},
	{"rule.id", func(e *schemas.Event) string { return e.Rule.ID }},
	{"rule.category", func(e *schemas.Event) string { return e.Rule.Category }},
	{"threat.category", func(e *schemas.Event) string { return e.Threat.Category }},
	{"threat.severity", func(e *schemas.Event) string { return e.Threat.Severity }},
	{"file.name", func(e *schemas.Event) string { return e.File.Name }},
	{"file.hash.md5", func(e *schemas.Event) string { return e.File.Hash.MD5 }},
	{"file.hash.sha1", func(e *schemas.Event) string { return e.File.Hash.SHA1 }},
	{"file.hash.sha256", func(e *schemas.Event) string { return e.File.Hash.SHA256 }},
	{"group.id", func(e *schemas.Event) string { return e.Group.ID }},
	{"group.domain", func(e *schemas.Event) string { return e.Group.Domain }},
	{"winlog.channel", func(e *schemas.Event) string { return e.Winlog.Channel }},
	{"winlog.provider_name", func(e *schemas.Event) string { return e.Winlog.Provider }},
	{"winlog.computer_name", func(e *schemas.Event) string { return e.Winlog.Computer }},
	{"winlog.record_id", func(e *schemas.Event) string { return itoa(e.Winlog.RecordID) }},
	{"winlog.keywords", func(e *schemas.Event) string { return e.Winlog.Keywords }},
	{"winlog.logon_type", func(e *schemas.Event) string { return itoa(e.Winlog.LogonType) }},
	{"winlog.status", func(e *schemas.Event) string { return e.Winlog.Status }},
	{"winlog.sub_status", func(e *schemas.Event) string { return e.Winlog.SubStatus }},
	{"tls.versions", func(e *schemas.Event) string { return e.TLS.Versions }},
	{"tls.server.subject", func(e *schemas.Event) string { return e.TLS.Server.Subject }},
	{"tls.server.issuer", func(e *schemas.Event) string { return e.TLS.Server.Issuer }},
	{"tls.server.not_before", func(e *schemas.Event) string { return timeText(e.TLS.Server.NotBefore) }},
	{"tls.server.not_after", func(e *schemas.Event) string { return timeText(e.TLS.Server.NotAfter) }},
	{"tls.server.hash", func(e *schemas.Event) string { return e.TLS.Server.Hash }},
	{"vulnerability.id", func(e *schemas.Event) string { return e.Vulnerability.ID }},
	{"vulnerability.severity", func(e *schemas.Event) string { return e.Vulnerability.Severity }},
	{"change.item", func(e *schemas.Event) string { return e.Change.Item }},
}

// Where an event's string fields go, in eventCols' order after the
// first fields.
var eventStrings = []func(*schemas.Event) string{
	func(e *schemas.Event) string { return e.Event.Kind },
	func(e *schemas.Event) string { return e.Event.Category },
	func(e *schemas.Event) string { return e.Event.Action },
	func(e *schemas.Event) string { return e.Event.Outcome },
	func(e *schemas.Event) string { return e.Event.Reason },
	func(e *schemas.Event) string { return e.Event.Dataset },
}

// eventColumns holds one call's events column by column: a columnar
// append costs a few conversions per column instead of one boxing per
// value. Pooled between calls.
type eventColumns struct {
	ts, created           []time.Time
	tsNanos, createdNanos []uint32
	id                    []uint64
	listener              []string
	info                  [6][]string // event_kind ... event_dataset
	count, pid            []int64
	original              []string
	srcIP, srcDomain      []string
	srcPort               []int32
	user, target, host    []string
	proc, cmd, ssh        []string
	format                []string
	prio, fac, sev        []int32
	hostname, app         []string
	procid, msgid, sd     []string
	logAddr, message      []string
	ext                   [20][]string // extStrings' columns; nil entries stay empty
	severity, dport, evid []int32
	netBytes              []int64
	fkeys, fvals          [][]string
}

var eventColumnsPool = sync.Pool{New: func() any { return new(eventColumns) }}

func (c *eventColumns) reset() {
	*c = eventColumns{
		ts: c.ts[:0], created: c.created[:0], tsNanos: c.tsNanos[:0], createdNanos: c.createdNanos[:0],
		id: c.id[:0], listener: c.listener[:0], count: c.count[:0], pid: c.pid[:0], original: c.original[:0],
		srcIP: c.srcIP[:0], srcDomain: c.srcDomain[:0], srcPort: c.srcPort[:0], user: c.user[:0],
		target: c.target[:0], host: c.host[:0], proc: c.proc[:0], cmd: c.cmd[:0], ssh: c.ssh[:0],
		format: c.format[:0], prio: c.prio[:0], fac: c.fac[:0], sev: c.sev[:0], hostname: c.hostname[:0],
		app: c.app[:0], procid: c.procid[:0], msgid: c.msgid[:0], sd: c.sd[:0], logAddr: c.logAddr[:0],
		message: c.message[:0], info: c.info, ext: c.ext, severity: c.severity[:0], dport: c.dport[:0],
		evid: c.evid[:0], netBytes: c.netBytes[:0], fkeys: c.fkeys[:0], fvals: c.fvals[:0],
	}
	for i := range c.info {
		c.info[i] = c.info[i][:0]
	}
	for i := range c.ext {
		c.ext[i] = c.ext[i][:0]
	}
}

// clear drops the references to the events' strings, so that a pooled
// buffer does not keep a batch's lines alive.
func (c *eventColumns) clear() {
	for _, s := range [][]string{c.listener, c.original, c.srcIP, c.srcDomain, c.user, c.target, c.host, c.proc,
		c.cmd, c.ssh, c.format, c.hostname, c.app, c.procid, c.msgid, c.sd, c.logAddr, c.message,
		c.info[0], c.info[1], c.info[2], c.info[3], c.info[4], c.info[5]} {
		clear(s)
	}
	for _, s := range c.ext {
		clear(s)
	}
	clear(c.fkeys)
	clear(c.fvals)
}

func int32Of(n int) int32 {
	return int32(max(min(n, math.MaxInt32), math.MinInt32))
}

func (c *eventColumns) add(e *schemas.Event, listener string) {
	ts := clampDateTime(e.Timestamp)
	c.ts = append(c.ts, ts)
	c.tsNanos = append(c.tsNanos, uint32(e.Timestamp.Nanosecond()))
	c.id = append(c.id, e.ID)
	c.listener = append(c.listener, listener)
	for i, f := range eventStrings {
		c.info[i] = append(c.info[i], f(e))
	}
	c.count = append(c.count, int64(e.Event.Count))
	if e.Event.Created.IsZero() {
		c.created = append(c.created, time.Unix(0, 0).UTC())
		c.createdNanos = append(c.createdNanos, 0)
	} else {
		c.created = append(c.created, clampDateTime(e.Event.Created))
		c.createdNanos = append(c.createdNanos, uint32(e.Event.Created.Nanosecond()))
	}
	c.original = append(c.original, e.Event.Original)
	c.srcIP = append(c.srcIP, e.Source.IP)
	c.srcPort = append(c.srcPort, int32Of(e.Source.Port))
	c.srcDomain = append(c.srcDomain, e.Source.Domain)
	c.user = append(c.user, e.User.Name)
	c.target = append(c.target, e.User.Target.Name)
	c.host = append(c.host, e.Host.Name)
	c.proc = append(c.proc, e.Process.Name)
	c.pid = append(c.pid, int64(e.Process.PID))
	c.cmd = append(c.cmd, e.Process.CommandLine)
	c.ssh = append(c.ssh, e.SSH.Method)
	sl := &e.Log.Syslog
	c.format = append(c.format, sl.Format)
	c.prio = append(c.prio, int32Of(sl.Priority))
	c.fac = append(c.fac, int32Of(sl.Facility))
	c.sev = append(c.sev, int32Of(sl.Severity))
	c.hostname = append(c.hostname, sl.Hostname)
	c.app = append(c.app, sl.AppName)
	c.procid = append(c.procid, sl.ProcID)
	c.msgid = append(c.msgid, sl.MsgID)
	c.sd = append(c.sd, sl.StructuredData)
	c.logAddr = append(c.logAddr, e.Log.Source.Address)
	c.message = append(c.message, e.Message)
	for i, f := range extStrings {
		if f != nil {
			c.ext[i] = append(c.ext[i], f(e))
		}
	}
	c.severity = append(c.severity, int32Of(e.Event.Severity))
	c.dport = append(c.dport, int32Of(e.Destination.Port))
	c.evid = append(c.evid, int32Of(e.Winlog.EventID))
	c.netBytes = append(c.netBytes, int64(e.Network.Bytes))
	var keys, vals []string
	for _, f := range extFields {
		if v := f.get(e); v != "" {
			keys = append(keys, f.name)
			vals = append(vals, v)
		}
	}
	if len(e.Labels) > 0 {
		names := make([]string, 0, len(e.Labels))
		for k := range e.Labels {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			keys = append(keys, "labels."+k)
			vals = append(vals, e.Labels[k])
		}
	}
	if keys == nil {
		keys, vals = []string{}, []string{}
	}
	c.fkeys = append(c.fkeys, keys)
	c.fvals = append(c.fvals, vals)
}

// columns returns the column slices in eventCols' order.
func (c *eventColumns) columns() []any {
	return []any{c.ts, c.tsNanos, c.id, c.listener, c.info[0], c.info[1], c.info[2], c.info[3], c.info[4],
		c.info[5], c.count, c.created, c.createdNanos, c.original, c.srcIP, c.srcPort, c.srcDomain, c.user,
		c.target, c.host, c.proc, c.pid, c.cmd, c.ssh, c.format, c.prio, c.fac, c.sev, c.hostname, c.app,
		c.procid, c.msgid, c.sd, c.logAddr, c.message,
		c.ext[0], c.ext[1], c.severity, c.ext[3], c.ext[4], c.ext[5], c.ext[6], c.ext[7], c.dport, c.ext[9],
		c.ext[10], c.ext[11], c.netBytes, c.ext[13], c.ext[14], c.ext[15], c.ext[16], c.ext[17], c.ext[18],
		c.ext[19], c.evid, c.fkeys, c.fvals}
}

// WriteEvents stores evs in the event history in one INSERT, with
// source naming the listener or input they came from. It is not part of
// the ticket tables' batch protocol: an INSERT that fails part way may
// leave some of the events, and writing them again is harmless, since
// rows with the same timestamp and ID fold into one when parts merge.
//
// Timestamps outside 1970-2106 are stored as the nearest end of that
// range, which is what a DateTime column holds.
func (s *Store) WriteEvents(ctx context.Context, evs []schemas.Event, source string) error {
	if len(evs) == 0 {
		return nil
	}
	c := eventColumnsPool.Get().(*eventColumns)
	c.reset()
	for i := range evs {
		c.add(&evs[i], source)
	}
	if s.eventSettings != nil {
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(s.eventSettings))
	}
	err := s.insert(ctx, tEvents, eventCols, len(evs), func(b driver.Batch) error {
		for i, col := range c.columns() {
			if err := b.Column(i).Append(col); err != nil {
				return fmt.Errorf("column %d: %w", i, err)
			}
		}
		return nil
	})
	c.clear()
	eventColumnsPool.Put(c)
	return s.noteWrite(err)
}

// CountEvents counts the distinct events with a timestamp in [from, to),
// after folding redelivered copies. It reads the whole range and is
// meant for tests and checks, not for dashboards.
func (s *Store) CountEvents(ctx context.Context, from, to time.Time) (int64, error) {
	defer s.met.queried(qCountEvents, time.Now())
	fs, fns := bound(from)
	ts, tns := bound(to)
	var n uint64
	err := s.conn.QueryRow(ctx, s.sql(`SELECT count() FROM {db}.events FINAL
		WHERE timestamp >= toDateTime(?) AND timestamp <= toDateTime(?)
		AND (timestamp > toDateTime(?) OR timestamp_nanos >= ?)
		AND (timestamp < toDateTime(?) OR timestamp_nanos < ?)`),
		fs, ts, fs, fns, ts, tns).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("cannot count events: %w", err)
	}
	return int64(n), nil
}

// bound is t as a DateTime second and the nanoseconds within it; past
// the column's end it is a point after every stored value.
func bound(t time.Time) (sec int64, nanos uint64) {
	switch {
	case t.Unix() < 0:
		return 0, 0
	case t.After(maxDateTime):
		return maxDateTime.Unix(), 1e9
	}
	return t.Unix(), uint64(t.Nanosecond())
}
