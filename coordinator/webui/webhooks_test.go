package webui_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/store"
)

var webhookSecretRe = regexp.MustCompile(`id="webhook-secret">(cwh_[A-Za-z0-9_-]{43})<`)

func TestWebhooksAdminPage(t *testing.T) {
	srv, svc := newServer(t)
	ctx := context.Background()
	if _, err := svc.BootstrapUser(ctx, "dana", store.RoleAdmin, password, nil); err != nil {
		t.Fatal(err)
	}
	dana := signInThroughPages(t, srv.URL, "dana")
	listHooks := func() []*store.Webhook {
		var ws []*store.Webhook
		if err := svc.Store().ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
			var err error
			ws, err = tx.ListWebhooks(ctx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ws
	}

	resp, page := dana.do(http.MethodGet, "/admin/webhooks", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "No webhooks yet") || !strings.Contains(page, `value="wallet.*"`) {
		t.Fatalf("empty webhooks page: %d\n%s", resp.StatusCode, page)
	}
	csrf := find(t, csrfRe, page)
	const hookURL = "https://hooks.example.com/custos"
	form := url.Values{"url": {hookURL}, "event": {"transaction.*", "wallet.*"}}

	// Without the anti-forgery token nothing is created.
	if resp, _ := dana.do(http.MethodPost, "/admin/webhooks", form); resp.StatusCode != http.StatusForbidden || len(listHooks()) != 0 {
		t.Fatalf("creation without CSRF token: %d, %d webhooks", resp.StatusCode, len(listHooks()))
	}
	form.Set("csrf", csrf)
	// A refused URL is shown on the form, as typed.
	bad := url.Values{"url": {"http://hooks.example.com/custos"}, "event": {"transaction.*"}, "csrf": {csrf}}
	resp, page = dana.do(http.MethodPost, "/admin/webhooks", bad)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "must use https") || !strings.Contains(page, `value="http://hooks.example.com/custos"`) {
		t.Fatalf("refused URL: %d\n%s", resp.StatusCode, page)
	}

	resp, page = dana.do(http.MethodPost, "/admin/webhooks", form)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("creation: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	secret := find(t, webhookSecretRe, page)
	hooks := listHooks()
	if len(hooks) != 1 || hooks[0].URL != hookURL || strings.Join(hooks[0].Events, " ") != "transaction.* wallet.*" {
		t.Fatalf("stored webhooks %+v", hooks)
	}
	id := hooks[0].ID

	// The list shows the webhook and its state, never the secret.
	resp, page = dana.do(http.MethodGet, "/admin/webhooks", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, hookURL) || !strings.Contains(page, `tag-ok">enabled`) ||
		!strings.Contains(page, "none yet") || !strings.Contains(page, "by dana") || strings.Contains(page, secret[len("cwh_"):]) {
		t.Fatalf("webhooks page after creation: %d\n%s", resp.StatusCode, page)
	}
	// A failing webhook says so, and why.
	w := hooks[0]
	retry := time.Now().Add(time.Minute)
	failed := *w
	failed.Failures, failed.LastError, failed.NextAttemptAt = 5, "the endpoint answered HTTP 503", &retry
	if err := svc.Store().ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.UpdateWebhookDelivery(ctx, &failed, w.Cursor)
	}); err != nil {
		t.Fatal(err)
	}
	_, page = dana.do(http.MethodGet, "/admin/webhooks", nil)
	if !strings.Contains(page, `tag-bad">failing`) || !strings.Contains(page, "5 in a row") || !strings.Contains(page, "HTTP 503") {
		t.Fatalf("failing webhook not shown as such:\n%s", page)
	}

	resp, _ = dana.do(http.MethodPost, "/admin/webhooks/"+id+"/disable", url.Values{"csrf": {csrf}})
	wantRedirect(t, resp, "/admin/webhooks?id="+id+"&notice=disabled")
	if listHooks()[0].Enabled {
		t.Fatal("the webhook is still enabled")
	}
	_, page = dana.do(http.MethodGet, "/admin/webhooks?id="+id+"&notice=disabled", nil)
	if !strings.Contains(page, `class="tag">disabled`) || !strings.Contains(page, `id="enable-`+id+`"`) {
		t.Fatalf("disabled webhook:\n%s", page)
	}
	resp, _ = dana.do(http.MethodPost, "/admin/webhooks/"+id+"/enable", url.Values{"csrf": {csrf}})
	wantRedirect(t, resp, "/admin/webhooks?id="+id+"&notice=enabled")

	// Deletion is confirmed first.
	_, page = dana.do(http.MethodGet, "/admin/webhooks?delete="+id, nil)
	if !strings.Contains(page, `action="/admin/webhooks/`+id+`/delete"`) || !strings.Contains(page, html.EscapeString(hookURL)) {
		t.Fatalf("delete confirmation:\n%s", page)
	}
	if resp, _ := dana.do(http.MethodPost, "/admin/webhooks/"+id+"/delete", url.Values{}); resp.StatusCode != http.StatusForbidden || len(listHooks()) != 1 {
		t.Fatalf("deletion without CSRF token: %d", resp.StatusCode)
	}
	resp, _ = dana.do(http.MethodPost, "/admin/webhooks/"+id+"/delete", url.Values{"csrf": {csrf}})
	wantRedirect(t, resp, "/admin/webhooks?id="+id+"&notice=deleted")
	if n := len(listHooks()); n != 0 {
		t.Fatalf("%d webhooks after deletion", n)
	}

	// Others see neither the page nor its forms work.
	alice := signInThroughPages(t, srv.URL, "alice")
	if resp, _ := alice.do(http.MethodGet, "/admin/webhooks", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("approver GET /admin/webhooks: %d", resp.StatusCode)
	}
	form.Set("csrf", sessionCSRF(t, alice))
	if resp, _ := alice.do(http.MethodPost, "/admin/webhooks", form); resp.StatusCode != http.StatusForbidden || len(listHooks()) != 0 {
		t.Fatalf("approver creating a webhook: %d, %d webhooks", resp.StatusCode, len(listHooks()))
	}
}
