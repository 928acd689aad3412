package hd

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// secretStrings returns encodings of k's secret material that must never
// appear in printed output.
func secretStrings(t *testing.T, k *ExtendedKey) []string {
	t.Helper()
	priv := k.s.priv[:]
	chain := k.s.chain[:]
	out := []string{
		hex.EncodeToString(priv), strings.ToUpper(hex.EncodeToString(priv)),
		hex.EncodeToString(chain), strings.ToUpper(hex.EncodeToString(chain)),
		hex.EncodeToString(priv[:8]), hex.EncodeToString(chain[:8]),
		fmt.Sprint(priv[:4]), fmt.Sprint(chain[:4]), // decimal byte slices
		string(priv), string(chain),
	}
	if k.Curve() == Secp256k1 && k.IsPrivate() {
		xprv, err := k.XPrv()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, xprv, xprv[4:40])
	}
	return out
}

func TestRedaction(t *testing.T) {
	seed := unhex(t, "000102030405060708090a0b0c0d0e0f")
	for _, curve := range []Curve{Secp256k1, NIST256p1, Ed25519, Curve25519} {
		t.Run("ok/"+curve.String(), func(t *testing.T) {
			m, err := NewMasterKey(seed, curve)
			if err != nil {
				t.Fatal(err)
			}
			k, err := m.DerivePath("m/1'/2'")
			if err != nil {
				t.Fatal(err)
			}
			type wrapper struct {
				Name string
				Key  ExtendedKey
				Ptr  *ExtendedKey
			}
			var outputs []string
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
				outputs = append(outputs,
					fmt.Sprintf(verb, k), fmt.Sprintf(verb, *k),
					fmt.Sprintf(verb, wrapper{"w", *k, k}), fmt.Sprintf(verb, []*ExtendedKey{k}))
			}
			outputs = append(outputs, k.String(), k.GoString(), fmt.Sprint(k), fmt.Sprintln(*k))
			j, err := json.Marshal(wrapper{"w", *k, k})
			if err != nil {
				t.Fatal(err)
			}
			outputs = append(outputs, string(j))
			var logBuf bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logBuf, nil))
			logger.Info("derived", "key", k, "value", *k)
			slog.New(slog.NewTextHandler(&logBuf, nil)).Info("derived", "key", k)
			outputs = append(outputs, logBuf.String())

			secrets := secretStrings(t, k)
			for _, o := range outputs {
				for _, s := range secrets {
					if strings.Contains(o, s) {
						t.Fatalf("output leaks secret material %q:\n%s", s, o)
					}
				}
			}
			// The redacted forms say what they are.
			for _, o := range []string{k.String(), string(j), logBuf.String()} {
				if !strings.Contains(o, "REDACTED") || !strings.Contains(o, hex.EncodeToString(k.PublicKey())) {
					t.Fatalf("redacted output lacks marker or public key: %s", o)
				}
			}
			var decoded map[string]any
			if err := json.Unmarshal(j, &decoded); err != nil {
				t.Fatal(err)
			}
			if decoded["Key"].(map[string]any)["curve"] != curve.String() {
				t.Fatalf("json: %s", j)
			}
		})
	}
	t.Run("ok/public_key_not_marked_private", func(t *testing.T) {
		m, _ := NewMasterKey(seed, Secp256k1)
		pub, _ := m.Neuter()
		if strings.Contains(pub.String(), "REDACTED") {
			t.Fatalf("public key printed as private: %s", pub)
		}
		j, _ := json.Marshal(pub)
		if strings.Contains(string(j), "private_key") {
			t.Fatalf("json: %s", j)
		}
		for _, s := range secretStrings(t, pub)[2:4] { // chain code
			if strings.Contains(pub.String(), s) || strings.Contains(string(j), s) {
				t.Fatal("chain code printed")
			}
		}
	})
}

func TestZero(t *testing.T) {
	seed := unhex(t, "000102030405060708090a0b0c0d0e0f")
	for _, curve := range []Curve{Secp256k1, NIST256p1, Ed25519, Curve25519} {
		t.Run("ok/"+curve.String(), func(t *testing.T) {
			m, err := NewMasterKey(seed, curve)
			if err != nil {
				t.Fatal(err)
			}
			k, err := m.Derive(Hardened)
			if err != nil {
				t.Fatal(err)
			}
			alias := *k // copies share state
			state := k.s
			k.Zero()
			if state.priv != [32]byte{} || state.chain != [32]byte{} || state.pub != [33]byte{} {
				t.Fatal("key material not wiped")
			}
			for _, kk := range []ExtendedKey{*k, alias} {
				if _, err := kk.Derive(Hardened); !errors.Is(err, ErrZeroed) {
					t.Fatalf("Derive: %v", err)
				}
				if _, err := kk.Sign([]byte("x")); !errors.Is(err, ErrZeroed) {
					t.Fatalf("Sign: %v", err)
				}
				if _, err := kk.DerivePath("m"); !errors.Is(err, ErrZeroed) {
					t.Fatalf("DerivePath: %v", err)
				}
				if _, err := kk.XPrv(); !errors.Is(err, ErrZeroed) {
					t.Fatalf("XPrv: %v", err)
				}
				if _, err := kk.Neuter(); !errors.Is(err, ErrZeroed) {
					t.Fatalf("Neuter: %v", err)
				}
				if kk.PublicKey() != nil || kk.ChainCode() != nil || kk.IsPrivate() || kk.Curve() != 0 {
					t.Fatal("accessors return data after Zero")
				}
				if kk.String() != "hd.ExtendedKey{zeroed}" {
					t.Fatalf("String after Zero: %s", kk.String())
				}
				if j, _ := json.Marshal(kk); string(j) != `{"zeroed":true}` {
					t.Fatalf("json after Zero: %s", j)
				}
			}
			k.Zero() // idempotent
			// The parent is unaffected.
			if _, err := m.Derive(Hardened); err != nil {
				t.Fatalf("parent unusable after zeroing the child: %v", err)
			}
		})
	}
	t.Run("ok/zero_value", func(t *testing.T) {
		var k ExtendedKey
		k.Zero()
		if _, err := k.Derive(0); !errors.Is(err, ErrZeroed) {
			t.Fatalf("err = %v", err)
		}
		if k.Equal(&k) {
			t.Fatal("zero value equals itself")
		}
		_ = k.String()
		_ = k.LogValue()
	})
}

func TestAccessorsReturnCopies(t *testing.T) {
	m, err := NewMasterKey(unhex(t, "000102030405060708090a0b0c0d0e0f"), Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	cc := m.ChainCode()
	cc[0] ^= 0xff
	pub := m.PublicKey()
	pub[1] ^= 0xff
	epk, _ := m.Ed25519PublicKey()
	epk[0] ^= 0xff
	if hex.EncodeToString(m.ChainCode()) != "90046a93de5380a72b5e45010748567d5ea02bbf6522f979e05c0d8d8ca9fffb" ||
		hex.EncodeToString(m.PublicKey()) != "00a4b2856bfec510abab89753fac1ac0e1112364e7d250545963f135f2a33188ed" {
		t.Fatal("accessor returned internal memory")
	}
}

func TestEqual(t *testing.T) {
	seed := unhex(t, "000102030405060708090a0b0c0d0e0f")
	a, _ := NewMasterKey(seed, Secp256k1)
	b, _ := NewMasterKey(seed, Secp256k1)
	c, _ := NewMasterKey(seed, NIST256p1)
	a0, _ := a.Derive(0)
	b0, _ := b.Derive(0)
	a1, _ := a.Derive(1)
	tests := []struct {
		name string
		x, y *ExtendedKey
		want bool
	}{
		{"ok/same_seed", a, b, true},
		{"ok/same_child", a0, b0, true},
		{"fail/other_curve", a, c, false},
		{"fail/other_index", a0, a1, false},
		{"fail/parent_child", a, a0, false},
		{"fail/nil", a, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.x.Equal(tt.y); got != tt.want {
				t.Fatalf("Equal = %v", got)
			}
		})
	}
}

func TestFingerprintAndIndex(t *testing.T) {
	// BIP32 vector 1: m/0' has parent fingerprint 3442193e (SLIP-10 text).
	m, _ := NewMasterKey(unhex(t, "000102030405060708090a0b0c0d0e0f"), Secp256k1)
	c, _ := m.Derive(Hardened)
	if m.Fingerprint() != 0x3442193e || c.ParentFingerprint() != 0x3442193e {
		t.Fatalf("fingerprints %08x %08x", m.Fingerprint(), c.ParentFingerprint())
	}
	if c.Index() != Hardened || c.Depth() != 1 || m.Depth() != 0 || m.Index() != 0 {
		t.Fatal("position fields")
	}
}

// TestWellKnownWallets cross-checks against addresses that common wallets
// show for the "abandon ... about" mnemonic with an empty passphrase:
// Solana (Phantom, Solflare: m/44'/501'/0'/0', Base58 of the Ed25519 key).
// The Ethereum address is checked in Example_deriveEthereum.
func TestWellKnownWallets(t *testing.T) {
	seed, err := SeedFromMnemonic(abandonAbout, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMasterKey(seed, Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	k, err := m.DerivePath("m/44'/501'/0'/0'")
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := k.Ed25519PublicKey()
	if got := base58Encode(pk); got != "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk" {
		t.Fatalf("solana address %s", got)
	}
}

// TestConcurrentUse derives and signs from one shared key in several
// goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	seed := unhex(t, "000102030405060708090a0b0c0d0e0f")
	sm, _ := NewMasterKey(seed, Secp256k1)
	em, _ := NewMasterKey(seed, Ed25519)
	want, _ := sm.DerivePath("m/44'/60'/0'/0/3")
	wantSig, _ := want.Sign([]byte("m"))
	done := make(chan error, 8)
	for g := range 8 {
		go func() {
			for range 5 {
				k, err := sm.DerivePath("m/44'/60'/0'/0/3")
				if err != nil {
					done <- err
					return
				}
				sig, _ := k.Sign([]byte("m"))
				if !k.Equal(want) || string(sig) != string(wantSig) {
					done <- fmt.Errorf("goroutine %d: different key or signature", g)
					return
				}
				if _, err := em.DerivePath("m/1'/2'"); err != nil {
					done <- err
					return
				}
				_ = sm.String()
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
