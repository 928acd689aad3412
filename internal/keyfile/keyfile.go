// Package keyfile reads and writes secret files: private keys as PEM
// PKCS#8, written with mode 0600 through an fsynced temporary file, and
// read, bounded in size, only if they are regular files that group and
// other cannot access.
package keyfile

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Errors. Callers branch on them with errors.Is.
var (
	// ErrExists is returned by Create when the file exists already; it
	// matches fs.ErrExist.
	ErrExists = fmt.Errorf("keyfile: refusing to overwrite: %w", fs.ErrExist)
	// ErrInsecurePermissions is returned by Read for a file that group or
	// other can access.
	ErrInsecurePermissions = errors.New("keyfile: file is accessible by group or other")
)

// MaxSize bounds the files Read accepts.
const MaxSize = 1 << 20

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

// write places data at path and fsyncs the directory, so path either keeps
// its old state or holds all of data.
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
	defer os.Remove(tmp) // after a link this only drops the temporary name
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
		// os.Link, unlike os.Rename, fails if path exists (even as a
		// dangling symlink).
		err = os.Link(tmp, path)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", path, ErrExists)
		}
	}
	if err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%s written but directory not synced: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%s written but directory not synced: %w", path, err)
	}
	return nil
}

// Read reads a secret file of at most MaxSize bytes, as ReadMax does.
func Read(path string) ([]byte, error) {
	return ReadMax(path, MaxSize)
}

// ReadMax reads a regular file that group and other cannot access
// (ErrInsecurePermissions otherwise, naming the fix), refusing one larger
// than max bytes. The caller should wipe the result.
func ReadMax(path string, max int) ([]byte, error) {
	// Stat first so a FIFO or device is refused before Open can block on it;
	// the mode is checked again on the opened file.
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; run: chmod 600 %s", ErrInsecurePermissions, path, perm, path)
	}
	if st.Size() > int64(max) {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	// One buffer, one byte longer than the file, so no partial copy of the
	// secret is left behind by a growing buffer.
	buf := make([]byte, st.Size()+1)
	n, err := io.ReadFull(f, buf)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return buf[:n], nil
	case err != nil:
		clear(buf)
		return nil, fmt.Errorf("reading %s: %w", path, err)
	default: // buffer filled: the file grew since Stat
		clear(buf)
		return nil, fmt.Errorf("%s changed while being read", path)
	}
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
