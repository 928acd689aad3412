package hd

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Vector files in testdata/ (see testdata/PROVENANCE.md).

type bip39File map[string][][4]string // language -> [entropy, mnemonic, seed, xprv]

type bip32File struct {
	Valid []struct {
		Vector int    `json:"vector"`
		Seed   string `json:"seed"`
		Chains []struct {
			Path   string `json:"path"`
			ExtPub string `json:"ext_pub"`
			ExtPrv string `json:"ext_prv"`
		} `json:"chains"`
	} `json:"valid"`
	Invalid []struct {
		Key    string `json:"key"`
		Reason string `json:"reason"`
	} `json:"invalid_extended_keys"`
}

type slip10File struct {
	Vectors []struct {
		Title  string `json:"title"`
		Seed   string `json:"seed"`
		Chains []struct {
			Path        string `json:"path"`
			Fingerprint string `json:"fingerprint"`
			ChainCode   string `json:"chain_code"`
			Private     string `json:"private"`
			Public      string `json:"public"`
		} `json:"chains"`
		RawIfUnparsed any `json:"raw_if_unparsed"`
	} `json:"vectors"`
}

func loadJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func loadBIP39(t testing.TB) bip39File {
	var f bip39File
	loadJSON(t, "bip39_vectors.json", &f)
	if len(f["english"]) == 0 {
		t.Fatal("no english BIP39 vectors")
	}
	return f
}

func loadBIP32(t testing.TB) bip32File {
	var f bip32File
	loadJSON(t, "bip32_vectors.json", &f)
	if len(f.Valid) != 4 || len(f.Invalid) != 16 {
		t.Fatalf("bip32 vectors: %d valid, %d invalid; want 4 and 16", len(f.Valid), len(f.Invalid))
	}
	return f
}

func loadSLIP10(t testing.TB) slip10File {
	var f slip10File
	loadJSON(t, "slip10_vectors.json", &f)
	if len(f.Vectors) != 10 {
		t.Fatalf("slip10 vectors: %d, want 10", len(f.Vectors))
	}
	return f
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}
