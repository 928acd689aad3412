package sqlstore

import (
	"context"
	"strconv"

	"github.com/custos-dev/custos/store"
)

const walletCols = `id, name, mode, curve, derivation_path, public_key, sealed_seed, key_version, frozen, created_at_us`

func scanWallet(s scanner) (*store.Wallet, error) {
	var w store.Wallet
	var created int64
	if err := s.Scan(&w.ID, &w.Name, &w.Mode, &w.Curve, &w.DerivationPath, &w.PublicKey, &w.SealedSeed, &w.KeyVersion, &w.Frozen, &created); err != nil {
		return nil, err
	}
	w.PublicKey = nilIfEmpty(w.PublicKey)
	w.SealedSeed = nilIfEmpty(w.SealedSeed)
	w.CreatedAt = fromUS(created)
	return &w, nil
}

// CreateWallet implements store.Tx; ErrConflict on a duplicate name or id.
// It also creates the wallet's (empty) spend ledger head, the row that
// AppendSpend, SpendSince and LastSpend lock.
func (t *Tx) CreateWallet(ctx context.Context, w *store.Wallet) error {
	op := "create wallet " + strconv.Quote(w.Name)
	if err := t.insert(ctx, op,
		`INSERT INTO wallets (`+walletCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
		w.ID, w.Name, w.Mode, w.Curve, w.DerivationPath, blob(w.PublicKey), blob(w.SealedSeed),
		w.KeyVersion, w.Frozen, us(w.CreatedAt)); err != nil {
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
