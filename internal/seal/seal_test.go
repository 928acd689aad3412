package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// testRand is a deterministic random source for tests.
func testRand(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

// testKEK returns a KEK over 32 bytes all equal to b.
func testKEK(t testing.TB, b byte) *KEK {
	t.Helper()
	k, err := NewKEK(bytes.Repeat([]byte{b}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestSealOpen(t *testing.T) {
	kek := testKEK(t, 0x42)
	ad := AssociatedData("wallet-seed", "wallet-1", "3")
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"ok/empty", []byte{}},
		{"ok/seed-64", bytes.Repeat([]byte{0xAB}, 64)},
		{"ok/one-byte", []byte{0}},
		{"ok/large", bytes.Repeat([]byte("custos"), 10000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := Seal(kek, tc.plaintext, ad, testRand(1))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(sealed), len(tc.plaintext)+Overhead; got != want {
				t.Fatalf("len = %d, want %d", got, want)
			}
			if sealed[0] != Version {
				t.Fatalf("version byte = %d", sealed[0])
			}
			if got := hex.EncodeToString(sealed[1:HeaderSize]); got != kek.ID() {
				t.Fatalf("embedded kek id %s, want %s", got, kek.ID())
			}
			if len(tc.plaintext) > 0 && bytes.Contains(sealed, tc.plaintext) {
				t.Fatal("sealed data contains the plaintext")
			}
			got, err := Open(kek, sealed, ad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Fatal("round trip changed the plaintext")
			}
		})
	}
}

func TestSealFreshNonce(t *testing.T) {
	kek := testKEK(t, 1)
	ad := AssociatedData("p", "x")
	r := testRand(9)
	a, err := Seal(kek, []byte("same"), ad, r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Seal(kek, []byte("same"), ad, r)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[HeaderSize:HeaderSize+NonceSize], b[HeaderSize:HeaderSize+NonceSize]) {
		t.Fatal("two seals used the same nonce")
	}
}

// TestSealVector pins the wire format: a change to it breaks every stored
// secret.
func TestSealVector(t *testing.T) {
	kek := testKEK(t, 0x42)
	// sha256(b"custos/seal/kek-id/v1\x00" + b"\x42"*32)[:8], computed with Python.
	if got, want := kek.ID(), "748b9a935f41e850"; got != want {
		t.Errorf("ID = %s, want %s", got, want)
	}
	ad := AssociatedData("wallet-seed", "wallet-1", "3")
	if got, want := hex.EncodeToString(ad), "11637573746f732f7365616c2f61642f76310b77616c6c65742d73656564020877616c6c65742d310133"; got != want {
		t.Errorf("AssociatedData = %s, want %s", got, want)
	}
	sealed, err := Seal(kek, []byte("seed"), ad, testRand(7))
	if err != nil {
		t.Fatal(err)
	}
	// Checked independently with Python: HChaCha20 written out by hand, then
	// cryptography's ChaCha20Poly1305 over (header || ad) decrypts it to "seed".
	const want = "01" + "748b9a935f41e850" + // version, kek id
		"0e42d4cae8864908e0b8c7520e360aa404427c9053d9a667" + // nonce
		"ed4c04d23a746e3b69dd38d8db3606404a90213c" // ciphertext || tag
	if got := hex.EncodeToString(sealed); got != want {
		t.Errorf("sealed = %s, want %s", got, want)
	}
}

func TestSealRefusals(t *testing.T) {
	kek := testKEK(t, 3)
	ad := AssociatedData("p")
	zeroed := testKEK(t, 4)
	zeroed.Zero()
	tests := []struct {
		name string
		kek  *KEK
		ad   []byte
		rand io.Reader
		want error
	}{
		{"fail/nil-kek", nil, ad, testRand(1), ErrInvalidKEK},
		{"fail/zero-value-kek", &KEK{}, ad, testRand(1), ErrInvalidKEK},
		{"fail/zeroed-kek", zeroed, ad, testRand(1), ErrInvalidKEK},
		{"fail/nil-ad", kek, nil, testRand(1), ErrMissingAssociatedData},
		{"fail/empty-ad", kek, []byte{}, testRand(1), ErrMissingAssociatedData},
		{"fail/nil-rand", kek, ad, nil, nil},
		{"fail/rand-error", kek, ad, errReader{}, nil},
		{"fail/rand-short", kek, ad, bytes.NewReader(make([]byte, NonceSize-1)), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Seal(tc.kek, []byte("secret"), tc.ad, tc.rand)
			if err == nil {
				t.Fatal("Seal succeeded")
			}
			if out != nil {
				t.Fatal("Seal returned output with an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestOpenFailures(t *testing.T) {
	kek := testKEK(t, 0x42)
	other := testKEK(t, 0x43)
	ad := AssociatedData("wallet-seed", "wallet-1", "3")
	plaintext := []byte("correct horse battery staple seed bytes")
	sealed, err := Seal(kek, plaintext, ad, testRand(2))
	if err != nil {
		t.Fatal(err)
	}
	with := func(i int, b byte) []byte {
		c := bytes.Clone(sealed)
		c[i] = b
		return c
	}
	zeroed := testKEK(t, 0x42)
	zeroed.Zero()
	tests := []struct {
		name   string
		kek    *KEK
		sealed []byte
		ad     []byte
		want   error
	}{
		{"ok", kek, sealed, ad, nil},
		{"fail/ad-purpose", kek, sealed, AssociatedData("guardian-share", "wallet-1", "3"), ErrDecrypt},
		{"fail/ad-wallet-id", kek, sealed, AssociatedData("wallet-seed", "wallet-2", "3"), ErrDecrypt},
		{"fail/ad-key-version", kek, sealed, AssociatedData("wallet-seed", "wallet-1", "4"), ErrDecrypt},
		{"fail/ad-extra-field", kek, sealed, AssociatedData("wallet-seed", "wallet-1", "3", ""), ErrDecrypt},
		{"fail/ad-missing-field", kek, sealed, AssociatedData("wallet-seed", "wallet-1"), ErrDecrypt},
		{"fail/ad-raw-bytes", kek, sealed, []byte("wallet-seed wallet-1 3"), ErrDecrypt},
		{"fail/ad-empty", kek, sealed, nil, ErrMissingAssociatedData},
		{"fail/wrong-kek", other, sealed, ad, ErrWrongKEK},
		{"fail/nil-kek", nil, sealed, ad, ErrInvalidKEK},
		{"fail/zeroed-kek", zeroed, sealed, ad, ErrInvalidKEK},
		{"fail/version-0", kek, with(0, 0), ad, ErrUnsupportedVersion},
		{"fail/version-2", kek, with(0, 2), ad, ErrUnsupportedVersion},
		{"fail/empty", kek, nil, ad, ErrMalformed},
		{"fail/header-only", kek, sealed[:HeaderSize+NonceSize], ad, ErrMalformed},
		{"fail/one-short-of-minimum", kek, sealed[:Overhead-1], ad, ErrMalformed},
		{"fail/tag-only-no-ciphertext", kek, append(bytes.Clone(sealed[:HeaderSize+NonceSize]), sealed[len(sealed)-TagSize:]...), ad, ErrDecrypt},
		{"fail/appended-byte", kek, append(bytes.Clone(sealed), 0), ad, ErrDecrypt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Open(tc.kek, tc.sealed, tc.ad)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, plaintext) {
					t.Fatal("wrong plaintext")
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if got != nil {
				t.Fatal("plaintext returned with an error")
			}
		})
	}
}

// TestOpenTamperEverywhere flips every bit of a sealed blob and truncates
// it at every length.
func TestOpenTamperEverywhere(t *testing.T) {
	kek := testKEK(t, 0x11)
	ad := AssociatedData("wallet-seed", "w", "1")
	sealed, err := Seal(kek, []byte("0123456789abcdef0123456789abcdef"), ad, testRand(3))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		for bit := range 8 {
			c := bytes.Clone(sealed)
			c[i] ^= 1 << bit
			got, err := Open(kek, c, ad)
			if err == nil || got != nil {
				t.Fatalf("byte %d bit %d: Open accepted tampered data", i, bit)
			}
			var want error
			switch {
			case i == 0:
				want = ErrUnsupportedVersion
			case i < HeaderSize:
				want = ErrWrongKEK
			default:
				want = ErrDecrypt
			}
			if !errors.Is(err, want) {
				t.Fatalf("byte %d bit %d: err = %v, want %v", i, bit, err, want)
			}
		}
	}
	for n := range len(sealed) {
		got, err := Open(kek, sealed[:n], ad)
		if err == nil || got != nil {
			t.Fatalf("truncated to %d: Open accepted it", n)
		}
	}
}

func TestAssociatedDataUnambiguous(t *testing.T) {
	type args struct {
		purpose string
		fields  []string
	}
	pairs := []struct {
		name string
		a, b args
	}{
		{"split-point", args{"wallet-seed", []string{"ab", "c"}}, args{"wallet-seed", []string{"a", "bc"}}},
		{"purpose-into-field", args{"ab", []string{"c"}}, args{"a", []string{"bc"}}},
		{"trailing-empty", args{"p", []string{"x"}}, args{"p", []string{"x", ""}}},
		{"no-fields-vs-empty", args{"p", nil}, args{"p", []string{""}}},
		{"order", args{"p", []string{"a", "b"}}, args{"p", []string{"b", "a"}}},
		{"length-digit-lookalike", args{"p", []string{"\x01a"}}, args{"p", []string{"", "a"}}},
	}
	for _, tc := range pairs {
		t.Run(tc.name, func(t *testing.T) {
			a := AssociatedData(tc.a.purpose, tc.a.fields...)
			b := AssociatedData(tc.b.purpose, tc.b.fields...)
			if bytes.Equal(a, b) {
				t.Fatalf("%+v and %+v encode the same: %x", tc.a, tc.b, a)
			}
		})
	}
	if !bytes.Equal(AssociatedData("p", "a", "b"), AssociatedData("p", "a", "b")) {
		t.Fatal("AssociatedData is not deterministic")
	}
}

func TestZero(t *testing.T) {
	kek := testKEK(t, 0x77)
	id := kek.ID()
	cp := *kek
	box := kek.key()
	kek.Zero()
	if box.k != [KeySize]byte{} {
		t.Fatal("Zero left key bytes behind")
	}
	if _, err := Seal(&cp, []byte("x"), AssociatedData("p"), testRand(1)); !errors.Is(err, ErrInvalidKEK) {
		t.Fatalf("Seal with a copy made before Zero: %v", err)
	}
	if !strings.Contains(kek.String(), "invalid") {
		t.Fatalf("String after Zero = %q", kek.String())
	}
	if kek.ID() != id {
		t.Fatal("Zero changed the id")
	}
	if _, err := Seal(kek, []byte("x"), AssociatedData("p"), testRand(1)); !errors.Is(err, ErrInvalidKEK) {
		t.Fatalf("Seal after Zero: %v", err)
	}
	kek.Zero() // idempotent
	var nilKEK *KEK
	nilKEK.Zero() // no panic
}

func TestNewKEK(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewKEK(make([]byte, n)); !errors.Is(err, ErrInvalidKEK) {
			t.Errorf("len %d: err = %v", n, err)
		}
	}
	src := bytes.Repeat([]byte{5}, KeySize)
	k, err := NewKEK(src)
	if err != nil {
		t.Fatal(err)
	}
	src[0] = 6 // NewKEK must have copied
	if k.ID() != testKEK(t, 5).ID() {
		t.Fatal("NewKEK did not copy its input")
	}
	if testKEK(t, 5).ID() == testKEK(t, 6).ID() {
		t.Fatal("different keys, same id")
	}
}
