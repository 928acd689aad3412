package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/custos-dev/custos/store"
)

const walletCols = `id, name, mode, curve, derivation_path, public_key, sealed_seed, key_version, frozen, created_at_us,
	status, threshold, guardians, group_key`

func scanWallet(s scanner) (*store.Wallet, error) {
	var w store.Wallet
	var created int64
	var status, guardians string
	if err := s.Scan(&w.ID, &w.Name, &w.Mode, &w.Curve, &w.DerivationPath, &w.PublicKey, &w.SealedSeed, &w.KeyVersion, &w.Frozen, &created,
		&status, &w.Threshold, &guardians, &w.GroupKey); err != nil {
		return nil, err
	}
	var err error
	if w.Guardians, err = decodeIDs(guardians); err != nil {
		return nil, fmt.Errorf("guardians of wallet %q: %w", w.ID, err)
	}
	w.PublicKey = nilIfEmpty(w.PublicKey)
	w.SealedSeed = nilIfEmpty(w.SealedSeed)
	w.GroupKey = nilIfEmpty(w.GroupKey)
	w.Status = store.WalletStatus(status)
	w.CreatedAt = fromUS(created)
	return &w, nil
}

// walletStatus maps the empty status to active: callers written before
// wallets had a status create active wallets.
func walletStatus(s store.WalletStatus) string {
	if s == "" {
		return string(store.WalletActive)
	}
	return string(s)
}

// CreateWallet implements store.Tx; ErrConflict on a duplicate name or id.
// An empty Status is stored as active; nil and empty Guardians are both
// stored as an empty list and read back nil. It also creates the wallet's
// (empty) spend ledger head, the row that AppendSpend, SpendSince and
// LastSpend lock.
func (t *Tx) CreateWallet(ctx context.Context, w *store.Wallet) error {
	op := "create wallet " + strconv.Quote(w.Name)
	guardians, err := encodeIDs(w.Guardians)
	if err != nil {
		return t.fail(op, err)
	}
	if err := t.insert(ctx, op,
		`INSERT INTO wallets (`+walletCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT DO NOTHING`,
		w.ID, w.Name, w.Mode, w.Curve, w.DerivationPath, blob(w.PublicKey), blob(w.SealedSeed),
		w.KeyVersion, w.Frozen, us(w.CreatedAt), walletStatus(w.Status), w.Threshold, guardians, blob(w.GroupKey)); err != nil {
		return err
	}
	if _, err := t.c.Exec(ctx, `INSERT INTO spend_heads (wallet_id, seq, at_us, cum_eur_cents) VALUES ($1, 0, $2, 0)`,
		w.ID, int64(minAtUS)); err != nil {
		return t.fail(op, err)
	}
	return nil
}

// GetWallet implements store.Tx. In a read-write transaction on PostgreSQL
// it takes a share lock on the row, so a concurrent freeze waits for this
// transaction.
func (t *Tx) GetWallet(ctx context.Context, id string) (*store.Wallet, error) {
	return queryOne(ctx, t, "get wallet "+strconv.Quote(id),
		`SELECT `+walletCols+` FROM wallets WHERE id = $1`+t.forShare(), scanWallet, id)
}

// ListWallets implements store.Tx: ordered by creation time, then id.
func (t *Tx) ListWallets(ctx context.Context) ([]*store.Wallet, error) {
	return queryList(ctx, t, "list wallets",
		`SELECT `+walletCols+` FROM wallets ORDER BY created_at_us, id`, scanWallet)
}

// SetWalletFrozen implements store.Tx; ErrConflict if the flag already has
// that value.
func (t *Tx) SetWalletFrozen(ctx context.Context, id string, frozen bool) error {
	return t.update(ctx, "set frozen="+strconv.FormatBool(frozen)+" on wallet "+strconv.Quote(id),
		`UPDATE wallets SET frozen = $2 WHERE id = $1 AND frozen <> $2`,
		`SELECT 1 FROM wallets WHERE id = $1`, id, id, frozen)
}

// UpdateWalletKey implements store.Tx: writes Status (empty means active),
// PublicKey and GroupKey, compare-and-swap on the stored status;
// ErrNotFound if the wallet is missing.
func (t *Tx) UpdateWalletKey(ctx context.Context, w *store.Wallet, from store.WalletStatus) error {
	return t.update(ctx, fmt.Sprintf("update key of wallet %q from %s to %s", w.ID, from, walletStatus(w.Status)),
		`UPDATE wallets SET status = $3, public_key = $4, group_key = $5 WHERE id = $1 AND status = $2`,
		`SELECT 1 FROM wallets WHERE id = $1`, w.ID,
		w.ID, string(from), walletStatus(w.Status), blob(w.PublicKey), blob(w.GroupKey))
}
