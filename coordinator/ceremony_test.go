package coordinator_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/custos-dev/custos/coordinator"
	"github.com/custos-dev/custos/dkg"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/store"
)

// tamperNet carries messages to fake guardians like fakeNet, and lets a
// test replace a guardian's answer with one that guardian signs (what a
// guardian that misbehaves, or reports misbehaviour, would send).
type tamperNet struct {
	net *fakeNet
	// edit returns the answer g gives to req instead of ans, or nil to
	// keep ans.
	edit func(g *fakeGuardian, req, ans *wire.Envelope) *wire.Envelope
}

var _ coordinator.GuardianTransport = (*tamperNet)(nil)

func (n *tamperNet) RoundTrip(ctx context.Context, g *store.Guardian, req *wire.Envelope) (*wire.Envelope, error) {
	ans, err := n.net.RoundTrip(ctx, g, req)
	if err != nil {
		return nil, err
	}
	n.net.mu.Lock()
	fg := n.net.guardians[g.ID]
	n.net.mu.Unlock()
	if out := n.edit(fg, req, ans); out != nil {
		return out, nil
	}
	return ans, nil
}

// reply is g's signed answer of kind with body to req.
func (gf *guardianFixture) reply(g *fakeGuardian, req *wire.Envelope, kind string, body any) *wire.Envelope {
	env, err := g.answer(req, kind, body, gf.clock.Now())
	if err != nil {
		panic(err)
	}
	return env
}

// withTransport replaces the fixture's service by one on the same store
// whose guardian messages go through tamper (edit) and whose store is st
// (nil: the fixture's).
func (gf *guardianFixture) withTransport(st store.Store, edit func(g *fakeGuardian, req, ans *wire.Envelope) *wire.Envelope) {
	if st == nil {
		st = gf.st
	}
	if edit == nil {
		edit = func(*fakeGuardian, *wire.Envelope, *wire.Envelope) *wire.Envelope { return nil }
	}
	gf.svc = guardianService(gf.t, st, gf.clock, &tamperNet{net: gf.net, edit: edit})
}

func (g *fakeGuardian) wasAborted(session string) bool {
	return locked(g, func(g *fakeGuardian) bool { _, ok := g.aborted[session]; return ok })
}

// TestCeremonyBlameFromCulprits: the coordinator blames the participants a
// guardian's misbehaviour report names in wire.Error.Culprits, and only
// them, whatever the report's message says.
func TestCeremonyBlameFromCulprits(t *testing.T) {
	// finalizeRefusal makes g1 refuse round 4 with body.
	finalizeRefusal := func(gf *guardianFixture, body wire.Error) func(g *fakeGuardian, req, ans *wire.Envelope) *wire.Envelope {
		return func(g *fakeGuardian, req, ans *wire.Envelope) *wire.Envelope {
			if g != gf.gs[0] || req.Kind != wire.KindDKGFinalize {
				return nil
			}
			return gf.reply(g, req, wire.KindError, body)
		}
	}
	for _, tc := range []struct {
		name  string
		edit  func(gf *guardianFixture) func(g *fakeGuardian, req, ans *wire.Envelope) *wire.Envelope
		blame int // index in gf.gs of the guardian blamed; -1: nobody
	}{
		{"ok/culprit named in the field only", func(gf *guardianFixture) func(g *fakeGuardian, req, ans *wire.Envelope) *wire.Envelope {
			return finalizeRefusal(gf, wire.Error{Code: wire.CodeMisbehaviour, Message: "a round-2 share does not decrypt", Culprits: []uint16{3}})
		}, 2},
		{"ok/participant the message mentions is not blamed", func(gf *guardianFixture) func(g *fakeGuardian, req, ans *wire.Envelope) *wire.Envelope {
			return finalizeRefusal(gf, wire.Error{Code: wire.CodeMisbehaviour,
				Message: "the share of participant 3 does not decrypt; participant 2's does", Culprits: []uint16{3}})
		}, 2},
		{"ok/culprit that is no participant is ignored", func(gf *guardianFixture) func(g *fakeGuardian, req, ans *wire.Envelope) *wire.Envelope {
			return finalizeRefusal(gf, wire.Error{Code: wire.CodeMisbehaviour, Message: "participant 7 misbehaved", Culprits: []uint16{7}})
		}, -1},
		{"ok/refusal that is not a misbehaviour report blames nobody", func(gf *guardianFixture) func(g *fakeGuardian, req, ans *wire.Envelope) *wire.Envelope {
			return finalizeRefusal(gf, wire.Error{Code: wire.CodeCeremony, Message: "participant 3 is late", Culprits: []uint16{3}})
		}, -1},
		{"ok/corrupted round-2 shares blamed on their sender", func(gf *guardianFixture) func(g *fakeGuardian, req, ans *wire.Envelope) *wire.Envelope {
			return func(g *fakeGuardian, req, ans *wire.Envelope) *wire.Envelope {
				if g != gf.gs[2] || ans.Kind != wire.KindDKGShares {
					return nil
				}
				var out wire.DKGSharesResponse
				if err := ans.Decode(&out); err != nil {
					panic(err)
				}
				for i, b := range out.Shares {
					m, err := dkg.UnmarshalRound2(b)
					if err != nil {
						panic(err)
					}
					m.Ciphertext = slices.Clone(m.Ciphertext)
					m.Ciphertext[len(m.Ciphertext)-1] ^= 0x01
					if out.Shares[i], err = m.Marshal(); err != nil {
						panic(err)
					}
				}
				return gf.reply(g, req, wire.KindDKGShares, out)
			}
		}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gf := newGuardianFixture(t, "", 3)
			gf.withTransport(nil, tc.edit(gf))
			w, c := gf.frostWallet("frost-blame", 2, gf.gs...)
			want := ""
			if tc.blame >= 0 {
				want = gf.gs[tc.blame].id
			}
			if w.Status != store.WalletFailed || c.State != store.CeremonyFailed || c.Blamed != want {
				t.Fatalf("wallet %s, ceremony %s at %s blamed %q (%s); want failed, blamed %q", w.Status, c.State, c.Round, c.Blamed, c.Error, want)
			}
		})
	}
}

// lostCommitStore reports an error for the first read-write transaction
// that activates a wallet, after committing it: a commit whose
// acknowledgement was lost.
type lostCommitStore struct {
	store.Store
	armed atomic.Bool
}

func (s *lostCommitStore) ReadWriteTx(ctx context.Context, f func(ctx context.Context, tx store.Tx) error) error {
	activated := false
	err := s.Store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		activated = false
		return f(ctx, &activationSpy{Tx: tx, activated: &activated})
	})
	if err == nil && activated && s.armed.CompareAndSwap(true, false) {
		return errors.New("connection reset by peer")
	}
	return err
}

type activationSpy struct {
	store.Tx
	activated *bool
}

func (t *activationSpy) UpdateWalletKey(ctx context.Context, w *store.Wallet, from store.WalletStatus) error {
	err := t.Tx.UpdateWalletKey(ctx, w, from)
	if err == nil && w.Status == store.WalletActive {
		*t.activated = true
	}
	return err
}

// TestCeremonyAbort: a ceremony that fails after guardians activated its
// key tells every guardian to abort (which removes the key there); one
// whose wallet did become active never does, even when recording it
// reported an error.
func TestCeremonyAbort(t *testing.T) {
	t.Run("ok/failed after a partial activation: every guardian told", func(t *testing.T) {
		gf := newGuardianFixture(t, "", 3)
		gf.withTransport(nil, func(g *fakeGuardian, req, ans *wire.Envelope) *wire.Envelope {
			if g != gf.gs[2] || req.Kind != wire.KindDKGActivate {
				return nil
			}
			return gf.reply(g, req, wire.KindError, wire.Error{Code: wire.CodeCeremony, Message: "the test signature does not verify"})
		})
		w, c := gf.frostWallet("frost-partial", 2, gf.gs...)
		if w.Status != store.WalletFailed || c.State != store.CeremonyFailed || c.Round != coordinator.RoundActivate {
			t.Fatalf("wallet %s, ceremony %s at %s (%s)", w.Status, c.State, c.Round, c.Error)
		}
		for _, g := range gf.gs {
			waitFor(t, "the abort at "+g.name, func() bool { return g.wasAborted(c.ID) })
		}
	})
	t.Run("ok/completed although its commit reported an error: no abort", func(t *testing.T) {
		gf := newGuardianFixture(t, "", 3)
		st := &lostCommitStore{Store: gf.st}
		st.armed.Store(true)
		gf.withTransport(st, nil)
		w, c := gf.frostWallet("frost-lost-ack", 2, gf.gs...)
		if err := gf.svc.Close(); err != nil { // waits for the ceremony to end
			t.Fatal(err)
		}
		if st.armed.Load() {
			t.Fatal("the activation was not reported as failed")
		}
		c, err := gf.svc.GetCeremony(context.Background(), gf.users["victor"], c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if w.Status != store.WalletActive || c.State != store.CeremonyCompleted {
			t.Fatalf("wallet %s, ceremony %s (%s)", w.Status, c.State, c.Error)
		}
		for _, g := range gf.gs {
			if g.wasAborted(c.ID) {
				t.Fatalf("%s was told to abort the ceremony of an active wallet", g.name)
			}
		}
	})
}
