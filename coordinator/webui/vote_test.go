package webui_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/internal/webauthntest"
	"github.com/custos-dev/custos/store"
)

// postJSON posts a script's call (JSON body, anti-forgery header) with b's
// session.
func (b *browser) postJSON(path, csrf string, body []byte) (*http.Response, []byte) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// registerThroughPages registers a software passkey for b's user through
// the account page's calls and returns it with its request id.
func registerThroughPages(t *testing.T, b *browser, origin string) (*webauthntest.Authenticator, string) {
	t.Helper()
	csrf := sessionCSRF(t, b)
	resp, options := b.postJSON("/account/passkeys/options", csrf, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("options: %d %s", resp.StatusCode, options)
	}
	au := webauthntest.New(origin, "localhost")
	cred, err := au.Register(options)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"label": "laptop", "credential": json.RawMessage(cred)})
	resp, out := b.postJSON("/account/passkeys", csrf, body)
	var res struct {
		RequestID string `json:"request_id"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(out, &res) != nil || res.RequestID == "" {
		t.Fatalf("register: %d %s", resp.StatusCode, out)
	}
	return au, res.RequestID
}

// voteForm is the form the request page's script posts.
func voteForm(csrf, decision string, a approvals.Assertion) url.Values {
	enc := base64.RawURLEncoding.EncodeToString
	return url.Values{"csrf": {csrf}, "decision": {decision}, "reason": {"ok"}, "credential_id": {enc(a.CredentialID)},
		"authenticator_data": {enc(a.AuthenticatorData)}, "client_data_json": {enc(a.ClientDataJSON)}, "signature": {enc(a.Signature)}}
}

// TestPasskeyVotesThroughPages: the passkey calls and the vote form need
// a session and its anti-forgery token; one person's session cannot cast
// another's passkey vote, and an assertion for one request does not
// approve another.
func TestPasskeyVotesThroughPages(t *testing.T) {
	srv, svc := newServer(t)
	origin := "http://localhost" + srv.URL[strings.LastIndex(srv.URL, ":"):]
	tom := newKeyVoter(t, svc, "tom", store.RoleTreasuryManager)
	gus := newKeyVoter(t, svc, "gus", store.RoleApprover)
	reqA := submitTransfer(t, svc)
	reqB := submitTransferOf(t, svc, "ui-test-2")

	newKeyVoter(t, svc, "bob", store.RoleApprover) // an approver with a key but no passkey
	alice := signInThroughPages(t, srv.URL, "alice")
	au, reg := registerThroughPages(t, alice, origin)
	// Pending: alice's passkey approves nothing yet.
	v, err := svc.GetRequest(context.Background(), tom.p, reqA)
	if err != nil {
		t.Fatal(err)
	}
	resp, page := alice.do(http.MethodPost, "/requests/"+reqA+"/vote", voteForm(sessionCSRF(t, alice), approvals.Approve, au.Approve(v.Binding(), approvals.Approve)))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "not one of your approved passkeys") {
		t.Fatalf("vote with a pending passkey: %d", resp.StatusCode)
	}
	tom.vote(t, svc, reg, approvals.Approve)
	gus.vote(t, svc, reg, approvals.Approve)

	csrf := sessionCSRF(t, alice)
	forA := au.Approve(v.Binding(), approvals.Approve)
	t.Run("no-session", func(t *testing.T) {
		anon := newBrowser(t, srv.URL)
		for _, path := range []string{"/requests/" + reqA + "/vote", "/account/passkeys/options", "/account/passkeys"} {
			resp, _ := anon.do(http.MethodPost, path, voteForm(csrf, approvals.Approve, forA))
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("POST %s without a session: %d", path, resp.StatusCode)
			}
			// The scripts' calls are refused in JSON, which they show.
			if strings.HasPrefix(path, "/account/") && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("POST %s without a session answered %s", path, resp.Header.Get("Content-Type"))
			}
		}
	})
	t.Run("no-csrf", func(t *testing.T) {
		resp, _ := alice.do(http.MethodPost, "/requests/"+reqA+"/vote", voteForm("", approvals.Approve, forA))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("vote without the anti-forgery token: %d", resp.StatusCode)
		}
		if resp, _ := alice.postJSON("/account/passkeys/options", "", nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("registration without the anti-forgery token: %d", resp.StatusCode)
		}
	})
	t.Run("another-users-session", func(t *testing.T) {
		bob := signInThroughPages(t, srv.URL, "bob")
		resp, page := bob.do(http.MethodPost, "/requests/"+reqB+"/vote", voteForm(sessionCSRF(t, bob), approvals.Approve,
			au.Approve(bindingOfRequest(t, svc, tom.p, reqB), approvals.Approve)))
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "not one of your approved passkeys") {
			t.Fatalf("bob's session casting alice's passkey vote: %d", resp.StatusCode)
		}
	})
	t.Run("assertion-for-another-request", func(t *testing.T) {
		resp, page := alice.do(http.MethodPost, "/requests/"+reqB+"/vote", voteForm(csrf, approvals.Approve, forA))
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "does not verify") {
			t.Fatalf("request A's assertion on request B: %d", resp.StatusCode)
		}
	})
	if v, _ := svc.GetRequest(context.Background(), tom.p, reqB); len(v.Approvals) != 0 {
		t.Fatalf("refused votes were recorded on B: %+v", v.Approvals)
	}
	t.Run("valid", func(t *testing.T) {
		resp, _ := alice.do(http.MethodPost, "/requests/"+reqA+"/vote", voteForm(csrf, approvals.Approve, forA))
		wantRedirect(t, resp, "/requests/"+reqA+"?voted=approve")
		v, _ := svc.GetRequest(context.Background(), tom.p, reqA)
		if len(v.Approvals) != 1 || v.Approvals[0].Assertion == nil || v.Approvals[0].Reason != "ok" {
			t.Fatalf("approvals after alice's vote: %+v", v.Approvals)
		}
	})
}

func bindingOfRequest(t *testing.T, svc *coordinator.Service, p *coordinator.Principal, id string) approvals.Binding {
	t.Helper()
	v, err := svc.GetRequest(context.Background(), p, id)
	if err != nil {
		t.Fatal(err)
	}
	return v.Binding()
}
