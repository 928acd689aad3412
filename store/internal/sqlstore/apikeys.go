package sqlstore

import (
	"context"
	"strconv"
	"time"

	"github.com/custos-dev/custos/store"
)

const apiKeyCols = `id, name, prefix, secret_hash, owner_user_id, scopes, created_at_us, expires_at_us, revoked_at_us, last_used_at_us`

func scanAPIKey(s scanner) (*store.APIKey, error) {
	var k store.APIKey
	var scopes string
	var created int64
	var expires, revoked, used *int64
	if err := s.Scan(&k.ID, &k.Name, &k.Prefix, &k.SecretHash, &k.OwnerUserID, &scopes, &created, &expires, &revoked, &used); err != nil {
		return nil, err
	}
	var err error
	if k.Scopes, err = decodeStrings(scopes); err != nil {
		return nil, err
	}
	k.SecretHash = nilIfEmpty(k.SecretHash)
	k.CreatedAt = fromUS(created)
	k.ExpiresAt = fromNullUS(expires)
	k.RevokedAt = fromNullUS(revoked)
	k.LastUsedAt = fromNullUS(used)
	return &k, nil
}

// CreateAPIKey implements store.Tx; ErrConflict on a duplicate prefix or id.
func (t *Tx) CreateAPIKey(ctx context.Context, k *store.APIKey) error {
	op := "create api key " + strconv.Quote(k.ID)
	scopes, err := encodeStrings(k.Scopes)
	if err != nil {
		return t.fail(op, err)
	}
	return t.insert(ctx, op,
		`INSERT INTO api_keys (`+apiKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
		k.ID, k.Name, k.Prefix, blob(k.SecretHash), k.OwnerUserID, scopes,
		us(k.CreatedAt), nullUS(k.ExpiresAt), nullUS(k.RevokedAt), nullUS(k.LastUsedAt))
}

// GetAPIKeyByPrefix implements store.Tx.
func (t *Tx) GetAPIKeyByPrefix(ctx context.Context, prefix string) (*store.APIKey, error) {
	return queryOne(ctx, t, "get api key by prefix "+strconv.Quote(prefix),
		`SELECT `+apiKeyCols+` FROM api_keys WHERE prefix = $1`, scanAPIKey, prefix)
}

// GetAPIKey implements store.Tx.
func (t *Tx) GetAPIKey(ctx context.Context, id string) (*store.APIKey, error) {
	return queryOne(ctx, t, "get api key "+strconv.Quote(id),
		`SELECT `+apiKeyCols+` FROM api_keys WHERE id = $1`, scanAPIKey, id)
}

// ListAPIKeys implements store.Tx: ordered by creation time, then id.
func (t *Tx) ListAPIKeys(ctx context.Context) ([]*store.APIKey, error) {
	return queryList(ctx, t, "list api keys",
		`SELECT `+apiKeyCols+` FROM api_keys ORDER BY created_at_us, id`, scanAPIKey)
}

// RevokeAPIKey implements store.Tx; ErrConflict if already revoked.
func (t *Tx) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	return t.update(ctx, "revoke api key "+strconv.Quote(id),
		`UPDATE api_keys SET revoked_at_us = $2 WHERE id = $1 AND revoked_at_us IS NULL`,
		`SELECT 1 FROM api_keys WHERE id = $1`, id, id, us(at))
}

// TouchAPIKey implements store.Tx; ErrNotFound if the key is missing.
func (t *Tx) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	return t.update(ctx, "touch api key "+strconv.Quote(id),
		`UPDATE api_keys SET last_used_at_us = $2 WHERE id = $1`, "", id, id, us(at))
}
