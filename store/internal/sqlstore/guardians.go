package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custos-dev/custos/store"
)

// Guardians and their enrolment invitations. Invitation code hashes never
// appear in error messages; guardian keys are public but are not printed
// either.

const guardianCols = `id, name, identity_key, encryption_key, endpoint, status, status_reason, enrolled_at_us,
	last_seen_at_us, health`

func scanGuardian(s scanner) (*store.Guardian, error) {
	var g store.Guardian
	var status string
	var enrolled int64
	var seen *int64
	if err := s.Scan(&g.ID, &g.Name, &g.IdentityKey, &g.EncryptionKey, &g.Endpoint, &status, &g.StatusReason, &enrolled,
		&seen, &g.Health); err != nil {
		return nil, err
	}
	g.IdentityKey = nilIfEmpty(g.IdentityKey)
	g.EncryptionKey = nilIfEmpty(g.EncryptionKey)
	g.Health = nilIfEmpty(g.Health)
	g.Status = store.GuardianStatus(status)
	g.EnrolledAt = fromUS(enrolled)
	g.LastSeenAt = fromNullUS(seen)
	return &g, nil
}

// CreateGuardian implements store.Tx: ErrConflict when the id, the name,
// the identity key or the encryption key is taken (the error says which).
// Both keys are required: a guardian is only ever trusted through them.
func (t *Tx) CreateGuardian(ctx context.Context, g *store.Guardian) error {
	op := "create guardian " + strconv.Quote(g.Name)
	if err := t.writable(op); err != nil {
		return err
	}
	if len(g.IdentityKey) == 0 || len(g.EncryptionKey) == 0 {
		return fmt.Errorf("store: %s: identity key and encryption key are required", op)
	}
	err := t.insert(ctx, op,
		`INSERT INTO guardians (`+guardianCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
		g.ID, g.Name, g.IdentityKey, g.EncryptionKey, g.Endpoint, string(g.Status), g.StatusReason, us(g.EnrolledAt),
		nullUS(g.LastSeenAt), blob(g.Health))
	if !errors.Is(err, store.ErrConflict) {
		return err
	}
	return t.guardianConflict(ctx, op, g)
}

// guardianConflict explains why g could not be inserted.
func (t *Tx) guardianConflict(ctx context.Context, op string, g *store.Guardian) error {
	rows, err := t.c.Query(ctx, `SELECT id = $1, name = $2, identity_key = $3, encryption_key = $4 FROM guardians
		WHERE id = $1 OR name = $2 OR identity_key = $3 OR encryption_key = $4`,
		g.ID, g.Name, g.IdentityKey, g.EncryptionKey)
	if err != nil {
		return t.fail(op, err)
	}
	defer rows.Close()
	var taken [4]bool
	for rows.Next() {
		var m [4]bool
		if err := rows.Scan(&m[0], &m[1], &m[2], &m[3]); err != nil {
			return t.fail(op, err)
		}
		for i := range m {
			taken[i] = taken[i] || m[i]
		}
	}
	if err := rows.Err(); err != nil {
		return t.fail(op, err)
	}
	var what []string
	for i, name := range []string{"id " + strconv.Quote(g.ID), "name", "identity key", "encryption key"} {
		if taken[i] {
			what = append(what, name)
		}
	}
	if len(what) == 0 { // the clashing row went away in the meantime
		return fmt.Errorf("%w: %s: already exists", store.ErrConflict, op)
	}
	return fmt.Errorf("%w: %s: taken by an enrolled guardian: %s", store.ErrConflict, op, strings.Join(what, ", "))
}

// GetGuardian implements store.Tx. In a read-write transaction on
// PostgreSQL it locks the row until commit, so that a read-modify-write
// through UpdateGuardian (a health report, a quarantine) does not undo a
// concurrent one.
func (t *Tx) GetGuardian(ctx context.Context, id string) (*store.Guardian, error) {
	return queryOne(ctx, t, "get guardian "+strconv.Quote(id),
		`SELECT `+guardianCols+` FROM guardians WHERE id = $1`+t.forUpdate(), scanGuardian, id)
}

// ListGuardians implements store.Tx: every guardian, whatever its status,
// ordered by name. It locks nothing.
func (t *Tx) ListGuardians(ctx context.Context) ([]*store.Guardian, error) {
	return queryList(ctx, t, "list guardians", `SELECT `+guardianCols+` FROM guardians ORDER BY name`, scanGuardian)
}

// UpdateGuardian implements store.Tx: writes Endpoint, Status,
// StatusReason, LastSeenAt and Health; ErrNotFound if the guardian is
// missing.
func (t *Tx) UpdateGuardian(ctx context.Context, g *store.Guardian) error {
	return t.update(ctx, fmt.Sprintf("update guardian %q (status %s)", g.ID, g.Status),
		`UPDATE guardians SET endpoint = $2, status = $3, status_reason = $4, last_seen_at_us = $5, health = $6 WHERE id = $1`,
		"", g.ID,
		g.ID, g.Endpoint, string(g.Status), g.StatusReason, nullUS(g.LastSeenAt), blob(g.Health))
}

const inviteCols = `id, code_hash, name, created_by, created_at_us, expires_at_us, used_at_us, guardian_id`

func scanInvite(s scanner) (*store.GuardianInvite, error) {
	var inv store.GuardianInvite
	var created, expires int64
	var used *int64
	if err := s.Scan(&inv.ID, &inv.CodeHash, &inv.Name, &inv.CreatedBy, &created, &expires, &used, &inv.GuardianID); err != nil {
		return nil, err
	}
	inv.CodeHash = nilIfEmpty(inv.CodeHash)
	inv.CreatedAt = fromUS(created)
	inv.ExpiresAt = fromUS(expires)
	inv.UsedAt = fromNullUS(used)
	return &inv, nil
}

// CreateGuardianInvite implements store.Tx: ErrConflict on a duplicate id
// or code hash. The code hash is required.
func (t *Tx) CreateGuardianInvite(ctx context.Context, inv *store.GuardianInvite) error {
	op := "create guardian invitation " + strconv.Quote(inv.ID)
	if err := t.writable(op); err != nil {
		return err
	}
	if len(inv.CodeHash) == 0 {
		return fmt.Errorf("store: %s: code hash is required", op)
	}
	return t.insert(ctx, op,
		`INSERT INTO guardian_invites (`+inviteCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		inv.ID, inv.CodeHash, inv.Name, inv.CreatedBy, us(inv.CreatedAt), us(inv.ExpiresAt), nullUS(inv.UsedAt), inv.GuardianID)
}

// ClaimGuardianInvite implements store.Tx. The claim is one conditional
// UPDATE (unused and ExpiresAt > at), so of two concurrent claims of one
// code exactly one succeeds, on either engine; it returns the claimed
// invitation. ErrNotFound for an unknown code, ErrConflict for a used or
// expired one.
func (t *Tx) ClaimGuardianInvite(ctx context.Context, codeHash []byte, guardianID string, at time.Time) (*store.GuardianInvite, error) {
	const op = "claim guardian invitation"
	if err := t.writable(op); err != nil {
		return nil, err
	}
	inv, err := queryOne(ctx, t, op,
		`UPDATE guardian_invites SET used_at_us = $2, guardian_id = $3
		WHERE code_hash = $1 AND used_at_us IS NULL AND expires_at_us > $2
		RETURNING `+inviteCols,
		scanInvite, blob(codeHash), us(at), guardianID)
	if !errors.Is(err, store.ErrNotFound) {
		return inv, err
	}
	// Nothing claimed: tell an unknown code from a spent one.
	var used *int64
	var expires int64
	if err := t.c.QueryRow(ctx, `SELECT used_at_us, expires_at_us FROM guardian_invites WHERE code_hash = $1`,
		blob(codeHash)).Scan(&used, &expires); err != nil {
		return nil, t.fail(op+": unknown code", err) // ErrNoRows -> ErrNotFound
	}
	if used != nil {
		return nil, fmt.Errorf("%w: %s: used already", store.ErrConflict, op)
	}
	return nil, fmt.Errorf("%w: %s: expired at %s", store.ErrConflict, op, fromUS(expires).Format(time.RFC3339))
}

// GuardianInviteByCode implements store.Tx: the invitation with this code
// hash, whatever its state; ErrNotFound for an unknown code. It claims
// nothing and locks nothing, so a read-only transaction serves it.
func (t *Tx) GuardianInviteByCode(ctx context.Context, codeHash []byte) (*store.GuardianInvite, error) {
	return queryOne(ctx, t, "get guardian invitation by code",
		`SELECT `+inviteCols+` FROM guardian_invites WHERE code_hash = $1`, scanInvite, blob(codeHash))
}

// ListGuardianInvites implements store.Tx: newest first (created_at
// descending, then id), used and expired ones included.
func (t *Tx) ListGuardianInvites(ctx context.Context) ([]*store.GuardianInvite, error) {
	return queryList(ctx, t, "list guardian invitations",
		`SELECT `+inviteCols+` FROM guardian_invites ORDER BY created_at_us DESC, id`, scanInvite)
}
