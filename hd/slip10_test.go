package hd

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

func curveFromTitle(t *testing.T, title string) Curve {
	for _, c := range []Curve{Secp256k1, NIST256p1, Ed25519, Curve25519} {
		if strings.HasSuffix(title, " "+c.String()) {
			return c
		}
	}
	t.Fatalf("no curve in title %q", title)
	return 0
}

// TestSLIP10Vectors checks every chain of every SLIP-10 test vector (the
// four curves, and the nist256p1 derivation-retry and seed-retry cases), one
// subtest each: chain code, private key, public key and parent
// fingerprint, both via DerivePath from the seed and via one Derive step
// from the previous chain.
func TestSLIP10Vectors(t *testing.T) {
	f := loadSLIP10(t)
	chains := 0
	for _, v := range f.Vectors {
		curve := curveFromTitle(t, v.Title)
		master, err := NewMasterKey(unhex(t, v.Seed), curve)
		if err != nil {
			t.Fatal(err)
		}
		var parent *ExtendedKey
		for _, c := range v.Chains {
			chains++
			t.Run(v.Title+"/"+strings.ReplaceAll(c.Path, "'", "H"), func(t *testing.T) {
				k, err := master.DerivePath(c.Path)
				if err != nil {
					t.Fatal(err)
				}
				checkSLIP10(t, k, c.ChainCode, c.Private, c.Public, c.Fingerprint)
				if parent != nil {
					idx, err := ParsePath(c.Path)
					if err != nil {
						t.Fatal(err)
					}
					step, err := parent.Derive(idx[len(idx)-1])
					if err != nil {
						t.Fatal(err)
					}
					checkSLIP10(t, step, c.ChainCode, c.Private, c.Public, c.Fingerprint)
				}
				if curve == Ed25519 {
					pk, err := k.Ed25519PublicKey()
					if err != nil || hex.EncodeToString(pk) != c.Public[2:] {
						t.Fatalf("Ed25519PublicKey = %x, %v", pk, err)
					}
				}
				parent = k
			})
		}
	}
	if chains != 52 {
		t.Fatalf("%d chains, want 52", chains)
	}
}

func checkSLIP10(t *testing.T, k *ExtendedKey, chain, priv, pub, parentFP string) {
	t.Helper()
	if got := hex.EncodeToString(k.ChainCode()); got != chain {
		t.Fatalf("chain code %s, want %s", got, chain)
	}
	if got := hex.EncodeToString(k.s.priv[:]); got != priv || !k.IsPrivate() {
		t.Fatalf("private %s, want %s", got, priv)
	}
	if got := hex.EncodeToString(k.PublicKey()); got != pub {
		t.Fatalf("public %s, want %s", got, pub)
	}
	if got := fmt.Sprintf("%08x", k.ParentFingerprint()); got != parentFP {
		t.Fatalf("parent fingerprint %s, want %s", got, parentFP)
	}
}

func TestSLIP10Refusals(t *testing.T) {
	seed := unhex(t, "000102030405060708090a0b0c0d0e0f")
	for _, curve := range []Curve{Ed25519, Curve25519} {
		t.Run("fail/"+curve.String()+"_normal_child", func(t *testing.T) {
			m, err := NewMasterKey(seed, curve)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Derive(0); !errors.Is(err, ErrHardenedOnly) {
				t.Fatalf("err = %v", err)
			}
			if _, err := m.DerivePath("m/0'/1"); !errors.Is(err, ErrHardenedOnly) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	for _, curve := range []Curve{NIST256p1, Ed25519, Curve25519} {
		t.Run("fail/"+curve.String()+"_no_xpub_neuter", func(t *testing.T) {
			m, err := NewMasterKey(seed, curve)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Neuter(); !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Neuter: %v", err)
			}
			if _, err := m.XPub(); !errors.Is(err, ErrUnsupported) {
				t.Fatalf("XPub: %v", err)
			}
			if _, err := m.XPrv(); !errors.Is(err, ErrUnsupported) {
				t.Fatalf("XPrv: %v", err)
			}
		})
	}
	for _, curve := range []Curve{Secp256k1, NIST256p1, Curve25519} {
		t.Run("fail/"+curve.String()+"_no_ed25519_public_key", func(t *testing.T) {
			m, err := NewMasterKey(seed, curve)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Ed25519PublicKey(); !errors.Is(err, ErrUnsupported) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("ok/curves_give_different_keys", func(t *testing.T) {
		seen := map[string]Curve{}
		for _, c := range []Curve{Secp256k1, NIST256p1, Ed25519, Curve25519} {
			m, err := NewMasterKey(seed, c)
			if err != nil {
				t.Fatal(err)
			}
			if m.Curve() != c {
				t.Fatalf("Curve() = %v, want %v", m.Curve(), c)
			}
			if prev, dup := seen[string(m.s.priv[:])]; dup {
				t.Fatalf("%v and %v share a master key", prev, c)
			}
			seen[string(m.s.priv[:])] = c
		}
	})
}

// TestVectorFilesMatchSpecText checks that the JSON vector files, which are
// conversions, hold exactly the values printed in the specification texts
// saved next to them (bip-0032.mediawiki, slip-0010.md).
func TestVectorFilesMatchSpecText(t *testing.T) {
	t.Run("bip32", func(t *testing.T) {
		text, err := os.ReadFile("testdata/bip-0032.mediawiki")
		if err != nil {
			t.Fatal(err)
		}
		var fromText []string
		for _, m := range regexp.MustCompile(`(?m)^(?:Seed \(hex\): ([0-9a-f]+)|\* Chain (\S+)|\*\* ext pub: (\w+)|\*\* ext prv: (\w+)|\* (\w+) \((.*)\))$`).FindAllSubmatch(text, -1) {
			for _, g := range m[1:] {
				if len(g) > 0 {
					fromText = append(fromText, strings.ReplaceAll(string(g), "<sub>H</sub>", "'"))
				}
			}
		}
		f := loadBIP32(t)
		var fromJSON []string
		for _, v := range f.Valid {
			fromJSON = append(fromJSON, v.Seed)
			for _, c := range v.Chains {
				fromJSON = append(fromJSON, c.Path, c.ExtPub, c.ExtPrv)
			}
		}
		for _, v := range f.Invalid {
			fromJSON = append(fromJSON, v.Key, v.Reason)
		}
		if strings.Join(fromText, "\n") != strings.Join(fromJSON, "\n") {
			t.Fatalf("bip32_vectors.json differs from the spec text:\ntext: %d values\njson: %d values", len(fromText), len(fromJSON))
		}
	})
	t.Run("slip10", func(t *testing.T) {
		text, err := os.ReadFile("testdata/slip-0010.md")
		if err != nil {
			t.Fatal(err)
		}
		// Only the "Test vectors" section.
		_, section, ok := bytes.Cut(text, []byte("\n## Test vectors\n"))
		if !ok {
			t.Fatal("no test vector section")
		}
		section, _, _ = bytes.Cut(section, []byte("\n## Implementation"))
		var fromText []string
		re := regexp.MustCompile(`(?m)^(?:### (.+)|Seed \(hex\): ([0-9a-f]+)|\* Chain (\S+)|  \* (?:fingerprint|chain code|private|public): ([0-9a-f]+))$`)
		for _, m := range re.FindAllSubmatch(section, -1) {
			for _, g := range m[1:] {
				if len(g) > 0 {
					fromText = append(fromText, strings.ReplaceAll(string(g), "<sub>H</sub>", "'"))
				}
			}
		}
		f := loadSLIP10(t)
		var fromJSON []string
		for _, v := range f.Vectors {
			fromJSON = append(fromJSON, v.Title, v.Seed)
			for _, c := range v.Chains {
				fromJSON = append(fromJSON, c.Path, c.Fingerprint, c.ChainCode, c.Private, c.Public)
			}
		}
		if strings.Join(fromText, "\n") != strings.Join(fromJSON, "\n") {
			t.Fatalf("slip10_vectors.json differs from the spec text:\ntext: %d values\njson: %d values", len(fromText), len(fromJSON))
		}
	})
}
