package policy_test

import (
	"fmt"
	"math/big"
	"time"

	"github.com/custos-dev/custos/approvals/policy"
)

func Example() {
	doc, err := policy.Parse([]byte(`{
	  "timezone": "Europe/Berlin",
	  "rate_max_age": "15m",
	  "actions": {"transfer": {"expiry": "24h", "tiers": [
	    {"up_to_eur": "1000", "approvals": 1},
	    {"up_to_eur": "10000", "approvals": 2},
	    {"approvals": 4, "roles": {"treasury_manager": 1}}]}},
	  "spending": {"*": {"daily_eur": "100000"}}
	}`))
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	ledger := policy.NewMemoryLedger(0)
	_ = ledger.Add(now.Add(-2*time.Hour), 9_500_000) // EUR 95,000 spent today

	eth := &policy.Rate{EURPerUnit: "2500", Decimals: 18, UpdatedAt: now.Add(-time.Minute)}
	in := policy.Input{
		Action: policy.ActionTransfer, WalletID: "w1", Chain: "ethereum", Asset: "ETH", To: "0xabc",
		Amount: new(big.Int).Mul(big.NewInt(4), big.NewInt(1e18)), // 4 ETH = EUR 10,000
		Rate:   eth, Ledger: ledger, Now: now,
	}
	d, err := policy.Evaluate(doc, in)
	if err != nil {
		panic(err) // fail closed: no decision, no transfer
	}
	fmt.Println(d.Outcome)
	for _, r := range d.Reasons {
		fmt.Println(r.Code+":", r.Message)
	}

	in.Amount = big.NewInt(1e18) // 1 ETH = EUR 2,500
	d, _ = policy.Evaluate(doc, in)
	fmt.Println(d.Outcome, d.Requirement.Approvals, "approvals, tier", d.Requirement.Tier)
	// Output:
	// deny
	// daily_limit: the daily limit of EUR 100,000.00 would be exceeded: spent EUR 95,000.00 in the last 24h, this transfer EUR 10,000.00
	// approval_required 2 approvals, tier 1
}
