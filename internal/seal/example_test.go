package seal_test

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/custos-dev/custos/internal/seal"
)

// Sealing an HD wallet seed: the associated data binds the blob to its
// wallet and key version, so it cannot be replayed into another row.
func Example() {
	dir, err := os.MkdirTemp("", "seal-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "kek.hex")
	if err := seal.GenerateKEKFile(path, rand.Reader); err != nil {
		panic(err)
	}
	kek, err := seal.LoadKEKFile(path)
	if err != nil {
		panic(err)
	}
	defer kek.Zero()

	walletID, keyVersion := "0b7e1a6c-2f1d-4d0e-9a55-3c1f7a0e2b11", 1
	ad := seal.AssociatedData("wallet-seed", walletID, strconv.Itoa(keyVersion))
	blob, err := seal.Seal(kek, []byte("64-byte BIP39 seed goes here"), ad, rand.Reader)
	if err != nil {
		panic(err)
	}
	seed, err := seal.Open(kek, blob, ad)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(seed))

	other := seal.AssociatedData("wallet-seed", "another-wallet", "1")
	_, err = seal.Open(kek, blob, other)
	fmt.Println(err)
	// Output:
	// 64-byte BIP39 seed goes here
	// seal: decryption failed
}
