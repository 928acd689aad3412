package coordinator

import (
	"context"
	"slices"

	"github.com/custos-dev/custos/approvals"
	"github.com/custos-dev/custos/store"
)

// QueueItem is one pending request as a member of staff sees it in their
// approval queue.
type QueueItem struct {
	View *RequestView
	// Transaction is the transfer a transfer request is about (nil for
	// other actions).
	Transaction *store.Transaction
	// NeedsMe: the caller may still vote on it (not the requester, has not
	// voted, holds an approving role).
	NeedsMe bool
	// Voted is the caller's decision on it, if they voted.
	Voted string
}

// Queue lists the pending requests, oldest first (up to limit, at most
// 500), with what each still needs and whether it needs the caller.
func (s *Service) Queue(ctx context.Context, p *Principal, limit int) ([]*QueueItem, error) {
	if err := p.require(PermApprovalsRead); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	return read(ctx, s, "approval queue", nil, func(ctx context.Context, tx store.Tx) ([]*QueueItem, error) {
		reqs, err := tx.ListRequests(ctx, store.RequestFilter{Status: store.RequestPending, Oldest: true, Limit: limit})
		if err != nil {
			return nil, err
		}
		roster, err := s.roster(ctx, tx)
		if err != nil {
			return nil, err
		}
		now := s.now()
		out := make([]*QueueItem, 0, len(reqs))
		for _, r := range reqs {
			if !now.Before(r.ExpiresAt) {
				continue // expired: the sweep closes it
			}
			v, err := s.viewOf(ctx, tx, r, roster)
			if err != nil {
				return nil, err
			}
			it := &QueueItem{View: v}
			for _, a := range v.Approvals {
				if a.ApproverID == p.UserID {
					it.Voted = a.Decision
				}
			}
			me, ok := roster[p.UserID]
			it.NeedsMe = p.Kind == "user" && ok && it.Voted == "" && r.RequesterID != p.UserID &&
				slices.Contains(approvals.ApprovingRoles(), me.Role) && p.Can(PermApprove)
			if r.Action == "transfer" {
				if it.Transaction, err = tx.GetTransactionByRequest(ctx, r.ID); err != nil {
					return nil, err
				}
			}
			out = append(out, it)
		}
		return out, nil
	})
}

// TransactionOfRequest returns the transfer a transfer request is about.
func (s *Service) TransactionOfRequest(ctx context.Context, p *Principal, requestID string) (*store.Transaction, error) {
	if err := p.require(PermTransactionsRead); err != nil {
		return nil, err
	}
	return read(ctx, s, "get transaction of request", newErr(KindNotFound, "unknown_transaction", "request %q has no transaction", requestID),
		func(ctx context.Context, tx store.Tx) (*store.Transaction, error) {
			return tx.GetTransactionByRequest(ctx, requestID)
		})
}
