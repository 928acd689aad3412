package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"testing"
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		defaultPolicy,
		specExample,
		specCanonical,
		minimal(""),
		`{"rate_max_age":"1h","actions":{}}`,
		withSpending(`{"allowlist":[]}`),
		withSpending(`{"allowed_hours":{"from":22,"to":6},"allowed_weekdays":["sun","sat"],"cooldown":"1m30s"}`),
		withSpending(`{"allowlist":[{"chain":"Solana","address":"AbC","label":"x\u2028<y>","expires_at":"2030-06-01T10:00:00.123456789-07:00"}]}`),
		withTiers(`[{"up_to_eur":"0","approvals":0},{"up_to_eur":"0.01","approvals":1,"roles":{"approver":1}},{"approvals":50,"roles":{"approver":25,"treasury_manager":25}}]`),
		withTiers(`[{"up_to_eur":"10000","approvals":1},{"up_to_eur":"1000","approvals":2},{"approvals":4}]`),
		`{"rate_max_age":"1h","rate_max_age":"2h","actions":{}}`,
		`{"rate_max_age":null}`,
		`[]`,
		``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d1, err := Parse(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidDocument) {
				t.Fatalf("Parse error %v is not a *FieldError", err)
			}
			return
		}
		c1 := d1.Canonical()
		d2, err := Parse(c1)
		if err != nil {
			t.Fatalf("Parse(Canonical()) failed: %v\n%s", err, c1)
		}
		if c2 := d2.Canonical(); !bytes.Equal(c1, c2) || d1.Hash() != d2.Hash() {
			t.Fatalf("canonical form not stable:\n%s\n%s", c1, c2)
		}
		// Both documents decide alike.
		for _, action := range append(d1.Actions(), ActionTransfer) {
			in := Input{Action: action, WalletID: "w1", Chain: "ethereum", To: "0xabc", Amount: big.NewInt(123456),
				Rate: &Rate{EURPerUnit: "1", Decimals: 2, UpdatedAt: wed}, Ledger: NewMemoryLedger(0), Now: wed}
			a, errA := Evaluate(d1, in)
			b, errB := Evaluate(d2, in)
			if (errA == nil) != (errB == nil) {
				t.Fatalf("Evaluate errors differ: %v / %v", errA, errB)
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if !bytes.Equal(ja, jb) {
				t.Fatalf("decisions differ:\n%s\n%s", ja, jb)
			}
		}
	})
}

func FuzzToEURCents(f *testing.F) {
	f.Add("1000000000000000000", "2534.17", 18)
	f.Add("1", "0.001", 0)
	f.Add("0", "1", 0)
	f.Add("9223372036854775807", "0.01", 0)
	f.Add("9223372036854775807", "0.01000000000000000001", 0)
	f.Add("1500000", "0.92", 6)
	f.Add("-1", "1", 0)
	f.Add("1", "1e3", 0)
	f.Add("1", "0", 0)
	f.Add("123", "1.", 37)
	f.Fuzz(func(t *testing.T, amount, price string, decimals int) {
		a, ok := new(big.Int).SetString(amount, 10)
		if !ok || a.BitLen() > 4096 {
			return
		}
		got, err := ToEURCents(a, Rate{EURPerUnit: price, Decimals: decimals})
		if err != nil {
			if !errors.Is(err, ErrInvalidAmount) && !errors.Is(err, ErrInvalidRate) && !errors.Is(err, ErrOverflow) {
				t.Fatalf("unexpected error %v", err)
			}
			if a.Sign() > 0 && errors.Is(err, ErrOverflow) {
				// Overflow must be real: the exact value exceeds int64 cents.
				p, ok := new(big.Rat).SetString(price)
				if ok {
					v := exactCents(a, p, decimals)
					if v.IsInt64() {
						t.Fatalf("overflow reported for %s", v)
					}
				}
			}
			return
		}
		// Reference: ceil(amount * price * 100 / 10^decimals) with big.Rat.
		p, ok := new(big.Rat).SetString(price)
		if !ok || p.Sign() <= 0 || a.Sign() < 0 {
			t.Fatalf("accepted amount %s price %q", amount, price)
		}
		want := exactCents(a, p, decimals)
		if !want.IsInt64() || want.Int64() != got {
			t.Fatalf("ToEURCents(%s, %q, %d) = %d, want %s", amount, price, decimals, got, want)
		}
	})
}

// exactCents is ceil(a * p * 100 / 10^decimals).
func exactCents(a *big.Int, p *big.Rat, decimals int) *big.Int {
	v := new(big.Rat).Mul(new(big.Rat).SetInt(a), p)
	v.Mul(v, big.NewRat(100, 1))
	v.Quo(v, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)))
	q, r := new(big.Int).QuoRem(v.Num(), v.Denom(), new(big.Int))
	if r.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}
