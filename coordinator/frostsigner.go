package coordinator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/internal/timing"
	"github.com/custos-dev/custos/store"
)

// Commitment pools: each guardian hands out batches of FROST commitments
// ahead of time (their nonces stay in its memory), so that a signature
// needs round 1 and round 2 only. A pool per (wallet, key version,
// guardian) is topped up in the background when it runs low; an empty pool
// costs one extra round on demand.
const (
	commitBatch = 32
	commitLow   = 8
	// failurePenalty is how long a guardian whose call failed is tried
	// after the others.
	failurePenalty = 30 * time.Second
)

type poolKey struct {
	wallet   string
	version  int
	guardian string
}

// frostSigner signs for FROST wallets: it picks t responsive guardians,
// runs the two signing rounds with them, aggregates and verifies. A
// guardian that returns an invalid share is quarantined and the signature
// is tried again with another subset and fresh commitments, under the same
// approval certificate.
type frostSigner struct {
	s  *Service
	rr atomic.Uint64 // rotates the choice among equally good guardians

	mu         sync.Mutex
	pools      map[poolKey][]frost.Commitment
	refilling  map[poolKey]bool
	groups     map[[32]byte]*groupKey     // parsed group keys by hash of their JSON
	ahead      map[[32]byte]*aheadSession // round 1 run before the approval, by aheadKey
	aheadOrder []aheadEntry               // ahead's sessions, oldest first, with some gone since
	aheadSlots chan struct{}              // bounds the rounds 1 run ahead at once
}

// groupKey is a wallet's parsed group key with its prepared aggregator
// (the verification key and public shares decoded once).
type groupKey struct {
	*frost.GroupKey
	agg *frost.Aggregator
}

var _ Signer = (*frostSigner)(nil)

func newFROSTSigner(s *Service) *frostSigner {
	return &frostSigner{s: s, pools: map[poolKey][]frost.Commitment{}, refilling: map[poolKey]bool{}, groups: map[[32]byte]*groupKey{},
		ahead: map[[32]byte]*aheadSession{}, aheadSlots: make(chan struct{}, aheadConcurrent)}
}

// group parses and validates a wallet's group key (cached) and checks it
// against the wallet: its threshold and signers, and its verification key
// is the wallet's public key, so that a signature Aggregate verified is
// one under the wallet's key.
func (f *frostSigner) group(w *store.Wallet) (*groupKey, error) {
	if len(w.GroupKey) == 0 {
		return nil, fmt.Errorf("wallet %s has no group key", w.ID)
	}
	h := sha256.Sum256(w.GroupKey)
	f.mu.Lock()
	g := f.groups[h]
	f.mu.Unlock()
	if g == nil {
		gk := &frost.GroupKey{}
		dec := json.NewDecoder(bytes.NewReader(w.GroupKey))
		dec.DisallowUnknownFields()
		if err := dec.Decode(gk); err != nil {
			return nil, fmt.Errorf("group key of wallet %s: %w", w.ID, err)
		}
		agg, err := frost.NewAggregator(gk) // validates gk and decodes every element
		if err != nil {
			return nil, fmt.Errorf("group key of wallet %s: %w", w.ID, err)
		}
		g = &groupKey{GroupKey: gk, agg: agg}
		f.mu.Lock()
		f.groups[h] = g
		f.mu.Unlock()
	}
	if int(g.MaxSigners) != len(w.Guardians) || int(g.Threshold) != w.Threshold {
		return nil, fmt.Errorf("group key of wallet %s is %d-of-%d, the wallet %d-of-%d", w.ID, g.Threshold, g.MaxSigners, w.Threshold, len(w.Guardians))
	}
	if !bytes.Equal(g.VerificationKey, w.PublicKey) {
		return nil, fmt.Errorf("the group key of wallet %s is not for the wallet's public key", w.ID)
	}
	return g, nil
}

// slot is a guardian taking part in a signature, with its participant index.
type slot struct {
	idx uint16
	g   *store.Guardian
}

type failKind int

const (
	failUnreachable  failKind = iota // no answer, or an answer that does not verify
	failCommitment                   // the commitment used is no longer good: retry with a fresh one
	failRefused                      // the guardian refuses the request itself (certificate, message)
	failOther                        // another refusal (key unknown or not active, internal error)
	failInvalidShare                 // the signature share does not verify
)

type failure struct {
	slot
	kind    failKind
	err     error
	refusal *GuardianRefusal // the guardian's refusal in err, if it refused
}

func classify(sl slot, err error) *failure {
	fl := &failure{slot: sl, kind: failUnreachable, err: err}
	if errors.As(err, &fl.refusal) {
		switch {
		case certificateRefusal(fl.refusal.Code):
			fl.kind = failRefused
		case commitmentRefusal(fl.refusal.Code):
			fl.kind = failCommitment
		default:
			fl.kind = failOther
		}
	}
	return fl
}

// usableGuardian returns guardian id, a wallet's participant idx, if it
// is one to ask: known, active and not excluded; nil otherwise.
func usableGuardian(all map[string]*store.Guardian, id string, idx uint16, excluded map[uint16]bool) *store.Guardian {
	if g := all[id]; g != nil && g.Status == store.GuardianActive && !excluded[idx] {
		return g
	}
	return nil
}

// Verify implements Signer: sig is a Schnorr signature (RFC 9591; for
// Ed25519 a standard RFC 8032 one) under the wallet's public key.
func (f *frostSigner) Verify(w *store.Wallet, msg, sig []byte) error {
	suite, err := frost.ParseSuite(w.Curve)
	if err != nil {
		return err
	}
	return frost.Verify(suite, w.PublicKey, msg, sig)
}

// Sign implements Signer. The signature it returns is verified, by the
// aggregation, under the group's verification key, which group checked is
// the wallet's public key.
//
// A guardian that refuses the certificate for a reason its governance
// state decides, while it reported a state other than the coordinator's,
// is brought up to date and asked again; if it cannot be, signing is tried
// again later. Only a refusal by a guardian in step with the coordinator
// fails the transfer.
func (f *frostSigner) Sign(ctx context.Context, job *SignJob) ([]byte, error) {
	if f.s.guardianKey == nil {
		return nil, errGuardiansDisabled
	}
	w := job.Wallet
	g, err := f.group(w)
	if err != nil {
		return nil, internal("frost signing", err)
	}
	if len(job.Message) == 0 || (job.Certificate == nil) == (job.Ceremony == "") {
		return nil, internal("frost signing", errors.New("a signature needs a message and either a certificate or a ceremony"))
	}
	all, err := f.s.guardiansByID(ctx)
	if err != nil {
		return nil, err
	}
	ref := wire.KeyRef{WalletID: w.ID, KeyVersion: w.KeyVersion}
	t := int(g.Threshold)
	excluded := map[uint16]bool{}
	retried := map[uint16]int{}
	gov := f.s.newGovernancePass(ctx)
	caughtUp := map[uint16]bool{} // guardians brought up to date in this call
	var (
		refusals []*GuardianRefusal // by guardians in step with the coordinator: final
		behind   error              // a guardian behind on governance could not be brought up to date
	)
	var ahead *aheadSession
	if job.Certificate != nil {
		waitStart := time.Now()
		ahead = f.takeAhead(ctx, ref, job.Message)
		timing.Since(ctx, "round1-wait", waitStart)
	}
	for attempt := 0; attempt < 2*len(w.Guardians)+2 && ctx.Err() == nil; attempt++ {
		var (
			sig   []byte
			fails []*failure
		)
		if a := ahead; a != nil && usableAhead(a, all, excluded) {
			// Round 1 ran before the approval: round 2 only.
			ahead = nil
			slots := make([]slot, len(a.slots))
			for i, sl := range a.slots {
				slots[i] = slot{sl.idx, all[sl.g.ID]}
			}
			req := &wire.SignRequest{KeyRef: ref, Message: job.Message, Commitments: a.list,
				Certificate: job.Certificate, Valuation: job.Valuation}
			sig, fails = f.round2(ctx, g, req, a.session, slots, a.prepared)
		} else {
			slots := f.pick(ref, w, all, excluded, t)
			if len(slots) < t {
				break
			}
			sig, fails = f.attempt(ctx, job, g, ref, slots)
		}
		if len(fails) == 0 {
			return sig, nil
		}
		if ctx.Err() != nil {
			// The calls failed because this call was cancelled: that says
			// nothing about the guardians.
			break
		}
		for _, fl := range fails {
			f.s.log.WarnContext(ctx, "guardian failed in a signing attempt", "guardian", fl.g.ID, "wallet", w.ID, "attempt", attempt+1, "err", fl.err)
			switch fl.kind {
			case failCommitment:
				f.forget(poolKey{w.ID, w.KeyVersion, fl.g.ID})
				if retried[fl.idx]++; retried[fl.idx] > 2 {
					excluded[fl.idx] = true
				}
			case failUnreachable:
				f.s.guardians.failed(fl.g.ID, f.s.now())
				excluded[fl.idx] = true
			case failRefused:
				r := fl.refusal
				if governanceRefusal(r.Code) && !caughtUp[fl.idx] {
					caughtUp[fl.idx] = true
					retry, err := f.catchUp(ctx, fl.g, gov)
					if retry {
						continue // asked again in the next attempt
					}
					if err != nil {
						f.s.log.WarnContext(ctx, "guardian behind on governance could not be brought up to date", "guardian", fl.g.ID, "wallet", w.ID, "err", err)
						excluded[fl.idx] = true
						behind = fmt.Errorf("guardian %s: %w", fl.g.Name, err)
						continue
					}
				}
				refusals = append(refusals, r)
				excluded[fl.idx] = true
				f.s.recordAlone(ctx, event{category: audit.CategoryTransaction, action: "guardian.refused", actor: "guardian:" + fl.g.ID,
					target: signTarget(job), result: audit.ResultDenied,
					meta: map[string]string{"guardian": fl.g.ID, "name": fl.g.Name, "code": r.Code, "message": r.Message, "wallet_id": w.ID}})
			case failInvalidShare:
				if job.Ceremony != "" {
					// A new key whose holder cannot sign with it: the
					// ceremony fails and names it.
					return nil, &badShareError{guardians: []string{fl.g.ID}}
				}
				// Quarantined: excluded keeps it out of the later attempts.
				excluded[fl.idx] = true
				f.forget(poolKey{w.ID, w.KeyVersion, fl.g.ID})
				f.s.quarantine(ctx, fl.g.ID, "returned an invalid signature share", map[string]string{"wallet_id": w.ID, "target": signTarget(job)})
			default:
				excluded[fl.idx] = true
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, wrapErr(KindUnavailable, "cancelled", "signing was interrupted; it is tried again later", err)
	}
	if len(refusals) > 0 {
		r := refusals[0]
		return nil, wrapErr(KindUnprocessable, "guardian_refused",
			fmt.Sprintf("guardian %s refused to sign (%s): %s", guardianName(all, r.Guardian), r.Code, r.Message), r)
	}
	if behind != nil {
		return nil, wrapErr(KindUnavailable, "guardian_governance_behind",
			"a guardian holds an outdated governance state and could not be brought up to date; signing is tried again later", behind)
	}
	usable := 0
	for i, id := range w.Guardians {
		if usableGuardian(all, id, uint16(i+1), excluded) != nil {
			usable++
		}
	}
	return nil, newErr(KindUnavailable, "guardians_unavailable", "only %d of the %d guardians needed are reachable; signing is tried again later", usable, t)
}

// catchUp handles a guardian's refusal that its governance state decides.
// If the guardian last reported a state other than the coordinator's, it
// is brought up to date: retry reports that it now holds the coordinator's
// state and may be asked again; err that it was behind and could not be
// brought up to date (or that the coordinator's state could not be read).
// Both false and nil: the guardian was in step, its refusal stands.
func (f *frostSigner) catchUp(ctx context.Context, g *store.Guardian, gov *governancePass) (retry bool, err error) {
	current, err := gov.current()
	if err != nil {
		return false, err
	}
	reported := healthOf(g).GovernanceHash
	if reported == current {
		return false, nil
	}
	hash, err := f.s.syncGovernance(ctx, g, gov.log, reported, current)
	if hash != reported {
		f.s.noteGovernance(ctx, g.ID, hash)
	}
	switch {
	case err != nil:
		return false, err
	case hash != current:
		return false, fmt.Errorf("it holds governance state %s after the update, the coordinator %s", shortHash(hash), shortHash(current))
	}
	return true, nil
}

func guardianName(all map[string]*store.Guardian, id string) string {
	if g := all[id]; g != nil {
		return g.Name
	}
	return id
}

func signTarget(job *SignJob) string {
	switch {
	case job.Certificate != nil:
		return "request:" + job.Certificate.RequestID
	case job.Ceremony != "":
		return "ceremony:" + job.Ceremony
	}
	return "wallet:" + job.Wallet.ID
}

// badShareError names guardians whose signature share did not verify
// during a key ceremony's test signature.
type badShareError struct{ guardians []string }

func (e *badShareError) Error() string {
	return "invalid signature share from guardian " + strings.Join(e.guardians, ", ")
}

// pick chooses t guardians among the wallet's active ones not excluded:
// first those with commitments on hand that answered recently, and among
// equals in turn, so that the load is spread. The result is sorted by
// participant index.
func (f *frostSigner) pick(ref wire.KeyRef, w *store.Wallet, all map[string]*store.Guardian, excluded map[uint16]bool, t int) []slot {
	type cand struct {
		slot
		score int
	}
	now := f.s.now()
	var cs []cand
	f.s.guardians.mu.Lock()
	f.mu.Lock()
	for i, id := range w.Guardians {
		idx := uint16(i + 1)
		g := usableGuardian(all, id, idx, excluded)
		if g == nil {
			continue
		}
		score := 0
		if len(f.pools[poolKey{ref.WalletID, ref.KeyVersion, id}]) > 0 {
			score += 4
		}
		l := f.s.guardians.live[id]
		switch {
		case l != nil && now.Sub(l.ok) < f.s.stale:
			score += 2
		case g.LastSeenAt != nil && now.Sub(*g.LastSeenAt) < f.s.stale:
			score += 2
		}
		if l != nil && l.fail.After(l.ok) && now.Sub(l.fail) < failurePenalty {
			score -= 8
		}
		cs = append(cs, cand{slot{idx, g}, score})
	}
	f.mu.Unlock()
	f.s.guardians.mu.Unlock()
	if len(cs) < t {
		return nil
	}
	off := int(f.rr.Add(1) % uint64(len(cs)))
	cs = slices.Concat(cs[off:], cs[:off])
	slices.SortStableFunc(cs, func(a, b cand) int { return b.score - a.score })
	out := make([]slot, t)
	for i := range t {
		out[i] = cs[i].slot
	}
	slices.SortFunc(out, func(a, b slot) int { return int(a.idx) - int(b.idx) })
	return out
}

// parallel runs f(0..n-1) concurrently and waits.
func parallel(n int, f func(i int)) {
	if n == 1 {
		f(0)
		return
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// callSlots calls call for every slot in parallel and returns the answers,
// or, if any call failed, the failures, classified.
func callSlots[T any](slots []slot, call func(sl slot) (T, error)) ([]T, []*failure) {
	out := make([]T, len(slots))
	fails := make([]*failure, len(slots))
	parallel(len(slots), func(i int) {
		v, err := call(slots[i])
		if err != nil {
			fails[i] = classify(slots[i], err)
			return
		}
		out[i] = v
	})
	if fl := collect(fails); len(fl) > 0 {
		return nil, fl
	}
	return out, nil
}

func collect(fails []*failure) []*failure {
	var out []*failure
	for _, fl := range fails {
		if fl != nil {
			out = append(out, fl)
		}
	}
	return out
}

// attempt runs one signing session with slots: commitments (from the pools
// or fetched), round 1 (prepare), round 2 (shares), aggregation. It returns
// the signature or what went wrong with which guardians.
func (f *frostSigner) attempt(ctx context.Context, job *SignJob, g *groupKey, ref wire.KeyRef, slots []slot) ([]byte, []*failure) {
	list, fails := f.commitmentsFor(ctx, g, ref, slots)
	if len(fails) > 0 {
		return nil, fails
	}
	req := &wire.SignRequest{KeyRef: ref, Message: job.Message, Commitments: list, Certificate: job.Certificate,
		Valuation: job.Valuation, Ceremony: job.Ceremony}
	session := f.s.newID()
	prepared, fails := f.round1(ctx, req, session, slots)
	if len(fails) > 0 {
		return nil, fails
	}
	return f.round2(ctx, g, req, session, slots, prepared)
}

// commitmentsFor takes a commitment of each slot's guardian from its pool,
// or fetches one, and tops the pools up.
func (f *frostSigner) commitmentsFor(ctx context.Context, g *groupKey, ref wire.KeyRef, slots []slot) ([]frost.Commitment, []*failure) {
	n := len(slots)
	fails := make([]*failure, n)
	list := make([]frost.Commitment, n)
	var need []int
	for i, sl := range slots {
		if c, ok := f.take(poolKey{ref.WalletID, ref.KeyVersion, sl.g.ID}); ok {
			list[i] = c
		} else {
			need = append(need, i)
		}
	}
	parallel(len(need), func(j int) {
		i := need[j]
		cs, err := f.fetch(ctx, g.Suite, ref, slots[i], 1)
		if err != nil {
			fails[i] = classify(slots[i], err)
			return
		}
		list[i] = cs[0]
	})
	for _, sl := range slots {
		f.refillIfLow(g.Suite, ref, sl)
	}
	if out := collect(fails); len(out) > 0 {
		// The commitments obtained were shown to nobody: they stay good.
		for i, sl := range slots {
			if fails[i] == nil {
				f.giveBack(poolKey{ref.WalletID, ref.KeyVersion, sl.g.ID}, list[i])
			}
		}
		return nil, out
	}
	return list, nil
}

// round1 asks each slot's guardian to check req and reserve its commitment
// for session, and returns their signed statements.
func (f *frostSigner) round1(ctx context.Context, req *wire.SignRequest, session string, slots []slot) ([]wire.Envelope, []*failure) {
	digest, err := wire.RequestDigest(req)
	if err != nil {
		return nil, []*failure{{slot: slots[0], kind: failOther, err: err}}
	}
	return callSlots(slots, func(sl slot) (wire.Envelope, error) {
		var p wire.Prepared
		env, err := f.s.rpc.call(ctx, sl.g, wire.KindPrepare, session, 1, req, &p)
		switch {
		case err != nil:
			return wire.Envelope{}, err
		case p.Guardian != sl.idx || p.Request != digest:
			return wire.Envelope{}, fmt.Errorf("%w: round-1 statement for another participant or request", ErrGuardianAnswer)
		}
		return *env, nil
	})
}

// round2 gives each slot's guardian req (with its certificate) and every
// round-1 statement, collects the shares and aggregates them; Aggregate
// verifies the signature, and checks the shares one by one only when it
// does not verify.
func (f *frostSigner) round2(ctx context.Context, g *groupKey, req *wire.SignRequest, session string, slots []slot, prepared []wire.Envelope) ([]byte, []*failure) {
	sr := &wire.ShareRequest{Request: *req, Prepared: prepared}
	callStart := time.Now()
	shares, fails := callSlots(slots, func(sl slot) ([]byte, error) {
		var ans wire.ShareResponse
		if _, err := f.s.rpc.call(ctx, sl.g, wire.KindSign, session, 2, sr, &ans); err != nil {
			return nil, err
		}
		if ans.Guardian != sl.idx {
			return nil, fmt.Errorf("%w: a share for participant %d", ErrGuardianAnswer, ans.Guardian)
		}
		return ans.Share, nil
	})
	timing.Since(ctx, "round2", callStart)
	if len(fails) > 0 {
		return nil, fails
	}
	now := f.s.now()
	for _, sl := range slots {
		f.s.guardians.succeeded(sl.g.ID, now)
	}
	byIdx := make(map[uint16][]byte, len(slots))
	for i, sl := range slots {
		byIdx[sl.idx] = shares[i]
	}
	aggStart := time.Now()
	sig, err := g.agg.Aggregate(req.Message, req.Commitments, byIdx)
	timing.Since(ctx, "aggregate", aggStart)
	var bad *frost.InvalidSharesError
	switch {
	case errors.As(err, &bad):
		var out []*failure
		for _, sl := range slots {
			if slices.Contains(bad.Signers, sl.idx) {
				out = append(out, &failure{slot: sl, kind: failInvalidShare, err: fmt.Errorf("participant %d: %w", sl.idx, frost.ErrInvalidShare)})
			}
		}
		return nil, out
	case err != nil:
		return nil, []*failure{{slot: slots[0], kind: failOther, err: fmt.Errorf("aggregating: %w", err)}}
	}
	return sig, nil
}

// take pops a commitment from a pool.
func (f *frostSigner) take(k poolKey) (frost.Commitment, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pools[k]
	if len(p) == 0 {
		return frost.Commitment{}, false
	}
	c := p[0]
	f.pools[k] = p[1:]
	return c, true
}

// giveBack returns an unused commitment to the front of its pool.
func (f *frostSigner) giveBack(k poolKey, c frost.Commitment) {
	f.mu.Lock()
	f.pools[k] = append([]frost.Commitment{c}, f.pools[k]...)
	f.mu.Unlock()
}

// forget empties a pool (its commitments were refused).
func (f *frostSigner) forget(k poolKey) {
	f.mu.Lock()
	delete(f.pools, k)
	f.mu.Unlock()
}

// forgetGuardian empties every pool of a guardian (it restarted and forgot
// its nonces).
func (f *frostSigner) forgetGuardian(id string) {
	f.mu.Lock()
	for k := range f.pools {
		if k.guardian == id {
			delete(f.pools, k)
		}
	}
	f.mu.Unlock()
}

// fetch asks a guardian for count fresh commitments and checks them: its
// own participant index, distinct handles, valid group elements.
func (f *frostSigner) fetch(ctx context.Context, suite frost.Suite, ref wire.KeyRef, sl slot, count int) ([]frost.Commitment, error) {
	var ans wire.CommitResponse
	if _, err := f.s.rpc.call(ctx, sl.g, wire.KindCommit, f.s.newID(), 1, wire.CommitRequest{KeyRef: ref, Count: count}, &ans); err != nil {
		return nil, err
	}
	if len(ans.Commitments) != count {
		return nil, fmt.Errorf("%w: %d commitments for %d asked", ErrGuardianAnswer, len(ans.Commitments), count)
	}
	seen := map[uint64]bool{}
	for _, c := range ans.Commitments {
		if c.Signer != sl.idx || seen[c.ID] {
			return nil, fmt.Errorf("%w: a commitment of participant %d, or a repeated handle", ErrGuardianAnswer, c.Signer)
		}
		seen[c.ID] = true
		if _, err := suite.DecodeElement(c.Hiding); err != nil {
			return nil, fmt.Errorf("%w: commitment %d: %v", ErrGuardianAnswer, c.ID, err)
		}
		if _, err := suite.DecodeElement(c.Binding); err != nil {
			return nil, fmt.Errorf("%w: commitment %d: %v", ErrGuardianAnswer, c.ID, err)
		}
	}
	return ans.Commitments, nil
}

// refillIfLow tops a pool up in the background when it runs low.
func (f *frostSigner) refillIfLow(suite frost.Suite, ref wire.KeyRef, sl slot) {
	k := poolKey{ref.WalletID, ref.KeyVersion, sl.g.ID}
	f.mu.Lock()
	if len(f.pools[k]) >= commitLow || f.refilling[k] {
		f.mu.Unlock()
		return
	}
	f.refilling[k] = true
	f.mu.Unlock()
	started := f.s.goBackground(func(ctx context.Context) {
		cs, err := f.fetch(ctx, suite, ref, sl, commitBatch)
		f.mu.Lock()
		delete(f.refilling, k)
		if err == nil {
			f.pools[k] = append(f.pools[k], cs...)
		}
		f.mu.Unlock()
		if err != nil {
			f.s.log.DebugContext(ctx, "refilling commitments failed", "guardian", sl.g.ID, "wallet", ref.WalletID, "err", err)
		}
	})
	if !started {
		f.mu.Lock()
		delete(f.refilling, k)
		f.mu.Unlock()
	}
}

// warm tops up the pools of every active FROST wallet with its active
// guardians.
func (f *frostSigner) warm(ctx context.Context) {
	ws, err := read(ctx, f.s, "list wallets", nil, func(ctx context.Context, tx store.Tx) ([]*store.Wallet, error) {
		return tx.ListWallets(ctx)
	})
	if err != nil {
		return
	}
	all, err := f.s.guardiansByID(ctx)
	if err != nil {
		return
	}
	for _, w := range ws {
		if w.Mode != store.ModeFROST || !w.Active() || w.Frozen {
			continue
		}
		g, err := f.group(w)
		if err != nil {
			continue
		}
		for i, id := range w.Guardians {
			if gd := usableGuardian(all, id, uint16(i+1), nil); gd != nil {
				f.refillIfLow(g.Suite, wire.KeyRef{WalletID: w.ID, KeyVersion: w.KeyVersion}, slot{uint16(i + 1), gd})
			}
		}
	}
}
