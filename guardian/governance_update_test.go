package guardian_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
)

// governanceCert is an approved governance request of action with params.
func (c *coordinator) governanceCert(tb fataler, action string, params any, approvers ...string) *approvals.Certificate {
	tb.Helper()
	raw, err := intent.NewAction(action, params)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return c.certificate(tb, certSpec{action: action, intent: raw, approvers: approvers})
}

// update sends approved governance requests to n.
func (c *coordinator) update(tb fataler, n *node, certs ...*approvals.Certificate) (*wire.GovernanceState, *wire.Error) {
	tb.Helper()
	var st wire.GovernanceState
	_, e := c.rpc(tb, n, wire.KindGovernance, "gov-"+randomHex(4), 1, wire.GovernanceUpdate{Certificates: certs}, &st)
	return &st, e
}

// applyEverywhere applies cert on every node and in the coordinator's own
// view, and checks they agree.
func (c *coordinator) applyEverywhere(t *testing.T, nodes []*node, cert *approvals.Certificate, applied int) {
	t.Helper()
	next, err := c.governance().Apply(cert, c.clock.Now())
	if err != nil {
		t.Fatalf("the coordinator's own check: %v", err)
	}
	for _, n := range nodes {
		st, e := c.update(t, n, cert)
		if e != nil {
			t.Fatalf("%s refused %s: %s: %s", n.id, cert.Action, e.Code, e.Message)
		}
		if st.Hash != next.HashHex() || st.Applied != applied {
			t.Fatalf("%s holds %s (%d applied), want %s (%d)", n.id, st.Hash, st.Applied, next.HashHex(), applied)
		}
	}
	c.setGovernance(next)
}

// TestGovernanceUpdates: guardians apply approved governance requests
// themselves, each checked against the quorum of the state it changes.
func TestGovernanceUpdates(t *testing.T) {
	c, nodes, w := signFixture(t)
	n := nodes[0]
	initial := c.governance().HashHex()
	var history []*approvals.Certificate
	apply := func(t *testing.T, cert *approvals.Certificate) {
		t.Helper()
		history = append(history, cert)
		c.applyEverywhere(t, nodes, cert, len(history))
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		for _, n := range nodes {
			if h := c.health(t, n); h.GovernanceHash != c.governance().HashHex() {
				t.Fatalf("%s holds %s, want %s", n.id, h.GovernanceHash, c.governance().HashHex())
			}
		}
	}
	sign := func(t *testing.T, amount string, approvers ...string) wire.SignRequest {
		msg, cert := c.transferCert(t, w.ref.WalletID, amount, approvers...)
		return wire.SignRequest{Message: msg, Certificate: cert}
	}

	// A stricter policy: two approvals from the first euro.
	strict := strings.Replace(string(policy.Default().Canonical()), `{"up_to_eur":"1000.00","approvals":1}`, `{"up_to_eur":"1000.00","approvals":2}`, 1)
	if strict == string(policy.Default().Canonical()) {
		t.Fatal("the default policy changed shape; update the test's edit")
	}
	change := map[string]any{"document": json.RawMessage(strict)}
	frank := c.people["u-frank"]
	addFrank := map[string]any{"user_id": "u-frank", "name": "frank", "role": "approver", "approval_key": hex.EncodeToString(frank.Key)}
	// Approved under the initial policy, applied after it changed.
	staleRate := c.governanceCert(t, governance.ActionRateSet, map[string]any{"asset": "eth", "eur_per_unit": "1", "decimals": 18}, "u-alice", "u-bob")

	for _, tc := range []struct {
		name string
		cert *approvals.Certificate
		code string
	}{
		{"policy change below quorum", c.governanceCert(t, governance.ActionPolicyChange, change, "u-alice"), "quorum_not_met"},
		{"policy change without a treasury manager", c.governanceCert(t, governance.ActionPolicyChange, change, "u-bob", "u-carol"), "quorum_not_met"},
		{"policy change signed by the requester", func() *approvals.Certificate {
			raw, _ := intent.NewAction(governance.ActionPolicyChange, change)
			return c.certificate(t, certSpec{action: governance.ActionPolicyChange, intent: raw, requester: "u-bob", approvers: []string{"u-alice", "u-bob"}})
		}(), "requester_approved"},
		{"approver added by one approval", c.governanceCert(t, governance.ActionRoleAssign, addFrank, "u-alice"), "quorum_not_met"},
		{"subject approves their own role change", c.governanceCert(t, governance.ActionRoleAssign,
			map[string]any{"user_id": "u-carol", "name": "carol", "role": "treasury_manager", "from_role": "approver",
				"approval_key": hex.EncodeToString(c.people["u-carol"].Key)}, "u-alice", "u-carol"), "subject_approved"},
		{"not a governance action", func() *approvals.Certificate {
			_, cert := c.transferCert(t, w.ref.WalletID, amountSmall, "u-bob")
			return cert
		}(), "wrong_action"},
		{"intent of another action", func() *approvals.Certificate {
			raw, _ := intent.NewAction(governance.ActionRoleAssign, addFrank)
			return c.certificate(t, certSpec{action: governance.ActionPolicyChange, intent: raw, approvers: []string{"u-alice", "u-bob"}})
		}(), "intent_mismatch"},
		{"approving role without a key", c.governanceCert(t, governance.ActionRoleAssign,
			map[string]any{"user_id": "u-zoe", "name": "zoe", "role": "approver"}, "u-alice", "u-bob"), "intent_mismatch"},
		{"policy that does not parse", c.governanceCert(t, governance.ActionPolicyChange, map[string]any{"document": map[string]any{"actions": 1}}, "u-alice", "u-bob"), "intent_mismatch"},
	} {
		t.Run("fail/"+tc.name, func(t *testing.T) {
			_, e := c.update(t, n, tc.cert)
			if e == nil || e.Code != tc.code {
				t.Fatalf("refusal %+v, want %s", e, tc.code)
			}
			unchanged(t)
		})
	}
	if c.governance().HashHex() != initial {
		t.Fatal("a refused request changed the coordinator's view")
	}

	t.Run("ok/policy change", func(t *testing.T) {
		old := c.governance().PolicyHash()
		apply(t, c.governanceCert(t, governance.ActionPolicyChange, change, "u-alice", "u-bob"))
		if h := c.health(t, n).GovernanceHash; h == initial {
			t.Fatal("the state hash did not change")
		}
		// The new policy is the one the guardians check against.
		s := c.newSigning(t, w, nodes[:2], sign(t, amountSmall, "u-bob"))
		mustRefuse(t, s.prepareOne(t, n, s.req), "quorum_not_met")
		msg := transferIntent(t, w.ref.WalletID, amountSmall)
		under := c.certificate(t, certSpec{action: "transfer", intent: msg, eurCents: 20000, approvers: []string{"u-bob"},
			quorum: &approvals.Quorum{Approvals: 1, RejectionsToDeny: 1}, policy: old})
		s.req = wire.SignRequest{KeyRef: w.ref, Commitments: s.req.Commitments, Message: msg, Certificate: under}
		mustRefuse(t, s.prepareOne(t, n, s.req), "policy_mismatch")
		c.sign(t, w, nodes[:2], sign(t, amountSmall, "u-bob", "u-carol"))
		// Approvals given under the old policy are void.
		_, e := c.update(t, n, staleRate)
		if e == nil || e.Code != "policy_mismatch" {
			t.Fatalf("a request approved under the old policy: %+v, want policy_mismatch", e)
		}
	})

	t.Run("ok/role assign adds an approver", func(t *testing.T) {
		s := c.newSigning(t, w, nodes[:2], sign(t, amountSmall, "u-bob", "u-frank"))
		mustRefuse(t, s.prepareOne(t, n, s.req), "approver_not_rostered")
		apply(t, c.governanceCert(t, governance.ActionRoleAssign, addFrank, "u-alice", "u-grace"))
		s.usable(t)
		// Frank's approval now counts towards a governance quorum too.
		apply(t, c.governanceCert(t, governance.ActionRateSet,
			map[string]any{"asset": "eth", "eur_per_unit": "2500", "decimals": 18}, "u-alice", "u-frank"))
		if got := c.governance().Anchors["eth"]; got != "2500/18" {
			t.Fatalf("eth anchor %q", got)
		}
	})

	t.Run("ok/role assign removes an approver", func(t *testing.T) {
		apply(t, c.governanceCert(t, governance.ActionRoleAssign,
			map[string]any{"user_id": "u-erin", "name": "erin", "role": "admin", "from_role": "approver"}, "u-alice", "u-bob"))
		s := c.newSigning(t, w, nodes[:2], sign(t, amountSmall, "u-bob", "u-erin"))
		mustRefuse(t, s.prepareOne(t, n, s.req), "approver_not_rostered")
	})

	t.Run("ok/redelivered requests are applied once", func(t *testing.T) {
		rate := c.governanceCert(t, governance.ActionRateSet, map[string]any{"asset": "eth", "eur_per_unit": "2600", "decimals": 18}, "u-alice", "u-bob")
		next, err := c.governance().Apply(rate, c.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		// Everything applied so far, again, with one new request last.
		st, e := c.update(t, n, append(history, rate)...)
		if e != nil || st.Hash != next.HashHex() || st.Applied != len(history)+1 {
			t.Fatalf("redelivery: %+v %+v, want %s with %d applied", st, e, next.HashHex(), len(history)+1)
		}
		st, e = c.update(t, n, append(history, rate)...)
		if e != nil || st.Hash != next.HashHex() || st.Applied != len(history)+1 {
			t.Fatalf("second redelivery: %+v %+v", st, e)
		}
		for _, o := range nodes[1:] {
			if _, e := c.update(t, o, rate); e != nil {
				t.Fatalf("%s: %+v", o.id, e)
			}
		}
		c.setGovernance(next)
		history = append(history, rate)
	})

	t.Run("ok/a guardian that was offline applies expired changes late", func(t *testing.T) {
		rate := c.governanceCert(t, governance.ActionRateSet, map[string]any{"asset": "sol", "eur_per_unit": "140", "decimals": 9}, "u-alice", "u-bob")
		c.clock.Advance(30 * 24 * time.Hour) // long past the request's expiry
		if !c.clock.Now().After(rate.ExpiresAt) {
			t.Fatal("the certificate has not expired")
		}
		apply(t, rate)
		if got := c.governance().Anchors["sol"]; got != "140/9" {
			t.Fatalf("sol anchor %q", got)
		}
		unchanged(t)
	})

	t.Run("ok/survives a restart", func(t *testing.T) {
		n.restart(t)
		if h := c.health(t, n); h.GovernanceHash != c.governance().HashHex() || h.Applied != len(history) {
			t.Fatalf("after restart: %s (%d applied), want %s (%d)", h.GovernanceHash, h.Applied, c.governance().HashHex(), len(history))
		}
	})
}

// TestGovernanceConcurrentUpdates: approved requests delivered at the same
// time are all applied, each on top of the other (no lost update).
func TestGovernanceConcurrentUpdates(t *testing.T) {
	c := newCoordinator(t)
	n := c.newNode(t)
	const rounds = 4
	for round := range rounds {
		certs := []*approvals.Certificate{
			c.governanceCert(t, governance.ActionRateSet, map[string]any{"asset": "eth", "eur_per_unit": fmt.Sprint(2000 + round), "decimals": 18}, "u-alice", "u-bob"),
			c.governanceCert(t, governance.ActionRateSet, map[string]any{"asset": "sol", "eur_per_unit": fmt.Sprint(150 + round), "decimals": 9}, "u-alice", "u-carol"),
			c.governanceCert(t, governance.ActionRateSet, map[string]any{"asset": "btc", "eur_per_unit": fmt.Sprint(60000 + round), "decimals": 8}, "u-grace", "u-dave"),
		}
		// The three changes commute: whatever the order, this is the result.
		want := c.governance()
		for _, cert := range certs {
			next, err := want.Apply(cert, c.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			want = next
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var errs []string
		for _, cert := range certs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g := goT{mu: &mu, errs: &errs}
				if _, e := c.update(g, n, cert); e != nil {
					g.Fatalf("%s refused: %s: %s", cert.RequestID, e.Code, e.Message)
				}
			}()
		}
		wg.Wait()
		for _, e := range errs {
			t.Error(e)
		}
		h := c.health(t, n)
		if h.GovernanceHash != want.HashHex() || h.Applied != 3*(round+1) {
			t.Fatalf("round %d: the guardian holds %s (%d applied), want %s (%d): a concurrent update was lost",
				round, h.GovernanceHash, h.Applied, want.HashHex(), 3*(round+1))
		}
		c.setGovernance(want)
	}
}

// TestRoundTwoRechecks: a session prepared while its certificate was good
// releases no share once the certificate expired or the governance state
// it was checked against changed.
func TestRoundTwoRechecks(t *testing.T) {
	c, nodes, w := signFixture(t)
	pair := nodes[:2]
	prepared := func(t *testing.T, spec certSpec) *signing {
		t.Helper()
		msg := transferIntent(t, w.ref.WalletID, amountSmall)
		spec.action, spec.intent, spec.eurCents = "transfer", msg, c.eurOf(t, msg)
		s := c.newSigning(t, w, pair, wire.SignRequest{Message: msg, Certificate: c.certificate(t, spec)})
		s.prepare(t)
		return s
	}
	roundTwo := func(t *testing.T, s *signing, code string) {
		t.Helper()
		for _, n := range pair {
			mustRefuse(t, c.deliver(t, n, s.shareEnvelope(t, n, s.req, s.prepared)), code)
		}
	}

	t.Run("fail/certificate expired between the rounds", func(t *testing.T) {
		s := prepared(t, certSpec{approvers: []string{"u-bob"}, expires: c.clock.Now().Add(10 * time.Minute)})
		c.clock.Advance(20 * time.Minute)
		defer c.clock.Advance(-20 * time.Minute)
		roundTwo(t, s, "certificate_expired")
	})
	t.Run("fail/approver removed between the rounds", func(t *testing.T) {
		s := prepared(t, certSpec{approvers: []string{"u-carol"}})
		next := c.governanceCert(t, governance.ActionRoleAssign, map[string]any{"user_id": "u-carol", "name": "carol", "role": "viewer", "from_role": "approver"}, "u-alice", "u-bob")
		c.applyEverywhere(t, nodes, next, 1)
		roundTwo(t, s, "approver_not_rostered")
	})
	t.Run("fail/policy changed between the rounds", func(t *testing.T) {
		s := prepared(t, certSpec{approvers: []string{"u-bob"}})
		strict := strings.Replace(string(c.governance().Policy), `"rate_max_age":"1h0m0s"`, `"rate_max_age":"30m0s"`, 1)
		c.applyEverywhere(t, nodes, c.governanceCert(t, governance.ActionPolicyChange, map[string]any{"document": json.RawMessage(strict)}, "u-alice", "u-bob"), 2)
		roundTwo(t, s, "policy_mismatch")
	})
	t.Run("ok/unchanged state", func(t *testing.T) {
		s := prepared(t, certSpec{approvers: []string{"u-bob"}})
		s.aggregate(t, s.shares(t))
	})
}
