package coordinator

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/store"
)

// AmendInput changes a pending transfer. Nil fields keep their value.
type AmendInput struct {
	To     *string `json:"to,omitempty"`
	Amount *string `json:"amount,omitempty"`
	Memo   *string `json:"memo,omitempty"`
}

// StageAmendment marks a decision made for an amended intent.
const StageAmendment = "amendment"

// AmendTransfer changes the intent of a transfer that is still collecting
// approvals. The amended intent gets a new nonce and fingerprint and is
// evaluated again; every approval given so far signed the old fingerprint
// and is void. Only the client that submitted the transfer may amend it.
func (s *Service) AmendTransfer(ctx context.Context, p *Principal, id string, in AmendInput) (*store.Transaction, error) {
	if err := p.require(PermTransactionsWrite); err != nil {
		return nil, err
	}
	if in.To == nil && in.Amount == nil && in.Memo == nil {
		return nil, newErr(KindInvalid, "nothing_to_amend", "give at least one of to, amount, memo")
	}
	var auto bool
	var out *store.Transaction
	err := s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		auto = false
		t, err := tx.GetTransaction(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return newErr(KindNotFound, "unknown_transaction", "transaction %q does not exist", id)
		}
		if err != nil {
			return err
		}
		if t.ClientID != p.ID {
			return newErr(KindForbidden, "not_the_submitter", "only the client that submitted transaction %s may amend it", id)
		}
		if t.Status != store.TxPendingApproval {
			return newErr(KindConflict, "not_amendable", "transaction %s is %s; only a transfer awaiting approval can be amended", id, t.Status)
		}
		r, err := tx.GetRequest(ctx, t.RequestID)
		if err != nil {
			return err
		}
		if r.Status != store.RequestPending {
			return newErr(KindConflict, "not_amendable", "request %s is %s", r.ID, r.Status)
		}
		to, amount, memo := t.To, t.Amount, t.Memo
		if in.To != nil {
			to = *in.To
		}
		if in.Amount != nil {
			amount = *in.Amount
		}
		if in.Memo != nil {
			memo = *in.Memo
		}
		tr, err := intent.NewTransfer(t.WalletID, t.Chain, t.Asset, to, amount, memo, s.nonce())
		if err != nil {
			return wrapErr(KindInvalid, "invalid_intent", err.Error(), nil)
		}
		w, err := tx.GetWallet(ctx, t.WalletID)
		if err != nil {
			return err
		}
		ev, err := s.evaluateTransfer(ctx, tx, w, tr)
		if err != nil {
			return err
		}
		oldFP := hex.EncodeToString(t.Fingerprint)
		fp := tr.Fingerprint()
		t.To, t.Amount, t.Memo, t.Nonce, t.Intent, t.Fingerprint = tr.To, tr.Amount.String(), memo, tr.Nonce, tr.Canonical(), fp[:]
		t.EURCents, t.UpdatedAt = ev.decision.EURCents, s.now()
		d := ev.decision
		switch d.Outcome {
		case policy.OutcomeDeny:
			t.Status, t.FailureReason = store.TxDenied, "the amended transfer is denied: "+reasonCodes(d.Reasons)
			if err := tx.UpdateRequestStatus(ctx, r.ID, store.RequestPending, store.RequestRejected, s.now()); err != nil {
				return err
			}
		case policy.OutcomeAllow:
			auto = true
			t.Status = store.TxApproved
		}
		if t.Decision, err = s.prove(StageAmendment, t, ev); err != nil {
			return err
		}
		if d.Outcome != policy.OutcomeDeny {
			r.Payload, r.Fingerprint = t.Intent, t.Fingerprint
			r.PolicyVersion, r.PolicyHash, r.EURCents = ev.policy.Version, ev.policy.Hash, d.EURCents
			r.Requirement, _ = json.Marshal(quorumOf(d.Requirement))
			if err := s.rebind(ctx, tx, r); err != nil {
				return err
			}
			if auto {
				if err := tx.UpdateRequestStatus(ctx, r.ID, store.RequestPending, store.RequestApproved, s.now()); err != nil {
					return err
				}
			}
		}
		if err := tx.UpdateTransaction(ctx, t, store.TxPendingApproval); err != nil {
			return err
		}
		out = t
		return s.record(ctx, tx, event{category: audit.CategoryTransaction, action: "transaction.amend", actor: p.Actor(),
			target: "transaction:" + t.ID, result: audit.ResultSuccess,
			meta: map[string]string{"outcome": d.Outcome, "old_fingerprint": oldFP, "fingerprint": hex.EncodeToString(t.Fingerprint),
				"amount": t.Amount, "to": t.To, "eur_cents": strconv.FormatInt(d.EURCents, 10), "revision": strconv.FormatInt(r.Revision, 10)}})
	})
	if err != nil {
		return nil, s.storeErr("amend transfer", err)
	}
	if auto {
		if err := s.execute(ctx, out.RequestID); err != nil {
			s.log.WarnContext(ctx, "signing after amendment failed", "transaction", out.ID, "err", err)
		}
		return s.getTransaction(ctx, out.ID)
	}
	return out, nil
}
