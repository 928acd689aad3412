package coordinator

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/internal/timing"
	"github.com/custos-dev/custos/store"
)

// execute runs the action of an approved request. Only one caller wins the
// compare-and-swap that starts the action, so two coordinators acting on
// the same request produce one result.
func (s *Service) execute(ctx context.Context, requestID string) error {
	var r *store.Request
	err := s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		var err error
		r, err = tx.GetRequest(ctx, requestID)
		return err
	})
	if err != nil {
		return err
	}
	if r.Status != store.RequestApproved {
		return nil
	}
	if r.Action == "transfer" {
		return s.executeTransfer(ctx, r)
	}
	return s.executeAction(ctx, r)
}

// certificate builds and checks the approval certificate of a request.
func (s *Service) certificate(v *RequestView) (*approvals.Certificate, error) {
	votes, err := v.votes()
	if err != nil {
		return nil, err
	}
	return approvals.NewCertificate(v.Request.Action, v.Binding(), v.Request.Payload, v.Quorum, v.Tally, votes, v.Roster)
}

func (s *Service) executeTransfer(ctx context.Context, r *store.Request) error {
	start := time.Now()
	var res *reservation
	// Phase 1: re-check the policy and reserve the spend, atomically.
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		v, err := s.loadRequest(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		res, err = s.reserveTransfer(ctx, tx, v)
		return err
	})
	if err != nil {
		return s.storeErr("reserve transfer", err)
	}
	if res == nil {
		return nil
	}
	return s.finishSigning(ctx, r.ID, res.t, res.job, start)
}

// reservation is a transfer reserved for signing (status signing, its
// spend recorded) with what its signer needs.
type reservation struct {
	t   *store.Transaction
	job *SignJob
}

// reserveTransfer is phase 1 of executing an approved transfer, inside
// the caller's store transaction (executeTransfer's, or that of the vote
// that approved it): it checks the policy again and reserves the spend. It
// returns nil if the transfer is not to be signed now: not approved, or
// failed or sent back for more approvals here.
//
// before are the caller's audit events, recorded after the locking reads
// (transaction, wallet, spend ledger) and before any event of its own: the
// audit chain's head is the last lock a transaction takes
// (store/internal/sqlstore), or PostgreSQL deadlocks it with submissions.
func (s *Service) reserveTransfer(ctx context.Context, tx store.Tx, v *RequestView, before ...event) (*reservation, error) {
	if v.Request.Status != store.RequestApproved {
		return nil, s.recordAll(ctx, tx, before)
	}
	t, err := tx.GetTransactionByRequest(ctx, v.Request.ID)
	if err != nil {
		return nil, err
	}
	if t.Status != store.TxApproved {
		return nil, s.recordAll(ctx, tx, before)
	}
	w, err := tx.GetWallet(ctx, t.WalletID)
	if err != nil {
		return nil, err
	}
	tr, err := intent.ParseTransfer(t.Intent)
	fp := intent.Fingerprint(t.Intent)
	if err != nil || !bytes.Equal(fp[:], v.Request.Fingerprint) {
		return nil, wrapErr(KindInternal, "intent_mismatch", "the stored intent does not match the approved fingerprint; refusing to sign", err)
	}
	ev, err := s.evaluateTransfer(ctx, tx, w, tr)
	if err != nil {
		return nil, err
	}
	if err := s.recordAll(ctx, tx, before); err != nil {
		return nil, err
	}
	cert, err := s.certificate(v)
	if err != nil {
		// Votes that no longer count (a role changed after the quorum
		// was met): the transfer fails instead of waiting to be
		// signed by a later sweep on stale approvals.
		s.log.WarnContext(ctx, "approval certificate no longer verifies", "request", v.Request.ID, "err", err)
		return nil, s.failTransfer(ctx, tx, v.Request, t, ev, "the approvals no longer form a valid certificate: "+err.Error())
	}
	if !w.Active() {
		return nil, s.failTransfer(ctx, tx, v.Request, t, ev, fmt.Sprintf("wallet %s is %s: its key is not active", w.ID, w.Status))
	}
	if !bytes.Equal(ev.policy.Hash, v.Request.PolicyHash) {
		return nil, s.failTransfer(ctx, tx, v.Request, t, ev, "the policy changed after approval; the transfer must be resubmitted")
	}
	d := ev.decision
	if d.Outcome == policy.OutcomeDeny {
		return nil, s.failTransfer(ctx, tx, v.Request, t, ev, "denied at the pre-signing check: "+reasonCodes(d.Reasons))
	}
	// A rate move can push the transfer into a stricter tier: then it
	// goes back to collecting approvals (those already given still count).
	need := quorumOf(d.Requirement)
	if !covers(v.Quorum, need) {
		return nil, s.retier(ctx, tx, v, t, ev, need)
	}
	job := &SignJob{Wallet: w, Message: t.Intent, Certificate: cert, Valuation: valuation(ev.rate, ev.price)}
	t.Status, t.UpdatedAt, t.EURCents = store.TxSigning, s.now(), d.EURCents
	if t.Decision, err = s.prove(StagePreSigning, t, ev); err != nil {
		return nil, err
	}
	if err := tx.UpdateTransaction(ctx, t, store.TxApproved); err != nil {
		return nil, err
	}
	if err := tx.AppendSpend(ctx, &store.SpendEntry{WalletID: w.ID, At: s.now(), EURCents: d.EURCents, TransactionID: t.ID}); err != nil {
		return nil, err
	}
	err = s.record(ctx, tx, event{category: audit.CategoryTransaction, action: "transaction.signing", actor: "system",
		target: "transaction:" + t.ID, result: audit.ResultSuccess,
		meta: map[string]string{"wallet_id": w.ID, "mode": w.Mode, "eur_cents": strconv.FormatInt(d.EURCents, 10),
			"approvers": fmt.Sprint(v.Tally.Approvers)}})
	if err != nil {
		return nil, err
	}
	return &reservation{t: t, job: job}, nil
}

// finishSigning signs a reserved transfer (status signing) outside any
// store transaction, verifies the signature and records the outcome. It
// is also how the sweep resumes a transfer left in signing by a crash: the
// Signer contract makes a repeated Sign safe, and the compare-and-swap on
// the status lets one caller record the result.
//
// A signer that cannot reach enough guardians (an *Error of KindUnavailable,
// or a cancelled context) leaves the transfer in signing, with the reason,
// for the sweep to try again after WaitingRetry: nothing is half-signed.
// Any other failure fails the transfer.
//
// The success event records signing_ms: the time from start (the commit
// of the vote that approved the transfer and reserved it, or for a
// transfer approved otherwise the start of its execution) to the verified
// signature being written in the store transaction (its commit excluded).
// The call's Server-Timing header (internal/timing) carries the phases
// (sign, store) and approved-to-stored, the same span up to the commit of
// that write, which is what the load generator reports as signing latency.
// Both are measured on the wall clock, not s.now: the tests' clock stands
// still. A transfer the sweep resumed (start zero) is marked resumed
// instead.
func (s *Service) finishSigning(ctx context.Context, requestID string, t *store.Transaction, job *SignJob, start time.Time) error {
	w := job.Wallet
	signStart := time.Now()
	sig, signErr := s.sign(ctx, job)
	timing.Since(ctx, "sign", signStart)
	retry := signErr != nil && retryable(signErr)
	storeStart := time.Now()
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		// Lock the request before the transaction, the order Vote, Sweep
		// and phase 1 use: the opposite order deadlocks on PostgreSQL with
		// another replica's phase 1 (its sweeper).
		if _, err := tx.GetRequest(ctx, requestID); err != nil {
			return err
		}
		cur, err := tx.GetTransaction(ctx, t.ID)
		if err != nil {
			return err
		}
		now := s.now()
		cur.UpdatedAt = now
		switch {
		case retry:
			cur.FailureReason = waitingPrefix + publicMessage(signErr)
			if err := tx.UpdateTransaction(ctx, cur, store.TxSigning); err != nil {
				return err
			}
			s.log.WarnContext(ctx, "signing postponed", "transaction", t.ID, "wallet", w.ID, "err", signErr)
			return s.record(ctx, tx, event{category: audit.CategoryTransaction, action: "transaction.sign", actor: "system",
				target: "transaction:" + t.ID, result: audit.ResultFailure,
				meta: map[string]string{"error": publicMessage(signErr), "retry_after": WaitingRetry.String()}})
		case signErr != nil:
			reason := "signing failed"
			var de *Error
			if errors.As(signErr, &de) && de.Kind == KindUnprocessable {
				reason = "signing refused: " + de.Message
			}
			cur.Status, cur.FailureReason = store.TxFailed, reason
			if err := tx.UpdateTransaction(ctx, cur, store.TxSigning); err != nil {
				return err
			}
			if err := tx.UpdateRequestStatus(ctx, requestID, store.RequestApproved, store.RequestFailed, now); err != nil {
				return err
			}
			s.log.ErrorContext(ctx, "signing failed", "transaction", t.ID, "wallet", w.ID, "err", signErr)
			return s.record(ctx, tx, event{category: audit.CategoryTransaction, action: "transaction.sign", actor: "system",
				target: "transaction:" + t.ID, result: audit.ResultFailure, meta: map[string]string{"error": reason}})
		}
		cur.Status, cur.Signature, cur.SignedAt, cur.FailureReason = store.TxSigned, sig, &now, ""
		if err := tx.UpdateTransaction(ctx, cur, store.TxSigning); err != nil {
			return err
		}
		if err := tx.UpdateRequestStatus(ctx, requestID, store.RequestApproved, store.RequestExecuted, now); err != nil {
			return err
		}
		meta := map[string]string{"signature": hex.EncodeToString(sig), "public_key": hex.EncodeToString(w.PublicKey), "mode": w.Mode}
		if start.IsZero() {
			meta["resumed"] = "true"
		} else {
			meta["signing_ms"] = strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 3, 64)
		}
		return s.record(ctx, tx, event{category: audit.CategoryTransaction, action: "transaction.sign", actor: "system",
			target: "transaction:" + t.ID, result: audit.ResultSuccess, meta: meta})
	})
	if errors.Is(err, store.ErrConflict) {
		return nil // another coordinator recorded it first
	}
	if err == nil && signErr == nil {
		timing.Since(ctx, "store", storeStart)
		if !start.IsZero() {
			timing.Since(ctx, "approved-to-stored", start)
		}
	}
	return err
}

// retryable reports whether a signing error means "not now" rather than
// "no": too few guardians reachable, or the call was cancelled.
func retryable(err error) bool {
	var de *Error
	if errors.As(err, &de) {
		return de.Kind == KindUnavailable
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// publicMessage is the caller-safe text of an error.
func publicMessage(err error) string {
	var de *Error
	if errors.As(err, &de) {
		return de.Message
	}
	return "signing was interrupted"
}

// resumeDue reports whether the sweep may take over t, a transfer in
// signing: one whose signing was postponed (no attempt in flight) after
// waiting, any other (a coordinator may still be signing it) after grace.
func (s *Service) resumeDue(t *store.Transaction, grace, waiting time.Duration) bool {
	wait := grace
	if strings.HasPrefix(t.FailureReason, waitingPrefix) {
		wait = min(grace, waiting)
	}
	return s.now().Sub(t.UpdatedAt) >= wait
}

// resumeCheck checks again, before a transfer left in signing is signed,
// what may have changed since it was reserved: the approval certificate
// still verifies, the wallet is active and not frozen, the emergency stop
// is off. A refusal marks the transfer failed and returns a nil job; so
// does a transfer that is no longer due (another coordinator took it
// over). Otherwise it takes the transfer over (UpdatedAt now, no waiting
// reason) in the same store transaction.
func (s *Service) resumeCheck(ctx context.Context, t *store.Transaction, grace, waiting time.Duration) (*SignJob, error) {
	var job *SignJob
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		job = nil
		v, err := s.loadRequest(ctx, tx, t.RequestID)
		if err != nil {
			return err
		}
		cur, err := tx.GetTransaction(ctx, t.ID)
		if err != nil {
			return err
		}
		// Decided again on the row read under the request's lock: another
		// coordinator may have taken the transfer over since it was listed.
		if cur.Status != store.TxSigning || v.Request.Status != store.RequestApproved || !s.resumeDue(cur, grace, waiting) {
			return nil
		}
		wallet, err := tx.GetWallet(ctx, t.WalletID)
		if err != nil {
			return err
		}
		stop, err := tx.GetSetting(ctx, settingEmergencyStop)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		fp := intent.Fingerprint(cur.Intent)
		pol, _, err := s.activePolicy(ctx, tx)
		if err != nil {
			return err
		}
		var reason string
		cert, certErr := s.certificate(v)
		switch {
		case certErr != nil:
			reason = "the approval certificate no longer verifies"
		case !bytes.Equal(pol.Hash, v.Request.PolicyHash):
			reason = "the policy changed before signing resumed"
		case !bytes.Equal(fp[:], v.Request.Fingerprint):
			reason = "the intent does not match the approved fingerprint"
		case !wallet.Active():
			reason = fmt.Sprintf("wallet %s is %s: its key is not active", wallet.ID, wallet.Status)
		case wallet.Frozen:
			reason = "the wallet was frozen before signing resumed"
		case stop == "on":
			reason = "the emergency stop was on when signing resumed"
		}
		if reason == "" {
			r, price, err := s.rateOf(ctx, tx, cur.Asset)
			if err != nil {
				return err
			}
			job = &SignJob{Wallet: wallet, Message: cur.Intent, Certificate: cert, Valuation: valuation(r, price)}
			// Take the transfer over: from now on it is in flight here,
			// and other coordinators give it SigningGrace, not WaitingRetry.
			cur.UpdatedAt, cur.FailureReason = s.now(), ""
			return tx.UpdateTransaction(ctx, cur, store.TxSigning)
		}
		cur.Status, cur.FailureReason, cur.UpdatedAt = store.TxFailed, reason, s.now()
		if err := tx.UpdateTransaction(ctx, cur, store.TxSigning); err != nil {
			return err
		}
		if err := tx.UpdateRequestStatus(ctx, v.Request.ID, store.RequestApproved, store.RequestFailed, s.now()); err != nil {
			return err
		}
		return s.record(ctx, tx, event{category: audit.CategoryTransaction, action: "transaction.sign", actor: "system",
			target: "transaction:" + t.ID, result: audit.ResultDenied, meta: map[string]string{"reason": reason}})
	})
	return job, err
}

// resumeSigning finishes transfers left in signing for longer than grace
// (the coordinator that reserved them stopped before recording a result).
func (s *Service) resumeSigning(ctx context.Context, grace, waiting time.Duration) {
	var stuck []*store.Transaction
	var after store.Cursor
	for {
		var page []*store.Transaction
		err := s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
			var err error
			page, err = tx.ListTransactions(ctx, store.TransactionFilter{Status: store.TxSigning, Oldest: true, After: after, Limit: 500})
			return err
		})
		if err != nil {
			s.log.WarnContext(ctx, "listing transfers in signing failed", "err", err)
			return
		}
		stuck = append(stuck, page...)
		if len(page) < 500 {
			break
		}
		after = store.Cursor{CreatedAt: page[len(page)-1].CreatedAt, ID: page[len(page)-1].ID}
	}
	for _, t := range stuck {
		if !s.resumeDue(t, grace, waiting) {
			continue
		}
		job, err := s.resumeCheck(ctx, t, grace, waiting)
		if err != nil {
			s.log.WarnContext(ctx, "resuming signing refused", "transaction", t.ID, "err", err)
			continue
		}
		if job == nil {
			continue // refused and marked failed
		}
		s.log.WarnContext(ctx, "resuming a transfer left in signing", "transaction", t.ID)
		if err := s.finishSigning(ctx, t.RequestID, t, job, time.Time{}); err != nil {
			s.log.WarnContext(ctx, "resuming signing failed", "transaction", t.ID, "err", err)
		}
	}
}

// covers reports whether quorum have is at least as strict as need.
func covers(have, need approvals.Quorum) bool {
	if have.Approvals < need.Approvals {
		return false
	}
	for role, n := range need.Roles {
		if have.Roles[role] < n {
			return false
		}
	}
	return true
}

func (s *Service) failTransfer(ctx context.Context, tx store.Tx, r *store.Request, t *store.Transaction, ev *evaluation, reason string) error {
	var err error
	t.Status, t.FailureReason, t.UpdatedAt = store.TxDenied, reason, s.now()
	if t.Decision, err = s.prove(StagePreSigning, t, ev); err != nil {
		return err
	}
	if err := tx.UpdateTransaction(ctx, t, store.TxApproved); err != nil {
		return err
	}
	if err := tx.UpdateRequestStatus(ctx, r.ID, store.RequestApproved, store.RequestFailed, s.now()); err != nil {
		return err
	}
	return s.record(ctx, tx, event{category: audit.CategoryTransaction, action: "transaction.presign_check", actor: "system",
		target: "transaction:" + t.ID, result: audit.ResultDenied, meta: map[string]string{"reason": reason}})
}

func (s *Service) retier(ctx context.Context, tx store.Tx, v *RequestView, t *store.Transaction, ev *evaluation, need approvals.Quorum) error {
	// The binding (intent, policy, revision) is unchanged, so the votes
	// given stay valid; the request only needs more of them.
	r := *v.Request
	r.Requirement, _ = json.Marshal(need)
	r.EURCents, r.Status, r.UpdatedAt = ev.decision.EURCents, store.RequestPending, s.now()
	if err := tx.UpdateRequestRequirement(ctx, &r, store.RequestApproved); err != nil {
		return err
	}
	var err error
	t.Status, t.UpdatedAt, t.EURCents = store.TxPendingApproval, s.now(), ev.decision.EURCents
	if t.Decision, err = s.prove(StagePreSigning, t, ev); err != nil {
		return err
	}
	if err := tx.UpdateTransaction(ctx, t, store.TxApproved); err != nil {
		return err
	}
	return s.record(ctx, tx, event{category: audit.CategoryPolicy, action: "request.retier", actor: "system",
		target: "request:" + r.ID, result: audit.ResultSuccess,
		meta: map[string]string{"requirement": string(r.Requirement), "eur_cents": strconv.FormatInt(r.EURCents, 10)}})
}

// rebind stores a new binding (intent, policy or requirement) for a
// pending request at the next revision. Every vote given so far signed the
// old revision and no longer counts.
func (s *Service) rebind(ctx context.Context, tx store.Tx, r *store.Request) error {
	r.Revision++
	r.UpdatedAt = s.now()
	return tx.UpdateRequestBinding(ctx, r)
}

// sign produces a signature with the wallet's signer, which verifies it
// under the wallet's public key before it returns it.
func (s *Service) sign(ctx context.Context, job *SignJob) ([]byte, error) {
	sg, ok := s.signers[job.Wallet.Mode]
	if !ok {
		return nil, fmt.Errorf("no signer for wallet mode %q", job.Wallet.Mode)
	}
	return sg.Sign(ctx, job)
}

var errNoAction = errors.New("no executor for action")

// Certificate returns the approval certificate of an approved request.
func (s *Service) Certificate(ctx context.Context, p *Principal, requestID string) (*approvals.Certificate, error) {
	v, err := s.GetRequest(ctx, p, requestID)
	if err != nil {
		return nil, err
	}
	if !v.Tally.QuorumMet {
		return nil, newErr(KindConflict, "quorum_not_met", "request %s has not met its quorum: %v", requestID, v.Tally.Missing)
	}
	c, err := s.certificate(v)
	if err != nil {
		return nil, internal("certificate", err)
	}
	return c, nil
}
