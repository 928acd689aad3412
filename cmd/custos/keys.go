package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/custos-dev/custos/internal/keyfile"
)

// loadOrCreateKey reads the key at path, creating it first if it is missing.
func loadOrCreateKey(path string) (ed25519.PrivateKey, bool, error) {
	k, err := keyfile.ReadEd25519(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	_, k, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, err
	}
	if err := keyfile.CreatePrivateKey(path, k); err != nil {
		return nil, false, err
	}
	return k, true, nil
}

func runKeygen(_ context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	path := fs.String("out", "", "where to write the new approval key (PEM, mode 0600)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *path == "" {
		return usagef("keygen: --out is required")
	}
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	if err := keyfile.CreatePrivateKey(*path, k); err != nil {
		return err
	}
	fmt.Fprintf(out, "custos: wrote approval key %s\npublic key: %x\nhint: give the public key to an administrator to register; keep the file to yourself\n",
		*path, []byte(k.Public().(ed25519.PublicKey)))
	return nil
}
