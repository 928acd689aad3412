package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeKeyFile writes an Ed25519 private key as PKCS#8 PEM, 0600, atomically,
// refusing to overwrite.
func writeKeyFile(path string, key ed25519.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	clear(der)
	return writeSecretFile(path, data)
}

// writeSecretFile writes data to path with mode 0600 through a temporary
// file, fsynced, then hard-linked into place: the link fails if path
// exists, so a key file is never replaced, not even by a concurrent writer.
func writeSecretFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-key-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists; refusing to overwrite a key file", path)
		}
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// readSecretFile reads a small secret file, refusing one that others can
// read.
func readSecretFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %v); run: chmod 600 %s", path, st.Mode().Perm(), path)
	}
	return os.ReadFile(path)
}

// readKeyFile reads an Ed25519 private key written by writeKeyFile. It
// refuses files that others can read.
func readKeyFile(path string) (ed25519.PrivateKey, error) {
	data, err := readSecretFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("key file %s is not a PEM PRIVATE KEY", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	clear(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %v", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key file %s does not hold an Ed25519 key", path)
	}
	return ek, nil
}

// loadOrCreateKey reads the key at path, creating it first if it is missing.
func loadOrCreateKey(path string) (ed25519.PrivateKey, bool, error) {
	k, err := readKeyFile(path)
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
	if err := writeKeyFile(path, k); err != nil {
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
	if err := writeKeyFile(*path, k); err != nil {
		return err
	}
	fmt.Fprintf(out, "custos: wrote approval key %s\npublic key: %x\nhint: give the public key to an administrator to register; keep the file to yourself\n",
		*path, []byte(k.Public().(ed25519.PublicKey)))
	return nil
}
