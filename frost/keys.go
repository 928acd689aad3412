package frost

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/bytemare/ecc"
)

// MaxSigners bounds n; identifiers are 1..MaxSigners.
const MaxSigners = 255

// ErrKey is returned for malformed or inconsistent key material.
var ErrKey = errors.New("frost: invalid key material")

// PublicShare is participant ID's public verification share, s_i·G.
type PublicShare struct {
	ID  uint16 `json:"id"`
	Key []byte `json:"key"`
}

// GroupKey is the public side of a FROST key: what the coordinator and
// every guardian know. VerificationKey is the group public key (the
// wallet's public key); Shares holds one public share per participant,
// sorted by ID, IDs 1..MaxSigners.
type GroupKey struct {
	Suite           Suite         `json:"suite"`
	Threshold       uint16        `json:"threshold"`
	MaxSigners      uint16        `json:"max_signers"`
	VerificationKey []byte        `json:"verification_key"`
	Shares          []PublicShare `json:"shares"`
}

// Validate checks g's shape and decodes every element through
// DecodeElement.
func (g *GroupKey) Validate() error {
	if err := checkGroupShape(g); err != nil {
		return err
	}
	_, _, err := decodeKeys(g, g.Shares)
	return err
}

// checkGroupShape checks everything about g except its elements, which the
// callers decode as they use them.
func checkGroupShape(g *GroupKey) error {
	if g == nil {
		return fmt.Errorf("%w: no group key", ErrKey)
	}
	if !g.Suite.Valid() {
		return fmt.Errorf("%w: %w", ErrKey, ErrUnknownSuite)
	}
	if g.Threshold < 2 || g.Threshold > g.MaxSigners || g.MaxSigners > MaxSigners {
		return fmt.Errorf("%w: threshold %d of %d", ErrKey, g.Threshold, g.MaxSigners)
	}
	if len(g.Shares) != int(g.MaxSigners) {
		return fmt.Errorf("%w: %d public shares for %d signers", ErrKey, len(g.Shares), g.MaxSigners)
	}
	for i, s := range g.Shares {
		if s.ID != uint16(i+1) {
			return fmt.Errorf("%w: public share %d has identifier %d", ErrKey, i, s.ID)
		}
	}
	return nil
}

// decodeKeys decodes g's verification key and the given public shares
// through DecodeElement.
func decodeKeys(g *GroupKey, shares []PublicShare) (*ecc.Element, []*ecc.Element, error) {
	vk, err := g.Suite.DecodeElement(g.VerificationKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: verification key: %w", ErrKey, err)
	}
	pks := make([]*ecc.Element, len(shares))
	for i, s := range shares {
		if pks[i], err = g.Suite.DecodeElement(s.Key); err != nil {
			return nil, nil, fmt.Errorf("%w: public share %d: %w", ErrKey, s.ID, err)
		}
	}
	return vk, pks, nil
}

// Share returns the public share of participant id.
func (g *GroupKey) Share(id uint16) ([]byte, bool) {
	i := slices.IndexFunc(g.Shares, func(s PublicShare) bool { return s.ID == id })
	if i < 0 {
		return nil, false
	}
	return g.Shares[i].Key, true
}

// KeyShare is one participant's secret signing share with the group's
// public data. It is secret: seal it at rest and Zero it after use.
type KeyShare struct {
	ID     uint16   `json:"id"`
	Secret []byte   `json:"secret"` // canonical scalar encoding of s_i
	Group  GroupKey `json:"group"`
}

// Validate checks that k's secret is a non-zero canonical scalar whose
// public share is the one the group records for k.ID.
func (k *KeyShare) Validate() error {
	if err := k.Group.Validate(); err != nil {
		return err
	}
	sc, err := k.decodeSecret()
	if err != nil {
		return err
	}
	pub, _ := k.Group.Share(k.ID)
	got := k.Group.Suite.Group().Base().Multiply(sc).Encode()
	sc.Zero()
	if !slices.Equal(got, pub) {
		return fmt.Errorf("%w: secret share does not match public share %d", ErrKey, k.ID)
	}
	return nil
}

// decodeSecret checks k.ID against the group's size and decodes k.Secret,
// which must be a non-zero canonical scalar. The caller zeroes the result.
func (k *KeyShare) decodeSecret() (*ecc.Scalar, error) {
	if k.ID < 1 || k.ID > k.Group.MaxSigners {
		return nil, fmt.Errorf("%w: identifier %d", ErrKey, k.ID)
	}
	sc, err := k.Group.Suite.DecodeScalar(k.Secret)
	if err != nil || sc.IsZero() {
		return nil, fmt.Errorf("%w: secret share", ErrKey)
	}
	return sc, nil
}

// Marshal encodes k (secret included) for sealing at rest.
func (k *KeyShare) Marshal() ([]byte, error) { return json.Marshal(k) }

// UnmarshalKeyShare decodes and validates a key share produced by Marshal.
func UnmarshalKeyShare(b []byte) (*KeyShare, error) {
	var k KeyShare
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	if err := k.Validate(); err != nil {
		k.Zero()
		return nil, err
	}
	return &k, nil
}

// Zero overwrites the secret share.
func (k *KeyShare) Zero() { clear(k.Secret) }

// String describes k without its secret, so that printing or logging a key
// share never leaks it.
func (k KeyShare) String() string {
	return fmt.Sprintf("frost.KeyShare{ID: %d, Suite: %v, Threshold: %d of %d, Secret: REDACTED}",
		k.ID, k.Group.Suite, k.Group.Threshold, k.Group.MaxSigners)
}

// GoString is String, for %#v.
func (k KeyShare) GoString() string { return k.String() }

// LogValue is String, for log/slog.
func (k KeyShare) LogValue() slog.Value { return slog.StringValue(k.String()) }
