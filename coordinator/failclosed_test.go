package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/store"
)

// brokenAudit is a store whose audit appends fail, as a full disk would.
type brokenAudit struct{ store.Store }

type brokenAuditTx struct{ store.Tx }

func (brokenAuditTx) AppendAudit(context.Context, *audit.Event) error {
	return errors.New("audit: disk full")
}

func (b brokenAudit) ReadWriteTx(ctx context.Context, f func(context.Context, store.Tx) error) error {
	return b.Store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error { return f(ctx, brokenAuditTx{tx}) })
}

func TestAuditFailureFailsTheOperation(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	tx := f.submit(f.api, f.ethW, "eth", "0xabc", eth(1)) // 2 approvals
	if _, err := f.vote("alice", tx.RequestID, approvals.Approve); err != nil {
		t.Fatal(err)
	}
	broken := testService(t, brokenAudit{f.st}, f.clock.Now)
	if _, _, err := broken.SubmitTransfer(ctx, f.api, coordinator.TransferInput{WalletID: f.ethW.ID, Chain: "message",
		Asset: "eth", To: "0xabc", Amount: "1"}, ""); code(err) != "audit_unavailable" {
		t.Fatalf("submit with a failing audit log: %v", err)
	}
	sig := f.sign("bob", tx.RequestID, approvals.Approve)
	if _, err := broken.Vote(ctx, f.users["bob"], tx.RequestID, approvals.Approve, sig); code(err) != "audit_unavailable" {
		t.Fatalf("vote with a failing audit log: %v", err)
	}
	if err := broken.FreezeWallet(ctx, f.users["tess"], f.ethW.ID); code(err) != "audit_unavailable" {
		t.Fatalf("freeze with a failing audit log: %v", err)
	}
	// Nothing was written: one transaction, one approval, wallet not frozen.
	list, _ := f.svc.ListTransactions(ctx, f.api, store.TransactionFilter{})
	v, _ := f.svc.GetRequest(ctx, f.users["victor"], tx.RequestID)
	w, _ := f.svc.GetWallet(ctx, f.users["victor"], f.ethW.ID)
	if len(list) != 1 || v.Tally.Approvals != 1 || w.Frozen {
		t.Fatalf("a failed audit write left changes: %d transactions, %d approvals, frozen %v", len(list), v.Tally.Approvals, w.Frozen)
	}
	// With the audit log back, the same vote goes through and signs.
	if _, err := f.svc.Vote(ctx, f.users["bob"], tx.RequestID, approvals.Approve, sig); err != nil {
		t.Fatal(err)
	}
	if got := f.tx(tx.ID); got.Status != store.TxSigned {
		t.Fatalf("status %s, want signed", got.Status)
	}
}

func TestWalletCreationIsApproved(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	if _, err := f.svc.CreateWallet(ctx, f.users["victor"], coordinator.WalletInput{Name: "x", Mode: "hd"}); code(err) != "forbidden" {
		t.Fatalf("viewer creating a wallet: %v", err)
	}
	for _, tc := range []struct {
		name string
		in   coordinator.WalletInput
		code string
	}{
		{"fail/mode", coordinator.WalletInput{Name: "x", Mode: "cold"}, "invalid_wallet"},
		{"fail/frost-without-guardians", coordinator.WalletInput{Name: "x", Mode: "frost"}, "invalid_wallet"},
		{"fail/shamir-not-yet", coordinator.WalletInput{Name: "x", Mode: "shamir"}, "unsupported_mode"},
		{"fail/curve", coordinator.WalletInput{Name: "x", Mode: "hd", Curve: "p256"}, "invalid_wallet"},
		{"fail/path", coordinator.WalletInput{Name: "x", Mode: "hd", Path: "m/44'/x"}, "invalid_wallet"},
		{"fail/ed25519-unhardened", coordinator.WalletInput{Name: "x", Mode: "hd", Curve: "ed25519", Path: "m/44'/501'/0"}, "invalid_wallet"},
		{"fail/no-name", coordinator.WalletInput{Mode: "hd"}, "invalid_wallet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.svc.CreateWallet(ctx, f.users["tess"], tc.in); code(err) != tc.code {
				t.Fatalf("err %v, want %s", err, tc.code)
			}
		})
	}
	v, err := f.svc.CreateWallet(ctx, f.users["tess"], coordinator.WalletInput{Name: "ops-sol", Mode: "hd", Curve: "ed25519"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Request.Status != store.RequestPending || v.Quorum.Approvals != 2 || v.Quorum.Roles["treasury_manager"] != 1 {
		t.Fatalf("wallet.create request %s quorum %+v", v.Request.Status, v.Quorum)
	}
	before, _ := f.svc.ListWallets(ctx, f.users["victor"])
	if _, err := f.vote("alice", v.Request.ID, approvals.Approve); err != nil {
		t.Fatal(err)
	}
	mid, _ := f.svc.ListWallets(ctx, f.users["victor"])
	if len(mid) != len(before) {
		t.Fatal("wallet created before the quorum")
	}
	// tess requested it, so a second treasury manager would be needed: make
	// ada (admin) the requester instead.
	v2, err := f.svc.CreateWallet(ctx, f.users["ada"], coordinator.WalletInput{Name: "ops-sol-2", Mode: "hd", Curve: "ed25519"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"alice", "tess"} {
		if _, err := f.vote(n, v2.Request.ID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := f.svc.ListWallets(ctx, f.users["victor"])
	if len(after) != len(before)+1 {
		t.Fatalf("%d wallets after approval, want %d", len(after), len(before)+1)
	}
	var w *store.Wallet
	for _, x := range after {
		if x.Name == "ops-sol-2" {
			w = x
		}
	}
	if w == nil || len(w.PublicKey) != 32 || w.SealedSeed == nil {
		t.Fatalf("new wallet %+v", w)
	}
	tx := f.submit(f.api, w, "sol", "recipient", "1000000000") // 1 SOL: EUR 150, 1 approval
	if _, err := f.vote("bob", tx.RequestID, approvals.Approve); err != nil {
		t.Fatal(err)
	}
	if got := f.tx(tx.ID); got.Status != store.TxSigned || coordinator.VerifySignature(w.Curve, w.PublicKey, got.Intent, got.Signature) != nil {
		t.Fatalf("transfer from the new wallet: %s", got.Status)
	}
}

func TestFreezeIsImmediateUnfreezeIsApproved(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	if err := f.svc.FreezeWallet(ctx, f.users["tess"], f.ethW.ID); err != nil {
		t.Fatal(err)
	}
	if tx := f.submit(f.api, f.ethW, "eth", "0xabc", "1000"); tx.Status != store.TxDenied {
		t.Fatalf("transfer from a frozen wallet: %s", tx.Status)
	}
	v, err := f.svc.UnfreezeWallet(ctx, f.users["ada"], f.ethW.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Request.Status != store.RequestPending {
		t.Fatalf("unfreeze request %s, want pending", v.Request.Status)
	}
	if tx := f.submit(f.api, f.ethW, "eth", "0xabc", "1000"); tx.Status != store.TxDenied {
		t.Fatalf("transfer while the unfreeze awaits approval: %s", tx.Status)
	}
	for _, n := range []string{"alice", "tess"} {
		if _, err := f.vote(n, v.Request.ID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
	}
	tx := f.submit(f.api, f.ethW, "eth", "0xabc", "1000") // a few wei: tier 0, 1 approval
	if tx.Status != store.TxPendingApproval {
		t.Fatalf("transfer after unfreezing: %s", tx.Status)
	}
}

func TestSweepExpiresAndResumes(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	old := f.submit(f.api, f.ethW, "eth", "0xabc", eth(1))
	f.clock.Advance(25 * time.Hour)
	if err := f.svc.BootstrapRate(ctx, coordinator.RateInput{Asset: "eth", EURPerUnit: "2500", Decimals: 18}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.tx(old.ID); got.Status != store.TxExpired {
		t.Fatalf("after the sweep: %s, want expired", got.Status)
	}
	// Approved state without valid votes (a tampered database): the sweep
	// refuses to sign and fails the transfer for good.
	forged := f.submit(f.api, f.ethW, "eth", "0xabc", "1000")
	markApproved(t, f, forged)
	if err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.tx(forged.ID); got.Status != store.TxDenied || got.Signature != nil {
		t.Fatalf("an approved request without valid approvals: %s, want denied and unsigned", got.Status)
	}
	// The vote that met the quorum committed, then the coordinator died
	// before signing: the sweep signs.
	tx := f.submit(f.api, f.ethW, "eth", "0xabc", "1000")
	v, _ := f.svc.GetRequest(ctx, f.users["victor"], tx.RequestID)
	err := f.st.ReadWriteTx(ctx, func(ctx context.Context, stx store.Tx) error {
		return stx.AddApproval(ctx, &store.Approval{RequestID: tx.RequestID, Revision: v.Request.Revision, ApproverID: f.users["bob"].ID,
			Decision: approvals.Approve, Fingerprint: v.Request.Fingerprint, PolicyHash: v.Request.PolicyHash,
			Signature: f.sign("bob", tx.RequestID, approvals.Approve), CreatedAt: f.clock.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	markApproved(t, f, tx)
	if err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.tx(tx.ID); got.Status != store.TxSigned {
		t.Fatalf("after the sweep: %s, want signed", got.Status)
	}
}

// markApproved moves a pending transfer and its request to approved.
func markApproved(t *testing.T, f *fixture, tx *store.Transaction) {
	t.Helper()
	err := f.st.ReadWriteTx(context.Background(), func(ctx context.Context, stx store.Tx) error {
		if err := stx.UpdateRequestStatus(ctx, tx.RequestID, store.RequestPending, store.RequestApproved, f.clock.Now()); err != nil {
			return err
		}
		c := *tx
		c.Status = store.TxApproved
		return stx.UpdateTransaction(ctx, &c, store.TxPendingApproval)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSweepFinishesStuckSigning(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	tx, signed := stuckInSigningWas(t, f)
	if err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.tx(tx.ID); got.Status != store.TxSigning {
		t.Fatalf("resumed before the grace period: %s", got.Status)
	}
	f.clock.Advance(coordinator.SigningGrace + time.Second)
	if err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	got := f.tx(tx.ID)
	if got.Status != store.TxSigned || string(got.Signature) != string(signed.Signature) {
		t.Fatalf("after the sweep: %s; the deterministic signature should be the same", got.Status)
	}
}

// forceApproved marks a pending request approved without votes, as a
// tampered database would.
func forceApproved(t *testing.T, f *fixture, requestID string) {
	t.Helper()
	err := f.st.ReadWriteTx(context.Background(), func(ctx context.Context, stx store.Tx) error {
		return stx.UpdateRequestStatus(ctx, requestID, store.RequestPending, store.RequestApproved, f.clock.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestActionsRunOnlyWithAValidCertificate(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	before, _ := f.svc.CurrentPolicy(ctx, f.users["tess"])
	doc := strings.Replace(string(before.Document), `"rate_max_age":"1h0m0s"`, `"rate_max_age":"9h0m0s"`, 1)
	pr, err := f.svc.ProposePolicy(ctx, f.users["ada"], []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	forceApproved(t, f, pr.Request.ID)
	if err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := f.svc.CurrentPolicy(ctx, f.users["tess"])
	v, _ := f.svc.GetRequest(ctx, f.users["victor"], pr.Request.ID)
	if after.Version != before.Version || v.Request.Status != store.RequestFailed {
		t.Fatalf("a policy change marked approved without votes: version %d -> %d, request %s", before.Version, after.Version, v.Request.Status)
	}
}

func TestActionFailureIsRecorded(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	if _, err := f.svc.CreateWallet(ctx, f.users["ada"], coordinator.WalletInput{Name: "eth", Mode: "hd"}); code(err) != "wallet_exists" {
		t.Fatalf("wallet.create with a taken name: %v", err)
	}
	v, err := f.svc.CreateWallet(ctx, f.users["ada"], coordinator.WalletInput{Name: "later", Mode: "hd"})
	if err != nil {
		t.Fatal(err)
	}
	// The name is taken after the request was filed.
	if _, err := f.svc.CreateWalletNow(ctx, "bootstrap", coordinator.WalletInput{Name: "later", Mode: "hd"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.vote("alice", v.Request.ID, approvals.Approve); err != nil {
		t.Fatal(err)
	}
	got, _ := f.vote("tess", v.Request.ID, approvals.Approve)
	if got == nil || got.Request.Status != store.RequestFailed {
		t.Fatalf("an action that cannot run: %+v, want failed", got)
	}
}

func TestResumeChecksAgainBeforeSigning(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	tx := stuckInSigning(t, f)
	if err := f.svc.FreezeWallet(ctx, f.users["tess"], f.ethW.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(coordinator.SigningGrace + time.Second)
	if err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.tx(tx.ID); got.Status != store.TxFailed || got.Signature != nil {
		t.Fatalf("resumed signing on a frozen wallet: %s", got.Status)
	}
}

// backToSigning puts a signed transfer back to signing without its
// signature, as if the coordinator died between reserving the spend and
// recording the signature. It returns the transaction as it was signed.
func backToSigning(t *testing.T, f *fixture, tx *store.Transaction) *store.Transaction {
	t.Helper()
	signed := f.tx(tx.ID)
	err := f.st.ReadWriteTx(context.Background(), func(ctx context.Context, stx store.Tx) error {
		if err := stx.UpdateRequestStatus(ctx, tx.RequestID, store.RequestExecuted, store.RequestApproved, f.clock.Now()); err != nil {
			return err
		}
		c := *signed
		c.Status, c.Signature, c.SignedAt = store.TxSigning, nil, nil
		return stx.UpdateTransaction(ctx, &c, store.TxSigned)
	})
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestPeriodicCheckpointIsSignedAndChained(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	auditor := &coordinator.Principal{Kind: "user", Role: "auditor"}
	before, _ := f.svc.ListAudit(ctx, auditor, 0, 0)
	if err := f.svc.PeriodicCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := f.svc.ListAudit(ctx, auditor, 0, 0)
	if len(after) != len(before)+1 {
		t.Fatalf("%d events after a checkpoint, want %d", len(after), len(before)+1)
	}
	e := after[len(after)-1]
	head := before[len(before)-1]
	if e.Action != "audit.checkpoint" || e.Metadata["seq"] != fmt.Sprint(head.Seq) || e.Metadata["head"] != fmt.Sprintf("%x", head.Hash) {
		t.Fatalf("checkpoint event %+v does not name the head %d %x", e, head.Seq, head.Hash)
	}
	pr, err := f.svc.AuditCheckpoint(ctx, auditor)
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := proof.Verify(pr, f.verifier)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := coordinator.ParseCheckpoint(stmt)
	if err != nil || cp.Seq != e.Seq || cp.Head != fmt.Sprintf("%x", e.Hash) {
		t.Fatalf("checkpoint %+v, want the head %d: %v", cp, e.Seq, err)
	}
}

func TestPasswordChangeEndsSessions(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	u, err := f.svc.CreateUser(ctx, f.users["ada"], "hana", "initial password 1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateUser(ctx, f.users["ada"], "\u0430lice", "initial password 1"); code(err) != "invalid_user" {
		t.Fatalf("look-alike name: %v", err)
	}
	// The administrator who chose the initial password logs in as hana.
	adminsToken, _, _, err := f.svc.Login(ctx, "hana", "initial password 1")
	if err != nil {
		t.Fatal(err)
	}
	hana, err := f.svc.Authenticate(ctx, adminsToken)
	if err != nil || hana.UserID != u.ID {
		t.Fatalf("authenticate: %v", err)
	}
	if err := f.svc.ChangePassword(ctx, hana, "wrong password!", "hana's own secret"); code(err) != "bad_credentials" {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := f.svc.ChangePassword(ctx, hana, "initial password 1", "hana's own secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, adminsToken); code(err) != "unauthenticated" {
		t.Fatalf("a session opened with the old password still works: %v", err)
	}
	if _, _, _, err := f.svc.Login(ctx, "hana", "hana's own secret"); err != nil {
		t.Fatal(err)
	}
	auditor := &coordinator.Principal{Kind: "user", Role: "auditor"}
	events, _ := f.svc.ListAudit(ctx, auditor, 0, 0)
	failed := 0
	for _, e := range events {
		if e.Action == "auth.password.change" && e.Result == "failure" {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d failed password changes audited, want 1", failed)
	}
}

func TestResumeRefusesAfterPolicyChange(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	tx := stuckInSigning(t, f)
	f.changePolicy()
	f.clock.Advance(coordinator.SigningGrace + time.Second)
	if err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.tx(tx.ID); got.Status != store.TxFailed || got.Signature != nil {
		t.Fatalf("resumed signing under a changed policy: %s", got.Status)
	}
}

// stuckInSigning makes a small transfer, approves and signs it, then puts
// it back to signing without its signature.
func stuckInSigning(t *testing.T, f *fixture) *store.Transaction {
	tx, _ := stuckInSigningWas(t, f)
	return tx
}

// stuckInSigningWas is stuckInSigning that also returns the transaction as
// it was signed.
func stuckInSigningWas(t *testing.T, f *fixture) (*store.Transaction, *store.Transaction) {
	t.Helper()
	tx := f.submit(f.api, f.ethW, "eth", "0xabc", "1000") // tier 0: 1 approval
	if _, err := f.vote("bob", tx.RequestID, approvals.Approve); err != nil {
		t.Fatal(err)
	}
	return tx, backToSigning(t, f, tx)
}
