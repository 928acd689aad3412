package approvals

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The relying party of the tests, as a browser on a developer's machine
// reports it.
const (
	testRPID   = "127.0.0.1"
	testOrigin = "http://127.0.0.1:8080"
)

// Minimal CBOR encoding (RFC 8949), for the COSE keys of the software
// authenticator. It shares no code with the decoder under test.

func cborHead(major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return []byte{m | byte(n)}
	case n <= 0xff:
		return []byte{m | 24, byte(n)}
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16([]byte{m | 25}, uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32([]byte{m | 26}, uint32(n))
	default:
		return binary.BigEndian.AppendUint64([]byte{m | 27}, n)
	}
}

func cborInt(v int64) []byte {
	if v >= 0 {
		return cborHead(0, uint64(v))
	}
	return cborHead(1, uint64(-1-v))
}

func cborBstr(b []byte) []byte { return append(cborHead(2, uint64(len(b))), b...) }

func cborTstr(s string) []byte { return append(cborHead(3, uint64(len(s))), s...) }

// cborMapOf encodes a map of the encoded labels and values given in turn.
func cborMapOf(items ...[]byte) []byte {
	return slices.Concat(append([][]byte{cborHead(5, uint64(len(items)/2))}, items...)...)
}

// coseEC2 is the COSE_Key of a P-256 key as authenticators encode it.
func coseEC2(alg, crv int64, x, y []byte) []byte {
	return cborMapOf(cborInt(1), cborInt(2), cborInt(3), cborInt(alg), cborInt(-1), cborInt(crv), cborInt(-2), cborBstr(x), cborInt(-3), cborBstr(y))
}

func coseOKP(alg, crv int64, x []byte) []byte {
	return cborMapOf(cborInt(1), cborInt(1), cborInt(3), cborInt(alg), cborInt(-1), cborInt(crv), cborInt(-2), cborBstr(x))
}

func coseRSA(alg int64, pub *rsa.PublicKey) []byte {
	return cborMapOf(cborInt(1), cborInt(3), cborInt(3), cborInt(alg), cborInt(-1), cborBstr(pub.N.Bytes()), cborInt(-2), cborBstr(big.NewInt(int64(pub.E)).Bytes()))
}

// rsaKey returns an RSA key of the given size, generated once per test
// binary.
var rsaKey = func() func(bits int) *rsa.PrivateKey {
	var mu sync.Mutex
	keys := map[int]*rsa.PrivateKey{}
	return func(bits int) *rsa.PrivateKey {
		mu.Lock()
		defer mu.Unlock()
		if keys[bits] == nil {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				panic(err)
			}
			keys[bits] = k
		}
		return keys[bits]
	}
}()

// authenticator is a software WebAuthn authenticator and browser in one:
// it holds a credential and makes assertions as navigator.credentials.get
// returns them.
type authenticator struct {
	passkey Passkey
	sign    func(signed []byte) []byte
	counter uint32
}

// newAuthenticator returns an authenticator with a fresh credential for alg
// ("es256", "eddsa", "rs256" or "rs256-1024"), registered under testRPID
// and testOrigin.
func newAuthenticator(t testing.TB, label, alg string) *authenticator {
	t.Helper()
	id := sha256.Sum256([]byte("credential " + label))
	au := &authenticator{passkey: Passkey{ID: id[:16], RPID: testRPID, Origins: []string{testOrigin}}}
	switch alg {
	case "es256":
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := priv.PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		au.passkey.PublicKey = coseEC2(-7, 1, pt[1:33], pt[33:])
		au.sign = func(signed []byte) []byte {
			d := sha256.Sum256(signed)
			sig, err := ecdsa.SignASN1(rand.Reader, priv, d[:])
			if err != nil {
				panic(err)
			}
			return sig
		}
	case "eddsa":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		au.passkey.PublicKey = coseOKP(-8, 6, pub)
		au.sign = func(signed []byte) []byte { return ed25519.Sign(priv, signed) }
	case "rs256", "rs256-1024":
		bits := 2048
		if alg == "rs256-1024" {
			bits = 1024
		}
		priv := rsaKey(bits)
		au.passkey.PublicKey = coseRSA(-257, &priv.PublicKey)
		au.sign = func(signed []byte) []byte {
			d := sha256.Sum256(signed)
			sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d[:])
			if err != nil {
				panic(err)
			}
			return sig
		}
	default:
		t.Fatalf("unknown algorithm %q", alg)
	}
	return au
}

// ceremony is what the browser and the authenticator put into one
// assertion; a ceremony from ceremonyFor is what a
// browser runs for an approval.
type ceremony struct {
	typ, challenge, origin string
	crossOrigin            string // raw JSON value, "" to leave the member out
	extra                  string // raw JSON members appended to the client data
	rpID                   string
	flags                  byte
	ext                    []byte // extension data after the fixed authenticator data
	clientData             string // if not empty, the client data verbatim
}

// ceremonyFor returns the ceremony a browser runs for msg.
func ceremonyFor(msg []byte) ceremony {
	c := sha256.Sum256(msg)
	return ceremony{typ: "webauthn.get", challenge: base64.RawURLEncoding.EncodeToString(c[:]), origin: testOrigin,
		crossOrigin: "false", rpID: testRPID, flags: flagUP | flagUV}
}

func jsonText(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// assert runs c and signs, as the authenticator does.
func (au *authenticator) assert(c ceremony) Assertion {
	cd := `{"type":` + jsonText(c.typ) + `,"challenge":` + jsonText(c.challenge) + `,"origin":` + jsonText(c.origin)
	if c.crossOrigin != "" {
		cd += `,"crossOrigin":` + c.crossOrigin
	}
	cd += c.extra + "}"
	if c.clientData != "" {
		cd = c.clientData
	}
	rp := sha256.Sum256([]byte(c.rpID))
	au.counter++
	ad := binary.BigEndian.AppendUint32(append(rp[:], c.flags), au.counter)
	ad = append(ad, c.ext...)
	cdHash := sha256.Sum256([]byte(cd))
	return Assertion{CredentialID: bytes.Clone(au.passkey.ID), AuthenticatorData: ad, ClientDataJSON: []byte(cd),
		Signature: au.sign(slices.Concat(ad, cdHash[:]))}
}

// approve returns the assertion a browser makes for decision on b.
func (au *authenticator) approve(b Binding, decision string) Assertion {
	return au.assert(ceremonyFor(Message(b, decision)))
}

// passkeyHolder is an approver who votes with a passkey.
type passkeyHolder struct {
	Approver
	au *authenticator
}

// newPasskeyHolder returns an approver with one passkey and no Ed25519 key.
func newPasskeyHolder(t testing.TB, id, role, alg string) passkeyHolder {
	au := newAuthenticator(t, id, alg)
	return passkeyHolder{Approver: Approver{ID: id, Name: "user " + id, Role: role, Passkeys: []Passkey{au.passkey}}, au: au}
}

// vote approves or rejects b with the passkey.
func (h passkeyHolder) vote(b Binding, decision string) Vote {
	a := h.au.approve(b, decision)
	return Vote{ApproverID: h.ID, Decision: decision, Assertion: &a}
}

// reencoded returns the COSE key k with one more label (2, kid): the same
// key in other bytes.
func reencoded(k []byte) []byte {
	return slices.Concat([]byte{k[0] + 1}, k[1:], cborInt(2), cborBstr([]byte("kid")))
}

func TestChallenge(t *testing.T) {
	b := testBinding()
	want := sha256.Sum256(Message(b, Approve))
	if got := Challenge(b, Approve); !bytes.Equal(got, want[:]) {
		t.Fatalf("Challenge = %x, want SHA-256 of the message %x", got, want)
	}
	if bytes.Equal(Challenge(b, Approve), Challenge(b, Reject)) {
		t.Fatal("approve and reject have the same challenge")
	}
}

func TestVerifyAssertion(t *testing.T) {
	b := testBinding()
	msg := Message(b, Approve)
	other := testBinding()
	other.RequestID = "another-request"
	es := newAuthenticator(t, "es", "es256")
	ed := newAuthenticator(t, "ed", "eddsa")
	rs := newAuthenticator(t, "rs", "rs256")
	rs1024 := newAuthenticator(t, "rs1024", "rs256-1024")
	with := func(f func(c *ceremony)) ceremony {
		c := ceremonyFor(msg)
		f(&c)
		return c
	}
	good := es.assert(ceremonyFor(msg))
	post := func(f func(a *Assertion)) Assertion {
		a := good.clone()
		f(&a)
		return a
	}
	key := func(k []byte) func(p *Passkey) { return func(p *Passkey) { p.PublicKey = k } }
	pt, _ := hex.DecodeString(strings.Repeat("01", 32))
	x, y := es.passkey.PublicKey[10:42], es.passkey.PublicKey[45:77] // see coseEC2
	edX := ed.passkey.PublicKey[10:42]
	twoOrigins := func(p *Passkey) { p.Origins = []string{testOrigin, "http://127.0.0.1:8081"} }
	ext := cborMapOf(cborTstr("hmac-secret"), cborBstr(make([]byte, 32)))

	for _, tc := range []struct {
		name    string
		au      *authenticator // whose passkey verifies; es if nil
		passkey func(p *Passkey)
		msg     []byte // msg if nil
		a       Assertion
		want    error
	}{
		{name: "ok/es256", a: good},
		{name: "ok/eddsa", au: ed, a: ed.assert(ceremonyFor(msg))},
		{name: "ok/rs256", au: rs, a: rs.assert(ceremonyFor(msg))},
		{name: "ok/reject", msg: Message(b, Reject), a: es.approve(b, Reject)},
		{name: "ok/extension-data", a: es.assert(with(func(c *ceremony) { c.flags |= flagED; c.ext = ext }))},
		{name: "ok/backed-up", a: es.assert(with(func(c *ceremony) { c.flags |= flagBE | flagBS }))},
		{name: "ok/extra-client-data-member", a: es.assert(with(func(c *ceremony) {
			c.extra = `,"other_keys_can_be_added_here":"do not compare clientDataJSON against a template. See https://goo.gl/yabPex"`
		}))},
		{name: "ok/cross-origin-absent", a: es.assert(with(func(c *ceremony) { c.crossOrigin = "" }))},
		{name: "ok/second-origin", passkey: twoOrigins, a: es.assert(with(func(c *ceremony) { c.origin = "http://127.0.0.1:8081" }))},
		{name: "ok/cose-key-with-another-label", passkey: key(reencoded(es.passkey.PublicKey)), a: good},

		// Bound to the request and the decision.
		{name: "fail/other-request", msg: Message(other, Approve), a: good, want: ErrBadSignature},
		{name: "fail/approve-presented-as-reject", msg: Message(b, Reject), a: good, want: ErrBadSignature},
		{name: "fail/challenge-of-other-request", a: es.assert(ceremonyFor(Message(other, Approve))), want: ErrBadSignature},
		{name: "fail/challenge-padded", a: es.assert(with(func(c *ceremony) { c.challenge += "=" })), want: ErrBadSignature},
		{name: "fail/challenge-not-hashed", a: es.assert(with(func(c *ceremony) { c.challenge = base64.RawURLEncoding.EncodeToString(msg) })), want: ErrBadSignature},

		// Altered after signing.
		{name: "fail/authenticator-data-bit", a: post(func(a *Assertion) { a.AuthenticatorData = flip(a.AuthenticatorData, 36) }), want: ErrBadSignature},
		{name: "fail/client-data-origin-altered", passkey: twoOrigins, a: post(func(a *Assertion) {
			a.ClientDataJSON = bytes.Replace(a.ClientDataJSON, []byte(":8080"), []byte(":8081"), 1)
		}), want: ErrBadSignature},
		{name: "fail/client-data-type-altered", a: post(func(a *Assertion) {
			a.ClientDataJSON = bytes.Replace(a.ClientDataJSON, []byte("webauthn.get"), []byte("webauthn.create"), 1)
		}), want: ErrBadSignature},
		{name: "fail/signature-bit-es256", a: post(func(a *Assertion) { a.Signature = flip(a.Signature, len(a.Signature)-1) }), want: ErrBadSignature},
		{name: "fail/signature-bit-eddsa", au: ed, a: func() Assertion {
			a := ed.assert(ceremonyFor(msg))
			a.Signature = flip(a.Signature, 5)
			return a
		}(), want: ErrBadSignature},
		{name: "fail/signature-bit-rs256", au: rs, a: func() Assertion {
			a := rs.assert(ceremonyFor(msg))
			a.Signature = flip(a.Signature, 100)
			return a
		}(), want: ErrBadSignature},
		{name: "fail/signature-trailing-byte", a: post(func(a *Assertion) { a.Signature = append(a.Signature, 0) }), want: ErrBadSignature},
		{name: "fail/signature-empty", a: post(func(a *Assertion) { a.Signature = nil }), want: ErrBadSignature},
		{name: "fail/signature-of-another-credential", a: post(func(a *Assertion) {
			a.Signature = newAuthenticator(t, "es", "es256").assert(ceremonyFor(msg)).Signature
		}), want: ErrBadSignature},
		{name: "fail/unknown-credential-id", a: post(func(a *Assertion) { a.CredentialID = flip(a.CredentialID, 0) }), want: ErrBadSignature},
		{name: "fail/truncated-authenticator-data", a: post(func(a *Assertion) { a.AuthenticatorData = a.AuthenticatorData[:36] }), want: ErrMalformed},
		{name: "fail/empty-authenticator-data", a: post(func(a *Assertion) { a.AuthenticatorData = nil }), want: ErrMalformed},
		{name: "fail/rp-id-hash-bit", a: post(func(a *Assertion) { a.AuthenticatorData = flip(a.AuthenticatorData, 0) }), want: ErrBadSignature},

		// Signed, but not what an approval must be.
		{name: "fail/type-create", a: es.assert(with(func(c *ceremony) { c.typ = "webauthn.create" })), want: ErrBadSignature},
		{name: "fail/origin-not-allowed", a: es.assert(with(func(c *ceremony) { c.origin = "https://evil.example" })), want: ErrBadSignature},
		{name: "fail/origin-with-slash", a: es.assert(with(func(c *ceremony) { c.origin = testOrigin + "/" })), want: ErrBadSignature},
		{name: "fail/origin-other-port", a: es.assert(with(func(c *ceremony) { c.origin = "http://127.0.0.1:8081" })), want: ErrBadSignature},
		{name: "fail/cross-origin", a: es.assert(with(func(c *ceremony) { c.crossOrigin = "true" })), want: ErrBadSignature},
		{name: "fail/top-origin", a: es.assert(with(func(c *ceremony) { c.extra = `,"topOrigin":"https://evil.example"` })), want: ErrBadSignature},
		{name: "fail/wrong-rp-id", a: es.assert(with(func(c *ceremony) { c.rpID = "evil.example" })), want: ErrBadSignature},
		{name: "fail/user-not-present", a: es.assert(with(func(c *ceremony) { c.flags = flagUV })), want: ErrBadSignature},
		{name: "fail/user-not-verified", a: es.assert(with(func(c *ceremony) { c.flags = flagUP })), want: ErrBadSignature},
		{name: "fail/attested-data-flag", a: es.assert(with(func(c *ceremony) { c.flags |= flagAT })), want: ErrBadSignature},
		{name: "fail/backed-up-not-eligible", a: es.assert(with(func(c *ceremony) { c.flags |= flagBS })), want: ErrBadSignature},
		{name: "fail/extension-flag-without-data", a: es.assert(with(func(c *ceremony) { c.flags |= flagED })), want: ErrMalformed},
		{name: "fail/extension-data-without-flag", a: es.assert(with(func(c *ceremony) { c.ext = ext })), want: ErrMalformed},
		{name: "fail/extension-data-not-a-map", a: es.assert(with(func(c *ceremony) { c.flags |= flagED; c.ext = cborBstr([]byte("x")) })), want: ErrMalformed},
		{name: "fail/extension-data-trailing", a: es.assert(with(func(c *ceremony) { c.flags |= flagED; c.ext = append(slices.Clone(ext), 0) })), want: ErrMalformed},
		{name: "fail/extension-data-indefinite", a: es.assert(with(func(c *ceremony) { c.flags |= flagED; c.ext = []byte{0xbf, 0xff} })), want: ErrMalformed},
		{name: "fail/extension-data-truncated", a: es.assert(with(func(c *ceremony) { c.flags |= flagED; c.ext = ext[:len(ext)-1] })), want: ErrMalformed},

		// Client data that a browser does not produce.
		{name: "fail/duplicate-type", a: es.assert(with(func(c *ceremony) { c.extra = `,"type":"webauthn.create"` })), want: ErrMalformed},
		{name: "fail/duplicate-type-escaped", a: es.assert(with(func(c *ceremony) { c.extra = `,"typ\u0065":"webauthn.get"` })), want: ErrMalformed},
		{name: "fail/duplicate-type-other-case", a: es.assert(with(func(c *ceremony) { c.extra = `,"TYPE":"webauthn.create"` })), want: ErrMalformed},
		{name: "fail/too-many-members", a: es.assert(with(func(c *ceremony) {
			for i := range 30 {
				c.extra += `,"m` + strconv.Itoa(i) + `":0`
			}
		})), want: ErrMalformed},
		{name: "ok/many-members", a: es.assert(with(func(c *ceremony) {
			for i := range 28 {
				c.extra += `,"m` + strconv.Itoa(i) + `":0`
			}
		}))},
		{name: "fail/duplicate-challenge", a: es.assert(with(func(c *ceremony) { c.extra = `,"challenge":"x"` })), want: ErrMalformed},
		{name: "fail/type-in-upper-case", a: es.assert(with(func(c *ceremony) {
			c.clientData = `{"Type":"webauthn.get","challenge":"` + c.challenge + `","origin":"` + testOrigin + `"}`
		})), want: ErrMalformed},
		{name: "fail/type-null", a: es.assert(with(func(c *ceremony) {
			c.clientData = `{"type":null,"challenge":"` + c.challenge + `","origin":"` + testOrigin + `"}`
		})), want: ErrMalformed},
		{name: "fail/challenge-not-a-string", a: es.assert(with(func(c *ceremony) {
			c.clientData = `{"type":"webauthn.get","challenge":["` + c.challenge + `"],"origin":"` + testOrigin + `"}`
		})), want: ErrMalformed},
		{name: "fail/cross-origin-string", a: es.assert(with(func(c *ceremony) { c.crossOrigin = `"false"` })), want: ErrMalformed},
		{name: "fail/cross-origin-null", a: es.assert(with(func(c *ceremony) { c.crossOrigin = `null` })), want: ErrMalformed},
		{name: "fail/client-data-trailing", a: es.assert(with(func(c *ceremony) { c.clientData = string(good.ClientDataJSON) + "{}" })), want: ErrMalformed},
		{name: "fail/client-data-array", a: es.assert(with(func(c *ceremony) { c.clientData = "[" + string(good.ClientDataJSON) + "]" })), want: ErrMalformed},
		{name: "fail/client-data-not-utf8", a: es.assert(with(func(c *ceremony) { c.extra = `,"x":"` + "\xff" + `"` })), want: ErrMalformed},
		{name: "fail/client-data-unterminated", a: es.assert(with(func(c *ceremony) { c.clientData = string(good.ClientDataJSON[:len(good.ClientDataJSON)-1]) })), want: ErrMalformed},

		// Passkey records that cannot verify.
		{name: "fail/es256-key-on-p384", passkey: key(coseEC2(-7, 2, x, y)), a: good, want: ErrMalformed},
		{name: "fail/es256-key-on-ed25519", passkey: key(coseEC2(-7, 6, x, y)), a: good, want: ErrMalformed},
		{name: "fail/es256-key-without-curve", passkey: key(cborMapOf(cborInt(1), cborInt(2), cborInt(3), cborInt(-7), cborInt(-2), cborBstr(x), cborInt(-3), cborBstr(y))), a: good, want: ErrMalformed},
		{name: "fail/ec2-key-with-eddsa-alg", passkey: key(coseEC2(-8, 1, x, y)), a: good, want: ErrMalformed},
		{name: "fail/es384-key", passkey: key(coseEC2(-35, 2, append(slices.Clone(x), x[:16]...), append(slices.Clone(y), y[:16]...))), a: good, want: ErrMalformed},
		{name: "fail/okp-key-with-es256-alg", au: ed, passkey: key(coseOKP(-7, 6, edX)), a: ed.assert(ceremonyFor(msg)), want: ErrMalformed},
		{name: "fail/okp-key-on-x25519", au: ed, passkey: key(coseOKP(-8, 4, edX)), a: ed.assert(ceremonyFor(msg)), want: ErrMalformed},
		{name: "fail/okp-key-short", au: ed, passkey: key(coseOKP(-8, 6, edX[:31])), a: ed.assert(ceremonyFor(msg)), want: ErrMalformed},
		{name: "fail/rsa-key-with-es256-alg", au: rs, passkey: key(coseRSA(-7, &rsaKey(2048).PublicKey)), a: rs.assert(ceremonyFor(msg)), want: ErrMalformed},
		{name: "fail/rsa-1024", au: rs1024, a: rs1024.assert(ceremonyFor(msg)), want: ErrMalformed},
		{name: "fail/rsa-even-exponent", au: rs, passkey: key(cborMapOf(cborInt(1), cborInt(3), cborInt(3), cborInt(-257),
			cborInt(-1), cborBstr(rsaKey(2048).N.Bytes()), cborInt(-2), cborBstr([]byte{1, 0, 0}))), a: rs.assert(ceremonyFor(msg)), want: ErrMalformed},
		{name: "fail/point-not-on-curve", passkey: key(coseEC2(-7, 1, pt, pt)), a: good, want: ErrMalformed},
		{name: "fail/coordinate-as-text", passkey: key(cborMapOf(cborInt(1), cborInt(2), cborInt(3), cborInt(-7), cborInt(-1), cborInt(1),
			cborInt(-2), cborTstr(string(x)), cborInt(-3), cborBstr(y))), a: good, want: ErrMalformed},
		{name: "fail/cose-garbage", passkey: key([]byte("not a key")), a: good, want: ErrMalformed},
		{name: "fail/cose-empty", passkey: key(nil), a: good, want: ErrMalformed},
		{name: "fail/cose-array", passkey: key(slices.Concat(cborHead(4, 1), cborInt(2))), a: good, want: ErrMalformed},
		{name: "fail/cose-trailing-byte", passkey: key(append(slices.Clone(es.passkey.PublicKey), 0)), a: good, want: ErrMalformed},
		{name: "fail/cose-truncated", passkey: key(es.passkey.PublicKey[:len(es.passkey.PublicKey)-1]), a: good, want: ErrMalformed},
		{name: "fail/cose-duplicate-label", passkey: key(slices.Concat([]byte{es.passkey.PublicKey[0] + 1}, es.passkey.PublicKey[1:], cborInt(3), cborInt(-8))), a: good, want: ErrMalformed},
		{name: "fail/cose-duplicate-label-long-form", passkey: key(slices.Concat([]byte{es.passkey.PublicKey[0] + 1}, es.passkey.PublicKey[1:], []byte{0x18, 3}, cborInt(-7))), a: good, want: ErrMalformed},
		{name: "fail/cose-indefinite-map", passkey: key(slices.Concat([]byte{0xbf}, es.passkey.PublicKey[1:], []byte{0xff})), a: good, want: ErrMalformed},
		{name: "fail/cose-deep-nesting", passkey: key(slices.Concat([]byte{es.passkey.PublicKey[0] + 1}, es.passkey.PublicKey[1:], cborInt(9), bytes.Repeat([]byte{0x81}, 100), cborInt(0))), a: good, want: ErrMalformed},
		{name: "fail/passkey-without-id", passkey: func(p *Passkey) { p.ID = nil }, a: post(func(a *Assertion) { a.CredentialID = nil }), want: ErrMalformed},
		{name: "fail/passkey-without-rp-id", passkey: func(p *Passkey) { p.RPID = "" }, a: good, want: ErrMalformed},
		{name: "fail/passkey-without-origins", passkey: func(p *Passkey) { p.Origins = nil }, a: good, want: ErrMalformed},
		{name: "fail/passkey-origin-with-path", passkey: func(p *Passkey) { p.Origins = []string{testOrigin + "/"} }, a: good, want: ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			au := tc.au
			if au == nil {
				au = es
			}
			p := au.passkey.clone()
			if tc.passkey != nil {
				tc.passkey(&p)
			}
			m := tc.msg
			if m == nil {
				m = msg
			}
			for range 2 { // the second time may be answered from memory
				checkErr(t, "VerifyAssertion", VerifyAssertion(p, m, tc.a), tc.want)
			}
		})
	}
}

// TestVerifyAssertionRemembers: a verified assertion is remembered for
// exactly its inputs; a failure is never remembered.
func TestVerifyAssertionRemembers(t *testing.T) {
	au := newAuthenticator(t, "memo", "es256")
	msg := Message(testBinding(), Approve)
	a := au.assert(ceremonyFor(msg))
	before := verified.Len()
	for range 2 {
		if err := VerifyAssertion(au.passkey, msg, a); err != nil {
			t.Fatal(err)
		}
	}
	if verified.Len() != before+1 {
		t.Fatalf("%d entries remembered for one assertion", verified.Len()-before)
	}
	otherOrigin := au.passkey.clone()
	otherOrigin.Origins = []string{"https://evil.example"}
	otherRP := au.passkey.clone()
	otherRP.RPID = "evil.example"
	for _, tc := range []struct {
		name string
		p    Passkey
		msg  []byte
		a    Assertion
	}{
		{"another message", au.passkey, Message(testBinding(), Reject), a},
		{"another origin", otherOrigin, msg, a},
		{"another relying party", otherRP, msg, a},
		{"another signature", au.passkey, msg, Assertion{a.CredentialID, a.AuthenticatorData, a.ClientDataJSON, flip(a.Signature, 8)}},
		{"another counter", au.passkey, msg, Assertion{a.CredentialID, flip(a.AuthenticatorData, 36), a.ClientDataJSON, a.Signature}},
	} {
		for range 2 {
			if err := VerifyAssertion(tc.p, tc.msg, tc.a); err == nil {
				t.Fatalf("%s: accepted", tc.name)
			}
		}
	}
	if verified.Len() != before+1 {
		t.Fatal("a failed verification was remembered")
	}
}

// w3cVectors are the authentication test vectors of the W3C WebAuthn Level 3
// editor's draft, §16 (relying party example.org, origin https://example.org),
// with what an approval check makes of each: most were made without user
// verification, or cross-origin, and are refused for it although their
// signatures verify.
var w3cVectors = []struct {
	name                                                                             string
	want                                                                             error
	credentialID, publicKey, challenge, authenticatorData, clientDataJSON, signature string
}{
	{ // §16.2 None Attestation - ES256 (Authentication)
		name: "NoneES256", want: ErrBadSignature,
		credentialID:      "f91f391db4c9b2fde0ea70189cba3fb63f579ba6122b33ad94ff3ec330084be4",
		publicKey:         "a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220",
		challenge:         "39c0e7521417ba54d43e8dc95174f423dee9bf3cd804ff6d65c857c9abf4d408",
		authenticatorData: "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b51900000000",
		clientDataJSON:    "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a224f63446e55685158756c5455506f334a5558543049393770767a7a59425039745a63685879617630314167222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d",
		signature:         "3046022100f50a4e2e4409249c4a853ba361282f09841df4dd4547a13a87780218deffcd380221008480ac0f0b93538174f575bf11a1dd5d78c6e486013f937295ea13653e331e87",
	},
	{ // §16.3 Self Attestation (Packed) - ES256 (Authentication)
		name: "PackedSelfES256", want: ErrBadSignature,
		credentialID:      "455ef34e2043a87db3d4afeb39bbcb6cc32df9347c789a865ecdca129cbef58c",
		publicKey:         "a5010203262001215820eb151c8176b225cc651559fecf07af450fd85802046656b34c18f6cf193843c5225820927b8aa427a2be1b8834d233a2d34f61f13bfd44119c325d5896e183fee484f2",
		challenge:         "4478a10b1352348dd160c1353b0d469b5db19eb91c27f7dfa6fed39fe26af20b",
		authenticatorData: "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50900000000",
		clientDataJSON:    "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a225248696843784e534e493352594d45314f7731476d3132786e726b634a5f6666707637546e2d4a71386773222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a206754623533727a36456853576f6d58477a696d433151227d",
		signature:         "304402203310b9431903c401f1be2bdc8d23a4007682dbbddcf846994947b7f465daf84002204e94dd00047b316061b3b99772b7efd95994a83ef584b3b6b825ea3550251b66",
	},
	{ // §16.4 None Attestation - ES256 - Cross Origin
		name: "NoneES256CrossOrigin", want: ErrBadSignature,
		credentialID:      "6e1050c0d2ca2f07c755cb2c66a74c64fa43065c18f938354d9915db2bd5ce57",
		publicKey:         "a501020326200121582022200a473f90b11078851550d03b4e44a2279f8c4eca27b3153dedfe03e4e97d225820cbd0be95e746ad6f5a8191be11756e4c0420e72f65b466d39bc56b8b123a9c6e",
		challenge:         "876aa517ba83fdee65fcffdbca4c84eeae5d54f8041a1fc85c991e5bbb273137",
		authenticatorData: "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50500000000",
		clientDataJSON:    "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a226832716c463771445f65356c5f505f62796b7945377135645650674547685f49584a6b655737736e4d5463222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a747275652c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a2039327063545644304162792d713464746d6a36656667227d",
		signature:         "3046022100eb12fcf23b12764c0f122e22371fab92e283879fd798f38ee1841c951b6e40e7022100c76237ff9db77b3c56f30837cda6a09acfa2e915544e609c0733b1184036d1cf",
	},
	{ // §16.5 None Attestation - ES256 - Top Origin
		name: "NoneES256TopOrigin", want: ErrBadSignature,
		credentialID:      "b8ad59b996047ab18e2ceb57206c362da57458793481f4a8ebf101c7ca7cc0f1",
		publicKey:         "a5010203262001215820a1c47c1d82da4ebe82cd72207102b380670701993bc35398ae2e5726427fe01d22582086c1080d82987028c7f54ecb1b01185de243b359294a0ed210cd47480f0adc88",
		challenge:         "d54a5c8ca4b62a8e3bb321e3b2bc73856f85a10150db2939ac195739eb1ea066",
		authenticatorData: "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50500000000",
		clientDataJSON:    "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a22315570636a4b53324b6f34377379486a7372787a68572d466f51465132796b3572426c584f6573656f4759222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a747275652c22746f704f726967696e223a2268747470733a2f2f6578616d706c652e636f6d222c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a205569466f4a4d56525148444146574669347678557051227d",
		signature:         "3045022100b5a70c81780d5fcc9a4f2ae9caae99058f8accaf58b91fb59329646c28ac6ffc022012e101c165db3c8e9957f0c54dd6ca9b56bc3bd2f280bd2faa6c1d02c6e5c171",
	},
	{ // §16.6 None Attestation - ES256 - Long Credential ID
		name: "NoneES256LongCredentialID", want: nil,
		credentialID:      "3a761a4e1674ad6c4305869435c0eee9c286172c229bb91b48b4ada140c0863417031305cce5b4a27a88d7fe728a5f5a627de771b4b40e77f187980c124f9fe832d7136010436a056cce716680587d23187cf1fc2c62ae86fc3e508ee9617ffc74fbc10488ec16ec5e9096328669a898709b655e549738c666c1ae6281dc3b5f733c251d3eefb76ee70a3805ca91bcc18e49c8dc7f63ebcb486ba8c3d6ab52b88ff72c6a5bb47c32f3ee8683a3ddc8abf60870448ec8a21b5bdcb183c7dead870255575a6df96eb1b6a2a1019780cba9e4887b17ff1164bbbcc10eb0d86ed75984cd3fa3419103024507dfd9ce8f92c56af7914cb0bb50b87ba82a312bb7dcd93028dbdcd6adb266979667158335171e3682d37755701edbf9d872846a291d49e57ef09da1ec637f5052ed2aa7407f7e61827468e94b461844f4c67be5fa9c6055a566f8fdfc29d4bf78a9ff275f552cc68ba543fa3962eea36fd1ea8453764577d021d0a181efc1f6100ab2e4110039e21ee16970bda7432b6134492155afc126295b3a2eccd12c66a68e340969e995e3e8c9c476e395cfc21203414110779474f1c9797406637dbe414f132519d3bf0ce4f01734ef0e1a12c3ad604ff15d766b1624db6a5a7ccbff7bc35c9908df94aba277e0af48f04ff3d16381c47e5a37ed3988a67a3b1ecaa926336b33391fff04128f869991c9fabd905b6fe3ceef5f8b630ec1c5d2636d5b1961ad5ca5004170f6f5e482792aad989b0287fe91e5c479403397152f1fa56aa79b156eb47e6c8ea3eb175c34cfb38ad8e772874639b1023d4d01395c94e55831671cc022aa6fa1e02a02c2e4abc776f6960e51f83b71a8c0f207b6a347573977812c9aa5480b0011aa739bd4b76c18c000cc4757cceccb920f007c40c00e37e5ab21476cd9f6054a8fffb55a108f5c706e2cea2049d81fd321ff47d2a5761b0800955ab1d4f4889f55a84e2601c684f17a4ade7453ea49591d0b59c8d9a765052f62219cf6ef4a5dd9539f0617d6ebbebce7c000455475d18449e25c49ef9a1e3efe18c09082ebe2058d7c347defaa92f0664553b805c7d76bbfce5f330aca220ac90a789380fc479ea0d8793205813cca590a912f699ad52f991a1bc0a503c3ec4b2a696719e3c26591a87127f7305cc7e72f4c8e39355ebb06a5b1042990f38710ee7aa612ee4374bb82e878585a70a96c2a6b47f101a4ff154be4fd76a3167577a5cc54d9167c154c69ac35485e44cc898b719e1be3cc9c0fb5624b8f8a0dae10947a41bf848b6c1bb33d1006ec077d7e286e3f2a7b4843716390119449fe2721e81a5ed2333d331c7120765da58fadae73c19d9a8c4509cf8ac1e9d98b799a5274509069739b5823f3fb496663820033426988eefca53e580e0f9e0dfe0992fc2e53a97e053639f98577058f995bdbd41cefdb",
		publicKey:         "a50102032620012158203b8176b7504489cc593046d7988abb7905a742de6ac2cdc748a873c663e90cb12258201436d5edc9a75f23999eef9d5950a5c2455514ee1014084720f841a06b828a11",
		challenge:         "ef1deba56dce48f674a447ccf63b9599258ce87648e5c396f2ef0ca1da460e3b",
		authenticatorData: "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50d00000000",
		clientDataJSON:    "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a22377833727057334f53505a307045664d396a75566d53574d36485a4935634f573875384d6f647047446a73222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d",
		signature:         "304502203ecef83fb12a0cae7841055f9f87103a99fd14b424194bbf06c4623d3ee6e3fd022100d2ace346db262b1374a6b70faa51f518a42ddca13a4125ce6f5052a75bac9fb6",
	},
	{ // §16.7 Packed Attestation - ES256 (Full Attestation with x5c and MDS)
		name: "PackedES256Full", want: nil,
		credentialID:      "c9a6f5b3462d02873fea0c56862234f99f081728084e511bb7760201a89054a5",
		publicKey:         "a50102032620012158201cf27f25da591208a4239c2e324f104f585525479a29edeedd830f48e77aeae522582059e4b7da6c0106e206ce390c93ab98a15a5ec3887e57f0cc2bece803b920c423",
		challenge:         "b1106fa46a57bef1781511c0557dc898a03413d5f0f17d244630c194c7e1adb5",
		authenticatorData: "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50d00000000",
		clientDataJSON:    "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a2273524276704770587676463446524841565833496d4b4130453958773858306b526a44426c4d6668726255222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73652c22657874726144617461223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077697468206164646974696f6e616c206669656c647320696e20746865206675747572652c207375636820617320746869733a20415a4d77794d78496244382d756775464e7036723851227d",
		signature:         "30450220694969d3ee928de6f02ef23a9c644d7d779916451734a94b432542f498a1ebe90221008b0819c824218a97152cd099c55bfb1477b29d900a49a64018314f9bfccda163",
	},
	{ // §16.8 Packed Attestation - ES384 (Full Attestation with x5c and MDS)
		name: "PackedES384", want: ErrMalformed,
		credentialID:      "953ae2dd9f28b1a1d5802c83e1f65833bb9769a08de82d812bc27c13fc6f06a9",
		publicKey:         "a5010203382220022158304866bd8b01da789e9eb806e5eab05ae5a638542296ab057a2f1bbce9b58f8a08b9171390b58a37ac7fffc2c5f45857da2258302a0b024c7f4b72072a1f96bd30a7261aae9571dd39870eb29e55c0941c6b08e89629a1ea1216aa64ce57c2807bf3901a",
		challenge:         "ff41c3d25dbd8966fb61e28ef5e47041e137ed268520412d76202ba0ad2d1453",
		authenticatorData: "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50d00000000",
		clientDataJSON:    "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a225f304844306c32396957623759654b4f39655277516545333753614649454574646941726f4b307446464d222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d",
		signature:         "3065023100e4efbb46745ed00e67c4d51ab2bacab2af62ffa8b7c5fecec6d7d9bf2582275034a713a3dd731685eee81adfaf6aa63f0230161655353f07e018a3c2539f8de7c8c4cf88d4c32d2be29fe4e76fa096ecc9458bbfe0895d57129ab324130e6f0692db",
	},
	{ // §16.10 Packed Attestation - RS256 (Full Attestation with x5c and MDS)
		name: "PackedRS256", want: ErrBadSignature,
		credentialID:      "992a18acc83f67533600c1138a4b4c4bd236de13629cf025ed17cb00b00b74df",
		publicKey:         "a4010303390100205901b403fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff800000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000012143010001",
		challenge:         "295f59f5fa8fe62c5aca9e27626c78c8da376ae6d8cd2dd29aebad601e1bc4c5",
		authenticatorData: "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b51900000000",
		clientDataJSON:    "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a224b56395a39667150356978617970346e596d7834794e6f33617562597a5333536d75757459423462784d55222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d",
		signature:         "01063d52d7c39b4d432fc7063c5d93e582bdcb16889cd71f888d67d880ea730a428498d3bc8e1ee11f2b1ecbe6c292b118c55ffaaddefa8cad0a54dd137c51f1eec673f1bb6c4d1789d6826a222b22d0f585fc901fdc933212e579d199b89d672aa44891333e6a1355536025e82b25590256c3538229b55737083b2f6b9377e49e2472f11952f79fdd0da180b5ffd901b4049a8f081bb40711bef76c62aed943571f2d0575304cb549d68d8892f95086a30f93716aee818f8dc06e96c0d5e0ed4cfa9fd8773d90464b68cf140f7986666ff9c9e3302acd0535d60d769f465e2ab57ef8aabc89fccfef7ba32a64154a8b3d26be2298f470b8cc5377dbe3dfd4b0b45f8f01e63bde6cfc76b62771f9b70aa27cf40152cad93aa5acd784fd4b90f676e2ea828d0bf2400aebbaae4153e5838f537f88b6228346782a93a899be66ec77de45b3efcf311da6321c92e6b0cd11bfe653bf3e98cee8e341f02d67dbb6f9c98d9e8178090cfb5b70fbc6d541599ac794ae2f1d4de1286ec8de8c2daf7b1d15c8438e90d924df5c19045220a4c8438c1b979bbe016cf3d0eeec23c3999d4882cc645b776de930756612cdc6dd398160ff02a6",
	},
	{ // §16.11 Packed Attestation - EdDSA (Authentication)
		name: "PackedEdDSA", want: ErrBadSignature,
		credentialID:      "ce9f840ed96599580cd140fbc7bb3230633f50f61041aff73308ae71caa8a2bd",
		publicKey:         "a401010327200621582044e06ddd331c36a8dc667bab52bcae63486c916aa5e339e6acebaa84934bf832",
		challenge:         "895957e01c633a698348a2d8a31a54b7db27e8c1c43b2080d79ae2190267bfd2",
		authenticatorData: "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50100000000",
		clientDataJSON:    "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a2269566c583442786a4f6d6d44534b4c596f7870557439736e364d48454f7943413135726947514a6e763949222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d",
		signature:         "f5c59c7e46c34f6f8cc197101ddf9934fa2595f68eb1913a637e8419eb9ba4cfdfc48f85393bc0d40b011f0d6fecb097d6607525713223a0dc0d453993dae00b",
	},
	{ // §16.13 TPM Attestation - ES256
		name: "TPMES256", want: nil,
		credentialID:      "ec27bec7521c894bbb821105ea3724c90e770cf1fa354157ef18d0f18f78bea9",
		publicKey:         "a501020326200121582041202698c9d9753fb4bb3f27cd09fe6b8afdb76438ee2ae54d7c9dade10d864b225820d8735115cdb330a63ea1d6e43d5000f4bd56f99bce83ee1d73301fc270116d07",
		challenge:         "00093b66c21d5b5e89f7a07082118907ea3e502d343b314b8c5a54d62db202fb",
		authenticatorData: "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50d00000000",
		clientDataJSON:    "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a2241416b375a7349645731364a393642776768474a422d6f2d554330304f7a464c6a46705531693279417673222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d",
		signature:         "3045022060dc76b1607ec716c6e5eba8d056695ed6bc47b2e3d7a729c34e759e3ab66aa0022100d010a9e8fddcb64c439dfdca628ddb33cf245d567d157d9f66f942601bed9b38",
	},
	{ // §16.16 FIDO U2F Attestation - ES256
		name: "FIDOU2FES256", want: ErrBadSignature,
		credentialID:      "a4ba6e2d2cfec43648d7d25c5ed5659bc18f2b781538527ebd492de03256bdf4",
		publicKey:         "a5010203262001215820b0d62de6b30f86f0bac7a9016951391c2e31849e2e64661cbd2b13cd7d5508ad225820503b0bda2a357a9a4b34475a28e65b660b4898a9e3e9bbf0820d43494297edd0",
		challenge:         "f90c612981d84f599438de1a500f76926e92cc84bef8e02c6e23553f00485435",
		authenticatorData: "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b50100000000",
		clientDataJSON:    "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a222d5178684b59485954316d554f4e3461554139326b6d36537a49532d2d4f417362694e5650774249564455222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f7267222c2263726f73734f726967696e223a66616c73657d",
		signature:         "304402206172459958fea907b7292b92f555034bfd884895f287a76200c1ba287239137002204727b166147e26a21bbc2921d192ebfed569b79438538e5c128b5e28e6926dd7",
	},
}

func TestVerifyAssertionW3CVectors(t *testing.T) {
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, v := range w3cVectors {
		t.Run(v.name, func(t *testing.T) {
			p := Passkey{ID: unhex(v.credentialID), PublicKey: unhex(v.publicKey), RPID: "example.org", Origins: []string{"https://example.org"}}
			a := Assertion{CredentialID: p.ID, AuthenticatorData: unhex(v.authenticatorData), ClientDataJSON: unhex(v.clientDataJSON), Signature: unhex(v.signature)}
			key, err := p.parse()
			if errors.Is(v.want, ErrMalformed) {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("parse error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cdHash := sha256.Sum256(a.ClientDataJSON)
			if !key.verify(slices.Concat(a.AuthenticatorData, cdHash[:]), a.Signature) {
				t.Fatal("the vector's signature does not verify")
			}
			if key.verify(slices.Concat(a.AuthenticatorData, cdHash[:]), flip(a.Signature, len(a.Signature)-1)) {
				t.Fatal("an altered signature verifies")
			}
			err = checkAssertion(p, key, unhex(v.challenge), a)
			if v.want == nil && err != nil {
				t.Fatalf("checkAssertion: %v", err)
			}
			if !errors.Is(err, v.want) {
				t.Fatalf("checkAssertion error = %v, want %v", err, v.want)
			}
			if err := checkAssertion(p, key, sum("another challenge"), a); err == nil {
				t.Fatal("accepted for another challenge")
			}
		})
	}
	// The software authenticator encodes keys as the vectors do.
	okp := unhex("a401010327200621582044e06ddd331c36a8dc667bab52bcae63486c916aa5e339e6acebaa84934bf832")
	if got := coseOKP(-8, 6, okp[10:]); !bytes.Equal(got, okp) {
		t.Errorf("coseOKP = %x, want %x", got, okp)
	}
	ec2 := unhex("a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220")
	if got := coseEC2(-7, 1, ec2[10:42], ec2[45:]); !bytes.Equal(got, ec2) {
		t.Errorf("coseEC2 = %x, want %x", got, ec2)
	}
}

func TestPasskeyValidate(t *testing.T) {
	au := newAuthenticator(t, "validate", "eddsa")
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"https://custody.example.com", true},
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080", true},
		{"https://custody.example.com/", false},
		{"https://custody.example.com/approve", false},
		{"https://Custody.example.com", false},
		{"custody.example.com", false},
		{"ftp://custody.example.com", false},
		{"https://user@custody.example.com", false},
		{"https://custody.example.com?x", false},
		{"", false},
	} {
		p := au.passkey.clone()
		p.Origins = []string{testOrigin, tc.origin}
		err := p.Validate()
		if tc.ok != (err == nil) {
			t.Errorf("origin %q: Validate = %v, want ok %v", tc.origin, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("origin %q: error %v does not wrap ErrMalformed", tc.origin, err)
		}
	}
}

func TestCheckVotePasskey(t *testing.T) {
	b := testBinding()
	other := testBinding()
	other.RequestID = "another-request"
	paula := newPasskeyHolder(t, "paula", "approver", "es256")
	both := alice.Approver // an Ed25519 key and a passkey
	both.Passkeys = paula.Passkeys
	keyOnly := alice.Approver
	neither := paula.Approver
	neither.Passkeys = nil
	anotherPasskey := paula.Approver
	anotherPasskey.Passkeys = []Passkey{newAuthenticator(t, "paula-2", "es256").passkey}
	selfVoter := newPasskeyHolder(t, requester.ID, "approver", "eddsa")
	adminHolder := newPasskeyHolder(t, "adele", "admin", "es256")
	good := paula.vote(b, Approve)
	withAssertion := func(v Vote, a Assertion) Vote { v.Assertion = &a; return v }
	withSig := func(v Vote, sig []byte) Vote { v.Signature = sig; return v }
	asVote := func(v Vote, id, decision string) Vote { v.ApproverID, v.Decision = id, decision; return v }

	for _, tc := range []struct {
		name string
		a    Approver
		v    Vote
		want error
	}{
		{"ok/passkey-only-approver", paula.Approver, good, nil},
		{"ok/reject", paula.Approver, paula.vote(b, Reject), nil},
		{"ok/passkey-of-approver-with-key", both, asVote(good, alice.ID, Approve), nil},
		{"ok/ed25519-vote-of-approver-with-passkey", both, alice.vote(b, Approve), nil},
		{"fail/unknown-credential", anotherPasskey, good, ErrNoApprovalKey},
		{"fail/no-passkeys", keyOnly, asVote(good, alice.ID, Approve), ErrNoApprovalKey},
		{"fail/neither-key-nor-passkey", neither, good, ErrNoApprovalKey},
		{"fail/ed25519-vote-without-key", paula.Approver, asVote(alice.vote(b, Approve), paula.ID, Approve), ErrNoApprovalKey},
		{"fail/signature-and-assertion", both, withSig(asVote(good, alice.ID, Approve), alice.vote(b, Approve).Signature), ErrMalformed},
		{"fail/other-request", paula.Approver, paula.vote(other, Approve), ErrBadSignature},
		{"fail/approve-presented-as-reject", paula.Approver, asVote(good, paula.ID, Reject), ErrBadSignature},
		{"fail/altered-assertion", paula.Approver, withAssertion(good, Assertion{good.Assertion.CredentialID, good.Assertion.AuthenticatorData,
			good.Assertion.ClientDataJSON, flip(good.Assertion.Signature, 20)}), ErrBadSignature},
		{"fail/self-approval", selfVoter.Approver, selfVoter.vote(b, Approve), ErrSelfApproval},
		{"fail/admin", adminHolder.Approver, adminHolder.vote(b, Approve), ErrNotApprover},
		{"fail/unknown-decision", paula.Approver, asVote(good, paula.ID, "abstain"), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckVote(b, tc.a, tc.v)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckVote: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("CheckVote error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCountPasskeys(t *testing.T) {
	b := testBinding()
	q := treasuryQuorum()
	paula := newPasskeyHolder(t, "paula", "approver", "es256")
	pete := newPasskeyHolder(t, "pete", "approver", "rs256")
	edna := newPasskeyHolder(t, "edna", "approver", "eddsa")
	roster := func(f func(r map[string]Approver)) map[string]Approver {
		r := testRoster()
		for _, h := range []passkeyHolder{paula, pete, edna} {
			r[h.ID] = h.Approver
		}
		if f != nil {
			f(r)
		}
		return r
	}
	// replayAs presents v's assertion as a vote by id, with credential id
	// cred (v's own if nil).
	replayAs := func(v Vote, id string, cred []byte) Vote {
		a := v.Assertion.clone()
		if cred != nil {
			a.CredentialID = cred
		}
		return Vote{ApproverID: id, Decision: v.Decision, Assertion: &a}
	}
	pv := paula.vote(b, Approve)
	otherID := []byte("another credential id")

	t.Run("ok/mixed", func(t *testing.T) {
		votes := []Vote{alice.vote(b, Approve), pv, pete.vote(b, Approve), paula.vote(b, Reject), trent.vote(b, Approve)}
		tally, err := Count(b, q, votes, roster(nil))
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"alice", "paula", "pete", "trent"}; !slices.Equal(tally.Approvers, want) || !tally.QuorumMet {
			t.Fatalf("tally = %+v, want approvers %v and the quorum met", tally, want)
		}
	})
	t.Run("ok/removed-passkey-voids-the-vote", func(t *testing.T) {
		tally, err := Count(b, q, []Vote{pv}, roster(func(r map[string]Approver) {
			a := r["paula"]
			a.Passkeys = nil
			r["paula"] = a
		}))
		if err != nil {
			t.Fatal(err)
		}
		if tally.Approvals != 0 || !slices.Equal(tally.Void, []string{"paula"}) {
			t.Fatalf("tally = %+v, want paula's vote void", tally)
		}
	})

	for _, tc := range []struct {
		name   string
		roster map[string]Approver
		votes  []Vote
	}{
		{"fail/credential-registered-to-two-approvers", roster(func(r map[string]Approver) {
			a := r["pete"]
			a.Passkeys = paula.Passkeys
			r["pete"] = a
		}), []Vote{pv, replayAs(pv, "pete", nil)}},
		// The signature does not cover the credential id: the same key
		// registered under another id must not count twice either.
		// Two credentials under one id, each with its own key: the id
		// still names one credential, registered to one approver.
		{"fail/credential-id-registered-twice-with-other-keys", roster(func(r map[string]Approver) {
			a := r["pete"]
			a.Passkeys[0].ID = paula.au.passkey.ID
			r["pete"] = a
		}), []Vote{pv, func() Vote {
			au := &authenticator{passkey: Passkey{ID: paula.au.passkey.ID}, sign: pete.au.sign}
			a := au.approve(b, Approve)
			return Vote{ApproverID: "pete", Decision: Approve, Assertion: &a}
		}()}},
		{"fail/public-key-under-two-credential-ids", roster(func(r map[string]Approver) {
			a := r["pete"]
			p := paula.au.passkey.clone()
			p.ID = otherID
			a.Passkeys = []Passkey{p}
			r["pete"] = a
		}), []Vote{pv, replayAs(pv, "pete", otherID)}},
		{"fail/public-key-re-encoded", roster(func(r map[string]Approver) {
			a := r["pete"]
			p := paula.au.passkey.clone()
			p.ID, p.PublicKey = otherID, reencoded(p.PublicKey)
			a.Passkeys = []Passkey{p}
			r["pete"] = a
		}), []Vote{pv, replayAs(pv, "pete", otherID)}},
		{"fail/passkey-with-anothers-ed25519-key", roster(func(r map[string]Approver) {
			a := r["edna"]
			a.Passkeys[0].PublicKey = coseOKP(-8, 6, alice.Key)
			r["edna"] = a
		}), []Vote{alice.vote(b, Approve), func() Vote {
			au := &authenticator{passkey: edna.au.passkey, sign: func(signed []byte) []byte { return ed25519.Sign(alice.priv, signed) }}
			a := au.approve(b, Approve)
			return Vote{ApproverID: "edna", Decision: Approve, Assertion: &a}
		}()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range tc.votes {
				if err := CheckVote(b, tc.roster[v.ApproverID], v); err != nil {
					t.Fatalf("each vote alone must verify: %v", err)
				}
			}
			if _, err := Count(b, q, tc.votes, tc.roster); !errors.Is(err, ErrNotApprover) {
				t.Fatalf("Count error = %v, want ErrNotApprover", err)
			}
		})
	}
}

// passkeyCertificate returns a certificate with an Ed25519 approval by
// alice and passkey approvals by paula (ES256) and pete (RS256, a treasury
// manager), with the roster it was made from.
func passkeyCertificate(t testing.TB) (*Certificate, map[string]Approver, Quorum) {
	t.Helper()
	in := testIntent(t, "25000000000")
	b := certBinding(in)
	paula := newPasskeyHolder(t, "paula", "approver", "es256")
	pete := newPasskeyHolder(t, "pete", "treasury_manager", "rs256")
	roster := testRoster()
	roster[paula.ID], roster[pete.ID] = paula.Approver, pete.Approver
	q := Quorum{Approvals: 3, Roles: map[string]int{"treasury_manager": 1}, RejectionsToDeny: 1}
	votes := []Vote{alice.vote(b, Approve), paula.vote(b, Approve), pete.vote(b, Approve)}
	tally, err := Count(b, q, votes, roster)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCertificate("transfer", b, in, q, tally, votes, roster)
	if err != nil {
		t.Fatalf("NewCertificate: %v", err)
	}
	return c, roster, q
}

func TestCertificateWithPasskeys(t *testing.T) {
	c, roster, q := passkeyCertificate(t)
	for _, a := range c.Approvals {
		known := roster[a.ApproverID]
		if a.ApproverID == "alice" {
			if a.Assertion != nil || a.Passkey != nil || !bytes.Equal(a.PublicKey, known.Key) || len(a.Signature) == 0 {
				t.Errorf("Ed25519 approval = %+v", a)
			}
			continue
		}
		if a.Assertion == nil || a.Passkey == nil || !a.Passkey.equal(known.Passkeys[0]) || a.PublicKey != nil || a.Signature != nil {
			t.Errorf("passkey approval = %+v", a)
		}
	}
	if err := c.Verify(nil); err != nil {
		t.Fatalf("Verify(nil): %v", err)
	}
	if err := c.Verify(roster); err != nil {
		t.Fatalf("Verify(roster): %v", err)
	}
	if err := c.VerifyAgainst(roster, q); err != nil {
		t.Fatalf("VerifyAgainst: %v", err)
	}
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var got Certificate
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(roster); err != nil {
		t.Fatalf("Verify after a JSON round trip: %v", err)
	}
	for _, field := range []string{`"assertion":{"credential_id":`, `"client_data_json":`, `"authenticator_data":`, `"passkey":{"id":`, `"rp_id":"127.0.0.1"`, `"origins":["http://127.0.0.1:8080"]`} {
		if !bytes.Contains(data, []byte(field)) {
			t.Errorf("JSON lacks %s: %s", field, data)
		}
	}
	// An Ed25519-only certificate encodes as before.
	plain, err := testCertificate(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain, []byte(`"assertion"`)) || bytes.Contains(plain, []byte(`"passkey"`)) {
		t.Errorf("an Ed25519 certificate carries passkey fields: %s", plain)
	}
}

func TestCertificateWithPasskeysRefuses(t *testing.T) {
	find := func(c *Certificate, id string) *CertificateApproval {
		i := slices.IndexFunc(c.Approvals, func(a CertificateApproval) bool { return a.ApproverID == id })
		if i < 0 {
			t.Fatalf("no approval by %s", id)
		}
		return &c.Approvals[i]
	}
	changeRoster := func(id string, f func(p *Passkey)) func(r map[string]Approver) {
		return func(r map[string]Approver) {
			a := r[id]
			a.Passkeys = slices.Clone(a.Passkeys)
			a.Passkeys[0] = a.Passkeys[0].clone()
			f(&a.Passkeys[0])
			r[id] = a
		}
	}
	changeHint := func(id string, f func(p *Passkey)) func(c *Certificate) {
		return func(c *Certificate) {
			a := find(c, id)
			p := a.Passkey.clone()
			f(&p)
			a.Passkey = &p
		}
	}
	for _, tc := range []struct {
		name       string
		mutate     func(c *Certificate)
		roster     func(r map[string]Approver) // nil: verify on its own
		withRoster bool
		selfOK     bool  // the certificate still verifies on its own
		want       error // besides ErrBadCertificate
	}{
		{name: "fail/roster-origins-differ", withRoster: true, selfOK: true, roster: changeRoster("paula", func(p *Passkey) { p.Origins = append(p.Origins, "https://other.example") }), want: ErrNotApprover},
		{name: "fail/roster-public-key-differs", withRoster: true, selfOK: true, roster: changeRoster("paula", func(p *Passkey) {
			p.PublicKey = newAuthenticator(t, "x", "es256").passkey.PublicKey
		}), want: ErrNotApprover},
		{name: "fail/roster-public-key-re-encoded", withRoster: true, selfOK: true, roster: changeRoster("paula", func(p *Passkey) { p.PublicKey = reencoded(p.PublicKey) }), want: ErrNotApprover},
		{name: "fail/roster-rp-id-differs", withRoster: true, selfOK: true, roster: changeRoster("pete", func(p *Passkey) { p.RPID = "custody.example.com" }), want: ErrNotApprover},
		{name: "fail/roster-without-the-passkey", withRoster: true, selfOK: true, roster: func(r map[string]Approver) {
			a := r["pete"]
			a.Passkeys = nil
			r["pete"] = a
		}, want: ErrNotApprover},
		{name: "fail/hint-differs-from-roster", withRoster: true, mutate: changeHint("paula", func(p *Passkey) { p.Origins = []string{"http://127.0.0.1:8081"} }), want: ErrNotApprover},
		{name: "fail/forged-passkey-against-roster", withRoster: true, selfOK: true, mutate: func(c *Certificate) {
			forger := newAuthenticator(t, "paula", "es256") // same credential id, another key
			a := forger.approve(c.Binding(), Approve)
			ap := find(c, "paula")
			ap.Passkey, ap.Assertion = &forger.passkey, &a
		}, want: ErrNotApprover},
		{name: "fail/hint-credential-id-changed", mutate: changeHint("paula", func(p *Passkey) { p.ID = flip(p.ID, 0) }), want: ErrNotApprover},
		{name: "fail/hint-origin-changed", mutate: changeHint("paula", func(p *Passkey) { p.Origins = []string{"http://127.0.0.1:8081"} }), want: ErrBadSignature},
		{name: "fail/signature-and-assertion", mutate: func(c *Certificate) { find(c, "paula").Signature = find(c, "alice").Signature }, want: ErrMalformed},
		{name: "fail/signature-and-assertion-with-roster", withRoster: true, mutate: func(c *Certificate) { find(c, "paula").Signature = make([]byte, 64) }, want: ErrMalformed},
		{name: "fail/assertion-without-passkey", mutate: func(c *Certificate) { find(c, "paula").Passkey = nil }, want: ErrMalformed},
		{name: "fail/passkey-without-assertion", mutate: func(c *Certificate) { find(c, "paula").Assertion = nil }, want: ErrMalformed},
		{name: "fail/passkey-approval-with-key", mutate: func(c *Certificate) { find(c, "paula").PublicKey = alice.Key }, want: ErrMalformed},
		{name: "fail/assertion-altered", mutate: func(c *Certificate) {
			a := find(c, "pete").Assertion.clone()
			a.Signature = flip(a.Signature, 3)
			find(c, "pete").Assertion = &a
		}, want: ErrBadSignature},
		{name: "fail/assertions-swapped", mutate: func(c *Certificate) {
			p, q := find(c, "paula"), find(c, "pete")
			p.Assertion, q.Assertion = q.Assertion, p.Assertion
		}, want: ErrNotApprover},
		{name: "fail/assertion-for-another-request", mutate: func(c *Certificate) { c.RequestID = "req-other" }, want: ErrBadSignature},
		{name: "fail/assertion-for-another-request-with-roster", withRoster: true, mutate: func(c *Certificate) { c.RequestID = "req-other" }, want: ErrBadSignature},
		{name: "fail/same-passkey-for-two-approvers", mutate: func(c *Certificate) {
			copied := *find(c, "paula")
			copied.ApproverID, copied.Role = "pat", "treasury_manager"
			c.Approvals = append(c.Approvals, copied)
			c.Quorum.Approvals = 4
		}, want: ErrNotApprover},
		{name: "fail/same-passkey-for-two-approvers-with-roster", withRoster: true, roster: func(r map[string]Approver) {
			r["pat"] = Approver{ID: "pat", Name: "user pat", Role: "approver", Passkeys: r["paula"].Passkeys}
		}, mutate: func(c *Certificate) {
			copied := *find(c, "paula")
			copied.ApproverID, copied.Name = "pat", "user pat"
			c.Approvals = append(c.Approvals, copied)
			c.Quorum.Approvals = 4
		}, want: ErrNotApprover},
		{name: "fail/passkey-approval-removed", mutate: func(c *Certificate) {
			c.Approvals = slices.DeleteFunc(c.Approvals, func(a CertificateApproval) bool { return a.ApproverID == "pete" })
		}, want: ErrQuorumNotMet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, roster, _ := passkeyCertificate(t)
			if tc.mutate != nil {
				tc.mutate(c)
			}
			var r map[string]Approver
			if tc.withRoster {
				r = roster
				if tc.roster != nil {
					tc.roster(r)
				}
			}
			err := c.Verify(r)
			if !errors.Is(err, ErrBadCertificate) || !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want ErrBadCertificate and %v", err, tc.want)
			}
			if err := c.Verify(nil); tc.selfOK != (err == nil) {
				t.Fatalf("Verify(nil) = %v, want ok %v", err, tc.selfOK)
			}
		})
	}
}
