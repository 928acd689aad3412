// Package seal encrypts secrets at rest (HD wallet master seeds, later
// guardian key shares) under a key-encryption key (KEK).
//
// Guarantees:
//
//   - Seal uses XChaCha20-Poly1305 with a fresh random 24-byte nonce for every
//     call, so one KEK may seal any number of secrets without nonce
//     bookkeeping.
//   - A sealed blob is version (1 byte) || KEK id (8 bytes) || nonce (24
//     bytes) || ciphertext and tag. The version and KEK id are authenticated
//     together with the caller's associated data: changing any byte of the
//     blob, or opening it with other associated data, fails.
//   - Open checks the version (ErrUnsupportedVersion) and the KEK id
//     (ErrWrongKEK) before it decrypts, and reports any authentication
//     failure as ErrDecrypt with no further detail. It never returns
//     plaintext together with an error.
//   - The KEK is held in an unexported field; String, GoString, Format,
//     LogValue, MarshalJSON and MarshalText print only its id. Zero wipes it.
//   - Key and passphrase files are refused when group or other may read them
//     (mode & 0o077 != 0), and are never quoted in errors.
//
// Refusals: Seal and Open refuse empty associated data (ErrMissingAssociatedData).
// Every caller must bind the sealed secret to its context with
// AssociatedData, at least the purpose, the owning object's id and the key
// version, so that a blob copied to another row, wallet or version does not
// open there.
//
// The package holds no globals, reads no environment and does not log.
package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/custos-dev/custos/internal/keyfile"
	"golang.org/x/crypto/chacha20poly1305"
)

// Version is the format version written by Seal as the first byte.
const Version byte = 1

// Sizes of the parts of a sealed blob.
const (
	KeySize   = chacha20poly1305.KeySize    // 32
	IDSize    = 8                           // KEK id in the blob
	NonceSize = chacha20poly1305.NonceSizeX // 24
	TagSize   = chacha20poly1305.Overhead   // 16
	// HeaderSize is the size of version || KEK id.
	HeaderSize = 1 + IDSize
	// Overhead is the number of bytes Seal adds to the plaintext.
	Overhead = HeaderSize + NonceSize + TagSize
)

// Errors. Callers branch on them with errors.Is.
var (
	// ErrInvalidKEK: nil, zeroed or malformed key material.
	ErrInvalidKEK = errors.New("seal: invalid key-encryption key")
	// ErrInsecurePermissions: a key or passphrase file is accessible by
	// group or other. It is keyfile.ErrInsecurePermissions, which the
	// files are read with.
	ErrInsecurePermissions = keyfile.ErrInsecurePermissions
	// ErrWeakPassphrase: the passphrase is empty or shorter than
	// MinPassphraseLength characters.
	ErrWeakPassphrase = errors.New("seal: passphrase too short")
	// ErrInvalidParams: argon2id parameters or salt out of range.
	ErrInvalidParams = errors.New("seal: invalid key derivation parameters")
	// ErrMissingAssociatedData: Seal or Open called with empty associated
	// data.
	ErrMissingAssociatedData = errors.New("seal: associated data is required")
	// ErrMalformed: the blob is too short to be a sealed secret.
	ErrMalformed = errors.New("seal: malformed sealed data")
	// ErrUnsupportedVersion: the blob's version byte is not Version.
	ErrUnsupportedVersion = errors.New("seal: unsupported sealed data version")
	// ErrWrongKEK: the blob was sealed under another KEK.
	ErrWrongKEK = errors.New("seal: sealed under a different key-encryption key")
	// ErrDecrypt: authentication failed (tampered blob, or wrong
	// associated data).
	ErrDecrypt = errors.New("seal: decryption failed")
)

// Seal encrypts plaintext under kek, binding associatedData, with a nonce
// read from rand (pass crypto/rand.Reader). associatedData must not be
// empty; build it with AssociatedData. The result is
// Version || kek id || nonce || ciphertext || tag, len(plaintext)+Overhead
// bytes.
func Seal(kek *KEK, plaintext, associatedData []byte, rand io.Reader) ([]byte, error) {
	key, err := kek.keyBytes()
	if err != nil {
		return nil, err
	}
	if len(associatedData) == 0 {
		return nil, ErrMissingAssociatedData
	}
	if rand == nil {
		return nil, errors.New("seal: nil random source")
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out := make([]byte, HeaderSize+NonceSize, len(plaintext)+Overhead)
	out[0] = Version
	copy(out[1:HeaderSize], kek.idBytes[:])
	nonce := out[HeaderSize : HeaderSize+NonceSize]
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("seal: reading nonce: %w", err)
	}
	ad := aeadData(out[:HeaderSize], associatedData)
	return aead.Seal(out, nonce, plaintext, ad), nil
}

// Open decrypts a blob made by Seal. It returns ErrMalformed if the blob is
// too short, ErrUnsupportedVersion for an unknown version byte, ErrWrongKEK
// if another KEK sealed it, ErrMissingAssociatedData for empty
// associatedData and ErrDecrypt if authentication fails. On error the
// plaintext is nil.
func Open(kek *KEK, sealed, associatedData []byte) ([]byte, error) {
	key, err := kek.keyBytes()
	if err != nil {
		return nil, err
	}
	if len(associatedData) == 0 {
		return nil, ErrMissingAssociatedData
	}
	if len(sealed) < Overhead {
		return nil, ErrMalformed
	}
	if sealed[0] != Version {
		return nil, ErrUnsupportedVersion
	}
	if !bytes.Equal(sealed[1:HeaderSize], kek.idBytes[:]) {
		return nil, ErrWrongKEK
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	nonce := sealed[HeaderSize : HeaderSize+NonceSize]
	ad := aeadData(sealed[:HeaderSize], associatedData)
	pt, err := aead.Open(nil, nonce, sealed[HeaderSize+NonceSize:], ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// aeadData is the AEAD additional data: the fixed-size header followed by the
// caller's associated data. The header has a fixed length, so the
// concatenation is unambiguous.
func aeadData(header, associatedData []byte) []byte {
	ad := make([]byte, 0, len(header)+len(associatedData))
	ad = append(ad, header...)
	return append(ad, associatedData...)
}

// adDomain starts every AssociatedData encoding.
const adDomain = "custos/seal/ad/v1"

// AssociatedData builds an unambiguous encoding of purpose and fields for use
// as Seal and Open associated data: a domain string, then purpose, then each
// field, each prefixed with its length as a uvarint. Distinct argument lists
// always give distinct encodings (("ab", "c") differs from ("a", "bc"), and
// a trailing empty field is still counted).
//
// Callers must bind everything that identifies the sealed secret's place,
// for example for an HD wallet seed:
//
//	seal.AssociatedData("wallet-seed", walletID, strconv.Itoa(keyVersion))
//
// so that a blob moved to another wallet or key version does not open.
func AssociatedData(purpose string, fields ...string) []byte {
	n := len(adDomain) + len(purpose) + 3*binary.MaxVarintLen64
	for _, f := range fields {
		n += len(f) + binary.MaxVarintLen64
	}
	b := make([]byte, 0, n)
	b = appendLP(b, adDomain)
	b = appendLP(b, purpose)
	b = binary.AppendUvarint(b, uint64(len(fields)))
	for _, f := range fields {
		b = appendLP(b, f)
	}
	return b
}

func appendLP(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// kekIDDomain separates the KEK fingerprint from any other use of the key.
const kekIDDomain = "custos/seal/kek-id/v1\x00"

func kekID(key *[KeySize]byte) [IDSize]byte {
	h := sha256.New()
	h.Write([]byte(kekIDDomain))
	h.Write(key[:])
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var id [IDSize]byte
	copy(id[:], sum[:IDSize])
	return id
}
