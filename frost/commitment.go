package frost

import (
	"fmt"

	"github.com/bytemare/ecc"
	bm "github.com/bytemare/frost"
)

// Commitment is a signer's public nonce commitment (RFC 9591 §5.1), as it
// travels between guardians and the coordinator.
type Commitment struct {
	// Signer is the participant identifier, 1..n.
	Signer uint16 `json:"signer"`
	// ID is the signer's local handle for the nonce pair.
	ID uint64 `json:"id"`
	// Hiding is D = d·G, the hiding nonce commitment.
	Hiding []byte `json:"hiding"`
	// Binding is E = e·G, the binding nonce commitment.
	Binding []byte `json:"binding"`
}

// clone returns a deep copy of c.
func (c Commitment) clone() Commitment {
	c.Hiding = append([]byte(nil), c.Hiding...)
	c.Binding = append([]byte(nil), c.Binding...)
	return c
}

// decodeList validates list against the group parameters and returns it in
// bytemare's form. The checks, in order: length in [threshold, n]; every
// identifier in 1..n and strictly greater than the previous one (so no
// duplicates); every element decoded by DecodeElement and not the
// generator (bytemare refuses the generator as a commitment). known, if
// not nil, may return the already decoded form of an entry that is
// byte-for-byte one the caller issued itself, which is then not decoded
// again.
func decodeList(suite Suite, threshold, n uint16, list []Commitment,
	known func(Commitment) *bm.Commitment,
) (bm.CommitmentList, error) {
	if len(list) < int(threshold) || len(list) > int(n) {
		return nil, fmt.Errorf("%w: %d commitments, want %d to %d", ErrCommitmentList, len(list), threshold, n)
	}
	out := make(bm.CommitmentList, len(list))
	for i, c := range list {
		if c.Signer == 0 || c.Signer > n {
			return nil, fmt.Errorf("%w: signer identifier %d outside 1..%d", ErrCommitmentList, c.Signer, n)
		}
		if i > 0 {
			switch prev := list[i-1].Signer; {
			case c.Signer == prev:
				return nil, fmt.Errorf("%w: signer %d appears twice", ErrCommitmentList, c.Signer)
			case c.Signer < prev:
				return nil, fmt.Errorf("%w: signer %d listed after signer %d (not ascending)",
					ErrCommitmentList, c.Signer, prev)
			}
		}
		if known != nil {
			if k := known(c); k != nil {
				out[i] = k
				continue
			}
		}
		hiding, err := decodeCommitmentElement(suite, c.Hiding)
		if err != nil {
			return nil, fmt.Errorf("%w: signer %d hiding commitment: %w", ErrCommitmentList, c.Signer, err)
		}
		binding, err := decodeCommitmentElement(suite, c.Binding)
		if err != nil {
			return nil, fmt.Errorf("%w: signer %d binding commitment: %w", ErrCommitmentList, c.Signer, err)
		}
		out[i] = &bm.Commitment{
			HidingNonceCommitment:  hiding,
			BindingNonceCommitment: binding,
			CommitmentID:           c.ID,
			SignerID:               c.Signer,
			Group:                  suite.Group(),
		}
	}
	return out, nil
}

func decodeCommitmentElement(suite Suite, b []byte) (*ecc.Element, error) {
	e, err := suite.DecodeElement(b)
	if err != nil {
		return nil, err
	}
	if e.Equal(suite.Group().Base()) {
		return nil, fmt.Errorf("%w: generator", ErrElement)
	}
	return e, nil
}

// ValidateCommitmentList checks list against g as a signer will (RFC 9591
// §5.2 and §4.3): length in [threshold, n], identifiers strictly
// ascending in 1..n, every element a canonical, non-identity, prime-order
// group element. The coordinator calls it before sending a list to the
// signers.
func ValidateCommitmentList(g *GroupKey, list []Commitment) error {
	if err := checkGroupShape(g); err != nil {
		return err
	}
	_, err := decodeList(g.Suite, g.Threshold, g.MaxSigners, list, nil)
	return err
}

// locked runs f holding mu, the lock every call into bytemare/frost needs,
// and turns a panic inside the library into ErrInternal.
func locked(f func() error) (err error) {
	mu.Lock()
	defer mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: FROST library panicked", ErrInternal)
		}
	}()
	return f()
}
