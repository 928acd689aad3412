package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custos-dev/custos/store"
)

// Tx implements store.Tx over a Conn.
type Tx struct {
	c        Conn
	d        *Dialect
	readOnly bool
	// lockedHeads are the wallets whose spend-ledger head this transaction
	// has locked (PostgreSQL): the lock lasts until commit, so it is taken
	// once.
	lockedHeads map[string]bool
}

var _ store.Tx = (*Tx)(nil)

// NewTx returns the store.Tx view of c, an open transaction. readOnly makes
// every write method fail with ErrReadOnly and turns off row locking.
func NewTx(c Conn, d *Dialect, readOnly bool) *Tx {
	return &Tx{c: c, d: d, readOnly: readOnly}
}

// writable fails in a read-only transaction.
func (t *Tx) writable(op string) error {
	if t.readOnly {
		return fmt.Errorf("%w: %s", ErrReadOnly, op)
	}
	return nil
}

// forUpdate / forShare return the row-lock suffix for locking reads: empty
// in read-only transactions and on engines without row locks.
func (t *Tx) forUpdate() string {
	if t.readOnly {
		return ""
	}
	return t.d.ForUpdate
}

func (t *Tx) forShare() string {
	if t.readOnly {
		return ""
	}
	return t.d.ForShare
}

// fail wraps a database error with the operation, mapping constraint
// violations to the store sentinels.
func (t *Tx) fail(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict), errors.Is(err, ErrReadOnly):
		return fmt.Errorf("store: %s: %w", op, err)
	case errors.Is(err, ErrNoRows):
		return fmt.Errorf("%w: %s", store.ErrNotFound, op)
	case t.d.IsUniqueViolation != nil && t.d.IsUniqueViolation(err):
		return fmt.Errorf("%w: %s: %w", store.ErrConflict, op, err)
	case t.d.IsForeignKeyViolation != nil && t.d.IsForeignKeyViolation(err):
		return fmt.Errorf("%w: %s: referenced row missing: %w", store.ErrNotFound, op, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// insert runs an INSERT ... ON CONFLICT DO NOTHING and reports ErrConflict
// when it inserted nothing.
func (t *Tx) insert(ctx context.Context, op, q string, args ...any) error {
	if err := t.writable(op); err != nil {
		return err
	}
	n, err := t.c.Exec(ctx, q, args...)
	if err != nil {
		return t.fail(op, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s: already exists", store.ErrConflict, op)
	}
	return nil
}

// update runs an UPDATE keyed by id. When it changes nothing, exists (a
// query taking id) tells ErrNotFound from ErrConflict. exists may be ""
// when the update has no condition besides the key, so 0 rows means
// missing.
func (t *Tx) update(ctx context.Context, op, q, exists string, id any, args ...any) error {
	if err := t.writable(op); err != nil {
		return err
	}
	n, err := t.c.Exec(ctx, q, args...)
	if err != nil {
		return t.fail(op, err)
	}
	if n > 0 {
		return nil
	}
	if exists == "" {
		return fmt.Errorf("%w: %s", store.ErrNotFound, op)
	}
	var one int
	if err := t.c.QueryRow(ctx, exists, id).Scan(&one); err != nil {
		return t.fail(op, err) // ErrNoRows -> ErrNotFound
	}
	return fmt.Errorf("%w: %s: not in the expected state", store.ErrConflict, op)
}

// exists fails with ErrNotFound unless q (taking id) returns a row. Inserts
// check the rows they reference this way first, so that a missing one is a
// clean ErrNotFound rather than a foreign key violation, which would abort
// the whole transaction on PostgreSQL.
func (t *Tx) exists(ctx context.Context, op, what, q, id string) error {
	var one int
	if err := t.c.QueryRow(ctx, q, id).Scan(&one); err != nil {
		return t.fail(op+": no such "+what+" "+strconv.Quote(id), err)
	}
	return nil
}

// scanner is satisfied by Row and Rows.
type scanner interface {
	Scan(dest ...any) error
}

// queryList runs q and scans every row with scan.
func queryList[T any](ctx context.Context, t *Tx, op, q string, scan func(scanner) (*T, error), args ...any) ([]*T, error) {
	rows, err := t.c.Query(ctx, q, args...)
	if err != nil {
		return nil, t.fail(op, err)
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, t.fail(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err)
	}
	return out, nil
}

// queryOne runs q and scans its single row; no row is ErrNotFound.
func queryOne[T any](ctx context.Context, t *Tx, op, q string, scan func(scanner) (*T, error), args ...any) (*T, error) {
	v, err := scan(t.c.QueryRow(ctx, q, args...))
	if err != nil {
		return nil, t.fail(op, err)
	}
	return v, nil
}

// where accumulates filter conditions with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(w.args))))
}

// order adds the keyset cursor and returns the ORDER BY clause of a
// listing by creation time (oldest or newest first), then id; the cursor
// continues after its row in that order.
func (w *where) order(oldest bool, after store.Cursor) string {
	cmp, ord := "<", " ORDER BY created_at_us DESC, id"
	if oldest {
		cmp, ord = ">", " ORDER BY created_at_us, id"
	}
	if after.ID != "" || !after.CreatedAt.IsZero() {
		w.args = append(w.args, us(after.CreatedAt), after.ID)
		a, b := "$"+strconv.Itoa(len(w.args)-1), "$"+strconv.Itoa(len(w.args))
		w.conds = append(w.conds, "(created_at_us "+cmp+" "+a+" OR (created_at_us = "+a+" AND id > "+b+"))")
	}
	return ord
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// limitClause renders a LIMIT for limit > 0 (no limit otherwise).
func limitClause(limit int) string {
	if limit <= 0 {
		return ""
	}
	return " LIMIT " + strconv.Itoa(limit)
}

// Conversions between Go values and column values.

func us(t time.Time) int64 { return t.UnixMicro() }

func fromUS(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullUS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromNullUS(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromUS(*v)
	return &t
}

// blob maps nil and empty slices to NULL.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nilIfEmpty normalises a scanned byte slice: drivers differ on whether an
// empty BLOB comes back nil or empty.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func encodeStrings(s []string) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeStrings(s string) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("decode string list: %w", err)
	}
	return v, nil
}

// encodeIDs stores a list of ids (a wallet's or a ceremony's guardians) as
// a JSON array; nil and empty lists are both [].
func encodeIDs(ids []string) (string, error) {
	if len(ids) == 0 {
		return "[]", nil
	}
	return encodeStrings(ids)
}

// decodeIDs reads what encodeIDs wrote; an empty list reads back nil.
func decodeIDs(s string) ([]string, error) {
	ids, err := decodeStrings(s)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return ids, nil
}
