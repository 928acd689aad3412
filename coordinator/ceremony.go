package coordinator

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/dkg"
	"github.com/custos-dev/custos/frost"
	"github.com/custos-dev/custos/guardian/wire"
	"github.com/custos-dev/custos/store"
)

// Key ceremonies. When an approved wallet.create for a FROST wallet runs,
// the wallet is created pending, without a public key, and its key is made
// by a distributed key generation among its guardians (package dkg, driven
// as guardian/wire's doc describes). The coordinator only relays: round-1
// packages in clear (it checks them itself and names a participant whose
// package is bad), round-2 shares encrypted to their recipients. The wallet
// becomes active only when every guardian signed the same group key and
// transcript and t of them produced a test signature that verifies. Any
// failure fails the ceremony and the wallet, names the guardians to blame
// when they are known (from the coordinator's own checks, and from the
// culprits a guardian's misbehaviour report names), and tells the
// guardians to forget the session and the key it made, also where they
// had activated it already.

// Ceremony rounds, as store.Ceremony.Round records them.
const (
	RoundStart    = "start"
	RoundRound1   = "round1"
	RoundConfirm  = "confirm"
	RoundRound2   = "round2"
	RoundFinalize = "finalize"
	RoundTestSign = "test-sign"
	RoundActivate = "activate"
	RoundDone     = "done"
)

// CeremonyGrace is how long a ceremony may go without progress before the
// sweep takes it for one abandoned by a coordinator that stopped, and
// fails it.
const CeremonyGrace = 2 * time.Minute

// CeremonyProgress is the detail of a ceremony kept in store.Ceremony.Progress.
type CeremonyProgress struct {
	Steps []CeremonyStep `json:"steps"`
}

// CeremonyStep is one round of a ceremony with its timing.
type CeremonyStep struct {
	Round      string    `json:"round"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS float64   `json:"duration_ms"` // 0 while it runs
}

// ceremonyError is a ceremony failure, naming the guardians to blame if
// any are known.
type ceremonyError struct {
	msg    string
	blamed []string
}

func (e *ceremonyError) Error() string { return e.msg }

func blame(msg string, ids ...string) error { return &ceremonyError{msg: msg, blamed: ids} }

// ceremonyRun is one ceremony driven by this process.
type ceremonyRun struct {
	s        *Service
	c        *store.Ceremony
	w        *store.Wallet
	cert     *approvals.Certificate
	gs       []*store.Guardian // participants, index i+1 = gs[i]
	parts    []wire.Participant
	session  dkg.Session
	progress CeremonyProgress
	started  time.Time
}

// newCeremonyID is a ceremony's session id: 32 random bytes in hex, the
// dkg session id every proof and share is bound to.
func (s *Service) newCeremonyID() string { return s.randomHex(32) }

// startCeremony runs a ceremony in the background.
func (s *Service) startCeremony(c *store.Ceremony, w *store.Wallet, cert *approvals.Certificate, gs []*store.Guardian) {
	s.bgMu.Lock()
	s.ceremonies[c.ID] = true
	s.bgMu.Unlock()
	ok := s.goBackground(func(ctx context.Context) {
		defer func() {
			s.bgMu.Lock()
			delete(s.ceremonies, c.ID)
			s.bgMu.Unlock()
		}()
		cr := &ceremonyRun{s: s, c: c, w: w, cert: cert, gs: gs}
		if err := cr.run(ctx); err != nil {
			// Record the failure even when the service is closing.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			cr.fail(fctx, err)
		}
	})
	if !ok {
		s.bgMu.Lock()
		delete(s.ceremonies, c.ID)
		s.bgMu.Unlock()
	}
}

// step records that the ceremony reached round.
func (cr *ceremonyRun) step(ctx context.Context, round string, transcript []byte) error {
	now := cr.s.now()
	if n := len(cr.progress.Steps); n > 0 {
		last := &cr.progress.Steps[n-1]
		last.DurationMS = float64(now.Sub(last.StartedAt).Microseconds()) / 1000
	}
	if round != RoundDone {
		cr.progress.Steps = append(cr.progress.Steps, CeremonyStep{Round: round, StartedAt: now.UTC()})
	}
	raw, _ := json.Marshal(&cr.progress)
	cr.c.Round, cr.c.Progress, cr.c.UpdatedAt = round, raw, now
	if transcript != nil {
		cr.c.Transcript = transcript
	}
	if round == RoundDone {
		return nil // written with the wallet's activation
	}
	err := cr.s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		return tx.UpdateCeremony(ctx, cr.c, store.CeremonyRunning)
	})
	if errors.Is(err, store.ErrConflict) {
		return errors.New("the ceremony was ended elsewhere (marked failed by a sweep)")
	}
	return err
}

// callAll sends one request per participant in parallel (body(i) for
// participant i+1) and returns the answer envelopes, decoding each body
// into out(i). A transport failure is retried twice with the same
// envelope, which a guardian answers as it did the first time.
func (cr *ceremonyRun) callAll(ctx context.Context, kind string, round int, body func(i int) any, out func(i int) any) ([]*wire.Envelope, error) {
	n := len(cr.gs)
	envs := make([]*wire.Envelope, n)
	errs := make([]error, n)
	parallel(n, func(i int) {
		g := cr.gs[i]
		req, err := cr.s.rpc.envelope(g, kind, cr.c.ID, round, body(i))
		if err != nil {
			errs[i] = err
			return
		}
		for try := 0; ; try++ {
			envs[i], errs[i] = cr.s.rpc.exchange(ctx, g, req, out(i))
			if errs[i] == nil || !errors.Is(errs[i], ErrGuardianUnreachable) || try == 2 || ctx.Err() != nil {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(try+1) * 200 * time.Millisecond):
			}
		}
	})
	var msgs []string
	var blamed []string
	for i, err := range errs {
		if err == nil {
			continue
		}
		g := cr.gs[i]
		var r *GuardianRefusal
		switch {
		case errors.As(err, &r) && r.Code == wire.CodeMisbehaviour:
			blamed = append(blamed, cr.named(ctx, g, r.Culprits)...)
			msgs = append(msgs, fmt.Sprintf("guardian %s reports misbehaviour: %s", g.Name, r.Message))
		case errors.As(err, &r):
			msgs = append(msgs, fmt.Sprintf("guardian %s refused %s (%s): %s", g.Name, kind, r.Code, r.Message))
		case errors.Is(err, ErrGuardianAnswer):
			blamed = append(blamed, g.ID)
			msgs = append(msgs, fmt.Sprintf("guardian %s answered %s with an invalid message", g.Name, kind))
			cr.s.log.WarnContext(ctx, "invalid guardian answer in a ceremony", "guardian", g.ID, "ceremony", cr.c.ID, "err", err)
		default:
			msgs = append(msgs, fmt.Sprintf("guardian %s did not answer %s", g.Name, kind))
			cr.s.log.WarnContext(ctx, "guardian unreachable in a ceremony", "guardian", g.ID, "ceremony", cr.c.ID, "err", err)
		}
	}
	if len(msgs) > 0 {
		return nil, &ceremonyError{msg: strings.Join(msgs, "; "), blamed: uniq(blamed)}
	}
	return envs, nil
}

// named maps the participant indexes a guardian's refusal names as
// culprits (wire.Error.Culprits) to guardian ids. An index that is no
// participant is left out and logged: the report is the guardian's word,
// not a reason to blame anyone else.
func (cr *ceremonyRun) named(ctx context.Context, by *store.Guardian, culprits []uint16) []string {
	out, bad := cr.ids(culprits)
	if bad > 0 {
		cr.s.log.WarnContext(ctx, "guardian names culprits that are no participants", "guardian", by.ID, "ceremony", cr.c.ID, "count", bad)
	}
	return uniq(out)
}

// ids maps participant indexes to guardian ids, in order, leaving out and
// counting in bad the indexes that are no participant.
func (cr *ceremonyRun) ids(indexes []uint16) (ids []string, bad int) {
	for _, i := range indexes {
		if i < 1 || int(i) > len(cr.gs) {
			bad++
			continue
		}
		ids = append(ids, cr.gs[i-1].ID)
	}
	return ids, bad
}

func uniq(ids []string) []string {
	slices.Sort(ids)
	return slices.Compact(ids)
}

// run drives the ceremony to an active wallet, or returns why it failed.
func (cr *ceremonyRun) run(ctx context.Context) error {
	s, c := cr.s, cr.c
	cr.started = s.now()
	suite, err := frost.ParseSuite(c.Curve)
	if err != nil {
		return err
	}
	id, err := hex.DecodeString(c.ID)
	if err != nil || len(id) != 32 {
		return fmt.Errorf("ceremony id %q is not 32 bytes of hex", c.ID)
	}
	copy(cr.session.ID[:], id)
	cr.session.Suite, cr.session.Threshold, cr.session.N = suite, uint16(c.Threshold), uint16(len(cr.gs))
	if err := cr.session.Validate(); err != nil {
		return err
	}
	for i, g := range cr.gs {
		cr.parts = append(cr.parts, wire.Participant{Index: uint16(i + 1), GuardianID: g.ID, IdentityKey: g.IdentityKey, EncryptionKey: g.EncryptionKey})
	}
	n := len(cr.gs)
	ref := wire.KeyRef{WalletID: cr.w.ID, KeyVersion: cr.w.KeyVersion}

	// Round 1: commitments and proofs of knowledge, checked here too.
	if err := cr.step(ctx, RoundRound1, nil); err != nil {
		return err
	}
	start := wire.DKGStart{KeyRef: ref, Curve: c.Curve, Threshold: uint16(c.Threshold), Participants: cr.parts, Certificate: cr.cert}
	r1 := make([]wire.DKGRound1, n)
	if _, err := cr.callAll(ctx, wire.KindDKGStart, 1, func(int) any { return start }, func(i int) any { return &r1[i] }); err != nil {
		return err
	}
	packages := make([][]byte, n)
	all := make([]dkg.Round1, n)
	for i := range r1 {
		p, err := dkg.UnmarshalRound1(r1[i].Package)
		if err != nil || p.From != uint16(i+1) {
			return blame(fmt.Sprintf("guardian %s sent a malformed round-1 package", cr.gs[i].Name), cr.gs[i].ID)
		}
		packages[i], all[i] = r1[i].Package, *p
	}
	if err := dkg.VerifyRound1(cr.session, all); err != nil {
		ids, _ := cr.ids(dkg.Culprits(err))
		return &ceremonyError{msg: "round 1 does not verify: " + err.Error(), blamed: ids}
	}
	transcript, err := dkg.Transcript(cr.session, all)
	if err != nil {
		return err
	}

	// Round 2: every participant confirms the same round-1 set.
	if err := cr.step(ctx, RoundConfirm, transcript[:]); err != nil {
		return err
	}
	trs := make([]wire.DKGTranscript, n)
	confirms, err := cr.callAll(ctx, wire.KindDKGConfirm, 2, func(int) any { return wire.DKGConfirm{Packages: packages} },
		func(i int) any { return &trs[i] })
	if err != nil {
		return err
	}
	for i, tr := range trs {
		if tr.Index != uint16(i+1) || tr.Transcript != transcript {
			return blame(fmt.Sprintf("guardian %s confirmed another round-1 transcript", cr.gs[i].Name), cr.gs[i].ID)
		}
	}

	// Round 3: encrypted shares, routed to their recipients.
	if err := cr.step(ctx, RoundRound2, nil); err != nil {
		return err
	}
	confirmations := derefs(confirms)
	sh := make([]wire.DKGSharesResponse, n)
	if _, err := cr.callAll(ctx, wire.KindDKGShares, 3, func(int) any { return wire.DKGShares{Confirmations: confirmations} },
		func(i int) any { return &sh[i] }); err != nil {
		return err
	}
	routed := make([][][]byte, n)
	for i := range sh {
		if err := checkShares(sh[i].Shares, uint16(i+1), uint16(n), transcript, routed); err != nil {
			return blame(fmt.Sprintf("guardian %s sent malformed round-2 shares: %v", cr.gs[i].Name, err), cr.gs[i].ID)
		}
	}

	// Round 4: each participant derives its share and signs the key.
	if err := cr.step(ctx, RoundFinalize, nil); err != nil {
		return err
	}
	done := make([]wire.DKGCompletion, n)
	completions, err := cr.callAll(ctx, wire.KindDKGFinalize, 4, func(i int) any { return wire.DKGFinalize{Shares: routed[i]} },
		func(i int) any { return &done[i] })
	if err != nil {
		return err
	}
	group := done[0].GroupKey
	want, _ := json.Marshal(&group)
	for i, d := range done {
		got, _ := json.Marshal(&d.GroupKey)
		if d.Index != uint16(i+1) || d.Transcript != transcript || !bytes.Equal(got, want) {
			return blame("the guardians computed different group keys or transcripts; no key is trusted")
		}
	}
	if err := group.Validate(); err != nil {
		return blame("the group key the guardians computed does not validate: " + err.Error())
	}
	if group.Suite != suite || int(group.Threshold) != c.Threshold || int(group.MaxSigners) != n {
		return blame(fmt.Sprintf("the guardians computed a %d-of-%d %s key, not %d-of-%d %s", group.Threshold, group.MaxSigners, group.Suite, c.Threshold, n, suite))
	}

	// Test signature by t guardians through the normal signing path.
	if err := cr.step(ctx, RoundTestSign, nil); err != nil {
		return err
	}
	pending := *cr.w
	pending.GroupKey, pending.PublicKey = want, group.VerificationKey
	msg := wire.TestMessage(c.ID, &group)
	// The signer returns only a signature that frost.Aggregate verified
	// against the wallet's group key (the one the guardians computed);
	// every guardian checks it again before it activates the key.
	sig, err := s.frost.Sign(ctx, &SignJob{Wallet: &pending, Message: msg, Ceremony: c.ID})
	var bad *badShareError
	switch {
	case errors.As(err, &bad):
		return blame("the test signature failed: "+bad.Error(), bad.guardians...)
	case err != nil:
		return fmt.Errorf("the test signature failed: %w", err)
	}

	// Round 5: the completion certificate and the test signature activate
	// the key on every guardian.
	if err := cr.step(ctx, RoundActivate, nil); err != nil {
		return err
	}
	act := wire.DKGActivate{Completions: derefs(completions), TestSignature: sig}
	activated := make([]wire.DKGActivated, n)
	if _, err := cr.callAll(ctx, wire.KindDKGActivate, 5, func(int) any { return act }, func(i int) any { return &activated[i] }); err != nil {
		return err
	}
	for i, a := range activated {
		if a.Status != "active" {
			return fmt.Errorf("guardian %s reports its key %q after activation", cr.gs[i].Name, a.Status)
		}
	}
	return cr.complete(ctx, &pending, &group)
}

func derefs(envs []*wire.Envelope) []wire.Envelope {
	out := make([]wire.Envelope, len(envs))
	for i, e := range envs {
		out[i] = *e
	}
	return out
}

// checkShares checks the round-2 messages of participant from and routes
// them: one to every other participant, built on the agreed transcript.
func checkShares(shares [][]byte, from, n uint16, transcript [32]byte, routed [][][]byte) error {
	if len(shares) != int(n)-1 {
		return fmt.Errorf("%d messages for %d other participants", len(shares), n-1)
	}
	seen := map[uint16]bool{}
	to := make([]uint16, len(shares))
	for i, b := range shares {
		m, err := dkg.UnmarshalRound2(b)
		switch {
		case err != nil:
			return errors.New("a message does not decode")
		case m.From != from || m.To == 0 || m.To > n || m.To == from || seen[m.To]:
			return fmt.Errorf("a message from %d to %d", m.From, m.To)
		case m.Transcript != transcript:
			return errors.New("a message built on another transcript")
		}
		seen[m.To], to[i] = true, m.To
	}
	for i, b := range shares {
		routed[to[i]-1] = append(routed[to[i]-1], b)
	}
	return nil
}

// complete activates the wallet and closes the ceremony, atomically.
func (cr *ceremonyRun) complete(ctx context.Context, w *store.Wallet, group *frost.GroupKey) error {
	s := cr.s
	if err := cr.step(ctx, RoundDone, nil); err != nil {
		return err
	}
	w.Status = store.WalletActive
	cr.c.State = store.CeremonyCompleted
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.UpdateWalletKey(ctx, w, store.WalletPending); err != nil {
			return err
		}
		if err := tx.UpdateCeremony(ctx, cr.c, store.CeremonyRunning); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryWallet, action: "wallet.activate", actor: "system",
			target: "wallet:" + w.ID, result: audit.ResultSuccess,
			meta: map[string]string{"ceremony": cr.c.ID, "public_key": hex.EncodeToString(w.PublicKey),
				"transcript": hex.EncodeToString(cr.c.Transcript), "threshold": strconv.Itoa(w.Threshold),
				"guardians": strings.Join(w.Guardians, ","), "duration_ms": strconv.FormatInt(s.now().Sub(cr.started).Milliseconds(), 10)}})
	})
	if err != nil {
		cr.c.State = store.CeremonyRunning
		if errors.Is(err, store.ErrConflict) {
			return errors.New("the ceremony or the wallet was ended elsewhere")
		}
		return err
	}
	s.log.InfoContext(ctx, "key ceremony completed", "wallet", w.ID, "ceremony", cr.c.ID, "duration", s.now().Sub(cr.started))
	for i, g := range cr.gs {
		s.frost.refillIfLow(group.Suite, wire.KeyRef{WalletID: w.ID, KeyVersion: w.KeyVersion}, slot{uint16(i + 1), g})
	}
	return nil
}

// fail records a failed ceremony and its wallet, and tells the guardians
// to forget the session and the key it made.
func (cr *ceremonyRun) fail(ctx context.Context, cause error) {
	msg, blamed := cause.Error(), []string(nil)
	var ce *ceremonyError
	if errors.As(cause, &ce) {
		blamed = ce.blamed
	}
	cr.s.log.WarnContext(ctx, "key ceremony failed", "wallet", cr.w.ID, "ceremony", cr.c.ID, "blamed", blamed, "err", cause)
	if cr.s.endCeremony(ctx, cr.c.ID, clean(msg, 1024), blamed) {
		cr.s.abortCeremony(ctx, cr.c.ID, cr.gs, clean(msg, 256))
	}
}

// endCeremony marks a running ceremony failed, and its wallet. It reports
// whether the ceremony is failed in the store now (marked here or
// before). Only then are its guardians told to abort, which removes the
// key it made even where it was activated: a ceremony that completed (the
// commit of complete may have succeeded although it reported an error)
// made the wallet's key, and one whose state cannot be read is left
// running for the sweep to end later.
func (s *Service) endCeremony(ctx context.Context, id, reason string, blamed []string) bool {
	failed := false
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		failed = false // the transaction may run again
		c, err := tx.GetCeremony(ctx, id)
		if err != nil {
			return err
		}
		if c.State != store.CeremonyRunning {
			failed = c.State == store.CeremonyFailed
			return nil
		}
		c.State, c.Error, c.Blamed, c.UpdatedAt = store.CeremonyFailed, reason, strings.Join(blamed, ","), s.now()
		if err := tx.UpdateCeremony(ctx, c, store.CeremonyRunning); err != nil {
			return err
		}
		w, err := tx.GetWallet(ctx, c.WalletID)
		if err != nil {
			return err
		}
		if w.Status == store.WalletPending {
			w.Status = store.WalletFailed
			if err := tx.UpdateWalletKey(ctx, w, store.WalletPending); err != nil {
				return err
			}
		}
		md := map[string]string{"ceremony": id, "round": c.Round, "error": reason}
		if len(blamed) > 0 {
			md["blamed"] = c.Blamed
		}
		failed = true
		return s.record(ctx, tx, event{category: audit.CategoryWallet, action: "wallet.ceremony", actor: "system",
			target: "wallet:" + c.WalletID, result: audit.ResultFailure, meta: md})
	})
	if err != nil {
		s.log.ErrorContext(ctx, "recording a failed ceremony failed", "ceremony", id, "err", err)
		return false
	}
	return failed
}

// abortCeremony tells every participant to forget a session (best effort).
func (s *Service) abortCeremony(ctx context.Context, id string, gs []*store.Guardian, reason string) {
	var wg sync.WaitGroup
	for _, g := range gs {
		if g == nil {
			continue
		}
		wg.Go(func() {
			_, err := s.rpc.call(ctx, g, wire.KindDKGAbort, id, 6, wire.DKGAbort{Reason: reason}, nil)
			var r *GuardianRefusal
			switch {
			case errors.As(err, &r):
				// A guardian keeps an active key that has signed, or
				// was activated too long ago.
				s.log.WarnContext(ctx, "guardian refused a ceremony abort", "guardian", g.ID, "ceremony", id, "code", r.Code, "reason", r.Message)
			case err != nil:
				s.log.DebugContext(ctx, "ceremony abort not delivered", "guardian", g.ID, "ceremony", id, "err", err)
			}
		})
	}
	wg.Wait()
}

// sweepCeremonies fails ceremonies left running by a coordinator that
// stopped (no progress for CeremonyGrace, and not run by this process).
func (s *Service) sweepCeremonies(ctx context.Context) {
	cs, err := read(ctx, s, "list running ceremonies", nil, func(ctx context.Context, tx store.Tx) ([]*store.Ceremony, error) {
		return tx.ListRunningCeremonies(ctx)
	})
	if err != nil {
		s.log.WarnContext(ctx, "listing ceremonies failed", "err", err)
		return
	}
	for _, c := range cs {
		s.bgMu.Lock()
		mine := s.ceremonies[c.ID]
		s.bgMu.Unlock()
		if c.State != store.CeremonyRunning || mine || s.now().Sub(c.UpdatedAt) < CeremonyGrace {
			continue
		}
		reason := "abandoned at " + c.Round + ": the coordinator running it stopped"
		s.log.WarnContext(ctx, "failing an abandoned key ceremony", "ceremony", c.ID, "wallet", c.WalletID, "round", c.Round)
		if !s.endCeremony(ctx, c.ID, reason, nil) {
			continue
		}
		all, err := s.guardiansByID(ctx)
		if err != nil {
			continue
		}
		var gs []*store.Guardian
		for _, id := range c.Guardians {
			gs = append(gs, all[id])
		}
		s.abortCeremony(ctx, c.ID, gs, reason)
	}
}

// GetCeremony returns one key ceremony.
func (s *Service) GetCeremony(ctx context.Context, p *Principal, id string) (*store.Ceremony, error) {
	if err := p.require(PermWalletsRead); err != nil {
		return nil, err
	}
	return read(ctx, s, "get ceremony", newErr(KindNotFound, "unknown_ceremony", "ceremony %q does not exist", id),
		func(ctx context.Context, tx store.Tx) (*store.Ceremony, error) { return tx.GetCeremony(ctx, id) })
}

// WalletCeremony returns the latest key ceremony of a wallet (nil for a
// wallet without one, such as an HD wallet).
func (s *Service) WalletCeremony(ctx context.Context, p *Principal, walletID string) (*store.Ceremony, error) {
	if err := p.require(PermWalletsRead); err != nil {
		return nil, err
	}
	return read(ctx, s, "list ceremonies", nil, func(ctx context.Context, tx store.Tx) (*store.Ceremony, error) {
		cs, err := tx.ListCeremonies(ctx, walletID)
		if err != nil || len(cs) == 0 {
			return nil, err
		}
		return cs[0], nil
	})
}
