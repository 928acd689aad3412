// Package proof signs and verifies Custos decision proofs: a statement of a
// policy decision (the intent fingerprint, the policy hash, the outcome, its
// reasons and counters) signed with the coordinator's Ed25519 decision key.
// Anyone holding the published public key can check a proof offline.
//
// The signature covers a domain separator and the exact statement bytes, so
// a proof cannot be re-targeted at another statement, and verification
// refuses unknown keys, malformed files and trailing data.
package proof

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// Errors callers branch on.
var (
	ErrMalformed  = errors.New("proof: malformed proof")
	ErrUnknownKey = errors.New("proof: signed by an unknown key")
	ErrSignature  = errors.New("proof: signature does not verify")
)

const domain = "custos/decision-proof/v1\n"

// Algorithm is the only signature algorithm used.
const Algorithm = "ed25519"

// MaxSize bounds the size of a proof file.
const MaxSize = 1 << 20

// Proof is a signed statement. Statement holds the exact signed bytes.
type Proof struct {
	Statement json.RawMessage `json:"statement"`
	KeyID     string          `json:"key_id"`
	Algorithm string          `json:"algorithm"`
	Signature string          `json:"signature"` // base64 (standard, padded)
}

// PublicKey is a published verification key.
type PublicKey struct {
	KeyID     string `json:"key_id"`
	Algorithm string `json:"algorithm"`
	Use       string `json:"use"`
	PublicKey string `json:"public_key"` // base64
}

// KeyID returns the identifier of an Ed25519 public key: the first 8 bytes
// of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// Signer signs statements with a decision key.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner copies key into a Signer.
func NewSigner(key ed25519.PrivateKey) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("proof: decision key must be an Ed25519 private key")
	}
	k := append(ed25519.PrivateKey(nil), key...)
	return &Signer{key: k, id: KeyID(k.Public().(ed25519.PublicKey))}, nil
}

// PublicKey returns the published form of the signer's key.
func (s *Signer) PublicKey() PublicKey {
	return PublicKey{
		KeyID:     s.id,
		Algorithm: Algorithm,
		Use:       "decision",
		PublicKey: base64.StdEncoding.EncodeToString(s.key.Public().(ed25519.PublicKey)),
	}
}

// String and LogValue never reveal the key. They have value receivers so
// that a dereferenced Signer (fmt.Print(*s)) is redacted too.
func (s Signer) String() string       { return "proof.Signer{" + s.id + "}" }
func (s Signer) LogValue() slog.Value { return slog.StringValue(s.String()) }
func (s Signer) GoString() string     { return s.String() }
func (s Signer) MarshalJSON() ([]byte, error) {
	return json.Marshal(s.String())
}

// Sign marshals statement to JSON and signs it.
func (s *Signer) Sign(statement any) (*Proof, error) {
	b, err := json.Marshal(statement)
	if err != nil {
		return nil, fmt.Errorf("proof: encoding statement: %w", err)
	}
	if len(b) == 0 || b[0] != '{' {
		// Parse accepts only objects; refuse here rather than hand out a
		// proof nobody can parse.
		return nil, errors.New("proof: statement must encode to a JSON object")
	}
	sig := ed25519.Sign(s.key, signedBytes(b))
	return &Proof{
		Statement: b,
		KeyID:     s.id,
		Algorithm: Algorithm,
		Signature: base64.StdEncoding.EncodeToString(sig),
	}, nil
}

func signedBytes(statement []byte) []byte {
	return append([]byte(domain), statement...)
}

// Parse decodes a proof file strictly.
func Parse(data []byte) (*Proof, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxSize)
	}
	var p Proof
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	// dec.More reports false for a trailing '}' or ']'; only io.EOF means
	// nothing but white space follows the proof.
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data", ErrMalformed)
	}
	if p.Algorithm != Algorithm {
		return nil, fmt.Errorf("%w: algorithm %q is not %q", ErrMalformed, p.Algorithm, Algorithm)
	}
	if len(p.Statement) == 0 || p.Statement[0] != '{' {
		return nil, fmt.Errorf("%w: statement must be a JSON object", ErrMalformed)
	}
	// Sign writes the statement in encoding/json's compact form; any other
	// spelling (indented, re-spaced, unescaped '<') was not produced by Sign,
	// and would not survive re-encoding the proof, which compacts it.
	if c, err := json.Marshal(p.Statement); err != nil || !bytes.Equal(c, p.Statement) {
		return nil, fmt.Errorf("%w: statement is not in the compact form that was signed", ErrMalformed)
	}
	if len(p.KeyID) != 16 {
		return nil, fmt.Errorf("%w: key_id must be 16 hex characters", ErrMalformed)
	}
	return &p, nil
}

// ParseKeys decodes the key set served at GET /v1/keys ({"keys": [...]}).
func ParseKeys(data []byte) (map[string]ed25519.PublicKey, error) {
	var set struct {
		Keys []PublicKey `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("%w: key set: %v", ErrMalformed, err)
	}
	out := map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		if k.Algorithm != Algorithm {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(k.PublicKey)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: key %s is not a base64 Ed25519 public key", ErrMalformed, k.KeyID)
		}
		if KeyID(raw) != k.KeyID {
			return nil, fmt.Errorf("%w: key id %s does not match its key", ErrMalformed, k.KeyID)
		}
		out[k.KeyID] = raw
	}
	return out, nil
}

// Verify checks p against the trusted keys and returns the statement bytes.
func Verify(p *Proof, keys map[string]ed25519.PublicKey) ([]byte, error) {
	pub, ok := keys[p.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKey, p.KeyID)
	}
	sig, err := base64.StdEncoding.DecodeString(p.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature is not 64 bytes of base64", ErrMalformed)
	}
	if !ed25519.Verify(pub, signedBytes(p.Statement), sig) {
		return nil, ErrSignature
	}
	return append([]byte(nil), p.Statement...), nil
}
