package hd

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers branch with errors.Is; the wrapped messages add
// detail (a word position, a byte value) but never echo secret material such
// as mnemonic words, seeds or private keys.
var (
	// ErrInvalidMnemonic is matched by every mnemonic rejection, including
	// ErrMnemonicWordCount, ErrMnemonicWord and ErrMnemonicChecksum.
	ErrInvalidMnemonic = errors.New("hd: invalid mnemonic")
	// ErrMnemonicWordCount: the sentence does not have 12, 15, 18, 21 or 24 words.
	ErrMnemonicWordCount = fmt.Errorf("%w: word count", ErrInvalidMnemonic)
	// ErrMnemonicWord: a word is not in the BIP39 English word list. The
	// error message names the 1-based position of the word, not the word.
	ErrMnemonicWord = fmt.Errorf("%w: unknown word", ErrInvalidMnemonic)
	// ErrMnemonicChecksum: all words are known but the BIP39 checksum bits
	// do not match the entropy (typically a mistyped or swapped word).
	ErrMnemonicChecksum = fmt.Errorf("%w: checksum mismatch", ErrInvalidMnemonic)

	// ErrInvalidEntropy: entropy is not 128, 160, 192, 224 or 256 bits, or the
	// random source failed.
	ErrInvalidEntropy = errors.New("hd: invalid entropy")
	// ErrInvalidSeed: the seed is not 16 to 64 bytes long, or (secp256k1,
	// BIP32) it yields an invalid master key.
	ErrInvalidSeed = errors.New("hd: invalid seed")
	// ErrUnsupportedCurve: the Curve value is not one of the defined curves.
	ErrUnsupportedCurve = errors.New("hd: unsupported curve")

	// ErrInvalidPath: a derivation path string is malformed, an index
	// overflows 2^31-1, the path is deeper than 255, or an absolute path
	// ("m/...") was applied to a key that is not a master key.
	ErrInvalidPath = errors.New("hd: invalid derivation path")
	// ErrMaxDepth: deriving a child would exceed depth 255.
	ErrMaxDepth = errors.New("hd: maximum depth 255 reached")
	// ErrHardenedOnly: ed25519 and curve25519 support hardened children only
	// (SLIP-10).
	ErrHardenedOnly = errors.New("hd: curve supports hardened derivation only")
	// ErrHardenedFromPublic: a hardened child cannot be derived from a
	// public extended key.
	ErrHardenedFromPublic = errors.New("hd: cannot derive a hardened child from a public key")
	// ErrInvalidChild: no valid child exists at the requested index nor at
	// any later index of the same (normal or hardened) range (BIP32 says to
	// skip an invalid index; this is returned only when the range is
	// exhausted, probability < 2^-127 per index on secp256k1), or when the
	// SLIP-10 nist256p1 retry loop gives up after 64 rounds (about 2^-2048).
	ErrInvalidChild = errors.New("hd: no valid child key in range")
	// ErrNotPrivate: the operation needs a private extended key.
	ErrNotPrivate = errors.New("hd: key is public only")
	// ErrUnsupported: the operation is not defined for the key's curve (for
	// example an xpub for ed25519, or signing with a curve25519 key).
	ErrUnsupported = errors.New("hd: operation not supported for this curve")
	// ErrZeroed: the key was wiped with Zero and can no longer be used.
	ErrZeroed = errors.New("hd: key has been zeroed")

	// Errors returned by ParseExtendedKey, one per BIP32 test-vector-5 reason.

	// ErrMalformedKey: not Base58, or not 82 bytes once decoded.
	ErrMalformedKey = errors.New("hd: malformed extended key")
	// ErrBadChecksum: the Base58Check checksum does not match.
	ErrBadChecksum = errors.New("hd: extended key checksum mismatch")
	// ErrUnknownVersion: the version bytes are neither mainnet xprv
	// (0488ade4) nor mainnet xpub (0488b21e).
	ErrUnknownVersion = errors.New("hd: unknown extended key version")
	// ErrKeyTypeMismatch: xpub version with a private key payload (0x00
	// prefix) or xprv version with a public key payload (0x02/0x03 prefix).
	ErrKeyTypeMismatch = errors.New("hd: extended key version does not match key type")
	// ErrInconsistentDepth: depth 0 with a non-zero parent fingerprint or a
	// non-zero child index.
	ErrInconsistentDepth = errors.New("hd: zero depth with non-zero parent fingerprint or child index")
	// ErrInvalidPrivateKey: private key payload without the 0x00 prefix, or
	// a scalar outside 1..n-1.
	ErrInvalidPrivateKey = errors.New("hd: invalid private key")
	// ErrInvalidPublicKey: public key payload with a prefix other than
	// 0x02/0x03, or an x coordinate that is not on secp256k1.
	ErrInvalidPublicKey = errors.New("hd: invalid public key")
	// ErrInvalidDigest: SignDigest was given a digest that is not 32 bytes.
	ErrInvalidDigest = errors.New("hd: digest must be 32 bytes")
)
