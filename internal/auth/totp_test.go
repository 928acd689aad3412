package auth

import (
	"bytes"
	"crypto/rand"
	"errors"
	"image/png"
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890" and its
// 8-digit codes; the 6-digit codes are their last six digits.
func TestCheckTOTPRFC6238(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, tc := range []struct {
		unix int64
		code string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"},
		{1234567890, "005924"}, {2000000000, "279037"},
	} {
		now := time.Unix(tc.unix, 0)
		got, err := TOTPCode(secret, now)
		if err != nil || got != tc.code {
			t.Fatalf("TOTPCode at %d = %q, %v; want %q", tc.unix, got, err, tc.code)
		}
		step, err := CheckTOTP(secret, tc.code, now)
		if err != nil || step != TOTPStep(now) {
			t.Fatalf("CheckTOTP at %d: step %d, %v; want %d", tc.unix, step, err, TOTPStep(now))
		}
	}
}

func TestCheckTOTPDriftAndRefusals(t *testing.T) {
	secret := []byte("12345678901234567890")
	now := time.Unix(1234567890, 0)
	prev, _ := TOTPCode(secret, now.Add(-TOTPPeriod))
	next, _ := TOTPCode(secret, now.Add(TOTPPeriod))
	old, _ := TOTPCode(secret, now.Add(-2*TOTPPeriod))
	if step, err := CheckTOTP(secret, prev, now); err != nil || step != TOTPStep(now)-1 {
		t.Fatalf("previous step's code: %d, %v", step, err)
	}
	if step, err := CheckTOTP(secret, next, now); err != nil || step != TOTPStep(now)+1 {
		t.Fatalf("next step's code: %d, %v", step, err)
	}
	for name, code := range map[string]string{
		"two steps old": old, "empty": "", "five digits": "12345", "seven digits": "1234567",
		"letters": "12a456", "spaces": " 05924", "unicode digits": "٠٠٥٩٢٤",
	} {
		if _, err := CheckTOTP(secret, code, now); !errors.Is(err, ErrBadTOTP) {
			t.Errorf("%s (%q): %v, want ErrBadTOTP", name, code, err)
		}
	}
	if _, err := CheckTOTP(nil, "005924", now); !errors.Is(err, ErrBadTOTP) {
		t.Errorf("no secret: %v", err)
	}
}

func TestNewTOTP(t *testing.T) {
	e, err := NewTOTP("Custos", "alice", 200, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Secret) != 20 || !strings.HasPrefix(e.URL, "otpauth://totp/Custos:alice?") ||
		!strings.Contains(e.URL, "issuer=Custos") || !strings.Contains(e.URL, "digits=6") {
		t.Fatalf("enrolment: secret %d bytes, url %q", len(e.Secret), e.URL)
	}
	img, err := png.Decode(bytes.NewReader(e.QR))
	if err != nil || img.Bounds().Dx() != 200 {
		t.Fatalf("QR: %v, %v", err, img.Bounds())
	}
	code, _ := TOTPCode(e.Secret, time.Now())
	if _, err := CheckTOTP(e.Secret, code, time.Now()); err != nil {
		t.Fatalf("own code refused: %v", err)
	}
	if _, err := NewTOTP("Custos", "alice", 200, nil); err == nil {
		t.Fatal("nil random source accepted")
	}
}

func TestCSRFToken(t *testing.T) {
	a, b := "css_aaaa", "css_bbbb"
	if CSRFToken(a) == CSRFToken(b) || len(CSRFToken(a)) != 43 {
		t.Fatalf("tokens %q %q", CSRFToken(a), CSRFToken(b))
	}
	if !CheckCSRF(a, CSRFToken(a)) || CheckCSRF(a, CSRFToken(b)) || CheckCSRF(a, "") || CheckCSRF(a, CSRFToken(a)+"x") {
		t.Fatal("CheckCSRF accepts the wrong token or refuses the right one")
	}
}
