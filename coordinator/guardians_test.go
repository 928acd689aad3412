package coordinator_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/store"
)

func TestGuardianEnrolment(t *testing.T) {
	gf := newGuardianFixture(t, "", 0)
	ctx := context.Background()
	if _, err := gf.svc.InviteGuardian(ctx, gf.users["tess"], "g1"); code(err) != "forbidden" {
		t.Fatalf("a treasury manager inviting a guardian: %v", err)
	}
	if _, err := gf.svc.InviteGuardian(ctx, gf.users["ada"], "Bad Name"); code(err) != "invalid_guardian" {
		t.Fatalf("invalid name: %v", err)
	}
	invite := func(name string) string {
		t.Helper()
		inv, err := gf.svc.InviteGuardian(ctx, gf.users["ada"], name)
		if err != nil {
			t.Fatal(err)
		}
		if !inv.ExpiresAt.Equal(gf.clock.Now().Add(coordinator.GuardianInviteTTL)) {
			t.Fatalf("invitation expires at %s", inv.ExpiresAt)
		}
		if s := inv.Code.String(); strings.Contains(s, inv.Code.Reveal()[4:]) {
			t.Fatalf("claim code printed: %s", s)
		}
		return inv.Code.Reveal()
	}
	code1 := invite("g1")
	if _, err := gf.svc.InviteGuardian(ctx, gf.users["ada"], "g1"); code(err) != "invitation_pending" {
		t.Fatalf("second invitation for a pending name: %v", err)
	}
	pv, err := gf.svc.PreviewGuardianEnrollment(ctx, code1)
	if err != nil {
		t.Fatal(err)
	}
	hash := pv.GovernanceHash
	g := newFakeGuardian("g1")
	other := seedKey("someone else")
	smallOrder := make([]byte, 32)
	smallOrder[0] = 1 // the identity point
	resign := func(r *wire.EnrollRequest) { r.Signature = ed25519.Sign(g.identity, wire.EnrollMessage(r)) }
	for _, tc := range []struct {
		name string
		mod  func(r *wire.EnrollRequest)
		code string
	}{
		{"fail/unknown-code", func(r *wire.EnrollRequest) { r.Code = "cgc_AAAAAAAAAAAAAAAAAAAAAA"; resign(r) }, "invalid_claim_code"},
		{"fail/malformed-code", func(r *wire.EnrollRequest) { r.Code = "letmein"; resign(r) }, "invalid_claim_code"},
		{"fail/wrong-signature", func(r *wire.EnrollRequest) { r.Signature = ed25519.Sign(other, wire.EnrollMessage(r)) }, "bad_signature"},
		{"fail/signed-another-endpoint", func(r *wire.EnrollRequest) { r.Endpoint = "http://attacker.test" }, "bad_signature"},
		{"fail/small-order-identity", func(r *wire.EnrollRequest) { r.IdentityKey = smallOrder }, "invalid_key"},
		{"fail/short-encryption-key", func(r *wire.EnrollRequest) { r.EncryptionKey = r.EncryptionKey[:31] }, "invalid_key"},
		{"fail/low-order-encryption-key", func(r *wire.EnrollRequest) { r.EncryptionKey = make([]byte, 32) }, "invalid_key"},
		{"fail/endpoint-scheme", func(r *wire.EnrollRequest) { r.Endpoint = "ftp://g1.test" }, "invalid_endpoint"},
		{"fail/endpoint-credentials", func(r *wire.EnrollRequest) { r.Endpoint = "http://u:p@g1.test" }, "invalid_endpoint"},
		{"fail/endpoint-query", func(r *wire.EnrollRequest) { r.Endpoint = "http://g1.test/?x=1" }, "invalid_endpoint"},
		{"fail/no-governance-hash", func(r *wire.EnrollRequest) { r.GovernanceHash = ""; resign(r) }, "invalid_governance_hash"},
		{"fail/other-governance-hash", func(r *wire.EnrollRequest) { r.GovernanceHash = strings.Repeat("00", 32); resign(r) }, "governance_changed"},
		{"fail/governance-hash-upper-case", func(r *wire.EnrollRequest) { r.GovernanceHash = strings.ToUpper(r.GovernanceHash); resign(r) }, "governance_changed"},
		{"fail/signed-another-governance-hash", func(r *wire.EnrollRequest) { r.GovernanceHash = strings.Repeat("00", 32) }, "bad_signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := g.enrollRequest(code1, hash)
			tc.mod(r)
			if _, err := gf.svc.EnrollGuardian(ctx, r); code(err) != tc.code {
				t.Fatalf("err %v, want %s", err, tc.code)
			}
		})
	}

	// The failed attempts did not use the code up.
	resp, err := gf.svc.EnrollGuardian(ctx, g.enrollRequest(code1, hash))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Name != "g1" || !ed25519.PublicKey(resp.CoordinatorKey).Equal(coordinatorGuardianKey.Public()) {
		t.Fatalf("enrolment answer %+v", resp)
	}
	st, err := governance.Parse(resp.Governance)
	if err != nil || st.HashHex() != resp.GovernanceHash {
		t.Fatalf("governance state in the answer: %v", err)
	}
	rec, err := gf.svc.GetGuardian(ctx, gf.users["victor"], resp.GuardianID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != store.GuardianActive || rec.Endpoint != "http://g1.guardians.test:7101" ||
		!ed25519.PublicKey(rec.IdentityKey).Equal(g.identity.Public()) || string(rec.EncryptionKey) != string(g.enc.PublicKey().Bytes()) {
		t.Fatalf("stored guardian %+v", rec)
	}
	t.Run("fail/code-used", func(t *testing.T) {
		if _, err := gf.svc.EnrollGuardian(ctx, newFakeGuardian("g9").enrollRequest(code1, hash)); code(err) != "invalid_claim_code" {
			t.Fatalf("second use of a code: %v", err)
		}
	})
	t.Run("fail/keys-enrolled", func(t *testing.T) {
		c := invite("g1-again")
		if _, err := gf.svc.EnrollGuardian(ctx, g.enrollRequest(c, hash)); code(err) != "guardian_exists" {
			t.Fatalf("enrolling the same keys twice: %v", err)
		}
		// The refused claim rolled back: the code still works.
		if _, err := gf.svc.EnrollGuardian(ctx, newFakeGuardian("g2").enrollRequest(c, hash)); err != nil {
			t.Fatalf("the code of a refused enrolment: %v", err)
		}
	})
	t.Run("fail/expired", func(t *testing.T) {
		c := invite("g3")
		gf.clock.Advance(coordinator.GuardianInviteTTL)
		if _, err := gf.svc.EnrollGuardian(ctx, newFakeGuardian("g3").enrollRequest(c, hash)); code(err) != "invalid_claim_code" {
			t.Fatalf("expired code: %v", err)
		}
	})
	t.Run("concurrent-claims", func(t *testing.T) {
		c := invite("g4")
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, lost := 0, 0
		for i := range 8 {
			wg.Go(func() {
				_, err := gf.svc.EnrollGuardian(ctx, newFakeGuardian("racer"+string(rune('a'+i))).enrollRequest(c, hash))
				mu.Lock()
				defer mu.Unlock()
				switch code(err) {
				case "invalid_claim_code":
					lost++
				case "":
					won++
				default:
					if err == nil {
						won++
					} else {
						t.Errorf("claim: %v", err)
					}
				}
			})
		}
		wg.Wait()
		if won != 1 || lost != 7 {
			t.Fatalf("%d claims won, %d lost; want exactly one", won, lost)
		}
	})

	// The audit log records invitations and enrolments, never a code.
	evs, err := gf.svc.ListAudit(ctx, gf.users["ada"], 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var invites, enrols, refused int
	for _, e := range evs {
		raw, _ := json.Marshal(e)
		if strings.Contains(string(raw), code1[4:]) {
			t.Fatalf("audit event %s carries a claim code", e.Action)
		}
		switch {
		case e.Action == "guardian.invite":
			invites++
		case e.Action == "guardian.enroll" && e.Result == "success":
			enrols++
		case e.Action == "guardian.enroll":
			refused++
		}
	}
	if invites != 4 || enrols != 3 || refused == 0 {
		t.Fatalf("audit: %d invitations, %d enrolments, %d refused enrolments", invites, enrols, refused)
	}
}

// TestGuardianEnrolmentPreview: a preview shows what a code would enrol
// and claims nothing; an enrolment confirmed on another governance state
// than the coordinator's, because it changed since the preview or the
// operator was shown another one, claims nothing either.
func TestGuardianEnrolmentPreview(t *testing.T) {
	gf := newGuardianFixture(t, "", 0)
	ctx := context.Background()
	invite := func(name string) string {
		t.Helper()
		inv, err := gf.svc.InviteGuardian(ctx, gf.users["ada"], name)
		if err != nil {
			t.Fatal(err)
		}
		return inv.Code.Reveal()
	}
	current := func() string {
		t.Helper()
		h, err := gf.svc.GovernanceHash(ctx, gf.users["victor"])
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	unclaimed := func(t *testing.T, name string) {
		t.Helper()
		gs, err := gf.svc.ListGuardians(ctx, gf.users["victor"])
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			if g.Name == name {
				t.Fatalf("guardian %q is enrolled", name)
			}
		}
		if err := gf.st.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
			invs, err := tx.ListGuardianInvites(ctx)
			for _, inv := range invs {
				if inv.Name == name && (inv.UsedAt != nil || inv.GuardianID != "") {
					t.Errorf("the invitation for %q is claimed", name)
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	code1 := invite("g1")

	for _, tc := range []struct{ name, code string }{
		{"fail/unknown-code", "cgc_AAAAAAAAAAAAAAAAAAAAAA"},
		{"fail/malformed-code", "letmein"},
		{"fail/empty-code", ""},
		{"fail/code-with-suffix", code1 + "A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if pv, err := gf.svc.PreviewGuardianEnrollment(ctx, tc.code); code(err) != "invalid_claim_code" || pv != nil {
				t.Fatalf("preview %+v, err %v; want invalid_claim_code", pv, err)
			}
		})
	}

	var hash string
	t.Run("ok/preview-claims-nothing", func(t *testing.T) {
		for range 2 {
			pv, err := gf.svc.PreviewGuardianEnrollment(ctx, code1)
			if err != nil {
				t.Fatal(err)
			}
			st, err := governance.Parse(pv.Governance)
			if err != nil {
				t.Fatalf("previewed governance state: %v", err)
			}
			if pv.Name != "g1" || !ed25519.PublicKey(pv.CoordinatorKey).Equal(coordinatorGuardianKey.Public()) ||
				st.HashHex() != pv.GovernanceHash || pv.GovernanceHash != current() {
				t.Fatalf("preview %+v (state hashes to %s, coordinator's is %s)", pv, st.HashHex(), current())
			}
			hash = pv.GovernanceHash
		}
		unclaimed(t, "g1")
	})

	g1 := newFakeGuardian("g1")
	t.Run("fail/other-governance-hash", func(t *testing.T) {
		if _, err := gf.svc.EnrollGuardian(ctx, g1.enrollRequest(code1, strings.Repeat("ab", 32))); code(err) != "governance_changed" {
			t.Fatalf("enrolment confirmed on another governance state: %v", err)
		}
		unclaimed(t, "g1")
	})
	t.Run("ok/enrol-after-refusal", func(t *testing.T) {
		resp, err := gf.svc.EnrollGuardian(ctx, g1.enrollRequest(code1, hash))
		if err != nil {
			t.Fatalf("the code after a refused enrolment: %v", err)
		}
		if resp.Name != "g1" || resp.GovernanceHash != hash {
			t.Fatalf("enrolment answer %+v", resp)
		}
	})
	t.Run("fail/preview-used-code", func(t *testing.T) {
		if _, err := gf.svc.PreviewGuardianEnrollment(ctx, code1); code(err) != "invalid_claim_code" {
			t.Fatalf("preview of a used code: %v", err)
		}
	})
	t.Run("fail/preview-expired-code", func(t *testing.T) {
		c := invite("g2")
		gf.clock.Advance(coordinator.GuardianInviteTTL - time.Second)
		if _, err := gf.svc.PreviewGuardianEnrollment(ctx, c); err != nil {
			t.Fatalf("preview a second before expiry: %v", err)
		}
		gf.clock.Advance(time.Second) // ExpiresAt == now: expired
		if _, err := gf.svc.PreviewGuardianEnrollment(ctx, c); code(err) != "invalid_claim_code" {
			t.Fatalf("preview of an expired code: %v", err)
		}
	})
	t.Run("fail/governance-changed-after-preview", func(t *testing.T) {
		c := invite("g3")
		pv, err := gf.svc.PreviewGuardianEnrollment(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		// An approved rate anchor changes the governance state between
		// the preview and the operator's confirmation.
		gf.clock.Advance(time.Minute)
		_, v, err := gf.svc.PutRate(ctx, gf.users["ada"], coordinator.RateInput{Asset: "sol", EURPerUnit: "200", Decimals: 9})
		if err != nil || v == nil {
			t.Fatalf("rate.set request: %v", err)
		}
		for _, n := range []string{"alice", "tess"} {
			if _, err := gf.vote(n, v.Request.ID, approvals.Approve); err != nil {
				t.Fatal(err)
			}
		}
		if current() == pv.GovernanceHash {
			t.Fatal("the approved rate anchor did not change the governance state")
		}
		g3 := newFakeGuardian("g3")
		if _, err := gf.svc.EnrollGuardian(ctx, g3.enrollRequest(c, pv.GovernanceHash)); code(err) != "governance_changed" {
			t.Fatalf("enrolment confirmed on the state before the change: %v", err)
		}
		unclaimed(t, "g3")
		again, err := gf.svc.PreviewGuardianEnrollment(ctx, c)
		if err != nil {
			t.Fatalf("preview after a refused enrolment: %v", err)
		}
		if again.GovernanceHash != current() {
			t.Fatalf("second preview shows %s, the coordinator holds %s", again.GovernanceHash, current())
		}
		resp, err := gf.svc.EnrollGuardian(ctx, g3.enrollRequest(c, again.GovernanceHash))
		if err != nil {
			t.Fatalf("enrolment confirmed on the new state: %v", err)
		}
		if resp.GovernanceHash != again.GovernanceHash {
			t.Fatalf("enrolled under %s, confirmed %s", resp.GovernanceHash, again.GovernanceHash)
		}
	})

	// Refused previews and refused enrolments are audited, never a code.
	evs, err := gf.svc.ListAudit(ctx, gf.users["ada"], 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, e := range evs {
		raw, _ := json.Marshal(e)
		if strings.Contains(string(raw), code1[4:]) {
			t.Fatalf("audit event %s carries a claim code", e.Action)
		}
		if e.Action == "guardian.enroll" && e.Result == "denied" {
			reasons[e.Metadata["reason"]]++
		}
	}
	for reason, want := range map[string]int{
		"preview: malformed claim code":                3,
		"preview: unknown, used or expired claim code": 3,
		"governance state changed since the preview":   2,
	} {
		if reasons[reason] != want {
			t.Errorf("%d refusals %q audited, want %d (all: %v)", reasons[reason], reason, want, reasons)
		}
	}
}

// TestGovernanceState checks that the state the coordinator hands to
// guardians is the one a guardian would build by hand from the same
// facts, and that a guardian applying the certificates the coordinator
// sends it after approved changes reaches the coordinator's new state.
func TestGovernanceState(t *testing.T) {
	gf := newGuardianFixture(t, "", 2)
	ctx := context.Background()
	pol, err := gf.svc.CurrentPolicy(ctx, gf.users["ada"])
	if err != nil {
		t.Fatal(err)
	}
	var roster []governance.Member
	for _, n := range []string{"tess", "alice", "bob", "carol", "dave"} {
		u := gf.users[n]
		roster = append(roster, governance.Member{ID: u.ID, Name: n, Role: u.Role, Key: seedKey(n).Public().(ed25519.PublicKey)})
	}
	slices.SortFunc(roster, func(a, b governance.Member) int { return strings.Compare(a.ID, b.ID) })
	byHand := &governance.State{Policy: pol.Document, Roster: roster, Anchors: map[string]string{"eth": "2500/18", "sol": "150/9"}}
	if _, err := byHand.Document(); err != nil {
		t.Fatal(err)
	}
	hash, err := gf.svc.GovernanceHash(ctx, gf.users["victor"])
	if err != nil {
		t.Fatal(err)
	}
	if hash != byHand.HashHex() || gf.gs[0].govHash != hash {
		t.Fatalf("coordinator state %s, enrolment answer %s, built by hand %s", hash, gf.gs[0].govHash, byHand.HashHex())
	}

	waitSynced := func(g *fakeGuardian, want string) {
		t.Helper()
		waitFor(t, "guardian "+g.name+" to hold governance state "+want, func() bool {
			return locked(g, func(g *fakeGuardian) bool { return g.govHash == want })
		})
	}
	approve := func(v *coordinator.RequestView, voters ...string) {
		t.Helper()
		for _, n := range voters {
			if _, err := gf.vote(n, v.Request.ID, approvals.Approve); err != nil {
				t.Fatal(err)
			}
		}
	}

	// A rate move beyond the band: pushed to every guardian when it runs.
	gf.clock.Advance(time.Minute)
	_, v, err := gf.svc.PutRate(ctx, gf.users["ada"], coordinator.RateInput{Asset: "sol", EURPerUnit: "200", Decimals: 9})
	if err != nil || v == nil {
		t.Fatalf("rate.set request: %v", err)
	}
	approve(v, "alice", "tess")
	h1, _ := gf.svc.GovernanceHash(ctx, gf.users["victor"])
	if h1 == hash {
		t.Fatal("the approved rate anchor did not change the governance state")
	}
	waitSynced(gf.gs[0], h1)
	waitSynced(gf.gs[1], h1)

	// A guardian that is down misses a role change, and catches up at the
	// next health check.
	gf.gs[1].set(func(g *fakeGuardian) { g.down = true })
	v, err = gf.svc.AssignRole(ctx, gf.users["ada"], gf.users["carol"].ID, store.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	approve(v, "alice", "tess")
	h2, _ := gf.svc.GovernanceHash(ctx, gf.users["victor"])
	waitSynced(gf.gs[0], h2)
	gf.gs[1].set(func(g *fakeGuardian) { g.down = false })
	if err := gf.svc.GuardianHealth(ctx); err != nil {
		t.Fatal(err)
	}
	waitSynced(gf.gs[1], h2)
	if h := healthHash(t, gf.guardian(gf.gs[1])); h != h2 {
		t.Fatalf("stored health of g2 reports %s, want %s", h, h2)
	}
	// In sync: a health check sends nothing.
	before := gf.gs[0].count(wire.KindGovernance)
	if err := gf.svc.GuardianHealth(ctx); err != nil {
		t.Fatal(err)
	}
	if after := gf.gs[0].count(wire.KindGovernance); after != before {
		t.Fatalf("%d governance updates sent to a guardian in sync", after-before)
	}
}

func healthHash(t *testing.T, g *store.Guardian) string {
	t.Helper()
	var h wire.Health
	if err := json.Unmarshal(g.Health, &h); err != nil {
		t.Fatal(err)
	}
	return h.GovernanceHash
}

func TestFROSTWalletValidation(t *testing.T) {
	gf := newGuardianFixture(t, "", 4)
	ctx := context.Background()
	ids := func(gs ...*fakeGuardian) []string {
		var out []string
		for _, g := range gs {
			out = append(out, g.id)
		}
		return out
	}
	g1, g2, g3, g4 := gf.gs[0], gf.gs[1], gf.gs[2], gf.gs[3]
	// Quarantine g4 as a signing failure would.
	if err := gf.st.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		g, err := tx.GetGuardian(ctx, g4.id)
		if err != nil {
			return err
		}
		g.Status = store.GuardianQuarantined
		return tx.UpdateGuardian(ctx, g)
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   coordinator.WalletInput
		code string
	}{
		{"fail/threshold-one", coordinator.WalletInput{Mode: "frost", Threshold: 1, Guardians: ids(g1, g2, g3)}, "invalid_wallet"},
		{"fail/threshold-above-n", coordinator.WalletInput{Mode: "frost", Threshold: 4, Guardians: ids(g1, g2, g3)}, "invalid_wallet"},
		{"fail/one-guardian", coordinator.WalletInput{Mode: "frost", Threshold: 2, Guardians: ids(g1)}, "invalid_wallet"},
		{"fail/no-threshold", coordinator.WalletInput{Mode: "frost", Guardians: ids(g1, g2)}, "invalid_wallet"},
		{"fail/duplicate-id", coordinator.WalletInput{Mode: "frost", Threshold: 2, Guardians: ids(g1, g1, g2)}, "invalid_wallet"},
		{"fail/duplicate-by-name-and-id", coordinator.WalletInput{Mode: "frost", Threshold: 2, Guardians: []string{g1.id, "g1", "g2"}}, "invalid_wallet"},
		{"fail/unknown-guardian", coordinator.WalletInput{Mode: "frost", Threshold: 2, Guardians: []string{"g1", "nobody"}}, "unknown_guardian"},
		{"fail/quarantined", coordinator.WalletInput{Mode: "frost", Threshold: 2, Guardians: ids(g1, g4)}, "guardian_not_active"},
		{"fail/curve", coordinator.WalletInput{Mode: "frost", Curve: "p256", Threshold: 2, Guardians: ids(g1, g2)}, "invalid_wallet"},
		{"fail/path", coordinator.WalletInput{Mode: "frost", Path: "m/0", Threshold: 2, Guardians: ids(g1, g2)}, "invalid_wallet"},
		{"fail/hd-with-guardians", coordinator.WalletInput{Mode: "hd", Threshold: 2, Guardians: ids(g1, g2)}, "invalid_wallet"},
		{"fail/shamir", coordinator.WalletInput{Mode: "shamir"}, "unsupported_mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Name = "x"
			if _, err := gf.svc.CreateWallet(ctx, gf.users["tess"], tc.in); code(err) != tc.code {
				t.Fatalf("err %v, want %s", err, tc.code)
			}
		})
	}
	t.Run("ok/names-become-ids", func(t *testing.T) {
		v, err := gf.svc.CreateWallet(ctx, gf.users["tess"], coordinator.WalletInput{Name: "f", Mode: "frost", Threshold: 2,
			Guardians: []string{"g3", g1.id, "g2"}})
		if err != nil {
			t.Fatal(err)
		}
		var a intent.Action
		if err := json.Unmarshal(v.Request.Payload, &a); err != nil {
			t.Fatal(err)
		}
		var in coordinator.WalletInput
		if err := json.Unmarshal(a.Params, &in); err != nil {
			t.Fatal(err)
		}
		if in.Mode != "frost" || in.Curve != "ed25519" || in.Threshold != 2 || !slices.Equal(in.Guardians, ids(g3, g1, g2)) {
			t.Fatalf("filed intent %s", a.Params)
		}
	})
	t.Run("fail/no-guardian-key", func(t *testing.T) {
		f := newFixture(t, "")
		if _, err := f.svc.CreateWallet(ctx, f.users["tess"], coordinator.WalletInput{Name: "f", Mode: "frost", Threshold: 2,
			Guardians: ids(g1, g2)}); code(err) != "guardians_disabled" {
			t.Fatalf("frost without a guardian key: %v", err)
		}
	})
}

// signTransfer submits a EUR 150 transfer on w and has bob approve it;
// with one approval needed, the approval runs the signing.
func (gf *guardianFixture) signTransfer(w *store.Wallet) *store.Transaction {
	gf.t.Helper()
	tx := gf.submit(gf.api, w, "sol", "recipient", "1000000000")
	if _, err := gf.vote("bob", tx.RequestID, approvals.Approve); err != nil {
		gf.t.Fatal(err)
	}
	return gf.tx(tx.ID)
}

func checkSigned(t *testing.T, w *store.Wallet, tx *store.Transaction) {
	t.Helper()
	if tx.Status != store.TxSigned {
		t.Fatalf("transfer %s (%s), want signed", tx.Status, tx.FailureReason)
	}
	suite, err := frost.ParseSuite(w.Curve)
	if err != nil {
		t.Fatal(err)
	}
	if err := frost.Verify(suite, w.PublicKey, tx.Intent, tx.Signature); err != nil {
		t.Fatal(err)
	}
	if w.Curve == "ed25519" && !ed25519.Verify(w.PublicKey, tx.Intent, tx.Signature) {
		t.Fatal("crypto/ed25519 does not accept the FROST signature")
	}
}

// TestSignerVerify checks each mode's Signer.Verify on a signature its
// Sign produced, and on altered ones.
func TestSignerVerify(t *testing.T) {
	gf, fw := frostSolFixture(t, 2)
	ftx := gf.signTransfer(fw)
	checkSigned(t, fw, ftx)
	htx := gf.submit(gf.api, gf.solW, "sol", "recipient", "1000000000")
	if _, err := gf.vote("bob", htx.RequestID, approvals.Approve); err != nil {
		t.Fatal(err)
	}
	htx = gf.tx(htx.ID)
	if htx.Status != store.TxSigned {
		t.Fatalf("hd transfer %s (%s)", htx.Status, htx.FailureReason)
	}
	flip := func(b []byte) []byte { b = slices.Clone(b); b[5] ^= 1; return b }
	for _, c := range []struct {
		mode string
		w    *store.Wallet
		tx   *store.Transaction
	}{{"frost", fw, ftx}, {"hd", gf.solW, htx}} {
		for _, tc := range []struct {
			name     string
			msg, sig []byte
			ok       bool
		}{
			{"ok", c.tx.Intent, c.tx.Signature, true},
			{"fail/message", flip(c.tx.Intent), c.tx.Signature, false},
			{"fail/signature", c.tx.Intent, flip(c.tx.Signature), false},
			{"fail/short", c.tx.Intent, c.tx.Signature[:len(c.tx.Signature)-1], false},
		} {
			t.Run(c.mode+"/"+tc.name, func(t *testing.T) {
				if err := gf.svc.VerifyWalletSignature(c.w, tc.msg, tc.sig); (err == nil) != tc.ok {
					t.Fatalf("Verify = %v, want ok %v", err, tc.ok)
				}
			})
		}
	}
}

func auditCount(t *testing.T, gf *guardianFixture, action, target string) int {
	t.Helper()
	evs, err := gf.svc.ListAudit(context.Background(), gf.users["ada"], 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Action == action && (target == "" || e.Target == target) {
			n++
		}
	}
	return n
}

func TestFROSTSigning(t *testing.T) {
	ctx := context.Background()
	t.Run("ok/2-of-3", func(t *testing.T) {
		gf, w := frostSolFixture(t, 3)
		tx := gf.signTransfer(w)
		checkSigned(t, w, tx)
		signers := 0
		for _, g := range gf.gs {
			if g.count(wire.KindSign) > 0 {
				signers++
			}
		}
		if signers != 2 {
			t.Fatalf("%d guardians released shares, want 2", signers)
		}
	})
	t.Run("ok/over-http", func(t *testing.T) {
		gf := buildGuardianFixture(t, "", 3, true)
		w := gf.dealerWallet("frost-sol", frost.Ed25519, 2, gf.gs...)
		checkSigned(t, w, gf.signTransfer(w))
		// A guardian that cannot authenticate the coordinator answers 401:
		// to the coordinator it is unreachable.
		for _, g := range gf.gs[1:] {
			g.set(func(g *fakeGuardian) { g.id = "someone-else" })
		}
		tx := gf.signTransfer(w)
		if tx.Status != store.TxSigning || !strings.Contains(tx.FailureReason, "only 1 of the 2") {
			t.Fatalf("with two guardians refusing to authenticate: %s %q", tx.Status, tx.FailureReason)
		}
	})
	t.Run("ok/3-of-5-secp256k1", func(t *testing.T) {
		gf := newGuardianFixture(t, "", 5)
		w := gf.dealerWallet("frost-k1", frost.Secp256k1, 3, gf.gs...)
		checkSigned(t, w, gf.signTransfer(w))
	})
	t.Run("ok/precomputed-commitments", func(t *testing.T) {
		gf, w := frostSolFixture(t, 3)
		fillPools(t, gf, w)
		for range 3 {
			checkSigned(t, w, gf.signTransfer(w))
		}
		for _, g := range gf.gs {
			if n := locked(g, func(g *fakeGuardian) int { return g.onDemand }); n != 0 {
				t.Fatalf("guardian %s was asked for %d commitments on demand with a full pool", g.name, n)
			}
		}
	})
	t.Run("invalid-share/quarantined-and-retried", func(t *testing.T) {
		gf, w := frostSolFixture(t, 3)
		bad := gf.gs[0]
		bad.set(func(g *fakeGuardian) { g.corrupt = true })
		fillPools(t, gf, w)
		// With commitments on hand everywhere, guardians are picked in
		// turn: within three signatures the corrupting one takes part.
		// Every signature completes all the same.
		for i := 0; i < 3 && bad.count(wire.KindSign) == 0; i++ {
			checkSigned(t, w, gf.signTransfer(w))
		}
		if bad.count(wire.KindSign) == 0 {
			t.Fatal("the corrupting guardian was never picked")
		}
		rec := gf.guardian(bad)
		if rec.Status != store.GuardianQuarantined || !strings.Contains(rec.StatusReason, "invalid signature share") {
			t.Fatalf("guardian %s is %s (%s), want quarantined", bad.name, rec.Status, rec.StatusReason)
		}
		if n := auditCount(t, gf, "guardian.quarantine", "guardian:"+bad.id); n != 1 {
			t.Fatalf("%d quarantine events", n)
		}
		// The quarantined guardian is not asked again.
		calls := bad.count(wire.KindPrepare)
		for range 3 {
			checkSigned(t, w, gf.signTransfer(w))
		}
		if bad.count(wire.KindPrepare) != calls {
			t.Fatal("a quarantined guardian was asked to sign")
		}

		// Reinstating takes an administrator and a reason; a guardian that
		// is not quarantined cannot be reinstated.
		for _, tc := range []struct {
			name, who, guardian, reason, code string
		}{
			{"fail/not_admin", "tess", bad.name, "fixed", "forbidden"},
			{"fail/no_reason", "ada", bad.name, "  ", "invalid_reason"},
			{"fail/unknown", "ada", "nobody", "fixed", "unknown_guardian"},
			{"fail/not_quarantined", "ada", gf.gs[1].name, "fixed", "guardian_not_quarantined"},
		} {
			_, err := gf.svc.ReinstateGuardian(ctx, gf.users[tc.who], tc.guardian, tc.reason)
			if code(err) != tc.code {
				t.Fatalf("%s: %v, want %s", tc.name, err, tc.code)
			}
		}
		if rec := gf.guardian(bad); rec.Status != store.GuardianQuarantined {
			t.Fatalf("refused reinstatements changed the guardian: %s", rec.Status)
		}
		bad.set(func(g *fakeGuardian) { g.corrupt = false })
		g, err := gf.svc.ReinstateGuardian(ctx, gf.users["ada"], bad.name, "operator replaced the faulty build")
		if err != nil || g.Status != store.GuardianActive || g.StatusReason != "" {
			t.Fatalf("reinstate: %+v, %v", g, err)
		}
		if n := auditCount(t, gf, "guardian.reinstate", "guardian:"+bad.id); n != 1 {
			t.Fatalf("%d reinstate events", n)
		}
		// Its commitment pool is refilled, it is picked again, and its
		// shares still verify.
		waitFor(t, "the reinstated guardian's commitment pool", func() bool {
			return gf.svc.PoolSize(w.ID, w.KeyVersion, bad.id) >= 8
		})
		signs := bad.count(wire.KindSign)
		for i := 0; i < 4 && bad.count(wire.KindSign) == signs; i++ {
			checkSigned(t, w, gf.signTransfer(w))
		}
		if bad.count(wire.KindSign) == signs {
			t.Fatal("the reinstated guardian was never picked again")
		}
		if rec := gf.guardian(bad); rec.Status != store.GuardianActive {
			t.Fatalf("the reinstated guardian is %s", rec.Status)
		}
	})
	t.Run("one-guardian-down", func(t *testing.T) {
		gf, w := frostSolFixture(t, 3)
		gf.gs[0].set(func(g *fakeGuardian) { g.down = true })
		checkSigned(t, w, gf.signTransfer(w))
	})
	t.Run("unavailable/waits-then-resumes", func(t *testing.T) {
		gf, w := frostSolFixture(t, 3)
		for _, g := range gf.gs[1:] {
			g.set(func(g *fakeGuardian) { g.down = true })
		}
		tx := gf.signTransfer(w)
		if tx.Status != store.TxSigning || len(tx.Signature) != 0 || !strings.Contains(tx.FailureReason, "only 1 of the 2 guardians") {
			t.Fatalf("with one guardian of 2 reachable: %s %q", tx.Status, tx.FailureReason)
		}
		// A postponed transfer is not retried before WaitingRetry (not
		// the longer SigningGrace: no signing of it is in flight); then
		// the sweep signs.
		gf.gs[1].set(func(g *fakeGuardian) { g.down = false })
		if err := gf.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if got := gf.tx(tx.ID); got.Status != store.TxSigning {
			t.Fatalf("resumed before the retry delay: %s", got.Status)
		}
		gf.clock.Advance(coordinator.WaitingRetry + time.Second)
		if err := gf.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		got := gf.tx(tx.ID)
		checkSigned(t, w, got)
		if got.FailureReason != "" {
			t.Fatalf("failure reason %q left on a signed transfer", got.FailureReason)
		}
	})
	t.Run("refused/fails-with-the-reason", func(t *testing.T) {
		gf, w := frostSolFixture(t, 3)
		for _, g := range gf.gs[:2] {
			g.set(func(g *fakeGuardian) { g.refuse = governance.CodeQuorum })
		}
		tx := gf.signTransfer(w)
		if tx.Status != store.TxFailed || !strings.Contains(tx.FailureReason, "quorum_not_met") {
			t.Fatalf("refused by two guardians: %s %q", tx.Status, tx.FailureReason)
		}
		if n := auditCount(t, gf, "guardian.refused", "request:"+tx.RequestID); n != 2 {
			t.Fatalf("%d guardian.refused events, want 2", n)
		}
		// The guardian that accepts the certificate may have released its
		// share in a round 2 with a refusing one (a share alone signs
		// nothing); the refusing ones released none.
		for _, g := range gf.gs[:2] {
			if n := locked(g, func(g *fakeGuardian) int { return g.shares }); n != 0 {
				t.Fatalf("guardian %s released %d shares for a request it refuses", g.name, n)
			}
		}
	})
	t.Run("refused-by-one/others-sign", func(t *testing.T) {
		gf, w := frostSolFixture(t, 3)
		gf.gs[1].set(func(g *fakeGuardian) { g.refuse = governance.CodeQuorum })
		checkSigned(t, w, gf.signTransfer(w))
	})
	t.Run("stale-governance/brought-up-to-date-and-signed", func(t *testing.T) {
		gf, w := staleGovernance(t)
		behind := gf.gs[1]
		behind.set(func(g *fakeGuardian) { g.dropGov = false })
		tx := gf.signTransfer(w)
		checkSigned(t, w, tx)
		if behind.count(wire.KindPrepare) < 2 {
			t.Fatalf("g2 prepared %d times; its refusal on the old state was not retried", behind.count(wire.KindPrepare))
		}
		current, _ := gf.svc.GovernanceHash(ctx, gf.users["victor"])
		if h := healthHash(t, gf.guardian(behind)); h != current {
			t.Fatalf("stored health of g2 reports %s, want %s", h, current)
		}
		if n := auditCount(t, gf, "guardian.refused", "request:"+tx.RequestID); n != 0 {
			t.Fatalf("%d guardian.refused events for a refusal on an outdated state", n)
		}
	})
	t.Run("stale-governance/not-updatable-waits", func(t *testing.T) {
		gf, w := staleGovernance(t)
		behind := gf.gs[1]
		tx := gf.signTransfer(w)
		if tx.Status != store.TxSigning || !strings.Contains(tx.FailureReason, "outdated governance state") {
			t.Fatalf("with g2 behind and not updatable: %s %q", tx.Status, tx.FailureReason)
		}
		behind.set(func(g *fakeGuardian) { g.dropGov = false })
		gf.clock.Advance(coordinator.SigningGrace + time.Second)
		if err := gf.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		checkSigned(t, w, gf.tx(tx.ID))
	})
	t.Run("stale-governance/in-step-refusal-fails", func(t *testing.T) {
		gf, w := staleGovernance(t)
		// Brought up to date, g2 still refuses: now that is final.
		gf.gs[1].set(func(g *fakeGuardian) { g.dropGov, g.refuse = false, governance.CodeNotRostered })
		tx := gf.signTransfer(w)
		if tx.Status != store.TxFailed || !strings.Contains(tx.FailureReason, governance.CodeNotRostered) {
			t.Fatalf("refused by g2 in step: %s %q", tx.Status, tx.FailureReason)
		}
		if n := gf.gs[1].count(wire.KindPrepare); n != 2 {
			t.Fatalf("g2 was asked %d times, want twice (before and after its update)", n)
		}
	})
	t.Run("cancelled/guardians-not-blamed", func(t *testing.T) {
		gf, w := frostSolFixture(t, 2)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		tx := gf.submit(gf.api, w, "sol", "recipient", "1000000000")
		waitFor(t, "round 1 ahead of the approval", func() bool { return gf.gs[0].count(wire.KindPrepare) == 1 })
		gf.gs[0].set(func(g *fakeGuardian) { g.onSign = cancel })
		if _, err := gf.svc.Vote(cctx, gf.users["bob"], tx.RequestID, approvals.Approve, gf.sign("bob", tx.RequestID, approvals.Approve)); err != nil {
			t.Fatal(err)
		}
		if cctx.Err() == nil {
			t.Fatal("signing did not reach round 2")
		}
		for _, g := range gf.gs {
			if at := gf.svc.GuardianFailedAt(g.id); !at.IsZero() {
				t.Fatalf("guardian %s marked failed at %s for a cancelled call", g.name, at)
			}
		}
		if got := gf.tx(tx.ID); got.Status != store.TxSigning {
			t.Fatalf("interrupted transfer is %s (%s), want signing", got.Status, got.FailureReason)
		}
	})
	t.Run("inactive-wallet/resume-refused", func(t *testing.T) {
		gf, w := frostSolFixture(t, 2)
		gf.gs[1].set(func(g *fakeGuardian) { g.down = true })
		tx := gf.signTransfer(w)
		if tx.Status != store.TxSigning {
			t.Fatalf("with g2 down: %s %q", tx.Status, tx.FailureReason)
		}
		// The wallet's key leaves the active state while the transfer waits.
		if err := gf.st.ReadWriteTx(ctx, func(ctx context.Context, stx store.Tx) error {
			retired := *w
			retired.Status = store.WalletFailed
			return stx.UpdateWalletKey(ctx, &retired, store.WalletActive)
		}); err != nil {
			t.Fatal(err)
		}
		gf.gs[1].set(func(g *fakeGuardian) { g.down = false })
		gf.clock.Advance(coordinator.SigningGrace + time.Second)
		if err := gf.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		got := gf.tx(tx.ID)
		if got.Status != store.TxFailed || !strings.Contains(got.FailureReason, "not active") || len(got.Signature) != 0 {
			t.Fatalf("resumed on an inactive wallet: %s %q", got.Status, got.FailureReason)
		}
		for _, g := range gf.gs {
			if g.count(wire.KindSign) != 0 {
				t.Fatalf("guardian %s was asked for a share on an inactive wallet", g.name)
			}
		}
	})
	t.Run("fail/group-key-not-the-wallet-key", func(t *testing.T) {
		gf, w := frostSolFixture(t, 2)
		other, err := frost.TrustedDealerKeys(frost.Ed25519, 2, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := gf.st.ReadWriteTx(ctx, func(ctx context.Context, stx store.Tx) error {
			edited := *w
			edited.PublicKey = other[0].Group.VerificationKey
			return stx.UpdateWalletKey(ctx, &edited, store.WalletActive)
		}); err != nil {
			t.Fatal(err)
		}
		tx := gf.signTransfer(w)
		if tx.Status != store.TxFailed || len(tx.Signature) != 0 {
			t.Fatalf("signing for a wallet whose group key is another key: %s %q", tx.Status, tx.FailureReason)
		}
		for _, g := range gf.gs {
			if g.count(wire.KindPrepare) != 0 {
				t.Fatalf("guardian %s was asked to sign for a mismatched key", g.name)
			}
		}
	})
	t.Run("restarted-guardian/fresh-commitments", func(t *testing.T) {
		gf, w := frostSolFixture(t, 2)
		checkSigned(t, w, gf.signTransfer(w))
		waitFor(t, "refills", func() bool { return gf.svc.PoolSize(w.ID, 1, gf.gs[0].id) > 0 })
		// g1 restarts: the commitments in the pool are unknown to it now;
		// the coordinator learns it from the refusal and fetches fresh ones.
		restart(t, gf.gs[0])
		checkSigned(t, w, gf.signTransfer(w))
		refused := gf.gs[0].count(wire.KindPrepare)
		if refused < 2 {
			t.Fatalf("g1 prepared %d times; the stale commitment was not refused first", refused)
		}
	})
	t.Run("prepared-ahead/one-round-after-approval", func(t *testing.T) {
		gf, w := frostSolFixture(t, 3)
		prepares := func() int {
			n := 0
			for _, g := range gf.gs {
				n += g.count(wire.KindPrepare)
			}
			return n
		}
		tx := gf.submit(gf.api, w, "sol", "recipient", "1000000000")
		// Round 1 runs while the transfer awaits approval, without a
		// certificate; no share is asked for.
		waitFor(t, "round 1 ahead of the approval", func() bool { return prepares() == 2 })
		for _, g := range gf.gs {
			if g.count(wire.KindSign) != 0 {
				t.Fatalf("%s was asked for a share before the approval", g.name)
			}
		}
		if _, err := gf.vote("bob", tx.RequestID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
		checkSigned(t, w, gf.tx(tx.ID))
		if n := prepares(); n != 2 {
			t.Fatalf("%d round-1 calls in all, want the 2 made ahead of the approval", n)
		}
	})
	t.Run("prepared-ahead/guardian-restarted", func(t *testing.T) {
		gf, w := frostSolFixture(t, 2)
		tx := gf.submit(gf.api, w, "sol", "recipient", "1000000000")
		waitFor(t, "round 1 ahead of the approval", func() bool { return gf.gs[1].count(wire.KindPrepare) == 1 })
		// g1 forgets the nonce it reserved: round 2 of the prepared session
		// is refused, and the signature runs both rounds afresh.
		restart(t, gf.gs[1])
		if _, err := gf.vote("bob", tx.RequestID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
		checkSigned(t, w, gf.tx(tx.ID))
		if n := gf.gs[1].count(wire.KindPrepare); n != 2 {
			t.Fatalf("g2 prepared %d times, want 2 (ahead, then afresh)", n)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		gf, w := frostSolFixture(t, 3)
		var txs []*store.Transaction
		for range 6 {
			txs = append(txs, gf.submit(gf.api, w, "sol", "recipient", "1000000000"))
		}
		var wg sync.WaitGroup
		for _, tx := range txs {
			wg.Go(func() {
				if _, err := gf.svc.Vote(ctx, gf.users["bob"], tx.RequestID, approvals.Approve, gf.sign("bob", tx.RequestID, approvals.Approve)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for _, tx := range txs {
			checkSigned(t, w, gf.tx(tx.ID))
		}
	})
}

// staleGovernance is a 2-of-2 FROST wallet whose guardians check
// certificates against their governance state, after a policy change that
// g2 missed (it still drops governance updates): g2 holds the old policy
// and refuses certificates approved under the new one.
func staleGovernance(t *testing.T) (*guardianFixture, *store.Wallet) {
	t.Helper()
	gf, w := frostSolFixture(t, 2)
	for _, g := range gf.gs {
		g.set(func(g *fakeGuardian) { g.checkCert = true })
	}
	behind := gf.gs[1]
	behind.set(func(g *fakeGuardian) { g.dropGov = true })
	gf.changePolicy()
	current, err := gf.svc.GovernanceHash(context.Background(), gf.users["victor"])
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the push that follows the change to have reached both.
	waitFor(t, "the governance push", func() bool {
		return locked(gf.gs[0], func(g *fakeGuardian) bool { return g.govHash == current }) && behind.count(wire.KindGovernance) > 0
	})
	if locked(behind, func(g *fakeGuardian) bool { return g.govHash == current }) {
		t.Fatal("g2 took the policy change")
	}
	return gf, w
}

// fillPools runs a health check, which tops the commitment pools of w up,
// and waits for the commitments to arrive.
func fillPools(t *testing.T, gf *guardianFixture, w *store.Wallet) {
	t.Helper()
	if err := gf.svc.GuardianHealth(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "commitment pools", func() bool {
		for _, id := range w.Guardians {
			if gf.svc.PoolSize(w.ID, w.KeyVersion, id) < 8 {
				return false
			}
		}
		return true
	})
}

// restart gives g a new signer for each key, from the same key share: the
// nonces it handed out are forgotten, as after a process restart.
func restart(t *testing.T, g *fakeGuardian) {
	t.Helper()
	g.set(func(g *fakeGuardian) {
		for _, k := range g.keys {
			ks, err := frost.UnmarshalKeyShare(k.share)
			if err != nil {
				t.Fatal(err)
			}
			signer, err := frost.NewSigner(ks)
			ks.Zero()
			if err != nil {
				t.Fatal(err)
			}
			k.signer.Close()
			k.signer, k.reserved, k.issued = signer, map[uint64]string{}, map[uint64]bool{}
		}
		g.started = g.started.Add(time.Hour)
	})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ---- key ceremonies ----

// frostWallet files a wallet.create for a 2-of-n FROST wallet over gs
// (requested by ada, approved by alice and tess) and waits for its
// ceremony to end.
func (gf *guardianFixture) frostWallet(name string, threshold int, gs ...*fakeGuardian) (*store.Wallet, *store.Ceremony) {
	gf.t.Helper()
	ctx := context.Background()
	var names []string
	for _, g := range gs {
		names = append(names, g.name)
	}
	v, err := gf.svc.CreateWallet(ctx, gf.users["ada"], coordinator.WalletInput{Name: name, Mode: "frost", Threshold: threshold, Guardians: names})
	if err != nil {
		gf.t.Fatal(err)
	}
	for _, n := range []string{"alice", "tess"} {
		if _, err := gf.vote(n, v.Request.ID, approvals.Approve); err != nil {
			gf.t.Fatal(err)
		}
	}
	var w *store.Wallet
	waitFor(gf.t, "the key ceremony", func() bool {
		ws, err := gf.svc.ListWallets(ctx, gf.users["victor"])
		if err != nil {
			gf.t.Fatal(err)
		}
		for _, x := range ws {
			if x.Name == name && x.Status != store.WalletPending {
				w = x
			}
		}
		return w != nil
	})
	c, err := gf.svc.WalletCeremony(ctx, gf.users["victor"], w.ID)
	if err != nil || c == nil {
		gf.t.Fatalf("ceremony of %s: %v", name, err)
	}
	return w, c
}

func TestKeyCeremony(t *testing.T) {
	ctx := context.Background()
	t.Run("ok", func(t *testing.T) {
		gf := newGuardianFixture(t, "", 3)
		w, c := gf.frostWallet("frost-1", 2, gf.gs...)
		if w.Status != store.WalletActive || len(w.PublicKey) != ed25519.PublicKeySize || c.State != store.CeremonyCompleted || c.Round != coordinator.RoundDone {
			t.Fatalf("wallet %s key %x, ceremony %s at %s (%s)", w.Status, w.PublicKey, c.State, c.Round, c.Error)
		}
		if len(c.Transcript) != 32 || c.Blamed != "" {
			t.Fatalf("ceremony transcript %x, blamed %q", c.Transcript, c.Blamed)
		}
		var p coordinator.CeremonyProgress
		if err := json.Unmarshal(c.Progress, &p); err != nil {
			t.Fatal(err)
		}
		var rounds []string
		for _, s := range p.Steps {
			rounds = append(rounds, s.Round)
		}
		want := []string{coordinator.RoundRound1, coordinator.RoundConfirm, coordinator.RoundRound2, coordinator.RoundFinalize,
			coordinator.RoundTestSign, coordinator.RoundActivate}
		if !slices.Equal(rounds, want) {
			t.Fatalf("progress rounds %v, want %v", rounds, want)
		}
		for _, g := range gf.gs {
			k := g.keys[wireRef(w)]
			if k == nil || k.status != "active" || string(k.group.VerificationKey) != string(w.PublicKey) {
				t.Fatalf("guardian %s does not hold the active key", g.name)
			}
		}
		if n := auditCount(t, gf, "wallet.activate", "wallet:"+w.ID); n != 1 {
			t.Fatalf("%d wallet.activate events", n)
		}
		checkSigned(t, w, gf.signTransfer(w))
	})
	t.Run("bad-proof/blamed", func(t *testing.T) {
		gf := newGuardianFixture(t, "", 3)
		bad := gf.gs[1]
		bad.set(func(g *fakeGuardian) { g.badProof = true })
		w, c := gf.frostWallet("frost-1", 2, gf.gs...)
		if w.Status != store.WalletFailed || len(w.PublicKey) != 0 || c.State != store.CeremonyFailed || c.Blamed != bad.id {
			t.Fatalf("wallet %s, ceremony %s blamed %q (%s)", w.Status, c.State, c.Blamed, c.Error)
		}
		for _, g := range gf.gs {
			waitFor(t, "the abort at "+g.name, func() bool { return g.wasAborted(c.ID) })
		}
		if _, _, err := gf.svc.SubmitTransfer(ctx, gf.api, coordinator.TransferInput{WalletID: w.ID, Chain: "message", Asset: "sol",
			To: "x", Amount: "1"}, ""); code(err) != "wallet_not_active" {
			t.Fatalf("transfer on a failed wallet: %v", err)
		}
	})
	t.Run("guardian-down/fails", func(t *testing.T) {
		gf := newGuardianFixture(t, "", 3)
		gf.gs[2].set(func(g *fakeGuardian) { g.down = true })
		w, c := gf.frostWallet("frost-1", 2, gf.gs...)
		if w.Status != store.WalletFailed || c.State != store.CeremonyFailed || !strings.Contains(c.Error, "g3 did not answer") || c.Blamed != "" {
			t.Fatalf("wallet %s, ceremony %s: %q blamed %q", w.Status, c.State, c.Error, c.Blamed)
		}
	})
	t.Run("abandoned/failed-by-the-sweep", func(t *testing.T) {
		gf := newGuardianFixture(t, "", 2)
		w := &store.Wallet{ID: "w-abandoned", Name: "abandoned", Mode: store.ModeFROST, Curve: "ed25519", KeyVersion: 1,
			CreatedAt: gf.clock.Now(), Status: store.WalletPending, Threshold: 2, Guardians: []string{gf.gs[0].id, gf.gs[1].id}}
		c := &store.Ceremony{ID: hex.EncodeToString(make([]byte, 32)), WalletID: w.ID, State: store.CeremonyRunning, Round: coordinator.RoundConfirm,
			Curve: "ed25519", Threshold: 2, Guardians: w.Guardians, CreatedAt: gf.clock.Now(), UpdatedAt: gf.clock.Now()}
		if err := gf.st.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
			if err := tx.CreateWallet(ctx, w); err != nil {
				return err
			}
			return tx.CreateCeremony(ctx, c)
		}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := gf.svc.SubmitTransfer(ctx, gf.api, coordinator.TransferInput{WalletID: w.ID, Chain: "message", Asset: "sol",
			To: "x", Amount: "1"}, ""); code(err) != "wallet_not_active" {
			t.Fatalf("transfer on a pending wallet: %v", err)
		}
		if err := gf.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if got, _ := gf.svc.GetCeremony(ctx, gf.users["victor"], c.ID); got.State != store.CeremonyRunning {
			t.Fatal("a fresh ceremony was failed")
		}
		gf.clock.Advance(coordinator.CeremonyGrace + time.Second)
		if err := gf.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := gf.svc.GetCeremony(ctx, gf.users["victor"], c.ID)
		if err != nil {
			t.Fatal(err)
		}
		gw, _ := gf.svc.GetWallet(ctx, gf.users["victor"], w.ID)
		if got.State != store.CeremonyFailed || !strings.Contains(got.Error, "abandoned") || gw.Status != store.WalletFailed {
			t.Fatalf("abandoned ceremony %s (%s), wallet %s", got.State, got.Error, gw.Status)
		}
	})
}

func wireRef(w *store.Wallet) wire.KeyRef {
	return wire.KeyRef{WalletID: w.ID, KeyVersion: w.KeyVersion}
}

// TestFeedRate: a price feed moves rates within the band of their approved
// anchors only, and never the anchors (guardians hold them).
func TestFeedRate(t *testing.T) {
	gf := newGuardianFixture(t, "", 0)
	ctx := context.Background()
	before, err := gf.svc.GovernanceHash(ctx, gf.users["victor"])
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   coordinator.RateInput
		code string
	}{
		{"ok/within-band", coordinator.RateInput{Asset: "sol", EURPerUnit: "160", Decimals: 9}, ""},
		{"fail/beyond-band", coordinator.RateInput{Asset: "sol", EURPerUnit: "200", Decimals: 9}, "rate_out_of_band"},
		{"fail/other-decimals", coordinator.RateInput{Asset: "sol", EURPerUnit: "150", Decimals: 8}, "rate_out_of_band"},
		{"fail/no-anchor", coordinator.RateInput{Asset: "btc", EURPerUnit: "60000", Decimals: 8}, "rate_out_of_band"},
		{"fail/invalid", coordinator.RateInput{Asset: "sol", EURPerUnit: "-1", Decimals: 9}, "invalid_rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := gf.svc.FeedRate(ctx, tc.in); code(err) != tc.code && !(tc.code == "" && err == nil) {
				t.Fatalf("err %v, want %q", err, tc.code)
			}
		})
	}
	rates, err := gf.svc.ListRates(ctx, gf.users["victor"])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rates {
		if r.Asset == "sol" && r.EURPerUnit != "160" {
			t.Fatalf("sol rate %s, want 160", r.EURPerUnit)
		}
	}
	if after, _ := gf.svc.GovernanceHash(ctx, gf.users["victor"]); after != before {
		t.Fatal("a price feed changed the governance state")
	}
}

// gatedTransport holds the first round-2 call until released.
type gatedTransport struct {
	inner   coordinator.GuardianTransport
	once    sync.Once
	reached chan struct{}
	release chan struct{}
}

func (n *gatedTransport) RoundTrip(ctx context.Context, g *store.Guardian, req *wire.Envelope) (*wire.Envelope, error) {
	if req.Kind == wire.KindSign {
		first := false
		n.once.Do(func() { first = true })
		if first {
			close(n.reached)
			<-n.release
		}
	}
	return n.inner.RoundTrip(ctx, g, req)
}

// TestResumeTakesOver: a postponed transfer is retried after WaitingRetry
// by one coordinator, which takes it over; a second coordinator sweeping
// while that retry is in flight leaves it alone (it gives it SigningGrace),
// so the guardians release shares for one session only.
func TestResumeTakesOver(t *testing.T) {
	ctx := context.Background()
	gf, w := frostSolFixture(t, 3)
	for _, g := range gf.gs[1:] {
		g.set(func(g *fakeGuardian) { g.down = true })
	}
	tx := gf.signTransfer(w)
	if tx.Status != store.TxSigning || !strings.HasPrefix(tx.FailureReason, "waiting to sign: ") {
		t.Fatalf("with one guardian of 2 reachable: %s %q", tx.Status, tx.FailureReason)
	}
	for _, g := range gf.gs[1:] {
		g.set(func(g *fakeGuardian) { g.down = false })
	}
	gate := &gatedTransport{inner: gf.net, reached: make(chan struct{}), release: make(chan struct{})}
	replicaA := guardianService(t, gf.st, gf.clock, gate)
	gf.clock.Advance(coordinator.WaitingRetry + time.Second)
	before := 0
	for _, g := range gf.gs {
		before += g.count(wire.KindSign)
	}
	done := make(chan error, 1)
	go func() { done <- replicaA.Sweep(ctx) }()
	<-gate.reached
	// A is in round 2 of its retry: the row says so.
	if got := gf.tx(tx.ID); got.Status != store.TxSigning || got.FailureReason != "" {
		t.Fatalf("during the retry: %s %q, want signing with no waiting reason", got.Status, got.FailureReason)
	}
	gf.clock.Advance(time.Second)
	if err := gf.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkSigned(t, w, gf.tx(tx.ID))
	after := 0
	for _, g := range gf.gs {
		after += g.count(wire.KindSign)
	}
	if after-before != 2 {
		t.Fatalf("%d share releases for one transfer, want 2 (one session)", after-before)
	}
}
