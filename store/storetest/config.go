package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/custos-dev/custos/store"
)

func testWallets(t *testing.T, s store.Store) {
	w1 := newWallet("w1", "treasury")
	w2 := &store.Wallet{ID: "w2", Name: "ops", Mode: store.ModeFROST, Curve: "ed25519", PublicKey: filled(0xe0, 32),
		KeyVersion: 3, Frozen: true, CreatedAt: at(-time.Hour), Status: store.WalletActive, Threshold: 3,
		Guardians: []string{"g5", "g1", "g4", "g2", "g3"}, GroupKey: b(`{"group":"e0e0","shares":{"1":"aa"}}`)} // no seed, no path, frozen
	w3 := &store.Wallet{ID: "w3", Name: "cold", Mode: store.ModeHardware, Curve: "secp256k1", CreatedAt: at(time.Hour),
		Guardians: []string{}} // empty status and guardians
	w4 := newFROSTWallet("w4", "pending")
	w4.CreatedAt = at(2 * time.Hour)
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, w := range []*store.Wallet{w1, w2, w3, w4} {
			noErr(t, "CreateWallet", tx.CreateWallet(ctx, w))
		}
		return nil
	})
	// An empty status is stored as active, an empty guardian list reads
	// back nil.
	w3.Status, w3.Guardians = store.WalletActive, nil
	t.Run("ok/get", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, want := range []*store.Wallet{w1, w2, w3, w4} {
				got, err := tx.GetWallet(ctx, want.ID)
				noErr(t, "GetWallet", err)
				same(t, "GetWallet", got, want)
			}
			return nil
		})
	})
	t.Run("ok/get_in_read_write_tx", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetWallet(ctx, "w1")
			noErr(t, "GetWallet", err)
			same(t, "GetWallet", got, w1)
			return nil
		})
	})
	t.Run("ok/list_by_created_at", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.ListWallets(ctx)
			noErr(t, "ListWallets", err)
			same(t, "ListWallets", got, []*store.Wallet{w2, w1, w3, w4})
			return nil
		})
	})
	t.Run("ok/freeze_unfreeze", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.SetWalletFrozen(ctx, "w1", true) })
		wantErr(t, "freeze twice", write(s, func(ctx context.Context, tx store.Tx) error { return tx.SetWalletFrozen(ctx, "w1", true) }), store.ErrConflict)
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetWallet(ctx, "w1")
			noErr(t, "GetWallet", err)
			same(t, "Frozen", got.Frozen, true)
			return nil
		})
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.SetWalletFrozen(ctx, "w1", false) })
		wantErr(t, "unfreeze twice", write(s, func(ctx context.Context, tx store.Tx) error { return tx.SetWalletFrozen(ctx, "w1", false) }), store.ErrConflict)
	})
	for _, tc := range []struct {
		name string
		f    func(ctx context.Context, tx store.Tx) error
		want error
	}{
		{"fail/duplicate_name", func(ctx context.Context, tx store.Tx) error { return tx.CreateWallet(ctx, newWallet("w9", "treasury")) }, store.ErrConflict},
		{"fail/duplicate_id", func(ctx context.Context, tx store.Tx) error { return tx.CreateWallet(ctx, newWallet("w1", "other")) }, store.ErrConflict},
		{"fail/get_missing", func(ctx context.Context, tx store.Tx) error { _, err := tx.GetWallet(ctx, "nope"); return err }, store.ErrNotFound},
		{"fail/freeze_missing", func(ctx context.Context, tx store.Tx) error { return tx.SetWalletFrozen(ctx, "nope", true) }, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.name, write(s, tc.f), tc.want)
		})
	}
}

// testWalletKeys: a FROST wallet leaving its key ceremony. The updates run
// in order; UpdateWalletKey writes Status, PublicKey and GroupKey only.
func testWalletKeys(t *testing.T, s store.Store) {
	w1 := newFROSTWallet("w1", "frost")
	w2 := newFROSTWallet("w2", "doomed")
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		noErr(t, "CreateWallet", tx.CreateWallet(ctx, w1))
		noErr(t, "CreateWallet", tx.CreateWallet(ctx, w2))
		return nil
	})
	get := func(t *testing.T, id string) *store.Wallet {
		return mustRead(t, s, "GetWallet", func(ctx context.Context, tx store.Tx) (*store.Wallet, error) { return tx.GetWallet(ctx, id) })
	}
	// key returns an update of base to status with keys; the fields it
	// scribbles over must not be written.
	key := func(base *store.Wallet, status store.WalletStatus, pub, group []byte) *store.Wallet {
		return &store.Wallet{ID: base.ID, Name: "renamed", Mode: store.ModeHD, Curve: "secp256k1", DerivationPath: "m/0",
			SealedSeed: filled(1, 8), KeyVersion: 7, Frozen: true, CreatedAt: at(time.Hour), Threshold: 9,
			Guardians: []string{"x"}, Status: status, PublicKey: pub, GroupKey: group}
	}
	stored := func(base *store.Wallet, status store.WalletStatus, pub, group []byte) *store.Wallet {
		w := *base
		w.Status, w.PublicKey, w.GroupKey = status, pub, group
		return &w
	}
	pub, group := filled(0xed, 32), b(`{"group":"eded","shares":{"1":"01","2":"02","3":"03"}}`)
	for _, tc := range []struct {
		name string
		w    *store.Wallet
		from store.WalletStatus
		want error
		got  *store.Wallet // stored afterwards
	}{
		{"fail/cas_mismatch", key(w1, store.WalletActive, pub, group), store.WalletActive, store.ErrConflict, w1},
		{"ok/activate", key(w1, store.WalletActive, pub, group), store.WalletPending, nil, stored(w1, store.WalletActive, pub, group)},
		{"fail/activate_twice", key(w1, store.WalletActive, filled(0xee, 32), group), store.WalletPending, store.ErrConflict,
			stored(w1, store.WalletActive, pub, group)},
		{"ok/fail_ceremony", key(w2, store.WalletFailed, nil, nil), store.WalletPending, nil, stored(w2, store.WalletFailed, nil, nil)},
		{"fail/failed_stays_failed", key(w2, store.WalletActive, pub, group), store.WalletPending, store.ErrConflict,
			stored(w2, store.WalletFailed, nil, nil)},
		{"fail/missing", key(&store.Wallet{ID: "nope"}, store.WalletActive, pub, group), store.WalletPending, store.ErrNotFound, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := write(s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateWalletKey(ctx, tc.w, tc.from) })
			checkErr(t, "UpdateWalletKey", err, tc.want)
			if tc.got != nil {
				same(t, "GetWallet after UpdateWalletKey", get(t, tc.w.ID), tc.got)
			}
		})
	}
}

func testRates(t *testing.T, s store.Store) {
	eth := &store.Rate{Asset: "eth", EURPerUnit: "2543.17", Decimals: 18, UpdatedAt: t0}
	btc := &store.Rate{Asset: "btc", EURPerUnit: "61234.5", Decimals: 8, UpdatedAt: t0}
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		noErr(t, "PutRate", tx.PutRate(ctx, eth))
		noErr(t, "PutRate", tx.PutRate(ctx, btc))
		return nil
	})
	t.Run("ok/get_and_list_by_asset", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetRate(ctx, "eth")
			noErr(t, "GetRate", err)
			same(t, "GetRate", got, eth)
			all, err := tx.ListRates(ctx)
			noErr(t, "ListRates", err)
			same(t, "ListRates", all, []*store.Rate{btc, eth})
			return nil
		})
	})
	t.Run("ok/replace", func(t *testing.T) {
		eth2 := &store.Rate{Asset: "eth", EURPerUnit: "2600.00", Decimals: 18, UpdatedAt: at(time.Minute)}
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutRate(ctx, eth2) })
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetRate(ctx, "eth")
			noErr(t, "GetRate", err)
			same(t, "GetRate", got, eth2)
			all, err := tx.ListRates(ctx)
			noErr(t, "ListRates", err)
			same(t, "len(ListRates)", len(all), 2)
			return nil
		})
	})
	t.Run("fail/get_missing", func(t *testing.T) {
		err := s.ReadTx(context.Background(), func(ctx context.Context, tx store.Tx) error { _, err := tx.GetRate(ctx, "doge"); return err })
		wantErr(t, "GetRate", err, store.ErrNotFound)
	})
}

func testPolicies(t *testing.T, s store.Store) {
	pol := func(v int64) *store.Policy {
		return &store.Policy{Version: v, Hash: filled(byte(v), 32), Document: b(`{"version":` + string(rune('0'+v)) + `}`),
			CreatedBy: "u1", CreatedAt: at(time.Duration(v) * time.Hour)}
	}
	t.Run("fail/none_yet", func(t *testing.T) {
		err := s.ReadTx(context.Background(), func(ctx context.Context, tx store.Tx) error { _, err := tx.CurrentPolicy(ctx); return err })
		wantErr(t, "CurrentPolicy", err, store.ErrNotFound)
	})
	for _, tc := range []struct {
		name    string
		version int64
		want    error
	}{
		{"fail/first_must_be_1", 2, store.ErrConflict},
		{"fail/version_0", 0, store.ErrConflict},
		{"ok/1", 1, nil},
		{"fail/1_again", 1, store.ErrConflict},
		{"fail/skip_to_3", 3, store.ErrConflict},
		{"ok/2", 2, nil},
		{"fail/back_to_1", 1, store.ErrConflict},
		{"ok/3", 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := write(s, func(ctx context.Context, tx store.Tx) error { return tx.PutPolicy(ctx, pol(tc.version)) })
			checkErr(t, "PutPolicy", err, tc.want)
		})
	}
	t.Run("ok/current_and_get", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.CurrentPolicy(ctx)
			noErr(t, "CurrentPolicy", err)
			same(t, "CurrentPolicy", got, pol(3))
			for v := int64(1); v <= 3; v++ {
				got, err := tx.GetPolicy(ctx, v)
				noErr(t, "GetPolicy", err)
				same(t, "GetPolicy", got, pol(v))
			}
			_, err = tx.GetPolicy(ctx, 4)
			wantErr(t, "GetPolicy(4)", err, store.ErrNotFound)
			return nil
		})
	})
}

func testSettings(t *testing.T, s store.Store) {
	t.Run("fail/unset", func(t *testing.T) {
		err := s.ReadTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetSetting(ctx, "emergency_stop")
			return err
		})
		wantErr(t, "GetSetting", err, store.ErrNotFound)
	})
	t.Run("ok/put_get_replace", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			noErr(t, "PutSetting", tx.PutSetting(ctx, "emergency_stop", "on"))
			noErr(t, "PutSetting", tx.PutSetting(ctx, "other", ""))
			return nil
		})
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutSetting(ctx, "emergency_stop", "off") })
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			v, err := tx.GetSetting(ctx, "emergency_stop")
			noErr(t, "GetSetting", err)
			same(t, "GetSetting", v, "off")
			v, err = tx.GetSetting(ctx, "other")
			noErr(t, "GetSetting", err)
			same(t, "GetSetting(empty value)", v, "")
			return nil
		})
	})
}
