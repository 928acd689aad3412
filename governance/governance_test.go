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
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/governance"
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
