// Package dkg is Custos' distributed key generation for FROST wallets:
// PedPoP, the FROST paper's KeyGen with a proof of knowledge (RFC 9591,
// Appendix C), among n guardians identified 1..n, of which any t can sign.
// No party ever holds the group secret.
//
// The coordinator only relays messages. A ceremony runs as:
//
//  1. Round1: each participant commits to a random polynomial of degree
//     t-1 (Feldman VSS) and proves knowledge of its constant term. The proof
//     is bound to the suite, the session id, t, n and the participant id, so
//     it cannot be replayed from another ceremony or under another id.
//  2. Every participant (and the coordinator, with VerifyRound1) checks the
//     round-1 set, and the participants compare Transcript hashes (echo
//     broadcast) before going on.
//  3. Round2: each participant sends f_i(j) to every other participant j,
//     HPKE-encrypted (DHKEM(X25519), HKDF-SHA256, ChaCha20Poly1305) to j's
//     key, with the HPKE info binding the session, the transcript, i and j.
//  4. Finalize: each participant decrypts and checks its shares against the
//     commitments, and derives its signing share, the group key and every
//     participant's public share.
//
// Every received element is decoded with frost.Suite.DecodeElement (which
// refuses non-canonical encodings, the identity and, on Ed25519, points
// outside the prime-order subgroup) and every received scalar with
// DecodeScalar. A failure caused by another participant is a
// *MisbehaviourError naming it; a participant that has failed once stays
// failed, and its secrets are zeroed. Error messages never carry secrets.
package dkg

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/bytemare/ecc"
	"github.com/custos-dev/custos/frost"
)

// Session is one ceremony's public parameters, known to every participant
// and to the coordinator before round 1.
type Session struct {
	// ID is the ceremony's random session id; a new one for every attempt.
	ID [32]byte
	// Suite is the FROST ciphersuite of the key.
	Suite frost.Suite
	// Threshold is t, the number of participants needed to sign.
	Threshold uint16
	// N is the number of participants, identified 1..N.
	N uint16
}

// NewSession returns a session with a fresh random ID.
func NewSession(suite frost.Suite, threshold, n uint16) (Session, error) {
	s := Session{Suite: suite, Threshold: threshold, N: n}
	if _, err := rand.Read(s.ID[:]); err != nil {
		return Session{}, fmt.Errorf("dkg: session id: %w", err)
	}
	return s, s.Validate()
}

// Validate checks that the suite is supported, the ID is not all zero and
// 2 <= Threshold <= N <= 255.
func (s Session) Validate() error {
	switch {
	case !s.Suite.Valid():
		return fmt.Errorf("%w: %w", ErrSession, frost.ErrUnknownSuite)
	case s.ID == [32]byte{}:
		return fmt.Errorf("%w: zero session id", ErrSession)
	case s.Threshold < 2 || s.Threshold > s.N || s.N > frost.MaxSigners:
		return fmt.Errorf("%w: threshold %d of %d (want 2 <= t <= n <= %d)", ErrSession, s.Threshold, s.N, frost.MaxSigners)
	}
	return nil
}

type state int

const (
	stateNew state = iota
	stateRound1
	stateRound2
	stateDone
	stateFailed
	stateZeroed
)

// HPKE parameters of round 2.
var (
	shareKDF  = hpke.HKDFSHA256()
	shareAEAD = hpke.ChaCha20Poly1305()
)

const shareInfoLabel = "custos dkg share v1"

// shareInfo is the HPKE info of the share from -> to: it binds the label,
// the session, the round-1 transcript and both identifiers.
func shareInfo(s Session, tr [32]byte, from, to uint16) []byte {
	b := make([]byte, 0, len(shareInfoLabel)+1+32+5+32+4)
	b = append(b, shareInfoLabel...)
	b = append(b, 0)
	b = append(b, s.ID[:]...)
	b = append(b, byte(s.Suite))
	b = binary.BigEndian.AppendUint16(b, s.Threshold)
	b = binary.BigEndian.AppendUint16(b, s.N)
	b = append(b, tr[:]...)
	b = binary.BigEndian.AppendUint16(b, from)
	return binary.BigEndian.AppendUint16(b, to)
}

// Participant is one guardian's side of a ceremony. Its methods must be
// called in order, once each: Round1, Round2, Finalize. Any error is final:
// the participant zeroes its secrets and refuses further calls, and the
// ceremony restarts with a new session. It is safe for concurrent use, but
// the rounds are inherently sequential.
type Participant struct {
	mu    sync.Mutex
	s     Session
	id    uint16
	priv  hpke.PrivateKey
	state state

	coeffs     []*ecc.Scalar    // a_0..a_{t-1}, zeroed after round 2
	own        []byte           // Marshal of this participant's Round1
	ownCommits []*ecc.Element   // this participant's commitments
	ownShare   *ecc.Scalar      // f_id(id), zeroed in Finalize
	transcript [32]byte         // set in round 2
	commits    [][]*ecc.Element // index From-1, set in round 2
}

// NewParticipant returns participant id (1..s.N) of the ceremony s.
// hpkePriv is the participant's X25519 key; round-2 shares addressed to it
// are encrypted to its public key. The key is used, not copied.
func NewParticipant(s Session, id uint16, hpkePriv *ecdh.PrivateKey) (*Participant, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if id < 1 || id > s.N {
		return nil, fmt.Errorf("%w: participant %d not in 1..%d", ErrSession, id, s.N)
	}
	if hpkePriv == nil || hpkePriv.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("%w: HPKE key must be an X25519 key", ErrSession)
	}
	priv, err := hpke.NewDHKEMPrivateKey(hpkePriv)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE key: %v", ErrSession, err)
	}
	return &Participant{s: s, id: id, priv: priv}, nil
}

// ID is the participant's identifier.
func (p *Participant) ID() uint16 { return p.id }

// Round1 draws the participant's random polynomial and returns its
// broadcast package: t commitments and the proof of knowledge. It may be
// called once.
func (p *Participant) Round1() (*Round1, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != stateNew {
		return nil, fmt.Errorf("%w: round 1 already run", ErrState)
	}
	g := p.s.Suite.Group()
	t := int(p.s.Threshold)
	p.coeffs = make([]*ecc.Scalar, t)
	p.ownCommits = make([]*ecc.Element, t)
	r := &Round1{From: p.id, Commitments: make([][]byte, t)}
	for k := range t {
		p.coeffs[k] = g.NewScalar().Random()
		p.ownCommits[k] = g.Base().Multiply(p.coeffs[k])
		r.Commitments[k] = p.ownCommits[k].Encode()
	}
	var err error
	if r.ProofR, r.ProofZ, err = prove(p.s, p.id, p.coeffs[0], r.Commitments[0]); err != nil {
		p.fail()
		return nil, err
	}
	if p.own, err = r.Marshal(); err != nil {
		p.fail()
		return nil, err
	}
	p.state = stateRound1
	return cloneRound1(r), nil
}

// Round2 verifies the complete round-1 set (this participant's own package
// included, unaltered), computes the transcript hash and returns the
// encrypted shares for every other participant, sorted by To. recipients
// maps each other participant's id to its X25519 public key (32 bytes).
//
// Misbehaving senders are reported as *MisbehaviourError values (all of
// them; see Culprits). The caller must compare the returned transcript with
// every other participant's before relaying the shares.
func (p *Participant) Round2(all []Round1, recipients map[uint16][]byte) (tr [32]byte, out []Round2, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != stateRound1 {
		return [32]byte{}, nil, fmt.Errorf("%w: round 2 needs round 1 first", ErrState)
	}
	defer func() {
		if err != nil {
			p.fail()
		}
	}()

	pubs, err := p.recipientKeys(recipients)
	if err != nil {
		return [32]byte{}, nil, err
	}
	if err := p.checkOwn(all); err != nil {
		return [32]byte{}, nil, err
	}
	sorted, errs := checkShape(p.s, all)
	p.commits = make([][]*ecc.Element, p.s.N)
	for _, r := range sorted {
		if r.From == p.id {
			p.commits[r.From-1] = p.ownCommits
			continue
		}
		commits, m := verifyPackage(p.s, r)
		if m != nil {
			errs = append(errs, m)
			continue
		}
		p.commits[r.From-1] = commits
	}
	if err := joinMisbehaviour(errs); err != nil {
		return [32]byte{}, nil, err
	}

	p.transcript = transcript(p.s, sorted)
	g := p.s.Suite.Group()
	out = make([]Round2, 0, p.s.N-1)
	for j := uint16(1); j <= p.s.N; j++ {
		if j == p.id {
			continue
		}
		share := evalPoly(g, p.coeffs, j)
		pt := share.Encode()
		ct, err := hpke.Seal(pubs[j], shareKDF, shareAEAD, shareInfo(p.s, p.transcript, p.id, j), pt)
		clear(pt)
		share.Zero()
		if err != nil {
			return [32]byte{}, nil, fmt.Errorf("%w: participant %d: %v", ErrRecipientKey, j, err)
		}
		out = append(out, Round2{From: p.id, To: j, Transcript: p.transcript, Ciphertext: ct})
	}
	p.ownShare = evalPoly(g, p.coeffs, p.id)
	zeroScalars(p.coeffs)
	p.coeffs = nil
	p.state = stateRound2
	return p.transcript, out, nil
}

// checkOwn checks that all carries exactly one package from p, the one p
// produced in round 1.
func (p *Participant) checkOwn(all []Round1) error {
	found := 0
	for _, r := range all {
		if r.From != p.id {
			continue
		}
		found++
		if enc, err := r.Marshal(); err != nil || !bytes.Equal(enc, p.own) {
			return ErrTampered
		}
	}
	if found != 1 {
		return ErrTampered
	}
	return nil
}

// recipientKeys parses the HPKE public key of every other participant.
func (p *Participant) recipientKeys(recipients map[uint16][]byte) (map[uint16]hpke.PublicKey, error) {
	pubs := make(map[uint16]hpke.PublicKey, p.s.N-1)
	for id := range recipients {
		if id < 1 || id > p.s.N {
			return nil, fmt.Errorf("%w: key for participant %d, not in 1..%d", ErrRecipientKey, id, p.s.N)
		}
	}
	for j := uint16(1); j <= p.s.N; j++ {
		if j == p.id {
			continue
		}
		b, ok := recipients[j]
		if !ok {
			return nil, fmt.Errorf("%w: no key for participant %d", ErrRecipientKey, j)
		}
		ek, err := ecdh.X25519().NewPublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("%w: participant %d: %v", ErrRecipientKey, j, err)
		}
		pk, err := hpke.NewDHKEMPublicKey(ek)
		if err != nil {
			return nil, fmt.Errorf("%w: participant %d: %v", ErrRecipientKey, j, err)
		}
		pubs[j] = pk
	}
	return pubs, nil
}

// Finalize checks the round-2 messages addressed to this participant (one
// from every other participant, built on the same transcript), verifies
// each share against its sender's commitments and returns the participant's
// key share: its secret signing share and the group's public key with every
// participant's public share. agreed is the transcript hash every
// participant reported after round 2 (the echo broadcast); if it is not the
// one this participant computed, Finalize fails with ErrTranscriptMismatch.
//
// The returned KeyShare is the caller's to seal and Zero; the participant
// keeps no secret afterwards.
func (p *Participant) Finalize(agreed [32]byte, in []Round2) (ks *frost.KeyShare, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != stateRound2 {
		return nil, fmt.Errorf("%w: finalize needs round 2 first", ErrState)
	}
	defer func() {
		if err != nil {
			p.fail()
		}
	}()
	if agreed != p.transcript {
		return nil, ErrTranscriptMismatch
	}

	var errs []*MisbehaviourError
	byFrom := make(map[uint16]Round2, len(in))
	count := make(map[uint16]int, len(in))
	for _, r := range in {
		switch {
		case r.From == p.id:
			return nil, fmt.Errorf("%w: round-2 message claims to come from this participant", ErrTampered)
		case r.From < 1 || r.From > p.s.N:
			errs = append(errs, misbehaved(r.From, fmt.Sprintf("identifier out of range 1..%d", p.s.N)))
			continue
		}
		count[r.From]++
		switch count[r.From] {
		case 1:
			byFrom[r.From] = r
		case 2:
			errs = append(errs, misbehaved(r.From, "more than one round-2 message"))
		}
	}

	secret := p.ownShare.Copy()
	defer secret.Zero()
	for i := uint16(1); i <= p.s.N; i++ {
		if i == p.id || count[i] > 1 {
			continue
		}
		r, ok := byFrom[i]
		if !ok {
			errs = append(errs, misbehaved(i, "no round-2 share"))
			continue
		}
		share, m := p.openShare(r)
		if m != nil {
			errs = append(errs, m)
			continue
		}
		secret.Add(share)
		share.Zero()
	}
	if err := joinMisbehaviour(errs); err != nil {
		return nil, err
	}

	// Y = Σ_i C_i0; Y_m = Σ_k (Σ_i C_ik)·m^k.
	g := p.s.Suite.Group()
	sum := make([]*ecc.Element, p.s.Threshold)
	for k := range sum {
		sum[k] = g.NewElement()
		for _, c := range p.commits {
			sum[k].Add(c[k])
		}
	}
	gk := frost.GroupKey{
		Suite:           p.s.Suite,
		Threshold:       p.s.Threshold,
		MaxSigners:      p.s.N,
		VerificationKey: sum[0].Encode(),
		Shares:          make([]frost.PublicShare, p.s.N),
	}
	for m := uint16(1); m <= p.s.N; m++ {
		gk.Shares[m-1] = frost.PublicShare{ID: m, Key: evalCommitments(sum, m).Encode()}
	}
	ks = &frost.KeyShare{ID: p.id, Secret: secret.Encode(), Group: gk}
	if err := ks.Validate(); err != nil {
		ks.Zero()
		return nil, fmt.Errorf("%w: %w", ErrDegenerate, err)
	}
	p.clearSecrets()
	p.state = stateDone
	return ks, nil
}

// openShare decrypts and checks the share in r, which is addressed to p.
func (p *Participant) openShare(r Round2) (*ecc.Scalar, *MisbehaviourError) {
	if r.To != p.id {
		return nil, misbehaved(r.From, fmt.Sprintf("round-2 message addressed to participant %d", r.To))
	}
	if r.Transcript != p.transcript {
		return nil, misbehaved(r.From, "round-2 message built on another round-1 transcript")
	}
	pt, err := hpke.Open(p.priv, shareKDF, shareAEAD, shareInfo(p.s, p.transcript, r.From, p.id), r.Ciphertext)
	if err != nil {
		return nil, misbehaved(r.From, "share does not decrypt for this session, transcript and recipient")
	}
	defer clear(pt)
	share, err := p.s.Suite.DecodeScalar(pt)
	if err != nil {
		return nil, misbehavedSecret(r.From, "share is not a canonical scalar", err)
	}
	want := evalCommitments(p.commits[r.From-1], p.id)
	if !p.s.Suite.Group().Base().Multiply(share).Equal(want) {
		share.Zero()
		return nil, misbehaved(r.From, "share fails the Feldman check against its commitments")
	}
	return share, nil
}

// Zero overwrites the participant's secrets (polynomial coefficients and
// its own share) and ends the ceremony for it: every later call fails.
func (p *Participant) Zero() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearSecrets()
	p.state = stateZeroed
}

func (p *Participant) fail() {
	p.clearSecrets()
	p.state = stateFailed
}

func (p *Participant) clearSecrets() {
	zeroScalars(p.coeffs)
	p.coeffs = nil
	if p.ownShare != nil {
		p.ownShare.Zero()
		p.ownShare = nil
	}
}

func zeroScalars(s []*ecc.Scalar) {
	for _, x := range s {
		if x != nil {
			x.Zero()
		}
	}
}

func cloneRound1(r *Round1) *Round1 {
	c := &Round1{From: r.From, ProofR: bytes.Clone(r.ProofR), ProofZ: bytes.Clone(r.ProofZ)}
	c.Commitments = make([][]byte, len(r.Commitments))
	for k, x := range r.Commitments {
		c.Commitments[k] = bytes.Clone(x)
	}
	return c
}
