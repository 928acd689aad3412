package coordinator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/custos-dev/custos/approvals/intent"
	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/audit"
	"github.com/custos-dev/custos/store"
)

// TransferInput is what an API client submits.
type TransferInput struct {
	WalletID string `json:"wallet_id"`
	Chain    string `json:"chain"`
	Asset    string `json:"asset"`
	To       string `json:"to"`
	Amount   string `json:"amount"`
	Memo     string `json:"memo"`
}

// supportedChain reports whether a transfer may name chain. On chain
// "message" the wallet signs the canonical intent bytes; real chain
// transactions are built by chain adapters that come later.
func supportedChain(chain string) bool { return chain == "message" }

// SubmitTransfer evaluates a transfer intent and records it. With an
// idempotency key, a repeated identical submission returns the first
// transaction (created false); the same key with another body is refused.
func (s *Service) SubmitTransfer(ctx context.Context, p *Principal, in TransferInput, idemKey string) (*store.Transaction, bool, error) {
	if err := p.require(PermTransactionsWrite); err != nil {
		return nil, false, err
	}
	if len(idemKey) > 128 {
		return nil, false, newErr(KindInvalid, "invalid_idempotency_key", "Idempotency-Key must be at most 128 characters")
	}
	bodyHash := hashInput(in)
	tr, err := intent.NewTransfer(in.WalletID, in.Chain, in.Asset, in.To, in.Amount, in.Memo, s.nonce())
	if err != nil {
		return nil, false, wrapErr(KindInvalid, "invalid_intent", err.Error(), nil)
	}
	if !supportedChain(tr.Chain) {
		return nil, false, newErr(KindUnprocessable, "unsupported_chain", "chain %q is not supported (supported: message)", tr.Chain)
	}
	now := s.now()
	t := &store.Transaction{
		ID: s.newID(), ClientID: p.ID, IdempotencyKey: idemKey, BodyHash: bodyHash,
		WalletID: tr.WalletID, Chain: tr.Chain, Asset: tr.Asset, To: tr.To, Amount: tr.Amount.String(),
		Memo: in.Memo, Nonce: tr.Nonce, Intent: tr.Canonical(), CreatedAt: now, UpdatedAt: now,
	}
	fp := tr.Fingerprint()
	t.Fingerprint = fp[:]

	var outcome string
	var replay *store.Transaction
	var wallet *store.Wallet
	err = s.store.ReadWriteTx(ctx, func(ctx context.Context, tx store.Tx) error {
		replay = nil
		if idemKey != "" {
			prev, err := tx.GetTransactionByIdempotencyKey(ctx, p.ID, idemKey)
			if err == nil {
				replay = prev
				return nil // nothing to write
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		w, err := tx.GetWallet(ctx, tr.WalletID)
		if errors.Is(err, store.ErrNotFound) {
			return newErr(KindNotFound, "unknown_wallet", "wallet %q does not exist", tr.WalletID)
		}
		if err != nil {
			return err
		}
		if !w.Active() {
			return newErr(KindConflict, "wallet_not_active", "wallet %s is %s: its key ceremony has not completed, it signs nothing", w.ID, w.Status)
		}
		ev, err := s.evaluateTransfer(ctx, tx, w, tr)
		if err != nil {
			return err
		}
		wallet = w
		d := ev.decision
		outcome = d.Outcome
		t.EURCents = d.EURCents
		t.RequestID, t.Status = "", store.TxDenied
		if d.Outcome != policy.OutcomeDeny {
			t.RequestID = s.newID()
			t.Status = store.TxPendingApproval
			if d.Outcome == policy.OutcomeAllow {
				t.Status = store.TxApproved
			}
		}
		if t.Decision, err = s.prove(StageSubmission, t, ev); err != nil {
			return err
		}
		if t.RequestID != "" {
			// The transfer's own audit event below records the request.
			if err := s.createRequest(ctx, tx, p, t.RequestID, "transfer", t.Intent, ev, d.Outcome == policy.OutcomeAllow, false); err != nil {
				return err
			}
		}
		if err := tx.CreateTransaction(ctx, t); err != nil {
			return err
		}
		md := map[string]string{"outcome": d.Outcome, "wallet_id": t.WalletID, "amount": t.Amount,
			"asset": t.Asset, "to": t.To, "eur_cents": strconv.FormatInt(d.EURCents, 10),
			"fingerprint": hex.EncodeToString(t.Fingerprint)}
		if len(d.Reasons) > 0 {
			md["reasons"] = reasonCodes(d.Reasons)
		}
		if t.RequestID != "" {
			md["request"] = t.RequestID
			md["requirement"] = reqJSON(d.Requirement)
			md["policy_version"] = strconv.FormatInt(ev.policy.Version, 10)
		}
		result := audit.ResultSuccess
		if d.Outcome == policy.OutcomeDeny {
			result = audit.ResultDenied
		}
		return s.record(ctx, tx, event{category: audit.CategoryTransaction, action: "transaction.submit",
			actor: p.Actor(), target: "transaction:" + t.ID, result: result, meta: md})
	})
	if errors.Is(err, store.ErrConflict) && idemKey != "" {
		// Lost a race with an identical submission.
		if t, err := s.existingSubmission(ctx, p, idemKey, bodyHash); t != nil || err != nil {
			return t, false, err
		}
	}
	if err != nil {
		return nil, false, s.storeErr("submit transfer", err)
	}
	if replay != nil {
		if !bytes.Equal(replay.BodyHash, bodyHash) {
			return nil, false, newErr(KindUnprocessable, "idempotency_key_reused", "Idempotency-Key %q was used for a different request", idemKey)
		}
		return replay, false, nil
	}
	if outcome == policy.OutcomeApprovalRequired && wallet.Mode == store.ModeFROST {
		// While the approvers decide, the guardians run round 1.
		w, msg := wallet, t.Intent
		s.goBackground(func(ctx context.Context) { s.frost.PrepareAhead(ctx, w, msg) })
	}
	if outcome == policy.OutcomeAllow {
		if err := s.execute(ctx, t.RequestID); err != nil {
			s.log.WarnContext(ctx, "signing after auto-approval failed", "transaction", t.ID, "err", err)
		}
		if fresh, err := s.getTransaction(ctx, t.ID); err == nil {
			t = fresh
		}
	}
	return t, true, nil
}

func (s *Service) existingSubmission(ctx context.Context, p *Principal, key string, bodyHash []byte) (*store.Transaction, error) {
	var t *store.Transaction
	err := s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		var err error
		t, err = tx.GetTransactionByIdempotencyKey(ctx, p.ID, key)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, s.storeErr("idempotency lookup", err)
	}
	if !bytes.Equal(t.BodyHash, bodyHash) {
		return nil, newErr(KindUnprocessable, "idempotency_key_reused", "Idempotency-Key %q was used for a different request", key)
	}
	return t, nil
}

func hashInput(in TransferInput) []byte {
	b, _ := json.Marshal(in)
	h := sha256.Sum256(b)
	return h[:]
}

func reasonCodes(rs []policy.Reason) string {
	var b bytes.Buffer
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r.Code)
	}
	return b.String()
}

func reqJSON(r policy.Requirement) string {
	b, _ := json.Marshal(quorumOf(r))
	return string(b)
}

// createRequest records an approval request bound to the current policy,
// with its own audit event when recordIt is set (a transfer's submission
// event records its request instead).
func (s *Service) createRequest(ctx context.Context, tx store.Tx, p *Principal, id, action string, payload []byte, ev *evaluation, approved, recordIt bool) error {
	now := s.now()
	req, _ := json.Marshal(quorumOf(ev.decision.Requirement))
	fp := intent.Fingerprint(payload)
	r := &store.Request{
		ID: id, Action: action, RequesterID: p.UserID, Payload: payload, Fingerprint: fp[:],
		PolicyVersion: ev.policy.Version, PolicyHash: ev.policy.Hash, EURCents: ev.decision.EURCents,
		Requirement: req, Revision: 1, Status: store.RequestPending,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(expiryOf(ev.decision.Requirement)),
	}
	if approved {
		r.Status = store.RequestApproved
	}
	if err := tx.CreateRequest(ctx, r); err != nil {
		return err
	}
	if !recordIt {
		return nil
	}
	return s.record(ctx, tx, event{category: audit.CategoryPolicy, action: "request.create", actor: p.Actor(),
		target: "request:" + id, result: audit.ResultSuccess,
		meta: map[string]string{"action": action, "status": string(r.Status), "requirement": string(req),
			"policy_version": strconv.FormatInt(ev.policy.Version, 10)}})
}

func expiryOf(r policy.Requirement) time.Duration {
	if r.Expiry > 0 {
		return r.Expiry
	}
	return 24 * time.Hour
}

// storeErr turns a store error into a domain error.
func (s *Service) storeErr(what string, err error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, store.ErrNotFound):
		return newErr(KindNotFound, "not_found", "not found")
	case errors.Is(err, store.ErrConflict):
		return wrapErr(KindConflict, "conflict", "the resource changed concurrently; retry", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return wrapErr(KindUnavailable, "cancelled", "the request was cancelled; nothing was done", err)
	}
	return wrapErr(KindUnavailable, "store_unavailable", "the store failed; nothing was done", fmt.Errorf("%s: %w", what, err))
}

func (s *Service) getTransaction(ctx context.Context, id string) (*store.Transaction, error) {
	return read(ctx, s, "get transaction", newErr(KindNotFound, "unknown_transaction", "transaction %q does not exist", id), func(ctx context.Context, tx store.Tx) (*store.Transaction, error) {
		return tx.GetTransaction(ctx, id)
	})
}

// GetTransaction returns one transaction.
func (s *Service) GetTransaction(ctx context.Context, p *Principal, id string) (*store.Transaction, error) {
	if err := p.require(PermTransactionsRead); err != nil {
		return nil, err
	}
	return s.getTransaction(ctx, id)
}

// ListTransactions lists transactions, newest first.
func (s *Service) ListTransactions(ctx context.Context, p *Principal, f store.TransactionFilter) ([]*store.Transaction, error) {
	if err := p.require(PermTransactionsRead); err != nil {
		return nil, err
	}
	return read(ctx, s, "list transactions", nil, func(ctx context.Context, tx store.Tx) ([]*store.Transaction, error) {
		return tx.ListTransactions(ctx, f)
	})
}
