package auth

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Password policy, in Unicode code points after NFKC normalisation.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 1024
)

// Production argon2id parameters for HashPassword. They exceed OWASP's
// minimum (19 MiB, t=2, p=1) and follow RFC 9106's second recommendation in
// memory and passes. Cost: 64 MiB of memory and about 0.15-0.25 s on two
// cores (measured on the development machine) per hash or verification, so
// 20 concurrent logins hold 1.25 GiB. The HTTP
// layer must bound concurrent logins (a semaphore) and rate-limit them.
const (
	PasswordTime      = 3
	PasswordMemoryKiB = 64 * 1024
	PasswordThreads   = 2
	PasswordSaltSize  = 16
	PasswordKeySize   = 32
)

// Bounds VerifyPassword enforces on parameters read from a stored hash, so a
// planted or corrupted hash cannot make one login allocate gigabytes or spin
// for minutes.
const (
	MaxPasswordMemoryKiB = 256 * 1024
	MaxPasswordTime      = 10
	MaxPasswordThreads   = 16
	minPHCSalt           = 8
	maxPHCSalt           = 64
	minPHCKey            = 16
	maxPHCKey            = 64
	maxPHCLength         = 256
	// maxVerifyInput bounds the bytes VerifyPassword normalises.
	// CheckPasswordPolicy refuses longer input, so no stored hash was made
	// from a longer password.
	maxVerifyInput = 16 * 1024
)

// dummyPHC is a well-formed hash with the production parameters that no
// password is known to match: salt "custos-dummy-slt", and as "hash" the 32
// ASCII bytes "custos dummy hash: matches none.", not an argon2id output. DummyVerify runs VerifyPassword against it.
const dummyPHC = "$argon2id$v=19$m=65536,t=3,p=2$Y3VzdG9zLWR1bW15LXNsdA$Y3VzdG9zIGR1bW15IGhhc2g6IG1hdGNoZXMgbm9uZS4"

// passwordParams is the argon2id parameter set of one hash.
type passwordParams struct {
	time      uint32
	memoryKiB uint32
	threads   uint8
	saltLen   int
	keyLen    int
}

func defaultPasswordParams() passwordParams {
	return passwordParams{
		time: PasswordTime, memoryKiB: PasswordMemoryKiB, threads: PasswordThreads,
		saltLen: PasswordSaltSize, keyLen: PasswordKeySize,
	}
}

// CheckPasswordPolicy reports whether password may be set: valid UTF-8 and,
// after NFKC normalisation, between MinPasswordLength and MaxPasswordLength
// code points. The error wraps ErrPasswordPolicy and its message is safe to
// show to the user. Breached-password screening is the caller's job.
func CheckPasswordPolicy(password string) error {
	if !utf8.ValidString(password) {
		return fmt.Errorf("%w: password must be valid UTF-8", ErrPasswordPolicy)
	}
	if len(password) > maxVerifyInput {
		return fmt.Errorf("%w: password must be at most %d characters", ErrPasswordPolicy, MaxPasswordLength)
	}
	n := utf8.RuneCountInString(norm.NFKC.String(password))
	if n < MinPasswordLength {
		return fmt.Errorf("%w: password must be at least %d characters", ErrPasswordPolicy, MinPasswordLength)
	}
	if n > MaxPasswordLength {
		return fmt.Errorf("%w: password must be at most %d characters", ErrPasswordPolicy, MaxPasswordLength)
	}
	return nil
}

// HashPassword checks password against CheckPasswordPolicy and hashes its
// NFKC form with argon2id and a 16-byte salt from rand (pass
// crypto/rand.Reader). The result is a PHC string:
//
//	$argon2id$v=19$m=65536,t=3,p=2$<salt, base64 without padding>$<hash, base64 without padding>
func HashPassword(password string, rand io.Reader) (string, error) {
	return hashPassword(password, rand, defaultPasswordParams())
}

func hashPassword(password string, rand io.Reader, p passwordParams) (string, error) {
	if err := CheckPasswordPolicy(password); err != nil {
		return "", err
	}
	salt := make([]byte, p.saltLen)
	if err := readRandom(rand, salt); err != nil {
		return "", err
	}
	pw := []byte(norm.NFKC.String(password))
	defer clear(pw)
	key := argon2.IDKey(pw, salt, p.time, p.memoryKiB, p.threads, uint32(p.keyLen))
	return encodePHC(p, salt, key), nil
}

// b64 is PHC's base64: standard alphabet, no padding, canonical trailing
// bits.
func b64() *base64.Encoding { return base64.RawStdEncoding.Strict() }

func encodePHC(p passwordParams, salt, key []byte) string {
	return "$argon2id$v=19$m=" + strconv.FormatUint(uint64(p.memoryKiB), 10) +
		",t=" + strconv.FormatUint(uint64(p.time), 10) +
		",p=" + strconv.FormatUint(uint64(p.threads), 10) +
		"$" + b64().EncodeToString(salt) + "$" + b64().EncodeToString(key)
}

// VerifyPassword reports whether password matches the PHC string phc made by
// HashPassword. It returns (false, nil) for a wrong password and an error
// wrapping ErrMalformedHash if phc is not a canonical argon2id v=19 PHC
// string or its parameters exceed MaxPasswordMemoryKiB, MaxPasswordTime or
// MaxPasswordThreads. The comparison is constant time.
//
// Passwords of more than 16 KiB are refused as wrong without hashing; no
// policy-valid password is that long.
func VerifyPassword(phc, password string) (bool, error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	if len(password) > maxVerifyInput {
		return false, nil
	}
	pw := []byte(norm.NFKC.String(password))
	defer clear(pw)
	got := argon2.IDKey(pw, salt, p.time, p.memoryKiB, p.threads, uint32(p.keyLen))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// DummyVerify does the work of VerifyPassword with the production
// parameters and discards the result. Call it when the user does not exist,
// so the response takes as long as for a wrong password.
func DummyVerify(password string) {
	_, _ = VerifyPassword(dummyPHC, password)
}

// NeedsRehash reports whether phc is malformed or was made with parameters
// other than the production ones; after a successful login the caller should
// then store HashPassword's new hash.
func NeedsRehash(phc string) bool {
	p, _, _, err := parsePHC(phc)
	return err != nil || p != defaultPasswordParams()
}

// parsePHC parses exactly the canonical form encodePHC writes and enforces the
// parameter bounds.
func parsePHC(phc string) (p passwordParams, salt, key []byte, err error) {
	bad := func(why string) (passwordParams, []byte, []byte, error) {
		return passwordParams{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	if len(phc) > maxPHCLength {
		return bad("too long")
	}
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("not a PHC string")
	}
	if parts[1] != "argon2id" {
		return bad("algorithm is not argon2id")
	}
	if parts[2] != "v=19" {
		return bad("version is not 19")
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return bad("parameters must be m,t,p")
	}
	m, ok1 := parseParam(kv[0], "m=")
	t, ok2 := parseParam(kv[1], "t=")
	par, ok3 := parseParam(kv[2], "p=")
	if !ok1 || !ok2 || !ok3 {
		return bad("parameters must be m=<n>,t=<n>,p=<n>")
	}
	switch {
	case par < 1 || par > MaxPasswordThreads:
		return bad("parallelism out of range")
	case t < 1 || t > MaxPasswordTime:
		return bad("time out of range")
	case m < 8*par || m > MaxPasswordMemoryKiB:
		return bad("memory out of range")
	}
	// The alphabet checks matter: encoding/base64 silently skips '\r' and
	// '\n'.
	if !isBase64(parts[4], '+', '/') || !isBase64(parts[5], '+', '/') {
		return bad("bad base64")
	}
	salt, err = b64().DecodeString(parts[4])
	if err != nil || len(salt) < minPHCSalt || len(salt) > maxPHCSalt {
		return bad("bad salt")
	}
	key, err = b64().DecodeString(parts[5])
	if err != nil || len(key) < minPHCKey || len(key) > maxPHCKey {
		return bad("bad hash")
	}
	p = passwordParams{
		time: uint32(t), memoryKiB: uint32(m), threads: uint8(par),
		saltLen: len(salt), keyLen: len(key),
	}
	return p, salt, key, nil
}

// parseParam parses "<name><decimal>" with no sign, no leading zero and at
// most 10 digits.
func parseParam(s, name string) (uint64, bool) {
	d, ok := strings.CutPrefix(s, name)
	if !ok || d == "" || len(d) > 10 || (d[0] == '0' && len(d) > 1) {
		return 0, false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(d, 10, 64)
	return v, err == nil
}

// isBase64 reports whether s holds only the base64 alphabet whose last two
// characters are c62 and c63 (no padding, no whitespace).
func isBase64(s string, c62, c63 byte) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == c62 || c == c63) {
			return false
		}
	}
	return true
}
