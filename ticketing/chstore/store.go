package chstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/tocsin-siem/tocsin/ticketing"
)

// Oldest server release whose SQL the schema and queries were checked on.
const (
	minMajor = 18
	minMinor = 16
)

// Store is a ticketing.Store in ClickHouse, plus the event history
// (WriteEvents) and partition retention (ApplyRetention). Its methods are
// safe for concurrent use; Apply calls are serialised.
type Store struct {
	conn         driver.Conn
	db           string
	log          zerolog.Logger
	met          *metrics
	now          func() time.Time
	failureLimit int
	version      string
	// eventSettings are the insert settings that the server's release
	// needs for the events table; see Open.
	eventSettings clickhouse.Settings

	// wmu serialises Apply; the fields below it belong to it.
	wmu         sync.Mutex
	lastVersion uint64
	lastSeq     int64

	// aborted holds batches that must stay invisible but are not yet
	// recorded in aborted_batches; readers exclude them too.
	amu     sync.Mutex
	aborted []uint64

	// fmu serialises AddParseFailures.
	fmu         sync.Mutex
	lastWritten int64
	lastTrim    time.Time

	// writeErr holds the error of the latest failed write until a write
	// succeeds, so that the health check reports a store that stopped
	// taking writes.
	writeErr atomic.Pointer[error]
	closed   atomic.Bool

	// fault, set only by tests, is called at named points of a write
	// and fails the write there when it returns an error: "insert:T"
	// before an INSERT into table T, "sent:T" after it succeeded (the
	// reply lost on the way), "verify" before the check of a commit that
	// reported an error.
	fault func(point string) error
}

var _ ticketing.Store = (*Store)(nil)

// Open connects to ClickHouse, creates the database when missing,
// applies pending schema migrations and returns the store. It fails when
// the server cannot be reached, is older than 18.16, or refuses a
// migration.
//
// One process at a time should file incidents into a database: the
// Manager keeps the incident sequence in memory. Apply itself stays
// all-or-nothing for readers when several processes write.
func Open(ctx context.Context, opts Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("cannot open ClickHouse store: %w", err)
	}
	conn, ver, err := connect(ctx, o)
	if err != nil {
		return nil, err
	}
	s := &Store{
		conn:         conn,
		db:           o.Database,
		log:          o.Logger.With().Str("component", "chstore").Str("database", o.Database).Logger(),
		met:          newMetrics(),
		now:          o.Now,
		failureLimit: o.FailureLimit,
		version:      ver.String(),
	}
	if ver.major >= 20 {
		// Current releases refuse an INSERT block that spans more than
		// 100 partitions by default; a replay of old logs can put one
		// call's events on more days than that. 18.16 has no such limit
		// and does not know the setting.
		s.eventSettings = clickhouse.Settings{"max_partitions_per_insert_block": 0}
	}
	applied, err := migrate(ctx, conn, o.Database, o.Now, s.version)
	if err == nil {
		err = s.load(ctx)
	}
	if err == nil {
		err = s.met.register(o.Registerer)
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("cannot open ClickHouse store %s on %s: %w", o.Database, strings.Join(o.Addr, ","), err)
	}
	for _, m := range applied {
		s.log.Info().Str("migration", m).Msg("applied schema migration")
	}
	return s, nil
}

// Migrate connects, creates the database when missing and applies the
// pending migrations, returning their names ("0001_ticket_tables"). It is
// what `tocsin migrate` runs; Open does the same.
func Migrate(ctx context.Context, opts Options) (applied []string, err error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("cannot migrate ClickHouse: %w", err)
	}
	conn, ver, err := connect(ctx, o)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	applied, err = migrate(ctx, conn, o.Database, o.Now, ver.String())
	if err != nil {
		return applied, fmt.Errorf("cannot migrate ClickHouse database %s on %s: %w", o.Database, strings.Join(o.Addr, ","), err)
	}
	return applied, nil
}

// release is a server's version number.
type release struct{ major, minor, patch uint64 }

func (r release) String() string { return fmt.Sprintf("%d.%d.%d", r.major, r.minor, r.patch) }

// supported fails for releases older than the schema was checked on.
func (r release) supported() error {
	if r.major < minMajor || (r.major == minMajor && r.minor < minMinor) {
		return fmt.Errorf("release %s is too old: tocsin needs %d.%d or newer; upgrade the server", r, minMajor, minMinor)
	}
	return nil
}

// connect opens the connection pool, checks that a server answers and
// that its release is recent enough.
func connect(ctx context.Context, o Options) (driver.Conn, release, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr: o.Addr,
		// No database: tocsin's may not exist yet, and every statement
		// names it.
		Auth:            clickhouse.Auth{Username: o.Username, Password: o.Password},
		TLS:             o.TLS,
		DialTimeout:     o.DialTimeout,
		MaxOpenConns:    8,
		MaxIdleConns:    4,
		ConnMaxLifetime: time.Hour,
		Compression:     &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
	})
	if err != nil {
		return nil, release{}, fmt.Errorf("cannot set up the ClickHouse client: %w", err)
	}
	where := strings.Join(o.Addr, ",")
	pctx, cancel := context.WithTimeout(ctx, o.DialTimeout+5*time.Second)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		_ = conn.Close()
		return nil, release{}, fmt.Errorf("cannot connect to ClickHouse at %s: %w; check the DSN's host, port, user and password, "+
			"and that the port is the native one (9000, or 9440 with secure=true), not the HTTP port 8123", where, err)
	}
	ver, err := conn.ServerVersion()
	if err != nil {
		_ = conn.Close()
		return nil, release{}, fmt.Errorf("cannot read the version of ClickHouse at %s: %w", where, err)
	}
	v := release{ver.Version.Major, ver.Version.Minor, ver.Version.Patch}
	if err := v.supported(); err != nil {
		_ = conn.Close()
		return nil, v, fmt.Errorf("ClickHouse at %s: %w", where, err)
	}
	return conn, v, nil
}

// load reads what the writer carries between batches: the highest
// version and incident sequence committed, and when parse failures were
// last written.
func (s *Store) load(ctx context.Context) error {
	if err := s.conn.QueryRow(ctx, s.sql(`SELECT max(version), max(max_seq) FROM {db}.batches`)).
		Scan(&s.lastVersion, &s.lastSeq); err != nil {
		return fmt.Errorf("cannot read the latest batch: %w", err)
	}
	if err := s.conn.QueryRow(ctx, s.sql(`SELECT max(written_ns) FROM {db}.parse_failures`)).
		Scan(&s.lastWritten); err != nil {
		return fmt.Errorf("cannot read the latest parse failure: %w", err)
	}
	return nil
}

// sql puts the database name into q.
func (s *Store) sql(q string) string { return strings.ReplaceAll(q, "{db}", s.db) }

// Database is the name of the store's database.
func (s *Store) Database() string { return s.db }

// ServerVersion is the release of the server the store connected to.
func (s *Store) ServerVersion() string { return s.version }

// insert writes one block of rows to table through PrepareBatch; fill
// appends the rows in the order of cols.
func (s *Store) insert(ctx context.Context, table, cols string, rows int, fill func(driver.Batch) error) error {
	start := time.Now()
	err := s.insertBlock(ctx, table, cols, fill)
	s.met.wrote(table, rows, start, err)
	if err != nil {
		return fmt.Errorf("cannot write %d rows to %s.%s: %w", rows, s.db, table, err)
	}
	return nil
}

func (s *Store) insertBlock(ctx context.Context, table, cols string, fill func(driver.Batch) error) error {
	if err := s.injected("insert:" + table); err != nil {
		return err
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+"."+table+" ("+cols+")")
	if err != nil {
		return err
	}
	defer b.Close()
	if err := fill(b); err != nil {
		_ = b.Abort()
		return err
	}
	if err := b.Send(); err != nil {
		return err
	}
	return s.injected("sent:" + table)
}

// injected returns the error a test injects at point, if any.
func (s *Store) injected(point string) error {
	if s.fault == nil {
		return nil
	}
	return s.fault(point)
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

// Ping checks that the server answers and that the latest write did not
// fail.
func (s *Store) Ping(ctx context.Context) error {
	defer s.met.queried(qPing, time.Now())
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("cannot reach ClickHouse: %w", err)
	}
	if err := s.writeErr.Load(); err != nil {
		return fmt.Errorf("the latest write to ClickHouse failed: %w", *err)
	}
	return nil
}

// Close closes the connections. It does not unregister the metrics.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.conn.Close()
}
