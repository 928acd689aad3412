package webui_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base32"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/coordinator/httpapi"
	"github.com/custos-dev/custos/coordinator/webui"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/sqlite"
)

const password = "correct horse battery staple"

// newServer runs the coordinator's HTTP server (API and UI) on a fresh
// store with one approver, alice.
func newServer(t *testing.T) (*httptest.Server, *coordinator.Service) {
	return newServerWith(t, httpapi.Config{})
}

// newServerWith is newServer with the API server's settings cfg (its
// Service and Mount are filled in).
func newServerWith(t testing.TB, cfg httpapi.Config) (*httptest.Server, *coordinator.Service) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "custos.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kek, err := seal.NewKEK(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	seed := sha256.Sum256([]byte("webui test decision key"))
	signer, err := proof.NewSigner(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	// The listener comes first: passkeys are bound to the UI's origin,
	// http://localhost:PORT (browsers refuse them on an IP address).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	svc, err := coordinator.New(coordinator.Config{Store: st, KEK: kek, DecisionKey: signer,
		Passkeys: coordinator.PasskeyConfig{Origin: "http://localhost:" + port}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	if _, err := svc.InitPolicy(ctx, policy.Default()); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ name, role string }{{"alice", store.RoleApprover}, {"carol", store.RoleApprover}} {
		if _, err := svc.BootstrapUser(ctx, u.name, u.role, password, nil); err != nil {
			t.Fatal(err)
		}
	}
	ui, err := webui.New(webui.Config{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Service, cfg.Mount = svc, ui.Mount
	h, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, svc
}

type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

var (
	csrfRe   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	secretRe = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
)

func find(t *testing.T, re *regexp.Regexp, page string) string {
	t.Helper()
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("%s not found in page:\n%s", re, page)
	}
	return m[1]
}

func wantRedirect(t *testing.T, resp *http.Response, to string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != to {
		t.Fatalf("got %d to %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), to)
	}
}

func TestSignInEnrolAndCSRF(t *testing.T) {
	srv, _ := newServer(t)
	b := newBrowser(t, srv.URL)

	// Not signed in: the queue sends to sign-in, and remembers where to.
	resp, _ := b.do(http.MethodGet, "/queue", nil)
	wantRedirect(t, resp, "/signin?next=/queue")
	resp, page := b.do(http.MethodGet, "/signin", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `action="/signin"`) {
		t.Fatalf("sign-in page: %d", resp.StatusCode)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("sign-in page without %s", h)
		}
	}
	resp, page = b.do(http.MethodPost, "/signin", url.Values{"name": {"alice"}, "password": {"wrong password!"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "unknown user or wrong password") {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	// First sign-in: no second factor yet, so enrolment, and nothing else.
	resp, _ = b.do(http.MethodPost, "/signin", url.Values{"name": {"alice"}, "password": {password}, "next": {"/queue"}})
	wantRedirect(t, resp, "/enrol")
	ck := resp.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Path != "/" {
		t.Fatalf("session cookie %+v", ck)
	}
	resp, _ = b.do(http.MethodGet, "/queue", nil)
	wantRedirect(t, resp, "/enrol")
	resp, page = b.do(http.MethodGet, "/enrol", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "data:image/png;base64,") {
		t.Fatalf("enrolment page: %d", resp.StatusCode)
	}
	csrf := find(t, csrfRe, page)
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(find(t, secretRe, page))
	if err != nil {
		t.Fatal(err)
	}
	code, _ := auth.TOTPCode(secret, time.Now())
	// Without the anti-forgery token, or with another, nothing happens.
	for _, bad := range []string{"", strings.Repeat("A", len(csrf))} {
		resp, _ = b.do(http.MethodPost, "/enrol", url.Values{"code": {code}, "csrf": {bad}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("enrolment with CSRF token %q: %d", bad, resp.StatusCode)
		}
	}
	resp, _ = b.do(http.MethodGet, "/queue", nil)
	wantRedirect(t, resp, "/enrol")
	resp, _ = b.do(http.MethodPost, "/enrol", url.Values{"code": {code}, "csrf": {csrf}})
	wantRedirect(t, resp, "/queue")
	resp, page = b.do(http.MethodGet, "/queue", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Approval queue") {
		t.Fatalf("queue after enrolment: %d", resp.StatusCode)
	}
	// Signed out: the cookie no longer works.
	resp, _ = b.do(http.MethodPost, "/signout", url.Values{"csrf": {find(t, csrfRe, page)}})
	wantRedirect(t, resp, "/signin")
	resp, _ = b.do(http.MethodGet, "/queue", nil)
	wantRedirect(t, resp, "/signin?next=/queue")

	// Next sign-in needs the code; the one used for enrolment is spent.
	resp, page = b.do(http.MethodPost, "/signin", url.Values{"name": {"alice"}, "password": {password}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "six-digit code") {
		t.Fatalf("sign-in without a code: %d", resp.StatusCode)
	}
	resp, _ = b.do(http.MethodPost, "/signin", url.Values{"name": {"alice"}, "password": {password}, "code": {code}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed code: %d", resp.StatusCode)
	}
	next, _ := auth.TOTPCode(secret, time.Now().Add(auth.TOTPPeriod))
	resp, _ = b.do(http.MethodPost, "/signin", url.Values{"name": {"alice"}, "password": {password}, "code": {next}, "next": {"//evil.example/x"}})
	wantRedirect(t, resp, "/queue")
}

func TestUnknownAPIPathsStayAPI(t *testing.T) {
	srv, _ := newServer(t)
	resp, err := http.Get(srv.URL + "/v1/no-such-thing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The API answers for itself (JSON), never with a redirect to the
	// UI's sign-in page.
	if resp.StatusCode == http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("unknown API path: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// submitTransfer has carol submit a transfer of 6 ETH (EUR 15,000 at EUR
// 2,500: four approvals under the default policy) from a new HD wallet.
func submitTransfer(t testing.TB, svc *coordinator.Service) string {
	t.Helper()
	ctx := context.Background()
	if err := svc.BootstrapRate(ctx, coordinator.RateInput{Asset: "eth", EURPerUnit: "2500", Decimals: 18}); err != nil {
		t.Fatal(err)
	}
	w, err := svc.CreateWalletNow(ctx, "bootstrap", coordinator.WalletInput{Name: "treasury-eth", Mode: "hd", Curve: "secp256k1"})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _, err := svc.Login(ctx, "carol", password)
	if err != nil {
		t.Fatal(err)
	}
	carol, err := svc.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	tx, _, err := svc.SubmitTransfer(ctx, carol, coordinator.TransferInput{WalletID: w.ID, Chain: "message", Asset: "eth",
		To: "0x00000000000000000000000000000000000000b0", Amount: "6000000000000000000", Memo: "invoice 2026-118"}, "ui-test-1")
	if err != nil {
		t.Fatal(err)
	}
	if tx.RequestID == "" {
		t.Fatalf("transfer %s needs no approval: %s", tx.ID, tx.Status)
	}
	return tx.RequestID
}

// Sign-ins in the browser spend the per-address budget of the API's
// logins: the two together are limited, not each on its own.
func TestSignInSharesTheAPILoginBudget(t *testing.T) {
	// A budget of 3 attempts that does not refill within the test.
	srv, _ := newServerWith(t, httpapi.Config{LoginRatePerSecond: 0.001, LoginBurst: 3})
	b := newBrowser(t, srv.URL)
	limited := false
	for i := 0; i < 4 && !limited; i++ {
		// Unknown users: no account lockout comes first.
		resp, _ := b.do(http.MethodPost, "/signin", url.Values{"name": {"nobody"}, "password": {"wrong password!"}})
		limited = resp.StatusCode == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("4 failed sign-ins from one address within a budget of 3 were not limited")
	}
	resp, err := http.Post(srv.URL+"/v1/auth/login", "application/json", strings.NewReader(`{"name":"nobody","password":"wrong password!"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("API login after the browser spent the budget: %d, want 429", resp.StatusCode)
	}
}
