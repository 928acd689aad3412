package httpapi

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store"
	"github.com/custos-dev/custos/store/sqlite"
)

// webhookAPI serves the API on a fresh store with an administrator and an
// approver, and returns their session tokens.
func webhookAPI(t *testing.T) (h http.Handler, admin, approver string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kek, _ := seal.NewKEK(make([]byte, 32))
	signer, _ := proof.NewSigner(ed25519.NewKeyFromSeed(make([]byte, 32)))
	svc, err := coordinator.New(coordinator.Config{Store: st, KEK: kek, DecisionKey: signer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	tokens := map[string]string{}
	for _, u := range []struct{ name, role string }{{"ada", store.RoleAdmin}, {"alice", store.RoleApprover}} {
		if _, err := svc.BootstrapUser(ctx, u.name, u.role, "correct horse battery staple", nil); err != nil {
			t.Fatal(err)
		}
		if tokens[u.name], _, _, err = svc.Login(ctx, u.name, "correct horse battery staple"); err != nil {
			t.Fatal(err)
		}
	}
	if h, err = New(Config{Service: svc}); err != nil {
		t.Fatal(err)
	}
	return h, tokens["ada"], tokens["alice"]
}

func hookCall(t *testing.T, h http.Handler, token, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestWebhookAPI(t *testing.T) {
	h, admin, approver := webhookAPI(t)
	const create = `{"url":"https://hooks.example.com/custos","events":["transaction.*","request.*"]}`
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodGet, "/v1/webhooks", ""},
		{http.MethodPost, "/v1/webhooks", create},
	} {
		if rec := hookCall(t, h, approver, tc.method, tc.path, tc.body); rec.Code != http.StatusForbidden {
			t.Fatalf("%s %s by an approver: %d %s", tc.method, tc.path, rec.Code, rec.Body)
		}
	}
	for _, body := range []string{
		`{"url":"http://hooks.example.com/custos","events":["transaction.*"]}`,
		`{"url":"https://127.0.0.1/custos","events":["transaction.*"]}`,
		`{"url":"https://hooks.example.com/custos","events":["auth.*"]}`,
		`{"url":"https://hooks.example.com/custos","events":[]}`,
	} {
		rec := hookCall(t, h, admin, http.MethodPost, "/v1/webhooks", body)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"invalid_webhook"`) {
			t.Fatalf("create %s: %d %s", body, rec.Code, rec.Body)
		}
	}

	rec := hookCall(t, h, admin, http.MethodPost, "/v1/webhooks", create)
	if rec.Code != http.StatusCreated || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d, Cache-Control %q: %s", rec.Code, rec.Header().Get("Cache-Control"), rec.Body)
	}
	var created struct {
		Webhook webhookView `json:"webhook"`
		Secret  string      `json:"secret"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	w := created.Webhook
	if !strings.HasPrefix(created.Secret, "cwh_") || w.ID == "" || !w.Enabled || w.URL != "https://hooks.example.com/custos" ||
		!slices.Equal(w.Events, []string{"transaction.*", "request.*"}) {
		t.Fatalf("created %+v", created)
	}

	id := w.ID
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodPost, "/v1/webhooks/" + id + "/disable", http.StatusForbidden, "forbidden"},
		{http.MethodDelete, "/v1/webhooks/" + id, http.StatusForbidden, "forbidden"},
	} {
		if rec := hookCall(t, h, approver, tc.method, tc.path, ""); rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.code) {
			t.Fatalf("%s %s by an approver: %d %s", tc.method, tc.path, rec.Code, rec.Body)
		}
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodPost, "/v1/webhooks/" + id + "/disable", http.StatusNoContent},
		{http.MethodPost, "/v1/webhooks/" + id + "/disable", http.StatusConflict},
		{http.MethodGet, "/v1/webhooks", http.StatusOK},
		{http.MethodPost, "/v1/webhooks/" + id + "/enable", http.StatusNoContent},
		{http.MethodPost, "/v1/webhooks/nope/enable", http.StatusNotFound},
		{http.MethodGet, "/v1/webhooks", http.StatusOK},
		{http.MethodDelete, "/v1/webhooks/" + id, http.StatusNoContent},
		{http.MethodDelete, "/v1/webhooks/" + id, http.StatusNotFound},
	} {
		rec := hookCall(t, h, admin, tc.method, tc.path, "")
		if rec.Code != tc.status {
			t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.path, rec.Code, tc.status, rec.Body)
		}
		if strings.Contains(rec.Body.String(), created.Secret[len("cwh_"):]) {
			t.Fatalf("%s %s answers with the secret", tc.method, tc.path)
		}
		if tc.method == http.MethodGet {
			var list struct {
				Webhooks []webhookView `json:"webhooks"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Webhooks) != 1 || list.Webhooks[0].ID != id {
				t.Fatalf("list: %s (%v)", rec.Body, err)
			}
		}
	}
}

// TestOpenAPIWebhookSchemas: the Webhook schema lists exactly what
// webhookView encodes, and the event types are the coordinator's.
func TestOpenAPIWebhookSchemas(t *testing.T) {
	doc := loadOpenAPI(t)
	schemas := oaObj(oaObj(doc["components"])["schemas"])
	s := oaObj(schemas["Webhook"])
	fields := oaFieldsOf(t, reflect.TypeFor[webhookView]())
	if got, want := oaKeys(oaObj(s["properties"])), oaKeys(fields); !slices.Equal(got, want) {
		t.Errorf("Webhook properties %v, webhookView encodes %v", got, want)
	}
	var required []string
	for f, omit := range fields {
		if !omit {
			required = append(required, f)
		}
	}
	slices.Sort(required)
	if got := slices.Sorted(slices.Values(oaStrings(s["required"]))); !slices.Equal(got, required) {
		t.Errorf("Webhook required %v, want %v", got, required)
	}
	if got, want := oaStrings(oaObj(schemas["WebhookEventType"])["enum"]), coordinator.WebhookEventTypes(); !slices.Equal(got, want) {
		t.Errorf("WebhookEventType enum %v, the coordinator accepts %v", got, want)
	}
}
