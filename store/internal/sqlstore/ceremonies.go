package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/custos-dev/custos/store"
)

const ceremonyCols = `id, wallet_id, state, round, curve, threshold, guardians, transcript, blamed, error, progress,
	created_at_us, updated_at_us`

func scanCeremony(s scanner) (*store.Ceremony, error) {
	var c store.Ceremony
	var state, guardians string
	var created, updated int64
	if err := s.Scan(&c.ID, &c.WalletID, &state, &c.Round, &c.Curve, &c.Threshold, &guardians, &c.Transcript, &c.Blamed,
		&c.Error, &c.Progress, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if c.Guardians, err = decodeIDs(guardians); err != nil {
		return nil, fmt.Errorf("guardians of ceremony %q: %w", c.ID, err)
	}
	c.State = store.CeremonyState(state)
	c.Transcript = nilIfEmpty(c.Transcript)
	c.Progress = nilIfEmpty(c.Progress)
	c.CreatedAt = fromUS(created)
	c.UpdatedAt = fromUS(updated)
	return &c, nil
}

// CreateCeremony implements store.Tx: ErrConflict on a duplicate id,
// ErrNotFound if the wallet is missing. nil and empty Guardians both read
// back nil.
func (t *Tx) CreateCeremony(ctx context.Context, c *store.Ceremony) error {
	op := fmt.Sprintf("create ceremony %q of wallet %q", c.ID, c.WalletID)
	if err := t.writable(op); err != nil {
		return err
	}
	guardians, err := encodeIDs(c.Guardians)
	if err != nil {
		return t.fail(op, err)
	}
	if err := t.exists(ctx, op, "wallet", `SELECT 1 FROM wallets WHERE id = $1`, c.WalletID); err != nil {
		return err
	}
	return t.insert(ctx, op,
		`INSERT INTO ceremonies (`+ceremonyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT DO NOTHING`,
		c.ID, c.WalletID, string(c.State), c.Round, c.Curve, c.Threshold, guardians, blob(c.Transcript), c.Blamed,
		c.Error, blob(c.Progress), us(c.CreatedAt), us(c.UpdatedAt))
}

// GetCeremony implements store.Tx. In a read-write transaction on
// PostgreSQL it locks the row until commit, so that a read-modify-write of
// Progress through UpdateCeremony does not undo a concurrent one.
func (t *Tx) GetCeremony(ctx context.Context, id string) (*store.Ceremony, error) {
	return queryOne(ctx, t, "get ceremony "+strconv.Quote(id),
		`SELECT `+ceremonyCols+` FROM ceremonies WHERE id = $1`+t.forUpdate(), scanCeremony, id)
}

// ListCeremonies implements store.Tx: the ceremonies of walletID (all of
// them when it is empty), newest first (created_at descending, then id).
// An unknown wallet has none. It locks nothing.
func (t *Tx) ListCeremonies(ctx context.Context, walletID string) ([]*store.Ceremony, error) {
	var w where
	if walletID != "" {
		w.add("wallet_id = ?", walletID)
	}
	return queryList(ctx, t, "list ceremonies",
		`SELECT `+ceremonyCols+` FROM ceremonies`+w.String()+` ORDER BY created_at_us DESC, id`,
		scanCeremony, w.args...)
}

// ListRunningCeremonies implements store.Tx: the running ceremonies,
// oldest first (created_at, then id). The state is a literal in the query
// so that both engines can use the partial index ceremonies_running
// (migration 0004), which holds the running ceremonies only.
func (t *Tx) ListRunningCeremonies(ctx context.Context) ([]*store.Ceremony, error) {
	return queryList(ctx, t, "list running ceremonies",
		`SELECT `+ceremonyCols+` FROM ceremonies WHERE state = '`+string(store.CeremonyRunning)+`' ORDER BY created_at_us, id`,
		scanCeremony)
}

// UpdateCeremony implements store.Tx: writes State, Round, Transcript,
// Blamed, Error, Progress and UpdatedAt, compare-and-swap on the stored
// state; ErrNotFound if the ceremony is missing.
func (t *Tx) UpdateCeremony(ctx context.Context, c *store.Ceremony, from store.CeremonyState) error {
	return t.update(ctx, fmt.Sprintf("update ceremony %q from %s to %s", c.ID, from, c.State),
		`UPDATE ceremonies SET state = $3, round = $4, transcript = $5, blamed = $6, error = $7, progress = $8,
			updated_at_us = $9
		WHERE id = $1 AND state = $2`,
		`SELECT 1 FROM ceremonies WHERE id = $1`, c.ID,
		c.ID, string(from), string(c.State), c.Round, blob(c.Transcript), c.Blamed, c.Error, blob(c.Progress),
		us(c.UpdatedAt))
}
