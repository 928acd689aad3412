package coordinator

import (
	"context"
	"slices"
	"strings"

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
		reqs, roster, err := s.pending(ctx, tx, limit)
		if err != nil {
			return nil, err
		}
		out := make([]*QueueItem, 0, len(reqs))
		for _, r := range reqs {
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
			it.NeedsMe = awaits(p, v)
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

// QueueCounts is how many of the requests Queue lists await p's decision,
// and how many it lists: what the UI polls, so the votes are not tallied
// and no transfer is read.
func (s *Service) QueueCounts(ctx context.Context, p *Principal) (needsMe, pending int, err error) {
	if err := p.require(PermApprovalsRead); err != nil {
		return 0, 0, err
	}
	err = s.store.ReadTx(ctx, func(ctx context.Context, tx store.Tx) error {
		reqs, roster, err := s.pending(ctx, tx, 500)
		if err != nil {
			return err
		}
		needsMe, pending = 0, len(reqs)
		for _, r := range reqs {
			v, err := s.currentVotes(ctx, tx, r, roster)
			if err != nil {
				return err
			}
			if awaits(p, v) {
				needsMe++
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, s.storeErr("approval queue counts", err)
	}
	return needsMe, pending, nil
}

// pending lists the pending requests not yet past their expiry (the sweep
// closes those), oldest first, up to limit, with the roster.
func (s *Service) pending(ctx context.Context, tx store.Tx, limit int) ([]*store.Request, map[string]approvals.Approver, error) {
	reqs, err := tx.ListRequests(ctx, store.RequestFilter{Status: store.RequestPending, Oldest: true, Limit: limit})
	if err != nil {
		return nil, nil, err
	}
	roster, err := s.roster(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	return slices.DeleteFunc(reqs, func(r *store.Request) bool { return !now.Before(r.ExpiresAt) }), roster, nil
}

// awaits reports whether v awaits p's decision.
func awaits(p *Principal, v *RequestView) bool {
	return p.Kind == "user" && p.Can(PermApprove) && v.Awaits(p.UserID)
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

// MayVote says why userID may not vote on the request as it stands (nil
// if they may): the vote would be refused, so the UI does not offer it.
func (v *RequestView) MayVote(userID string) error { return v.refusal(userID, true) }

// Awaits reports whether the request waits on userID's decision: they may
// vote, or could once they hold an approval key or passkey (the request
// page says how to get one).
func (v *RequestView) Awaits(userID string) bool { return v.refusal(userID, false) == nil }

// refusal is why userID may not vote; withKey: also when they hold no key.
func (v *RequestView) refusal(userID string, withKey bool) error {
	r := v.Request
	me, ok := v.Roster[userID]
	switch {
	case r.Status != store.RequestPending:
		return newErr(KindConflict, "request_not_pending", "this request is %s", r.Status)
	case r.RequesterID == userID:
		return newErr(KindForbidden, "self_approval", "you made this request; someone else must approve it")
	case requestSubject(r) == userID:
		return newErr(KindForbidden, "own_role_change", "this request changes your own approval powers; others decide it")
	case !ok || !slices.Contains(approvals.ApprovingRoles(), me.Role):
		return newErr(KindForbidden, "not_an_approver", "your role does not approve requests")
	case withKey && me.Key == nil && len(me.Passkeys) == 0:
		return newErr(KindUnprocessable, "no_approval_key", "you have no approval key or approved passkey yet")
	}
	for _, a := range v.Approvals {
		if a.ApproverID == userID {
			return newErr(KindConflict, "duplicate_vote", "you voted %s", a.Decision)
		}
	}
	return nil
}

// Eligible lists who may still vote on the request, by name.
func (v *RequestView) Eligible() []approvals.Approver {
	var out []approvals.Approver
	for id, a := range v.Roster {
		if v.MayVote(id) == nil {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b approvals.Approver) int { return strings.Compare(a.Name, b.Name) })
	return out
}
