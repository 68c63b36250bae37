package chstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Retention says how much history to keep; zero keeps everything.
type Retention struct {
	// EventsDays keeps at least this many days of the event history.
	EventsDays int
	// AlertsDays keeps at least this many days of alerts and the events
	// behind them, by the day of an alert's first event. An alert older
	// than that is forgotten with its ID: delivered again, it would be
	// filed again.
	AlertsDays int
	// IncidentsMonths keeps at least this many months of incidents, their
	// history and comments, by the month an incident was created; a
	// month that holds an open or acknowledged incident is always kept.
	IncidentsMonths int
}

// partition is one partition of a table, as system.parts lists it.
type partition struct {
	id   string // "20240301" or "202403"
	key  int
	rows uint64
}

// partitions lists table's partitions that hold data, oldest first.
func (s *Store) partitions(ctx context.Context, table string) ([]partition, error) {
	var out []partition
	err := s.collect(ctx, `SELECT partition_id, sum(rows) FROM system.parts
		WHERE database = ? AND table = ? AND active GROUP BY partition_id`, []any{s.db, table},
		func(rows driver.Rows) error {
			var p partition
			if err := rows.Scan(&p.id, &p.rows); err != nil {
				return err
			}
			k, err := strconv.Atoi(p.id)
			if err != nil {
				return fmt.Errorf("unexpected partition %q of %s.%s", p.id, s.db, table)
			}
			p.key = k
			out = append(out, p)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("cannot list the partitions of %s.%s: %w", s.db, table, err)
	}
	slices.SortFunc(out, func(a, b partition) int { return a.key - b.key })
	return out, nil
}

// dropPartition drops one partition, named by its ID from system.parts.
func (s *Store) dropPartition(ctx context.Context, table, id string) error {
	if _, err := strconv.Atoi(id); err != nil {
		return fmt.Errorf("refusing to drop partition %q of %s: not a date", id, table)
	}
	if err := s.conn.Exec(ctx, "ALTER TABLE "+s.db+"."+table+" DROP PARTITION ID '"+id+"'"); err != nil {
		return fmt.Errorf("cannot drop partition %s of %s.%s: %w", id, s.db, table, err)
	}
	return nil
}

func dayKey(t time.Time) int {
	y, m, d := t.UTC().Date()
	return y*10000 + int(m)*100 + d
}

// monthsBack is the YYYYMM key of the month n months before t's.
func monthsBack(t time.Time, n int) int {
	y, m, _ := t.UTC().Date()
	idx := y*12 + int(m) - 1 - n
	return (idx/12)*100 + idx%12 + 1
}

// ApplyRetention drops the partitions older than r's limits, measured
// from now, and returns them as "table/partition". Dropping a partition
// is a metadata operation: no row is rewritten. It also drops the days
// of parse failures beyond the failure limit, and months of the batches
// table that no remaining row refers to.
func (s *Store) ApplyRetention(ctx context.Context, r Retention, now time.Time) (dropped []string, err error) {
	defer s.met.queried(qRetention, time.Now())
	if r.EventsDays < 0 || r.AlertsDays < 0 || r.IncidentsMonths < 0 {
		return nil, errors.New("cannot apply retention: limits may not be negative")
	}
	now = now.UTC()
	drop := func(table string, before int, keep map[int]bool) error {
		parts, err := s.partitions(ctx, table)
		if err != nil {
			return err
		}
		for _, p := range parts {
			if p.key >= before || keep[p.key] {
				continue
			}
			if err := s.dropPartition(ctx, table, p.id); err != nil {
				return err
			}
			dropped = append(dropped, table+"/"+p.id)
		}
		return nil
	}
	if r.EventsDays > 0 {
		if err := drop(tEvents, dayKey(now.AddDate(0, 0, -r.EventsDays)), nil); err != nil {
			return dropped, err
		}
	}
	if r.AlertsDays > 0 {
		before := dayKey(now.AddDate(0, 0, -r.AlertsDays))
		for _, t := range []string{tAlerts, tAlertEvents} {
			if err := drop(t, before, nil); err != nil {
				return dropped, err
			}
		}
	}
	if r.IncidentsMonths > 0 {
		if err := s.dropIncidents(ctx, monthsBack(now, r.IncidentsMonths), drop); err != nil {
			return dropped, err
		}
	}
	if r.AlertsDays > 0 || r.IncidentsMonths > 0 {
		more, err := s.dropBatches(ctx)
		dropped = append(dropped, more...)
		if err != nil {
			return dropped, err
		}
	}
	s.fmu.Lock()
	more, err := s.trimFailures(ctx)
	s.fmu.Unlock()
	dropped = append(dropped, more...)
	return dropped, err
}

// dropIncidents drops the months of incidents, history and comments
// before the given month that hold no active incident. It holds the
// write lock, so that this process cannot reopen an incident of a month
// while the month is dropped. Another process writing the same database
// is not held back: a reopen it writes between the check and the drop
// would be lost with the month. The Manager's incident sequence already
// asks for one writing process per database.
func (s *Store) dropIncidents(ctx context.Context, before int, drop func(string, int, map[int]bool) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	active, args := s.latestIncidents("1", 0)
	activeIDs := `(SELECT id FROM ` + active + ` WHERE status IN ('open', 'acknowledged'))`
	for _, t := range []struct{ table, idCol string }{
		{tIncidents, "id"}, {tHistory, "incident_id"}, {tComments, "incident_id"},
	} {
		keep := map[int]bool{}
		err := s.collect(ctx, `SELECT DISTINCT toYYYYMM(day) FROM `+s.db+`.`+t.table+` WHERE `+t.idCol+` IN `+activeIDs, args,
			func(rows driver.Rows) error {
				var m uint32
				if err := rows.Scan(&m); err != nil {
					return err
				}
				keep[int(m)] = true
				return nil
			})
		if err != nil {
			return fmt.Errorf("cannot find the months of active incidents in %s: %w", t.table, err)
		}
		if err := drop(t.table, before, keep); err != nil {
			return err
		}
	}
	return nil
}

// dropBatches drops months of the batches table, but the newest, that no
// row of a ticket table refers to any longer. A row whose batch is gone
// would vanish from every read, so a month stays while one refers to it.
func (s *Store) dropBatches(ctx context.Context) ([]string, error) {
	parts, err := s.partitions(ctx, tBatches)
	if err != nil || len(parts) < 2 {
		return nil, err
	}
	var dropped []string
	for _, p := range parts[:len(parts)-1] {
		used := false
		for _, t := range []string{tIncidents, tAlerts, tAlertEvents, tHistory, tComments} {
			var n uint64
			if err := s.conn.QueryRow(ctx, `SELECT count() FROM `+s.db+`.`+t+` WHERE batch IN (SELECT batch FROM `+
				s.db+`.batches WHERE toYYYYMM(at) = ?)`, uint32(p.key)).Scan(&n); err != nil {
				return dropped, fmt.Errorf("cannot check the use of batches of %s: %w", p.id, err)
			}
			if n > 0 {
				used = true
				break
			}
		}
		if used {
			continue
		}
		if err := s.dropPartition(ctx, tBatches, p.id); err != nil {
			return dropped, err
		}
		dropped = append(dropped, tBatches+"/"+p.id)
	}
	return dropped, nil
}
