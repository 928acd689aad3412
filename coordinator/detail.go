package coordinator

import (
	"context"
	"errors"

	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/approvals/proof"
	"github.com/custos-dev/custos/store"
)

// TransferFacts is what an approver needs to judge a transfer request
// besides the intent itself: the signed decision that valued it (the rate
// used and when that rate was set), where the destination stands with the
// allowlist, and the approval tier it falls in.
type TransferFacts struct {
	Transaction *store.Transaction
	// Decision is the statement of the transaction's signed decision
	// proof: EUR value, rate, requirement. Nil if it does not parse.
	Decision *Statement
	// Allowlisted is the destination's allowlist entry under the policy in
	// force (nil if not listed); Restricted says whether that policy
	// restricts the wallet's destinations to an allowlist at all.
	Allowlisted *policy.AllowlistEntry
	Restricted  bool
	// Tiers are the transfer tiers of the policy in force, and Tier the
	// index of the one the transfer's EUR value falls in, as the policy
	// engine picks it (-1 without a policy).
	Tiers []policy.Tier
	Tier  int
}

// TransferFactsOf returns the facts of the transfer of request requestID.
func (s *Service) TransferFactsOf(ctx context.Context, p *Principal, requestID string) (*TransferFacts, error) {
	if err := p.require(PermTransactionsRead); err != nil {
		return nil, err
	}
	return read(ctx, s, "transfer facts", newErr(KindNotFound, "unknown_transaction", "request %q has no transaction", requestID),
		func(ctx context.Context, tx store.Tx) (*TransferFacts, error) {
			t, err := tx.GetTransactionByRequest(ctx, requestID)
			if err != nil {
				return nil, err
			}
			f := &TransferFacts{Transaction: t, Tier: -1}
			if pr, err := proof.Parse(t.Decision); err == nil {
				if st, err := ParseStatement(pr.Statement); err == nil {
					f.Decision = st
				}
			}
			_, doc, err := s.activePolicy(ctx, tx)
			var de *Error
			if errors.As(err, &de) && de.Kind == KindUnavailable {
				return f, nil // no usable policy: nothing to say about it
			}
			if err != nil {
				return nil, err
			}
			f.Allowlisted, f.Restricted = doc.Allowlisted(t.WalletID, t.Chain, t.To)
			f.Tiers = doc.Tiers("transfer")
			if req, err := policy.RequirementFor(doc, "transfer", t.EURCents); err == nil {
				f.Tier = req.Tier
			}
			return f, nil
		})
}
