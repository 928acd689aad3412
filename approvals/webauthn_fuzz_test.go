package approvals

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"testing"
)

// fixedAuthenticators returns an ES256, an EdDSA and an RS256
// authenticator whose keys derive from fixed labels, so that every fuzzing
// process agrees on them; all share one credential id.
func fixedAuthenticators(t testing.TB) []*authenticator {
	t.Helper()
	id := sha256.Sum256([]byte("fuzz credential"))
	passkey := func(pub []byte) Passkey {
		return Passkey{ID: id[:16], PublicKey: pub, RPID: testRPID, Origins: []string{testOrigin}}
	}
	scalar := sha256.Sum256([]byte("fuzz es256"))
	ec, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar[:])
	if err != nil {
		t.Fatal(err)
	}
	pt, err := ec.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	seed := sha256.Sum256([]byte("fuzz eddsa"))
	ed := ed25519.NewKeyFromSeed(seed[:])
	rs, err := fixedRSAKey("fuzz rs256")
	if err != nil {
		t.Fatal(err)
	}
	return []*authenticator{
		{passkey: passkey(coseEC2(-7, 1, pt[1:33], pt[33:])), sign: func(signed []byte) []byte {
			d := sha256.Sum256(signed)
			sig, err := ecdsa.SignASN1(nil, ec, d[:])
			if err != nil {
				panic(err)
			}
			return sig
		}},
		{passkey: passkey(coseOKP(-8, 6, ed.Public().(ed25519.PublicKey))), sign: func(signed []byte) []byte { return ed25519.Sign(ed, signed) }},
		{passkey: passkey(coseRSA(-257, &rs.PublicKey)), sign: func(signed []byte) []byte {
			d := sha256.Sum256(signed)
			sig, err := rsa.SignPKCS1v15(nil, rs, crypto.SHA256, d[:])
			if err != nil {
				panic(err)
			}
			return sig
		}},
	}
}

// fixedRSAKey derives a 2048-bit RSA key from label (crypto/rsa always
// generates keys from fresh randomness).
func fixedRSAKey(label string) (*rsa.PrivateKey, error) {
	e := big.NewInt(65537)
	one := big.NewInt(1)
	prime := func(i int) *big.Int {
		var buf []byte
		for j := 0; len(buf) < 128; j++ {
			h := sha256.Sum256(fmt.Appendf(nil, "%s %d %d", label, i, j))
			buf = append(buf, h[:]...)
		}
		buf[0] |= 0xc0 // the product of two such primes has 2048 bits
		p := new(big.Int).SetBytes(buf[:128])
		p.SetBit(p, 0, 1)
		for !p.ProbablyPrime(20) || new(big.Int).GCD(nil, nil, e, new(big.Int).Sub(p, one)).Cmp(one) != 0 {
			p.Add(p, big.NewInt(2))
		}
		return p
	}
	p, q := prime(1), prime(2)
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: int(e.Int64())},
		D:         new(big.Int).ModInverse(e, phi),
		Primes:    []*big.Int{p, q},
	}
	k.Precompute()
	return k, k.Validate()
}

// FuzzVerifyAssertion: no input panics; every refusal wraps ErrMalformed
// or ErrBadSignature; and whatever is accepted is an approval of msg made
// with one of the seeds' keys, as a plain reading of its client data and
// authenticator data confirms.
func FuzzVerifyAssertion(f *testing.F) {
	msg := Message(testBinding(), Approve)
	sum := sha256.Sum256(msg)
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	rpIDHash := sha256.Sum256([]byte(testRPID))
	aus := fixedAuthenticators(f)
	keys := map[string]bool{}
	for _, au := range aus {
		k, err := parseCOSEKey(au.passkey.PublicKey)
		if err != nil {
			f.Fatal(err)
		}
		keys[k.identity()] = true
		a := au.assert(ceremonyFor(msg))
		if err := VerifyAssertion(au.passkey, msg, a); err != nil {
			f.Fatalf("seed does not verify: %v", err)
		}
		f.Add(au.passkey.PublicKey, a.CredentialID, a.AuthenticatorData, a.ClientDataJSON, a.Signature)
		f.Add(reencoded(au.passkey.PublicKey), a.CredentialID, a.AuthenticatorData, a.ClientDataJSON, a.Signature)
	}
	es := aus[0]
	withExt := ceremonyFor(msg)
	withExt.flags |= flagED
	withExt.ext = cborMapOf(cborTstr("credProtect"), cborInt(2))
	a := es.assert(withExt)
	f.Add(es.passkey.PublicKey, a.CredentialID, a.AuthenticatorData, a.ClientDataJSON, a.Signature)
	a = es.assert(ceremonyFor(Message(testBinding(), Reject)))
	f.Add(es.passkey.PublicKey, a.CredentialID, a.AuthenticatorData, a.ClientDataJSON, a.Signature)
	f.Add([]byte{0xbf}, []byte{}, []byte{}, []byte(`{"type":"webauthn.get","type":"x"}`), []byte{0x30, 0x00})
	id := es.passkey.ID

	f.Fuzz(func(t *testing.T, pub, credID, authData, clientData, sig []byte) {
		p := Passkey{ID: id, PublicKey: pub, RPID: testRPID, Origins: []string{testOrigin}}
		err := VerifyAssertion(p, msg, Assertion{CredentialID: credID, AuthenticatorData: authData, ClientDataJSON: clientData, Signature: sig})
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrBadSignature) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrBadSignature", err)
			}
			return
		}
		k, err := parseCOSEKey(pub)
		if err != nil || !keys[k.identity()] {
			t.Fatalf("accepted a key that is none of the seeds' (%v)", err)
		}
		if string(credID) != string(id) {
			t.Fatal("accepted another credential id")
		}
		var cd struct {
			Type        string `json:"type"`
			Challenge   string `json:"challenge"`
			Origin      string `json:"origin"`
			CrossOrigin *bool  `json:"crossOrigin"`
		}
		if err := json.Unmarshal(clientData, &cd); err != nil {
			t.Fatalf("accepted client data that is not JSON: %v", err)
		}
		if cd.Type != "webauthn.get" || cd.Challenge != challenge || cd.Origin != testOrigin || (cd.CrossOrigin != nil && *cd.CrossOrigin) {
			t.Fatalf("accepted client data %s", clientData)
		}
		if len(authData) < authDataMinLen || string(authData[:32]) != string(rpIDHash[:]) || authData[32]&(flagUP|flagUV) != flagUP|flagUV || authData[32]&flagAT != 0 {
			t.Fatalf("accepted authenticator data %x", authData)
		}
	})
}
