// Package postgres is the production Custos store engine: PostgreSQL through
// pgx/v5's native API and a pgxpool, so several coordinator replicas can
// share one database.
//
// Guarantees, on top of the store package's:
//   - Read-write transactions run at READ COMMITTED, explicitly (whatever
//     the server default). Every invariant the store maintains is held by a
//     constraint or a row lock, not by a snapshot: compare-and-swap UPDATEs
//     (a second updater waits for the row, then re-checks its condition and
//     finds it changed), unique constraints hit through
//     INSERT ... ON CONFLICT DO NOTHING, the audit chain head read FOR
//     UPDATE, the wallet's spend ledger head updated (AppendSpend) or read
//     FOR UPDATE (SpendSince, LastSpend), and GetRequest / GetTransaction*
//     FOR UPDATE and GetWallet FOR SHARE, so a check followed by a write
//     on those rows does not interleave with another transaction's. Do
//     the locking reads first and append audit events last: every writer
//     needs the chain head, so it should be held for as short a time as
//     possible. Use ReadTx for pure reads: it locks nothing.
//     SERIALIZABLE was rejected: nearly every write transaction appends to
//     the one audit chain, and under snapshot isolation two concurrent
//     appenders always conflict (40001) on its head row, so replicas
//     would spend their time retrying; under READ COMMITTED the second
//     simply waits for the first to commit.
//   - ReadWriteTx retries f, with a short bounded jittered backoff, when
//     the database reports serialization_failure (40001) or
//     deadlock_detected (40P01), at most 5 attempts in all. Both codes mean
//     the transaction was rolled back; any other failure, including a
//     COMMIT whose outcome is unknown, is returned and never retried.
//   - ReadTx runs READ ONLY at REPEATABLE READ: one consistent snapshot,
//     never a serialization failure.
//   - Migrations (migrations/NNNN_*.sql, embedded) are applied by Open in
//     one transaction holding a transaction-scoped advisory lock, so
//     coordinators starting together apply them once; Open refuses a
//     database written by a newer binary or whose applied migrations
//     differ from the embedded files.
//
// It refuses a nested ReadWriteTx (called with the context of an enclosing
// one): the inner transaction would not be part of the outer one.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrReadOnly is returned (wrapped) by write methods called in ReadTx.
var ErrReadOnly = sqlstore.ErrReadOnly

// ErrNestedTx is returned by ReadWriteTx when called with the context of an
// enclosing ReadWriteTx of the same Store.
var ErrNestedTx = errors.New("postgres: nested ReadWriteTx")

// migrationLockKey is the pg_advisory_xact_lock key held while migrating
// (the first 8 bytes of SHA-256("custos/store/migrate")).
const migrationLockKey int64 = 0x2b5c_1d7a_90e3_4f61

// Retry policy for serialization failures and deadlocks.
const (
	maxAttempts = 5
	baseBackoff = 2 * time.Millisecond
	maxBackoff  = 50 * time.Millisecond
)

// Option configures Open.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock sets the clock used to stamp applied migrations (default
// time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Store is the PostgreSQL engine. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

var dialect = &sqlstore.Dialect{
	Name:                  "postgres",
	ForUpdate:             " FOR UPDATE",
	ForShare:              " FOR SHARE",
	IsUniqueViolation:     func(err error) bool { return hasCode(err, "23505") },
	IsForeignKeyViolation: func(err error) bool { return hasCode(err, "23503") },
}

func hasCode(err error, codes ...string) bool {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
}

// retryable reports serialization_failure and deadlock_detected.
func retryable(err error) bool { return hasCode(err, "40001", "40P01") }

// Open connects to the database named by dsn (a libpq URL or key=value
// string; pgxpool settings such as pool_max_conns are honoured, and
// search_path selects a schema) and applies pending migrations.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx errors about the connection string can quote it: keep the
		// password out of ours.
		return nil, errors.New("postgres: invalid connection string")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx, o); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context, o options) error {
	ms, err := sqlstore.LoadMigrations(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("postgres: migrate: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	if _, err := sqlstore.Migrate(ctx, conn{tx}, ms, o.now()); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: commit: %w", err)
	}
	return nil
}

type rwKey struct{ s *Store }

// ReadWriteTx implements store.Store. f's error is returned as is, after
// rollback; f runs again (at most 5 times in all) when the database
// reports a serialization failure or a deadlock. A panic in f rolls back
// and propagates.
func (s *Store) ReadWriteTx(ctx context.Context, f func(ctx context.Context, tx store.Tx) error) error {
	if ctx.Value(rwKey{s}) != nil {
		return ErrNestedTx
	}
	inner := context.WithValue(ctx, rwKey{s}, true)
	backoff := baseBackoff
	for attempt := 1; ; attempt++ {
		err := s.attempt(ctx, inner, f)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		// Full jitter, so that the transactions that collided do not
		// collide again.
		timer := time.NewTimer(rand.N(backoff) + time.Microsecond)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("postgres: giving up retry after %w: %w", err, ctx.Err())
		case <-timer.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (s *Store) attempt(ctx, inner context.Context, f func(ctx context.Context, tx store.Tx) error) (err error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := f(inner, sqlstore.NewTx(conn{tx}, dialect, false)); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// ReadTx implements store.Store: f sees one consistent snapshot and every
// write fails.
func (s *Store) ReadTx(ctx context.Context, f func(ctx context.Context, tx store.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: begin read: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	return f(ctx, sqlstore.NewTx(conn{tx}, dialect, true))
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close implements store.Store. It waits for connections in use to be
// returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// conn adapts pgx.Tx to sqlstore.Conn.
type conn struct{ tx pgx.Tx }

func (c conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.tx.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (c conn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	r, err := c.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return row{c.tx.QueryRow(ctx, q, args...)}
}

type row struct{ r pgx.Row }

func (r row) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	return err
}
