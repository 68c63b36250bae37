package sqlite

import (
	"github.com/tocsin-siem/tocsin/internal/shareddata"

	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
	"github.com/tocsin-siem/tocsin/ticketing/storetest"
)

func open(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Dir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func incident(seq int64, rule, group string) ticketing.IncidentRecord {
	at := time.Date(2024, 3, 1, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	return ticketing.IncidentRecord{
		Incident: schemas.Incident{
			ID: ticketing.IncidentID(seq), Title: "t", Severity: schemas.SeverityHigh,
			Status: schemas.StatusOpen, RuleIDs: []string{rule}, GroupKey: group,
			Entities:  []schemas.Entity{{Type: "ip", Field: "source.ip", Value: group}},
			FirstSeen: at, LastSeen: at.Add(time.Minute), AlertCount: 1,
			CreatedAt: at, UpdatedAt: at,
		},
		Seq:       seq,
		QuietFrom: at.Add(time.Minute),
	}
}

func event(id uint64, original string) schemas.Event {
	var e schemas.Event
	e.ID = id
	e.Timestamp = time.Date(2024, 3, 1, 10, 0, 0, 5, time.UTC)
	e.Event.Original = original
	e.Event.Count = 1
	e.Source.IP = "1.2.3.4"
	e.Message = "msg"
	return e
}

func TestOpenMigratesAndLocks(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	var v int
	require.NoError(t, s.w.QueryRow("PRAGMA user_version").Scan(&v))
	require.Equal(t, len(migrations), v)
	var mode string
	require.NoError(t, s.w.QueryRow("PRAGMA journal_mode").Scan(&mode))
	require.Equal(t, "wal", mode)
	require.FileExists(t, filepath.Join(dir, FileName))

	_, err := Open(context.Background(), Options{Dir: dir})
	require.ErrorContains(t, err, "another tocsin process uses this data directory")

	// A database from a newer tocsin is refused, not half-migrated.
	_, err = s.w.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = Open(context.Background(), Options{Dir: dir})
	require.ErrorContains(t, err, "is newer than this tocsin knows")
}

func TestOpenRejectsBadOptions(t *testing.T) {
	_, err := Open(context.Background(), Options{})
	require.ErrorContains(t, err, "no directory given")
	_, err = Open(context.Background(), Options{Dir: t.TempDir(), MaxParseFailures: -1})
	require.ErrorContains(t, err, "may not be negative")
	_, err = Open(context.Background(), Options{Dir: filepath.Join(t.TempDir(), "a?b")})
	require.ErrorContains(t, err, "may not hold")
}

// TestIndexedColumns checks what the shared suite cannot see: the
// columns that SQLite indexes hold the event's id bits, time and line.
func TestIndexedColumns(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	r := incident(1, "r", "g")
	odd := "Mar  1 10:00:00 h sshd[1]: user \xff\xfe\x00 end"
	a := schemas.Alert{ID: "a1", RuleID: "r", Events: []schemas.Event{event(1<<63|5, odd)}}
	require.NoError(t, s.Apply(ctx, &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r},
		Alerts: []ticketing.AlertRecord{{IncidentID: r.ID, Alert: &a}}}))
	var id int64
	var ts, orig string
	require.NoError(t, s.r.QueryRow(`SELECT id, timestamp, original FROM events WHERE alert_id = 'a1' AND pos = 0`).Scan(&id, &ts, &orig))
	require.Equal(t, uint64(1<<63|5), uint64(id))
	require.Equal(t, "2024-03-01T10:00:00.000000005Z", ts)
	require.Equal(t, odd, orig)
}

// sharedData returns the path of rel in the shared data set beside the
// repository, or skips the test.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	return shareddata.Path(t, rel)
}

// TestRealLinesRoundTrip stores the 2,000 lines of the Loghub OpenSSH
// sample as events and reads them back byte for byte.
func TestRealLinesRoundTrip(t *testing.T) {
	path := sharedData(t, "loghub/OpenSSH/OpenSSH_2k.log")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, sc.Err())
	require.Len(t, lines, 2000)

	s := open(t, t.TempDir())
	ctx := context.Background()
	r := incident(1, "r", "g")
	a := schemas.Alert{ID: "a1", RuleID: "r"}
	for i, l := range lines {
		a.Events = append(a.Events, event(uint64(i), l))
	}
	require.NoError(t, s.Apply(ctx, &ticketing.Batch{Incidents: []ticketing.IncidentRecord{r},
		Alerts: []ticketing.AlertRecord{{IncidentID: r.ID, Alert: &a}}}))
	got, total, err := s.Events(ctx, "a1", ticketing.Page{})
	require.NoError(t, err)
	require.Equal(t, 2000, total)
	for i := range lines {
		require.Equal(t, lines[i], got[i].Event.Original, "line %d", i+1)
	}
}

func TestParseFailureRetention(t *testing.T) {
	s, err := Open(context.Background(), Options{Dir: t.TempDir(), MaxParseFailures: 100})
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	for b := range 5 {
		var fs []schemas.ParseFailure
		for i := range 70 {
			fs = append(fs, schemas.ParseFailure{Source: "udp", Reason: "no_header", Raw: fmt.Appendf(nil, "%d", b*70+i)})
		}
		require.NoError(t, s.AddParseFailures(ctx, fs))
	}
	p, err := s.ParseFailures(ctx, ticketing.FailureQuery{Page: ticketing.Page{Limit: 1000}})
	require.NoError(t, err)
	require.Equal(t, 100, p.Total)
	require.Equal(t, "349", string(p.Failures[0].Raw))
	require.Equal(t, "250", string(p.Failures[99].Raw))
}

func TestTimeEncoding(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2262, 4, 12, 0, 0, 0, 0, time.UTC), // past int64 nanoseconds
		time.Date(9999, 12, 31, 21, 59, 59, 999999999, time.FixedZone("X", -7200)),
	} {
		v := encTime(tm)
		got, err := decTime(sql.NullString{String: v.(string), Valid: true})
		require.NoError(t, err)
		require.True(t, tm.Equal(got), "%s -> %v -> %s", tm, v, got)
	}
	require.Equal(t, "9999-12-31T23:59:59.999999999Z", encTime(time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)))
	require.Equal(t, "0000-01-01T00:00:00.000000000Z", encTime(time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC)))
	require.Nil(t, encTime(time.Time{}))
	got, err := decTime(sql.NullString{})
	require.NoError(t, err)
	require.True(t, got.IsZero())
	_, err = decTime(sql.NullString{String: "yesterday", Valid: true})
	require.ErrorContains(t, err, "bad stored time")
}

func TestPingReportsAFailedWrite(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	require.NoError(t, s.Ping(ctx))
	require.NoError(t, s.w.Close()) // the writer goes away, as with a disk that turned read-only
	err := s.AddParseFailures(ctx, []schemas.ParseFailure{{Source: "udp", Reason: "no_header", Raw: []byte("x")}})
	require.Error(t, err)
	require.ErrorContains(t, s.Ping(ctx), "the latest write to the ticketing store failed")
}

// TestConformance runs the shared store suite; a second open for the same
// test reopens its directory.
func TestConformance(t *testing.T) {
	var dirs sync.Map // *testing.T -> directory
	storetest.Run(t, func(t *testing.T) ticketing.Store {
		d, ok := dirs.Load(t)
		if !ok {
			d, _ = dirs.LoadOrStore(t, t.TempDir())
		}
		return open(t, d.(string))
	})
}
