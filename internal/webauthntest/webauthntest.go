// Package webauthntest is a software WebAuthn authenticator for tests: it
// answers registration options as a browser with a platform authenticator
// would (attestation "none", ES256) and makes assertions over a challenge.
// It stands in for a person's passkey where no browser runs; the browser
// tests use Chromium's virtual authenticator instead.
package webauthntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/custos-dev/custos/approvals"
)

// Authenticator holds one ES256 credential for one origin.
type Authenticator struct {
	Origin string // e.g. "http://localhost:8080"
	RPID   string // e.g. "localhost"
	ID     []byte // credential id
	key    *ecdsa.PrivateKey
	count  uint32
	// Flags are the authenticator data flags of assertions (default user
	// present and verified).
	Flags byte
}

// Authenticator data flags.
const (
	FlagUP = 0x01 // user present
	FlagUV = 0x04 // user verified
	flagAT = 0x40 // attested credential data included
)

// New returns an authenticator with a fresh credential.
func New(origin, rpID string) *Authenticator {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &Authenticator{Origin: origin, RPID: rpID, ID: id, key: key, Flags: FlagUP | FlagUV}
}

// COSEKey is the credential's public key as a COSE_Key (EC2, ES256, P-256),
// in canonical CBOR.
func (a *Authenticator) COSEKey() []byte {
	x, y := make([]byte, 32), make([]byte, 32)
	a.key.PublicKey.X.FillBytes(x)
	a.key.PublicKey.Y.FillBytes(y)
	var b []byte
	b = append(b, 0xa5)       // map(5)
	b = append(b, 0x01, 0x02) // kty: EC2
	b = append(b, 0x03, 0x26) // alg: ES256 (-7)
	b = append(b, 0x20, 0x01) // crv: P-256
	b = append(b, 0x21, 0x58, 0x20)
	b = append(b, x...)
	b = append(b, 0x22, 0x58, 0x20)
	return append(b, y...)
}

// Passkey is the credential as the approvals package records it.
func (a *Authenticator) Passkey() approvals.Passkey {
	return approvals.Passkey{ID: a.ID, PublicKey: a.COSEKey(), RPID: a.RPID, Origins: []string{a.Origin}}
}

var b64 = base64.RawURLEncoding

// Register answers the options of navigator.credentials.create (the JSON
// a relying party sends, {"publicKey": {...}}) with the
// PublicKeyCredential a browser would post back, as JSON.
func (a *Authenticator) Register(options []byte) ([]byte, error) {
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RP        struct {
				ID string `json:"id"`
			} `json:"rp"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("webauthntest: options: %w", err)
	}
	if o.PublicKey.RP.ID != a.RPID {
		return nil, fmt.Errorf("webauthntest: options for relying party %q, not %q", o.PublicKey.RP.ID, a.RPID)
	}
	clientData, _ := json.Marshal(map[string]any{"type": "webauthn.create", "challenge": o.PublicKey.Challenge, "origin": a.Origin, "crossOrigin": false})
	auth := a.authData(a.Flags | flagAT)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(a.ID)))
	auth = append(auth, a.ID...)
	auth = append(auth, a.COSEKey()...)
	var att []byte
	att = append(att, 0xa3) // map(3): fmt, attStmt, authData (canonical order)
	att = append(att, 0x63, 'f', 'm', 't', 0x64, 'n', 'o', 'n', 'e')
	att = append(att, 0x67)
	att = append(att, "attStmt"...)
	att = append(att, 0xa0)
	att = append(att, 0x68)
	att = append(att, "authData"...)
	att = append(att, cborBytesHead(len(auth))...)
	att = append(att, auth...)
	return json.Marshal(map[string]any{
		"id":    b64.EncodeToString(a.ID),
		"rawId": b64.EncodeToString(a.ID),
		"type":  "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults":  map[string]any{},
		"authenticatorAttachment": "platform",
	})
}

// Assert signs challenge as navigator.credentials.get would.
func (a *Authenticator) Assert(challenge []byte) approvals.Assertion {
	clientData, _ := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": b64.EncodeToString(challenge), "origin": a.Origin, "crossOrigin": false})
	auth := a.authData(a.Flags)
	h := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte{}, auth...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		panic(err)
	}
	return approvals.Assertion{CredentialID: a.ID, AuthenticatorData: auth, ClientDataJSON: clientData, Signature: sig}
}

// Approve makes the assertion of a decision on binding b.
func (a *Authenticator) Approve(b approvals.Binding, decision string) approvals.Assertion {
	return a.Assert(approvals.Challenge(b, decision))
}

func (a *Authenticator) authData(flags byte) []byte {
	rp := sha256.Sum256([]byte(a.RPID))
	a.count++
	out := append(rp[:], flags)
	return binary.BigEndian.AppendUint32(out, a.count)
}

func cborBytesHead(n int) []byte {
	switch {
	case n < 24:
		return []byte{0x40 | byte(n)}
	case n < 256:
		return []byte{0x58, byte(n)}
	}
	return []byte{0x59, byte(n >> 8), byte(n)}
}
