package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/store"
)

// seed writes one wallet with one spend entry, one audit event and a
// setting: the state that a failed transaction must leave untouched.
func seed(t *testing.T, s store.Store) {
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		noErr(t, "CreateWallet", tx.CreateWallet(ctx, newWallet("w1", "one")))
		noErr(t, "AppendSpend", tx.AppendSpend(ctx, &store.SpendEntry{WalletID: "w1", At: t0, EURCents: 10, TransactionID: "t0"}))
		noErr(t, "AppendAudit", tx.AppendAudit(ctx, &audit.Event{ID: "e1", Time: t0, Category: audit.CategoryAdmin, Action: "seed", Actor: "system", Result: audit.ResultSuccess}))
		noErr(t, "PutSetting", tx.PutSetting(ctx, "k", "v1"))
		noErr(t, "CreateRequest", tx.CreateRequest(ctx, newRequest("r1")))
		return nil
	})
}

// writeEverything performs one write of each kind.
func writeEverything(ctx context.Context, t *testing.T, tx store.Tx) {
	noErr(t, "CreateUser", tx.CreateUser(ctx, newUser("u1", "alice")))
	noErr(t, "CreateWallet", tx.CreateWallet(ctx, newWallet("w2", "two")))
	noErr(t, "AppendSpend", tx.AppendSpend(ctx, &store.SpendEntry{WalletID: "w1", At: at(time.Hour), EURCents: 500, TransactionID: "t1"}))
	noErr(t, "AppendAudit", tx.AppendAudit(ctx, &audit.Event{ID: "e2", Time: t0, Category: audit.CategoryAdmin, Action: "doomed", Actor: "system", Result: audit.ResultSuccess}))
	noErr(t, "PutSetting", tx.PutSetting(ctx, "k", "v2"))
	noErr(t, "CreateTransaction", tx.CreateTransaction(ctx, newTransaction("t1")))
	noErr(t, "UpdateRequestStatus", tx.UpdateRequestStatus(ctx, "r1", store.RequestPending, store.RequestApproved, t0))
}

// checkSeedOnly checks that the store holds exactly what seed wrote.
func checkSeedOnly(t *testing.T, s store.Store) {
	t.Helper()
	ro(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetUser(ctx, "u1")
		wantErr(t, "GetUser", err, store.ErrNotFound)
		_, err = tx.GetWallet(ctx, "w2")
		wantErr(t, "GetWallet", err, store.ErrNotFound)
		sum, n, err := tx.SpendSince(ctx, "w1", time.Time{})
		noErr(t, "SpendSince", err)
		same(t, "SpendSince", [2]int64{sum, n}, [2]int64{10, 1})
		last, err := tx.LastSpend(ctx, "w1")
		noErr(t, "LastSpend", err)
		same(t, "LastSpend.Seq", last.Seq, int64(1))
		events, err := tx.ListAudit(ctx, 0, 0)
		noErr(t, "ListAudit", err)
		same(t, "len(ListAudit)", len(events), 1)
		v, err := tx.GetSetting(ctx, "k")
		noErr(t, "GetSetting", err)
		same(t, "GetSetting", v, "v1")
		_, err = tx.GetTransaction(ctx, "t1")
		wantErr(t, "GetTransaction", err, store.ErrNotFound)
		r, err := tx.GetRequest(ctx, "r1")
		noErr(t, "GetRequest", err)
		same(t, "request status", r.Status, store.RequestPending)
		return nil
	})
	// The heads rolled back too: the next appends continue the chain and
	// the ledger where seed left them.
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		e := &audit.Event{ID: "e3", Time: t0, Category: audit.CategoryAdmin, Action: "after", Actor: "system", Result: audit.ResultSuccess}
		noErr(t, "AppendAudit", tx.AppendAudit(ctx, e))
		same(t, "next audit Seq", e.Seq, int64(2))
		sp := &store.SpendEntry{WalletID: "w1", At: at(time.Minute), EURCents: 1, TransactionID: "t2"}
		noErr(t, "AppendSpend", tx.AppendSpend(ctx, sp))
		same(t, "next spend", [2]int64{sp.Seq, sp.CumEURCents}, [2]int64{2, 11})
		return nil
	})
	verifyChain(t, listAudit(t, s, 0, 0))
}

func testRollback(t *testing.T, s store.Store) {
	seed(t, s)
	errBoom := errors.New("boom")
	calls := 0
	err := s.ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		calls++
		writeEverything(ctx, t, tx)
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("ReadWriteTx returned %v, want f's error", err)
	}
	if calls != 1 {
		t.Fatalf("f called %d times after returning a non-retryable error", calls)
	}
	checkSeedOnly(t, s)
}

func testPanic(t *testing.T, s store.Store) {
	seed(t, s)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the panic to propagate", r)
			}
		}()
		s.ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
			writeEverything(ctx, t, tx)
			panic("boom")
		})
	}()
	checkSeedOnly(t, s) // also proves the writer is free again
}

// testConflictKeepsTxUsable: after ErrConflict or ErrNotFound the
// transaction goes on and commits (PostgreSQL must not be left in an
// aborted transaction). This is the idempotent-replay flow.
func testConflictKeepsTxUsable(t *testing.T, s store.Store) {
	first := newTransaction("t1")
	first.IdempotencyKey = "idem"
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		noErr(t, "CreateUser", tx.CreateUser(ctx, newUser("u1", "alice")))
		noErr(t, "CreateTransaction", tx.CreateTransaction(ctx, first))
		noErr(t, "CreateRequest", tx.CreateRequest(ctx, newRequest("r1")))
		noErr(t, "PutPolicy", tx.PutPolicy(ctx, &store.Policy{Version: 1, CreatedBy: "u1", CreatedAt: t0}))
		noErr(t, "CreateWallet", tx.CreateWallet(ctx, newWallet("w1", "one")))
		noErr(t, "CreateGuardian", tx.CreateGuardian(ctx, newGuardian("g1", "alpha", 0x11)))
		noErr(t, "CreateGuardianInvite", tx.CreateGuardianInvite(ctx, newInvite("i1", 0xc1, t0, at(time.Hour))))
		_, err := tx.ClaimGuardianInvite(ctx, filled(0xc1, 32), "g1", t0)
		noErr(t, "ClaimGuardianInvite", err)
		noErr(t, "CreateCeremony", tx.CreateCeremony(ctx, newCeremony("c1", "w1", t0)))
		return nil
	})
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		wantErr(t, "CreateGuardian", tx.CreateGuardian(ctx, newGuardian("g2", "bravo", 0x11)), store.ErrConflict)
		_, err := tx.ClaimGuardianInvite(ctx, filled(0xc1, 32), "g2", t0)
		wantErr(t, "ClaimGuardianInvite (used)", err, store.ErrConflict)
		_, err = tx.ClaimGuardianInvite(ctx, filled(0xcf, 32), "g2", t0)
		wantErr(t, "ClaimGuardianInvite (unknown)", err, store.ErrNotFound)
		wantErr(t, "CreateGuardianInvite", tx.CreateGuardianInvite(ctx, newInvite("i2", 0xc1, t0, at(time.Hour))), store.ErrConflict)
		wantErr(t, "CreateCeremony", tx.CreateCeremony(ctx, newCeremony("c2", "ghost", t0)), store.ErrNotFound)
		wantErr(t, "UpdateCeremony", tx.UpdateCeremony(ctx, newCeremony("c1", "w1", t0), store.CeremonyFailed), store.ErrConflict)
		wantErr(t, "UpdateWalletKey", tx.UpdateWalletKey(ctx, newWallet("w1", "one"), store.WalletPending), store.ErrConflict)
		noErr(t, "CreateGuardian after conflicts", tx.CreateGuardian(ctx, newGuardian("g2", "bravo", 0x12)))
		return nil
	})
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		replay := newTransaction("t2")
		replay.IdempotencyKey = "idem"
		wantErr(t, "CreateTransaction", tx.CreateTransaction(ctx, replay), store.ErrConflict)
		got, err := tx.GetTransactionByIdempotencyKey(ctx, "k1", "idem")
		noErr(t, "GetTransactionByIdempotencyKey after conflict", err)
		same(t, "replayed transaction", got.ID, "t1")
		wantErr(t, "CreateUser", tx.CreateUser(ctx, newUser("u9", "alice")), store.ErrConflict)
		wantErr(t, "UpdateRequestStatus", tx.UpdateRequestStatus(ctx, "r1", store.RequestApproved, store.RequestExecuted, t0), store.ErrConflict)
		wantErr(t, "PutPolicy", tx.PutPolicy(ctx, &store.Policy{Version: 1, CreatedBy: "u1", CreatedAt: t0}), store.ErrConflict)
		wantErr(t, "SetUserRole", tx.SetUserRole(ctx, "ghost", store.RoleAdmin), store.ErrNotFound)
		wantErr(t, "CreateSession", tx.CreateSession(ctx, &store.Session{TokenHash: filled(1, 32), UserID: "ghost", CreatedAt: t0, ExpiresAt: t0}), store.ErrNotFound)
		wantErr(t, "AddApproval", tx.AddApproval(ctx, &store.Approval{RequestID: "ghost", Revision: 1, ApproverID: "u1", Decision: "approve", CreatedAt: t0}), store.ErrNotFound)
		wantErr(t, "AppendSpend", tx.AppendSpend(ctx, &store.SpendEntry{WalletID: "ghost", At: t0, EURCents: 1, TransactionID: "t1"}), store.ErrNotFound)
		wantErr(t, "CreateWallet", tx.CreateWallet(ctx, newWallet("w2", "one")), store.ErrConflict)
		noErr(t, "AppendSpend after conflicts", tx.AppendSpend(ctx, &store.SpendEntry{WalletID: "w1", At: t0, EURCents: 1, TransactionID: "t1"}))
		_, err = tx.GetUser(ctx, "ghost")
		wantErr(t, "GetUser", err, store.ErrNotFound)
		noErr(t, "CreateUser after conflicts", tx.CreateUser(ctx, newUser("u2", "bob")))
		return nil
	})
	ro(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetUser(ctx, "u2")
		noErr(t, "GetUser(u2) committed after conflicts", err)
		_, err = tx.GetGuardian(ctx, "g2")
		noErr(t, "GetGuardian(g2) committed after conflicts", err)
		last, err := tx.LastSpend(ctx, "w1")
		noErr(t, "LastSpend", err)
		same(t, "spend committed after conflicts", last.Seq, int64(1))
		return nil
	})
}

func testReadOnly(t *testing.T, s store.Store) {
	seed(t, s)
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		noErr(t, "CreateUser", tx.CreateUser(ctx, newUser("u0", "zed")))
		noErr(t, "CreateAPIKey", tx.CreateAPIKey(ctx, &store.APIKey{ID: "k0", Prefix: "p0", OwnerUserID: "u0", CreatedAt: t0}))
		noErr(t, "CreateSession", tx.CreateSession(ctx, &store.Session{TokenHash: filled(1, 32), UserID: "u0", CreatedAt: t0, ExpiresAt: t0}))
		noErr(t, "CreateTransaction", tx.CreateTransaction(ctx, newTransaction("t0")))
		noErr(t, "CreateWallet", tx.CreateWallet(ctx, newFROSTWallet("w0", "frost")))
		noErr(t, "CreateGuardian", tx.CreateGuardian(ctx, newGuardian("g0", "alpha", 0x10)))
		noErr(t, "CreateGuardianInvite", tx.CreateGuardianInvite(ctx, newInvite("i0", 0xc0, t0, at(time.Hour))))
		noErr(t, "CreateCeremony", tx.CreateCeremony(ctx, newCeremony("c0", "w0", t0)))
		return nil
	})
	writes := map[string]func(ctx context.Context, tx store.Tx) error{
		"UpdateWalletKey": func(ctx context.Context, tx store.Tx) error {
			w := newFROSTWallet("w0", "frost")
			w.Status, w.PublicKey = store.WalletActive, filled(1, 32)
			return tx.UpdateWalletKey(ctx, w, store.WalletPending)
		},
		"CreateGuardian": func(ctx context.Context, tx store.Tx) error {
			return tx.CreateGuardian(ctx, newGuardian("g1", "bravo", 0x11))
		},
		"UpdateGuardian": func(ctx context.Context, tx store.Tx) error {
			g := newGuardian("g0", "alpha", 0x10)
			g.Status = store.GuardianRemoved
			return tx.UpdateGuardian(ctx, g)
		},
		"CreateGuardianInvite": func(ctx context.Context, tx store.Tx) error {
			return tx.CreateGuardianInvite(ctx, newInvite("i1", 0xc1, t0, at(time.Hour)))
		},
		"ClaimGuardianInvite": func(ctx context.Context, tx store.Tx) error {
			_, err := tx.ClaimGuardianInvite(ctx, filled(0xc0, 32), "g0", t0)
			return err
		},
		"CreateCeremony": func(ctx context.Context, tx store.Tx) error {
			return tx.CreateCeremony(ctx, newCeremony("c1", "w0", t0))
		},
		"UpdateCeremony": func(ctx context.Context, tx store.Tx) error {
			c := newCeremony("c0", "w0", t0)
			c.State = store.CeremonyCompleted
			return tx.UpdateCeremony(ctx, c, store.CeremonyRunning)
		},
		"CreateUser":      func(ctx context.Context, tx store.Tx) error { return tx.CreateUser(ctx, newUser("u1", "alice")) },
		"SetUserRole":     func(ctx context.Context, tx store.Tx) error { return tx.SetUserRole(ctx, "u0", store.RoleAdmin) },
		"SetApprovalKey":  func(ctx context.Context, tx store.Tx) error { return tx.SetApprovalKey(ctx, "u0", filled(2, 32)) },
		"SetPasswordHash": func(ctx context.Context, tx store.Tx) error { return tx.SetPasswordHash(ctx, "u0", "h") },
		"CreateSession": func(ctx context.Context, tx store.Tx) error {
			return tx.CreateSession(ctx, &store.Session{TokenHash: filled(3, 32), UserID: "u0"})
		},
		"DeleteSession":      func(ctx context.Context, tx store.Tx) error { return tx.DeleteSession(ctx, filled(1, 32)) },
		"DeleteUserSessions": func(ctx context.Context, tx store.Tx) error { return tx.DeleteUserSessions(ctx, "u0") },
		"CreateAPIKey": func(ctx context.Context, tx store.Tx) error {
			return tx.CreateAPIKey(ctx, &store.APIKey{ID: "k1", Prefix: "p1"})
		},
		"RevokeAPIKey":    func(ctx context.Context, tx store.Tx) error { return tx.RevokeAPIKey(ctx, "k0", t0) },
		"TouchAPIKey":     func(ctx context.Context, tx store.Tx) error { return tx.TouchAPIKey(ctx, "k0", t0) },
		"CreateWallet":    func(ctx context.Context, tx store.Tx) error { return tx.CreateWallet(ctx, newWallet("w2", "two")) },
		"SetWalletFrozen": func(ctx context.Context, tx store.Tx) error { return tx.SetWalletFrozen(ctx, "w1", true) },
		"PutRate": func(ctx context.Context, tx store.Tx) error {
			return tx.PutRate(ctx, &store.Rate{Asset: "eth", EURPerUnit: "1"})
		},
		"PutPolicy":     func(ctx context.Context, tx store.Tx) error { return tx.PutPolicy(ctx, &store.Policy{Version: 1}) },
		"PutSetting":    func(ctx context.Context, tx store.Tx) error { return tx.PutSetting(ctx, "k", "v2") },
		"CreateRequest": func(ctx context.Context, tx store.Tx) error { return tx.CreateRequest(ctx, newRequest("r2")) },
		"UpdateRequestStatus": func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateRequestStatus(ctx, "r1", store.RequestPending, store.RequestApproved, t0)
		},
		"UpdateRequestBinding": func(ctx context.Context, tx store.Tx) error {
			r := newRequest("r1")
			r.Revision = 2
			return tx.UpdateRequestBinding(ctx, r)
		},
		"UpdateRequestRequirement": func(ctx context.Context, tx store.Tx) error {
			r := newRequest("r1")
			r.Status = store.RequestApproved
			return tx.UpdateRequestRequirement(ctx, r, store.RequestPending)
		},
		"AddApproval": func(ctx context.Context, tx store.Tx) error {
			return tx.AddApproval(ctx, &store.Approval{RequestID: "r1", Revision: 1, ApproverID: "u0", Decision: "approve"})
		},
		"CreateTransaction": func(ctx context.Context, tx store.Tx) error { return tx.CreateTransaction(ctx, newTransaction("t1")) },
		"UpdateTransaction": func(ctx context.Context, tx store.Tx) error {
			x := newTransaction("t0")
			x.Status = store.TxApproved
			return tx.UpdateTransaction(ctx, x, store.TxPendingApproval)
		},
		"AppendSpend": func(ctx context.Context, tx store.Tx) error {
			return tx.AppendSpend(ctx, &store.SpendEntry{WalletID: "w1", At: t0, EURCents: 1, TransactionID: "x"})
		},
		"AppendAudit": func(ctx context.Context, tx store.Tx) error {
			return tx.AppendAudit(ctx, &audit.Event{ID: "e9", Time: t0, Action: "x"})
		},
	}
	for name, f := range writes {
		t.Run("fail/"+name, func(t *testing.T) {
			err := s.ReadTx(context.Background(), f)
			if err == nil {
				t.Fatalf("%s succeeded in a read-only transaction", name)
			}
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
				t.Fatalf("%s in a read-only transaction: %v; want a read-only error, not a data error", name, err)
			}
		})
	}
	t.Run("ok/nothing_written", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			users, err := tx.ListUsers(ctx)
			noErr(t, "ListUsers", err)
			same(t, "users", len(users), 1)
			u, err := tx.GetUser(ctx, "u0")
			noErr(t, "GetUser", err)
			same(t, "user", u, newUser("u0", "zed"))
			k, err := tx.GetAPIKey(ctx, "k0")
			noErr(t, "GetAPIKey", err)
			same(t, "api key revoked/used", [2]*time.Time{k.RevokedAt, k.LastUsedAt}, [2]*time.Time{nil, nil})
			_, err = tx.GetSession(ctx, filled(1, 32))
			noErr(t, "GetSession", err)
			w, err := tx.GetWallet(ctx, "w1")
			noErr(t, "GetWallet", err)
			same(t, "frozen", w.Frozen, false)
			_, err = tx.CurrentPolicy(ctx)
			wantErr(t, "CurrentPolicy", err, store.ErrNotFound)
			rates, err := tx.ListRates(ctx)
			noErr(t, "ListRates", err)
			same(t, "rates", len(rates), 0)
			approvals, err := tx.ListApprovals(ctx, "r1")
			noErr(t, "ListApprovals", err)
			same(t, "approvals", len(approvals), 0)
			x, err := tx.GetTransaction(ctx, "t0")
			noErr(t, "GetTransaction", err)
			same(t, "transaction status", x.Status, store.TxPendingApproval)
			w, err = tx.GetWallet(ctx, "w0")
			noErr(t, "GetWallet", err)
			same(t, "wallet", w, newFROSTWallet("w0", "frost"))
			g, err := tx.GetGuardian(ctx, "g0")
			noErr(t, "GetGuardian", err)
			same(t, "guardian", g, newGuardian("g0", "alpha", 0x10))
			gs, err := tx.ListGuardians(ctx)
			noErr(t, "ListGuardians", err)
			same(t, "guardians", len(gs), 1)
			invs, err := tx.ListGuardianInvites(ctx)
			noErr(t, "ListGuardianInvites", err)
			same(t, "invitations", invs, []*store.GuardianInvite{newInvite("i0", 0xc0, t0, at(time.Hour))})
			inv, err := tx.GuardianInviteByCode(ctx, filled(0xc0, 32))
			noErr(t, "GuardianInviteByCode", err)
			same(t, "invitation by code", inv, newInvite("i0", 0xc0, t0, at(time.Hour)))
			c, err := tx.GetCeremony(ctx, "c0")
			noErr(t, "GetCeremony", err)
			same(t, "ceremony", c, newCeremony("c0", "w0", t0))
			cs, err := tx.ListCeremonies(ctx, "")
			noErr(t, "ListCeremonies", err)
			same(t, "ceremonies", len(cs), 1)
			return nil
		})
		checkSeedOnly(t, s)
	})
}

// testSnapshot: a ReadTx does not see a write committed after its first
// read.
func testSnapshot(t *testing.T, s store.Store) {
	rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.PutSetting(ctx, "k", "v1") })
	ro(t, s, func(ctx context.Context, tx store.Tx) error {
		v, err := tx.GetSetting(ctx, "k")
		noErr(t, "GetSetting", err)
		same(t, "first read", v, "v1")
		done := make(chan error)
		go func() {
			done <- s.ReadWriteTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
				return tx.PutSetting(ctx, "k", "v2")
			})
		}()
		noErr(t, "concurrent ReadWriteTx", <-done)
		v, err = tx.GetSetting(ctx, "k")
		noErr(t, "GetSetting", err)
		same(t, "second read in the same snapshot", v, "v1")
		return nil
	})
	ro(t, s, func(ctx context.Context, tx store.Tx) error {
		v, err := tx.GetSetting(ctx, "k")
		noErr(t, "GetSetting", err)
		same(t, "read after", v, "v2")
		return nil
	})
}
