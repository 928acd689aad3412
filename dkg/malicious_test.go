package dkg

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/hex"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"

	"filippo.io/edwards25519"
	"github.com/bytemare/ecc"
	"github.com/custos-dev/custos/frost"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Ed25519 encodings a malicious participant may send.
var (
	// edIdentity is the canonical encoding of the identity (0, 1).
	edIdentity = mustHex("0100000000000000000000000000000000000000000000000000000000000000")
	// edOrder8 is a point of order 8.
	edOrder8 = mustHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	// edOrder2 is (0, -1), of order 2.
	edOrder2 = mustHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
)

// edNonCanonical returns an encoding y + p (y < 19) of a curve point that
// the lenient decoder accepts, so that only the canonical check refuses it.
func edNonCanonical(tb testing.TB) []byte {
	tb.Helper()
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	for y := int64(2); y < 19; y++ {
		be := new(big.Int).Add(p, big.NewInt(y)).FillBytes(make([]byte, 32))
		slices.Reverse(be)
		if _, err := new(edwards25519.Point).SetBytes(be); err == nil {
			return be
		}
	}
	tb.Fatal("no non-canonical encoding found")
	return nil
}

// edAddTorsion returns c + T8: the same point with a small-order component.
func edAddTorsion(tb testing.TB, c []byte) []byte {
	tb.Helper()
	p, err := new(edwards25519.Point).SetBytes(c)
	if err != nil {
		tb.Fatal(err)
	}
	t8, err := new(edwards25519.Point).SetBytes(edOrder8)
	if err != nil {
		tb.Fatal(err)
	}
	return new(edwards25519.Point).Add(p, t8).Bytes()
}

// forgePackage builds a round-1 package with a valid proof of knowledge for
// the given coefficients (which may be zero).
func forgePackage(tb testing.TB, s Session, id uint16, coeffs []*ecc.Scalar) Round1 {
	tb.Helper()
	r := Round1{From: id}
	for _, a := range coeffs {
		r.Commitments = append(r.Commitments, s.Suite.Group().Base().Multiply(a).Encode())
	}
	var err error
	if r.ProofR, r.ProofZ, err = prove(s, id, coeffs[0], r.Commitments[0]); err != nil {
		tb.Fatal(err)
	}
	return r
}

// round1In runs round 1 for participant id, holding key, in session s.
func round1In(tb testing.TB, s Session, id uint16, key *ecdh.PrivateKey) Round1 {
	tb.Helper()
	p, err := NewParticipant(s, id, key)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := p.Round1()
	if err != nil {
		tb.Fatal(err)
	}
	return *r
}

// checkMisbehaviour checks that err is a MisbehaviourError naming culprits,
// the first one with reason in its Reason, and wrapping cause if that is
// not nil. who names the call that returned err.
func checkMisbehaviour(tb testing.TB, who string, err error, culprits []uint16, reason string, cause error) {
	tb.Helper()
	if !errors.Is(err, ErrMisbehaviour) {
		tb.Fatalf("%s: %v, want ErrMisbehaviour", who, err)
	}
	var m *MisbehaviourError
	if !errors.As(err, &m) || m.Participant != culprits[0] {
		tb.Fatalf("%s: errors.As gives %v, want participant %d", who, m, culprits[0])
	}
	if !strings.Contains(m.Reason, reason) {
		tb.Fatalf("%s: reason %q, want %q in it", who, m.Reason, reason)
	}
	if got := Culprits(err); !slices.Equal(got, culprits) {
		tb.Fatalf("%s: Culprits = %v, want %v (%v)", who, got, culprits, err)
	}
	if cause != nil && !errors.Is(err, cause) {
		tb.Fatalf("%s: %v does not wrap %v", who, err, cause)
	}
}

func cloneSet(all []Round1) []Round1 {
	out := make([]Round1, len(all))
	for i := range all {
		out[i] = *cloneRound1(&all[i])
	}
	return out
}

func without(all []Round1, id uint16) []Round1 {
	return slices.DeleteFunc(all, func(r Round1) bool { return r.From == id })
}

func replace(all []Round1, r Round1) []Round1 {
	for i := range all {
		if all[i].From == r.From {
			all[i] = r
		}
	}
	return all
}

func TestRound1Misbehaviour(t *testing.T) {
	tests := []struct {
		name     string
		suite    frost.Suite
		edit     func(t *testing.T, c *ceremony, all []Round1) []Round1
		culprits []uint16
		cause    error
		reason   string // in the first culprit's reason
	}{
		{
			name: "fail/commitments-t+1",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[2].Commitments = append(all[2].Commitments, all[2].Commitments[1])
				return all
			},
			culprits: []uint16{3},
			reason:   "4 commitments, want 3",
		},
		{
			name: "fail/commitments-t-1",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[2].Commitments = all[2].Commitments[:2]
				return all
			},
			culprits: []uint16{3},
			reason:   "2 commitments, want 3",
		},
		{
			name: "fail/no-commitments",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[4].Commitments = nil
				return all
			},
			culprits: []uint16{5},
			reason:   "0 commitments",
		},
		{
			name: "fail/bad-proof-z",
			edit: func(_ *testing.T, c *ceremony, all []Round1) []Round1 {
				z, _ := c.s.Suite.DecodeScalar(all[2].ProofZ)
				all[2].ProofZ = z.Add(c.s.Suite.Group().NewScalar().One()).Encode()
				return all
			},
			culprits: []uint16{3},
			reason:   "does not verify",
		},
		{
			name: "fail/bad-proof-r",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[2].ProofR = all[1].ProofR
				return all
			},
			culprits: []uint16{3},
			reason:   "does not verify",
		},
		{
			name: "fail/proof-not-canonical",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[2].ProofZ = bytes.Repeat([]byte{0xff}, 32)
				return all
			},
			culprits: []uint16{3},
			reason:   "response z",
			cause:    frost.ErrScalar,
		},
		{
			name: "fail/proof-wrong-size",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[2].ProofZ = all[2].ProofZ[:31]
				return all
			},
			culprits: []uint16{3},
			reason:   "wrong size",
		},
		{
			name: "fail/proof-replayed-from-other-session",
			edit: func(t *testing.T, c *ceremony, all []Round1) []Round1 {
				other, err := NewSession(c.s.Suite, c.s.Threshold, c.s.N)
				if err != nil {
					t.Fatal(err)
				}
				return replace(all, round1In(t, other, 3, c.keys[2]))
			},
			culprits: []uint16{3},
			reason:   "does not verify",
		},
		{
			name: "fail/proof-replayed-from-same-session-id-other-n",
			edit: func(t *testing.T, c *ceremony, all []Round1) []Round1 {
				other := c.s
				other.N = 6
				return replace(all, round1In(t, other, 3, c.keys[2]))
			},
			culprits: []uint16{3},
			reason:   "does not verify",
		},
		{
			name: "fail/proof-replayed-from-same-session-id-other-threshold",
			edit: func(t *testing.T, c *ceremony, all []Round1) []Round1 {
				other := c.s
				other.Threshold = 2
				r := round1In(t, other, 3, c.keys[2])
				r.Commitments = append(r.Commitments, all[2].Commitments[2]) // pad to t
				return replace(all, r)
			},
			culprits: []uint16{3},
			reason:   "does not verify",
		},
		{
			name: "fail/proof-replayed-under-other-id",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				r := *cloneRound1(&all[2]) // participant 3's package...
				r.From = 4                 // ...claimed by participant 4
				return replace(all, r)
			},
			culprits: []uint16{4},
			reason:   "does not verify",
		},
		{
			name: "fail/identity-commitment",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[2].Commitments[1] = edIdentity
				return all
			},
			culprits: []uint16{3},
			reason:   "identity",
			cause:    frost.ErrElement,
		},
		{
			name: "fail/identity-constant-term-with-valid-proof",
			edit: func(t *testing.T, c *ceremony, all []Round1) []Round1 {
				g := c.s.Suite.Group()
				coeffs := []*ecc.Scalar{g.NewScalar(), g.NewScalar().Random(), g.NewScalar().Random()}
				r := forgePackage(t, c.s, 3, coeffs)
				if !bytes.Equal(r.Commitments[0], edIdentity) {
					t.Fatal("forged C_0 is not the identity")
				}
				return replace(all, r)
			},
			culprits: []uint16{3},
			reason:   "identity",
			cause:    frost.ErrElement,
		},
		{
			name: "fail/non-canonical-commitment",
			edit: func(t *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[2].Commitments[2] = edNonCanonical(t)
				return all
			},
			culprits: []uint16{3},
			reason:   "non-canonical",
			cause:    frost.ErrElement,
		},
		{
			name: "fail/small-order-commitment",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[2].Commitments[1] = edOrder8
				return all
			},
			culprits: []uint16{3},
			reason:   "prime-order subgroup",
			cause:    frost.ErrElement,
		},
		{
			name: "fail/order-2-commitment",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[3].Commitments[2] = edOrder2
				return all
			},
			culprits: []uint16{4},
			reason:   "prime-order subgroup",
			cause:    frost.ErrElement,
		},
		{
			name: "fail/torsion-component-in-commitment",
			edit: func(t *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[2].Commitments[1] = edAddTorsion(t, all[2].Commitments[1])
				return all
			},
			culprits: []uint16{3},
			reason:   "prime-order subgroup",
			cause:    frost.ErrElement,
		},
		{
			name: "fail/torsion-component-in-proof",
			edit: func(t *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[2].ProofR = edAddTorsion(t, all[2].ProofR)
				return all
			},
			culprits: []uint16{3},
			reason:   "prime-order subgroup",
			cause:    frost.ErrElement,
		},
		{
			name: "fail/not-a-point",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[2].Commitments[0] = mustHex("0200000000000000000000000000000000000000000000000000000000000000")
				return all
			},
			culprits: []uint16{3},
			reason:   "not a point",
			cause:    frost.ErrElement,
		},
		{
			name: "fail/duplicate-from",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				return append(all, *cloneRound1(&all[1]))
			},
			culprits: []uint16{2},
			reason:   "more than one round-1 package",
		},
		{
			name: "fail/missing-from",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				return without(all, 4)
			},
			culprits: []uint16{4},
			reason:   "no round-1 package",
		},
		{
			name: "fail/from-n+1",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				r := *cloneRound1(&all[1])
				r.From = 6
				return append(all, r)
			},
			culprits: []uint16{6},
			reason:   "out of range",
		},
		{
			name: "fail/from-0",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				r := *cloneRound1(&all[1])
				r.From = 0
				return append(all, r)
			},
			culprits: []uint16{0},
			reason:   "out of range",
		},
		{
			name: "fail/several",
			edit: func(t *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[1].Commitments[1] = edOrder8
				all[4].ProofR = all[3].ProofR
				return all
			},
			culprits: []uint16{2, 5},
			reason:   "prime-order subgroup",
		},
		{
			name: "fail/shape-and-proof",
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[1].Commitments = all[1].Commitments[1:]
				all[3].ProofZ = all[4].ProofZ
				return append(all, *cloneRound1(&all[4]))
			},
			culprits: []uint16{2, 4, 5},
			reason:   "2 commitments, want 3",
		},
		{
			name:  "fail/secp256k1-x-not-canonical",
			suite: frost.Secp256k1,
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[2].Commitments[1] = append([]byte{0x02}, bytes.Repeat([]byte{0xff}, 32)...)
				return all
			},
			culprits: []uint16{3},
			reason:   "commitment 1",
			cause:    frost.ErrElement,
		},
		{
			name:  "fail/secp256k1-identity",
			suite: frost.Secp256k1,
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				all[2].Commitments[2] = make([]byte, 33)
				return all
			},
			culprits: []uint16{3},
			reason:   "commitment 2",
			cause:    frost.ErrElement,
		},
		{
			name:  "fail/secp256k1-bad-prefix",
			suite: frost.Secp256k1,
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				c := slices.Clone(all[3].Commitments[0])
				c[0] = 0x04
				all[3].Commitments[0] = c
				return all
			},
			culprits: []uint16{4},
			reason:   "commitment 0",
			cause:    frost.ErrElement,
		},
		{
			name:  "fail/secp256k1-proof-replayed-under-other-id",
			suite: frost.Secp256k1,
			edit: func(_ *testing.T, _ *ceremony, all []Round1) []Round1 {
				r := *cloneRound1(&all[4])
				r.From = 2
				return replace(all, r)
			},
			culprits: []uint16{2},
			reason:   "does not verify",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			suite := tc.suite
			if suite == 0 {
				suite = frost.Ed25519
			}
			c := newCeremony(t, suite, 3, 5)
			honest := c.round1(t)
			all := tc.edit(t, c, cloneSet(honest))

			checkMisbehaviour(t, "VerifyRound1", VerifyRound1(c.s, all), tc.culprits, tc.reason, tc.cause)

			// Participant 1 is honest: it refuses round 2 with the same
			// culprits, zeroes its polynomial and cannot go on.
			p := c.p(1)
			_, out, err := p.Round2(all, c.pubs)
			checkMisbehaviour(t, "Round2", err, tc.culprits, tc.reason, tc.cause)
			if out != nil {
				t.Fatal("Round2 returned shares with an error")
			}
			if p.coeffs != nil || p.ownShare != nil {
				t.Fatal("failed participant kept secrets")
			}
			if _, _, err := p.Round2(honest, c.pubs); !errors.Is(err, ErrState) {
				t.Fatalf("Round2 after failure: %v", err)
			}
			if _, err := p.Finalize([32]byte{}, nil); !errors.Is(err, ErrState) {
				t.Fatalf("Finalize after failure: %v", err)
			}
		})
	}
}

func TestRound1OwnPackageTampered(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *ceremony, all []Round1) []Round1
	}{
		{"fail/altered", func(_ *ceremony, all []Round1) []Round1 {
			all[0].Commitments[1] = all[1].Commitments[1]
			return all
		}},
		{"fail/missing", func(_ *ceremony, all []Round1) []Round1 { return without(all, 1) }},
		{"fail/duplicated", func(_ *ceremony, all []Round1) []Round1 { return append(all, *cloneRound1(&all[0])) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCeremony(t, frost.Ed25519, 2, 3)
			all := tc.edit(c, cloneSet(c.round1(t)))
			if _, _, err := c.p(1).Round2(all, c.pubs); !errors.Is(err, ErrTampered) {
				t.Fatalf("Round2 = %v, want ErrTampered", err)
			}
			if len(Culprits(ErrTampered)) != 0 {
				t.Fatal("the relay's fault names a participant")
			}
		})
	}
}

// seal encrypts plaintext as from's share for to under the given session
// and transcript, as a participant (honest or not) would.
func (c *ceremony) seal(t *testing.T, s Session, tr [32]byte, from, to, key uint16, pt []byte) []byte {
	t.Helper()
	ek, err := ecdhPublic(c.pubs[key])
	if err != nil {
		t.Fatal(err)
	}
	pk, err := hpke.NewDHKEMPublicKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := hpke.Seal(pk, shareKDF, shareAEAD, shareInfo(s, tr, from, to), pt)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func setFrom(in []Round2, from uint16, edit func(r *Round2)) []Round2 {
	for i := range in {
		if in[i].From == from {
			edit(&in[i])
		}
	}
	return in
}

func TestRound2Misbehaviour(t *testing.T) {
	type env struct {
		c   *ceremony
		tr  [32]byte
		all []Round2 // every round-2 message of the ceremony
	}
	tests := []struct {
		name     string
		edit     func(t *testing.T, e env, in []Round2) []Round2
		culprits []uint16
		cause    error
		reason   string // in the first culprit's reason
	}{
		{
			name: "fail/corrupted-ciphertext",
			edit: func(_ *testing.T, _ env, in []Round2) []Round2 {
				return setFrom(in, 3, func(r *Round2) { r.Ciphertext[40] ^= 1 })
			},
			culprits: []uint16{3},
			reason:   "does not decrypt",
		},
		{
			name: "fail/corrupted-encapsulated-key",
			edit: func(_ *testing.T, _ env, in []Round2) []Round2 {
				return setFrom(in, 3, func(r *Round2) { r.Ciphertext[0] ^= 1 })
			},
			culprits: []uint16{3},
			reason:   "does not decrypt",
		},
		{
			name: "fail/truncated-ciphertext",
			edit: func(_ *testing.T, _ env, in []Round2) []Round2 {
				return setFrom(in, 3, func(r *Round2) { r.Ciphertext = r.Ciphertext[:10] })
			},
			culprits: []uint16{3},
			reason:   "does not decrypt",
		},
		{
			name: "fail/encrypted-for-other-session",
			edit: func(t *testing.T, e env, in []Round2) []Round2 {
				other := e.c.s
				other.ID[0] ^= 1
				pt := e.c.share(3, 1).Encode()
				return setFrom(in, 3, func(r *Round2) { r.Ciphertext = e.c.seal(t, other, e.tr, 3, 1, 1, pt) })
			},
			culprits: []uint16{3},
			reason:   "does not decrypt",
		},
		{
			name: "fail/relabelled-from-other-recipient",
			edit: func(_ *testing.T, e env, in []Round2) []Round2 {
				m := inbox(e.all, 2)
				i := slices.IndexFunc(m, func(r Round2) bool { return r.From == 3 })
				r := m[i]
				r.To = 1
				r.Ciphertext = slices.Clone(r.Ciphertext)
				return setFrom(in, 3, func(x *Round2) { *x = r })
			},
			culprits: []uint16{3},
			reason:   "does not decrypt",
		},
		{
			name: "fail/encrypted-to-this-key-for-other-recipient",
			edit: func(t *testing.T, e env, in []Round2) []Round2 {
				pt := e.c.share(3, 1).Encode()
				return setFrom(in, 3, func(r *Round2) { r.Ciphertext = e.c.seal(t, e.c.s, e.tr, 3, 2, 1, pt) })
			},
			culprits: []uint16{3},
			reason:   "does not decrypt",
		},
		{
			name: "fail/encrypted-as-other-sender",
			edit: func(t *testing.T, e env, in []Round2) []Round2 {
				pt := e.c.share(3, 1).Encode()
				return setFrom(in, 3, func(r *Round2) { r.Ciphertext = e.c.seal(t, e.c.s, e.tr, 4, 1, 1, pt) })
			},
			culprits: []uint16{3},
			reason:   "does not decrypt",
		},
		{
			name: "fail/transcript-field-differs",
			edit: func(_ *testing.T, _ env, in []Round2) []Round2 {
				return setFrom(in, 4, func(r *Round2) { r.Transcript[5] ^= 1 })
			},
			culprits: []uint16{4},
			reason:   "another round-1 transcript",
		},
		{
			name: "fail/encrypted-under-other-transcript",
			edit: func(t *testing.T, e env, in []Round2) []Round2 {
				other := e.tr
				other[0] ^= 1
				pt := e.c.share(4, 1).Encode()
				return setFrom(in, 4, func(r *Round2) { r.Ciphertext = e.c.seal(t, e.c.s, other, 4, 1, 1, pt) })
			},
			culprits: []uint16{4},
			reason:   "does not decrypt",
		},
		{
			name: "fail/share-not-canonical",
			edit: func(t *testing.T, e env, in []Round2) []Round2 {
				pt := bytes.Repeat([]byte{0xff}, 32)
				return setFrom(in, 3, func(r *Round2) { r.Ciphertext = e.c.seal(t, e.c.s, e.tr, 3, 1, 1, pt) })
			},
			culprits: []uint16{3},
			reason:   "not a canonical scalar",
			cause:    frost.ErrScalar,
		},
		{
			name: "fail/share-order-plus-one",
			edit: func(t *testing.T, e env, in []Round2) []Round2 {
				// L + 1: reduces to 1 but is not canonical.
				pt := slices.Clone(e.c.s.Suite.Group().Order())
				slices.Reverse(pt) // big-endian order -> little-endian scalar
				if len(pt) != 32 {
					t.Fatalf("order is %d bytes", len(pt))
				}
				pt[0]++
				return setFrom(in, 3, func(r *Round2) { r.Ciphertext = e.c.seal(t, e.c.s, e.tr, 3, 1, 1, pt) })
			},
			culprits: []uint16{3},
			reason:   "not a canonical scalar",
			cause:    frost.ErrScalar,
		},
		{
			name: "fail/share-wrong-length",
			edit: func(t *testing.T, e env, in []Round2) []Round2 {
				pt := e.c.share(3, 1).Encode()[:31]
				return setFrom(in, 3, func(r *Round2) { r.Ciphertext = e.c.seal(t, e.c.s, e.tr, 3, 1, 1, pt) })
			},
			culprits: []uint16{3},
			reason:   "not a canonical scalar",
			cause:    frost.ErrScalar,
		},
		{
			name: "fail/share-fails-feldman",
			edit: func(t *testing.T, e env, in []Round2) []Round2 {
				sh := e.c.share(3, 1)
				pt := sh.Add(e.c.s.Suite.Group().NewScalar().One()).Encode()
				return setFrom(in, 3, func(r *Round2) { r.Ciphertext = e.c.seal(t, e.c.s, e.tr, 3, 1, 1, pt) })
			},
			culprits: []uint16{3},
			reason:   "Feldman",
		},
		{
			name: "fail/share-meant-for-other-participant",
			edit: func(t *testing.T, e env, in []Round2) []Round2 {
				pt := e.c.share(5, 2).Encode()
				return setFrom(in, 5, func(r *Round2) { r.Ciphertext = e.c.seal(t, e.c.s, e.tr, 5, 1, 1, pt) })
			},
			culprits: []uint16{5},
			reason:   "Feldman",
		},
		{
			name: "fail/zero-share",
			edit: func(t *testing.T, e env, in []Round2) []Round2 {
				pt := make([]byte, 32)
				return setFrom(in, 2, func(r *Round2) { r.Ciphertext = e.c.seal(t, e.c.s, e.tr, 2, 1, 1, pt) })
			},
			culprits: []uint16{2},
			reason:   "Feldman",
		},
		{
			name: "fail/duplicate",
			edit: func(_ *testing.T, _ env, in []Round2) []Round2 {
				i := slices.IndexFunc(in, func(r Round2) bool { return r.From == 4 })
				return append(in, in[i])
			},
			culprits: []uint16{4},
			reason:   "more than one",
		},
		{
			name: "fail/missing",
			edit: func(_ *testing.T, _ env, in []Round2) []Round2 {
				return slices.DeleteFunc(in, func(r Round2) bool { return r.From == 5 })
			},
			culprits: []uint16{5},
			reason:   "no round-2 share",
		},
		{
			name: "fail/addressed-to-other-participant",
			edit: func(_ *testing.T, e env, in []Round2) []Round2 {
				m := inbox(e.all, 3)
				i := slices.IndexFunc(m, func(r Round2) bool { return r.From == 2 })
				return setFrom(in, 2, func(x *Round2) { *x = m[i] })
			},
			culprits: []uint16{2},
			reason:   "addressed to participant 3",
		},
		{
			name: "fail/from-out-of-range",
			edit: func(_ *testing.T, _ env, in []Round2) []Round2 {
				r := in[0]
				r.From = 6
				return append(in, r)
			},
			culprits: []uint16{6},
			reason:   "out of range",
		},
		{
			name: "fail/several",
			edit: func(_ *testing.T, _ env, in []Round2) []Round2 {
				in = setFrom(in, 2, func(r *Round2) { r.Ciphertext[50] ^= 1 })
				return slices.DeleteFunc(in, func(r Round2) bool { return r.From == 4 })
			},
			culprits: []uint16{2, 4},
			reason:   "does not decrypt",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCeremony(t, frost.Ed25519, 3, 5)
			tr, all := c.round2(t, c.round1(t))
			honest := inbox(all, 1)
			in := make([]Round2, len(honest))
			for i, r := range honest {
				in[i] = r
				in[i].Ciphertext = slices.Clone(r.Ciphertext)
			}
			in = tc.edit(t, env{c: c, tr: tr, all: all}, in)

			p := c.p(1)
			_, err := p.Finalize(tr, in)
			checkMisbehaviour(t, "Finalize", err, tc.culprits, tc.reason, tc.cause)
			for i := uint16(2); i <= 5; i++ {
				if sh := hex.EncodeToString(c.share(i, 1).Encode()); strings.Contains(err.Error(), sh) {
					t.Fatal("error carries a secret share")
				}
			}
			if strings.Contains(err.Error(), "ffffffff") {
				t.Fatal("error carries the decrypted plaintext")
			}

			// The honest participant is finished: it holds no secret and
			// refuses even the honest messages.
			if p.ownShare != nil {
				t.Fatal("failed participant kept its share")
			}
			if _, err := p.Finalize(tr, honest); !errors.Is(err, ErrState) {
				t.Fatalf("Finalize after failure: %v", err)
			}
			// The others, given honest messages, still finish.
			if _, err := c.p(2).Finalize(tr, inbox(all, 2)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRound2RelayFaults(t *testing.T) {
	tests := []struct {
		name string
		run  func(p *Participant, tr [32]byte, in []Round2) error
		want error
	}{
		{"fail/caller-transcript-mismatch", func(p *Participant, tr [32]byte, in []Round2) error {
			tr[0] ^= 1
			_, err := p.Finalize(tr, in)
			return err
		}, ErrTranscriptMismatch},
		{"fail/message-from-self", func(p *Participant, tr [32]byte, in []Round2) error {
			in[0].From = p.ID()
			_, err := p.Finalize(tr, in)
			return err
		}, ErrTampered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCeremony(t, frost.Ed25519, 2, 3)
			tr, all := c.round2(t, c.round1(t))
			in := inbox(all, 1)
			if err := tc.run(c.p(1), tr, slices.Clone(in)); !errors.Is(err, tc.want) {
				t.Fatalf("Finalize = %v, want %v", err, tc.want)
			}
			if _, err := c.p(1).Finalize(tr, in); !errors.Is(err, ErrState) {
				t.Fatalf("Finalize after failure: %v", err)
			}
		})
	}
}

// TestEquivocation: participant 2 sends one round-1 package to participant
// 1 and another to participant 3. Their transcripts differ (the echo
// comparison catches it), and each refuses the other's round-2 message,
// built on the other transcript, naming its sender.
func TestEquivocation(t *testing.T) {
	c := newCeremony(t, frost.Ed25519, 2, 3)
	r1 := c.round1(t)
	p2b, err := NewParticipant(c.s, 2, c.keys[1])
	if err != nil {
		t.Fatal(err)
	}
	alt, err := p2b.Round1()
	if err != nil {
		t.Fatal(err)
	}
	viewA := r1                          // seen by 1 and by participant 2's first instance
	viewB := replace(cloneSet(r1), *alt) // seen by 3 and by participant 2's second instance
	trA, outA, err := c.p(1).Round2(viewA, c.pubs)
	if err != nil {
		t.Fatal(err)
	}
	trB, outB, err := c.p(3).Round2(viewB, c.pubs)
	if err != nil {
		t.Fatal(err)
	}
	if trA == trB {
		t.Fatal("different round-1 sets have the same transcript")
	}
	_, out2a, err := c.p(2).Round2(viewA, c.pubs)
	if err != nil {
		t.Fatal(err)
	}
	_, out2b, err := p2b.Round2(viewB, c.pubs)
	if err != nil {
		t.Fatal(err)
	}
	// Participant 1 gets 2's message from its own view and 3's from the
	// other one.
	in1 := append(inbox(out2a, 1), inbox(outB, 1)...)
	_, err = c.p(1).Finalize(trA, in1)
	if got := Culprits(err); !slices.Equal(got, []uint16{3}) {
		t.Fatalf("participant 1: %v, want participant 3 named", err)
	}
	var m *MisbehaviourError
	if !errors.As(err, &m) || !strings.Contains(m.Reason, "transcript") {
		t.Fatalf("reason %v does not name the transcript", m)
	}
	in3 := append(inbox(out2b, 3), inbox(outA, 3)...)
	_, err = c.p(3).Finalize(trB, in3)
	if got := Culprits(err); !slices.Equal(got, []uint16{1}) {
		t.Fatalf("participant 3: %v, want participant 1 named", err)
	}
}

func ecdhPublic(b []byte) (*ecdh.PublicKey, error) { return ecdh.X25519().NewPublicKey(b) }
