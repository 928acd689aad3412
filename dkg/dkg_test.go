package dkg

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/bytemare/ecc"
	"github.com/custos-dev/custos/frost"
)

// ceremony runs n participants of one session in one process.
type ceremony struct {
	s     Session
	parts []*Participant // index id-1
	keys  []*ecdh.PrivateKey
	pubs  map[uint16][]byte
	// coeffs keeps a copy of each participant's polynomial (test only), to
	// forge messages that differ from the honest ones in one respect.
	coeffs [][]*ecc.Scalar
}

func newCeremony(tb testing.TB, suite frost.Suite, t, n uint16) *ceremony {
	tb.Helper()
	s, err := NewSession(suite, t, n)
	if err != nil {
		tb.Fatal(err)
	}
	keys, pubs := hpkeKeys(tb, n)
	return newCeremonyWith(tb, s, keys, pubs)
}

func hpkeKeys(tb testing.TB, n uint16) ([]*ecdh.PrivateKey, map[uint16][]byte) {
	tb.Helper()
	keys := make([]*ecdh.PrivateKey, n)
	pubs := make(map[uint16][]byte, n)
	for i := range keys {
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		keys[i] = k
		pubs[uint16(i+1)] = k.PublicKey().Bytes()
	}
	return keys, pubs
}

func newCeremonyWith(tb testing.TB, s Session, keys []*ecdh.PrivateKey, pubs map[uint16][]byte) *ceremony {
	tb.Helper()
	c := &ceremony{s: s, keys: keys, pubs: pubs}
	for i := uint16(1); i <= s.N; i++ {
		p, err := NewParticipant(s, i, keys[i-1])
		if err != nil {
			tb.Fatal(err)
		}
		c.parts = append(c.parts, p)
	}
	return c
}

func (c *ceremony) p(id uint16) *Participant { return c.parts[id-1] }

// round1 runs round 1 for everyone and keeps a copy of each polynomial.
func (c *ceremony) round1(tb testing.TB) []Round1 {
	tb.Helper()
	var all []Round1
	for _, p := range c.parts {
		r, err := p.Round1()
		if err != nil {
			tb.Fatal(err)
		}
		all = append(all, *r)
		cp := make([]*ecc.Scalar, len(p.coeffs))
		for k, a := range p.coeffs {
			cp[k] = a.Copy()
		}
		c.coeffs = append(c.coeffs, cp)
	}
	return all
}

// round2 runs round 2 for everyone on the same set and checks that every
// transcript is the same.
func (c *ceremony) round2(tb testing.TB, all []Round1) ([32]byte, []Round2) {
	tb.Helper()
	var (
		tr  [32]byte
		out []Round2
	)
	for i, p := range c.parts {
		t, msgs, err := p.Round2(all, c.pubs)
		if err != nil {
			tb.Fatalf("participant %d round 2: %v", p.ID(), err)
		}
		if i > 0 && t != tr {
			tb.Fatalf("participant %d computed another transcript", p.ID())
		}
		tr = t
		out = append(out, msgs...)
	}
	return tr, out
}

// share is f_from(to), from the test's copy of from's polynomial.
func (c *ceremony) share(from, to uint16) *ecc.Scalar {
	return evalPoly(c.s.Suite.Group(), c.coeffs[from-1], to)
}

func inbox(all []Round2, to uint16) []Round2 {
	var in []Round2
	for _, r := range all {
		if r.To == to {
			in = append(in, r)
		}
	}
	return in
}

func (c *ceremony) finalize(tb testing.TB, tr [32]byte, all []Round2) []*frost.KeyShare {
	tb.Helper()
	var out []*frost.KeyShare
	for _, p := range c.parts {
		ks, err := p.Finalize(tr, inbox(all, p.ID()))
		if err != nil {
			tb.Fatalf("participant %d finalize: %v", p.ID(), err)
		}
		out = append(out, ks)
	}
	return out
}

func runHonest(tb testing.TB, suite frost.Suite, t, n uint16) (*ceremony, []*frost.KeyShare) {
	tb.Helper()
	c := newCeremony(tb, suite, t, n)
	r1 := c.round1(tb)
	tr, r2 := c.round2(tb, r1)
	return c, c.finalize(tb, tr, r2)
}

// lagrange returns λ_i = Π_{j≠i} j / (j - i), the coefficient of i's share
// when interpolating at 0 over ids.
func lagrange(g ecc.Group, ids []uint16, i uint16) *ecc.Scalar {
	num, den := g.NewScalar().One(), g.NewScalar().One()
	xi := g.NewScalar().SetUInt64(uint64(i))
	for _, j := range ids {
		if j == i {
			continue
		}
		xj := g.NewScalar().SetUInt64(uint64(j))
		num.Multiply(xj)
		den.Multiply(xj.Copy().Subtract(xi))
	}
	return num.Multiply(den.Invert())
}

// interpolate recombines the secret of the t-subset ids (test only: in
// production the key is never assembled).
func interpolate(tb testing.TB, suite frost.Suite, shares []*frost.KeyShare, ids []uint16) *ecc.Scalar {
	tb.Helper()
	g := suite.Group()
	s := g.NewScalar()
	for _, id := range ids {
		si, err := suite.DecodeScalar(shares[id-1].Secret)
		if err != nil {
			tb.Fatal(err)
		}
		s.Add(si.Multiply(lagrange(g, ids, id)))
	}
	return s
}

// subsets returns every k-subset of 1..n in lexicographic order.
func subsets(n, k uint16) [][]uint16 {
	var out [][]uint16
	var rec func(start uint16, cur []uint16)
	rec = func(start uint16, cur []uint16) {
		if uint16(len(cur)) == k {
			out = append(out, slices.Clone(cur))
			return
		}
		for i := start; i <= n; i++ {
			rec(i+1, append(cur, i))
		}
	}
	rec(1, nil)
	return out
}

// frostSign has the signers ids sign msg with the FROST signer and
// aggregator of package frost.
func frostSign(tb testing.TB, shares []*frost.KeyShare, ids []uint16, msg []byte) []byte {
	tb.Helper()
	var (
		signers []*frost.Signer
		list    []frost.Commitment
	)
	for _, id := range ids {
		s, err := frost.NewSigner(shares[id-1])
		if err != nil {
			tb.Fatal(err)
		}
		defer s.Close()
		cm, err := s.Commit()
		if err != nil {
			tb.Fatal(err)
		}
		signers = append(signers, s)
		list = append(list, cm)
	}
	sigShares := make(map[uint16][]byte)
	for _, s := range signers {
		ss, err := s.Sign(msg, list)
		if err != nil {
			tb.Fatalf("signer %d: %v", s.ID(), err)
		}
		sigShares[s.ID()] = ss
	}
	sig, err := frost.Aggregate(&shares[ids[0]-1].Group, msg, list, sigShares)
	if err != nil {
		tb.Fatal(err)
	}
	return sig
}

func TestCeremony(t *testing.T) {
	tests := []struct {
		name  string
		suite frost.Suite
		t, n  uint16
	}{
		{"ok/ed25519-2of3", frost.Ed25519, 2, 3},
		{"ok/ed25519-3of5", frost.Ed25519, 3, 5},
		{"ok/ed25519-5of7", frost.Ed25519, 5, 7},
		{"ok/ed25519-7of10", frost.Ed25519, 7, 10},
		{"ok/secp256k1-2of3", frost.Secp256k1, 2, 3},
		{"ok/secp256k1-3of4", frost.Secp256k1, 3, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCeremony(t, tc.suite, tc.t, tc.n)
			r1 := c.round1(t)
			if err := VerifyRound1(c.s, r1); err != nil {
				t.Fatalf("VerifyRound1: %v", err)
			}
			want, err := Transcript(c.s, r1)
			if err != nil {
				t.Fatal(err)
			}
			tr, r2 := c.round2(t, r1)
			if tr != want {
				t.Fatal("participants' transcript differs from Transcript")
			}
			if len(r2) != int(tc.n)*int(tc.n-1) {
				t.Fatalf("%d round-2 messages, want %d", len(r2), tc.n*(tc.n-1))
			}
			shares := c.finalize(t, tr, r2)

			group, _ := json.Marshal(shares[0].Group)
			for i, ks := range shares {
				if ks.ID != uint16(i+1) {
					t.Fatalf("share %d has ID %d", i+1, ks.ID)
				}
				if err := ks.Validate(); err != nil {
					t.Fatalf("share %d: %v", ks.ID, err)
				}
				if g, _ := json.Marshal(ks.Group); !bytes.Equal(g, group) {
					t.Fatalf("participant %d has another group key", ks.ID)
				}
				if ks.Group.Threshold != tc.t || ks.Group.MaxSigners != tc.n || ks.Group.Suite != tc.suite {
					t.Fatalf("group parameters %+v", ks.Group)
				}
			}

			// The first and the last t-subsets recombine to the group key.
			subs := subsets(tc.n, tc.t)
			for _, ids := range [][]uint16{subs[0], subs[len(subs)-1]} {
				s := interpolate(t, tc.suite, shares, ids)
				if got := tc.suite.Group().Base().Multiply(s).Encode(); !bytes.Equal(got, shares[0].Group.VerificationKey) {
					t.Fatalf("subset %v does not recombine to the group key", ids)
				}
			}

			// Any t of them sign with FROST, and the signature verifies.
			msg := []byte("custos dkg test " + tc.name)
			ids := subs[len(subs)/2]
			sig := frostSign(t, shares, ids, msg)
			if tc.suite == frost.Ed25519 {
				if !ed25519.Verify(shares[0].Group.VerificationKey, msg, sig) {
					t.Fatal("crypto/ed25519 refuses the FROST signature")
				}
			}
			if err := frost.Verify(tc.suite, shares[0].Group.VerificationKey, msg, sig); err != nil {
				t.Fatal(err)
			}

			// The participants kept no secret and are done.
			for _, p := range c.parts {
				if p.coeffs != nil || p.ownShare != nil {
					t.Fatalf("participant %d kept secrets", p.ID())
				}
				if _, err := p.Finalize(tr, inbox(r2, p.ID())); !errors.Is(err, ErrState) {
					t.Fatalf("second Finalize: %v, want ErrState", err)
				}
			}
		})
	}
}

// TestEveryThresholdSubset recombines every 3-subset of a 3-of-5 key to the
// group key, and checks that no 2-subset does.
func TestEveryThresholdSubset(t *testing.T) {
	suite := frost.Ed25519
	_, shares := runHonest(t, suite, 3, 5)
	vk := shares[0].Group.VerificationKey
	base := suite.Group().Base()
	subs := subsets(5, 3)
	if len(subs) != 10 {
		t.Fatalf("%d subsets", len(subs))
	}
	for _, ids := range subs {
		t.Run(fmt.Sprintf("ok/%v", ids), func(t *testing.T) {
			if got := base.Copy().Multiply(interpolate(t, suite, shares, ids)).Encode(); !bytes.Equal(got, vk) {
				t.Fatal("does not recombine to the group key")
			}
		})
	}
	for _, ids := range subsets(5, 2) {
		if got := base.Copy().Multiply(interpolate(t, suite, shares, ids)).Encode(); bytes.Equal(got, vk) {
			t.Fatalf("2-subset %v recombines to the group key", ids)
		}
	}
	// Every public share is s_i·G.
	for _, ks := range shares {
		si, _ := suite.DecodeScalar(ks.Secret)
		pub, _ := ks.Group.Share(ks.ID)
		if !bytes.Equal(base.Copy().Multiply(si).Encode(), pub) {
			t.Fatalf("public share %d", ks.ID)
		}
	}
}

// TestIndependentCeremonies checks that two ceremonies give unrelated keys.
func TestIndependentCeremonies(t *testing.T) {
	_, a := runHonest(t, frost.Ed25519, 2, 3)
	_, b := runHonest(t, frost.Ed25519, 2, 3)
	if bytes.Equal(a[0].Group.VerificationKey, b[0].Group.VerificationKey) {
		t.Fatal("two ceremonies produced the same group key")
	}
}

func TestSessionValidate(t *testing.T) {
	id := [32]byte{1}
	tests := []struct {
		name string
		s    Session
		ok   bool
	}{
		{"ok/2of3", Session{ID: id, Suite: frost.Ed25519, Threshold: 2, N: 3}, true},
		{"ok/255of255", Session{ID: id, Suite: frost.Secp256k1, Threshold: 255, N: 255}, true},
		{"fail/t=1", Session{ID: id, Suite: frost.Ed25519, Threshold: 1, N: 3}, false},
		{"fail/t>n", Session{ID: id, Suite: frost.Ed25519, Threshold: 4, N: 3}, false},
		{"fail/n=256", Session{ID: id, Suite: frost.Ed25519, Threshold: 2, N: 256}, false},
		{"fail/zero-id", Session{Suite: frost.Ed25519, Threshold: 2, N: 3}, false},
		{"fail/suite", Session{ID: id, Suite: 1, Threshold: 2, N: 3}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if tc.ok != (err == nil) {
				t.Fatalf("Validate() = %v", err)
			}
			if err != nil && !errors.Is(err, ErrSession) {
				t.Fatalf("%v is not ErrSession", err)
			}
		})
	}
	if _, err := NewSession(frost.Ed25519, 3, 2); !errors.Is(err, ErrSession) {
		t.Fatalf("NewSession(3 of 2) = %v", err)
	}
}

func TestNewParticipant(t *testing.T) {
	s, _ := NewSession(frost.Ed25519, 2, 3)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	tests := []struct {
		name string
		s    Session
		id   uint16
		key  *ecdh.PrivateKey
		ok   bool
	}{
		{"ok", s, 3, x, true},
		{"fail/id-0", s, 0, x, false},
		{"fail/id-n+1", s, 4, x, false},
		{"fail/nil-key", s, 1, nil, false},
		{"fail/p256-key", s, 1, p256, false},
		{"fail/session", Session{Suite: frost.Ed25519, Threshold: 2, N: 3}, 1, x, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewParticipant(tc.s, tc.id, tc.key)
			if tc.ok != (err == nil) {
				t.Fatalf("NewParticipant = %v", err)
			}
			if err != nil && !errors.Is(err, ErrSession) {
				t.Fatalf("%v is not ErrSession", err)
			}
		})
	}
}

func TestStateMachine(t *testing.T) {
	c := newCeremony(t, frost.Ed25519, 2, 3)
	p := c.p(1)
	if _, _, err := p.Round2(nil, c.pubs); !errors.Is(err, ErrState) {
		t.Fatalf("Round2 before Round1: %v", err)
	}
	if _, err := p.Finalize([32]byte{}, nil); !errors.Is(err, ErrState) {
		t.Fatalf("Finalize before Round2: %v", err)
	}
	r1 := c.round1(t)
	if _, err := p.Round1(); !errors.Is(err, ErrState) {
		t.Fatalf("second Round1: %v", err)
	}
	if _, err := p.Finalize([32]byte{}, nil); !errors.Is(err, ErrState) {
		t.Fatalf("Finalize before Round2: %v", err)
	}
	// The failed out-of-order calls did not hurt: the ceremony completes.
	tr, r2 := c.round2(t, r1)
	if _, _, err := p.Round2(r1, c.pubs); !errors.Is(err, ErrState) {
		t.Fatalf("second Round2: %v", err)
	}
	c.finalize(t, tr, r2)

	// Zero ends a participant at any point.
	c2 := newCeremony(t, frost.Ed25519, 2, 3)
	r1 = c2.round1(t)
	c2.p(2).Zero()
	if c2.p(2).coeffs != nil {
		t.Fatal("Zero kept the polynomial")
	}
	if _, _, err := c2.p(2).Round2(r1, c2.pubs); !errors.Is(err, ErrState) {
		t.Fatalf("Round2 after Zero: %v", err)
	}
}

func TestZeroClearsCoefficients(t *testing.T) {
	s, _ := NewSession(frost.Ed25519, 3, 4)
	k, _ := ecdh.X25519().GenerateKey(rand.Reader)
	p, err := NewParticipant(s, 1, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Round1(); err != nil {
		t.Fatal(err)
	}
	coeffs := slices.Clone(p.coeffs) // same *ecc.Scalar values
	p.Zero()
	for k, a := range coeffs {
		if !a.IsZero() {
			t.Fatalf("coefficient %d not zeroed", k)
		}
	}
}

func TestRecipientKeys(t *testing.T) {
	tests := []struct {
		name string
		edit func(map[uint16][]byte)
	}{
		{"fail/missing", func(m map[uint16][]byte) { delete(m, 2) }},
		{"fail/short", func(m map[uint16][]byte) { m[2] = m[2][:31] }},
		{"fail/low-order", func(m map[uint16][]byte) { m[3] = make([]byte, 32) }},
		{"fail/out-of-range", func(m map[uint16][]byte) { m[4] = m[2] }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCeremony(t, frost.Ed25519, 2, 3)
			r1 := c.round1(t)
			pubs := make(map[uint16][]byte)
			for k, v := range c.pubs {
				pubs[k] = slices.Clone(v)
			}
			tc.edit(pubs)
			_, _, err := c.p(1).Round2(r1, pubs)
			if !errors.Is(err, ErrRecipientKey) {
				t.Fatalf("Round2 = %v, want ErrRecipientKey", err)
			}
			if c.p(1).coeffs != nil {
				t.Fatal("failed participant kept its polynomial")
			}
		})
	}
}

func TestTranscript(t *testing.T) {
	c := newCeremony(t, frost.Ed25519, 3, 4)
	r1 := c.round1(t)
	base, err := Transcript(c.s, r1)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := slices.Clone(r1)
	slices.Reverse(shuffled)
	if got, _ := Transcript(c.s, shuffled); got != base {
		t.Fatal("transcript depends on the order of the packages")
	}

	changed := map[string]func(s *Session, all []Round1){
		"session-id": func(s *Session, _ []Round1) { s.ID[0] ^= 1 },
		"commitment": func(_ *Session, all []Round1) { all[2].Commitments[1] = all[1].Commitments[1] },
		"proof-r":    func(_ *Session, all []Round1) { all[0].ProofR = all[1].ProofR },
		"proof-z":    func(_ *Session, all []Round1) { all[3].ProofZ = all[1].ProofZ },
	}
	for name, edit := range changed {
		t.Run("ok/differs-"+name, func(t *testing.T) {
			s := c.s
			all := make([]Round1, len(r1))
			for i := range r1 {
				all[i] = *cloneRound1(&r1[i])
			}
			edit(&s, all)
			got, err := Transcript(s, all)
			if err != nil {
				t.Fatal(err)
			}
			if got == base {
				t.Fatal("transcript did not change")
			}
		})
	}
	t.Run("fail/other-suite", func(t *testing.T) {
		s := c.s
		s.Suite = frost.Secp256k1 // 33-byte elements: every package is the wrong size
		if _, err := Transcript(s, r1); !errors.Is(err, ErrMisbehaviour) {
			t.Fatalf("Transcript = %v", err)
		}
	})
	t.Run("fail/missing", func(t *testing.T) {
		_, err := Transcript(c.s, r1[:3])
		var m *MisbehaviourError
		if !errors.As(err, &m) || m.Participant != 4 {
			t.Fatalf("Transcript = %v", err)
		}
	})
}
