package frost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"filippo.io/edwards25519"
)

// Ed25519 points of small order (the eight-torsion, identity excluded),
// canonical encodings.
var ed25519SmallOrder = map[string]string{
	"order 2":   "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"order 4 a": "0000000000000000000000000000000000000000000000000000000000000000",
	"order 4 b": "0000000000000000000000000000000000000000000000000000000000000080",
	"order 8 a": "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	"order 8 b": "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
	"order 8 c": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"order 8 d": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
}

var (
	ed25519P      = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	secp256k1P, _ = new(big.Int).SetString("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f", 16)
	secp256k1N, _ = new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)
	ed25519L, _   = new(big.Int).SetString("1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed", 16)
)

// le32 is the 32-byte little-endian encoding of x.
func le32(x *big.Int) []byte {
	b := x.FillBytes(make([]byte, 32))
	slices.Reverse(b)
	return b
}

// TestSmallOrderFixtures makes sure the fixtures are what they claim: on
// the curve, canonical, killed by the cofactor. It also documents the
// dependency trap: bytemare/ecc's own decoding accepts them.
func TestSmallOrderFixtures(t *testing.T) {
	for name, h := range ed25519SmallOrder {
		b := unhex(t, h)
		p, err := new(edwards25519.Point).SetBytes(b)
		if err != nil || !bytes.Equal(p.Bytes(), b) {
			t.Fatalf("%s: not a canonical point", name)
		}
		if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) != 1 {
			t.Fatalf("%s: [8]P is not the identity", name)
		}
		if err := Ed25519.Group().NewElement().Decode(b); err != nil {
			t.Logf("%s: bytemare/ecc now refuses it too: %v", name, err)
		}
	}
	b := unhex(t, ed25519SmallOrder["order 8 c"])
	if err := Ed25519.Group().NewElement().Decode(b); err != nil {
		t.Fatalf("bytemare/ecc refuses an order-8 point (%v): the trap described in DESIGN.md is gone", err)
	}
}

func TestDecodeElementZcashInvalid(t *testing.T) {
	for _, tc := range []struct {
		suite Suite
		file  string
	}{
		{Ed25519, "zcash-frost-ed25519-elements.json"},
		{Secp256k1, "zcash-frost-secp256k1-elements.json"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var f struct {
				Elements map[string]hexBytes `json:"elements"`
			}
			if err := json.Unmarshal(raw, &f); err != nil {
				t.Fatal(err)
			}
			if len(f.Elements) == 0 {
				t.Fatal("no elements")
			}
			for name, b := range f.Elements {
				if name != "invalid_element" {
					t.Fatalf("unexpected entry %q", name)
				}
				if _, err := tc.suite.DecodeElement(b); !errors.Is(err, ErrElement) {
					t.Fatalf("DecodeElement(%x) = %v, want ErrElement", []byte(b), err)
				}
			}
		})
	}
}

func TestDecodeElement(t *testing.T) {
	type tc struct {
		name  string
		suite Suite
		in    []byte
		ok    bool
	}
	var cases []tc
	add := func(name string, s Suite, in []byte, ok bool) { cases = append(cases, tc{name, s, in, ok}) }

	// Ed25519.
	gen := Ed25519.Group().Base().Encode()
	add("ok/ed25519/generator", Ed25519, gen, true)
	pt := Ed25519.Group().Base().Multiply(Ed25519.Group().NewScalar().Random()).Encode()
	add("ok/ed25519/random", Ed25519, pt, true)
	add("fail/ed25519/identity", Ed25519, unhex(t, "0100000000000000000000000000000000000000000000000000000000000000"), false)
	for name, h := range ed25519SmallOrder {
		add("fail/ed25519/small-order/"+name, Ed25519, unhex(t, h), false)
	}
	// y = p+k for k in 0..18, with either sign bit: every non-canonical y.
	for k := int64(0); k <= 18; k++ {
		b := le32(new(big.Int).Add(ed25519P, big.NewInt(k)))
		add("fail/ed25519/non-canonical-y/p+"+big.NewInt(k).String(), Ed25519, b, false)
		neg := slices.Clone(b)
		neg[31] |= 0x80
		add("fail/ed25519/non-canonical-y/p+"+big.NewInt(k).String()+"/sign", Ed25519, neg, false)
	}
	// x = 0 with the sign bit set ("negative zero"): y = 1 and y = -1.
	negZero := unhex(t, "0100000000000000000000000000000000000000000000000000000000000080")
	add("fail/ed25519/non-canonical-sign/identity", Ed25519, negZero, false)
	negZero2 := unhex(t, ed25519SmallOrder["order 2"])
	negZero2[31] |= 0x80
	add("fail/ed25519/non-canonical-sign/order-2", Ed25519, negZero2, false)
	// A prime-order point plus an order-8 point.
	for name, h := range ed25519SmallOrder {
		tp, _ := new(edwards25519.Point).SetBytes(unhex(t, h))
		base, _ := new(edwards25519.Point).SetBytes(pt)
		add("fail/ed25519/torsion-component/"+name, Ed25519, new(edwards25519.Point).Add(base, tp).Bytes(), false)
	}
	add("fail/ed25519/not-on-curve", Ed25519, unhex(t, "123456f9e9d319cad973b84cc4c835c8ee73281f5e2638d2d2b352c09edccbfb"), false)
	for _, l := range []int{0, 1, 31, 33, 64} {
		add("fail/ed25519/length-"+big.NewInt(int64(l)).String(), Ed25519, append(slices.Clone(gen), make([]byte, 64)...)[:l], false)
	}

	// secp256k1.
	kgen := Secp256k1.Group().Base().Encode()
	add("ok/secp256k1/generator", Secp256k1, kgen, true)
	kpt := Secp256k1.Group().Base().Multiply(Secp256k1.Group().NewScalar().Random()).Encode()
	add("ok/secp256k1/random", Secp256k1, kpt, true)
	add("fail/secp256k1/identity-zeros", Secp256k1, make([]byte, 33), false)
	add("fail/secp256k1/identity-sec1", Secp256k1, []byte{0}, false)
	gx := new(big.Int).SetBytes(kgen[1:])
	gy := secp256k1Y(gx, kgen[0] == 3)
	uncompressed := slices.Concat([]byte{4}, gx.FillBytes(make([]byte, 32)), gy.FillBytes(make([]byte, 32)))
	add("fail/secp256k1/uncompressed", Secp256k1, uncompressed, false)
	add("fail/secp256k1/hybrid", Secp256k1, slices.Concat([]byte{byte(6 | gy.Bit(0))}, uncompressed[1:]), false)
	for _, prefix := range []byte{0x00, 0x01, 0x04, 0x05, 0x06, 0x07, 0x12, 0xff} {
		add("fail/secp256k1/prefix-"+big.NewInt(int64(prefix)).Text(16), Secp256k1, slices.Concat([]byte{prefix}, kgen[1:]), false)
	}
	// Off curve: x with x³+7 not a square mod p.
	off := big.NewInt(1)
	for big.Jacobi(secp256k1RHS(off), secp256k1P) != -1 {
		off.Add(off, big.NewInt(1))
	}
	add("fail/secp256k1/off-curve/02", Secp256k1, slices.Concat([]byte{2}, off.FillBytes(make([]byte, 32))), false)
	add("fail/secp256k1/off-curve/03", Secp256k1, slices.Concat([]byte{3}, off.FillBytes(make([]byte, 32))), false)
	// Non-canonical x: x+p for a valid x below 2^256-p.
	for x := big.NewInt(1); ; x.Add(x, big.NewInt(1)) {
		if big.Jacobi(secp256k1RHS(x), secp256k1P) == 1 {
			nc := new(big.Int).Add(x, secp256k1P)
			add("fail/secp256k1/x-plus-p", Secp256k1, slices.Concat([]byte{2}, nc.FillBytes(make([]byte, 32))), false)
			add("ok/secp256k1/small-x", Secp256k1, slices.Concat([]byte{2}, x.FillBytes(make([]byte, 32))), true)
			break
		}
	}
	add("fail/secp256k1/x-equals-p", Secp256k1, slices.Concat([]byte{2}, secp256k1P.Bytes()), false)
	add("fail/secp256k1/not-on-curve-zcash", Secp256k1, unhex(t, "123456afdf4a7f88885ab26b20d18edb7d4d9589812a6cf1a5a1a09d3808dae5d8"), false)
	for _, l := range []int{0, 32, 34, 65} {
		add("fail/secp256k1/length-"+big.NewInt(int64(l)).String(), Secp256k1, append(slices.Clone(kgen), make([]byte, 64)...)[:l], false)
	}
	add("fail/unknown-suite", Suite(1), gen, false)

	// Twice: the second pass finds the accepted Ed25519 encodings
	// remembered (checkedEd25519) and must refuse every other one all the
	// same; no refused encoding is ever remembered.
	for pass := range 2 {
		for _, c := range cases {
			t.Run(fmt.Sprintf("pass-%d/%s", pass+1, c.name), func(t *testing.T) { checkDecode(t, c.suite, c.in, c.ok) })
			if !c.ok && c.suite == Ed25519 && len(c.in) == 32 && checkedEd25519.Has([32]byte(c.in)) {
				t.Fatalf("%s: a refused encoding is remembered as checked", c.name)
			}
		}
	}
	if !checkedEd25519.Has([32]byte(pt)) || !checkedEd25519.Has([32]byte(gen)) {
		t.Fatal("accepted Ed25519 encodings are not remembered")
	}
}

func checkDecode(t *testing.T, suite Suite, in []byte, ok bool) {
	t.Helper()
	e, err := suite.DecodeElement(in)
	if ok {
		if err != nil {
			t.Fatalf("DecodeElement(%x): %v", in, err)
		}
		if !bytes.Equal(e.Encode(), in) {
			t.Fatalf("round trip %x -> %x", in, e.Encode())
		}
		return
	}
	if e != nil || err == nil {
		t.Fatalf("DecodeElement(%x) accepted", in)
	}
	if suite.Valid() && !errors.Is(err, ErrElement) {
		t.Fatalf("DecodeElement(%x) = %v, want ErrElement", in, err)
	}
}

// secp256k1RHS is x³+7 mod p.
func secp256k1RHS(x *big.Int) *big.Int {
	r := new(big.Int).Exp(x, big.NewInt(3), secp256k1P)
	return r.Add(r, big.NewInt(7)).Mod(r, secp256k1P)
}

// secp256k1Y returns the y of x with the given parity (odd or even).
func secp256k1Y(x *big.Int, odd bool) *big.Int {
	y := new(big.Int).ModSqrt(secp256k1RHS(x), secp256k1P)
	if (y.Bit(0) == 1) != odd {
		y.Sub(secp256k1P, y)
	}
	return y
}

func TestDecodeScalar(t *testing.T) {
	be := func(x *big.Int) []byte { return x.FillBytes(make([]byte, 32)) }
	one := big.NewInt(1)
	cases := []struct {
		name  string
		suite Suite
		in    []byte
		ok    bool
	}{
		{"ok/ed25519/zero", Ed25519, make([]byte, 32), true},
		{"ok/ed25519/l-1", Ed25519, le32(new(big.Int).Sub(ed25519L, one)), true},
		{"fail/ed25519/l", Ed25519, le32(ed25519L), false},
		{"fail/ed25519/l+1", Ed25519, le32(new(big.Int).Add(ed25519L, one)), false},
		{"fail/ed25519/all-ones", Ed25519, bytes.Repeat([]byte{0xff}, 32), false},
		{"fail/ed25519/short", Ed25519, make([]byte, 31), false},
		{"fail/ed25519/long", Ed25519, make([]byte, 33), false},
		{"ok/secp256k1/n-1", Secp256k1, be(new(big.Int).Sub(secp256k1N, one)), true},
		{"fail/secp256k1/n", Secp256k1, be(secp256k1N), false},
		{"fail/secp256k1/all-ones", Secp256k1, bytes.Repeat([]byte{0xff}, 32), false},
		{"fail/secp256k1/short", Secp256k1, make([]byte, 31), false},
		{"fail/secp256k1/long", Secp256k1, make([]byte, 33), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := c.suite.DecodeScalar(c.in)
			if c.ok {
				if err != nil || !bytes.Equal(s.Encode(), c.in) {
					t.Fatalf("DecodeScalar(%x) = %v", c.in, err)
				}
				return
			}
			if !errors.Is(err, ErrScalar) {
				t.Fatalf("DecodeScalar(%x) = %v, want ErrScalar", c.in, err)
			}
		})
	}
}
