package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/custos-dev/custos/store"
)

const transactionCols = `id, request_id, client_id, idempotency_key, body_hash, wallet_id, chain, asset, to_address,
	amount, memo, nonce, intent, fingerprint, eur_cents, status, decision, signature, failure_reason,
	created_at_us, updated_at_us, signed_at_us`

func scanTransaction(s scanner) (*store.Transaction, error) {
	var x store.Transaction
	var status string
	var created, updated int64
	var signed *int64
	if err := s.Scan(&x.ID, &x.RequestID, &x.ClientID, &x.IdempotencyKey, &x.BodyHash, &x.WalletID, &x.Chain, &x.Asset,
		&x.To, &x.Amount, &x.Memo, &x.Nonce, &x.Intent, &x.Fingerprint, &x.EURCents, &status, &x.Decision,
		&x.Signature, &x.FailureReason, &created, &updated, &signed); err != nil {
		return nil, err
	}
	x.BodyHash = nilIfEmpty(x.BodyHash)
	x.Intent = nilIfEmpty(x.Intent)
	x.Fingerprint = nilIfEmpty(x.Fingerprint)
	x.Decision = nilIfEmpty(x.Decision)
	x.Signature = nilIfEmpty(x.Signature)
	x.Status = store.TxStatus(status)
	x.CreatedAt = fromUS(created)
	x.UpdatedAt = fromUS(updated)
	x.SignedAt = fromNullUS(signed)
	return &x, nil
}

// CreateTransaction implements store.Tx: ErrConflict on a duplicate id, a
// duplicate non-empty (ClientID, IdempotencyKey), or a second transaction
// for the same non-empty RequestID (one approval request authorizes one
// transfer).
func (t *Tx) CreateTransaction(ctx context.Context, x *store.Transaction) error {
	return t.insert(ctx, "create transaction "+strconv.Quote(x.ID),
		`INSERT INTO transactions (`+transactionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
			$13, $14, $15, $16, $17, $18, $19, $20, $21, $22) ON CONFLICT DO NOTHING`,
		x.ID, x.RequestID, x.ClientID, x.IdempotencyKey, blob(x.BodyHash), x.WalletID, x.Chain, x.Asset, x.To,
		x.Amount, x.Memo, x.Nonce, blob(x.Intent), blob(x.Fingerprint), x.EURCents, string(x.Status),
		blob(x.Decision), blob(x.Signature), x.FailureReason, us(x.CreatedAt), us(x.UpdatedAt), nullUS(x.SignedAt))
}

// GetTransaction implements store.Tx. In a read-write transaction on
// PostgreSQL it locks the row until commit, as do the other GetTransaction
// methods.
func (t *Tx) GetTransaction(ctx context.Context, id string) (*store.Transaction, error) {
	return queryOne(ctx, t, "get transaction "+strconv.Quote(id),
		`SELECT `+transactionCols+` FROM transactions WHERE id = $1`+t.forUpdate(), scanTransaction, id)
}

// GetTransactionByIdempotencyKey implements store.Tx. An empty key matches
// nothing (ErrNotFound): it means no idempotency.
func (t *Tx) GetTransactionByIdempotencyKey(ctx context.Context, clientID, key string) (*store.Transaction, error) {
	op := fmt.Sprintf("get transaction by idempotency key %q of client %q", key, clientID)
	if key == "" {
		return nil, fmt.Errorf("%w: %s", store.ErrNotFound, op)
	}
	return queryOne(ctx, t, op,
		`SELECT `+transactionCols+` FROM transactions WHERE client_id = $1 AND idempotency_key = $2 AND idempotency_key <> ''`+t.forUpdate(),
		scanTransaction, clientID, key)
}

// GetTransactionByRequest implements store.Tx. An empty request id matches
// nothing (ErrNotFound).
func (t *Tx) GetTransactionByRequest(ctx context.Context, requestID string) (*store.Transaction, error) {
	op := "get transaction by request " + strconv.Quote(requestID)
	if requestID == "" {
		return nil, fmt.Errorf("%w: %s", store.ErrNotFound, op)
	}
	return queryOne(ctx, t, op,
		`SELECT `+transactionCols+` FROM transactions WHERE request_id = $1 AND request_id <> ''`+t.forUpdate(),
		scanTransaction, requestID)
}

// ListTransactions implements store.Tx: newest first (created_at
// descending, then id); Limit <= 0 means no limit.
func (t *Tx) ListTransactions(ctx context.Context, f store.TransactionFilter) ([]*store.Transaction, error) {
	var w where
	if f.WalletID != "" {
		w.add("wallet_id = ?", f.WalletID)
	}
	if f.Asset != "" {
		w.add("asset = ?", f.Asset)
	}
	if f.Status != "" {
		w.add("status = ?", string(f.Status))
	}
	ord := w.order(f.Oldest, f.After)
	return queryList(ctx, t, "list transactions",
		`SELECT `+transactionCols+` FROM transactions`+w.String()+ord+limitClause(f.Limit),
		scanTransaction, w.args...)
}

// UpdateTransaction implements store.Tx: writes the mutable fields (status,
// decision, signature, signed_at, failure_reason, eur_cents, updated_at and
// the intent fields), compare-and-swap on the stored status.
func (t *Tx) UpdateTransaction(ctx context.Context, x *store.Transaction, from store.TxStatus) error {
	return t.update(ctx, fmt.Sprintf("update transaction %q from %s to %s", x.ID, from, x.Status),
		`UPDATE transactions SET status = $3, decision = $4, signature = $5, signed_at_us = $6, failure_reason = $7,
			fingerprint = $8, updated_at_us = $9, eur_cents = $10, to_address = $11, amount = $12, memo = $13,
			nonce = $14, intent = $15
		WHERE id = $1 AND status = $2`,
		`SELECT 1 FROM transactions WHERE id = $1`, x.ID,
		x.ID, string(from), string(x.Status), blob(x.Decision), blob(x.Signature), nullUS(x.SignedAt),
		x.FailureReason, blob(x.Fingerprint), us(x.UpdatedAt), x.EURCents, x.To, x.Amount, x.Memo, x.Nonce, blob(x.Intent))
}
