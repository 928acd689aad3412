package policy

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// MaxEURCents is the largest EUR amount a document may hold:
// EUR 1,000,000,000,000,000.00 (10^17 cents). Sums of two such amounts fit
// in int64.
const MaxEURCents int64 = 100_000_000_000_000_000

// Limits on a Rate.
const (
	// MaxRateDecimals bounds Rate.Decimals (ETH uses 18).
	MaxRateDecimals = 36
	// maxPriceLen bounds the length of Rate.EURPerUnit.
	maxPriceLen = 80
	// maxAmountBits: any amount this large overflows int64 cents whatever
	// the (bounded) price and decimals, so it is refused before any
	// multiplication.
	maxAmountBits = 1024
)

// ParseEURCents parses a non-negative EUR decimal string with at most two
// decimals ("1000", "1000.5", "1000.50") into cents. It refuses signs,
// exponents, separators, spaces, a leading or trailing dot and values above
// MaxEURCents.
func ParseEURCents(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("policy: EUR amount is empty")
	}
	if s[0] == '-' {
		return 0, fmt.Errorf("policy: EUR amount %q is negative", s)
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasDot && (frac == "" || !allDigits(frac))) {
		return 0, fmt.Errorf("policy: EUR amount %q is not a decimal number such as \"1000.00\"", s)
	}
	if len(frac) > 2 {
		return 0, fmt.Errorf("policy: EUR amount %q has more than 2 decimals", s)
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 16 { // > 10^16 EUR, above MaxEURCents
		return 0, fmt.Errorf("policy: EUR amount %q is above the maximum %s", s, formatPlainCents(MaxEURCents))
	}
	var w int64
	if whole != "" {
		var err error
		if w, err = strconv.ParseInt(whole, 10, 64); err != nil {
			return 0, fmt.Errorf("policy: EUR amount %q: %v", s, err)
		}
	}
	var f int64
	switch len(frac) {
	case 1:
		f = int64(frac[0]-'0') * 10
	case 2:
		f = int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	}
	c := w*100 + f // w < 10^16, no overflow
	if c > MaxEURCents {
		return 0, fmt.Errorf("policy: EUR amount %q is above the maximum %s", s, formatPlainCents(MaxEURCents))
	}
	return c, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatEURCents formats cents as a EUR figure with thousands separators
// and two decimals, without the currency: 10000000 => "100,000.00",
// -5 => "-0.05".
func FormatEURCents(cents int64) string {
	return formatCents(cents, true)
}

// formatPlainCents is the document's canonical form: "100000.00".
func formatPlainCents(cents int64) string {
	return formatCents(cents, false)
}

func formatCents(cents int64, group bool) string {
	u := uint64(cents)
	neg := cents < 0
	if neg {
		u = -u // two's complement; right for math.MinInt64 too
	}
	whole := strconv.FormatUint(u/100, 10)
	frac := u % 100
	var b strings.Builder
	b.Grow(len(whole) + len(whole)/3 + 4)
	if neg {
		b.WriteByte('-')
	}
	for i := 0; i < len(whole); i++ {
		if group && i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(whole[i])
	}
	b.WriteByte('.')
	b.WriteByte(byte('0' + frac/10))
	b.WriteByte(byte('0' + frac%10))
	return b.String()
}

// Rate is the EUR price of one whole unit of an asset.
type Rate struct {
	// EURPerUnit is a positive decimal string, e.g. "2534.17" EUR per ETH.
	// Only digits and at most one dot; no sign, exponent or spaces.
	EURPerUnit string
	// Decimals: one whole unit is 10^Decimals base units (ETH: 18).
	// 0..MaxRateDecimals.
	Decimals int
	// UpdatedAt is when the price was observed; Evaluate refuses the rate
	// when it is more than the document's rate_max_age away from Now.
	UpdatedAt time.Time
}

// ToEURCents converts an amount in base units to EUR cents:
// amount * EURPerUnit / 10^Decimals, rounded UP to the next cent (so a
// value is never understated). It fails with ErrInvalidAmount for a nil or
// negative amount, ErrInvalidRate for a malformed, zero or negative price or
// decimals out of range, and ErrOverflow when the value does not fit in
// int64 cents. A zero amount is worth 0.
func ToEURCents(amount *big.Int, r Rate) (int64, error) {
	if amount == nil {
		return 0, fmt.Errorf("%w: nil", ErrInvalidAmount)
	}
	if amount.Sign() < 0 {
		return 0, fmt.Errorf("%w: negative", ErrInvalidAmount)
	}
	if r.Decimals < 0 || r.Decimals > MaxRateDecimals {
		return 0, fmt.Errorf("%w: decimals %d out of range 0..%d", ErrInvalidRate, r.Decimals, MaxRateDecimals)
	}
	num, scale, err := parsePrice(r.EURPerUnit)
	if err != nil {
		return 0, err
	}
	if amount.Sign() == 0 {
		return 0, nil
	}
	if amount.BitLen() > maxAmountBits {
		return 0, ErrOverflow
	}
	// cents = ceil(amount * num * 100 / 10^(scale+decimals))
	n := new(big.Int).Mul(amount, num)
	n.Mul(n, big.NewInt(100))
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale+r.Decimals)), nil)
	q, rem := n.QuoRem(n, den, new(big.Int))
	if rem.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return 0, ErrOverflow
	}
	return q.Int64(), nil
}

// parsePrice parses a positive decimal string into num / 10^scale.
func parsePrice(s string) (*big.Int, int, error) {
	if s == "" || len(s) > maxPriceLen {
		return nil, 0, fmt.Errorf("%w: price %q must be a decimal string of 1 to %d characters", ErrInvalidRate, s, maxPriceLen)
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasDot && (frac == "" || !allDigits(frac))) {
		return nil, 0, fmt.Errorf("%w: price %q is not a decimal number such as \"2534.17\"", ErrInvalidRate, s)
	}
	n, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok {
		return nil, 0, fmt.Errorf("%w: price %q", ErrInvalidRate, s)
	}
	if n.Sign() <= 0 {
		return nil, 0, fmt.Errorf("%w: price %q is not positive", ErrInvalidRate, s)
	}
	return n, len(frac), nil
}
