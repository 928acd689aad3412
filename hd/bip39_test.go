package hd

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

// TestBIP39Vectors runs every vector of the Trezor reference file, one
// subtest each. English: entropy -> mnemonic, mnemonic -> entropy, mnemonic
// -> seed with passphrase "TREZOR", seed -> BIP32 master xprv. Other
// languages (no word list here, English only by design): the seed function
// on the sentence as given (this exercises NFKD, e.g. the Japanese
// ideographic spaces), the master xprv, and that the English validator
// rejects the sentence.
func TestBIP39Vectors(t *testing.T) {
	f := loadBIP39(t)
	langs := make([]string, 0, len(f))
	for l := range f {
		langs = append(langs, l)
	}
	slices.Sort(langs)
	total := 0
	for _, lang := range langs {
		for i, v := range f[lang] {
			total++
			t.Run(fmt.Sprintf("%s/%02d", lang, i), func(t *testing.T) {
				entropy, mnemonic, wantSeed, wantXprv := unhex(t, v[0]), v[1], unhex(t, v[2]), v[3]
				if lang == "english" {
					got, err := EntropyToMnemonic(entropy)
					if err != nil || got != mnemonic {
						t.Fatalf("EntropyToMnemonic = %q, %v; want %q", got, err, mnemonic)
					}
					ent, err := MnemonicToEntropy(mnemonic)
					if err != nil || !bytes.Equal(ent, entropy) {
						t.Fatalf("MnemonicToEntropy = %x, %v; want %x", ent, err, entropy)
					}
					seed, err := SeedFromMnemonic(mnemonic, "TREZOR")
					if err != nil || !bytes.Equal(seed, wantSeed) {
						t.Fatalf("SeedFromMnemonic = %x, %v; want %x", seed, err, wantSeed)
					}
				} else {
					seed, err := mnemonicSeed(mnemonic, "TREZOR")
					if err != nil || !bytes.Equal(seed, wantSeed) {
						t.Fatalf("seed = %x, %v; want %x", seed, err, wantSeed)
					}
					if _, err := MnemonicToEntropy(mnemonic); !errors.Is(err, ErrInvalidMnemonic) {
						t.Fatalf("English validator accepted a %s mnemonic: %v", lang, err)
					}
				}
				m, err := NewMasterKey(wantSeed, Secp256k1)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := m.XPrv(); err != nil || got != wantXprv {
					t.Fatalf("master xprv = %q, %v; want %q", got, err, wantXprv)
				}
			})
		}
	}
	if total != 288 {
		t.Fatalf("ran %d BIP39 vectors, want 288", total)
	}
}

func TestEmbeddedWordlist(t *testing.T) {
	t.Run("ok/sha256", func(t *testing.T) {
		sum := sha256.Sum256([]byte(englishWordlist))
		if hex.EncodeToString(sum[:]) != EnglishWordlistSHA256 {
			t.Fatalf("embedded list sha256 %x", sum)
		}
	})
	t.Run("ok/index_word_round_trip", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(englishWordlist), "\n")
		for i, w := range lines {
			if got := english.word(i); got != w {
				t.Fatalf("word(%d) = %q, want %q", i, got, w)
			}
			if got, ok := english.index(w); !ok || got != i {
				t.Fatalf("index(%q) = %d, %v; want %d", w, got, ok, i)
			}
		}
		for _, w := range []string{"", "abando", "abandonn", "Abandon", "zzzzzzzz", "abandonabandon", "ábaco"} {
			if _, ok := english.index(w); ok {
				t.Fatalf("index(%q) found", w)
			}
		}
	})
	t.Run("fail/tampered", func(t *testing.T) {
		tampered := strings.Replace(englishWordlist, "zoo\n", "zoa\n", 1)
		if _, err := loadWordlist(tampered, EnglishWordlistSHA256); err == nil {
			t.Fatal("tampered list accepted")
		}
		// Even with a matching hash the structure is checked.
		short := strings.Replace(englishWordlist, "zoo\n", "", 1)
		sum := sha256.Sum256([]byte(short))
		if _, err := loadWordlist(short, hex.EncodeToString(sum[:])); err == nil {
			t.Fatal("2047-word list accepted")
		}
		unsorted := strings.Replace(englishWordlist, "abandon\nability\n", "ability\nabandon\n", 1)
		sum = sha256.Sum256([]byte(unsorted))
		if _, err := loadWordlist(unsorted, hex.EncodeToString(sum[:])); err == nil {
			t.Fatal("unsorted list accepted")
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestNewMnemonic(t *testing.T) {
	for _, bits := range []int{128, 160, 192, 224, 256} {
		t.Run(fmt.Sprintf("ok/%d", bits), func(t *testing.T) {
			src := bytes.Repeat([]byte{0x5a, 0xc3}, 32)
			got, err := NewMnemonic(bytes.NewReader(src), bits)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := EntropyToMnemonic(src[:bits/8])
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
			if n := len(strings.Fields(got)); n != bits*33/32/11 {
				t.Fatalf("%d words", n)
			}
		})
	}
	t.Run("ok/nil_reader_uses_crypto_rand", func(t *testing.T) {
		a, err := NewMnemonic(nil, 256)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := NewMnemonic(nil, 256)
		if a == b {
			t.Fatal("two random mnemonics are equal")
		}
		if _, err := MnemonicToEntropy(a); err != nil {
			t.Fatal(err)
		}
	})
	for _, bits := range []int{0, 96, 127, 129, 136, 288, -128} {
		t.Run(fmt.Sprintf("fail/bits_%d", bits), func(t *testing.T) {
			if _, err := NewMnemonic(bytes.NewReader(make([]byte, 64)), bits); !errors.Is(err, ErrInvalidEntropy) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("fail/reader_error", func(t *testing.T) {
		if _, err := NewMnemonic(errReader{}, 128); !errors.Is(err, ErrInvalidEntropy) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("fail/short_reader", func(t *testing.T) {
		if _, err := NewMnemonic(bytes.NewReader(make([]byte, 15)), 128); !errors.Is(err, ErrInvalidEntropy) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestEntropyToMnemonicLengths(t *testing.T) {
	for n := 0; n <= 40; n++ {
		_, err := EntropyToMnemonic(make([]byte, n))
		valid := n >= 16 && n <= 32 && n%4 == 0
		if valid != (err == nil) {
			t.Fatalf("%d bytes: err = %v", n, err)
		}
		if !valid && !errors.Is(err, ErrInvalidEntropy) {
			t.Fatalf("%d bytes: err = %v", n, err)
		}
	}
}

const abandonAbout = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

func TestMnemonicToEntropy(t *testing.T) {
	zero16 := make([]byte, 16)
	tests := []struct {
		name    string
		in      string
		want    []byte
		wantErr error
		noLeak  string // must not appear in the error message
	}{
		{name: "ok", in: abandonAbout, want: zero16},
		{name: "ok/extra_whitespace", in: "  abandon\tabandon abandon  abandon abandon abandon\nabandon abandon abandon abandon abandon about \r\n", want: zero16},
		{name: "ok/ideographic_space", in: strings.ReplaceAll(abandonAbout, " ", "\u3000"), want: zero16},
		{name: "ok/24_words", in: "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote", want: bytes.Repeat([]byte{0xff}, 32)},
		{name: "fail/empty", in: "", wantErr: ErrMnemonicWordCount},
		{name: "fail/11_words", in: strings.TrimSuffix(abandonAbout, " about"), wantErr: ErrMnemonicWordCount},
		{name: "fail/13_words", in: abandonAbout + " about", wantErr: ErrMnemonicWordCount},
		{name: "fail/27_words", in: strings.Repeat("abandon ", 26) + "about", wantErr: ErrMnemonicWordCount},
		{name: "fail/unknown_word", in: strings.Replace(abandonAbout, "about", "bitcoinx", 1), wantErr: ErrMnemonicWord, noLeak: "bitcoinx"},
		{name: "fail/upper_case", in: strings.Replace(abandonAbout, "abandon", "Abandon", 1), wantErr: ErrMnemonicWord, noLeak: "Abandon"},
		{name: "fail/accented", in: strings.Replace(abandonAbout, "about", "abóut", 1), wantErr: ErrMnemonicWord, noLeak: "abo"},
		{name: "fail/checksum", in: strings.Replace(abandonAbout, "about", "abandon", 1), wantErr: ErrMnemonicChecksum, noLeak: "abandon"},
		{name: "fail/checksum_24", in: strings.Repeat("zoo ", 23) + "wrong", wantErr: ErrMnemonicChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MnemonicToEntropy(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrInvalidMnemonic) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if got != nil {
					t.Fatal("entropy returned with an error")
				}
				if tt.noLeak != "" && strings.Contains(err.Error(), tt.noLeak) {
					t.Fatalf("error %q echoes a mnemonic word", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("got %x, %v; want %x", got, err, tt.want)
			}
		})
	}
	t.Run("fail/unknown_word_position", func(t *testing.T) {
		_, err := MnemonicToEntropy(strings.Replace(abandonAbout, "abandon", "xyz", 1)) // first word
		if err == nil || !strings.Contains(err.Error(), "word 1 ") {
			t.Fatalf("err = %v, want the position of word 1", err)
		}
		words := strings.Fields(abandonAbout)
		words[6] = "qwerty"
		_, err = MnemonicToEntropy(strings.Join(words, " "))
		if err == nil || !strings.Contains(err.Error(), "word 7 ") {
			t.Fatalf("err = %v, want the position of word 7", err)
		}
	})
}

func TestSeedFromMnemonic(t *testing.T) {
	want, err := SeedFromMnemonic(abandonAbout, "TREZOR")
	if err != nil {
		t.Fatal(err)
	}
	// The Trezor vector for this mnemonic.
	if hex.EncodeToString(want) != "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04" {
		t.Fatalf("seed %x", want)
	}
	t.Run("ok/whitespace_normalised", func(t *testing.T) {
		got, err := SeedFromMnemonic("\t"+strings.ReplaceAll(abandonAbout, " ", "  \n")+" ", "TREZOR")
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got %x, %v", got, err)
		}
	})
	t.Run("ok/passphrase_nfkd", func(t *testing.T) {
		composed, err := SeedFromMnemonic(abandonAbout, "caf\u00e9")
		if err != nil {
			t.Fatal(err)
		}
		decomposed, err := SeedFromMnemonic(abandonAbout, "cafe\u0301")
		if err != nil || !bytes.Equal(composed, decomposed) {
			t.Fatalf("NFC and NFD passphrases give different seeds: %v", err)
		}
		if bytes.Equal(composed, want) {
			t.Fatal("passphrase ignored")
		}
	})
	t.Run("ok/empty_passphrase", func(t *testing.T) {
		got, err := SeedFromMnemonic(abandonAbout, "")
		if err != nil {
			t.Fatal(err)
		}
		// Well-known seed of "abandon x11 about" without passphrase.
		if hex.EncodeToString(got) != "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4" {
			t.Fatalf("seed %x", got)
		}
	})
	t.Run("fail/checksum", func(t *testing.T) {
		seed, err := SeedFromMnemonic(strings.Replace(abandonAbout, "about", "abandon", 1), "TREZOR")
		if !errors.Is(err, ErrMnemonicChecksum) || seed != nil {
			t.Fatalf("seed %x, err %v", seed, err)
		}
	})
	t.Run("fail/unknown_word", func(t *testing.T) {
		if _, err := SeedFromMnemonic("hello world", ""); !errors.Is(err, ErrInvalidMnemonic) {
			t.Fatalf("err = %v", err)
		}
	})
}
