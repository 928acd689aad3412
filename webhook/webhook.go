// Package webhook defines the deliveries Custos makes to webhook endpoints
// and the signature that lets a receiver trust them. API clients use it to
// verify what they receive; the coordinator uses it to sign what it sends.
//
// A delivery is an HTTP POST whose body is one JSON Event, with the headers
//
//	Content-Type: application/json
//	Custos-Event-Id: <Event.ID>
//	Custos-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>
//
// where secret is the webhook's signing secret exactly as it was shown at
// creation (its bytes, the "cwh_" prefix included) and body is the raw
// request body, byte for byte, before any JSON decoding.
//
// Guarantees: Verify accepts a delivery only if one of the header's v1
// values is the HMAC of this body under this secret (compared in constant
// time) and its timestamp is within the tolerance of now, so a captured
// delivery cannot be replayed later. Deliveries are at least once: a
// receiver may see an event again (after a timeout, or a restart of the
// coordinator) and should ignore an Event.ID it has processed already.
//
// Verify refuses a header longer than MaxHeaderSize, one that is not a
// comma-separated list of key=value items, one without exactly one t, a t
// that is not a decimal number of seconds, a v1 that is not 64 hex digits,
// and one without any v1. Items with other keys are ignored, so that a
// later signature scheme can be sent alongside v1.
//
// The package holds no state, reads no environment and does not log.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every webhook signing secret.
const SecretPrefix = "cwh_"

// Header names.
const (
	SignatureHeader = "Custos-Signature"
	EventIDHeader   = "Custos-Event-Id"
)

// DefaultTolerance is how far a delivery's timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// MaxHeaderSize bounds the signature header Verify parses.
const MaxHeaderSize = 4096

// Errors Verify returns; callers branch on them with errors.Is.
var (
	ErrMalformedHeader = errors.New("webhook: malformed signature header")
	ErrBadSignature    = errors.New("webhook: no valid signature for this body")
	ErrTimestamp       = errors.New("webhook: signature timestamp outside the tolerance")
)

// Event is the body of a delivery: one event of the coordinator's audit
// log, as it was recorded.
type Event struct {
	// ID is the audit event's id: the same on every retry of a delivery.
	ID string `json:"id"`
	// Type is the audit action, e.g. "transaction.sign", "request.approved".
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	// Target is what the event is about, e.g. "transaction:<id>".
	Target string `json:"target"`
	// Result is "success", "failure" or "denied".
	Result string            `json:"result"`
	Meta   map[string]string `json:"meta"`
	// AuditSeq and AuditHash place the event in the hash-chained audit
	// log (the hash in hex), where an auditor can find it.
	AuditSeq  int64  `json:"audit_seq"`
	AuditHash string `json:"audit_hash"`
}

// Sign returns the Custos-Signature header value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// Verify checks header, a Custos-Signature value, against body and secret:
// nil if one of its v1 signatures is right and its timestamp is within
// tolerance of now (tolerance <= 0 means DefaultTolerance). Otherwise it
// returns ErrMalformedHeader, ErrBadSignature or ErrTimestamp.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, sigs, err := parseHeader(header)
	if err != nil {
		return err
	}
	want := mac(secret, ts, body)
	ok := false
	for _, sig := range sigs {
		// Every candidate is compared, so the time taken does not tell
		// which one matched.
		if hmac.Equal(sig, want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	sec, _ := strconv.ParseInt(ts, 10, 64) // checked by parseHeader
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	return nil
}

// mac is HMAC-SHA256(secret, ts + "." + body).
func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// parseHeader splits a signature header into its timestamp (decimal
// digits, as sent) and its v1 signatures (32 bytes each).
func parseHeader(header string) (ts string, sigs [][]byte, err error) {
	if len(header) > MaxHeaderSize {
		return "", nil, ErrMalformedHeader
	}
	seenT := false
	for item := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(item, "=")
		if !ok || k == "" {
			return "", nil, ErrMalformedHeader
		}
		switch k {
		case "t":
			if seenT || !validTimestamp(v) {
				return "", nil, ErrMalformedHeader
			}
			ts, seenT = v, true
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return "", nil, ErrMalformedHeader
			}
			sigs = append(sigs, sig)
		}
	}
	if !seenT || len(sigs) == 0 {
		return "", nil, ErrMalformedHeader
	}
	return ts, sigs, nil
}

// validTimestamp accepts 1 to 18 decimal digits: unix seconds that fit an
// int64 however they are written.
func validTimestamp(s string) bool {
	if len(s) == 0 || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
