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
	"unicode"
	"unicode/utf8"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/governance"
	"github.com/custos-dev/custos/internal/timing"
	"github.com/custos-dev/custos/store"
)

// RequestView is an approval request with its votes and tally.
type RequestView struct {
	Request   *store.Request
	Quorum    approvals.Quorum
	Tally     approvals.Tally
	Approvals []*store.Approval // votes of the current revision
	Roster    map[string]approvals.Approver
}

// Binding returns what a vote on the request must sign.
func (v *RequestView) Binding() approvals.Binding {
	return approvals.Binding{RequestID: v.Request.ID, RequesterID: v.Request.RequesterID, Revision: v.Request.Revision,
		Fingerprint: v.Request.Fingerprint, PolicyHash: v.Request.PolicyHash, ExpiresAt: v.Request.ExpiresAt}
}

// GetRequest returns a request with its tally.
func (s *Service) GetRequest(ctx context.Context, p *Principal, id string) (*RequestView, error) {
	if err := p.require(PermApprovalsRead); err != nil {
		return nil, err
	}
	return s.requestView(ctx, id)
}

// requestView reads a request with its tally, for the service itself.
func (s *Service) requestView(ctx context.Context, id string) (*RequestView, error) {
	return read(ctx, s, "get request", nil, func(ctx context.Context, tx store.Tx) (*RequestView, error) {
		return s.loadRequest(ctx, tx, id)
	})
}

// ListRequests lists requests, newest first.
func (s *Service) ListRequests(ctx context.Context, p *Principal, f store.RequestFilter) ([]*store.Request, error) {
	if err := p.require(PermApprovalsRead); err != nil {
		return nil, err
	}
	return read(ctx, s, "list requests", nil, func(ctx context.Context, tx store.Tx) ([]*store.Request, error) {
		return tx.ListRequests(ctx, f)
	})
}

func (s *Service) roster(ctx context.Context, tx store.Tx) (map[string]approvals.Approver, error) {
	users, err := tx.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := tx.ListPasskeys(ctx, "")
	if err != nil {
		return nil, err
	}
	passkeys := activePasskeys(keys)
	r := make(map[string]approvals.Approver, len(users))
	for _, u := range users {
		r[u.ID] = approvals.Approver{ID: u.ID, Name: u.Name, Role: u.Role, Key: u.ApprovalKey, Passkeys: passkeys[u.ID]}
	}
	return r, nil
}

func (s *Service) loadRequest(ctx context.Context, tx store.Tx, id string) (*RequestView, error) {
	r, err := tx.GetRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, newErr(KindNotFound, "unknown_request", "request %q does not exist", id)
	}
	if err != nil {
		return nil, err
	}
	roster, err := s.roster(ctx, tx)
	if err != nil {
		return nil, err
	}
	return s.viewOf(ctx, tx, r, roster)
}

// viewOf tallies request r's current votes against roster.
func (s *Service) viewOf(ctx context.Context, tx store.Tx, r *store.Request, roster map[string]approvals.Approver) (*RequestView, error) {
	v, err := s.currentVotes(ctx, tx, r, roster)
	if err != nil {
		return nil, err
	}
	if err := v.recount(); err != nil {
		return nil, err
	}
	return v, nil
}

// currentVotes is request r with its current votes, not yet tallied.
func (s *Service) currentVotes(ctx context.Context, tx store.Tx, r *store.Request, roster map[string]approvals.Approver) (*RequestView, error) {
	id := r.ID
	v := &RequestView{Request: r, Roster: roster}
	if err := json.Unmarshal(r.Requirement, &v.Quorum); err != nil {
		return nil, internal("decode requirement", err)
	}
	all, err := tx.ListApprovals(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		// Votes of earlier revisions, or bound to another intent or policy,
		// are void.
		if a.Revision == r.Revision && bytes.Equal(a.Fingerprint, r.Fingerprint) && bytes.Equal(a.PolicyHash, r.PolicyHash) {
			v.Approvals = append(v.Approvals, a)
		}
	}
	return v, nil
}

// votes returns the view's approvals as the approval engine takes them.
func (v *RequestView) votes() ([]approvals.Vote, error) {
	out := make([]approvals.Vote, len(v.Approvals))
	for i, a := range v.Approvals {
		out[i] = approvals.Vote{ApproverID: a.ApproverID, Decision: a.Decision, Signature: a.Signature}
		if a.Assertion != nil {
			out[i].Assertion = new(approvals.Assertion)
			if err := json.Unmarshal(a.Assertion, out[i].Assertion); err != nil {
				return nil, fmt.Errorf("passkey vote of %s: %w", a.ApproverID, err)
			}
		}
	}
	return out, nil
}

// recount tallies the view's approvals.
func (v *RequestView) recount() error {
	votes, err := v.votes()
	if err != nil {
		return wrapErr(KindInternal, "approvals_corrupt", "stored approvals do not decode; refusing to proceed", err)
	}
	t, err := approvals.Count(v.Binding(), v.Quorum, votes, v.Roster)
	if err != nil {
		return wrapErr(KindInternal, "approvals_corrupt", "stored approvals do not verify; refusing to proceed", err)
	}
	v.Tally = t
	return nil
}

// Ballot is a vote as its voter casts it: signed with their Ed25519
// approval key (the CLI) or with one of their passkeys (the web UI).
type Ballot struct {
	Decision  string
	Signature []byte               // Ed25519 over approvals.Message
	Assertion *approvals.Assertion // or a WebAuthn assertion over approvals.Challenge
	// Reason is shown to the other approvers and recorded in the audit
	// log; it is not part of what is signed.
	Reason string
}

// MaxReasonLen bounds a vote's reason (characters).
const MaxReasonLen = 500

// Vote records a signed approval or rejection by the calling user (see
// Cast).
func (s *Service) Vote(ctx context.Context, p *Principal, requestID, decision string, signature []byte) (*RequestView, error) {
	return s.Cast(ctx, p, requestID, Ballot{Decision: decision, Signature: signature})
}

// Cast records the calling user's vote on a request, after checking its
// signature or passkey assertion against the user's own keys: a session
// of one user never votes for another. When the quorum is met the
// request's action runs (for a transfer: signing).
func (s *Service) Cast(ctx context.Context, p *Principal, requestID string, b Ballot) (*RequestView, error) {
	if err := p.require(PermApprove); err != nil {
		return nil, err
	}
	if p.Kind != "user" {
		return nil, newErr(KindForbidden, "forbidden", "approvals are made by people, not API keys")
	}
	decision, signature := b.Decision, b.Signature
	if decision != approvals.Approve && decision != approvals.Reject {
		return nil, newErr(KindInvalid, "invalid_decision", "decision must be %q or %q", approvals.Approve, approvals.Reject)
	}
	b.Reason = strings.ReplaceAll(b.Reason, "\r\n", "\n") // as browsers send a textarea's line breaks
	if !utf8.ValidString(b.Reason) || utf8.RuneCountInString(b.Reason) > MaxReasonLen || strings.ContainsFunc(b.Reason, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) {
		return nil, newErr(KindInvalid, "invalid_reason", "the reason must be text of at most %d characters", MaxReasonLen)
	}
	var assertion []byte
	if b.Assertion != nil {
		var err error
		if assertion, err = json.Marshal(b.Assertion); err != nil {
			return nil, internal("encode assertion", err)
		}
	}
	voteStart := time.Now()
	if err := s.expireIfDue(ctx, requestID); err != nil {
		return nil, err
	}
	var view *RequestView
	var quorum bool
	var res *reservation
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		quorum, res = false, nil
		v, err := s.loadRequest(ctx, tx, requestID)
		if err != nil {
			return err
		}
		r := v.Request
		if r.Status != store.RequestPending {
			return newErr(KindConflict, "request_not_pending", "request %s is %s", r.ID, r.Status)
		}
		if pol, _, err := s.activePolicy(ctx, tx); err != nil {
			return err
		} else if !bytes.Equal(pol.Hash, r.PolicyHash) {
			return newErr(KindConflict, "policy_changed", "the policy changed since request %s was made; it must be resubmitted", r.ID)
		}
		me, ok := v.Roster[p.UserID]
		if !ok {
			return ErrUnauthenticated
		}
		if subject := requestSubject(r); subject != "" && subject == me.ID {
			return newErr(KindForbidden, "own_role_change", "%s cannot vote on a change of their own approval powers", me.Name)
		}
		vote := approvals.Vote{ApproverID: me.ID, Decision: decision, Signature: signature, Assertion: b.Assertion}
		if err := approvals.CheckVote(v.Binding(), me, vote); err != nil {
			return voteErr(err, b.Assertion != nil)
		}
		for _, a := range v.Approvals {
			if a.ApproverID == me.ID {
				return newErr(KindConflict, "duplicate_vote", "%s has already voted %s on request %s; a person counts once", me.Name, a.Decision, r.ID)
			}
		}
		a := &store.Approval{RequestID: r.ID, Revision: r.Revision, ApproverID: me.ID, Decision: decision,
			Fingerprint: r.Fingerprint, PolicyHash: r.PolicyHash, Signature: signature, Assertion: assertion, Reason: b.Reason, CreatedAt: s.now()}
		if err := tx.AddApproval(ctx, a); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return newErr(KindConflict, "duplicate_vote", "%s has already voted on request %s; a person counts once", me.Name, r.ID)
			}
			return err
		}
		evs := []event{{category: audit.CategoryPolicy, action: "request.vote", actor: p.Actor(),
			target: "request:" + r.ID, result: audit.ResultSuccess,
			meta: voteMeta(decision, r.Revision, b)}}
		v.Approvals = append(v.Approvals, a)
		if err := v.recount(); err != nil {
			return err
		}
		view = v
		switch {
		case v.Tally.Rejected:
			view.Request.Status = store.RequestRejected
			if err := s.recordAll(ctx, tx, evs); err != nil {
				return err
			}
			return s.finish(ctx, tx, p.Actor(), r, store.RequestRejected, store.TxRejected, "rejected by approvers")
		case v.Tally.QuorumMet:
			quorum = true
			if err := tx.UpdateRequestStatus(ctx, r.ID, store.RequestPending, store.RequestApproved, s.now()); err != nil {
				return err
			}
			if err := s.setTxStatus(ctx, tx, r.ID, store.TxPendingApproval, store.TxApproved, ""); err != nil {
				return err
			}
			view.Request.Status = store.RequestApproved
			evs = append(evs, event{category: audit.CategoryPolicy, action: "request.approved", actor: "system",
				target: "request:" + r.ID, result: audit.ResultSuccess,
				meta: map[string]string{"approvals": strconv.Itoa(v.Tally.Approvals)}})
			if r.Action == "transfer" {
				// Phase 1 of the execution in the same transaction: the
				// approval and the reservation of the spend commit
				// together. It records the vote's events after its
				// locking reads (wallet, spend ledger), so that the audit
				// chain's head is locked last, as everywhere else.
				res, err = s.reserveTransfer(ctx, tx, v, evs...)
				return err
			}
		}
		return s.recordAll(ctx, tx, evs)
	})
	if err != nil {
		return nil, s.storeErr("vote", err)
	}
	approved := time.Now()
	timing.Since(ctx, "vote", voteStart)
	if quorum {
		var err error
		switch {
		case res != nil:
			err = s.finishSigning(ctx, requestID, res.t, res.job, approved)
		case view.Request.Action != "transfer":
			err = s.execute(ctx, requestID)
		}
		if err != nil {
			s.log.WarnContext(ctx, "executing approved request failed", "request", requestID, "err", err)
		}
		// Execution ends the request (executed or failed) or, when a rate
		// move raised the tier, sends it back to collecting approvals. Only
		// then do the quorum and tally change: reload the whole view.
		r, err := read(ctx, s, "get request", nil, func(ctx context.Context, tx store.Tx) (*store.Request, error) {
			return tx.GetRequest(ctx, requestID)
		})
		switch {
		case err == nil && (r.Status == store.RequestExecuted || r.Status == store.RequestFailed) && r.Revision == view.Request.Revision:
			view.Request = r
		default:
			if v, err := s.GetRequest(ctx, p, requestID); err == nil {
				view = v
			}
		}
	}
	return view, nil
}

// requestSubject returns the user a request is about (a role change, a
// new passkey), who may not vote on it.
func requestSubject(r *store.Request) string {
	if r.Action != governance.ActionRoleAssign && r.Action != governance.ActionCredentialAdd {
		return ""
	}
	return requestParam(r, "user_id")
}

// requestParam returns a string parameter of a non-transfer request's
// canonical intent ({"type", "params": {...}}), or "" if it has none.
func requestParam(r *store.Request, key string) string {
	var a struct {
		Params map[string]json.RawMessage `json:"params"`
	}
	var v string
	if json.Unmarshal(r.Payload, &a) != nil || json.Unmarshal(a.Params[key], &v) != nil {
		return ""
	}
	return v
}

// voteMeta is what the audit log records of a vote.
func voteMeta(decision string, revision int64, b Ballot) map[string]string {
	m := map[string]string{"decision": decision, "revision": strconv.FormatInt(revision, 10), "method": "approval_key"}
	if b.Assertion != nil {
		m["method"], m["credential_id"] = "passkey", hex.EncodeToString(b.Assertion.CredentialID)
	}
	if b.Reason != "" {
		m["reason"] = b.Reason
	}
	return m
}

func voteErr(err error, passkey bool) error {
	switch {
	case errors.Is(err, approvals.ErrSelfApproval):
		return wrapErr(KindForbidden, "self_approval", "the requester cannot approve their own request", err)
	case errors.Is(err, approvals.ErrNotApprover):
		return wrapErr(KindForbidden, "not_an_approver", "your role does not approve requests", err)
	case passkey && errors.Is(err, approvals.ErrNoApprovalKey):
		return wrapErr(KindUnprocessable, "unknown_passkey", "that passkey is not one of your approved passkeys", err)
	case errors.Is(err, approvals.ErrNoApprovalKey):
		return wrapErr(KindUnprocessable, "no_approval_key", "you have no approval key registered", err)
	case passkey && errors.Is(err, approvals.ErrBadSignature):
		return wrapErr(KindUnprocessable, "bad_assertion", "the passkey assertion does not verify for this request, intent, policy and decision", err)
	case errors.Is(err, approvals.ErrBadSignature):
		return wrapErr(KindUnprocessable, "bad_signature", "the approval signature does not verify with your approval key over this request, intent and policy", err)
	}
	return wrapErr(KindInvalid, "invalid_vote", "invalid vote", err)
}

// setTxStatus moves the transaction of a transfer request, if any.
func (s *Service) setTxStatus(ctx context.Context, tx store.Tx, requestID string, from, to store.TxStatus, reason string) error {
	t, err := tx.GetTransactionByRequest(ctx, requestID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	t.Status, t.UpdatedAt = to, s.now()
	if reason != "" {
		t.FailureReason = reason
	}
	return tx.UpdateTransaction(ctx, t, from)
}

// finish ends a pending request (rejected or expired) and its transfer.
func (s *Service) finish(ctx context.Context, tx store.Tx, actor string, r *store.Request, rs store.RequestStatus, ts store.TxStatus, reason string) error {
	if err := tx.UpdateRequestStatus(ctx, r.ID, store.RequestPending, rs, s.now()); err != nil {
		return err
	}
	if err := s.setTxStatus(ctx, tx, r.ID, store.TxPendingApproval, ts, reason); err != nil {
		return err
	}
	if err := s.refusePasskeyOf(ctx, tx, r); err != nil {
		return err
	}
	return s.record(ctx, tx, event{category: audit.CategoryPolicy, action: "request." + string(rs), actor: actor,
		target: "request:" + r.ID, result: audit.ResultSuccess, meta: map[string]string{"reason": reason}})
}

// expireIfDue expires a pending request past its deadline.
func (s *Service) expireIfDue(ctx context.Context, id string) error {
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		r, err := tx.GetRequest(ctx, id)
		if err != nil {
			return err
		}
		if r.Status != store.RequestPending || s.now().Before(r.ExpiresAt) {
			return nil
		}
		return s.finish(ctx, tx, "system", r, store.RequestExpired, store.TxExpired, "approval window expired")
	})
	if errors.Is(err, store.ErrNotFound) {
		return newErr(KindNotFound, "unknown_request", "request %q does not exist", id)
	}
	if errors.Is(err, store.ErrConflict) {
		return nil // someone else moved it; the caller re-reads
	}
	if err != nil {
		return s.storeErr("expire request", err)
	}
	return nil
}

// SigningGrace is how long a transfer may stay in signing before the sweep
// takes it over from the coordinator that reserved it.
const SigningGrace = 2 * time.Minute

// WaitingRetry is how soon the sweep tries again a transfer whose signing
// was postponed (too few guardians reachable). No signing of it is in
// flight then: the attempt ended and recorded why it waits, so there is no
// coordinator to give SigningGrace to. Should two replicas retry at once,
// the Signer contract makes that safe and one of them records the result.
const WaitingRetry = 15 * time.Second

// waitingPrefix starts the failure reason of a postponed transfer.
const waitingPrefix = "waiting to sign: "

// Sweep expires overdue requests, resumes approved requests whose action
// has not run and finishes transfers left in signing (after a crash). It
// is safe to run on every replica.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	err := s.eachRequest(ctx, store.RequestPending, func(r *store.Request) {
		if !now.Before(r.ExpiresAt) {
			if err := s.expireIfDue(ctx, r.ID); err != nil {
				s.log.WarnContext(ctx, "expiring request failed", "request", r.ID, "err", err)
			}
		}
	})
	if err != nil {
		return err
	}
	err = s.eachRequest(ctx, store.RequestApproved, func(r *store.Request) {
		if err := s.execute(ctx, r.ID); err != nil {
			s.log.WarnContext(ctx, "resuming approved request failed", "request", r.ID, "err", err)
		}
	})
	if err != nil {
		return err
	}
	s.resumeSigning(ctx, SigningGrace, WaitingRetry)
	s.sweepCeremonies(ctx)
	return nil
}

// eachRequest calls f for every request in status, oldest first, a page
// at a time, so that no request is starved by newer ones.
func (s *Service) eachRequest(ctx context.Context, status store.RequestStatus, f func(*store.Request)) error {
	const page = 500
	var after store.Cursor
	for {
		var rs []*store.Request
		err := s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
			var err error
			rs, err = tx.ListRequests(ctx, store.RequestFilter{Status: status, Oldest: true, After: after, Limit: page})
			return err
		})
		if err != nil {
			return err
		}
		for _, r := range rs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f(r)
		}
		if len(rs) < page {
			return nil
		}
		last := rs[len(rs)-1]
		after = store.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
}
