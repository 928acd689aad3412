package sqlstore

import (
	"context"
	"errors"
)

// Conn is the driver-neutral view of one open database transaction. Each
// engine adapts its driver's transaction type to it. Statements use $1, $2,
// ... placeholders.
type Conn interface {
	// Exec runs a statement and reports the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	// Query runs a query returning rows; the caller closes them.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryRow runs a query expected to return at most one row. Its Scan
	// returns ErrNoRows when there is none.
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows is a result set being iterated.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is the result of QueryRow.
type Row interface {
	Scan(dest ...any) error
}

// ErrNoRows is what an engine's Row.Scan returns when the query returned no
// row (the adapters translate sql.ErrNoRows and pgx.ErrNoRows to it).
var ErrNoRows = errors.New("sqlstore: no rows in result set")

// ErrReadOnly is returned by every write method of a transaction opened by
// Store.ReadTx.
var ErrReadOnly = errors.New("store: write in a read-only transaction")

// Dialect carries what differs between engines. The SQL text is the same.
type Dialect struct {
	// Name is "sqlite" or "postgres"; it prefixes nothing, it is for
	// diagnostics.
	Name string
	// ForUpdate and ForShare are appended to locking reads in read-write
	// transactions: " FOR UPDATE" / " FOR SHARE" on PostgreSQL, "" on
	// SQLite, where the single writer serializes read-write transactions.
	ForUpdate string
	ForShare  string
	// IsUniqueViolation reports whether err is a unique or primary key
	// violation. Inserts avoid raising them (ON CONFLICT DO NOTHING); this
	// is the safety net that maps a stray one to store.ErrConflict.
	IsUniqueViolation func(error) bool
	// IsForeignKeyViolation reports whether err is a foreign key violation,
	// mapped to store.ErrNotFound (the referenced row is missing).
	IsForeignKeyViolation func(error) bool
}
