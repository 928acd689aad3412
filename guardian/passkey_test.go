package guardian_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/internal/webauthntest"
)

// The web UI's origin and relying party id the test passkeys are bound to.
const (
	passkeyOrigin = "https://custody.example.com"
	passkeyRPID   = "custody.example.com"
)

// passkeys is who votes with which passkey.
type passkeys map[string]*webauthntest.Authenticator

// passkeyFixture is signFixture with passkeys in the governance state the
// guardians enrol under: u-pat, an approver, holds a passkey and no
// approval key, and u-bob holds a passkey next to his approval key.
func passkeyFixture(t *testing.T) (*coordinator, []*node, *wallet, passkeys) {
	t.Helper()
	c := newCoordinator(t)
	auth := passkeys{"u-bob": webauthntest.New(passkeyOrigin, passkeyRPID), "u-pat": webauthntest.New(passkeyOrigin, passkeyRPID)}
	st := *c.governance()
	st.Roster = slices.Clone(st.Roster)
	for i, m := range st.Roster {
		if au := auth[m.ID]; au != nil {
			st.Roster[i].Passkeys = []approvals.Passkey{au.Passkey()}
		}
	}
	st.Roster = append(st.Roster, governance.Member{ID: "u-pat", Name: "pat", Role: "approver", Passkeys: []approvals.Passkey{auth["u-pat"].Passkey()}})
	slices.SortFunc(st.Roster, func(a, b governance.Member) int { return strings.Compare(a.ID, b.ID) })
	parsed, err := governance.Parse(st.Canonical())
	if err != nil {
		t.Fatal(err)
	}
	c.setGovernance(parsed)
	nodes := c.newNodes(t, 3)
	for _, n := range nodes {
		if h := c.health(t, n).GovernanceHash; h != parsed.HashHex() {
			t.Fatalf("%s enrolled under %s, want %s", n.id, h, parsed.HashHex())
		}
	}
	return c, nodes, c.dkg(t, nodes, 2, "w-treasury"), auth
}

// passkeyCert builds, with approvals.NewCertificate as the coordinator
// does, the certificate s describes under roster st (nil: the
// coordinator's state): approvers in auth vote with that passkey, the
// others with their approval key. The votes must meet the quorum.
func (c *coordinator) passkeyCert(tb fataler, st *governance.State, auth passkeys, s certSpec) *approvals.Certificate {
	tb.Helper()
	if st == nil {
		st = c.governance()
	}
	if s.requestID == "" {
		s.requestID = "req-" + randomHex(6)
	}
	if s.requester == "" {
		s.requester = requester
	}
	if s.expires.IsZero() {
		s.expires = c.clock.Now().Add(time.Hour)
	}
	doc, err := st.Document()
	if err != nil {
		tb.Fatalf("policy: %v", err)
	}
	req, err := policy.RequirementFor(doc, s.action, s.eurCents)
	if err != nil {
		tb.Fatalf("policy for %s: %v", s.action, err)
	}
	q := approvals.Quorum{Approvals: req.Approvals, Roles: req.Roles, RejectionsToDeny: req.RejectionsToDeny}
	fp := intent.Fingerprint(s.intent)
	b := approvals.Binding{RequestID: s.requestID, RequesterID: s.requester, Revision: 1, Fingerprint: fp[:],
		PolicyHash: st.PolicyHash(), ExpiresAt: time.Unix(s.expires.Unix(), 0).UTC()}
	var votes []approvals.Vote
	for _, id := range s.approvers {
		if au := auth[id]; au != nil {
			a := au.Approve(b, approvals.Approve)
			votes = append(votes, approvals.Vote{ApproverID: id, Decision: approvals.Approve, Assertion: &a})
			continue
		}
		votes = append(votes, c.vote(tb, id, b))
	}
	roster := st.RosterMap()
	tally, err := approvals.Count(b, q, votes, roster)
	if err != nil || !tally.QuorumMet {
		tb.Fatalf("votes of %v: tally %+v, %v", s.approvers, tally, err)
	}
	cert, err := approvals.NewCertificate(s.action, b, s.intent, q, tally, votes, roster)
	if err != nil {
		tb.Fatalf("NewCertificate: %v", err)
	}
	return cert
}

// passkeyTransfer is a request to sign a transfer of amount from w,
// approved by approvers (with their passkeys in auth) under roster st.
func (c *coordinator) passkeyTransfer(tb fataler, w *wallet, st *governance.State, auth passkeys, amount string, approvers ...string) wire.SignRequest {
	tb.Helper()
	msg := transferIntent(tb, w.ref.WalletID, amount)
	cert := c.passkeyCert(tb, st, auth, certSpec{action: "transfer", intent: msg, eurCents: c.eurOf(tb, msg), approvers: approvers})
	return wire.SignRequest{Message: msg, Certificate: cert}
}

// assertionOf is the assertion of approver id in r's certificate, which
// it replaces by a copy first, so that changing it changes r alone.
func assertionOf(tb fataler, r *wire.SignRequest, id string) *approvals.Assertion {
	tb.Helper()
	b, err := json.Marshal(r.Certificate)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	r.Certificate = new(approvals.Certificate)
	if err := json.Unmarshal(b, r.Certificate); err != nil {
		tb.Fatalf("%v", err)
	}
	for i, a := range r.Certificate.Approvals {
		if a.ApproverID == id && a.Assertion != nil {
			return r.Certificate.Approvals[i].Assertion
		}
	}
	tb.Fatalf("no passkey approval by %s", id)
	return nil
}

// TestPasskeyApprovals: guardians count approvals made with rostered
// passkeys, checked from their own roster, and refuse altered ones.
func TestPasskeyApprovals(t *testing.T) {
	c, nodes, w, auth := passkeyFixture(t)
	pair := nodes[:2]

	for _, tc := range []struct {
		name      string
		amount    string
		approvers []string
	}{
		{"passkey-only approver", amountSmall, []string{"u-pat"}},
		{"two passkeys", amountMid, []string{"u-pat", "u-bob"}},
		{"passkeys and approval keys, with a treasury manager", amountLarge, []string{"u-pat", "u-alice", "u-bob", "u-carol"}},
	} {
		t.Run("ok/"+tc.name, func(t *testing.T) {
			c.sign(t, w, pair, c.passkeyTransfer(t, w, nil, auth, tc.amount, tc.approvers...))
		})
		t.Run("ok/prepared before the approval/"+tc.name, func(t *testing.T) {
			r := c.passkeyTransfer(t, w, nil, auth, tc.amount, tc.approvers...)
			s := c.newSigning(t, w, pair, wire.SignRequest{Message: r.Message})
			s.prepare(t)
			s.req.Certificate = r.Certificate
			s.aggregate(t, s.shares(t))
		})
	}

	s := c.newSigning(t, w, pair, wire.SignRequest{})
	for _, tc := range []struct {
		name  string
		alter func(r *wire.SignRequest)
	}{
		{"one byte of the signature", func(r *wire.SignRequest) {
			assertionOf(t, r, "u-pat").Signature[8] ^= 0x01
		}},
		{"one byte of the client data", func(r *wire.SignRequest) {
			a := assertionOf(t, r, "u-pat")
			i := bytes.Index(a.ClientDataJSON, []byte(`"challenge":"`))
			if i < 0 {
				t.Fatalf("client data without a challenge: %s", a.ClientDataJSON)
			}
			a.ClientDataJSON[i+len(`"challenge":"`)+5] ^= 0x01
		}},
		{"one byte of the authenticator data", func(r *wire.SignRequest) {
			a := assertionOf(t, r, "u-pat")
			a.AuthenticatorData[len(a.AuthenticatorData)-1] ^= 0x01 // the signature counter
		}},
		{"the challenge of another request", func(r *wire.SignRequest) {
			// pat's approval of the same intent under another request id.
			other := c.passkeyCert(t, nil, auth, certSpec{action: "transfer", intent: r.Message, eurCents: c.eurOf(t, r.Message), approvers: []string{"u-pat"}})
			*assertionOf(t, r, "u-pat") = *other.Approvals[0].Assertion
		}},
	} {
		t.Run("fail/"+tc.name, func(t *testing.T) {
			r := c.passkeyTransfer(t, w, nil, auth, amountSmall, "u-pat")
			tc.alter(&r)
			// With the certificate in round 1: refused there.
			r.KeyRef, r.Commitments = w.ref, s.req.Commitments
			for _, n := range pair {
				mustRefuse(t, s.prepareOne(t, n, r), governance.CodeBadSignature)
			}
			// Round 1 ahead of the approval, then round 2 with it: no share.
			s2 := c.newSigning(t, w, pair, wire.SignRequest{Message: r.Message})
			s2.prepare(t)
			r.KeyRef, r.Commitments = s2.req.KeyRef, s2.req.Commitments
			for _, n := range pair {
				mustRefuse(t, c.deliver(t, n, s2.shareEnvelope(t, n, r, s2.prepared)), governance.CodeBadSignature)
			}
		})
	}

	// None of the refusals reserved the commitments.
	t.Run("ok/commitments still usable", func(t *testing.T) {
		r := c.passkeyTransfer(t, w, nil, auth, amountSmall, "u-pat")
		s.req.Message, s.req.Certificate = r.Message, r.Certificate
		s.usable(t)
	})
}

// TestPasskeyGovernanceUpdates: guardians apply user.credential.add and
// user.role.assign requests that roster passkeys, after which votes with
// those passkeys count.
func TestPasskeyGovernanceUpdates(t *testing.T) {
	c, nodes, w, auth := passkeyFixture(t)
	pair := nodes[:2]
	carol, quinn := webauthntest.New(passkeyOrigin, passkeyRPID), webauthntest.New(passkeyOrigin, passkeyRPID)
	votes := passkeys{"u-carol": carol, "u-quinn": quinn}
	// approved is a governance request approved by u-alice with her
	// approval key and u-pat with his passkey.
	approved := func(action string, params any) *approvals.Certificate {
		raw, err := intent.NewAction(action, params)
		if err != nil {
			t.Fatal(err)
		}
		return c.passkeyCert(t, nil, auth, certSpec{action: action, intent: raw, approvers: []string{"u-alice", "u-pat"}})
	}
	addCarol := approved(governance.ActionCredentialAdd, map[string]any{"user_id": "u-carol", "name": "carol", "label": "YubiKey 5C", "passkey": carol.Passkey()})

	t.Run("fail/subject approves their own passkey", func(t *testing.T) {
		raw, err := intent.NewAction(governance.ActionCredentialAdd, map[string]any{"user_id": "u-carol", "name": "carol", "label": "phone", "passkey": carol.Passkey()})
		if err != nil {
			t.Fatal(err)
		}
		cert := c.passkeyCert(t, nil, auth, certSpec{action: governance.ActionCredentialAdd, intent: raw, approvers: []string{"u-alice", "u-carol"}})
		if _, e := c.update(t, nodes[0], cert); e == nil || e.Code != governance.CodeSubjectApproved {
			t.Fatalf("refusal %+v, want %s", e, governance.CodeSubjectApproved)
		}
		if h := c.health(t, nodes[0]).GovernanceHash; h != c.governance().HashHex() {
			t.Fatalf("a refused request changed the state to %s", h)
		}
	})

	t.Run("ok/credential add", func(t *testing.T) {
		// Approved with carol's passkey, as the coordinator sees it once
		// the request is executed: no guardian counts it before.
		ahead, err := c.governance().Apply(addCarol, c.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		r := c.passkeyTransfer(t, w, ahead, votes, amountSmall, "u-carol")
		s := c.newSigning(t, w, pair, r)
		for _, n := range pair {
			mustRefuse(t, s.prepareOne(t, n, s.req), governance.CodeNotRostered)
		}
		c.applyEverywhere(t, nodes, addCarol, 1)
		s.usable(t)
		// Carol's approval key still counts too.
		c.sign(t, w, pair, c.passkeyTransfer(t, w, nil, nil, amountSmall, "u-carol"))
	})

	t.Run("ok/role assign rosters a passkey-only approver", func(t *testing.T) {
		c.applyEverywhere(t, nodes, approved(governance.ActionRoleAssign, map[string]any{"user_id": "u-quinn", "name": "quinn", "role": "approver",
			"approval_key": "", "passkeys": []approvals.Passkey{quinn.Passkey()}}), 2)
		c.sign(t, w, pair, c.passkeyTransfer(t, w, nil, votes, amountMid, "u-quinn", "u-carol"))
	})

	t.Run("ok/survives a restart", func(t *testing.T) {
		nodes[0].restart(t)
		if h := c.health(t, nodes[0]); h.GovernanceHash != c.governance().HashHex() || h.Applied != 2 {
			t.Fatalf("after restart: %s (%d applied), want %s (2)", h.GovernanceHash, h.Applied, c.governance().HashHex())
		}
		c.sign(t, w, pair, c.passkeyTransfer(t, w, nil, votes, amountSmall, "u-quinn"))
	})
}
