package frost

import (
	"bytes"
	"fmt"
	"reflect"
	"sync"

	"github.com/bytemare/ecc"
	bm "github.com/bytemare/frost"
	"github.com/bytemare/secret-sharing/keys"
)

// MaxPendingNonces bounds the nonces one Signer holds at a time; Commit
// refuses more until some are used or discarded.
const MaxPendingNonces = 4096

// Signer is one guardian's signing state for one key share: round one
// (Commit) and round two (Sign) of RFC 9591 §5. Nonces live only in its
// memory: a new Signer, for example after a restart, knows none of the old
// ones, so a nonce can never be used twice. Safe for concurrent use.
type Signer struct {
	mu sync.Mutex

	suite      Suite
	id         uint16
	threshold  uint16
	maxSigners uint16
	bms        *bm.Signer
	issued     map[uint64]Commitment
	limit      int // MaxPendingNonces; lowered by tests
	closed     bool

	// nonceRandom, when set (by tests only), supplies the hiding and
	// binding nonce randomness of the next Commit, to reproduce vectors.
	nonceRandom func() (hiding, binding []byte)
}

// NewSigner validates k (its secret must match its public share, every
// element must decode) and returns a Signer for it. The Signer keeps its own
// copy of the secret: the caller may Zero k afterwards.
func NewSigner(k *KeyShare) (*Signer, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: no key share", ErrKey)
	}
	// k.Validate's checks, each made once: the shape here, the elements in
	// configuration, the secret against its public share in conf.Signer.
	if err := checkGroupShape(&k.Group); err != nil {
		return nil, err
	}
	suite := k.Group.Suite
	g := suite.Group()

	conf, err := configuration(&k.Group, k.Group.Shares)
	if err != nil {
		return nil, err
	}
	secret, err := k.decodeSecret()
	if err != nil {
		return nil, err
	}
	defer secret.Zero()
	ks, err := keys.NewKeyShare(g, k.ID, secret, conf.VerificationKey, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: building key share %d", ErrKey, k.ID)
	}

	var bms *bm.Signer
	err = locked(func() error {
		var err error
		bms, err = conf.Signer(ks)
		return err
	})
	if err != nil {
		wipeKeyShare(ks)
		return nil, fmt.Errorf("%w: key share %d refused: %w", ErrKey, k.ID, err)
	}
	return &Signer{
		suite:      suite,
		id:         k.ID,
		threshold:  k.Group.Threshold,
		maxSigners: k.Group.MaxSigners,
		bms:        bms,
		issued:     make(map[uint64]Commitment),
		limit:      MaxPendingNonces,
	}, nil
}

// configuration builds and initialises bytemare's configuration for g with
// the given public shares (all of them for a signer, the participants' for
// the coordinator), decoding every element through DecodeElement.
func configuration(g *GroupKey, shares []PublicShare) (*bm.Configuration, error) {
	vk, elems, err := decodeKeys(g, shares)
	if err != nil {
		return nil, err
	}
	pks := make([]*keys.PublicKeyShare, len(shares))
	for i, s := range shares {
		if pks[i], err = keys.NewPublicKeyShare(g.Suite.Group(), s.ID, elems[i], nil); err != nil {
			return nil, fmt.Errorf("%w: public share %d", ErrKey, s.ID)
		}
	}
	conf := &bm.Configuration{
		VerificationKey:       vk,
		SignerPublicKeyShares: pks,
		Threshold:             g.Threshold,
		MaxSigners:            g.MaxSigners,
		Ciphersuite:           bm.Ciphersuite(g.Suite),
	}
	if err := locked(conf.Init); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return conf, nil
}

// ID is the signer's participant identifier.
func (s *Signer) ID() uint16 { return s.id }

// Commit draws a fresh nonce pair (RFC 9591 §5.1), keeps it in memory and
// returns its public commitment.
func (s *Signer) Commit() (Commitment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Commitment{}, ErrClosed
	}
	if len(s.issued) >= s.limit {
		return Commitment{}, fmt.Errorf("%w: %d held", ErrTooManyNonces, len(s.issued))
	}
	var com *bm.Commitment
	err := locked(func() error {
		if s.nonceRandom != nil {
			s.bms.HidingRandom, s.bms.BindingRandom = s.nonceRandom()
			defer func() { s.bms.HidingRandom, s.bms.BindingRandom = nil, nil }()
		}
		com = s.bms.Commit()
		return nil
	})
	if err != nil {
		return Commitment{}, err
	}
	c := Commitment{
		Signer:  s.id,
		ID:      com.CommitmentID,
		Hiding:  com.HidingNonceCommitment.Encode(),
		Binding: com.BindingNonceCommitment.Encode(),
	}
	s.issued[c.ID] = c.clone()
	if s.suite == Ed25519 {
		// Made here from fresh nonces: valid elements, which this
		// participant need not check again when they come back in a
		// commitment list.
		checkedEd25519.Add([32]byte(c.Hiding))
		checkedEd25519.Add([32]byte(c.Binding))
	}
	return c, nil
}

// Pending is the number of nonces the signer holds.
func (s *Signer) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.issued)
}

// Discard zeroes and forgets the nonce issued under id without signing.
// Unknown identifiers are ignored.
func (s *Signer) Discard(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget(id)
}

// forget zeroes and drops nonce id; s.mu must be held.
func (s *Signer) forget(id uint64) {
	delete(s.issued, id)
	mu.Lock()
	s.bms.ClearNonceCommitment(id)
	mu.Unlock()
}

// Sign returns this signer's signature share of msg (RFC 9591 §5.2), as a
// canonical scalar encoding.
//
// Every nonce of this signer that list names (an entry with this signer's
// identifier and the ID of a nonce it holds) is consumed first: zeroed and
// forgotten whatever happens next, so no nonce ever signs two messages.
// Then list is checked: length in [threshold, n]; signer identifiers
// strictly ascending, none 0 or above n; every element canonical,
// non-identity and in the prime-order subgroup; this signer's commitment
// present, naming a nonce it held, and byte-equal to the one it issued.
// The errors match ErrCommitmentList (with ErrElement or
// ErrCommitmentMismatch where that is the cause), ErrUnknownNonce or
// ErrClosed.
func (s *Signer) Sign(msg []byte, list []Commitment) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}

	// Consume before any check.
	consumed := make(map[uint64]Commitment, 1)
	for _, c := range list {
		if c.Signer != s.id {
			continue
		}
		if iss, ok := s.issued[c.ID]; ok {
			consumed[c.ID] = iss
			delete(s.issued, c.ID)
		}
	}
	defer func() {
		for id := range consumed {
			s.forget(id)
		}
	}()

	// Our own commitment, if intact, is taken as decoded when issued.
	issuedExactly := func(c Commitment) *bm.Commitment {
		iss, ok := consumed[c.ID]
		if c.Signer != s.id || !ok || !bytes.Equal(iss.Hiding, c.Hiding) || !bytes.Equal(iss.Binding, c.Binding) {
			return nil
		}
		if n := s.bms.NonceCommitments[c.ID]; n != nil && n.Commitment != nil {
			return n.Commitment.Copy()
		}
		return nil
	}
	bl, err := decodeList(s.suite, s.threshold, s.maxSigners, list, issuedExactly)
	if err != nil {
		return nil, err
	}
	own := -1
	for i, c := range list {
		if c.Signer == s.id {
			own = i
			break
		}
	}
	if own < 0 {
		return nil, fmt.Errorf("%w: no commitment from signer %d", ErrCommitmentList, s.id)
	}
	iss, ok := consumed[list[own].ID]
	if !ok {
		return nil, fmt.Errorf("%w: signer %d nonce %d", ErrUnknownNonce, s.id, list[own].ID)
	}
	if !bytes.Equal(iss.Hiding, list[own].Hiding) || !bytes.Equal(iss.Binding, list[own].Binding) {
		return nil, fmt.Errorf("%w: %w: signer %d nonce %d",
			ErrCommitmentList, ErrCommitmentMismatch, s.id, list[own].ID)
	}

	var share *ecc.Scalar
	err = locked(func() error {
		ss, err := s.bms.Sign(msg, bl)
		if err != nil {
			return err
		}
		share = ss.SignatureShare
		return nil
	})
	// Lambda values are public but one is cached per participant set; keep
	// the cache bounded.
	if len(s.bms.LambdaRegistry) > 64 {
		clear(s.bms.LambdaRegistry)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: signing refused: %w", ErrCommitmentList, err)
	}
	out := share.Encode()
	share.Zero()
	return out, nil
}

// Close zeroes every nonce and the signer's copy of the key share. Later
// calls to Commit and Sign return ErrClosed. Close is idempotent.
func (s *Signer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for id := range s.issued {
		s.forget(id)
	}
	mu.Lock()
	for id := range s.bms.NonceCommitments {
		s.bms.ClearNonceCommitment(id)
	}
	mu.Unlock()
	wipeKeyShare(s.bms.KeyShare)
	s.bms.KeyShare = nil
	s.closed = true
}

// wipeKeyShare zeroes the secret scalar inside a bytemare key share.
// keys.KeyShare exposes only copies of its secret (SecretKey clones), so
// the field is reached by reflection; if a future version renames it, the
// wipe silently does nothing (TestSignerCloseWipesKeyShare catches that).
func wipeKeyShare(k *keys.KeyShare) {
	if k == nil {
		return
	}
	f := reflect.ValueOf(k).Elem().FieldByName("secret")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*ecc.Scalar]() || f.IsNil() {
		return
	}
	(*ecc.Scalar)(f.UnsafePointer()).Zero()
}

// String describes s without any secret.
func (s *Signer) String() string {
	return fmt.Sprintf("frost.Signer{%v, participant %d}", s.suite, s.id)
}
