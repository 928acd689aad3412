package approvals

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Passkey is a WebAuthn credential registered to an approver: everything a
// verifier needs to check an assertion made with it, so a guardian can
// check a passkey approval from its roster copy alone.
type Passkey struct {
	ID        []byte   `json:"id"`         // credential id
	PublicKey []byte   `json:"public_key"` // COSE_Key as returned at registration
	RPID      string   `json:"rp_id"`      // relying party id it was registered under
	Origins   []string `json:"origins"`    // exact origins allowed, e.g. "https://custody.example.com"
}

// Assertion is a WebAuthn authentication assertion (the response of
// navigator.credentials.get) made over Challenge(binding, decision).
type Assertion struct {
	CredentialID      []byte `json:"credential_id"`
	AuthenticatorData []byte `json:"authenticator_data"`
	ClientDataJSON    []byte `json:"client_data_json"`
	Signature         []byte `json:"signature"`
}

// Size limits. Credential ids are at most 1023 bytes (WebAuthn Level 3,
// §4 "Credential ID"); the others are far above anything an authenticator
// or browser produces for the algorithms supported here, and bound the work
// a hostile input can cause.
const (
	maxCredentialID      = 1023
	maxCOSEKey           = 2048
	maxAuthData          = 8 << 10
	maxClientDataJSON    = 8 << 10
	maxClientDataMembers = 32
	maxAssertionSig      = 1024
	maxCBORDepth         = 8
	minRSABits           = 2048
	maxRSABits           = 4096
)

// Authenticator data flags (WebAuthn Level 3, §6.1).
const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagBE = 0x08 // backup eligible
	flagBS = 0x10 // backed up
	flagAT = 0x40 // attested credential data included
	flagED = 0x80 // extension data included
)

// authDataMinLen is rpIdHash (32), flags (1) and signCount (4).
const authDataMinLen = 37

// Challenge returns the WebAuthn challenge for an approval: SHA-256 of
// Message(b, decision). A browser passes it as publicKey.challenge.
func Challenge(b Binding, decision string) []byte {
	sum := sha256.Sum256(Message(b, decision))
	return sum[:]
}

// Validate reports whether p can verify assertions: a credential id of 1 to
// 1023 bytes, a COSE public key for ES256 (P-256), EdDSA (Ed25519) or RS256
// (2048 to 4096 bits), a relying party id and at least one origin of the
// form scheme://host[:port] in lower case, as browsers serialise origins.
func (p Passkey) Validate() error {
	_, err := p.parse()
	return err
}

// parse validates p and decodes its public key.
func (p Passkey) parse() (coseKey, error) {
	if len(p.ID) == 0 || len(p.ID) > maxCredentialID {
		return nil, fmt.Errorf("%w: webauthn: credential id must be 1 to %d bytes", ErrMalformed, maxCredentialID)
	}
	if p.RPID == "" {
		return nil, fmt.Errorf("%w: webauthn: passkey has no relying party id", ErrMalformed)
	}
	if len(p.Origins) == 0 {
		return nil, fmt.Errorf("%w: webauthn: passkey allows no origin", ErrMalformed)
	}
	for _, o := range p.Origins {
		if err := CheckOrigin(o); err != nil {
			return nil, err
		}
	}
	return parseCOSEKey(p.PublicKey)
}

// CheckOrigin accepts an origin as a browser serialises it in
// clientDataJSON: scheme://host[:port], in lower case.
func CheckOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Scheme+"://"+u.Host != o || strings.ToLower(o) != o {
		return fmt.Errorf("%w: webauthn: origin %q is not of the form scheme://host[:port]", ErrMalformed, o)
	}
	return nil
}

// Equal reports whether p and q are the same record, field by field.
func (p Passkey) Equal(q Passkey) bool {
	return bytes.Equal(p.ID, q.ID) && bytes.Equal(p.PublicKey, q.PublicKey) && p.RPID == q.RPID && slices.Equal(p.Origins, q.Origins)
}

// clone returns a deep copy of p.
func (p Passkey) clone() Passkey {
	return Passkey{ID: bytes.Clone(p.ID), PublicKey: bytes.Clone(p.PublicKey), RPID: p.RPID, Origins: slices.Clone(p.Origins)}
}

// clone returns a deep copy of a.
func (a Assertion) clone() Assertion {
	return Assertion{CredentialID: bytes.Clone(a.CredentialID), AuthenticatorData: bytes.Clone(a.AuthenticatorData),
		ClientDataJSON: bytes.Clone(a.ClientDataJSON), Signature: bytes.Clone(a.Signature)}
}

// VerifyAssertion verifies that a is an assertion by passkey p over msg,
// following W3C WebAuthn Level 3, §7.2 "Verifying an Authentication
// Assertion", with the challenge SHA-256(msg). It is a function of its
// arguments alone: no session, no clock, no stored state.
//
// It requires: the credential id is p.ID; clientDataJSON is one JSON
// object without duplicate members whose type is exactly "webauthn.get",
// whose challenge is exactly base64url-without-padding(SHA-256(msg)),
// whose origin is one of p.Origins, and which is not cross-origin
// (crossOrigin absent or false, no topOrigin); authenticatorData carries
// SHA-256(p.RPID) as rpIdHash, has the user present (UP) and user verified
// (UV) flags set (approving money requires user verification), has no
// attested credential data (AT), does not claim backed up (BS) without
// backup eligible (BE), and holds exactly one CBOR map after the 37 fixed
// bytes when, and only when, the extension data flag (ED) is set; the
// signature verifies over authenticatorData || SHA-256(clientDataJSON)
// with p's key: ES256 (P-256, ASN.1 DER signature), EdDSA (Ed25519) or
// RS256 (RSASSA-PKCS1-v1_5 with SHA-256, 2048 to 4096 bits).
//
// The signature counter is not checked. Passkeys synced across devices
// report 0, and a guardian keeps no durable per-credential counter; replay
// is prevented instead by the challenge, which binds the request, its
// revision, intent fingerprint, policy hash, expiry and the decision.
//
// An input that cannot be decoded yields an error wrapping ErrMalformed;
// an assertion that decodes but does not verify yields an error wrapping
// ErrBadSignature that names the reason.
func VerifyAssertion(p Passkey, msg []byte, a Assertion) error {
	_, err := verifyAssertion(p, msg, a)
	return err
}

// verifyAssertion is VerifyAssertion, returning p's decoded key. A success
// is remembered in verified, by a hash of every input.
func verifyAssertion(p Passkey, msg []byte, a Assertion) (coseKey, error) {
	key, err := p.parse()
	if err != nil {
		return nil, err
	}
	k := assertionKey(p, msg, a)
	if verified.Has(k) {
		return key, nil
	}
	challenge := sha256.Sum256(msg)
	if err := checkAssertion(p, key, challenge[:], a); err != nil {
		return nil, err
	}
	verified.Add(k)
	return key, nil
}

// assertionKey is the verified-set key of one assertion check: a hash of
// every input, each part length-prefixed. The leading label keeps it apart
// from the keys of Ed25519 signatures, whose first part is a 32-byte key.
func assertionKey(p Passkey, msg []byte, a Assertion) [32]byte {
	h := sha256.New()
	parts := [][]byte{[]byte("webauthn assertion"), p.ID, p.PublicKey, []byte(p.RPID),
		binary.BigEndian.AppendUint64(nil, uint64(len(p.Origins)))}
	for _, o := range p.Origins {
		parts = append(parts, []byte(o))
	}
	parts = append(parts, msg, a.CredentialID, a.AuthenticatorData, a.ClientDataJSON, a.Signature)
	for _, part := range parts {
		writePart(h, part)
	}
	return [32]byte(h.Sum(nil))
}

func writePart(h hash.Hash, part []byte) {
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(part))))
	h.Write(part)
}

// checkAssertion runs the checks of VerifyAssertion for a challenge.
func checkAssertion(p Passkey, key coseKey, challenge []byte, a Assertion) error {
	switch {
	case len(a.CredentialID) > maxCredentialID, len(a.AuthenticatorData) > maxAuthData,
		len(a.ClientDataJSON) > maxClientDataJSON, len(a.Signature) > maxAssertionSig:
		return fmt.Errorf("%w: webauthn: assertion field too long", ErrMalformed)
	case !bytes.Equal(a.CredentialID, p.ID):
		return fmt.Errorf("%w: webauthn: assertion by another credential", ErrBadSignature)
	}
	if err := checkClientData(p, challenge, a.ClientDataJSON); err != nil {
		return err
	}
	if err := checkAuthData(p, a.AuthenticatorData); err != nil {
		return err
	}
	cdHash := sha256.Sum256(a.ClientDataJSON)
	signed := append(bytes.Clone(a.AuthenticatorData), cdHash[:]...)
	if !key.verify(signed, a.Signature) {
		return fmt.Errorf("%w: webauthn: assertion signature does not verify", ErrBadSignature)
	}
	return nil
}

// checkClientData checks the collected client data (§5.8.1) of an
// assertion for challenge.
func checkClientData(p Passkey, challenge, raw []byte) error {
	members, err := jsonObject(raw)
	if err != nil {
		return err
	}
	typ, err := jsonString(members, "type")
	if err != nil {
		return err
	}
	if typ != "webauthn.get" {
		return fmt.Errorf("%w: webauthn: client data type %q is not webauthn.get", ErrBadSignature, typ)
	}
	got, err := jsonString(members, "challenge")
	if err != nil {
		return err
	}
	if got != base64.RawURLEncoding.EncodeToString(challenge) {
		return fmt.Errorf("%w: webauthn: assertion made for another challenge", ErrBadSignature)
	}
	origin, err := jsonString(members, "origin")
	if err != nil {
		return err
	}
	if !slices.Contains(p.Origins, origin) {
		return fmt.Errorf("%w: webauthn: origin %q not allowed", ErrBadSignature, origin)
	}
	if co, ok := members["crossOrigin"]; ok {
		switch string(co) {
		case "false":
		case "true":
			return fmt.Errorf("%w: webauthn: cross-origin assertion", ErrBadSignature)
		default:
			return fmt.Errorf("%w: webauthn: client data crossOrigin is not a boolean", ErrMalformed)
		}
	}
	if _, ok := members["topOrigin"]; ok {
		return fmt.Errorf("%w: webauthn: cross-origin assertion", ErrBadSignature)
	}
	return nil
}

// jsonObject decodes raw as one JSON object and returns its members,
// refusing invalid UTF-8, trailing data and member names that appear
// twice, also when they differ only in case (as encoding/json matches
// struct fields), so that no two readers see different values in the same
// client data.
func jsonObject(raw []byte) (map[string]json.RawMessage, error) {
	bad := func(what string) error { return fmt.Errorf("%w: webauthn: client data %s", ErrMalformed, what) }
	if !utf8.Valid(raw) {
		return nil, bad("is not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, bad("is not a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		if len(members) == maxClientDataMembers {
			return nil, bad("has too many members")
		}
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return nil, bad("is not a JSON object")
		}
		for seen := range members {
			if strings.EqualFold(seen, name) {
				return nil, bad(fmt.Sprintf("has member %q twice", name))
			}
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, bad("is not a JSON object")
		}
		members[name] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, bad("is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("has data after the object")
	}
	return members, nil
}

// jsonString returns member name of members, which must be a JSON string.
func jsonString(members map[string]json.RawMessage, name string) (string, error) {
	v, ok := members[name]
	var s string
	if !ok || len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", fmt.Errorf("%w: webauthn: client data %s is missing or not a string", ErrMalformed, name)
	}
	return s, nil
}

// checkAuthData checks the authenticator data (§6.1) of an assertion.
func checkAuthData(p Passkey, ad []byte) error {
	if len(ad) < authDataMinLen {
		return fmt.Errorf("%w: webauthn: authenticator data is %d bytes, want at least %d", ErrMalformed, len(ad), authDataMinLen)
	}
	rpIDHash := sha256.Sum256([]byte(p.RPID))
	if !bytes.Equal(ad[:32], rpIDHash[:]) {
		return fmt.Errorf("%w: webauthn: assertion for another relying party", ErrBadSignature)
	}
	flags := ad[32]
	switch {
	case flags&flagUP == 0:
		return fmt.Errorf("%w: webauthn: user not present", ErrBadSignature)
	case flags&flagUV == 0:
		return fmt.Errorf("%w: webauthn: user not verified", ErrBadSignature)
	case flags&flagAT != 0:
		return fmt.Errorf("%w: webauthn: assertion carries attested credential data", ErrBadSignature)
	case flags&flagBS != 0 && flags&flagBE == 0:
		return fmt.Errorf("%w: webauthn: backed up but not backup eligible", ErrBadSignature)
	}
	ext := ad[authDataMinLen:]
	if flags&flagED == 0 {
		if len(ext) != 0 {
			return fmt.Errorf("%w: webauthn: authenticator data has %d trailing bytes", ErrMalformed, len(ext))
		}
		return nil
	}
	r := cborReader{b: ext}
	if len(ext) == 0 || ext[0]>>5 != cborMap || r.skip(0) != nil || len(r.b) != 0 {
		return fmt.Errorf("%w: webauthn: authenticator extension data is not one CBOR map", ErrMalformed)
	}
	return nil
}

// coseKey is a decoded credential public key.
type coseKey interface {
	// verify reports whether sig is a signature of signed.
	verify(signed, sig []byte) bool
	// identity names the key's algorithm and material, the same for every
	// encoding of one key, so two records of one key are recognised.
	identity() string
}

type es256Key struct{ pub *ecdsa.PublicKey }

func (k es256Key) verify(signed, sig []byte) bool {
	digest := sha256.Sum256(signed)
	return ecdsa.VerifyASN1(k.pub, digest[:], sig)
}

func (k es256Key) identity() string {
	b, err := k.pub.Bytes()
	if err != nil {
		return "es256 invalid"
	}
	return "p256 " + string(b)
}

type eddsaKey struct{ pub ed25519.PublicKey }

func (k eddsaKey) verify(signed, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(k.pub, signed, sig)
}

// identity is the same as that of an Ed25519 approval key, so one key
// registered both ways is recognised too.
func (k eddsaKey) identity() string { return ed25519Identity(k.pub) }

func ed25519Identity(pub ed25519.PublicKey) string { return "ed25519 " + string(pub) }

type rs256Key struct{ pub *rsa.PublicKey }

func (k rs256Key) verify(signed, sig []byte) bool {
	digest := sha256.Sum256(signed)
	return rsa.VerifyPKCS1v15(k.pub, crypto.SHA256, digest[:], sig) == nil
}

func (k rs256Key) identity() string {
	return "rsa " + strconv.Itoa(k.pub.E) + " " + string(k.pub.N.Bytes())
}

// COSE labels and values (RFC 9052 §7, RFC 9053, RFC 8230, IANA COSE
// registries) for the keys supported here.
const (
	coseKty = 1
	coseAlg = 3
	coseCrv = -1 // EC2 and OKP
	coseX   = -2 // EC2 and OKP
	coseY   = -3 // EC2
	coseN   = -1 // RSA
	coseE   = -2 // RSA

	ktyOKP = 1
	ktyEC2 = 2
	ktyRSA = 3

	algES256 = -7
	algEdDSA = -8
	algRS256 = -257

	crvP256    = 1
	crvEd25519 = 6
)

// parseCOSEKey decodes a COSE_Key (RFC 9052 §7) holding an ES256, EdDSA
// or RS256 public key. The key type, algorithm and curve must agree; a
// label may not appear twice; other labels are allowed and ignored.
func parseCOSEKey(b []byte) (coseKey, error) {
	bad := func(what string) error { return fmt.Errorf("%w: webauthn: public key %s", ErrMalformed, what) }
	if len(b) > maxCOSEKey {
		return nil, bad("too long")
	}
	m, err := cborIntMap(b)
	if err != nil {
		return nil, bad(err.Error())
	}
	kty, err1 := m.int(coseKty)
	alg, err2 := m.int(coseAlg)
	if err := errors.Join(err1, err2); err != nil {
		return nil, bad(err.Error())
	}
	switch {
	case kty == ktyEC2 && alg == algES256:
		crv, err := m.int(coseCrv)
		if err != nil || crv != crvP256 {
			return nil, bad("for ES256 must be on curve P-256")
		}
		x, err1 := m.bytes(coseX)
		y, err2 := m.bytes(coseY)
		if err := errors.Join(err1, err2); err != nil || len(x) != 32 || len(y) != 32 {
			return nil, bad("has no 32-byte x and y coordinates")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, bad("is not a P-256 point")
		}
		return es256Key{pub: pub}, nil
	case kty == ktyOKP && alg == algEdDSA:
		crv, err := m.int(coseCrv)
		if err != nil || crv != crvEd25519 {
			return nil, bad("for EdDSA must be on curve Ed25519")
		}
		x, err := m.bytes(coseX)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, bad("has no 32-byte Ed25519 key")
		}
		return eddsaKey{pub: ed25519.PublicKey(bytes.Clone(x))}, nil
	case kty == ktyRSA && alg == algRS256:
		n, err1 := m.bytes(coseN)
		e, err2 := m.bytes(coseE)
		if err := errors.Join(err1, err2); err != nil {
			return nil, bad("has no RSA modulus and exponent")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n)}
		if bits := pub.N.BitLen(); bits < minRSABits || bits > maxRSABits || pub.N.Bit(0) == 0 {
			return nil, bad(fmt.Sprintf("RSA modulus must be odd and %d to %d bits", minRSABits, maxRSABits))
		}
		if len(e) == 0 || len(e) > 4 {
			return nil, bad("RSA exponent out of range")
		}
		var ev uint64
		for _, c := range e {
			ev = ev<<8 | uint64(c)
		}
		if ev < 3 || ev > math.MaxInt32 || ev%2 == 0 {
			return nil, bad("RSA exponent out of range")
		}
		pub.E = int(ev)
		return rs256Key{pub: pub}, nil
	default:
		return nil, bad(fmt.Sprintf("type %d with algorithm %d is not supported (want ES256, EdDSA or RS256)", kty, alg))
	}
}

// CBOR (RFC 8949) major types used here.
const (
	cborUint  = 0
	cborNeg   = 1
	cborBytes = 2
	cborText  = 3
	cborArray = 4
	cborMap   = 5
	cborTag   = 6
)

var errCBORTruncated = errors.New("truncated CBOR")

// cborReader reads well-formed CBOR with definite lengths only; the
// indefinite-length forms and reserved encodings are refused.
type cborReader struct{ b []byte }

// head reads the initial byte and argument of the next item.
func (r *cborReader) head() (major byte, arg uint64, err error) {
	if len(r.b) == 0 {
		return 0, 0, errCBORTruncated
	}
	major, info := r.b[0]>>5, r.b[0]&0x1f
	r.b = r.b[1:]
	switch {
	case info < 24:
		return major, uint64(info), nil
	case info <= 27:
		n := 1 << (info - 24)
		if len(r.b) < n {
			return 0, 0, errCBORTruncated
		}
		for _, c := range r.b[:n] {
			arg = arg<<8 | uint64(c)
		}
		r.b = r.b[n:]
		return major, arg, nil
	default:
		return 0, 0, errors.New("indefinite-length or reserved CBOR encoding")
	}
}

// take returns the next n bytes.
func (r *cborReader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)) {
		return nil, errCBORTruncated
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out, nil
}

// skip reads one item, at nesting depth depth.
func (r *cborReader) skip(depth int) error {
	if depth > maxCBORDepth {
		return errors.New("CBOR nested too deeply")
	}
	major, arg, err := r.head()
	if err != nil {
		return err
	}
	switch major {
	case cborBytes, cborText:
		_, err = r.take(arg)
		return err
	case cborArray, cborMap:
		n := arg
		if major == cborMap {
			if n > math.MaxUint64/2 {
				return errCBORTruncated
			}
			n *= 2
		}
		if n > uint64(len(r.b)) { // every item takes at least one byte
			return errCBORTruncated
		}
		for range n {
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case cborTag:
		return r.skip(depth + 1)
	default: // integers, simple values and floats: the head is the item
		return nil
	}
}

// cborIntMapValues maps the integer labels of a COSE_Key to their encoded
// values.
type cborIntMapValues map[int64][]byte

// cborIntMap decodes b as exactly one CBOR map whose labels are integers
// or text strings, none twice, and returns the values of the integer
// labels (still encoded).
func cborIntMap(b []byte) (cborIntMapValues, error) {
	r := cborReader{b: b}
	major, n, err := r.head()
	if err != nil {
		return nil, err
	}
	if major != cborMap {
		return nil, errors.New("is not a CBOR map")
	}
	if n > uint64(len(r.b)) {
		return nil, errCBORTruncated
	}
	m := cborIntMapValues{}
	labels := map[string]bool{}
	for range n {
		major, arg, err := r.head()
		if err != nil {
			return nil, err
		}
		var label string
		var ilabel int64
		isInt := false
		switch major {
		case cborUint, cborNeg:
			label = fmt.Sprintf("%d %d", major, arg)
			if arg <= math.MaxInt64 {
				isInt, ilabel = true, int64(arg)
				if major == cborNeg {
					ilabel = -1 - ilabel
				}
			}
		case cborText:
			text, err := r.take(arg)
			if err != nil {
				return nil, err
			}
			label = "text " + string(text)
		default:
			return nil, errors.New("has a label that is neither an integer nor a text string")
		}
		if labels[label] {
			return nil, errors.New("has a label twice")
		}
		labels[label] = true
		start := r.b
		if err := r.skip(1); err != nil {
			return nil, err
		}
		if isInt {
			m[ilabel] = start[:len(start)-len(r.b)]
		}
	}
	if len(r.b) != 0 {
		return nil, errors.New("has data after the CBOR map")
	}
	return m, nil
}

// int returns the integer value of label.
func (m cborIntMapValues) int(label int64) (int64, error) {
	v, ok := m[label]
	if !ok {
		return 0, fmt.Errorf("has no label %d", label)
	}
	r := cborReader{b: v}
	major, arg, err := r.head()
	if err != nil || (major != cborUint && major != cborNeg) || arg > math.MaxInt64 {
		return 0, fmt.Errorf("label %d is not an integer", label)
	}
	if major == cborNeg {
		return -1 - int64(arg), nil
	}
	return int64(arg), nil
}

// bytes returns the byte string value of label.
func (m cborIntMapValues) bytes(label int64) ([]byte, error) {
	v, ok := m[label]
	if !ok {
		return nil, fmt.Errorf("has no label %d", label)
	}
	r := cborReader{b: v}
	major, arg, err := r.head()
	if err != nil || major != cborBytes {
		return nil, fmt.Errorf("label %d is not a byte string", label)
	}
	return r.take(arg)
}
