package coordinator_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/internal/webauthntest"
	"github.com/custos-dev/custos/store"
)

const testOrigin = "https://custody.example.com"

// webPrincipal enrols name's authenticator app and returns a browser
// session signed in with it.
func (f *fixture) webPrincipal(name string) *coordinator.Principal {
	f.t.Helper()
	secret := f.enrol(name)
	code, _ := auth.TOTPCode(secret, f.clock.Now())
	_, p := f.webSignIn(name, code)
	if !p.MFA {
		f.t.Fatalf("%s signed in without a second factor", name)
	}
	return p
}

// registerPasskey runs a whole registration for p with a new software
// authenticator and returns it with the user.credential.add request.
func (f *fixture) registerPasskey(p *coordinator.Principal, label string) (*webauthntest.Authenticator, *coordinator.RequestView) {
	f.t.Helper()
	ctx := context.Background()
	au := webauthntest.New(testOrigin, "custody.example.com")
	options, err := f.svc.BeginPasskeyRegistration(ctx, p)
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := au.Register(options)
	if err != nil {
		f.t.Fatal(err)
	}
	v, err := f.svc.FinishPasskeyRegistration(ctx, p, label, resp)
	if err != nil {
		f.t.Fatal(err)
	}
	return au, v
}

// castPasskey votes on request id with au, as the browser would.
func (f *fixture) castPasskey(p *coordinator.Principal, au *webauthntest.Authenticator, id, decision, reason string) (*coordinator.RequestView, error) {
	f.t.Helper()
	v, err := f.svc.GetRequest(context.Background(), p, id)
	if err != nil {
		f.t.Fatal(err)
	}
	a := au.Approve(v.Binding(), decision)
	return f.svc.Cast(context.Background(), p, id, coordinator.Ballot{Decision: decision, Assertion: &a, Reason: reason})
}

func passkeyStatus(f *fixture, p *coordinator.Principal, id []byte) store.PasskeyStatus {
	f.t.Helper()
	keys, err := f.svc.ListPasskeys(context.Background(), p, p.UserID)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, k := range keys {
		if string(k.ID) == string(id) {
			return k.Status
		}
	}
	return ""
}

func TestPasskeyApprovals(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	alice := f.webPrincipal("alice")
	before, err := f.svc.GovernanceHash(ctx, f.users["victor"])
	if err != nil {
		t.Fatal(err)
	}

	au, reg := f.registerPasskey(alice, "YubiKey 5C")
	if reg.Request.Action != governance.ActionCredentialAdd || reg.Request.Status != store.RequestPending {
		t.Fatalf("registration filed %s %s, want a pending %s", reg.Request.Action, reg.Request.Status, governance.ActionCredentialAdd)
	}
	if passkeyStatus(f, alice, au.ID) != store.PasskeyPending {
		t.Fatal("the new passkey is not pending")
	}

	// Until approved the passkey approves nothing.
	tx := f.submit(f.api, f.ethW, "eth", "0x00000000000000000000000000000000000000b0", eth(6))
	if _, err := f.castPasskey(alice, au, tx.RequestID, approvals.Approve, ""); code(err) != "unknown_passkey" {
		t.Fatalf("vote with a pending passkey: %v", err)
	}
	// alice cannot approve her own passkey, with either key.
	if _, err := f.vote("alice", reg.Request.ID, approvals.Approve); code(err) != "own_role_change" {
		t.Fatalf("alice approving her own passkey: %v", err)
	}
	for _, name := range []string{"tess", "bob"} {
		if _, err := f.vote(name, reg.Request.ID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
	}
	if passkeyStatus(f, alice, au.ID) != store.PasskeyActive {
		t.Fatal("the approved passkey is not active")
	}
	after, err := f.svc.GovernanceHash(ctx, f.users["victor"])
	if err != nil || after == before {
		t.Fatalf("the guardians' roster did not change with the passkey (%v)", err)
	}

	t.Run("vote", func(t *testing.T) {
		v, err := f.castPasskey(alice, au, tx.RequestID, approvals.Approve, "invoice 2026-118 checked")
		if err != nil {
			t.Fatal(err)
		}
		if v.Tally.Approvals != 1 || v.Approvals[0].Assertion == nil || v.Approvals[0].Reason != "invoice 2026-118 checked" {
			t.Fatalf("tally %+v, approvals %+v", v.Tally, v.Approvals)
		}
	})

	t.Run("hostile", func(t *testing.T) {
		other := f.submit(f.api, f.ethW, "eth", "0x00000000000000000000000000000000000000b1", eth(6))
		va, err := f.svc.GetRequest(ctx, alice, tx.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		forA := au.Approve(va.Binding(), approvals.Approve)
		cases := []struct {
			name   string
			p      *coordinator.Principal
			id     string
			ballot coordinator.Ballot
			want   string
		}{
			{"assertion for request A on request B", alice, other.RequestID, coordinator.Ballot{Decision: approvals.Approve, Assertion: &forA}, "bad_assertion"},
			{"approve assertion cast as a rejection", alice, other.RequestID, coordinator.Ballot{Decision: approvals.Reject, Assertion: ptr(au.Approve(bindingOf(t, f, other.RequestID), approvals.Approve))}, "bad_assertion"},
			{"alice's assertion in bob's session", f.users["bob"], other.RequestID, coordinator.Ballot{Decision: approvals.Approve, Assertion: ptr(au.Approve(bindingOf(t, f, other.RequestID), approvals.Approve))}, "unknown_passkey"},
			{"altered authenticator data", alice, other.RequestID, coordinator.Ballot{Decision: approvals.Approve, Assertion: altered(au.Approve(bindingOf(t, f, other.RequestID), approvals.Approve))}, "bad_assertion"},
			{"reason with control characters", alice, other.RequestID, coordinator.Ballot{Decision: approvals.Approve, Assertion: ptr(au.Approve(bindingOf(t, f, other.RequestID), approvals.Approve)), Reason: "ok\x1b[2J"}, "invalid_reason"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if _, err := f.svc.Cast(ctx, c.p, c.id, c.ballot); code(err) != c.want {
					t.Fatalf("got %v, want %s", err, c.want)
				}
			})
		}
		if v, _ := f.svc.GetRequest(ctx, alice, other.RequestID); len(v.Approvals) != 0 {
			t.Fatalf("refused votes were recorded: %+v", v.Approvals)
		}
	})

	t.Run("registration-refusals", func(t *testing.T) {
		resp, err := webauthntest.New(testOrigin, "custody.example.com").Register([]byte(`{"publicKey":{"challenge":"AAAA","rp":{"id":"custody.example.com"}}}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FinishPasskeyRegistration(ctx, alice, "laptop", resp); code(err) != "no_registration" {
			t.Fatalf("finish without begin: %v", err)
		}
		if _, err := f.svc.BeginPasskeyRegistration(ctx, f.users["alice"]); code(err) != "web_session_required" {
			t.Fatalf("registration outside a browser session: %v", err)
		}
		if _, err := f.svc.BeginPasskeyRegistration(ctx, f.users["ada"]); code(err) == "" {
			t.Fatal("an administrator registered a passkey")
		}
		options, err := f.svc.BeginPasskeyRegistration(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		// The same authenticator again: refused, and the ceremony is spent.
		again, err := au.Register(options)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FinishPasskeyRegistration(ctx, alice, "again", again); code(err) != "passkey_exists" {
			t.Fatalf("registering the same credential twice: %v", err)
		}
		if _, err := f.svc.FinishPasskeyRegistration(ctx, alice, "again", again); code(err) != "no_registration" {
			t.Fatalf("replayed registration: %v", err)
		}
		// Another origin (a phishing site) is refused.
		options, err = f.svc.BeginPasskeyRegistration(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		phish, err := webauthntest.New("https://custody.example.com.evil.test", "custody.example.com").Register(options)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FinishPasskeyRegistration(ctx, alice, "phone", phish); code(err) != "registration_refused" {
			t.Fatalf("registration from another origin: %v", err)
		}
		// A bad label changes nothing.
		if _, err := f.svc.FinishPasskeyRegistration(ctx, alice, "\x00", phish); code(err) != "invalid_name" {
			t.Fatalf("bad label: %v", err)
		}
	})
}

func TestRejectedPasskeyIsRefused(t *testing.T) {
	f := newFixture(t, "")
	bob := f.webPrincipal("bob")
	au, reg := f.registerPasskey(bob, "phone")
	if _, err := f.vote("tess", reg.Request.ID, approvals.Reject); err != nil {
		t.Fatal(err)
	}
	if s := passkeyStatus(f, bob, au.ID); s != store.PasskeyRefused {
		t.Fatalf("passkey of a rejected request is %s", s)
	}
	tx := f.submit(f.api, f.ethW, "eth", "0x00000000000000000000000000000000000000b0", eth(1))
	if _, err := f.castPasskey(bob, au, tx.RequestID, approvals.Approve, ""); code(err) != "unknown_passkey" {
		t.Fatalf("vote with a refused passkey: %v", err)
	}
}

// TestPasskeyOnlyApprover: a user without a CLI approval key becomes an
// approver on the strength of an approved passkey, which the role request
// names, and approves with it.
func TestPasskeyOnlyApprover(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	victor := f.webPrincipal("victor") // a viewer, no approval key
	au, reg := f.registerPasskey(victor, "laptop")
	for _, name := range []string{"tess", "alice"} {
		if _, err := f.vote(name, reg.Request.ID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
	}
	v, err := f.svc.AssignRole(ctx, f.users["ada"], victor.UserID, store.RoleApprover)
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Params struct {
			Passkeys []approvals.Passkey `json:"passkeys"`
		} `json:"params"`
	}
	if err := json.Unmarshal(v.Request.Payload, &a); err != nil || len(a.Params.Passkeys) != 1 || !a.Params.Passkeys[0].Equal(au.Passkey()) {
		t.Fatalf("the role request does not name victor's passkey: %s (%v)", v.Request.Payload, err)
	}
	for _, name := range []string{"tess", "bob"} {
		if _, err := f.vote(name, v.Request.ID, approvals.Approve); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh sign-in carries the new role.
	f.clock.Advance(auth.TOTPPeriod)
	victor.Role = store.RoleApprover
	tx := f.submit(f.api, f.ethW, "eth", "0x00000000000000000000000000000000000000b0", "100000000000000000") // EUR 250: one approval
	if _, err := f.castPasskey(victor, au, tx.RequestID, approvals.Approve, ""); err != nil {
		t.Fatalf("passkey-only approver: %v", err)
	}
	if got := f.tx(tx.ID).Status; got != store.TxSigned {
		t.Fatalf("transfer approved by a passkey is %s, want signed", got)
	}
	// Now an approver, victor cannot add an approval key on his own: it
	// would approve at once, and the guardians' roster would not have it.
	key := seedKey("victor-cli")
	pub := key.Public().(ed25519.PublicKey)
	if err := f.svc.RegisterApprovalKey(ctx, victor, pub, ed25519.Sign(key, coordinator.KeyRegistrationMessage(victor.UserID, pub))); code(err) != "approver_key_change" {
		t.Fatalf("an approver registering an approval key without approval: %v", err)
	}
	// A reason typed in a browser's textarea (CRLF line breaks) is kept.
	other := f.submit(f.api, f.ethW, "eth", "0x00000000000000000000000000000000000000b0", "100000000000000000")
	v, err = f.castPasskey(victor, au, other.RequestID, approvals.Approve, "line one\r\nline two")
	if err != nil || v.Approvals[0].Reason != "line one\nline two" {
		t.Fatalf("reason with a line break: %v", err)
	}
}

func TestPasskeyOriginMustBeAsBrowsersSendIt(t *testing.T) {
	for _, origin := range []string{"https://Custody.example.com", "https://custody.example.com/", "http://custody.example.com", "custody.example.com"} {
		st := newFixture(t, "").st
		kek, _ := seal.NewKEK(make([]byte, 32))
		signer, _ := proof.NewSigner(seedKey("decision"))
		if _, err := coordinator.New(coordinator.Config{Store: st, KEK: kek, DecisionKey: signer, Passkeys: coordinator.PasskeyConfig{Origin: origin}}); err == nil {
			t.Errorf("origin %q accepted", origin)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func altered(a approvals.Assertion) *approvals.Assertion {
	a.AuthenticatorData = append([]byte{}, a.AuthenticatorData...)
	a.AuthenticatorData[len(a.AuthenticatorData)-1] ^= 1 // the signature counter
	return &a
}

func bindingOf(t *testing.T, f *fixture, id string) approvals.Binding {
	t.Helper()
	v, err := f.svc.GetRequest(context.Background(), f.users["victor"], id)
	if err != nil {
		t.Fatal(err)
	}
	return v.Binding()
}
