package auth

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"io"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters (RFC 6238 as every authenticator app reads it): HMAC-SHA1,
// 6 digits, 30-second steps, 160-bit secrets. A code is accepted for the
// current step and for one step on either side (clock drift), and each
// step at most once: callers record the step CheckTOTP returns and refuse
// any step not after the last one recorded.
const (
	TOTPPeriod     = 30 * time.Second
	totpSecretSize = 20
	totpSkew       = 1
)

// ErrBadTOTP: a code that is not six digits or does not match the secret
// within the allowed drift.
var ErrBadTOTP = errors.New("auth: wrong or expired one-time code")

var totpOpts = totp.ValidateOpts{Period: uint(TOTPPeriod / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPEnrolment is a new TOTP secret and how an authenticator app takes it.
// Secret is the raw secret, to be stored sealed; URL (otpauth://) and QR
// (a PNG of the URL) carry it too, so none of the three may be logged.
type TOTPEnrolment struct {
	Secret []byte
	URL    string
	QR     []byte
}

// NewTOTP makes a TOTP secret for account at issuer from rand, with its
// otpauth:// URL and a QR code of the URL (PNG, size pixels square).
func NewTOTP(issuer, account string, size int, rand io.Reader) (*TOTPEnrolment, error) {
	if rand == nil {
		return nil, errNilRand
	}
	secret := make([]byte, totpSecretSize)
	if err := readRandom(rand, secret); err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpOpts.Period,
		Secret: secret, Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
	if err != nil {
		return nil, fmt.Errorf("auth: totp: %w", err)
	}
	img, err := key.Image(size, size)
	if err != nil {
		return nil, fmt.Errorf("auth: totp qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("auth: totp qr: %w", err)
	}
	return &TOTPEnrolment{Secret: secret, URL: key.URL(), QR: buf.Bytes()}, nil
}

// TOTPStep is the time step that t falls in.
func TOTPStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// CheckTOTP checks code against secret at time now and returns the time
// step it matched. Every candidate step is computed and compared in
// constant time, so the answer's timing does not say which one matched.
func CheckTOTP(secret []byte, code string, now time.Time) (int64, error) {
	if len(code) != 6 || !allDigits(code) || len(secret) == 0 {
		return 0, ErrBadTOTP
	}
	b32 := TOTPSecretText(secret)
	cur := TOTPStep(now)
	var matched int64
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		want, err := totp.GenerateCodeCustom(b32, time.Unix(step*int64(TOTPPeriod/time.Second), 0), totpOpts)
		if err != nil {
			return 0, fmt.Errorf("auth: totp: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && matched == 0 {
			matched = step
		}
	}
	if matched == 0 {
		return 0, ErrBadTOTP
	}
	return matched, nil
}

// TOTPCode is the code for secret at time t (for tests and the demo's
// scripted sign-ins; a person reads it off their authenticator app).
func TOTPCode(secret []byte, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(TOTPSecretText(secret), t, totpOpts)
}

// TOTPSecretText is a TOTP secret as authenticator apps take it typed in:
// base32 without padding.
func TOTPSecretText(secret []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// CSRFToken is the anti-forgery token of a browser session: derived from
// the session token, which only the session's cookie carries (HttpOnly, so
// no script reads it), so a page on another origin cannot know it, and
// every coordinator replica computes the same one without storing it.
func CSRFToken(sessionToken string) string {
	h := sha256.Sum256([]byte("custos/csrf/v1\n" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// CheckCSRF compares a presented anti-forgery token with the session's in
// constant time.
func CheckCSRF(sessionToken, presented string) bool {
	want := CSRFToken(sessionToken)
	return len(presented) == len(want) && subtle.ConstantTimeCompare([]byte(want), []byte(presented)) == 1
}
