package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/postgres"
	"github.com/custos-dev/custos/store/postgres/pgtest"
	"github.com/custos-dev/custos/store/storetest"
)

// envDSN names the environment variable holding the DSN of a PostgreSQL
// server the tests may create a database on.
const envDSN = "CUSTOS_TEST_POSTGRES"

// testDSN points at the fresh database created by TestMain for this run;
// empty when the tests are skipped.
var testDSN string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dsn := os.Getenv(envDSN)
	if dsn == "" {
		fmt.Fprintf(os.Stderr, "postgres_test: !!! %s is not set: every PostgreSQL test and benchmark is SKIPPED\n", envDSN)
		return m.Run() // every test skips, loudly
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		fmt.Fprintf(os.Stderr, "postgres_test: connect to %s: %v\n", envDSN, err)
		return 1
	}
	defer admin.Close(ctx)
	name := "custos_test_" + randomHex(8)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		fmt.Fprintf(os.Stderr, "postgres_test: create database: %v\n", err)
		return 1
	}
	defer func() {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "postgres_test: drop database %s: %v\n", name, err)
		}
	}()
	if testDSN, err = pgtest.WithParam(dsn, "dbname", name); err != nil {
		fmt.Fprintf(os.Stderr, "postgres_test: %v\n", err)
		return 1
	}
	return m.Run()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// freshSchema creates an empty schema in the test database and returns a
// DSN whose search_path is that schema: each store opened on it sees an
// empty database of its own.
func freshSchema(t testing.TB) string {
	t.Helper()
	if testDSN == "" {
		t.Skipf("!!! PostgreSQL tests SKIPPED: set %s to a DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable", envDSN)
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, testDSN)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close(ctx)
	schema := "s_" + randomHex(6)
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	dsn, err := pgtest.WithParam(testDSN, "search_path", schema)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// poolDSN adds pool settings to a schema DSN: many stores are open at once
// while the suite runs, so pools stay small.
func poolDSN(t testing.TB, dsn string) string {
	t.Helper()
	dsn, err := pgtest.WithParam(dsn, "pool_max_conns", "4")
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

func open(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), poolDSN(t, dsn))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, freshSchema(t)) })
}

// TestTwoCoordinators races two Stores (two pools, as two coordinator
// processes) for the same rows and the same audit chain. Both are opened at
// once, racing to migrate the same empty schema.
func TestTwoCoordinators(t *testing.T) {
	storetest.Concurrent(t, func(t *testing.T) []store.Store {
		dsn := poolDSN(t, freshSchema(t))
		ss := make([]store.Store, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range ss {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := postgres.Open(context.Background(), dsn)
				if err == nil {
					t.Cleanup(func() { s.Close() })
				}
				ss[i], errs[i] = s, err
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
		}
		return ss
	})
}

func TestMigrationsOnce(t *testing.T) {
	dsn := freshSchema(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
	}
	s := open(t, dsn) // reopen: nothing new to apply
	_ = s
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n, heads int
	if err := c.QueryRow(context.Background(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(context.Background(), "SELECT count(*) FROM audit_head").Scan(&heads); err != nil {
		t.Fatal(err)
	}
	if want := numMigrations(t); n != want || heads != 1 {
		t.Fatalf("schema_migrations has %d rows, audit_head %d; want %d and 1", n, heads, want)
	}
}

func TestMigrationsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper string
		want   string
	}{
		{"fail/newer_schema", "INSERT INTO schema_migrations VALUES (999, '0999_future.sql', 'x', 0)", "unknown to this binary"},
		{"fail/changed_migration", "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1", "checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := freshSchema(t)
			open(t, dsn).Close()
			c, err := pgx.Connect(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			if _, err := c.Exec(context.Background(), tc.tamper); err != nil {
				t.Fatal(err)
			}
			s, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestRetryOnDeadlock forces a deadlock between two transactions: the one
// PostgreSQL aborts (40P01) is run again and both end up committed.
func TestRetryOnDeadlock(t *testing.T) {
	s := open(t, freshSchema(t))
	ctx := context.Background()
	if err := s.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.PutSetting(ctx, "a", "0"); err != nil {
			return err
		}
		return tx.PutSetting(ctx, "b", "0")
	}); err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	ready := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	keys := [2][2]string{{"a", "b"}, {"b", "a"}}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			errs[i] = s.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
				attempts.Add(1)
				if err := tx.PutSetting(ctx, keys[i][0], fmt.Sprint(i)); err != nil {
					return err
				}
				if first { // lock one row each, then reach for the other's
					first = false
					close(ready[i])
					<-ready[1-i]
				}
				return tx.PutSetting(ctx, keys[i][1], fmt.Sprint(i))
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	if n := attempts.Load(); n != 3 {
		t.Fatalf("%d attempts, want 3 (one deadlock victim run again)", n)
	}
}

func TestNestedReadWriteTx(t *testing.T) {
	s := open(t, freshSchema(t))
	err := s.ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		return s.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error { return nil })
	})
	if !errors.Is(err, postgres.ErrNestedTx) {
		t.Fatalf("nested ReadWriteTx: %v, want ErrNestedTx", err)
	}
}

func TestReadOnlyIsEnforcedByTheDatabaseToo(t *testing.T) {
	s := open(t, freshSchema(t))
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := s.ReadTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		if err := tx.PutSetting(ctx, "k", "v"); !errors.Is(err, postgres.ErrReadOnly) {
			t.Fatalf("PutSetting in ReadTx: %v, want ErrReadOnly", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://u:s3cret-pw@127.0.0.1:5432/db?sslmode=bogus")
	if err == nil {
		t.Fatal("Open succeeded")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

// numMigrations counts the migration files the engine embeds.
func numMigrations(t testing.TB) int {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	return len(files)
}
