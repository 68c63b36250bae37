package chstore

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tocsin-siem/tocsin/internal/testch"
)

func appliedVersions(t *testing.T, s *Store) []uint32 {
	t.Helper()
	var vs []uint32
	rows, err := s.conn.Query(ctxT(t), "SELECT DISTINCT version FROM "+s.db+".schema_migrations ORDER BY version")
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var v uint32
		require.NoError(t, rows.Scan(&v))
		vs = append(vs, v)
	}
	require.NoError(t, rows.Err())
	return vs
}

func TestMigrateIsIdempotent(t *testing.T) {
	o := testOptions(t)
	o.Registerer = nil
	// The database need not exist: Migrate creates it.
	o.Database += "_new"
	t.Cleanup(func() { _ = testch.Conn(t).Exec(context.Background(), "DROP DATABASE IF EXISTS "+o.Database) })
	applied, err := Migrate(ctxT(t), o)
	require.NoError(t, err)
	require.Equal(t, []string{"0001_ticket_tables", "0002_parse_failures", "0003_event_history", "0004_event_fields"}, applied)
	applied, err = Migrate(ctxT(t), o)
	require.NoError(t, err)
	require.Empty(t, applied)

	s := openTest(t, o)
	require.Equal(t, []uint32{1, 2, 3, 4}, appliedVersions(t, s))
	var tables []string
	rows, err := s.conn.Query(ctxT(t), "SELECT name FROM system.tables WHERE database = ? ORDER BY name", o.Database)
	require.NoError(t, err)
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	rows.Close()
	require.Equal(t, []string{"aborted_batches", "alert_events", "alerts", "batches", "comments", "events",
		"incident_history", "incidents", "parse_failures", "schema_migrations"}, tables)
}

// TestMigrateConcurrently starts four processes' worth of Open on one
// new database at once.
func TestMigrateConcurrently(t *testing.T) {
	o := testOptions(t)
	o.Registerer = nil
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(ctxT(t), o)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	s := openTest(t, o)
	require.Equal(t, []uint32{1, 2, 3, 4}, appliedVersions(t, s))
}

func TestNewerSchemaIsRefused(t *testing.T) {
	o := testOptions(t)
	o.Registerer = nil
	s := openTest(t, o)
	b, err := s.conn.PrepareBatch(ctxT(t), "INSERT INTO "+s.db+".schema_migrations (version, name, applied_at)")
	require.NoError(t, err)
	require.NoError(t, b.Append(uint32(len(migrations)+1), "from_the_future", time.Now()))
	require.NoError(t, b.Send())
	_, err = Open(ctxT(t), o)
	require.ErrorContains(t, err, "has schema version 5, newer than this tocsin knows (4)")
	_, err = Migrate(ctxT(t), o)
	require.ErrorContains(t, err, "run a newer tocsin")
}

func TestOpenErrors(t *testing.T) {
	ctx := ctxT(t)
	_, err := Open(ctx, Options{})
	require.ErrorContains(t, err, "no ClickHouse address given")
	_, err = Open(ctx, Options{Addr: []string{"127.0.0.1:9000"}, Database: "a-b"})
	require.ErrorContains(t, err, "use letters, digits and underscores")
	_, err = Open(ctx, Options{Addr: []string{"127.0.0.1:9000"}, FailureLimit: -1})
	require.ErrorContains(t, err, "may not be negative")

	// A port where nothing listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = Open(ctx, Options{Addr: []string{addr}, DialTimeout: time.Second})
	require.ErrorContains(t, err, "cannot connect to ClickHouse at "+addr)
	require.ErrorContains(t, err, "not the HTTP port 8123")

	// A wrong password.
	_, err = Open(ctx, Options{Addr: []string{testch.Addr(t)}, Username: "default", Password: "wrong", Database: "x"})
	require.ErrorContains(t, err, "cannot connect to ClickHouse")
}

func TestReleaseIsChecked(t *testing.T) {
	s := openTest(t, testOptions(t))
	require.Regexp(t, `^\d+\.\d+\.\d+$`, s.ServerVersion())
	require.NoError(t, release{18, 16, 1}.supported())
	require.NoError(t, release{25, 8, 2}.supported())
	require.ErrorContains(t, release{18, 14, 19}.supported(), "release 18.14.19 is too old: tocsin needs 18.16 or newer")
	require.Error(t, release{1, 1, 54394}.supported())
}
