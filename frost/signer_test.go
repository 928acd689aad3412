package frost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestSignEndToEnd(t *testing.T) {
	cases := []struct {
		suite        Suite
		threshold, n uint16
		allSizes     bool // every subset size t..n, not only t
		allOrders    bool // every signing order, not one random order
	}{
		{Ed25519, 2, 3, true, true},
		{Ed25519, 3, 5, true, false},
		{Ed25519, 7, 10, false, false},
		{Secp256k1, 2, 3, true, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("ok/%s/%d-of-%d", c.suite.Curve(), c.threshold, c.n), func(t *testing.T) {
			ks, signers := dealer(t, c.suite, c.threshold, c.n)
			g := &ks[0].Group
			rng := rand.New(rand.NewPCG(uint64(c.threshold), uint64(c.n)))
			maxSize := int(c.threshold)
			if c.allSizes {
				maxSize = int(c.n)
			}
			rounds := 0
			for size := int(c.threshold); size <= maxSize; size++ {
				all := subsets(int(c.n), size)
				if raceEnabled && len(all) > 20 {
					// 7-of-10 has 120 subsets at ~0.1 s each under -race:
					// take every eighth (all of them without -race).
					var sample [][]uint16
					for i := 0; i < len(all); i += 8 {
						sample = append(sample, all[i])
					}
					all = sample
				}
				for _, ids := range all {
					orders := [][]int{rng.Perm(size)}
					if c.allOrders {
						orders = permutations(size)
					}
					for _, order := range orders {
						msg := fmt.Appendf(nil, "transfer %v order %v", ids, order)
						sig := round(t, g, signers, ids, order, msg)
						if len(sig) != c.suite.SignatureLength() {
							t.Fatalf("signature is %d bytes", len(sig))
						}
						checkSignature(t, g, msg, sig)
						rounds++
					}
				}
			}
			for _, s := range signers {
				if s.Pending() != 0 {
					t.Fatalf("signer %d still holds %d nonces", s.ID(), s.Pending())
				}
			}
			t.Logf("%d rounds", rounds)
		})
	}
}

func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			out = append(out, slices.Insert(slices.Clone(p), i, n-1))
		}
	}
	return out
}

// badElements returns encodings DecodeElement must refuse in suite, by
// name.
func badElements(t *testing.T, suite Suite) map[string][]byte {
	switch suite {
	case Ed25519:
		pt := Ed25519.Group().Base().Encode()
		return map[string][]byte{
			"identity":      unhex(t, "0100000000000000000000000000000000000000000000000000000000000000"),
			"non-canonical": le32(new(big.Int).Add(ed25519P, big.NewInt(1))),
			"small-order":   unhex(t, ed25519SmallOrder["order 8 c"]),
			"torsion":       torsionPoint(t),
			"generator":     pt,
			"short":         pt[:31],
		}
	default:
		x := big.NewInt(1)
		for big.Jacobi(secp256k1RHS(x), secp256k1P) != 1 {
			x.Add(x, big.NewInt(1))
		}
		pt := Secp256k1.Group().Base().Encode()
		return map[string][]byte{
			"identity":      make([]byte, 33),
			"non-canonical": slices.Concat([]byte{2}, new(big.Int).Add(x, secp256k1P).FillBytes(make([]byte, 32))),
			"uncompressed":  slices.Concat([]byte{4}, pt[1:]),
			"generator":     pt,
			"short":         pt[:32],
		}
	}
}

// torsionPoint is a random prime-order Ed25519 point plus an order-8 point.
func torsionPoint(t *testing.T) []byte {
	t.Helper()
	g := Ed25519.Group()
	p := g.Base().Multiply(g.NewScalar().Random())
	tp := g.NewElement()
	if err := tp.Decode(unhex(t, ed25519SmallOrder["order 8 c"])); err != nil {
		t.Fatal(err)
	}
	return p.Add(tp).Encode()
}

func TestSignAdversarial(t *testing.T) {
	type lists struct{ own, c2, c3 Commitment }
	type tc struct {
		name     string
		build    func(l lists) []Commitment
		want     []error
		consumed bool // signer 1's nonce is gone afterwards
	}
	with := func(c Commitment, f func(*Commitment)) Commitment { c = c.clone(); f(&c); return c }
	baseCases := []tc{
		{"fail/unsorted", func(l lists) []Commitment { return []Commitment{l.c2, l.own} }, []error{ErrCommitmentList}, true},
		{"fail/unsorted-three", func(l lists) []Commitment { return []Commitment{l.own, l.c3, l.c2} }, []error{ErrCommitmentList}, true},
		{"fail/duplicate-signer", func(l lists) []Commitment { return []Commitment{l.own, l.c2, l.c2} }, []error{ErrCommitmentList}, true},
		{"fail/duplicate-own", func(l lists) []Commitment { return []Commitment{l.own, l.own, l.c2} }, []error{ErrCommitmentList}, true},
		{"fail/signer-0", func(l lists) []Commitment {
			return []Commitment{with(l.c2, func(c *Commitment) { c.Signer = 0 }), l.own}
		}, []error{ErrCommitmentList}, true},
		{"fail/signer-above-n", func(l lists) []Commitment {
			return []Commitment{l.own, l.c2, with(l.c3, func(c *Commitment) { c.Signer = 4 })}
		}, []error{ErrCommitmentList}, true},
		{"fail/signer-max-uint16", func(l lists) []Commitment {
			return []Commitment{l.own, with(l.c3, func(c *Commitment) { c.Signer = 0xffff })}
		}, []error{ErrCommitmentList}, true},
		{"fail/too-few", func(l lists) []Commitment { return []Commitment{l.own} }, []error{ErrCommitmentList}, true},
		{"fail/empty", func(l lists) []Commitment { return nil }, []error{ErrCommitmentList}, false},
		{"fail/too-many", func(l lists) []Commitment {
			return []Commitment{l.own, l.c2, l.c3, with(l.c3, func(c *Commitment) { c.Signer = 4 })}
		}, []error{ErrCommitmentList}, true},
		{"fail/own-missing", func(l lists) []Commitment { return []Commitment{l.c2, l.c3} }, []error{ErrCommitmentList}, false},
		{"fail/own-hiding-altered", func(l lists) []Commitment {
			return []Commitment{with(l.own, func(c *Commitment) { c.Hiding = l.c2.Hiding }), l.c2}
		}, []error{ErrCommitmentList, ErrCommitmentMismatch}, true},
		{"fail/own-binding-altered", func(l lists) []Commitment {
			return []Commitment{with(l.own, func(c *Commitment) { c.Binding = l.c3.Binding }), l.c2}
		}, []error{ErrCommitmentList, ErrCommitmentMismatch}, true},
		{"fail/own-swapped", func(l lists) []Commitment {
			return []Commitment{with(l.own, func(c *Commitment) { c.Hiding, c.Binding = c.Binding, c.Hiding }), l.c2}
		}, []error{ErrCommitmentList, ErrCommitmentMismatch}, true},
		{"fail/unknown-nonce-id", func(l lists) []Commitment {
			return []Commitment{with(l.own, func(c *Commitment) { c.ID ^= 1 }), l.c2}
		}, []error{ErrUnknownNonce}, false},
		{"fail/other-signer-nonce-id", func(l lists) []Commitment {
			return []Commitment{with(l.own, func(c *Commitment) { c.ID = l.c2.ID }), l.c2}
		}, []error{ErrUnknownNonce}, false},
	}

	for _, suite := range []Suite{Ed25519, Secp256k1} {
		ks, signers := dealer(t, suite, 2, 3)
		g := &ks[0].Group
		cases := slices.Clone(baseCases)
		for name, bad := range badElements(t, suite) {
			cases = append(cases,
				tc{"fail/other-hiding-" + name, func(l lists) []Commitment {
					return []Commitment{l.own, with(l.c2, func(c *Commitment) { c.Hiding = bad })}
				}, []error{ErrCommitmentList, ErrElement}, true},
				tc{"fail/other-binding-" + name, func(l lists) []Commitment {
					return []Commitment{l.own, l.c2, with(l.c3, func(c *Commitment) { c.Binding = bad })}
				}, []error{ErrCommitmentList, ErrElement}, true},
				tc{"fail/own-hiding-" + name, func(l lists) []Commitment {
					return []Commitment{with(l.own, func(c *Commitment) { c.Hiding = bad }), l.c2}
				}, []error{ErrCommitmentList, ErrElement}, true},
			)
		}
		for _, c := range cases {
			t.Run(suite.Curve()+"/"+c.name, func(t *testing.T) {
				s1 := signers[0]
				before := s1.Pending()
				var l lists
				var err error
				for i, p := range []*Commitment{&l.own, &l.c2, &l.c3} {
					if *p, err = signers[i].Commit(); err != nil {
						t.Fatal(err)
					}
				}
				t.Cleanup(func() { signers[1].Discard(l.c2.ID); signers[2].Discard(l.c3.ID) })
				msg := []byte("pay 100 to mallory")
				share, err := s1.Sign(msg, c.build(l))
				if share != nil {
					t.Fatalf("share %x released", share)
				}
				for _, w := range c.want {
					if !errors.Is(err, w) {
						t.Fatalf("Sign = %v, want %v", err, w)
					}
				}
				good := []Commitment{l.own, l.c2}
				if c.consumed {
					if got := s1.Pending(); got != before {
						t.Fatalf("Pending = %d, want %d (nonce consumed)", got, before)
					}
					if sh, err := s1.Sign(msg, good); !errors.Is(err, ErrUnknownNonce) || sh != nil {
						t.Fatalf("Sign with the consumed nonce = %x, %v; want ErrUnknownNonce", sh, err)
					}
					return
				}
				if got := s1.Pending(); got != before+1 {
					t.Fatalf("Pending = %d, want %d (nonce not named, so kept)", got, before+1)
				}
				sh, err := s1.Sign(msg, good)
				if err != nil {
					t.Fatalf("Sign with the kept nonce: %v", err)
				}
				if err := VerifyShare(g, msg, good, 1, sh); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestSignNonceSingleUse(t *testing.T) {
	ks, signers := dealer(t, Ed25519, 2, 3)
	g := &ks[0].Group
	c1, _ := signers[0].Commit()
	c2, _ := signers[1].Commit()
	list := []Commitment{c1, c2}
	msg := []byte("message one")
	sh1, err := signers[0].Sign(msg, list)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyShare(g, msg, list, 1, sh1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"fail/same-message", msg},
		{"fail/other-message", []byte("message two")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sh, err := signers[0].Sign(tc.msg, list)
			if !errors.Is(err, ErrUnknownNonce) || sh != nil {
				t.Fatalf("second Sign = %x, %v; want ErrUnknownNonce", sh, err)
			}
		})
	}
	// Signer 2's nonce is untouched by signer 1's calls.
	sh2, err := signers[1].Sign(msg, list)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Aggregate(g, msg, list, map[uint16][]byte{1: sh1, 2: sh2})
	if err != nil {
		t.Fatal(err)
	}
	checkSignature(t, g, msg, sig)
}

func TestSignerDiscard(t *testing.T) {
	_, signers := dealer(t, Ed25519, 2, 3)
	c1, _ := signers[0].Commit()
	c2, _ := signers[1].Commit()
	nonce := signers[0].bms.NonceCommitments[c1.ID]
	signers[0].Discard(c1.ID)
	signers[0].Discard(12345) // unknown: ignored
	if n := signers[0].Pending(); n != 0 {
		t.Fatalf("Pending = %d after Discard", n)
	}
	if !nonce.HidingNonce.IsZero() || !nonce.BindingNonce.IsZero() {
		t.Fatal("discarded nonce not zeroed")
	}
	if _, err := signers[0].Sign([]byte("m"), []Commitment{c1, c2}); !errors.Is(err, ErrUnknownNonce) {
		t.Fatalf("Sign after Discard = %v, want ErrUnknownNonce", err)
	}
}

func TestSignerRestartForgetsNonces(t *testing.T) {
	ks, signers := dealer(t, Ed25519, 2, 3)
	c1, _ := signers[0].Commit()
	c2, _ := signers[1].Commit()
	restarted, err := NewSigner(ks[0])
	if err != nil {
		t.Fatal(err)
	}
	defer restarted.Close()
	if _, err := restarted.Sign([]byte("m"), []Commitment{c1, c2}); !errors.Is(err, ErrUnknownNonce) {
		t.Fatalf("restarted Sign = %v, want ErrUnknownNonce", err)
	}
	if _, err := signers[0].Sign([]byte("m"), []Commitment{c1, c2}); err != nil {
		t.Fatalf("original signer: %v", err)
	}
}

func TestSignerClose(t *testing.T) {
	_, signers := dealer(t, Secp256k1, 2, 3)
	s := signers[0]
	c1, _ := s.Commit()
	c2, _ := signers[1].Commit()
	nonce := s.bms.NonceCommitments[c1.ID]
	key := s.bms.KeyShare
	if key.SecretKey().IsZero() {
		t.Fatal("secret is zero before Close")
	}
	s.Close()
	s.Close() // idempotent
	if !key.SecretKey().IsZero() {
		t.Fatal("Close left the key share's secret in bytemare's KeyShare")
	}
	if !nonce.HidingNonce.IsZero() || !nonce.BindingNonce.IsZero() {
		t.Fatal("Close left a nonce")
	}
	if s.Pending() != 0 {
		t.Fatal("Pending after Close")
	}
	if _, err := s.Commit(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commit after Close = %v", err)
	}
	if _, err := s.Sign([]byte("m"), []Commitment{c1, c2}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sign after Close = %v", err)
	}
	s.Discard(c1.ID) // no panic
}

func TestSignerNonceLimit(t *testing.T) {
	_, signers := dealer(t, Ed25519, 2, 3)
	s := signers[0]
	s.limit = 3
	var ids []uint64
	for range 3 {
		c, err := s.Commit()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	if _, err := s.Commit(); !errors.Is(err, ErrTooManyNonces) {
		t.Fatalf("Commit over the limit = %v, want ErrTooManyNonces", err)
	}
	s.Discard(ids[0])
	if _, err := s.Commit(); err != nil {
		t.Fatalf("Commit after Discard: %v", err)
	}
}

func TestCommitmentsAreFresh(t *testing.T) {
	_, signers := dealer(t, Ed25519, 2, 3)
	seen := map[string]bool{}
	ids := map[uint64]bool{}
	for range 20 {
		c, err := signers[0].Commit()
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(c.Hiding)] || seen[string(c.Binding)] || ids[c.ID] {
			t.Fatal("repeated commitment or nonce identifier")
		}
		seen[string(c.Hiding)], seen[string(c.Binding)], ids[c.ID] = true, true, true
		if c.Signer != 1 {
			t.Fatalf("Signer = %d", c.Signer)
		}
	}
}

func TestCommitmentJSON(t *testing.T) {
	_, signers := dealer(t, Secp256k1, 2, 3)
	c, _ := signers[0].Commit()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Commitment
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Signer != c.Signer || back.ID != c.ID || !bytes.Equal(back.Hiding, c.Hiding) || !bytes.Equal(back.Binding, c.Binding) {
		t.Fatalf("round trip %s -> %+v", b, back)
	}
}

func TestNewSignerRejects(t *testing.T) {
	ks, err := TrustedDealerKeys(Ed25519, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	copyKey := func(f func(k *KeyShare)) *KeyShare {
		b, err := ks[0].Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var k KeyShare
		if err := json.Unmarshal(b, &k); err != nil {
			t.Fatal(err)
		}
		f(&k)
		return &k
	}
	cases := []struct {
		name string
		key  *KeyShare
	}{
		{"fail/nil", nil},
		{"fail/other-secret", copyKey(func(k *KeyShare) { k.Secret = ks[1].Secret })},
		{"fail/zero-secret", copyKey(func(k *KeyShare) { k.Secret = make([]byte, 32) })},
		{"fail/short-secret", copyKey(func(k *KeyShare) { k.Secret = k.Secret[:31] })},
		{"fail/id-0", copyKey(func(k *KeyShare) { k.ID = 0 })},
		{"fail/id-above-n", copyKey(func(k *KeyShare) { k.ID = 4 })},
		{"fail/threshold-1", copyKey(func(k *KeyShare) { k.Group.Threshold = 1 })},
		{"fail/threshold-above-n", copyKey(func(k *KeyShare) { k.Group.Threshold = 4 })},
		{"fail/suite", copyKey(func(k *KeyShare) { k.Group.Suite = 1 })},
		{"fail/small-order-public-share", copyKey(func(k *KeyShare) { k.Group.Shares[2].Key = unhex(t, ed25519SmallOrder["order 8 a"]) })},
		{"fail/duplicate-public-share", copyKey(func(k *KeyShare) { k.Group.Shares[2].Key = k.Group.Shares[1].Key })},
		{"fail/torsion-verification-key", copyKey(func(k *KeyShare) { k.Group.VerificationKey = torsionPoint(t) })},
		{"fail/missing-public-share", copyKey(func(k *KeyShare) { k.Group.Shares = k.Group.Shares[:2] })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewSigner(c.key)
			if s != nil || !errors.Is(err, ErrKey) {
				t.Fatalf("NewSigner = %v, %v; want ErrKey", s, err)
			}
		})
	}
	t.Run("ok", func(t *testing.T) {
		s, err := NewSigner(ks[2])
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	})
}

func TestTrustedDealerKeys(t *testing.T) {
	for _, c := range []struct {
		name         string
		suite        Suite
		threshold, n uint16
		ok           bool
	}{
		{"ok/ed25519/2-of-2", Ed25519, 2, 2, true},
		{"ok/secp256k1/3-of-4", Secp256k1, 3, 4, true},
		{"fail/threshold-1", Ed25519, 1, 3, false},
		{"fail/threshold-above-n", Ed25519, 4, 3, false},
		{"fail/n-above-max", Ed25519, 2, MaxSigners + 1, false},
		{"fail/suite", Suite(3), 2, 3, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ks, err := TrustedDealerKeys(c.suite, c.threshold, c.n)
			if !c.ok {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil || len(ks) != int(c.n) {
				t.Fatalf("%d keys, %v", len(ks), err)
			}
			for i, k := range ks {
				if k.ID != uint16(i+1) {
					t.Fatalf("key %d has ID %d", i, k.ID)
				}
				if err := k.Validate(); err != nil {
					t.Fatal(err)
				}
			}
			// Every key has its own group data.
			ks[0].Group.Shares[0].Key[0] ^= 1
			ks[0].Group.VerificationKey[0] ^= 1
			if err := ks[1].Validate(); err != nil {
				t.Fatalf("keys share group data: %v", err)
			}
		})
	}
}

func TestKeyShareRedacted(t *testing.T) {
	ks, err := TrustedDealerKeys(Ed25519, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	k := ks[0]
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "share", k)
	outs := []string{
		fmt.Sprint(k), fmt.Sprintf("%v", *k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k),
		fmt.Sprintf("%+v", struct{ K KeyShare }{*k}), logged.String(),
	}
	secretForms := []string{fmt.Sprint(k.Secret), fmt.Sprintf("%x", k.Secret), fmt.Sprintf("%X", k.Secret)}
	for _, out := range outs {
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%q: no REDACTED marker", out)
		}
		for _, s := range secretForms {
			if strings.Contains(out, s) {
				t.Errorf("%q contains the secret", out)
			}
		}
	}
}
