package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/custos-dev/custos/store"
)

func newGuardian(id, name string, key byte) *store.Guardian {
	return &store.Guardian{ID: id, Name: name, IdentityKey: filled(key, 32), EncryptionKey: filled(key+0x80, 32),
		Endpoint: "https://" + name + ".guardians.example:8443", Status: store.GuardianActive, EnrolledAt: t0}
}

func newInvite(id string, code byte, created, expires time.Time) *store.GuardianInvite {
	return &store.GuardianInvite{ID: id, CodeHash: filled(code, 32), Name: "guardian-" + id, CreatedBy: "u-admin",
		CreatedAt: created, ExpiresAt: expires}
}

func newCeremony(id, walletID string, created time.Time) *store.Ceremony {
	return &store.Ceremony{ID: id, WalletID: walletID, State: store.CeremonyRunning, Round: "round1", Curve: "ed25519",
		Threshold: 2, Guardians: []string{"g1", "g2", "g3"}, Progress: b(`{"g1":"round1","g2":"round1","g3":"round1"}`),
		CreatedAt: created, UpdatedAt: created}
}

func newFROSTWallet(id, name string) *store.Wallet {
	return &store.Wallet{ID: id, Name: name, Mode: store.ModeFROST, Curve: "ed25519", KeyVersion: 1, CreatedAt: t0,
		Status: store.WalletPending, Threshold: 2, Guardians: []string{"g1", "g2", "g3"}}
}

func getGuardian(t *testing.T, s store.Store, id string) *store.Guardian {
	t.Helper()
	return mustRead(t, s, "GetGuardian", func(ctx context.Context, tx store.Tx) (*store.Guardian, error) { return tx.GetGuardian(ctx, id) })
}

// notSentinel checks that err is an error, but neither ErrNotFound nor
// ErrConflict: a refused write that is not a data conflict.
func notSentinel(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		t.Fatalf("%s: got error %v, want a plain error", what, err)
	}
}

func testGuardians(t *testing.T, s store.Store) {
	alpha := newGuardian("g1", "alpha", 0x11)
	alpha.LastSeenAt = ptr(at(time.Minute))
	alpha.Health = b(`{"version":"1.0.0","shares":2}`)
	bravo := newGuardian("g2", "bravo", 0x12)
	bravo.Status, bravo.StatusReason = store.GuardianQuarantined, "invalid signature share in session s-1"
	bravo.EnrolledAt = at(-time.Hour)
	charlie := newGuardian("g3", "charlie", 0x13)
	charlie.Status, charlie.StatusReason, charlie.Endpoint = store.GuardianRemoved, "decommissioned", ""
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, g := range []*store.Guardian{charlie, alpha, bravo} {
			noErr(t, "CreateGuardian", tx.CreateGuardian(ctx, g))
		}
		return nil
	})
	t.Run("ok/get", func(t *testing.T) {
		for _, want := range []*store.Guardian{alpha, bravo, charlie} {
			same(t, "GetGuardian", getGuardian(t, s, want.ID), want)
		}
	})
	t.Run("ok/get_in_read_write_tx", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetGuardian(ctx, "g2")
			noErr(t, "GetGuardian", err)
			same(t, "GetGuardian", got, bravo)
			return nil
		})
	})
	t.Run("ok/list_by_name", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.ListGuardians(ctx)
			noErr(t, "ListGuardians", err)
			same(t, "ListGuardians", got, []*store.Guardian{alpha, bravo, charlie})
			return nil
		})
	})
	t.Run("ok/update_writes_mutable_fields_only", func(t *testing.T) {
		upd := &store.Guardian{ID: "g2", Name: "renamed", IdentityKey: filled(0x99, 32), EncryptionKey: filled(0x98, 32),
			Endpoint: "https://bravo.example:9443", Status: store.GuardianActive, StatusReason: "released by u-admin",
			EnrolledAt: at(time.Hour), LastSeenAt: ptr(at(2 * time.Hour)), Health: b(`{"ok":true}`)}
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateGuardian(ctx, upd) })
		want := *bravo
		want.Endpoint, want.Status, want.StatusReason = upd.Endpoint, upd.Status, upd.StatusReason
		want.LastSeenAt, want.Health = upd.LastSeenAt, upd.Health
		same(t, "GetGuardian after update", getGuardian(t, s, "g2"), &want)
	})
	t.Run("ok/update_clears_optional_fields", func(t *testing.T) {
		upd := *alpha
		upd.LastSeenAt, upd.Health, upd.Status, upd.StatusReason = nil, nil, store.GuardianQuarantined, "unreachable"
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateGuardian(ctx, &upd) })
		same(t, "GetGuardian after update", getGuardian(t, s, "g1"), &upd)
	})
	for _, tc := range []struct {
		name string
		g    *store.Guardian
		want error
	}{
		{"fail/duplicate_id", newGuardian("g1", "delta", 0x21), store.ErrConflict},
		{"fail/duplicate_name", newGuardian("g9", "alpha", 0x22), store.ErrConflict},
		{"fail/duplicate_identity_key", func() *store.Guardian {
			g := newGuardian("g9", "delta", 0x23)
			g.IdentityKey = filled(0x11, 32) // alpha's
			return g
		}(), store.ErrConflict},
		{"fail/duplicate_encryption_key", func() *store.Guardian {
			g := newGuardian("g9", "delta", 0x24)
			g.EncryptionKey = filled(0x11+0x80, 32) // alpha's
			return g
		}(), store.ErrConflict},
		{"fail/key_of_removed_guardian", newGuardian("g9", "delta", 0x13), store.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.name, write(s, func(ctx context.Context, tx store.Tx) error { return tx.CreateGuardian(ctx, tc.g) }), tc.want)
		})
	}
	for _, tc := range []struct {
		name string
		f    func(ctx context.Context, tx store.Tx) error
		want error
	}{
		{"fail/get_missing", func(ctx context.Context, tx store.Tx) error { _, err := tx.GetGuardian(ctx, "nope"); return err }, store.ErrNotFound},
		{"fail/update_missing", func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateGuardian(ctx, newGuardian("nope", "x", 1))
		}, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.name, write(s, tc.f), tc.want)
		})
	}
	for _, tc := range []struct {
		name string
		edit func(g *store.Guardian)
	}{
		{"fail/no_identity_key", func(g *store.Guardian) { g.IdentityKey = nil }},
		{"fail/no_encryption_key", func(g *store.Guardian) { g.EncryptionKey = []byte{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGuardian("g9", "delta", 0x30)
			tc.edit(g)
			notSentinel(t, "CreateGuardian", write(s, func(ctx context.Context, tx store.Tx) error { return tx.CreateGuardian(ctx, g) }))
		})
	}
	t.Run("ok/failed_writes_changed_nothing", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.ListGuardians(ctx)
			noErr(t, "ListGuardians", err)
			same(t, "len(ListGuardians)", len(got), 3)
			return nil
		})
	})
}

func testGuardianInvites(t *testing.T, s store.Store) {
	i1 := newInvite("i1", 0xc1, t0, at(time.Hour))
	i2 := newInvite("i2", 0xc2, at(time.Minute), at(2*time.Hour))
	i3 := newInvite("i3", 0xc3, at(-time.Minute), at(time.Hour)) // used when created
	i3.UsedAt, i3.GuardianID = ptr(at(30*time.Second)), "g0"
	i4 := newInvite("i4", 0xc4, at(2*time.Minute), at(10*time.Minute))
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, inv := range []*store.GuardianInvite{i1, i2, i3, i4} {
			noErr(t, "CreateGuardianInvite", tx.CreateGuardianInvite(ctx, inv))
		}
		return nil
	})
	list := func(t *testing.T) []*store.GuardianInvite {
		return mustRead(t, s, "ListGuardianInvites", func(ctx context.Context, tx store.Tx) ([]*store.GuardianInvite, error) {
			return tx.ListGuardianInvites(ctx)
		})
	}
	t.Run("ok/list_newest_first", func(t *testing.T) {
		same(t, "ListGuardianInvites", list(t), []*store.GuardianInvite{i4, i2, i1, i3})
	})
	byCode := func(code []byte) (*store.GuardianInvite, error) {
		return readOne(s, func(ctx context.Context, tx store.Tx) (*store.GuardianInvite, error) {
			return tx.GuardianInviteByCode(ctx, code)
		})
	}
	// A lookup returns the invitation whatever its state (the caller
	// decides what a used or expired one means) and claims nothing.
	for _, tc := range []struct {
		name string
		code []byte
		want *store.GuardianInvite
		err  error
	}{
		{"ok/by_code_unused", filled(0xc2, 32), i2, nil},
		{"ok/by_code_used", filled(0xc3, 32), i3, nil},
		{"ok/by_code_expires_soon", filled(0xc4, 32), i4, nil},
		{"fail/by_code_unknown", filled(0xcf, 32), nil, store.ErrNotFound},
		{"fail/by_code_empty", nil, nil, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := byCode(tc.code)
			checkErr(t, "GuardianInviteByCode", err, tc.err)
			same(t, "GuardianInviteByCode (nil if it failed)", got, tc.want)
		})
	}
	t.Run("ok/by_code_claims_nothing", func(t *testing.T) {
		same(t, "ListGuardianInvites after lookups", list(t), []*store.GuardianInvite{i4, i2, i1, i3})
	})
	claimed := func(inv *store.GuardianInvite, by string, when time.Time) *store.GuardianInvite {
		c := *inv
		c.UsedAt, c.GuardianID = ptr(when), by
		return &c
	}
	// The claims run in order: a failed claim must leave the invitation
	// as it was (i4 is claimable after its failed claims).
	for _, tc := range []struct {
		name string
		code []byte
		by   string
		when time.Time
		want error
		got  *store.GuardianInvite // on success
	}{
		{"ok/claim", filled(0xc1, 32), "g1", at(30 * time.Minute), nil, claimed(i1, "g1", at(30*time.Minute))},
		{"fail/double_claim", filled(0xc1, 32), "g2", at(31 * time.Minute), store.ErrConflict, nil},
		{"fail/used_when_created", filled(0xc3, 32), "g2", at(time.Minute), store.ErrConflict, nil},
		{"fail/expired_at_expiry", filled(0xc4, 32), "g4", at(10 * time.Minute), store.ErrConflict, nil},
		{"fail/expired", filled(0xc4, 32), "g4", at(time.Hour), store.ErrConflict, nil},
		{"fail/unknown_code", filled(0xcf, 32), "g4", at(time.Minute), store.ErrNotFound, nil},
		{"fail/empty_code", nil, "g4", at(time.Minute), store.ErrNotFound, nil},
		{"ok/claim_just_before_expiry", filled(0xc4, 32), "g4", at(10*time.Minute - time.Microsecond), nil,
			claimed(i4, "g4", at(10*time.Minute-time.Microsecond))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *store.GuardianInvite
			err := write(s, func(ctx context.Context, tx store.Tx) error {
				var err error
				got, err = tx.ClaimGuardianInvite(ctx, tc.code, tc.by, tc.when)
				return err
			})
			checkErr(t, "ClaimGuardianInvite", err, tc.want)
			same(t, "ClaimGuardianInvite (nil if it failed)", got, tc.got)
		})
	}
	t.Run("ok/claims_stored", func(t *testing.T) {
		same(t, "ListGuardianInvites", list(t), []*store.GuardianInvite{
			claimed(i4, "g4", at(10*time.Minute-time.Microsecond)), i2, claimed(i1, "g1", at(30*time.Minute)), i3})
		got, err := byCode(filled(0xc1, 32))
		noErr(t, "GuardianInviteByCode (claimed)", err)
		same(t, "GuardianInviteByCode (claimed)", got, claimed(i1, "g1", at(30*time.Minute)))
	})
	for _, tc := range []struct {
		name string
		inv  *store.GuardianInvite
		want error
	}{
		{"fail/duplicate_id", newInvite("i1", 0xd1, t0, at(time.Hour)), store.ErrConflict},
		{"fail/duplicate_code", newInvite("i9", 0xc2, t0, at(time.Hour)), store.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.name, write(s, func(ctx context.Context, tx store.Tx) error { return tx.CreateGuardianInvite(ctx, tc.inv) }), tc.want)
		})
	}
	t.Run("fail/no_code_hash", func(t *testing.T) {
		inv := newInvite("i9", 0, t0, at(time.Hour))
		inv.CodeHash = nil
		notSentinel(t, "CreateGuardianInvite", write(s, func(ctx context.Context, tx store.Tx) error { return tx.CreateGuardianInvite(ctx, inv) }))
		same(t, "len(ListGuardianInvites)", len(list(t)), 4)
	})
}

func testCeremonies(t *testing.T, s store.Store) {
	c1 := newCeremony("c1", "w1", t0)
	c2 := newCeremony("c2", "w1", at(time.Hour)) // failed, every field set
	c2.State, c2.Round, c2.Transcript, c2.Blamed = store.CeremonyFailed, "round2", filled(0x7c, 32), "g2"
	c2.Error, c2.UpdatedAt = "guardian g2 sent an invalid round-2 share to g1", at(2*time.Hour)
	c3 := newCeremony("c3", "w2", at(30*time.Minute)) // completed, no guardians, no progress
	c3.State, c3.Round, c3.Curve, c3.Threshold, c3.Guardians, c3.Progress = store.CeremonyCompleted, "done", "secp256k1", 1, []string{}, nil
	c4 := newCeremony("c4", "w2", at(time.Hour)) // created with c2: id breaks the tie
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		noErr(t, "CreateWallet", tx.CreateWallet(ctx, newWallet("w1", "one")))
		noErr(t, "CreateWallet", tx.CreateWallet(ctx, newFROSTWallet("w2", "two")))
		for _, c := range []*store.Ceremony{c3, c1, c4, c2} {
			noErr(t, "CreateCeremony", tx.CreateCeremony(ctx, c))
		}
		return nil
	})
	c3.Guardians = nil // an empty list reads back nil
	get := func(t *testing.T, id string) *store.Ceremony {
		return mustRead(t, s, "GetCeremony", func(ctx context.Context, tx store.Tx) (*store.Ceremony, error) { return tx.GetCeremony(ctx, id) })
	}
	t.Run("ok/get", func(t *testing.T) {
		for _, want := range []*store.Ceremony{c1, c2, c3, c4} {
			same(t, "GetCeremony", get(t, want.ID), want)
		}
	})
	t.Run("ok/get_in_read_write_tx", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetCeremony(ctx, "c2")
			noErr(t, "GetCeremony", err)
			same(t, "GetCeremony", got, c2)
			return nil
		})
	})
	for _, tc := range []struct {
		name   string
		wallet string
		want   []*store.Ceremony
	}{
		{"ok/list_all_newest_first", "", []*store.Ceremony{c2, c4, c3, c1}},
		{"ok/list_wallet_w1", "w1", []*store.Ceremony{c2, c1}},
		{"ok/list_wallet_w2", "w2", []*store.Ceremony{c4, c3}},
		{"ok/list_unknown_wallet", "nope", []*store.Ceremony{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro(t, s, func(ctx context.Context, tx store.Tx) error {
				got, err := tx.ListCeremonies(ctx, tc.wallet)
				noErr(t, "ListCeremonies", err)
				same(t, "ListCeremonies", got, tc.want)
				return nil
			})
		})
	}
	running := func(t *testing.T, want []*store.Ceremony) {
		t.Helper()
		for name, tx := range map[string]func(testing.TB, store.Store, func(context.Context, store.Tx) error){"read": ro, "read-write": rw} {
			tx(t, s, func(ctx context.Context, tx store.Tx) error {
				got, err := tx.ListRunningCeremonies(ctx)
				noErr(t, "ListRunningCeremonies in a "+name+" transaction", err)
				same(t, "ListRunningCeremonies in a "+name+" transaction", got, want)
				return nil
			})
		}
	}
	t.Run("ok/list_running_oldest_first", func(t *testing.T) {
		running(t, []*store.Ceremony{c1, c4}) // not c2 (failed) nor c3 (completed)
	})
	// The updates run in order against c1; only State, Round, Transcript,
	// Blamed, Error, Progress and UpdatedAt are written.
	step := func(state store.CeremonyState, round string, d time.Duration, edit func(c *store.Ceremony)) *store.Ceremony {
		c := *c1
		c.WalletID, c.Curve, c.Threshold, c.Guardians, c.CreatedAt = "w2", "secp256k1", 9, []string{"x"}, at(time.Hour) // ignored
		c.State, c.Round, c.UpdatedAt = state, round, at(d)
		if edit != nil {
			edit(&c)
		}
		return &c
	}
	stored := func(c *store.Ceremony) *store.Ceremony {
		want := *c
		want.WalletID, want.Curve, want.Threshold, want.Guardians, want.CreatedAt = c1.WalletID, c1.Curve, c1.Threshold, c1.Guardians, c1.CreatedAt
		return &want
	}
	for _, tc := range []struct {
		name string
		c    *store.Ceremony
		from store.CeremonyState
		want error
	}{
		{"ok/progress_within_state", step(store.CeremonyRunning, "round2", time.Minute, func(c *store.Ceremony) {
			c.Transcript, c.Progress = filled(0x7d, 32), b(`{"g1":"round2"}`)
		}), store.CeremonyRunning, nil},
		{"fail/cas_mismatch", step(store.CeremonyFailed, "round2", 2*time.Minute, func(c *store.Ceremony) { c.Error = "late" }),
			store.CeremonyCompleted, store.ErrConflict},
		{"ok/complete", step(store.CeremonyCompleted, "done", 3*time.Minute, func(c *store.Ceremony) {
			c.Transcript, c.Progress, c.Blamed, c.Error = filled(0x7d, 32), nil, "", ""
		}), store.CeremonyRunning, nil},
		{"fail/complete_twice", step(store.CeremonyCompleted, "done", 4*time.Minute, nil), store.CeremonyRunning, store.ErrConflict},
		{"fail/update_missing", newCeremony("nope", "w1", t0), store.CeremonyRunning, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := get(t, "c1")
			err := write(s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateCeremony(ctx, tc.c, tc.from) })
			checkErr(t, "UpdateCeremony", err, tc.want)
			if tc.want != nil {
				same(t, "c1 after a failed update", get(t, "c1"), before)
				return
			}
			same(t, "GetCeremony after update", get(t, tc.c.ID), stored(tc.c))
		})
	}
	t.Run("ok/list_running_follows_updates", func(t *testing.T) {
		// c1 completed above; c5 ties with c4 (the id breaks the tie)
		// and c6 is older than both.
		c5, c6 := newCeremony("c5", "w1", at(time.Hour)), newCeremony("c6", "w2", at(-time.Hour))
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			noErr(t, "CreateCeremony", tx.CreateCeremony(ctx, c5))
			noErr(t, "CreateCeremony", tx.CreateCeremony(ctx, c6))
			return nil
		})
		running(t, []*store.Ceremony{c6, c4, c5})
		failed := *c5
		failed.State, failed.Error, failed.UpdatedAt = store.CeremonyFailed, "abandoned", at(2*time.Hour)
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateCeremony(ctx, &failed, store.CeremonyRunning)
		})
		running(t, []*store.Ceremony{c6, c4})
	})
	for _, tc := range []struct {
		name string
		f    func(ctx context.Context, tx store.Tx) error
		want error
	}{
		{"fail/duplicate_id", func(ctx context.Context, tx store.Tx) error {
			return tx.CreateCeremony(ctx, newCeremony("c1", "w2", t0))
		}, store.ErrConflict},
		{"fail/unknown_wallet", func(ctx context.Context, tx store.Tx) error {
			return tx.CreateCeremony(ctx, newCeremony("c9", "nope", t0))
		}, store.ErrNotFound},
		{"fail/get_missing", func(ctx context.Context, tx store.Tx) error { _, err := tx.GetCeremony(ctx, "nope"); return err }, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.name, write(s, tc.f), tc.want)
		})
	}
}
