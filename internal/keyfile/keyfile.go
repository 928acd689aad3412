// Package keyfile reads and writes secret files: private keys as PEM
// PKCS#8, written with mode 0600 through an fsynced temporary file, and
// read only if group and other cannot read them.
package keyfile

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrExists is returned by Create when the file exists already.
var ErrExists = errors.New("keyfile: file exists; refusing to overwrite")

// Create writes data to path with mode 0600 through a temporary file,
// fsynced, then hard-linked into place: it fails with ErrExists if path
// exists, so a key file is never replaced, not even by a concurrent writer.
func Create(path string, data []byte) error {
	return write(path, data, false)
}

// Replace atomically replaces path with data (mode 0600): a reader sees
// the old or the new content, never a part.
func Replace(path string, data []byte) error {
	return write(path, data, true)
}

func write(path string, data []byte, replace bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
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
	if replace {
		err = os.Rename(tmp, path)
	} else {
		err = os.Link(tmp, path)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s: %w", path, ErrExists)
		}
	}
	if err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Read reads a small secret file, refusing one that others can read.
func Read(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %v); run: chmod 600 %s", path, st.Mode().Perm(), path)
	}
	return os.ReadFile(path)
}

// EncodePrivateKey is key as PEM PKCS#8.
func EncodePrivateKey(key any) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func readPrivateKey(path string) (any, error) {
	data, err := Read(path)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("key file %s is not a PEM PRIVATE KEY", path)
	}
	defer clear(block.Bytes)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %v", path, err)
	}
	return k, nil
}

// ReadEd25519 reads an Ed25519 private key file.
func ReadEd25519(path string) (ed25519.PrivateKey, error) {
	k, err := readPrivateKey(path)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key file %s does not hold an Ed25519 key", path)
	}
	return ek, nil
}

// ReadX25519 reads an X25519 private key file.
func ReadX25519(path string) (*ecdh.PrivateKey, error) {
	k, err := readPrivateKey(path)
	if err != nil {
		return nil, err
	}
	xk, ok := k.(*ecdh.PrivateKey)
	if !ok || xk.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("key file %s does not hold an X25519 key", path)
	}
	return xk, nil
}

// CreatePrivateKey writes key to a new file at path.
func CreatePrivateKey(path string, key any) error {
	data, err := EncodePrivateKey(key)
	if err != nil {
		return err
	}
	defer clear(data)
	return Create(path, data)
}
