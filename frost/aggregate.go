package frost

import (
	"crypto/ed25519"
	"fmt"
	"slices"

	"github.com/bytemare/ecc"
	bm "github.com/bytemare/frost"
)

// SignatureLength is the size of a signature in suite s: R || z, 64 bytes
// for Ed25519 (RFC 8032), 65 for secp256k1 (R compressed, then z); 0 if s
// is not a supported suite.
func (s Suite) SignatureLength() int { return s.ElementLength() + s.ScalarLength() }

// Aggregator is the coordinator's side of a FROST key: the group's
// verification key and public shares, decoded (through DecodeElement) and
// checked once, for aggregating and checking any number of signatures.
// It is safe for concurrent use: every call into bytemare/frost holds the
// package lock.
type Aggregator struct {
	suite      Suite
	threshold  uint16
	maxSigners uint16
	vk         []byte            // encoded verification key
	conf       *bm.Configuration // initialised; read only after construction
}

// NewAggregator validates g's shape, decodes its verification key and every
// public share, and returns an Aggregator for it. It returns an error
// matching ErrKey if g is malformed or an element does not decode.
func NewAggregator(g *GroupKey) (*Aggregator, error) {
	if err := checkGroupShape(g); err != nil {
		return nil, err
	}
	return newAggregator(g, g.Shares)
}

// newAggregator builds an Aggregator holding the given public shares of g
// (whose shape the caller checked).
func newAggregator(g *GroupKey, shares []PublicShare) (*Aggregator, error) {
	conf, err := configuration(g, shares)
	if err != nil {
		return nil, err
	}
	return &Aggregator{suite: g.Suite, threshold: g.Threshold, maxSigners: g.MaxSigners,
		vk: append([]byte(nil), g.VerificationKey...), conf: conf}, nil
}

// coordinatorSetup checks g's shape and list, and returns an Aggregator
// holding the participants' public shares only (so that a one-shot call
// decodes only the elements in use) with the decoded list.
func coordinatorSetup(g *GroupKey, list []Commitment) (*Aggregator, bm.CommitmentList, error) {
	if err := checkGroupShape(g); err != nil {
		return nil, nil, err
	}
	bl, err := decodeList(g.Suite, g.Threshold, g.MaxSigners, list, nil)
	if err != nil {
		return nil, nil, err
	}
	shares := make([]PublicShare, len(list))
	for i, c := range list {
		shares[i] = g.Shares[c.Signer-1] // checkGroupShape: Shares[i].ID == i+1
	}
	a, err := newAggregator(g, shares)
	if err != nil {
		return nil, nil, err
	}
	return a, bl, nil
}

// decodeList decodes and checks list against a's group (see
// ValidateCommitmentList).
func (a *Aggregator) decodeList(list []Commitment) (bm.CommitmentList, error) {
	return decodeList(a.suite, a.threshold, a.maxSigners, list, nil)
}

// decodeShare decodes a signature share: a canonical, non-zero scalar.
func decodeShare(suite Suite, signer uint16, b []byte) (*bm.SignatureShare, error) {
	sc, err := suite.DecodeScalar(b)
	if err != nil {
		return nil, fmt.Errorf("%w: signer %d: %w", ErrInvalidShare, signer, err)
	}
	if sc.IsZero() {
		return nil, fmt.Errorf("%w: signer %d: zero", ErrInvalidShare, signer)
	}
	return &bm.SignatureShare{SignatureShare: sc, SignerIdentifier: signer, Group: suite.Group()}, nil
}

// VerifyShare checks signer's signature share of msg against its public
// share in g and its commitment in list (RFC 9591 §5.4). It returns an error
// matching ErrInvalidShare if the share is malformed or wrong, and
// ErrCommitmentList, ErrShares or ErrKey if the inputs are. It answers as
// NewAggregator(g).VerifyShare, but decodes only the public shares in use.
func VerifyShare(g *GroupKey, msg []byte, list []Commitment, signer uint16, share []byte) error {
	a, bl, err := coordinatorSetup(g, list)
	if err != nil {
		return err
	}
	return a.verifyShare(msg, list, bl, signer, share)
}

// VerifyShare checks signer's signature share of msg against its public
// share and its commitment in list (RFC 9591 §5.4). It returns an error
// matching ErrInvalidShare if the share is malformed or wrong, and
// ErrCommitmentList or ErrShares if the list is malformed or does not
// name signer.
func (a *Aggregator) VerifyShare(msg []byte, list []Commitment, signer uint16, share []byte) error {
	bl, err := a.decodeList(list)
	if err != nil {
		return err
	}
	return a.verifyShare(msg, list, bl, signer, share)
}

func (a *Aggregator) verifyShare(msg []byte, list []Commitment, bl bm.CommitmentList, signer uint16, share []byte) error {
	if !slices.ContainsFunc(list, func(c Commitment) bool { return c.Signer == signer }) {
		return fmt.Errorf("%w: signer %d has no commitment in the list", ErrShares, signer)
	}
	ss, err := decodeShare(a.suite, signer, share)
	if err != nil {
		return err
	}
	return verifyShare(a.conf, msg, bl, ss)
}

func verifyShare(conf *bm.Configuration, msg []byte, bl bm.CommitmentList, ss *bm.SignatureShare) error {
	err := locked(func() error { return conf.VerifySignatureShare(ss, msg, bl) })
	if err != nil {
		return fmt.Errorf("%w: signer %d", ErrInvalidShare, ss.SignerIdentifier)
	}
	return nil
}

// Aggregate combines the signature shares (signer identifier -> share) of
// the signers in list into the final signature of msg (RFC 9591 §5.3) and
// verifies it against g.VerificationKey: with crypto/ed25519 for Ed25519,
// with the RFC 9591 check for secp256k1. Only if that fails are the shares
// checked one by one; the error is then an *InvalidSharesError naming every
// bad signer. shares must hold exactly one share per signer in list
// (ErrShares otherwise).
//
// The Ed25519 signature is R || z (64 bytes, RFC 8032); the secp256k1 one
// is R compressed (33 bytes) || z (32 bytes).
//
// It answers as NewAggregator(g).Aggregate, but decodes only the public
// shares in use; a coordinator that signs with g repeatedly keeps an
// Aggregator instead.
func Aggregate(g *GroupKey, msg []byte, list []Commitment, shares map[uint16][]byte) ([]byte, error) {
	a, bl, err := coordinatorSetup(g, list)
	if err != nil {
		return nil, err
	}
	return a.aggregate(msg, list, bl, shares)
}

// Aggregate combines the signature shares (signer identifier -> share) of
// the signers in list into the final signature of msg and verifies it
// against the group's verification key, as the package-level Aggregate
// does and with the same errors: a returned signature is valid, and an
// *InvalidSharesError names every bad signer.
func (a *Aggregator) Aggregate(msg []byte, list []Commitment, shares map[uint16][]byte) ([]byte, error) {
	bl, err := a.decodeList(list)
	if err != nil {
		return nil, err
	}
	return a.aggregate(msg, list, bl, shares)
}

func (a *Aggregator) aggregate(msg []byte, list []Commitment, bl bm.CommitmentList, shares map[uint16][]byte) ([]byte, error) {
	for id := range shares {
		if !slices.ContainsFunc(list, func(c Commitment) bool { return c.Signer == id }) {
			return nil, fmt.Errorf("%w: share from signer %d, who is not in the list", ErrShares, id)
		}
	}
	var (
		decoded = make([]*bm.SignatureShare, 0, len(list))
		bad     []uint16
	)
	for _, c := range list {
		b, ok := shares[c.Signer]
		if !ok {
			return nil, fmt.Errorf("%w: no share from signer %d", ErrShares, c.Signer)
		}
		ss, err := decodeShare(a.suite, c.Signer, b)
		if err != nil {
			bad = append(bad, c.Signer)
			continue
		}
		decoded = append(decoded, ss)
	}
	if len(bad) > 0 {
		// Some shares are unusable: name them and every other bad one.
		for _, ss := range decoded {
			if verifyShare(a.conf, msg, bl, ss) != nil {
				bad = append(bad, ss.SignerIdentifier)
			}
		}
		slices.Sort(bad)
		return nil, &InvalidSharesError{Signers: bad}
	}

	var sig *bm.Signature
	err := locked(func() error {
		var err error
		sig, err = a.conf.AggregateSignatures(msg, decoded, bl, false)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: aggregation failed: %w", ErrInternal, err)
	}
	out := encodeSignature(sig.R, sig.Z)
	if verifyAggregate(a.suite, a.conf.VerificationKey, a.vk, msg, sig, out) {
		return out, nil
	}
	for _, ss := range decoded {
		if verifyShare(a.conf, msg, bl, ss) != nil {
			bad = append(bad, ss.SignerIdentifier)
		}
	}
	if len(bad) == 0 {
		return nil, fmt.Errorf("%w: aggregate fails although every share verifies", ErrInvalidSignature)
	}
	return nil, &InvalidSharesError{Signers: bad}
}

func encodeSignature(r *ecc.Element, z *ecc.Scalar) []byte {
	return append(r.Encode(), z.Encode()...)
}

// verifyAggregate checks a freshly aggregated signature: crypto/ed25519 for
// Ed25519 (cheaper than bytemare's check), bytemare for secp256k1.
func verifyAggregate(suite Suite, vk *ecc.Element, vkBytes, msg []byte, sig *bm.Signature, enc []byte) bool {
	if suite == Ed25519 {
		return ed25519.Verify(ed25519.PublicKey(vkBytes), msg, enc)
	}
	return locked(func() error { return bm.VerifySignature(bm.Ciphersuite(suite), msg, sig, vk) }) == nil
}

// Verify checks a signature of msg under publicKey in suite: for Ed25519 a
// standard RFC 8032 signature (crypto/ed25519), for secp256k1 the RFC 9591
// Schnorr signature R || z. publicKey and R must be canonical, non-identity,
// prime-order elements. It returns nil or an error matching
// ErrInvalidSignature (or ErrElement / ErrUnknownSuite for a bad key).
func Verify(suite Suite, publicKey, msg, sig []byte) error {
	pk, err := suite.DecodeElement(publicKey)
	if err != nil {
		return fmt.Errorf("frost: public key: %w", err)
	}
	if len(sig) != suite.SignatureLength() {
		return fmt.Errorf("%w: %d bytes, want %d", ErrInvalidSignature, len(sig), suite.SignatureLength())
	}
	if suite == Ed25519 {
		if !ed25519.Verify(ed25519.PublicKey(publicKey), msg, sig) {
			return ErrInvalidSignature
		}
		return nil
	}
	el := suite.ElementLength()
	r, err := suite.DecodeElement(sig[:el])
	if err != nil {
		return fmt.Errorf("%w: R: %w", ErrInvalidSignature, err)
	}
	z, err := suite.DecodeScalar(sig[el:])
	if err != nil {
		return fmt.Errorf("%w: z: %w", ErrInvalidSignature, err)
	}
	s := &bm.Signature{R: r, Z: z, Group: suite.Group()}
	if locked(func() error { return bm.VerifySignature(bm.Ciphersuite(suite), msg, s, pk) }) != nil {
		return ErrInvalidSignature
	}
	return nil
}
