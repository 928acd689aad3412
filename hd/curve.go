package hd

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Curve selects the elliptic curve and the SLIP-10 master-key HMAC key.
// The zero value is not a valid curve.
type Curve int

// Curves defined by SLIP-10. Secp256k1 is BIP32.
const (
	Secp256k1  Curve = iota + 1 // BIP32 / SLIP-10 "Bitcoin seed"
	NIST256p1                   // SLIP-10 "Nist256p1 seed" (NIST P-256, secp256r1)
	Ed25519                     // SLIP-10 "ed25519 seed", hardened only
	Curve25519                  // SLIP-10 "curve25519 seed" (X25519), hardened only
)

// String returns the SLIP-10 curve name.
func (c Curve) String() string {
	switch c {
	case Secp256k1:
		return "secp256k1"
	case NIST256p1:
		return "nist256p1"
	case Ed25519:
		return "ed25519"
	case Curve25519:
		return "curve25519"
	}
	return fmt.Sprintf("Curve(%d)", int(c))
}

func (c Curve) valid() bool { return c >= Secp256k1 && c <= Curve25519 }

// hmacKey is the SLIP-10 master key generation key ("Curve" in the spec).
func (c Curve) hmacKey() []byte {
	switch c {
	case Secp256k1:
		return []byte("Bitcoin seed")
	case NIST256p1:
		return []byte("Nist256p1 seed")
	case Ed25519:
		return []byte("ed25519 seed")
	case Curve25519:
		return []byte("curve25519 seed")
	}
	return nil
}

// hardenedOnly reports whether the curve supports only hardened children.
func (c Curve) hardenedOnly() bool { return c == Ed25519 || c == Curve25519 }

// publicFromPrivate computes ser_P(point(k)) as defined by SLIP-10: the
// 33-byte compressed SEC1 point for the Weierstrass curves, 0x00 || the
// 32-byte public key for ed25519 and curve25519. ok is false when k is not a
// valid scalar (0 or >= n) for the Weierstrass curves.
func (c Curve) publicFromPrivate(k *[32]byte) (pub [33]byte, ok bool) {
	switch c {
	case Secp256k1:
		var s secp256k1.ModNScalar
		if overflow := s.SetBytes(k); overflow != 0 || s.IsZero() {
			s.Zero()
			return pub, false
		}
		priv := secp256k1.NewPrivateKey(&s)
		copy(pub[:], priv.PubKey().SerializeCompressed())
		priv.Zero()
		s.Zero()
		return pub, true
	case NIST256p1:
		priv, err := ecdh.P256().NewPrivateKey(k[:]) // rejects 0 and >= n
		if err != nil {
			return pub, false
		}
		u := priv.PublicKey().Bytes() // 0x04 || X || Y
		pub[0] = 0x02 | u[64]&1
		copy(pub[1:], u[1:33])
		return pub, true
	case Ed25519:
		sk := ed25519.NewKeyFromSeed(k[:])
		copy(pub[1:], sk[32:])
		clear(sk)
		return pub, true
	case Curve25519:
		priv, err := ecdh.X25519().NewPrivateKey(k[:])
		if err != nil {
			return pub, false
		}
		copy(pub[1:], priv.PublicKey().Bytes())
		return pub, true
	}
	return pub, false
}

// addPrivate returns parse256(il) + kpar mod n for the Weierstrass curves.
// ok is false when parse256(il) >= n or the sum is 0 (BIP32 / SLIP-10 step
// "resulting key is invalid"). Constant time in il and kpar.
func (c Curve) addPrivate(il []byte, kpar *[32]byte) (child [32]byte, ok bool) {
	switch c {
	case Secp256k1:
		var a, b secp256k1.ModNScalar
		overflow := a.SetByteSlice(il)
		b.SetBytes(kpar)
		a.Add(&b)
		zero := a.IsZero()
		a.PutBytes(&child)
		a.Zero()
		b.Zero()
		return child, !overflow && !zero
	case NIST256p1:
		a := scalarFromBytes(il)
		b := scalarFromBytes(kpar[:])
		lt := a.lessThan(&p256N)
		s := addModN(&a, &b, &p256N)
		nz := s.nonZero()
		child = s.bytes()
		clear(a[:])
		clear(b[:])
		clear(s[:])
		return child, lt&nz == 1
	}
	return child, false
}

// scalar256 is a 256-bit integer as four little-endian 64-bit limbs. It is
// used for NIST P-256 scalars mod n, which the standard library does not
// expose without deprecated crypto/elliptic big.Int paths.
type scalar256 [4]uint64

// p256N is the order of the NIST P-256 group.
var p256N = scalar256{0xf3b9cac2fc632551, 0xbce6faada7179e84, 0xffffffffffffffff, 0xffffffff00000000}

func scalarFromBytes(b []byte) scalar256 {
	var s scalar256
	for i := range 4 {
		s[i] = binary.BigEndian.Uint64(b[24-8*i:])
	}
	return s
}

func (s *scalar256) bytes() [32]byte {
	var b [32]byte
	for i := range 4 {
		binary.BigEndian.PutUint64(b[24-8*i:], s[i])
	}
	return b
}

// lessThan returns 1 if s < m, else 0, in constant time.
func (s *scalar256) lessThan(m *scalar256) uint64 {
	var borrow uint64
	for i := range 4 {
		_, borrow = bits.Sub64(s[i], m[i], borrow)
	}
	return borrow
}

// nonZero returns 1 if s != 0, else 0, in constant time.
func (s *scalar256) nonZero() uint64 {
	x := s[0] | s[1] | s[2] | s[3]
	return (x | -x) >> 63
}

// addModN returns (a + b) mod m for a, b < m, in constant time. (For a >= m
// the result is meaningless; callers reject that case with lessThan.)
func addModN(a, b, m *scalar256) scalar256 {
	var sum, diff scalar256
	var carry, borrow uint64
	for i := range 4 {
		sum[i], carry = bits.Add64(a[i], b[i], carry)
	}
	for i := range 4 {
		diff[i], borrow = bits.Sub64(sum[i], m[i], borrow)
	}
	// Use diff when the 257-bit sum is >= m: carry out, or no borrow.
	useDiff := carry | (borrow ^ 1)
	mask := -useDiff
	var r scalar256
	for i := range 4 {
		r[i] = diff[i]&mask | sum[i]&^mask
	}
	return r
}
