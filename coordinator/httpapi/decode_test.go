package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/coordinator"
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

func TestClientAddressIgnoresForwardedHeaderByDefault(t *testing.T) {
	for _, trust := range []bool{false, true} {
		e := echo.New()
		e.IPExtractor = echo.ExtractIPDirect()
		if trust {
			e.IPExtractor = echo.ExtractIPFromXFFHeader()
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = "127.0.0.1:1234" // a local reverse proxy
		req.Header.Set("X-Forwarded-For", "10.9.9.9")
		c := e.NewContext(req, httptest.NewRecorder())
		want := "127.0.0.1"
		if trust {
			want = "10.9.9.9"
		}
		if got := c.RealIP(); got != want {
			t.Errorf("trust=%v: RealIP %s, want %s", trust, got, want)
		}
	}
}
