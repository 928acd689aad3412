package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/custos-dev/custos/store"
)

const approvalCols = `request_id, revision, approver_id, decision, fingerprint, policy_hash, signature, assertion, reason, created_at_us`

func scanApproval(s scanner) (*store.Approval, error) {
	var a store.Approval
	var created int64
	if err := s.Scan(&a.RequestID, &a.Revision, &a.ApproverID, &a.Decision, &a.Fingerprint, &a.PolicyHash, &a.Signature, &a.Assertion, &a.Reason, &created); err != nil {
		return nil, err
	}
	a.Fingerprint = nilIfEmpty(a.Fingerprint)
	a.PolicyHash = nilIfEmpty(a.PolicyHash)
	a.Signature = nilIfEmpty(a.Signature)
	a.Assertion = nilIfEmpty(a.Assertion)
	a.CreatedAt = fromUS(created)
	return &a, nil
}

// AddApproval implements store.Tx: ErrConflict on a duplicate (request,
// approver, revision), ErrNotFound if the request is missing.
func (t *Tx) AddApproval(ctx context.Context, a *store.Approval) error {
	op := fmt.Sprintf("add approval of request %q revision %d by %q", a.RequestID, a.Revision, a.ApproverID)
	if err := t.writable(op); err != nil {
		return err
	}
	if err := t.exists(ctx, op, "request", `SELECT 1 FROM requests WHERE id = $1`, a.RequestID); err != nil {
		return err
	}
	return t.insert(ctx, op,
		`INSERT INTO approvals (`+approvalCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
		a.RequestID, a.Revision, a.ApproverID, a.Decision, blob(a.Fingerprint), blob(a.PolicyHash), blob(a.Signature), blob(a.Assertion), a.Reason, us(a.CreatedAt))
}

// ListApprovals implements store.Tx: every revision, ordered by revision,
// creation time, then approver id. An unknown request has none.
func (t *Tx) ListApprovals(ctx context.Context, requestID string) ([]*store.Approval, error) {
	return queryList(ctx, t, "list approvals of request "+strconv.Quote(requestID),
		`SELECT `+approvalCols+` FROM approvals WHERE request_id = $1 ORDER BY revision, created_at_us, approver_id`,
		scanApproval, requestID)
}
