package dkg

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"slices"

	"github.com/custos-dev/custos/frost"
)

// Round1 is participant From's broadcast: the Feldman commitments to its
// polynomial (Commitments[k] = a_k·G, exactly t of them) and a Schnorr proof
// of knowledge of a_0 bound to the session (ProofR, ProofZ). It carries no
// secret and is relayed in clear.
type Round1 struct {
	From        uint16
	Commitments [][]byte
	ProofR      []byte
	ProofZ      []byte
}

// Round2 is the share f_From(To), HPKE-encrypted to participant To and bound
// to the session, the round-1 transcript and both identifiers. Transcript is
// the round-1 transcript hash the sender built this message on; Ciphertext
// is the HPKE encapsulated key followed by the sealed share.
type Round2 struct {
	From       uint16
	To         uint16
	Transcript [32]byte
	Ciphertext []byte
}

// Wire format of Marshal / Unmarshal (all integers big-endian):
//
//	Round1: 0x01 0x01 | From u16 | count u8 | count × (len u8 | element) |
//	        len u8 | ProofR | len u8 | ProofZ
//	Round2: 0x01 0x02 | From u16 | To u16 | Transcript [32] |
//	        len u16 | Ciphertext
//
// Lengths are never zero, there are no trailing bytes, and each value has
// exactly one encoding.
const (
	wireVersion   = 0x01
	kindRound1    = 0x01
	kindRound2    = 0x02
	maxCiphertext = 512
)

// Marshal encodes r in the package's binary wire format.
func (r *Round1) Marshal() ([]byte, error) {
	if r.From == 0 || r.From > frost.MaxSigners {
		return nil, fmt.Errorf("%w: round 1: identifier %d", ErrMalformed, r.From)
	}
	if len(r.Commitments) == 0 || len(r.Commitments) > frost.MaxSigners {
		return nil, fmt.Errorf("%w: round 1: %d commitments", ErrMalformed, len(r.Commitments))
	}
	out := []byte{wireVersion, kindRound1}
	out = binary.BigEndian.AppendUint16(out, r.From)
	out = append(out, byte(len(r.Commitments)))
	fields := append(slices.Clone(r.Commitments), r.ProofR, r.ProofZ)
	for _, f := range fields {
		if len(f) == 0 || len(f) > 255 {
			return nil, fmt.Errorf("%w: round 1: field of %d bytes", ErrMalformed, len(f))
		}
		out = append(out, byte(len(f)))
		out = append(out, f...)
	}
	return out, nil
}

// UnmarshalRound1 decodes a Round1 from untrusted bytes produced by
// Marshal. It checks the encoding only; VerifyRound1 checks the contents.
func UnmarshalRound1(b []byte) (*Round1, error) {
	d := decoder{b: b}
	if v, k := d.byte(), d.byte(); d.err == nil && (v != wireVersion || k != kindRound1) {
		return nil, fmt.Errorf("%w: round 1: version %d kind %d", ErrMalformed, v, k)
	}
	r := &Round1{From: d.uint16()}
	count := int(d.byte())
	if d.err == nil && (r.From == 0 || r.From > frost.MaxSigners || count == 0) {
		return nil, fmt.Errorf("%w: round 1: identifier %d, %d commitments", ErrMalformed, r.From, count)
	}
	for range count {
		if d.err != nil {
			break
		}
		r.Commitments = append(r.Commitments, d.field8())
	}
	r.ProofR = d.field8()
	r.ProofZ = d.field8()
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("%w: round 1: %v", ErrMalformed, err)
	}
	return r, nil
}

// Marshal encodes r in the package's binary wire format.
func (r *Round2) Marshal() ([]byte, error) {
	if r.From == 0 || r.From > frost.MaxSigners || r.To == 0 || r.To > frost.MaxSigners || r.From == r.To {
		return nil, fmt.Errorf("%w: round 2: from %d to %d", ErrMalformed, r.From, r.To)
	}
	if len(r.Ciphertext) == 0 || len(r.Ciphertext) > maxCiphertext {
		return nil, fmt.Errorf("%w: round 2: ciphertext of %d bytes", ErrMalformed, len(r.Ciphertext))
	}
	out := []byte{wireVersion, kindRound2}
	out = binary.BigEndian.AppendUint16(out, r.From)
	out = binary.BigEndian.AppendUint16(out, r.To)
	out = append(out, r.Transcript[:]...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(r.Ciphertext)))
	return append(out, r.Ciphertext...), nil
}

// UnmarshalRound2 decodes a Round2 from untrusted bytes produced by
// Marshal. It checks the encoding only; Finalize checks the contents.
func UnmarshalRound2(b []byte) (*Round2, error) {
	d := decoder{b: b}
	if v, k := d.byte(), d.byte(); d.err == nil && (v != wireVersion || k != kindRound2) {
		return nil, fmt.Errorf("%w: round 2: version %d kind %d", ErrMalformed, v, k)
	}
	r := &Round2{From: d.uint16(), To: d.uint16()}
	copy(r.Transcript[:], d.take(32))
	n := int(d.uint16())
	if d.err == nil && (r.From == 0 || r.From > frost.MaxSigners || r.To == 0 || r.To > frost.MaxSigners ||
		r.From == r.To || n == 0 || n > maxCiphertext) {
		return nil, fmt.Errorf("%w: round 2: from %d to %d, ciphertext of %d bytes", ErrMalformed, r.From, r.To, n)
	}
	r.Ciphertext = bytes.Clone(d.take(n))
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("%w: round 2: %v", ErrMalformed, err)
	}
	return r, nil
}

// decoder reads a strict binary encoding; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.err = fmt.Errorf("truncated: need %d bytes, have %d", n, len(d.b))
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	v := d.take(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (d *decoder) uint16() uint16 {
	v := d.take(2)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint16(v)
}

// field8 reads a non-empty field with a one-byte length prefix.
func (d *decoder) field8() []byte {
	n := int(d.byte())
	if d.err == nil && n == 0 {
		d.err = fmt.Errorf("empty field")
	}
	return bytes.Clone(d.take(n))
}

func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return d.err
}

// checkShape checks the round-1 set against s without decoding any element:
// one package per identifier 1..n, exactly t commitments, and encodings of
// the suite's sizes. It returns the well-shaped packages sorted by From (the
// first one of a duplicated identifier) and every misbehaviour found.
func checkShape(s Session, all []Round1) ([]Round1, []*MisbehaviourError) {
	var errs []*MisbehaviourError
	seen := make(map[uint16]bool, len(all))
	sorted := make([]Round1, 0, len(all))
	el, sc := s.Suite.ElementLength(), s.Suite.ScalarLength()
	for _, r := range all {
		switch {
		case r.From < 1 || r.From > s.N:
			errs = append(errs, misbehaved(r.From, fmt.Sprintf("identifier out of range 1..%d", s.N)))
			continue
		case seen[r.From]:
			errs = append(errs, misbehaved(r.From, "more than one round-1 package"))
			continue
		}
		seen[r.From] = true
		switch {
		case len(r.Commitments) != int(s.Threshold):
			errs = append(errs, misbehaved(r.From, fmt.Sprintf("%d commitments, want %d", len(r.Commitments), s.Threshold)))
			continue
		case len(r.ProofR) != el || len(r.ProofZ) != sc:
			errs = append(errs, misbehaved(r.From, "proof of knowledge has the wrong size"))
			continue
		}
		if k := slices.IndexFunc(r.Commitments, func(c []byte) bool { return len(c) != el }); k >= 0 {
			errs = append(errs, misbehaved(r.From, fmt.Sprintf("commitment %d has the wrong size", k)))
			continue
		}
		sorted = append(sorted, r)
	}
	for id := uint16(1); id <= s.N; id++ {
		if !seen[id] {
			errs = append(errs, misbehaved(id, "no round-1 package"))
		}
	}
	slices.SortFunc(sorted, func(a, b Round1) int { return int(a.From) - int(b.From) })
	return sorted, errs
}

const transcriptDST = "CUSTOS-DKG-v1-transcript"

// Transcript returns the SHA-256 hash of a domain-separated, length-prefixed
// encoding of s and of every round-1 package sorted by From. Before round 2
// every participant's hash must be the same (echo broadcast): the caller
// compares them and aborts on any difference. Transcript checks the shape of
// the set (one package per participant, t commitments, suite sizes) but not
// the proofs; VerifyRound1 does.
func Transcript(s Session, all []Round1) ([32]byte, error) {
	if err := s.Validate(); err != nil {
		return [32]byte{}, err
	}
	sorted, errs := checkShape(s, all)
	if err := joinMisbehaviour(errs); err != nil {
		return [32]byte{}, err
	}
	return transcript(s, sorted), nil
}

// transcript hashes a set already checked and sorted by checkShape.
func transcript(s Session, sorted []Round1) [32]byte {
	h := sha256.New()
	writeField(h, []byte(transcriptDST))
	h.Write(s.ID[:])
	var hdr []byte
	hdr = append(hdr, byte(s.Suite))
	hdr = binary.BigEndian.AppendUint16(hdr, s.Threshold)
	hdr = binary.BigEndian.AppendUint16(hdr, s.N)
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(sorted)))
	h.Write(hdr)
	for _, r := range sorted {
		var b []byte
		b = binary.BigEndian.AppendUint16(b, r.From)
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.Commitments)))
		h.Write(b)
		for _, c := range r.Commitments {
			writeField(h, c)
		}
		writeField(h, r.ProofR)
		writeField(h, r.ProofZ)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func writeField(h hash.Hash, f []byte) {
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(f))))
	h.Write(f)
}
