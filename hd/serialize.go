package hd

import (
	"encoding/binary"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// BIP32 mainnet version bytes. Testnet (tprv/tpub) and SLIP-132 variants
// (ypub, zpub, ...) are refused with ErrUnknownVersion.
const (
	versionXPrv uint32 = 0x0488ade4
	versionXPub uint32 = 0x0488b21e
)

// serializedLen is 4 version + 1 depth + 4 parent fingerprint + 4 child
// number + 32 chain code + 33 key + 4 checksum.
const serializedLen = 82

// maxEncodedLen bounds the Base58 input before decoding (an 82-byte key is
// always 111 characters).
const maxEncodedLen = 128

// XPub returns the BIP32 serialization (Base58Check, mainnet version
// 0488b21e, "xpub...") of the public extended key. secp256k1 only: SLIP-10
// defines no serialization for the other curves (ErrUnsupported).
func (k ExtendedKey) XPub() (string, error) {
	s, err := k.state()
	if err != nil {
		return "", err
	}
	if s.curve != Secp256k1 {
		return "", fmt.Errorf("%w: XPub on %v", ErrUnsupported, s.curve)
	}
	return s.serialize(versionXPub, s.pub[:]), nil
}

// XPrv returns the BIP32 serialization (mainnet version 0488ade4,
// "xprv...") of the private extended key: ErrNotPrivate for a public key,
// ErrUnsupported for curves other than secp256k1. The result is the whole
// secret subtree; it is a Go string and cannot be wiped, so prefer keeping
// keys as ExtendedKey values.
func (k ExtendedKey) XPrv() (string, error) {
	s, err := k.state()
	if err != nil {
		return "", err
	}
	if s.curve != Secp256k1 {
		return "", fmt.Errorf("%w: XPrv on %v", ErrUnsupported, s.curve)
	}
	if !s.private {
		return "", ErrNotPrivate
	}
	var key [33]byte
	copy(key[1:], s.priv[:])
	defer clear(key[:])
	return s.serialize(versionXPrv, key[:]), nil
}

func (s *keyState) serialize(version uint32, key []byte) string {
	b := make([]byte, 0, serializedLen-4)
	b = binary.BigEndian.AppendUint32(b, version)
	b = append(b, s.depth)
	b = append(b, s.parentFP[:]...)
	b = binary.BigEndian.AppendUint32(b, s.index)
	b = append(b, s.chain[:]...)
	b = append(b, key...)
	defer clear(b)
	return base58CheckEncode(b)
}

// ParseExtendedKey parses a BIP32 mainnet xprv or xpub (secp256k1) and
// validates it fully. The checks, in order, and their errors:
//
//   - Base58 alphabet and decoded length 82 bytes: ErrMalformedKey
//   - Base58Check checksum: ErrBadChecksum
//   - version 0488ade4 (xprv) or 0488b21e (xpub): ErrUnknownVersion
//   - xpub with a 0x00-prefixed (private) key, or xprv with a 0x02/0x03
//     (public) key: ErrKeyTypeMismatch
//   - depth 0 with a non-zero parent fingerprint or child index:
//     ErrInconsistentDepth
//   - xprv: key prefix not 0x00, or scalar not in 1..n-1: ErrInvalidPrivateKey
//   - xpub: key prefix not 0x02/0x03, or not a point on secp256k1:
//     ErrInvalidPublicKey
//
// These cover all invalid keys of BIP32 test vector 5. For every accepted
// key, XPrv (private) or XPub (public) returns the input string unchanged.
func ParseExtendedKey(s string) (*ExtendedKey, error) {
	if len(s) > maxEncodedLen {
		return nil, fmt.Errorf("%w: %d characters", ErrMalformedKey, len(s))
	}
	b, ok := base58Decode(s)
	if !ok {
		return nil, fmt.Errorf("%w: not Base58", ErrMalformedKey)
	}
	defer clear(b)
	if len(b) != serializedLen {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrMalformedKey, len(b), serializedLen)
	}
	if !checksumOK(b) {
		return nil, ErrBadChecksum
	}
	version := binary.BigEndian.Uint32(b[0:4])
	st := &keyState{curve: Secp256k1, depth: b[4], index: binary.BigEndian.Uint32(b[9:13])}
	copy(st.parentFP[:], b[5:9])
	key := b[45:78]
	switch version {
	case versionXPrv:
		if key[0] == 0x02 || key[0] == 0x03 {
			return nil, fmt.Errorf("%w: xprv version with a public key", ErrKeyTypeMismatch)
		}
		st.private = true
	case versionXPub:
		if key[0] == 0x00 {
			return nil, fmt.Errorf("%w: xpub version with a private key", ErrKeyTypeMismatch)
		}
	default:
		return nil, fmt.Errorf("%w: %08x", ErrUnknownVersion, version)
	}
	if st.depth == 0 && (st.parentFP != [4]byte{} || st.index != 0) {
		return nil, ErrInconsistentDepth
	}
	copy(st.chain[:], b[13:45])
	if st.private {
		if key[0] != 0x00 {
			return nil, fmt.Errorf("%w: key prefix %02x, want 00", ErrInvalidPrivateKey, key[0])
		}
		copy(st.priv[:], key[1:])
		pub, ok := Secp256k1.publicFromPrivate(&st.priv)
		if !ok {
			clear(st.priv[:])
			clear(st.chain[:])
			return nil, fmt.Errorf("%w: not in 1..n-1", ErrInvalidPrivateKey)
		}
		st.pub = pub
	} else {
		if key[0] != 0x02 && key[0] != 0x03 {
			return nil, fmt.Errorf("%w: prefix %02x, want 02 or 03", ErrInvalidPublicKey, key[0])
		}
		if _, err := secp256k1.ParsePubKey(key); err != nil {
			return nil, fmt.Errorf("%w: not on secp256k1", ErrInvalidPublicKey)
		}
		copy(st.pub[:], key)
	}
	return &ExtendedKey{s: st}, nil
}
