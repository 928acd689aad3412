package intent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/custos-dev/custos/hd"
)

func TestEmbeddedWordList(t *testing.T) {
	if sum := sha256.Sum256([]byte(englishText)); hex.EncodeToString(sum[:]) != englishSHA256 {
		t.Fatalf("embedded list sha256 %x, want %s (bitcoin/bips bip-0039/english.txt)", sum, englishSHA256)
	}
	if len(english) != 2048 {
		t.Fatalf("%d words, want 2048", len(english))
	}
	seen := map[string]bool{}
	for i, w := range english {
		if seen[w] {
			t.Fatalf("word %d (%q) appears twice", i, w)
		}
		seen[w] = true
	}
	if english[0] != "abandon" || english[2047] != "zoo" {
		t.Fatalf("list runs from %q to %q, want abandon to zoo", english[0], english[2047])
	}
}

func TestWords(t *testing.T) {
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		fp   []byte
		want string
	}{
		{"ok/zero", make([]byte, 32), "abandon abandon abandon abandon abandon abandon abandon abandon"},
		{"ok/ones", bytes.Repeat([]byte{0xff}, 32), "zoo zoo zoo zoo zoo zoo zoo zoo"},
		// Computed with python3 from the word list: int.from_bytes(fp[:11])
		// split into 11-bit indexes, most significant first.
		{"ok/mixed", unhex("0123456789abcdeffedcba98765432100123456789abcdeffedcba9876543210"),
			"abuse boss fly battle rubber wave window nuclear"},
		{"ok/fingerprint", func() []byte { fp := Fingerprint([]byte("{}")); return fp[:] }(),
			"artefact purse door divert noble kingdom bonus alien"},
		// The first eight words of BIP-39 reference mnemonics
		// (trezor/python-mnemonic vectors.json, English): only the
		// checksum, which Words omits, comes later.
		{"ok/bip39-7f", unhex("7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f"), "legal winner thank year wave sausage worth useful"},
		{"ok/bip39-80", unhex("80808080808080808080808080808080"), "letter advice cage absurd amount doctor acoustic avoid"},
		{"ok/bip39-9e", unhex("9e885d952ad362caeb4efe34a8e91bd2"), "ozone drill grab fiber curtain grace pudding thank"},
		{"ok/shortest", unhex("0123456789abcdeffedcba"), "abuse boss fly battle rubber wave window nuclear"},
		{"fail/short", unhex("0123456789abcdeffedcba")[:10], ""},
		{"fail/empty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			words := Words(tc.fp)
			if got := WordString(tc.fp); got != tc.want {
				t.Fatalf("WordString = %q, want %q", got, tc.want)
			}
			if tc.want == "" {
				if words != nil {
					t.Fatalf("Words = %q, want nil", words)
				}
				return
			}
			if !slices.Equal(words, strings.Split(tc.want, " ")) {
				t.Fatalf("Words = %q, want %q", words, tc.want)
			}
		})
	}
}

// TestWordsAreThePrefix checks that the words encode exactly the first 88
// bits: they decode back to them, every one of those bits changes them, no
// later bit does, and they are the start of the BIP-39 mnemonic (package
// hd) of the fingerprint taken as entropy.
func TestWordsAreThePrefix(t *testing.T) {
	index := map[string]int{}
	for i, w := range english {
		index[w] = i
	}
	decode := func(words []string) []byte {
		var out []byte
		var acc uint32
		n := 0
		for _, w := range words {
			i, ok := index[w]
			if !ok {
				t.Fatalf("%q is not in the list", w)
			}
			acc = acc<<11 | uint32(i)
			for n += 11; n >= 8; n -= 8 {
				out = append(out, byte(acc>>(n-8)))
			}
		}
		return out
	}
	rng := rand.New(rand.NewChaCha8([32]byte{'w', 'o', 'r', 'd', 's'}))
	fp := make([]byte, 32)
	for range 200 {
		for i := range fp {
			fp[i] = byte(rng.Uint32())
		}
		words := Words(fp)
		if len(words) != WordCount {
			t.Fatalf("%x: %d words", fp, len(words))
		}
		if got := decode(words); !bytes.Equal(got, fp[:WordBytes]) {
			t.Fatalf("%x: words %q decode to %x", fp, words, got)
		}
		mnemonic, err := hd.EntropyToMnemonic(fp)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Fields(mnemonic)[:WordCount]; !slices.Equal(words, want) {
			t.Fatalf("%x: words %q, BIP-39 mnemonic starts %q", fp, words, want)
		}
		for bit := range 8 * len(fp) {
			flipped := slices.Clone(fp)
			flipped[bit/8] ^= 0x80 >> (bit % 8)
			if changed := !slices.Equal(Words(flipped), words); changed != (bit < 8*WordBytes) {
				t.Fatalf("%x: flipping bit %d changes the words: %v", fp, bit, changed)
			}
		}
	}
}
