package webui_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/store"
)

// adminEnv is a server with an administrator, dana, signed in through the
// pages, and two approvers with approval keys who vote through the
// service: ivy (approver) and tom (treasury_manager). alice and carol
// (approvers without keys) come from newServer.
type adminEnv struct {
	srv  *httptest.Server
	svc  *coordinator.Service
	dana *browser
	keys map[string]ed25519.PrivateKey // approval keys by user name
}

func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	srv, svc := newServer(t)
	env := &adminEnv{srv: srv, svc: svc, keys: map[string]ed25519.PrivateKey{}}
	ctx := context.Background()
	if _, err := svc.BootstrapUser(ctx, "dana", store.RoleAdmin, password, nil); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ name, role string }{{"ivy", store.RoleApprover}, {"tom", store.RoleTreasuryManager}} {
		seed := sha256.Sum256([]byte("webui admin test key " + u.name))
		key := ed25519.NewKeyFromSeed(seed[:])
		if _, err := svc.BootstrapUser(ctx, u.name, u.role, password, key.Public().(ed25519.PublicKey)); err != nil {
			t.Fatal(err)
		}
		env.keys[u.name] = key
	}
	if err := svc.BootstrapRate(ctx, coordinator.RateInput{Asset: "eth", EURPerUnit: "2500", Decimals: 18}); err != nil {
		t.Fatal(err)
	}
	env.dana = signInThroughPages(t, srv.URL, "dana")
	return env
}

// signInThroughPages signs name in with the pages, enrolling an
// authenticator app on the way, and returns the browser.
func signInThroughPages(t *testing.T, base, name string) *browser {
	t.Helper()
	b := newBrowser(t, base)
	resp, _ := b.do(http.MethodPost, "/signin", url.Values{"name": {name}, "password": {password}})
	wantRedirect(t, resp, "/enrol")
	_, page := b.do(http.MethodGet, "/enrol", nil)
	secret, err := base32NoPad.DecodeString(find(t, secretRe, page))
	if err != nil {
		t.Fatal(err)
	}
	code, _ := auth.TOTPCode(secret, time.Now())
	resp, _ = b.do(http.MethodPost, "/enrol", url.Values{"code": {code}, "csrf": {find(t, csrfRe, page)}})
	wantRedirect(t, resp, "/queue")
	return b
}

// sessionCSRF returns the anti-forgery token of b's session.
func sessionCSRF(t *testing.T, b *browser) string {
	t.Helper()
	_, page := b.do(http.MethodGet, "/queue", nil)
	return find(t, csrfRe, page)
}

// approve has name approve request id through the service.
func (env *adminEnv) approve(t *testing.T, name, id string) *coordinator.RequestView {
	t.Helper()
	ctx := context.Background()
	tok, _, _, err := env.svc.Login(ctx, name, password)
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.svc.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	v, err := env.svc.GetRequest(ctx, p, id)
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(env.keys[name], approvals.Message(v.Binding(), approvals.Approve))
	if v, err = env.svc.Vote(ctx, p, id, approvals.Approve, sig); err != nil {
		t.Fatal(err)
	}
	return v
}

// readStore reads the store directly, bypassing every permission.
func readStore[T any](t *testing.T, env *adminEnv, f func(ctx context.Context, tx store.Tx) (T, error)) T {
	t.Helper()
	var out T
	err := env.svc.Store().ReadTx(context.Background(), func(ctx context.Context, tx store.Tx) error {
		var err error
		out, err = f(ctx, tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (env *adminEnv) user(t *testing.T, name string) *store.User {
	t.Helper()
	return readStore(t, env, func(ctx context.Context, tx store.Tx) (*store.User, error) { return tx.GetUserByName(ctx, name) })
}

func (env *adminEnv) requests(t *testing.T, action string) []*store.Request {
	t.Helper()
	return readStore(t, env, func(ctx context.Context, tx store.Tx) ([]*store.Request, error) {
		return tx.ListRequests(ctx, store.RequestFilter{Action: action})
	})
}

func (env *adminEnv) userCount(t *testing.T) int {
	t.Helper()
	return len(readStore(t, env, func(ctx context.Context, tx store.Tx) ([]*store.User, error) { return tx.ListUsers(ctx) }))
}

var requestPathRe = regexp.MustCompile(`^/requests/([^/?]+)$`)

// filedRequest checks that resp redirects to a request's page and returns
// the request's id.
func filedRequest(t *testing.T, resp *http.Response) string {
	t.Helper()
	m := requestPathRe.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("got %d to %q, want 303 to a request", resp.StatusCode, resp.Header.Get("Location"))
	}
	return m[1]
}

func TestAdminPagesRefuseOthers(t *testing.T) {
	env := newAdminEnv(t)
	alice := signInThroughPages(t, env.srv.URL, "alice")
	csrf := sessionCSRF(t, alice)
	users, alicesID := env.userCount(t), env.user(t, "alice").ID

	for _, path := range []string{"/admin/users", "/admin/apikeys", "/admin/users?reset=" + alicesID, "/policies/edit"} {
		if resp, _ := alice.do(http.MethodGet, path, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("approver GET %s: %d, want 403", path, resp.StatusCode)
		}
	}
	for path, form := range map[string]url.Values{
		"/admin/users":                            {"name": {"mallory"}, "password": {password}},
		"/admin/users/" + alicesID + "/role":      {"role": {store.RoleAdmin}},
		"/admin/users/" + alicesID + "/reset-mfa": {},
		"/admin/apikeys":                          {"name": {"exfil"}, "scope": {"transactions:write"}},
		"/policies/edit":                          {"document": {`{"rate_max_age":"1h","actions":{}}`}, "base_version": {"1"}},
	} {
		form.Set("csrf", csrf)
		if resp, _ := alice.do(http.MethodPost, path, form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("approver POST %s: %d, want 403", path, resp.StatusCode)
		}
	}
	if n := env.userCount(t); n != users {
		t.Errorf("%d users after refused creation, want %d", n, users)
	}
	for _, action := range []string{"user.role.assign", "apikey.create", "policy.change"} {
		if rs := env.requests(t, action); len(rs) != 0 {
			t.Errorf("refused forms filed %d %s requests", len(rs), action)
		}
	}
	if env.user(t, "alice").TOTPEnabledAt == nil {
		t.Error("a refused reset removed alice's authenticator app")
	}
	// The main navigation shows administrators only their links.
	_, page := alice.do(http.MethodGet, "/queue", nil)
	if strings.Contains(page, `href="/admin/users"`) {
		t.Error("approver's navigation links to the users page")
	}
}

func TestAdminFormsNeedCSRF(t *testing.T) {
	env := newAdminEnv(t)
	users, alicesID := env.userCount(t), env.user(t, "alice").ID
	for path, form := range map[string]url.Values{
		"/admin/users":                       {"name": {"mallory"}, "password": {password}},
		"/admin/users/" + alicesID + "/role": {"role": {store.RoleViewer}},
		"/admin/apikeys":                     {"name": {"exfil"}, "scope": {"transactions:write"}},
		"/policies/edit":                     {"document": {`{"rate_max_age":"2h","actions":{"transfer":{"expiry":"1h","tiers":[{"approvals":0}]}}}`}, "base_version": {"1"}},
	} {
		for _, bad := range []string{"", "forged"} {
			form.Set("csrf", bad)
			if resp, _ := env.dana.do(http.MethodPost, path, form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with CSRF token %q: %d, want 403", path, bad, resp.StatusCode)
			}
		}
	}
	if n := env.userCount(t); n != users {
		t.Errorf("%d users after forged forms, want %d", n, users)
	}
	for _, action := range []string{"user.role.assign", "apikey.create", "policy.change"} {
		if rs := env.requests(t, action); len(rs) != 0 {
			t.Errorf("forged forms filed %d %s requests", len(rs), action)
		}
	}
}

func TestAdminUsers(t *testing.T) {
	env := newAdminEnv(t)
	dana := env.dana
	csrf := sessionCSRF(t, dana)

	resp, page := dana.do(http.MethodGet, "/admin/users", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-user="alice"`) || !strings.Contains(page, `data-user="dana"`) {
		t.Fatalf("users page: %d", resp.StatusCode)
	}

	// A new user gets the viewer role.
	resp, _ = dana.do(http.MethodPost, "/admin/users", url.Values{"name": {"erin"}, "password": {password}, "csrf": {csrf}})
	erin := env.user(t, "erin")
	if erin.Role != store.RoleViewer {
		t.Fatalf("erin has role %s", erin.Role)
	}
	wantRedirect(t, resp, "/admin/users?id="+erin.ID+"&notice=created")
	_, page = dana.do(http.MethodGet, resp.Header.Get("Location"), nil)
	if !strings.Contains(page, `id="notice"`) || !strings.Contains(page, `data-user="erin"`) {
		t.Fatal("the new user is not on the page, or no notice says so")
	}
	// Refused: the name is taken, or the password too short; the name
	// typed stays in the form.
	resp, page = dana.do(http.MethodPost, "/admin/users", url.Values{"name": {"erin"}, "password": {password}, "csrf": {csrf}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, `id="form-error"`) || !strings.Contains(page, `name="name" value="erin"`) {
		t.Fatalf("second erin: %d", resp.StatusCode)
	}
	resp, _ = dana.do(http.MethodPost, "/admin/users", url.Values{"name": {"fay"}, "password": {"short"}, "csrf": {csrf}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("weak password: %d, want 400", resp.StatusCode)
	}

	// A role change is a request, not a change.
	resp, _ = dana.do(http.MethodPost, "/admin/users/"+erin.ID+"/role", url.Values{"role": {store.RoleAuditor}, "csrf": {csrf}})
	id := filedRequest(t, resp)
	rs := env.requests(t, "user.role.assign")
	if len(rs) != 1 || rs[0].ID != id || rs[0].Status != store.RequestPending {
		t.Fatalf("role change filed %+v, want one pending request %s", rs, id)
	}
	if env.user(t, "erin").Role != store.RoleViewer {
		t.Fatal("the role changed before any approval")
	}
	resp, page = dana.do(http.MethodGet, "/requests/"+id, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "user.role.assign") {
		t.Fatalf("request page: %d", resp.StatusCode)
	}
	// An approving role needs an approval key: refused on the page.
	resp, page = dana.do(http.MethodPost, "/admin/users/"+erin.ID+"/role", url.Values{"role": {store.RoleApprover}, "csrf": {csrf}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "approval key") {
		t.Fatalf("approver role without a key: %d", resp.StatusCode)
	}

	// Resetting an authenticator app: asked to confirm, then done, and
	// the user's sessions end.
	alice := signInThroughPages(t, env.srv.URL, "alice")
	aliceID := env.user(t, "alice").ID
	_, page = dana.do(http.MethodGet, "/admin/users", nil)
	if !strings.Contains(page, `href="/admin/users?reset=`+aliceID+`"`) {
		t.Fatal("no reset link for alice, who has an authenticator app")
	}
	if strings.Contains(page, `id="reset-dana"`) {
		t.Fatal("a reset link for the administrator's own app")
	}
	resp, page = dana.do(http.MethodGet, "/admin/users?reset="+aliceID, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `action="/admin/users/`+aliceID+`/reset-mfa"`) {
		t.Fatalf("confirmation: %d", resp.StatusCode)
	}
	if env.user(t, "alice").TOTPEnabledAt == nil {
		t.Fatal("showing the confirmation reset the app")
	}
	resp, _ = dana.do(http.MethodPost, "/admin/users/"+aliceID+"/reset-mfa", url.Values{"csrf": {csrf}})
	wantRedirect(t, resp, "/admin/users?id="+aliceID+"&notice=mfa-reset")
	if env.user(t, "alice").TOTPEnabledAt != nil {
		t.Fatal("alice's app was not reset")
	}
	resp, _ = alice.do(http.MethodGet, "/queue", nil)
	wantRedirect(t, resp, "/signin?next=/queue")
	if resp, _ = dana.do(http.MethodGet, "/admin/users?reset=no-such-user", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("confirmation for an unknown user: %d", resp.StatusCode)
	}
}

var apiKeyRe = regexp.MustCompile(`cst_[a-z2-7]{12}_[A-Za-z0-9_-]{43}`)

func TestAdminAPIKeys(t *testing.T) {
	env := newAdminEnv(t)
	dana := env.dana
	csrf := sessionCSRF(t, dana)

	resp, page := dana.do(http.MethodPost, "/admin/apikeys", url.Values{"name": {"payouts"},
		"scope": {"transactions:read", "transactions:write"}, "expires": {"2099-01-31"}, "csrf": {csrf}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("created: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	secret := apiKeyRe.FindString(page)
	if secret == "" || !strings.Contains(page, "shown this once") {
		t.Fatal("the new key is not shown, or the page does not say it is shown once")
	}
	rs := env.requests(t, "apikey.create")
	if len(rs) != 1 || !strings.Contains(page, `href="/requests/`+rs[0].ID+`"`) {
		t.Fatalf("apikey.create requests %+v; the page links none", rs)
	}
	// The key works once approved.
	if v := env.approve(t, "ivy", rs[0].ID); v.Request.Status != store.RequestExecuted {
		t.Fatalf("approved request is %s", v.Request.Status)
	}
	if _, err := env.svc.Authenticate(context.Background(), secret); err != nil {
		t.Fatalf("the key shown does not work: %v", err)
	}

	// The list shows the key, never its secret.
	resp, page = dana.do(http.MethodGet, "/admin/apikeys", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-apikey="payouts"`) || !strings.Contains(page, "transactions:write") {
		t.Fatalf("list: %d", resp.StatusCode)
	}
	if strings.Contains(page, secret) || apiKeyRe.MatchString(page) || strings.Contains(page, secret[len(secret)-43:]) {
		t.Fatal("the list shows a secret")
	}
	keys := readStore(t, env, func(ctx context.Context, tx store.Tx) ([]*store.APIKey, error) { return tx.ListAPIKeys(ctx) })
	if len(keys) != 1 || keys[0].ExpiresAt == nil || !keys[0].ExpiresAt.Equal(time.Date(2099, 1, 31, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("keys %+v", keys)
	}
	key := keys[0]

	// Refused forms stay on the page with what was typed.
	resp, page = dana.do(http.MethodPost, "/admin/apikeys", url.Values{"name": {"no-scopes"}, "csrf": {csrf}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="form-error"`) || !strings.Contains(page, `value="no-scopes"`) {
		t.Fatalf("no scopes: %d", resp.StatusCode)
	}
	resp, page = dana.do(http.MethodPost, "/admin/apikeys", url.Values{"name": {"bad-date"}, "scope": {"audit:read"}, "expires": {"soon"}, "csrf": {csrf}})
	if resp.StatusCode != http.StatusBadRequest || !regexp.MustCompile(`value="audit:read"\s+checked`).MatchString(page) {
		t.Fatalf("bad expiry: %d", resp.StatusCode)
	}

	// Revocation: confirmed first, then at once.
	resp, page = dana.do(http.MethodGet, "/admin/apikeys?revoke="+key.ID, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `action="/admin/apikeys/`+key.ID+`/revoke"`) {
		t.Fatalf("confirmation: %d", resp.StatusCode)
	}
	if _, err := env.svc.Authenticate(context.Background(), secret); err != nil {
		t.Fatal("showing the confirmation revoked the key")
	}
	resp, _ = dana.do(http.MethodPost, "/admin/apikeys/"+key.ID+"/revoke", url.Values{"csrf": {csrf}})
	wantRedirect(t, resp, "/admin/apikeys?id="+key.ID+"&notice=revoked")
	if _, err := env.svc.Authenticate(context.Background(), secret); err == nil {
		t.Fatal("the revoked key still works")
	}
	_, page = dana.do(http.MethodGet, resp.Header.Get("Location"), nil)
	if !strings.Contains(page, `id="notice"`) || !strings.Contains(page, "revoked") || strings.Contains(page, `href="/admin/apikeys?revoke=`+key.ID+`"`) {
		t.Fatal("the list does not show the key revoked")
	}
	resp, page = dana.do(http.MethodPost, "/admin/apikeys/"+key.ID+"/revoke", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "already revoked") {
		t.Fatalf("second revocation: %d", resp.StatusCode)
	}
}

func TestPolicyPages(t *testing.T) {
	env := newAdminEnv(t)
	dana := env.dana
	csrf := sessionCSRF(t, dana)
	pol := readStore(t, env, func(ctx context.Context, tx store.Tx) (*store.Policy, error) { return tx.CurrentPolicy(ctx) })

	// The policy in force, summarised, for everyone; only those who may
	// propose a change see the link.
	alice := signInThroughPages(t, env.srv.URL, "alice")
	resp, page := alice.do(http.MethodGet, "/policies", nil)
	page = html.UnescapeString(page)
	for _, want := range []string{hex.EncodeToString(pol.Hash), `data-action="transfer"`, "Up to EUR 1,000.00", "Above EUR 10,000.00",
		"4 approvals, at least 1 by a treasury_manager", "No approval needed", "Per transfer", "EUR 100,000.00", `id="rates"`, "ETH", `"rate_max_age": "1h0m0s"`} {
		if !strings.Contains(page, want) {
			t.Errorf("policy page (%d) without %q", resp.StatusCode, want)
		}
	}
	if strings.Contains(page, `href="/policies/edit"`) {
		t.Error("an approver is offered to propose a change")
	}
	_, page = dana.do(http.MethodGet, "/policies", nil)
	if !strings.Contains(page, `href="/policies/edit"`) {
		t.Error("an administrator is not offered to propose a change")
	}

	// The editor holds the policy in force, pretty-printed.
	resp, page = dana.do(http.MethodGet, "/policies/edit", nil)
	m := regexp.MustCompile(`(?s)<textarea[^>]*>(.*?)</textarea>`).FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(page, `name="base_version" value="1"`) {
		t.Fatalf("editor: %d", resp.StatusCode)
	}
	text := html.UnescapeString(m[1])
	if !strings.Contains(text, "\n  \"actions\": {\n") {
		t.Fatalf("document not pretty-printed:\n%s", text)
	}

	// Refused: nothing is filed, and the text stays.
	for _, tc := range []struct {
		name, doc, base string
		status          int
		says            string
	}{
		{"fail/malformed", `{"timezone": "UTC",`, "1", http.StatusUnprocessableEntity, "malformed JSON"},
		{"fail/invalid", strings.Replace(text, `"expiry": "24h0m0s"`, `"expiry": "forever"`, 1), "1", http.StatusUnprocessableEntity, `].expiry: must be a duration`},
		{"fail/unchanged", text, "1", http.StatusUnprocessableEntity, "no change"},
		{"fail/stale", strings.Replace(text, `"1h0m0s"`, `"2h0m0s"`, 1), "0", http.StatusConflict, "now version 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, page := dana.do(http.MethodPost, "/policies/edit", url.Values{"document": {tc.doc}, "base_version": {tc.base}, "csrf": {csrf}})
			page = html.UnescapeString(page)
			if resp.StatusCode != tc.status || !strings.Contains(page, tc.says) || !strings.Contains(page, tc.doc+"</textarea>") {
				t.Fatalf("got %d, want %d saying %q with the text kept:\n%s", resp.StatusCode, tc.status, tc.says, page)
			}
			if rs := env.requests(t, "policy.change"); len(rs) != 0 {
				t.Fatalf("filed %d policy.change requests", len(rs))
			}
		})
	}

	// A change is filed as a request whose page shows the changed lines.
	changed := strings.Replace(text, `"up_to_eur": "1000.00"`, `"up_to_eur": "2000.00"`, 1)
	changed = strings.Replace(changed, `"rate_max_age": "1h0m0s"`, `"rate_max_age": "1h30m0s"`, 1)
	if strings.Count(changed, "\n") != strings.Count(text, "\n") || strings.Contains(changed, "1000.00") || !strings.Contains(changed, "1h30m0s") {
		t.Fatalf("edit did not apply to:\n%s", text)
	}
	resp, _ = dana.do(http.MethodPost, "/policies/edit", url.Values{"document": {changed}, "base_version": {"1"}, "csrf": {csrf}})
	id := filedRequest(t, resp)
	if rs := env.requests(t, "policy.change"); len(rs) != 1 || rs[0].ID != id {
		t.Fatalf("policy.change requests %+v, want %s", rs, id)
	}
	_, page = dana.do(http.MethodGet, "/requests/"+id, nil)
	page = html.UnescapeString(page)
	for _, re := range []string{
		`diff-del"><span class="diff-mark">−</span>\s+"up_to_eur": "1000.00"`,
		`diff-add"><span class="diff-mark">\+</span>\s+"up_to_eur": "2000.00"`,
		`diff-ctx"><span class="diff-mark"> </span>\s+"approvals": 1`,
		`diff-del"><span class="diff-mark">−</span>\s+"rate_max_age": "1h0m0s"`,
		`diff-add"><span class="diff-mark">\+</span>\s+"rate_max_age": "1h30m0s"`,
		`2 lines added \(marked \+\), 2 removed`,
	} {
		if !regexp.MustCompile(re).MatchString(page) {
			t.Errorf("request page without %s", re)
		}
	}
	if n := strings.Count(page, `class="diff-line diff-add"`) + strings.Count(page, `class="diff-line diff-del"`); n != 4 {
		t.Errorf("%d changed lines shown, want 4", n)
	}
	if !strings.Contains(page, `class="diff-line diff-gap"`) {
		t.Error("no unchanged lines left out between the changes")
	}

	// Approved, it is installed: the policy page names the request.
	env.approve(t, "ivy", id)
	if v := env.approve(t, "tom", id); v.Request.Status != store.RequestExecuted {
		t.Fatalf("approved policy change is %s", v.Request.Status)
	}
	_, page = dana.do(http.MethodGet, "/policies", nil)
	if !strings.Contains(page, `id="policy-version">2<`) || !strings.Contains(page, `href="/requests/`+id+`"`) ||
		!strings.Contains(page, "Up to EUR 2,000.00") || !strings.Contains(page, "<dd>1h30m</dd>") {
		t.Fatal("the policy page does not show version 2 installed by the request")
	}
	_, page = dana.do(http.MethodGet, "/requests/"+id, nil)
	if !strings.Contains(page, "This change is installed") {
		t.Fatal("the installed change's page does not say so")
	}
}
