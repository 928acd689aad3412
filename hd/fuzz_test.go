package hd

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// seedVectors reads the test vector files directly (fuzz seed corpora cannot
// use t.Fatal helpers before f.Fuzz).
func seedVectors(f *testing.F) (bip39File, bip32File) {
	var b39 bip39File
	var b32 bip32File
	for name, v := range map[string]any{"bip39_vectors.json": &b39, "bip32_vectors.json": &b32} {
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			f.Fatal(err)
		}
	}
	return b39, b32
}

// FuzzParseExtendedKey: every accepted key serializes back to the input, and
// derivation from it does not panic.
func FuzzParseExtendedKey(f *testing.F) {
	_, b32 := seedVectors(f)
	for _, v := range b32.Valid {
		for _, c := range v.Chains {
			f.Add(c.ExtPrv)
			f.Add(c.ExtPub)
		}
	}
	for _, v := range b32.Invalid {
		f.Add(v.Key)
	}
	f.Add("")
	f.Add("1111")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseExtendedKey(s)
		if err != nil {
			if k != nil {
				t.Fatal("key returned with error")
			}
			return
		}
		var out string
		if k.IsPrivate() {
			out, err = k.XPrv()
		} else {
			out, err = k.XPub()
		}
		if err != nil || out != s {
			t.Fatalf("round trip: %q -> %q, %v", s, out, err)
		}
		pub, err := k.XPub()
		if err != nil {
			t.Fatal(err)
		}
		if k2, err := ParseExtendedKey(pub); err != nil || string(k2.PublicKey()) != string(k.PublicKey()) {
			t.Fatalf("xpub of accepted key does not parse: %v", err)
		}
		if k.Depth() < MaxDepth {
			if _, err := k.Derive(0); err != nil {
				t.Fatalf("Derive(0): %v", err)
			}
		}
	})
}

// FuzzParsePath: every accepted path formats back to itself (with ' as the
// hardened marker) and parses again to the same indexes.
func FuzzParsePath(f *testing.F) {
	_, b32 := seedVectors(f)
	for _, v := range b32.Valid {
		for _, c := range v.Chains {
			f.Add(c.Path)
		}
	}
	for _, s := range []string{"m/44'/60'/0'/0/0", "m/44h/501h/0h/0h", "m/0H", "m/2147483647'", "m/2147483648", "m/01", "m//", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		idx, err := ParsePath(s)
		if err != nil {
			return
		}
		if len(idx) > MaxDepth {
			t.Fatalf("depth %d accepted", len(idx))
		}
		out := FormatPath(idx)
		if want := strings.NewReplacer("h", "'", "H", "'").Replace(s); out != want {
			t.Fatalf("FormatPath(ParsePath(%q)) = %q", s, out)
		}
		again, err := ParsePath(out)
		if err != nil || !slices.Equal(again, idx) {
			t.Fatalf("reparse %q: %v, %v", out, again, err)
		}
	})
}

// FuzzMnemonic: every accepted mnemonic maps to entropy that encodes back to
// the same words (whitespace normalised), and that encoding is accepted
// again with the same entropy.
func FuzzMnemonic(f *testing.F) {
	b39, _ := seedVectors(f)
	for _, v := range b39["english"] {
		f.Add(v[1])
	}
	f.Add("  " + abandonAbout + "\n")
	f.Add(strings.Replace(abandonAbout, "about", "abandon", 1))
	f.Add(b39["japanese"][0][1])
	f.Fuzz(func(t *testing.T, s string) {
		ent, err := MnemonicToEntropy(s)
		if err != nil {
			return
		}
		m, err := EntropyToMnemonic(ent)
		if err != nil {
			t.Fatalf("accepted entropy of %d bytes rejected: %v", len(ent), err)
		}
		if m != strings.Join(strings.Fields(norm.NFKD.String(s)), " ") {
			t.Fatalf("round trip %q -> %q", s, m)
		}
		ent2, err := MnemonicToEntropy(m)
		if err != nil || !bytes.Equal(ent, ent2) {
			t.Fatalf("re-parse: %x, %v", ent2, err)
		}
	})
}

// FuzzBase58 checks the codec round trip in both directions.
func FuzzBase58(f *testing.F) {
	f.Add([]byte{}, "")
	f.Add([]byte{0, 0, 1, 2, 255}, "11z")
	f.Add([]byte("hello"), "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi")
	f.Fuzz(func(t *testing.T, b []byte, s string) {
		if len(b) > 256 || len(s) > 256 {
			return
		}
		enc := base58Encode(b)
		dec, ok := base58Decode(enc)
		if !ok || !bytes.Equal(dec, b) {
			t.Fatalf("decode(encode(%x)) = %x, %v", b, dec, ok)
		}
		if d, ok := base58Decode(s); ok && base58Encode(d) != s {
			t.Fatalf("encode(decode(%q)) = %q", s, base58Encode(d))
		}
	})
}

// FuzzParseExtendedKeyPayload fuzzes the 78-byte payload under a valid
// checksum, so that mutations reach the field validation (random strings
// almost never pass the checksum). Accepted payloads must round-trip.
func FuzzParseExtendedKeyPayload(f *testing.F) {
	_, b32 := seedVectors(f)
	add := func(s string) {
		if b, ok := base58Decode(s); ok && len(b) == serializedLen {
			f.Add(b[:serializedLen-4])
		}
	}
	for _, v := range b32.Valid {
		for _, c := range v.Chains {
			add(c.ExtPrv)
			add(c.ExtPub)
		}
	}
	for _, v := range b32.Invalid {
		add(v.Key)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > 2*serializedLen {
			return
		}
		s := base58CheckEncode(payload)
		k, err := ParseExtendedKey(s)
		if err != nil {
			if len(payload) == serializedLen-4 && errors.Is(err, ErrBadChecksum) {
				t.Fatalf("checksum rejected for a freshly encoded payload: %v", err)
			}
			return
		}
		var out string
		if k.IsPrivate() {
			out, err = k.XPrv()
		} else {
			out, err = k.XPub()
		}
		if err != nil || out != s {
			t.Fatalf("round trip: %q -> %q, %v", s, out, err)
		}
	})
}
