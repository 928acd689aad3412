package keyfile

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestCreateReadReplace(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "secret")
	if err := Create(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	if err := Create(p, []byte("two")); !errors.Is(err, ErrExists) || !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over an existing file: %v, want ErrExists and fs.ErrExist", err)
	}
	if b, err := Read(p); err != nil || string(b) != "one" {
		t.Errorf("Read = %q, %v", b, err)
	}
	if err := Replace(p, []byte("three")); err != nil {
		t.Fatal(err)
	}
	if b, _ := Read(p); string(b) != "three" {
		t.Errorf("after Replace: %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "sub", ".tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	os.Chmod(p, 0o644)
	if _, err := Read(p); err == nil {
		t.Error("Read accepted a file others can read")
	}
	if _, err := Read(dir); err == nil {
		t.Error("Read accepted a directory")
	}
}

func TestPrivateKeys(t *testing.T) {
	dir := t.TempDir()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	edPath, xPath := filepath.Join(dir, "id.key"), filepath.Join(dir, "enc.key")
	if err := CreatePrivateKey(edPath, ed); err != nil {
		t.Fatal(err)
	}
	if err := CreatePrivateKey(xPath, x); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadEd25519(edPath); err != nil || !got.Equal(ed) {
		t.Errorf("ReadEd25519: %v", err)
	}
	if got, err := ReadX25519(xPath); err != nil || !got.Equal(x) {
		t.Errorf("ReadX25519: %v", err)
	}
	if _, err := ReadEd25519(xPath); err == nil {
		t.Error("ReadEd25519 read an X25519 key")
	}
	if _, err := ReadX25519(edPath); err == nil {
		t.Error("ReadX25519 read an Ed25519 key")
	}
	junk := filepath.Join(dir, "junk")
	Create(junk, []byte("not pem"))
	if _, err := ReadEd25519(junk); err == nil {
		t.Error("ReadEd25519 read a file that is not PEM")
	}
}
