package governance_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/internal/webauthntest"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is a governance state under policy.Default with a roster of
// approvers whose private keys the test holds.
type fixture struct {
	st   *governance.State
	keys map[string]ed25519.PrivateKey
	who  map[string]approvals.Approver // everyone who can sign, rostered or not
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{keys: map[string]ed25519.PrivateKey{}, who: map[string]approvals.Approver{}}
	f.st = &governance.State{Policy: policy.Default().Canonical(), Anchors: map[string]string{"eth": "2000/18"}}
	for _, p := range []struct {
		id, role string
		rostered bool
	}{
		{"u-alice", "treasury_manager", true},
		{"u-bob", "approver", true},
		{"u-carol", "approver", true},
		{"u-dave", "approver", true},
		{"u-erin", "approver", true},
		{"u-frank", "approver", false},
	} {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		f.keys[p.id] = priv
		f.who[p.id] = approvals.Approver{ID: p.id, Name: strings.TrimPrefix(p.id, "u-"), Role: p.role, Key: pub}
		if p.rostered {
			f.st.Roster = append(f.st.Roster, governance.Member{ID: p.id, Name: strings.TrimPrefix(p.id, "u-"), Role: p.role, Key: pub})
		}
	}
	if _, err := f.st.Document(); err != nil {
		t.Fatal(err)
	}
	return f
}

// spec describes a certificate; zero fields take the honest default.
type spec struct {
	action    string
	intent    []byte
	requestID string
	requester string
	approvers []string
	quorum    *approvals.Quorum // default: what policy.Default demands at eur
	eur       int64
	policy    []byte
	expires   time.Time
}

// cert assembles the certificate s describes, signed by the approvers,
// whether or not it meets any quorum (a verifier must not trust it).
func (f *fixture) cert(t *testing.T, s spec) *approvals.Certificate {
	t.Helper()
	if s.requestID == "" {
		s.requestID = "req-1"
	}
	if s.requester == "" {
		s.requester = "u-requester"
	}
	if s.policy == nil {
		s.policy = f.st.PolicyHash()
	}
	if s.expires.IsZero() {
		s.expires = now.Add(time.Hour)
	}
	var q approvals.Quorum
	if s.quorum != nil {
		q = *s.quorum
	} else {
		doc, _ := f.st.Document()
		req, err := policy.RequirementFor(doc, s.action, s.eur)
		if err != nil {
			t.Fatal(err)
		}
		q = approvals.Quorum{Approvals: req.Approvals, Roles: req.Roles, RejectionsToDeny: req.RejectionsToDeny}
	}
	fp := intent.Fingerprint(s.intent)
	c := &approvals.Certificate{Version: 1, RequestID: s.requestID, RequesterID: s.requester, Revision: 1, Action: s.action,
		Intent: s.intent, Fingerprint: fp[:], PolicyHash: s.policy, ExpiresAt: time.Unix(s.expires.Unix(), 0).UTC(), Quorum: q}
	for _, id := range s.approvers {
		a := f.who[id]
		c.Approvals = append(c.Approvals, approvals.CertificateApproval{ApproverID: id, Name: a.Name, Role: a.Role, PublicKey: a.Key,
			Signature: ed25519.Sign(f.keys[id], approvals.Message(c.Binding(), approvals.Approve))})
	}
	return c
}

func action(t *testing.T, name string, params any) []byte {
	t.Helper()
	b, err := intent.NewAction(name, params)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func transfer(t *testing.T, asset, amount string) (*intent.Transfer, []byte) {
	t.Helper()
	tr, err := intent.NewTransfer("w-1", "ethereum", asset, "0xabc", amount, "", "n-1")
	if err != nil {
		t.Fatal(err)
	}
	return tr, tr.Canonical()
}

// code is the refusal code of err ("" if err is not a *Refusal).
func code(err error) string {
	var r *governance.Refusal
	if errors.As(err, &r) {
		return r.Code
	}
	return ""
}

func TestIsGovernanceAction(t *testing.T) {
	for a, want := range map[string]bool{
		governance.ActionPolicyChange: true, governance.ActionRoleAssign: true, governance.ActionRateSet: true,
		"transfer": false, "wallet.create": false, "policy.change.v2": false, "": false,
	} {
		if got := governance.IsGovernanceAction(a); got != want {
			t.Errorf("IsGovernanceAction(%q) = %v", a, got)
		}
	}
}

func TestParse(t *testing.T) {
	f := newFixture(t)
	good := f.st.Canonical()
	// edit changes the top-level members of the canonical state (the
	// policy stays as it is unless fn replaces it).
	edit := func(fn func(m map[string]any)) []byte {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(good, &raw); err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		for k, v := range raw {
			m[k] = v
		}
		var roster []any
		json.Unmarshal(raw["roster"], &roster)
		m["roster"] = roster
		fn(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	roster := func(fn func(r []any) []any) []byte {
		return edit(func(m map[string]any) { m["roster"] = fn(m["roster"].([]any)) })
	}
	member := func(i int, k string, v any) []byte {
		return roster(func(r []any) []any { r[i].(map[string]any)[k] = v; return r })
	}
	anchor := func(asset, v string) []byte {
		return edit(func(m map[string]any) { m["anchors"] = map[string]string{asset: v} })
	}
	// The same policy with its members in another order.
	var generic map[string]any
	json.Unmarshal(f.st.Policy, &generic)
	reordered, _ := json.Marshal(generic)
	if bytes.Equal(reordered, f.st.Policy) {
		t.Fatal("the reordered policy is the canonical one")
	}
	spaced := append(append([]byte(`{"policy":`), bytes.ReplaceAll(f.st.Policy, []byte(`,`), []byte(`, `))...), good[bytes.Index(good, []byte(`,"roster"`)):]...)

	for _, tc := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"ok/canonical", good, true},
		{"ok/no anchors", edit(func(m map[string]any) { delete(m, "anchors") }), true},
		{"ok/empty roster", edit(func(m map[string]any) { m["roster"] = []any{} }), true},
		{"ok/anchor with a fraction", anchor("btc", "55000.5/8"), true},
		{"fail/not JSON", []byte("governance"), false},
		{"fail/unknown field", edit(func(m map[string]any) { m["extra"] = 1 }), false},
		{"fail/policy members reordered", edit(func(m map[string]any) { m["policy"] = json.RawMessage(reordered) }), false},
		{"fail/policy with spaces", spaced, false},
		{"fail/policy does not parse", edit(func(m map[string]any) { m["policy"] = map[string]any{"actions": 1} }), false},
		{"fail/no policy", edit(func(m map[string]any) { delete(m, "policy") }), false},
		{"fail/roster unsorted", roster(func(r []any) []any { r[0], r[1] = r[1], r[0]; return r }), false},
		{"fail/member twice", roster(func(r []any) []any { return append(r, r[len(r)-1]) }), false},
		{"fail/id twice, other keys", roster(func(r []any) []any {
			m := maps.Clone(r[len(r)-1].(map[string]any))
			m["key"] = []byte(f.who["u-frank"].Key)
			return append(r, m)
		}), false},
		{"fail/key used twice", member(1, "key", f.st.Roster[0].Key), false},
		{"fail/empty id", roster(func(r []any) []any {
			m := maps.Clone(r[0].(map[string]any))
			m["id"] = ""
			return append([]any{m}, r[1:]...)
		}), false},
		{"fail/short key", member(0, "key", []byte{1, 2, 3}), false},
		{"fail/no key", member(0, "key", nil), false},
		{"fail/role that does not approve", member(0, "role", "admin"), false},
		{"fail/anchor without decimals", anchor("eth", "2000"), false},
		{"fail/anchor price not a number", anchor("eth", "lots/18"), false},
		{"fail/anchor price negative", anchor("eth", "-2000/18"), false},
		{"fail/anchor decimals negative", anchor("eth", "2000/-1"), false},
		{"fail/anchor decimals too large", anchor("eth", "2000/37"), false},
		{"fail/anchor for no asset", anchor("", "2000/18"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := governance.Parse(tc.in)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if again, err := governance.Parse(st.Canonical()); err != nil || again.HashHex() != st.HashHex() {
					t.Fatalf("canonical round trip: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("parsed")
			}
			if !errors.Is(err, governance.ErrInvalidState) {
				t.Fatalf("error %v is not ErrInvalidState", err)
			}
		})
	}
}

func TestCanonicalAndHash(t *testing.T) {
	f := newFixture(t)
	h := f.st.HashHex()
	if len(h) != 64 || h != f.st.HashHex() {
		t.Fatalf("hash %q is not stable", h)
	}
	if f.st.Hash() == sha256.Sum256(f.st.Canonical()) {
		t.Error("the state hash is not domain-separated")
	}
	reordered := *f.st
	reordered.Roster = slices.Clone(f.st.Roster)
	slices.Reverse(reordered.Roster)
	if reordered.HashHex() != h {
		t.Error("the roster order changes the hash")
	}
	if reordered.Roster[0].ID == f.st.Roster[0].ID {
		t.Error("Canonical sorted the caller's roster in place")
	}
	noAnchors, emptyAnchors := *f.st, *f.st
	noAnchors.Anchors, emptyAnchors.Anchors = nil, map[string]string{}
	if noAnchors.HashHex() != emptyAnchors.HashHex() {
		t.Error("nil and empty anchors hash differently")
	}
	for name, change := range map[string]func(s *governance.State){
		"role":   func(s *governance.State) { s.Roster[1].Role = "treasury_manager" },
		"key":    func(s *governance.State) { s.Roster[1].Key = f.who["u-frank"].Key },
		"member": func(s *governance.State) { s.Roster = s.Roster[1:] },
		"anchor": func(s *governance.State) { s.Anchors = map[string]string{"eth": "2001/18"} },
		"policy": func(s *governance.State) {
			s.Policy = bytes.Replace(policy.Default().Canonical(), []byte(`"rate_max_age":"1h0m0s"`), []byte(`"rate_max_age":"2h0m0s"`), 1)
		},
		"name":    func(s *governance.State) { s.Roster[1].Name = "robert" },
		"anchors": func(s *governance.State) { s.Anchors = map[string]string{"eth": "2000/18", "sol": "150/9"} },
	} {
		s := *f.st
		s.Roster = slices.Clone(f.st.Roster)
		change(&s)
		if s.HashHex() == h {
			t.Errorf("changing the %s does not change the hash", name)
		}
	}
	// A state that does not parse still has a hash (no panic), and not
	// the hash of any valid state.
	broken := *f.st
	broken.Policy = f.st.Policy[:10]
	if broken.HashHex() == h || len(broken.Canonical()) == 0 {
		t.Error("a state with a truncated policy hashes like the valid one")
	}
	if _, err := governance.Parse(broken.Canonical()); err == nil {
		t.Error("a state with a truncated policy parses")
	}
	if want := sha256.Sum256(f.st.Policy); !bytes.Equal(f.st.PolicyHash(), want[:]) {
		t.Error("PolicyHash is not the SHA-256 of the policy document")
	}
	r := f.st.RosterMap()
	if len(r) != len(f.st.Roster) || r["u-alice"].Role != "treasury_manager" || !bytes.Equal(r["u-bob"].Key, f.who["u-bob"].Key) {
		t.Errorf("roster map %+v", r)
	}
}

func TestCheck(t *testing.T) {
	f := newFixture(t)
	_, small := transfer(t, "eth", "100000000000000000") // EUR 200
	const mid, large = 400_000, 2_000_000                // EUR 4,000 and 20,000, in cents
	tr := func(s spec) spec { s.action, s.intent = "transfer", small; return s }
	weaker := &approvals.Quorum{Approvals: 1, RejectionsToDeny: 1}

	for _, tc := range []struct {
		name string
		c    func() *approvals.Certificate
		eur  int64
		at   time.Time
		code string // "" = accepted
	}{
		{"ok/one approval for a small transfer", func() *approvals.Certificate { return f.cert(t, tr(spec{approvers: []string{"u-bob"}})) }, 20_000, now, ""},
		{"ok/two for a mid transfer", func() *approvals.Certificate {
			return f.cert(t, tr(spec{approvers: []string{"u-bob", "u-carol"}, eur: mid}))
		}, mid, now, ""},
		{"ok/four with a treasury manager", func() *approvals.Certificate {
			return f.cert(t, tr(spec{approvers: []string{"u-alice", "u-bob", "u-carol", "u-dave"}, eur: large}))
		}, large, now, ""},
		{"ok/more than needed", func() *approvals.Certificate {
			return f.cert(t, tr(spec{approvers: []string{"u-bob", "u-carol", "u-dave"}}))
		}, 20_000, now, ""},
		{"ok/just before expiry", func() *approvals.Certificate { return f.cert(t, tr(spec{approvers: []string{"u-bob"}})) }, 0, now.Add(time.Hour - time.Second), ""},
		{"fail/nil", func() *approvals.Certificate { return nil }, 0, now, governance.CodeMalformed},
		{"fail/another policy", func() *approvals.Certificate {
			h := sha256.Sum256([]byte("other"))
			return f.cert(t, tr(spec{approvers: []string{"u-bob"}, policy: h[:]}))
		}, 0, now, governance.CodePolicyMismatch},
		{"fail/expired", func() *approvals.Certificate { return f.cert(t, tr(spec{approvers: []string{"u-bob"}})) }, 0, now.Add(time.Hour), governance.CodeExpired},
		{"fail/no expiry", func() *approvals.Certificate {
			c := f.cert(t, tr(spec{approvers: []string{"u-bob"}}))
			c.ExpiresAt = time.Time{}
			return c
		}, 0, now, governance.CodeExpired},
		{"fail/requester approved", func() *approvals.Certificate {
			return f.cert(t, tr(spec{requester: "u-bob", approvers: []string{"u-bob", "u-carol"}, eur: mid}))
		}, mid, now, governance.CodeSelfApproval},
		{"fail/no rule for the action", func() *approvals.Certificate {
			return f.cert(t, spec{action: "teleport", intent: small, approvers: []string{"u-bob"}, quorum: weaker})
		}, 0, now, governance.CodeWrongAction},
		{"fail/too few approvals", func() *approvals.Certificate {
			return f.cert(t, tr(spec{approvers: []string{"u-bob"}, eur: mid}))
		}, mid, now, governance.CodeQuorum},
		{"fail/weaker quorum stated", func() *approvals.Certificate {
			return f.cert(t, tr(spec{approvers: []string{"u-bob"}, quorum: weaker}))
		}, mid, now, governance.CodeQuorum},
		{"fail/role missing", func() *approvals.Certificate {
			return f.cert(t, tr(spec{approvers: []string{"u-bob", "u-carol", "u-dave", "u-erin"}, eur: large}))
		}, large, now, governance.CodeQuorum},
		{"fail/role requirement not stated", func() *approvals.Certificate {
			return f.cert(t, tr(spec{approvers: []string{"u-bob", "u-carol", "u-dave", "u-erin"}, quorum: &approvals.Quorum{Approvals: 4, RejectionsToDeny: 1}}))
		}, large, now, governance.CodeQuorum},
		{"fail/approver not rostered", func() *approvals.Certificate {
			return f.cert(t, tr(spec{approvers: []string{"u-frank"}}))
		}, 0, now, governance.CodeNotRostered},
		{"fail/approver's role misstated", func() *approvals.Certificate {
			c := f.cert(t, tr(spec{approvers: []string{"u-bob", "u-carol", "u-dave", "u-erin"}, eur: large}))
			c.Approvals[0].Role = "treasury_manager"
			return c
		}, large, now, governance.CodeNotRostered},
		{"fail/approver's key substituted", func() *approvals.Certificate {
			c := f.cert(t, tr(spec{approvers: []string{"u-bob"}}))
			pub, priv, _ := ed25519.GenerateKey(rand.Reader)
			c.Approvals[0].PublicKey, c.Approvals[0].Signature = pub, ed25519.Sign(priv, approvals.Message(c.Binding(), approvals.Approve))
			return c
		}, 0, now, governance.CodeNotRostered},
		{"fail/bad signature", func() *approvals.Certificate {
			c := f.cert(t, tr(spec{approvers: []string{"u-bob"}}))
			c.Approvals[0].Signature[0] ^= 1
			return c
		}, 0, now, governance.CodeBadSignature},
		{"fail/signature from another request", func() *approvals.Certificate {
			c := f.cert(t, tr(spec{approvers: []string{"u-bob"}}))
			c.Approvals[0].Signature = f.cert(t, tr(spec{requestID: "req-2", approvers: []string{"u-bob"}})).Approvals[0].Signature
			return c
		}, 0, now, governance.CodeBadSignature},
		{"fail/expiry stretched", func() *approvals.Certificate {
			c := f.cert(t, tr(spec{approvers: []string{"u-bob"}}))
			c.ExpiresAt = c.ExpiresAt.Add(time.Hour)
			return c
		}, 0, now, governance.CodeBadSignature},
		{"fail/duplicate approver", func() *approvals.Certificate {
			return f.cert(t, tr(spec{approvers: []string{"u-bob", "u-bob"}, eur: mid}))
		}, mid, now, governance.CodeMalformed},
		{"fail/intent does not match the fingerprint", func() *approvals.Certificate {
			c := f.cert(t, tr(spec{approvers: []string{"u-bob"}}))
			_, c.Intent = transfer(t, "eth", "100000000000000001")
			return c
		}, 0, now, governance.CodeMalformed},
		{"fail/unsupported version", func() *approvals.Certificate {
			c := f.cert(t, tr(spec{approvers: []string{"u-bob"}}))
			c.Version = 2
			return c
		}, 0, now, governance.CodeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := f.st.Check(tc.c(), tc.eur, tc.at)
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code != "" && code(err) != tc.code:
				t.Fatalf("error %v, want refusal %s", err, tc.code)
			}
		})
	}
}

func TestTransferValue(t *testing.T) {
	f := newFixture(t)
	oneEth := "1000000000000000000"
	for _, tc := range []struct {
		name   string
		asset  string
		amount string
		v      *governance.Valuation
		cents  int64
		code   string
	}{
		{"ok/anchor", "eth", oneEth, nil, 200_000, ""},
		{"ok/anchor rounds up", "eth", "1", nil, 1, ""},
		{"ok/lower rate ignored", "eth", oneEth, &governance.Valuation{EURPerUnit: "0.01", Decimals: 18}, 200_000, ""},
		{"ok/equal rate", "eth", oneEth, &governance.Valuation{EURPerUnit: "2000", Decimals: 18}, 200_000, ""},
		{"ok/higher rate used", "eth", oneEth, &governance.Valuation{EURPerUnit: "2500.5", Decimals: 18}, 250_050, ""},
		{"ok/other decimals: anchor", "eth", oneEth, &governance.Valuation{EURPerUnit: "999999", Decimals: 6}, 200_000, ""},
		{"ok/rate that is not a number: anchor", "eth", oneEth, &governance.Valuation{EURPerUnit: "cheap", Decimals: 18}, 200_000, ""},
		{"ok/negative rate: anchor", "eth", oneEth, &governance.Valuation{EURPerUnit: "-5000", Decimals: 18}, 200_000, ""},
		{"ok/no anchor: the coordinator's rate", "sol", "1000000000", &governance.Valuation{EURPerUnit: "150", Decimals: 9}, 15_000, ""},
		{"fail/no anchor, no rate", "sol", "1000000000", nil, 0, governance.CodeInvalidValuation},
		{"fail/no anchor, rate not a decimal", "sol", "1000000000", &governance.Valuation{EURPerUnit: "1e3", Decimals: 9}, 0, governance.CodeInvalidValuation},
		{"fail/higher rate not a plain decimal", "eth", oneEth, &governance.Valuation{EURPerUnit: "1e9", Decimals: 18}, 0, governance.CodeInvalidValuation},
		{"fail/overflow", "eth", strings.Repeat("9", 70), nil, 0, governance.CodeInvalidValuation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, _ := transfer(t, tc.asset, tc.amount)
			cents, err := f.st.TransferValue(tr, tc.v)
			if tc.code != "" {
				if code(err) != tc.code {
					t.Fatalf("value %d, error %v: want refusal %s", cents, err, tc.code)
				}
				return
			}
			if err != nil || cents != tc.cents {
				t.Fatalf("value %d, error %v: want %d", cents, err, tc.cents)
			}
		})
	}
}

func TestApply(t *testing.T) {
	f := newFixture(t)
	strict := strings.Replace(string(f.st.Policy), `{"up_to_eur":"1000.00","approvals":1}`, `{"up_to_eur":"1000.00","approvals":2}`, 1)
	if strict == string(f.st.Policy) {
		t.Fatal("the default policy changed shape")
	}
	hexKey := func(id string) string { return hex.EncodeToString(f.who[id].Key) }
	gov := func(name string, params any, approvers ...string) func() *approvals.Certificate {
		return func() *approvals.Certificate {
			return f.cert(t, spec{action: name, intent: action(t, name, params), approvers: approvers})
		}
	}
	before := f.st.HashHex()

	for _, tc := range []struct {
		name  string
		c     func() *approvals.Certificate
		code  string
		check func(t *testing.T, next *governance.State)
	}{
		{"ok/policy change, document inline", gov(governance.ActionPolicyChange, map[string]any{"document": json.RawMessage(strict)}, "u-alice", "u-bob"), "",
			func(t *testing.T, next *governance.State) {
				if string(next.Policy) != strict || slices.Compare(next.PolicyHash(), f.st.PolicyHash()) == 0 {
					t.Fatal("the policy did not change")
				}
			}},
		{"ok/policy change, document as bytes", gov(governance.ActionPolicyChange, map[string]any{"document": base64.StdEncoding.EncodeToString([]byte(strict))}, "u-alice", "u-bob"), "",
			func(t *testing.T, next *governance.State) {
				if string(next.Policy) != strict {
					t.Fatal("the policy did not change")
				}
			}},
		{"ok/role assign adds an approver", gov(governance.ActionRoleAssign, map[string]any{"user_id": "u-frank", "name": "frank", "role": "approver", "approval_key": hexKey("u-frank")}, "u-alice", "u-bob"), "",
			func(t *testing.T, next *governance.State) {
				r := next.RosterMap()
				if a, ok := r["u-frank"]; !ok || a.Role != "approver" || !bytes.Equal(a.Key, f.who["u-frank"].Key) || len(r) != len(f.st.Roster)+1 {
					t.Fatalf("roster %v", r)
				}
				if !slices.IsSortedFunc(next.Roster, func(a, b governance.Member) int { return strings.Compare(a.ID, b.ID) }) {
					t.Fatal("roster not sorted")
				}
			}},
		{"ok/role assign promotes", gov(governance.ActionRoleAssign, map[string]any{"user_id": "u-carol", "name": "carol", "role": "treasury_manager", "from_role": "approver", "approval_key": hexKey("u-carol")}, "u-alice", "u-bob"), "",
			func(t *testing.T, next *governance.State) {
				if r := next.RosterMap(); r["u-carol"].Role != "treasury_manager" || len(r) != len(f.st.Roster) {
					t.Fatalf("roster %v", r)
				}
			}},
		{"ok/role assign removes", gov(governance.ActionRoleAssign, map[string]any{"user_id": "u-dave", "name": "dave", "role": "admin", "from_role": "approver"}, "u-alice", "u-bob"), "",
			func(t *testing.T, next *governance.State) {
				if _, ok := next.RosterMap()["u-dave"]; ok || len(next.Roster) != len(f.st.Roster)-1 {
					t.Fatal("u-dave is still rostered")
				}
			}},
		{"ok/rate set", gov(governance.ActionRateSet, map[string]any{"asset": "sol", "eur_per_unit": "150", "decimals": 9}, "u-alice", "u-bob"), "",
			func(t *testing.T, next *governance.State) {
				if next.Anchors["sol"] != "150/9" || next.Anchors["eth"] != "2000/18" {
					t.Fatalf("anchors %v", next.Anchors)
				}
			}},
		{"fail/below quorum", gov(governance.ActionPolicyChange, map[string]any{"document": json.RawMessage(strict)}, "u-alice"), governance.CodeQuorum, nil},
		{"fail/without the treasury manager", gov(governance.ActionRateSet, map[string]any{"asset": "eth", "eur_per_unit": "1", "decimals": 18}, "u-bob", "u-carol"), governance.CodeQuorum, nil},
		{"fail/subject approves their own promotion", gov(governance.ActionRoleAssign, map[string]any{"user_id": "u-carol", "name": "carol", "role": "treasury_manager", "approval_key": hexKey("u-carol")}, "u-alice", "u-carol"), governance.CodeSubjectApproved, nil},
		{"fail/subject approves their own removal", gov(governance.ActionRoleAssign, map[string]any{"user_id": "u-bob", "name": "bob", "role": "viewer"}, "u-alice", "u-bob"), governance.CodeSubjectApproved, nil},
		{"fail/nil", func() *approvals.Certificate { return nil }, governance.CodeWrongAction, nil},
		{"fail/not a governance action", func() *approvals.Certificate {
			_, raw := transfer(t, "eth", "1")
			return f.cert(t, spec{action: "transfer", intent: raw, approvers: []string{"u-bob"}})
		}, governance.CodeWrongAction, nil},
		{"fail/intent of another action", func() *approvals.Certificate {
			return f.cert(t, spec{action: governance.ActionRateSet, intent: action(t, governance.ActionPolicyChange, map[string]any{"document": json.RawMessage(strict)}), approvers: []string{"u-alice", "u-bob"}})
		}, governance.CodeIntentMismatch, nil},
		{"fail/policy that does not parse", gov(governance.ActionPolicyChange, map[string]any{"document": map[string]any{"actions": "all"}}, "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/policy change without a document", gov(governance.ActionPolicyChange, map[string]any{"doc": 1}, "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/role assign without a user", gov(governance.ActionRoleAssign, map[string]any{"role": "approver", "approval_key": hexKey("u-frank")}, "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/approving role without a key", gov(governance.ActionRoleAssign, map[string]any{"user_id": "u-frank", "role": "approver"}, "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/approval key of another member", gov(governance.ActionRoleAssign, map[string]any{"user_id": "u-frank", "role": "approver", "approval_key": hexKey("u-bob")}, "u-alice", "u-carol"), governance.CodeIntentMismatch, nil},
		{"fail/rate without an asset", gov(governance.ActionRateSet, map[string]any{"eur_per_unit": "1", "decimals": 18}, "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/rate that is not a number", gov(governance.ActionRateSet, map[string]any{"asset": "eth", "eur_per_unit": "cheap", "decimals": 18}, "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/rate with negative decimals", gov(governance.ActionRateSet, map[string]any{"asset": "eth", "eur_per_unit": "1", "decimals": -1}, "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		// A guardian that was offline applies a change after its request
		// expired (the request was approved in time).
		{"ok/expired, applied late", func() *approvals.Certificate {
			return f.cert(t, spec{action: governance.ActionRateSet, intent: action(t, governance.ActionRateSet, map[string]any{"asset": "eth", "eur_per_unit": "1", "decimals": 18}),
				approvers: []string{"u-alice", "u-bob"}, expires: now.Add(-30 * 24 * time.Hour)})
		}, "", func(t *testing.T, next *governance.State) {
			if next.Anchors["eth"] != "1/18" {
				t.Fatalf("anchors %v", next.Anchors)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, err := f.st.Apply(tc.c(), now)
			if f.st.HashHex() != before {
				t.Fatal("Apply changed the state it was called on")
			}
			if tc.code != "" {
				if code(err) != tc.code || next != nil {
					t.Fatalf("next %v, error %v: want refusal %s", next != nil, err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := next.Document(); err != nil {
				t.Fatalf("the next state is invalid: %v", err)
			}
			if next.HashHex() == before {
				t.Fatal("the state did not change")
			}
			tc.check(t, next)
		})
	}
}

// TestApplySequence: each change is checked against the quorum of the
// state it changes, so approvals count under the roster in force.
func TestApplySequence(t *testing.T) {
	f := newFixture(t)
	addFrank := action(t, governance.ActionRoleAssign, map[string]any{"user_id": "u-frank", "name": "frank", "role": "treasury_manager",
		"approval_key": hex.EncodeToString(f.who["u-frank"].Key)})
	rate := action(t, governance.ActionRateSet, map[string]any{"asset": "eth", "eur_per_unit": "2100", "decimals": 18})
	// Frank (as a treasury manager) approves a rate change: not before he
	// is rostered, and counted after.
	f.who["u-frank"] = approvals.Approver{ID: "u-frank", Name: "frank", Role: "treasury_manager", Key: f.who["u-frank"].Key}
	byFrank := f.cert(t, spec{action: governance.ActionRateSet, intent: rate, requestID: "req-rate", approvers: []string{"u-frank", "u-bob"}})
	if _, err := f.st.Apply(byFrank, now); code(err) != governance.CodeNotRostered {
		t.Fatalf("before frank is rostered: %v", err)
	}
	next, err := f.st.Apply(f.cert(t, spec{action: governance.ActionRoleAssign, intent: addFrank, requestID: "req-frank", approvers: []string{"u-alice", "u-bob"}}), now)
	if err != nil {
		t.Fatal(err)
	}
	after, err := next.Apply(byFrank, now)
	if err != nil {
		t.Fatalf("after frank is rostered: %v", err)
	}
	if after.Anchors["eth"] != "2100/18" {
		t.Fatalf("anchors %v", after.Anchors)
	}
	// A change approved under the old policy does not apply after a
	// policy change.
	strict := strings.Replace(string(f.st.Policy), `"rate_max_age":"1h0m0s"`, `"rate_max_age":"30m0s"`, 1)
	pc, err := after.Apply(f.cert(t, spec{action: governance.ActionPolicyChange, intent: action(t, governance.ActionPolicyChange, map[string]any{"document": json.RawMessage(strict)}),
		approvers: []string{"u-alice", "u-bob"}, policy: after.PolicyHash()}), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Apply(byFrank, now); code(err) != governance.CodePolicyMismatch {
		t.Fatalf("a change approved under the previous policy: %v", err)
	}
}

// ---- passkeys ----

// The web UI's origin and relying party id the test passkeys are bound to.
const (
	pkOrigin = "https://custody.example.com"
	pkRPID   = "custody.example.com"
)

// passkeyFixture is newFixture's state with passkeys: u-alice and u-bob
// hold one next to their Ed25519 key, and u-pat, an approver, holds two
// and no Ed25519 key.
type passkeyFixture struct {
	*fixture
	auth  map[string]*webauthntest.Authenticator // the passkey each member votes with
	spare *webauthntest.Authenticator            // u-pat's second passkey
	n     int                                    // requests certified so far
}

func newPasskeyFixture(t *testing.T) *passkeyFixture {
	t.Helper()
	pf := &passkeyFixture{fixture: newFixture(t), auth: map[string]*webauthntest.Authenticator{}, spare: webauthntest.New(pkOrigin, pkRPID)}
	for _, id := range []string{"u-alice", "u-bob", "u-pat"} {
		pf.auth[id] = webauthntest.New(pkOrigin, pkRPID)
	}
	for i, m := range pf.st.Roster {
		if au := pf.auth[m.ID]; au != nil {
			pf.st.Roster[i].Passkeys = []approvals.Passkey{au.Passkey()}
		}
	}
	pf.st.Roster = append(pf.st.Roster, governance.Member{ID: "u-pat", Name: "pat", Role: "approver", // sorts last
		Passkeys: sortedPasskeys(pf.auth["u-pat"].Passkey(), pf.spare.Passkey())})
	if _, err := pf.st.Document(); err != nil {
		t.Fatal(err)
	}
	return pf
}

func sortedPasskeys(ps ...approvals.Passkey) []approvals.Passkey {
	slices.SortFunc(ps, func(a, b approvals.Passkey) int { return bytes.Compare(a.ID, b.ID) })
	return ps
}

// pkSpec describes a certificate made by pf.certify.
type pkSpec struct {
	action string
	intent []byte
	eur    int64
	voters []string                               // who approves, in order
	auth   map[string]*webauthntest.Authenticator // who votes with which passkey; default pf.auth
	st     *governance.State                      // whose policy and roster; default pf.st
}

// certify assembles a certificate as the coordinator does, with
// approvals.NewCertificate under the state's roster and the quorum its
// policy demands (by hand if the votes do not meet it): each voter
// approves with their passkey in s.auth, or with their Ed25519 key if
// they have none there.
func (pf *passkeyFixture) certify(t *testing.T, s pkSpec) *approvals.Certificate {
	t.Helper()
	if s.auth == nil {
		s.auth = pf.auth
	}
	if s.st == nil {
		s.st = pf.st
	}
	pf.n++
	doc, err := s.st.Document()
	if err != nil {
		t.Fatal(err)
	}
	req, err := policy.RequirementFor(doc, s.action, s.eur)
	if err != nil {
		t.Fatal(err)
	}
	q := approvals.Quorum{Approvals: req.Approvals, Roles: req.Roles, RejectionsToDeny: req.RejectionsToDeny}
	fp := intent.Fingerprint(s.intent)
	b := approvals.Binding{RequestID: fmt.Sprintf("req-pk-%d", pf.n), RequesterID: "u-requester", Revision: 1, Fingerprint: fp[:],
		PolicyHash: s.st.PolicyHash(), ExpiresAt: now.Add(time.Hour)}
	var votes []approvals.Vote
	for _, id := range s.voters {
		v := approvals.Vote{ApproverID: id, Decision: approvals.Approve}
		if au := s.auth[id]; au != nil {
			a := au.Approve(b, approvals.Approve)
			v.Assertion = &a
		} else {
			v.Signature = ed25519.Sign(pf.keys[id], approvals.Message(b, approvals.Approve))
		}
		votes = append(votes, v)
	}
	roster := s.st.RosterMap()
	tally, err := approvals.Count(b, q, votes, roster)
	if err != nil {
		t.Fatal(err)
	}
	if tally.QuorumMet {
		c, err := approvals.NewCertificate(s.action, b, s.intent, q, tally, votes, roster)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Below the quorum: what a lying coordinator would send.
	c := &approvals.Certificate{Version: 1, RequestID: b.RequestID, RequesterID: b.RequesterID, Revision: b.Revision, Action: s.action,
		Intent: s.intent, Fingerprint: b.Fingerprint, PolicyHash: b.PolicyHash, ExpiresAt: b.ExpiresAt, Quorum: q}
	for _, v := range votes {
		a := roster[v.ApproverID]
		ca := approvals.CertificateApproval{ApproverID: a.ID, Name: a.Name, Role: a.Role, PublicKey: a.Key, Signature: v.Signature}
		if v.Assertion != nil {
			i := slices.IndexFunc(a.Passkeys, func(p approvals.Passkey) bool { return bytes.Equal(p.ID, v.Assertion.CredentialID) })
			ca.PublicKey, ca.Assertion, ca.Passkey = nil, v.Assertion, &a.Passkeys[i]
		}
		c.Approvals = append(c.Approvals, ca)
	}
	return c
}

// deepCopy returns a copy of c that shares no memory with it.
func deepCopy(t *testing.T, c *approvals.Certificate) *approvals.Certificate {
	t.Helper()
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var out approvals.Certificate
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// approvalOf is the approval by id in c.
func approvalOf(t *testing.T, c *approvals.Certificate, id string) *approvals.CertificateApproval {
	t.Helper()
	i := slices.IndexFunc(c.Approvals, func(a approvals.CertificateApproval) bool { return a.ApproverID == id })
	if i < 0 {
		t.Fatalf("no approval by %s", id)
	}
	return &c.Approvals[i]
}

// withID is an authenticator with the same key as au under credential id
// id (an authenticator is a value; the copy shares the private key).
func withID(au *webauthntest.Authenticator, id []byte) *webauthntest.Authenticator {
	c := *au
	c.ID = id
	return &c
}

func TestIsGovernanceActionCredentialAdd(t *testing.T) {
	if !governance.IsGovernanceAction(governance.ActionCredentialAdd) || governance.ActionCredentialAdd != "user.credential.add" {
		t.Fatalf("%q is not a governance action", governance.ActionCredentialAdd)
	}
}

func TestParsePasskeys(t *testing.T) {
	pf := newPasskeyFixture(t)
	// state returns a copy of pf's state with fn applied to its roster.
	state := func(fn func(r []governance.Member) []governance.Member) *governance.State {
		s := *pf.st
		s.Roster = nil
		for _, m := range pf.st.Roster {
			m.Passkeys = slices.Clone(m.Passkeys)
			s.Roster = append(s.Roster, m)
		}
		s.Roster = fn(s.Roster)
		return &s
	}
	member := func(r []governance.Member, id string) *governance.Member {
		i := slices.IndexFunc(r, func(m governance.Member) bool { return m.ID == id })
		if i < 0 {
			t.Fatalf("no member %s", id)
		}
		return &r[i]
	}
	other := webauthntest.New(pkOrigin, pkRPID)

	for _, tc := range []struct {
		name string
		st   *governance.State
		ok   bool
	}{
		{"ok/passkeys", pf.st, true},
		{"ok/passkey only", state(func(r []governance.Member) []governance.Member {
			member(r, "u-bob").Key = nil
			return r
		}), true},
		{"fail/neither key nor passkeys", state(func(r []governance.Member) []governance.Member {
			member(r, "u-bob").Key, member(r, "u-bob").Passkeys = nil, nil
			return r
		}), false},
		{"fail/empty key, no passkeys", state(func(r []governance.Member) []governance.Member {
			member(r, "u-carol").Key = ed25519.PublicKey{}
			return r
		}), false},
		{"fail/passkeys unsorted", state(func(r []governance.Member) []governance.Member {
			slices.Reverse(member(r, "u-pat").Passkeys)
			return r
		}), false},
		{"fail/one passkey twice", state(func(r []governance.Member) []governance.Member {
			m := member(r, "u-bob")
			m.Passkeys = append(m.Passkeys, m.Passkeys[0])
			return r
		}), false},
		{"fail/credential id of another member", state(func(r []governance.Member) []governance.Member {
			p := withID(other, pf.auth["u-alice"].ID).Passkey()
			member(r, "u-carol").Passkeys = []approvals.Passkey{p}
			return r
		}), false},
		{"fail/passkey key of another member", state(func(r []governance.Member) []governance.Member {
			p := withID(pf.auth["u-alice"], []byte("another credential")).Passkey()
			member(r, "u-carol").Passkeys = []approvals.Passkey{p}
			return r
		}), false},
		{"fail/passkey without an origin", state(func(r []governance.Member) []governance.Member {
			member(r, "u-bob").Passkeys[0].Origins = nil
			return r
		}), false},
		{"fail/passkey with a bad COSE key", state(func(r []governance.Member) []governance.Member {
			member(r, "u-bob").Passkeys[0].PublicKey = []byte{0xa0} // an empty CBOR map
			return r
		}), false},
		{"fail/passkey without a relying party", state(func(r []governance.Member) []governance.Member {
			member(r, "u-bob").Passkeys[0].RPID = ""
			return r
		}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, docErr := tc.st.Document()
			st, err := governance.Parse(tc.st.Canonical())
			if tc.ok {
				if err != nil || docErr != nil {
					t.Fatalf("Parse: %v, Document: %v", err, docErr)
				}
				if st.HashHex() != tc.st.HashHex() || !slices.EqualFunc(st.Roster, tc.st.Roster, func(a, b governance.Member) bool {
					return a.ID == b.ID && bytes.Equal(a.Key, b.Key) && slices.EqualFunc(a.Passkeys, b.Passkeys, approvals.Passkey.Equal)
				}) {
					t.Fatal("the parsed state is not the one encoded")
				}
				return
			}
			if !errors.Is(err, governance.ErrInvalidState) || !errors.Is(docErr, governance.ErrInvalidState) {
				t.Fatalf("Parse: %v, Document: %v; want ErrInvalidState from both", err, docErr)
			}
		})
	}

	t.Run("ok/a passkey is part of the hash", func(t *testing.T) {
		for name, fn := range map[string]func(p *approvals.Passkey){
			"origins":    func(p *approvals.Passkey) { p.Origins = append(p.Origins, "https://other.example.com") },
			"rp id":      func(p *approvals.Passkey) { p.RPID = "example.com" },
			"public key": func(p *approvals.Passkey) { p.PublicKey = other.COSEKey() },
		} {
			s := state(func(r []governance.Member) []governance.Member { fn(&member(r, "u-bob").Passkeys[0]); return r })
			if s.HashHex() == pf.st.HashHex() {
				t.Errorf("changing a passkey's %s does not change the hash", name)
			}
		}
	})
}

// TestStateHashWithoutPasskeys: a roster without passkeys encodes, and so
// hashes, exactly as before members could hold them, so guardians
// enrolled earlier agree with the coordinator.
func TestStateHashWithoutPasskeys(t *testing.T) {
	f := newFixture(t)
	// The encoding of a state before passkeys.
	type oldMember struct {
		ID   string            `json:"id"`
		Name string            `json:"name"`
		Role string            `json:"role"`
		Key  ed25519.PublicKey `json:"key"`
	}
	type oldState struct {
		Policy  json.RawMessage   `json:"policy"`
		Roster  []oldMember       `json:"roster"`
		Anchors map[string]string `json:"anchors"`
	}
	old := oldState{Policy: f.st.Policy, Anchors: f.st.Anchors}
	for _, m := range f.st.Roster {
		old.Roster = append(old.Roster, oldMember{ID: m.ID, Name: m.Name, Role: m.Role, Key: m.Key})
	}
	want, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.st.Canonical(); !bytes.Equal(got, want) {
		t.Fatalf("canonical state\n%s\nwant\n%s", got, want)
	}
	if h := sha256.Sum256(append([]byte("custos/governance/v1\n"), want...)); f.st.Hash() != h {
		t.Fatal("the hash of a state without passkeys changed")
	}
	var raw struct {
		Roster []map[string]json.RawMessage `json:"roster"`
	}
	if err := json.Unmarshal(f.st.Canonical(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, m := range raw.Roster {
		if _, ok := m["passkeys"]; ok {
			t.Fatalf("member without passkeys encoded with a passkeys member: %v", m)
		}
	}
}

func TestCheckPasskeyVotes(t *testing.T) {
	pf := newPasskeyFixture(t)
	_, small := transfer(t, "eth", "100000000000000000") // EUR 200
	const mid, large = 400_000, 2_000_000                // EUR 4,000 and 20,000, in cents
	tr := func(eur int64, voters ...string) pkSpec {
		return pkSpec{action: "transfer", intent: small, eur: eur, voters: voters}
	}
	honest := func(s pkSpec) func() *approvals.Certificate {
		return func() *approvals.Certificate { return pf.certify(t, s) }
	}
	// edited is an honest certificate changed by fn.
	edited := func(s pkSpec, fn func(c *approvals.Certificate)) func() *approvals.Certificate {
		return func() *approvals.Certificate {
			c := deepCopy(t, pf.certify(t, s))
			fn(c)
			return c
		}
	}
	impostor := withID(webauthntest.New(pkOrigin, pkRPID), pf.auth["u-pat"].ID) // another key, pat's credential id
	unverified := *pf.auth["u-pat"]
	unverified.Flags = webauthntest.FlagUP

	for _, tc := range []struct {
		name string
		c    func() *approvals.Certificate
		eur  int64
		code string // "" = accepted
	}{
		{"ok/passkey-only approver", honest(tr(20_000, "u-pat")), 20_000, ""},
		{"ok/passkey-only approver's other passkey", honest(pkSpec{action: "transfer", intent: small, voters: []string{"u-pat"},
			auth: map[string]*webauthntest.Authenticator{"u-pat": pf.spare}}), 20_000, ""},
		{"ok/two passkeys for a mid transfer", honest(tr(mid, "u-pat", "u-bob")), mid, ""},
		{"ok/passkeys and keys, with a treasury manager", honest(tr(large, "u-alice", "u-carol", "u-pat", "u-bob")), large, ""},
		{"ok/a member with both votes with the key", honest(pkSpec{action: "transfer", intent: small, eur: mid, voters: []string{"u-bob", "u-pat"},
			auth: map[string]*webauthntest.Authenticator{"u-pat": pf.spare}}), mid, ""},
		{"fail/too few passkey approvals", honest(tr(0, "u-pat")), mid, governance.CodeQuorum},
		{"fail/requester approved with a passkey", edited(tr(mid, "u-pat", "u-bob"), func(c *approvals.Certificate) {
			c.RequesterID = "u-pat"
		}), mid, governance.CodeSelfApproval},
		{"fail/signature altered", edited(tr(0, "u-pat"), func(c *approvals.Certificate) {
			approvalOf(t, c, "u-pat").Assertion.Signature[10] ^= 1
		}), 20_000, governance.CodeBadSignature},
		{"fail/authenticator data altered", edited(tr(0, "u-pat"), func(c *approvals.Certificate) {
			approvalOf(t, c, "u-pat").Assertion.AuthenticatorData[36] ^= 1 // the signature counter
		}), 20_000, governance.CodeBadSignature},
		{"fail/client data altered", edited(tr(0, "u-pat"), func(c *approvals.Certificate) {
			a := approvalOf(t, c, "u-pat").Assertion
			a.ClientDataJSON = bytes.Replace(a.ClientDataJSON, []byte(pkOrigin), []byte("https://custody.example.org"), 1)
		}), 20_000, governance.CodeBadSignature},
		{"fail/assertion of another request", edited(tr(0, "u-pat"), func(c *approvals.Certificate) {
			other := pf.certify(t, tr(0, "u-pat"))
			approvalOf(t, c, "u-pat").Assertion = approvalOf(t, other, "u-pat").Assertion
		}), 20_000, governance.CodeBadSignature},
		{"fail/assertion of a rejection", edited(tr(0, "u-pat"), func(c *approvals.Certificate) {
			a := pf.auth["u-pat"].Approve(c.Binding(), approvals.Reject)
			approvalOf(t, c, "u-pat").Assertion = &a
		}), 20_000, governance.CodeBadSignature},
		{"fail/expiry stretched", edited(tr(0, "u-pat"), func(c *approvals.Certificate) {
			c.ExpiresAt = c.ExpiresAt.Add(time.Hour)
		}), 20_000, governance.CodeBadSignature},
		{"fail/user not verified", edited(tr(0, "u-pat"), func(c *approvals.Certificate) {
			a := unverified.Approve(c.Binding(), approvals.Approve)
			approvalOf(t, c, "u-pat").Assertion = &a
		}), 20_000, governance.CodeBadSignature},
		{"fail/another key under the roster's credential id", edited(tr(0, "u-pat"), func(c *approvals.Certificate) {
			a, p := impostor.Approve(c.Binding(), approvals.Approve), impostor.Passkey()
			approvalOf(t, c, "u-pat").Assertion, approvalOf(t, c, "u-pat").Passkey = &a, &p
		}), 20_000, governance.CodeNotRostered},
		{"fail/roster's passkey, another key's assertion", edited(tr(0, "u-pat"), func(c *approvals.Certificate) {
			a := impostor.Approve(c.Binding(), approvals.Approve)
			approvalOf(t, c, "u-pat").Assertion = &a
		}), 20_000, governance.CodeBadSignature},
		{"fail/passkey's origins widened", edited(tr(0, "u-pat"), func(c *approvals.Certificate) {
			p := approvalOf(t, c, "u-pat").Passkey
			p.Origins = append(p.Origins, "https://evil.example.com")
		}), 20_000, governance.CodeNotRostered},
		{"fail/another member's passkey", edited(tr(mid, "u-pat", "u-carol"), func(c *approvals.Certificate) {
			a, p := pf.auth["u-bob"].Approve(c.Binding(), approvals.Approve), pf.auth["u-bob"].Passkey()
			approvalOf(t, c, "u-pat").Assertion, approvalOf(t, c, "u-pat").Passkey = &a, &p
		}), mid, governance.CodeNotRostered},
		{"fail/a passkey the member does not hold", edited(tr(0, "u-carol"), func(c *approvals.Certificate) {
			au := webauthntest.New(pkOrigin, pkRPID)
			a, p := au.Approve(c.Binding(), approvals.Approve), au.Passkey()
			ap := approvalOf(t, c, "u-carol")
			ap.PublicKey, ap.Signature, ap.Assertion, ap.Passkey = nil, nil, &a, &p
		}), 20_000, governance.CodeNotRostered},
		{"fail/signature and assertion", edited(tr(0, "u-bob"), func(c *approvals.Certificate) {
			ap := approvalOf(t, c, "u-bob")
			ap.Signature = ed25519.Sign(pf.keys["u-bob"], approvals.Message(c.Binding(), approvals.Approve))
		}), 20_000, governance.CodeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pf.st.Check(tc.c(), tc.eur, now)
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code != "" && code(err) != tc.code:
				t.Fatalf("error %v, want refusal %s", err, tc.code)
			}
		})
	}
}

// TestCheckPasskeyTampering alters, one at a time, every byte of a
// passkey approval's signature, authenticator data and client data: no
// altered assertion counts.
func TestCheckPasskeyTampering(t *testing.T) {
	pf := newPasskeyFixture(t)
	_, small := transfer(t, "eth", "100000000000000000")
	honest := pf.certify(t, pkSpec{action: "transfer", intent: small, eur: 400_000, voters: []string{"u-carol", "u-pat"}})
	if err := pf.st.Check(honest, 400_000, now); err != nil {
		t.Fatalf("the honest certificate: %v", err)
	}
	pat := pf.auth["u-pat"].Passkey()
	msg := approvals.Message(honest.Binding(), approvals.Approve)
	for _, field := range []struct {
		name  string
		bytes func(a *approvals.Assertion) []byte
		// exact: every alteration is a bad signature (none can leave the
		// field undecodable).
		exact bool
	}{
		{"signature", func(a *approvals.Assertion) []byte { return a.Signature }, true},
		{"authenticator data", func(a *approvals.Assertion) []byte { return a.AuthenticatorData }, true},
		{"client data", func(a *approvals.Assertion) []byte { return a.ClientDataJSON }, false},
	} {
		t.Run(field.name, func(t *testing.T) {
			n := len(field.bytes(approvalOf(t, honest, "u-pat").Assertion))
			bad := 0
			for i := range n {
				c := deepCopy(t, honest)
				a := approvalOf(t, c, "u-pat").Assertion
				field.bytes(a)[i] ^= 0x01
				want := governance.CodeBadSignature
				verr := approvals.VerifyAssertion(pat, msg, *a)
				switch {
				case verr == nil:
					t.Fatalf("byte %d altered: VerifyAssertion accepts it", i)
				case errors.Is(verr, approvals.ErrMalformed) && !field.exact:
					want = governance.CodeMalformed // no longer decodes
				}
				if err := pf.st.Check(c, 400_000, now); code(err) != want {
					t.Fatalf("byte %d altered: %v, want refusal %s", i, err, want)
				}
				if want == governance.CodeBadSignature {
					bad++
				}
			}
			// Most alterations of client data leave it decodable: those
			// are refused as bad signatures, not as malformed.
			if bad < n/2 {
				t.Fatalf("%d of %d alterations refused as bad signatures", bad, n)
			}
		})
	}
}

// TestCheckPasskeyKeyRecordedTwice: one key recorded for two members under
// two credential ids and two COSE encodings never counts twice: the
// state refuses it, or a certificate counting it for both is refused.
func TestCheckPasskeyKeyRecordedTwice(t *testing.T) {
	pf := newPasskeyFixture(t)
	au := pf.auth["u-pat"]
	// The same COSE_Key with its first two labels swapped.
	k := au.COSEKey()
	reencoded := append(append([]byte{k[0]}, k[3:5]...), k[1:3]...)
	reencoded = append(reencoded, k[5:]...)
	twin := approvals.Passkey{ID: []byte("carol's credential"), PublicKey: reencoded, RPID: pkRPID, Origins: []string{pkOrigin}}
	if err := twin.Validate(); err != nil || bytes.Equal(twin.PublicKey, au.COSEKey()) {
		t.Fatalf("re-encoded key: %v", err)
	}
	st := *pf.st
	st.Roster = slices.Clone(pf.st.Roster)
	i := slices.IndexFunc(st.Roster, func(m governance.Member) bool { return m.ID == "u-carol" })
	st.Roster[i].Passkeys = []approvals.Passkey{twin}

	_, small := transfer(t, "eth", "100000000000000000")
	c := pf.certify(t, pkSpec{action: "transfer", intent: small, eur: 20_000, voters: []string{"u-pat"}})
	// The coordinator adds pat's assertion once more as carol's vote: the
	// credential id is not signed.
	a := *approvalOf(t, c, "u-pat").Assertion
	a.CredentialID = twin.ID
	c.Quorum.Approvals = 2
	c.Approvals = append(c.Approvals, approvals.CertificateApproval{ApproverID: "u-carol", Name: "carol", Role: "approver", Assertion: &a, Passkey: &twin})
	if err := st.Check(c, 400_000, now); code(err) != governance.CodeNotRostered && !errors.Is(err, governance.ErrInvalidState) {
		t.Fatalf("one key counted for two members: %v, want refusal %s or an invalid state", err, governance.CodeNotRostered)
	}
}

// memberOf is member id of st, if rostered.
func memberOf(st *governance.State, id string) (governance.Member, bool) {
	i := slices.IndexFunc(st.Roster, func(m governance.Member) bool { return m.ID == id })
	if i < 0 {
		return governance.Member{}, false
	}
	return st.Roster[i], true
}

// applyCase is one governance request applied to a passkey fixture's state.
type applyCase struct {
	name  string
	c     func() *approvals.Certificate
	code  string                                     // "" = applied
	check func(t *testing.T, next *governance.State) // for an applied request
}

// runApply applies each case's certificate to pf's state.
func runApply(t *testing.T, pf *passkeyFixture, cases []applyCase) {
	t.Helper()
	before := pf.st.HashHex()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next, err := pf.st.Apply(tc.c(), now)
			if pf.st.HashHex() != before {
				t.Fatal("Apply changed the state it was called on")
			}
			if tc.code != "" {
				if code(err) != tc.code || next != nil {
					t.Fatalf("next %v, error %v: want refusal %s", next != nil, err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := governance.Parse(next.Canonical()); err != nil {
				t.Fatalf("the next state is invalid: %v", err)
			}
			tc.check(t, next)
		})
	}
}

// unchangedExcept checks that next's roster is pf's except for member id.
func (pf *passkeyFixture) unchangedExcept(t *testing.T, next *governance.State, id string) {
	t.Helper()
	for _, m := range pf.st.Roster {
		if m.ID == id {
			continue
		}
		n, ok := memberOf(next, m.ID)
		if !ok || n.Role != m.Role || !bytes.Equal(n.Key, m.Key) || !slices.EqualFunc(n.Passkeys, m.Passkeys, approvals.Passkey.Equal) {
			t.Fatalf("member %s changed: %+v", m.ID, n)
		}
	}
	if !bytes.Equal(next.Policy, pf.st.Policy) || !maps.Equal(next.Anchors, pf.st.Anchors) {
		t.Fatal("the policy or anchors changed")
	}
}

func TestApplyCredentialAdd(t *testing.T) {
	pf := newPasskeyFixture(t)
	fresh := webauthntest.New(pkOrigin, pkRPID)
	first := withID(webauthntest.New(pkOrigin, pkRPID), []byte{0}) // sorts before any other credential id
	add := func(user string, p approvals.Passkey, voters ...string) func() *approvals.Certificate {
		return func() *approvals.Certificate {
			raw := action(t, governance.ActionCredentialAdd, map[string]any{"user_id": user, "name": strings.TrimPrefix(user, "u-"), "label": "YubiKey 5C", "passkey": p})
			return pf.certify(t, pkSpec{action: governance.ActionCredentialAdd, intent: raw, voters: voters})
		}
	}
	// gains checks that member id holds exactly want (in this order) and
	// that nothing else changed.
	gains := func(id string, want ...approvals.Passkey) func(t *testing.T, next *governance.State) {
		return func(t *testing.T, next *governance.State) {
			m, ok := memberOf(next, id)
			if !ok || !slices.EqualFunc(m.Passkeys, want, approvals.Passkey.Equal) {
				t.Fatalf("%s holds passkeys %+v", id, m.Passkeys)
			}
			if old, _ := memberOf(pf.st, id); !bytes.Equal(m.Key, old.Key) || m.Role != old.Role {
				t.Fatalf("%s's key or role changed", id)
			}
			pf.unchangedExcept(t, next, id)
			if next.HashHex() == pf.st.HashHex() {
				t.Fatal("the state hash did not change")
			}
		}
	}
	withOrigins := func(p approvals.Passkey, origins ...string) approvals.Passkey { p.Origins = origins; return p }
	withKey := func(p approvals.Passkey, key []byte) approvals.Passkey { p.PublicKey = key; return p }
	badCOSE := withKey(fresh.Passkey(), []byte{0xa2, 0x01, 0x02, 0x03, 0x26}) // EC2, ES256, no curve or coordinates

	runApply(t, pf, []applyCase{
		{"ok/to a member with an approval key", add("u-carol", fresh.Passkey(), "u-alice", "u-bob"), "", gains("u-carol", fresh.Passkey())},
		{"ok/a second passkey, sorted", add("u-bob", first.Passkey(), "u-alice", "u-carol"), "", gains("u-bob", first.Passkey(), pf.auth["u-bob"].Passkey())},
		{"ok/approved with passkeys", add("u-carol", fresh.Passkey(), "u-alice", "u-pat"), "", gains("u-carol", fresh.Passkey())},
		{"ok/to a passkey-only member", add("u-pat", fresh.Passkey(), "u-alice", "u-bob"), "",
			gains("u-pat", sortedPasskeys(pf.auth["u-pat"].Passkey(), pf.spare.Passkey(), fresh.Passkey())...)},
		{"ok/a user who does not approve: no roster change", add("u-frank", fresh.Passkey(), "u-alice", "u-bob"), "",
			func(t *testing.T, next *governance.State) {
				if next.HashHex() != pf.st.HashHex() {
					t.Fatalf("the roster changed for a user who does not approve: %+v", next.Roster)
				}
			}},
		{"fail/subject approved it", add("u-bob", fresh.Passkey(), "u-alice", "u-bob"), governance.CodeSubjectApproved, nil},
		{"fail/passkey-only subject approved it with a passkey", add("u-pat", fresh.Passkey(), "u-alice", "u-pat"), governance.CodeSubjectApproved, nil},
		{"fail/below quorum", add("u-carol", fresh.Passkey(), "u-alice"), governance.CodeQuorum, nil},
		{"fail/without a treasury manager", add("u-carol", fresh.Passkey(), "u-bob", "u-pat"), governance.CodeQuorum, nil},
		{"fail/bad COSE key", add("u-carol", badCOSE, "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/no origin", add("u-carol", withOrigins(fresh.Passkey()), "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/origin not serialised as a browser does", add("u-carol", withOrigins(fresh.Passkey(), "https://custody.example.com/"), "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/credential id of another member's passkey", add("u-carol", withID(fresh, pf.auth["u-alice"].ID).Passkey(), "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/key of another member's passkey", add("u-carol", withKey(fresh.Passkey(), pf.auth["u-alice"].COSEKey()), "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/the member's own passkey again", add("u-bob", pf.auth["u-bob"].Passkey(), "u-alice", "u-carol"), governance.CodeIntentMismatch, nil},
		{"fail/the member's own credential id, another key", add("u-bob", withID(fresh, pf.auth["u-bob"].ID).Passkey(), "u-alice", "u-carol"), governance.CodeIntentMismatch, nil},
		{"fail/no passkey", func() *approvals.Certificate {
			raw := action(t, governance.ActionCredentialAdd, map[string]any{"user_id": "u-carol", "name": "carol"})
			return pf.certify(t, pkSpec{action: governance.ActionCredentialAdd, intent: raw, voters: []string{"u-alice", "u-bob"}})
		}, governance.CodeIntentMismatch, nil},
		{"fail/no user", func() *approvals.Certificate {
			raw := action(t, governance.ActionCredentialAdd, map[string]any{"name": "carol", "passkey": fresh.Passkey()})
			return pf.certify(t, pkSpec{action: governance.ActionCredentialAdd, intent: raw, voters: []string{"u-alice", "u-bob"}})
		}, governance.CodeIntentMismatch, nil},
		{"fail/intent of another action", func() *approvals.Certificate {
			raw := action(t, governance.ActionRoleAssign, map[string]any{"user_id": "u-carol", "name": "carol", "passkey": fresh.Passkey()})
			return pf.certify(t, pkSpec{action: governance.ActionCredentialAdd, intent: raw, voters: []string{"u-alice", "u-bob"}})
		}, governance.CodeIntentMismatch, nil},
	})
}

func TestApplyRoleAssignPasskeys(t *testing.T) {
	pf := newPasskeyFixture(t)
	a, b := webauthntest.New(pkOrigin, pkRPID), webauthntest.New(pkOrigin, pkRPID)
	assign := func(params map[string]any, voters ...string) func() *approvals.Certificate {
		return func() *approvals.Certificate {
			raw := action(t, governance.ActionRoleAssign, params)
			return pf.certify(t, pkSpec{action: governance.ActionRoleAssign, intent: raw, voters: voters})
		}
	}
	frankKey := hex.EncodeToString(pf.who["u-frank"].Key)
	// rostered checks member id's entry and that no one else changed.
	rostered := func(id, role string, key ed25519.PublicKey, passkeys ...approvals.Passkey) func(t *testing.T, next *governance.State) {
		return func(t *testing.T, next *governance.State) {
			m, ok := memberOf(next, id)
			if !ok || m.Role != role || !bytes.Equal(m.Key, key) || !slices.EqualFunc(m.Passkeys, passkeys, approvals.Passkey.Equal) {
				t.Fatalf("%s is rostered as %+v", id, m)
			}
			pf.unchangedExcept(t, next, id)
		}
	}

	runApply(t, pf, []applyCase{
		{"ok/passkeys and no approval key: a passkey-only member", assign(map[string]any{"user_id": "u-quinn", "name": "quinn", "role": "approver",
			"approval_key": "", "passkeys": []approvals.Passkey{a.Passkey()}}, "u-alice", "u-bob"), "", rostered("u-quinn", "approver", nil, a.Passkey())},
		{"ok/passkeys sorted", assign(map[string]any{"user_id": "u-quinn", "name": "quinn", "role": "approver",
			"passkeys": []approvals.Passkey{b.Passkey(), a.Passkey()}}, "u-alice", "u-bob"), "", rostered("u-quinn", "approver", nil, sortedPasskeys(a.Passkey(), b.Passkey())...)},
		{"ok/approval key and passkeys", assign(map[string]any{"user_id": "u-frank", "name": "frank", "role": "approver",
			"approval_key": frankKey, "passkeys": []approvals.Passkey{a.Passkey()}}, "u-alice", "u-pat"), "", rostered("u-frank", "approver", pf.who["u-frank"].Key, a.Passkey())},
		{"ok/passkey-only member promoted", assign(map[string]any{"user_id": "u-pat", "name": "pat", "role": "treasury_manager", "from_role": "approver",
			"passkeys": []approvals.Passkey{pf.auth["u-pat"].Passkey(), pf.spare.Passkey()}}, "u-alice", "u-bob"), "",
			rostered("u-pat", "treasury_manager", nil, sortedPasskeys(pf.auth["u-pat"].Passkey(), pf.spare.Passkey())...)},
		{"ok/passkey-only member removed", assign(map[string]any{"user_id": "u-pat", "name": "pat", "role": "viewer", "from_role": "approver"}, "u-alice", "u-bob"), "",
			func(t *testing.T, next *governance.State) {
				if _, ok := memberOf(next, "u-pat"); ok {
					t.Fatal("u-pat is still rostered")
				}
				pf.unchangedExcept(t, next, "u-pat")
			}},
		{"fail/neither approval key nor passkeys", assign(map[string]any{"user_id": "u-quinn", "name": "quinn", "role": "approver",
			"approval_key": "", "passkeys": []approvals.Passkey{}}, "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/passkey-only member promoted without their passkeys", assign(map[string]any{"user_id": "u-pat", "name": "pat", "role": "treasury_manager",
			"from_role": "approver"}, "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/invalid passkey", assign(map[string]any{"user_id": "u-quinn", "name": "quinn", "role": "approver",
			"passkeys": []approvals.Passkey{{ID: a.ID, PublicKey: a.COSEKey(), RPID: pkRPID}}}, "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/another member's passkey", assign(map[string]any{"user_id": "u-quinn", "name": "quinn", "role": "approver",
			"passkeys": []approvals.Passkey{pf.spare.Passkey()}}, "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/one passkey twice", assign(map[string]any{"user_id": "u-quinn", "name": "quinn", "role": "approver",
			"passkeys": []approvals.Passkey{a.Passkey(), a.Passkey()}}, "u-alice", "u-bob"), governance.CodeIntentMismatch, nil},
		{"fail/passkey-only subject approved it", assign(map[string]any{"user_id": "u-pat", "name": "pat", "role": "treasury_manager", "from_role": "approver",
			"passkeys": []approvals.Passkey{pf.auth["u-pat"].Passkey()}}, "u-alice", "u-pat"), governance.CodeSubjectApproved, nil},
	})
}

// TestApplyPasskeySequence: a passkey counts once, and only once, the
// request that rosters it is applied.
func TestApplyPasskeySequence(t *testing.T) {
	pf := newPasskeyFixture(t)
	_, small := transfer(t, "eth", "100000000000000000")
	carolKey, quinnKey := webauthntest.New(pkOrigin, pkRPID), webauthntest.New(pkOrigin, pkRPID)
	votes := map[string]*webauthntest.Authenticator{"u-carol": carolKey, "u-quinn": quinnKey}
	// A transfer approved with the new passkeys, as the coordinator sees
	// them once rostered (its own state is ahead of pf's).
	ahead := pf.st
	for _, c := range []struct {
		action string
		params map[string]any
	}{
		{governance.ActionCredentialAdd, map[string]any{"user_id": "u-carol", "name": "carol", "passkey": carolKey.Passkey()}},
		{governance.ActionRoleAssign, map[string]any{"user_id": "u-quinn", "name": "quinn", "role": "approver", "passkeys": []approvals.Passkey{quinnKey.Passkey()}}},
	} {
		next, err := ahead.Apply(pf.certify(t, pkSpec{action: c.action, intent: action(t, c.action, c.params), voters: []string{"u-alice", "u-pat"}, st: ahead}), now)
		if err != nil {
			t.Fatalf("%s: %v", c.action, err)
		}
		ahead = next
	}
	byCarol := pf.certify(t, pkSpec{action: "transfer", intent: small, voters: []string{"u-carol"}, auth: votes, st: ahead})
	byQuinn := pf.certify(t, pkSpec{action: "transfer", intent: small, voters: []string{"u-quinn"}, auth: votes, st: ahead})

	for name, c := range map[string]*approvals.Certificate{"carol's new passkey": byCarol, "quinn's passkey": byQuinn} {
		if err := pf.st.Check(c, 20_000, now); code(err) != governance.CodeNotRostered {
			t.Errorf("%s before it is rostered: %v, want refusal %s", name, err, governance.CodeNotRostered)
		}
		if err := ahead.Check(c, 20_000, now); err != nil {
			t.Errorf("%s once rostered: %v", name, err)
		}
	}
	// The state a guardian would store and load again checks the same.
	reloaded, err := governance.Parse(ahead.Canonical())
	if err != nil || reloaded.HashHex() != ahead.HashHex() {
		t.Fatalf("reloading the state: %v", err)
	}
	if err := reloaded.Check(byQuinn, 20_000, now); err != nil {
		t.Fatalf("after reloading: %v", err)
	}
}
