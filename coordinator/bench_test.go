package coordinator

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/sqlite"
)

// BenchmarkPolicyDecisionSQLite measures one gate-1 decision as the
// coordinator makes it: policy, rate, emergency stop and the rolling
// windows read from the embedded store, with 10,000 prior transfers in the
// wallet's 30-day window.
func BenchmarkPolicyDecisionSQLite(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	kek, _ := seal.NewKEK(make([]byte, 32))
	signer, _ := proof.NewSigner(make([]byte, 64))
	svc, err := New(Config{Store: st, KEK: kek, DecisionKey: signer, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.InitPolicy(ctx, policy.Default()); err != nil {
		b.Fatal(err)
	}
	w := &store.Wallet{ID: "w1", Name: "w1", Mode: store.ModeHD, Curve: CurveEd25519, PublicKey: make([]byte, 32), KeyVersion: 1, CreatedAt: now}
	err = st.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateWallet(ctx, w); err != nil {
			return err
		}
		if err := tx.PutRate(ctx, &store.Rate{Asset: "eth", EURPerUnit: "2500", Decimals: 18, UpdatedAt: now}); err != nil {
			return err
		}
		start := now.Add(-29 * 24 * time.Hour)
		for i := 0; i < 10_000; i++ {
			at := start.Add(time.Duration(i) * (29 * 24 * time.Hour / 10_000))
			if err := tx.AppendSpend(ctx, &store.SpendEntry{WalletID: w.ID, At: at, EURCents: 100, TransactionID: "t"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	tr, err := intent.NewTransfer(w.ID, "message", "eth", "0xabc", "1000000000000000000", "", "n")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		err := st.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
			ev, err := svc.evaluateTransfer(ctx, tx, w, tr)
			if err == nil && ev.decision.Counters.CountLastDay == 0 {
				b.Fatal("window is empty")
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
