package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/custos-dev/custos/store/internal/sqlstore"
)

// stmtCache keeps statements prepared on a *sql.DB so that transactions
// reuse each connection's prepared statement (Tx.StmtContext) instead of
// parsing the SQL again: parsing is most of the cost of the store's small
// queries in SQLite.
//
// A *sql.Stmt can only be created outside a transaction (the writer has a
// single connection, and the open transaction holds it), so a query first
// seen inside a transaction runs unprepared once and is prepared before the
// next transaction on that DB begins. At most maxCachedStmts distinct
// queries are cached; others always run unprepared.
type stmtCache struct {
	db      *sql.DB
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt // nil value: failed to prepare, do not retry
	pending map[string]bool
}

const maxCachedStmts = 256

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// lookup returns the prepared statement for q, or nil (and schedules q).
func (c *stmtCache) lookup(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[q]; ok {
		return st
	}
	if len(c.stmts)+len(c.pending) < maxCachedStmts {
		c.pending[q] = true
	}
	return nil
}

// prepare prepares the scheduled queries. Call it while holding no
// connection of c.db.
func (c *stmtCache) prepare(ctx context.Context) {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	qs := make([]string, 0, len(c.pending))
	for q := range c.pending {
		qs = append(qs, q)
	}
	clear(c.pending)
	c.mu.Unlock()
	for _, q := range qs {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			if ctx.Err() != nil {
				return // not the query's fault; it will be scheduled again
			}
			st = nil // the query fails unprepared too, with its own error
		}
		c.mu.Lock()
		if _, dup := c.stmts[q]; dup && st != nil {
			st.Close()
		} else {
			c.stmts[q] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.stmts {
		if st != nil {
			errs = append(errs, st.Close())
		}
		delete(c.stmts, q)
	}
	return errors.Join(errs...)
}

// conn adapts *sql.Tx to sqlstore.Conn, using cache when it is not nil.
type conn struct {
	tx    *sql.Tx
	cache *stmtCache
}

func (c conn) stmt(ctx context.Context, q string) *sql.Stmt {
	if c.cache == nil {
		return nil
	}
	if st := c.cache.lookup(q); st != nil {
		return c.tx.StmtContext(ctx, st)
	}
	return nil
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	var r sql.Result
	var err error
	if st := c.stmt(ctx, q); st != nil {
		r, err = st.ExecContext(ctx, args...)
	} else {
		r, err = c.tx.ExecContext(ctx, q, args...)
	}
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

func (c conn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	var r *sql.Rows
	var err error
	if st := c.stmt(ctx, q); st != nil {
		r, err = st.QueryContext(ctx, args...)
	} else {
		r, err = c.tx.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	if st := c.stmt(ctx, q); st != nil {
		return row{st.QueryRowContext(ctx, args...)}
	}
	return row{c.tx.QueryRowContext(ctx, q, args...)}
}

type rows struct{ *sql.Rows }

func (r rows) Close() { r.Rows.Close() }

type row struct{ r *sql.Row }

func (r row) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	return err
}
