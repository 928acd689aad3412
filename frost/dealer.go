package frost

import (
	"fmt"

	"github.com/bytemare/ecc"
)

// TrustedDealerKeys splits a fresh random key threshold-of-n with Shamir
// sharing (RFC 9591 Appendix C) and returns the n key shares, identifiers
// 1..n. The dealer sees the whole key: this is for tests and local tooling
// only; production keys come from the dkg package. Each returned KeyShare
// has its own copy of the group data.
func TrustedDealerKeys(suite Suite, threshold, n uint16) ([]*KeyShare, error) {
	if !suite.Valid() {
		return nil, ErrUnknownSuite
	}
	if threshold < 2 || threshold > n || n > MaxSigners {
		return nil, fmt.Errorf("%w: threshold %d of %d", ErrKey, threshold, n)
	}
	coeffs := make([]*ecc.Scalar, threshold)
	for i := range coeffs {
		coeffs[i] = suite.Group().NewScalar().Random()
	}
	defer func() {
		for _, c := range coeffs {
			c.Zero()
		}
	}()
	return dealerKeys(suite, coeffs, n)
}

// dealerKeys evaluates f(x) = coeffs[0] + coeffs[1]·x + ... at x = 1..n;
// coeffs[0] is the group secret and len(coeffs) the threshold.
func dealerKeys(suite Suite, coeffs []*ecc.Scalar, n uint16) ([]*KeyShare, error) {
	g := suite.Group()
	group := GroupKey{
		Suite:           suite,
		Threshold:       uint16(len(coeffs)),
		MaxSigners:      n,
		VerificationKey: g.Base().Multiply(coeffs[0]).Encode(),
		Shares:          make([]PublicShare, n),
	}
	secrets := make([][]byte, n)
	for i := range n {
		x := g.NewScalar().SetUInt64(uint64(i + 1))
		y := coeffs[len(coeffs)-1].Copy()
		for j := len(coeffs) - 2; j >= 0; j-- {
			y.Multiply(x).Add(coeffs[j])
		}
		secrets[i] = y.Encode()
		group.Shares[i] = PublicShare{ID: i + 1, Key: g.Base().Multiply(y).Encode()}
		y.Zero()
	}
	if err := group.Validate(); err != nil {
		for _, s := range secrets {
			clear(s)
		}
		return nil, err
	}
	out := make([]*KeyShare, n)
	for i := range out {
		gk := group
		gk.VerificationKey = append([]byte(nil), group.VerificationKey...)
		gk.Shares = make([]PublicShare, n)
		for j, s := range group.Shares {
			gk.Shares[j] = PublicShare{ID: s.ID, Key: append([]byte(nil), s.Key...)}
		}
		out[i] = &KeyShare{ID: uint16(i + 1), Secret: secrets[i], Group: gk}
	}
	return out, nil
}
