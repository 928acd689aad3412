package guardian_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/dkg"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/guardian"
	"github.com/custos-dev/custos/guardian/wire"
)

// TestDKGAndSignEverySubset runs key ceremonies among in-process guardians
// through the wire protocol, signs with every t-subset, restarts the
// guardians and signs again: shares persist sealed, nonces do not.
func TestDKGAndSignEverySubset(t *testing.T) {
	for _, tc := range []struct{ t, n int }{{2, 3}, {3, 5}} {
		t.Run(fmt.Sprintf("ok/%d-of-%d", tc.t, tc.n), func(t *testing.T) {
			c := newCoordinator(t)
			nodes := c.newNodes(t, tc.n)
			w := c.dkg(t, nodes, tc.t, fmt.Sprintf("w-%dof%d", tc.t, tc.n))
			for _, n := range nodes {
				if s := c.keyStatus(t, n, w.ref); s != "active" {
					t.Fatalf("%s: key %s, want active", n.id, s)
				}
			}
			subs := subsets(nodes, tc.t)
			for _, sub := range subs {
				c.signTransfer(t, w, sub)
			}

			// Before the restart: a commitment handed out, and a session
			// prepared (its commitment reserved) but not signed.
			msg, cert := c.transferCert(t, w.ref.WalletID, amountSmall, "u-carol")
			pending := c.newSigning(t, w, subs[0], wire.SignRequest{Message: msg, Certificate: cert})
			pending.prepare(t)
			stale := c.newSigning(t, w, nodes[len(nodes)-tc.t:], wire.SignRequest{Message: msg, Certificate: cert})

			for _, n := range nodes {
				n.restart(t)
			}
			for _, n := range nodes {
				st, err := n.Status(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if len(st.Keys) != 1 || st.Keys[0].Status != "active" || st.Keys[0].Nonces != 0 || st.GuardianID != n.id {
					t.Fatalf("%s after restart: %+v", n.id, st)
				}
			}
			// Every commitment issued before the restart is unknown now.
			for _, n := range stale.signers {
				mustRefuse(t, stale.prepareOne(t, n, stale.req), wire.CodeUnknownNonce)
			}
			for _, n := range pending.signers {
				mustRefuse(t, c.deliver(t, n, pending.shareEnvelope(t, n, pending.req, pending.prepared)), wire.CodeUnknownNonce)
			}
			// Fresh commitments sign with the shares read back from disk.
			for _, sub := range subs {
				c.signTransfer(t, w, sub)
			}
		})
	}
}

// TestShareFiles checks how a key share rests on disk: 0600 in a 0700
// directory, sealed (no secret, no public key material in clear), and
// bound to its wallet, key version, guardian and index.
func TestShareFiles(t *testing.T) {
	c := newCoordinator(t)
	nodes := c.newNodes(t, 3)
	wa := c.dkg(t, nodes, 2, "w-a")
	wb := c.dkg(t, nodes, 2, "w-b")
	n := nodes[0]
	pathA, pathB := n.SharePathForTest(wa.ref), n.SharePathForTest(wb.ref)

	for _, p := range []string{pathA, pathB} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(filepath.Join(n.dir, guardian.SharesDir)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("shares directory: %v %v, want 0700", fi.Mode().Perm(), err)
	}

	ks, err := n.OpenShareFileForTest(pathA, n.id, wa.ref, 1)
	if err != nil {
		t.Fatalf("opening the share with its own associated data: %v", err)
	}
	defer ks.Zero()
	if !bytes.Equal(ks.Group.VerificationKey, wa.group.VerificationKey) || ks.ID != 1 {
		t.Fatalf("the sealed share is of another key")
	}
	sealed, err := os.ReadFile(pathA)
	if err != nil {
		t.Fatal(err)
	}
	groupJSON, _ := json.Marshal(wa.group)
	secrets := map[string][]byte{"secret share": ks.Secret, "group key": wa.group.VerificationKey, "group key JSON": groupJSON}
	for _, ps := range wa.group.Shares {
		secrets[fmt.Sprintf("public share %d", ps.ID)] = ps.Key
	}
	for name, v := range secrets {
		for enc, b := range map[string][]byte{"raw": v, "hex": []byte(hex.EncodeToString(v)),
			"base64": []byte(base64.StdEncoding.EncodeToString(v)), "base64url": []byte(base64.RawURLEncoding.EncodeToString(v))} {
			if bytes.Contains(sealed, b) {
				t.Errorf("the sealed share file contains the %s in clear (%s)", name, enc)
			}
		}
	}

	for _, tc := range []struct {
		name     string
		guardian string
		ref      wire.KeyRef
		index    uint16
	}{
		{"fail/other guardian", nodes[1].id, wa.ref, 1},
		{"fail/other wallet", n.id, wb.ref, 1},
		{"fail/other key version", n.id, wire.KeyRef{WalletID: wa.ref.WalletID, KeyVersion: 2}, 1},
		{"fail/other index", n.id, wa.ref, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ks, err := n.OpenShareFileForTest(pathA, tc.guardian, tc.ref, tc.index); err == nil {
				ks.Zero()
				t.Fatal("the sealed share opened under other associated data")
			}
		})
	}

	t.Run("fail/share file swapped between wallets", func(t *testing.T) {
		saved, err := os.ReadFile(pathB)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Node.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pathB, sealed, 0o600); err != nil {
			t.Fatal(err)
		}
		if g, err := guardian.Open(n.dir, guardian.Options{Now: c.clock.Now}); err == nil {
			g.Close()
			t.Fatal("the guardian opened with wallet w-a's share filed as w-b's")
		}
		if err := os.WriteFile(pathB, saved, 0o600); err != nil {
			t.Fatal(err)
		}
		g, err := guardian.Open(n.dir, guardian.Options{Now: c.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		n.Node = g
		c.signTransfer(t, wb, nodes[:2])
	})
}

// flipProof returns pkg with its proof of knowledge altered (still a
// well-formed encoding).
func flipProof(t *testing.T, pkg []byte) []byte {
	t.Helper()
	r, err := dkg.UnmarshalRound1(pkg)
	if err != nil {
		t.Fatal(err)
	}
	r.ProofZ = bytes.Clone(r.ProofZ)
	r.ProofZ[0] ^= 0x01
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDKGAdversarial drives the guardians' side of a key ceremony with a
// coordinator (or a participant) that lies.
func TestDKGAdversarial(t *testing.T) {
	c := newCoordinator(t)
	nodes := c.newNodes(t, 3)
	wallets := 0
	next := func() string { wallets++; return fmt.Sprintf("w-adv-%d", wallets) }

	t.Run("fail/start without the wallet.create approval", func(t *testing.T) {
		cr := c.newCeremony(t, nodes, 2, next())
		for _, tc := range []struct {
			name string
			edit func(*wire.DKGStart)
			code string
		}{
			{"no certificate", func(s *wire.DKGStart) { s.Certificate = nil }, "certificate_malformed"},
			{"another threshold", func(s *wire.DKGStart) { s.Threshold = 3 }, "intent_mismatch"},
			{"one approval", func(s *wire.DKGStart) {
				s.Certificate = c.certificate(t, certSpec{action: "wallet.create", intent: s.Certificate.Intent, approvers: []string{"u-alice"}})
			}, "quorum_not_met"},
			{"not the treasury manager", func(s *wire.DKGStart) {
				s.Certificate = c.certificate(t, certSpec{action: "wallet.create", intent: s.Certificate.Intent, approvers: []string{"u-bob", "u-carol"}})
			}, "quorum_not_met"},
			{"a transfer certificate", func(s *wire.DKGStart) {
				_, s.Certificate = c.transferCert(t, s.WalletID, amountSmall, "u-bob")
			}, "wrong_action"},
			{"another action's intent under wallet.create", func(s *wire.DKGStart) {
				// Certificate.Action is not signed, the intent is: an
				// approved intent of another type is no wallet.create.
				other := bytes.Replace(s.Certificate.Intent, []byte(`"custos.wallet.create.v1"`), []byte(`"custos.policy.change.v1"`), 1)
				s.Certificate = c.certificate(t, certSpec{action: "wallet.create", intent: other, approvers: []string{"u-alice", "u-bob"}})
			}, "intent_mismatch"},
			{"this guardian listed with other keys", func(s *wire.DKGStart) {
				s.Participants[0].EncryptionKey = nodes[1].EncryptionKey()
			}, wire.CodeMalformed},
			{"session id not 32 bytes", nil, wire.CodeMalformed},
			{"wallet id leaving the shares directory", func(s *wire.DKGStart) { s.WalletID = "../../escape" }, wire.CodeMalformed},
			{"wallet id with a slash", func(s *wire.DKGStart) { s.WalletID = "a/b" }, wire.CodeMalformed},
			{"wallet id with a backslash", func(s *wire.DKGStart) { s.WalletID = `a\b` }, wire.CodeMalformed},
			{"hidden wallet id", func(s *wire.DKGStart) { s.WalletID = ".w" }, wire.CodeMalformed},
			{"empty wallet id", func(s *wire.DKGStart) { s.WalletID = "" }, wire.CodeMalformed},
			{"wallet id too long", func(s *wire.DKGStart) { s.WalletID = strings.Repeat("w", 65) }, wire.CodeMalformed},
			{"key version 0", func(s *wire.DKGStart) { s.KeyVersion = 0 }, wire.CodeMalformed},
		} {
			t.Run(tc.name, func(t *testing.T) {
				start := cr.start
				start.Participants = append([]wire.Participant(nil), cr.start.Participants...)
				session := cr.session
				if tc.edit != nil {
					tc.edit(&start)
				} else {
					session = "short"
				}
				c.refused(t, nodes[0], wire.KindDKGStart, session, 1, start, tc.code)
			})
		}
		entries, err := os.ReadDir(filepath.Dir(nodes[0].dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".share") {
				t.Errorf("a share file %s outside the guardian's directory", e.Name())
			}
		}
		// Nothing was started: the ceremony's next round finds nothing.
		c.refused(t, nodes[0], wire.KindDKGConfirm, cr.session, 2, wire.DKGConfirm{Packages: [][]byte{{1}, {2}, {3}}}, wire.CodeCeremony)
	})

	for _, tc := range []struct {
		name     string
		slot     int // the package the relay replaces
		replace  func(t *testing.T, pkg []byte) []byte
		code     string
		says     string   // in the refusal's message
		culprits []uint16 // as the refusal names them
	}{
		{"fail/relayed set alters own package", 0, flipProof, wire.CodeCeremony, "alters", nil},
		{"fail/relayed set with a forged package of another participant", 2, flipProof, wire.CodeMisbehaviour,
			"participant 3 (" + nodes[2].id + ")", []uint16{3}},
		{"fail/relayed set with a package that does not decode", 1, func(*testing.T, []byte) []byte { return []byte("not a round-1 package") },
			wire.CodeMisbehaviour, "participant 2 (" + nodes[1].id + ")", []uint16{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := c.newCeremony(t, nodes, 2, next())
			cr.doStart(t)
			set := append([][]byte(nil), cr.round1...)
			set[tc.slot] = tc.replace(t, set[tc.slot])
			e := c.refused(t, nodes[0], wire.KindDKGConfirm, cr.session, 2, wire.DKGConfirm{Packages: set}, tc.code)
			if !strings.Contains(e.Message, tc.says) {
				t.Errorf("refusal %q does not say %q", e.Message, tc.says)
			}
			wantCulprits(t, e, tc.culprits...)
			// The ceremony is over for that guardian, even with the honest set.
			c.refused(t, nodes[0], wire.KindDKGConfirm, cr.session, 2, wire.DKGConfirm{Packages: cr.round1}, wire.CodeCeremony)
		})
	}

	t.Run("fail/confirmation with another transcript", func(t *testing.T) {
		cr := c.newCeremony(t, nodes, 2, next())
		cr.doStart(t)
		// Participant 2 equivocates: a second valid round-1 package,
		// which the relay shows to participant 3 only.
		var s dkg.Session
		sid, _ := hex.DecodeString(cr.session)
		copy(s.ID[:], sid)
		s.Suite, s.Threshold, s.N = frost.Ed25519, 2, 3
		priv, _ := ecdh.X25519().GenerateKey(rand.Reader)
		p, err := dkg.NewParticipant(s, 2, priv)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Zero()
		alt, err := p.Round1()
		if err != nil {
			t.Fatal(err)
		}
		altPkg, _ := alt.Marshal()
		other := append([][]byte(nil), cr.round1...)
		other[1] = altPkg
		for i, n := range nodes {
			set := cr.round1
			if i == 2 {
				set = other
			}
			ans := c.ok(t, n, wire.KindDKGConfirm, cr.session, 2, wire.DKGConfirm{Packages: set}, nil)
			cr.confirms = append(cr.confirms, *ans)
		}
		ans := c.deliver(t, nodes[0], c.envelope(t, nodes[0].id, wire.KindDKGShares, cr.session, 3, wire.DKGShares{Confirmations: cr.confirms}))
		e := mustRefuse(t, ans, wire.CodeInconsistent)
		wantNamed(t, e, 3, nodes[2].id)
		c.refused(t, nodes[0], wire.KindDKGShares, cr.session, 3, wire.DKGShares{Confirmations: cr.confirms}, wire.CodeCeremony)
	})

	t.Run("fail/confirmation forged by the coordinator", func(t *testing.T) {
		cr := c.newCeremony(t, nodes, 2, next())
		cr.doStart(t)
		cr.doConfirm(t)
		forged := cr.confirms[1]
		f, err := wire.New(c.key, forged.Kind, forged.Session, forged.Round, forged.From, wire.CoordinatorID, forged.ReplyTo, json.RawMessage(forged.Body), c.issueTime())
		if err != nil {
			t.Fatal(err)
		}
		confirms := append([]wire.Envelope(nil), cr.confirms...)
		confirms[1] = *f
		e := c.refused(t, nodes[0], wire.KindDKGShares, cr.session, 3, wire.DKGShares{Confirmations: confirms}, wire.CodeMisbehaviour)
		wantNamed(t, e, 2, nodes[1].id)
	})

	t.Run("fail/corrupted encrypted share", func(t *testing.T) {
		cr := c.newCeremony(t, nodes, 2, next())
		cr.doStart(t)
		cr.doConfirm(t)
		routed := cr.doShares(t)
		m, err := dkg.UnmarshalRound2(routed[1][1])
		if err != nil {
			t.Fatal(err)
		}
		m.Ciphertext = bytes.Clone(m.Ciphertext)
		m.Ciphertext[len(m.Ciphertext)-1] ^= 0x01
		bad, _ := m.Marshal()
		shares := [][]byte{routed[1][0], bad}
		e := c.refused(t, nodes[0], wire.KindDKGFinalize, cr.session, 4, wire.DKGFinalize{Shares: shares}, wire.CodeMisbehaviour)
		wantNamed(t, e, m.From, nodes[m.From-1].id)
		if s := c.keyStatus(t, nodes[0], cr.w.ref); s != "" {
			t.Fatalf("key %s after a refused finalize", s)
		}
		if _, err := os.Stat(nodes[0].SharePathForTest(cr.w.ref)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a share file after a refused finalize: %v", err)
		}
		// The ceremony is over for that guardian: the honest shares are
		// refused too.
		c.refused(t, nodes[0], wire.KindDKGFinalize, cr.session, 4, wire.DKGFinalize{Shares: routed[1]}, wire.CodeCeremony)
		// A share missing altogether: its sender is named (the guardian
		// cannot tell a sender that sent nothing from a relay that
		// dropped it).
		e = c.refused(t, nodes[1], wire.KindDKGFinalize, cr.session, 4, wire.DKGFinalize{Shares: routed[2][:1]}, wire.CodeMisbehaviour)
		wantNamed(t, e, 3, nodes[2].id)
	})

	t.Run("fail/activation with a bad test signature", func(t *testing.T) {
		cr := c.finalized(t, nodes, 2, next())
		for _, n := range nodes {
			if s := c.keyStatus(t, n, cr.w.ref); s != "pending" {
				t.Fatalf("%s: key %s after finalize, want pending", n.id, s)
			}
		}
		// A pending key signs its test message and nothing else.
		msg, cert := c.transferCert(t, cr.w.ref.WalletID, amountSmall, "u-bob")
		s := c.newSigning(t, cr.w, nodes[:2], wire.SignRequest{Message: msg, Certificate: cert})
		mustRefuse(t, s.prepareOne(t, nodes[0], s.req), wire.CodeKeyNotActive)
		s.req = wire.SignRequest{KeyRef: s.req.KeyRef, Commitments: s.req.Commitments, Message: msg, Ceremony: cr.session}
		mustRefuse(t, s.prepareOne(t, nodes[0], s.req), wire.CodeMessageMismatch)

		// Round 2 of the test signature with a transfer's certificate
		// added: refused, and the certificate is not spent on it.
		ts := c.newSigning(t, cr.w, nodes[:2], wire.SignRequest{Message: wire.TestMessage(cr.session, &cr.w.group), Ceremony: cr.session})
		ts.prepare(t)
		withCert := ts.req
		withCert.Certificate = cert
		mustRefuse(t, c.deliver(t, nodes[0], ts.shareEnvelope(t, nodes[0], withCert, ts.prepared)), wire.CodeMessageMismatch)

		sig := cr.testSignature(t)
		bad := bytes.Clone(sig)
		bad[40] ^= 0x01
		sig2 := c.sign(t, cr.w, nodes[1:], wire.SignRequest{Message: wire.TestMessage(cr.session, &cr.w.group), Ceremony: cr.session})
		for _, tc := range []struct {
			name string
			body wire.DKGActivate
			code string
		}{
			{"altered signature", wire.DKGActivate{Completions: cr.completions, TestSignature: bad}, wire.CodeCeremony},
			{"no signature", wire.DKGActivate{Completions: cr.completions}, wire.CodeCeremony},
			{"missing completion", wire.DKGActivate{Completions: cr.completions[:2], TestSignature: sig}, wire.CodeInconsistent},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, n := range nodes {
					c.refused(t, n, wire.KindDKGActivate, cr.session, 5, tc.body, tc.code)
					if s := c.keyStatus(t, n, cr.w.ref); s != "pending" {
						t.Fatalf("%s: key %s after a refused activation, want pending", n.id, s)
					}
				}
			})
		}
		// The refusals did not end the ceremony: the real signature (any
		// t-subset's) activates the key.
		cr.doActivate(t, sig2)
		c.signTransfer(t, cr.w, nodes[1:])
	})

	t.Run("ok/abort forgets the pending key and its share", func(t *testing.T) {
		cr := c.finalized(t, nodes, 2, next())
		for _, n := range nodes {
			if _, err := os.Stat(n.SharePathForTest(cr.w.ref)); err != nil {
				t.Fatalf("%s: no share file after finalize: %v", n.id, err)
			}
			var a wire.DKGAbort
			c.ok(t, n, wire.KindDKGAbort, cr.session, 6, wire.DKGAbort{Reason: "test"}, &a)
			if s := c.keyStatus(t, n, cr.w.ref); s != "" {
				t.Fatalf("%s: key %s after abort", n.id, s)
			}
			if _, err := os.Stat(n.SharePathForTest(cr.w.ref)); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s: share file still there after abort: %v", n.id, err)
			}
			c.refused(t, n, wire.KindDKGActivate, cr.session, 5, wire.DKGActivate{Completions: cr.completions, TestSignature: []byte{1}}, wire.CodeCeremony)
		}
		nodes[0].restart(t)
		if s := c.keyStatus(t, nodes[0], cr.w.ref); s != "" {
			t.Fatalf("key %s after abort and restart", s)
		}
		// The wallet id is free again for a new ceremony.
		w := c.dkg(t, nodes, 2, cr.w.ref.WalletID)
		c.signTransfer(t, w, nodes[:2])
	})
}

// wantCulprits checks the participants a refusal names in Culprits.
func wantCulprits(t *testing.T, e *wire.Error, want ...uint16) {
	t.Helper()
	if !slices.Equal(e.Culprits, want) {
		t.Errorf("refusal %q names culprits %v, want %v", e.Message, e.Culprits, want)
	}
}

// wantNamed checks that a refusal holds participant i, guardian id,
// responsible: in its message for people and alone in Culprits.
func wantNamed(t *testing.T, e *wire.Error, i uint16, id string) {
	t.Helper()
	if name := fmt.Sprintf("participant %d (%s)", i, id); !strings.Contains(e.Message, name) {
		t.Errorf("refusal %q does not name %s", e.Message, name)
	}
	wantCulprits(t, e, i)
}

// auditHas reports whether n's own event log holds an event with action,
// result and target whose metadata includes meta.
func auditHas(t *testing.T, n *node, action, result, target string, meta map[string]string) bool {
	t.Helper()
	for _, l := range bytes.Split(bytes.TrimSpace(export(t, n)), []byte("\n")) {
		e, err := audit.ParseLine(l)
		if err != nil {
			t.Fatal(err)
		}
		if e.Action != action || e.Result != result || e.Target != target {
			continue
		}
		match := true
		for k, v := range meta {
			match = match && e.Metadata[k] == v
		}
		if match {
			return true
		}
	}
	return false
}

// TestDKGAbortOfAnActivatedKey: a ceremony can fail after some guardians
// activated its key (another refused the activation, or the coordinator
// could not record the wallet active). Its abort removes the key it made,
// active or pending, and nothing else; a guardian keeps an active key that
// has signed for a certificate or was activated too long ago, whatever
// the coordinator says.
func TestDKGAbortOfAnActivatedKey(t *testing.T) {
	c := newCoordinator(t)
	nodes := c.newNodes(t, 3)
	wallets := 0
	next := func() string { wallets++; return fmt.Sprintf("w-abort-%d", wallets) }
	// activated runs a ceremony and activates its key on the first active
	// nodes only (the others keep it pending, as after a refused or lost
	// activation).
	activated := func(t *testing.T, active int) *ceremony {
		cr := c.finalized(t, nodes, 2, next())
		sig := cr.testSignature(t)
		for _, n := range nodes[:active] {
			c.ok(t, n, wire.KindDKGActivate, cr.session, 5, wire.DKGActivate{Completions: cr.completions, TestSignature: sig}, nil)
		}
		return cr
	}
	abort := func(t *testing.T, n *node, session string) *wire.Error {
		_, e := c.rpc(t, n, wire.KindDKGAbort, session, 6, wire.DKGAbort{Reason: "the ceremony failed"}, nil)
		return e
	}
	kept := func(t *testing.T, cr *ceremony, n *node, status string) {
		t.Helper()
		if s := c.keyStatus(t, n, cr.w.ref); s != status {
			t.Fatalf("%s: key %q, want %q", n.id, s, status)
		}
		if _, err := os.Stat(n.SharePathForTest(cr.w.ref)); err != nil {
			t.Fatalf("%s: %v", n.id, err)
		}
	}

	t.Run("ok/partly activated key removed everywhere", func(t *testing.T) {
		cr := activated(t, 2)
		for i, n := range nodes {
			want := map[bool]string{true: "active", false: "pending"}[i < 2]
			kept(t, cr, n, want)
			if e := abort(t, n, cr.session); e != nil {
				t.Fatalf("%s refused the abort: %s: %s", n.id, e.Code, e.Message)
			}
			if s := c.keyStatus(t, n, cr.w.ref); s != "" {
				t.Fatalf("%s: key %s after the abort of its ceremony", n.id, s)
			}
			if _, err := os.Stat(n.SharePathForTest(cr.w.ref)); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s: share file after the abort: %v", n.id, err)
			}
			if !auditHas(t, n, "dkg.abort", "success", "wallet:"+cr.w.ref.WalletID,
				map[string]string{"session": cr.session, "removed_key": want, "reason": "the ceremony failed"}) {
				t.Fatalf("%s: no dkg.abort event recording the %s key it removed", n.id, want)
			}
		}
		nodes[0].restart(t)
		if s := c.keyStatus(t, nodes[0], cr.w.ref); s != "" {
			t.Fatalf("key %s after the abort and a restart", s)
		}
		for _, n := range nodes {
			c.refused(t, n, wire.KindCommit, "pool-"+randomHex(6), 1, wire.CommitRequest{KeyRef: cr.w.ref, Count: 1}, wire.CodeUnknownKey)
		}
		// The wallet id is free for a new ceremony.
		w := c.dkg(t, nodes, 2, cr.w.ref.WalletID)
		c.signTransfer(t, w, nodes[:2])
	})

	t.Run("ok/abort of another session leaves keys alone", func(t *testing.T) {
		cr := activated(t, 3)
		other := c.finalized(t, nodes, 2, next()) // a pending key of another ceremony
		for _, n := range nodes {
			for _, session := range []string{randomHex(32), other.session} {
				if e := abort(t, n, session); e != nil {
					t.Fatalf("%s refused the abort: %s: %s", n.id, e.Code, e.Message)
				}
			}
			kept(t, cr, n, "active")
		}
		c.signTransfer(t, cr.w, nodes[1:])
	})

	t.Run("fail/key that signed for a certificate", func(t *testing.T) {
		cr := activated(t, 3)
		c.signTransfer(t, cr.w, nodes[:2])
		for _, n := range nodes[:2] {
			e := abort(t, n, cr.session)
			if e == nil || e.Code != wire.CodeCeremony || !strings.Contains(e.Message, "signed") {
				t.Fatalf("%s: abort of an active key that signed: %+v, want a %s refusal", n.id, e, wire.CodeCeremony)
			}
			kept(t, cr, n, "active")
			if !auditHas(t, n, wire.KindDKGAbort, "denied", "session:"+cr.session, map[string]string{"code": wire.CodeCeremony}) {
				t.Fatalf("%s: the refused abort is not in its event log", n.id)
			}
		}
		c.signTransfer(t, cr.w, nodes[:2])
	})

	// Last: it moves the shared clock.
	t.Run("fail/key activated too long ago", func(t *testing.T) {
		cr := activated(t, 3)
		c.clock.Advance(16 * time.Minute)
		for _, n := range nodes {
			e := abort(t, n, cr.session)
			if e == nil || e.Code != wire.CodeCeremony || !strings.Contains(e.Message, "activated more than") {
				t.Fatalf("%s: late abort of an active key: %+v, want a %s refusal", n.id, e, wire.CodeCeremony)
			}
			kept(t, cr, n, "active")
		}
		c.signTransfer(t, cr.w, nodes[1:])
	})
}
