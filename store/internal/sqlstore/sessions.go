package sqlstore

import (
	"context"
	"time"

	"github.com/custos-dev/custos/store"
)

// Session token hashes never appear in error messages.

const sessionCols = `token_hash, user_id, created_at_us, expires_at_us, last_seen_at_us, web, mfa`

func scanSession(s scanner) (*store.Session, error) {
	var x store.Session
	var created, expires, seen, web, mfa int64
	if err := s.Scan(&x.TokenHash, &x.UserID, &created, &expires, &seen, &web, &mfa); err != nil {
		return nil, err
	}
	x.CreatedAt = fromUS(created)
	x.ExpiresAt = fromUS(expires)
	x.LastSeenAt = fromUS(seen)
	x.Web, x.MFA = web != 0, mfa != 0
	return &x, nil
}

func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// CreateSession implements store.Tx; ErrConflict on a duplicate token hash,
// ErrNotFound if the user is missing.
func (t *Tx) CreateSession(ctx context.Context, s *store.Session) error {
	const op = "create session"
	if err := t.writable(op); err != nil {
		return err
	}
	if err := t.exists(ctx, op, "user", `SELECT 1 FROM users WHERE id = $1`, s.UserID); err != nil {
		return err
	}
	return t.insert(ctx, op,
		`INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		blob(s.TokenHash), s.UserID, us(s.CreatedAt), us(s.ExpiresAt), us(s.LastSeenAt), flag(s.Web), flag(s.MFA))
}

// GetSession implements store.Tx. It does not look at ExpiresAt.
func (t *Tx) GetSession(ctx context.Context, tokenHash []byte) (*store.Session, error) {
	return queryOne(ctx, t, "get session",
		`SELECT `+sessionCols+` FROM sessions WHERE token_hash = $1`, scanSession, blob(tokenHash))
}

// DeleteSession implements store.Tx; ErrNotFound if there is no such session.
func (t *Tx) DeleteSession(ctx context.Context, tokenHash []byte) error {
	return t.update(ctx, "delete session", `DELETE FROM sessions WHERE token_hash = $1`, "", "", blob(tokenHash))
}

// TouchSession implements store.Tx.
func (t *Tx) TouchSession(ctx context.Context, tokenHash []byte, at time.Time) error {
	const op = "touch session"
	if err := t.writable(op); err != nil {
		return err
	}
	n, err := t.c.Exec(ctx, `UPDATE sessions SET last_seen_at_us = $2 WHERE token_hash = $1 AND last_seen_at_us < $2`,
		blob(tokenHash), us(at))
	if err != nil {
		return t.fail(op, err)
	}
	if n > 0 {
		return nil
	}
	_, err = t.GetSession(ctx, tokenHash) // seen later already, or gone
	return err
}

// SetSessionMFA implements store.Tx.
func (t *Tx) SetSessionMFA(ctx context.Context, tokenHash []byte) error {
	return t.update(ctx, "mark session signed in with a second factor",
		`UPDATE sessions SET mfa = 1 WHERE token_hash = $1`, "", "", blob(tokenHash))
}

// DeleteUserSessions implements store.Tx.
func (t *Tx) DeleteUserSessions(ctx context.Context, userID string) error {
	const op = "delete sessions of user"
	if err := t.writable(op); err != nil {
		return err
	}
	if _, err := t.c.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return t.fail(op, err)
	}
	return nil
}
