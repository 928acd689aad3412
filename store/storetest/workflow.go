package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/custos-dev/custos/store"
)

func testRequests(t *testing.T, s store.Store) {
	r1 := newRequest("r1")
	r2 := newRequest("r2")
	r2.Action, r2.CreatedAt, r2.UpdatedAt = "wallet.create", at(time.Minute), at(time.Minute)
	r2.Payload, r2.Requirement, r2.PolicyHash = nil, nil, nil // optional bytes absent
	r3 := newRequest("r3")
	r3.CreatedAt, r3.Status = at(2*time.Minute), store.RequestRejected
	r4 := newRequest("r4") // same CreatedAt as r1: id breaks the tie
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, r := range []*store.Request{r1, r2, r3, r4} {
			noErr(t, "CreateRequest", tx.CreateRequest(ctx, r))
		}
		return nil
	})
	t.Run("ok/get", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, want := range []*store.Request{r1, r2, r3} {
				got, err := tx.GetRequest(ctx, want.ID)
				noErr(t, "GetRequest", err)
				same(t, "GetRequest", got, want)
			}
			return nil
		})
		rw(t, s, func(ctx context.Context, tx store.Tx) error { // locking read path
			got, err := tx.GetRequest(ctx, "r1")
			noErr(t, "GetRequest", err)
			same(t, "GetRequest in read-write tx", got, r1)
			return nil
		})
	})
	t.Run("ok/list", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			f    store.RequestFilter
			want []*store.Request
		}{
			{"all_newest_first", store.RequestFilter{}, []*store.Request{r3, r2, r1, r4}},
			{"status", store.RequestFilter{Status: store.RequestPending}, []*store.Request{r2, r1, r4}},
			{"action", store.RequestFilter{Action: "transfer"}, []*store.Request{r3, r1, r4}},
			{"status_and_action", store.RequestFilter{Status: store.RequestPending, Action: "transfer"}, []*store.Request{r1, r4}},
			{"limit", store.RequestFilter{Limit: 2}, []*store.Request{r3, r2}},
			// Oldest first: r1 and r4 share a CreatedAt, the id orders them.
			{"oldest_first", store.RequestFilter{Oldest: true}, []*store.Request{r1, r4, r2, r3}},
			{"oldest_page_1", store.RequestFilter{Oldest: true, Limit: 1}, []*store.Request{r1}},
			{"oldest_page_2_tie", store.RequestFilter{Oldest: true, Limit: 1, After: store.Cursor{CreatedAt: r1.CreatedAt, ID: r1.ID}}, []*store.Request{r4}},
			{"oldest_page_3", store.RequestFilter{Oldest: true, Limit: 1, After: store.Cursor{CreatedAt: r4.CreatedAt, ID: r4.ID}}, []*store.Request{r2}},
			{"oldest_after_last", store.RequestFilter{Oldest: true, After: store.Cursor{CreatedAt: r3.CreatedAt, ID: r3.ID}}, []*store.Request{}},
			{"oldest_pending_after_cursor", store.RequestFilter{Oldest: true, Status: store.RequestPending, After: store.Cursor{CreatedAt: r1.CreatedAt, ID: r1.ID}}, []*store.Request{r4, r2}},
			// Newest first: the cursor continues in that order, ties by id.
			{"newest_page_2", store.RequestFilter{Limit: 2, After: store.Cursor{CreatedAt: r3.CreatedAt, ID: r3.ID}}, []*store.Request{r2, r1}},
			{"newest_page_3_tie", store.RequestFilter{Limit: 2, After: store.Cursor{CreatedAt: r1.CreatedAt, ID: r1.ID}}, []*store.Request{r4}},
			{"newest_pending_after_cursor", store.RequestFilter{Status: store.RequestPending, After: store.Cursor{CreatedAt: r2.CreatedAt, ID: r2.ID}}, []*store.Request{r1, r4}},
			{"none", store.RequestFilter{Status: store.RequestExpired}, []*store.Request{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ro(t, s, func(ctx context.Context, tx store.Tx) error {
					got, err := tx.ListRequests(ctx, tc.f)
					noErr(t, "ListRequests", err)
					same(t, "ListRequests", got, tc.want)
					return nil
				})
			})
		}
	})
	t.Run("ok/update_status", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateRequestStatus(ctx, "r1", store.RequestPending, store.RequestApproved, at(time.Hour))
		})
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetRequest(ctx, "r1")
			noErr(t, "GetRequest", err)
			want := *r1
			want.Status, want.UpdatedAt = store.RequestApproved, at(time.Hour)
			same(t, "GetRequest", got, &want)
			return nil
		})
	})
	t.Run("ok/update_binding", func(t *testing.T) {
		nb := *r2
		nb.Payload, nb.Fingerprint, nb.PolicyVersion, nb.PolicyHash = b(`{"new":1}`), filled(0xf9, 32), 4, filled(0xb4, 32)
		nb.EURCents, nb.Requirement, nb.Revision, nb.UpdatedAt = 99, b(`{"approvals":3}`), 2, at(time.Hour)
		nb.Action, nb.RequesterID, nb.ExpiresAt = "ignored", "ignored", at(99*time.Hour) // not part of the binding
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateRequestBinding(ctx, &nb) })
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetRequest(ctx, "r2")
			noErr(t, "GetRequest", err)
			want := nb
			want.Action, want.RequesterID, want.ExpiresAt = r2.Action, r2.RequesterID, r2.ExpiresAt
			same(t, "GetRequest", got, &want)
			return nil
		})
	})
	t.Run("ok/update_requirement", func(t *testing.T) {
		nr := *r2
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			cur, err := tx.GetRequest(ctx, "r2")
			noErr(t, "GetRequest", err)
			nr = *cur
			return nil
		})
		nr.Status, nr.Requirement, nr.EURCents, nr.UpdatedAt = store.RequestApproved, b(`{"approvals":4}`), 777, at(2*time.Hour)
		changed := nr
		changed.Fingerprint, changed.Payload, changed.PolicyHash = filled(0x01, 32), b(`{"x":1}`), filled(0x02, 32) // not written
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateRequestRequirement(ctx, &changed, store.RequestPending)
		})
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetRequest(ctx, "r2")
			noErr(t, "GetRequest", err)
			same(t, "GetRequest", got, &nr)
			return nil
		})
		wantErr(t, "UpdateRequestRequirement from the wrong status", write(s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateRequestRequirement(ctx, &nr, store.RequestPending)
		}), store.ErrConflict)
		stale := nr
		stale.Revision--
		wantErr(t, "UpdateRequestRequirement at the wrong revision", write(s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateRequestRequirement(ctx, &stale, store.RequestApproved)
		}), store.ErrConflict)
		// Put it back to pending for the cases below.
		nr.Status = store.RequestPending
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateRequestRequirement(ctx, &nr, store.RequestApproved)
		})
	})
	bind := func(id string, rev int64) func(ctx context.Context, tx store.Tx) error {
		return func(ctx context.Context, tx store.Tx) error {
			r := newRequest(id)
			r.Revision = rev
			return tx.UpdateRequestBinding(ctx, r)
		}
	}
	for _, tc := range []struct {
		name string
		f    func(ctx context.Context, tx store.Tx) error
		want error
	}{
		{"fail/duplicate_id", func(ctx context.Context, tx store.Tx) error { return tx.CreateRequest(ctx, newRequest("r1")) }, store.ErrConflict},
		{"fail/get_missing", func(ctx context.Context, tx store.Tx) error { _, err := tx.GetRequest(ctx, "nope"); return err }, store.ErrNotFound},
		{"fail/status_from_wrong_status", func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateRequestStatus(ctx, "r1", store.RequestPending, store.RequestRejected, t0) // r1 is approved
		}, store.ErrConflict},
		{"fail/status_missing", func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateRequestStatus(ctx, "nope", store.RequestPending, store.RequestApproved, t0)
		}, store.ErrNotFound},
		{"fail/binding_same_revision", bind("r2", 2), store.ErrConflict}, // r2 is at revision 2 now
		{"fail/binding_skips_revision", bind("r2", 4), store.ErrConflict},
		{"fail/binding_not_pending", bind("r3", 2), store.ErrConflict}, // r3 is rejected at revision 1
		{"fail/binding_missing", bind("nope", 2), store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.name, write(s, tc.f), tc.want)
		})
	}
	t.Run("ok/failed_updates_changed_nothing", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetRequest(ctx, "r3")
			noErr(t, "GetRequest", err)
			same(t, "GetRequest", got, r3)
			got, err = tx.GetRequest(ctx, "r2")
			noErr(t, "GetRequest", err)
			same(t, "Revision", got.Revision, int64(2))
			return nil
		})
	})
}

func testApprovals(t *testing.T, s store.Store) {
	appr := func(approver string, rev int64, created time.Duration) *store.Approval {
		return &store.Approval{RequestID: "r1", Revision: rev, ApproverID: approver, Decision: "approve",
			Fingerprint: filled(0xf1, 32), PolicyHash: filled(0xb3, 32), Signature: filled(0x5a, 64), CreatedAt: at(created)}
	}
	a1 := appr("u2", 1, time.Minute)
	a2 := appr("u1", 1, time.Minute) // same time as a1: approver id breaks the tie
	a3 := appr("u3", 1, 0)
	a3.Decision = "reject"
	a4 := appr("u2", 2, 0) // same approver, next revision
	a4.Signature, a4.Assertion, a4.Reason = nil, []byte(`{"credential_id":"AQ"}`), "checked with the supplier by phone"
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		noErr(t, "CreateRequest", tx.CreateRequest(ctx, newRequest("r1")))
		for _, a := range []*store.Approval{a1, a2, a3, a4} {
			noErr(t, "AddApproval", tx.AddApproval(ctx, a))
		}
		return nil
	})
	t.Run("ok/list", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.ListApprovals(ctx, "r1")
			noErr(t, "ListApprovals", err)
			same(t, "ListApprovals", got, []*store.Approval{a3, a2, a1, a4})
			got, err = tx.ListApprovals(ctx, "other")
			noErr(t, "ListApprovals(other)", err)
			same(t, "ListApprovals(other)", got, []*store.Approval{})
			return nil
		})
	})
	t.Run("fail/duplicate", func(t *testing.T) {
		dup := appr("u2", 1, time.Hour)
		dup.Decision = "reject"
		wantErr(t, "AddApproval", write(s, func(ctx context.Context, tx store.Tx) error { return tx.AddApproval(ctx, dup) }), store.ErrConflict)
	})
	t.Run("fail/unknown_request", func(t *testing.T) {
		a := appr("u1", 1, 0)
		a.RequestID = "nope"
		wantErr(t, "AddApproval", write(s, func(ctx context.Context, tx store.Tx) error { return tx.AddApproval(ctx, a) }), store.ErrNotFound)
	})
}

func testTransactions(t *testing.T, s store.Store) {
	x1 := newTransaction("t1")
	x1.IdempotencyKey, x1.RequestID = "idem-1", "r1"
	x2 := newTransaction("t2") // no idempotency key, no request
	x2.CreatedAt, x2.UpdatedAt, x2.Status = at(time.Minute), at(time.Minute), store.TxDenied
	x2.Decision, x2.FailureReason = b(`{"decision":"deny","proof":"..."}`), "over daily limit"
	x3 := newTransaction("t3") // also no key: empty keys never conflict
	x3.CreatedAt, x3.WalletID, x3.Memo, x3.BodyHash, x3.Intent = at(2*time.Minute), "w2", "", nil, nil
	x3.Asset = "sol"
	x4 := newTransaction("t4")                                          // signed, every optional field set
	x4.ClientID, x4.IdempotencyKey, x4.RequestID = "k2", "idem-1", "r4" // same key, other client
	x4.Status, x4.Signature, x4.SignedAt = store.TxSigned, filled(0x51, 65), ptr(at(time.Hour))
	x4.Decision, x4.FailureReason = b(`{}`), ""
	rw(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, x := range []*store.Transaction{x1, x2, x3, x4} {
			noErr(t, "CreateTransaction", tx.CreateTransaction(ctx, x))
		}
		return nil
	})
	t.Run("ok/get", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, want := range []*store.Transaction{x1, x2, x3, x4} {
				got, err := tx.GetTransaction(ctx, want.ID)
				noErr(t, "GetTransaction", err)
				same(t, "GetTransaction", got, want)
			}
			got, err := tx.GetTransactionByIdempotencyKey(ctx, "k1", "idem-1")
			noErr(t, "GetTransactionByIdempotencyKey", err)
			same(t, "GetTransactionByIdempotencyKey", got, x1)
			got, err = tx.GetTransactionByIdempotencyKey(ctx, "k2", "idem-1")
			noErr(t, "GetTransactionByIdempotencyKey", err)
			same(t, "GetTransactionByIdempotencyKey", got, x4)
			got, err = tx.GetTransactionByRequest(ctx, "r4")
			noErr(t, "GetTransactionByRequest", err)
			same(t, "GetTransactionByRequest", got, x4)
			return nil
		})
		rw(t, s, func(ctx context.Context, tx store.Tx) error { // locking read paths
			got, err := tx.GetTransaction(ctx, "t1")
			noErr(t, "GetTransaction", err)
			same(t, "GetTransaction", got, x1)
			got, err = tx.GetTransactionByIdempotencyKey(ctx, "k1", "idem-1")
			noErr(t, "GetTransactionByIdempotencyKey", err)
			same(t, "GetTransactionByIdempotencyKey", got, x1)
			got, err = tx.GetTransactionByRequest(ctx, "r1")
			noErr(t, "GetTransactionByRequest", err)
			same(t, "GetTransactionByRequest", got, x1)
			return nil
		})
	})
	t.Run("ok/list", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			f    store.TransactionFilter
			want []*store.Transaction
		}{
			{"all_newest_first", store.TransactionFilter{}, []*store.Transaction{x3, x2, x1, x4}},
			{"wallet", store.TransactionFilter{WalletID: "w1"}, []*store.Transaction{x2, x1, x4}},
			{"status", store.TransactionFilter{Status: store.TxPendingApproval}, []*store.Transaction{x3, x1}},
			{"wallet_and_status", store.TransactionFilter{WalletID: "w1", Status: store.TxPendingApproval}, []*store.Transaction{x1}},
			{"asset", store.TransactionFilter{Asset: "sol"}, []*store.Transaction{x3}},
			{"asset_and_status", store.TransactionFilter{Asset: "eth", Status: store.TxPendingApproval}, []*store.Transaction{x1}},
			{"limit", store.TransactionFilter{Limit: 3}, []*store.Transaction{x3, x2, x1}},
			{"oldest_first_page", store.TransactionFilter{Oldest: true, Limit: 2, After: store.Cursor{CreatedAt: x2.CreatedAt, ID: x2.ID}}, []*store.Transaction{x3}},
			{"newest_first_page", store.TransactionFilter{Limit: 2, After: store.Cursor{CreatedAt: x2.CreatedAt, ID: x2.ID}}, []*store.Transaction{x1, x4}},
			{"newest_wallet_page", store.TransactionFilter{WalletID: "w1", Limit: 1, After: store.Cursor{CreatedAt: x1.CreatedAt, ID: x1.ID}}, []*store.Transaction{x4}},
			{"none", store.TransactionFilter{WalletID: "w9"}, []*store.Transaction{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ro(t, s, func(ctx context.Context, tx store.Tx) error {
					got, err := tx.ListTransactions(ctx, tc.f)
					noErr(t, "ListTransactions", err)
					same(t, "ListTransactions", got, tc.want)
					return nil
				})
			})
		}
	})
	t.Run("ok/update", func(t *testing.T) {
		u := *x1
		u.Status, u.Decision, u.Signature, u.SignedAt = store.TxSigned, b(`{"proof":2}`), filled(0x99, 64), ptr(at(3*time.Hour))
		u.FailureReason, u.Fingerprint, u.UpdatedAt = "none", filled(0xfa, 32), at(3*time.Hour)
		u.Amount, u.To, u.Memo, u.Nonce, u.Intent, u.EURCents = "77", "0xnew", "amended", "n2", b(`{"amended":1}`), 4242
		ignored := u
		// Identity and idempotency fields never change.
		ignored.RequestID, ignored.ClientID, ignored.IdempotencyKey, ignored.BodyHash = "r9", "k9", "idem-9", filled(0x01, 32)
		ignored.WalletID, ignored.Chain, ignored.Asset, ignored.CreatedAt = "w9", "other", "doge", at(9*time.Hour)
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateTransaction(ctx, &ignored, store.TxPendingApproval)
		})
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetTransaction(ctx, "t1")
			noErr(t, "GetTransaction", err)
			same(t, "GetTransaction", got, &u)
			return nil
		})
		// Clearing optional fields.
		c := u
		c.Status, c.Signature, c.SignedAt, c.Decision, c.FailureReason = store.TxFailed, nil, nil, nil, "guardian timeout"
		rw(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UpdateTransaction(ctx, &c, store.TxSigned) })
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetTransaction(ctx, "t1")
			noErr(t, "GetTransaction", err)
			same(t, "GetTransaction", got, &c)
			return nil
		})
	})
	for _, tc := range []struct {
		name string
		f    func(ctx context.Context, tx store.Tx) error
		want error
	}{
		{"fail/duplicate_id", func(ctx context.Context, tx store.Tx) error { return tx.CreateTransaction(ctx, newTransaction("t1")) }, store.ErrConflict},
		{"fail/duplicate_idempotency_key", func(ctx context.Context, tx store.Tx) error {
			x := newTransaction("t9")
			x.IdempotencyKey = "idem-1" // client k1
			return tx.CreateTransaction(ctx, x)
		}, store.ErrConflict},
		{"fail/second_transaction_for_request", func(ctx context.Context, tx store.Tx) error {
			x := newTransaction("t9")
			x.RequestID = "r1"
			return tx.CreateTransaction(ctx, x)
		}, store.ErrConflict},
		{"fail/get_missing", func(ctx context.Context, tx store.Tx) error { _, err := tx.GetTransaction(ctx, "nope"); return err }, store.ErrNotFound},
		{"fail/get_by_key_missing", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetTransactionByIdempotencyKey(ctx, "k1", "idem-2")
			return err
		}, store.ErrNotFound},
		{"fail/get_by_key_other_client", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetTransactionByIdempotencyKey(ctx, "k3", "idem-1")
			return err
		}, store.ErrNotFound},
		{"fail/get_by_empty_key", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetTransactionByIdempotencyKey(ctx, "k1", "")
			return err
		}, store.ErrNotFound},
		{"fail/get_by_request_missing", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetTransactionByRequest(ctx, "r9")
			return err
		}, store.ErrNotFound},
		{"fail/get_by_empty_request", func(ctx context.Context, tx store.Tx) error {
			_, err := tx.GetTransactionByRequest(ctx, "")
			return err
		}, store.ErrNotFound},
		{"fail/update_from_wrong_status", func(ctx context.Context, tx store.Tx) error {
			x := newTransaction("t2") // t2 is denied
			x.Status = store.TxApproved
			return tx.UpdateTransaction(ctx, x, store.TxPendingApproval)
		}, store.ErrConflict},
		{"fail/update_missing", func(ctx context.Context, tx store.Tx) error {
			return tx.UpdateTransaction(ctx, newTransaction("nope"), store.TxPendingApproval)
		}, store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.name, write(s, tc.f), tc.want)
		})
	}
	t.Run("ok/empty_keys_never_conflict", func(t *testing.T) {
		rw(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, id := range []string{"t10", "t11", "t12"} {
				noErr(t, "CreateTransaction", tx.CreateTransaction(ctx, newTransaction(id)))
			}
			return nil
		})
	})
	t.Run("ok/failed_writes_changed_nothing", func(t *testing.T) {
		ro(t, s, func(ctx context.Context, tx store.Tx) error {
			got, err := tx.GetTransaction(ctx, "t2")
			noErr(t, "GetTransaction", err)
			same(t, "GetTransaction", got, x2)
			_, err = tx.GetTransaction(ctx, "t9")
			wantErr(t, "GetTransaction(t9)", err, store.ErrNotFound)
			return nil
		})
	})
}
