package chstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// migrationName is how a migration is reported: "0001_ticket_tables".
func migrationName(m migration) string { return fmt.Sprintf("%04d_%s", m.version, m.name) }

// migrate creates db when missing and applies every migration it has not
// had, in order, recording each after its statements succeeded. A
// database that had a migration this binary does not know is refused.
func migrate(ctx context.Context, conn driver.Conn, db string, now func() time.Time, server string) ([]string, error) {
	sql := func(q string) string { return strings.ReplaceAll(q, "{db}", db) }
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return nil, fmt.Errorf("cannot create database %s (the user needs the CREATE DATABASE grant, "+
			"or an administrator creates it beforehand): %w", db, err)
	}
	if err := conn.Exec(ctx, sql(migrationsTable)); err != nil {
		return nil, fmt.Errorf("cannot create %s.schema_migrations: %w", db, err)
	}
	done := map[int]bool{}
	rows, err := conn.Query(ctx, sql(`SELECT DISTINCT version FROM {db}.schema_migrations`))
	if err != nil {
		return nil, fmt.Errorf("cannot read the applied migrations: %w", err)
	}
	highest := 0
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cannot read the applied migrations: %w", err)
		}
		done[int(v)] = true
		highest = max(highest, int(v))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read the applied migrations: %w", err)
	}
	if highest > len(migrations) {
		return nil, fmt.Errorf("database %s has schema version %d, newer than this tocsin knows (%d): "+
			"run a newer tocsin, or point it at another database", db, highest, len(migrations))
	}
	var applied []string
	for _, m := range migrations {
		if done[m.version] {
			continue
		}
		for _, c := range m.columns {
			if err := addColumn(ctx, conn, db, c); err != nil {
				return applied, fmt.Errorf("migration %s failed on ClickHouse %s: %w", migrationName(m), server, err)
			}
		}
		for i, stmt := range m.stmts {
			if err := conn.Exec(ctx, sql(stmt)); err != nil {
				return applied, fmt.Errorf("migration %s, statement %d, failed on ClickHouse %s: %w; "+
					"tocsin's schema is written for ClickHouse 18.16 and newer: if this release rejects it, report it with this message",
					migrationName(m), i+1, server, err)
			}
		}
		err := insertMigration(ctx, conn, db, m, now().UTC())
		if err != nil {
			return applied, fmt.Errorf("cannot record migration %s: %w", migrationName(m), err)
		}
		applied = append(applied, migrationName(m))
	}
	return applied, nil
}

func insertMigration(ctx context.Context, conn driver.Conn, db string, m migration, at time.Time) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".schema_migrations (version, name, applied_at)")
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.Append(uint32(m.version), m.name, clampDateTime(at)); err != nil {
		return err
	}
	return b.Send()
}

// addColumn adds c to its table unless the table has it already: ALTER
// TABLE ... ADD COLUMN IF NOT EXISTS is not in ClickHouse 18.16, and a
// migration must be safe to run twice.
func addColumn(ctx context.Context, conn driver.Conn, db string, c column) error {
	var n uint64
	if err := conn.QueryRow(ctx, `SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?`,
		db, c.table, c.name).Scan(&n); err != nil {
		return fmt.Errorf("cannot read the columns of %s.%s: %w", db, c.table, err)
	}
	if n > 0 {
		return nil
	}
	stmt := "ALTER TABLE " + db + "." + c.table + " ADD COLUMN `" + c.name + "` " + c.typ
	if err := conn.Exec(ctx, stmt); err != nil {
		// Another process may have added it meanwhile.
		if err2 := conn.QueryRow(ctx, `SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?`,
			db, c.table, c.name).Scan(&n); err2 == nil && n > 0 {
			return nil
		}
		return fmt.Errorf("cannot add column %s to %s.%s: %w", c.name, db, c.table, err)
	}
	return nil
}
