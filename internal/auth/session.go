package auth

import (
	"fmt"
	"io"
)

// Session token format: SessionTokenTag followed by 32 random bytes in
// base64url without padding; SessionTokenLength characters in all.
const (
	SessionTokenTag    = "css_"
	SessionTokenSize   = 32
	SessionTokenLength = len(SessionTokenTag) + 43
)

// NewSessionToken returns a new staff session token, to send to the browser
// (in a Secure, HttpOnly cookie), and its hash, to store. The token is not
// kept server-side. tokenHash is SHA-256("custos/session-token/v1\x00" || the
// 32 random bytes): the token has 256 random bits, so a fast hash is right,
// and the hash may serve directly as the session's lookup key.
func NewSessionToken(rand io.Reader) (token string, tokenHash []byte, err error) {
	var raw [SessionTokenSize]byte
	defer clear(raw[:])
	if err := readRandom(rand, raw[:]); err != nil {
		return "", nil, err
	}
	b := make([]byte, 0, SessionTokenLength)
	b = append(b, SessionTokenTag...)
	b = b64url().AppendEncode(b, raw[:])
	return string(b), hashSecret(sessionDomain, raw[:]), nil
}

// HashSessionToken checks that token is exactly a session token and returns
// its hash, to look the session up. Anything else gives an error wrapping
// ErrMalformedToken that does not quote the token.
func HashSessionToken(token string) ([]byte, error) {
	if len(token) != SessionTokenLength || token[:len(SessionTokenTag)] != SessionTokenTag {
		return nil, fmt.Errorf("%w: wrong length or tag", ErrMalformedToken)
	}
	enc := token[len(SessionTokenTag):]
	if !isBase64(enc, '-', '_') { // encoding/base64 skips '\r' and '\n'
		return nil, fmt.Errorf("%w: bad encoding", ErrMalformedToken)
	}
	raw, err := b64url().DecodeString(enc)
	if err != nil || len(raw) != SessionTokenSize {
		return nil, fmt.Errorf("%w: bad encoding", ErrMalformedToken)
	}
	defer clear(raw)
	return hashSecret(sessionDomain, raw), nil
}
