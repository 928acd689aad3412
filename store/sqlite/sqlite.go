// Package sqlite is the embedded Custos store engine: a single database file
// through modernc.org/sqlite (pure Go, no cgo), so the whole system runs with
// nothing to install.
//
// Guarantees, on top of the store package's:
//   - WAL journal, foreign keys on, synchronous=FULL by default: a
//     transaction that ReadWriteTx reported committed survives a process
//     crash and a power loss (the WAL is synced on every commit).
//     WithSynchronousNormal trades the power-loss part for latency.
//   - One writer connection, and write transactions begin with BEGIN
//     IMMEDIATE: read-write transactions run one at a time, in full
//     (serializable) isolation, and never fail with a lock upgrade error
//     halfway through. ReadWriteTx therefore never retries f.
//   - ReadTx runs on a separate pool of read-only connections (PRAGMA
//     query_only) and sees a consistent snapshot; readers never block the
//     writer nor each other.
//   - Migrations (migrations/NNNN_*.sql, embedded) are applied by Open in
//     one transaction and recorded in schema_migrations; Open refuses a
//     database written by a newer binary or whose applied migrations differ
//     from the embedded files.
//   - A new database file is created with mode 0600: it holds sealed seeds
//     and password hashes.
//
// It refuses a nested ReadWriteTx (called with the context of an enclosing
// one), which would otherwise wait forever for the single writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrReadOnly is returned (wrapped) by write methods called in ReadTx.
var ErrReadOnly = sqlstore.ErrReadOnly

// ErrNestedTx is returned by ReadWriteTx when called with the context of an
// enclosing ReadWriteTx of the same Store.
var ErrNestedTx = errors.New("sqlite: nested ReadWriteTx")

// Option configures Open.
type Option func(*options)

type options struct {
	busyTimeout time.Duration
	synchronous string
	readers     int
	now         func() time.Time
}

// WithBusyTimeout sets how long a statement waits for a lock held by another
// process on the same file before failing (default 5s).
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) { o.busyTimeout = d }
}

// WithSynchronousNormal sets synchronous=NORMAL instead of FULL: commits no
// longer sync the WAL, which is faster, but the last transactions before a
// power loss or OS crash (not a process crash) can be lost. Meant for
// development and tests, not for a coordinator holding real funds.
func WithSynchronousNormal() Option {
	return func(o *options) { o.synchronous = "NORMAL" }
}

// WithMaxReaders sets the size of the read-only connection pool used by
// ReadTx (default GOMAXPROCS, at least 2).
func WithMaxReaders(n int) Option {
	return func(o *options) { o.readers = n }
}

// WithClock sets the clock used to stamp applied migrations (default
// time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Store is the SQLite engine. It is safe for concurrent use.
type Store struct {
	writer      *sql.DB
	reader      *sql.DB // == writer for ":memory:"
	writerStmts *stmtCache
	readerStmts *stmtCache // == writerStmts for ":memory:"
}

var _ store.Store = (*Store)(nil)

var dialect = &sqlstore.Dialect{
	Name: "sqlite",
	IsUniqueViolation: func(err error) bool {
		return hasCode(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
	IsForeignKeyViolation: func(err error) bool { return hasCode(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) },
}

func hasCode(err error, codes ...int) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code() == c {
			return true
		}
	}
	return false
}

// Open opens (creating it if needed) the database file at path and applies
// pending migrations. path ":memory:" opens a private in-memory database on
// a single connection (ReadTx then shares the writer's connection and its
// read-only guarantee is enforced by the store only); use it for short
// tests, a temporary file otherwise.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	o := options{busyTimeout: 5 * time.Second, synchronous: "FULL", readers: max(2, runtime.GOMAXPROCS(0)), now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: invalid database path %q", path)
	}
	if o.readers < 1 {
		return nil, fmt.Errorf("sqlite: WithMaxReaders(%d): need at least 1", o.readers)
	}
	memory := path == ":memory:"
	if !memory {
		// Create the file ourselves so that it is private; SQLite gives
		// its -wal and -shm files the same mode.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		f.Close()
	}
	busy := "_pragma=busy_timeout(" + strconv.FormatInt(o.busyTimeout.Milliseconds(), 10) + ")"
	writer, err := sql.Open("sqlite", path+"?_txlock=immediate&"+busy+
		"&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous("+o.synchronous+")")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	s := &Store{writer: writer, reader: writer, writerStmts: newStmtCache(writer)}
	s.readerStmts = s.writerStmts
	if err := s.init(ctx, path, memory, o); err != nil {
		writer.Close()
		return nil, err
	}
	if !memory {
		reader, err := sql.Open("sqlite", path+"?"+busy+"&_pragma=foreign_keys(1)&_pragma=query_only(1)")
		if err != nil {
			writer.Close()
			return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
		}
		reader.SetMaxOpenConns(o.readers)
		reader.SetMaxIdleConns(o.readers)
		reader.SetConnMaxLifetime(0)
		reader.SetConnMaxIdleTime(0)
		s.reader = reader
		s.readerStmts = newStmtCache(reader)
	}
	return s, nil
}

// init checks the journal mode and applies migrations.
func (s *Store) init(ctx context.Context, path string, memory bool, o options) error {
	var mode string
	if err := s.writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if !memory && !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlite: open %s: journal mode is %q, WAL could not be enabled", path, mode)
	}
	ms, err := sqlstore.LoadMigrations(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate %s: begin: %w", path, err)
	}
	defer tx.Rollback()
	if _, err := sqlstore.Migrate(ctx, conn{tx: tx}, ms, o.now()); err != nil {
		return fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate %s: commit: %w", path, err)
	}
	return nil
}

type rwKey struct{ s *Store }

// ReadWriteTx implements store.Store. f runs once; its error is returned
// as is, after rollback. A panic in f rolls back and propagates.
func (s *Store) ReadWriteTx(ctx context.Context, f func(ctx context.Context, tx store.Tx) error) error {
	if ctx.Value(rwKey{s}) != nil {
		return ErrNestedTx
	}
	s.writerStmts.prepare(ctx)
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	if err := f(context.WithValue(ctx, rwKey{s}, true), sqlstore.NewTx(conn{tx, s.writerStmts}, dialect, false)); err != nil {
		return err
	}
	committed = true // Commit ends the transaction whatever it returns.
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// ReadTx implements store.Store: f sees one consistent snapshot and every
// write fails.
func (s *Store) ReadTx(ctx context.Context, f func(ctx context.Context, tx store.Tx) error) error {
	s.readerStmts.prepare(ctx)
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	defer tx.Rollback()
	return f(ctx, sqlstore.NewTx(conn{tx, s.readerStmts}, dialect, true))
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.writer.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	var errs []error
	if s.reader != s.writer {
		errs = append(errs, s.readerStmts.close(), s.reader.Close())
	}
	errs = append(errs, s.writerStmts.close(), s.writer.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}
