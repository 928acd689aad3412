package webui_test

import (
	"context"
	"encoding/base32"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/coordinator/httpapi"
	"github.com/custos-dev/custos/internal/auth"
	"github.com/custos-dev/custos/store"
)

// The page benchmarks' store: 10,000 transactions, of which the last
// 500 wait for approval (the queue's most: it lists at most 500).
const (
	historicTransactions = 10_000
	pendingTransactions  = 500
)

// pageFixture is a coordinator with 10,000 settled transactions and a
// handful of pending transfer requests, and alice's browser session.
type pageFixture struct {
	srv     *httptest.Server
	svc     *coordinator.Service
	cookie  *http.Cookie
	request string // a pending EUR 15,000 transfer request
}

func newPageFixture(tb testing.TB) *pageFixture {
	tb.Helper()
	srv, svc := newServerWith(tb, httpapi.Config{})
	ctx := context.Background()
	f := &pageFixture{srv: srv, svc: svc, request: submitTransfer(tb, svc)}
	// Settled history, written straight to the store: the pages read it
	// as they would read real history.
	now := time.Now().UTC()
	err := svc.Store().ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		for i := range historicTransactions {
			at := now.Add(-time.Duration(historicTransactions-i) * time.Minute)
			t := &store.Transaction{ID: fmt.Sprintf("hist-%05d", i), ClientID: "bench", IdempotencyKey: fmt.Sprintf("hist-%05d", i),
				BodyHash: make([]byte, 32), WalletID: "w-hist", Chain: "message", Asset: "eth", To: "0x00000000000000000000000000000000000000c0",
				Amount: "1000000000000000000", Nonce: fmt.Sprint(i), Intent: []byte(`{}`), Fingerprint: make([]byte, 32), EURCents: 250_000,
				Status: store.TxSigned, Signature: make([]byte, 64), CreatedAt: at, UpdatedAt: at, SignedAt: &at}
			if i >= historicTransactions-pendingTransactions {
				t.RequestID, t.Status, t.Signature, t.SignedAt = "req-"+t.ID, store.TxPendingApproval, nil, nil
				r := &store.Request{ID: t.RequestID, Action: "transfer", RequesterID: "bench", Payload: t.Intent, Fingerprint: t.Fingerprint,
					PolicyVersion: 1, PolicyHash: make([]byte, 32), EURCents: t.EURCents, Requirement: []byte(`{"approvals":2,"rejections_to_deny":1}`),
					Revision: 1, Status: store.RequestPending, CreatedAt: at, UpdatedAt: at, ExpiresAt: now.Add(24 * time.Hour)}
				if err := tx.CreateRequest(ctx, r); err != nil {
					return err
				}
			}
			if err := tx.CreateTransaction(ctx, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.cookie = webSession(tb, svc, "alice")
	return f
}

// webSession signs name in as a browser would, enrolling an authenticator
// app, and returns the session cookie.
func webSession(tb testing.TB, svc *coordinator.Service, name string) *http.Cookie {
	tb.Helper()
	ctx := context.Background()
	sess, err := svc.SignIn(ctx, coordinator.SignIn{Name: name, Password: password, Web: true})
	if err != nil {
		tb.Fatal(err)
	}
	p, err := svc.AuthenticateWeb(ctx, sess.Token)
	if err != nil {
		tb.Fatal(err)
	}
	e, err := svc.BeginTOTP(ctx, p)
	if err != nil {
		tb.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil {
		tb.Fatal(err)
	}
	code, _ := auth.TOTPCode(secret, time.Now())
	if err := svc.ConfirmTOTP(ctx, p, code); err != nil {
		tb.Fatal(err)
	}
	return &http.Cookie{Name: "custos_session", Value: sess.Token}
}

// get serves path with the session and returns the body; the handler is
// called in process, so the time is the server's alone.
func (f *pageFixture) get(tb testing.TB, path string) []byte {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(f.cookie)
	rec := httptest.NewRecorder()
	f.srv.Config.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("GET %s: %d\n%s", path, rec.Code, rec.Body.String())
	}
	return rec.Body.Bytes()
}

// BenchmarkPages measures the server time of the approval queue (500
// pending requests) and of a request's page with 10,000 transactions in
// the store (budget: 100 ms each), and of the first page of transactions.
func BenchmarkPages(b *testing.B) {
	f := newPageFixture(b)
	for _, page := range []struct{ name, path string }{
		{"queue", "/queue"},
		{"request", "/requests/" + f.request},
		{"transactions", "/transactions"},
	} {
		b.Run(page.name, func(b *testing.B) {
			for b.Loop() {
				f.get(b, page.path)
			}
		})
	}
}

// TestRequestPageWeight: the request page with everything it loads (its
// stylesheet and scripts; it has no images or fonts) stays under 200 KB.
func TestRequestPageWeight(t *testing.T) {
	f := newPageFixture(t)
	page := f.get(t, "/requests/"+f.request)
	if !strings.Contains(string(page), `id="fingerprint"`) {
		t.Fatal("not the request page")
	}
	total := len(page)
	assets := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(assets) < 2 {
		t.Fatalf("the page names %d assets; expected its stylesheet and scripts", len(assets))
	}
	for _, a := range assets {
		resp, err := http.Get(f.srv.URL + a[1])
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", a[1], resp.StatusCode)
		}
		total += len(body)
	}
	t.Logf("request page: %d bytes of HTML, %d bytes in all with %d assets", len(page), total, len(assets))
	if total > 200_000 {
		t.Fatalf("the request page weighs %d bytes with its assets; the budget is 200 KB", total)
	}
}
