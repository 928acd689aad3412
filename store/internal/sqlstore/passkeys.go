package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/custos-dev/custos/store"
)

const passkeyCols = `id, user_id, name, public_key, rp_id, origins, aaguid, status, request_id, created_at_us, updated_at_us`

func scanPasskey(s scanner) (*store.Passkey, error) {
	var p store.Passkey
	var origins, status string
	var created, updated int64
	if err := s.Scan(&p.ID, &p.UserID, &p.Name, &p.PublicKey, &p.RPID, &origins, &p.AAGUID, &status, &p.RequestID, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if p.Origins, err = decodeStrings(origins); err != nil {
		return nil, fmt.Errorf("origins of passkey %x: %w", p.ID, err)
	}
	p.AAGUID = nilIfEmpty(p.AAGUID)
	p.Status = store.PasskeyStatus(status)
	p.CreatedAt, p.UpdatedAt = fromUS(created), fromUS(updated)
	return &p, nil
}

// AddPasskey implements store.Tx.
func (t *Tx) AddPasskey(ctx context.Context, p *store.Passkey) error {
	op := fmt.Sprintf("add passkey %x of user %q", p.ID, p.UserID)
	if err := t.writable(op); err != nil {
		return err
	}
	if err := t.exists(ctx, op, "user", `SELECT 1 FROM users WHERE id = $1`, p.UserID); err != nil {
		return err
	}
	origins, err := encodeStrings(p.Origins)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return t.insert(ctx, op,
		`INSERT INTO passkeys (`+passkeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
		p.ID, p.UserID, p.Name, p.PublicKey, p.RPID, origins, blob(p.AAGUID), string(p.Status), p.RequestID, us(p.CreatedAt), us(p.UpdatedAt))
}

// GetPasskey implements store.Tx.
func (t *Tx) GetPasskey(ctx context.Context, id []byte) (*store.Passkey, error) {
	return queryOne(ctx, t, fmt.Sprintf("get passkey %x", id), `SELECT `+passkeyCols+` FROM passkeys WHERE id = $1`, scanPasskey, id)
}

// ListPasskeys implements store.Tx.
func (t *Tx) ListPasskeys(ctx context.Context, userID string) ([]*store.Passkey, error) {
	if userID == "" {
		return queryList(ctx, t, "list passkeys", `SELECT `+passkeyCols+` FROM passkeys ORDER BY user_id, created_at_us, id`, scanPasskey)
	}
	return queryList(ctx, t, "list passkeys of user "+strconv.Quote(userID),
		`SELECT `+passkeyCols+` FROM passkeys WHERE user_id = $1 ORDER BY created_at_us, id`, scanPasskey, userID)
}

// SetPasskeyStatus implements store.Tx.
func (t *Tx) SetPasskeyStatus(ctx context.Context, id []byte, from, to store.PasskeyStatus, at time.Time) error {
	return t.update(ctx, fmt.Sprintf("set status of passkey %x", id),
		`UPDATE passkeys SET status = $3, updated_at_us = $4 WHERE id = $1 AND status = $2`,
		`SELECT 1 FROM passkeys WHERE id = $1`, id, id, string(from), string(to), us(at))
}
