package coordinator

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"time"

	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/store"
)

// Round 1 of a FROST signature does not need the approval certificate: the
// guardians check the message (a transfer from the wallet) and the
// commitment list, reserve their commitments for the session and sign what
// they were shown. So the coordinator runs it as soon as a transfer awaits
// approval, and once the transfer is approved its signature needs round 2
// only: one network round. Round 2 carries the certificate, which each
// guardian verifies before it releases its share.
//
// A session prepared ahead lives in the coordinator's memory. If it is
// gone (a restart, more pending transfers than aheadMax) or no longer
// usable (a guardian restarted and forgot the nonce, or was quarantined),
// the signature runs both rounds as usual; the commitments reserved for it
// are never used, and the guardians forget them under pressure.
const (
	aheadMax = 4096
	// aheadWait bounds how long an approved transfer waits for its round 1
	// still in flight (an approval that came within milliseconds of the
	// submission) before it runs both rounds itself.
	aheadWait = 500 * time.Millisecond
	// aheadMaxAge: sessions older than this are dropped (the guardians
	// forget their reservations when they need the room anyway).
	aheadMaxAge = 7 * 24 * time.Hour
	// aheadConcurrent bounds the rounds 1 run ahead at once: submissions
	// beyond it are signed with both rounds after their approval.
	aheadConcurrent = 8
)

// aheadSession is round 1 of a transfer's signature, run before its approval.
type aheadSession struct {
	done chan struct{} // closed when round 1 has finished, well or not

	ref      wire.KeyRef
	at       time.Time
	session  string
	slots    []slot
	list     []frost.Commitment
	prepared []wire.Envelope // nil if round 1 failed
}

// aheadEntry is a session in the order the sessions were put; it is gone
// once f.ahead no longer holds it under key.
type aheadEntry struct {
	key [32]byte
	a   *aheadSession
}

func aheadKey(ref wire.KeyRef, msg []byte) [32]byte {
	h := sha256.New()
	h.Write(binary.BigEndian.AppendUint64([]byte(ref.WalletID+"\x00"), uint64(ref.KeyVersion)))
	h.Write(msg)
	return [32]byte(h.Sum(nil))
}

// PrepareAhead runs round 1 of msg's signature with t responsive guardians
// of w, without a certificate, and keeps the session for Sign. It is best
// effort: whatever fails here only means Sign runs both rounds.
func (f *frostSigner) PrepareAhead(ctx context.Context, w *store.Wallet, msg []byte) {
	if f.s.guardianKey == nil || w.Mode != store.ModeFROST || !w.Active() {
		return
	}
	select {
	case f.aheadSlots <- struct{}{}:
		defer func() { <-f.aheadSlots }()
	default:
		return
	}
	g, err := f.group(w)
	if err != nil {
		return
	}
	all, err := f.s.guardiansByID(ctx)
	if err != nil {
		return
	}
	ref := wire.KeyRef{WalletID: w.ID, KeyVersion: w.KeyVersion}
	slots := f.pick(ref, w, all, nil, int(g.Threshold))
	if len(slots) < int(g.Threshold) {
		return
	}
	key := aheadKey(ref, msg)
	a := &aheadSession{done: make(chan struct{}), ref: ref, at: f.s.now(), session: f.s.newID(), slots: slots}
	if !f.putAhead(key, a) {
		return
	}
	defer close(a.done)
	list, fails := f.commitmentsFor(ctx, g, ref, slots)
	if len(fails) > 0 {
		f.dropAhead(key, a)
		return
	}
	a.list = list
	req := &wire.SignRequest{KeyRef: ref, Message: msg, Commitments: list}
	prepared, fails := f.round1(ctx, req, a.session, slots)
	if len(fails) > 0 {
		// Nothing is reserved at the guardians that refused or did not
		// answer; what the others reserved is never used.
		f.s.log.DebugContext(ctx, "round 1 ahead of the approval failed", "wallet", w.ID, "err", fails[0].err)
		f.dropAhead(key, a)
		return
	}
	a.prepared = prepared
}

// putAhead records a session being prepared for key, unless one is already
// there; it drops the oldest sessions beyond aheadMax or aheadMaxAge.
func (f *frostSigner) putAhead(key [32]byte, a *aheadSession) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ahead[key] != nil {
		return false
	}
	if len(f.ahead) >= aheadMax {
		// The oldest come first: drop those past aheadMaxAge, and the
		// oldest one if none is.
		for len(f.aheadOrder) > 0 {
			e := f.aheadOrder[0]
			live := f.ahead[e.key] == e.a
			if live && len(f.ahead) < aheadMax && a.at.Sub(e.a.at) <= aheadMaxAge {
				break
			}
			if live {
				delete(f.ahead, e.key)
			}
			f.aheadOrder = f.aheadOrder[1:]
		}
	}
	f.ahead[key] = a
	f.aheadOrder = append(f.aheadOrder, aheadEntry{key, a})
	if len(f.aheadOrder) >= 2*aheadMax {
		// Most sessions leave the map through takeAhead: forget them here.
		f.aheadOrder = slices.DeleteFunc(f.aheadOrder, func(e aheadEntry) bool { return f.ahead[e.key] != e.a })
	}
	return true
}

func (f *frostSigner) dropAhead(key [32]byte, a *aheadSession) {
	f.mu.Lock()
	if f.ahead[key] == a {
		delete(f.ahead, key)
	}
	f.mu.Unlock()
}

// takeAhead removes and returns the session prepared for msg, waiting up
// to aheadWait for one whose round 1 is still running. It returns nil if
// there is none, or none ready.
func (f *frostSigner) takeAhead(ctx context.Context, ref wire.KeyRef, msg []byte) *aheadSession {
	key := aheadKey(ref, msg)
	f.mu.Lock()
	a := f.ahead[key]
	delete(f.ahead, key)
	f.mu.Unlock()
	if a == nil {
		return nil
	}
	wait := time.NewTimer(aheadWait)
	defer wait.Stop()
	select {
	case <-a.done:
	case <-wait.C:
		return nil
	case <-ctx.Done():
		return nil
	}
	if a.prepared == nil || f.s.now().Sub(a.at) > aheadMaxAge {
		return nil
	}
	return a
}

// usableAhead reports whether every guardian of a is still one to ask:
// active and not excluded in this call.
func usableAhead(a *aheadSession, all map[string]*store.Guardian, excluded map[uint16]bool) bool {
	for _, sl := range a.slots {
		if usableGuardian(all, sl.g.ID, sl.idx, excluded) == nil {
			return false
		}
	}
	return true
}
