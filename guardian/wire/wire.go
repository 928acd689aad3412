// Package wire is the protocol between the coordinator and its guardians:
// signed envelopes and the bodies they carry. Both ends import it; it
// imports neither.
//
// Every message is an Envelope signed with the sender's Ed25519 identity
// key (pinned by the other side at enrolment) over its kind, session,
// round, sender, recipient, issue time, the digest of the request it
// answers, and its body. A receiver checks the signature, that it is the
// recipient, that the message is fresh, and that kind, session and round
// are what it expects, so nothing replays into another session, round or
// guardian.
package wire

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version of the envelope format.
const Version = 1

// CoordinatorID is the sender/recipient name of the coordinator.
const CoordinatorID = "coordinator"

// MaxSkew bounds how far an envelope's IssuedAt may be from the receiver's
// clock.
const MaxSkew = 2 * time.Minute

// MaxBody bounds an envelope's body.
const MaxBody = 4 << 20

// Message kinds. Requests go from the coordinator to a guardian; the
// guardian answers with the same kind (or KindError).
const (
	KindHealth      = "health"
	KindCommit      = "sign.commit"       // precomputed commitments for a key
	KindPrepare     = "sign.prepare"      // round 1 of a signature: check everything, reserve the commitment
	KindSign        = "sign.share"        // round 2: release the signature share
	KindDKGStart    = "dkg.start"         // DKG round 1
	KindDKGConfirm  = "dkg.confirm"       // echo of the round-1 set: the transcript hash
	KindDKGShares   = "dkg.shares"        // DKG round 2: encrypted shares
	KindDKGFinalize = "dkg.finalize"      // key share computed: completion statement
	KindDKGActivate = "dkg.activate"      // completion certificate and test signature: key active
	KindDKGAbort    = "dkg.abort"         // forget a failed ceremony
	KindGovernance  = "governance.update" // an approved governance request
	KindError       = "error"
)

// Envelope is one authenticated message.
type Envelope struct {
	Version   int             `json:"v"`
	Kind      string          `json:"kind"`
	Session   string          `json:"session"`
	Round     int             `json:"round"`
	From      string          `json:"from"`
	To        string          `json:"to"`
	IssuedAt  int64           `json:"issued_at"`          // Unix milliseconds
	ReplyTo   []byte          `json:"reply_to,omitempty"` // Digest of the request this answers
	Body      json.RawMessage `json:"body"`
	Signature []byte          `json:"sig"`
}

// Errors from Verify.
var (
	ErrMalformed = errors.New("wire: malformed envelope")
	ErrSignature = errors.New("wire: envelope signature does not verify")
	ErrMisrouted = errors.New("wire: envelope is not for this recipient, session or round")
	ErrStale     = errors.New("wire: envelope is not fresh")
)

const domain = "custos/guardian-envelope/v1\x00"

// Digest is the SHA-256 over the signed fields of e.
func (e *Envelope) Digest() [32]byte {
	h := sha256.New()
	h.Write([]byte(domain))
	var n [8]byte
	lp := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	binary.BigEndian.PutUint64(n[:], uint64(e.Version))
	h.Write(n[:])
	lp([]byte(e.Kind))
	lp([]byte(e.Session))
	binary.BigEndian.PutUint64(n[:], uint64(e.Round))
	h.Write(n[:])
	lp([]byte(e.From))
	lp([]byte(e.To))
	binary.BigEndian.PutUint64(n[:], uint64(e.IssuedAt))
	h.Write(n[:])
	lp(e.ReplyTo)
	lp(e.Body)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// New builds and signs an envelope carrying body.
func New(key ed25519.PrivateKey, kind, session string, round int, from, to string, replyTo []byte, body any, now time.Time) (*Envelope, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("wire: encoding %s body: %w", kind, err)
	}
	e := &Envelope{Version: Version, Kind: kind, Session: session, Round: round, From: from, To: to,
		IssuedAt: now.UnixMilli(), ReplyTo: replyTo, Body: b}
	d := e.Digest()
	e.Signature = ed25519.Sign(key, d[:])
	return e, nil
}

// Expect is what a receiver requires of an envelope.
type Expect struct {
	Kind    string // empty: any
	Session string // empty: any
	Round   int    // 0: any
	From    string
	To      string
	ReplyTo []byte    // when set, the envelope must answer exactly this digest
	Now     time.Time // zero: skip the freshness check
}

// Verify checks e's signature with pub and its routing against want.
func (e *Envelope) Verify(pub ed25519.PublicKey, want Expect) error {
	if e == nil || e.Version != Version || len(e.Body) > MaxBody || len(e.Body) == 0 {
		return ErrMalformed
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: no pinned key for %q", ErrSignature, e.From)
	}
	d := e.Digest()
	if len(e.Signature) != ed25519.SignatureSize || !ed25519.Verify(pub, d[:], e.Signature) {
		return ErrSignature
	}
	switch {
	case e.From != want.From, e.To != want.To:
		return fmt.Errorf("%w: from %q to %q", ErrMisrouted, e.From, e.To)
	case want.Kind != "" && e.Kind != want.Kind:
		return fmt.Errorf("%w: kind %q, want %q", ErrMisrouted, e.Kind, want.Kind)
	case want.Session != "" && e.Session != want.Session:
		return fmt.Errorf("%w: session %q", ErrMisrouted, e.Session)
	case want.Round != 0 && e.Round != want.Round:
		return fmt.Errorf("%w: round %d, want %d", ErrMisrouted, e.Round, want.Round)
	case want.ReplyTo != nil && !bytes.Equal(e.ReplyTo, want.ReplyTo):
		return fmt.Errorf("%w: answers another request", ErrMisrouted)
	}
	if !want.Now.IsZero() {
		at := time.UnixMilli(e.IssuedAt)
		if at.Before(want.Now.Add(-MaxSkew)) || at.After(want.Now.Add(MaxSkew)) {
			return fmt.Errorf("%w: issued %s", ErrStale, at.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// Decode unmarshals e's body strictly into v.
func (e *Envelope) Decode(v any) error {
	dec := json.NewDecoder(bytes.NewReader(e.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s body: %v", ErrMalformed, e.Kind, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data in %s body", ErrMalformed, e.Kind)
	}
	return nil
}

// ParseEnvelope decodes an envelope from untrusted bytes.
func ParseEnvelope(b []byte) (*Envelope, error) {
	var e Envelope
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() || e.Version != Version || e.Kind == "" || len(e.Body) == 0 || len(e.Body) > MaxBody {
		return nil, ErrMalformed
	}
	return &e, nil
}

func sumDomain(domain string, b []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write(b)
	var d [32]byte
	h.Sum(d[:0])
	return d
}
