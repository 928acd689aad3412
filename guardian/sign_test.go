package guardian_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"filippo.io/edwards25519"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/guardian/wire"
)

// signFixture is a coordinator with three guardians holding a 2-of-3 key.
func signFixture(t *testing.T) (*coordinator, []*node, *wallet) {
	t.Helper()
	c := newCoordinator(t)
	nodes := c.newNodes(t, 3)
	return c, nodes, c.dkg(t, nodes, 2, "w-treasury")
}

// smallRequest is an honestly approved small transfer from w.
func (c *coordinator) smallRequest(tb fataler, w *wallet) wire.SignRequest {
	tb.Helper()
	msg, cert := c.transferCert(tb, w.ref.WalletID, amountSmall, "u-bob")
	return wire.SignRequest{Message: msg, Certificate: cert}
}

// usable checks that n's commitment in s can still be reserved and signed
// with (it was not consumed or reserved by a refused attempt): the
// honest request completes.
func (s *signing) usable(tb fataler) {
	tb.Helper()
	s.prepare(tb)
	s.aggregate(tb, s.shares(tb))
}

// spent checks that n's commitment in s is gone: a new session with the
// same list is refused as unknown.
func (s *signing) spent(tb fataler, n *node) {
	tb.Helper()
	again := *s
	again.session = "sign-" + randomHex(8)
	mustRefuse(tb, again.prepareOne(tb, n, s.req), wire.CodeUnknownNonce)
}

// forge re-signs an answer envelope with the coordinator's key, keeping
// every field: what a coordinator would send in a guardian's name.
func (c *coordinator) forge(tb fataler, e wire.Envelope, body any) wire.Envelope {
	tb.Helper()
	if body == nil {
		body = json.RawMessage(e.Body)
	}
	f, err := wire.New(c.key, e.Kind, e.Session, e.Round, e.From, e.To, e.ReplyTo, body, time.UnixMilli(e.IssuedAt))
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return *f
}

// TestLyingCoordinatorCommitments: a coordinator that reuses commitments,
// shows guardians different requests or forges their statements gets no
// share, and a nonce exposed to an inconsistent session is never used.
func TestLyingCoordinatorCommitments(t *testing.T) {
	c, nodes, w := signFixture(t)
	pair := nodes[:2]

	t.Run("fail/commitment reserved for another session", func(t *testing.T) {
		s1 := c.newSigning(t, w, pair, c.smallRequest(t, w))
		s1.prepare(t)
		for _, tc := range []struct {
			name string
			req  wire.SignRequest
		}{
			{"same request", s1.req},
			{"another message", func() wire.SignRequest {
				r := c.smallRequest(t, w)
				r.KeyRef, r.Commitments = s1.req.KeyRef, s1.req.Commitments
				return r
			}()},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s2 := *s1
				s2.session = "sign-" + randomHex(8)
				for _, n := range pair {
					mustRefuse(t, s2.prepareOne(t, n, tc.req), wire.CodeNonceReserved)
					mustRefuse(t, c.deliver(t, n, s2.shareEnvelope(t, n, tc.req, s1.prepared)), wire.CodeNotPrepared)
				}
			})
		}
		// The session the commitments are reserved for still completes.
		s1.aggregate(t, s1.shares(t))
		t.Run("spent", func(t *testing.T) {
			for _, n := range pair {
				s1.spent(t, n)
				other := *s1
				other.session = "sign-" + randomHex(8)
				mustRefuse(t, c.deliver(t, n, other.shareEnvelope(t, n, s1.req, s1.prepared)), wire.CodeUnknownNonce)
			}
		})
	})

	t.Run("fail/another request in the same session", func(t *testing.T) {
		s := c.newSigning(t, w, pair, c.smallRequest(t, w))
		s.prepare(t)
		other := c.smallRequest(t, w)
		other.KeyRef, other.Commitments = s.req.KeyRef, s.req.Commitments
		for _, n := range pair {
			mustRefuse(t, s.prepareOne(t, n, other), wire.CodeInconsistent)
		}
		s.aggregate(t, s.shares(t))
	})

	// Each guardian is shown a request that is consistent on its own; only
	// the round-1 statements reveal the lie, and round 2 then discards
	// the nonce.
	split := []struct {
		name string
		edit func(t *testing.T, s *signing) wire.SignRequest // what the second guardian sees
	}{
		{"different messages", func(t *testing.T, s *signing) wire.SignRequest {
			r := c.smallRequest(t, w)
			r.KeyRef, r.Commitments = s.req.KeyRef, s.req.Commitments
			return r
		}},
		{"different commitment lists", func(t *testing.T, s *signing) wire.SignRequest {
			r := s.req
			r.Commitments = slices.Clone(s.req.Commitments)
			r.Commitments[0] = c.commitments(t, pair[0], w.ref, 1)[0] // another of the first guardian's commitments
			return r
		}},
	}
	for _, tc := range split {
		t.Run("fail/"+tc.name+" to different guardians", func(t *testing.T) {
			s := c.newSigning(t, w, pair, c.smallRequest(t, w))
			reqB := tc.edit(t, s)
			pA := s.prepareOne(t, pair[0], s.req)
			pB := s.prepareOne(t, pair[1], reqB)
			if answer(t, pA, nil) != nil || answer(t, pB, nil) != nil {
				t.Fatal("round 1 refused a request consistent on its own")
			}
			both := []wire.Envelope{*pA, *pB}
			mustRefuse(t, c.deliver(t, pair[0], s.shareEnvelope(t, pair[0], s.req, both)), wire.CodeInconsistent)
			mustRefuse(t, c.deliver(t, pair[1], s.shareEnvelope(t, pair[1], reqB, both)), wire.CodeInconsistent)
			// Both nonces are gone: not even the honest round 2 gets a share.
			mustRefuse(t, c.deliver(t, pair[0], s.shareEnvelope(t, pair[0], s.req, []wire.Envelope{*pA, *pA})), wire.CodeUnknownNonce)
			s.spent(t, pair[0])
			s.spent(t, pair[1])
		})
	}

	// The valuation is each guardian's own input to its certificate check
	// (at least its approved anchor), not part of what is signed: two
	// guardians given different valuations under which the certificate
	// holds sign the same message and list.
	t.Run("ok/different valuations to different guardians", func(t *testing.T) {
		s := c.newSigning(t, w, pair, c.smallRequest(t, w))
		s.prepare(t)
		reqB := s.req
		reqB.Valuation = &governance.Valuation{EURPerUnit: "2100", Decimals: 18}
		shares := map[uint16][]byte{w.index(pair[0]): s.shareOf(t, pair[0])}
		ans := c.deliver(t, pair[1], s.shareEnvelope(t, pair[1], reqB, s.prepared))
		var r wire.ShareResponse
		if e := answer(t, ans, &r); e != nil {
			t.Fatalf("round 2 refused: %s: %s", e.Code, e.Message)
		}
		shares[w.index(pair[1])] = r.Share
		s.aggregate(t, shares)
	})

	t.Run("fail/round-1 statements", func(t *testing.T) {
		old := c.newSigning(t, w, pair, c.smallRequest(t, w))
		old.prepare(t)
		for _, tc := range []struct {
			name     string
			prepared func(s *signing) []wire.Envelope
			code     string
		}{
			{"forged by the coordinator", func(s *signing) []wire.Envelope {
				return []wire.Envelope{s.prepared[0], c.forge(t, s.prepared[1], nil)}
			}, wire.CodeInconsistent},
			{"forged for this request", func(s *signing) []wire.Envelope {
				return []wire.Envelope{s.prepared[0], c.forge(t, s.prepared[1], wire.Prepared{Guardian: 2, Request: s.digest(t)})}
			}, wire.CodeInconsistent},
			{"missing", func(s *signing) []wire.Envelope { return s.prepared[:1] }, wire.CodeInconsistent},
			{"one guardian twice", func(s *signing) []wire.Envelope {
				return []wire.Envelope{s.prepared[0], s.prepared[0]}
			}, wire.CodeInconsistent},
			{"replayed from another session", func(s *signing) []wire.Envelope {
				return []wire.Envelope{s.prepared[0], old.prepared[1]}
			}, wire.CodeInconsistent},
			{"from a guardian outside the list", func(s *signing) []wire.Envelope {
				// The third guardian, prepared in this session for the
				// same transfer with its own commitment.
				third := c.newSigning(t, w, []*node{nodes[0], nodes[2]}, wire.SignRequest{Message: s.req.Message, Certificate: s.req.Certificate})
				third.session = s.session
				return []wire.Envelope{s.prepared[0], *third.prepareOne(t, nodes[2], third.req)}
			}, wire.CodeInconsistent},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := c.newSigning(t, w, pair, c.smallRequest(t, w))
				s.prepare(t)
				mustRefuse(t, c.deliver(t, pair[0], s.shareEnvelope(t, pair[0], s.req, tc.prepared(s))), tc.code)
				s.spent(t, pair[0])
				// The other guardian was shown nothing wrong: its nonce
				// is still reserved for the session, but alone it is of
				// no use, and it never signs another request with it.
				other := c.smallRequest(t, w)
				other.KeyRef, other.Commitments = s.req.KeyRef, s.req.Commitments
				mustRefuse(t, s.prepareOne(t, pair[1], other), wire.CodeInconsistent)
			})
		}
	})

	t.Run("fail/invalid element in another signer's commitment", func(t *testing.T) {
		s := c.newSigning(t, w, pair, c.smallRequest(t, w))
		hiding := s.req.Commitments[1].Hiding
		p, err := new(edwards25519.Point).SetBytes(hiding)
		if err != nil {
			t.Fatal(err)
		}
		p8, _ := new(edwards25519.Point).SetBytes(unhex(t, "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"))
		p25519 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
		nonCanonical := func(k int64) []byte {
			b := new(big.Int).Add(p25519, big.NewInt(k)).FillBytes(make([]byte, 32))
			slices.Reverse(b)
			return b
		}
		elements := map[string][]byte{
			"identity":               unhex(t, "0100000000000000000000000000000000000000000000000000000000000000"),
			"identity, x sign set":   unhex(t, "0100000000000000000000000000000000000000000000000000000000000080"),
			"order 2":                unhex(t, "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
			"order 4":                make([]byte, 32),
			"order 8":                p8.Bytes(),
			"prime order + order 8":  new(edwards25519.Point).Add(p, p8).Bytes(),
			"non-canonical y = p+1":  nonCanonical(1),
			"non-canonical y = p+3":  nonCanonical(3),
			"non-canonical y = p+18": nonCanonical(18),
			"not on the curve":       unhex(t, "123456f9e9d319cad973b84cc4c835c8ee73281f5e2638d2d2b352c09edccbfb"),
			"31 bytes":               hiding[:31],
			"empty":                  nil,
		}
		for name, el := range elements {
			for _, field := range []string{"hiding", "binding"} {
				t.Run(name+"/"+field, func(t *testing.T) {
					r := s.req
					r.Commitments = slices.Clone(s.req.Commitments)
					if field == "hiding" {
						r.Commitments[1].Hiding = el
					} else {
						r.Commitments[1].Binding = el
					}
					mustRefuse(t, s.prepareOne(t, pair[0], r), wire.CodeCommitmentList)
				})
			}
		}
		// A refused list reserves nothing: the commitment still signs.
		s.usable(t)
	})

	t.Run("fail/malformed commitment list", func(t *testing.T) {
		s := c.newSigning(t, w, pair, c.smallRequest(t, w))
		c1, c2 := s.req.Commitments[0], s.req.Commitments[1]
		c3 := c.commitments(t, nodes[2], w.ref, 1)[0]
		with := func(f func(*frost.Commitment)) frost.Commitment { x := c2; f(&x); return x }
		for _, tc := range []struct {
			name string
			list []frost.Commitment
			code string
		}{
			{"signer id 0", []frost.Commitment{with(func(x *frost.Commitment) { x.Signer = 0 }), c1}, wire.CodeCommitmentList},
			{"signer id above n", []frost.Commitment{c1, with(func(x *frost.Commitment) { x.Signer = 4 })}, wire.CodeCommitmentList},
			{"duplicate signer", []frost.Commitment{c1, c2, c2}, wire.CodeCommitmentList},
			{"own commitment twice", []frost.Commitment{c1, c1, c2}, wire.CodeCommitmentList},
			{"unsorted", []frost.Commitment{c2, c1}, wire.CodeCommitmentList},
			{"below the threshold", []frost.Commitment{c1}, wire.CodeCommitmentList},
			{"more than n", []frost.Commitment{c1, c2, c3, with(func(x *frost.Commitment) { x.Signer = 4 })}, wire.CodeCommitmentList},
			{"empty", nil, wire.CodeCommitmentList},
			{"own commitment missing", []frost.Commitment{c2, c3}, wire.CodeCommitmentList},
			{"own commitment altered", []frost.Commitment{func() frost.Commitment { x := c1; x.Hiding = c1.Binding; return x }(), c2}, wire.CodeCommitmentList},
			{"own commitment with another's elements", []frost.Commitment{func() frost.Commitment {
				x := c2
				x.Signer, x.ID = c1.Signer, c1.ID
				return x
			}(), c2}, wire.CodeCommitmentList},
			{"own commitment never issued", []frost.Commitment{func() frost.Commitment { x := c1; x.ID += 1 << 40; return x }(), c2}, wire.CodeUnknownNonce},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := s.req
				r.Commitments = tc.list
				mustRefuse(t, s.prepareOne(t, pair[0], r), tc.code)
			})
		}
		s.usable(t)
	})

	t.Run("fail/round 2 with another list than round 1", func(t *testing.T) {
		s := c.newSigning(t, w, pair, c.smallRequest(t, w))
		s.prepare(t)
		r := s.req
		r.Commitments = slices.Clone(s.req.Commitments)
		r.Commitments[1] = c.commitments(t, pair[1], w.ref, 1)[0]
		mustRefuse(t, c.deliver(t, pair[0], s.shareEnvelope(t, pair[0], r, s.prepared)), wire.CodeNotPrepared)
		s.aggregate(t, s.shares(t))
	})

	t.Run("fail/round 2 without round 1", func(t *testing.T) {
		s := c.newSigning(t, w, pair, c.smallRequest(t, w))
		mustRefuse(t, c.deliver(t, pair[0], s.shareEnvelope(t, pair[0], s.req, nil)), wire.CodeNotPrepared)
		s.usable(t)
	})

	t.Run("fail/unknown key", func(t *testing.T) {
		c.refused(t, pair[0], wire.KindCommit, "pool", 1, wire.CommitRequest{KeyRef: wire.KeyRef{WalletID: "w-none", KeyVersion: 1}, Count: 1}, wire.CodeUnknownKey)
		c.refused(t, pair[0], wire.KindCommit, "pool", 1, wire.CommitRequest{KeyRef: w.ref, Count: 0}, wire.CodeMalformed)
		c.refused(t, pair[0], wire.KindCommit, "pool", 1, wire.CommitRequest{KeyRef: w.ref, Count: 1000}, wire.CodeMalformed)
	})
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIdenticalRetry: round 2 delivered twice, or re-sent in a new
// envelope for the same session and request, gets the same share; any
// other reuse of the spent commitment is refused.
func TestIdenticalRetry(t *testing.T) {
	c, nodes, w := signFixture(t)
	s := c.newSigning(t, w, nodes[:2], c.smallRequest(t, w))
	s.prepare(t)
	n := nodes[0]
	env := s.shareEnvelope(t, n, s.req, s.prepared)
	first := c.deliver(t, n, env)
	var r1, r2, r3 wire.ShareResponse
	if e := answer(t, first, &r1); e != nil {
		t.Fatalf("round 2 refused: %s", e.Code)
	}
	again := c.deliver(t, n, env)
	if answer(t, again, &r2) != nil || !bytes.Equal(r1.Share, r2.Share) {
		t.Fatal("the same envelope delivered twice got another answer")
	}
	resent := c.deliver(t, n, s.shareEnvelope(t, n, s.req, s.prepared))
	if answer(t, resent, &r3) != nil || !bytes.Equal(r1.Share, r3.Share) {
		t.Fatal("a re-signed identical round 2 got another share")
	}
	shares := map[uint16][]byte{1: r3.Share, 2: s.shareOf(t, nodes[1])}
	s.aggregate(t, shares)

	// Anything but the identical request is refused.
	other := c.smallRequest(t, w)
	other.KeyRef, other.Commitments = s.req.KeyRef, s.req.Commitments
	mustRefuse(t, c.deliver(t, n, s.shareEnvelope(t, n, other, s.prepared)), wire.CodeUnknownNonce)
	mustRefuse(t, s.prepareOne(t, n, s.req), wire.CodeUnknownNonce)
	s.spent(t, n)
}

// TestCertificateRefusals: the guardian checks the approval certificate
// against its own governance state; every refusal leaves its commitment
// unreserved.
func TestCertificateRefusals(t *testing.T) {
	c, nodes, w := signFixture(t)
	pair := nodes[:2]
	s := c.newSigning(t, w, pair, wire.SignRequest{})
	wid := w.ref.WalletID

	// req builds a request for msg and cert on s's commitments.
	req := func(msg []byte, cert *approvals.Certificate) wire.SignRequest {
		return wire.SignRequest{KeyRef: w.ref, Commitments: s.req.Commitments, Message: msg, Certificate: cert}
	}
	transfer := func(amount string, spec certSpec) wire.SignRequest {
		msg := transferIntent(t, wid, amount)
		spec.action, spec.intent = "transfer", msg
		if spec.eurCents == 0 {
			spec.eurCents = c.eurOf(t, msg)
		}
		return req(msg, c.certificate(t, spec))
	}
	one := func(q int) *approvals.Quorum { return &approvals.Quorum{Approvals: q, RejectionsToDeny: 1} }

	for _, tc := range []struct {
		name string
		req  func() wire.SignRequest
		code string
	}{
		{"no certificate", func() wire.SignRequest { return req(transferIntent(t, wid, amountSmall), nil) }, "certificate_malformed"},
		{"no certificate, another action", func() wire.SignRequest {
			return req(c.walletCreate(t, nodes, 2, "w-new").Intent, nil)
		}, wire.CodeMessageMismatch},
		{"too few approvals", func() wire.SignRequest {
			return transfer(amountMid, certSpec{approvers: []string{"u-bob"}})
		}, "quorum_not_met"},
		{"too few approvals, weaker quorum stated", func() wire.SignRequest {
			return transfer(amountMid, certSpec{approvers: []string{"u-bob"}, quorum: one(1)})
		}, "quorum_not_met"},
		{"large transfer without a treasury manager", func() wire.SignRequest {
			return transfer(amountLarge, certSpec{approvers: []string{"u-bob", "u-carol", "u-dave", "u-erin"}})
		}, "quorum_not_met"},
		{"large transfer, role requirement not stated", func() wire.SignRequest {
			return transfer(amountLarge, certSpec{approvers: []string{"u-bob", "u-carol", "u-dave", "u-erin"}, quorum: one(4)})
		}, "quorum_not_met"},
		{"duplicated approver", func() wire.SignRequest {
			return transfer(amountMid, certSpec{approvers: []string{"u-bob", "u-bob"}})
		}, "certificate_malformed"},
		{"requester among the approvers", func() wire.SignRequest {
			return transfer(amountMid, certSpec{requester: "u-bob", approvers: []string{"u-bob", "u-carol"}})
		}, "requester_approved"},
		{"forged approval signature", func() wire.SignRequest {
			r := transfer(amountMid, certSpec{approvers: []string{"u-bob", "u-carol"}})
			r.Certificate.Approvals[1].Signature = bytes.Clone(r.Certificate.Approvals[1].Signature)
			r.Certificate.Approvals[1].Signature[7] ^= 0x20
			return r
		}, "approval_signature_invalid"},
		{"approval replayed from another request", func() wire.SignRequest {
			r := transfer(amountMid, certSpec{approvers: []string{"u-bob", "u-carol"}})
			// The same intent under another request id: carol's vote there.
			other := c.certificate(t, certSpec{action: "transfer", intent: r.Message, eurCents: c.eurOf(t, r.Message), approvers: []string{"u-carol", "u-dave"}})
			r.Certificate.Approvals[1].Signature = other.Approvals[0].Signature
			return r
		}, "approval_signature_invalid"},
		{"approval replayed from another intent", func() wire.SignRequest {
			r := transfer(amountMid, certSpec{approvers: []string{"u-bob", "u-carol"}})
			_, other := c.transferCert(t, wid, amountMid, "u-carol", "u-dave")
			r.Certificate.Approvals[1].Signature = other.Approvals[0].Signature
			return r
		}, "approval_signature_invalid"},
		{"approval by someone not rostered", func() wire.SignRequest {
			return transfer(amountMid, certSpec{approvers: []string{"u-bob", "u-frank"}})
		}, "approver_not_rostered"},
		{"approval under a key the coordinator made", func() wire.SignRequest {
			r := transfer(amountMid, certSpec{approvers: []string{"u-bob", "u-carol"}})
			pub, priv, _ := ed25519.GenerateKey(rand.Reader)
			a := &r.Certificate.Approvals[1]
			a.PublicKey, a.Signature = pub, ed25519.Sign(priv, approvals.Message(r.Certificate.Binding(), approvals.Approve))
			return r
		}, "approver_not_rostered"},
		{"approval with a promoted role", func() wire.SignRequest {
			r := transfer(amountLarge, certSpec{approvers: []string{"u-bob", "u-carol", "u-dave", "u-erin"}})
			r.Certificate.Approvals[0].Role = "treasury_manager"
			return r
		}, "approver_not_rostered"},
		{"message is not the intent", func() wire.SignRequest {
			r := transfer(amountSmall, certSpec{approvers: []string{"u-bob"}})
			r.Message = transferIntent(t, wid, amountSmall)
			return r
		}, wire.CodeMessageMismatch},
		{"message is not a transfer intent", func() wire.SignRequest {
			r := transfer(amountSmall, certSpec{approvers: []string{"u-bob"}})
			r.Message = []byte("raw transaction bytes")
			return r
		}, wire.CodeMessageMismatch},
		{"intent swapped under the fingerprint", func() wire.SignRequest {
			r := transfer(amountSmall, certSpec{approvers: []string{"u-bob"}})
			r.Message = transferIntent(t, wid, amountSmall)
			r.Certificate.Intent = r.Message
			return r
		}, "certificate_malformed"},
		{"intent of a higher tier swapped under the fingerprint", func() wire.SignRequest {
			r := transfer(amountSmall, certSpec{approvers: []string{"u-bob"}})
			r.Message = transferIntent(t, wid, amountLarge)
			r.Certificate.Intent = r.Message
			return r
		}, "quorum_not_met"},
		{"fingerprint of another intent", func() wire.SignRequest {
			r := transfer(amountSmall, certSpec{approvers: []string{"u-bob"}})
			fp := sha256.Sum256(r.Message)
			r.Certificate.Fingerprint = fp[:]
			return r
		}, "certificate_malformed"},
		{"intent of another wallet", func() wire.SignRequest {
			msg, cert := c.transferCert(t, "w-other", amountSmall, "u-bob")
			return req(msg, cert)
		}, "intent_mismatch"},
		{"not a transfer", func() wire.SignRequest {
			cert := c.walletCreate(t, nodes, 2, "w-new")
			return req(cert.Intent, cert)
		}, "wrong_action"},
		{"another policy", func() wire.SignRequest {
			h := sha256.Sum256([]byte("a laxer policy"))
			return transfer(amountSmall, certSpec{approvers: []string{"u-bob"}, policy: h[:]})
		}, "policy_mismatch"},
		{"understated valuation", func() wire.SignRequest {
			// EUR 20,000 at the anchor; the coordinator claims EUR 0.01
			// per ETH (EUR 0.10 in all) and brings one approval.
			r := transfer(amountLarge, certSpec{approvers: []string{"u-bob"}, eurCents: 10, quorum: one(1)})
			r.Valuation = &governance.Valuation{EURPerUnit: "0.01", Decimals: 18}
			return r
		}, "quorum_not_met"},
		{"understated valuation, two approvals", func() wire.SignRequest {
			r := transfer(amountLarge, certSpec{approvers: []string{"u-alice", "u-bob"}, eurCents: 10, quorum: one(2)})
			r.Valuation = &governance.Valuation{EURPerUnit: "0.01", Decimals: 18}
			return r
		}, "quorum_not_met"},
		{"valuation in other decimals", func() wire.SignRequest {
			r := transfer(amountLarge, certSpec{approvers: []string{"u-alice", "u-bob"}, eurCents: 10, quorum: one(2)})
			r.Valuation = &governance.Valuation{EURPerUnit: "0.01", Decimals: 6}
			return r
		}, "quorum_not_met"},
		{"overstated valuation raises the tier", func() wire.SignRequest {
			// EUR 200 at the anchor, EUR 20,000 at the coordinator's rate.
			r := transfer(amountSmall, certSpec{approvers: []string{"u-bob"}})
			r.Valuation = &governance.Valuation{EURPerUnit: "200000", Decimals: 18}
			return r
		}, "quorum_not_met"},
	} {
		t.Run("fail/"+tc.name, func(t *testing.T) {
			r := tc.req()
			// With the certificate in round 1: refused there.
			if r.Certificate != nil {
				for _, n := range pair {
					mustRefuse(t, s.prepareOne(t, n, r), tc.code)
				}
			}
			// Round 1 ahead of the approval, without the certificate (a
			// message that is no transfer of this wallet is refused
			// already), then round 2 with it: refused, no share.
			s2 := c.newSigning(t, w, pair, wire.SignRequest{Message: r.Message})
			r.KeyRef, r.Commitments = s2.req.KeyRef, s2.req.Commitments
			var early []string
			for _, n := range pair {
				ans := s2.prepareOne(t, n, s2.req)
				if e := answer(t, ans, nil); e != nil {
					early = append(early, e.Code)
					continue
				}
				s2.prepared = append(s2.prepared, *ans)
			}
			if len(early) > 0 {
				for _, code := range early {
					if code != wire.CodeMessageMismatch && code != "intent_mismatch" {
						t.Fatalf("round 1 without a certificate refused with %s, want %s or intent_mismatch", code, wire.CodeMessageMismatch)
					}
				}
				if len(early) != len(pair) {
					t.Fatalf("round 1 refused by %d of %d guardians", len(early), len(pair))
				}
				return
			}
			for _, n := range pair {
				mustRefuse(t, c.deliver(t, n, s2.shareEnvelope(t, n, r, s2.prepared)), tc.code)
			}
		})
	}

	t.Run("fail/expired", func(t *testing.T) {
		r := transfer(amountSmall, certSpec{approvers: []string{"u-bob"}, expires: c.clock.Now().Add(10 * time.Minute)})
		c.clock.Advance(20 * time.Minute)
		defer c.clock.Advance(-20 * time.Minute)
		for _, n := range pair {
			mustRefuse(t, s.prepareOne(t, n, r), "certificate_expired")
		}
	})

	// None of the refusals reserved the commitments: the honest request
	// signs with them.
	t.Run("ok/commitments still usable", func(t *testing.T) {
		s.req = transfer(amountSmall, certSpec{approvers: []string{"u-bob"}})
		s.usable(t)
	})

	for _, tc := range []struct {
		name      string
		amount    string
		approvers []string
		valuation *governance.Valuation
	}{
		{"small, one approval", amountSmall, []string{"u-carol"}, nil},
		{"mid, two approvals", amountMid, []string{"u-carol", "u-erin"}, nil},
		{"large, four with a treasury manager", amountLarge, []string{"u-bob", "u-carol", "u-dave", "u-grace"}, nil},
		{"valuation above the anchor, quorum of its tier", amountMid, []string{"u-alice", "u-bob", "u-carol", "u-dave"},
			&governance.Valuation{EURPerUnit: "20000", Decimals: 18}},
	} {
		t.Run("ok/"+tc.name, func(t *testing.T) {
			msg := transferIntent(t, wid, tc.amount)
			eur := c.eurOf(t, msg)
			if tc.valuation != nil {
				eur = 4_000_000 // EUR 40,000 at the coordinator's rate
			}
			cert := c.certificate(t, certSpec{action: "transfer", intent: msg, eurCents: eur, approvers: tc.approvers})
			c.sign(t, w, pair, wire.SignRequest{Message: msg, Certificate: cert, Valuation: tc.valuation})
		})
		t.Run("ok/prepared before the approval/"+tc.name, func(t *testing.T) {
			msg := transferIntent(t, wid, tc.amount)
			eur := c.eurOf(t, msg)
			if tc.valuation != nil {
				eur = 4_000_000
			}
			s := c.newSigning(t, w, pair, wire.SignRequest{Message: msg})
			s.prepare(t)
			s.req.Certificate = c.certificate(t, certSpec{action: "transfer", intent: msg, eurCents: eur, approvers: tc.approvers})
			s.req.Valuation = tc.valuation
			s.aggregate(t, s.shares(t))
		})
	}
}

// TestCertificateUsedOnce: once a guardian has signed for an approved
// request, the request id is bound to that message.
func TestCertificateUsedOnce(t *testing.T) {
	c, nodes, w := signFixture(t)
	pair := nodes[:2]
	msgA := transferIntent(t, w.ref.WalletID, amountSmall)
	certA := c.certificate(t, certSpec{action: "transfer", intent: msgA, eurCents: c.eurOf(t, msgA), requestID: "req-once", approvers: []string{"u-bob"}})
	msgB := transferIntent(t, w.ref.WalletID, amountSmall)
	certB := c.certificate(t, certSpec{action: "transfer", intent: msgB, eurCents: c.eurOf(t, msgB), requestID: "req-once", approvers: []string{"u-carol"}})

	// B is prepared while A is still unsigned: round 1 cannot know yet.
	early := c.newSigning(t, w, pair, wire.SignRequest{Message: msgB, Certificate: certB})
	early.prepare(t)

	c.sign(t, w, pair, wire.SignRequest{Message: msgA, Certificate: certA})

	t.Run("fail/round 1 for another message", func(t *testing.T) {
		s := c.newSigning(t, w, pair, wire.SignRequest{Message: msgB, Certificate: certB})
		for _, n := range pair {
			mustRefuse(t, s.prepareOne(t, n, s.req), wire.CodeCertificateUsed)
		}
	})
	t.Run("fail/round 2 for another message", func(t *testing.T) {
		for _, n := range pair {
			mustRefuse(t, c.deliver(t, n, early.shareEnvelope(t, n, early.req, early.prepared)), wire.CodeCertificateUsed)
		}
	})
	t.Run("fail/on a guardian that did not sign A", func(t *testing.T) {
		// nodes[2] never signed A: it does not know, but it alone cannot
		// produce a signature; with a guardian that signed A, the
		// attempt fails.
		s := c.newSigning(t, w, []*node{nodes[0], nodes[2]}, wire.SignRequest{Message: msgB, Certificate: certB})
		mustRefuse(t, s.prepareOne(t, nodes[0], s.req), wire.CodeCertificateUsed)
	})
	t.Run("ok/the same message again, fresh nonces", func(t *testing.T) {
		c.sign(t, w, pair, wire.SignRequest{Message: msgA, Certificate: certA})
	})
	t.Run("ok/survives a restart", func(t *testing.T) {
		nodes[0].restart(t)
		s := c.newSigning(t, w, pair, wire.SignRequest{Message: msgB, Certificate: certB})
		mustRefuse(t, s.prepareOne(t, nodes[0], s.req), wire.CodeCertificateUsed)
	})
}

// goT is a fataler for goroutines: it records the failure and ends the
// goroutine (never testing.T.Fatal off the test goroutine).
type goT struct {
	mu   *sync.Mutex
	errs *[]string
}

func (g goT) Helper() {}

func (g goT) Fatalf(format string, args ...any) {
	g.mu.Lock()
	*g.errs = append(*g.errs, fmt.Sprintf(format, args...))
	g.mu.Unlock()
	runtime.Goexit()
}

// TestConcurrentSigning signs different requests on the same guardians
// from several goroutines at once; run under -race it also proves the
// frost library lock.
func TestConcurrentSigning(t *testing.T) {
	c, nodes, w := signFixture(t)
	w2 := c.dkg(t, nodes, 3, "w-cold")
	subs := subsets(nodes, 2)
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
	)
	const workers, rounds = 6, 4
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := goT{mu: &mu, errs: &errs}
			for j := range rounds {
				if (i+j)%3 == 2 {
					c.signTransfer(g, w2, nodes)
				} else {
					c.signTransfer(g, w, subs[(i+j)%len(subs)])
				}
				c.health(g, nodes[i%len(nodes)])
			}
		}()
	}
	// Contending for one commitment: exactly one session gets it.
	contested := c.newSigning(t, w, nodes[:2], c.smallRequest(t, w))
	var won, lost int
	var cmu sync.Mutex
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := goT{mu: &mu, errs: &errs}
			s := *contested
			s.session = "sign-" + randomHex(8)
			ans := s.prepareOne(g, nodes[0], s.req)
			cmu.Lock()
			defer cmu.Unlock()
			if ans.Kind == wire.KindError {
				lost++
			} else {
				won++
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	if won != 1 || lost != 3 {
		t.Errorf("one commitment was reserved by %d concurrent sessions (%d refused)", won, lost)
	}
}

// TestCommitmentEviction: a coordinator that lost the commitments it held
// (it restarted) leaves them issued at the guardian. At the bound the
// guardian forgets the oldest unreserved ones, instead of refusing new
// commitments until it restarts; it never forgets one a session reserved.
func TestCommitmentEviction(t *testing.T) {
	c, nodes, w := signFixture(t)
	pair := nodes[:2]
	g := pair[0]
	reserved := c.newSigning(t, w, pair, c.smallRequest(t, w))
	reserved.prepare(t)
	c.clock.Advance(time.Second)
	oldest := c.commitments(t, g, w.ref, 64)
	c.clock.Advance(time.Second)
	for left := frost.MaxPendingNonces - 1 - len(oldest); left > 0; left -= 64 {
		c.commitments(t, g, w.ref, min(64, left))
	}
	c.clock.Advance(time.Second)
	fresh := c.commitments(t, g, w.ref, 64) // over the bound

	with := func(cm frost.Commitment) *signing {
		s := c.newSigning(t, w, pair, c.smallRequest(t, w))
		s.req.Commitments[slices.Index(s.signers, g)] = cm
		return s
	}
	old := with(oldest[0])
	mustRefuse(t, old.prepareOne(t, g, old.req), wire.CodeUnknownNonce)
	with(fresh[0]).usable(t)
	// The session reserved before the eviction completes.
	reserved.aggregate(t, reserved.shares(t))
}
