// Package sqlstore is the one implementation of store.Tx shared by the SQLite
// and PostgreSQL engines. It speaks to the database through Conn, a
// three-method interface each engine adapts its driver to, and the same SQL
// text serves both engines; a Dialect carries the few differences (row-lock
// clauses, how a driver reports constraint violations).
//
// Storage conventions, identical on both engines:
//   - times are BIGINT unix microseconds in UTC (sub-microsecond precision
//     is dropped) and come back in time.UTC; optional times are NULL when
//     nil. Audit event times are the exception: they are stored as unix
//     seconds plus nanoseconds, because the chain hash covers nanoseconds.
//   - byte slices are BLOB/BYTEA; a nil or empty slice is stored as NULL and
//     reads back as nil.
//   - string slices are JSON text. API key scopes keep the difference
//     between nil and empty; guardian id lists (of a wallet, of a
//     ceremony) are stored as [] for both and read back as nil. Audit
//     metadata is JSON text; nil and empty maps are both stored as {} and
//     read back as nil.
//   - a wallet written with an empty Status is stored as active, and so
//     are the wallets that existed before wallets had a status.
//   - amounts are decimal strings (TEXT); EUR values are integer cents.
//
// Guarantees:
//   - ErrConflict and ErrNotFound leave the transaction usable: inserts use
//     ON CONFLICT DO NOTHING, updates are compare-and-swap statements, and
//     inserts that reference another row (a session's user, an approval's
//     request, a spend entry's or a ceremony's wallet) look it up first,
//     so no statement fails and PostgreSQL does not abort the
//     transaction. (Foreign keys remain as a safety net.)
//   - Every returned error is wrapped with context and stays
//     errors.Is-compatible with store.ErrNotFound and store.ErrConflict. A
//     missing referenced row is store.ErrNotFound.
//   - In a read-only transaction every write method fails with ErrReadOnly
//     before it reaches the database.
//   - In a read-write transaction on an engine with row locks (PostgreSQL),
//     the reads that precede workflow decisions lock what they read until
//     commit: GetRequest and the GetTransaction* methods (FOR UPDATE),
//     GetWallet (FOR SHARE, so a freeze waits for in-flight transfers),
//     GetGuardian and GetCeremony (FOR UPDATE, so read-modify-writes of a
//     guardian's status or a ceremony's progress do not lose updates),
//     SpendSince and LastSpend (the wallet's ledger head, FOR UPDATE), and
//     AppendAudit (the chain head, FOR UPDATE). A check-then-write sequence
//     on one of these rows therefore cannot interleave with another
//     transaction's, which is what SQLite's single writer gives for free.
//     Callers should therefore do their locking reads first and append audit
//     events last: the chain head is one row every writer needs, and holding
//     it for less time means less waiting and no lock-order deadlocks.
//
// It refuses nothing by itself, callers validate before they write, with
// three exceptions that the schema would otherwise report as constraint
// errors: a guardian without an identity or encryption key, a guardian
// invitation without a code hash, and a webhook without a sealed secret.
package sqlstore
