package chstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
)

// fullEvent sets every field of an event.
func fullEvent(id uint64, ts time.Time) schemas.Event {
	var e schemas.Event
	e.ID = id
	e.Timestamp = ts
	e.Event = schemas.EventInfo{Kind: "event", Category: schemas.CategoryAuthentication, Action: schemas.ActionSSHLogin,
		Outcome: schemas.OutcomeFailure, Reason: "wrong password", Dataset: "sshd", Count: 2,
		Created: ts.Add(time.Millisecond + 7), Original: "Mar  1 10:00:00 web1 sshd[42]: Failed password \xff"}
	e.Source = schemas.Endpoint{IP: "192.0.2.7", Port: 4022, Domain: "attacker.example"}
	e.User = schemas.User{Name: "root", Target: schemas.UserTarget{Name: "admin"}}
	e.Host.Name = "web1"
	e.Process = schemas.Process{Name: "sshd", PID: 42, CommandLine: "/usr/sbin/sshd -D"}
	e.SSH.Method = "password"
	e.Log.Syslog = schemas.Syslog{Format: "rfc5424", Priority: 38, Facility: 4, Severity: 6, Hostname: "web1",
		AppName: "sshd", ProcID: "42", MsgID: "ID1", StructuredData: `[x@1 a="b"]`}
	e.Log.Source.Address = "10.0.0.9"
	e.Message = "Failed password for root"
	return e
}

func TestWriteEventsColumns(t *testing.T) {
	reg := prometheus.NewRegistry()
	o := testOptions(t)
	o.Registerer = reg
	s := openTest(t, o)
	ts := time.Date(2024, 3, 1, 10, 0, 0, 123456789, time.UTC)
	e := fullEvent(1<<63|9, ts)
	require.NoError(t, s.WriteEvents(ctxT(t), []schemas.Event{e}, "tcp"))

	row := s.conn.QueryRow(ctxT(t), "SELECT toString(timestamp), timestamp_nanos, id, listener, event_kind, event_category, "+
		"event_action, event_outcome, event_reason, event_dataset, event_count, toString(event_created), event_created_nanos, "+
		"event_original, source_ip, source_port, source_domain, user_name, user_target_name, host_name, process_name, "+
		"process_pid, process_command_line, ssh_method, log_syslog_format, log_syslog_priority, log_syslog_facility, "+
		"log_syslog_severity, log_syslog_hostname, log_syslog_appname, log_syslog_procid, log_syslog_msgid, "+
		"log_syslog_structured_data, log_source_address, message, toYYYYMMDD(timestamp) FROM "+s.db+".events")
	var (
		tsText, created                                             string
		nanos, createdNanos, day                                    uint32
		id                                                          uint64
		listener, kind, cat, action, outcome, reason, dataset, orig string
		count, pid                                                  int64
		ip, domain, user, target, host, proc, cmd, method, format   string
		port, prio, fac, sev                                        int32
		hostname, app, procid, msgid, sd, logAddr, message          string
	)
	require.NoError(t, row.Scan(&tsText, &nanos, &id, &listener, &kind, &cat, &action, &outcome, &reason, &dataset, &count,
		&created, &createdNanos, &orig, &ip, &port, &domain, &user, &target, &host, &proc, &pid, &cmd, &method, &format,
		&prio, &fac, &sev, &hostname, &app, &procid, &msgid, &sd, &logAddr, &message, &day))
	require.Equal(t, "2024-03-01 10:00:00", tsText, "DateTime('UTC') shows UTC")
	require.Equal(t, uint32(123456789), nanos)
	require.Equal(t, e.ID, id)
	require.Equal(t, []string{"tcp", "event", "authentication", "ssh_login", "failure", "wrong password", "sshd"},
		[]string{listener, kind, cat, action, outcome, reason, dataset})
	require.Equal(t, int64(2), count)
	require.Equal(t, "2024-03-01 10:00:00", created)
	require.Equal(t, uint32(124456796), createdNanos)
	require.Equal(t, e.Event.Original, orig, "bytes kept")
	require.Equal(t, []string{"192.0.2.7", "attacker.example", "root", "admin", "web1", "sshd", "/usr/sbin/sshd -D", "password"},
		[]string{ip, domain, user, target, host, proc, cmd, method})
	require.Equal(t, int32(4022), port)
	require.Equal(t, int64(42), pid)
	require.Equal(t, []int32{38, 4, 6}, []int32{prio, fac, sev})
	require.Equal(t, []string{"rfc5424", "web1", "sshd", "42", "ID1", `[x@1 a="b"]`, "10.0.0.9", "Failed password for root"},
		[]string{format, hostname, app, procid, msgid, sd, logAddr, message})
	require.Equal(t, uint32(20240301), day, "partitioned by the UTC day")

	fams, err := reg.Gather()
	require.NoError(t, err)
	series := map[string]int{}
	for _, f := range fams {
		series[f.GetName()] = len(f.GetMetric())
		for _, m := range f.GetMetric() {
			if f.GetName() == "tocsin_clickhouse_rows_written_total" && m.GetLabel()[0].GetValue() == tEvents {
				require.Equal(t, 1.0, m.GetCounter().GetValue())
			}
			if f.GetName() == "tocsin_clickhouse_write_duration_seconds" && m.GetLabel()[0].GetValue() == tEvents {
				require.Equal(t, uint64(1), m.GetHistogram().GetSampleCount())
			}
		}
	}
	require.Equal(t, map[string]int{
		"tocsin_clickhouse_write_duration_seconds": len(writeTables),
		"tocsin_clickhouse_rows_written_total":     len(writeTables),
		"tocsin_clickhouse_write_errors_total":     len(writeTables),
		"tocsin_clickhouse_query_duration_seconds": len(queryNames),
	}, series, "every label child exists from the start")
}

// TestWriteEventsRedelivery writes a batch twice (an at-least-once
// consumer's redelivery): CountEvents sees each event once.
func TestWriteEventsRedelivery(t *testing.T) {
	s := openTest(t, testOptions(t))
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var evs []schemas.Event
	for i := range 1000 {
		// Three days, 1000 events, with sub-second times.
		evs = append(evs, fullEvent(uint64(i), day.Add(time.Duration(i)*259*time.Second+time.Duration(i))))
	}
	require.NoError(t, s.WriteEvents(ctxT(t), evs, "udp"))
	require.NoError(t, s.WriteEvents(ctxT(t), evs[:500], "udp"))
	require.Equal(t, uint64(1500), rawCount(t, s, tEvents))

	count := func(from, to time.Time) int64 {
		n, err := s.CountEvents(ctxT(t), from, to)
		require.NoError(t, err)
		return n
	}
	require.Equal(t, int64(1000), count(day, day.AddDate(0, 0, 10)))
	require.Equal(t, int64(1000), count(time.Time{}, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)))
	// [from, to) to the nanosecond: event 10 is at 2590s + 10ns.
	at10 := evs[10].Timestamp
	require.Equal(t, int64(10), count(day, at10))
	require.Equal(t, int64(11), count(day, at10.Add(1)))
	require.Equal(t, int64(990), count(at10, day.AddDate(0, 0, 10)))
	require.Equal(t, int64(989), count(at10.Add(1), day.AddDate(0, 0, 10)))
	require.Zero(t, count(day.AddDate(0, 0, 5), day.AddDate(0, 0, 6)))

	parts, err := s.partitions(ctxT(t), tEvents)
	require.NoError(t, err)
	var ids []string
	for _, p := range parts {
		ids = append(ids, p.id)
	}
	require.Equal(t, []string{"20240301", "20240302", "20240303"}, ids)
}

// TestWriteEventsOddTimes stores times outside the DateTime range at its
// ends, and an empty call writes nothing.
func TestWriteEventsOddTimes(t *testing.T) {
	s := openTest(t, testOptions(t))
	require.NoError(t, s.WriteEvents(ctxT(t), nil, "x"))
	old := fullEvent(1, time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC))
	future := fullEvent(2, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))
	noCreated := fullEvent(3, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	noCreated.Event.Created = time.Time{}
	require.NoError(t, s.WriteEvents(ctxT(t), []schemas.Event{old, future, noCreated}, "x"))
	rows, err := s.conn.Query(ctxT(t), "SELECT id, toUnixTimestamp(timestamp), toUnixTimestamp(event_created) FROM "+s.db+".events ORDER BY id")
	require.NoError(t, err)
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id uint64
		var ts, created uint32
		require.NoError(t, rows.Scan(&id, &ts, &created))
		got = append(got, fmt.Sprintf("%d:%d:%d", id, ts, created))
	}
	require.Equal(t, []string{"1:0:0", "2:4294967295:4294967295", "3:1704067200:0"}, got)
}

func TestWriteEventsFormatFields(t *testing.T) {
	s := openTest(t, testOptions(t))
	ts := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	e := fullEvent(77, ts)
	e.Event.Type, e.Event.Code, e.Event.Severity = schemas.TypeDenied, "106023", 4
	e.Destination = schemas.Endpoint{IP: "198.51.100.9", Port: 443, Bytes: 1200}
	e.Network = schemas.Network{Transport: "tcp", Direction: "inbound", Bytes: 3400}
	e.Observer = schemas.Observer{Vendor: "Cisco", Product: "ASA", Hostname: "fw1", IngressInterface: "outside"}
	e.Rule = schemas.Rule{ID: "12", Name: "deny-all"}
	e.Winlog.EventID = 4625
	e.TLS.Server.NotAfter = time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	e.Labels = map[string]string{"cs1": "x", "act": "blocked"}
	require.NoError(t, s.WriteEvents(ctxT(t), []schemas.Event{e}, "tcp"))

	var typ, code, dstIP, transport, vendor, ruleName string
	var sev, dport, evid int32
	var nb int64
	var keys, vals []string
	require.NoError(t, s.conn.QueryRow(ctxT(t), "SELECT event_type, event_code, event_severity, destination_ip, "+
		"destination_port, network_transport, network_bytes, observer_vendor, rule_name, winlog_event_id, "+
		"fields.key, fields.value FROM "+s.db+".events").
		Scan(&typ, &code, &sev, &dstIP, &dport, &transport, &nb, &vendor, &ruleName, &evid, &keys, &vals))
	require.Equal(t, []any{"denied", "106023", int32(4), "198.51.100.9", int32(443), "tcp", int64(3400), "Cisco", "deny-all", int32(4625)},
		[]any{typ, code, sev, dstIP, dport, transport, nb, vendor, ruleName, evid})
	require.Equal(t, []string{"destination.bytes", "observer.ingress_interface", "rule.id", "tls.server.not_after", "labels.act", "labels.cs1"}, keys)
	require.Equal(t, []string{"1200", "outside", "12", "2027-01-02T03:04:05Z", "blocked", "x"}, vals)

	var got string
	require.NoError(t, s.conn.QueryRow(ctxT(t), "SELECT fields.value[indexOf(fields.key, 'labels.cs1')] FROM "+s.db+".events").Scan(&got))
	require.Equal(t, "x", got)
}
