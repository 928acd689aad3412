package webhook_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/custos-dev/custos/webhook"
)

// A receiver reads the raw body, verifies it against the signature header
// before decoding it, and answers 2xx once it has processed the event.
// Anything else makes Custos retry the same event later.
func Example() {
	secret := []byte("cwh_secret-shown-once-when-the-webhook-was-created")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), b, time.Now(), 0); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev webhook.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		// Deliveries are at least once: skip an ev.ID seen before.
		fmt.Println(ev.Type, ev.Target, ev.Result)
		w.WriteHeader(http.StatusNoContent)
	})

	// What the coordinator sends.
	body := `{"id":"3f0c","type":"transaction.sign","occurred_at":"2026-01-02T03:04:05Z","target":"transaction:42",` +
		`"result":"success","meta":{},"audit_seq":7,"audit_hash":"00"}`
	req := httptest.NewRequest(http.MethodPost, "/custos", strings.NewReader(body))
	req.Header.Set(webhook.SignatureHeader, webhook.Sign(secret, time.Now(), []byte(body)))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code)

	// A forged or altered delivery is refused.
	req = httptest.NewRequest(http.MethodPost, "/custos", strings.NewReader(strings.Replace(body, "42", "43", 1)))
	req.Header.Set(webhook.SignatureHeader, webhook.Sign(secret, time.Now(), []byte(body)))
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output:
	// transaction.sign transaction:42 success
	// 204
	// 401
}
