// Package sqlite is the embedded ticketing store: one SQLite database file
// in WAL mode, written by one connection and read by a small pool, on the
// pure-Go modernc.org/sqlite driver.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tocsin-siem/tocsin/ticketing"
)

// FileName is the database file's name inside Options.Dir.
const FileName = "tocsin.db"

// DefaultMaxParseFailures is how many parse failures are kept when
// Options.MaxParseFailures is zero.
const DefaultMaxParseFailures = 100_000

// Options configures Open.
type Options struct {
	// Dir holds the database; it is created (mode 0750) when missing.
	// Required.
	Dir string
	// MaxParseFailures is how many parse failures are kept; older ones
	// are deleted as new ones arrive. Default 100000.
	MaxParseFailures int
	// ReadConns bounds the connections serving queries. Default 4.
	ReadConns int
}

// Store is a ticketing.Store in a SQLite file.
//
// Only parse failures have a retention bound. Incidents, alerts, events
// and history are kept for ever, so the file grows with the alert rate
// (each alert stores up to the engine's evidence limit of events); an
// operator has to archive or delete old resolved incidents by hand until
// a retention setting for them exists.
type Store struct {
	w, r        *sql.DB
	lock        *os.File
	maxFailures int
	path        string
	// writeErr holds the error of the latest failed write until a write
	// succeeds, so that the health check reports a store that stopped
	// taking writes.
	writeErr atomic.Pointer[error]
}

var _ ticketing.Store = (*Store)(nil)

// Open opens or creates the database in opts.Dir, applies pending schema
// migrations and takes a lock file so that a second process cannot
// write the same database.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("cannot open ticketing store: no directory given")
	}
	if opts.MaxParseFailures < 0 || opts.ReadConns < 0 {
		return nil, errors.New("cannot open ticketing store: max parse failures and read connections may not be negative")
	}
	if opts.MaxParseFailures == 0 {
		opts.MaxParseFailures = DefaultMaxParseFailures
	}
	if opts.ReadConns == 0 {
		opts.ReadConns = 4
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("cannot open ticketing store in %s: %w", opts.Dir, err)
	}
	if strings.ContainsAny(dir, "?#") {
		return nil, fmt.Errorf("cannot open ticketing store in %s: the path may not hold '?' or '#'", dir)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create ticketing store directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{lock: lock, maxFailures: opts.MaxParseFailures, path: filepath.Join(dir, FileName)}
	if err := s.open(ctx, opts.ReadConns); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("cannot open ticketing store %s: %w", s.path, err)
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, readConns int) error {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", s.path+"?"+q.Encode())
	if err != nil {
		return err
	}
	s.w = w
	// One writer: SQLite serialises writers anyway, and one connection
	// keeps Go from queueing transactions on SQLITE_BUSY.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		return err
	}
	if err := migrate(ctx, w); err != nil {
		return err
	}
	if err := probeWrite(ctx, w); err != nil {
		return fmt.Errorf("cannot write to the database (check the file's and the folder's permissions): %w", err)
	}

	q.Del("_txlock")
	q.Del("_journal_mode")
	q.Set("_query_only", "1")
	r, err := sql.Open("sqlite", s.path+"?"+q.Encode())
	if err != nil {
		return err
	}
	s.r = r
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	return r.PingContext(ctx)
}

// probeWrite fails when the database opens but refuses writes (a
// read-only file or file system), which would otherwise go unnoticed until
// the first incident is lost.
func probeWrite(ctx context.Context, w *sql.DB) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS write_probe (at TEXT)",
		"INSERT INTO write_probe (at) VALUES (datetime('now'))",
		"DELETE FROM write_probe",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// noteWrite records the outcome of a write for Ping.
func (s *Store) noteWrite(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err // the caller gave up; the store may be fine
	}
	if err != nil {
		s.writeErr.Store(&err)
	} else {
		s.writeErr.Store(nil)
	}
	return err
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("cannot query ticketing store: %w", err)
	}
	if err := s.writeErr.Load(); err != nil {
		return fmt.Errorf("the latest write to the ticketing store failed: %w", *err)
	}
	return nil
}

// Close closes the database and releases the lock.
func (s *Store) Close() error {
	var errs []error
	for _, db := range []*sql.DB{s.r, s.w} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	if s.lock != nil {
		errs = append(errs, unlockDir(s.lock))
	}
	return errors.Join(errs...)
}
