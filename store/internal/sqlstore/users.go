package sqlstore

import (
	"context"
	"strconv"

	"github.com/custos-dev/custos/store"
)

const userCols = `id, name, role, password_hash, approval_key, created_at_us`

func scanUser(s scanner) (*store.User, error) {
	var u store.User
	var created int64
	if err := s.Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &u.ApprovalKey, &created); err != nil {
		return nil, err
	}
	u.ApprovalKey = nilIfEmpty(u.ApprovalKey)
	u.CreatedAt = fromUS(created)
	return &u, nil
}

// CreateUser implements store.Tx.
func (t *Tx) CreateUser(ctx context.Context, u *store.User) error {
	return t.insert(ctx, "create user "+strconv.Quote(u.Name),
		`INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		u.ID, u.Name, u.Role, u.PasswordHash, blob(u.ApprovalKey), us(u.CreatedAt))
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
