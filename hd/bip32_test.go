package hd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

// TestBIP32Vectors checks every chain step of BIP32 test vectors 1-4, one
// subtest each, in both directions: derivation from the seed produces the
// listed xprv and xpub; parsing the listed xprv and xpub and serializing
// again gives the same strings; deriving one step from the parsed parent
// xprv (and, for normal steps, from the parent xpub) gives this step.
func TestBIP32Vectors(t *testing.T) {
	f := loadBIP32(t)
	steps := 0
	for _, v := range f.Valid {
		master, err := NewMasterKey(unhex(t, v.Seed), Secp256k1)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range v.Chains {
			steps++
			name := fmt.Sprintf("vector%d/%s", v.Vector, strings.ReplaceAll(c.Path, "'", "H"))
			t.Run(name, func(t *testing.T) {
				// Seed -> key.
				k, err := master.DerivePath(c.Path)
				if err != nil {
					t.Fatal(err)
				}
				mustXPrv(t, k, c.ExtPrv)
				mustXPub(t, k, c.ExtPub)
				pub, err := k.Neuter()
				if err != nil {
					t.Fatal(err)
				}
				mustXPub(t, pub, c.ExtPub)
				if pub.IsPrivate() {
					t.Fatal("neutered key is private")
				}
				if _, err := pub.XPrv(); !errors.Is(err, ErrNotPrivate) {
					t.Fatalf("XPrv on public key: %v", err)
				}

				// String -> key -> string.
				prv, err := ParseExtendedKey(c.ExtPrv)
				if err != nil {
					t.Fatal(err)
				}
				mustXPrv(t, prv, c.ExtPrv)
				mustXPub(t, prv, c.ExtPub)
				if !prv.Equal(k) {
					t.Fatal("parsed xprv differs from derived key")
				}
				xpub, err := ParseExtendedKey(c.ExtPub)
				if err != nil {
					t.Fatal(err)
				}
				mustXPub(t, xpub, c.ExtPub)
				if !xpub.Equal(pub) || xpub.Equal(k) {
					t.Fatal("parsed xpub: wrong equality with derived keys")
				}

				if i == 0 {
					if c.Path != "m" || k.Depth() != 0 || k.ParentFingerprint() != 0 {
						t.Fatalf("first step %q is not the master", c.Path)
					}
					return
				}
				// Parent -> this step, one Derive call.
				parent := v.Chains[i-1]
				last := c.Path[strings.LastIndexByte(c.Path, '/')+1:]
				if c.Path != parent.Path+"/"+last {
					t.Fatalf("step %q does not extend %q", c.Path, parent.Path)
				}
				idx, err := parseComponents(last)
				if err != nil {
					t.Fatal(err)
				}
				pprv, err := ParseExtendedKey(parent.ExtPrv)
				if err != nil {
					t.Fatal(err)
				}
				child, err := pprv.Derive(idx[0])
				if err != nil {
					t.Fatal(err)
				}
				mustXPrv(t, child, c.ExtPrv)
				if child.Index() != idx[0] || child.Depth() != pprv.Depth()+1 || child.ParentFingerprint() != pprv.Fingerprint() {
					t.Fatal("child position fields wrong")
				}
				ppub, err := ParseExtendedKey(parent.ExtPub)
				if err != nil {
					t.Fatal(err)
				}
				pchild, err := ppub.Derive(idx[0])
				if idx[0] >= Hardened {
					if !errors.Is(err, ErrHardenedFromPublic) {
						t.Fatalf("hardened derivation from xpub: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				mustXPub(t, pchild, c.ExtPub)
				if pchild.IsPrivate() {
					t.Fatal("public derivation produced a private key")
				}
			})
		}
	}
	if steps != 17 {
		t.Fatalf("%d chain steps, want 17", steps)
	}
}

func mustXPrv(t *testing.T, k *ExtendedKey, want string) {
	t.Helper()
	got, err := k.XPrv()
	if err != nil || got != want {
		t.Fatalf("XPrv = %q, %v; want %q", got, err, want)
	}
}

func mustXPub(t *testing.T, k *ExtendedKey, want string) {
	t.Helper()
	got, err := k.XPub()
	if err != nil || got != want {
		t.Fatalf("XPub = %q, %v; want %q", got, err, want)
	}
}

// parseErrors are all errors ParseExtendedKey can return.
var parseErrors = []error{ErrMalformedKey, ErrBadChecksum, ErrUnknownVersion, ErrKeyTypeMismatch,
	ErrInconsistentDepth, ErrInvalidPrivateKey, ErrInvalidPublicKey}

// TestBIP32InvalidKeys rejects each of the 16 invalid keys of BIP32 test
// vector 5 with the error for the reason the spec gives, and with no other.
func TestBIP32InvalidKeys(t *testing.T) {
	reasons := map[string]error{
		"pubkey version / prvkey mismatch":            ErrKeyTypeMismatch,
		"prvkey version / pubkey mismatch":            ErrKeyTypeMismatch,
		"invalid pubkey prefix 04":                    ErrInvalidPublicKey,
		"invalid prvkey prefix 04":                    ErrInvalidPrivateKey,
		"invalid pubkey prefix 01":                    ErrInvalidPublicKey,
		"invalid prvkey prefix 01":                    ErrInvalidPrivateKey,
		"zero depth with non-zero parent fingerprint": ErrInconsistentDepth,
		"zero depth with non-zero index":              ErrInconsistentDepth,
		"unknown extended key version":                ErrUnknownVersion,
		"private key 0 not in 1..n-1":                 ErrInvalidPrivateKey,
		"private key n not in 1..n-1":                 ErrInvalidPrivateKey,
		"invalid pubkey 020000000000000000000000000000000000000000000000000000000000000007": ErrInvalidPublicKey,
		"invalid checksum": ErrBadChecksum,
	}
	f := loadBIP32(t)
	for i, v := range f.Invalid {
		t.Run(fmt.Sprintf("fail/%02d_%s", i+1, v.Reason), func(t *testing.T) {
			want, ok := reasons[v.Reason]
			if !ok {
				t.Fatalf("no expected error for reason %q", v.Reason)
			}
			k, err := ParseExtendedKey(v.Key)
			if k != nil || !errors.Is(err, want) {
				t.Fatalf("err = %v, want %v", err, want)
			}
			for _, other := range parseErrors {
				if other != want && errors.Is(err, other) {
					t.Fatalf("err = %v also matches %v", err, other)
				}
			}
		})
	}
}

// rawKey builds a Base58Check extended key from fields, for tests.
func rawKey(version uint32, depth byte, parentFP, index uint32, chain, key []byte) string {
	b := binary.BigEndian.AppendUint32(nil, version)
	b = append(b, depth)
	b = binary.BigEndian.AppendUint32(b, parentFP)
	b = binary.BigEndian.AppendUint32(b, index)
	b = append(b, chain...)
	b = append(b, key...)
	return base58CheckEncode(b)
}

func TestParseExtendedKey(t *testing.T) {
	const xprvM = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
	chain := make([]byte, 32)
	priv := append([]byte{0}, make([]byte, 31)...)
	priv = append(priv, 1) // 0x00 || 1
	pub := unhex(t, "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
	n := unhex(t, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"ok/xprv_depth_255", rawKey(versionXPrv, 255, 1, 7, chain, priv), nil},
		{"ok/xpub_generator", rawKey(versionXPub, 1, 1, Hardened, chain, pub), nil},
		{"fail/empty", "", ErrMalformedKey},
		{"fail/not_base58_0", strings.Replace(xprvM, "9", "0", 1), ErrMalformedKey},
		{"fail/not_base58_space", xprvM + " ", ErrMalformedKey},
		{"fail/too_long", strings.Repeat("x", 200), ErrMalformedKey},
		{"fail/81_bytes", base58CheckEncode(make([]byte, 77)), ErrMalformedKey},
		{"fail/83_bytes", base58CheckEncode(make([]byte, 79)), ErrMalformedKey},
		{"fail/checksum_first_char", "y" + xprvM[1:], ErrBadChecksum},
		{"fail/tprv", rawKey(0x04358394, 0, 0, 0, chain, priv), ErrUnknownVersion},
		{"fail/tpub", rawKey(0x043587cf, 0, 0, 0, chain, pub), ErrUnknownVersion},
		{"fail/zpub", rawKey(0x04b24746, 0, 0, 0, chain, pub), ErrUnknownVersion},
		{"fail/xprv_key_above_n", rawKey(versionXPrv, 1, 1, 1, chain, append([]byte{0}, bytesPlus(n, 5)...)), ErrInvalidPrivateKey},
		{"fail/xpub_x_above_p", rawKey(versionXPub, 1, 1, 1, chain, append([]byte{2}, unhex(t, "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc30")...)), ErrInvalidPublicKey},
		{"fail/xpub_prefix_04", rawKey(versionXPub, 1, 1, 1, chain, append([]byte{4}, pub[1:]...)), ErrInvalidPublicKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseExtendedKey(tt.in)
			if tt.want != nil {
				if k != nil || !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var out string
			if k.IsPrivate() {
				out, err = k.XPrv()
			} else {
				out, err = k.XPub()
			}
			if err != nil || out != tt.in {
				t.Fatalf("round trip %q, %v", out, err)
			}
		})
	}
}

func bytesPlus(b []byte, d int64) []byte {
	v := new(big.Int).Add(new(big.Int).SetBytes(b), big.NewInt(d))
	return v.FillBytes(make([]byte, 32))
}

func TestDeriveErrors(t *testing.T) {
	chain := make([]byte, 32)
	priv := append(make([]byte, 32), 7)
	deep, err := ParseExtendedKey(rawKey(versionXPrv, 255, 1, 7, chain, priv))
	if err != nil {
		t.Fatal(err)
	}
	master, err := NewMasterKey(unhex(t, "000102030405060708090a0b0c0d0e0f"), Secp256k1)
	if err != nil {
		t.Fatal(err)
	}
	account, err := master.DerivePath("m/44'/0'/0'")
	if err != nil {
		t.Fatal(err)
	}
	accountPub, err := account.Neuter()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("fail/max_depth", func(t *testing.T) {
		if _, err := deep.Derive(0); !errors.Is(err, ErrMaxDepth) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ok/depth_254_to_255", func(t *testing.T) {
		k, err := ParseExtendedKey(rawKey(versionXPrv, 254, 1, 7, chain, priv))
		if err != nil {
			t.Fatal(err)
		}
		c, err := k.Derive(Hardened)
		if err != nil || c.Depth() != 255 {
			t.Fatalf("depth %d, %v", c.Depth(), err)
		}
	})
	t.Run("fail/path_too_deep_for_key", func(t *testing.T) {
		if _, err := account.DerivePath(strings.Repeat("0/", 252) + "0"); !errors.Is(err, ErrInvalidPath) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("fail/hardened_from_xpub", func(t *testing.T) {
		if _, err := accountPub.Derive(Hardened + 1); !errors.Is(err, ErrHardenedFromPublic) {
			t.Fatalf("err = %v", err)
		}
		if _, err := accountPub.DerivePath("0/1'"); !errors.Is(err, ErrHardenedFromPublic) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("fail/absolute_path_on_non_master", func(t *testing.T) {
		if _, err := account.DerivePath("m/0/1"); !errors.Is(err, ErrInvalidPath) {
			t.Fatalf("err = %v", err)
		}
		if _, err := accountPub.DerivePath("m"); !errors.Is(err, ErrInvalidPath) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ok/relative_path_equals_absolute", func(t *testing.T) {
		abs, err := master.DerivePath("m/44'/0'/0'/1/5")
		if err != nil {
			t.Fatal(err)
		}
		rel, err := account.DerivePath("1/5")
		if err != nil {
			t.Fatal(err)
		}
		relPub, err := accountPub.DerivePath("1/5")
		if err != nil {
			t.Fatal(err)
		}
		if !abs.Equal(rel) || string(abs.PublicKey()) != string(relPub.PublicKey()) {
			t.Fatal("relative and absolute derivation differ")
		}
		a, _ := abs.XPub()
		b, _ := relPub.XPub()
		if a != b {
			t.Fatalf("xpub %s != %s", a, b)
		}
	})
	t.Run("ok/path_m_returns_independent_copy", func(t *testing.T) {
		m2, err := master.DerivePath("m")
		if err != nil || !m2.Equal(master) {
			t.Fatalf("DerivePath(m): %v", err)
		}
		m2.Zero()
		if _, err := master.Derive(0); err != nil {
			t.Fatalf("zeroing the copy wiped the original: %v", err)
		}
	})
	t.Run("fail/bad_paths", func(t *testing.T) {
		for _, p := range []string{"", "m/", "/0", "0/", "0//1", "x", "m/-1", "01", "2147483648"} {
			if _, err := master.DerivePath(p); !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("%q: err = %v", p, err)
			}
		}
	})
	t.Run("fail/seed_length", func(t *testing.T) {
		for _, n := range []int{0, 15, 65, 128} {
			if _, err := NewMasterKey(make([]byte, n), Secp256k1); !errors.Is(err, ErrInvalidSeed) {
				t.Fatalf("%d bytes: %v", n, err)
			}
		}
		for _, n := range []int{16, 32, 64} {
			if _, err := NewMasterKey(make([]byte, n), Secp256k1); err != nil {
				t.Fatalf("%d bytes: %v", n, err)
			}
		}
	})
	t.Run("fail/unknown_curve", func(t *testing.T) {
		for _, c := range []Curve{0, 5, -1} {
			if _, err := NewMasterKey(make([]byte, 32), c); !errors.Is(err, ErrUnsupportedCurve) {
				t.Fatalf("curve %d: %v", c, err)
			}
		}
	})
}

// TestInvalidChildSkipsIndex checks BIP32's "proceed with the next value
// for i" with a stand-in for the (practically unreachable) invalid case.
func TestInvalidChildSkipsIndex(t *testing.T) {
	invalidAt := func(bad ...uint32) func(uint32) (*keyState, bool) {
		return func(i uint32) (*keyState, bool) {
			for _, b := range bad {
				if i == b {
					return nil, false
				}
			}
			return &keyState{index: i}, true
		}
	}
	tests := []struct {
		name    string
		index   uint32
		bad     []uint32
		want    uint32
		wantErr bool
	}{
		{name: "ok/valid", index: 5, want: 5},
		{name: "ok/skip_one", index: 5, bad: []uint32{5}, want: 6},
		{name: "ok/skip_two", index: 5, bad: []uint32{5, 6}, want: 7},
		{name: "ok/skip_hardened", index: Hardened, bad: []uint32{Hardened}, want: Hardened + 1},
		{name: "fail/normal_range_end", index: Hardened - 1, bad: []uint32{Hardened - 1}, wantErr: true},
		{name: "fail/hardened_range_end", index: ^uint32(0), bad: []uint32{^uint32(0)}, wantErr: true},
		{name: "fail/does_not_cross_into_hardened", index: Hardened - 2, bad: []uint32{Hardened - 2, Hardened - 1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := firstValid(tt.index, invalidAt(tt.bad...))
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidChild) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil || c.index != tt.want {
				t.Fatalf("got %v, %v; want index %d", c, err, tt.want)
			}
		})
	}
}

// TestInvalidChildDetection feeds crafted HMAC outputs to the secp256k1
// child step: I_L >= n, and I_L = n - k_par (zero private key, point at
// infinity for the public parent) must be reported invalid for both the
// private and the public parent.
func TestInvalidChildDetection(t *testing.T) {
	prv, err := ParseExtendedKey("xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := prv.Neuter()
	if err != nil {
		t.Fatal(err)
	}
	n := new(big.Int).SetBytes(unhex(t, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"))
	k := new(big.Int).SetBytes(prv.s.priv[:])
	ir := make([]byte, 32)
	mkI := func(il *big.Int) []byte { return append(il.FillBytes(make([]byte, 32)), ir...) }
	tests := []struct {
		name string
		il   *big.Int
		ok   bool
	}{
		{"ok/one", big.NewInt(1), true},
		{"ok/n_minus_1", new(big.Int).Sub(n, big.NewInt(1)), true},
		{"fail/il_equals_n", n, false},
		{"fail/il_above_n", new(big.Int).Add(n, big.NewInt(1)), false},
		{"fail/il_max", new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)), false},
		{"fail/child_key_zero", new(big.Int).Sub(n, k), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cp, okp := prv.s.secpChildFromI(0, mkI(tt.il))
			cq, okq := pub.s.secpChildFromI(0, mkI(tt.il))
			if okp != tt.ok || okq != tt.ok {
				t.Fatalf("private ok=%v public ok=%v, want %v", okp, okq, tt.ok)
			}
			if tt.ok && cp.pub != cq.pub {
				t.Fatal("CKDpriv and CKDpub disagree")
			}
		})
	}
}

// TestAddPrivateMatchesBigInt compares the constant-time scalar addition of
// both Weierstrass curves with math/big.
func TestAddPrivateMatchesBigInt(t *testing.T) {
	orders := map[Curve]string{
		Secp256k1: "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
		NIST256p1: "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
	}
	for curve, nhex := range orders {
		n := new(big.Int).SetBytes(unhex(t, nhex))
		one := big.NewInt(1)
		edge := []*big.Int{big.NewInt(0), one, big.NewInt(2), new(big.Int).Sub(n, one), new(big.Int).Sub(n, big.NewInt(2)), n,
			new(big.Int).Add(n, one), new(big.Int).Sub(new(big.Int).Lsh(one, 256), one), new(big.Int).Rsh(n, 1), new(big.Int).Lsh(one, 255)}
		h := uint64(0x9e3779b97f4a7c15)
		for range 60 { // deterministic pseudo-random values
			var b [32]byte
			for j := range 4 {
				h ^= h << 13
				h ^= h >> 7
				h ^= h << 17
				binary.BigEndian.PutUint64(b[8*j:], h)
			}
			edge = append(edge, new(big.Int).SetBytes(b[:]))
		}
		t.Run(curve.String(), func(t *testing.T) {
			for _, il := range edge {
				for _, kp := range edge {
					if kp.Sign() == 0 || kp.Cmp(n) >= 0 {
						continue // parent keys are always valid
					}
					var kb [32]byte
					kp.FillBytes(kb[:])
					got, ok := curve.addPrivate(il.FillBytes(make([]byte, 32)), &kb)
					sum := new(big.Int).Add(il, kp)
					sum.Mod(sum, n)
					wantOK := il.Cmp(n) < 0 && sum.Sign() != 0
					if ok != wantOK {
						t.Fatalf("il=%x k=%x: ok=%v want %v", il, kp, ok, wantOK)
					}
					if ok && new(big.Int).SetBytes(got[:]).Cmp(sum) != 0 {
						t.Fatalf("il=%x k=%x: got %x want %x", il, kp, got, sum)
					}
				}
			}
		})
	}
}
