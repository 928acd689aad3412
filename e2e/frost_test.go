package e2e

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/edwards25519"

	"github.com/custos-dev/custos/dkg"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/guardian"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/internal/keyfile"
)

// The FROST acceptance points, through real processes: a `custos dev`
// coordinator started with --guardians 0 and guardian processes
// (`custos guardian run`) that the tests set up, restart, stall and kill.
// Every signature is verified here with crypto/ed25519 under the wallet's
// group key, over the intent bytes the API returns.
//
// Two systems run in parallel: TestFROSTGuardianSets (seven guardians:
// key ceremonies among 3, 5 and 7, threshold signing, malicious key
// ceremony participants, a guardian returning corrupt signature shares,
// and the search for key shares in everything the coordinator stores,
// logs and exchanges) and TestFROSTGuardianFailures (three guardians:
// guardians down, a guardian killed between a signing request and its
// answer, and the recovery). The second waits for the coordinator's sweep
// to resume postponed transfers (after coordinator.WaitingRetry, on the
// sweep's 10-second tick in custos dev).

// TestFROSTGuardianSets is acceptance points 1, 2, 5 and 6 of the FROST
// issue, on one coordinator with seven guardian processes.
func TestFROSTGuardianSets(t *testing.T) {
	t.Parallel()
	s := startFROSTSystem(t)
	gs := s.addGuardians(t, "g1", "g2", "g3", "g4", "g5", "g6", "g7")
	wallets := map[string]*walletView{}

	if !t.Run("ok/key_ceremonies_among_3_5_and_7_guardians", func(t *testing.T) {
		specs := []struct {
			name      string
			threshold int
			members   []*guardianNode
		}{
			{"ops-2of3", 2, gs[:3]},
			{"ops-3of5", 3, gs[:5]},
			{"ops-5of7", 5, gs[:7]},
		}
		// The three ceremonies are approved one after the other and run
		// in the background: g1..g3 take part in all three at once.
		ids := make([]string, len(specs))
		for i, sp := range specs {
			ids[i] = s.fileWallet(t, sp.name, sp.threshold, sp.members)
		}
		keys := map[string]string{}
		for i, sp := range specs {
			w := s.waitWallet(t, ids[i])
			checkActiveWallet(t, s, w, sp.threshold, sp.members, gs)
			if other, dup := keys[w.PublicKey]; dup {
				t.Fatalf("wallets %s and %s have the same group key %s", other, w.Name, w.PublicKey)
			}
			keys[w.PublicKey] = w.Name
			wallets[sp.name] = w
		}
	}) {
		return
	}

	if !t.Run("ok/threshold_signing", func(t *testing.T) {
		for _, tc := range []struct {
			wallet    string
			transfers int
		}{
			{"ops-2of3", 3},
			{"ops-3of5", 3},
			{"ops-5of7", 1},
		} {
			t.Run("ok/"+tc.wallet, func(t *testing.T) {
				w := wallets[tc.wallet]
				members := map[string]bool{}
				for _, g := range gs {
					if slices.Contains(w.Guardians, g.id) {
						members[g.name] = true
					}
				}
				for range tc.transfers {
					tx := s.signedTransfer(t, w)
					// Exactly t guardians of the wallet released the shares
					// of the session whose R is the signature's.
					final := finalSession(t, s.signSessions(t, tx.RequestID), w.pub(t), tx.Signature)
					by := final.releasedBy()
					if len(by) != w.Threshold || len(final.commitments) != w.Threshold {
						t.Fatalf("transfer %s: the signing session had %d commitments and shares from %v; want %d", tx.ID, len(final.commitments), by, w.Threshold)
					}
					for _, name := range by {
						if !members[name] {
							t.Fatalf("transfer %s: %s, not a guardian of %s, released a share", tx.ID, name, w.Name)
						}
					}
					// The check is not vacuous: another message fails it.
					sig, _ := hex.DecodeString(tx.Signature)
					bad := bytes.Clone(tx.Intent)
					bad[len(bad)-3] ^= 1
					if ed25519.Verify(w.pub(t), bad, sig) {
						t.Fatalf("transfer %s: the signature also verifies over a modified intent", tx.ID)
					}
				}
			})
		}
	}) {
		return
	}

	t.Run("fail/malicious_key_ceremony_participant", func(t *testing.T) {
		testMaliciousCeremony(t, s, gs[4:7])
	})

	if !t.Run("ok/corrupt_share_guardian_quarantined_and_transfer_signed", func(t *testing.T) {
		testCorruptShare(t, s, gs, wallets["ops-2of3"], wallets["ops-3of5"])
	}) {
		return
	}

	t.Run("ok/no_key_share_in_coordinator_data_logs_or_traffic", func(t *testing.T) {
		checkNoKeyShareLeaks(t, s, []*walletView{wallets["ops-2of3"], wallets["ops-3of5"], wallets["ops-5of7"]})
	})
}

// checkActiveWallet checks a FROST wallet after its key ceremony: active,
// with a group key on the curve, a completed ceremony, and a key share of
// the right participant index on each of its guardians and on no other.
func checkActiveWallet(t *testing.T, s *frostSystem, w *walletView, threshold int, members, all []*guardianNode) {
	t.Helper()
	if w.Status != "active" || w.Mode != "frost" || w.Curve != "ed25519" || w.Threshold != threshold || w.KeyVersion != 1 {
		t.Fatalf("wallet %s: status %s, mode %s, curve %s, %d-of-%d, key version %d; want an active ed25519 FROST wallet %d-of-%d (ceremony %+v)",
			w.Name, w.Status, w.Mode, w.Curve, w.Threshold, len(w.Guardians), w.KeyVersion, threshold, len(members), w.Ceremony)
	}
	if _, err := new(edwards25519.Point).SetBytes(w.pub(t)); err != nil {
		t.Fatalf("wallet %s: group key %s is not a curve point: %v", w.Name, w.PublicKey, err)
	}
	if c := w.Ceremony; c == nil || c.State != "completed" || c.Round != "done" || len(c.Transcript) != 64 || len(c.Blamed) != 0 {
		t.Fatalf("wallet %s: ceremony %+v, want completed at done with a transcript", w.Name, w.Ceremony)
	}
	var ids []string
	for _, g := range members {
		ids = append(ids, g.id)
	}
	if !slices.Equal(w.Guardians, ids) {
		t.Fatalf("wallet %s guardians %v, want %v in that order", w.Name, w.Guardians, ids)
	}
	for _, g := range all {
		idx, status := g.keyIndex(t, w.ID)
		want := uint16(slices.Index(members, g) + 1)
		if want == 0 && idx != 0 || want != 0 && (idx != want || status != "active") {
			t.Fatalf("guardian %s holds key %d (%q) of wallet %s; want participant %d (0: none)", g.name, idx, status, w.Name, want)
		}
	}
	out := mustCLI(t, "wallet", "show", w.Name, s.credsFlag())
	for _, want := range []string{"status      active", fmt.Sprintf("any %d of %d guardians", threshold, len(members)),
		"public key  " + w.PublicKey, w.Ceremony.ID + ": completed\n", "test-sign"} {
		if !strings.Contains(out, want) {
			t.Errorf("custos wallet show %s lacks %q:\n%s", w.Name, want, out)
		}
	}
}

// testMaliciousCeremony is acceptance point 6 across processes. The
// malicious participant is a real guardian process whose operator (the
// test, holding the guardian's identity key) alters the guardian's answers
// on the way out and signs them again: a bad proof of knowledge in round 1,
// a round-2 share that does not open for its recipient, or one that opens
// but is not the value the sender committed to. The coordinator
// and the honest guardians are unmodified processes; the ceremony must
// fail, blame exactly the malicious guardian, and leave no key anywhere.
func testMaliciousCeremony(t *testing.T, s *frostSystem, members []*guardianNode) {
	evil := members[2] // participant 3
	idKey, err := keyfile.ReadEd25519(filepath.Join(evil.dir, guardian.IdentityFile))
	if err != nil {
		t.Fatal(err)
	}
	// The first participant's HPKE key, public: what a participant
	// encrypts its round-2 share to.
	encKey, err := hex.DecodeString(members[0].status(t).EncryptionKey)
	if err != nil {
		t.Fatal(err)
	}
	resign := func(ans *wire.Envelope, body any) *wire.Envelope {
		env, err := wire.New(idKey, ans.Kind, ans.Session, ans.Round, ans.From, ans.To, ans.ReplyTo, body, time.Now())
		if err != nil {
			return nil // the answer goes out unaltered, and the case fails
		}
		return env
	}
	for i, tc := range []struct {
		name    string
		kind    string
		alter   func(ans *wire.Envelope) *wire.Envelope
		wantErr string
		// reporter is the honest guardian that detects it (nil: the
		// coordinator's own round-1 check does).
		reporter *guardianNode
	}{
		{
			name: "fail/round1_invalid_proof_of_knowledge", kind: wire.KindDKGStart, wantErr: "round 1 does not verify",
			alter: func(ans *wire.Envelope) *wire.Envelope {
				var r1 wire.DKGRound1
				if ans.Decode(&r1) != nil {
					return nil
				}
				p, err := dkg.UnmarshalRound1(r1.Package)
				if err != nil {
					return nil
				}
				p.ProofZ[0] ^= 1
				if r1.Package, err = p.Marshal(); err != nil {
					return nil
				}
				return resign(ans, r1)
			},
		},
		{
			name: "fail/round2_share_that_does_not_open", kind: wire.KindDKGShares,
			wantErr: "guardian " + members[0].name + " reports misbehaviour", reporter: members[0],
			alter: func(ans *wire.Envelope) *wire.Envelope {
				return alterShareTo1(ans, resign, func(m *dkg.Round2) error {
					m.Ciphertext[len(m.Ciphertext)-1] ^= 1
					return nil
				})
			},
		},
		{
			// A share encrypted properly, to the right recipient, for this
			// session and transcript, that is not f_3(1): only the
			// recipient's check against participant 3's commitments
			// catches it.
			name: "fail/round2_share_off_its_commitments", kind: wire.KindDKGShares,
			wantErr: "Feldman check", reporter: members[0],
			alter: func(ans *wire.Envelope) *wire.Envelope {
				return alterShareTo1(ans, resign, func(m *dkg.Round2) error {
					ct, err := encryptShare(encKey, ans.Session, 2, 3, m.Transcript, m.From, m.To)
					m.Ciphertext = ct
					return err
				})
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var altered atomic.Int32
			evil.wire.setTamper(func(req, ans *wire.Envelope) *wire.Envelope {
				if ans.Kind != tc.kind {
					return nil
				}
				out := tc.alter(ans)
				if out != nil {
					altered.Add(1)
				}
				return out
			})
			defer evil.wire.setTamper(nil)

			w := s.waitWallet(t, s.fileWallet(t, fmt.Sprintf("evil-%d", i+1), 2, members))
			evil.wire.setTamper(nil)
			if n := altered.Load(); n != 1 {
				t.Fatalf("the malicious operator altered %d %s answers, want 1", n, tc.kind)
			}
			if w.Status != "failed" || w.PublicKey != "" || w.Ceremony == nil || w.Ceremony.State != "failed" {
				t.Fatalf("wallet %s: status %s, public key %q, ceremony %+v; want failed, no key", w.Name, w.Status, w.PublicKey, w.Ceremony)
			}
			if !slices.Equal(w.Ceremony.Blamed, []string{evil.id}) {
				t.Fatalf("ceremony blames %v, want exactly the malicious guardian %s (%s); error %q", w.Ceremony.Blamed, evil.id, evil.name, w.Ceremony.Error)
			}
			if !strings.Contains(w.Ceremony.Error, tc.wantErr) {
				t.Errorf("ceremony error %q does not say %q", w.Ceremony.Error, tc.wantErr)
			}
			out := mustCLI(t, "wallet", "show", w.Name, s.credsFlag())
			if !strings.Contains(out, "blamed      "+evil.id) || !strings.Contains(out, "public key  (none") {
				t.Errorf("custos wallet show %s does not name %s and show no key:\n%s", w.Name, evil.id, out)
			}
			// Every participant forgets the failed key (the coordinator
			// tells them to abort once the ceremony is marked failed).
			for _, g := range members {
				deadline := time.Now().Add(time.Minute) // a hang guard
				for {
					idx, status := g.keyIndex(t, w.ID)
					if idx == 0 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("guardian %s still holds key %d (%s) of the failed wallet %s", g.name, idx, status, w.Name)
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
			if tc.reporter != nil {
				// The honest recipient refused to finalize and named
				// participant 3 in its own audit chain.
				found := false
				for _, e := range tc.reporter.auditEvents(t) {
					if e.Action == wire.KindDKGFinalize && e.Result == "denied" && e.Target == "session:"+w.Ceremony.ID &&
						e.Metadata["code"] == wire.CodeMisbehaviour && e.Metadata["culprits"] == "3" {
						found = true
					}
				}
				if !found {
					t.Errorf("guardian %s's audit has no refused dkg.finalize naming participant 3", tc.reporter.name)
				}
			}
		})
	}
}

// alterShareTo1 applies f to the round-2 message to participant 1 in a
// dkg.shares answer and signs the answer again.
func alterShareTo1(ans *wire.Envelope, resign func(*wire.Envelope, any) *wire.Envelope, f func(*dkg.Round2) error) *wire.Envelope {
	var sh wire.DKGSharesResponse
	if ans.Decode(&sh) != nil {
		return nil
	}
	for i, b := range sh.Shares {
		m, err := dkg.UnmarshalRound2(b)
		if err != nil || m.To != 1 {
			continue
		}
		if f(m) != nil {
			return nil
		}
		if sh.Shares[i], err = m.Marshal(); err != nil {
			return nil
		}
		return resign(ans, sh)
	}
	return nil
}

// encryptShare encrypts a random scalar as the round-2 share from -> to
// of an Ed25519 t-of-n ceremony, the way package dkg does (its package
// comment: DHKEM(X25519), HKDF-SHA256, ChaCha20Poly1305, the info binding
// the session, the transcript and both identifiers; dkg.shareInfo is
// unexported, so its layout is written out here).
func encryptShare(recipient []byte, session string, threshold, n uint16, tr [32]byte, from, to uint16) ([]byte, error) {
	sid, err := hex.DecodeString(session)
	if err != nil || len(sid) != 32 {
		return nil, fmt.Errorf("session %q", session)
	}
	ek, err := ecdh.X25519().NewPublicKey(recipient)
	if err != nil {
		return nil, err
	}
	pk, err := hpke.NewDHKEMPublicKey(ek)
	if err != nil {
		return nil, err
	}
	info := slices.Concat([]byte("custos dkg share v1\x00"), sid, []byte{byte(frost.Ed25519)},
		binary.BigEndian.AppendUint16(nil, threshold), binary.BigEndian.AppendUint16(nil, n), tr[:],
		binary.BigEndian.AppendUint16(nil, from), binary.BigEndian.AppendUint16(nil, to))
	wide := make([]byte, 64)
	rand.Read(wide)
	share, err := edwards25519.NewScalar().SetUniformBytes(wide)
	if err != nil {
		return nil, err
	}
	return hpke.Seal(pk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, share.Bytes())
}

// testCorruptShare is acceptance point 5: a guardian returning corrupt
// signature shares is quarantined, named, and the transfer it took part in
// is signed by another subset under the same approvals.
func testCorruptShare(t *testing.T, s *frostSystem, gs []*guardianNode, w, other *walletView) {
	bad := gs[0]
	bad.stop(t)
	restarted := time.Now()
	bad.start(t, "corrupt-share")
	s.waitRestartSeen(t, bad, restarted)

	// Guardians are picked in turn among equals: within a few transfers
	// the corrupt one is in the chosen pair.
	var caught *txView
	for i := 0; i < 8 && caught == nil; i++ {
		tx := s.signedTransfer(t, w)
		if s.guardianView(t, bad).Status == "quarantined" {
			caught = tx
		}
	}
	if caught == nil {
		t.Fatalf("guardian %s was never picked in 8 transfers from %s", bad.name, w.Name)
	}
	t.Logf("transfer %s caught %s's corrupt share", caught.ID, bad.name)
	v := s.guardianView(t, bad)
	if !strings.Contains(v.StatusReason, "invalid signature share") {
		t.Errorf("guardian %s quarantined with reason %q, want it to name the invalid signature share", bad.name, v.StatusReason)
	}
	sessions := s.signSessions(t, caught.RequestID)
	final := finalSession(t, sessions, w.pub(t), caught.Signature)
	if slices.Contains(final.releasedBy(), bad.name) || len(final.released) != w.Threshold {
		t.Fatalf("transfer %s was signed with shares from %v, want %d without %s", caught.ID, final.releasedBy(), w.Threshold, bad.name)
	}
	// The guardian named is the one whose share is wrong: checked here
	// against its public share, next to the honest shares of that session.
	group := bad.openShare(t, w).group
	idx := map[string]uint16{}
	for _, g := range gs {
		idx[g.name], _ = g.keyIndex(t, w.ID)
	}
	corrupted := false
	for _, ss := range sessions {
		if _, ok := ss.released[bad.name]; !ok {
			continue
		}
		for name, share := range ss.released {
			ok, err := shareVerifies(&group, ss.message, ss.commitments, idx[name], share)
			if err != nil {
				t.Fatal(err)
			}
			if ok == (name == bad.name) {
				t.Fatalf("session %s: the share of %s verifies: %v; want only %s's share to fail", ss.id, name, ok, bad.name)
			}
		}
		corrupted = true
	}
	if !corrupted {
		t.Fatalf("no session of transfer %s holds a share from %s", caught.ID, bad.name)
	}
	for name, share := range final.released {
		if ok, err := shareVerifies(&group, final.message, final.commitments, idx[name], share); !ok || err != nil {
			t.Fatalf("the share of %s in the signing session does not verify: %v", name, err)
		}
	}
	if r := getRequest(t, s.url, s.token(t, "ada"), caught.RequestID); r.Status != "executed" || r.Tally.Approvals != 1 {
		t.Fatalf("request %s: %s with %d approvals; want executed on its one approval", r.ID, r.Status, r.Tally.Approvals)
	}
	named := false
	for _, e := range auditAfter(t, s.url, s.token(t, "aude"), 0) {
		if e.Action == "guardian.quarantine" && e.Target == "guardian:"+bad.id && e.Metadata["target"] == "request:"+caught.RequestID {
			named = true
		}
	}
	if !named {
		t.Errorf("no guardian.quarantine audit event names %s for request %s", bad.name, caught.RequestID)
	}
	list := mustCLI(t, "guardian", "list", "--as", "ada", s.credsFlag())
	if !lineWith(list, bad.id, bad.name, "quarantined") {
		t.Errorf("custos guardian list does not show %s quarantined:\n%s", bad.name, list)
	}
	// A quarantined guardian is asked nothing more.
	tx := s.signedTransfer(t, other)
	for _, ss := range s.signSessions(t, tx.RequestID) {
		if _, asked := ss.requests[bad.name]; asked {
			t.Fatalf("the quarantined %s was asked to sign transfer %s", bad.name, tx.ID)
		}
	}
	for _, x := range bad.wire.snapshot() {
		if env, err := wire.ParseEnvelope(x.req); err == nil && env.Kind == wire.KindPrepare {
			var sr wire.SignRequest
			if env.Decode(&sr) == nil && sr.Certificate != nil && sr.Certificate.RequestID == tx.RequestID {
				t.Fatalf("the quarantined %s got a round-1 request for transfer %s", bad.name, tx.ID)
			}
		}
	}
}

// lineWith reports whether a line of text holds every one of words.
func lineWith(text string, words ...string) bool {
	for line := range strings.Lines(text) {
		if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(line, w) }) {
			return true
		}
	}
	return false
}

// checkNoKeyShareLeaks is acceptance point 2: the coordinator's data
// directory (its SQLite database with -wal and -shm, keys, credentials),
// its log (at debug level) and everything it exchanged with the guardians
// never hold a guardian's key share, nor the group secret, in plaintext,
// raw, hex or base64. The shares searched for are the real ones, opened
// from each guardian's sealed share file with its key-encryption key.
func checkNoKeyShareLeaks(t *testing.T, s *frostSystem, wallets []*walletView) {
	checkSecretSearch(t)
	s.mu.Lock()
	guardians := slices.Clone(s.guardians)
	s.mu.Unlock()
	byID := map[string]*guardianNode{}
	for _, g := range guardians {
		byID[g.id] = g
	}
	type secret struct {
		what     string
		patterns map[string][]byte
	}
	var secrets []secret
	for _, w := range wallets {
		var shares []*keyShare
		for _, id := range w.Guardians {
			g := byID[id]
			ks := g.openShare(t, w)
			pats := secretPatterns(ks.secret)
			// The search finds a share where it is: in the guardian's
			// decrypted share file...
			if _, ok := findSecret(ks.plain, pats); !ok {
				t.Fatalf("the search does not find %s's share of %s in its own plaintext", g.name, w.Name)
			}
			// ...and nowhere else on the guardian's disk.
			for _, f := range readTree(t, g.dir) {
				if form, ok := findSecret(f.data, pats); ok {
					t.Errorf("%s holds %s's share of %s in plaintext (%s)", f.what, g.name, w.Name, form)
				}
			}
			secrets = append(secrets, secret{fmt.Sprintf("%s's share of %s", g.name, w.Name), pats})
			shares = append(shares, ks)
		}
		// f(0) from two different t-subsets: the same secret, that of the
		// wallet's public key.
		a := interpolateSecret(t, shares[:w.Threshold], w.pub(t))
		b := interpolateSecret(t, shares[len(shares)-w.Threshold:], w.pub(t))
		if !bytes.Equal(a, b) {
			t.Fatalf("wallet %s: two subsets of shares interpolate to different secrets", w.Name)
		}
		secrets = append(secrets, secret{"the group secret of " + w.Name, secretPatterns(a)})
	}

	var haystacks []namedBytes
	files := readTree(t, s.dir)
	haystacks = append(haystacks, files...)
	log, err := os.ReadFile(s.proc.logPath)
	if err != nil {
		t.Fatal(err)
	}
	haystacks = append(haystacks, namedBytes{"the coordinator's log", log})
	exchanges, traffic := 0, 0
	for _, g := range guardians {
		for i, b := range g.wire.bytes() {
			haystacks = append(haystacks, namedBytes{fmt.Sprintf("traffic with %s (message %d)", g.name, i/2), b})
			traffic += len(b)
		}
		exchanges += len(g.wire.snapshot())
	}
	db := false
	for _, f := range files {
		if strings.HasSuffix(f.what, "custos.db-wal") || strings.HasSuffix(f.what, "custos.db") {
			db = db || len(f.data) > 0
		}
	}
	if !db || len(log) == 0 || exchanges == 0 {
		t.Fatalf("nothing to search: database found %v, log %d bytes, %d exchanges", db, len(log), exchanges)
	}
	for _, h := range haystacks {
		for _, sec := range secrets {
			if form, ok := findSecret(h.data, sec.patterns); ok {
				t.Errorf("%s holds %s (%s)", h.what, sec.what, form)
			}
		}
	}
	t.Logf("searched %d files in %s, %d bytes of log and %d exchanges (%d bytes) with the guardians for %d secrets",
		len(files), s.dir, len(log), exchanges, traffic, len(secrets))
}

// checkSecretSearch shows that the search can fail: it finds a secret in
// every form it claims to cover, at every base64 alignment, and does not
// find another secret there.
func checkSecretSearch(t *testing.T) {
	t.Helper()
	secret, other := make([]byte, 32), make([]byte, 32)
	rand.Read(secret)
	rand.Read(other)
	rev := slices.Clone(secret)
	slices.Reverse(rev)
	hay := map[string][]byte{
		"raw":         slices.Concat([]byte("\x00junk"), secret, []byte("junk")),
		"reversed":    slices.Concat([]byte("junk"), rev),
		"hex":         []byte(`{"k":"` + hex.EncodeToString(secret) + `"}`),
		"HEX":         []byte("0x" + strings.ToUpper(hex.EncodeToString(secret))),
		"reversedhex": []byte(hex.EncodeToString(rev)),
	}
	for k := range 3 {
		for name, enc := range map[string]*base64.Encoding{"base64": base64.StdEncoding, "base64url": base64.RawURLEncoding} {
			hay[fmt.Sprintf("%s@%d", name, k)] = []byte(enc.EncodeToString(slices.Concat(make([]byte, k), secret, []byte("tail"))))
		}
	}
	js, _ := json.Marshal(map[string]any{"id": 1, "secret": secret})
	hay["json"] = js
	pats, otherPats := secretPatterns(secret), secretPatterns(other)
	for name, h := range hay {
		if _, ok := findSecret(h, pats); !ok {
			t.Fatalf("the secret search misses a secret written as %s", name)
		}
		if form, ok := findSecret(h, otherPats); ok {
			t.Fatalf("the secret search finds another secret (%s) in %s", form, name)
		}
	}
}

// TestFROSTGuardianFailures is acceptance points 3 and 4 of the FROST
// issue, on one coordinator with three guardian processes and a 2-of-3
// wallet: one guardian down, a guardian killed between a signing request
// and its answer, two down, and the recovery.
//
// The designed behaviour (coordinator/execute.go finishSigning): a
// signature that cannot reach t guardians leaves the transfer in signing,
// with failure_reason "waiting to sign: ..." and no signature, and the
// sweep tries it again once coordinator.WaitingRetry has passed; no new
// approvals are needed.
func TestFROSTGuardianFailures(t *testing.T) {
	t.Parallel()
	s := startFROSTSystem(t)
	gs := s.addGuardians(t, "g1", "g2", "g3")
	g1, g3 := gs[0], gs[2]
	w := s.waitWallet(t, s.fileWallet(t, "ops", 2, gs))
	checkActiveWallet(t, s, w, 2, gs, gs)

	if !t.Run("ok/all_up_signed", func(t *testing.T) { s.signedTransfer(t, w) }) {
		return
	}

	if !t.Run("ok/n_minus_t_down_still_signed", func(t *testing.T) {
		g3.stop(t)
		tx := s.signedTransfer(t, w)
		final := finalSession(t, s.signSessions(t, tx.RequestID), w.pub(t), tx.Signature)
		if by := final.releasedBy(); !slices.Equal(by, []string{"g1", "g2"}) {
			t.Fatalf("transfer %s signed with shares from %v, want g1 and g2", tx.ID, by)
		}
	}) {
		return
	}

	var stalled, waiting *txView // the transfer g1 was killed in, and one approved with two guardians down
	var stalledSession string
	if !t.Run("ok/guardian_killed_before_its_share_two_down_wait", func(t *testing.T) {
		// g1 takes the signing request, records it, and stalls before
		// answering; with g3 down the coordinator must ask g1 and g2.
		g1.stop(t)
		restarted := time.Now()
		g1.start(t, "stall-before-share")
		s.waitRestartSeen(t, g1, restarted)
		tx := s.submitTransfer(t, w.ID)
		vote := s.voteRequest(t, "alice", tx.RequestID)
		type result struct {
			r   *apiResponse
			err error
		}
		voted := make(chan result, 1)
		go func() {
			r, err := tryHTTP(s.url, vote)
			voted <- result{r, err}
		}()
		line := g1.waitLog(t, "stalling before releasing a share")
		var entry struct {
			Session string `json:"session"`
		}
		if err := json.Unmarshal([]byte(line), &entry); err != nil || entry.Session == "" {
			t.Fatalf("stall log line without a session: %q", line)
		}
		stalledSession = entry.Session
		g1.kill(t)
		var res result
		select {
		case res = <-voted:
		case <-time.After(2 * time.Minute): // a hang guard
			t.Fatalf("the approval did not return after %s was killed", g1.name)
		}
		if res.err != nil || res.r.Status != http.StatusOK {
			t.Fatalf("alice's approval: %v %v", res.err, res.r)
		}
		stalled = checkWaiting(t, s, tx.ID)

		// Point 4: a transfer approved now, with g1 and g3 down, waits
		// the same way.
		tx2 := s.submitTransfer(t, w.ID)
		s.approve(t, "alice", tx2.RequestID)
		waiting = checkWaiting(t, s, tx2.ID)
		postponed := false
		for _, e := range auditAfter(t, s.url, s.token(t, "aude"), 0) {
			if e.Action == "transaction.sign" && (e.Target == "transaction:"+stalled.ID || e.Target == "transaction:"+waiting.ID) {
				if e.Result == "success" {
					t.Fatalf("audit records a signature of %s while it waits: %+v", e.Target, e)
				}
				postponed = postponed || e.Result == "failure" && e.Metadata["retry_after"] != ""
			}
		}
		if !postponed {
			t.Errorf("the audit log does not record the postponed signatures")
		}
	}) {
		return
	}

	if !t.Run("ok/replayed_round2_refused_after_restart", func(t *testing.T) {
		ss := s.signSessions(t, stalled.RequestID)[stalledSession]
		if ss == nil || ss.requests["g1"] == nil {
			t.Fatalf("the proxy recorded no round-2 request to g1 in session %s", stalledSession)
		}
		if _, ok := ss.released["g1"]; ok {
			t.Fatalf("g1 released a share in session %s before it was killed", stalledSession)
		}
		g1.start(t, "") // no fault now
		raw := ss.requests["g1"]
		req, err := wire.ParseEnvelope(raw)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post("http://"+g1.listen+"/v1/rpc", "application/json", bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		var ansRaw bytes.Buffer
		ansRaw.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("replay to g1: HTTP %d %s (want a signed refusal of an authentic request)", resp.StatusCode, ansRaw.String())
		}
		ans, err := wire.ParseEnvelope(ansRaw.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		d := req.Digest()
		if err := ans.Verify(g1.identity, wire.Expect{From: g1.id, To: wire.CoordinatorID, Session: stalledSession, Round: 2, ReplyTo: d[:]}); err != nil {
			t.Fatalf("g1's answer to the replay does not verify: %v", err)
		}
		var we wire.Error
		if ans.Kind != wire.KindError || ans.Decode(&we) != nil || we.Code != wire.CodeUnknownNonce {
			t.Fatalf("g1 answered the replayed round 2 with %s %s; want a %s refusal and no share", ans.Kind, ans.Body, wire.CodeUnknownNonce)
		}
		// g1's own audit chain: the share was authorized (the
		// certificate's use recorded) before the stall, and the replay
		// refused.
		var recorded, refused bool
		for _, e := range g1.auditEvents(t) {
			switch {
			case e.Action == "sign.authorize" && e.Result == "success" && e.Metadata["session"] == stalledSession:
				recorded = true
			case e.Action == wire.KindSign && e.Result == "denied" && e.Target == "session:"+stalledSession && e.Metadata["code"] == wire.CodeUnknownNonce:
				refused = true
			}
		}
		if !recorded || !refused {
			t.Fatalf("g1's audit: signing recorded before the stall %v, replay refused %v; want both", recorded, refused)
		}
	}) {
		return
	}

	if !t.Run("ok/waiting_transfers_signed_after_restart_with_fresh_nonces", func(t *testing.T) {
		// The sweep resumes them after coordinator.WaitingRetry.
		signed := func(tx *txView) bool { return tx.Status == "signed" }
		for _, tx := range []*txView{stalled, waiting} {
			got := s.waitTx(t, tx.ID, 5*time.Minute, "signed", signed)
			checkSignature(t, w, got)
			if r := getRequest(t, s.url, s.token(t, "ada"), got.RequestID); r.Status != "executed" || r.Tally.Approvals != 1 {
				t.Fatalf("request %s: %s with %d approvals; want executed on its one approval", r.ID, r.Status, r.Tally.Approvals)
			}
			if tx == stalled {
				stalled = got
			}
		}
		sessions := s.signSessions(t, stalled.RequestID)
		final := finalSession(t, sessions, w.pub(t), stalled.Signature)
		old := sessions[stalledSession]
		if final.id == stalledSession || !slices.Equal(final.releasedBy(), []string{"g1", "g2"}) {
			t.Fatalf("transfer %s signed in session %s by %v; want a new session by g1 (restarted) and g2", stalled.ID, final.id, final.releasedBy())
		}
		for idx := uint16(1); idx <= 2; idx++ {
			a, ok1 := old.commitmentOf(idx)
			b, ok2 := final.commitmentOf(idx)
			if !ok1 || !ok2 || a.ID == b.ID || bytes.Equal(a.Hiding, b.Hiding) || bytes.Equal(a.Binding, b.Binding) {
				t.Fatalf("participant %d's commitment in the killed session %+v and in the signing one %+v: want fresh nonces", idx, a, b)
			}
		}
		oldR, err := groupCommitment(w.pub(t), old.message, old.commitments)
		if err != nil {
			t.Fatal(err)
		}
		sig, _ := hex.DecodeString(stalled.Signature)
		if bytes.Equal(oldR, sig[:32]) {
			t.Fatalf("the signature reuses the R of the killed session")
		}
	}) {
		return
	}

	if !t.Run("ok/all_restarted_signed", func(t *testing.T) {
		restarted := time.Now()
		g3.start(t, "")
		s.waitRestartSeen(t, g3, restarted)
		s.signedTransfer(t, w)
		for _, g := range gs {
			if v := s.guardianView(t, g); v.Status != "active" {
				t.Errorf("guardian %s is %s (%s) after the restarts; a crash is not misbehaviour", g.name, v.Status, v.StatusReason)
			}
		}
	}) {
		return
	}

	t.Run("ok/no_key_share_in_coordinator_data_logs_or_traffic", func(t *testing.T) {
		checkNoKeyShareLeaks(t, s, []*walletView{w})
	})
}

// checkWaiting checks that an approved transfer waits to be signed with a
// clear reason, half-signed nowhere: in signing, no signature, its
// request approved and not executed.
func checkWaiting(t *testing.T, s *frostSystem, id string) *txView {
	t.Helper()
	tx := getTx(t, s.url, s.creds.APIKey, id)
	if tx.Status != "signing" || tx.Signature != "" || !strings.HasPrefix(tx.FailureReason, "waiting to sign: ") ||
		!strings.Contains(tx.FailureReason, "reachable") {
		t.Fatalf("transfer %s: status %s, signature %q, reason %q; want signing, unsigned, waiting for guardians to be reachable",
			id, tx.Status, tx.Signature, tx.FailureReason)
	}
	if r := getRequest(t, s.url, s.token(t, "ada"), tx.RequestID); r.Status != "approved" {
		t.Fatalf("request %s of the waiting transfer is %s, want approved", r.ID, r.Status)
	}
	t.Logf("transfer %s waits: %s", id, tx.FailureReason)
	return tx
}
