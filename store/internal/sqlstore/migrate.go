package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration is one versioned schema change, read from a file named
// NNNN_description.sql.
type Migration struct {
	Version  int64
	Name     string // file name
	SQL      string
	Checksum string // hex SHA-256 of SQL
}

// LoadMigrations reads the *.sql files of dir in fsys. Versions must be
// 1, 2, 3, ... without gaps or duplicates.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration file %q: name must be NNNN_description.sql", name)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %q: %w", name, err)
		}
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != int64(i+1) {
			return nil, fmt.Errorf("store: migration %q: expected version %d", m.Name, i+1)
		}
	}
	return ms, nil
}

// Migrate applies to c the migrations not yet recorded in the
// schema_migrations table, in order, and records them. c must be an open
// transaction that already holds whatever lock serializes migrators, so
// either every new migration is applied or none is. Migrate refuses a
// database that records a version it does not know (written by a newer
// binary) or an applied migration whose file has changed since. It returns
// the versions it applied.
func Migrate(ctx context.Context, c Conn, ms []Migration, now time.Time) ([]int64, error) {
	if _, err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY,
		name TEXT NOT NULL,
		checksum TEXT NOT NULL,
		applied_at_us BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	rows, err := c.Query(ctx, `SELECT version, name, checksum FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
	}
	applied := map[int64]string{}
	for rows.Next() {
		var v int64
		var name, sum string
		if err := rows.Scan(&v, &name, &sum); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
		}
		applied[v] = sum
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: migrate: read schema_migrations: %w", err)
	}
	known := map[int64]bool{}
	for _, m := range ms {
		known[m.Version] = true
		if sum, ok := applied[m.Version]; ok && sum != m.Checksum {
			return nil, fmt.Errorf("store: migrate: migration %q was applied with checksum %s, the file now has %s", m.Name, sum, m.Checksum)
		}
	}
	for v := range applied {
		if !known[v] {
			return nil, fmt.Errorf("store: migrate: the database has schema version %d, unknown to this binary (newest known: %d)", v, len(ms))
		}
	}
	var done []int64
	for _, m := range ms {
		if _, ok := applied[m.Version]; ok {
			continue
		}
		if _, err := c.Exec(ctx, m.SQL); err != nil {
			return nil, fmt.Errorf("store: migrate: apply %q: %w", m.Name, err)
		}
		if _, err := c.Exec(ctx, `INSERT INTO schema_migrations (version, name, checksum, applied_at_us) VALUES ($1, $2, $3, $4)`,
			m.Version, m.Name, m.Checksum, now.UnixMicro()); err != nil {
			return nil, fmt.Errorf("store: migrate: record %q: %w", m.Name, err)
		}
		done = append(done, m.Version)
	}
	return done, nil
}
