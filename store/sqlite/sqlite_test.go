package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/sqlite"
	"github.com/custos-dev/custos/store/storetest"
)

func openTemp(t testing.TB, opts ...sqlite.Option) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "custos.db")
	s, err := sqlite.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTemp(t)
		return s
	})
}

func TestMemory(t *testing.T) {
	s, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		return tx.PutSetting(ctx, "k", "v")
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReadTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		if v, err := tx.GetSetting(ctx, "k"); err != nil || v != "v" {
			t.Fatalf("GetSetting = %q, %v", v, err)
		}
		if err := tx.PutSetting(ctx, "k", "w"); !errors.Is(err, sqlite.ErrReadOnly) {
			t.Fatalf("PutSetting in ReadTx: %v, want ErrReadOnly", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestReopenAppliesNothingNew(t *testing.T) {
	s, path := openTemp(t)
	if err := s.ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		return tx.PutSetting(ctx, "k", "kept")
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if err := s2.ReadTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		v, err := tx.GetSetting(ctx, "k")
		if err != nil || v != "kept" {
			t.Fatalf("GetSetting after reopen = %q, %v", v, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestFileMode(t *testing.T) {
	_, path := openTemp(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Fatalf("database file mode %o, want 600", m)
	}
}

func TestNestedReadWriteTx(t *testing.T) {
	s, _ := openTemp(t)
	err := s.ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		return s.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error { return nil })
	})
	if !errors.Is(err, sqlite.ErrNestedTx) {
		t.Fatalf("nested ReadWriteTx: %v, want ErrNestedTx", err)
	}
}

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		name string
		path string
		opts []sqlite.Option
		want string
	}{
		{"fail/empty_path", "", nil, "invalid database path"},
		{"fail/question_mark", filepath.Join(t.TempDir(), "a?b"), nil, "invalid database path"},
		{"fail/no_readers", filepath.Join(t.TempDir(), "x.db"), []sqlite.Option{sqlite.WithMaxReaders(0)}, "need at least 1"},
		{"fail/missing_directory", filepath.Join(t.TempDir(), "no", "such", "dir.db"), nil, "no such file"},
		{"fail/not_a_database", writeFile(t, "garbage.db", strings.Repeat("not a database ", 512)), nil, "not a database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlite.Open(context.Background(), tc.path, tc.opts...)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "sqlite: ") {
				t.Fatalf("Open: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("ok/options", func(t *testing.T) {
		s, _ := openTemp(t, sqlite.WithSynchronousNormal(), sqlite.WithMaxReaders(1), sqlite.WithBusyTimeout(0))
		if err := s.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func writeFile(t *testing.T, name, content string) string {
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMigrations(t *testing.T) {
	count := func(t *testing.T, path string) int {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Run("ok/reopen_applies_nothing", func(t *testing.T) {
		s, path := openTemp(t)
		s.Close()
		s2, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		s2.Close()
		if n, want := count(t, path), numMigrations(t); n != want {
			t.Fatalf("schema_migrations has %d rows, want %d", n, want)
		}
	})
	for _, tc := range []struct {
		name   string
		tamper string
		want   string
	}{
		{"fail/newer_schema", "INSERT INTO schema_migrations VALUES (999, '0999_future.sql', 'x', 0)", "unknown to this binary"},
		{"fail/changed_migration", "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1", "checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, path := openTemp(t)
			s.Close()
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(tc.tamper); err != nil {
				t.Fatal(err)
			}
			db.Close()
			s, err = sqlite.Open(context.Background(), path)
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

// numMigrations counts the migration files the engine embeds.
func numMigrations(t testing.TB) int {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	return len(files)
}
