// Package frost is Custos' use of FROST threshold Schnorr signatures
// (RFC 9591): the ciphersuites it supports, validated decoding of every
// element and scalar that arrives from another party, and the signer and
// aggregator built on github.com/bytemare/frost.
//
// bytemare/frost is not safe for concurrent use (it keeps one hasher per
// ciphersuite for the whole process), so every call into it from this
// package holds one process-wide lock. Nothing outside this package may
// import bytemare/frost.
//
// bytemare/ecc's Edwards25519 decoding accepts non-canonical encodings and
// points outside the prime-order subgroup. DecodeElement re-encodes and
// checks the subgroup itself; callers must decode every received element
// through it.
package frost

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"filippo.io/edwards25519"
	"github.com/bytemare/ecc"

	"github.com/custos-dev/custos/internal/seen"
)

// Suite is a FROST ciphersuite.
type Suite byte

// Supported ciphersuites.
const (
	// Ed25519 is FROST(Ed25519, SHA-512): its signatures are standard
	// RFC 8032 Ed25519 signatures (R || z, 64 bytes).
	Ed25519 Suite = Suite(ecc.Edwards25519Sha512)
	// Secp256k1 is FROST(secp256k1, SHA-256) as RFC 9591 defines it (not
	// BIP340): R compressed (33 bytes) || z (32 bytes).
	Secp256k1 Suite = Suite(ecc.Secp256k1Sha256)
)

// Errors returned when decoding received values.
var (
	ErrUnknownSuite = errors.New("frost: unknown ciphersuite")
	ErrElement      = errors.New("frost: invalid group element")
	ErrScalar       = errors.New("frost: invalid scalar")
)

// mu serialises every call into bytemare/frost and bytemare/ecc hashing:
// bytemare keeps one hasher per ciphersuite for the whole process.
var mu sync.Mutex

// ParseSuite returns the suite for a wallet curve name ("ed25519" or
// "secp256k1").
func ParseSuite(curve string) (Suite, error) {
	switch curve {
	case "ed25519":
		return Ed25519, nil
	case "secp256k1":
		return Secp256k1, nil
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownSuite, curve)
}

// Valid reports whether s is a supported suite.
func (s Suite) Valid() bool { return s == Ed25519 || s == Secp256k1 }

// Curve is the wallet curve name of s.
func (s Suite) Curve() string {
	switch s {
	case Ed25519:
		return "ed25519"
	case Secp256k1:
		return "secp256k1"
	}
	return "unknown"
}

func (s Suite) String() string { return "FROST(" + s.Curve() + ")" }

// Group is the prime-order group of s.
func (s Suite) Group() ecc.Group { return ecc.Group(s) }

// ElementLength is the encoded size of a group element in s (0 if s is not
// a supported suite).
func (s Suite) ElementLength() int {
	if !s.Valid() {
		return 0
	}
	return s.Group().ElementLength()
}

// ScalarLength is the encoded size of a scalar in s (0 if s is not a
// supported suite).
func (s Suite) ScalarLength() int {
	if !s.Valid() {
		return 0
	}
	return s.Group().ScalarLength()
}

// edwardsLMinusOne is L-1, the largest canonical Ed25519 scalar: a point P
// is in the prime-order subgroup iff [L-1]P = -P.
var edwardsLMinusOne = func() *edwards25519.Scalar {
	b := []byte{
		0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
	}
	sc, err := edwards25519.NewScalar().SetCanonicalBytes(b)
	if err != nil {
		panic(err)
	}
	return sc
}()

// checkedEd25519 remembers Ed25519 encodings that passed the checks in
// DecodeElement (exact canonical encoding, not the identity, prime order):
// the checks are a function of the 32 bytes alone, and a commitment is
// decoded several times in one signing (when the coordinator receives it,
// in both signing rounds, in the aggregation), the subgroup check being
// most of the cost of a decode.
var checkedEd25519 = seen.New(1 << 15)

// DecodeElement decodes a group element received from another party: the
// exact canonical encoding, not the identity, and (Ed25519) in the
// prime-order subgroup.
func (s Suite) DecodeElement(b []byte) (*ecc.Element, error) {
	if !s.Valid() {
		return nil, ErrUnknownSuite
	}
	if len(b) != s.ElementLength() {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrElement, len(b), s.ElementLength())
	}
	checked := s == Ed25519 && checkedEd25519.Has([32]byte(b))
	if s == Ed25519 && !checked {
		p, err := new(edwards25519.Point).SetBytes(b)
		if err != nil {
			return nil, fmt.Errorf("%w: not a point", ErrElement)
		}
		if !bytes.Equal(p.Bytes(), b) {
			return nil, fmt.Errorf("%w: non-canonical encoding", ErrElement)
		}
		if p.Equal(edwards25519.NewIdentityPoint()) == 1 {
			return nil, fmt.Errorf("%w: identity", ErrElement)
		}
		// Received elements are public: a variable-time multiplication is
		// fine and about twice as fast.
		q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(edwardsLMinusOne, p, edwards25519.NewScalar())
		if q.Equal(new(edwards25519.Point).Negate(p)) != 1 {
			return nil, fmt.Errorf("%w: not in the prime-order subgroup", ErrElement)
		}
		checkedEd25519.Add([32]byte(b))
	}
	e := s.Group().NewElement()
	if err := e.Decode(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrElement, err)
	}
	if checked {
		// Passed every check below before, and the checks above.
		return e, nil
	}
	if e.IsIdentity() {
		return nil, fmt.Errorf("%w: identity", ErrElement)
	}
	if !bytes.Equal(e.Encode(), b) {
		return nil, fmt.Errorf("%w: non-canonical encoding", ErrElement)
	}
	return e, nil
}

// DecodeScalar decodes a scalar received from another party: exactly
// ScalarLength bytes, canonical (less than the group order). Zero is
// accepted; callers that must refuse it check IsZero.
func (s Suite) DecodeScalar(b []byte) (*ecc.Scalar, error) {
	if !s.Valid() {
		return nil, ErrUnknownSuite
	}
	if len(b) != s.ScalarLength() {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrScalar, len(b), s.ScalarLength())
	}
	sc := s.Group().NewScalar()
	if err := sc.Decode(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrScalar, err)
	}
	if !bytes.Equal(sc.Encode(), b) {
		return nil, fmt.Errorf("%w: non-canonical encoding", ErrScalar)
	}
	return sc, nil
}

// HashToScalar hashes input to a scalar of s under a domain separation
// tag, holding the package lock (bytemare's hashers are shared).
func (s Suite) HashToScalar(input, dst []byte) (*ecc.Scalar, error) {
	mu.Lock()
	defer mu.Unlock()
	return s.Group().HashToScalar(input, dst)
}
