package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/webhook"
)

var (
	secret = []byte("cwh_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG")
	body   = []byte(`{"id":"e1","type":"transaction.sign"}`)
	sent   = time.Unix(1_800_000_000, 0)
)

// reference is the signature computed from the documentation alone.
func reference(ts string, b []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "." + string(b)))
	return hex.EncodeToString(m.Sum(nil))
}

func TestSignFollowsTheDocumentedFormat(t *testing.T) {
	got := webhook.Sign(secret, sent, body)
	if want := "t=1800000000,v1=" + reference("1800000000", body); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	good := webhook.Sign(secret, sent, body)
	v1 := "v1=" + reference("1800000000", body)
	other := "v1=" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
		secret []byte
		now    time.Time
		tol    time.Duration
		want   error
	}{
		{name: "ok", header: good},
		{name: "ok/at_the_tolerance_after", header: good, now: sent.Add(webhook.DefaultTolerance)},
		{name: "ok/at_the_tolerance_before", header: good, now: sent.Add(-webhook.DefaultTolerance)},
		{name: "ok/custom_tolerance", header: good, now: sent.Add(time.Hour), tol: 2 * time.Hour},
		{name: "ok/second_signature_matches", header: "t=1800000000," + other + "," + v1},
		{name: "ok/unknown_items_ignored", header: "t=1800000000,v0=zz," + v1},
		{name: "ok/upper_case_hex", header: "t=1800000000,v1=" + strings.ToUpper(reference("1800000000", body))},
		{name: "fail/too_old", header: good, now: sent.Add(webhook.DefaultTolerance + time.Second), want: webhook.ErrTimestamp},
		{name: "fail/from_the_future", header: good, now: sent.Add(-webhook.DefaultTolerance - time.Second), want: webhook.ErrTimestamp},
		{name: "fail/custom_tolerance", header: good, now: sent.Add(2 * time.Second), tol: time.Second, want: webhook.ErrTimestamp},
		{name: "fail/other_body", header: good, body: []byte(`{"id":"e2"}`), want: webhook.ErrBadSignature},
		{name: "fail/other_secret", header: good, secret: []byte("cwh_other"), want: webhook.ErrBadSignature},
		{name: "fail/timestamp_changed", header: "t=1800000001," + v1, want: webhook.ErrBadSignature},
		{name: "fail/only_other_signatures", header: "t=1800000000," + other, want: webhook.ErrBadSignature},
		{name: "fail/empty", header: "", want: webhook.ErrMalformedHeader},
		{name: "fail/no_timestamp", header: v1, want: webhook.ErrMalformedHeader},
		{name: "fail/no_signature", header: "t=1800000000", want: webhook.ErrMalformedHeader},
		{name: "fail/two_timestamps", header: "t=1800000000,t=1800000000," + v1, want: webhook.ErrMalformedHeader},
		{name: "fail/signed_timestamp", header: "t=+1800000000," + v1, want: webhook.ErrMalformedHeader},
		{name: "fail/negative_timestamp", header: "t=-1," + v1, want: webhook.ErrMalformedHeader},
		{name: "fail/timestamp_too_long", header: "t=" + strings.Repeat("9", 19) + "," + v1, want: webhook.ErrMalformedHeader},
		{name: "fail/short_signature", header: "t=1800000000," + v1[:len(v1)-2], want: webhook.ErrMalformedHeader},
		{name: "fail/not_hex", header: "t=1800000000,v1=" + strings.Repeat("zz", 32), want: webhook.ErrMalformedHeader},
		{name: "fail/space_after_comma", header: "t=1800000000, " + v1, want: webhook.ErrMalformedHeader},
		{name: "fail/item_without_value", header: "t=1800000000," + v1 + ",v1", want: webhook.ErrMalformedHeader},
		{name: "fail/trailing_comma", header: good + ",", want: webhook.ErrMalformedHeader},
		{name: "fail/too_long", header: good + strings.Repeat(",x=y", webhook.MaxHeaderSize/4), want: webhook.ErrMalformedHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, key, now := body, secret, sent
			if tc.body != nil {
				b = tc.body
			}
			if tc.secret != nil {
				key = tc.secret
			}
			if !tc.now.IsZero() {
				now = tc.now
			}
			err := webhook.Verify(key, tc.header, b, now, tc.tol)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify(%q) = %v, want %v", tc.header, err, tc.want)
			}
		})
	}
}
