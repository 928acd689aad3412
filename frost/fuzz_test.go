package frost

import (
	"bytes"
	"errors"
	"math/big"
	"slices"
	"testing"

	"filippo.io/edwards25519"
)

func fuzzSuite(b byte) Suite {
	if b%2 == 0 {
		return Ed25519
	}
	return Secp256k1
}

// ed25519InSubgroup is an independent prime-order subgroup check: P = P' + T
// (T torsion) maps to [8]([8⁻¹ mod L]P) = P', so P is in the subgroup iff
// that equals P.
func ed25519InSubgroup(p *edwards25519.Point) bool {
	inv8 := new(big.Int).ModInverse(big.NewInt(8), ed25519L)
	k, err := edwards25519.NewScalar().SetCanonicalBytes(le32(inv8))
	if err != nil {
		panic(err)
	}
	q := new(edwards25519.Point).ScalarMult(k, p)
	return new(edwards25519.Point).MultByCofactor(q).Equal(p) == 1
}

// validEncoding says, independently of suite.go, whether b is the
// canonical encoding of a non-identity prime-order element.
func validEncoding(suite Suite, b []byte) bool {
	if suite == Ed25519 {
		if len(b) != 32 {
			return false
		}
		p, err := new(edwards25519.Point).SetBytes(b)
		return err == nil && bytes.Equal(p.Bytes(), b) &&
			p.Equal(edwards25519.NewIdentityPoint()) == 0 && ed25519InSubgroup(p)
	}
	if len(b) != 33 || (b[0] != 2 && b[0] != 3) {
		return false
	}
	x := new(big.Int).SetBytes(b[1:])
	return x.Cmp(secp256k1P) < 0 && big.Jacobi(secp256k1RHS(x), secp256k1P) == 1
}

func FuzzDecodeElement(f *testing.F) {
	for _, h := range ed25519SmallOrder {
		f.Add(byte(0), unhex(f, h))
	}
	f.Add(byte(0), Ed25519.Group().Base().Encode())
	f.Add(byte(0), unhex(f, "0100000000000000000000000000000000000000000000000000000000000000"))
	f.Add(byte(0), unhex(f, "123456f9e9d319cad973b84cc4c835c8ee73281f5e2638d2d2b352c09edccbfb"))
	f.Add(byte(0), le32(new(big.Int).Add(ed25519P, big.NewInt(1))))
	f.Add(byte(1), Secp256k1.Group().Base().Encode())
	f.Add(byte(1), make([]byte, 33))
	f.Add(byte(1), unhex(f, "123456afdf4a7f88885ab26b20d18edb7d4d9589812a6cf1a5a1a09d3808dae5d8"))
	f.Add(byte(1), slices.Concat([]byte{4}, Secp256k1.Group().Base().Encode()[1:]))
	f.Add(byte(1), []byte{})
	f.Fuzz(func(t *testing.T, which byte, b []byte) {
		suite := fuzzSuite(which)
		e, err := suite.DecodeElement(b)
		want := validEncoding(suite, b)
		if err != nil {
			if !errors.Is(err, ErrElement) {
				t.Fatalf("error %v does not match ErrElement", err)
			}
			if want {
				t.Fatalf("%v refused valid element %x: %v", suite, b, err)
			}
			return
		}
		if !want {
			t.Fatalf("%v accepted invalid element %x", suite, b)
		}
		if !bytes.Equal(e.Encode(), b) || e.IsIdentity() {
			t.Fatalf("%v: %x decodes to %x", suite, b, e.Encode())
		}
	})
}

func FuzzDecodeScalar(f *testing.F) {
	f.Add(byte(0), le32(ed25519L))
	f.Add(byte(0), make([]byte, 32))
	f.Add(byte(1), secp256k1N.Bytes())
	f.Add(byte(1), bytes.Repeat([]byte{0xff}, 32))
	f.Fuzz(func(t *testing.T, which byte, b []byte) {
		suite := fuzzSuite(which)
		sc, err := suite.DecodeScalar(b)
		var want bool
		if len(b) == 32 {
			v := slices.Clone(b)
			order := secp256k1N
			if suite == Ed25519 {
				slices.Reverse(v)
				order = ed25519L
			}
			want = new(big.Int).SetBytes(v).Cmp(order) < 0
		}
		if (err == nil) != want {
			t.Fatalf("%v DecodeScalar(%x) = %v, want valid=%v", suite, b, err, want)
		}
		if err == nil && !bytes.Equal(sc.Encode(), b) {
			t.Fatalf("round trip %x -> %x", b, sc.Encode())
		}
		if err != nil && !errors.Is(err, ErrScalar) {
			t.Fatalf("error %v does not match ErrScalar", err)
		}
	})
}

// FuzzSignCommitmentList feeds signer 1 of a 2-of-3 group arbitrary
// commitment lists built around its real, fresh commitment. Encoding of
// the input, per entry: signer (byte, mod 5), flags (byte), then for flags
// bit 1 (0x02) a replacement hiding element and for bit 2 (0x04) a
// replacement binding element (32 bytes each, fewer at the end of input);
// bit 0 (0x01) replaces the nonce ID by the flags byte. Entries otherwise
// take the real commitment of that signer (signer 1: the fresh one).
//
// Properties: no panic; a share iff no error; a share only for a list
// ValidateCommitmentList accepts, that names the fresh commitment exactly,
// and the share verifies; the fresh nonce is consumed iff the list names
// it.
func FuzzSignCommitmentList(f *testing.F) {
	ks, signers := dealer(f, Ed25519, 2, 3)
	g := &ks[0].Group
	c2, _ := signers[1].Commit()
	c3, _ := signers[2].Commit()
	small := unhex(f, ed25519SmallOrder["order 8 c"])
	ident := unhex(f, "0100000000000000000000000000000000000000000000000000000000000000")

	f.Add([]byte{1, 0, 2, 0})
	f.Add([]byte{1, 0, 2, 0, 3, 0})
	f.Add([]byte{1, 0, 3, 0})
	f.Add([]byte{2, 0, 1, 0})
	f.Add([]byte{1, 0, 1, 0, 2, 0})
	f.Add([]byte{1, 0})
	f.Add([]byte{1, 0, 2, 0, 3, 0, 4, 0})
	f.Add([]byte{0, 0, 1, 0})
	f.Add([]byte{1, 1, 2, 0})
	f.Add(slices.Concat([]byte{1, 0, 2, 2}, ident))
	f.Add(slices.Concat([]byte{1, 0, 2, 4}, small))
	f.Add(slices.Concat([]byte{1, 2}, c2.Hiding, []byte{2, 0}))
	f.Add(slices.Concat([]byte{1, 0, 3, 6}, c2.Hiding, c2.Binding))

	s := signers[0]
	f.Fuzz(func(t *testing.T, data []byte) {
		before := s.Pending()
		own, err := s.Commit()
		if err != nil {
			t.Fatal(err)
		}
		base := map[uint16]Commitment{1: own, 2: c2, 3: c3}
		var list []Commitment
		names := false
		for len(data) >= 2 && len(list) < 8 {
			signer, flags := uint16(data[0]%5), data[1]
			data = data[2:]
			c, ok := base[signer]
			if !ok {
				c = c3
			}
			c = c.clone()
			c.Signer = signer
			if flags&1 != 0 {
				c.ID = uint64(flags)
			}
			take := func() []byte {
				n := min(32, len(data))
				b := data[:n]
				data = data[n:]
				return slices.Clone(b)
			}
			if flags&2 != 0 {
				c.Hiding = take()
			}
			if flags&4 != 0 {
				c.Binding = take()
			}
			names = names || (c.Signer == 1 && c.ID == own.ID)
			list = append(list, c)
		}
		msg := []byte("fuzz")
		share, err := s.Sign(msg, list)
		if (share == nil) == (err == nil) {
			t.Fatalf("share %x with error %v", share, err)
		}
		if names != (s.Pending() == before) {
			t.Fatalf("names own nonce: %v, pending %d -> %d", names, before, s.Pending())
		}
		s.Discard(own.ID)
		if err != nil {
			return
		}
		if verr := ValidateCommitmentList(g, list); verr != nil {
			t.Fatalf("signed a list the coordinator refuses: %v", verr)
		}
		i := slices.IndexFunc(list, func(c Commitment) bool { return c.Signer == 1 })
		if i < 0 || list[i].ID != own.ID || !bytes.Equal(list[i].Hiding, own.Hiding) || !bytes.Equal(list[i].Binding, own.Binding) {
			t.Fatalf("signed a list without its exact commitment: %+v", list)
		}
		if err := VerifyShare(g, msg, list, 1, share); err != nil {
			t.Fatalf("released share does not verify: %v", err)
		}
	})
}
