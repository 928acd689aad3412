package policy

import (
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

// benchDoc has every rule, an allowlist of 100 entries and the default tiers.
func benchDoc(b *testing.B, rules string) *Document {
	var list []string
	for i := range 100 {
		list = append(list, fmt.Sprintf(`{"chain":"ethereum","address":"0x%040x","label":"supplier %d","expires_at":"2030-01-01T00:00:00Z"}`, i, i))
	}
	rules = strings.Replace(rules, "ALLOWLIST", "["+strings.Join(list, ",")+"]", 1)
	return engineDoc(b, "Europe/Berlin", rules)
}

func BenchmarkEvaluate(b *testing.B) {
	now := wed
	// 10,000 prior transfers, one every 8 s: all inside the 24h window.
	l := NewMemoryLedger(10_000)
	for i := range 10_000 {
		if err := l.Add(now.Add(-80_000*time.Second+time.Duration(i)*8*time.Second), 1234); err != nil {
			b.Fatal(err)
		}
	}
	in := transfer(now, 250_000, l)
	in.To = fmt.Sprintf("0x%040x", 42)
	in.Rate = &Rate{EURPerUnit: "2534.17", Decimals: 18, UpdatedAt: now}
	in.Amount = new(big.Int).Mul(big.NewInt(98_654_321), big.NewInt(1_000_000_000)) // ~0.0987 ETH, ~EUR 250
	cases := []struct {
		name, rules, outcome string
	}{
		{"approval_required", `{"per_transaction_eur":"100000","daily_eur":"250000","weekly_eur":"1000000","monthly_eur":"3000000",
			"max_per_hour":100000,"max_per_day":100000,"cooldown":"5s","allowed_hours":{"from":8,"to":20},
			"allowed_weekdays":["mon","tue","wed","thu","fri"],"allowlist":ALLOWLIST}`, OutcomeApprovalRequired},
		{"deny_all_rules", `{"per_transaction_eur":"1","daily_eur":"1","weekly_eur":"1","monthly_eur":"1",
			"max_per_hour":1,"max_per_day":1,"cooldown":"1h","allowed_hours":{"from":1,"to":2},
			"allowed_weekdays":["sun"],"allowlist":[]}`, OutcomeDeny},
	}
	for _, c := range cases {
		doc := benchDoc(b, c.rules)
		b.Run(c.name, func(b *testing.B) {
			d, err := Evaluate(doc, in)
			if err != nil || d.Outcome != c.outcome || d.Counters.CountLastDay != 10_000 {
				b.Fatalf("%v %+v", err, d)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Evaluate(doc, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for _, c := range []struct{ name, doc string }{{"default", defaultPolicy}, {"spec_example", specExample}} {
		data := []byte(c.doc)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkToEURCents(b *testing.B) {
	a := new(big.Int).Mul(big.NewInt(98_654_321), big.NewInt(1_000_000_000))
	r := Rate{EURPerUnit: "2534.17", Decimals: 18}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ToEURCents(a, r); err != nil {
			b.Fatal(err)
		}
	}
}
