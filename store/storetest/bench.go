package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/store"
)

// BenchSpendSince measures SpendSince over a window holding entries
// entries (all of the wallet's), in a ReadTx per call and as a bare query
// inside one open transaction. s must be fresh.
func BenchSpendSince(b *testing.B, s store.Store, entries int) {
	ctx := context.Background()
	if err := s.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateWallet(ctx, newWallet("w1", "bench")); err != nil {
			return err
		}
		for i := range entries {
			if err := tx.AppendSpend(ctx, &store.SpendEntry{WalletID: "w1", At: at(time.Duration(i) * time.Second), EURCents: 100, TransactionID: fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	since := at(-time.Hour)
	check := func(sum, n int64, err error) {
		if err != nil || n != int64(entries) || sum != 100*int64(entries) {
			b.Fatalf("SpendSince = %d, %d, %v", sum, n, err)
		}
	}
	// Warm up: engines that cache prepared statements do so after first use.
	for range 2 {
		if err := s.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
			check(tx.SpendSince(ctx, "w1", since))
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("read_tx", func(b *testing.B) {
		for b.Loop() {
			if err := s.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
				check(tx.SpendSince(ctx, "w1", since))
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("query", func(b *testing.B) {
		if err := s.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
			for b.Loop() {
				check(tx.SpendSince(ctx, "w1", since))
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	})
}

func benchEvent(i int) *audit.Event {
	return &audit.Event{ID: fmt.Sprintf("e%d", i), Time: t0, Category: audit.CategoryTransaction, Action: "transaction.submit",
		Actor: "apikey:k1", Target: "transaction:t" + fmt.Sprint(i), RequestID: "req", Result: audit.ResultSuccess,
		Metadata: map[string]string{"amount": "1000", "asset": "eth"}}
}

// BenchAppendAudit measures AppendAudit, one event per committed
// ReadWriteTx (commit included) and as a bare call inside one transaction.
func BenchAppendAudit(b *testing.B, s store.Store) {
	ctx := context.Background()
	i := 0
	for range 2 { // warm up
		i++
		if err := s.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error { return tx.AppendAudit(ctx, benchEvent(i)) }); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("tx_per_event", func(b *testing.B) {
		for b.Loop() {
			i++
			if err := s.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
				return tx.AppendAudit(ctx, benchEvent(i))
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("in_one_tx", func(b *testing.B) {
		if err := s.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
			for b.Loop() {
				i++
				if err := tx.AppendAudit(ctx, benchEvent(i)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchSubmitTransfer measures the store side of POST /v1/transactions as
// the coordinator is expected to do it: one ReadWriteTx with the API key,
// idempotency, wallet, rate, policy, emergency-stop and limit lookups, then
// the transaction, spend entry and audit event writes, and a ReadTx
// reading it back (12 calls).
func BenchSubmitTransfer(b *testing.B, s store.Store) {
	ctx := context.Background()
	if err := s.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		for _, err := range []error{
			tx.CreateUser(ctx, newUser("u1", "alice")),
			tx.CreateAPIKey(ctx, &store.APIKey{ID: "k1", Prefix: "cus_live_AAAA", SecretHash: filled(1, 32), OwnerUserID: "u1", Scopes: []string{"transactions:write"}, CreatedAt: t0}),
			tx.CreateWallet(ctx, newWallet("w1", "bench")),
			tx.PutRate(ctx, &store.Rate{Asset: "eth", EURPerUnit: "2543.17", Decimals: 18, UpdatedAt: t0}),
			tx.PutPolicy(ctx, &store.Policy{Version: 1, Hash: filled(2, 32), Document: []byte(`{}`), CreatedBy: "u1", CreatedAt: t0}),
			tx.PutSetting(ctx, "emergency_stop", "off"),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("t%d", i)
		err := s.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
			if _, err := tx.GetAPIKeyByPrefix(ctx, "cus_live_AAAA"); err != nil {
				return err
			}
			if _, err := tx.GetTransactionByIdempotencyKey(ctx, "k1", id); err == nil {
				return fmt.Errorf("idempotency key %s reused", id)
			}
			if _, err := tx.GetWallet(ctx, "w1"); err != nil {
				return err
			}
			if _, err := tx.GetRate(ctx, "eth"); err != nil {
				return err
			}
			if _, err := tx.CurrentPolicy(ctx); err != nil {
				return err
			}
			if _, err := tx.GetSetting(ctx, "emergency_stop"); err != nil {
				return err
			}
			if _, _, err := tx.SpendSince(ctx, "w1", t0); err != nil {
				return err
			}
			x := newTransaction(id)
			x.IdempotencyKey, x.Status = id, store.TxApproved
			if err := tx.CreateTransaction(ctx, x); err != nil {
				return err
			}
			if err := tx.AppendSpend(ctx, &store.SpendEntry{WalletID: "w1", At: t0, EURCents: x.EURCents, TransactionID: id}); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, benchEvent(i))
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetTransaction(ctx, id)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
