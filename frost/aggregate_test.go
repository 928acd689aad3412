package frost

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"testing"
)

// session is one signing round of a t-of-n group, stopped after round two.
type session struct {
	g      *GroupKey
	msg    []byte
	list   []Commitment
	shares map[uint16][]byte
}

func newSession(t *testing.T, g *GroupKey, signers []*Signer, ids []uint16, msg []byte) *session {
	t.Helper()
	list, shares, err := commitAndSign(signers, ids, nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	return &session{g: g, msg: msg, list: list, shares: shares}
}

// plusOne is share + 1: a canonical scalar, but the wrong one.
func plusOne(t *testing.T, suite Suite, share []byte) []byte {
	t.Helper()
	sc, err := suite.DecodeScalar(share)
	if err != nil {
		t.Fatal(err)
	}
	return sc.Add(suite.Group().NewScalar().One()).Encode()
}

func TestAggregateNamesBadShares(t *testing.T) {
	for _, suite := range []Suite{Ed25519, Secp256k1} {
		ks, signers := dealer(t, suite, 3, 5)
		g := &ks[0].Group
		ids := []uint16{1, 3, 4, 5}
		nonCanonical := bytes.Repeat([]byte{0xff}, suite.ScalarLength())
		stale := newSession(t, g, signers, ids, []byte("an earlier session"))
		cases := []struct {
			name    string
			corrupt func(s *session)
			bad     []uint16
		}{
			{"fail/one-wrong", func(s *session) { s.shares[3] = plusOne(t, suite, s.shares[3]) }, []uint16{3}},
			{"fail/first-wrong", func(s *session) { s.shares[1] = plusOne(t, suite, s.shares[1]) }, []uint16{1}},
			{"fail/two-wrong", func(s *session) {
				s.shares[1] = plusOne(t, suite, s.shares[1])
				s.shares[5] = plusOne(t, suite, s.shares[5])
			}, []uint16{1, 5}},
			{"fail/stale", func(s *session) { s.shares[4] = stale.shares[4] }, []uint16{4}},
			{"fail/non-canonical", func(s *session) { s.shares[4] = nonCanonical }, []uint16{4}},
			{"fail/zero", func(s *session) { s.shares[4] = make([]byte, suite.ScalarLength()) }, []uint16{4}},
			{"fail/short-and-wrong", func(s *session) {
				s.shares[1] = s.shares[1][1:]
				s.shares[5] = plusOne(t, suite, s.shares[5])
			}, []uint16{1, 5}},
			{"fail/all-wrong", func(s *session) {
				for _, id := range ids {
					s.shares[id] = plusOne(t, suite, s.shares[id])
				}
			}, ids},
		}
		for _, c := range cases {
			t.Run(suite.Curve()+"/"+c.name, func(t *testing.T) {
				s := newSession(t, g, signers, ids, []byte(c.name))
				c.corrupt(s)
				sig, err := Aggregate(g, s.msg, s.list, s.shares)
				if sig != nil {
					t.Fatal("signature returned")
				}
				var ise *InvalidSharesError
				if !errors.As(err, &ise) || !errors.Is(err, ErrInvalidShare) {
					t.Fatalf("Aggregate = %v, want *InvalidSharesError", err)
				}
				if !slices.Equal(ise.Signers, c.bad) {
					t.Fatalf("bad signers %v, want %v", ise.Signers, c.bad)
				}
				for _, id := range ids {
					err := VerifyShare(g, s.msg, s.list, id, s.shares[id])
					if slices.Contains(c.bad, id) != errors.Is(err, ErrInvalidShare) {
						t.Fatalf("VerifyShare(%d) = %v", id, err)
					}
				}
			})
		}
		t.Run(suite.Curve()+"/ok", func(t *testing.T) {
			s := newSession(t, g, signers, ids, []byte("ok"))
			sig, err := Aggregate(g, s.msg, s.list, s.shares)
			if err != nil {
				t.Fatal(err)
			}
			checkSignature(t, g, s.msg, sig)
		})
		// Shares are only checked one by one when the aggregate fails: two
		// swapped shares still sum to a valid signature, which is returned.
		t.Run(suite.Curve()+"/ok/swapped", func(t *testing.T) {
			s := newSession(t, g, signers, ids, []byte("swapped"))
			s.shares[3], s.shares[4] = s.shares[4], s.shares[3]
			sig, err := Aggregate(g, s.msg, s.list, s.shares)
			if err != nil {
				t.Fatal(err)
			}
			checkSignature(t, g, s.msg, sig)
		})
	}
}

func TestAggregateShareSet(t *testing.T) {
	ks, signers := dealer(t, Ed25519, 2, 3)
	g := &ks[0].Group
	s := newSession(t, g, signers, []uint16{1, 2}, []byte("m"))
	missing := map[uint16][]byte{1: s.shares[1]}
	extra := map[uint16][]byte{1: s.shares[1], 2: s.shares[2], 3: s.shares[2]}
	for name, shares := range map[string]map[uint16][]byte{"fail/missing": missing, "fail/extra": extra, "fail/nil": nil} {
		t.Run(name, func(t *testing.T) {
			if _, err := Aggregate(g, s.msg, s.list, shares); !errors.Is(err, ErrShares) {
				t.Fatalf("Aggregate = %v, want ErrShares", err)
			}
		})
	}
	t.Run("fail/bad-list", func(t *testing.T) {
		if _, err := Aggregate(g, s.msg, []Commitment{s.list[1], s.list[0]}, s.shares); !errors.Is(err, ErrCommitmentList) {
			t.Fatalf("Aggregate = %v, want ErrCommitmentList", err)
		}
	})
	t.Run("fail/other-message", func(t *testing.T) {
		_, err := Aggregate(g, []byte("other"), s.list, s.shares)
		var ise *InvalidSharesError
		if !errors.As(err, &ise) || !slices.Equal(ise.Signers, []uint16{1, 2}) {
			t.Fatalf("Aggregate = %v, want both signers named", err)
		}
	})
}

func TestVerifyShare(t *testing.T) {
	ks, signers := dealer(t, Secp256k1, 2, 3)
	g := &ks[0].Group
	s := newSession(t, g, signers, []uint16{2, 3}, []byte("m"))
	cases := []struct {
		name   string
		list   []Commitment
		signer uint16
		share  []byte
		want   error
	}{
		{"ok", s.list, 2, s.shares[2], nil},
		{"fail/wrong", s.list, 2, plusOne(t, Secp256k1, s.shares[2]), ErrInvalidShare},
		{"fail/other-signers-share", s.list, 2, s.shares[3], ErrInvalidShare},
		{"fail/zero", s.list, 2, make([]byte, 32), ErrInvalidShare},
		{"fail/non-canonical", s.list, 2, bytes.Repeat([]byte{0xff}, 32), ErrInvalidShare},
		{"fail/empty", s.list, 2, nil, ErrInvalidShare},
		{"fail/not-in-list", s.list, 1, s.shares[2], ErrShares},
		{"fail/bad-list", s.list[:1], 2, s.shares[2], ErrCommitmentList},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyShare(g, s.msg, c.list, c.signer, c.share)
			if c.want == nil && err != nil || !errors.Is(err, c.want) {
				t.Fatalf("VerifyShare = %v, want %v", err, c.want)
			}
		})
	}
}

func TestValidateCommitmentList(t *testing.T) {
	ks, signers := dealer(t, Ed25519, 3, 5)
	g := &ks[0].Group
	var cs []Commitment
	for _, s := range signers {
		c, err := s.Commit()
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	at := func(i int, f func(*Commitment)) []Commitment {
		l := []Commitment{cs[0].clone(), cs[2].clone(), cs[4].clone()}
		f(&l[i])
		return l
	}
	badShape := *g
	badShape.Shares = g.Shares[:4]
	cases := []struct {
		name string
		g    *GroupKey
		list []Commitment
		want []error
	}{
		{"ok/threshold", g, []Commitment{cs[0], cs[2], cs[4]}, nil},
		{"ok/all", g, cs, nil},
		{"fail/too-few", g, cs[:2], []error{ErrCommitmentList}},
		{"fail/too-many", g, append(slices.Clone(cs), at(0, func(c *Commitment) { c.Signer = 6 })[0]), []error{ErrCommitmentList}},
		{"fail/unsorted", g, []Commitment{cs[2], cs[0], cs[4]}, []error{ErrCommitmentList}},
		{"fail/duplicate", g, []Commitment{cs[0], cs[2], cs[2]}, []error{ErrCommitmentList}},
		{"fail/signer-0", g, at(0, func(c *Commitment) { c.Signer = 0 }), []error{ErrCommitmentList}},
		{"fail/signer-above-n", g, at(2, func(c *Commitment) { c.Signer = 6 }), []error{ErrCommitmentList}},
		{"fail/identity", g, at(1, func(c *Commitment) { c.Hiding = badElements(t, Ed25519)["identity"] }), []error{ErrCommitmentList, ErrElement}},
		{"fail/small-order", g, at(1, func(c *Commitment) { c.Binding = badElements(t, Ed25519)["small-order"] }), []error{ErrCommitmentList, ErrElement}},
		{"fail/torsion", g, at(2, func(c *Commitment) { c.Binding = torsionPoint(t) }), []error{ErrCommitmentList, ErrElement}},
		{"fail/non-canonical", g, at(0, func(c *Commitment) { c.Hiding = badElements(t, Ed25519)["non-canonical"] }), []error{ErrCommitmentList, ErrElement}},
		{"fail/generator", g, at(0, func(c *Commitment) { c.Hiding = badElements(t, Ed25519)["generator"] }), []error{ErrCommitmentList, ErrElement}},
		{"fail/nil-element", g, at(0, func(c *Commitment) { c.Hiding = nil }), []error{ErrCommitmentList, ErrElement}},
		{"fail/nil-group", nil, cs, []error{ErrKey}},
		{"fail/group-shape", &badShape, cs[:3], []error{ErrKey}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateCommitmentList(c.g, c.list)
			if c.want == nil && err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Fatalf("ValidateCommitmentList = %v, want %v", err, w)
				}
			}
		})
	}
}

func TestVerify(t *testing.T) {
	for _, suite := range []Suite{Ed25519, Secp256k1} {
		ks, signers := dealer(t, suite, 2, 3)
		g := &ks[0].Group
		msg := []byte("verify me")
		sig := round(t, g, signers, []uint16{1, 3}, nil, msg)
		flip := func(i int) []byte { s := slices.Clone(sig); s[i] ^= 1; return s }
		el := suite.ElementLength()
		otherKS, _ := TrustedDealerKeys(suite, 2, 3)
		var zHigh []byte
		if suite == Secp256k1 {
			zHigh = slices.Concat(sig[:el], secp256k1N.FillBytes(make([]byte, 32)))
		} else {
			b := slices.Clone(sig[el:])
			slices.Reverse(b)
			z := new(big.Int).SetBytes(b)
			zHigh = slices.Concat(sig[:el], le32(z.Add(z, ed25519L)))
		}
		cases := []struct {
			name string
			pk   []byte
			msg  []byte
			sig  []byte
			want error
		}{
			{"ok", g.VerificationKey, msg, sig, nil},
			{"fail/message", g.VerificationKey, []byte("verify mE"), sig, ErrInvalidSignature},
			{"fail/r-bit", g.VerificationKey, msg, flip(3), ErrInvalidSignature},
			{"fail/z-bit", g.VerificationKey, msg, flip(el + 3), ErrInvalidSignature},
			{"fail/z-plus-order", g.VerificationKey, msg, zHigh, ErrInvalidSignature},
			{"fail/short", g.VerificationKey, msg, sig[:len(sig)-1], ErrInvalidSignature},
			{"fail/long", g.VerificationKey, msg, append(slices.Clone(sig), 0), ErrInvalidSignature},
			{"fail/other-key", otherKS[0].Group.VerificationKey, msg, sig, ErrInvalidSignature},
			{"fail/identity-key", badElements(t, suite)["identity"], msg, sig, ErrElement},
			{"fail/non-canonical-key", badElements(t, suite)["non-canonical"], msg, sig, ErrElement},
		}
		for _, c := range cases {
			t.Run(suite.Curve()+"/"+c.name, func(t *testing.T) {
				err := Verify(suite, c.pk, c.msg, c.sig)
				if c.want == nil && err != nil || !errors.Is(err, c.want) {
					t.Fatalf("Verify = %v, want %v", err, c.want)
				}
			})
		}
	}
	if err := Verify(Suite(2), nil, nil, nil); !errors.Is(err, ErrUnknownSuite) {
		t.Fatalf("Verify(unknown suite) = %v", err)
	}
}

// TestConcurrentSigning runs full rounds from 8 goroutines at once, on
// shared Signers of both suites, so -race sees every path into bytemare.
func TestConcurrentSigning(t *testing.T) {
	signConcurrently(t, 8, 50, func(t *testing.T, g *GroupKey) aggregateFunc {
		return func(msg []byte, list []Commitment, shares map[uint16][]byte) ([]byte, error) {
			return Aggregate(g, msg, list, shares)
		}
	})
}

// aggregateFunc aggregates the signature shares of one round.
type aggregateFunc func(msg []byte, list []Commitment, shares map[uint16][]byte) ([]byte, error)

// signConcurrently runs rounds signing rounds from each of goroutines
// goroutines at once, on shared Signers of a 2-of-3 group in both suites,
// aggregating with what aggregator returns for the group. Every signature
// must verify, and no nonce may be left behind.
func signConcurrently(t *testing.T, goroutines, rounds int, aggregator func(*testing.T, *GroupKey) aggregateFunc) {
	type group struct {
		g         *GroupKey
		aggregate aggregateFunc
		signers   []*Signer
	}
	var groups []group
	for _, suite := range []Suite{Ed25519, Secp256k1} {
		ks, signers := dealer(t, suite, 2, 3)
		groups = append(groups, group{&ks[0].Group, aggregator(t, &ks[0].Group), signers})
	}
	subsets := subsets(3, 2)
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for w := range goroutines {
		wg.Go(func() {
			gr := groups[w%len(groups)]
			for r := range rounds {
				msg := fmt.Appendf(nil, "goroutine %d round %d", w, r)
				list, shares, err := commitAndSign(gr.signers, subsets[(w+r)%len(subsets)], nil, msg)
				var sig []byte
				if err == nil {
					sig, err = gr.aggregate(msg, list, shares)
				}
				if err == nil {
					err = Verify(gr.g.Suite, gr.g.VerificationKey, msg, sig)
				}
				if err == nil && gr.g.Suite == Ed25519 && !ed25519.Verify(gr.g.VerificationKey, msg, sig) {
					err = errors.New("crypto/ed25519 refused")
				}
				if err != nil {
					errs <- fmt.Errorf("goroutine %d round %d: %w", w, r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, gr := range groups {
		for _, s := range gr.signers {
			if s.Pending() != 0 {
				t.Errorf("signer %d holds %d nonces", s.ID(), s.Pending())
			}
		}
	}
}

// TestAggregator checks that a prepared Aggregator answers as the
// package-level Aggregate and VerifyShare do, for every signer subset of a
// 2-of-3 group in both suites.
func TestAggregator(t *testing.T) {
	for _, suite := range []Suite{Ed25519, Secp256k1} {
		ks, signers := dealer(t, suite, 2, 3)
		g := &ks[0].Group
		a, err := NewAggregator(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, ids := range subsets(3, 2) {
			t.Run(fmt.Sprintf("%s/%v", suite.Curve(), ids), func(t *testing.T) {
				s := newSession(t, g, signers, ids, []byte("prepared"))
				sig, err := a.Aggregate(s.msg, s.list, s.shares)
				if err != nil {
					t.Fatal(err)
				}
				checkSignature(t, g, s.msg, sig)
				for _, id := range ids {
					if err := a.VerifyShare(s.msg, s.list, id, s.shares[id]); err != nil {
						t.Fatalf("VerifyShare(%d) = %v", id, err)
					}
				}
				s.shares[ids[1]] = plusOne(t, suite, s.shares[ids[1]])
				_, err = a.Aggregate(s.msg, s.list, s.shares)
				var ise *InvalidSharesError
				if !errors.As(err, &ise) || !slices.Equal(ise.Signers, ids[1:]) {
					t.Fatalf("Aggregate with a bad share = %v, want signer %d named", err, ids[1])
				}
				if err := a.VerifyShare(s.msg, s.list, ids[1], s.shares[ids[1]]); !errors.Is(err, ErrInvalidShare) {
					t.Fatalf("VerifyShare(bad) = %v", err)
				}
			})
		}
		t.Run(suite.Curve()+"/fail/inputs", func(t *testing.T) {
			s := newSession(t, g, signers, []uint16{1, 2}, []byte("inputs"))
			if _, err := a.Aggregate(s.msg, s.list[:1], s.shares); !errors.Is(err, ErrCommitmentList) {
				t.Fatalf("Aggregate(short list) = %v, want ErrCommitmentList", err)
			}
			if _, err := a.Aggregate(s.msg, s.list, map[uint16][]byte{1: s.shares[1]}); !errors.Is(err, ErrShares) {
				t.Fatalf("Aggregate(missing share) = %v, want ErrShares", err)
			}
			if err := a.VerifyShare(s.msg, s.list, 3, s.shares[1]); !errors.Is(err, ErrShares) {
				t.Fatalf("VerifyShare(signer not in list) = %v, want ErrShares", err)
			}
		})
	}
}

// TestNewAggregator checks that every element of the group is decoded once,
// up front: a bad public share is refused even if it would not take part.
func TestNewAggregator(t *testing.T) {
	ks, _ := dealer(t, Ed25519, 2, 3)
	g := &ks[0].Group
	with := func(f func(g *GroupKey)) *GroupKey {
		c := *g
		c.Shares = slices.Clone(g.Shares)
		c.VerificationKey = slices.Clone(g.VerificationKey)
		f(&c)
		return &c
	}
	cases := []struct {
		name string
		g    *GroupKey
		want error
	}{
		{"ok", g, nil},
		{"fail/nil", nil, ErrKey},
		{"fail/shape", with(func(g *GroupKey) { g.Shares = g.Shares[:2] }), ErrKey},
		{"fail/suite", with(func(g *GroupKey) { g.Suite = Suite(2) }), ErrKey},
		{"fail/verification-key", with(func(g *GroupKey) { g.VerificationKey = badElements(t, Ed25519)["small-order"] }), ErrKey},
		{"fail/third-share-torsion", with(func(g *GroupKey) { g.Shares[2].Key = torsionPoint(t) }), ErrKey},
		{"fail/duplicate-shares", with(func(g *GroupKey) { g.Shares[2].Key = g.Shares[0].Key }), ErrKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := NewAggregator(c.g)
			if c.want == nil && err != nil || !errors.Is(err, c.want) || (err == nil) != (a != nil) {
				t.Fatalf("NewAggregator = %v, %v; want %v", a, err, c.want)
			}
		})
	}
}

// TestAggregatorConcurrent shares one Aggregator per suite among 4
// goroutines, so -race sees its state only read and bytemare only called
// under the lock.
func TestAggregatorConcurrent(t *testing.T) {
	signConcurrently(t, 4, 6, func(t *testing.T, g *GroupKey) aggregateFunc {
		a, err := NewAggregator(g)
		if err != nil {
			t.Fatal(err)
		}
		return a.Aggregate
	})
}
