package dkg

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/bytemare/ecc"
)

// pokDST prefixes the domain separation tag of the proof-of-knowledge
// challenge; the suite's curve name completes it.
const pokDST = "CUSTOS-DKG-v1-pok-"

// pokChallenge is c = H(sessionID || t || n || id || C_0 || R): the proof
// is bound to the suite (through the tag), the ceremony, its parameters and
// the prover's identifier, so it cannot be replayed into another ceremony
// or under another identifier. C_0 and R have the suite's fixed element
// length, so the concatenation is unambiguous.
func pokChallenge(s Session, id uint16, c0, r []byte) (*ecc.Scalar, error) {
	in := make([]byte, 0, len(s.ID)+6+len(c0)+len(r))
	in = append(in, s.ID[:]...)
	in = binary.BigEndian.AppendUint16(in, s.Threshold)
	in = binary.BigEndian.AppendUint16(in, s.N)
	in = binary.BigEndian.AppendUint16(in, id)
	in = append(in, c0...)
	in = append(in, r...)
	c, err := s.Suite.HashToScalar(in, []byte(pokDST+s.Suite.Curve()))
	if err != nil {
		return nil, fmt.Errorf("dkg: proof challenge: %w", err)
	}
	return c, nil
}

// prove returns a Schnorr proof of knowledge of a0, the discrete logarithm
// of c0: R = k·G, z = k + a0·c.
func prove(s Session, id uint16, a0 *ecc.Scalar, c0 []byte) (r, z []byte, err error) {
	g := s.Suite.Group()
	k := g.NewScalar().Random()
	defer k.Zero()
	r = g.Base().Multiply(k).Encode()
	c, err := pokChallenge(s, id, c0, r)
	if err != nil {
		return nil, nil, err
	}
	ca := c.Multiply(a0)
	defer ca.Zero()
	return r, k.Add(ca).Encode(), nil
}

// verifyProof checks z·G == R + c·C_0 for the proof (rb, zb) of the
// participant id, whose decoded C_0 is c0 (encoded c0b).
func verifyProof(s Session, id uint16, c0 *ecc.Element, c0b, rb, zb []byte) *MisbehaviourError {
	r, err := s.Suite.DecodeElement(rb)
	if err != nil {
		return misbehavedCause(id, "proof of knowledge: commitment R", err)
	}
	z, err := s.Suite.DecodeScalar(zb)
	if err != nil {
		return misbehavedCause(id, "proof of knowledge: response z", err)
	}
	c, err := pokChallenge(s, id, c0b, rb)
	if err != nil {
		return misbehavedCause(id, "proof of knowledge", err)
	}
	lhs := s.Suite.Group().Base().Multiply(z)
	rhs := c0.Copy().Multiply(c).Add(r)
	if !lhs.Equal(rhs) {
		return misbehaved(id, "proof of knowledge does not verify (bad proof, or replayed from another ceremony or participant)")
	}
	return nil
}

// verifyPackage decodes every commitment of a shape-checked package and
// verifies its proof of knowledge.
func verifyPackage(s Session, r Round1) ([]*ecc.Element, *MisbehaviourError) {
	commits := make([]*ecc.Element, len(r.Commitments))
	for k, c := range r.Commitments {
		e, err := s.Suite.DecodeElement(c)
		if err != nil {
			return nil, misbehavedCause(r.From, fmt.Sprintf("commitment %d", k), err)
		}
		commits[k] = e
	}
	if m := verifyProof(s, r.From, commits[0], r.Commitments[0], r.ProofR, r.ProofZ); m != nil {
		return nil, m
	}
	return commits, nil
}

// VerifyRound1 checks a complete round-1 set as anyone who sees it in clear
// (the coordinator) can: one package per participant 1..n, exactly t
// commitments each, every element canonical, not the identity and in the
// prime-order group, and every proof of knowledge valid for this session and
// its sender. It reports every misbehaving participant (see Culprits).
func VerifyRound1(s Session, all []Round1) error {
	if err := s.Validate(); err != nil {
		return err
	}
	sorted, errs := checkShape(s, all)
	for _, r := range sorted {
		if _, m := verifyPackage(s, r); m != nil {
			errs = append(errs, m)
		}
	}
	return joinMisbehaviour(errs)
}

// evalPoly returns f(x) for the polynomial with the given coefficients
// (Horner's rule). The result is secret when the coefficients are.
func evalPoly(g ecc.Group, coeffs []*ecc.Scalar, x uint16) *ecc.Scalar {
	xs := g.NewScalar().SetUInt64(uint64(x))
	acc := coeffs[len(coeffs)-1].Copy()
	for k := len(coeffs) - 2; k >= 0; k-- {
		acc.Multiply(xs).Add(coeffs[k])
	}
	return acc
}

// evalCommitments returns Σ_k C_k·x^k (Horner's rule): f(x)·G for the
// polynomial the commitments commit to. Everything here is public, so the
// multiplications by the small identifier x run in variable time.
func evalCommitments(commits []*ecc.Element, x uint16) *ecc.Element {
	acc := commits[len(commits)-1].Copy()
	for k := len(commits) - 2; k >= 0; k-- {
		mulSmall(acc, x).Add(commits[k])
	}
	return acc
}

// mulSmall sets e to e·x by double-and-add, in variable time: only for
// public e and x (participant identifiers), where it is some thirty times
// faster than a full scalar multiplication.
func mulSmall(e *ecc.Element, x uint16) *ecc.Element {
	if x == 0 {
		return e.Set(e.Identity())
	}
	base := e.Copy()
	for bit := bits.Len16(x) - 2; bit >= 0; bit-- {
		e.Double()
		if x>>bit&1 == 1 {
			e.Add(base)
		}
	}
	return e
}
