package frost

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"filippo.io/edwards25519"
	"github.com/bytemare/ecc"
)

type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

// vectorFile is the JSON layout of the RFC 9591 (cfrg poc) and the
// ZcashFoundation vectors; the group key is group_public_key in the former
// and verifying_key_key in the latter.
type vectorFile struct {
	Config struct {
		MaxParticipants string `json:"MAX_PARTICIPANTS"`
		MinParticipants string `json:"MIN_PARTICIPANTS"`
		Group           string `json:"group"`
	} `json:"config"`
	Inputs struct {
		ParticipantList   []uint16   `json:"participant_list"`
		GroupSecretKey    hexBytes   `json:"group_secret_key"`
		GroupPublicKey    hexBytes   `json:"group_public_key"`
		VerifyingKey      hexBytes   `json:"verifying_key_key"`
		Message           hexBytes   `json:"message"`
		Coefficients      []hexBytes `json:"share_polynomial_coefficients"`
		ParticipantShares []struct {
			Identifier uint16   `json:"identifier"`
			Share      hexBytes `json:"participant_share"`
		} `json:"participant_shares"`
	} `json:"inputs"`
	RoundOne struct {
		Outputs []struct {
			Identifier             uint16   `json:"identifier"`
			HidingNonceRandomness  hexBytes `json:"hiding_nonce_randomness"`
			BindingNonceRandomness hexBytes `json:"binding_nonce_randomness"`
			HidingNonce            hexBytes `json:"hiding_nonce"`
			BindingNonce           hexBytes `json:"binding_nonce"`
			HidingNonceCommitment  hexBytes `json:"hiding_nonce_commitment"`
			BindingNonceCommitment hexBytes `json:"binding_nonce_commitment"`
			BindingFactorInput     hexBytes `json:"binding_factor_input"`
			BindingFactor          hexBytes `json:"binding_factor"`
		} `json:"outputs"`
	} `json:"round_one_outputs"`
	RoundTwo struct {
		Outputs []struct {
			Identifier uint16   `json:"identifier"`
			SigShare   hexBytes `json:"sig_share"`
		} `json:"outputs"`
	} `json:"round_two_outputs"`
	FinalOutput struct {
		Sig hexBytes `json:"sig"`
	} `json:"final_output"`
}

func loadVector(t *testing.T, name string) *vectorFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &v
}

func TestVectors(t *testing.T) {
	for _, name := range []string{
		"frost-ed25519-sha512.json",
		"frost-secp256k1-sha256.json",
		"zcash-frost-ed25519-vectors.json",
		"zcash-frost-secp256k1-vectors.json",
	} {
		t.Run(name, func(t *testing.T) { runVector(t, loadVector(t, name)) })
	}
}

func runVector(t *testing.T, v *vectorFile) {
	suite, err := ParseSuite(v.Config.Group)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(v.Config.MaxParticipants)
	threshold, _ := strconv.Atoi(v.Config.MinParticipants)
	vk := v.Inputs.GroupPublicKey
	if vk == nil {
		vk = v.Inputs.VerifyingKey
	}
	msg := v.Inputs.Message

	// Key generation from the vector's polynomial (RFC 9591 Appendix C).
	coeffs := []*ecc.Scalar{mustScalar(t, suite, v.Inputs.GroupSecretKey)}
	for _, c := range v.Inputs.Coefficients {
		coeffs = append(coeffs, mustScalar(t, suite, c))
	}
	if len(coeffs) != threshold {
		t.Fatalf("%d coefficients for threshold %d", len(coeffs), threshold)
	}
	keys, err := dealerKeys(suite, coeffs, uint16(n))
	if err != nil {
		t.Fatal(err)
	}
	g := &keys[0].Group
	if !bytes.Equal(g.VerificationKey, vk) {
		t.Fatalf("group public key %x, want %x", g.VerificationKey, vk)
	}
	if len(v.Inputs.ParticipantShares) != n {
		t.Fatalf("%d participant shares, want %d", len(v.Inputs.ParticipantShares), n)
	}
	for _, ps := range v.Inputs.ParticipantShares {
		k := keys[ps.Identifier-1]
		if k.ID != ps.Identifier || !bytes.Equal(k.Secret, ps.Share) {
			t.Fatalf("share %d = %x, want %x", ps.Identifier, k.Secret, ps.Share)
		}
		if err := k.Validate(); err != nil {
			t.Fatalf("share %d: %v", k.ID, err)
		}
		// Public share cross-checked outside bytemare for Ed25519.
		if suite == Ed25519 {
			sc, err := edwards25519.NewScalar().SetCanonicalBytes(ps.Share)
			if err != nil {
				t.Fatal(err)
			}
			want := new(edwards25519.Point).ScalarBaseMult(sc).Bytes()
			if got, _ := g.Share(ps.Identifier); !bytes.Equal(got, want) {
				t.Fatalf("public share %d = %x, want %x", ps.Identifier, got, want)
			}
		}
	}

	// Round one with the vector's nonce randomness.
	ids := v.Inputs.ParticipantList
	if !slices.IsSorted(ids) {
		t.Fatalf("participant list %v not ascending", ids)
	}
	signers := make(map[uint16]*Signer)
	list := make([]Commitment, len(ids))
	for i, id := range ids {
		r1 := v.RoundOne.Outputs[i]
		if r1.Identifier != id {
			t.Fatalf("round one output %d is for %d, want %d", i, r1.Identifier, id)
		}
		s, err := NewSigner(keys[id-1])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		s.nonceRandom = func() ([]byte, []byte) {
			return slices.Clone(r1.HidingNonceRandomness), slices.Clone(r1.BindingNonceRandomness)
		}
		c, err := s.Commit()
		if err != nil {
			t.Fatal(err)
		}
		nonce := s.bms.NonceCommitments[c.ID]
		if got := nonce.HidingNonce.Encode(); !bytes.Equal(got, r1.HidingNonce) {
			t.Errorf("signer %d hiding nonce %x, want %x", id, got, r1.HidingNonce)
		}
		if got := nonce.BindingNonce.Encode(); !bytes.Equal(got, r1.BindingNonce) {
			t.Errorf("signer %d binding nonce %x, want %x", id, got, r1.BindingNonce)
		}
		if !bytes.Equal(c.Hiding, r1.HidingNonceCommitment) || !bytes.Equal(c.Binding, r1.BindingNonceCommitment) {
			t.Errorf("signer %d commitment (%x, %x), want (%x, %x)", id, c.Hiding, c.Binding,
				r1.HidingNonceCommitment, r1.BindingNonceCommitment)
		}
		signers[id] = s
		list[i] = c
	}
	if err := ValidateCommitmentList(g, list); err != nil {
		t.Fatal(err)
	}

	// Binding factors computed here, independently of bytemare (RFC 9591 §4.4).
	inputs, factors := bindingFactors(t, suite, vk, msg, list)
	for i, r1 := range v.RoundOne.Outputs {
		if !bytes.Equal(inputs[i], r1.BindingFactorInput) {
			t.Errorf("signer %d binding factor input\n got %x\nwant %x", r1.Identifier, inputs[i], r1.BindingFactorInput)
		}
		if !bytes.Equal(factors[i], r1.BindingFactor) {
			t.Errorf("signer %d binding factor %x, want %x", r1.Identifier, factors[i], r1.BindingFactor)
		}
	}

	// Round two.
	shares := make(map[uint16][]byte)
	for i, id := range ids {
		sh, err := signers[id].Sign(msg, list)
		if err != nil {
			t.Fatalf("Sign(%d): %v", id, err)
		}
		if want := v.RoundTwo.Outputs[i].SigShare; !bytes.Equal(sh, want) {
			t.Errorf("signer %d share %x, want %x", id, sh, want)
		}
		if err := VerifyShare(g, msg, list, id, sh); err != nil {
			t.Errorf("VerifyShare(%d): %v", id, err)
		}
		shares[id] = sh
	}

	sig, err := Aggregate(g, msg, list, shares)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sig, v.FinalOutput.Sig) {
		t.Fatalf("signature\n got %x\nwant %x", sig, v.FinalOutput.Sig)
	}
	if err := Verify(suite, vk, msg, v.FinalOutput.Sig); err != nil {
		t.Fatalf("Verify(vector signature): %v", err)
	}
	if suite == Ed25519 && !ed25519.Verify(ed25519.PublicKey(vk), msg, v.FinalOutput.Sig) {
		t.Fatal("crypto/ed25519.Verify refused the vector signature")
	}
	other := append(slices.Clone(msg), '!')
	if err := Verify(suite, vk, other, v.FinalOutput.Sig); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("Verify(other message) = %v, want ErrInvalidSignature", err)
	}
}

func mustScalar(t *testing.T, suite Suite, b []byte) *ecc.Scalar {
	t.Helper()
	s, err := suite.DecodeScalar(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// bindingFactors computes, per RFC 9591 §4.4 and the suites' H1/H4/H5
// (§6.1, §6.5), each participant's binding factor input and binding factor,
// with the standard library and filippo.io/edwards25519 only.
func bindingFactors(t *testing.T, suite Suite, vk, msg []byte, list []Commitment) (inputs, factors [][]byte) {
	t.Helper()
	var (
		ctx     string
		hash    func(parts ...[]byte) []byte
		h1      func(m []byte) []byte
		scalarN func(id uint16) []byte
	)
	switch suite {
	case Ed25519:
		ctx = "FROST-ED25519-SHA512-v1"
		hash = func(parts ...[]byte) []byte {
			h := sha512.New()
			for _, p := range parts {
				h.Write(p)
			}
			return h.Sum(nil)
		}
		h1 = func(m []byte) []byte {
			sc, err := edwards25519.NewScalar().SetUniformBytes(hash([]byte(ctx), []byte("rho"), m))
			if err != nil {
				t.Fatal(err)
			}
			return sc.Bytes()
		}
		scalarN = func(id uint16) []byte {
			b := make([]byte, 32)
			b[0], b[1] = byte(id), byte(id>>8)
			return b
		}
	case Secp256k1:
		ctx = "FROST-secp256k1-SHA256-v1"
		hash = func(parts ...[]byte) []byte {
			h := sha256.New()
			for _, p := range parts {
				h.Write(p)
			}
			return h.Sum(nil)
		}
		order, _ := new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)
		h1 = func(m []byte) []byte {
			// hash_to_field(m, 1), RFC 9380 §5.2: expand_message_xmd, L = 48.
			u := expandMessageXMD(m, []byte(ctx+"rho"), 48)
			return new(big.Int).Mod(new(big.Int).SetBytes(u), order).FillBytes(make([]byte, 32))
		}
		scalarN = func(id uint16) []byte {
			b := make([]byte, 32)
			b[30], b[31] = byte(id>>8), byte(id)
			return b
		}
	default:
		t.Fatalf("suite %v", suite)
	}

	var encoded []byte
	for _, c := range list {
		encoded = append(encoded, scalarN(c.Signer)...)
		encoded = append(encoded, c.Hiding...)
		encoded = append(encoded, c.Binding...)
	}
	prefix := slices.Concat(vk,
		hash([]byte(ctx), []byte("msg"), msg),
		hash([]byte(ctx), []byte("com"), encoded))
	for _, c := range list {
		in := slices.Concat(prefix, scalarN(c.Signer))
		inputs = append(inputs, in)
		factors = append(factors, h1(in))
	}
	return inputs, factors
}

// expandMessageXMD is RFC 9380 §5.3.1 with SHA-256.
func expandMessageXMD(msg, dst []byte, n int) []byte {
	dstPrime := append(slices.Clone(dst), byte(len(dst)))
	msgPrime := slices.Concat(make([]byte, 64), msg, []byte{byte(n >> 8), byte(n), 0}, dstPrime)
	b0 := sha256.Sum256(msgPrime)
	b := sha256.Sum256(slices.Concat(b0[:], []byte{1}, dstPrime))
	out := slices.Clone(b[:])
	for i := 2; len(out) < n; i++ {
		x := make([]byte, 32)
		for j := range x {
			x[j] = b0[j] ^ b[j]
		}
		b = sha256.Sum256(slices.Concat(x, []byte{byte(i)}, dstPrime))
		out = append(out, b[:]...)
	}
	return out[:n]
}

// TestTestdataProvenance checks every file against the sha256 recorded in
// testdata/PROVENANCE.md.
func TestTestdataProvenance(t *testing.T) {
	prov, err := os.ReadFile(filepath.Join("testdata", "PROVENANCE.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`(?m)^\| ([\w.-]+\.json) \|.*\| ([0-9a-f]{64}) \|$`).FindAllSubmatch(prov, -1)
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(files) || len(rows) == 0 {
		t.Fatalf("PROVENANCE.md lists %d files, testdata has %d", len(rows), len(files))
	}
	for _, r := range rows {
		b, err := os.ReadFile(filepath.Join("testdata", string(r[1])))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != string(r[2]) {
			t.Errorf("%s: sha256 %x, PROVENANCE.md says %s", r[1], sum, r[2])
		}
	}
}
