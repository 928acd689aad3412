package guardian

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
)

// db is the guardian's own small state: its enrolment, the governance
// state it holds, the keys it holds (their shares are sealed files), the
// approval certificates it signed for, and its own hash-chained event log.
type db struct {
	sql *sql.DB
	mu  sync.Mutex // one writer; also orders event appends
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS governance (
	seq        INTEGER PRIMARY KEY,
	request_id TEXT UNIQUE,          -- NULL for the state pinned at enrolment
	state      BLOB NOT NULL,
	hash       TEXT NOT NULL,
	applied_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
	wallet_id    TEXT NOT NULL,
	key_version  INTEGER NOT NULL,
	idx          INTEGER NOT NULL,
	status       TEXT NOT NULL,      -- pending, active
	ceremony     TEXT NOT NULL,
	group_key    BLOB NOT NULL,      -- JSON frost.GroupKey
	participants BLOB NOT NULL,      -- JSON []wire.Participant
	created_us   INTEGER NOT NULL,
	activated_us INTEGER,
	PRIMARY KEY (wallet_id, key_version)
);
CREATE TABLE IF NOT EXISTS certificate_uses (
	request_id   TEXT PRIMARY KEY,
	message_hash BLOB NOT NULL,
	wallet_id    TEXT NOT NULL,
	key_version  INTEGER NOT NULL,
	session      TEXT NOT NULL,
	used_us      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
	seq  INTEGER PRIMARY KEY,
	hash BLOB NOT NULL,
	line BLOB NOT NULL
);
`

func openDB(path string) (*db, error) {
	// Create the file 0600 first: SQLite gives its journal files the
	// database's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, err
	}
	s, err := sql.Open("sqlite", path+"?_txlock=immediate&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, err
	}
	s.SetMaxOpenConns(1)
	if _, err := s.Exec(schema); err != nil {
		s.Close()
		return nil, fmt.Errorf("guardian state %s: %w", path, err)
	}
	return &db{sql: s}, nil
}

func (d *db) close() error { return d.sql.Close() }

// rowQuerier is a *sql.DB or a *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (d *db) meta(ctx context.Context, key string) (string, error) {
	var v string
	err := d.sql.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (d *db) setMeta(ctx context.Context, tx *sql.Tx, key, value string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// tx runs f in one write transaction.
func (d *db) tx(ctx context.Context, f func(*sql.Tx) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// governance returns the newest state and how many approved requests were
// applied on top of the pinned one.
func (d *db) governance(ctx context.Context) (*governance.State, int, error) {
	var b []byte
	var seq int
	err := d.sql.QueryRowContext(ctx, `SELECT seq, state FROM governance ORDER BY seq DESC LIMIT 1`).Scan(&seq, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	st, err := governance.Parse(b)
	if err != nil {
		return nil, 0, err
	}
	return st, seq - 1, nil
}

func (d *db) governanceApplied(ctx context.Context, requestID string) (bool, error) {
	var n int
	err := d.sql.QueryRowContext(ctx, `SELECT count(*) FROM governance WHERE request_id = ?`, requestID).Scan(&n)
	return n > 0, err
}

func putGovernance(ctx context.Context, tx *sql.Tx, st *governance.State, requestID *string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO governance (request_id, state, hash, applied_us) VALUES (?, ?, ?, ?)`,
		requestID, st.Canonical(), st.HashHex(), at.UnixMicro())
	return err
}

// useCertificate records, in tx, that the guardian signs msg for
// requestID. A certificate already used for msg is left as recorded; one
// used for another message is refused.
func useCertificate(ctx context.Context, tx *sql.Tx, requestID string, msg []byte, wallet string, version int, session string, at time.Time) error {
	h := sha256.Sum256(msg)
	if used, err := certificateUse(ctx, tx, requestID, h); used || err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO certificate_uses (request_id, message_hash, wallet_id, key_version, session, used_us) VALUES (?, ?, ?, ?, ?, ?)`,
		requestID, h[:], wallet, version, session, at.UnixMicro())
	return err
}

// certificateUse reports whether the certificate of requestID was used,
// and refuses it if that was for a message other than the one hashing to h.
func certificateUse(ctx context.Context, q rowQuerier, requestID string, h [32]byte) (bool, error) {
	var prev []byte
	err := q.QueryRowContext(ctx, `SELECT message_hash FROM certificate_uses WHERE request_id = ?`, requestID).Scan(&prev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	case !bytes.Equal(prev, h[:]):
		return true, refuse(wire.CodeCertificateUsed, "the certificate of request %s was used for another message", requestID)
	}
	return true, nil
}

// appendEvent adds an event to the guardian's own hash chain, in tx.
func appendEvent(ctx context.Context, tx *sql.Tx, e *audit.Event) error {
	var seq int64
	var prev []byte
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if e.ID == "" {
		var id [16]byte
		rand.Read(id[:])
		e.ID = hex.EncodeToString(id[:])
	}
	e.Seal(seq, prev)
	line, err := audit.MarshalLine(e)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO events (seq, hash, line) VALUES (?, ?, ?)`, e.Seq, e.Hash, line)
	return err
}

// event appends one event in its own transaction.
func (d *db) event(ctx context.Context, e *audit.Event) error {
	return d.tx(ctx, func(tx *sql.Tx) error { return appendEvent(ctx, tx, e) })
}

// exportEvents writes the guardian's event log as JSON lines.
func (d *db) exportEvents(ctx context.Context, w func(line []byte) error) error {
	rows, err := d.sql.QueryContext(ctx, `SELECT line FROM events ORDER BY seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var line []byte
		if err := rows.Scan(&line); err != nil {
			return err
		}
		if err := w(line); err != nil {
			return err
		}
	}
	return rows.Err()
}

// keys lists the keys the guardian holds, as KeyStatus without nonces.
func (d *db) keys(ctx context.Context) ([]wire.KeyStatus, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT wallet_id, key_version, idx, status FROM keys ORDER BY wallet_id, key_version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []wire.KeyStatus
	for rows.Next() {
		var k wire.KeyStatus
		if err := rows.Scan(&k.WalletID, &k.KeyVersion, &k.Index, &k.Status); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
