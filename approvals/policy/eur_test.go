package policy

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

func TestParseEURCents(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"ok/integer", "1000", 100000, true},
		{"ok/one decimal", "1000.5", 100050, true},
		{"ok/two decimals", "1000.05", 100005, true},
		{"ok/zero", "0", 0, true},
		{"ok/leading zeros", "007.10", 710, true},
		{"ok/maximum", "1000000000000000", MaxEURCents, true},
		{"fail/empty", "", 0, false},
		{"fail/negative", "-1", 0, false},
		{"fail/plus", "+1", 0, false},
		{"fail/three decimals", "1.001", 0, false},
		{"fail/exponent", "1e3", 0, false},
		{"fail/comma", "1,000", 0, false},
		{"fail/decimal comma", "1,5", 0, false},
		{"fail/leading dot", ".5", 0, false},
		{"fail/trailing dot", "5.", 0, false},
		{"fail/two dots", "1.2.3", 0, false},
		{"fail/space", "1 000", 0, false},
		{"fail/above maximum", "1000000000000000.01", 0, false},
		{"fail/far above maximum", "99999999999999999999999", 0, false},
		{"fail/hex", "0x10", 0, false},
		{"fail/unicode digit", "١٠", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEURCents(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseEURCents(%q) = %d, %v", tt.in, got, err)
			}
		})
	}
}

func TestFormatEURCents(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0.00"},
		{5, "0.05"},
		{100, "1.00"},
		{99999, "999.99"},
		{100000, "1,000.00"},
		{10000000, "100,000.00"},
		{123456789, "1,234,567.89"},
		{-5, "-0.05"},
		{-123456789, "-1,234,567.89"},
		{math.MaxInt64, "92,233,720,368,547,758.07"},
		{math.MinInt64, "-92,233,720,368,547,758.08"},
	}
	for _, tt := range tests {
		t.Run("ok/"+tt.want, func(t *testing.T) {
			if got := FormatEURCents(tt.in); got != tt.want {
				t.Fatalf("FormatEURCents(%d) = %q", tt.in, got)
			}
		})
	}
}

func bigInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}

func TestToEURCents(t *testing.T) {
	tests := []struct {
		name    string
		amount  *big.Int
		price   string
		dec     int
		want    int64
		wantErr error
	}{
		{name: "ok/one ETH", amount: bigInt("1000000000000000000"), price: "2534.17", dec: 18, want: 253417},
		{name: "ok/half ETH rounds up", amount: bigInt("500000000000000001"), price: "2534.17", dec: 18, want: 126709}, // 1267.085000...00253417
		{name: "ok/one wei is a cent", amount: big.NewInt(1), price: "2534.17", dec: 18, want: 1},
		{name: "ok/zero", amount: big.NewInt(0), price: "2534.17", dec: 18, want: 0},
		{name: "ok/exact", amount: big.NewInt(5), price: "0.02", dec: 0, want: 10},
		{name: "ok/tenth of a cent rounds up", amount: big.NewInt(1), price: "0.001", dec: 0, want: 1},
		{name: "ok/USDC", amount: big.NewInt(1_500_000), price: "0.92", dec: 6, want: 138},
		{name: "ok/BTC", amount: big.NewInt(100_000_000), price: "61000", dec: 8, want: 6_100_000},
		{name: "ok/tiny price", amount: bigInt("1000000000000000000000000"), price: "0.000000000001", dec: 18, want: 1},
		{name: "ok/max int64", amount: big.NewInt(math.MaxInt64), price: "0.01", dec: 0, want: math.MaxInt64},
		{name: "fail/overflow", amount: big.NewInt(math.MaxInt64), price: "0.01000000000000000001", dec: 0, wantErr: ErrOverflow},
		{name: "fail/overflow huge amount", amount: new(big.Int).Lsh(big.NewInt(1), 5000), price: "1", dec: 36, wantErr: ErrOverflow},
		{name: "fail/negative amount", amount: big.NewInt(-1), price: "1", dec: 0, wantErr: ErrInvalidAmount},
		{name: "fail/nil amount", amount: nil, price: "1", dec: 0, wantErr: ErrInvalidAmount},
		{name: "fail/zero price", amount: big.NewInt(1), price: "0.00", dec: 0, wantErr: ErrInvalidRate},
		{name: "fail/negative price", amount: big.NewInt(1), price: "-1", dec: 0, wantErr: ErrInvalidRate},
		{name: "fail/empty price", amount: big.NewInt(1), price: "", dec: 0, wantErr: ErrInvalidRate},
		{name: "fail/exponent price", amount: big.NewInt(1), price: "1e3", dec: 0, wantErr: ErrInvalidRate},
		{name: "fail/fraction price", amount: big.NewInt(1), price: "1/3", dec: 0, wantErr: ErrInvalidRate},
		{name: "fail/trailing dot price", amount: big.NewInt(1), price: "1.", dec: 0, wantErr: ErrInvalidRate},
		{name: "fail/space price", amount: big.NewInt(1), price: " 1", dec: 0, wantErr: ErrInvalidRate},
		{name: "fail/long price", amount: big.NewInt(1), price: "1." + string(make([]byte, 100)), dec: 0, wantErr: ErrInvalidRate},
		{name: "fail/negative decimals", amount: big.NewInt(1), price: "1", dec: -1, wantErr: ErrInvalidRate},
		{name: "fail/too many decimals", amount: big.NewInt(1), price: "1", dec: MaxRateDecimals + 1, wantErr: ErrInvalidRate},
		{name: "fail/zero amount bad price", amount: big.NewInt(0), price: "x", dec: 0, wantErr: ErrInvalidRate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToEURCents(tt.amount, Rate{EURPerUnit: tt.price, Decimals: tt.dec})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ToEURCents = %d, %v; want %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ToEURCents = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	t.Run("ok/amount not modified", func(t *testing.T) {
		a := big.NewInt(12345)
		if _, err := ToEURCents(a, Rate{EURPerUnit: "3.3", Decimals: 1}); err != nil || a.Int64() != 12345 {
			t.Fatalf("amount changed to %s (%v)", a, err)
		}
	})
}
