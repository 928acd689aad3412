// Package hd derives hierarchical deterministic keys for Custos's HD wallet
// mode: BIP39 mnemonics and seeds, BIP32 extended keys on secp256k1, and
// SLIP-10 derivation on secp256k1, NIST P-256 (nist256p1), ed25519 and
// curve25519, plus signing with the derived secp256k1 and ed25519 keys.
//
// # Guarantees
//
//   - Every official vector passes: all BIP39 vectors of the Trezor
//     reference (python-mnemonic vectors.json; entropy and checksum for
//     English, seed and master xprv for every language), BIP32 test vectors
//     1-4 in both directions and the 16 invalid keys of vector 5 (each
//     rejected with its own error), and all SLIP-10 vectors including the
//     nist256p1 seed-retry and derivation-retry cases. The vectors and their
//     provenance are in testdata/.
//   - The BIP39 English word list is embedded and its SHA-256 is checked at
//     package initialisation (EnglishWordlistSHA256).
//   - Secrets stay inside ExtendedKey's unexported fields. String, GoString,
//     every fmt verb, LogValue and MarshalJSON are redacted; errors never
//     contain mnemonic words, seeds or keys; Zero wipes a key. XPrv is the
//     only export of private material and is explicit.
//   - Constant time where the libraries are: secp256k1 scalar arithmetic
//     uses decred's constant-time ModNScalar, P-256 and X25519 public keys
//     come from crypto/ecdh, P-256 scalar addition mod n is our own
//     branch-free code, ed25519 uses crypto/ed25519, BIP39 word lookups scan
//     the whole list without data-dependent branches, and checksums are
//     compared with crypto/subtle. Not constant time: decred's scalar
//     base multiplication (ScalarBaseMultNonConst, used for secp256k1
//     public keys and inside its RFC 6979 signer) and the Base58 codec.
//   - secp256k1 signatures are deterministic (RFC 6979), low-S, 64-byte
//     r || s; ed25519 signatures are standard RFC 8032 signatures.
//
// # Refusals
//
//   - Non-hardened derivation on ed25519 and curve25519 (ErrHardenedOnly),
//     hardened derivation from a public key (ErrHardenedFromPublic), depth
//     beyond 255 (ErrMaxDepth).
//   - Public (neutered) keys and xpub/xprv serialization exist for
//     secp256k1 only; nist256p1 keys are private-only, because the
//     standard library offers no non-deprecated P-256 point addition.
//   - Only mainnet xprv/xpub versions are parsed; testnet and SLIP-132
//     variants are rejected (ErrUnknownVersion).
//   - Mnemonics: English only, lower case only, 12/15/18/21/24 words, the
//     checksum must match. SeedFromMnemonic validates before hashing so a
//     mistyped mnemonic cannot silently open a different wallet.
//   - Derivation paths must be canonical: decimal components without
//     leading zeros, below 2^31, hardened marker ', h or H, at most 255
//     levels; an absolute "m/..." path is refused on a non-master key.
//   - Signing with nist256p1 or curve25519 keys (ErrUnsupported).
//
// # BIP32 versus SLIP-10 on secp256k1
//
// The two specifications differ only when a derived key is invalid
// (probability below 2^-127 per derivation): BIP32 skips to the next index,
// SLIP-10 rehashes. This package follows BIP32 for secp256k1 (Derive
// returns the next valid child and Index reports it; an invalid master key
// is ErrInvalidSeed) and SLIP-10 for nist256p1, where invalid keys occur
// with probability about 2^-32 and the retry vectors exercise them.
package hd
