package dkg

import (
	"bytes"
	"errors"
	"testing"

	"github.com/custos-dev/custos/frost"
)

func TestMarshalRoundTrip(t *testing.T) {
	for _, suite := range []frost.Suite{frost.Ed25519, frost.Secp256k1} {
		c := newCeremony(t, suite, 2, 3)
		r1 := c.round1(t)
		_, r2 := c.round2(t, r1)
		for _, r := range r1 {
			b, err := r.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnmarshalRound1(b)
			if err != nil {
				t.Fatal(err)
			}
			if b2, _ := got.Marshal(); !bytes.Equal(b, b2) || got.From != r.From || len(got.Commitments) != 2 {
				t.Fatal("round 1 does not round-trip")
			}
		}
		for _, r := range r2 {
			b, err := r.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnmarshalRound2(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.From != r.From || got.To != r.To || got.Transcript != r.Transcript || !bytes.Equal(got.Ciphertext, r.Ciphertext) {
				t.Fatal("round 2 does not round-trip")
			}
		}
	}
}

func TestUnmarshalRound1(t *testing.T) {
	c := newCeremony(t, frost.Ed25519, 2, 3)
	good, _ := c.round1(t)[0].Marshal()
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		b    []byte
	}{
		{"fail/empty", nil},
		{"fail/version", edit(func(b []byte) []byte { b[0] = 2; return b })},
		{"fail/kind", edit(func(b []byte) []byte { b[1] = kindRound2; return b })},
		{"fail/from-0", edit(func(b []byte) []byte { b[2], b[3] = 0, 0; return b })},
		{"fail/from-256", edit(func(b []byte) []byte { b[2], b[3] = 1, 0; return b })},
		{"fail/no-commitments", edit(func(b []byte) []byte { b[4] = 0; return b })},
		{"fail/empty-field", edit(func(b []byte) []byte { b[5] = 0; return b })},
		{"fail/truncated", good[:len(good)-1]},
		{"fail/trailing", append(bytes.Clone(good), 0)},
		{"fail/count-too-high", edit(func(b []byte) []byte { b[4] = 3; return b })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := UnmarshalRound1(tc.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("UnmarshalRound1 = %v, want ErrMalformed", err)
			}
		})
	}
	bad := []Round1{
		{From: 0, Commitments: [][]byte{{1}}, ProofR: []byte{1}, ProofZ: []byte{1}},
		{From: 1, ProofR: []byte{1}, ProofZ: []byte{1}},
		{From: 1, Commitments: [][]byte{{}}, ProofR: []byte{1}, ProofZ: []byte{1}},
		{From: 1, Commitments: [][]byte{{1}}, ProofR: make([]byte, 256), ProofZ: []byte{1}},
	}
	for i, r := range bad {
		if _, err := r.Marshal(); !errors.Is(err, ErrMalformed) {
			t.Fatalf("Marshal(bad[%d]) = %v", i, err)
		}
	}
}

func TestUnmarshalRound2(t *testing.T) {
	c := newCeremony(t, frost.Ed25519, 2, 3)
	_, r2 := c.round2(t, c.round1(t))
	good, _ := r2[0].Marshal()
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		b    []byte
	}{
		{"fail/empty", nil},
		{"fail/version", edit(func(b []byte) []byte { b[0] = 0; return b })},
		{"fail/kind", edit(func(b []byte) []byte { b[1] = kindRound1; return b })},
		{"fail/from-0", edit(func(b []byte) []byte { b[2], b[3] = 0, 0; return b })},
		{"fail/to-0", edit(func(b []byte) []byte { b[4], b[5] = 0, 0; return b })},
		{"fail/from-is-to", edit(func(b []byte) []byte { b[4], b[5] = b[2], b[3]; return b })},
		{"fail/empty-ciphertext", edit(func(b []byte) []byte { b[38], b[39] = 0, 0; return b[:40] })},
		{"fail/huge-ciphertext", edit(func(b []byte) []byte { b[38], b[39] = 0xff, 0xff; return b })},
		{"fail/truncated", good[:len(good)-1]},
		{"fail/trailing", append(bytes.Clone(good), 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := UnmarshalRound2(tc.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("UnmarshalRound2 = %v, want ErrMalformed", err)
			}
		})
	}
	bad := []Round2{
		{From: 1, To: 1, Ciphertext: []byte{1}},
		{From: 0, To: 1, Ciphertext: []byte{1}},
		{From: 1, To: 2},
		{From: 1, To: 2, Ciphertext: make([]byte, maxCiphertext+1)},
	}
	for i, r := range bad {
		if _, err := r.Marshal(); !errors.Is(err, ErrMalformed) {
			t.Fatalf("Marshal(bad[%d]) = %v", i, err)
		}
	}
}

// decodeRoundTrip decodes b with unmarshal. It reports false for bytes
// that do not decode, after checking that the error matches ErrMalformed;
// what decodes must re-encode to b.
func decodeRoundTrip[M interface{ Marshal() ([]byte, error) }](t *testing.T, b []byte, unmarshal func([]byte) (M, error)) (M, bool) {
	t.Helper()
	m, err := unmarshal(b)
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v is not ErrMalformed", err)
		}
		return m, false
	}
	again, err := m.Marshal()
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-encoding differs: %x, %v", again, err)
	}
	return m, true
}

// FuzzUnmarshalRound1 decodes untrusted bytes: whatever decodes re-encodes
// to the same bytes, and checking it in place of an honest package never
// panics and either passes or names a participant.
func FuzzUnmarshalRound1(f *testing.F) {
	c := newCeremony(f, frost.Ed25519, 2, 3)
	honest := c.round1(f)
	for _, r := range honest {
		b, _ := r.Marshal()
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	r := *cloneRound1(&honest[1])
	r.Commitments = append(r.Commitments, edOrder8)
	b, _ := r.Marshal()
	f.Add(b)
	f.Add([]byte{wireVersion, kindRound1, 0, 1, 1, 1, 0, 1, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := decodeRoundTrip(t, b, UnmarshalRound1)
		if !ok {
			return
		}
		all := cloneSet(honest)
		if r.From >= 1 && r.From <= c.s.N {
			all = replace(all, *r)
		} else {
			all = append(all, *r)
		}
		if err := VerifyRound1(c.s, all); err != nil {
			if len(Culprits(err)) == 0 || !errors.Is(err, ErrMisbehaviour) {
				t.Fatalf("failure names no participant: %v", err)
			}
		} else if _, err := Transcript(c.s, all); err != nil {
			t.Fatalf("verified set has no transcript: %v", err)
		}
	})
}

// FuzzUnmarshalRound2 decodes untrusted bytes: whatever decodes re-encodes
// to the same bytes, and opening it as a share for participant 1 never
// panics; a share that is accepted is the honest one.
func FuzzUnmarshalRound2(f *testing.F) {
	c := newCeremony(f, frost.Ed25519, 2, 3)
	_, all := c.round2(f, c.round1(f))
	for _, r := range all {
		b, _ := r.Marshal()
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{wireVersion, kindRound2, 0, 2, 0, 1})
	p := c.p(1)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := decodeRoundTrip(t, b, UnmarshalRound2)
		if !ok {
			return
		}
		if r.From < 2 || r.From > c.s.N {
			return // Finalize refuses these before opening anything
		}
		share, m := p.openShare(*r)
		if m != nil {
			if m.Participant != r.From {
				t.Fatalf("names %d for a message from %d", m.Participant, r.From)
			}
			return
		}
		if !share.Equal(c.share(r.From, 1)) {
			t.Fatal("accepted a share other than the honest one")
		}
	})
}

// TestMulSmall checks the double-and-add multiplication against the group's
// scalar multiplication for every identifier.
func TestMulSmall(t *testing.T) {
	for _, suite := range []frost.Suite{frost.Ed25519, frost.Secp256k1} {
		g := suite.Group()
		e := g.Base().Multiply(g.NewScalar().Random())
		for x := uint16(0); x <= frost.MaxSigners; x++ {
			want := e.Copy().Multiply(g.NewScalar().SetUInt64(uint64(x)))
			if got := mulSmall(e.Copy(), x); !got.Equal(want) {
				t.Fatalf("%v: mulSmall(%d) differs", suite, x)
			}
		}
	}
}
