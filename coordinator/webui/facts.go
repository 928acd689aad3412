package webui

import (
	"fmt"
	"strings"
	"time"

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
	Tier       string // "Tier 3 of 3: Above EUR 10,000.00 — 4 approvals, at least 1 by a treasury_manager"
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
	if i := f.Tier; i >= 0 && i < len(f.Tiers) {
		t := tierSummaries(f.Tiers)[i]
		v.Tier = fmt.Sprintf("Tier %d of %d: %s — %s", i+1, len(f.Tiers), t.Range, t.Need)
	}
	return v
}
