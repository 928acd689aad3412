package hd_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"golang.org/x/crypto/sha3"

	"github.com/custos-dev/custos/hd"
)

// The well-known all-zero-entropy test mnemonic. Never use it for funds.
const mnemonic = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

// Example_deriveEthereum goes from a BIP39 mnemonic to the first BIP44
// Ethereum account and prints its address (Keccak-256 of the uncompressed
// public key, last 20 bytes), which every wallet shows for this mnemonic.
func Example_deriveEthereum() {
	seed, err := hd.SeedFromMnemonic(mnemonic, "")
	if err != nil {
		panic(err)
	}
	defer clear(seed)
	master, err := hd.NewMasterKey(seed, hd.Secp256k1)
	if err != nil {
		panic(err)
	}
	defer master.Zero()
	key, err := master.DerivePath("m/44'/60'/0'/0/0")
	if err != nil {
		panic(err)
	}
	defer key.Zero()

	pub, _ := secp256k1.ParsePubKey(key.PublicKey())
	h := sha3.NewLegacyKeccak256()
	h.Write(pub.SerializeUncompressed()[1:])
	fmt.Printf("address 0x%x\n", h.Sum(nil)[12:])
	fmt.Println("depth", key.Depth(), "index", key.Index())
	fmt.Println(key) // redacted
	// Output:
	// address 0x9858effd232b4033e47d90003d41ec34ecaeda94
	// depth 5 index 0
	// hd.ExtendedKey{curve=secp256k1 depth=5 index=0 fingerprint=4418d0b4 pub=0237b0bb7a8288d38ed49a524b5dc98cff3eb5ca824c9f9dc0dfdb3d9cd600f299 private=[REDACTED]}
}

// Example_deriveSolana derives a SLIP-10 ed25519 key (hardened only, as
// Solana wallets use m/44'/501'/account'/0') and signs with it; the
// signature is a standard Ed25519 signature.
func Example_deriveSolana() {
	seed, err := hd.SeedFromMnemonic(mnemonic, "")
	if err != nil {
		panic(err)
	}
	defer clear(seed)
	master, err := hd.NewMasterKey(seed, hd.Ed25519)
	if err != nil {
		panic(err)
	}
	key, err := master.DerivePath("m/44'/501'/0'/0'")
	if err != nil {
		panic(err)
	}
	pub, _ := key.Ed25519PublicKey()
	msg := []byte("transfer intent 42")
	sig, _ := key.Sign(msg)
	fmt.Println("public key", hex.EncodeToString(pub))
	fmt.Println("SLIP-10 form", hex.EncodeToString(key.PublicKey())[:4]+"...")
	fmt.Println("verifies:", ed25519.Verify(pub, msg, sig))
	_, err = key.Derive(0) // normal (non-hardened) child
	fmt.Println(err)
	// Output:
	// public key f036276246a75b9de3349ed42b15e232f6518fc20f5fcd4f1d64e81f9bd258f7
	// SLIP-10 form 00f0...
	// verifies: true
	// hd: curve supports hardened derivation only: ed25519 index 0
}

// Example_watchOnly derives receive addresses from an account xpub, as a
// watch-only deployment does, and checks them against the private side.
func Example_watchOnly() {
	seed, _ := hd.SeedFromMnemonic(mnemonic, "")
	master, _ := hd.NewMasterKey(seed, hd.Secp256k1)
	account, _ := master.DerivePath("m/44'/60'/0'")
	accountPub, _ := account.Neuter()
	xpub, _ := accountPub.XPub()

	watch, err := hd.ParseExtendedKey(xpub) // e.g. imported from a hardware wallet
	if err != nil {
		panic(err)
	}
	fromPub, _ := watch.DerivePath("0/0") // relative: no "m/"
	fromPrv, _ := master.DerivePath("m/44'/60'/0'/0/0")
	fmt.Println(watch.IsPrivate(), hex.EncodeToString(fromPub.PublicKey()) == hex.EncodeToString(fromPrv.PublicKey()))
	_, err = watch.DerivePath("m/44'/60'/0'/0/0")
	fmt.Println(err)
	_, err = watch.Derive(hd.Hardened)
	fmt.Println(err)
	// Output:
	// false true
	// hd: invalid derivation path: absolute path on a key at depth 3; use a relative path
	// hd: cannot derive a hardened child from a public key
}

// Example_signSecp256k1 signs with a derived secp256k1 key: ECDSA over
// SHA-256(msg), RFC 6979, low S, 64-byte r || s.
func Example_signSecp256k1() {
	seed, _ := hd.SeedFromMnemonic(mnemonic, "")
	master, _ := hd.NewMasterKey(seed, hd.Secp256k1)
	key, _ := master.DerivePath("m/44'/0'/0'/0/0")
	msg := []byte("approve request 7")
	sig, err := key.Sign(msg)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(sig), hd.VerifySecp256k1(key.PublicKey(), msg, sig))
	fmt.Println(hd.VerifySecp256k1(key.PublicKey(), []byte("approve request 8"), sig))
	// Output:
	// 64 true
	// false
}

// ExampleMnemonicToEntropy shows the validation errors; they name the word
// position, never the word.
func ExampleMnemonicToEntropy() {
	_, err := hd.MnemonicToEntropy("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon")
	fmt.Println(err)
	_, err = hd.MnemonicToEntropy("abandon abandon abandon abandon abandon abandon abandon abandn abandon abandon abandon about")
	fmt.Println(err)
	ent, _ := hd.MnemonicToEntropy(mnemonic)
	fmt.Printf("%x\n", ent)
	// Output:
	// hd: invalid mnemonic: checksum mismatch
	// hd: invalid mnemonic: unknown word: word 8 is not in the BIP39 English word list
	// 00000000000000000000000000000000
}
