package hd

import (
	stdecdsa "crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// keyFromScalar builds a depth-0 private key from a raw 32-byte scalar, for
// known-answer tests.
func keyFromScalar(t *testing.T, curve Curve, hexKey string) *ExtendedKey {
	t.Helper()
	s := &keyState{curve: curve, private: true}
	copy(s.priv[:], unhex(t, hexKey))
	pub, ok := curve.publicFromPrivate(&s.priv)
	if !ok {
		t.Fatalf("invalid test key %s", hexKey)
	}
	s.pub = pub
	return &ExtendedKey{s: s}
}

var secpN = secp256k1.S256().N

// TestSignSecp256k1KnownAnswers compares Sign with signatures computed by
// OpenSSL through pyca/cryptography 48 (ECDSA, SHA-256, RFC 6979
// deterministic_signing=True, then s := min(s, n-s)). The first one is also
// the widely published vector for key 1 and "Satoshi Nakamoto".
func TestSignSecp256k1KnownAnswers(t *testing.T) {
	tests := []struct{ name, key, msg, sig string }{
		{"ok/key_1", "0000000000000000000000000000000000000000000000000000000000000001", "Satoshi Nakamoto",
			"934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d82442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5"},
		{"ok/bip32_vector1_master", "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35", "custos hd test",
			"7cd86eb4b8c9c980838c2d5714feb53ff5f1db683e393171cc36872560f3a3e311ef8908ba2a29a95145ee8f12b7ec9dc84c1d88cc4adda5985ed6a7e9e8b206"},
		{"ok/key_n_minus_1", "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140", "Satoshi Nakamoto",
			"fd567d121db66e382991534ada77a6bd3106f0a1098c231e47993447cd6af2d06b39cd0eb1bc8603e159ef5c20a5c8ad685a45b06ce9bebed3f153d10d93bed5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := keyFromScalar(t, Secp256k1, tt.key)
			sig, err := k.Sign([]byte(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(sig) != tt.sig {
				t.Fatalf("sig %x\nwant %s", sig, tt.sig)
			}
			h := sha256.Sum256([]byte(tt.msg))
			sig2, err := k.SignDigest(h[:])
			if err != nil || hex.EncodeToString(sig2) != tt.sig {
				t.Fatalf("SignDigest %x, %v", sig2, err)
			}
		})
	}
}

// TestSignSecp256k1 signs with every BIP32 vector key and checks the result
// with our verifier and with the standard library's crypto/ecdsa.
//
// Go 1.26's crypto/ecdsa still accepts a non-standard elliptic.Curve in
// ecdsa.Verify: it falls back to its deprecated generic math/big path
// (verifyLegacy, which panics only in FIPS 140-only mode) using the curve's
// own elliptic.Curve methods, here decred's secp256k1.S256(). To keep the
// check independent of decred's point arithmetic, the test also verifies
// one signature per key with plain math/big on the curve equation
// (verifyBig).
func TestSignSecp256k1(t *testing.T) {
	f := loadBIP32(t)
	msgs := [][]byte{[]byte("transfer 1.5 ETH to 0xabc"), nil}
	n := 0
	for _, v := range f.Valid {
		for _, c := range v.Chains {
			k, err := ParseExtendedKey(c.ExtPrv)
			if err != nil {
				t.Fatal(err)
			}
			pub := k.PublicKey()
			for mi, msg := range msgs {
				n++
				sig, err := k.Sign(msg)
				if err != nil {
					t.Fatal(err)
				}
				if len(sig) != 64 {
					t.Fatalf("signature length %d", len(sig))
				}
				again, _ := k.Sign(msg)
				if string(again) != string(sig) {
					t.Fatal("signature not deterministic")
				}
				r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
				if s.Cmp(new(big.Int).Rsh(secpN, 1)) > 0 {
					t.Fatal("high S")
				}
				if !VerifySecp256k1(pub, msg, sig) {
					t.Fatal("VerifySecp256k1 rejects a valid signature")
				}
				h := sha256.Sum256(msg)
				pk, err := secp256k1.ParsePubKey(pub)
				if err != nil {
					t.Fatal(err)
				}
				if !stdecdsa.Verify(pk.ToECDSA(), h[:], r, s) {
					t.Fatal("crypto/ecdsa.Verify rejects the signature")
				}
				// verifyBig is slow (affine math/big, ~10 ms): one message per key.
				slowCheck := mi == 0
				if slowCheck && !verifyBig(pk.X(), pk.Y(), h[:], r, s) {
					t.Fatal("math/big verification rejects the signature")
				}

				// Negative checks: each verifier must reject tampering.
				bad := append([]byte(nil), sig...)
				bad[10] ^= 1
				h2 := sha256.Sum256(append(msg, 0))
				if VerifySecp256k1(pub, msg, bad) || VerifySecp256k1(pub, append(msg, 0), sig) ||
					stdecdsa.Verify(pk.ToECDSA(), h2[:], r, s) || (n == 1 && verifyBig(pk.X(), pk.Y(), h2[:], r, s)) {
					t.Fatal("tampered signature or message accepted")
				}
				// The high-S twin is a valid ECDSA signature (the standard
				// library accepts it) but VerifySecp256k1 refuses it.
				highS := new(big.Int).Sub(secpN, s)
				twin := append(r.FillBytes(make([]byte, 32)), highS.FillBytes(make([]byte, 32))...)
				if !stdecdsa.Verify(pk.ToECDSA(), h[:], r, highS) {
					t.Fatal("crypto/ecdsa rejects the high-S twin")
				}
				if VerifySecp256k1(pub, msg, twin) {
					t.Fatal("VerifySecp256k1 accepts a high-S signature")
				}
			}
		}
	}
	if n != 17*len(msgs) {
		t.Fatalf("%d signatures", n)
	}
}

// verifyBig is textbook ECDSA verification with math/big on
// y^2 = x^3 + 7 mod p, independent of any curve library.
func verifyBig(qx, qy *big.Int, hash []byte, r, s *big.Int) bool {
	p, _ := new(big.Int).SetString("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f", 16)
	n, _ := new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)
	gx, _ := new(big.Int).SetString("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", 16)
	gy, _ := new(big.Int).SetString("483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8", 16)
	if r.Sign() <= 0 || s.Sign() <= 0 || r.Cmp(n) >= 0 || s.Cmp(n) >= 0 {
		return false
	}
	onCurve := func(x, y *big.Int) bool {
		l := new(big.Int).Mul(y, y)
		rr := new(big.Int).Exp(x, big.NewInt(3), p)
		rr.Add(rr, big.NewInt(7))
		return new(big.Int).Mod(l, p).Cmp(rr.Mod(rr, p)) == 0
	}
	if !onCurve(qx, qy) || !onCurve(gx, gy) {
		return false
	}
	type pt struct{ x, y *big.Int } // nil x = infinity
	add := func(a, b pt) pt {
		if a.x == nil {
			return b
		}
		if b.x == nil {
			return a
		}
		var l *big.Int
		if a.x.Cmp(b.x) == 0 {
			if new(big.Int).Add(a.y, b.y).Mod(new(big.Int).Add(a.y, b.y), p).Sign() == 0 {
				return pt{}
			}
			num := new(big.Int).Mul(big.NewInt(3), new(big.Int).Mul(a.x, a.x))
			den := new(big.Int).ModInverse(new(big.Int).Mul(big.NewInt(2), a.y), p)
			l = num.Mul(num, den)
		} else {
			num := new(big.Int).Sub(b.y, a.y)
			den := new(big.Int).ModInverse(new(big.Int).Mod(new(big.Int).Sub(b.x, a.x), p), p)
			l = num.Mul(num, den)
		}
		l.Mod(l, p)
		x := new(big.Int).Mul(l, l)
		x.Sub(x, a.x).Sub(x, b.x).Mod(x, p)
		y := new(big.Int).Sub(a.x, x)
		y.Mul(y, l).Sub(y, a.y).Mod(y, p)
		return pt{x, y}
	}
	mul := func(k *big.Int, a pt) pt {
		var acc pt
		for i := k.BitLen() - 1; i >= 0; i-- {
			acc = add(acc, acc)
			if k.Bit(i) == 1 {
				acc = add(acc, a)
			}
		}
		return acc
	}
	e := new(big.Int).SetBytes(hash)
	w := new(big.Int).ModInverse(s, n)
	u1 := new(big.Int).Mul(e, w)
	u1.Mod(u1, n)
	u2 := new(big.Int).Mul(r, w)
	u2.Mod(u2, n)
	R := add(mul(u1, pt{gx, gy}), mul(u2, pt{qx, qy}))
	if R.x == nil {
		return false
	}
	return new(big.Int).Mod(R.x, n).Cmp(r) == 0
}

// TestSignEd25519 checks RFC 8032 section 7.1 TEST 1 and TEST 2 and that
// signatures of SLIP-10 keys verify with crypto/ed25519.Verify.
func TestSignEd25519(t *testing.T) {
	rfc := []struct{ name, key, pub, msg, sig string }{
		{"ok/rfc8032_test1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"ok/rfc8032_test2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
	}
	for _, tt := range rfc {
		t.Run(tt.name, func(t *testing.T) {
			k := keyFromScalar(t, Ed25519, tt.key)
			pk, err := k.Ed25519PublicKey()
			if err != nil || hex.EncodeToString(pk) != tt.pub {
				t.Fatalf("public key %x, %v", pk, err)
			}
			sig, err := k.Sign(unhex(t, tt.msg))
			if err != nil || hex.EncodeToString(sig) != tt.sig {
				t.Fatalf("sig %x, %v", sig, err)
			}
		})
	}
	t.Run("ok/slip10_keys_verify", func(t *testing.T) {
		m, err := NewMasterKey(unhex(t, "000102030405060708090a0b0c0d0e0f"), Ed25519)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"m", "m/0'", "m/44'/501'/0'/0'", "m/0'/2147483647'/1'"} {
			k, err := m.DerivePath(p)
			if err != nil {
				t.Fatal(err)
			}
			pk, _ := k.Ed25519PublicKey()
			msg := []byte("solana transfer " + p)
			sig, err := k.Sign(msg)
			if err != nil || len(sig) != ed25519.SignatureSize {
				t.Fatalf("sign: %v", err)
			}
			if !ed25519.Verify(pk, msg, sig) {
				t.Fatalf("%s: crypto/ed25519.Verify rejects the signature", p)
			}
			if ed25519.Verify(pk, append(msg, '!'), sig) {
				t.Fatal("signature verifies for another message")
			}
		}
	})
}

func TestSignRefusals(t *testing.T) {
	seed := unhex(t, "000102030405060708090a0b0c0d0e0f")
	for _, curve := range []Curve{NIST256p1, Curve25519} {
		t.Run("fail/"+curve.String(), func(t *testing.T) {
			m, err := NewMasterKey(seed, curve)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Sign([]byte("x")); !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Sign: %v", err)
			}
			if _, err := m.SignDigest(make([]byte, 32)); !errors.Is(err, ErrUnsupported) {
				t.Fatalf("SignDigest: %v", err)
			}
		})
	}
	m, err := NewMasterKey(seed, Secp256k1)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("fail/public_key", func(t *testing.T) {
		pub, _ := m.Neuter()
		if _, err := pub.Sign([]byte("x")); !errors.Is(err, ErrNotPrivate) {
			t.Fatalf("Sign: %v", err)
		}
		if _, err := pub.SignDigest(make([]byte, 32)); !errors.Is(err, ErrNotPrivate) {
			t.Fatalf("SignDigest: %v", err)
		}
	})
	t.Run("fail/digest_length", func(t *testing.T) {
		for _, n := range []int{0, 31, 33, 64} {
			if _, err := m.SignDigest(make([]byte, n)); !errors.Is(err, ErrInvalidDigest) {
				t.Fatalf("%d bytes: %v", n, err)
			}
		}
	})
	t.Run("fail/ed25519_sign_digest", func(t *testing.T) {
		e, _ := NewMasterKey(seed, Ed25519)
		if _, err := e.SignDigest(make([]byte, 32)); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestVerifySecp256k1Rejects(t *testing.T) {
	k := keyFromScalar(t, Secp256k1, "0000000000000000000000000000000000000000000000000000000000000001")
	msg := []byte("Satoshi Nakamoto")
	sig, _ := k.Sign(msg)
	pub := k.PublicKey()
	h := sha256.Sum256(msg)
	nBytes := secpN.FillBytes(make([]byte, 32))
	uncompressed := append([]byte{4}, secp256k1.S256().Gx.FillBytes(make([]byte, 32))...)
	uncompressed = append(uncompressed, secp256k1.S256().Gy.FillBytes(make([]byte, 32))...)
	tests := []struct {
		name         string
		pub, dg, sig []byte
		want         bool
	}{
		{"ok", pub, h[:], sig, true},
		{"fail/short_sig", pub, h[:], sig[:63], false},
		{"fail/der_length_sig", pub, h[:], append(sig, 0), false},
		{"fail/r_zero", pub, h[:], append(make([]byte, 32), sig[32:]...), false},
		{"fail/s_zero", pub, h[:], append(append([]byte(nil), sig[:32]...), make([]byte, 32)...), false},
		{"fail/r_n", pub, h[:], append(append([]byte(nil), nBytes...), sig[32:]...), false},
		{"fail/s_n", pub, h[:], append(append([]byte(nil), sig[:32]...), nBytes...), false},
		{"fail/uncompressed_pub", uncompressed, h[:], sig, false},
		{"fail/bad_pub", append([]byte{2}, make([]byte, 32)...), h[:], sig, false},
		{"fail/short_digest", pub, h[:31], sig, false},
		{"fail/other_digest", pub, make([]byte, 32), sig, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifySecp256k1Digest(tt.pub, tt.dg, tt.sig); got != tt.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}
