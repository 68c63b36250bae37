package chstore

import (
	"context"
	"fmt"
	"math"
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
	log_syslog_structured_data, log_source_address, message`

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
		message: c.message[:0], info: c.info,
	}
	for i := range c.info {
		c.info[i] = c.info[i][:0]
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
}

// columns returns the column slices in eventCols' order.
func (c *eventColumns) columns() []any {
	return []any{c.ts, c.tsNanos, c.id, c.listener, c.info[0], c.info[1], c.info[2], c.info[3], c.info[4],
		c.info[5], c.count, c.created, c.createdNanos, c.original, c.srcIP, c.srcPort, c.srcDomain, c.user,
		c.target, c.host, c.proc, c.pid, c.cmd, c.ssh, c.format, c.prio, c.fac, c.sev, c.hostname, c.app,
		c.procid, c.msgid, c.sd, c.logAddr, c.message}
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
