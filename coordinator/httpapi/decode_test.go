package httpapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/internal/seal"
	"github.com/custos-dev/custos/store/sqlite"
	"github.com/labstack/echo/v4"
)

func decodeBody(body []byte, contentType string) (coordinator.TransferInput, error) {
	e := echo.New()
	req := httptest.NewRequest(http.MethodPost, "/v1/transactions", bytes.NewReader(body))
	req.Header.Set(echo.HeaderContentType, contentType)
	c := e.NewContext(req, httptest.NewRecorder())
	var in coordinator.TransferInput
	err := decode(c, &in)
	return in, err
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, body, ct, code string
		status               int
	}{
		{name: "ok", body: `{"wallet_id":"w","chain":"message","asset":"eth","to":"0xa","amount":"1","memo":""}`, ct: "application/json"},
		{name: "ok/charset", body: `{"amount":"1"}`, ct: "application/json; charset=utf-8"},
		{name: "fail/malformed", body: `{"amount":`, ct: "application/json", code: "malformed_json", status: 400},
		{name: "fail/empty", body: ``, ct: "application/json", code: "malformed_json", status: 400},
		{name: "fail/unknown-field", body: `{"amount":"1","fee":"2"}`, ct: "application/json", code: "unknown_field", status: 400},
		{name: "fail/number-amount", body: `{"amount":1}`, ct: "application/json", code: "invalid_field", status: 400},
		{name: "fail/trailing", body: `{"amount":"1"}{}`, ct: "application/json", code: "malformed_json", status: 400},
		{name: "fail/array", body: `[{"amount":"1"}]`, ct: "application/json", code: "invalid_field", status: 400},
		{name: "fail/content-type", body: `{"amount":"1"}`, ct: "text/plain", code: "unsupported_media_type", status: 415},
		{name: "fail/no-content-type", body: `{"amount":"1"}`, ct: "", code: "unsupported_media_type", status: 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeBody([]byte(tc.body), tc.ct)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) || ae.code != tc.code || ae.status != tc.status {
				t.Fatalf("err = %v, want %s (%d)", err, tc.code, tc.status)
			}
		})
	}
}

// FuzzSubmitBody feeds arbitrary bodies through the strict decoder and the
// intent constructor: nothing panics, and whatever is accepted yields a
// canonical intent that parses back to the same fingerprint.
func FuzzSubmitBody(f *testing.F) {
	f.Add([]byte(`{"wallet_id":"w","chain":"message","asset":"ETH","to":"0xAbC","amount":"1500000000000000000","memo":"x"}`))
	f.Add([]byte(`{"wallet_id":"w","chain":"message","asset":"eth","to":"a","amount":"-1"}`))
	f.Add([]byte(`{"amount":"1e18"}`))
	f.Add([]byte(`{"to":"\u0000"}`))
	f.Add([]byte(`{"memo":"` + strings.Repeat("m", 2000) + `"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeBody(body, "application/json")
		if err != nil {
			return
		}
		tr, err := intent.NewTransfer(in.WalletID, in.Chain, in.Asset, in.To, in.Amount, in.Memo, "nonce")
		if err != nil {
			if !errors.Is(err, intent.ErrInvalid) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		back, err := intent.ParseTransfer(tr.Canonical())
		if err != nil || back.Fingerprint() != tr.Fingerprint() {
			t.Fatalf("accepted body %q gives an intent that does not round-trip: %v", body, err)
		}
	})
}

func newTestHandler(t *testing.T, trustProxy bool) http.Handler {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kek, _ := seal.NewKEK(make([]byte, 32))
	signer, _ := proof.NewSigner(ed25519.NewKeyFromSeed(make([]byte, 32)))
	svc, err := coordinator.New(coordinator.Config{Store: st, KEK: kek, DecisionKey: signer,
		GuardianKey: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Service: svc, TrustProxyHeaders: trustProxy, LoginRatePerSecond: 0.001, LoginBurst: 5})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestLoginLimitIgnoresForwardedHeader: a client that varies
// X-Forwarded-For does not escape the per-address login limit unless the
// operator said a proxy sets that header.
func TestLoginLimitIgnoresForwardedHeader(t *testing.T) {
	for _, trust := range []bool{false, true} {
		h := newTestHandler(t, trust)
		limited := 0
		for i := range 8 { // the test limit allows bursts of 5
			req := httptest.NewRequest(http.MethodPost, "/v1/auth/login", strings.NewReader(`{"name":"nobody","password":"wrong password"}`))
			req.Header.Set("Content-Type", "application/json")
			req.RemoteAddr = "127.0.0.1:40000"
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.0.0.%d", i))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusTooManyRequests:
				limited++
				if rec.Header().Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
			case http.StatusUnauthorized:
			default:
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
		if trust && limited != 0 {
			t.Fatalf("trusting the proxy header: %d attempts limited, want 0 (each came from its own address)", limited)
		}
		if !trust && limited != 3 {
			t.Fatalf("8 attempts from one peer with varying X-Forwarded-For: %d limited, want 3", limited)
		}
	}
}

// TestRequestIDIsOurs: a client-chosen X-Request-Id never reaches the
// logs or the audit log; every answer carries an id the server made.
func TestRequestIDIsOurs(t *testing.T) {
	h := newTestHandler(t, false)
	req := httptest.NewRequest(http.MethodGet, "/v1/me", nil)
	req.Header.Set("X-Request-Id", strings.Repeat("\u2039", 200000))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	id := rec.Header().Get("X-Request-Id")
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("X-Request-Id %q, want 32 hex characters of our own", id[:min(len(id), 40)])
	}
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), id) {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
}

// TestGuardianEnrolmentIsLimited: the enrolment endpoint takes no
// credential, answers every bad code alike, and is limited per client
// address like logins.
func TestGuardianEnrolmentIsLimited(t *testing.T) {
	h := newTestHandler(t, false)
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	body := fmt.Sprintf(`{"code":"cgc_AAAAAAAAAAAAAAAAAAAAAA","identity_key":%q,"encryption_key":%q,"endpoint":"http://g.test","governance_hash":"00","signature":%q}`,
		b64(key.Public().(ed25519.PublicKey)), b64(bytes.Repeat([]byte{9}, 32)), b64(make([]byte, 64)))
	var codes []int
	for range 7 { // the test limit allows bursts of 5
		req := httptest.NewRequest(http.MethodPost, "/v1/guardians/enroll", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "127.0.0.1:40000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
		if rec.Code != http.StatusTooManyRequests && !strings.Contains(rec.Body.String(), `"bad_signature"`) {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	if want := []int{422, 422, 422, 422, 422, 429, 429}; fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Fatalf("statuses %v, want %v", codes, want)
	}
}

// TestGuardianEnrolmentPreview: the preview endpoint takes no credential,
// decodes strictly, answers every bad code alike, and spends the same
// per-address attempts as enrolments (a malformed body spends none).
func TestGuardianEnrolmentPreview(t *testing.T) {
	h := newTestHandler(t, false)
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	enrol := fmt.Sprintf(`{"code":"cgc_AAAAAAAAAAAAAAAAAAAAAA","identity_key":%q,"encryption_key":%q,"endpoint":"http://g.test","governance_hash":"00","signature":%q}`,
		b64(key.Public().(ed25519.PublicKey)), b64(bytes.Repeat([]byte{9}, 32)), b64(make([]byte, 64)))
	const (
		preview = "/v1/guardians/enroll/preview"
		enroll  = "/v1/guardians/enroll"
	)
	for _, tc := range []struct {
		name, path, body, ct string
		status               int
		code                 string
	}{
		{"fail/unknown-field", preview, `{"code":"cgc_AAAAAAAAAAAAAAAAAAAAAA","name":"g1"}`, "application/json", 400, "unknown_field"},
		{"fail/malformed", preview, `{"code":`, "application/json", 400, "malformed_json"},
		{"fail/content-type", preview, `{"code":"cgc_AAAAAAAAAAAAAAAAAAAAAA"}`, "text/plain", 415, "unsupported_media_type"},
		{"fail/unknown-code", preview, `{"code":"cgc_AAAAAAAAAAAAAAAAAAAAAA"}`, "application/json", 401, "invalid_claim_code"},
		{"fail/malformed-code", preview, `{"code":"letmein"}`, "application/json", 401, "invalid_claim_code"},
		{"fail/no-code", preview, `{}`, "application/json", 401, "invalid_claim_code"},
		{"fail/enrol-bad-signature", enroll, enrol, "application/json", 422, "bad_signature"},
		{"fail/enrol-bad-signature-again", enroll, enrol, "application/json", 422, "bad_signature"},
		{"fail/preview-limited", preview, `{"code":"cgc_AAAAAAAAAAAAAAAAAAAAAA"}`, "application/json", 429, "rate_limited"},
		{"fail/enrol-limited", enroll, enrol, "application/json", 429, "rate_limited"},
	} {
		t.Run(tc.name, func(t *testing.T) { // in order: the test limit allows bursts of 5
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ct)
			req.RemoteAddr = "127.0.0.1:40000"
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var e struct {
				Error struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("status %d body %s: %v", rec.Code, rec.Body, err)
			}
			if rec.Code != tc.status || e.Error.Code != tc.code {
				t.Fatalf("status %d code %q, want %d %q: %s", rec.Code, e.Error.Code, tc.status, tc.code, rec.Body)
			}
		})
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
