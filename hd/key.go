package hd

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // BIP32 fingerprints are defined with RIPEMD-160.
)

// ExtendedKey is a BIP32 / SLIP-10 extended key: a private or public key,
// its chain code, and its position in the tree (depth, parent fingerprint,
// child index).
//
// All fields are unexported. The private key and the chain code are never
// printed: String, GoString, Format (every fmt verb), LogValue and
// MarshalJSON show only the curve, the position, the fingerprint and the
// public key. Copies of an ExtendedKey value share one key state, so Zero
// wipes all copies. An ExtendedKey is safe for concurrent use, except that
// Zero must not run concurrently with other methods.
//
// The zero ExtendedKey is unusable; its methods return ErrZeroed.
type ExtendedKey struct {
	s *keyState
}

type keyState struct {
	curve    Curve
	depth    uint8
	parentFP [4]byte
	index    uint32
	chain    [32]byte
	private  bool
	priv     [32]byte // ser256(k) for private keys, zero for public keys
	pub      [33]byte // ser_P(K) per SLIP-10
	zeroed   bool
}

// state returns the key state, or ErrZeroed.
func (k ExtendedKey) state() (*keyState, error) {
	if k.s == nil || k.s.zeroed {
		return nil, ErrZeroed
	}
	return k.s, nil
}

// NewMasterKey derives the master extended private key for curve from seed
// (16 to 64 bytes, typically the 64-byte output of SeedFromMnemonic).
//
// I = HMAC-SHA512(key, seed) with key "Bitcoin seed" (secp256k1),
// "Nist256p1 seed", "ed25519 seed" or "curve25519 seed"; the private key is
// I[:32] and the chain code I[32:]. For secp256k1 an I[:32] of 0 or >= n is
// rejected with ErrInvalidSeed as BIP32 specifies (probability < 2^-127);
// for nist256p1 the SLIP-10 retry (seed := I) is applied.
func NewMasterKey(seed []byte, curve Curve) (*ExtendedKey, error) {
	if !curve.valid() {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedCurve, curve)
	}
	if len(seed) < 16 || len(seed) > 64 {
		return nil, fmt.Errorf("%w: %d bytes, want 16 to 64", ErrInvalidSeed, len(seed))
	}
	I := hmacSHA512(curve.hmacKey(), seed)
	defer clear(I)
	for range maxRetries {
		s := &keyState{curve: curve, private: true}
		copy(s.priv[:], I[:32])
		copy(s.chain[:], I[32:])
		if pub, ok := curve.publicFromPrivate(&s.priv); ok {
			s.pub = pub
			return &ExtendedKey{s: s}, nil
		}
		clear(s.priv[:])
		clear(s.chain[:])
		if curve != NIST256p1 {
			return nil, fmt.Errorf("%w: seed yields an invalid master key (BIP32), use another seed", ErrInvalidSeed)
		}
		next := hmacSHA512(curve.hmacKey(), I) // SLIP-10: S := I, restart
		copy(I, next)
		clear(next)
	}
	return nil, fmt.Errorf("%w: no valid master key after %d retries", ErrInvalidSeed, maxRetries)
}

// maxRetries bounds the SLIP-10 nist256p1 retry loops. Each retry happens
// with probability about 2^-32, so the bound is never reached in practice;
// it only guarantees termination.
const maxRetries = 64

func hmacSHA512(key []byte, data ...[]byte) []byte {
	m := hmac.New(sha512.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

func ser32(i uint32) []byte { return binary.BigEndian.AppendUint32(nil, i) }

// Derive returns the child at index (add Hardened for a hardened child).
//
//   - secp256k1 (BIP32): private parents derive hardened and normal
//     children, public parents normal children only (ErrHardenedFromPublic).
//     If the child at index is invalid (I_L >= n or a zero key / point at
//     infinity, probability < 2^-127), BIP32 says to proceed with the next
//     index: Derive returns the first valid child at index+1, index+2, ...
//     within the same normal or hardened range, and its Index reports the
//     index actually used (ErrInvalidChild if the range is exhausted).
//   - nist256p1 (SLIP-10): private parents only; an invalid I_L is retried
//     with I = HMAC(c, 0x01 || I_R || ser32(i)) at the same index.
//   - ed25519, curve25519 (SLIP-10): hardened only (ErrHardenedOnly).
//
// ErrMaxDepth is returned for a parent at depth 255.
func (k ExtendedKey) Derive(index uint32) (*ExtendedKey, error) {
	s, err := k.state()
	if err != nil {
		return nil, err
	}
	if s.depth == MaxDepth {
		return nil, ErrMaxDepth
	}
	hardened := index >= Hardened
	switch s.curve {
	case Ed25519, Curve25519:
		if !hardened {
			return nil, fmt.Errorf("%w: %v index %d", ErrHardenedOnly, s.curve, index)
		}
		I := hmacSHA512(s.chain[:], []byte{0}, s.priv[:], ser32(index))
		defer clear(I)
		c := s.child(index)
		copy(c.priv[:], I[:32])
		copy(c.chain[:], I[32:])
		pub, ok := s.curve.publicFromPrivate(&c.priv)
		if !ok { // cannot happen: every 32-byte string is a valid key
			return nil, ErrInvalidChild
		}
		c.pub = pub
		return &ExtendedKey{s: c}, nil
	case Secp256k1:
		if hardened && !s.private {
			return nil, ErrHardenedFromPublic
		}
		c, err := firstValid(index, s.secpChild)
		if err != nil {
			return nil, err
		}
		return &ExtendedKey{s: c}, nil
	case NIST256p1:
		if !s.private {
			return nil, ErrUnsupported
		}
		c, ok := s.nistChild(index)
		if !ok {
			return nil, ErrInvalidChild
		}
		return &ExtendedKey{s: c}, nil
	}
	return nil, ErrUnsupportedCurve
}

// child returns a new state for the child at index with the position fields
// set and no key material.
func (s *keyState) child(index uint32) *keyState {
	c := &keyState{curve: s.curve, depth: s.depth + 1, index: index, private: s.private}
	c.parentFP = s.fingerprint()
	return c
}

// fingerprint is the first 4 bytes of HASH160(ser_P(K)).
func (s *keyState) fingerprint() [4]byte {
	sh := sha256.Sum256(s.pub[:])
	r := ripemd160.New()
	r.Write(sh[:])
	return [4]byte(r.Sum(nil)[:4])
}

// firstValid implements BIP32's "proceed with the next value for i": it
// tries index, index+1, ... up to the end of index's range (normal:
// 2^31-1, hardened: 2^32-1).
func firstValid(index uint32, try func(uint32) (*keyState, bool)) (*keyState, error) {
	last := Hardened - 1
	if index >= Hardened {
		last = ^uint32(0)
	}
	for i := index; ; i++ {
		if c, ok := try(i); ok {
			return c, nil
		}
		if i == last {
			return nil, fmt.Errorf("%w: no valid child from index %d to %d", ErrInvalidChild, index, last)
		}
	}
}

// secpChild is BIP32 CKDpriv / CKDpub for one index; ok is false when the
// child at index is invalid.
func (s *keyState) secpChild(index uint32) (*keyState, bool) {
	var I []byte
	if index >= Hardened {
		I = hmacSHA512(s.chain[:], []byte{0}, s.priv[:], ser32(index))
	} else {
		I = hmacSHA512(s.chain[:], s.pub[:], ser32(index))
	}
	defer clear(I)
	return s.secpChildFromI(index, I)
}

// secpChildFromI finishes secpChild once I = HMAC-SHA512(...) is known.
func (s *keyState) secpChildFromI(index uint32, I []byte) (*keyState, bool) {
	c := s.child(index)
	copy(c.chain[:], I[32:])
	if s.private {
		priv, ok := Secp256k1.addPrivate(I[:32], &s.priv)
		if !ok {
			clear(priv[:])
			return nil, false
		}
		c.priv = priv
		c.pub, _ = Secp256k1.publicFromPrivate(&c.priv)
		return c, true
	}
	// CKDpub: K_i = point(parse256(I_L)) + K_par.
	var il secp256k1.ModNScalar
	if overflow := il.SetByteSlice(I[:32]); overflow {
		return nil, false
	}
	parent, err := secp256k1.ParsePubKey(s.pub[:])
	if err != nil { // cannot happen: s.pub was validated
		return nil, false
	}
	var p, q, r secp256k1.JacobianPoint
	secp256k1.ScalarBaseMultNonConst(&il, &p)
	parent.AsJacobian(&q)
	secp256k1.AddNonConst(&p, &q, &r)
	if r.Z.IsZero() || (r.X.IsZero() && r.Y.IsZero()) {
		return nil, false // point at infinity
	}
	r.ToAffine()
	copy(c.pub[:], secp256k1.NewPublicKey(&r.X, &r.Y).SerializeCompressed())
	return c, true
}

// nistChild is SLIP-10 CKDpriv for NIST P-256 including the retry rule.
func (s *keyState) nistChild(index uint32) (*keyState, bool) {
	var I []byte
	if index >= Hardened {
		I = hmacSHA512(s.chain[:], []byte{0}, s.priv[:], ser32(index))
	} else {
		I = hmacSHA512(s.chain[:], s.pub[:], ser32(index))
	}
	defer func() { clear(I) }()
	for range maxRetries {
		priv, ok := NIST256p1.addPrivate(I[:32], &s.priv)
		if ok {
			if pub, ok := NIST256p1.publicFromPrivate(&priv); ok {
				c := s.child(index)
				c.priv, c.pub = priv, pub
				copy(c.chain[:], I[32:])
				clear(priv[:])
				return c, true
			}
		}
		clear(priv[:])
		next := hmacSHA512(s.chain[:], []byte{1}, I[32:], ser32(index))
		clear(I)
		I = next
	}
	return nil, false
}

// DerivePath derives along path. An absolute path ("m", "m/44'/0'/0'/0/5")
// is allowed only on a master key (depth 0) and is rejected with
// ErrInvalidPath otherwise, so that an account-level key is never mistaken
// for the master. A relative path without the "m/" prefix ("0/5", "1'/2")
// derives from k. Components follow ParsePath.
func (k ExtendedKey) DerivePath(path string) (*ExtendedKey, error) {
	s, err := k.state()
	if err != nil {
		return nil, err
	}
	var idx []uint32
	if path == "m" || strings.HasPrefix(path, "m/") {
		if s.depth != 0 {
			return nil, fmt.Errorf("%w: absolute path on a key at depth %d; use a relative path", ErrInvalidPath, s.depth)
		}
		idx, err = ParsePath(path)
	} else {
		idx, err = parseComponents(path)
	}
	if err != nil {
		return nil, err
	}
	if int(s.depth)+len(idx) > MaxDepth {
		return nil, fmt.Errorf("%w: depth %d + %d components exceeds %d", ErrInvalidPath, s.depth, len(idx), MaxDepth)
	}
	cur := &ExtendedKey{s: s}
	for n, i := range idx {
		next, err := cur.Derive(i)
		if cur.s != s {
			cur.Zero() // intermediate keys are not returned
		}
		if err != nil {
			return nil, fmt.Errorf("%w (path component %d)", err, n+1)
		}
		cur = next
	}
	if cur.s == s {
		return k.clone(), nil
	}
	return cur, nil
}

// clone returns an independent copy (Zero on one does not affect the other).
func (k ExtendedKey) clone() *ExtendedKey {
	c := *k.s
	return &ExtendedKey{s: &c}
}

// Neuter returns the public extended key (secp256k1 only: BIP32 public
// derivation is not defined for the SLIP-10 curves here). The result never
// holds private material. Neuter of a public key returns a copy.
func (k ExtendedKey) Neuter() (*ExtendedKey, error) {
	s, err := k.state()
	if err != nil {
		return nil, err
	}
	if s.curve != Secp256k1 {
		return nil, fmt.Errorf("%w: Neuter on %v", ErrUnsupported, s.curve)
	}
	c := *s
	c.private = false
	clear(c.priv[:])
	return &ExtendedKey{s: &c}, nil
}

// IsPrivate reports whether k holds a private key.
func (k ExtendedKey) IsPrivate() bool {
	s, err := k.state()
	return err == nil && s.private
}

// Curve returns the key's curve (0 for a zeroed key).
func (k ExtendedKey) Curve() Curve {
	if s, err := k.state(); err == nil {
		return s.curve
	}
	return 0
}

// Depth returns the depth: 0 for a master key.
func (k ExtendedKey) Depth() uint8 {
	if s, err := k.state(); err == nil {
		return s.depth
	}
	return 0
}

// Index returns the child index of k (Hardened added for hardened keys).
func (k ExtendedKey) Index() uint32 {
	if s, err := k.state(); err == nil {
		return s.index
	}
	return 0
}

// ParentFingerprint returns the parent's fingerprint as the big-endian
// uint32 of its 4 bytes; 0 for a master key.
func (k ExtendedKey) ParentFingerprint() uint32 {
	if s, err := k.state(); err == nil {
		return binary.BigEndian.Uint32(s.parentFP[:])
	}
	return 0
}

// Fingerprint returns k's own fingerprint, the first 4 bytes of
// HASH160(PublicKey()) as a big-endian uint32.
func (k ExtendedKey) Fingerprint() uint32 {
	if s, err := k.state(); err == nil {
		fp := s.fingerprint()
		return binary.BigEndian.Uint32(fp[:])
	}
	return 0
}

// ChainCode returns a copy of the 32-byte chain code (nil for a zeroed key).
// Treat it as secret: chain code + public key + any non-hardened child
// private key reveal the parent private key.
func (k ExtendedKey) ChainCode() []byte {
	if s, err := k.state(); err == nil {
		return append([]byte(nil), s.chain[:]...)
	}
	return nil
}

// PublicKey returns a copy of ser_P(K) as SLIP-10 defines it, always 33
// bytes: the compressed SEC1 point for secp256k1 and nist256p1, and
// 0x00 || the 32-byte key for ed25519 and curve25519 (see Ed25519PublicKey
// for the plain form). Nil for a zeroed key.
func (k ExtendedKey) PublicKey() []byte {
	if s, err := k.state(); err == nil {
		return append([]byte(nil), s.pub[:]...)
	}
	return nil
}

// Ed25519PublicKey returns the plain 32-byte Ed25519 public key, as used by
// crypto/ed25519.Verify. ErrUnsupported for other curves.
func (k ExtendedKey) Ed25519PublicKey() (ed25519.PublicKey, error) {
	s, err := k.state()
	if err != nil {
		return nil, err
	}
	if s.curve != Ed25519 {
		return nil, fmt.Errorf("%w: Ed25519PublicKey on %v", ErrUnsupported, s.curve)
	}
	return ed25519.PublicKey(append([]byte(nil), s.pub[1:]...)), nil
}

// Equal reports whether k and o hold the same key at the same position,
// comparing in constant time. Zeroed keys are equal to nothing.
func (k ExtendedKey) Equal(o *ExtendedKey) bool {
	if o == nil {
		return false
	}
	a, err1 := k.state()
	b, err2 := o.state()
	if err1 != nil || err2 != nil {
		return false
	}
	ea, eb := a.encodeAll(), b.encodeAll()
	defer clear(ea)
	defer clear(eb)
	return subtle.ConstantTimeCompare(ea, eb) == 1
}

func (s *keyState) encodeAll() []byte {
	b := make([]byte, 0, 1+1+4+4+32+1+32+33)
	b = append(b, byte(s.curve), s.depth)
	b = append(b, s.parentFP[:]...)
	b = binary.BigEndian.AppendUint32(b, s.index)
	b = append(b, s.chain[:]...)
	if s.private {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = append(b, s.priv[:]...)
	return append(b, s.pub[:]...)
}

// Zero wipes the private key and chain code of k (and of every copy of
// the value k). Afterwards every method returns ErrZeroed or a zero value.
// Zero on a zeroed key is a no-op.
func (k ExtendedKey) Zero() {
	if k.s == nil {
		return
	}
	clear(k.s.priv[:])
	clear(k.s.chain[:])
	clear(k.s.pub[:])
	k.s.private = false
	k.s.zeroed = true
}

// String returns a redacted description: curve, depth, index, fingerprint,
// public key, and "private=[REDACTED]" for private keys. The private key and
// the chain code are never included.
func (k ExtendedKey) String() string {
	s, err := k.state()
	if err != nil {
		return "hd.ExtendedKey{zeroed}"
	}
	kind := "public"
	if s.private {
		kind = "private=[REDACTED]"
	}
	return fmt.Sprintf("hd.ExtendedKey{curve=%v depth=%d index=%d fingerprint=%08x pub=%x %s}",
		s.curve, s.depth, s.index, s.fingerprint(), s.pub, kind)
}

// GoString is String, so %#v is redacted too.
func (k ExtendedKey) GoString() string { return k.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %x, %q, ...) print the
// redacted String.
func (k ExtendedKey) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte(k.String()))
}

// LogValue implements slog.LogValuer with the same redacted fields.
func (k ExtendedKey) LogValue() slog.Value {
	s, err := k.state()
	if err != nil {
		return slog.GroupValue(slog.Bool("zeroed", true))
	}
	fp := s.fingerprint()
	attrs := []slog.Attr{
		slog.String("curve", s.curve.String()),
		slog.Int("depth", int(s.depth)),
		slog.Uint64("index", uint64(s.index)),
		slog.String("fingerprint", hex.EncodeToString(fp[:])),
		slog.String("public_key", hex.EncodeToString(s.pub[:])),
	}
	if s.private {
		attrs = append(attrs, slog.String("private_key", "[REDACTED]"))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON emits the redacted fields only:
// {"curve","depth","index","fingerprint","public_key"} plus
// "private_key":"[REDACTED]" for private keys, or {"zeroed":true}. There
// is no UnmarshalJSON: use ParseExtendedKey for serialized keys.
func (k ExtendedKey) MarshalJSON() ([]byte, error) {
	s, err := k.state()
	if err != nil {
		return []byte(`{"zeroed":true}`), nil
	}
	fp := s.fingerprint()
	v := struct {
		Curve       string `json:"curve"`
		Depth       uint8  `json:"depth"`
		Index       uint32 `json:"index"`
		Fingerprint string `json:"fingerprint"`
		PublicKey   string `json:"public_key"`
		PrivateKey  string `json:"private_key,omitempty"`
	}{s.curve.String(), s.depth, s.index, hex.EncodeToString(fp[:]), hex.EncodeToString(s.pub[:]), ""}
	if s.private {
		v.PrivateKey = "[REDACTED]"
	}
	return json.Marshal(v)
}

var (
	_ fmt.Stringer   = ExtendedKey{}
	_ fmt.Formatter  = ExtendedKey{}
	_ fmt.GoStringer = ExtendedKey{}
	_ slog.LogValuer = ExtendedKey{}
	_ json.Marshaler = ExtendedKey{}
)
