package chstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

// BenchmarkWriteEvents writes batches of 10,000 events, as the history
// consumer does, and reports rows per second.
func BenchmarkWriteEvents(b *testing.B) {
	o := testOptions(b)
	o.Registerer = nil
	s := openTest(b, o)
	const batch = 10_000
	evs := make([]schemas.Event, batch)
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range evs {
		evs[i] = fullEvent(uint64(i), start.Add(time.Duration(i)*time.Second))
		evs[i].Source.IP = fmt.Sprintf("192.0.2.%d", i%250)
		evs[i].Event.Original = fmt.Sprintf("Mar  1 10:00:00 web1 sshd[%d]: Failed password for root from %s port %d ssh2",
			i, evs[i].Source.IP, 1024+i%60000)
	}
	ctx := ctxT(b)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		for i := range evs {
			evs[i].ID = uint64(n*batch + i)
		}
		if err := s.WriteEvents(ctx, evs, "tcp"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkApply writes batches of 100 new alerts, with 5 events each,
// on 20 incidents.
func BenchmarkApply(b *testing.B) {
	o := testOptions(b)
	o.Registerer = nil
	s := openTest(b, o)
	ctx := ctxT(b)
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		var batch ticketing.Batch
		for i := range 20 {
			seq := int64(n*20 + i + 1)
			batch.Incidents = append(batch.Incidents, ticketing.IncidentRecord{Incident: schemas.Incident{
				ID: ticketing.IncidentID(seq), Status: schemas.StatusOpen, RuleIDs: []string{"ssh-bf"},
				GroupKey: fmt.Sprint(seq), CreatedAt: t0, UpdatedAt: t0, FirstSeen: t0, LastSeen: t0, AlertCount: 5,
			}, Seq: seq})
			batch.Changes = append(batch.Changes, schemas.Change{IncidentID: ticketing.IncidentID(seq), Field: "status", New: "open", By: "rule:ssh-bf", At: t0})
		}
		for i := range 100 {
			a := sshAlert(fmt.Sprintf("a-%d-%d", n, i), "ssh-bf", "192.0.2.7", schemas.SeverityHigh, t0)
			a.Events = append(a.Events, a.Events...)
			a.Events = append(a.Events, a.Events[0])
			batch.Alerts = append(batch.Alerts, ticketing.AlertRecord{IncidentID: batch.Incidents[i%20].ID, Alert: &a})
		}
		if err := s.Apply(ctx, &batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "alerts/s")
}
