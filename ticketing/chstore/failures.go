package chstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tocsin-siem/tocsin/schemas"
	"github.com/tocsin-siem/tocsin/ticketing"
)

const failureCols = `day, written_ns, pos, source, address, reason, detail, raw, received_ns`

// trimEvery is how often AddParseFailures looks for days of failures to
// drop.
const trimEvery = time.Minute

// AddParseFailures stores fs in one write. Queries see only the newest
// FailureLimit failures; the days that lie wholly beyond them are dropped
// at most once a minute here, and by ApplyRetention. So the table holds
// at most FailureLimit rows plus the older part of one day's.
func (s *Store) AddParseFailures(ctx context.Context, fs []schemas.ParseFailure) error {
	if len(fs) == 0 {
		return nil
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	now := s.now().UTC()
	// Write times order the failures; they stay increasing when the
	// clock steps back.
	written := max(s.lastWritten+1, now.UnixNano())
	day := dayOf(now)
	err := s.insert(ctx, tFailures, failureCols, len(fs), func(bb driver.Batch) error {
		for i := range fs {
			f := &fs[i]
			if err := bb.Append(day, written, uint32(i), f.Source, f.Address, f.Reason, f.Detail,
				string(f.Raw), encNanos(f.Received)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.noteWrite(fmt.Errorf("cannot store %d parse failures: %w", len(fs), err))
	}
	s.lastWritten = written
	if now.Sub(s.lastTrim) >= trimEvery {
		s.lastTrim = now
		if dropped, err := s.trimFailures(ctx); err != nil {
			s.log.Warn().Err(err).Msg("cannot drop old days of parse failures; trying again later")
		} else if len(dropped) > 0 {
			s.log.Info().Strs("partitions", dropped).Msg("dropped days of parse failures beyond the limit")
		}
	}
	return s.noteWrite(nil)
}

// trimFailures drops the days of parse failures that hold none of the
// newest FailureLimit. Newest is by write order, not by day: a clock
// that stepped back puts new failures on an older day.
func (s *Store) trimFailures(ctx context.Context) ([]string, error) {
	var total uint64
	if err := s.conn.QueryRow(ctx, s.sql(`SELECT count() FROM {db}.parse_failures`)).Scan(&total); err != nil {
		return nil, fmt.Errorf("cannot count parse failures: %w", err)
	}
	if total <= uint64(s.failureLimit) {
		return nil, nil
	}
	var oldestKept int64
	if err := s.conn.QueryRow(ctx, s.sql(`SELECT min(written_ns) FROM (SELECT written_ns FROM {db}.parse_failures
		ORDER BY written_ns DESC LIMIT `+strconv.Itoa(s.failureLimit)+`)`)).Scan(&oldestKept); err != nil {
		return nil, fmt.Errorf("cannot find the oldest parse failure kept: %w", err)
	}
	var days []string
	err := s.collect(ctx, s.sql(`SELECT toString(toYYYYMMDD(day)) AS d FROM {db}.parse_failures
		GROUP BY d HAVING max(written_ns) < ? ORDER BY d`), []any{oldestKept}, func(rows driver.Rows) error {
		var d string
		if err := rows.Scan(&d); err != nil {
			return err
		}
		days = append(days, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot find days of old parse failures: %w", err)
	}
	var dropped []string
	for _, d := range days {
		if err := s.dropPartition(ctx, tFailures, d); err != nil {
			return dropped, err
		}
		dropped = append(dropped, tFailures+"/"+d)
	}
	return dropped, nil
}

// ParseFailures lists the newest FailureLimit parse failures that match
// q, newest first.
func (s *Store) ParseFailures(ctx context.Context, q ticketing.FailureQuery) (ticketing.FailurePage, error) {
	defer s.met.queried(qParseFailures, time.Now())
	page := ticketing.FailurePage{Failures: []schemas.ParseFailure{}, ByReason: map[string]int{}}
	kept := `(SELECT source, address, reason, detail, raw, received_ns, written_ns, pos FROM ` + s.db +
		`.parse_failures ORDER BY written_ns DESC, pos DESC LIMIT ` + strconv.Itoa(s.failureLimit) + `)`
	cond := " WHERE 1"
	var args []any
	if q.Source != "" {
		cond += " AND source = ?"
		args = append(args, q.Source)
	}
	err := s.collect(ctx, `SELECT reason, count() FROM `+kept+cond+` GROUP BY reason`, args, func(rows driver.Rows) error {
		var reason string
		var n uint64
		if err := rows.Scan(&reason, &n); err != nil {
			return err
		}
		page.ByReason[reason] = int(n)
		return nil
	})
	if err != nil {
		return page, fmt.Errorf("cannot count parse failures: %w", err)
	}
	if q.Reason != "" {
		cond += " AND reason = ?"
		args = append(args, q.Reason)
		page.Total = page.ByReason[q.Reason]
	} else {
		for _, n := range page.ByReason {
			page.Total += n
		}
	}
	err = s.collect(ctx, `SELECT source, address, reason, detail, raw, received_ns FROM `+kept+cond+
		` ORDER BY written_ns DESC, pos DESC`+limit(q.Page), args, func(rows driver.Rows) error {
		var f schemas.ParseFailure
		var raw string
		var rec int64
		if err := rows.Scan(&f.Source, &f.Address, &f.Reason, &f.Detail, &raw, &rec); err != nil {
			return err
		}
		f.Raw = []byte(raw)
		f.Received = decNanos(rec)
		page.Failures = append(page.Failures, f)
		return nil
	})
	if err != nil {
		return page, fmt.Errorf("cannot list parse failures: %w", err)
	}
	return page, nil
}
