package coordinator_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/hd"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/sqlite"
)

// clock is an adjustable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a coordinator with demo staff, rates and two HD wallets.
type fixture struct {
	t        *testing.T
	svc      *coordinator.Service
	st       store.Store
	clock    *clock
	keys     map[string]ed25519.PrivateKey
	users    map[string]*coordinator.Principal
	api      *coordinator.Principal // API key principal owned by the admin
	ethW     *store.Wallet
	solW     *store.Wallet
	verifier map[string]ed25519.PublicKey
}

func seedKey(name string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("test approval key " + name))
	return ed25519.NewKeyFromSeed(s[:])
}

// template is a seeded database built once per test binary: staff with
// argon2id password hashes are slow to make, so each test copies the file.
var template struct {
	once sync.Once
	err  error
	dir  string
	*seeded
}

// seeded is what seed created.
type seeded struct {
	users  map[string]*coordinator.Principal
	apiKey string
	ethW   *store.Wallet
	solW   *store.Wallet
}

var testStart = time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC) // a Wednesday

func testService(t testing.TB, st store.Store, now func() time.Time) *coordinator.Service {
	kek, err := seal.NewKEK(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := proof.NewSigner(seedKey("decision"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := coordinator.New(coordinator.Config{Store: st, KEK: kek, DecisionKey: signer, Now: now,
		Passkeys: coordinator.PasskeyConfig{Origin: testOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func buildTemplate(t testing.TB) {
	template.once.Do(func() {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "custos-coordinator-test-")
		if err != nil {
			template.err = err
			return
		}
		template.dir = dir
		st, err := sqlite.Open(ctx, filepath.Join(dir, "template.db"))
		if err != nil {
			template.err = err
			return
		}
		defer st.Close()
		template.seeded, template.err = seed(ctx, testService(t, st, func() time.Time { return testStart }))
	})
	if template.err != nil {
		t.Fatal(template.err)
	}
}

func seed(ctx context.Context, svc *coordinator.Service) (*seeded, error) {
	sd := &seeded{users: map[string]*coordinator.Principal{}}
	for _, u := range []struct{ name, role string }{
		{"ada", store.RoleAdmin}, {"tess", store.RoleTreasuryManager}, {"alice", store.RoleApprover},
		{"bob", store.RoleApprover}, {"carol", store.RoleApprover}, {"dave", store.RoleApprover}, {"victor", store.RoleViewer},
	} {
		var pub ed25519.PublicKey
		if u.role == store.RoleApprover || u.role == store.RoleTreasuryManager {
			pub = seedKey(u.name).Public().(ed25519.PublicKey)
		}
		created, err := svc.BootstrapUser(ctx, u.name, u.role, "correct horse battery staple", pub)
		if err != nil {
			return nil, err
		}
		sd.users[u.name] = &coordinator.Principal{Kind: "user", ID: created.ID, UserID: created.ID, Name: u.name, Role: u.role}
	}
	key, err := svc.BootstrapAPIKey(ctx, sd.users["ada"].ID, "payments", []string{"transactions:write", "transactions:read", "wallets:read", "approvals:read"})
	if err != nil {
		return nil, err
	}
	sd.apiKey = key.Reveal()
	for _, r := range []coordinator.RateInput{{Asset: "eth", EURPerUnit: "2500", Decimals: 18}, {Asset: "sol", EURPerUnit: "150", Decimals: 9}} {
		if err := svc.BootstrapRate(ctx, r); err != nil {
			return nil, err
		}
	}
	if sd.ethW, err = svc.CreateWalletNow(ctx, "bootstrap", coordinator.WalletInput{Name: "eth", Mode: "hd", Curve: "secp256k1"}); err != nil {
		return nil, err
	}
	if sd.solW, err = svc.CreateWalletNow(ctx, "bootstrap", coordinator.WalletInput{Name: "sol", Mode: "hd", Curve: "ed25519"}); err != nil {
		return nil, err
	}
	return sd, nil
}

func newFixture(t *testing.T, policyJSON string) *fixture {
	t.Helper()
	buildTemplate(t)
	path := filepath.Join(t.TempDir(), "custos.db")
	data, err := os.ReadFile(filepath.Join(template.dir, "template.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newFixtureOn(t, st, policyJSON, template.seeded)
}

// newFixtureOn wraps a store seeded by seed.
func newFixtureOn(t *testing.T, st store.Store, policyJSON string, sd *seeded) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: testStart}
	svc := testService(t, st, clk.Now)
	doc := policy.Default()
	if policyJSON != "" {
		var err error
		if doc, err = policy.Parse([]byte(policyJSON)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.InitPolicy(ctx, doc); err != nil {
		t.Fatal(err)
	}
	dk := seedKey("decision").Public().(ed25519.PublicKey)
	f := &fixture{t: t, svc: svc, st: st, clock: clk, keys: map[string]ed25519.PrivateKey{}, users: maps.Clone(sd.users),
		ethW: sd.ethW, solW: sd.solW, verifier: map[string]ed25519.PublicKey{proof.KeyID(dk): dk}}
	for name, p := range sd.users {
		if p.Role == store.RoleApprover || p.Role == store.RoleTreasuryManager {
			f.keys[name] = seedKey(name)
		}
	}
	var err error
	if f.api, err = svc.Authenticate(ctx, sd.apiKey); err != nil {
		t.Fatal(err)
	}
	return f
}

// eth returns n whole ETH in wei.
func eth(n int64) string { return fmt.Sprintf("%d000000000000000000", n) }

func (f *fixture) submit(p *coordinator.Principal, w *store.Wallet, asset, to, amount string) *store.Transaction {
	f.t.Helper()
	t, _, err := f.svc.SubmitTransfer(context.Background(), p, coordinator.TransferInput{WalletID: w.ID, Chain: "message",
		Asset: asset, To: to, Amount: amount}, "")
	if err != nil {
		f.t.Fatalf("submit: %v", err)
	}
	return t
}

// sign makes name's vote on request id as the request stands now.
func (f *fixture) sign(name, requestID, decision string) []byte {
	f.t.Helper()
	v, err := f.svc.GetRequest(context.Background(), f.users["victor"], requestID)
	if err != nil {
		f.t.Fatal(err)
	}
	return ed25519.Sign(f.keys[name], approvals.Message(v.Binding(), decision))
}

func (f *fixture) vote(name, requestID, decision string) (*coordinator.RequestView, error) {
	return f.svc.Vote(context.Background(), f.users[name], requestID, decision, f.sign(name, requestID, decision))
}

func code(err error) string {
	var e *coordinator.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return fmt.Sprint(err)
}

func (f *fixture) tx(id string) *store.Transaction {
	f.t.Helper()
	t, err := f.svc.GetTransaction(context.Background(), f.users["victor"], id)
	if err != nil {
		f.t.Fatal(err)
	}
	return t
}

func TestFourApprovalsSignEURFifteenThousand(t *testing.T) {
	for _, curve := range []string{"secp256k1", "ed25519"} {
		t.Run(curve, func(t *testing.T) {
			f := newFixture(t, "")
			w, asset, amount := f.ethW, "eth", eth(6) // 6 ETH x EUR 2,500 = EUR 15,000
			if curve == "ed25519" {
				w, asset, amount = f.solW, "sol", "100000000000" // 100 SOL x EUR 150 = EUR 15,000
			}
			// Submitted by carol (a staff member), so her own approval must be refused.
			tx := f.submit(f.users["carol"], w, asset, "0xBeneficiary", amount)
			if tx.Status != store.TxPendingApproval || tx.EURCents != 1_500_000 {
				t.Fatalf("status %s, EUR cents %d; want pending_approval at 1500000", tx.Status, tx.EURCents)
			}
			req := tx.RequestID
			if _, err := f.vote("carol", req, approvals.Approve); code(err) != "self_approval" {
				t.Fatalf("requester's own approval: %v, want self_approval", err)
			}
			for _, name := range []string{"alice", "bob", "dave"} {
				v, err := f.vote(name, req, approvals.Approve)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if v.Request.Status != store.RequestPending {
					t.Fatalf("after %s: request %s, want pending", name, v.Request.Status)
				}
			}
			if _, err := f.vote("alice", req, approvals.Approve); code(err) != "duplicate_vote" {
				t.Fatalf("duplicate approval: %v, want duplicate_vote", err)
			}
			v, _ := f.svc.GetRequest(context.Background(), f.users["victor"], req)
			if v.Tally.Approvals != 3 || v.Tally.QuorumMet {
				t.Fatalf("3 approvers: tally %+v, want 3 approvals and no quorum", v.Tally)
			}
			if got := f.tx(tx.ID); got.Status != store.TxPendingApproval || got.Signature != nil {
				t.Fatalf("3 approvals signed: %s", got.Status)
			}
			if _, err := f.vote("tess", req, approvals.Approve); err != nil {
				t.Fatal(err)
			}
			got := f.tx(tx.ID)
			if got.Status != store.TxSigned {
				t.Fatalf("after 4th approval: %s (%s)", got.Status, got.FailureReason)
			}
			switch curve {
			case "ed25519":
				if !ed25519.Verify(w.PublicKey, got.Intent, got.Signature) {
					t.Fatal("crypto/ed25519 rejects the signature")
				}
			case "secp256k1":
				if !hd.VerifySecp256k1(w.PublicKey, got.Intent, got.Signature) {
					t.Fatal("secp256k1 ECDSA rejects the signature")
				}
			}
			// The signature is over this transaction's intent and nothing else.
			if coordinator.VerifySignature(w.Curve, w.PublicKey, append([]byte{}, got.Intent[1:]...), got.Signature) == nil {
				t.Fatal("signature verifies over another message")
			}
			f.checkProof(got, policy.OutcomeApprovalRequired)
		})
	}
}

func (f *fixture) checkProof(t *store.Transaction, outcome string) *coordinator.Statement {
	f.t.Helper()
	p, err := proof.Parse(t.Decision)
	if err != nil {
		f.t.Fatal(err)
	}
	b, err := proof.Verify(p, f.verifier)
	if err != nil {
		f.t.Fatal(err)
	}
	st, err := coordinator.ParseStatement(b)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := st.CheckFingerprint(); err != nil {
		f.t.Fatal(err)
	}
	if st.TransactionID != t.ID || (outcome != "" && st.Outcome != outcome) {
		f.t.Fatalf("proof statement %+v, want transaction %s outcome %s", st, t.ID, outcome)
	}
	return st
}

func TestDeniedTransfersAreNeverSigned(t *testing.T) {
	const strict = `{
	  "timezone": "Europe/Berlin", "rate_max_age": "1h",
	  "actions": {"transfer": {"expiry": "24h", "tiers": [{"up_to_eur": "1000", "approvals": 0}, {"approvals": 1}]}},
	  "spending": {"*": {"per_transaction_eur": "50000", "allowed_hours": {"from": 8, "to": 18},
	    "allowlist": [{"chain": "message", "address": "0xgood"}, {"chain": "message", "address": "0xold", "expires_at": "2026-01-01T00:00:00Z"}]}}
	}`
	for _, tc := range []struct {
		name   string
		setup  func(f *fixture)
		to     string
		amount string
		reason string
	}{
		{name: "fail/per-transaction-cap", to: "0xgood", amount: eth(21), reason: policy.ReasonPerTransactionCap},
		{name: "fail/outside-hours", to: "0xgood", amount: "1000", reason: policy.ReasonOutsideAllowedHours,
			setup: func(f *fixture) { f.clock.Advance(10 * time.Hour) }}, // 20:00 UTC = 21:00 Berlin
		{name: "fail/not-allowlisted", to: "0xstranger", amount: "1000", reason: policy.ReasonNotAllowlisted},
		{name: "fail/allowlist-expired", to: "0xold", amount: "1000", reason: policy.ReasonAllowlistEntryExpired},
		{name: "fail/frozen", to: "0xgood", amount: "1000", reason: policy.ReasonWalletFrozen,
			setup: func(f *fixture) {
				if err := f.svc.FreezeWallet(context.Background(), f.users["tess"], f.ethW.ID); err != nil {
					f.t.Fatal(err)
				}
			}},
		{name: "fail/stale-rate", to: "0xgood", amount: "1000", reason: policy.ReasonRateStale,
			setup: func(f *fixture) { f.clock.Advance(61 * time.Minute) }},
		{name: "fail/emergency-stop", to: "0xgood", amount: "1000", reason: policy.ReasonEmergencyStop,
			setup: func(f *fixture) {
				if _, err := f.svc.EmergencyStop(context.Background(), f.users["tess"], true); err != nil {
					f.t.Fatal(err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, strict)
			if tc.setup != nil {
				tc.setup(f)
			}
			tx := f.submit(f.api, f.ethW, "eth", tc.to, tc.amount)
			if tx.Status != store.TxDenied || tx.RequestID != "" || tx.Signature != nil {
				t.Fatalf("status %s request %q: want denied without a request", tx.Status, tx.RequestID)
			}
			st := f.checkProof(tx, policy.OutcomeDeny)
			found := false
			for _, r := range st.Reasons {
				found = found || r.Code == tc.reason
			}
			if !found {
				t.Fatalf("reasons %+v do not include %s", st.Reasons, tc.reason)
			}
		})
	}
	t.Run("ok/allowed-auto-signed", func(t *testing.T) {
		f := newFixture(t, strict)
		tx := f.submit(f.api, f.ethW, "eth", "0xGOOD", "1000")
		if tx.Status != store.TxSigned || !hd.VerifySecp256k1(f.ethW.PublicKey, tx.Intent, tx.Signature) {
			t.Fatalf("status %s: want signed with a valid signature", tx.Status)
		}
	})
}

func TestApprovalBinding(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	a := f.submit(f.api, f.ethW, "eth", "0xaaa", eth(1)) // EUR 2,500: 2 approvals
	b := f.submit(f.api, f.ethW, "eth", "0xaaa", eth(1))
	if a.Status != store.TxPendingApproval || b.Status != store.TxPendingApproval {
		t.Fatalf("statuses %s %s", a.Status, b.Status)
	}
	t.Run("fail/replay-on-another-request", func(t *testing.T) {
		sig := f.sign("alice", a.RequestID, approvals.Approve)
		if _, err := f.svc.Vote(ctx, f.users["alice"], b.RequestID, approvals.Approve, sig); code(err) != "bad_signature" {
			t.Fatalf("replayed approval: %v, want bad_signature", err)
		}
	})
	t.Run("fail/someone-elses-key", func(t *testing.T) {
		sig := f.sign("bob", a.RequestID, approvals.Approve) // bob's key, alice's session
		if _, err := f.svc.Vote(ctx, f.users["alice"], a.RequestID, approvals.Approve, sig); code(err) != "bad_signature" {
			t.Fatalf("approval signed with another key: %v, want bad_signature", err)
		}
	})
	t.Run("fail/other-decision", func(t *testing.T) {
		sig := f.sign("alice", a.RequestID, approvals.Reject)
		if _, err := f.svc.Vote(ctx, f.users["alice"], a.RequestID, approvals.Approve, sig); code(err) != "bad_signature" {
			t.Fatalf("reject signature used as approval: %v", err)
		}
	})
	t.Run("fail/not-an-approver", func(t *testing.T) {
		if _, err := f.svc.Vote(ctx, f.users["victor"], a.RequestID, approvals.Approve, make([]byte, 64)); code(err) != "forbidden" {
			t.Fatalf("viewer vote: %v", err)
		}
	})
	t.Run("ok/rejection-ends-request", func(t *testing.T) {
		v, err := f.vote("dave", b.RequestID, approvals.Reject)
		if err != nil {
			t.Fatal(err)
		}
		if v.Request.Status != store.RequestRejected || f.tx(b.ID).Status != store.TxRejected {
			t.Fatalf("after a rejection: request %s tx %s", v.Request.Status, f.tx(b.ID).Status)
		}
		if _, err := f.vote("alice", b.RequestID, approvals.Approve); code(err) != "request_not_pending" {
			t.Fatalf("vote on a rejected request: %v", err)
		}
	})
	t.Run("ok/policy-change-voids-approvals", func(t *testing.T) {
		if _, err := f.vote("alice", a.RequestID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
		old := f.sign("bob", a.RequestID, approvals.Approve) // signed over the old policy
		f.changePolicy()                                     // transfer tiers unchanged, a new hash
		v, err := f.svc.GetRequest(ctx, f.users["victor"], a.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Tally.Approvals != 0 || v.Request.Revision != 2 {
			t.Fatalf("after the policy change: %d approvals at revision %d; want 0 at 2", v.Tally.Approvals, v.Request.Revision)
		}
		if _, err := f.svc.Vote(ctx, f.users["bob"], a.RequestID, approvals.Approve, old); code(err) != "bad_signature" {
			t.Fatalf("approval over the old policy: %v, want bad_signature", err)
		}
	})
}

// changePolicy has ada propose, and alice and tess approve, a policy that
// differs from the current one only in rate_max_age (1h becomes 2h).
func (f *fixture) changePolicy() {
	f.t.Helper()
	ctx := context.Background()
	cur, err := f.svc.CurrentPolicy(ctx, f.users["tess"])
	if err != nil {
		f.t.Fatal(err)
	}
	doc := strings.Replace(string(cur.Document), `"rate_max_age":"1h0m0s"`, `"rate_max_age":"2h0m0s"`, 1)
	pr, err := f.svc.ProposePolicy(ctx, f.users["ada"], []byte(doc))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, n := range []string{"alice", "tess"} {
		if _, err := f.vote(n, pr.Request.ID, approvals.Approve); err != nil {
			f.t.Fatalf("%s approving the policy change: %v", n, err)
		}
	}
	if pv, _ := f.svc.GetRequest(ctx, f.users["victor"], pr.Request.ID); pv.Request.Status != store.RequestExecuted {
		f.t.Fatalf("policy change request is %s, tally %+v", pv.Request.Status, pv.Tally)
	}
}

func TestIdempotentSubmission(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	in := coordinator.TransferInput{WalletID: f.ethW.ID, Chain: "message", Asset: "eth", To: "0xabc", Amount: eth(1)}
	first, created, err := f.svc.SubmitTransfer(ctx, f.api, in, "key-1")
	if err != nil || !created {
		t.Fatalf("first: %v created=%v", err, created)
	}
	again, created, err := f.svc.SubmitTransfer(ctx, f.api, in, "key-1")
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("replay: %v created=%v id %s vs %s", err, created, again.ID, first.ID)
	}
	in.Amount = eth(2)
	if _, _, err := f.svc.SubmitTransfer(ctx, f.api, in, "key-1"); code(err) != "idempotency_key_reused" {
		t.Fatalf("same key, other body: %v", err)
	}
	// Concurrent identical submissions give one transaction.
	in.Amount = eth(1)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx, _, err := f.svc.SubmitTransfer(ctx, f.api, in, "key-2")
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = tx.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent identical submissions made two transactions: %v", ids)
		}
	}
	list, _ := f.svc.ListTransactions(ctx, f.api, store.TransactionFilter{})
	if len(list) != 2 {
		t.Fatalf("%d transactions, want 2", len(list))
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	before, _ := f.svc.ListAudit(ctx, &coordinator.Principal{Kind: "user", Role: "auditor"}, 0, 0)
	for _, tc := range []struct {
		name string
		in   coordinator.TransferInput
		code string
	}{
		{"fail/negative", coordinator.TransferInput{WalletID: f.ethW.ID, Chain: "message", Asset: "eth", To: "x", Amount: "-5"}, "invalid_intent"},
		{"fail/fraction", coordinator.TransferInput{WalletID: f.ethW.ID, Chain: "message", Asset: "eth", To: "x", Amount: "1.5"}, "invalid_intent"},
		{"fail/unknown-wallet", coordinator.TransferInput{WalletID: "nope", Chain: "message", Asset: "eth", To: "x", Amount: "5"}, "unknown_wallet"},
		{"fail/unsupported-chain", coordinator.TransferInput{WalletID: f.ethW.ID, Chain: "dogecoin", Asset: "eth", To: "x", Amount: "5"}, "unsupported_chain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := f.svc.SubmitTransfer(ctx, f.api, tc.in, ""); code(err) != tc.code {
				t.Fatalf("err %v, want %s", err, tc.code)
			}
		})
	}
	after, _ := f.svc.ListAudit(ctx, &coordinator.Principal{Kind: "user", Role: "auditor"}, 0, 0)
	list, _ := f.svc.ListTransactions(ctx, f.api, store.TransactionFilter{})
	if len(after) != len(before) || len(list) != 0 {
		t.Fatalf("bad input wrote %d audit events and %d transactions", len(after)-len(before), len(list))
	}
}

func TestRateMoveRaisesTierBeforeSigning(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	tx := f.submit(f.api, f.ethW, "eth", "0xabc", eth(3)) // EUR 7,500: 2 approvals
	if _, err := f.vote("alice", tx.RequestID, approvals.Approve); err != nil {
		t.Fatal(err)
	}
	// ETH rallies: 3 ETH is now EUR 15,000, tier 3 (4 incl. a treasury manager).
	if err := f.svc.BootstrapRate(ctx, coordinator.RateInput{Asset: "eth", EURPerUnit: "5000", Decimals: 18}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.vote("bob", tx.RequestID, approvals.Approve); err != nil {
		t.Fatal(err)
	}
	got := f.tx(tx.ID)
	if got.Status != store.TxPendingApproval || got.Signature != nil {
		t.Fatalf("after a rate move into a higher tier: %s, want pending_approval", got.Status)
	}
	v, _ := f.svc.GetRequest(ctx, f.users["victor"], tx.RequestID)
	if v.Quorum.Approvals != 4 || v.Tally.Approvals != 2 {
		t.Fatalf("quorum %+v tally %+v: want 4 needed, 2 kept", v.Quorum, v.Tally)
	}
	for _, n := range []string{"carol", "tess"} {
		if _, err := f.vote(n, tx.RequestID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.tx(tx.ID); got.Status != store.TxSigned {
		t.Fatalf("after 4 approvals at the new tier: %s (%s)", got.Status, got.FailureReason)
	}
}

func TestRequestExpiry(t *testing.T) {
	f := newFixture(t, "")
	tx := f.submit(f.api, f.ethW, "eth", "0xabc", eth(1))
	f.clock.Advance(25 * time.Hour)
	if _, err := f.vote("alice", tx.RequestID, approvals.Approve); code(err) != "request_not_pending" {
		t.Fatalf("vote after expiry: %v", err)
	}
	if got := f.tx(tx.ID); got.Status != store.TxExpired {
		t.Fatalf("status %s, want expired", got.Status)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if template.dir != "" {
		os.RemoveAll(template.dir)
	}
	os.Exit(code)
}

func TestAmendedIntentVoidsApprovals(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	tx := f.submit(f.api, f.ethW, "eth", "0xabc", eth(6)) // EUR 15,000: 4 incl. a treasury manager
	for _, n := range []string{"alice", "bob", "dave"} {
		if _, err := f.vote(n, tx.RequestID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
	}
	stale := f.sign("tess", tx.RequestID, approvals.Approve) // over the old intent
	newAmount := eth(5)
	amended, err := f.svc.AmendTransfer(ctx, f.api, tx.ID, coordinator.AmendInput{Amount: &newAmount})
	if err != nil {
		t.Fatal(err)
	}
	if string(amended.Fingerprint) == string(tx.Fingerprint) || amended.Amount != newAmount || amended.EURCents != 1_250_000 {
		t.Fatalf("amended transaction: fingerprint unchanged or amount %s EUR cents %d", amended.Amount, amended.EURCents)
	}
	v, _ := f.svc.GetRequest(ctx, f.users["victor"], tx.RequestID)
	if v.Tally.Approvals != 0 || v.Request.Revision != 2 {
		t.Fatalf("after the amendment: %d approvals at revision %d, want 0 at 2", v.Tally.Approvals, v.Request.Revision)
	}
	if _, err := f.svc.Vote(ctx, f.users["tess"], tx.RequestID, approvals.Approve, stale); code(err) != "bad_signature" {
		t.Fatalf("approval of the old intent: %v, want bad_signature", err)
	}
	for _, n := range []string{"alice", "bob", "dave", "tess"} {
		if _, err := f.vote(n, tx.RequestID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
	}
	got := f.tx(tx.ID)
	if got.Status != store.TxSigned || !hd.VerifySecp256k1(f.ethW.PublicKey, got.Intent, got.Signature) {
		t.Fatalf("after approvals of the amended intent: %s", got.Status)
	}
	if _, err := f.svc.AmendTransfer(ctx, f.api, tx.ID, coordinator.AmendInput{Amount: &newAmount}); code(err) != "not_amendable" {
		t.Fatalf("amending a signed transfer: %v", err)
	}
	other := f.submit(f.api, f.ethW, "eth", "0xabc", eth(1))
	if _, err := f.svc.AmendTransfer(ctx, f.users["carol"], other.ID, coordinator.AmendInput{Amount: &newAmount}); code(err) != "not_the_submitter" {
		t.Fatalf("amendment by someone else: %v", err)
	}
	bad := "-1"
	if _, err := f.svc.AmendTransfer(ctx, f.api, other.ID, coordinator.AmendInput{Amount: &bad}); code(err) != "invalid_intent" {
		t.Fatalf("negative amendment: %v", err)
	}
}

func TestUsersAndRoles(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	u, err := f.svc.CreateUser(ctx, f.users["ada"], "erin", "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != store.RoleViewer {
		t.Fatalf("new user role %s, want viewer", u.Role)
	}
	if _, err := f.svc.CreateUser(ctx, f.users["tess"], "x", "a long enough password"); code(err) != "forbidden" {
		t.Fatalf("non-admin creating a user: %v", err)
	}
	if _, err := f.svc.CreateUser(ctx, f.users["ada"], "erin", "a long enough password"); code(err) != "user_exists" {
		t.Fatalf("duplicate user: %v", err)
	}
	if _, err := f.svc.CreateUser(ctx, f.users["ada"], "fred", "short"); code(err) != "weak_password" {
		t.Fatalf("weak password: %v", err)
	}
	erin := &coordinator.Principal{Kind: "user", ID: u.ID, UserID: u.ID, Name: "erin", Role: store.RoleViewer}

	t.Run("approval-key", func(t *testing.T) {
		key := seedKey("erin")
		pub := key.Public().(ed25519.PublicKey)
		if err := f.svc.RegisterApprovalKey(ctx, erin, pub, ed25519.Sign(key, coordinator.KeyRegistrationMessage("someone-else", pub))); code(err) != "bad_signature" {
			t.Fatalf("possession proof for another user: %v", err)
		}
		small := make([]byte, 32)
		small[0] = 1 // the identity point: order 1
		if err := f.svc.RegisterApprovalKey(ctx, erin, small, make([]byte, 64)); code(err) != "invalid_key" {
			t.Fatalf("small-order key: %v", err)
		}
		nonCanonical := bytes.Repeat([]byte{0xff}, 32)
		nonCanonical[31] = 0x7f
		if err := f.svc.RegisterApprovalKey(ctx, erin, nonCanonical, make([]byte, 64)); code(err) != "invalid_key" {
			t.Fatalf("non-canonical key: %v", err)
		}
		alices := f.keys["alice"].Public().(ed25519.PublicKey)
		if err := f.svc.RegisterApprovalKey(ctx, erin, alices, ed25519.Sign(f.keys["alice"], coordinator.KeyRegistrationMessage(u.ID, alices))); code(err) != "key_in_use" {
			t.Fatalf("another user's key: %v", err)
		}
		if err := f.svc.RegisterApprovalKey(ctx, erin, pub, ed25519.Sign(key, coordinator.KeyRegistrationMessage(u.ID, pub))); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.RegisterApprovalKey(ctx, erin, pub, ed25519.Sign(key, coordinator.KeyRegistrationMessage(u.ID, pub))); code(err) != "key_registered" {
			t.Fatalf("second registration: %v", err)
		}
		f.keys["erin"] = key
		f.users["erin"] = erin
	})
	t.Run("role-assignment-needs-approval", func(t *testing.T) {
		// An approving role needs a registered key, and the request shows it.
		other, err := f.svc.CreateUser(ctx, f.users["ada"], "gwen", "a long enough password")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AssignRole(ctx, f.users["ada"], other.ID, store.RoleApprover); code(err) != "no_approval_key" {
			t.Fatalf("promoting a user without a key: %v", err)
		}
		v, err := f.svc.AssignRole(ctx, f.users["ada"], u.ID, store.RoleApprover)
		if err != nil {
			t.Fatal(err)
		}
		if v.Request.Status != store.RequestPending || !strings.Contains(string(v.Request.Payload), fmt.Sprintf("%x", f.keys["erin"].Public())) {
			t.Fatalf("role assignment %s %s: want pending, naming erin's key", v.Request.Status, v.Request.Payload)
		}
		// erin cannot vote on her own promotion, even once she may approve.
		if _, err := f.vote("erin", v.Request.ID, approvals.Approve); code(err) != "forbidden" && code(err) != "own_role_change" {
			t.Fatalf("subject voting: %v", err)
		}
		if _, err := f.vote("alice", v.Request.ID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
		if role(f, u.ID) != store.RoleViewer {
			t.Fatal("promoted after one approval; the policy asks 2 including a treasury manager")
		}
		if _, err := f.vote("tess", v.Request.ID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
		if role(f, u.ID) != store.RoleApprover {
			t.Fatalf("after approval erin is %s", role(f, u.ID))
		}
		// Now an approver, erin still may not vote on a change of her own role.
		f.users["erin"].Role = store.RoleApprover
		d, err := f.svc.AssignRole(ctx, f.users["ada"], u.ID, store.RoleViewer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.vote("erin", d.Request.ID, approvals.Reject); code(err) != "own_role_change" {
			t.Fatalf("subject vetoing their own demotion: %v", err)
		}
	})
	t.Run("admins-hold-no-approval-key", func(t *testing.T) {
		key := seedKey("ada-approval")
		pub := key.Public().(ed25519.PublicKey)
		if err := f.svc.RegisterApprovalKey(ctx, f.users["ada"], pub, ed25519.Sign(key, coordinator.KeyRegistrationMessage(f.users["ada"].ID, pub))); code(err) != "forbidden" {
			t.Fatalf("admin registering an approval key: %v", err)
		}
	})
}

func role(f *fixture, id string) string {
	users, _ := f.svc.ListUsers(context.Background(), f.users["victor"])
	for _, x := range users {
		if x.ID == id {
			return x.Role
		}
	}
	return ""
}

func TestRateMovesBeyondTheBandNeedApproval(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	admin := f.users["ada"]
	// Inside the band (anchor 2500): applied at once.
	r, v, err := f.svc.PutRate(ctx, admin, coordinator.RateInput{Asset: "eth", EURPerUnit: "2700", Decimals: 18})
	if err != nil || r == nil || v != nil {
		t.Fatalf("rate within 10%%: rate %v request %v err %v", r, v, err)
	}
	// The anchor does not move with feed updates: 2,200 is 12% below it.
	r, v, err = f.svc.PutRate(ctx, admin, coordinator.RateInput{Asset: "eth", EURPerUnit: "2200", Decimals: 18})
	if err != nil || r != nil || v == nil || v.Request.Action != "rate.set" {
		t.Fatalf("rate beyond the band: rate %v request %v err %v", r, v, err)
	}
	// The attack: one administrator values ETH at nothing to slip a large
	// transfer under the approval tiers. It is only a request.
	_, v2, err := f.svc.PutRate(ctx, admin, coordinator.RateInput{Asset: "eth", EURPerUnit: "0.000000000001", Decimals: 18})
	if err != nil || v2 == nil {
		t.Fatalf("crashing the rate: %v", err)
	}
	// Decimals never change: same price, 30 decimals would value ETH at nothing.
	if _, _, err := f.svc.PutRate(ctx, admin, coordinator.RateInput{Asset: "eth", EURPerUnit: "2500", Decimals: 30}); code(err) != "decimals_fixed" {
		t.Fatalf("changing decimals: %v", err)
	}
	if _, v4, _ := f.svc.PutRate(ctx, admin, coordinator.RateInput{Asset: "doge", EURPerUnit: "0.1", Decimals: 8}); v4 == nil {
		t.Fatal("a first rate for an asset applied at once")
	}
	tx := f.submit(f.api, f.ethW, "eth", "0xabc", eth(5000))
	if tx.Status != store.TxDenied || tx.EURCents < 1_000_000_000 {
		t.Fatalf("5,000 ETH after the attempted rate crash: %s at EUR cents %d", tx.Status, tx.EURCents)
	}
	// Approved, the new rate applies and becomes the anchor.
	for _, n := range []string{"alice", "tess"} {
		if _, err := f.vote(n, v.Request.ID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
	}
	rates, _ := f.svc.ListRates(ctx, admin)
	for _, x := range rates {
		if x.Asset == "eth" && x.EURPerUnit != "2200" {
			t.Fatalf("after approval eth is %s", x.EURPerUnit)
		}
	}
	if _, v, _ := f.svc.PutRate(ctx, admin, coordinator.RateInput{Asset: "eth", EURPerUnit: "2000", Decimals: 18}); v != nil {
		t.Fatal("a move within 10% of the new anchor needed approval")
	}
	// A free move down does not lower a transfer's value: it is valued at
	// the higher of the rate and the approved anchor (2,200).
	if tx := f.submit(f.api, f.ethW, "eth", "0xabc", eth(5)); tx.EURCents != 1_100_000 {
		t.Fatalf("5 ETH valued at EUR cents %d, want 1100000 (the anchor)", tx.EURCents)
	}
	// The older request to crash the rate was filed against the old anchor:
	// approved now, it must not run.
	for _, n := range []string{"alice", "tess"} {
		if _, err := f.vote(n, v2.Request.ID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := f.svc.GetRequest(ctx, f.users["victor"], v2.Request.ID); got.Request.Status != store.RequestFailed {
		t.Fatalf("a rate.set filed against an older anchor: %s, want failed", got.Request.Status)
	}
	for _, bad := range []string{"0", "-1", "abc", ""} {
		if _, _, err := f.svc.PutRate(ctx, admin, coordinator.RateInput{Asset: "eth", EURPerUnit: bad, Decimals: 18}); code(err) != "invalid_rate" {
			t.Fatalf("rate %q: %v", bad, err)
		}
	}
}

func TestEmergencyStopLiftIsApproved(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	if _, err := f.svc.EmergencyStop(ctx, f.users["tess"], false); code(err) != "not_stopped" {
		t.Fatalf("lifting a stop that is not on: %v", err)
	}
	if _, err := f.svc.EmergencyStop(ctx, f.users["tess"], true); err != nil {
		t.Fatal(err)
	}
	lift, err := f.svc.EmergencyStop(ctx, f.users["ada"], false)
	if err != nil || lift == nil {
		t.Fatalf("lift: %v", err)
	}
	if on, _ := f.svc.EmergencyStopped(ctx); !on {
		t.Fatal("one administrator lifted the stop")
	}
	// Stopping again voids the pending lift.
	if _, err := f.svc.EmergencyStop(ctx, f.users["tess"], true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.vote("alice", lift.Request.ID, approvals.Approve); code(err) != "request_not_pending" {
		t.Fatalf("voting on a lift made before the new stop: %v", err)
	}
	lift, _ = f.svc.EmergencyStop(ctx, f.users["ada"], false)
	for _, n := range []string{"alice", "tess"} {
		if _, err := f.vote(n, lift.Request.ID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
	}
	if on, _ := f.svc.EmergencyStopped(ctx); on {
		t.Fatal("the approved lift did not lift the stop")
	}
}

func TestUnfreezeCannotBeApprovedInAdvance(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	if _, err := f.svc.UnfreezeWallet(ctx, f.users["ada"], f.ethW.ID); code(err) != "not_frozen" {
		t.Fatalf("unfreeze request for a wallet that is not frozen: %v", err)
	}
	if err := f.svc.FreezeWallet(ctx, f.users["tess"], f.ethW.ID); err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.UnfreezeWallet(ctx, f.users["ada"], f.ethW.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.vote("alice", v.Request.ID, approvals.Approve); err != nil {
		t.Fatal(err)
	}
	// Unfrozen by approval, then frozen again in a new incident.
	if _, err := f.vote("tess", v.Request.ID, approvals.Approve); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.FreezeWallet(ctx, f.users["tess"], f.ethW.ID); err != nil {
		t.Fatal(err)
	}
	v2, err := f.svc.UnfreezeWallet(ctx, f.users["ada"], f.ethW.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Freezing again (a new incident while frozen) voids it too.
	if err := f.svc.FreezeWallet(ctx, f.users["tess"], f.ethW.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.vote("alice", v2.Request.ID, approvals.Approve); code(err) != "request_not_pending" {
		t.Fatalf("voting on an unfreeze filed before the latest freeze: %v", err)
	}
	// An unfreeze approved but not yet run (a crash before it ran) does
	// not survive a new freeze either.
	v3, err := f.svc.UnfreezeWallet(ctx, f.users["ada"], f.ethW.ID)
	if err != nil {
		t.Fatal(err)
	}
	forceApproved(t, f, v3.Request.ID)
	if err := f.svc.FreezeWallet(ctx, f.users["tess"], f.ethW.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if w, _ := f.svc.GetWallet(ctx, f.users["victor"], f.ethW.ID); !w.Frozen {
		t.Fatal("an unfreeze approved before the latest freeze lifted it")
	}
}
