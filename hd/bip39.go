package hd

import (
	"crypto/pbkdf2"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/custos-dev/custos/internal/bip39words"
	"golang.org/x/text/unicode/norm"
)

// englishWordlist is bitcoin/bips bip-0039/english.txt, byte for byte (see
// internal/bip39words). Its SHA-256 is checked when the package is
// initialised; a modified file makes every program using this package panic
// at start rather than produce wrong mnemonics.
var englishWordlist = bip39words.Text

// EnglishWordlistSHA256 is the SHA-256 of the embedded BIP39 English word
// list (bitcoin/bips bip-0039/english.txt).
const EnglishWordlistSHA256 = bip39words.SHA256

// english holds the 2048 words, each packed big-endian into a uint64 (every
// English word is 3 to 8 ASCII letters), plus the words as strings.
var english = mustLoadWordlist(englishWordlist, EnglishWordlistSHA256)

type wordlist struct {
	packed [2048]uint64
	words  [2048]string
}

func mustLoadWordlist(text, wantSHA256 string) *wordlist {
	wl, err := loadWordlist(text, wantSHA256)
	if err != nil {
		panic(err)
	}
	return wl
}

func loadWordlist(text, wantSHA256 string) (*wordlist, error) {
	sum := sha256.Sum256([]byte(text))
	if hex.EncodeToString(sum[:]) != wantSHA256 {
		return nil, fmt.Errorf("hd: embedded BIP39 word list has sha256 %x, want %s", sum, wantSHA256)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 2048 {
		return nil, fmt.Errorf("hd: embedded BIP39 word list has %d words, want 2048", len(lines))
	}
	wl := new(wordlist)
	for i, w := range lines {
		p, ok := packWord(w)
		if !ok || len(w) < 3 {
			return nil, fmt.Errorf("hd: embedded BIP39 word list: bad word at line %d", i+1)
		}
		if i > 0 && lines[i-1] >= w {
			return nil, fmt.Errorf("hd: embedded BIP39 word list not sorted at line %d", i+1)
		}
		wl.packed[i] = p
		wl.words[i] = w
	}
	return wl, nil
}

// packWord packs a word of 1..8 lower-case ASCII letters into a uint64.
func packWord(w string) (uint64, bool) {
	if len(w) == 0 || len(w) > 8 {
		return 0, false
	}
	var p uint64
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c < 'a' || c > 'z' {
			return 0, false
		}
		p = p<<8 | uint64(c)
	}
	return p, true
}

// index returns the position of w in the list. It scans all 2048 entries
// with branch-free comparisons, so the time taken does not depend on which
// word it is.
func (wl *wordlist) index(w string) (int, bool) {
	p, ok := packWord(w)
	if !ok {
		return 0, false
	}
	found, idx := uint64(0), uint64(0)
	for i, q := range wl.packed {
		x := p ^ q
		// eq is 1 when x == 0, else 0, without branches.
		eq := ((x | -x) >> 63) ^ 1
		found |= eq
		idx |= uint64(i) & -eq
	}
	return int(idx), found == 1
}

// word returns the word at index i (0..2047), reading every entry so that
// memory access does not depend on i.
func (wl *wordlist) word(i int) string {
	var sel uint64
	for j, q := range wl.packed {
		x := uint64(i ^ j)
		eq := ((x | -x) >> 63) ^ 1
		sel |= q & -eq
	}
	// Unpack the selected word.
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], sel)
	n := 0
	for n < 8 && b[n] == 0 {
		n++
	}
	return string(b[n:])
}

// NewMnemonic returns a new BIP39 English mnemonic encoding bits of entropy
// read from rand. bits must be 128, 160, 192, 224 or 256 (12 to 24 words).
// A nil rand means crypto/rand.Reader.
func NewMnemonic(rand io.Reader, bits int) (string, error) {
	if bits < 128 || bits > 256 || bits%32 != 0 {
		return "", fmt.Errorf("%w: %d bits, want 128, 160, 192, 224 or 256", ErrInvalidEntropy, bits)
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	ent := make([]byte, bits/8)
	defer clear(ent)
	if _, err := io.ReadFull(rand, ent); err != nil {
		return "", fmt.Errorf("%w: reading randomness: %w", ErrInvalidEntropy, err)
	}
	return EntropyToMnemonic(ent)
}

// EntropyToMnemonic encodes entropy (16, 20, 24, 28 or 32 bytes) as a BIP39
// English mnemonic: the entropy followed by the first len(entropy)*8/32 bits
// of its SHA-256, split into 11-bit word indexes, words joined by single
// ASCII spaces.
func EntropyToMnemonic(entropy []byte) (string, error) {
	n := len(entropy)
	if n < 16 || n > 32 || n%4 != 0 {
		return "", fmt.Errorf("%w: %d bytes, want 16, 20, 24, 28 or 32", ErrInvalidEntropy, n)
	}
	sum := sha256.Sum256(entropy)
	buf := make([]byte, n+1)
	defer clear(buf)
	copy(buf, entropy)
	buf[n] = sum[0] // checksum bits: at most 8, taken from the top of sum[0]
	words := n * 8 * 33 / 32 / 11
	var sb strings.Builder
	for i := range words {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(english.word(bits11(buf, i*11)))
	}
	clear(sum[:])
	return sb.String(), nil
}

// bits11 returns the 11-bit big-endian integer starting at bit offset off.
func bits11(b []byte, off int) int {
	v := 0
	for k := range 11 {
		bit := off + k
		v = v<<1 | int(b[bit/8]>>(7-uint(bit%8))&1)
	}
	return v
}

// MnemonicToEntropy validates a BIP39 English mnemonic and returns the
// entropy it encodes. The input is NFKD-normalised and split on any Unicode
// white space, so leading, trailing and repeated spaces, tabs and newlines
// are accepted. Words must be lower case. Errors match ErrInvalidMnemonic
// and one of ErrMnemonicWordCount, ErrMnemonicWord (with the 1-based word
// position) or ErrMnemonicChecksum; they never contain the words.
func MnemonicToEntropy(mnemonic string) ([]byte, error) {
	words := strings.Fields(norm.NFKD.String(mnemonic))
	n := len(words)
	if n < 12 || n > 24 || n%3 != 0 {
		return nil, fmt.Errorf("%w: %d words, want 12, 15, 18, 21 or 24", ErrMnemonicWordCount, n)
	}
	totalBits := n * 11
	csBits := totalBits / 33
	entLen := (totalBits - csBits) / 8
	buf := make([]byte, (totalBits+7)/8)
	defer clear(buf)
	for i, w := range words {
		idx, ok := english.index(w)
		if !ok {
			return nil, fmt.Errorf("%w: word %d is not in the BIP39 English word list", ErrMnemonicWord, i+1)
		}
		for k := range 11 {
			bit := i*11 + k
			buf[bit/8] |= byte((idx>>(10-k))&1) << (7 - uint(bit%8))
		}
	}
	ent := make([]byte, entLen)
	copy(ent, buf[:entLen])
	sum := sha256.Sum256(ent)
	mask := byte(0xff) << (8 - uint(csBits))
	if subtle.ConstantTimeByteEq(sum[0]&mask, buf[entLen]&mask) != 1 {
		clear(ent)
		return nil, ErrMnemonicChecksum
	}
	return ent, nil
}

// SeedFromMnemonic validates mnemonic (as MnemonicToEntropy does) and returns
// the 64-byte BIP39 seed: PBKDF2-HMAC-SHA512 with 2048 iterations over the
// NFKD form of the mnemonic (words re-joined with single spaces), salted
// with "mnemonic" + the NFKD form of passphrase. An empty passphrase is
// allowed. The caller owns the returned seed and should clear it after use.
func SeedFromMnemonic(mnemonic, passphrase string) ([]byte, error) {
	ent, err := MnemonicToEntropy(mnemonic)
	if err != nil {
		return nil, err
	}
	clear(ent)
	canonical := strings.Join(strings.Fields(norm.NFKD.String(mnemonic)), " ")
	return mnemonicSeed(canonical, passphrase)
}

// mnemonicSeed is the BIP39 seed function without validation; the tests use
// it for the non-English vectors.
func mnemonicSeed(sentence, passphrase string) ([]byte, error) {
	salt := []byte("mnemonic" + norm.NFKD.String(passphrase))
	defer clear(salt)
	seed, err := pbkdf2.Key(sha512.New, norm.NFKD.String(sentence), salt, 2048, 64)
	if err != nil {
		return nil, fmt.Errorf("hd: pbkdf2: %w", err)
	}
	return seed, nil
}
