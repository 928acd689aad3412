package sqlstore

import (
	"context"
	"strconv"
	"time"

	"github.com/custos-dev/custos/store"
)

const userCols = `id, name, role, password_hash, approval_key, created_at_us,
	totp_secret, totp_enabled_at_us, totp_last_step, failed_logins, locked_until_us`

func scanUser(s scanner) (*store.User, error) {
	var u store.User
	var created int64
	var enabled, locked *int64
	if err := s.Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &u.ApprovalKey, &created,
		&u.TOTPSecret, &enabled, &u.TOTPLastStep, &u.FailedLogins, &locked); err != nil {
		return nil, err
	}
	u.ApprovalKey = nilIfEmpty(u.ApprovalKey)
	u.TOTPSecret = nilIfEmpty(u.TOTPSecret)
	u.CreatedAt = fromUS(created)
	u.TOTPEnabledAt = fromNullUS(enabled)
	u.LockedUntil = fromNullUS(locked)
	return &u, nil
}

// CreateUser implements store.Tx.
func (t *Tx) CreateUser(ctx context.Context, u *store.User) error {
	return t.insert(ctx, "create user "+strconv.Quote(u.Name),
		`INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
		u.ID, u.Name, u.Role, u.PasswordHash, blob(u.ApprovalKey), us(u.CreatedAt),
		blob(u.TOTPSecret), nullUS(u.TOTPEnabledAt), u.TOTPLastStep, u.FailedLogins, nullUS(u.LockedUntil))
}

// GetUser implements store.Tx.
func (t *Tx) GetUser(ctx context.Context, id string) (*store.User, error) {
	return queryOne(ctx, t, "get user "+strconv.Quote(id),
		`SELECT `+userCols+` FROM users WHERE id = $1`, scanUser, id)
}

// GetUserByName implements store.Tx.
func (t *Tx) GetUserByName(ctx context.Context, name string) (*store.User, error) {
	return queryOne(ctx, t, "get user by name "+strconv.Quote(name),
		`SELECT `+userCols+` FROM users WHERE name = $1`, scanUser, name)
}

// ListUsers implements store.Tx: ordered by name.
func (t *Tx) ListUsers(ctx context.Context) ([]*store.User, error) {
	return queryList(ctx, t, "list users", `SELECT `+userCols+` FROM users ORDER BY name`, scanUser)
}

// SetUserRole implements store.Tx; ErrNotFound if the user is missing.
func (t *Tx) SetUserRole(ctx context.Context, id string, role string) error {
	return t.update(ctx, "set role of user "+strconv.Quote(id),
		`UPDATE users SET role = $2 WHERE id = $1`, "", id, id, role)
}

// SetApprovalKey implements store.Tx; ErrNotFound if the user is missing.
func (t *Tx) SetApprovalKey(ctx context.Context, userID string, publicKey []byte) error {
	return t.update(ctx, "set approval key of user "+strconv.Quote(userID),
		`UPDATE users SET approval_key = $2 WHERE id = $1 AND approval_key IS NULL
			AND NOT EXISTS (SELECT 1 FROM users WHERE approval_key = $2)`,
		`SELECT 1 FROM users WHERE id = $1`, userID, userID, blob(publicKey))
}

// SetPasswordHash implements store.Tx.
func (t *Tx) SetPasswordHash(ctx context.Context, userID, hash string) error {
	return t.update(ctx, "set password of user "+strconv.Quote(userID),
		`UPDATE users SET password_hash = $2 WHERE id = $1`, "", userID, userID, hash)
}

// SetTOTP implements store.Tx; ErrNotFound if the user is missing.
func (t *Tx) SetTOTP(ctx context.Context, userID string, sealedSecret []byte, enabledAt *time.Time) error {
	return t.update(ctx, "set second factor of user "+strconv.Quote(userID),
		`UPDATE users SET totp_secret = $2, totp_enabled_at_us = $3 WHERE id = $1`, "", userID,
		userID, blob(sealedSecret), nullUS(enabledAt))
}

// UseTOTPStep implements store.Tx: ErrConflict for a step not after the
// last one accepted, ErrNotFound if the user is missing.
func (t *Tx) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	return t.update(ctx, "accept a second-factor code of user "+strconv.Quote(userID),
		`UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2`,
		`SELECT 1 FROM users WHERE id = $1`, userID, userID, step)
}

// SetLoginFailures implements store.Tx; ErrNotFound if the user is missing.
func (t *Tx) SetLoginFailures(ctx context.Context, userID string, failed int, lockedUntil *time.Time) error {
	return t.update(ctx, "record failed sign-ins of user "+strconv.Quote(userID),
		`UPDATE users SET failed_logins = $2, locked_until_us = $3 WHERE id = $1`, "", userID,
		userID, failed, nullUS(lockedUntil))
}
