package webui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/custos-dev/custos/approvals/policy"
	"github.com/custos-dev/custos/coordinator"
)

// factsView is what the request page says about a transfer beyond its
// intent, in sentences.
type factsView struct {
	Rate      string    // "EUR 2,500 per ETH"
	RateAt    time.Time // when that rate was set (zero if unknown)
	Allowlist string    // the destination's standing with the allowlist
	Listed    bool      // on the allowlist
	// Restricted: the policy restricts the wallet's destinations to an
	// allowlist (so not being listed is a refusal).
	Restricted bool
	Tier       string // "tier 3 of 3, above EUR 10,000.00: 4 approvals, 1 by a treasury_manager"
}

func factsOf(f *coordinator.TransferFacts) *factsView {
	v := &factsView{Restricted: f.Restricted}
	if st := f.Decision; st != nil && st.Rate != nil {
		v.Rate = fmt.Sprintf("EUR %s per %s", st.Rate.EURPerUnit, strings.ToUpper(st.Rate.Asset))
		v.RateAt = st.Rate.UpdatedAt
	}
	switch e := f.Allowlisted; {
	case e != nil && e.Label != "":
		v.Allowlist, v.Listed = fmt.Sprintf("on the allowlist as %q", e.Label), true
	case e != nil:
		v.Allowlist, v.Listed = "on the allowlist (no label)", true
	case f.Restricted:
		v.Allowlist = "NOT on the wallet's allowlist"
	default:
		v.Allowlist = "this wallet's destinations are not restricted to an allowlist"
	}
	if e := f.Allowlisted; e != nil && e.ExpiresAt != nil {
		v.Allowlist += ", until " + e.ExpiresAt.Format("2006-01-02 15:04 UTC")
	}
	if i := f.TierIndex(); i >= 0 {
		v.Tier = tierSentence(f.Tiers, i)
	}
	return v
}

// tierSentence describes tier i of tiers: its EUR range and what it needs.
func tierSentence(tiers []policy.Tier, i int) string {
	t := tiers[i]
	var bound string
	switch {
	case t.UpToEURCents != nil && i > 0:
		bound = fmt.Sprintf("above EUR %s up to EUR %s", policy.FormatEURCents(*tiers[i-1].UpToEURCents), policy.FormatEURCents(*t.UpToEURCents))
	case t.UpToEURCents != nil:
		bound = "up to EUR " + policy.FormatEURCents(*t.UpToEURCents)
	case i > 0:
		bound = "above EUR " + policy.FormatEURCents(*tiers[i-1].UpToEURCents)
	default:
		bound = "any amount"
	}
	need := plural(t.Approvals, "approval")
	if t.Approvals == 0 {
		need = "no approval"
	}
	roles := make([]string, 0, len(t.Roles))
	for r := range t.Roles {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		need += fmt.Sprintf(", %d by a %s", t.Roles[r], r)
	}
	return fmt.Sprintf("tier %d of %d, %s: %s", i+1, len(tiers), bound, need)
}
