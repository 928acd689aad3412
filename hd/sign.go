package hd

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// Sign signs msg with k's private key.
//
//   - ed25519: a pure Ed25519 signature (RFC 8032) over msg, 64 bytes;
//     crypto/ed25519.Verify(k.Ed25519PublicKey(), msg, sig) accepts it.
//   - secp256k1: ECDSA over SHA-256(msg) with the RFC 6979 deterministic
//     nonce, S normalised to the lower half of the order (BIP 62/146
//     "low S"), returned as 64 bytes r || s, each 32-byte big-endian (not
//     DER). Blockchains that hash differently (Ethereum's Keccak-256,
//     Bitcoin's double SHA-256 sighash) must use SignDigest.
//   - nist256p1, curve25519: ErrUnsupported.
//
// ErrNotPrivate for a public key.
func (k ExtendedKey) Sign(msg []byte) ([]byte, error) {
	s, err := k.state()
	if err != nil {
		return nil, err
	}
	if !s.private {
		return nil, ErrNotPrivate
	}
	switch s.curve {
	case Ed25519:
		sk := ed25519.NewKeyFromSeed(s.priv[:])
		defer clear(sk)
		return ed25519.Sign(sk, msg), nil
	case Secp256k1:
		h := sha256.Sum256(msg)
		return s.signSecp256k1(h[:]), nil
	}
	return nil, fmt.Errorf("%w: Sign on %v", ErrUnsupported, s.curve)
}

// SignDigest signs a 32-byte digest computed by the caller with secp256k1
// ECDSA: RFC 6979 deterministic nonce, low S, 64 bytes r || s. The digest
// is used as is (no hashing). secp256k1 private keys only.
func (k ExtendedKey) SignDigest(digest []byte) ([]byte, error) {
	s, err := k.state()
	if err != nil {
		return nil, err
	}
	if !s.private {
		return nil, ErrNotPrivate
	}
	if s.curve != Secp256k1 {
		return nil, fmt.Errorf("%w: SignDigest on %v", ErrUnsupported, s.curve)
	}
	if len(digest) != 32 {
		return nil, fmt.Errorf("%w: got %d", ErrInvalidDigest, len(digest))
	}
	return s.signSecp256k1(digest), nil
}

func (s *keyState) signSecp256k1(digest []byte) []byte {
	var d secp256k1.ModNScalar
	d.SetBytes(&s.priv)
	priv := secp256k1.NewPrivateKey(&d)
	defer priv.Zero()
	d.Zero()
	// decred's ecdsa.Sign uses RFC 6979 nonces and returns canonical low-S
	// signatures (BIP 62).
	sig := ecdsa.Sign(priv, digest)
	r, sv := sig.R(), sig.S()
	out := make([]byte, 64)
	r.PutBytesUnchecked(out[:32])
	sv.PutBytesUnchecked(out[32:])
	return out
}

// VerifySecp256k1 reports whether sig (64 bytes r || s) is a valid
// secp256k1 ECDSA signature of SHA-256(msg) under pubCompressed (33-byte
// compressed SEC1 key), as produced by Sign. It is strict: r and s must be
// in 1..n-1 and s must be in the lower half (high-S signatures, which Sign
// never produces, are rejected as malleated).
func VerifySecp256k1(pubCompressed, msg, sig []byte) bool {
	h := sha256.Sum256(msg)
	return VerifySecp256k1Digest(pubCompressed, h[:], sig)
}

// VerifySecp256k1Digest is VerifySecp256k1 for a 32-byte digest that the
// caller computed (the counterpart of SignDigest).
func VerifySecp256k1Digest(pubCompressed, digest, sig []byte) bool {
	if len(pubCompressed) != 33 || len(sig) != 64 || len(digest) != 32 {
		return false
	}
	pub, err := secp256k1.ParsePubKey(pubCompressed)
	if err != nil {
		return false
	}
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) {
		return false // >= n
	}
	if r.IsZero() || s.IsZero() || s.IsOverHalfOrder() {
		return false
	}
	return ecdsa.NewSignature(&r, &s).Verify(digest, pub)
}
