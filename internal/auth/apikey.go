package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
)

// API key format: APIKeyTag || prefix || "_" || secret, where prefix is
// APIKeyPrefixLength characters of lower-case base32 (a-z, 2-7) chosen at
// random, and secret is 32 random bytes in base64url without padding (43
// characters, which may themselves contain '_' and '-'). Total length
// APIKeyLength. The prefix is the lookup key and is not secret; the secret
// is never stored.
const (
	APIKeyTag          = "cst_"
	APIKeyPrefixLength = 12
	APIKeySecretSize   = 32
	APIKeyLength       = len(APIKeyTag) + APIKeyPrefixLength + 1 + 43
)

// SecretHashSize is the size of the hashes returned for API keys and session
// tokens.
const SecretHashSize = sha256.Size

const (
	base32Lower      = "abcdefghijklmnopqrstuvwxyz234567"
	apiKeyHashDomain = "custos/api-key/v1\x00"
	sessionDomain    = "custos/session-token/v1\x00"
)

// b64url is base64url without padding, with canonical trailing bits.
func b64url() *base64.Encoding { return base64.RawURLEncoding.Strict() }

// NewAPIKey returns a new API key, its prefix (store it, indexed, to look the
// key up) and secretHash (store it to check the key). Show key.Reveal() to
// the creator once, then call key.Zero(). rand must be crypto/rand.Reader in
// production.
func NewAPIKey(rand io.Reader) (key APIKeySecret, prefix string, secretHash []byte, err error) {
	var raw [APIKeyPrefixLength + APIKeySecretSize]byte
	defer clear(raw[:])
	if err := readRandom(rand, raw[:]); err != nil {
		return APIKeySecret{}, "", nil, err
	}
	p := make([]byte, APIKeyPrefixLength)
	for i, r := range raw[:APIKeyPrefixLength] {
		p[i] = base32Lower[r&31] // 256 is a multiple of 32: no bias
	}
	secret := raw[APIKeyPrefixLength:]
	b := make([]byte, 0, APIKeyLength)
	b = append(b, APIKeyTag...)
	b = append(b, p...)
	b = append(b, '_')
	b = b64url().AppendEncode(b, secret)
	box := &secretBox{b: b, live: true}
	key = APIKeySecret{prefix: string(p), box: func() *secretBox { return box }}
	return key, string(p), hashSecret(apiKeyHashDomain, secret), nil
}

// ParseAPIKey checks that s is exactly an API key (no surrounding space, no
// other case) and returns its prefix and the hash of its secret, to compare
// with VerifyAPIKeySecret against the hash stored for that prefix. Anything
// else gives an error wrapping ErrMalformedKey that does not quote s.
//
// The secret hash is SHA-256("custos/api-key/v1\x00" || the 32 secret
// bytes). The secret has 256 random bits, so a fast hash is right here: a
// slow password hash would add cost per request and no security, since
// brute-forcing 2^256 values is out of reach at any speed.
func ParseAPIKey(s string) (prefix string, secretHash []byte, err error) {
	if len(s) != APIKeyLength {
		return "", nil, fmt.Errorf("%w: wrong length", ErrMalformedKey)
	}
	if s[:len(APIKeyTag)] != APIKeyTag {
		return "", nil, fmt.Errorf("%w: missing %q", ErrMalformedKey, APIKeyTag)
	}
	rest := s[len(APIKeyTag):]
	for i := range APIKeyPrefixLength {
		if !isBase32Lower(rest[i]) {
			return "", nil, fmt.Errorf("%w: bad prefix", ErrMalformedKey)
		}
	}
	if rest[APIKeyPrefixLength] != '_' {
		return "", nil, fmt.Errorf("%w: missing separator", ErrMalformedKey)
	}
	enc := rest[APIKeyPrefixLength+1:]
	if !isBase64(enc, '-', '_') { // encoding/base64 skips '\r' and '\n'
		return "", nil, fmt.Errorf("%w: bad secret", ErrMalformedKey)
	}
	secret, err := b64url().DecodeString(enc)
	if err != nil || len(secret) != APIKeySecretSize {
		return "", nil, fmt.Errorf("%w: bad secret", ErrMalformedKey)
	}
	defer clear(secret)
	return rest[:APIKeyPrefixLength], hashSecret(apiKeyHashDomain, secret), nil
}

func isBase32Lower(c byte) bool {
	return ('a' <= c && c <= 'z') || ('2' <= c && c <= '7')
}

// VerifyAPIKeySecret reports, in constant time, whether presentedHash (from
// ParseAPIKey) equals storedHash (from NewAPIKey). Both must be
// SecretHashSize bytes; anything else, including two empty slices, is false.
func VerifyAPIKeySecret(storedHash, presentedHash []byte) bool {
	if len(storedHash) != SecretHashSize || len(presentedHash) != SecretHashSize {
		return false
	}
	return subtle.ConstantTimeCompare(storedHash, presentedHash) == 1
}

func hashSecret(domain string, secret []byte) []byte {
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write(secret)
	return h.Sum(nil)
}
