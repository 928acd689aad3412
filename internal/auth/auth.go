// Package auth holds Custos's credential primitives: staff password hashes,
// API keys for clients, staff session tokens and API scopes. It does no I/O:
// callers store hashes, look rows up, and keep the clock.
//
// Guarantees:
//
//   - Passwords are hashed with argon2id (64 MiB, 3 passes, 2 lanes) into a
//     PHC string; VerifyPassword reads the parameters from that string but
//     refuses any that would let a stored hash exhaust the machine
//     (memory above 256 MiB, more than 10 passes or 16 lanes). DummyVerify
//     costs what a real verification costs, so a login for an unknown user
//     takes as long as one for a known user.
//   - Passwords are normalised to Unicode NFKC (NIST SP 800-63B 5.1.1.2)
//     before they are measured or hashed, so the same password typed on two
//     keyboards that compose accents differently verifies.
//   - API keys and session tokens carry 256 random bits; only a SHA-256 of
//     the secret part is stored, and stored and presented hashes are
//     compared in constant time.
//   - Secret values (APIKeySecret) print, log and marshal as redacted; the
//     bytes are reachable only through Reveal.
//
// Refusals: passwords outside CheckPasswordPolicy; PHC strings that are not
// exactly argon2id v=19 in canonical form; API keys and session tokens that
// are not exactly in their format (no trimming, no case folding); unknown or
// duplicate scopes.
//
// The package holds no globals, reads no environment and does not log.
package auth

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// Errors. Callers branch on them with errors.Is; messages never contain the
// secret that was refused.
var (
	// ErrPasswordPolicy: the password is too short, too long or not
	// UTF-8. The wrapped message is safe to show to the user.
	ErrPasswordPolicy = errors.New("auth: password does not meet the policy")
	// ErrMalformedHash: a stored password hash is not a PHC string this
	// package accepts, or its parameters are out of bounds.
	ErrMalformedHash = errors.New("auth: malformed password hash")
	// ErrMalformedKey: an API key is not in the cst_<prefix>_<secret>
	// format.
	ErrMalformedKey = errors.New("auth: malformed API key")
	// ErrMalformedToken: a session token is not in the css_<secret> format.
	ErrMalformedToken = errors.New("auth: malformed session token")
	// ErrUnknownScope: a scope is not one of the Scope constants.
	ErrUnknownScope = errors.New("auth: unknown scope")
	// ErrDuplicateScope: a scope is listed twice.
	ErrDuplicateScope = errors.New("auth: duplicate scope")
	// ErrNoScopes: an empty scope list.
	ErrNoScopes = errors.New("auth: no scopes")
)

var errNilRand = errors.New("auth: nil random source")

func readRandom(rand io.Reader, b []byte) error {
	if rand == nil {
		return errNilRand
	}
	if _, err := io.ReadFull(rand, b); err != nil {
		return fmt.Errorf("auth: reading random bytes: %w", err)
	}
	return nil
}

// APIKeySecret is a complete API key (cst_<prefix>_<secret>) as returned by
// NewAPIKey, to be shown once to its creator with Reveal and then dropped.
// Its String, GoString, Format, LogValue, MarshalJSON and MarshalText show
// only the non-secret prefix. The bytes sit behind a closure, so no
// reflection-based printer can reach them. Copies share the bytes: Zero on
// one wipes all.
type APIKeySecret struct {
	prefix string
	box    func() *secretBox
}

type secretBox struct {
	b    []byte
	live bool
}

// Reveal returns the full key. It returns "" for a zero or zeroed value.
// Call it once, to hand the key to its creator; never log the result.
func (k APIKeySecret) Reveal() string {
	if k.box == nil || !k.box().live {
		return ""
	}
	return string(k.box().b)
}

// Zero wipes the key bytes of k and of every copy of k. The string returned
// by an earlier Reveal cannot be wiped.
func (k APIKeySecret) Zero() {
	if k.box == nil {
		return
	}
	b := k.box()
	clear(b.b)
	b.live = false
}

// String returns "cst_<prefix>_REDACTED".
func (k APIKeySecret) String() string {
	if k.prefix == "" {
		return "auth.APIKeySecret(empty)"
	}
	return APIKeyTag + k.prefix + "_REDACTED"
}

// GoString is String.
func (k APIKeySecret) GoString() string { return k.String() }

// Format prints String for every fmt verb.
func (k APIKeySecret) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue logs only the prefix.
func (k APIKeySecret) LogValue() slog.Value {
	return slog.GroupValue(slog.String("prefix", k.prefix), slog.String("secret", "REDACTED"))
}

// MarshalJSON encodes String as a JSON string.
func (k APIKeySecret) MarshalJSON() ([]byte, error) { return []byte(`"` + k.String() + `"`), nil }

// MarshalText returns String.
func (k APIKeySecret) MarshalText() ([]byte, error) { return []byte(k.String()), nil }
