package webui_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/internal/browsertest"
	"github.com/custos-dev/custos/store"
)

// staffTab is a member of staff signed in to the UI in their own browser
// context, with their own virtual authenticator.
type staffTab struct {
	name string
	tab  *browsertest.Tab
	base string
}

// signInTab signs name in through the UI, enrolling an authenticator app
// on the way, and gives the tab a virtual passkey authenticator.
func signInTab(t *testing.T, b *browsertest.Browser, base, name string) *staffTab {
	t.Helper()
	tab := b.NewTab(t)
	tab.AddVirtualAuthenticator(t)
	tab.Run(t,
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible(chromedp.CSS(`#signin`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), name),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`#signin`)),
		chromedp.WaitVisible(chromedp.CSS(`#totp-secret`)),
	)
	secret := decodeSecret(t, browsertest.Get(t, tab, chromedp.Text(chromedp.CSS(`#totp-secret`))))
	code, _ := auth.TOTPCode(secret, time.Now())
	tab.Run(t,
		chromedp.SendKeys(chromedp.CSS(`#code`), code),
		chromedp.Click(chromedp.CSS(`#enrol`)),
		chromedp.WaitVisible(chromedp.CSS(`#queue-summary`)),
	)
	return &staffTab{name: name, tab: tab, base: base}
}

// addPasskey registers a passkey from the account page and returns the
// user.credential.add request it filed.
func (s *staffTab) addPasskey(t *testing.T) string {
	t.Helper()
	s.tab.Run(t,
		chromedp.Navigate(s.base+"/account"),
		chromedp.WaitVisible(chromedp.CSS(`#add-passkey`)),
		chromedp.SendKeys(chromedp.CSS(`#passkey-label`), s.name+"'s laptop"),
		chromedp.Click(chromedp.CSS(`#add-passkey`)),
		chromedp.WaitVisible(chromedp.CSS(`#fingerprint`)),
	)
	loc := browsertest.Get(t, s.tab, chromedp.Location())
	id := loc[strings.LastIndex(loc, "/")+1:]
	if h := browsertest.Get(t, s.tab, chromedp.Text(chromedp.CSS(`h1`))); !strings.Contains(h, "user.credential.add") {
		t.Fatalf("%s's passkey registration led to %q at %s", s.name, h, loc)
	}
	return id
}

// decide opens request id and approves or rejects it with the passkey.
func (s *staffTab) decide(t *testing.T, id, decision, reason string) {
	t.Helper()
	s.tab.Run(t,
		chromedp.Navigate(s.base+"/requests/"+id),
		chromedp.WaitVisible(chromedp.CSS(`#`+decision)),
		chromedp.SendKeys(chromedp.CSS(`#reason`), reason),
		chromedp.Click(chromedp.CSS(`#`+decision)),
		chromedp.WaitVisible(chromedp.CSS(`#vote-recorded`)),
	)
}

func (s *staffTab) text(t *testing.T, path, sel string) string {
	t.Helper()
	s.tab.Run(t, chromedp.Navigate(s.base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
	return browsertest.Get(t, s.tab, chromedp.Text(chromedp.CSS(sel)))
}

// keyVoter votes with an Ed25519 approval key through the service, as the
// CLI does.
type keyVoter struct {
	p   *coordinator.Principal
	key ed25519.PrivateKey
}

func approvalKey(name string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("webui test approval key " + name))
	return ed25519.NewKeyFromSeed(s[:])
}

func newKeyVoter(t *testing.T, svc *coordinator.Service, name, role string) keyVoter {
	t.Helper()
	ctx := context.Background()
	key := approvalKey(name)
	if _, err := svc.BootstrapUser(ctx, name, role, password, key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	tok, _, _, err := svc.Login(ctx, name, password)
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	return keyVoter{p: p, key: key}
}

func (k keyVoter) vote(t *testing.T, svc *coordinator.Service, id, decision string) *coordinator.RequestView {
	t.Helper()
	v, err := svc.GetRequest(context.Background(), k.p, id)
	if err != nil {
		t.Fatal(err)
	}
	v, err = svc.Vote(context.Background(), k.p, id, decision, ed25519.Sign(k.key, approvals.Message(v.Binding(), decision)))
	if err != nil {
		t.Fatalf("%s votes %s on %s: %v", k.p.Name, decision, id, err)
	}
	return v
}

// TestBrowserPasskeyApprovals is the approval of a EUR 15,000 transfer in
// the browser: four approvers register passkeys (each registration is
// itself approved), the requester is refused, the four approve with their
// passkeys until the transfer is signed, a second transfer is rejected, a
// policy edit takes effect only after its own approvals, and the audit
// page shows every step.
func TestBrowserPasskeyApprovals(t *testing.T) {
	srv, svc := newServer(t)
	ctx := context.Background()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	base := "http://localhost:" + port
	for _, u := range []struct{ name, role string }{
		{"tess", store.RoleTreasuryManager}, {"bob", store.RoleApprover}, {"dave", store.RoleApprover}, {"audrey", store.RoleAuditor},
	} {
		if _, err := svc.BootstrapUser(ctx, u.name, u.role, password, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Two approvers who vote with the CLI's approval key.
	tom := newKeyVoter(t, svc, "tom", store.RoleTreasuryManager)
	gus := newKeyVoter(t, svc, "gus", store.RoleApprover)

	b := browsertest.Start(t)
	shoot := func(s *staffTab, name string) {
		for _, sz := range [][2]int{{1280, 800}, {390, 844}} {
			s.tab.Screenshot(t, name, sz[0], sz[1])
		}
	}
	var approvers []*staffTab
	for _, name := range []string{"tess", "alice", "bob", "dave"} {
		s := signInTab(t, b, base, name)
		reg := s.addPasskey(t)
		// Until approved, the passkey approves nothing: the request page
		// says so.
		if got := s.text(t, "/requests/"+reg, "#vote-refusal"); !strings.Contains(got, "you made this request") {
			t.Fatalf("%s's own passkey request offers a vote: %q", name, got)
		}
		tom.vote(t, svc, reg, approvals.Approve)
		if v := gus.vote(t, svc, reg, approvals.Approve); v.Request.Status != store.RequestExecuted {
			t.Fatalf("%s's passkey request is %s after its approvals", name, v.Request.Status)
		}
		if got := s.text(t, "/account", "#passkeys tbody"); !strings.Contains(got, "active") {
			t.Fatalf("%s's passkey after approval: %q", name, got)
		}
		if len(approvers) == 0 {
			shoot(s, "account")
		}
		approvers = append(approvers, s)
	}

	// carol requests EUR 15,000: four approvals, one a treasury manager.
	reqID := submitTransfer(t, svc)
	second := submitTransferOf(t, svc, "ui-test-2") // carol's API sign-in needs no code until she enrols
	carol := signInTab(t, b, base, "carol")
	if got := carol.text(t, "/requests/"+reqID, "#vote-refusal"); !strings.Contains(got, "you made this request") {
		t.Fatalf("the requester is offered a vote: %q", got)
	}
	if n := browsertest.Get(t, carol.tab, chromedp.Evaluate[int](`document.querySelectorAll("#approve").length`)); n != 0 {
		t.Fatal("the requester's page has an approve button")
	}

	for i, s := range approvers {
		if i == 0 {
			s.tab.Run(t, chromedp.Navigate(base+"/requests/"+reqID), chromedp.WaitVisible(chromedp.CSS(`#approve`)))
			shoot(s, "request-decide")
		}
		s.decide(t, reqID, "approve", "checked invoice 2026-118 with "+s.name)
		if i == 0 {
			shoot(s, "request-approved-once")
		}
	}
	status := approvers[3].text(t, "/requests/"+reqID, "h1 .status")
	tx, err := svc.TransactionOfRequest(ctx, tom.p, reqID)
	if err != nil {
		t.Fatal(err)
	}
	if tx.Status != store.TxSigned || status != string(store.RequestExecuted) {
		t.Fatalf("after four passkey approvals: request %s, transaction %s; want executed and signed", status, tx.Status)
	}
	votes := approvers[3].text(t, "/requests/"+reqID, "#votes")
	if strings.Count(votes, "with a passkey") != 4 || !strings.Contains(votes, "checked invoice 2026-118 with tess") {
		t.Fatalf("the votes as shown: %q", votes)
	}

	// A rejection ends a request.
	approvers[1].decide(t, second, "reject", "unknown recipient")
	if got := approvers[1].text(t, "/requests/"+second, "h1 .status"); got != string(store.RequestRejected) {
		t.Fatalf("after a rejection the request is %q", got)
	}

	// A policy edit takes effect only once approved.
	tess := approvers[0]
	before := tess.text(t, "/policies", "main")
	tess.tab.Run(t,
		chromedp.Navigate(base+"/policies/edit"),
		chromedp.WaitVisible(chromedp.CSS(`textarea`)),
	)
	doc := browsertest.Get(t, tess.tab, chromedp.Value(chromedp.CSS(`textarea`)))
	edited := strings.Replace(doc, `"rate_max_age": "1h0m0s"`, `"rate_max_age": "30m0s"`, 1)
	if edited == doc {
		t.Fatalf("the policy editor shows no rate_max_age of 1h:\n%s", doc)
	}
	tess.tab.Run(t,
		chromedp.SetValue(chromedp.CSS(`textarea`), edited),
		chromedp.Submit(chromedp.CSS(`textarea`)),
		chromedp.WaitVisible(chromedp.CSS(`#policy-diff`)),
	)
	loc := browsertest.Get(t, tess.tab, chromedp.Location())
	change := loc[strings.LastIndex(loc, "/")+1:]
	if diff := browsertest.Get(t, tess.tab, chromedp.Text(chromedp.CSS(`#policy-diff`))); !strings.Contains(diff, `"30m0s"`) {
		t.Fatalf("the change's diff: %q", diff)
	}
	if now := tess.text(t, "/policies", "main"); now != before {
		t.Fatal("the policy changed before its approvals")
	}
	approvers[1].decide(t, change, "approve", "shorter rate age agreed")
	if now := tess.text(t, "/policies", "main"); now != before {
		t.Fatal("the policy changed after one of its two approvals")
	}
	tom.vote(t, svc, change, approvals.Approve)
	if now := tess.text(t, "/policies", "main"); now == before || !strings.Contains(now, "30m") {
		t.Fatalf("the approved policy is not in force:\n%s", now)
	}

	// The audit page shows every step.
	audrey := signInTab(t, b, base, "audrey")
	log := audrey.text(t, "/audit", "main")
	for _, step := range []string{"auth.login", "user.passkey.register", "user.passkey.activate", "request.vote",
		"request.approved", "transaction.sign", "request.rejected", "policy.change"} {
		if !strings.Contains(log, step) {
			t.Errorf("the audit page does not show %s", step)
		}
	}
	for _, s := range append(approvers, carol, audrey) {
		if errs := s.tab.ConsoleErrors(); len(errs) > 0 {
			t.Errorf("%s's console: %v", s.name, errs)
		}
		if ext := s.tab.ExternalRequests(); len(ext) > 0 {
			t.Errorf("%s's page asked for other origins: %v", s.name, ext)
		}
	}
}

// submitTransferOf has carol submit another EUR 15,000 transfer from the
// wallet submitTransfer created.
func submitTransferOf(t *testing.T, svc *coordinator.Service, idem string) string {
	t.Helper()
	ctx := context.Background()
	tok, _, _, err := svc.Login(ctx, "carol", password)
	if err != nil {
		t.Fatal(err)
	}
	carol, err := svc.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := svc.ListWallets(ctx, carol)
	if err != nil || len(ws) == 0 {
		t.Fatalf("wallets: %v", err)
	}
	tx, _, err := svc.SubmitTransfer(ctx, carol, coordinator.TransferInput{WalletID: ws[0].ID, Chain: "message", Asset: "eth",
		To: "0x00000000000000000000000000000000000000b1", Amount: "6000000000000000000"}, idem)
	if err != nil {
		t.Fatal(err)
	}
	return tx.RequestID
}
