package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/custos-dev/custos/internal/keyfile"
	"golang.org/x/crypto/argon2"
)

// KEK is a 32-byte key-encryption key. The zero value and a nil *KEK are
// invalid; build one with LoadKEKFile, DeriveKEKFromPassphraseFile or NewKEK.
//
// The key bytes sit behind a closure, so no reflection-based printer (fmt
// with any verb, even for a KEK value in an unexported field of another
// struct) can reach them. Copies of a KEK share the key: Zero on one makes
// every copy unusable.
type KEK struct {
	key     func() *keyBox
	id      string // hex of idBytes
	idBytes [IDSize]byte
}

// keyBox is shared by all copies of a KEK.
type keyBox struct {
	k    [KeySize]byte
	live bool // false once zeroed
}

// NewKEK returns a KEK holding a copy of key, which must be KeySize bytes.
// The caller should wipe its own copy.
func NewKEK(key []byte) (*KEK, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: key must be %d bytes", ErrInvalidKEK, KeySize)
	}
	box := &keyBox{live: true}
	copy(box.k[:], key)
	return newKEK(box), nil
}

// newKEK takes ownership of box, which must be live.
func newKEK(box *keyBox) *KEK {
	idb := kekID(&box.k)
	return &KEK{
		key:     func() *keyBox { return box },
		id:      hex.EncodeToString(idb[:]),
		idBytes: idb,
	}
}

// ID returns the KEK's fingerprint: the first 8 bytes of
// SHA-256("custos/seal/kek-id/v1\x00" || key), as 16 lower-case hex
// characters. It is written into every blob the KEK seals and may be logged
// and stored; it does not reveal the key. It stays valid after Zero.
func (k KEK) ID() string { return k.id }

// Zero wipes the key of k and of every copy of k. A zeroed KEK is refused by
// Seal and Open (ErrInvalidKEK). Zero must not run concurrently with Seal or
// Open on the same key.
func (k *KEK) Zero() {
	if k == nil || k.key == nil {
		return
	}
	box := k.key()
	clear(box.k[:])
	box.live = false
}

// keyBytes returns the key, or an error for a nil, zero-value or zeroed KEK.
func (k *KEK) keyBytes() (*[KeySize]byte, error) {
	if k == nil || k.key == nil || !k.key().live {
		return nil, fmt.Errorf("%w: nil or zeroed", ErrInvalidKEK)
	}
	return &k.key().k, nil
}

func (k KEK) live() bool { return k.key != nil && k.key().live }

// String returns "seal.KEK(id=<id>)" and never the key.
func (k KEK) String() string {
	if !k.live() {
		return "seal.KEK(invalid)"
	}
	return "seal.KEK(id=" + k.id + ")"
}

// GoString is String, so %#v shows no key bytes.
func (k KEK) GoString() string { return k.String() }

// Format prints String for every verb, so no fmt verb (%x, %d, %+v...)
// reaches the key.
func (k KEK) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue makes slog log only the id.
func (k KEK) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kek_id", k.id), slog.String("key", "REDACTED"))
}

// MarshalJSON encodes {"kek_id":"<id>","key":"REDACTED"}.
func (k KEK) MarshalJSON() ([]byte, error) {
	return []byte(`{"kek_id":"` + k.id + `","key":"REDACTED"}`), nil
}

// MarshalText returns String, for encoders that prefer TextMarshaler.
func (k KEK) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// maxSecretFile bounds how much of a key or passphrase file is read.
const maxSecretFile = 4096

// readSecretFile reads a regular file that group and other cannot read, at
// most maxSecretFile bytes. The caller must wipe the result.
func readSecretFile(path, what string) ([]byte, error) {
	b, err := keyfile.ReadMax(path, maxSecretFile)
	if err != nil {
		return nil, fmt.Errorf("seal: %s file: %w", what, err)
	}
	return b, nil
}

// trimNewline removes one trailing "\n" or "\r\n".
func trimNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// LoadKEKFile reads a KEK from path: 64 hex characters (32 bytes), with an
// optional trailing newline. The file must be a regular file that group and
// other cannot read (ErrInsecurePermissions otherwise, naming the fix).
// Malformed content gives ErrInvalidKEK without quoting the file.
func LoadKEKFile(path string) (*KEK, error) {
	raw, err := readSecretFile(path, "key")
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	text := trimNewline(raw)
	if len(text) != 2*KeySize {
		return nil, fmt.Errorf("%w: key file %s must hold %d hex characters", ErrInvalidKEK, path, 2*KeySize)
	}
	box := &keyBox{live: true}
	// hex.Decode's error quotes the offending byte; do not pass it on.
	if _, err := hex.Decode(box.k[:], text); err != nil {
		clear(box.k[:])
		return nil, fmt.Errorf("%w: key file %s is not hex", ErrInvalidKEK, path)
	}
	return newKEK(box), nil
}

// GenerateKEKFile writes a new KEK, 32 bytes from rand as 64 hex characters
// and a newline, to path with mode 0600. It writes a temporary file in the
// same directory, fsyncs it, then links it into place and fsyncs the
// directory, so path either does not exist or holds a complete key. It
// refuses to overwrite: if path exists the error wraps fs.ErrExist.
func GenerateKEKFile(path string, rand io.Reader) error {
	if rand == nil {
		return errors.New("seal: nil random source")
	}
	// keyfile.Create would make a missing directory; a mistyped path should
	// fail instead.
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		return fmt.Errorf("seal: key file: %w", err)
	}
	var key [KeySize]byte
	defer clear(key[:])
	if _, err := io.ReadFull(rand, key[:]); err != nil {
		return fmt.Errorf("seal: reading random key: %w", err)
	}
	text := make([]byte, 2*KeySize+1)
	defer clear(text)
	hex.Encode(text, key[:])
	text[2*KeySize] = '\n'

	if err := keyfile.Create(path, text); err != nil {
		return fmt.Errorf("seal: key file: %w", err)
	}
	return nil
}

// MinPassphraseLength is the minimum passphrase length in characters
// (Unicode code points), after the trailing newline is removed.
const MinPassphraseLength = 12

// SaltSize is the minimum salt size for DeriveKEKFromPassphraseFile.
const SaltSize = 16

// Argon2Params are argon2id cost parameters. Store them next to the salt: the
// same passphrase gives another KEK under other parameters.
type Argon2Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes
}

// DefaultArgon2Params returns RFC 9106's second recommended option:
// t=3, m=64 MiB, p=4. It costs 64 MiB and roughly 0.1 s, paid once when a
// process starts.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}
}

// Bounds enforced by Argon2Params.Validate.
const (
	// MinArgon2MemoryKiB and MinArgon2Cost follow OWASP's argon2id table
	// (7 MiB x 5 passes up to 46 MiB x 1 pass): MemoryKiB*Time must reach
	// MinArgon2Cost.
	MinArgon2MemoryKiB = 7 * 1024
	MinArgon2Cost      = 7 * 1024 * 5
	MaxArgon2MemoryKiB = 2 * 1024 * 1024 // 2 GiB
	MaxArgon2Time      = 64
	MaxArgon2Threads   = 64
)

// Validate refuses parameters below OWASP's argon2id minimum or so large
// that deriving would exhaust the machine.
func (p Argon2Params) Validate() error {
	switch {
	case p.Threads < 1 || p.Threads > MaxArgon2Threads:
		return fmt.Errorf("%w: threads %d not in [1, %d]", ErrInvalidParams, p.Threads, MaxArgon2Threads)
	case p.Time < 1 || p.Time > MaxArgon2Time:
		return fmt.Errorf("%w: time %d not in [1, %d]", ErrInvalidParams, p.Time, MaxArgon2Time)
	case p.MemoryKiB < MinArgon2MemoryKiB || p.MemoryKiB > MaxArgon2MemoryKiB:
		return fmt.Errorf("%w: memory %d KiB not in [%d, %d]", ErrInvalidParams, p.MemoryKiB, MinArgon2MemoryKiB, MaxArgon2MemoryKiB)
	case uint64(p.MemoryKiB)*uint64(p.Time) < MinArgon2Cost:
		return fmt.Errorf("%w: memory x time %d below %d", ErrInvalidParams, uint64(p.MemoryKiB)*uint64(p.Time), MinArgon2Cost)
	case p.MemoryKiB < 8*uint32(p.Threads):
		return fmt.Errorf("%w: memory below 8 KiB per thread", ErrInvalidParams)
	}
	return nil
}

// DeriveKEKFromPassphraseFile derives a KEK with argon2id from the passphrase
// in path and salt (at least SaltSize random bytes, stored with the sealed
// data). The file follows LoadKEKFile's permission rule; one trailing newline
// is removed; a passphrase of fewer than MinPassphraseLength characters is
// refused (ErrWeakPassphrase). params must pass Validate.
func DeriveKEKFromPassphraseFile(path string, salt []byte, params Argon2Params) (*KEK, error) {
	if err := params.Validate(); err != nil {
		return nil, err
	}
	if len(salt) < SaltSize {
		return nil, fmt.Errorf("%w: salt must be at least %d bytes", ErrInvalidParams, SaltSize)
	}
	raw, err := readSecretFile(path, "passphrase")
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	pass := trimNewline(raw)
	if utf8.RuneCount(pass) < MinPassphraseLength {
		return nil, fmt.Errorf("%w: passphrase file %s must hold at least %d characters", ErrWeakPassphrase, path, MinPassphraseLength)
	}
	derived := argon2.IDKey(pass, salt, params.Time, params.MemoryKiB, params.Threads, KeySize)
	defer clear(derived)
	box := &keyBox{live: true}
	copy(box.k[:], derived)
	return newKEK(box), nil
}
